#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where private keys come from, in the documented order:
/// 1. `--key-file PATH` (a key file, or a file holding just the `kwsk1:` string);
/// 2. `KEYWARD_PRIVATE_KEY_<ENV>` (the `kwsk1:` string; for CI);
/// 3. the key store: `KEYWARD_KEYS_DIR`, else `$XDG_CONFIG_HOME/keyward/keys`, else
///    `~/.config/keyward/keys`; one file per environment at `<dir>/<workspace_id>/<env>.key`.
public struct KeySource {
  public var keyFile: String?
  public var passphraseFile: String?
  public var environment: Env
  /// Asks for a passphrase on the terminal; nil when there is none (CI). Given the prompt text.
  public var askPassphrase: ((String) throws(KeywardError) -> SecureBytes)?
  /// The person's identity, for an environment whose key is wrapped to them (per-person access).
  public var identity: IdentitySource?

  public init(
    keyFile: String? = nil, passphraseFile: String? = nil,
    environment: Env = .process,
    askPassphrase: ((String) throws(KeywardError) -> SecureBytes)? = nil, identity: IdentitySource? = nil
  ) {
    self.keyFile = keyFile
    self.passphraseFile = passphraseFile
    self.environment = environment
    self.askPassphrase = askPassphrase
    self.identity = identity
  }

  /// The key store folder.
  public static func storeDirectory(_ env: Env = .process) -> String {
    if let d = env.nonEmpty("KEYWARD_KEYS_DIR") {
      // Without trailing slashes: "keyslink/" would make lstat look through a link.
      var p = Substring(d)
      while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
      return String(p)
    }
    if let x = env.nonEmpty("XDG_CONFIG_HOME") { return "\(x)/keyward/keys" }
    return "\(env["HOME"] ?? "/")/.config/keyward/keys"
  }

  public static func storePath(workspaceID: String, environment: String, env: Env) -> String {
    "\(storeDirectory(env))/\(workspaceID)/\(environment).key"
  }

  /// Finds the private key for `envFile` and checks it is the environment's key. Returns the key
  /// and a description of where it came from (never its value).
  public func privateKey(for envFile: EnvironmentFile, in workspace: Workspace) throws(KeywardError)
    -> (PrivateKey, String)
  {
    let name = envFile.environment
    let expected = try PublicKey(base64: envFile.recipient.publicKey)
    let variable = Names.privateKeyVariable(name)
    let storePath = KeySource.storePath(
      workspaceID: workspace.config.workspaceID, environment: name, env: environment)
    let key: PrivateKey
    let origin: String
    if let keyFile {
      // A file the person named (`--key-file`): links and pipes are followed as any tool does
      // (`--key-file <(vault read …)`); a regular file must still be theirs alone.
      let raw = try FileSystem.readSecret(
        path: keyFile, requirePrivate: false, privateIfRegular: true, label: "private key file")
      key = try KeyFile.parse(raw, source: keyFile, passphrase: passphrase)
      origin = "key file \(keyFile)"
    } else if let value = environment.nonEmpty(variable) {
      // The environment variable's bytes are copied into guarded memory; the process environment
      // itself cannot be wiped, which is why CI should scope the variable to the steps that need it.
      var v = value
      let secret = v.withUTF8 { SecureBytes(copying: UnsafeRawBufferPointer($0)) }
      key = try PrivateKey.parse(secret, source: "$\(variable)")
      origin = "$\(variable)"
    } else if let wrapped = try keyThroughIdentity(for: envFile, in: workspace) {
      (key, origin) = wrapped
    } else if try KeySource.storeFolderChecked(storePath), FileSystem.exists(storePath + ".next"),
      (try? KeyFile.publicKey(path: storePath + ".next")) == expected
    {
      // An interrupted rekey: the file is sealed to the new key, which waits beside the old one
      // (the next `keyward rekey` or a re-run puts it in place).
      key = try KeyFile.load(path: storePath + ".next", passphrase: passphrase)
      origin = storePath + ".next"
    } else if FileSystem.exists(storePath) {
      key = try KeyFile.load(path: storePath, passphrase: passphrase)
      origin = storePath
    } else {
      throw KeywardError(
        .integrity, "no private key for environment \"\(name)\" (key \(expected.fingerprint))",
        advice: .privateKey(variable: variable, storePath: storePath))
    }
    guard key.publicKey == expected else {
      throw KeywardError(
        .integrity,
        "wrong private key for environment \"\(name)\": expected key \(expected.fingerprint), found \(key.publicKey.fingerprint) (from \(origin))"
      )
    }
    return (key, origin)
  }

  /// The environment's key through the person's own wrap, when the signed state has one for the
  /// configured identity.
  func keyThroughIdentity(for envFile: EnvironmentFile, in workspace: Workspace) throws(KeywardError)
    -> (PrivateKey, String)?
  {
    guard let identity, let wraps = workspace.trust?.wraps[envFile.environment], !wraps.isEmpty,
      identity.configured
    else { return nil }
    guard let id = try identity.load(passphrase: passphrase) else { return nil }
    guard let key = try Access.key(for: envFile, in: workspace, identity: id) else { return nil }
    return (key, "identity \(id.name) (its wrap of \(envFile.environment)'s key)")
  }

  /// Before a key is taken from the store: its folder and the workspace's folder in it must be this
  /// user's alone (whoever can write them can swap the key files). Always true; throws otherwise.
  static func storeFolderChecked(_ storePath: String) throws(KeywardError) -> Bool {
    let folder = Path.directory(storePath)
    guard FileSystem.exists(folder) else { return true }
    try FileSystem.requirePrivateDirectory(Path.directory(folder))
    try FileSystem.requirePrivateDirectory(folder)
    return true
  }

  /// The passphrase in `--passphrase-file` (its first line), if that option was given.
  public func passphraseFromFile() throws(KeywardError) -> SecureBytes? {
    guard let passphraseFile else { return nil }
    let raw = try FileSystem.readSecret(path: passphraseFile, requirePrivate: false, privateIfRegular: true)
    var end = 0
    while end < raw.count && raw[end] != 0x0a { end += 1 }
    if end > 0 && raw[end - 1] == 0x0d { end -= 1 }
    raw.truncate(to: end)
    guard raw.count > 0 else { throw KeywardError(.input, "\(passphraseFile): the passphrase is empty") }
    return raw
  }

  /// Reads the passphrase from `--passphrase-file`, else asks on the terminal.
  func passphrase(_ prompt: String) throws(KeywardError) -> SecureBytes {
    if let fromFile = try passphraseFromFile() { return fromFile }
    guard let askPassphrase else {
      throw KeywardError(
        .integrity, "\(prompt), and there is no terminal to ask on", advice: .passphraseFile)
    }
    return try askPassphrase(prompt)
  }
}

/// The key file format (one `name: value` per line; `#` comments):
/// ```
/// keyward-key: 1
/// environment: prod
/// workspace: 5d1c0e7f9a2b4c3d
/// public-key: <base64>
/// secret-key: kwsk1:<base64>           (plain)
/// kdf: argon2id13                      (or, passphrase-protected:)
/// opslimit: 2
/// memlimit: 67108864
/// salt: <base64>
/// encrypted-secret-key: <base64 of nonce[24] || ciphertext[48]>
/// ```
/// A file holding only a `kwsk1:` string is accepted too.
public enum KeyFile {
  public static func render(
    _ key: PrivateKey, environment: String, workspaceID: String, passphrase: SecureBytes?
  ) throws(KeywardError) -> SecureBytes {
    let out = SecureBytes(capacity: 512)
    out.append(
      literal: """
        # keyward private key for environment "\(environment)". Keep it secret (mode 0600):
        # whoever holds it can read every set of \(environment).
        keyward-key: 1
        environment: \(environment)
        workspace: \(workspaceID)
        public-key: \(key.publicKey.base64)

        """)
    if let passphrase {
      let params = PassphraseParameters.interactive()
      let wrapped = try PassphraseWrap.wrap(key, passphrase: passphrase, parameters: params)
      out.append(
        literal: """
          kdf: argon2id13
          opslimit: \(params.opslimit)
          memlimit: \(params.memlimit)
          salt: \(Sodium.base64(params.salt))
          encrypted-secret-key: \(Sodium.base64(wrapped))

          """)
    } else {
      out.append(literal: "secret-key: ")
      out.append(key.exportString())
      out.append(0x0a)
    }
    return out
  }

  /// Writes a new key file atomically with mode 0600 in a 0700 folder. Never replaces one: two
  /// clones of a repository share a key-store folder, and a replaced key loses every set sealed
  /// to it.
  public static func write(_ contents: SecureBytes, to path: String) throws(KeywardError) {
    try FileSystem.makeDirectory(Path.directory(path), mode: 0o700)
    try FileSystem.writeAtomically(path, mode: 0o600, forceMode: true, noClobber: true) {
      (fd: Int32) throws(KeywardError) in
      try contents.write(to: fd)
    }
  }

  /// The `public-key:` line of a key file, read without touching the secret.
  public static func publicKey(path: String) throws(KeywardError) -> PublicKey {
    let raw = try FileSystem.readSecret(path: path, requirePrivate: true)
    var start = 0
    while start < raw.count {
      var end = start
      while end < raw.count && raw[end] != 0x0a { end += 1 }
      let line = SecureText.trimmedRange(raw, start..<end)
      let prefix = Array("public-key:".utf8)
      if line.count > prefix.count, (0..<prefix.count).allSatisfy({ raw[line.lowerBound + $0] == prefix[$0] })
      {
        let value = SecureText.trimmedRange(raw, (line.lowerBound + prefix.count)..<line.upperBound)
        return try PublicKey(base64: raw.withUnsafeBytes(in: value) { String(decoding: $0, as: UTF8.self) })
      }
      start = end + 1
    }
    throw KeywardError(.integrity, "\(path): no public-key line (a bare kwsk1: key cannot be adopted)")
  }

  public static func load(path: String, passphrase: (String) throws(KeywardError) -> SecureBytes)
    throws(KeywardError)
    -> PrivateKey
  {
    let raw = try FileSystem.readSecret(path: path, requirePrivate: true)
    return try parse(raw, source: path, passphrase: passphrase)
  }

  static func parse(
    _ raw: SecureBytes, source: String, passphrase: (String) throws(KeywardError) -> SecureBytes
  )
    throws(KeywardError) -> PrivateKey
  {
    let prefix = Array(PrivateKey.textPrefix.utf8)
    let whole = SecureText.trimmedRange(raw, 0..<raw.count)
    if whole.count > prefix.count, (0..<prefix.count).allSatisfy({ raw[whole.lowerBound + $0] == prefix[$0] })
    {
      return try PrivateKey.parse(raw, range: whole, source: source)
    }
    // Lines are handled as ranges of the one guarded buffer: only the secret is ever decoded, and
    // nothing secret becomes a String.
    var fields = [String: String]()
    var secretRange: Range<Int>?
    var lineStart = 0
    var lineNumber = 0
    while lineStart < raw.count {
      var end = lineStart
      while end < raw.count && raw[end] != 0x0a { end += 1 }
      lineNumber += 1
      let line = SecureText.trimmedRange(raw, lineStart..<end)
      lineStart = end + 1
      if line.isEmpty || raw[line.lowerBound] == 0x23 { continue }
      var colon = line.lowerBound
      while colon < line.upperBound && raw[colon] != 0x3a { colon += 1 }
      guard colon < line.upperBound else {
        throw KeywardError(.integrity, "\(source):\(lineNumber): not a `name: value` line")
      }
      let name = raw.withUnsafeBytes(in: line.lowerBound..<colon) { String(decoding: $0, as: UTF8.self) }
      let value = SecureText.trimmedRange(raw, (colon + 1)..<line.upperBound)
      if name == "secret-key" {
        secretRange = value
      } else {
        fields[name] = raw.withUnsafeBytes(in: value) { String(decoding: $0, as: UTF8.self) }
      }
    }
    guard fields["keyward-key"] == "1" else {
      throw KeywardError(.integrity, "\(source) is not a keyward key file (no `keyward-key: 1` line)")
    }
    guard let pkText = fields["public-key"], let pk = try? PublicKey(base64: pkText) else {
      throw KeywardError(.integrity, "\(source): missing or invalid public-key")
    }
    let key: PrivateKey
    if let secretRange {
      key = try PrivateKey.parse(raw, range: secretRange, source: "\(source) secret-key")
    } else if let wrappedText = fields["encrypted-secret-key"] {
      guard fields["kdf"] == "argon2id13", let ops = fields["opslimit"].flatMap({ UInt64($0) }),
        let mem = fields["memlimit"].flatMap({ Int($0) }), let salt = fields["salt"].flatMap(Sodium.unbase64),
        let wrapped = Sodium.unbase64(wrappedText)
      else {
        throw KeywardError(
          .integrity, "\(source): incomplete passphrase protection (kdf, opslimit, memlimit, salt)")
      }
      guard PassphraseParameters.acceptable(opslimit: ops, memlimit: mem) else {
        // A tampered file must not make keyward run Argon2 for hours or allocate gigabytes.
        throw KeywardError(
          .integrity,
          "\(source): Argon2id parameters opslimit \(ops), memlimit \(mem) are outside what keyward writes or accepts "
            + "(opslimit \(PassphraseParameters.opslimitRange), memlimit up to \(PassphraseParameters.maxMemlimit) bytes): the file was edited"
        )
      }
      let env = fields["environment"] ?? "?"
      let pass = try passphrase("the private key of \(env) is protected by a passphrase")
      key = try PassphraseWrap.unwrap(
        wrapped, passphrase: pass, parameters: PassphraseParameters(opslimit: ops, memlimit: mem, salt: salt),
        publicKey: pk, source: source)
    } else {
      throw KeywardError(.integrity, "\(source): no secret-key or encrypted-secret-key line")
    }
    guard key.publicKey == pk else {
      throw KeywardError(
        .integrity, "\(source): the secret key does not match its public-key line (file edited or damaged)")
    }
    return key
  }
}
