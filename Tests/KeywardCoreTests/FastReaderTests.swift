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

/// Environment files: the tree-free reader (`EnvironmentScan`) against the full parser.
@Suite("the environment file reader equals the full parser")
struct EnvironmentScanTests {
  /// A random environment file as keyward would write it: 0–4 sets in every state, the optional
  /// members present or not, strings of printable ASCII (spaces and JSON punctuation among them).
  static func randomFile(_ rng: inout SeededRng) -> EnvironmentFile {
    func text(_ n: Int) -> String {
      let alphabet = Array("abcXYZ019+/=:,{}[] -_.~".utf8)
      return String(decoding: (0..<n).map { _ in rng.pick(alphabet) }, as: UTF8.self)
    }
    func time() -> Timestamp { Timestamp(seconds: Int64(1_700_000_000 + rng.next(90_000_000))) }
    var sets = [KeySet]()
    for _ in 0..<rng.next(5) {
      var s = KeySet(
        id: text(8), state: rng.pick(SetState.allCases), created: time(),
        fingerprints: SetFingerprints(appKey: text(16), appSecret: text(16)), appKey: "kw1:" + text(60),
        appSecret: "kw1:" + text(90))
      if rng.next(2) == 0 { s.retiringSince = time() }
      if rng.next(2) == 0 { s.graceUntil = time() }
      if rng.next(2) == 0 {
        s.lastVerification = LastVerification(
          time: time(), verdict: rng.pick(["valid", "invalid", "inconclusive"]),
          endpoint: "https://" + text(12),
          signature: rng.next(2) == 0
            ? nil : .object(["key": .string(text(44)), "name": .string(text(5)), "sig": .string(text(88))]))
      }
      sets.append(s)
    }
    return EnvironmentFile(
      format: EnvironmentFile.formatName, version: 1, environment: text(6),
      recipient: Recipient(publicKey: text(44), keyID: text(16), created: time()), sets: sets)
  }

  /// The full parser's answer, or nil when it refuses.
  static func full(_ bytes: [UInt8]) -> EnvironmentFile? {
    try? EnvironmentFile.parseFully(bytes, source: "f")
  }

  @Test("keyward's own files, Python's indent and compact forms: read without the tree, to the same value")
  func ownForms() {
    var rng = SeededRng(state: 5)
    for _ in 0..<400 {
      let env = Self.randomFile(&rng)
      let written = JSONFiles.encode(env.json)
      let text = String(decoding: written, as: UTF8.self)
      // (The Python form's replacement may also hit a string that starts with " : ": then both
      // readers read the changed string, and only their agreement is asked for.)
      let python = Array(text.replacingOccurrences(of: "\" : ", with: "\": ").utf8)
      for (form, original) in [
        (written, true), (python, false), (EnvironmentScan.minified(written) ?? [], true),
      ] {
        let fast = EnvironmentScan.scan(form)
        #expect(fast != nil, "declined \(String(decoding: form, as: UTF8.self))")
        #expect(fast == Self.full(form) && (!original || fast == env), "\(String(describing: fast))\n\(env)")
      }
    }
  }

  /// `minified` one byte at a time, as its comment states the rule: the reference for the word loop.
  static func minifiedByBytes(_ bytes: [UInt8]) -> [UInt8]? {
    var out = [UInt8]()
    var inString = false
    for c in bytes {
      if c == 0x5c || c >= 0x7f { return nil }
      if inString {
        if c < 0x20 { return nil }
        if c == 0x22 { inString = false }
      } else if c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 {
        continue
      } else if c < 0x20 {
        return nil
      } else if c == 0x22 {
        inString = true
      }
      out.append(c)
    }
    return inString ? nil : out
  }

  @Test("minified, eight bytes at a time, equals the byte-by-byte rule on files, mutations and noise")
  func minifiedWords() {
    var rng = SeededRng(state: 77)
    // Bytes that each decide something: quotes, backslashes, whitespace, controls, DEL, high bytes.
    let special: [UInt8] = [
      0x22, 0x5c, 0x20, 0x0a, 0x0d, 0x09, 0x00, 0x1f, 0x7f, 0x80, 0xc2, 0xff, 0x41, 0x2b,
    ]
    for n in 0..<3000 {
      var bytes: [UInt8]
      if n % 2 == 0 {
        bytes = JSONFiles.encode(Self.randomFile(&rng).json)
        for _ in 0..<(n % 3) { bytes = rng.mutated(bytes) }
      } else {
        // A string of plain bytes with one to three decisive bytes anywhere (word edges included).
        bytes = [0x22] + (0..<(1 + rng.next(40))).map { _ in UInt8(0x30 + rng.next(60)) } + [0x22]
        for _ in 0..<(1 + rng.next(3)) { bytes.insert(rng.pick(special), at: rng.next(bytes.count + 1)) }
      }
      #expect(EnvironmentScan.minified(bytes) == Self.minifiedByBytes(bytes), "\(bytes)")
    }
  }

  @Test("mutated files: whatever the reader takes, the full parser reads to the same value", arguments: 0..<4)
  func mutated(seed: Int) {
    var rng = SeededRng(state: UInt64(seed) &+ 40)
    var taken = 0
    for n in 0..<2500 {
      var bytes = JSONFiles.encode(Self.randomFile(&rng).json)
      for _ in 0...(n % 3) { bytes = rng.mutated(bytes) }
      guard let fast = EnvironmentScan.scan(bytes) else { continue }
      taken += 1
      #expect(fast == Self.full(bytes), "\(String(decoding: bytes, as: UTF8.self))")
    }
    #expect(taken > 300, "the reader took only \(taken) mutated files: the property says little")
  }

  @Test("what the reader declines goes to the full parser: unknown members, escapes, nulls, other versions")
  func declines() throws {
    var rng = SeededRng(state: 9)
    var env = Self.randomFile(&rng)
    while env.sets.isEmpty { env = Self.randomFile(&rng) }
    let text = String(decoding: JSONFiles.encode(env.json), as: UTF8.self)
    let id = env.sets[0].id
    let cases = [
      text.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 2"),
      text.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 1.0"),
      text.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 1, \"zzz\" : true"),
      text.replacingOccurrences(of: "\"id\" : \"\(id)\"", with: "\"id\" : \"\(id)\", \"note\" : \"x\""),
      text.replacingOccurrences(of: "\"id\" : \"\(id)\"", with: "\"id\" : \"\\u0041\(id)\""),
      text.replacingOccurrences(of: "\"id\" : \"\(id)\"", with: "\"grace_until\" : null, \"id\" : \"\(id)\""),
      text.replacingOccurrences(of: "\"id\" : \"\(id)\"", with: "\"id\" : \"\(id)é\""),
      text.replacingOccurrences(of: "\"format\"", with: "\"environment\" : \"x\", \"format\""),
      "\u{FEFF}" + text, text + "x",
      text.replacingOccurrences(of: "\"state\" : \"", with: "\"state\" : \"old-"),
    ]
    for c in cases {
      let bytes = Array(c.utf8)
      #expect(bytes != Array(text.utf8), "the case changed nothing")
      #expect(EnvironmentScan.scan(bytes) == nil, "took \(c)")
    }
    // The full parser still reads what it reads: an unknown member is kept, a null is absent.
    let unknown = try EnvironmentFile.parse(Array(cases[3].utf8), source: "f")
    #expect(unknown.sets[0].extra["note"] == .string("x"))
  }
}
