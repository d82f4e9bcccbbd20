/// `keyward scan --install-hook`: a pre-commit hook in the repository's hooks folder (git's own
/// answer, so core.hooksPath is honoured). The hook is a script that runs keyward, so it is the
/// one thing the core writes that spells options (`scan --staged`, `--workspace`): it is a
/// command line by nature, not a hint.
public enum ScanHook {
  static let marker = "# keyward scan pre-commit hook"

  /// Returns the hook's path.
  public static func install(workspace: Workspace, launcher: String, force: Bool) throws(KeywardError)
    -> String
  {
    guard let out = Git.output(["rev-parse", "--git-path", "hooks"], in: workspace.path) else {
      throw KeywardError(.input, "\(workspace.path) is not in a git repository: there is no hook to install")
    }
    var folder = String(out.prefix { $0 != "\n" })
    if !folder.hasPrefix("/") { folder = "\(workspace.path)/\(folder)" }
    let hook = "\(folder)/pre-commit"
    if FileSystem.exists(hook) || FileSystem.irregularKind(hook) != nil {
      let existing = (try? FileSystem.read(hook)).map { String(decoding: $0, as: UTF8.self) } ?? ""
      // Ours only when it starts as keyward writes it (a hook that merely mentions keyward is not).
      if !existing.hasPrefix("#!/bin/sh\n\(marker)") && !force {
        throw KeywardError(
          .input, "\(hook) already exists and keyward did not write it",
          advice: .foreignHook)
      }
    }
    // The launcher given (beside the running executable), else whatever `keyward` is on PATH when
    // the hook runs. Hooks run at the top of the working tree: the workspace is named from there
    // when it is not the default `Environments`.
    var workspaceArgument = ""
    if let top = Git.output(["rev-parse", "--show-toplevel"], in: workspace.path).map({
      String($0.prefix { $0 != "\n" })
    }), let realTop = FileSystem.realPath(top), let real = FileSystem.realPath(workspace.path) {
      let relative = real.hasPrefix(realTop + "/") ? String(real.dropFirst(realTop.count + 1)) : real
      if relative != "Environments" {
        workspaceArgument = " --workspace \(Text.shellWord(relative))"
      }
    }
    let script = """
      #!/bin/sh
      \(marker): refuses a commit that adds a plaintext copy of a stored App Key or App
      # App Secret (found by fingerprint; no private key needed). Skip once with git commit --no-verify.
      keyward=\(Text.shellWord(launcher))
      [ -x "$keyward" ] || keyward=keyward
      exec "$keyward" scan --staged\(workspaceArgument)

      """
    if !FileSystem.isDirectory(folder) { try FileSystem.makeDirectory(folder, mode: 0o755) }
    try FileSystem.writeAtomically(hook, bytes: Array(script.utf8), mode: 0o755, forceMode: true)
    return hook
  }
}
