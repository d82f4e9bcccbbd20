import CSodium
import Testing

@testable import KeywardCore

/// The table verifier (`FixedBase`, `CEd25519`) against libsodium's `crypto_sign_verify_detached`:
/// the same answer on valid signatures, on every kind of alteration, and on signatures crafted by a
/// key holder to pass the group equation where libsodium refuses them.
@Suite("Ed25519 by table: the same answers as libsodium")
struct FixedBaseTests {
  typealias Rng = FuzzTests.Rng

  struct Key {
    var seed: [UInt8]
    var pk = [UInt8](repeating: 0, count: 32)
    var sk = [UInt8](repeating: 0, count: 64)
    init(_ rng: inout Rng) {
      seed = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      crypto_sign_seed_keypair(&pk, &sk, seed)
    }
    func sign(_ m: [UInt8]) -> [UInt8] {
      var sig = [UInt8](repeating: 0, count: 64)
      crypto_sign_detached(&sig, nil, m, UInt64(m.count), sk)
      return sig
    }
    /// The secret scalar a (the clamped first half of SHA-512 of the seed).
    var scalar: [UInt8] {
      var d = [UInt8](repeating: 0, count: 64)
      crypto_hash_sha512(&d, seed, 32)
      var a = Array(d.prefix(32))
      a[0] &= 248
      a[31] &= 127
      a[31] |= 64
      return a
    }
  }

  func sodium(_ sig: [UInt8], _ m: [UInt8], _ pk: [UInt8]) -> Bool {
    crypto_sign_verify_detached(sig, m, UInt64(m.count), pk) == 0
  }

  func table(_ pk: [UInt8]) throws -> FixedBase.Table {
    try #require(FixedBase.Table(key: pk))
  }

  func message(_ rng: inout Rng) -> [UInt8] {
    (0..<Int(rng.next() % 400)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
  }

  /// h = SHA-512(R ‖ A ‖ M) mod L.
  func challenge(_ r: [UInt8], _ pk: [UInt8], _ m: [UInt8]) -> [UInt8] {
    var d = [UInt8](repeating: 0, count: 64)
    crypto_hash_sha512(&d, r + pk + m, UInt64(64 + m.count))
    var h = [UInt8](repeating: 0, count: 32)
    crypto_core_ed25519_scalar_reduce(&h, d)
    return h
  }

  /// A key holder's signature made by hand for public key `pk` and secret scalar `a`: a random
  /// nonce r, R = [r]B (with `plus` added when given), s = r + H(R ‖ pk ‖ m)·a. Nil when libsodium
  /// cannot make the point.
  func handSigned(_ m: [UInt8], pk: [UInt8], a: [UInt8], plus: [UInt8]? = nil, _ rng: inout Rng) -> [UInt8]? {
    let r = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    var rs = [UInt8](repeating: 0, count: 32)
    crypto_core_ed25519_scalar_reduce(&rs, r)
    var R = [UInt8](repeating: 0, count: 32)
    guard crypto_scalarmult_ed25519_base_noclamp(&R, rs) == 0 else { return nil }
    if let plus {
      var sum = [UInt8](repeating: 0, count: 32)
      guard crypto_core_ed25519_add(&sum, R, plus) == 0 else { return nil }
      R = sum
    }
    var ha = [UInt8](repeating: 0, count: 32)
    crypto_core_ed25519_scalar_mul(&ha, challenge(R, pk, m), a)
    var s = [UInt8](repeating: 0, count: 32)
    crypto_core_ed25519_scalar_add(&s, rs, ha)
    return R + s
  }

  @Test("valid signatures: 40 keys, 25 messages each, from 0 to 400 bytes")
  func valid() throws {
    _ = sodium_init()
    var rng = Rng(state: 11)
    for _ in 0..<40 {
      let key = Key(&rng)
      let t = try table(key.pk)
      for _ in 0..<25 {
        let m = message(&rng)
        let sig = key.sign(m)
        #expect(sodium(sig, m, key.pk))
        #expect(FixedBase.verify(sig, of: m, key: key.pk, table: t))
      }
    }
  }

  @Test("every bit of a signature flipped, and random changes to signature, message and key")
  func altered() throws {
    _ = sodium_init()
    var rng = Rng(state: 12)
    let key = Key(&rng)
    let other = Key(&rng)
    let t = try table(key.pk)
    let m = message(&rng)
    let sig = key.sign(m)
    for bit in 0..<512 {
      var s = sig
      s[bit / 8] ^= 1 << UInt8(bit % 8)
      #expect(sodium(s, m, key.pk) == FixedBase.verify(s, of: m, key: key.pk, table: t), "bit \(bit)")
    }
    var refused = 0
    for _ in 0..<300 {
      let m2 = message(&rng)
      var s = key.sign(m2)
      var mm = m2
      switch rng.next() % 4 {
      case 0: s[Int(rng.next() % 64)] = UInt8(truncatingIfNeeded: rng.next())
      case 1: if !mm.isEmpty { mm[Int(rng.next() % UInt64(mm.count))] ^= 1 } else { mm = [0] }
      case 2: s = other.sign(m2)
      default: s = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      }
      let fast = FixedBase.verify(s, of: mm, key: key.pk, table: t)
      #expect(fast == sodium(s, mm, key.pk))
      if !fast { refused += 1 }
    }
    #expect(refused > 280)  // a random byte may equal the one it replaces
  }

  @Test("s + L (the same point, a non-canonical scalar) is refused by both")
  func nonCanonicalScalar() throws {
    _ = sodium_init()
    var rng = Rng(state: 13)
    let order: [UInt8] = [
      0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]
    var tried = 0
    for _ in 0..<40 {
      let key = Key(&rng)
      let t = try table(key.pk)
      let m = message(&rng)
      var sig = key.sign(m)
      var carry = 0
      for i in 0..<32 {
        let v = Int(sig[32 + i]) + Int(order[i]) + carry
        sig[32 + i] = UInt8(v & 255)
        carry = v >> 8
      }
      guard carry == 0 else { continue }
      tried += 1
      #expect(!sodium(sig, m, key.pk))
      #expect(!FixedBase.verify(sig, of: m, key: key.pk, table: t))
    }
    #expect(tried > 10)
  }

  @Test(
    "a key holder's signature with R the identity passes the group equation; both refuse it (R of small order), and every small-order R"
  )
  func smallOrderR() throws {
    _ = sodium_init()
    var rng = Rng(state: 14)
    let key = Key(&rng)
    let t = try table(key.pk)
    let m = Array("an entry".utf8)
    let identity: [UInt8] = [1] + [UInt8](repeating: 0, count: 31)
    let h = challenge(identity, key.pk, m)
    var s = [UInt8](repeating: 0, count: 32)
    crypto_core_ed25519_scalar_mul(&s, h, key.scalar)
    // [s]B = [h]A: the equation holds, so only the small-order check refuses it.
    var sB = [UInt8](repeating: 0, count: 32)
    var hA = [UInt8](repeating: 0, count: 32)
    #expect(crypto_scalarmult_ed25519_base_noclamp(&sB, s) == 0)
    #expect(crypto_scalarmult_ed25519_noclamp(&hA, h, key.pk) == 0)
    #expect(sB == hA)
    let crafted = identity + s
    #expect(!sodium(crafted, m, key.pk))
    #expect(!FixedBase.verify(crafted, of: m, key: key.pk, table: t))
    // The seven encodings libsodium refuses, with and without the sign bit.
    let y8 = FixedBaseTests.order8
    let y8b = FixedBaseTests.hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    let p = [0xed] + [UInt8](repeating: 0xff, count: 30) + [0x7f]
    var pMinus1 = p
    pMinus1[0] = 0xec
    var pPlus1 = p
    pPlus1[0] = 0xee
    let small = [[UInt8](repeating: 0, count: 32), identity, y8, y8b, pMinus1, p, pPlus1]
    for r in small {
      for sign: UInt8 in [0, 0x80] {
        var r2 = r
        r2[31] |= sign
        var sig = r2 + s
        #expect(!sodium(sig, m, key.pk) && !FixedBase.verify(sig, of: m, key: key.pk, table: t))
        sig = r2 + Array(key.sign(m).suffix(32))
        #expect(!sodium(sig, m, key.pk) && !FixedBase.verify(sig, of: m, key: key.pk, table: t))
      }
      // As a key: libsodium refuses every signature, and no table is made.
      #expect(FixedBase.Table(key: r) == nil)
      #expect(!sodium(key.sign(m), m, r))
    }
  }

  @Test("keys libsodium refuses get no table: a table exactly for the canonical encodings of points")
  func refusedKeys() throws {
    _ = sodium_init()
    var rng = Rng(state: 15)
    let base = FixedBaseTests.hex("5866666666666666666666666666666666666666666666666666666666666666")
    var points = 0
    for _ in 0..<200 {
      let pk = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      // libsodium adds two points only when both decode to points of the curve.
      var sum = [UInt8](repeating: 0, count: 32)
      let isPoint = crypto_core_ed25519_add(&sum, pk, base) == 0
      #expect((FixedBase.Table(key: pk) != nil) == isPoint)
      if isPoint { points += 1 }
    }
    #expect(points > 50 && points < 150)
    // y = p + 2 .. 2^255 - 1 (not canonical): never a table.
    for low: UInt8 in [0xef, 0xf0, 0xfe, 0xff] {
      let pk = [low] + [UInt8](repeating: 0xff, count: 30) + [0x7f]
      #expect(FixedBase.Table(key: pk) == nil)
    }
  }

  @Test(
    "a key with a component of order 8: the holder's signatures pass where [h]T vanishes, and both say so; the others both refuse"
  )
  func mixedOrderKey() throws {
    _ = sodium_init()
    var rng = Rng(state: 16)
    let key = Key(&rng)
    let y8 = FixedBaseTests.order8
    var mixed = [UInt8](repeating: 0, count: 32)
    guard crypto_core_ed25519_add(&mixed, key.pk, y8) == 0 else {
      Issue.record("libsodium cannot add the order-8 point")
      return
    }
    let t = try table(mixed)
    let a = key.scalar
    var accepted = 0
    var refused = 0
    for _ in 0..<64 {
      let m = message(&rng)
      guard let sig = handSigned(m, pk: mixed, a: a, &rng) else { continue }
      let answer = sodium(sig, m, mixed)
      #expect(FixedBase.verify(sig, of: m, key: mixed, table: t) == answer)
      if answer { accepted += 1 } else { refused += 1 }
    }
    #expect(accepted > 0 && refused > 0)
  }

  @Test(
    "R with a component of order 8, s made for it: the cofactored equation holds, the exact one does not; both refuse"
  )
  func torsionInR() throws {
    _ = sodium_init()
    var rng = Rng(state: 18)
    let key = Key(&rng)
    let t = try table(key.pk)
    let y8 = FixedBaseTests.order8
    for _ in 0..<32 {
      let m = message(&rng)
      guard let sig = handSigned(m, pk: key.pk, a: key.scalar, plus: y8, &rng) else { continue }
      #expect(!sodium(sig, m, key.pk))
      #expect(!FixedBase.verify(sig, of: m, key: key.pk, table: t))
    }
  }

  @Test("a key gets its table at its sixteenth verification; the answers stay the same")
  func dispatch() throws {
    _ = sodium_init()
    var rng = Rng(state: 17)
    let key = Key(&rng)
    let id = try PublicIdentity(key: key.pk)
    for k in 0..<20 {
      let m = message(&rng)
      var sig = key.sign(m)
      #expect(id.verifies(sig, of: m))
      sig[k] ^= 4
      #expect(!id.verifies(sig, of: m))
    }
    #expect(FixedBase.table(for: key.pk) != nil)
  }

  /// The y of a point of order 8 (sign bit clear): the first order-8 encoding libsodium refuses.
  static let order8 = hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")

  static func hex(_ s: String) -> [UInt8] {
    var out = [UInt8]()
    var it = s.utf8.makeIterator()
    while let a = it.next(), let b = it.next() {
      out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16)!)
    }
    return out
  }
}
