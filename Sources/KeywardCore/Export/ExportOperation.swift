#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward export`: the active (or chosen) set in a deploy target's format.
public enum ExportOperation {
  public struct Request: Sendable, Equatable {
    public var environment: String
    public var selector: SetSelector
    public var format: ExportFormat
    /// k8s metadata.name / metadata.namespace.
    public var secretName: String?
    public var namespace: String?
    /// Extra, non-secret variables: the environment's name and the provider endpoint.
    public var environmentNameVariable: String?
    public var endpointVariable: String?
    /// A file to write (atomically, mode 0600); nil for standard output.
    public var output: String?
    /// Overwrite a file keyward did not write.
    public var force: Bool
    /// github into the runner's own file: also print `::add-mask::` for the App Secret.
    public var mask: Bool

    public init(
      environment: String, selector: SetSelector = .active, format: ExportFormat = .dotenv,
      secretName: String? = nil,
      namespace: String? = nil, environmentNameVariable: String? = nil, endpointVariable: String? = nil,
      output: String? = nil, force: Bool = false, mask: Bool = true
    ) {
      self.environment = environment
      self.selector = selector
      self.format = format
      self.secretName = secretName
      self.namespace = namespace
      self.environmentNameVariable = environmentNameVariable
      self.endpointVariable = endpointVariable
      self.output = output
      self.force = force
      self.mask = mask
    }
  }

  public struct Result {
    /// What was written (to the file, or for the caller to print).
    public let contents: SecureBytes
    public let set: KeySet
    /// Things worth saying on stderr (never values).
    public let warnings: [String]
    /// For GitHub Actions: `::add-mask::` lines for standard output, so the runner hides the App
    /// Secret in every later log line.
    public var masks: SecureBytes? = nil
  }

  /// The first line of every export in a format that has comments: how keyward recognises a file it
  /// may overwrite.
  public static let marker = "written by keyward export"

  /// `read`: called once the workspace's files are read and the set opened, before anything is
  /// written (the caller gives up its shared lock there: the trail entry takes the exclusive one).
  public static func run(
    workspace: Workspace, request r: Request, keys: KeySource, read: () -> Void = {}
  ) throws(KeywardError) -> Result {
    let opened = try OpenOperation.run(
      workspace: workspace, environment: r.environment, selector: r.selector, keys: keys)
    read()
    let names = workspace.config.export
    for (option, n) in [("environment name", r.environmentNameVariable), ("endpoint", r.endpointVariable)] {
      if let n { try ConfigValidator.checkVariable(n, place: "the \(option) variable") }
    }
    var vars = [
      ExportVariable(name: names.appKey, value: opened.appKey),
      ExportVariable(name: names.appSecret, value: opened.appSecret),
    ]
    if let n = r.environmentNameVariable {
      vars.append(ExportVariable(name: n, value: SecureBytes(Array(r.environment.utf8))))
    }
    if let n = r.endpointVariable {
      let endpoint =
        workspace.config.environments[r.environment]?.endpoint ?? workspace.config.provider.defaultEndpoint
      vars.append(ExportVariable(name: n, value: SecureBytes(Array(endpoint.utf8))))
    }
    let header =
      "\(marker): environment \(r.environment), set \(opened.set.id). Do not edit; export again instead."
    let contents = try Exporter.render(
      vars, format: r.format,
      options: ExportOptions(
        secretName: r.secretName ?? "captcha-\(r.environment)", namespace: r.namespace, header: header))
    var warnings = opened.warnings
    var target = "stdout"
    var masks: SecureBytes? = nil
    if let output = r.output, output != "-" {
      switch try OutputTarget.classify(output) {
      case .descriptor(let fd):
        target = output
        try contents.write(to: fd)
      case .special:
        // A terminal, FIFO or device: written into, never renamed over (as root, a rename would
        // replace /dev/stdout itself with a file holding the secret).
        target = output
        // Opened without O_CREAT or O_TRUNC, then checked: if the path was swapped for a link to a
        // regular file after it was classified, nothing has been written and nothing is.
        let fd = open(output, O_WRONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw KeywardError(.io, "\(output): cannot open: \(FileSystem.errnoText())") }
        defer { close(fd) }
        var st = stat()
        let kind = fstat(fd, &st) == 0 ? st.st_mode & S_IFMT : 0
        guard kind == S_IFCHR || kind == S_IFIFO || kind == S_IFSOCK else {
          throw KeywardError(.input, "\(output) changed while it was being opened; nothing was written")
        }
        try contents.write(to: fd)
      case .file where r.format == .github && isRunnerFile(output):
        // $GITHUB_ENV and $GITHUB_OUTPUT are shared by every step of a job: appended to, as the
        // runner documents, never replaced.
        target = absolute(output)
        let fd = try FileSystem.openRegular(output, flags: O_WRONLY | O_APPEND, create: 0o600)
        defer { close(fd) }
        try contents.write(to: fd)
        if r.mask { masks = maskLines(opened.appSecret) }
      case .file:
        target = absolute(output)
        try checkOverwrite(output, absolute: target, format: r.format, force: r.force, workspace: workspace)
        try FileSystem.writeAtomically(output, mode: 0o600, forceMode: true) {
          (fd: Int32) throws(KeywardError) in
          try contents.write(to: fd)
        }
        if let w = gitWarning(output) { warnings.append(w) }
      }
    }
    var details: [String: JSONValue] = ["format": .string(r.format.rawValue), "target": .string(target)]
    if target != "stdout" && target.hasPrefix("/") {
      details.merge(ExportTarget.details(target, workspace: workspace)) { $1 }
    }
    if let w = record(
      workspace: workspace, action: "export", environment: r.environment, set: opened.set, details: details)
    {
      warnings.append(w)
    }
    return Result(contents: contents, set: opened.set, warnings: warnings, masks: masks)
  }

  /// Appends to the audit trail under the workspace lock. A trail that cannot be written (a
  /// read-only checkout) is a warning, not a failed deploy; so is this machine's record of the
  /// trail found lost.
  static func record(
    workspace: Workspace, action: String, environment: String, set: KeySet, details: [String: JSONValue]
  ) -> String? {
    do {
      let lock = try DirectoryLock(workspace.path)
      defer { lock.unlock() }
      return try AuditLog.append(
        workspace: workspace, action: action, environment: environment, set: set, details: details)
    } catch {
      return "the audit trail was not updated: \(error.message)"
    }
  }

  static func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : AuditLog.currentDirectory() + "/" + path
  }

  /// Refuses to replace a file keyward did not write, unless forced.
  static func checkOverwrite(
    _ path: String, absolute: String, format: ExportFormat, force: Bool, workspace: Workspace
  ) throws(KeywardError) {
    guard FileSystem.exists(path), !force else { return }
    if FileSystem.isDirectory(path) { throw KeywardError(.input, "\(path) is a folder") }
    let head = (try? FileSystem.read(path).prefix(200)) ?? []
    if String(decoding: head, as: UTF8.self).hasPrefix("# \(marker)") { return }
    // JSON and GitHub files have no comments: the trail says whether keyward wrote them here, but
    // only for a file whose content has the shape of such an export (a trail line is easy to
    // forge; it must not license replacing ~/.bashrc).
    guard looksExported(head: Array(head), format: format, names: workspace.config.export) else {
      throw KeywardError(
        .input, "\(path) exists and was not written by keyward export; refusing to overwrite it",
        advice: .otherFileOrForce)
    }
    let exported = AuditLog.entries(workspace: workspace).contains {
      $0.action == "export" && ExportTarget.place($0, workspace: workspace) == .here(absolute)
    }
    if exported { return }
    throw KeywardError(
      .input, "\(path) exists and was not written by keyward export; refusing to overwrite it",
      advice: .otherFileOrForce)
  }

  /// Whether `path` is the GitHub Actions runner's environment or output file of this job.
  static func isRunnerFile(_ path: String) -> Bool {
    ["GITHUB_ENV", "GITHUB_OUTPUT"].contains { name in
      guard let file = Env.process.nonEmpty(name) else { return false }
      return file == path || absolute(file) == absolute(path)
    }
  }

  /// `::add-mask::VALUE`, one line per line of the value (the runner masks line by line).
  static func maskLines(_ value: SecureBytes) -> SecureBytes {
    let out = SecureBytes(capacity: value.count + 32)
    var start = 0
    for i in 0...value.count where i == value.count || value[i] == 0x0a {
      if i > start {
        out.append(literal: "::add-mask::")
        out.append(value.slice(start..<i))
        out.append(0x0a)
      }
      start = i + 1
    }
    return out
  }

  /// Whether the start of a file without keyward's marker looks like a json or github export of
  /// the workspace's variables.
  static func looksExported(head: [UInt8], format: ExportFormat, names: ExportNames) -> Bool {
    let text = String(decoding: head, as: UTF8.self)
    switch format {
    case .json:
      return text.hasPrefix("{")
        && (text.contains("\"\(names.appKey)\"") || text.contains("\"\(names.appSecret)\""))
    case .github:
      return text.hasPrefix(names.appKey + "=") || text.hasPrefix(names.appKey + "<<")
        || text.hasPrefix(names.appSecret + "=") || text.hasPrefix(names.appSecret + "<<")
    default:
      return false
    }
  }

  /// A warning when `path` is inside a git work tree and not ignored (asks git; silent without it).
  static func gitWarning(_ path: String) -> String? {
    var dir = Path.directory(absolute(path))
    var inRepo = false
    for _ in 0..<64 {
      if FileSystem.exists("\(dir)/.git") {
        inRepo = true
        break
      }
      if dir == "/" { break }
      dir = Path.directory(dir)
    }
    guard inRepo else { return nil }
    guard let r = Git.run(["check-ignore", "-q", absolute(path)], in: Path.directory(absolute(path))) else {
      return nil
    }
    return r.status == 1
      ? "\(path) is inside a git work tree and not ignored: add it to .gitignore before it is committed" : nil
  }
}

/// Where `export -o PATH` writes.
enum OutputTarget {
  /// A descriptor this process already has: /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N.
  case descriptor(Int32)
  /// A character device, FIFO or socket (after following links): written into directly.
  case special
  /// A regular file, or nothing yet: replaced atomically.
  case file

  static func classify(_ path: String) throws(KeywardError) -> OutputTarget {
    switch path {
    case "/dev/stdout": return .descriptor(1)
    case "/dev/stderr": return .descriptor(2)
    default: break
    }
    for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
      if let n = Int32(path.dropFirst(prefix.count)), n >= 0, fcntl(n, F_GETFD) >= 0 { return .descriptor(n) }
    }
    var st = stat()
    guard lstat(path, &st) == 0 else { return .file }
    let kind = st.st_mode & S_IFMT
    if kind == S_IFREG { return .file }
    if kind == S_IFDIR { throw KeywardError(.input, "\(path) is a folder") }
    if kind == S_IFLNK {
      var target = stat()
      if stat(path, &target) == 0 {
        let t = target.st_mode & S_IFMT
        if t == S_IFCHR || t == S_IFIFO || t == S_IFSOCK { return .special }
      }
      // A link to a file (or to nothing): writing would replace the link or write through it to a
      // file somewhere else. Neither is what `-o` promises.
      throw KeywardError(
        .input,
        "\(path) is a symbolic link; keyward export does not write through links, not even when forced",
        hint: "name the real file, or - for standard output")
    }
    return .special
  }
}
