import CSodium
import KeywardCore

/// The hashes CSP hash-sources name (sha256, sha384, sha512), from libsodium. libsodium has no
/// SHA-384 function, but SHA-384 is SHA-512 started from other initial values (FIPS 180-4 §5.3.4)
/// and cut to 48 bytes, so it runs libsodium's SHA-512 from those values.
public enum CSPHash {
  public static func digest(_ algorithm: HashAlgorithm, _ bytes: [UInt8]) -> [UInt8] {
    _ = try? Sodium.ready()
    switch algorithm {
    case .sha256:
      var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
      _ = crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
      return out
    case .sha512:
      var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha512_BYTES))
      _ = crypto_hash_sha512(&out, bytes, UInt64(bytes.count))
      return out
    case .sha384:
      var state = crypto_hash_sha512_state()
      _ = crypto_hash_sha512_init(&state)
      state.state = (
        0xcbbb_9d5d_c105_9ed8, 0x629a_292a_367c_d507, 0x9159_015a_3070_dd17, 0x152f_ecd8_f70e_5939,
        0x6733_2667_ffc0_0b31, 0x8eb4_4a87_6858_1511, 0xdb0c_2e0d_64f9_8fa7, 0x47b5_481d_befa_4fa4
      )
      _ = crypto_hash_sha512_update(&state, bytes, UInt64(bytes.count))
      var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha512_BYTES))
      _ = crypto_hash_sha512_final(&state, &out)
      return Array(out.prefix(48))
    }
  }

  public static func base64(_ bytes: [UInt8]) -> String { Sodium.base64(bytes) }

  /// `'sha256-…'` of `bytes`.
  public static func source(_ algorithm: HashAlgorithm, _ bytes: [UInt8]) -> String {
    "'\(algorithm.rawValue)-\(base64(digest(algorithm, bytes)))'"
  }
}
