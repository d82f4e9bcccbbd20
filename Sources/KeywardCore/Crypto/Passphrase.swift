import CSodium

/// Argon2id (crypto_pwhash) protection of a stored private key.
public struct PassphraseParameters: Sendable, Equatable {
  public var opslimit: UInt64
  public var memlimit: Int
  public var salt: [UInt8]

  /// The limits keyward accepts from a key file: libsodium's own bounds for Argon2id, capped at its
  /// "sensitive" level (1 GiB), with a few passes to spare.
  public static let opslimitRange: ClosedRange<UInt64> = 1...16
  public static let maxMemlimit = 1 << 30

  public static func acceptable(opslimit: UInt64, memlimit: Int) -> Bool {
    opslimitRange.contains(opslimit) && memlimit >= 8192 && memlimit <= maxMemlimit
  }

  /// libsodium's "interactive" Argon2id limits (2 passes, 64 MiB) with a fresh salt.
  public static func interactive() -> PassphraseParameters {
    PassphraseParameters(
      opslimit: UInt64(crypto_pwhash_opslimit_interactive()),
      memlimit: crypto_pwhash_memlimit_interactive(),
      salt: Sodium.randomBytes(Int(crypto_pwhash_saltbytes())))
  }
}

/// Wraps and unwraps a private key under a passphrase.
///
/// `k = Argon2id13(passphrase, salt, opslimit, memlimit)`; the key is sealed with
/// XChaCha20-Poly1305 under `k`, a random nonce, and associated data
/// `"keyward private key v1" || public_key`, so a wrapped key cannot be paired with another
/// public key unnoticed.
public enum PassphraseWrap {
  static func deriveKey(_ passphrase: SecureBytes, _ p: PassphraseParameters, source: String = "the key file")
    throws(KeywardError) -> SecureBytes
  {
    try Sodium.ready()
    guard p.salt.count == Int(crypto_pwhash_saltbytes()) else {
      throw KeywardError(.integrity, "\(source): the Argon2id salt has the wrong length")
    }
    guard p.opslimit >= 1, p.opslimit <= 1_000, p.memlimit >= 8192, p.memlimit <= 4 << 30 else {
      throw KeywardError(.integrity, "\(source): the Argon2id parameters are out of range")
    }
    let key = SecureBytes(capacity: 32)
    key.resize(to: 32)
    guard passphrase.count > 0 else { throw KeywardError(.input, "the passphrase for \(source) is empty") }
    let rc = passphrase.withUnsafeBytes { pw in
      key.withUnsafeMutableBytes { k in
        crypto_pwhash(
          k.bindMemory(to: UInt8.self).baseAddress!, 32, pw.bindMemory(to: CChar.self).baseAddress!,
          UInt64(pw.count), p.salt, p.opslimit, p.memlimit, crypto_pwhash_alg_argon2id13())
      }
    }
    guard rc == 0 else { throw KeywardError(.internal, "\(source): Argon2id failed (out of memory?)") }
    return key
  }

  static func ad(_ pk: PublicKey) -> [UInt8] { Array("keyward private key v1".utf8) + pk.bytes }

  /// Returns nonce || ciphertext of the 32-byte private key.
  public static func wrap(_ key: PrivateKey, passphrase: SecureBytes, parameters p: PassphraseParameters)
    throws(KeywardError) -> [UInt8]
  {
    try wrapSecret(key.secret, label: ad(key.publicKey), passphrase: passphrase, parameters: p)
  }

  /// Wraps any 32-byte secret (an identity's seed) under a passphrase, bound to `label`.
  static func wrapSecret(
    _ secret: SecureBytes, label: [UInt8], passphrase: SecureBytes, parameters p: PassphraseParameters
  ) throws(KeywardError) -> [UInt8] {
    let k = try deriveKey(passphrase, p)
    let nonce = Sodium.randomBytes(24)
    var out = nonce + [UInt8](repeating: 0, count: 32 + 16)
    var clen: UInt64 = 0
    _ = secret.withUnsafeBytes { m in
      k.withUnsafeBytes { kb in
        out.withUnsafeMutableBufferPointer { o in
          crypto_aead_xchacha20poly1305_ietf_encrypt(
            o.baseAddress! + 24, &clen, m.bindMemory(to: UInt8.self).baseAddress, 32, label,
            UInt64(label.count), nil, nonce, kb.bindMemory(to: UInt8.self).baseAddress!)
        }
      }
    }
    return out
  }

  /// Opens what `wrapSecret` wrapped; a wrong passphrase says so.
  static func unwrapSecret(
    _ wrapped: [UInt8], label: [UInt8], passphrase: SecureBytes, parameters p: PassphraseParameters,
    source: String, what: String = "secret", container: String = "the file"
  ) throws(KeywardError) -> SecureBytes {
    guard wrapped.count == 24 + 32 + 16 else {
      throw KeywardError(.integrity, "\(source): the encrypted \(what) has the wrong length")
    }
    let k = try deriveKey(passphrase, p, source: source)
    let out = SecureBytes(capacity: 32)
    out.resize(to: 32)
    var mlen: UInt64 = 0
    let rc = wrapped.withUnsafeBufferPointer { c in
      k.withUnsafeBytes { kb in
        out.withUnsafeMutableBytes { m in
          crypto_aead_xchacha20poly1305_ietf_decrypt(
            m.bindMemory(to: UInt8.self).baseAddress, &mlen, nil, c.baseAddress! + 24, 48, label,
            UInt64(label.count), c.baseAddress!, kb.bindMemory(to: UInt8.self).baseAddress!)
        }
      }
    }
    guard rc == 0 else {
      throw KeywardError(.integrity, "\(source): wrong passphrase (or \(container) was altered)")
    }
    return out
  }

  /// Opens a wrapped key; a wrong passphrase is an integrity error that says so.
  public static func unwrap(
    _ wrapped: [UInt8], passphrase: SecureBytes, parameters p: PassphraseParameters, publicKey: PublicKey,
    source: String
  ) throws(KeywardError) -> PrivateKey {
    let sk = try unwrapSecret(
      wrapped, label: ad(publicKey), passphrase: passphrase, parameters: p, source: source,
      what: "private key",
      container: "the key file")
    let key = try PrivateKey(secret: sk)
    guard key.publicKey == publicKey else {
      throw KeywardError(.integrity, "\(source): the private key does not match the public key in the file")
    }
    return key
  }
}
