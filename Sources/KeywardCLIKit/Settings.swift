import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Output format shared by every command.
public enum OutputFormat: String, CaseIterable, Sendable {
  case text
  case json
}

/// The global options as a plain value, whichever parser produced them.
public struct CommonSettings: Equatable, Sendable {
  public var workspace: String?
  public var format: OutputFormat = .text
  public var noColor = false
  public var quiet = false
  public var verbose = false
  /// `--trust FP[@MIN]`: the trust root this run requires.
  public var trust: String?

  public init(
    workspace: String? = nil, format: OutputFormat = .text, noColor: Bool = false, quiet: Bool = false,
    verbose: Bool = false, trust: String? = nil
  ) {
    self.workspace = workspace
    self.format = format
    self.noColor = noColor
    self.quiet = quiet
    self.verbose = verbose
    self.trust = trust
  }

  public var workspacePath: String { Workspace.resolvePath(workspace) }

  /// The same settings with JSON output on or off (commands whose --format has more choices).
  public func with(json: Bool) -> CommonSettings {
    var s = self
    s.format = json ? .json : .text
    return s
  }

  /// `focus`: the one environment a deploy reads (`Workspace.open(focus:)`).
  public func openWorkspace(focus: String? = nil) throws(KeywardError) -> Workspace {
    var expected: TrustExpectation?
    if let trust {
      guard let e = TrustExpectation(trust) else {
        throw KeywardError(
          .usage, "--trust takes a root fingerprint (32 hex digits), optionally @MIN_VERSION")
      }
      expected = e
    }
    let workspace = try Workspace.open(workspacePath, expected: expected, focus: focus)
    Stopwatch.lap("workspace opened")
    if let t = workspace.trust, let old = t.requiredRootOutdated {
      Printer.plain.note(
        "keyward: warning: the required trust root \(old) (KEYWARD_TRUST or --trust) is an earlier root; the workspace's root is now \(t.rootFingerprint) (version \(t.rootVersion)), "
          + "reached through root changes its admins signed: require \(t.rootFingerprint)@\(t.version), or a machine given the old root "
          + "follows whatever the old root's admins sign\n")
    }
    if let t = workspace.trust, let from = t.rootMovedFrom, !quiet {
      Printer.plain.note(
        "keyward: note: the workspace's trust root changed from \(from) to \(t.rootFingerprint) (version \(t.rootVersion)) "
          + "through root changes its admins signed; this machine's pin follows it\n")
    }
    // An interactive run on a machine that has not pinned the root asks, showing what to compare
    // with an admin; scripts (no terminal, or JSON) get the refusal and the hint instead.
    if let t = workspace.trust, !t.isPinned, format != .json, Terminal.isTTY(0), Terminal.isTTY(2) {
      let origin =
        Trust.introducingCommit(workspace: workspace.path).map { "introduced in commit \($0)" }
        ?? "not in a git repository"
      let question = """
        This machine has not pinned the trust root of \(workspace.path):
          fingerprint \(t.rootFingerprint)
          admins      \(t.admins.map { "\($0.name) (\($0.identity.fingerprint))" }.joined(separator: ", "))
          state       version \(t.version); root \(origin)
        Compare the fingerprint with an admin. Pin it on this machine? [y/N] 
        """
      if let answer = Terminal.ask(question), ["y", "yes"].contains(answer.lowercased()) {
        try Trust.writePin(
          Trust.Pin(
            fingerprint: t.rootFingerprint, version: t.version,
            stateDigest: Trust.stateDigest(ofWorkspace: workspace.path), workspace: workspace.path,
            rootVersion: t.rootVersion),
          workspace: workspace.path, env: .process)
        return try Workspace.open(workspacePath, expected: expected, focus: focus)
      }
    }
    return workspace
  }
}

/// The key source for `--key-file` / `--passphrase-file`, asking on the terminal when there is one.
public func keySource(keyFile: String?, passphraseFile: String?) -> KeySource {
  KeySource(
    keyFile: keyFile, passphraseFile: passphraseFile,
    askPassphrase: Terminal.isTTY(0) || Terminal.isTTY(2)
      ? { (prompt: String) throws(KeywardError) -> SecureBytes in
        try Terminal.readHidden(
          "\(prompt). Passphrase: ", noTerminal: "give it with --passphrase-file FILE (mode 0600)")
      } : nil,
    identity: IdentitySource())
}

/// `exit` under a name that cannot clash with ParsableCommand.exit(withError:).
public func exitProcess(_ code: Int32) -> Never {
  var code = code
  if let why = Printer.outputFailure, code == 0 || code == 1 || code == 3 {
    Printer.writeRaw(2, "keyward: error: could not write to standard output: \(why)\n")
    code = ExitStatus.error.rawValue
  }
  #if canImport(Glibc)
    Glibc.exit(code)
  #else
    Darwin.exit(code)
  #endif
}
