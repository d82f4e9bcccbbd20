import CSodium

/// Where a sealed value lives. It is bound into the ciphertext as associated data, so a value
/// copied to another field, set or environment fails to open.
public struct Place: Sendable, Hashable, CustomStringConvertible {
  public let environment: String
  public let setID: String
  public let field: Field

  public init(environment: String, setID: String, field: Field) {
    self.environment = environment
    self.setID = setID
    self.field = field
  }

  /// `kw1 NUL env NUL set NUL field`. Names are validated to hold no NUL, so this is unambiguous.
  var associatedData: [UInt8] {
    Array("kw1\0\(environment)\0\(setID)\0\(field.rawValue)".utf8)
  }

  public var description: String { "\(environment)/\(setID)/\(field.rawValue)" }
}

/// The two secret-bearing fields of a set.
public enum Field: String, Sendable, CaseIterable, Codable {
  case appKey = "app_key"
  case appSecret = "app_secret"

  public var other: Field { self == .appKey ? .appSecret : .appKey }
  /// How people call it.
  public var label: String { self == .appKey ? "App Key" : "App Secret" }
}

/// The `kw1:` value format: an anonymous-sender, public-key AEAD seal of one value.
///
/// ```
/// kw1:BASE64( key_id[8] || epk[32] || nonce[24] || xchacha20poly1305_ietf(m, ad, nonce, k) )
/// shared = X25519(esk, recipient_pk)                (crypto_scalarmult; all-zero output refused)
/// k      = BLAKE2b-256(key = shared, msg = "keyward kw1 key" || epk || recipient_pk)
/// ad     = "kw1" 0x00 environment 0x00 set_id 0x00 field
/// key_id = first 8 bytes of BLAKE2b-256("keyward recipient v1" || recipient_pk)
/// ```
/// A fresh ephemeral keypair and a random nonce are drawn for every value. The full description,
/// for writing a compatible reader, is in FORMAT.md.
public enum Sealed {
  public static let prefix = "kw1:"
  static let keyIDBytes = 8
  static let publicKeyBytes = 32
  static let nonceBytes = 24
  static let tagBytes = 16
  static let headerBytes = keyIDBytes + publicKeyBytes + nonceBytes

  /// Seals `plaintext` to `recipient` for `place`.
  public static func seal(_ plaintext: SecureBytes, to recipient: PublicKey, at place: Place)
    throws(KeywardError) -> String
  {
    try Sodium.ready()
    let ephemeral = try PrivateKey.generate()
    let nonce = Sodium.randomBytes(nonceBytes)
    let scratch = Scratch()
    try deriveKey(
      secret: ephemeral, peer: recipient, epk: ephemeral.publicKey, recipient: recipient, into: scratch)
    let key = scratch.key
    let ad = place.associatedData
    var out = recipient.fingerprintBytes + ephemeral.publicKey.bytes + nonce
    let headerCount = out.count
    out += [UInt8](repeating: 0, count: plaintext.count + tagBytes)
    var clen: UInt64 = 0
    let rc = plaintext.withUnsafeBytes { m in
      scratch.buffer.withUnsafeBytes(in: key) { k in
        out.withUnsafeMutableBufferPointer { o in
          crypto_aead_xchacha20poly1305_ietf_encrypt(
            o.baseAddress! + headerCount, &clen, m.bindMemory(to: UInt8.self).baseAddress, UInt64(m.count),
            ad, UInt64(ad.count), nil, nonce, k.bindMemory(to: UInt8.self).baseAddress!)
        }
      }
    }
    guard rc == 0 else { throw KeywardError(.internal, "encryption failed at \(place)") }
    return prefix + Sodium.base64(out)
  }

  /// Why a value could not be opened, for messages that say what and where.
  public enum OpenFailure: Error, Sendable, Equatable {
    /// Not a `kw…:` string at all: probably a plaintext value.
    case notEncrypted
    /// A later format version (`kw2:` …).
    case unsupportedVersion(String)
    /// Not base64, or too short to hold a header and tag.
    case malformed
    /// Sealed to another recipient key (fingerprint given).
    case otherRecipient(String)
    /// Authentication failed: altered, or moved from another place.
    case authentication
  }

  /// Parses the envelope without decrypting: checks the prefix, base64 and length, and returns the
  /// recipient key fingerprint the value was sealed to.
  public static func inspect(_ text: String) -> Result<String, OpenFailure> {
    switch decodeEnvelope(text) {
    case .success(let raw): return .success(Sodium.hex(Array(raw.prefix(keyIDBytes))))
    case .failure(let f): return .failure(f)
    }
  }

  private static func decodeEnvelope(_ text: String) -> Result<[UInt8], OpenFailure> {
    guard text.hasPrefix(prefix) else {
      if let colon = text.firstIndex(of: ":"), text.hasPrefix("kw"),
        text[text.index(text.startIndex, offsetBy: 2)..<colon].allSatisfy(\.isNumber),
        text.distance(from: text.startIndex, to: colon) > 2
      {
        return .failure(.unsupportedVersion(String(text[..<colon])))
      }
      return .failure(.notEncrypted)
    }
    guard let raw = Sodium.unbase64(String(text.dropFirst(prefix.count))),
      raw.count >= headerBytes + tagBytes
    else { return .failure(.malformed) }
    return .success(raw)
  }

  /// Guarded working memory for key agreement and derivation (64 bytes: the X25519 shared secret,
  /// then the derived key). Opening several values with one scratch saves a guarded allocation —
  /// mmap, mprotect, mlock and their undoing — per value.
  public final class Scratch {
    let buffer: SecureBytes
    let shared = 0..<32
    let key = 32..<64

    public init() {
      buffer = SecureBytes(capacity: 64)
      buffer.resize(to: 64)
    }
  }

  /// Opens a value sealed for `place` with the environment's private key.
  public static func open(_ text: String, with key: PrivateKey, at place: Place, scratch: Scratch? = nil)
    -> Result<SecureBytes, OpenFailure>
  {
    let raw: [UInt8]
    switch decodeEnvelope(text) {
    case .success(let r): raw = r
    case .failure(let f): return .failure(f)
    }
    let keyID = Array(raw[0..<keyIDBytes])
    guard keyID == key.publicKey.fingerprintBytes else {
      return .failure(.otherRecipient(Sodium.hex(keyID)))
    }
    let scratch = scratch ?? Scratch()
    guard let epk = try? PublicKey(bytes: Array(raw[keyIDBytes..<(keyIDBytes + publicKeyBytes)])),
      (try? deriveKey(secret: key, peer: epk, epk: epk, recipient: key.publicKey, into: scratch)) != nil
    else { return .failure(.authentication) }
    let nonce = Array(raw[(keyIDBytes + publicKeyBytes)..<headerBytes])
    let clen = raw.count - headerBytes
    let out = SecureBytes(capacity: clen)
    out.resize(to: clen - tagBytes)
    let ad = place.associatedData
    var mlen: UInt64 = 0
    let rc = raw.withUnsafeBufferPointer { c in
      scratch.buffer.withUnsafeBytes(in: scratch.key) { kb in
        out.withUnsafeMutableBytes { m in
          crypto_aead_xchacha20poly1305_ietf_decrypt(
            m.bindMemory(to: UInt8.self).baseAddress, &mlen, nil, c.baseAddress! + headerBytes, UInt64(clen),
            ad,
            UInt64(ad.count), nonce, kb.bindMemory(to: UInt8.self).baseAddress!)
        }
      }
    }
    guard rc == 0 else { return .failure(.authentication) }
    out.truncate(to: Int(mlen))
    return .success(out)
  }

  /// X25519 then keyed BLAKE2b, as documented above, into the scratch's guarded memory.
  private static func deriveKey(
    secret: PrivateKey, peer: PublicKey, epk: PublicKey, recipient: PublicKey, into scratch: Scratch
  ) throws(KeywardError) {
    let buf = scratch.buffer
    let rc = buf.withUnsafeMutableBytes { all in
      secret.secret.withUnsafeBytes { sk in
        crypto_scalarmult(
          all.bindMemory(to: UInt8.self).baseAddress!, sk.bindMemory(to: UInt8.self).baseAddress!, peer.bytes)
      }
    }
    // libsodium returns -1 for an all-zero shared secret (a small-order point): never use it.
    guard rc == 0 else {
      throw KeywardError(
        .integrity,
        "key agreement failed: the ephemeral or recipient public key is invalid (a small-order point)")
    }
    let h = buf.withUnsafeBytes(in: scratch.shared) { Blake2b(key: $0, length: 32) }
    h.update(Array("keyward kw1 key".utf8))
    h.update(epk.bytes)
    h.update(recipient.bytes)
    buf.withUnsafeMutableBytes { all in
      h.finish(into: UnsafeMutableRawBufferPointer(rebasing: all[32..<64]))
      sodium_memzero(all.baseAddress!, 32)  // the shared secret is not needed any more
    }
  }
}

/// Non-secret fingerprints of values: keyed BLAKE2b with the workspace salt, truncated.
///
/// `fp = hex(first 8 bytes of BLAKE2b-256(key = salt, msg = "keyward fp v1" || value))`. The field
/// is deliberately not part of the input, so an App Key fingerprint can be compared with an App
/// Secret fingerprint to find swaps. The salt is not secret; it keys the hash so fingerprints of
/// one workspace cannot be matched against another's or against a precomputed table.
public struct Fingerprinter: Sendable {
  let salt: [UInt8]

  public init(salt: [UInt8]) throws(KeywardError) {
    guard salt.count >= 16, salt.count <= 64 else {
      throw KeywardError(.input, "the fingerprint salt must be 16 to 64 bytes, not \(salt.count)")
    }
    self.salt = salt
  }

  public func fingerprint(_ value: SecureBytes) -> String {
    let h = salt.withUnsafeBytes { Blake2b(key: $0, length: 32) }
    h.update(Array("keyward fp v1".utf8))
    value.withUnsafeBytes { h.update($0) }
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { h.finish(into: $0) }
    return Sodium.hex(Array(out.prefix(8)))
  }
}
