import Foundation
import Testing

@testable import KeywardCore

/// The signed state's one-pass reading against the strict one: on states as keyward writes them
/// (with awkward but legal values) the scan must be taken and agree; on anything else — invalid
/// names, roles and keys, unknown members, mutated bytes — it must agree or defer, never differ.
@Suite("the signed state scan")
struct TrustStateScanTests {
  static let keys: [String] = (0..<4).map { k in
    "ed25519:" + Sodium.base64((0..<32).map { UInt8(($0 * 7 + k * 31) % 256) })
  }
  /// The SSH wire form of a key: string "ssh-ed25519", string key.
  static let sshKey: String = {
    func string(_ b: [UInt8]) -> [UInt8] { [0, 0, 0, UInt8(b.count)] + b }
    let blob = string(Array("ssh-ed25519".utf8)) + string((0..<32).map { UInt8($0) })
    return "ssh-ed25519 " + Sodium.base64(blob) + " alice@laptop"
  }()

  /// A state payload; `legal` false mixes in what the strict reading refuses or reads differently.
  func payload(_ rng: inout SeededRng, legal: Bool) -> [UInt8] {
    func odd() -> Bool { !legal && rng.next(12) == 0 }
    var envs = [String: JSONValue]()
    for e in 0..<rng.next(6) {
      var env: [String: JSONValue] = ["recipient": .string(Sodium.base64(rng.bytes(32)))]
      if rng.next(3) > 0 {
        env["members"] = .array(
          (0..<rng.next(4)).map { m in
            var member: [String: JSONValue] = [
              "key": .string(odd() ? "ed25519:AAAA" : rng.next(5) == 0 ? Self.sshKey : rng.pick(Self.keys)),
              "name": .string(odd() ? "bad name!" : "m\(m)"),
              "role": .string(odd() ? "admin" : rng.pick(["member", "reader"])),
            ]
            if odd() { member["note"] = .string("x") }
            return .object(member)
          })
      }
      if rng.next(2) == 0 {
        var w = [String: JSONValue]()
        for _ in 0..<rng.next(4) { w[Sodium.hex(rng.bytes(16))] = .string(Sodium.hex(rng.bytes(32))) }
        env["wraps"] = .object(w)
      }
      if rng.next(3) == 0 {
        env["revoked"] = .array(
          (0..<rng.next(3)).map { _ in
            .object([
              "name": .string("bob"), "fingerprint": .string(Sodium.hex(rng.bytes(16))),
              "sets": .array(
                (0..<rng.next(3)).map { _ in odd() ? .number(7) : .string(Sodium.hex(rng.bytes(4))) }),
            ])
          })
      }
      if rng.next(4) == 0 { env["pending_recipient"] = .string(Sodium.base64(rng.bytes(32))) }
      if odd() { env["recipient"] = nil }
      envs[odd() ? "Bad Env" : "env\(e)"] = .object(env)
    }
    var top: [String: JSONValue] = [
      "type": .string(odd() ? "keyward-root" : "keyward-state"),
      "version": .number(odd() ? 0 : Double(1 + rng.next(50))),
      "root": .string(Sodium.hex(rng.bytes(32))),
      "config": .string(odd() ? "not base64!" : Sodium.base64(Array("{\"environments\":{}}\n".utf8))),
      "environments": .object(envs),
    ]
    if odd() { top["extra"] = .bool(true) }
    return JSONValue.object(top).compact()
  }

  func strict(_ b: [UInt8]) -> Trust.State? { try? Trust.parseStateStrictly(b, source: "state") }

  @Test("written states take the scan and equal the strict reading; odd and mutated ones agree or defer")
  func agrees() {
    var rng = SeededRng(state: 2026)
    var scanned = 0
    for n in 0..<400 {
      let legal = n % 2 == 0
      let b = payload(&rng, legal: legal)
      let fast = Trust.scanState(b)
      if legal {
        #expect(fast != nil, "\(String(decoding: b, as: UTF8.self))")
        #expect(fast == strict(b), "\(String(decoding: b, as: UTF8.self))")
      } else if let fast {
        #expect(fast == strict(b), "\(String(decoding: b, as: UTF8.self))")
      }
      if fast != nil { scanned += 1 }
      for _ in 0..<6 {
        let m = rng.mutated(b)
        guard let fast = Trust.scanState(m) else { continue }
        #expect(fast == strict(m), "\(String(decoding: m, as: UTF8.self))")
      }
    }
    #expect(scanned >= 200)
  }

  /// `state` as a deploy of `focus` reads it: the other environments' members, wraps and
  /// revocations dropped.
  func restricted(_ state: Trust.State, to focus: String) -> Trust.State {
    var s = state
    s.members = s.members.filter { $0.key == focus }
    s.wraps = s.wraps.filter { $0.key == focus }
    s.revoked = s.revoked.filter { $0.key == focus }
    s.focus = focus
    return s
  }

  @Test(
    "a deploy's focused scan equals the whole reading restricted to its environment; on odd and mutated bytes it agrees or defers, or differs only in what it steps over"
  )
  func focused() {
    var rng = SeededRng(state: 4711)
    var compared = 0
    for n in 0..<400 {
      let b = payload(&rng, legal: n % 2 == 0)
      let focus = "env\(rng.next(6))"
      for m in [b] + (0..<6).map({ _ in rng.mutated(b) }) {
        guard let fast = Trust.scanState(m, focus: focus) else { continue }
        #expect(fast.focus == focus)
        if let whole = strict(m) {
          // What the focused scan reads is what the strict reading reads.
          #expect(fast == restricted(whole, to: focus), "\(String(decoding: m, as: UTF8.self))")
          compared += 1
        } else if let whole = Trust.scanState(m) {
          Issue.record("the whole scan read what the strict reading refuses: \(whole)")
        }
        // Everything else: the strict reading refuses the state for what the focused scan
        // stepped over (another environment's members); a deploy of `focus` is not affected.
      }
    }
    #expect(compared >= 300)
  }

  @Test(
    "the focused scan steps over only well-formed structure: mismatched brackets elsewhere defer to the strict reading (found by session 17's review)"
  )
  func focusedSkipMatches() {
    let good = Sodium.base64((0..<32).map { UInt8($0) })
    func state(_ devMembers: String) -> [UInt8] {
      Array(
        ("{\"config\":\"e30=\",\"environments\":{\"dev\":{\"members\":\(devMembers),\"recipient\":\"\(good)\"},"
          + "\"prod\":{\"recipient\":\"\(good)\"}},\"root\":\"r\",\"type\":\"keyward-state\",\"version\":2}")
          .utf8)
    }
    // Well-formed and valid: both readings take it.
    #expect(Trust.scanState(state("[]"), focus: "prod") != nil)
    #expect(
      Trust.scanState(state("[{\"key\":\"k]}\"}]"), focus: "prod") != nil, "a bracket inside a string is text"
    )
    // Mismatched, unclosed or too deep: the focused scan defers (and the strict reading refuses).
    for bad in [
      "[{]", "[{]}", "{]", "[", "[[[", String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
    ] {
      #expect(Trust.scanState(state(bad), focus: "prod") == nil, "\(bad)")
      #expect(strict(state(bad)) == nil, "\(bad)")
    }
  }

  @Test("a focused state is never the base of a new signed state: signing and root changes refuse it")
  func focusedNotSigned() throws {
    let admin = try Identity.generate(name: "alice")
    var trust = TrustedState(
      rootFingerprint: String(repeating: "0", count: 32),
      admins: [.init(name: "alice", identity: admin.publicIdentity)], threshold: 1, version: 1,
      recipients: [:], config: [], signers: [], pinnedBy: nil)
    trust.focus = "prod"
    let folder = NSTemporaryDirectory() + "focused-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    do {
      _ = try Trust.update(
        workspace: folder, current: trust, configBytes: [], recipients: [:], admin: admin, env: .process)
      Issue.record("a focused state was signed")
    } catch {
      #expect(error.message.contains("environment prod alone"), "\(error.message)")
    }
    do {
      _ = try Trust.changeRoot(
        workspace: folder, current: trust, add: [], remove: [], reviewed: nil, signer: admin,
        record: { _ in },
        env: .process)
      Issue.record("a root change was based on a focused state")
    } catch {
      #expect(error.message.contains("environment prod alone"), "\(error.message)")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "nothing written")
  }

  @Test("a state with pretty-printed or escaped JSON is read by the strict reading, with the same result")
  func defers() throws {
    var rng = SeededRng(state: 9)
    let b = payload(&rng, legal: true)
    let value = try JSONValue.parse(b, source: "state")
    let pretty = Array(String(decoding: b, as: UTF8.self).replacingOccurrences(of: ",\"", with: ", \"").utf8)
    #expect(Trust.scanState(pretty) == nil)
    #expect(try Trust.parseState(pretty, source: "state") == Trust.parseState(b, source: "state"))
    #expect(try JSONValue.parse(pretty, source: "state") == value)
  }
}
