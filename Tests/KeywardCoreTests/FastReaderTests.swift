import Testing

@testable import KeywardCSP
@testable import KeywardCore

/// The fast readers against the full JSON parser, as properties: whatever a fast reader accepts,
/// the parser reads to the same values (a fast path may decline a line, never read it otherwise).
@Suite("fast readers equal the full parser")
struct FastReaderTests {
  static let queries = [
    #"{"id":1,"policy":"script-src 'self' https://cdn.example.net","origin":"https://shop.example","kind":"script","url":"https://cdn.example.net/a.js"}"#,
    #"{"policy":["script-src 'nonce-abc'","img-src *"],"report_only_policy":"script-src 'none'","origin":"https://a.b","kind":"inline-script","nonce":"abc","body":"x()","parser_inserted":false}"#,
    #"{"id":"q7","policy":null,"meta_policy":["style-src 'self'"],"origin":"https://a.b/p","kind":"style","url":"/s.css","redirect_count":2,"integrity":"sha256-abc"}"#,
    #"{ "origin" : "https://a.b" , "kind" : "img" , "url" : "data:x" , "policy" : "img-src data:" }"#,
  ]

  /// One answer line for a query, from the session's typed fields.
  func answer(_ s: CSPEvalSession, _ f: CSPEvalSession.Fields) -> String {
    do {
      let q = try s.query(f)
      var out: [UInt8] = []
      CSPJSON.write(
        CSPEngine.evaluate(q.request, policies: q.policies), request: q.request, policies: q.policies,
        id: q.id,
        line: 1, into: &out)
      return String(decoding: out, as: UTF8.self)
    } catch {
      return "error: \(error.message)"
    }
  }

  @Test("csp eval: a line the fast reader takes gets the same answer from the general reader")
  func cspEvalFields() {
    var rng = SeededRng(state: 11)
    let session = CSPEvalSession()
    var taken = 0
    for n in 0..<6000 {
      var line = Array(rng.pick(Self.queries).utf8)
      for _ in 0..<(n % 4) { line = rng.mutated(line) }
      let fast = line.withUnsafeBufferPointer { FastFields.parse($0, session: session) }
      guard let fast else { continue }
      taken += 1
      let general: CSPEvalSession.Fields
      do { general = try session.fields(line) } catch {
        Issue.record(
          "the fast reader took a line the parser refuses (\(error.message)): \(String(decoding: line, as: UTF8.self))"
        )
        continue
      }
      #expect(
        answer(session, fast) == answer(session, general), "\(String(decoding: line, as: UTF8.self))")
    }
    #expect(taken > 1000, "the fast reader took only \(taken) lines: the property says little")
  }

  static let trailLines = [
    #"{"action":"set","environment":"prod","fingerprints":{"app_key":"0123456789abcdef","app_secret":"fedcba9876543210"},"hash":"aa","prev":"bb","seq":3,"set":"s1","time":"2026-01-01T00:00:00Z","v":1}"#,
    #"{"action":"export","environment":"dev","hash":"cc","prev":"dd","seq":12,"target":"deploy/dev.env","time":"2026-02-01T00:00:00Z","v":1}"#,
    #"{"action":"verify","env_after":"e1","env_before":"e0","environment":"staging","hash":"ee","ok":true,"prev":"ff","seq":1,"v":1}"#,
  ]

  @Test("the v1 trail's line scan: a line it takes is read by the parser to the same members")
  func trailScan() {
    var rng = SeededRng(state: 5)
    var taken = 0
    for n in 0..<6000 {
      var line = Array(rng.pick(Self.trailLines).utf8)
      for _ in 0..<(n % 3) { line = rng.mutated(line) }
      guard let scanned = TrailScan.summary(line) else { continue }
      taken += 1
      guard let v = try? JSONValue.parse(line, source: "t"), case .object(let m) = v else {
        Issue.record("the scan took a line the parser refuses: \(String(decoding: line, as: UTF8.self))")
        continue
      }
      let full = TrailEntry(m)
      let s = scanned.entry
      let shown = String(decoding: line, as: UTF8.self)
      #expect(
        [
          s.action, s.environment, s.set, s.target, s.time, s.appKeyFP, s.appSecretFP, s.envAfter,
          s.envBefore,
        ]
          == [
            full.action, full.environment, full.set, full.target, full.time, full.appKeyFP, full.appSecretFP,
            full.envAfter, full.envBefore,
          ], "\(shown)")
      if scanned.hasSeq { #expect(s.seq == full.seq, "\(shown)") }
      #expect(
        scanned.hash == m["hash"].flatMap { if case .string(let h) = $0 { h } else { nil } }, "\(shown)")
      #expect(
        scanned.prev == m["prev"].flatMap { if case .string(let h) = $0 { h } else { nil } }, "\(shown)")
    }
    #expect(taken > 1000, "the scan took only \(taken) lines")
  }
}
