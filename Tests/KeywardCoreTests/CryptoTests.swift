import Foundation
import Testing

@testable import KeywardCore

@Suite("kw1 sealed values")
struct SealedTests {
  let key = try! PrivateKey.generate()
  let place = Place(environment: "prod", setID: "a1b2c3d4", field: .appSecret)

  @Test("round trip", arguments: [0, 1, 15, 16, 17, 100, 1000, 4096])
  func roundTrip(length: Int) throws {
    let plain = SecureBytes(Sodium.randomBytes(length))
    let text = try Sealed.seal(plain, to: key.publicKey, at: place)
    #expect(text.hasPrefix("kw1:"))
    let opened = try Sealed.open(text, with: key, at: place).get()
    #expect(opened.constantTimeEquals(plain))
  }

  @Test("non-ASCII and awkward bytes survive")
  func awkward() throws {
    let s = "é\"\\$`#= \t\n😀"
    let text = try Sealed.seal(SecureBytes(unsafeString: s), to: key.publicKey, at: place)
    #expect(try Sealed.open(text, with: key, at: place).get().testString == s)
  }

  @Test("two seals of one value differ (fresh ephemeral key and nonce)")
  func freshness() throws {
    let v = SecureBytes(unsafeString: "same")
    #expect(try Sealed.seal(v, to: key.publicKey, at: place) != Sealed.seal(v, to: key.publicKey, at: place))
  }

  @Test(
    "a value moved to another place does not open",
    arguments: [
      Place(environment: "staging", setID: "a1b2c3d4", field: .appSecret),
      Place(environment: "prod", setID: "a1b2c3d5", field: .appSecret),
      Place(environment: "prod", setID: "a1b2c3d4", field: .appKey),
      Place(environment: "prod\0a1b2c3d4", setID: "", field: .appSecret),
    ])
  func placeBinding(other: Place) throws {
    let text = try Sealed.seal(SecureBytes(unsafeString: "secret"), to: key.publicKey, at: place)
    #expect(throws: Sealed.OpenFailure.authentication) { try Sealed.open(text, with: key, at: other).get() }
  }

  @Test("every flipped byte is detected")
  func everyByteFlip() throws {
    let text = try Sealed.seal(SecureBytes(unsafeString: "cs_live_0123456789"), to: key.publicKey, at: place)
    let raw = try #require(Sodium.unbase64(String(text.dropFirst(4))))
    for i in 0..<raw.count {
      for bit in [0x01, 0x80] as [UInt8] {
        var t = raw
        t[i] ^= bit
        let result = Sealed.open("kw1:" + Sodium.base64(t), with: key, at: place)
        guard case .failure(let f) = result else {
          Issue.record("flip of byte \(i) bit \(bit) opened")
          continue
        }
        // The first 8 bytes are the recipient key id; the rest fail authentication.
        #expect(f == (i < 8 ? .otherRecipient(Sodium.hex(Array(t.prefix(8)))) : .authentication))
      }
    }
  }

  @Test("another recipient's key is named, not tried")
  func otherRecipient() throws {
    let other = try PrivateKey.generate()
    let text = try Sealed.seal(SecureBytes(unsafeString: "x"), to: key.publicKey, at: place)
    #expect(throws: Sealed.OpenFailure.otherRecipient(key.publicKey.fingerprint)) {
      try Sealed.open(text, with: other, at: place).get()
    }
  }

  @Test(
    "malformed envelopes are classified",
    arguments: [
      ("ck_live_plaintext", Sealed.OpenFailure.notEncrypted),
      ("", .notEncrypted),
      ("kw2:AAAA", .unsupportedVersion("kw2")),
      ("kw10:AAAA", .unsupportedVersion("kw10")),
      ("kw1:not base64!", .malformed),
      ("kw1:AAAA", .malformed),
      ("kw1:", .malformed),
    ])
  func malformed(text: String, failure: Sealed.OpenFailure) {
    #expect(throws: failure) { try Sealed.open(text, with: key, at: place).get() }
  }
}

@Suite("fingerprints and keys")
struct FingerprintTests {
  @Test("fingerprints are deterministic, salt-keyed, field-independent and short")
  func fingerprints() throws {
    let a = try Fingerprinter(salt: [UInt8](repeating: 1, count: 32))
    let b = try Fingerprinter(salt: [UInt8](repeating: 2, count: 32))
    let v = SecureBytes(unsafeString: "ck_live_123")
    #expect(a.fingerprint(v) == a.fingerprint(SecureBytes(unsafeString: "ck_live_123")))
    #expect(a.fingerprint(v) != b.fingerprint(v))
    #expect(a.fingerprint(v) != a.fingerprint(SecureBytes(unsafeString: "ck_live_124")))
    #expect(a.fingerprint(v).count == 16)
    #expect(a.fingerprint(v).allSatisfy { $0.isHexDigit && !$0.isUppercase })
  }

  @Test("known answer: fingerprint of a fixed value under a fixed salt")
  func fingerprintKnownAnswer() throws {
    // Computed independently: blake2b(b"keyward fp v1" + b"abc", digest_size=32, key=bytes(range(32)))[:8]
    let f = try Fingerprinter(salt: Array(0..<32))
    #expect(f.fingerprint(SecureBytes(unsafeString: "abc")) == "d918f6072aa88fa7")
  }

  @Test("a salt outside 16...64 bytes is refused")
  func saltLength() {
    #expect(throws: KeywardError.self) { try Fingerprinter(salt: [1, 2, 3]) }
  }

  @Test("private key text form round-trips and rejects junk")
  func privateKeyText() throws {
    let k = try PrivateKey.generate()
    let text = k.exportString()
    #expect(text.testString.hasPrefix("kwsk1:"))
    let back = try PrivateKey.parse(text, source: "test")
    #expect(back.publicKey == k.publicKey)
    for junk in ["", "kwsk1:", "kwsk1:AAAA", "kwsk2:" + String(text.testString.dropFirst(6)), "hello"] {
      #expect(throws: KeywardError.self) {
        try PrivateKey.parse(SecureBytes(unsafeString: junk), source: "t")
      }
    }
  }

  @Test("secure buffers never print their contents")
  func redaction() {
    let s = SecureBytes(unsafeString: "cs_live_topsecret")
    #expect(!"\(s)".contains("topsecret"))
    #expect(!String(reflecting: s).contains("topsecret"))
    #expect("\(s)" == "<redacted 17 bytes>")
  }

  @Test("secure buffers grow, slice and compare")
  func secureBytes() {
    let s = SecureBytes(capacity: 1)
    for i in 0..<1000 { s.append(UInt8(i % 256)) }
    #expect(s.count == 1000)
    #expect(s[999] == UInt8(999 % 256))
    #expect(s.slice(10..<20).count == 10)
    #expect(!s.constantTimeEquals(s.slice(0..<999)))
    s.truncate(to: 3)
    #expect(s.constantTimeEquals(SecureBytes([0, 1, 2])))
  }

  @Test("pooled and overflowing secure buffers keep their own contents")
  func pool() {
    // 100 × 300 bytes is more than the 16 KiB pool: the later ones get their own allocation.
    var buffers = [SecureBytes]()
    for i in 0..<100 { buffers.append(SecureBytes(Array(repeating: UInt8(i), count: 300))) }
    for (i, b) in buffers.enumerated() {
      #expect(b.count == 300)
      #expect(b.withUnsafeBytes { $0.allSatisfy { $0 == UInt8(i) } })
    }
    // Growing moves a buffer (within or out of the pool) without losing bytes.
    let grown = SecureBytes(capacity: 16)
    for i in 0..<5000 { grown.append(UInt8(i % 251)) }
    #expect((0..<5000).allSatisfy { grown[$0] == UInt8($0 % 251) })
    buffers.removeAll()
    let again = SecureBytes(Array(repeating: 7, count: 64))
    #expect(again.withUnsafeBytes { $0.allSatisfy { $0 == 7 } })
  }

  @Test("base64 helpers reject what libsodium would half-read")
  func base64() {
    #expect(Sodium.unbase64(Sodium.base64([1, 2, 3, 4, 5])) == [1, 2, 3, 4, 5])
    #expect(Sodium.unbase64("AQID BA==") == nil)
    #expect(Sodium.unbase64("AQIDBA") == nil)
    #expect(Sodium.unbase64("AQIDBA==x") == nil)
    let secure = SecureBase64.encode(SecureBytes([9, 8, 7]))
    #expect(SecureBase64.decode(secure)?.constantTimeEquals(SecureBytes([9, 8, 7])) == true)
  }
}

@Suite("passphrase-protected keys")
struct PassphraseTests {
  @Test("wrap and unwrap; a wrong passphrase is an integrity error")
  func wrap() throws {
    let k = try PrivateKey.generate()
    let p = PassphraseParameters(opslimit: 1, memlimit: 8192 * 1024, salt: Array(repeating: 7, count: 16))
    let wrapped = try PassphraseWrap.wrap(
      k, passphrase: SecureBytes(unsafeString: "correct horse"), parameters: p)
    let back = try PassphraseWrap.unwrap(
      wrapped, passphrase: SecureBytes(unsafeString: "correct horse"), parameters: p, publicKey: k.publicKey,
      source: "f")
    #expect(back.publicKey == k.publicKey)
    expectError(.integrity, ["wrong passphrase"]) {
      _ = try PassphraseWrap.unwrap(
        wrapped, passphrase: SecureBytes(unsafeString: "wrong horse"), parameters: p, publicKey: k.publicKey,
        source: "f")
    }
    // Bound to its public key: the same blob under another public key does not open.
    let other = try PrivateKey.generate()
    expectError(.integrity, ["wrong passphrase"]) {
      _ = try PassphraseWrap.unwrap(
        wrapped, passphrase: SecureBytes(unsafeString: "correct horse"), parameters: p,
        publicKey: other.publicKey, source: "f")
    }
  }

  @Test("key files: plain, protected, bare kwsk1 string, and damaged ones")
  func keyFiles() throws {
    let k = try PrivateKey.generate()
    let plain = try KeyFile.render(k, environment: "prod", workspaceID: "0123456789abcdef", passphrase: nil)
    let ask: (String) throws(KeywardError) -> SecureBytes = { _ in SecureBytes(unsafeString: "pw-12345") }
    #expect(try KeyFile.parse(plain, source: "p", passphrase: ask).publicKey == k.publicKey)
    let protected = try KeyFile.render(
      k, environment: "prod", workspaceID: "0123456789abcdef",
      passphrase: SecureBytes(unsafeString: "pw-12345"))
    #expect(!protected.testString.contains("kwsk1:"))
    #expect(protected.testString.contains("kdf: argon2id13"))
    #expect(try KeyFile.parse(protected, source: "p", passphrase: ask).publicKey == k.publicKey)
    #expect(try KeyFile.parse(k.exportString(), source: "p", passphrase: ask).publicKey == k.publicKey)

    let other = try PrivateKey.generate()
    let mismatched = SecureBytes(
      unsafeString: plain.testString.replacingOccurrences(
        of: k.exportString().testString, with: other.exportString().testString))
    expectError(.integrity, ["does not match its public-key line"]) {
      _ = try KeyFile.parse(mismatched, source: "p", passphrase: ask)
    }
    expectError(.integrity, ["not a keyward key file"]) {
      _ = try KeyFile.parse(SecureBytes(unsafeString: "hello: world\n"), source: "p", passphrase: ask)
    }
    expectError(.integrity, ["p:1", "not a `name: value` line"]) {
      _ = try KeyFile.parse(SecureBytes(unsafeString: "garbage\n"), source: "p", passphrase: ask)
    }
  }
}
