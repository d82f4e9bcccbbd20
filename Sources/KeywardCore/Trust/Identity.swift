import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A person's or a CI job's public identity: an Ed25519 public key. Written `ed25519:<base64>`;
/// an OpenSSH `ssh-ed25519 AAAA… comment` line is accepted wherever one is read.
public struct PublicIdentity: Sendable, Hashable {
  public let key: [UInt8]

  public init(key: [UInt8]) throws(KeywardError) {
    guard key.count == Int(crypto_sign_publickeybytes()) else {
      throw KeywardError(.input, "an Ed25519 public key must be 32 bytes, not \(key.count)")
    }
    self.key = key
  }

  public static let prefix = "ed25519:"

  public var text: String { PublicIdentity.prefix + Sodium.base64(key) }

  /// 128 bits of BLAKE2b over a label and the key, as 32 hex digits: how people compare identities.
  public var fingerprint: String {
    Sodium.hex(Array(Sodium.blake2b(length: 32, [Array("keyward identity v1".utf8), key]).prefix(16)))
  }

  /// Parses `ed25519:<base64>` or an OpenSSH `ssh-ed25519 <base64> [comment]` public key.
  public init(parsing raw: String) throws(KeywardError) {
    let text = Text.trimBlanks(Substring(raw.filter { $0 != "\n" && $0 != "\r" }))
    if text.hasPrefix(PublicIdentity.prefix) {
      guard let bytes = Sodium.unbase64(String(text.dropFirst(PublicIdentity.prefix.count))) else {
        throw KeywardError(.input, "\"\(Text.printable(String(text.prefix(60))))\": not valid base64")
      }
      try self.init(key: bytes)
      return
    }
    let parts = text.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count >= 2, parts[0] == "ssh-ed25519", let blob = Sodium.unbase64(String(parts[1])) else {
      throw KeywardError(
        .input,
        "\"\(Text.printable(String(text.prefix(60)), keepNewlines: false))\" is not a public identity (ed25519:… or ssh-ed25519 …)"
      )
    }
    // The SSH wire form: string "ssh-ed25519", string key (32 bytes).
    var reader = SSHReader(blob)
    guard let type = reader.string(), type == Array("ssh-ed25519".utf8), let key = reader.string(),
      reader.atEnd
    else { throw KeywardError(.input, "the ssh-ed25519 key is malformed") }
    try self.init(key: key)
  }

  /// Whether `signature` is this identity's Ed25519 signature of `message`.
  public func verifies(_ signature: [UInt8], of message: [UInt8]) -> Bool {
    guard signature.count == Int(crypto_sign_bytes()) else { return false }
    // A key that signs many times in this process is checked against its table of multiples.
    if let answer = FixedBase.verify(signature, of: message, key: key) { return answer }
    return crypto_sign_verify_detached(signature, message, UInt64(message.count), key) == 0
  }
}

/// An identity with its secret: an Ed25519 seed in guarded memory.
public final class Identity: @unchecked Sendable {
  public let name: String
  public let publicIdentity: PublicIdentity
  /// libsodium's 64-byte secret key (seed || public key).
  let secretKey: SecureBytes

  init(name: String, seed: SecureBytes) throws(KeywardError) {
    try Sodium.ready()
    guard seed.count == Int(crypto_sign_seedbytes()) else {
      throw KeywardError(.integrity, "an identity seed must be 32 bytes, not \(seed.count)")
    }
    let sk = SecureBytes(capacity: 64)
    sk.resize(to: 64)
    var pk = [UInt8](repeating: 0, count: 32)
    _ = seed.withUnsafeBytes { s in
      sk.withUnsafeMutableBytes { k in
        crypto_sign_seed_keypair(
          &pk, k.bindMemory(to: UInt8.self).baseAddress!, s.bindMemory(to: UInt8.self).baseAddress!)
      }
    }
    self.name = name
    self.secretKey = sk
    self.publicIdentity = try PublicIdentity(key: pk)
  }

  /// A fresh random identity.
  public static func generate(name: String) throws(KeywardError) -> Identity {
    try Sodium.ready()
    let seed = SecureBytes(capacity: 32)
    seed.resize(to: 32)
    seed.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, 32) }
    return try Identity(name: name, seed: seed)
  }

  /// The seed (the first half of libsodium's secret key), for writing the identity file.
  var seed: SecureBytes { secretKey.slice(0..<32) }

  /// An Ed25519 signature of `message`.
  public func sign(_ message: [UInt8]) -> [UInt8] {
    var sig = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
    secretKey.withUnsafeBytes { k in
      _ = crypto_sign_detached(
        &sig, nil, message, UInt64(message.count), k.bindMemory(to: UInt8.self).baseAddress!)
    }
    return sig
  }
}

/// Reads SSH wire-format fields (uint32 big-endian lengths).
struct SSHReader {
  let bytes: [UInt8]
  var offset = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var atEnd: Bool { offset == bytes.count }

  mutating func uint32() -> UInt32? {
    guard offset + 4 <= bytes.count else { return nil }
    defer { offset += 4 }
    return bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
  }

  mutating func string() -> [UInt8]? {
    guard let n = uint32(), Int(n) <= bytes.count - offset else { return nil }
    defer { offset += Int(n) }
    return Array(bytes[offset..<(offset + Int(n))])
  }
}

/// The identity file (one `name: value` per line, like key files):
/// ```
/// keyward-identity: 1
/// name: alice
/// public: ed25519:<base64>
/// secret: kwid1:<base64 of the 32-byte seed>          (plain)
/// kdf: argon2id13 / opslimit / memlimit / salt /        (or, passphrase-protected:)
/// encrypted-secret: <base64 of nonce[24] || ciphertext[48]>
/// ```
public enum IdentityFile {
  static let secretPrefix = "kwid1:"

  public static func render(_ id: Identity, passphrase: SecureBytes?) throws(KeywardError) -> SecureBytes {
    let out = SecureBytes(capacity: 512)
    out.append(
      literal: """
        # keyward identity "\(id.name)". Keep it secret (mode 0600): it signs as \(id.name).
        keyward-identity: 1
        name: \(id.name)
        public: \(id.publicIdentity.text)

        """)
    if let passphrase {
      let params = PassphraseParameters.interactive()
      let wrapped = try PassphraseWrap.wrapSecret(
        id.seed, label: identityLabel(id.publicIdentity), passphrase: passphrase, parameters: params)
      out.append(
        literal: """
          kdf: argon2id13
          opslimit: \(params.opslimit)
          memlimit: \(params.memlimit)
          salt: \(Sodium.base64(params.salt))
          encrypted-secret: \(Sodium.base64(wrapped))

          """)
    } else {
      out.append(literal: "secret: \(secretPrefix)")
      out.append(literal: Sodium.base64(id.seed.withUnsafeBytes { Array($0) }))
      out.append(0x0a)
    }
    return out
  }

  static func identityLabel(_ p: PublicIdentity) -> [UInt8] { Array("keyward identity seed v1".utf8) + p.key }

  /// Parses an identity file, or a bare `kwid1:` string (KEYWARD_IDENTITY in CI).
  public static func parse(
    _ raw: SecureBytes, source: String, passphrase: (String) throws(KeywardError) -> SecureBytes
  ) throws(KeywardError) -> Identity {
    var fields = [String: String]()
    var secretRange: Range<Int>?
    var start = 0
    while start < raw.count {
      var end = start
      while end < raw.count && raw[end] != 0x0a { end += 1 }
      let line = SecureText.trimmedRange(raw, start..<end)
      start = end + 1
      if line.isEmpty || raw[line.lowerBound] == 0x23 { continue }
      let prefix = Array(secretPrefix.utf8)
      if line.count > prefix.count, (0..<prefix.count).allSatisfy({ raw[line.lowerBound + $0] == prefix[$0] })
      {
        secretRange = (line.lowerBound + prefix.count)..<line.upperBound
        continue
      }
      var colon = line.lowerBound
      while colon < line.upperBound && raw[colon] != 0x3a { colon += 1 }
      guard colon < line.upperBound else {
        throw KeywardError(.integrity, "\(source): not a `name: value` line")
      }
      let name = raw.withUnsafeBytes(in: line.lowerBound..<colon) { String(decoding: $0, as: UTF8.self) }
      let value = SecureText.trimmedRange(raw, (colon + 1)..<line.upperBound)
      if name == "secret" {
        let v = value
        guard v.count > prefix.count, (0..<prefix.count).allSatisfy({ raw[v.lowerBound + $0] == prefix[$0] })
        else {
          throw KeywardError(.integrity, "\(source): the secret line does not start with \(secretPrefix)")
        }
        secretRange = (v.lowerBound + prefix.count)..<v.upperBound
      } else {
        fields[name] = raw.withUnsafeBytes(in: value) { String(decoding: $0, as: UTF8.self) }
      }
    }
    let name = fields["name"] ?? "ci"
    guard Names.isMember(name) else {
      throw KeywardError(.integrity, "\(source): the identity's name is not valid (\(Names.memberRule))")
    }
    if let secretRange {
      let seed = try decodeSeed(raw, secretRange, source: source)
      let id = try Identity(name: name, seed: seed)
      if let p = fields["public"], try PublicIdentity(parsing: p) != id.publicIdentity {
        throw KeywardError(.integrity, "\(source): the secret does not match its public line (file edited?)")
      }
      return id
    }
    guard fields["keyward-identity"] == "1" else {
      throw KeywardError(
        .integrity, "\(source) is not a keyward identity file (no `keyward-identity: 1` line)")
    }
    guard let pubText = fields["public"], let wrappedText = fields["encrypted-secret"],
      fields["kdf"] == "argon2id13", let ops = fields["opslimit"].flatMap({ UInt64($0) }),
      let mem = fields["memlimit"].flatMap({ Int($0) }), let salt = fields["salt"].flatMap(Sodium.unbase64),
      let wrapped = Sodium.unbase64(wrappedText)
    else { throw KeywardError(.integrity, "\(source): no secret line, and incomplete passphrase protection") }
    guard PassphraseParameters.acceptable(opslimit: ops, memlimit: mem) else {
      throw KeywardError(.integrity, "\(source): Argon2id parameters out of range: the file was edited")
    }
    let pub = try PublicIdentity(parsing: pubText)
    let pass = try passphrase("the identity \(name) is protected by a passphrase")
    let seed = try PassphraseWrap.unwrapSecret(
      wrapped, label: identityLabel(pub), passphrase: pass,
      parameters: PassphraseParameters(opslimit: ops, memlimit: mem, salt: salt), source: source)
    let id = try Identity(name: name, seed: seed)
    guard id.publicIdentity == pub else {
      throw KeywardError(.integrity, "\(source): the secret does not match its public line (file edited?)")
    }
    return id
  }

  static func decodeSeed(_ raw: SecureBytes, _ range: Range<Int>, source: String) throws(KeywardError)
    -> SecureBytes
  {
    let seed = SecureBytes(capacity: 48)
    seed.resize(to: 48)
    var len = 0
    let rc = raw.withUnsafeBytes(in: range) { b64 in
      seed.withUnsafeMutableBytes { out in
        b64.withMemoryRebound(to: CChar.self) { c in
          sodium_base642bin(
            out.bindMemory(to: UInt8.self).baseAddress!, 48, c.baseAddress, c.count, nil, &len, nil,
            Int32(sodium_base64_VARIANT_ORIGINAL))
        }
      }
    }
    guard rc == 0, len == 32 else {
      throw KeywardError(.integrity, "\(source): the identity secret is malformed")
    }
    seed.truncate(to: 32)
    return seed
  }

  /// Imports an unencrypted OpenSSH ed25519 private key (`-----BEGIN OPENSSH PRIVATE KEY-----`).
  /// An encrypted one (bcrypt-pbkdf + AES, which libsodium lacks) is refused with the way out.
  public static func importSSH(_ raw: SecureBytes, source: String, name: String) throws(KeywardError)
    -> Identity
  {
    let text = raw.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    let begin = "-----BEGIN OPENSSH PRIVATE KEY-----"
    let end = "-----END OPENSSH PRIVATE KEY-----"
    guard let b = text.firstRange(of: begin), let e = text.firstRange(of: end), b.upperBound <= e.lowerBound
    else {
      throw KeywardError(
        .input, "\(source) is not an OpenSSH private key (no BEGIN OPENSSH PRIVATE KEY line)")
    }
    let body = text[b.upperBound..<e.lowerBound].filter { !$0.isWhitespace }
    guard let blob = Sodium.unbase64(String(body)) else {
      throw KeywardError(.input, "\(source): the key's base64 is malformed")
    }
    var r = SSHReader(blob)
    let magic = Array("openssh-key-v1".utf8) + [0]
    guard blob.count > magic.count, Array(blob.prefix(magic.count)) == magic else {
      throw KeywardError(.input, "\(source): not an openssh-key-v1 key")
    }
    r.offset = magic.count
    guard let cipher = r.string(), let _ = r.string(), let _ = r.string(), let n = r.uint32(), n == 1,
      let _ = r.string(), let priv = r.string()
    else { throw KeywardError(.input, "\(source): the OpenSSH key is malformed") }
    guard cipher == Array("none".utf8) else {
      throw KeywardError(
        .input,
        "\(source) is encrypted with a passphrase (\(String(decoding: cipher, as: UTF8.self))); keyward cannot decrypt OpenSSH keys",
        hint:
          "make an unencrypted copy for the import (ssh-keygen -p -N '' -f COPY), import it, then delete the copy"
      )
    }
    var p = SSHReader(priv)
    guard let c1 = p.uint32(), let c2 = p.uint32(), c1 == c2, let type = p.string(),
      type == Array("ssh-ed25519".utf8), let pk = p.string(), pk.count == 32, let sk = p.string(),
      sk.count == 64
    else {
      throw KeywardError(.input, "\(source): not an ssh-ed25519 key (only ed25519 keys can be imported)")
    }
    let seed = SecureBytes(capacity: 32)
    sk.prefix(32).withUnsafeBytes { seed.append($0) }
    let id = try Identity(name: name, seed: seed)
    guard id.publicIdentity.key == pk else {
      throw KeywardError(.input, "\(source): the private key does not match its public half")
    }
    return id
  }
}

/// Where the identity comes from: `--identity FILE`, then `KEYWARD_IDENTITY` (a file's path or a
/// bare `kwid1:` secret, for CI), then the key store's `identity` file.
public struct IdentitySource: Sendable {
  public var file: String?
  public var environment: Env

  public init(file: String? = nil, environment: Env = .process) {
    self.file = file
    self.environment = environment
  }

  public static func defaultPath(_ env: Env) -> String { KeySource.storeDirectory(env) + "/identity" }

  /// The path or inline value in use, and whether any identity is configured.
  public var configured: Bool {
    file != nil || environment.nonEmpty("KEYWARD_IDENTITY") != nil
      || FileSystem.exists(IdentitySource.defaultPath(environment))
  }

  /// The identity this process loaded last: the trail signs with it, so a passphrase is asked
  /// once per run at most.
  nonisolated(unsafe) public static var lastLoaded: Identity? = nil

  /// Loads the identity, or nil when none is configured.
  public func load(passphrase: (String) throws(KeywardError) -> SecureBytes) throws(KeywardError) -> Identity?
  {
    let id = try loadOnce(passphrase: passphrase)
    if let id { IdentitySource.lastLoaded = id }
    return id
  }

  func loadOnce(passphrase: (String) throws(KeywardError) -> SecureBytes) throws(KeywardError) -> Identity? {
    if let file { return try loadFile(file, passphrase: passphrase) }
    if let v = environment.nonEmpty("KEYWARD_IDENTITY") {
      if v.hasPrefix(IdentityFile.secretPrefix) {
        var copy = v
        let secret = copy.withUTF8 { SecureBytes(copying: UnsafeRawBufferPointer($0)) }
        return try IdentityFile.parse(secret, source: "$KEYWARD_IDENTITY", passphrase: passphrase)
      }
      return try loadFile(v, passphrase: passphrase)
    }
    let path = IdentitySource.defaultPath(environment)
    guard FileSystem.exists(path) else { return nil }
    return try loadFile(path, passphrase: passphrase)
  }

  func loadFile(_ path: String, passphrase: (String) throws(KeywardError) -> SecureBytes) throws(KeywardError)
    -> Identity
  {
    let raw = try FileSystem.readSecret(path: path, requirePrivate: true)
    return try IdentityFile.parse(raw, source: path, passphrase: passphrase)
  }

  /// Writes a new identity file (0600, never replacing one).
  public static func write(_ contents: SecureBytes, to path: String) throws(KeywardError) {
    try KeyFile.write(contents, to: path)
  }
}
