import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An opened workspace: its folder, its validated config, and access to its environment files.
public struct Workspace: Sendable {
  /// The workspace folder (`Environments` by default).
  public let path: String
  public let config: WorkspaceConfig
  public let fingerprinter: Fingerprinter
  /// The verified signed state, or nil for a v1 workspace (no trust root) that no one pinned.
  public let trust: TrustedState?

  public static let configName = "keyward.json"
  public static let auditName = "audit.jsonl"

  /// `--workspace` (a folder that is not a workspace but holds `Environments/` — the repository's
  /// root given as `.` — means that one), then `KEYWARD_WORKSPACE`, then `./Environments`. Nothing
  /// above the current folder is looked at: a workspace found there could be one another user
  /// planted in a shared parent, or a copy a repository writer committed in a subfolder, which a
  /// machine's pin (keyed by the folder) would not cover.
  public static func resolvePath(_ explicit: String?) -> String {
    if let explicit, !explicit.isEmpty {
      if !FileSystem.exists("\(explicit)/\(configName)"),
        FileSystem.exists("\(explicit)/Environments/\(configName)")
      {
        return explicit.hasSuffix("/") ? "\(explicit)Environments" : "\(explicit)/Environments"
      }
      return explicit
    }
    if let env = Env.process.nonEmpty("KEYWARD_WORKSPACE") { return env }
    return "Environments"
  }

  public var configPath: String { "\(path)/\(Workspace.configName)" }

  public func environmentPath(_ name: String) -> String { "\(path)/\(name).json" }

  /// Opens and validates the workspace config.
  /// `expected`: the root the person running keyward requires (`--trust`); `KEYWARD_TRUST` is read
  /// when it is nil.
  /// `unsignedConfig`: open although keyward.json differs from the signed bytes (only `trust sign`,
  /// which shows the difference to an admin before signing it).
  /// `fullTrust`: verify every signature even where this machine's pin vouches for it (trust show).
  /// `focus`: the one environment a command reads or writes when it signs no new state (the
  /// deploys `show`, `export`, `run`, and `set`, `rotate`); the signed state's members, wraps and
  /// revocations of the others are not read (`TrustedState.focus`), and this machine's record of
  /// the state verified for it stands in for the state while the files are the same
  /// (`VerifiedDeploy`).
  public static func open(
    _ path: String, expected: TrustExpectation? = nil, unsignedConfig: Bool = false, fullTrust: Bool = false,
    focus: String? = nil
  )
    throws(KeywardError) -> Workspace
  {
    try requireRealFolder(path)
    let configPath = "\(path)/\(configName)"
    guard FileSystem.exists(configPath) else {
      if FileSystem.isDirectory(path) {
        throw KeywardError(
          .input, "\(path) is not a keyward workspace (no \(configName))", hint: "keyward init")
      }
      throw KeywardError(
        .input, "no keyward workspace at \(path)",
        advice: .createOrNameWorkspace)
    }
    // A focused command reads this machine's record of the signed state verified for the
    // environment (`VerifiedDeploy`) while keyward.json and the state are the files it was made
    // from: then the signed keyward.json restricted to the environment stands for the whole one.
    let deploy = focus.flatMap { unsignedConfig || fullTrust ? nil : $0 }
    let known = deploy.flatMap { VerifiedDeploy.lookup(workspace: path, environment: $0, env: .process) }
    // (Without one, the files' identities before they are read, to make one.)
    let before = known == nil && deploy != nil ? VerifiedDeploy.files(workspace: path) : nil
    let configBytes: [UInt8]
    if let known {
      configBytes = known.config
    } else {
      configBytes = try FileSystem.read(configPath, limit: .document)
    }
    let config = try JSONFiles.read(configBytes, source: configPath, WorkspaceConfig.init(json:))
    guard config.format == WorkspaceConfig.formatName else {
      throw KeywardError(
        .input, "\(configPath): not a keyward workspace config (format is \"\(config.format)\")")
    }
    guard config.version == WorkspaceConfig.currentVersion else {
      throw unsupported(configPath, config.version, WorkspaceConfig.currentVersion)
    }
    guard let salt = Sodium.unbase64(config.fingerprintSalt) else {
      throw KeywardError(.input, "\(configPath): fingerprint_salt is not valid base64")
    }
    let fingerprinter: Fingerprinter
    do { fingerprinter = try Fingerprinter(salt: salt) } catch {
      throw KeywardError(.input, "\(configPath): \(error.message)")
    }
    guard Names.isWorkspaceID(config.workspaceID) else {
      throw KeywardError(.input, "\(configPath): workspace_id must be 16 lower-case hex digits")
    }
    for name in config.environmentNames where !Names.isEnvironment(name) {
      throw KeywardError(
        .input,
        "\(configPath): \"\(Text.printable(String(name.prefix(40))))\" is not a valid environment name (\(Names.environmentRule))"
      )
    }
    try ConfigValidator.validate(config, path: configPath)
    // Every file keyward reads or writes here must be a regular file: a committed link survives
    // `git clone` and points wherever its writer chose (audit.jsonl -> ~/.bashrc), and a FIFO blocks.
    // (The folder's entries say each file's type: one pass, not an lstat per environment.)
    // A focused command reads and writes its own environment's file alone: that one is checked
    // (with or without a record of the state); every other command checks every file listed.
    let irregular = focus == nil ? FileSystem.irregularEntries(path) : nil
    for name in [auditName] + (focus.map { ["\($0).json"] } ?? config.environmentNames.map { "\($0).json" }) {
      let file = "\(path)/\(name)"
      if let kind = irregular.map({ $0[name] }) ?? FileSystem.irregularKind(file) {
        throw KeywardError(
          .input, "\(file) is \(kind), not a regular file; keyward refuses to read or write through it",
          hint: "replace it with the real file (git checkout -- \(file)), or delete it")
      }
    }
    for sub in [
      Trust.folder, "\(Trust.folder)/active", "\(Trust.folder)/wraps", Trail.folder, Trail.entriesFolder,
      Trail.headsFolder, Trail.checkpointsFolder,
    ]
    where FileSystem.irregularKind("\(path)/\(sub)") == "a symbolic link" {
      throw KeywardError(
        .input, "\(path)/\(sub) is a symbolic link; keyward refuses to read or write through it",
        hint: "replace it with the real folder (a committed link can point anywhere on a reader's machine)")
    }
    var expectation = expected
    if expectation == nil, let text = Env.process.nonEmpty("KEYWARD_TRUST") {
      guard let e = TrustExpectation(text) else {
        throw KeywardError(
          .input, "KEYWARD_TRUST must be a root fingerprint (32 hex digits), optionally @MIN_VERSION")
      }
      expectation = e
    }
    let trust = try Trust.verify(
      workspace: path, configBytes: configBytes, workspaceID: config.workspaceID, expected: expectation,
      env: .process, checkConfig: !unsignedConfig, full: fullTrust, focus: focus, verified: known,
      recordAs: before)
    return Workspace(path: path, config: config, fingerprinter: fingerprinter, trust: trust)
  }

  /// Commands that seal, decrypt, send credentials or activate call this first: a workspace with a
  /// trust root must be pinned on this machine (or the root given with `--trust`/`KEYWARD_TRUST`).
  /// A v1 workspace (no trust root) keeps working as before.
  public func requireTrusted(_ action: String) throws(KeywardError) {
    guard let trust, !trust.isPinned else { return }
    throw KeywardError(
      .integrity,
      "refusing to \(action): this machine has not pinned the workspace's trust root \(trust.rootFingerprint) "
        + "(signed by \(trust.admins.map(\.name).joined(separator: ", ")), state version \(trust.version))",
      hint:
        "check the fingerprint and the newest state version with an admin, then: keyward trust pin \(trust.rootFingerprint)@VERSION "
        + "(in CI: KEYWARD_TRUST=\(trust.rootFingerprint)@VERSION, so an older signed state restored from history is refused)"
    )
  }

  /// Before sealing, sending credentials or activating in a workspace without a trust root: if git
  /// history shows it had one, its trust files were removed — a downgrade, even on a machine that
  /// never pinned it (a fresh clone, a CI job). Asks git once; silent outside a git work tree. Not
  /// on the read path (`show`, `export`, `run` must stay fast).
  public func refuseRemovedTrust(_ action: String) throws(KeywardError) {
    guard trust == nil else { return }
    guard let log = Git.output(["log", "-1", "--format=%h %an", "--", Trust.rootName], in: path) else {
      return
    }
    let last = Text.trimBlanks(Substring(log))
    guard !last.isEmpty else { return }
    throw KeywardError(
      .integrity,
      "refusing to \(action): \(path) has no trust files now, but its git history has a trust root (last touched in commit "
        + "\(Text.printable(String(last.prefix(80)), keepNewlines: false))): removing them does not make an unprotected workspace",
      hint:
        "restore \(path)/\(Trust.folder) from version control (git checkout HEAD~ -- \(path)/\(Trust.folder)) and find out who removed it"
    )
  }

  /// The signed recipient key of an environment, when the workspace has a trust root.
  func checkSignedRecipient(_ env: EnvironmentFile, path file: String) throws(KeywardError) {
    guard let trust else { return }
    guard let signed = trust.recipients[env.environment] else {
      throw KeywardError(
        .integrity,
        "\(file): environment \(env.environment) is not in the signed state (trust/state.json version \(trust.version))"
      )
    }
    // During an admin's rekey the state also signs the key it is moving to.
    guard
      signed == env.recipient.publicKey || trust.pendingRecipients[env.environment] == env.recipient.publicKey
    else {
      let signedID = (try? PublicKey(base64: signed))?.fingerprint ?? "?"
      throw KeywardError(
        .integrity,
        "\(file): recipient.public_key (key \(env.recipient.keyID)) is not the signed key \(signedID) "
          + "(trust/state.json version \(trust.version)): the recipient key was substituted; nothing is sealed to it",
        hint: "restore \(file) from version control and find out who changed it")
    }
  }

  /// The workspace folder itself must not be a symbolic link: a committed `Environments ->
  /// ../elsewhere` would have every write land wherever its writer chose.
  public static func requireRealFolder(_ path: String) throws(KeywardError) {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    if FileSystem.irregularKind(String(p)) == "a symbolic link" {
      throw KeywardError(
        .input, "the workspace folder \(p) is a symbolic link; keyward works only in a real folder",
        advice: .nameRealWorkspace)
    }
  }

  static func unsupported(_ path: String, _ found: Int, _ known: Int) -> KeywardError {
    if found > known {
      return KeywardError(
        .input, "\(path): format version \(found) is newer than this keyward understands (\(known))",
        hint: "upgrade keyward")
    }
    return KeywardError(
      .input, "\(path): unknown format version \(found) (this keyward reads version \(known))")
  }

  /// Throws unless `name` is an environment of this workspace.
  public func requireEnvironment(_ name: String) throws(KeywardError) {
    guard config.environments[name] != nil else {
      let known = config.environmentNames.joined(separator: ", ")
      // A typo gets "did you mean"; only a name close to none of them is offered as a new one.
      let near = config.environmentNames.filter { Text.editDistance($0, name, limit: 2) <= 2 }
      let message =
        "no environment \"\(Text.printable(name, keepNewlines: false))\" in \(configPath) (known: \(known.isEmpty ? "none" : known))"
      if near.isEmpty && Names.isEnvironment(name) {
        throw KeywardError(.input, message, advice: .addEnvironment(name))
      }
      throw KeywardError(
        .input, message,
        hint: near.isEmpty ? nil : "did you mean \(near.map { "\"\($0)\"" }.joined(separator: " or "))?")
    }
  }

  /// Loads and validates one environment file without any private key.
  public func loadEnvironment(_ name: String) throws(KeywardError) -> EnvironmentFile {
    try requireEnvironment(name)
    let file = environmentPath(name)
    guard let bytes = try FileSystem.readIfPresent(file, limit: .document) else {
      throw KeywardError(
        .input, "\(file) is missing: the workspace lists environment \"\(name)\" but has no file for it",
        hint: "restore it from version control (git checkout -- \(file))")
    }
    let env = try EnvironmentFile.parse(bytes, source: file)
    try EnvironmentValidator.validate(env, name: name, path: file)
    try checkSignedRecipient(env, path: file)
    return env
  }

  /// Every environment, sorted by name. Many are read on every core (each file is read, parsed
  /// and checked on its own); the first failure in name order is the one thrown, as one by one.
  public func loadAll() throws(KeywardError) -> [EnvironmentFile] {
    let results = Parallel.map(config.environmentNames) { name in
      Result { () throws(KeywardError) in try loadEnvironment(name) }
    }
    var out = [EnvironmentFile]()
    out.reserveCapacity(results.count)
    for r in results { out.append(try r.get()) }
    return out
  }

  /// Atomically writes an environment file (mode 0644: it holds only ciphertext and public data).
  public func save(_ env: EnvironmentFile) throws(KeywardError) {
    try FileSystem.writeAtomically(environmentPath(env.environment), bytes: JSONFiles.encode(env.json))
  }

  public func saveConfig(_ config: WorkspaceConfig) throws(KeywardError) {
    try FileSystem.writeAtomically(configPath, bytes: JSONFiles.encode(config.json))
  }

  /// Takes the workspace's write lock and cleans up after interrupted writes.
  public func lock() throws(KeywardError) -> DirectoryLock {
    let lock = try DirectoryLock(path)
    FileSystem.removeStaleTemporaries(in: path)
    return lock
  }

  public func isProduction(_ name: String) -> Bool { config.environments[name]?.production ?? false }
}

/// Checks every value of keyward.json that a command acts on: it comes from a repository anyone
/// with write access can edit.
enum ConfigValidator {
  /// Days in a policy: up to a century (so that dates computed from them stay far from overflow).
  static let maxDays = 36_500

  static func validate(_ config: WorkspaceConfig, path: String) throws(KeywardError) {
    for (member, days) in [
      ("max_age_days", config.rotation.maxAgeDays), ("warn_age_days", config.rotation.warnAgeDays),
      ("grace_days", config.rotation.graceDays),
    ] where !(0...maxDays).contains(days) {
      throw KeywardError(.input, "\(path): rotation.\(member) is \(days); it must be 0 to \(maxDays) days")
    }
    for name in config.environmentNames {
      if let e = config.environments[name]?.endpoint {
        _ = try Endpoint(e, origin: "\(path): environments.\(name).endpoint")
      }
    }
    for (member, v) in [("app_key", config.export.appKey), ("app_secret", config.export.appSecret)] {
      try checkVariable(v, place: "\(path): export.\(member)")
    }
    guard config.export.appKey != config.export.appSecret else {
      throw KeywardError(.input, "\(path): export.app_key and export.app_secret are the same name")
    }
  }

  /// An export variable name: a POSIX name that does not change how the child starts.
  static func checkVariable(_ v: String, place: String) throws(KeywardError) {
    let shown = Text.printable(String(v.prefix(60)), keepNewlines: false)
    guard Names.isVariable(v) else {
      throw KeywardError(
        .input, "\(place): \"\(shown)\" is not a valid variable name (\(Names.variableRule))")
    }
    guard !Names.isDangerousVariable(v) else {
      throw KeywardError(
        .input,
        "\(place): refusing \"\(shown)\" as an export name: it changes how programs start (LD_*, PATH, …) or is keyward's own"
      )
    }
  }
}

/// Checks an environment file's structure and envelopes; needs no private key.
enum EnvironmentValidator {
  static func validate(_ env: EnvironmentFile, name: String, path: String) throws(KeywardError) {
    guard env.format == EnvironmentFile.formatName else {
      throw KeywardError(.input, "\(path): not a keyward environment file (format is \"\(env.format)\")")
    }
    guard env.version == EnvironmentFile.currentVersion else {
      throw Workspace.unsupported(path, env.version, EnvironmentFile.currentVersion)
    }
    guard env.environment == name else {
      throw KeywardError(
        .integrity,
        "\(path) says it belongs to environment \"\(env.environment)\", not \"\(name)\": was it copied or renamed?"
      )
    }
    let pk: PublicKey
    do { pk = try PublicKey(base64: env.recipient.publicKey) } catch {
      throw KeywardError(.integrity, "\(path): recipient.public_key: \(error.message)")
    }
    // The key's fingerprint is a hash: computed once per file, not once per ciphertext (3,000
    // environment files are checked by every `list`), and each set's place named only in an error.
    let keyFP = pk.fingerprint
    guard keyFP == env.recipient.keyID else {
      throw KeywardError(
        .integrity,
        "\(path): recipient.key_id \(env.recipient.keyID) does not match the public key (\(keyFP)): the file was edited"
      )
    }
    var seen = Set<String>()
    var active = 0
    for (i, set) in env.sets.enumerated() {
      var at: String { "\(path): sets[\(i)]" }
      guard Names.isSetID(set.id) else {
        throw KeywardError(
          .input, "\(at).id \"\(Text.printable(String(set.id.prefix(40))))\" is not a valid set id")
      }
      for field in Field.allCases where !Names.isFingerprint(set.fingerprints[field]) {
        throw KeywardError(
          .input,
          "\(at).fingerprints.\(field.rawValue) (set \(set.id)) is not a fingerprint (16 lower-case hex digits): the file was edited"
        )
      }
      if let v = set.lastVerification {
        guard Verdict(rawValue: v.verdict) != nil else {
          throw KeywardError(
            .input,
            "\(at).last_verification.verdict \"\(Text.printable(String(v.verdict.prefix(40))))\" is not a verdict keyward writes ("
              + Verdict.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        if !v.endpoint.isEmpty { _ = try Endpoint(v.endpoint, origin: "\(at).last_verification.endpoint") }
      }
      guard seen.insert(set.id).inserted else {
        throw KeywardError(.integrity, "\(at): set id \(set.id) appears twice")
      }
      if set.state == .active { active += 1 }
      for field in Field.allCases {
        let text = set.ciphertext(field)
        switch Sealed.inspect(text) {
        case .success(let keyID) where keyID != keyFP:
          throw KeywardError(
            .integrity,
            "\(at).\(field.rawValue) (set \(set.id)) is sealed to key \(keyID), not to \(name)'s key \(keyFP): "
              + "it was copied from another environment")
        case .success: break
        case .failure(let f): throw envelopeError(f, at: "\(at).\(field.rawValue) (set \(set.id))")
        }
      }
    }
    guard active <= 1 else {
      throw KeywardError(.integrity, "\(path): \(active) sets are active; at most one may be")
    }
  }

  static func envelopeError(_ failure: Sealed.OpenFailure, at place: String) -> KeywardError {
    switch failure {
    case .notEncrypted:
      return KeywardError(
        .integrity, "\(place) is not encrypted (no \(Sealed.prefix) prefix): a plaintext value in the store",
        hint: "remove the value and store it again with `keyward set`")
    case .unsupportedVersion(let v):
      return KeywardError(
        .input, "\(place) uses value format \(v):, which this keyward cannot read", hint: "upgrade keyward")
    case .malformed:
      return KeywardError(.integrity, "\(place) is a damaged ciphertext (bad base64 or too short)")
    case .otherRecipient(let k):
      return KeywardError(.integrity, "\(place) is sealed to another recipient key (\(k))")
    case .authentication:
      return KeywardError(.integrity, "\(place) failed authentication")
    }
  }
}

/// Name rules.
public enum Names {
  public static let environmentRule =
    "1-32 characters: lower-case letters, digits, '-' and '_', starting with a letter or digit"

  public static func isEnvironment(_ s: String) -> Bool {
    let b = Array(s.utf8)
    guard (1...32).contains(b.count), isLowerAlnum(b[0]) else { return false }
    return b.allSatisfy { isLowerAlnum($0) || $0 == 0x2d || $0 == 0x5f }
  }

  public static let memberRule =
    "1-64 characters: letters, digits, '.', '_', '@', '+' and '-', starting with a letter or digit"

  /// A member's name in the signed state (a person, `ci-deploy`, an e-mail address).
  public static func isMember(_ s: String) -> Bool {
    func alnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a) }
    let b = Array(s.utf8)
    guard (1...64).contains(b.count), alnum(b[0]) else { return false }
    return b.allSatisfy { alnum($0) || [0x2e, 0x5f, 0x40, 0x2b, 0x2d].contains($0) }
  }

  public static func isSetID(_ s: String) -> Bool {
    let b = Array(s.utf8)
    return (1...32).contains(b.count) && b.allSatisfy { isLowerAlnum($0) || $0 == 0x2d }
  }

  public static func isWorkspaceID(_ s: String) -> Bool { isFingerprint(s) }

  /// A value fingerprint or key id: exactly 16 lower-case hex digits.
  public static func isFingerprint(_ s: String) -> Bool { isLowerHex(s, count: 16) }

  /// Exactly `count` lower-case hex digits (fingerprints, identity and root fingerprints, hashes).
  public static func isLowerHex(_ s: String, count: Int) -> Bool {
    s.utf8.count == count && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
  }

  public static let variableRule = "a POSIX name: letters, digits and '_', not starting with a digit"

  /// Variable names that change how a program starts, where it finds code, configuration or
  /// trust, or where its traffic goes, refused as export names: a repository writer must not be
  /// able to name `LD_PRELOAD` (or `GIT_CONFIG_PARAMETERS`, `PERLLIB`, …) and have a value they
  /// stored become code in `keyward run`'s child. A deny list cannot be complete; the real fix is
  /// a signed keyward.json (see the README's threat model).
  public static func isDangerousVariable(_ name: String) -> Bool {
    let upper = name.uppercased()
    let exact: Set<String> = [
      "PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND",
      "CDPATH", "GLOBIGNORE", "SHELLOPTS", "BASHOPTS", "ZDOTDIR", "FPATH", "EDITOR", "VISUAL", "PAGER",
      "MANPAGER", "BROWSER", "TMPDIR", "TERM", "TERMINFO", "TERMCAP", "HOSTALIASES", "LOCALDOMAIN",
      "RES_OPTIONS", "TZDIR", "LOCPATH", "NLSPATH", "GCONV_PATH", "SSLKEYLOGFILE", "SSL_CERT_FILE",
      "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
      "NO_PROXY", "FTP_PROXY", "LESSOPEN", "LESSCLOSE", "LESSKEY", "GNUPGHOME", "KUBECONFIG",
      "DOCKER_HOST", "DOCKER_CONFIG", "PWD", "OLDPWD", "USER", "LOGNAME", "DISPLAY", "WAYLAND_DISPLAY",
    ]
    if exact.contains(upper) { return true }
    let prefixes = [
      "LD_", "DYLD_", "KEYWARD_", "BASH_FUNC_", "MALLOC_", "GLIBC_", "GIT_", "PERL", "PYTHON", "RUBY",
      "GEM_", "BUNDLE_", "NODE_", "NPM_", "YARN_", "JAVA", "_JAVA", "JDK_", "CLASSPATH", "MAVEN_",
      "GRADLE_", "DOTNET_", "CORECLR_", "COMPLUS_", "GODEBUG", "GOFLAGS", "GOPATH", "GOROOT",
      "GOPROXY", "GOENV", "GOTOOLCHAIN", "CARGO_", "RUST", "PHP", "LUA_", "TCL",
      "OPENSSL_", "LESS", "XDG_", "LC_", "LANG", "SSH_", "GPG_", "AWS_", "AZURE_", "GOOGLE_", "CLOUDSDK_",
    ]
    return prefixes.contains { upper.hasPrefix($0) }
  }

  /// A POSIX environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes.
  public static func isVariable(_ s: String) -> Bool {
    let b = Array(s.utf8)
    guard (1...128).contains(b.count), !(b[0] >= 0x30 && b[0] <= 0x39) else { return false }
    return b.allSatisfy {
      ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7a || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f
    }
  }

  static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }

  /// `KEYWARD_PRIVATE_KEY_<ENV>`: the name upper-cased, '-' as '_'.
  public static func privateKeyVariable(_ env: String) -> String {
    "KEYWARD_PRIVATE_KEY_" + String(env.uppercased().map { $0 == "-" ? "_" : $0 })
  }

  /// A new random set id: 8 hex digits.
  static func newSetID() -> String { Sodium.hex(Sodium.randomBytes(4)) }
}
