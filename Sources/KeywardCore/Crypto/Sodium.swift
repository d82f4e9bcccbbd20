import CSodium

/// The one place libsodium is initialised. Every crypto entry point calls `Sodium.ready()`.
public enum Sodium {
  /// `sodium_init()` result, computed once (Swift runs a static initialiser exactly once, thread-safely).
  private static let initResult: Int32 = sodium_init()

  /// Makes sure libsodium is initialised; throws if it could not be (no usable RNG, for example).
  public static func ready() throws(KeywardError) {
    if initResult < 0 {
      throw KeywardError(.internal, "libsodium could not be initialised (sodium_init failed)")
    }
  }

  /// Fills a new array with `count` random bytes from libsodium's CSPRNG. Not for secrets.
  static func randomBytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
    return out
  }

  /// Lower-case hexadecimal of non-secret bytes.
  static func hex(_ bytes: [UInt8]) -> String {
    // Written into the string's own storage (an entry id is made for every line a log reads).
    let digits: StaticString = "0123456789abcdef"
    return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
      for (i, b) in bytes.enumerated() {
        out[2 * i] = digits.utf8Start[Int(b >> 4)]
        out[2 * i + 1] = digits.utf8Start[Int(b & 0x0f)]
      }
      return bytes.count * 2
    }
  }

  /// Standard base64 (with padding) of non-secret bytes.
  public static func base64(_ bytes: [UInt8]) -> String {
    let variant = Int32(sodium_base64_VARIANT_ORIGINAL)
    let len = sodium_base64_encoded_len(bytes.count, variant)
    var out = [CChar](repeating: 0, count: len)
    bytes.withUnsafeBufferPointer { src in
      _ = sodium_bin2base64(&out, len, src.baseAddress, bytes.count, variant)
    }
    // Drop the NUL terminator; base64 is ASCII.
    return String(decoding: out.prefix(len - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Decodes standard base64 (padding required, no whitespace, unused bits zero: one spelling per
  /// value) of non-secret bytes; nil if malformed. A table lookup per character: the trail decodes
  /// tens of thousands of public payloads, where libsodium's constant-time decoder (meant for
  /// secrets) cost a sixth of an audit.
  static func unbase64(_ text: String) -> [UInt8]? {
    var text = text
    return text.withUTF8 { unbase64(bytes: $0) }
  }

  /// libsodium's decoder, the reference the table decoder is held to (a property test).
  static func unbase64Reference(_ text: String) -> [UInt8]? {
    let input = Array(text.utf8)
    if input.isEmpty { return [] }
    var out = [UInt8](repeating: 0, count: input.count / 4 * 3 + 3)
    var outLen = 0
    var consumed = -1
    let rc = input.withUnsafeBufferPointer { src in
      src.withMemoryRebound(to: CChar.self) { csrc -> Int32 in
        var end: UnsafePointer<CChar>? = nil
        let rc = sodium_base642bin(
          &out, out.count, csrc.baseAddress, input.count, nil, &outLen, &end,
          Int32(sodium_base64_VARIANT_ORIGINAL))
        if let end { consumed = end - csrc.baseAddress! }
        return rc
      }
    }
    guard rc == 0, consumed == input.count else { return nil }
    return Array(out.prefix(outLen))
  }

  static let base64Table: [UInt8] = {
    var t = [UInt8](repeating: 0xff, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
      t[Int(c)] = UInt8(i)
    }
    return t
  }()

  static func unbase64(bytes input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    let n = input.count
    if n == 0 { return [] }
    guard n % 4 == 0 else { return nil }
    let pad = input[n - 1] != 0x3d ? 0 : input[n - 2] != 0x3d ? 1 : 2
    var valid = true
    // Written into the array's own storage: no capacity check per byte (a trail decodes megabytes).
    let out = [UInt8](unsafeUninitializedCapacity: n / 4 * 3) { buffer, count in
      base64Table.withUnsafeBufferPointer { t in
        var i = 0
        var o = 0
        while i < n - 4 {
          let v0 = t[Int(input[i])]
          let v1 = t[Int(input[i + 1])]
          let v2 = t[Int(input[i + 2])]
          let v3 = t[Int(input[i + 3])]
          // A character outside the alphabet (padding too) is 0xff in the table.
          guard v0 | v1 | v2 | v3 < 64 else {
            valid = false
            return
          }
          buffer[o] = v0 << 2 | v1 >> 4
          buffer[o + 1] = (v1 & 0x0f) << 4 | v2 >> 2
          buffer[o + 2] = (v2 & 0x03) << 6 | v3
          i += 4
          o += 3
        }
        // The last group, with its padding; the bits the padding leaves unused must be zero.
        let v0 = t[Int(input[i])]
        let v1 = t[Int(input[i + 1])]
        let v2 = pad == 2 ? 0 : t[Int(input[i + 2])]
        let v3 = pad >= 1 ? 0 : t[Int(input[i + 3])]
        guard v0 | v1 | v2 | v3 < 64, pad != 2 || v1 & 0x0f == 0, pad != 1 || v2 & 0x03 == 0 else {
          valid = false
          return
        }
        buffer[o] = v0 << 2 | v1 >> 4
        if pad < 2 { buffer[o + 1] = (v1 & 0x0f) << 4 | v2 >> 2 }
        if pad < 1 { buffer[o + 2] = (v2 & 0x03) << 6 | v3 }
        count = o + 3 - pad
      }
      if !valid { count = 0 }
    }
    return valid ? out : nil
  }

  /// Keyed (or unkeyed, with an empty key) BLAKE2b of `parts`, `length` bytes long.
  static func blake2b(length: Int, key: [UInt8] = [], _ parts: [[UInt8]]) -> [UInt8] {
    let h = key.withUnsafeBytes { Blake2b(key: key.isEmpty ? nil : $0, length: length) }
    for part in parts { part.withUnsafeBytes { h.update($0) } }
    var out = [UInt8](repeating: 0, count: length)
    out.withUnsafeMutableBytes { h.finish(into: $0) }
    return out
  }

  /// Constant-time equality of two byte strings of equal length (false when lengths differ).
  static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
  }
}

/// Streaming BLAKE2b (crypto_generichash). The state is opaque and 64-byte aligned in libsodium,
/// so it is allocated here and wiped on release (it holds key material when keyed).
final class Blake2b {
  private let state: UnsafeMutableRawPointer
  private let length: Int

  init(key: UnsafeRawBufferPointer?, length: Int) {
    // sodium_init picks the BLAKE2b for this CPU (AVX2 here, about twice the reference one's
    // speed); a command that hashed before anything else initialised libsodium used the reference.
    _ = try? Sodium.ready()
    self.length = length
    state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
    _ = crypto_generichash_init(
      OpaquePointer(state), key?.bindMemory(to: UInt8.self).baseAddress, key?.count ?? 0, length)
  }

  func update(_ bytes: UnsafeRawBufferPointer) {
    _ = crypto_generichash_update(
      OpaquePointer(state), bytes.bindMemory(to: UInt8.self).baseAddress, UInt64(bytes.count))
  }

  func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

  func finish(into out: UnsafeMutableRawBufferPointer) {
    precondition(out.count >= length)
    _ = crypto_generichash_final(OpaquePointer(state), out.bindMemory(to: UInt8.self).baseAddress!, length)
  }

  deinit {
    sodium_memzero(state, crypto_generichash_statebytes())
    state.deallocate()
  }
}

/// Random identifiers (tokens, request ids) for the other modules: hex of libsodium's CSPRNG.
public enum RandomHex {
  public static func make(bytes: Int) -> String { Sodium.hex(Sodium.randomBytes(bytes)) }
}
