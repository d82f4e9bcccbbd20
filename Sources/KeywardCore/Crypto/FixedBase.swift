import CEd25519
import CSodium
import Synchronization

/// Ed25519 verification for the keys that sign many times in one process: a trail's signers
/// (`audit --full` checks 30,000 entries by a handful of keys), the admins of thousands of
/// activation manifests. libsodium spends most of a verification on a double-scalar
/// multiplication (about 253 doublings); with a table of each key's multiples made once
/// (`CEd25519`, 292 KB and about 2 ms a key, some 40 libsodium verifications), a verification is
/// at most 76 additions, about a third of libsodium's time.
///
/// A key gets its table at its `threshold`-th verification in the process, so a command that
/// checks a few signatures pays nothing; at most `limit` keys have one (the others go on with
/// libsodium), which bounds the tables at 4.7 MB. The C side accepts exactly what `crypto_sign_verify_detached` accepts; a key
/// libsodium would refuse outright gets no table and stays with libsodium. Property tests hold
/// the two to the same answer on valid, altered and crafted signatures.
enum FixedBase {
  static let threshold = 16
  static let limit = 16

  /// A key's table (immutable once made, so shared between threads).
  final class Table: @unchecked Sendable {
    let pointer: OpaquePointer
    init?(key: [UInt8]) {
      guard key.count == 32, let p = key.withUnsafeBufferPointer({ kw_ed_table_new($0.baseAddress!) }) else {
        return nil
      }
      pointer = p
    }
    deinit { kw_ed_table_free(pointer) }
  }

  private struct Cache {
    var uses: [[UInt8]: Int] = [:]
    var tables: [[UInt8]: Table?] = [:]  // nil: libsodium refuses the key; no table
  }
  private static let cache = Mutex(Cache())

  /// The answer by `key`'s table, or nil when the key has none (yet): then ask libsodium.
  static func verify(_ signature: [UInt8], of message: [UInt8], key: [UInt8]) -> Bool? {
    guard let table = table(for: key) else { return nil }
    return verify(signature, of: message, key: key, table: table)
  }

  static func table(for key: [UInt8]) -> Table? {
    cache.withLock { c -> Table? in
      if let made = c.tables[key] { return made }
      let n = (c.uses[key] ?? 0) + 1
      guard n >= threshold, c.tables.count < limit else {
        if c.uses.count < 4 * limit || c.uses[key] != nil { c.uses[key] = n }
        return nil
      }
      c.uses[key] = nil
      let made = Table(key: key)
      c.tables[key] = .some(made)
      return made
    }
  }

  /// `signature` (R ‖ s) checked against `table`, made from `key`: h = SHA-512(R ‖ A ‖ M) mod L,
  /// then the encoding of [s]B − [h]A compared with R.
  static func verify(_ signature: [UInt8], of message: [UInt8], key: [UInt8], table: Table) -> Bool {
    guard signature.count == 64, key.count == 32 else { return false }
    var state = crypto_hash_sha512_state()
    var digest = [UInt8](repeating: 0, count: 64)
    var h = [UInt8](repeating: 0, count: 32)
    crypto_hash_sha512_init(&state)
    signature.withUnsafeBufferPointer { _ = crypto_hash_sha512_update(&state, $0.baseAddress!, 32) }
    crypto_hash_sha512_update(&state, key, 32)
    crypto_hash_sha512_update(&state, message, UInt64(message.count))
    crypto_hash_sha512_final(&state, &digest)
    crypto_core_ed25519_scalar_reduce(&h, digest)
    return kw_ed_verify(table.pointer, signature, h) == 0
  }
}
