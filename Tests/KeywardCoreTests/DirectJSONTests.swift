import Foundation
import Testing

@testable import KeywardCore

/// Reports that write their own JSON document are held to the generic encoder's bytes: the same
/// document, `schema_version` beside the report's fields, on reports with awkward values.
@Suite("reports written directly")
struct DirectJSONTests {
  /// What the command line's JSON output does with a report that has no writer of its own.
  struct Envelope<T: Encodable>: Encodable {
    let body: T
    enum Key: String, CodingKey { case schemaVersion = "schema_version" }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: Key.self)
      try c.encode(2, forKey: .schemaVersion)
      try body.encode(to: encoder)
    }
  }

  @Test("list's report: the direct writer gives the generic encoder's bytes")
  func list() throws {
    var rng = SeededRng(state: 17)
    let words = [
      "prod", "", "a b", "é ü", "tab\t", "q\"uote", "back\\slash", "line\nbreak", "\u{202e}rtl", "/path/x",
    ]
    for _ in 0..<200 {
      var envs = [ListOperation.EnvironmentRow]()
      for e in 0..<rng.next(5) {
        let sets = (0..<rng.next(4)).map { _ in
          ListOperation.SetRow(
            id: Sodium.hex(rng.bytes(4)), state: rng.pick(SetState.allCases),
            created: Timestamp(seconds: Int64(rng.next(2_000_000_000))), ageDays: rng.next(2000) - 1000,
            fingerprints: SetFingerprints(appKey: Sodium.hex(rng.bytes(8)), appSecret: rng.pick(words)),
            graceUntil: rng.next(2) == 0 ? nil : Timestamp(seconds: Int64(rng.next(2_000_000_000))),
            lastVerification: rng.next(2) == 0
              ? nil
              : LastVerification(
                time: Timestamp(seconds: Int64(rng.next(2_000_000_000))), verdict: rng.pick(words),
                endpoint: rng.pick(words)))
        }
        envs.append(
          ListOperation.EnvironmentRow(
            name: "env\(e)", production: rng.next(2) == 0, keyID: Sodium.hex(rng.bytes(8)),
            keyCreated: Timestamp(seconds: Int64(rng.next(2_000_000_000))), sets: sets,
            stage: rng.pick(words), next: rng.next(2) == 0 ? nil : rng.pick(words)))
      }
      let report = ListOperation.Report(
        workspace: rng.pick(words), provider: rng.pick(Provider.allCases),
        now: Timestamp(seconds: Int64(rng.next(2_000_000_000))), environments: envs)
      let generic = try JSONValueEncoder.written(Envelope(body: report))
      let direct = report.writtenDocument(schemaVersion: 2)
      #expect(direct == generic, "\(String(decoding: direct, as: UTF8.self))")
    }
  }

  @Test("a report of megabytes is handed on in pieces that end between values and add up to the document")
  func pieces() throws {
    let row = ListOperation.EnvironmentRow(
      name: "env", production: false, keyID: "0123456789abcdef", keyCreated: Timestamp(seconds: 0),
      sets: (0..<3).map { n in
        ListOperation.SetRow(
          id: "abcd000\(n)", state: .active, created: Timestamp(seconds: 0), ageDays: 1,
          fingerprints: SetFingerprints(appKey: "k", appSecret: "s"), graceUntil: nil, lastVerification: nil)
      }, stage: "steady", next: nil)
    let report = ListOperation.Report(
      workspace: "w", provider: .captchala, now: Timestamp(seconds: 0),
      environments: [ListOperation.EnvironmentRow](repeating: row, count: 3000))
    var pieces = [[UInt8]]()
    report.writeDocument(schemaVersion: 2) { piece in
      pieces.append(piece)
      piece.removeAll(keepingCapacity: true)
    }
    #expect(pieces.count > 2)
    #expect(pieces.dropLast().allSatisfy { $0.count >= JSONValue.flushSize && $0.last == UInt8(ascii: "}") })
    #expect(Array(pieces.joined()) == (try JSONValueEncoder.written(Envelope(body: report))))
  }
}

extension DirectJSONTests {
  static let words = [
    "prod", "", "a b", "é ü", "tab\t", "q\"uote", "back\\slash", "line\nbreak", "\u{202e}rtl", "/x",
    "3:a:", "12:", "0:", "ü:2:é",
  ]

  static func randomFindings(_ rng: inout SeededRng) -> [Finding] {
    (0..<rng.next(6)).map { _ in
      var evidence = [String: String]()
      for _ in 0..<rng.next(3) { evidence[rng.pick(words)] = rng.pick(words) }
      return Finding(
        id: "KW\(100 + rng.next(800))", severity: rng.pick(Severity.allCases),
        environment: rng.next(3) == 0 ? nil : rng.pick(words), set: rng.next(2) == 0 ? nil : rng.pick(words),
        message: rng.pick(words), evidence: evidence, remedy: rng.next(2) == 0 ? nil : rng.pick(words),
        file: rng.next(3) == 0 ? nil : rng.pick(words), line: rng.next(2) == 0 ? nil : rng.next(100_000),
        column: rng.next(2) == 0 ? nil : rng.next(300))
    }
  }

  @Test("audit's report: the direct writer gives the generic encoder's bytes")
  func audit() throws {
    let (ws, _) = try knownAnswerWorkspace()
    var report = try AuditReport.run(workspace: try Workspace.open(ws))
    #expect(!report.environments.isEmpty)
    var rng = SeededRng(state: 31)
    let words = Self.words
    for _ in 0..<100 {
      for i in report.environments.indices {
        report.environments[i].name = rng.pick(words)
        report.environments[i].production = rng.next(2) == 0
        report.environments[i].keyAgeDays = rng.next(2000) - 1000
        report.environments[i].findings = Self.randomFindings(&rng)
        for j in report.environments[i].sets.indices {
          report.environments[i].sets[j].lastExport = rng.next(2) == 0 ? nil : rng.pick(words)
          report.environments[i].sets[j].policy = rng.pick(words)
          report.environments[i].sets[j].ageDays = rng.next(2000) - 1000
          report.environments[i].sets[j].lastVerification =
            rng.next(2) == 0
            ? nil
            : LastVerification(
              time: Timestamp(seconds: Int64(rng.next(2_000_000_000))), verdict: rng.pick(words),
              endpoint: rng.pick(words))
        }
      }
      report.workspace = rng.pick(words)
      report.workspaceFindings = Self.randomFindings(&rng)
      report.git =
        rng.next(2) == 0
        ? nil
        : TrailHistory.Report(
          commits: rng.next(50), shallow: rng.next(2) == 0, findings: Self.randomFindings(&rng))
      #expect(
        report.writtenDocument(schemaVersion: 2) == (try JSONValueEncoder.written(Envelope(body: report))))
    }
  }

  @Test("a finding's evidence, packed into one string, reads back as the dictionary it was given")
  func packedEvidence() {
    var rng = SeededRng(state: 41)
    for _ in 0..<500 {
      var evidence = [String: String]()
      for _ in 0..<rng.next(6) {
        evidence[rng.pick(Self.words) + rng.pick(Self.words)] = rng.pick(Self.words)
      }
      var f = Finding(
        id: "KW101", severity: .error, environment: nil, set: nil, message: "m", evidence: evidence,
        remedy: nil, file: nil)
      #expect(f.evidence == evidence.mapValues { Text.printable($0, keepNewlines: false) })
      let extra = rng.pick(Self.words)
      f.evidence[extra] = "added"
      #expect(f.evidence[extra] == "added")
    }
  }

  @Test("check's report and its findings: the direct writer gives the generic encoder's bytes")
  func findings() throws {
    var rng = SeededRng(state: 23)
    for _ in 0..<200 {
      let list = Self.randomFindings(&rng)
      let report = CheckOperation.Report(
        findings: list, failOn: rng.pick(Severity.allCases), failing: rng.next(50))
      let direct = report.writtenDocument(schemaVersion: 2)
      #expect(direct == (try JSONValueEncoder.written(Envelope(body: report))))
    }
  }
}

/// The generic encoder against Foundation's JSONEncoder, whose layout it promises.
@Suite("the generic JSON encoder")
struct JSONValueEncoderTests {
  struct Leaf: Encodable {
    var name: String
    var count: Int
    var flag: Bool
    var note: String?
    var tags: [String]
    enum CodingKeys: String, CodingKey {
      case name, count, flag, note, tags
      case _unused = "z_unused"
    }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(name, forKey: .name)
      try c.encode(count, forKey: .count)
      try c.encode(flag, forKey: .flag)
      try c.encodeIfPresent(note, forKey: .note)
      try c.encode(tags, forKey: .tags)
    }
  }
  struct Tree: Encodable {
    var leaves: [Leaf]
    var byName: [String: Leaf]
    var nested: [[Int]]
    var empty: [String] = []
    var nothing: [String: Int] = [:]
    var kind: SetState
    var when: Timestamp
  }

  @Test("gives JSONEncoder's bytes with pretty printing, sorted keys and unescaped slashes")
  func matchesFoundation() throws {
    var rng = SeededRng(state: 99)
    let words = ["prod", "", "a b", "é ü", "tab\t", "q\"uote", "back\\slash", "line\nbreak", "/path/x", "日本"]
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    for _ in 0..<150 {
      func leaf() -> Leaf {
        Leaf(
          name: rng.pick(words), count: rng.next(100_000) - 50_000, flag: rng.next(2) == 0,
          note: rng.next(2) == 0 ? nil : rng.pick(words), tags: (0..<rng.next(3)).map { _ in rng.pick(words) }
        )
      }
      var byName = [String: Leaf]()
      for _ in 0..<rng.next(4) { byName[rng.pick(words)] = leaf() }
      let tree = Tree(
        leaves: (0..<rng.next(4)).map { _ in leaf() }, byName: byName,
        nested: (0..<rng.next(3)).map { _ in (0..<rng.next(3)).map { $0 } },
        kind: rng.pick(SetState.allCases),
        when: Timestamp(seconds: Int64(rng.next(2_000_000_000))))
      // Foundation on Linux writes an empty container over three lines; keyward writes `[]`, `{}`.
      let foundation =
        String(decoding: try encoder.encode(tree), as: UTF8.self)
        .replacingOccurrences(of: #"\[\n\n *\]"#, with: "[]", options: .regularExpression)
        .replacingOccurrences(of: #"\{\n\n *\}"#, with: "{}", options: .regularExpression) + "\n"
      let ours = try JSONValueEncoder.written(tree)
      #expect(String(decoding: ours, as: UTF8.self) == foundation)
      #expect(try JSONValueEncoder.encode(tree).written() == ours)
    }
  }
}
