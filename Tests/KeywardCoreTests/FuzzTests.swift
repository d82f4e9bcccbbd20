import Foundation
import Testing

@testable import KeywardCore

/// Seeded random inputs into every parser: each must return or throw a KeywardError, never crash,
/// and a mutated store must never open to a wrong value.
@Suite("fuzzing the parsers")
struct FuzzTests {
  /// SplitMix64: reproducible across runs and platforms.
  struct Rng: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  static let alphabet = Array("{}[]\":,\\ \n\r\t'=#$`abcAZ09_-u\u{0}".utf8) + [0xc3, 0xa9, 0xff, 0x80]

  func randomInput(_ rng: inout Rng, seeds: [String]) -> [UInt8] {
    var bytes = Array(seeds[Int(rng.next() % UInt64(seeds.count))].utf8)
    let edits = Int(rng.next() % 6)
    for _ in 0..<edits {
      let pos = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
      switch rng.next() % 3 {
      case 0: bytes.insert(Self.alphabet[Int(rng.next() % UInt64(Self.alphabet.count))], at: pos)
      case 1: if pos < bytes.count { bytes.remove(at: pos) }
      default: if pos < bytes.count { bytes[pos] = UInt8(truncatingIfNeeded: rng.next()) }
      }
    }
    return bytes
  }

  @Test("stdin JSON and two-line input")
  func stdinParser() {
    var rng = Rng(state: 1)
    let seeds = [
      #"{"app_key":"ck_1","app_secret":"c\u00e9\n"}"#, "ck\ncs\n", "{}", "{\"a\":\"\\ud83d\\ude00\"}",
    ]
    for _ in 0..<5000 {
      let input = SecureBytes(randomInput(&rng, seeds: seeds))
      do { _ = try SecretInputReader.fromStdin(input) } catch {}
    }
  }

  @Test("env files")
  func envFiles() {
    var rng = Rng(state: 2)
    let seeds = ["export A=1 # c\nB=\"x\\n\"\nC='y'\n", "A=\"unterminated\n", "#only\n\n"]
    for _ in 0..<5000 {
      do { _ = try EnvFile.parse(SecureBytes(randomInput(&rng, seeds: seeds)), source: "f") } catch {}
    }
  }

  @Test("key files")
  func keyFiles() throws {
    var rng = Rng(state: 3)
    let k = try PrivateKey.generate()
    let plain = try KeyFile.render(k, environment: "prod", workspaceID: "0123456789abcdef", passphrase: nil)
    let ask: (String) throws(KeywardError) -> SecureBytes = { _ in SecureBytes(unsafeString: "x") }
    for _ in 0..<3000 {
      let input = SecureBytes(randomInput(&rng, seeds: [plain.testString, "kwsk1:AAAA"]))
      if let key = try? KeyFile.parse(input, source: "f", passphrase: ask) {
        // Anything that parses must be a consistent key: a mutated file never yields a different key
        // silently paired with the original public key.
        #expect(key.publicKey == k.publicKey || !input.testString.contains(k.publicKey.base64))
      }
    }
  }

  @Test("sealed envelopes")
  func envelopes() throws {
    var rng = Rng(state: 4)
    let k = try PrivateKey.generate()
    let place = Place(environment: "prod", setID: "abcd1234", field: .appKey)
    let good = try Sealed.seal(SecureBytes(unsafeString: "ck_live_1"), to: k.publicKey, at: place)
    for _ in 0..<3000 {
      let text = String(decoding: randomInput(&rng, seeds: [good, "kw1:", "kw2:x"]), as: UTF8.self)
      if case .success(let v) = Sealed.open(text, with: k, at: place) {
        #expect(v.testString == "ck_live_1")
      }
    }
  }

  @Test("mutated environment files: an error or the right values, never a crash or a wrong value")
  func mutatedStore() throws {
    let s = try ScratchWorkspace(envs: ["prod"])
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let file = "\(s.path)/prod.json"
    let original = try String(contentsOfFile: file, encoding: .utf8)
    var rng = Rng(state: 5)
    var opened = 0
    for _ in 0..<400 {
      try Data(randomInput(&rng, seeds: [original])).write(to: URL(fileURLWithPath: file))
      do {
        let o = try s.open("prod")
        #expect(o.appKey.testString == "ck_live_1234567890")
        #expect(o.appSecret.testString == "cs_live_abcdefghij")
        opened += 1
      } catch is KeywardError {
      }
    }
    #expect(opened > 0)  // some mutations only touch whitespace or unused members
  }

  @Test("workspace config")
  func config() throws {
    let s = try ScratchWorkspace(envs: ["prod"])
    let original = try String(contentsOfFile: "\(s.path)/keyward.json", encoding: .utf8)
    var rng = Rng(state: 6)
    for _ in 0..<400 {
      try Data(randomInput(&rng, seeds: [original])).write(to: URL(fileURLWithPath: "\(s.path)/keyward.json"))
      do { _ = try ListOperation.run(workspace: Workspace.open(s.path)) } catch {}
    }
  }
}
