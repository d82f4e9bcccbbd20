import KeywardCore
import Testing

@Suite("hardening: escaping, names, endpoints, signed documents")
struct HardeningUnitTests {
  /// A deterministic generator (xorshift), so a failure reproduces.
  struct Rand {
    var state: UInt64
    mutating func next() -> UInt64 {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return state
    }
  }

  static let steering: Set<UInt32> = Set(
    Array(0..<0x20).filter { $0 != 0x0a && $0 != 0x09 } + [0x7f] + Array(0x80...0x9f) + Array(0x202a...0x202e)
      + Array(0x2066...0x2069) + [0x200e, 0x200f, 0x061c, 0x2028, 0x2029])

  @Test(
    "printable: no steering character survives; text without one is returned unchanged; escapes are JSON escapes"
  )
  func printableProperty() throws {
    var r = Rand(state: 0x9e37_79b9_7f4a_7c15)
    let pool: [UInt32] = [
      0x1b, 0x07, 0x0a, 0x09, 0x0d, 0x7f, 0x9b, 0x202e, 0x2066, 0x200f, 0x061c, 0x0628, 0x2028, 0x2029,
      0x2010, 0x41, 0x7a, 0x20, 0xe9, 0x1f600, 0x5c, 0x22,
    ]
    for _ in 0..<2000 {
      var scalars = String.UnicodeScalarView()
      for _ in 0..<Int(r.next() % 24) {
        scalars.append(Unicode.Scalar(pool[Int(r.next() % UInt64(pool.count))])!)
      }
      let s = String(scalars)
      let p = Text.printable(s)
      #expect(
        !p.unicodeScalars.contains { HardeningUnitTests.steering.contains($0.value) }, "\(s.debugDescription)"
      )
      if !s.unicodeScalars.contains(where: { HardeningUnitTests.steering.contains($0.value) }) {
        #expect(p == s)
      }
      // Inside a JSON string, the escaped text decodes back to the original characters.
      let quoted =
        "\""
        + p.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        .replacingOccurrences(of: "\t", with: "\\t") + "\""
      if !s.contains("\\") {
        #expect(try JSONValue.parse(Array(quoted.utf8), source: "t") == .string(s), "\(s.debugDescription)")
      }
      #expect(!Text.printable(s, keepNewlines: false).contains("\n"))
    }
  }

  @Test("isPlain: eight bytes at a time answers as the byte-by-byte rule, at every length and offset")
  func isPlainWordAtATime() {
    func naive(_ bytes: [UInt8], _ keepNewlines: Bool) -> Bool {
      !bytes.contains { b in
        (b < 0x20 && !(keepNewlines && (b == 0x0a || b == 0x09))) || b == 0x7f || b == 0xc2 || b == 0xd8
          || b == 0xe2
      }
    }
    var r = Rand(state: 0x2545_f491_4f6c_dd1d)
    // Mostly plain ASCII, with each byte class the rule names (and its neighbours) now and then.
    let rare: [UInt8] = [
      0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0d, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xc1, 0xc2, 0xc3, 0xd7, 0xd8, 0xe2,
      0xee,
      0xff,
    ]
    for _ in 0..<20_000 {
      let count = Int(r.next() % 40)
      var bytes = (0..<count).map { _ in UInt8(0x21 + r.next() % 0x5e) }
      for _ in 0..<Int(r.next() % 5) where count > 0 {
        bytes[Int(r.next() % UInt64(count))] = rare[Int(r.next() % UInt64(rare.count))]
      }
      for keep in [true, false] {
        let fast = bytes.withUnsafeBufferPointer { Text.isPlain($0, keepNewlines: keep) }
        #expect(fast == naive(bytes, keep), "\(bytes) keepNewlines: \(keep)")
      }
    }
  }

  @Test("export names: POSIX names only, and nothing that changes how a program starts")
  func variableNames() {
    for ok in ["CAPTCHALA_APP_KEY", "RECAPTCHA_SECRET_KEY", "_x", "NEXT_PUBLIC_SITE_KEY", "VITE_CAPTCHA"] {
      #expect(Names.isVariable(ok) && !Names.isDangerousVariable(ok), "\(ok)")
    }
    for bad in ["", "1A", "A-B", "A B", "A=B", "Ä", String(repeating: "A", count: 129)] {
      #expect(!Names.isVariable(bad), "\(bad)")
    }
    for dangerous in [
      "LD_PRELOAD", "ld_library_path", "PATH", "GIT_CONFIG_PARAMETERS", "PERL5LIB", "PYTHONPATH",
      "NODE_OPTIONS",
      "BASH_ENV", "KEYWARD_PRIVATE_KEY_PROD", "HTTPS_PROXY", "SSLKEYLOGFILE", "DYLD_INSERT_LIBRARIES",
    ] {
      #expect(Names.isDangerousVariable(dangerous), "\(dangerous)")
    }
  }

  @Test("identities: ed25519: and ssh-ed25519 forms parse to the same key; junk is refused")
  func identities() throws {
    let key = [UInt8](repeating: 7, count: 32)
    let id = try PublicIdentity(key: key)
    #expect(try PublicIdentity(parsing: id.text) == id)
    // ssh-ed25519 wire form: string "ssh-ed25519", string key.
    var blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32] + key
    let b64 = try #require(encodeBase64(blob))
    #expect(try PublicIdentity(parsing: "ssh-ed25519 \(b64) alice@laptop") == id)
    blob[3] = 12
    for bad in ["ed25519:!!", "ssh-rsa AAAA", "ssh-ed25519 \(encodeBase64(blob)!)", "", "ed25519:AAAA"] {
      #expect(throws: KeywardError.self, "\(bad)") { _ = try PublicIdentity(parsing: bad) }
    }
    #expect(id.fingerprint.count == 32)
  }

  func encodeBase64(_ bytes: [UInt8]) -> String? {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var out = ""
    var i = 0
    while i < bytes.count {
      let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0,
        b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
      out.append(table[b0 >> 2])
      out.append(table[((b0 & 3) << 4) | (b1 >> 4)])
      out.append(i + 1 < bytes.count ? table[((b1 & 15) << 2) | (b2 >> 6)] : "=")
      out.append(i + 2 < bytes.count ? table[b2 & 63] : "=")
      i += 3
    }
    return out
  }

  @Test("the DSSE pre-authentication encoding is DSSE's (lengths in bytes, not characters)")
  func pae() {
    #expect(SignedDocument.pae("t", Array("hello".utf8)) == Array("DSSEv1 1 t 5 hello".utf8))
    #expect(SignedDocument.pae("é", [0xff]) == Array("DSSEv1 2 é 1 ".utf8) + [0xff])
  }

  @Test("trust expectations: FP[@MIN], 32 hex digits")
  func expectations() {
    let fp = String(repeating: "ab", count: 16)
    #expect(TrustExpectation(fp)?.minVersion == 1)
    #expect(TrustExpectation("\(fp)@7")?.minVersion == 7)
    #expect(TrustExpectation(fp.uppercased())?.fingerprint == fp)
    for bad in ["", "abc", "\(fp)@0", "\(fp)@x", "\(fp)@-1", String(repeating: "g", count: 32)] {
      #expect(TrustExpectation(bad) == nil, "\(bad)")
    }
  }
}
