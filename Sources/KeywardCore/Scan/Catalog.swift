import CScanHash
import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Fingerprints many candidate words fast, exactly as `Fingerprinter` does (FORMAT.md):
/// `BLAKE2b-256(key = salt, "keyward fp v1" || word)`, first 8 bytes.
///
/// In keyed BLAKE2b the key fills the whole first block, so its chaining value is the same for
/// every word: it is computed once here (with libsodium's reference answer as the test), and a
/// word of up to 115 bytes then costs one compression of one block instead of libsodium's two
/// plus its state copies. Longer words go through libsodium. One per thread; wiped when it goes.
///
/// On a CPU with AVX2, words are also fingerprinted four at a time (`stage`, then `staged`): four
/// blocks compressed side by side, one per lane (`Sources/CScanHash`).
final class FingerprintProbe {
  /// The chaining value after the key block, then the 16 message words and the 16 work words.
  private let state: UnsafeMutablePointer<UInt64>
  private let libsodium: UnsafeMutableRawPointer
  private let size = crypto_generichash_statebytes()
  static let prefix = Array("keyward fp v1".utf8)
  static let maxFast = 128 - prefix.count
  /// Words fingerprinted together by `staged`.
  static let lanes = 4
  /// Whether this CPU fingerprints four words at once.
  static let fourLanes = keyward_blake2b_x4_available() != 0
  /// The staged words' blocks (16 words each), then their byte counters, then the answers.
  private let lanes: UnsafeMutablePointer<UInt64>

  init(_ fingerprinter: Fingerprinter) {
    let salt = fingerprinter.salt
    state = .allocate(capacity: 8 + 16 + 16)
    state.initialize(repeating: 0, count: 40)
    (state[0], state[1], state[2], state[3]) = (
      0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1
    )
    (state[4], state[5], state[6], state[7]) = (
      0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179
    )
    // Parameter block: digest length 32, key length, fanout 1, depth 1.
    state[0] ^= 0x0101_0000 ^ UInt64(salt.count) << 8 ^ 32
    let block = UnsafeMutableRawPointer(state + 8)
    salt.withUnsafeBytes { block.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    Self.compress(state, counter: 128, last: false)
    (state + 8).update(repeating: 0, count: 32)
    libsodium = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    _ = crypto_generichash_init(OpaquePointer(libsodium), salt, salt.count, 32)
    _ = crypto_generichash_update(OpaquePointer(libsodium), Self.prefix, UInt64(Self.prefix.count))
    lanes = .allocate(capacity: Self.lanes * 18)
    lanes.initialize(repeating: 0, count: Self.lanes * 18)
  }

  /// Puts a word of at most `maxFast` bytes into lane `lane` (below `lanes`) for `staged`.
  @inline(__always)
  func stage(_ lane: Int, _ start: UnsafePointer<UInt8>, _ count: Int) {
    Self.load(lanes + 16 * lane, start, count)
    lanes[16 * Self.lanes + lane] = UInt64(128 + Self.prefix.count + count)
  }

  /// Writes the message block of a word of at most `maxFast` bytes: the prefix, the word, zeros.
  @inline(__always)
  static func load(_ block: UnsafeMutablePointer<UInt64>, _ start: UnsafePointer<UInt8>, _ count: Int) {
    block.update(repeating: 0, count: 16)
    let bytes = UnsafeMutableRawPointer(block)
    prefix.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    (bytes + prefix.count).copyMemory(from: start, byteCount: count)
  }

  /// The word staged in lane `lane`.
  func stagedWord(_ lane: Int) -> UnsafePointer<UInt8> {
    UnsafePointer(UnsafeRawPointer(lanes + 16 * lane).assumingMemoryBound(to: UInt8.self) + Self.prefix.count)
  }

  /// The fingerprints of the words in the four lanes (a lane never staged holds an empty word).
  /// Only where `fourLanes` says so.
  func staged() -> UnsafePointer<UInt64> {
    let out = lanes + 17 * Self.lanes
    keyward_blake2b_last4(state, lanes, lanes + 16 * Self.lanes, out)
    for i in 0..<Self.lanes { out[i] = out[i].byteSwapped }
    return UnsafePointer(out)
  }

  /// Zeroes the staged words.
  func wipeStaged() { lanes.update(repeating: 0, count: Self.lanes * 18) }

  /// The fingerprint of `count` bytes at `start`, as the number its 16 hex digits spell.
  func fingerprint(_ start: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
    guard count <= Self.maxFast else { return slow(start, count) }
    let m = state + 8
    Self.load(m, start, count)
    // (Words are read little-endian, as BLAKE2b wants, on every machine Swift runs on here.)
    let h = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
    let out = Self.run(h, m, counter: UInt64(128 + Self.prefix.count + count), last: true)
    // The digest's first 8 bytes are word 0 little-endian; the fingerprint reads them as hex.
    return out.0.byteSwapped
  }

  private func slow(_ start: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    defer {
      sodium_memzero(scratch, size)
      scratch.deallocate()
    }
    memcpy(scratch, libsodium, size)
    _ = crypto_generichash_update(OpaquePointer(scratch), start, UInt64(count))
    var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    withUnsafeMutableBytes(of: &out) {
      _ = crypto_generichash_final(
        OpaquePointer(scratch), $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
    }
    return UInt64(bigEndian: out.0)
  }

  typealias Words = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

  /// One compression of the block at `state + 8` into the chaining value at `state`.
  static func compress(_ state: UnsafeMutablePointer<UInt64>, counter: UInt64, last: Bool) {
    let h = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
    let v = run(h, state + 8, counter: counter, last: last)
    (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]) = v
  }

  /// BLAKE2b's compression F, unrolled (RFC 7693, section 3.2; the σ schedule written out).
  @inline(__always)
  static func run(_ h: Words, _ m: UnsafePointer<UInt64>, counter: UInt64, last: Bool) -> Words {
    let m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5], m6 = m[6], m7 = m[7]
    let m8 = m[8], m9 = m[9], m10 = m[10], m11 = m[11], m12 = m[12], m13 = m[13], m14 = m[14], m15 = m[15]
    var v0 = h.0, v1 = h.1, v2 = h.2, v3 = h.3, v4 = h.4, v5 = h.5, v6 = h.6, v7 = h.7
    var v8: UInt64 = 0x6a09_e667_f3bc_c908, v9: UInt64 = 0xbb67_ae85_84ca_a73b
    var v10: UInt64 = 0x3c6e_f372_fe94_f82b, v11: UInt64 = 0xa54f_f53a_5f1d_36f1
    var v12: UInt64 = 0x510e_527f_ade6_82d1 ^ counter, v13: UInt64 = 0x9b05_688c_2b3e_6c1f
    var v14: UInt64 = last ? ~0x1f83_d9ab_fb41_bd6b : 0x1f83_d9ab_fb41_bd6b,
      v15: UInt64 = 0x5be0_cd19_137e_2179
    @inline(__always) func g(
      _ a: inout UInt64, _ b: inout UInt64, _ c: inout UInt64, _ d: inout UInt64, _ x: UInt64, _ y: UInt64
    ) {
      a = a &+ b &+ x
      d = (d ^ a).rotr(32)
      c = c &+ d
      b = (b ^ c).rotr(24)
      a = a &+ b &+ y
      d = (d ^ a).rotr(16)
      c = c &+ d
      b = (b ^ c).rotr(63)
    }
    // round 0
    g(&v0, &v4, &v8, &v12, m0, m1)
    g(&v1, &v5, &v9, &v13, m2, m3)
    g(&v2, &v6, &v10, &v14, m4, m5)
    g(&v3, &v7, &v11, &v15, m6, m7)
    g(&v0, &v5, &v10, &v15, m8, m9)
    g(&v1, &v6, &v11, &v12, m10, m11)
    g(&v2, &v7, &v8, &v13, m12, m13)
    g(&v3, &v4, &v9, &v14, m14, m15)
    // round 1
    g(&v0, &v4, &v8, &v12, m14, m10)
    g(&v1, &v5, &v9, &v13, m4, m8)
    g(&v2, &v6, &v10, &v14, m9, m15)
    g(&v3, &v7, &v11, &v15, m13, m6)
    g(&v0, &v5, &v10, &v15, m1, m12)
    g(&v1, &v6, &v11, &v12, m0, m2)
    g(&v2, &v7, &v8, &v13, m11, m7)
    g(&v3, &v4, &v9, &v14, m5, m3)
    // round 2
    g(&v0, &v4, &v8, &v12, m11, m8)
    g(&v1, &v5, &v9, &v13, m12, m0)
    g(&v2, &v6, &v10, &v14, m5, m2)
    g(&v3, &v7, &v11, &v15, m15, m13)
    g(&v0, &v5, &v10, &v15, m10, m14)
    g(&v1, &v6, &v11, &v12, m3, m6)
    g(&v2, &v7, &v8, &v13, m7, m1)
    g(&v3, &v4, &v9, &v14, m9, m4)
    // round 3
    g(&v0, &v4, &v8, &v12, m7, m9)
    g(&v1, &v5, &v9, &v13, m3, m1)
    g(&v2, &v6, &v10, &v14, m13, m12)
    g(&v3, &v7, &v11, &v15, m11, m14)
    g(&v0, &v5, &v10, &v15, m2, m6)
    g(&v1, &v6, &v11, &v12, m5, m10)
    g(&v2, &v7, &v8, &v13, m4, m0)
    g(&v3, &v4, &v9, &v14, m15, m8)
    // round 4
    g(&v0, &v4, &v8, &v12, m9, m0)
    g(&v1, &v5, &v9, &v13, m5, m7)
    g(&v2, &v6, &v10, &v14, m2, m4)
    g(&v3, &v7, &v11, &v15, m10, m15)
    g(&v0, &v5, &v10, &v15, m14, m1)
    g(&v1, &v6, &v11, &v12, m11, m12)
    g(&v2, &v7, &v8, &v13, m6, m8)
    g(&v3, &v4, &v9, &v14, m3, m13)
    // round 5
    g(&v0, &v4, &v8, &v12, m2, m12)
    g(&v1, &v5, &v9, &v13, m6, m10)
    g(&v2, &v6, &v10, &v14, m0, m11)
    g(&v3, &v7, &v11, &v15, m8, m3)
    g(&v0, &v5, &v10, &v15, m4, m13)
    g(&v1, &v6, &v11, &v12, m7, m5)
    g(&v2, &v7, &v8, &v13, m15, m14)
    g(&v3, &v4, &v9, &v14, m1, m9)
    // round 6
    g(&v0, &v4, &v8, &v12, m12, m5)
    g(&v1, &v5, &v9, &v13, m1, m15)
    g(&v2, &v6, &v10, &v14, m14, m13)
    g(&v3, &v7, &v11, &v15, m4, m10)
    g(&v0, &v5, &v10, &v15, m0, m7)
    g(&v1, &v6, &v11, &v12, m6, m3)
    g(&v2, &v7, &v8, &v13, m9, m2)
    g(&v3, &v4, &v9, &v14, m8, m11)
    // round 7
    g(&v0, &v4, &v8, &v12, m13, m11)
    g(&v1, &v5, &v9, &v13, m7, m14)
    g(&v2, &v6, &v10, &v14, m12, m1)
    g(&v3, &v7, &v11, &v15, m3, m9)
    g(&v0, &v5, &v10, &v15, m5, m0)
    g(&v1, &v6, &v11, &v12, m15, m4)
    g(&v2, &v7, &v8, &v13, m8, m6)
    g(&v3, &v4, &v9, &v14, m2, m10)
    // round 8
    g(&v0, &v4, &v8, &v12, m6, m15)
    g(&v1, &v5, &v9, &v13, m14, m9)
    g(&v2, &v6, &v10, &v14, m11, m3)
    g(&v3, &v7, &v11, &v15, m0, m8)
    g(&v0, &v5, &v10, &v15, m12, m2)
    g(&v1, &v6, &v11, &v12, m13, m7)
    g(&v2, &v7, &v8, &v13, m1, m4)
    g(&v3, &v4, &v9, &v14, m10, m5)
    // round 9
    g(&v0, &v4, &v8, &v12, m10, m2)
    g(&v1, &v5, &v9, &v13, m8, m4)
    g(&v2, &v6, &v10, &v14, m7, m6)
    g(&v3, &v7, &v11, &v15, m1, m5)
    g(&v0, &v5, &v10, &v15, m15, m11)
    g(&v1, &v6, &v11, &v12, m9, m14)
    g(&v2, &v7, &v8, &v13, m3, m12)
    g(&v3, &v4, &v9, &v14, m13, m0)
    // round 10
    g(&v0, &v4, &v8, &v12, m0, m1)
    g(&v1, &v5, &v9, &v13, m2, m3)
    g(&v2, &v6, &v10, &v14, m4, m5)
    g(&v3, &v7, &v11, &v15, m6, m7)
    g(&v0, &v5, &v10, &v15, m8, m9)
    g(&v1, &v6, &v11, &v12, m10, m11)
    g(&v2, &v7, &v8, &v13, m12, m13)
    g(&v3, &v4, &v9, &v14, m14, m15)
    // round 11
    g(&v0, &v4, &v8, &v12, m14, m10)
    g(&v1, &v5, &v9, &v13, m4, m8)
    g(&v2, &v6, &v10, &v14, m9, m15)
    g(&v3, &v7, &v11, &v15, m13, m6)
    g(&v0, &v5, &v10, &v15, m1, m12)
    g(&v1, &v6, &v11, &v12, m0, m2)
    g(&v2, &v7, &v8, &v13, m11, m7)
    g(&v3, &v4, &v9, &v14, m5, m3)
    return (
      h.0 ^ v0 ^ v8, h.1 ^ v1 ^ v9, h.2 ^ v2 ^ v10, h.3 ^ v3 ^ v11, h.4 ^ v4 ^ v12, h.5 ^ v5 ^ v13,
      h.6 ^ v6 ^ v14, h.7 ^ v7 ^ v15
    )
  }

  /// A stored fingerprint (16 hex digits) as the same number; nil when it is not one.
  static func number(_ hex: String) -> UInt64? {
    guard hex.utf8.count == 16 else { return nil }
    return UInt64(hex, radix: 16)
  }

  deinit {
    state.update(repeating: 0, count: 40)
    state.deallocate()
    wipeStaged()
    lanes.deallocate()
    sodium_memzero(libsodium, size)
    libsodium.deallocate()
  }
}

/// Every value the workspace ever stored, by fingerprint: each set of each environment file and
/// every set the trail saw (retired ones too). What `scan` looks for; it holds no value.
public struct ScanCatalog: Sendable {
  /// One stored value: which environment, set and field it is, and whether the set is still in
  /// an environment file (active, pending or retiring: live) or only in the trail (retired).
  public struct Target: Sendable, Hashable {
    public var environment: String
    public var set: String
    /// `app_key` or `app_secret`.
    public var field: String
    /// `active`, `pending`, `retiring` or `retired`.
    public var state: String
    public var live: Bool { state != "retired" }
  }

  let fingerprinter: Fingerprinter
  /// Fingerprint → the targets it names (one value can be stored in more than one place).
  let table: [UInt64: [Target]]
  /// The fingerprints as the engines probe them: built once and shared by every worker (each
  /// built its own, 1 MB at 18,000 values).
  let prints: PrintSet

  /// How many distinct values are looked for.
  public var count: Int { table.count }

  init(fingerprinter: Fingerprinter, table: [UInt64: [Target]]) {
    self.fingerprinter = fingerprinter
    self.table = table
    prints = PrintSet(table.keys)
  }

  /// From the environment files and the trail's records. A set still in a file is described by
  /// the file; one only in the trail is retired.
  public static func load(workspace: Workspace, environments: [EnvironmentFile], history: [TrailEntry])
    -> ScanCatalog
  {
    var table = [UInt64: [Target]]()
    var present = [String: String]()  // "env\0set" → the set's state in its file
    func add(_ fp: String?, _ target: Target) {
      guard let fp, let n = FingerprintProbe.number(fp) else { return }
      if table[n]?.contains(target) == true { return }
      table[n, default: []].append(target)
    }
    for env in environments {
      for s in env.sets {
        present["\(env.environment)\u{0}\(s.id)"] = s.state.rawValue
        add(
          s.fingerprints.appKey,
          Target(environment: env.environment, set: s.id, field: "app_key", state: s.state.rawValue))
        add(
          s.fingerprints.appSecret,
          Target(environment: env.environment, set: s.id, field: "app_secret", state: s.state.rawValue))
      }
    }
    // Every fingerprint the trail recorded counts, also for a set still in a file: a writer who
    // edits a file's fingerprints does not hide the value the trail saw.
    for e in history {
      guard let env = e.environment, let set = e.set else { continue }
      let state = present["\(env)\u{0}\(set)"] ?? "retired"
      add(e.appKeyFP, Target(environment: env, set: set, field: "app_key", state: state))
      add(e.appSecretFP, Target(environment: env, set: set, field: "app_secret", state: state))
    }
    return ScanCatalog(fingerprinter: workspace.fingerprinter, table: table)
  }
}

extension UInt64 {
  @inline(__always) fileprivate func rotr(_ n: UInt64) -> UInt64 { self >> n | self << (64 - n) }
}

/// The fingerprints of recently seen words. Source files repeat themselves (identifiers, hosts,
/// paths), and a fingerprint costs a BLAKE2b compression, so each short word's answer is kept in a
/// direct-mapped table, found by a cheap hash and confirmed by comparing the bytes: a hit is the
/// same word, never merely a similar one. The table holds words of the text scanned, so it is
/// wiped when its scanner goes.
final class FingerprintCache {
  static let slots = 4096
  static let slotSize = 64
  /// Longest word kept (the slot's bytes after its fingerprint and length).
  static let maxWord = slotSize - 16
  private let table: UnsafeMutableRawPointer

  init() {
    table = .allocate(byteCount: Self.slots * Self.slotSize, alignment: 64)
    table.initializeMemory(as: UInt8.self, repeating: 0, count: Self.slots * Self.slotSize)
  }

  deinit {
    sodium_memzero(table, Self.slots * Self.slotSize)
    table.deallocate()
  }

  /// The word's fingerprint when the table holds it; else the slot where `keep` puts it (nil for a
  /// word too long to keep).
  @inline(__always)
  func find(_ p: UnsafePointer<UInt8>, _ count: Int) -> (print: UInt64?, slot: UnsafeMutableRawPointer?) {
    guard count <= Self.maxWord else { return (nil, nil) }
    // A multiply-xorshift hash of the word's 8-byte pieces (the last one overlapping).
    let raw = UnsafeRawPointer(p)
    var h = UInt64(truncatingIfNeeded: count) &* 0x9e37_79b9_7f4a_7c15
    var i = 0
    while i + 8 <= count {
      h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xbf58_476d_1ce4_e5b9
      h ^= h >> 31
      i += 8
    }
    if i < count {
      var tail: UInt64 = 0
      withUnsafeMutableBytes(of: &tail) { $0.baseAddress!.copyMemory(from: raw + i, byteCount: count - i) }
      h = (h ^ tail) &* 0x94d0_49bb_1331_11eb
      h ^= h >> 29
    }
    let slot = table + Int(truncatingIfNeeded: h >> 40) % Self.slots * Self.slotSize
    let length = slot.load(fromByteOffset: 8, as: UInt16.self)
    if Int(length) == count && memcmp(slot + 16, p, count) == 0 {
      return (slot.load(as: UInt64.self), slot)
    }
    return (nil, slot)
  }

  /// Keeps the word's fingerprint in the slot `find` gave.
  @inline(__always)
  func keep(_ slot: UnsafeMutableRawPointer, _ fp: UInt64, _ p: UnsafePointer<UInt8>, _ count: Int) {
    slot.storeBytes(of: fp, as: UInt64.self)
    slot.storeBytes(of: UInt16(count), toByteOffset: 8, as: UInt16.self)
    (slot + 16).copyMemory(from: p, byteCount: count)
  }
}
