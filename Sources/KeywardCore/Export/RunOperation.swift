#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward run`: exec a program with the set in its environment. Nothing is written to disk but
/// the audit entry.
public enum RunOperation {
  public struct Request: Sendable, Equatable {
    public var environment: String
    public var selector: SetSelector
    /// Start from an empty environment (plus the set) instead of keyward's own.
    public var pristine: Bool
    public var command: [String]

    public init(
      environment: String, selector: SetSelector = .active, pristine: Bool = false, command: [String]
    ) {
      self.environment = environment
      self.selector = selector
      self.pristine = pristine
      self.command = command
    }
  }

  /// Replaces this process with the command. Returns only by throwing; a command that cannot be
  /// found or executed is an error whose exit status is 127 or 126, as shells use.
  /// `read`: called once the workspace's files are read and the set opened (`ExportOperation.run`).
  public static func exec(
    workspace: Workspace, request r: Request, keys: KeySource, warn: (String) -> Void, read: () -> Void = {}
  ) throws(KeywardError) -> Never {
    guard let program = r.command.first, !program.isEmpty else {
      throw KeywardError(.input, "no command to run")
    }
    let opened = try OpenOperation.run(
      workspace: workspace, environment: r.environment, selector: r.selector, keys: keys)
    read()
    for w in opened.warnings { warn(w) }
    let names = workspace.config.export
    guard let path = resolve(program) else {
      throw KeywardError(.commandNotFound, "cannot run \(program): no such command (searched $PATH)")
    }
    // The environment block: NAME=value NUL entries in guarded memory, then pointers into it.
    let block = SecureBytes(capacity: 256)
    var offsets = [Int]()
    for (name, value) in [(names.appKey, opened.appKey), (names.appSecret, opened.appSecret)] {
      if value.withUnsafeBytes({ $0.contains(0) }) {
        throw KeywardError(.input, "cannot pass \(name) in the environment: the value contains a NUL byte")
      }
      offsets.append(block.count)
      block.append(literal: "\(name)=")
      block.append(value)
      block.append(0)
    }
    if let w = ExportOperation.record(
      workspace: workspace, action: "run", environment: r.environment, set: opened.set,
      details: ["target": .string(Path.name(program))])
    {
      warn(w)
    }
    let argv = r.command.map { strdup($0) } + [nil]
    var envp = [UnsafeMutablePointer<CChar>?]()
    if !r.pristine {
      var p = environ
      while let entry = p.pointee {
        if !RunOperation.withheld(entry, names: names) { envp.append(entry) }
        p += 1
      }
    }
    ProcessHardening.restoreForExec()
    block.withUnsafeMutableBytes { raw in
      let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
      for o in offsets { envp.append(base + o) }
      envp.append(nil)
      execve(path, argv, envp)
    }
    let e = errno
    throw KeywardError(
      e == ENOENT ? .commandNotFound : .cannotExecute, "cannot run \(path): \(String(cString: strerror(e)))")
  }

  /// Whether an entry of keyward's own environment is kept from the child: the two variables the
  /// set replaces, and keyward's key material under any name (`KEYWARD_PRIVATE_KEY_*`, identities,
  /// passphrases, any value that is a `kwsk1:` key). The child gets the set, never the keys that
  /// open every set.
  static func withheld(_ entry: UnsafePointer<CChar>, names: ExportNames) -> Bool {
    let text = String(cString: entry)
    guard let eq = text.firstIndex(of: "=") else { return true }
    let name = text[..<eq]
    if name == names.appKey || name == names.appSecret { return true }
    if name.hasPrefix("KEYWARD_PRIVATE_KEY") || name.hasPrefix("KEYWARD_IDENTITY")
      || name.hasPrefix("KEYWARD_PASSPHRASE") || name.hasPrefix("KEYWARD_TRUST")
    {
      return true
    }
    return text[text.index(after: eq)...].hasPrefix(PrivateKey.textPrefix)
  }

  /// The command's path: as given when it contains a '/', else the first executable in $PATH.
  static func resolve(_ program: String) -> String? {
    if program.contains("/") { return program }
    let path = Env.process.nonEmpty("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
      if access(candidate, X_OK) == 0 && !FileSystem.isDirectory(candidate) { return candidate }
    }
    return nil
  }
}
