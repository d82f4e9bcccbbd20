import CSodium

/// An environment's X25519 recipient public key. Not secret: it sits in the environment file.
public struct PublicKey: Sendable, Equatable {
  public let bytes: [UInt8]

  public init(bytes: [UInt8]) throws(KeywardError) {
    guard bytes.count == Int(crypto_box_publickeybytes()) else {
      throw KeywardError(.input, "a recipient public key must be 32 bytes, not \(bytes.count)")
    }
    self.bytes = bytes
  }

  /// Parses the base64 form stored in environment files.
  public init(base64 text: String) throws(KeywardError) {
    guard let raw = Sodium.unbase64(text) else {
      throw KeywardError(.input, "recipient public key is not valid base64")
    }
    try self.init(bytes: raw)
  }

  public var base64: String { Sodium.base64(bytes) }

  /// The key's fingerprint: 8 bytes of BLAKE2b-256 over a label and the key, as 16 hex digits.
  /// Shown to users, written into every ciphertext, and compared to catch a wrong private key.
  public var fingerprint: String { Sodium.hex(fingerprintBytes) }

  var fingerprintBytes: [UInt8] {
    Array(Sodium.blake2b(length: 32, [Array("keyward recipient v1".utf8), bytes]).prefix(8))
  }
}

/// An environment's X25519 private key, in guarded memory.
public final class PrivateKey: @unchecked Sendable {
  /// The 32-byte scalar.
  let secret: SecureBytes
  /// The public key derived from it.
  public let publicKey: PublicKey

  /// Wraps 32 secret bytes (copied into a new guarded buffer by the caller's choice of source).
  public init(secret: SecureBytes) throws(KeywardError) {
    try Sodium.ready()
    guard secret.count == Int(crypto_box_secretkeybytes()) else {
      throw KeywardError(.integrity, "a private key must be 32 bytes, not \(secret.count)")
    }
    self.secret = secret
    var pk = [UInt8](repeating: 0, count: 32)
    let rc = secret.withUnsafeBytes { sk in
      crypto_scalarmult_base(&pk, sk.bindMemory(to: UInt8.self).baseAddress!)
    }
    guard rc == 0 else { throw KeywardError(.integrity, "the private key is not a valid X25519 key") }
    publicKey = try PublicKey(bytes: pk)
  }

  /// A fresh random keypair.
  public static func generate() throws(KeywardError) -> PrivateKey {
    try Sodium.ready()
    let sk = SecureBytes(capacity: 32)
    sk.resize(to: 32)
    var pk = [UInt8](repeating: 0, count: 32)
    let rc = sk.withUnsafeMutableBytes { buf in
      crypto_box_keypair(&pk, buf.bindMemory(to: UInt8.self).baseAddress!)
    }
    guard rc == 0 else { throw KeywardError(.internal, "crypto_box_keypair failed") }
    return try PrivateKey(secret: sk)
  }

  /// The portable text form handed to CI: `kwsk1:` followed by the standard base64 of the scalar.
  /// Returned in guarded memory because it is the secret.
  public func exportString() -> SecureBytes {
    let out = SecureBytes(capacity: 64)
    out.append(literal: PrivateKey.textPrefix)
    let b64 = SecureBase64.encode(secret)
    out.append(b64)
    return out
  }

  /// Parses `kwsk1:<base64>` (surrounding ASCII whitespace allowed) from guarded memory.
  public static func parse(_ text: SecureBytes, source: String) throws(KeywardError) -> PrivateKey {
    try parse(text, range: 0..<text.count, source: source)
  }

  /// Parses `kwsk1:<base64>` in `range` of `text`, decoding straight into the key's buffer.
  static func parse(_ text: SecureBytes, range: Range<Int>, source: String) throws(KeywardError) -> PrivateKey
  {
    let r = SecureText.trimmedRange(text, range)
    let prefix = Array(textPrefix.utf8)
    guard r.count > prefix.count, (0..<prefix.count).allSatisfy({ text[r.lowerBound + $0] == prefix[$0] })
    else {
      throw KeywardError(
        .integrity,
        "\(source) does not hold a keyward private key (expected text starting with \(textPrefix))")
    }
    guard let raw = SecureBase64.decode(text, range: (r.lowerBound + prefix.count)..<r.upperBound),
      raw.count == 32
    else {
      throw KeywardError(
        .integrity, "\(source): the private key after \(textPrefix) is not 32 bytes of base64")
    }
    return try PrivateKey(secret: raw)
  }

  public static let textPrefix = "kwsk1:"
}

/// Base64 to and from guarded memory, through libsodium (no intermediate Swift arrays).
enum SecureBase64 {
  static func encode(_ input: SecureBytes) -> SecureBytes {
    let variant = Int32(sodium_base64_VARIANT_ORIGINAL)
    let len = sodium_base64_encoded_len(input.count, variant)
    let out = SecureBytes(capacity: len)
    out.resize(to: len)
    input.withUnsafeBytes { src in
      out.withUnsafeMutableBytes { dst in
        _ = sodium_bin2base64(
          dst.bindMemory(to: CChar.self).baseAddress!, len, src.bindMemory(to: UInt8.self).baseAddress,
          input.count, variant)
      }
    }
    out.truncate(to: len - 1)  // drop the NUL terminator
    return out
  }

  static func decode(_ input: SecureBytes) -> SecureBytes? { decode(input, range: 0..<input.count) }

  static func decode(_ input: SecureBytes, range: Range<Int>) -> SecureBytes? {
    let out = SecureBytes(capacity: range.count / 4 * 3 + 3)
    out.resize(to: range.count / 4 * 3 + 3)
    var outLen = 0
    var end: UnsafePointer<CChar>? = nil
    let ok: Bool = input.withUnsafeBytes(in: range) { src in
      out.withUnsafeMutableBytes { dst in
        let base = src.bindMemory(to: CChar.self).baseAddress
        let rc = sodium_base642bin(
          dst.bindMemory(to: UInt8.self).baseAddress!, dst.count, base, src.count, nil, &outLen, &end,
          Int32(sodium_base64_VARIANT_ORIGINAL))
        guard rc == 0, let end, let base else { return rc == 0 && src.count == 0 }
        return end - base == src.count
      }
    }
    guard ok else { return nil }
    out.truncate(to: outLen)
    return out
  }
}

/// Small helpers for text held in guarded memory.
public enum SecureText {
  /// A C1 control (U+0080–U+009F) or a bidirectional override or isolate (U+202A–U+202E,
  /// U+2066–U+2069) encoded in UTF-8 at `i`: its scalar and its length in bytes.
  static func steeringScalar(_ s: SecureBytes, at i: Int) -> (scalar: Int, length: Int)? {
    let c = s[i]
    if c == 0xC2, i + 1 < s.count, (0x80...0x9F).contains(s[i + 1]) { return (Int(s[i + 1]), 2) }
    if c == 0xE2, i + 2 < s.count {
      let (b1, b2) = (s[i + 1], s[i + 2])
      let scalar = 0x2000 | Int(b1 & 0x3f) << 6 | Int(b2 & 0x3f)
      if (b1 == 0x80 && (0xAA...0xAE).contains(b2)) || (b1 == 0x81 && (0xA6...0xA9).contains(b2)) {
        return (scalar, 3)
      }
    }
    return nil
  }

  /// Appends `value` for a terminal: every C0 control, DEL, C1 control and bidirectional override
  /// written as a `\u` escape, so a revealed value shown on a terminal cannot drive it (a value
  /// holding `ESC ] 52` would write the clipboard). Used only when standard output is a terminal;
  /// a pipe gets the exact bytes.
  public static func appendForTerminal(_ value: SecureBytes, to out: SecureBytes, keepNewlines: Bool = false)
  {
    let hex = Array("0123456789abcdef".utf8)
    func escape(_ scalar: Int) {
      out.append(0x5c)
      out.append(0x75)
      for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[(scalar >> shift) & 0xf]) }
    }
    var i = 0
    while i < value.count {
      if let s = steeringScalar(value, at: i) {
        escape(s.scalar)
        i += s.length
        continue
      }
      let c = value[i]
      let kept = keepNewlines && (c == 0x0a || c == 0x09)
      if (c < 0x20 && !kept) || c == 0x7f { escape(Int(c)) } else { out.append(c) }
      i += 1
    }
  }

  static func isASCIIWhitespace(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d || b == 0x0c
  }

  /// Whether the bytes are valid UTF-8, checked in place: a String would be a heap copy of the
  /// secret that is never wiped.
  static func isUTF8(_ s: SecureBytes) -> Bool {
    s.withUnsafeBytes { raw in
      var decoder = Unicode.UTF8()
      var bytes = raw.makeIterator()
      while true {
        switch decoder.decode(&bytes) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
      }
    }
  }

  /// A copy without leading and trailing ASCII whitespace.
  static func trimmed(_ s: SecureBytes) -> SecureBytes { s.slice(trimmedRange(s, 0..<s.count)) }

  /// `range` without leading and trailing ASCII whitespace.
  static func trimmedRange(_ s: SecureBytes, _ range: Range<Int>) -> Range<Int> {
    var lo = range.lowerBound
    var hi = range.upperBound
    while lo < hi && isASCIIWhitespace(s[lo]) { lo += 1 }
    while hi > lo && isASCIIWhitespace(s[hi - 1]) { hi -= 1 }
    return lo..<hi
  }
}
