import KeywardCore

/// Everything `export` needs, as a plain value: built by ArgumentParser or by the fast path.
public struct ExportRequest: Equatable, Sendable {
  public var settings: CommonSettings
  public var keyFile: String?
  public var passphraseFile: String?
  public var request: ExportOperation.Request

  public init(
    settings: CommonSettings, keyFile: String?, passphraseFile: String?, request: ExportOperation.Request
  ) {
    self.settings = settings
    self.keyFile = keyFile
    self.passphraseFile = passphraseFile
    self.request = request
  }

  public func run() throws(KeywardError) {
    // The shared lock on the workspace folder while the workspace and the set are read: a write
    // (`set --replace`, `promote`) changes the environment file, the trail and the activation
    // manifest one after the other, and a deploy that read between them took the new file with
    // the old manifest for a set swapped in by hand (one in six or seven exited 4 beside
    // back-to-back `set --replace`; found by session 16's review). Given up before anything is
    // written: the trail entry takes the exclusive lock, which this process must not wait for
    // while holding the shared one. Unlocked when the folder cannot be opened or locked: the
    // workspace's own errors are then reported. `show` and `run` do the same.
    let reading = try? DirectoryLock(settings.workspacePath, shared: true)
    let workspace = try settings.openWorkspace(focus: request.environment)
    let result = try ExportOperation.run(
      workspace: workspace, request: request,
      keys: keySource(keyFile: keyFile, passphraseFile: passphraseFile), read: { reading?.unlock() })
    let p = Printer(settings)
    let toStdout = request.output == nil || request.output == "-"
    if toStdout {
      if Terminal.isTTY(1) {
        // On a terminal the values cannot drive it; a pipe or file gets the exact bytes.
        let shown = SecureBytes(capacity: result.contents.count + 64)
        SecureText.appendForTerminal(result.contents, to: shown, keepNewlines: true)
        try shown.write(to: 1)
      } else {
        try result.contents.write(to: 1)
      }
    }
    // The runner reads these from standard output and hides the value in every later log line.
    if let masks = result.masks { try masks.write(to: 1) }
    if !p.quiet {
      // One line each, whatever the path holds (a newline in -o's name was printed raw).
      for w in result.warnings {
        p.note(p.style("keyward: warning: \(Text.printable(w, keepNewlines: false))\n", .yellow))
      }
      if let output = request.output, !toStdout {
        p.note(
          "Wrote \(Text.printable(output, keepNewlines: false)) (\(request.format.rawValue), \(request.environment) set \(result.set.id), mode 0600).\n"
        )
      }
    }
  }
}

/// Everything `run` needs, as a plain value.
public struct RunRequest: Equatable, Sendable {
  public var settings: CommonSettings
  public var keyFile: String?
  public var passphraseFile: String?
  public var request: RunOperation.Request

  public init(
    settings: CommonSettings, keyFile: String?, passphraseFile: String?, request: RunOperation.Request
  ) {
    self.settings = settings
    self.keyFile = keyFile
    self.passphraseFile = passphraseFile
    self.request = request
  }

  public func run() throws(KeywardError) -> Never {
    let reading = try? DirectoryLock(settings.workspacePath, shared: true)  // as `export` holds it
    let workspace = try settings.openWorkspace(focus: request.environment)
    let p = Printer(settings)
    try RunOperation.exec(
      workspace: workspace, request: request,
      keys: keySource(keyFile: keyFile, passphraseFile: passphraseFile),
      warn: { if !p.quiet { p.note(p.style("keyward: warning: \($0)\n", .yellow)) } },
      read: { reading?.unlock() })
  }
}
