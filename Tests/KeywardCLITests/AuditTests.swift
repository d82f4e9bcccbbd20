import Foundation
import Testing

@Suite("audit: the report and the integrity of the trail, without any private key")
struct AuditTests {
  /// A workspace with a trail of several entries.
  func trail() throws -> CLI {
    let cli = try CLI()
    try cli.seeded()
    try cli.expect(0, ["export", "prod", "--format", "shell"])
    try cli.expect(0, ["export", "staging", "--format", "json"])
    let files = try FileManager.default.contentsOfDirectory(atPath: cli.workspace + "/trail/entries")
    #expect(files.count == 8)  // 3 init, 3 set, 2 export
    return cli
  }

  /// A version-1 workspace with an 8-line hash-chained audit.jsonl, written by the independent
  /// generator (Tests/Benchmarks/gen_workspace.py, from FORMAT.md).
  func v1Trail() throws -> (CLI, String, [String]) {
    let cli = try CLI()
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [
      "python3", repo.appendingPathComponent("Tests/Benchmarks/gen_workspace.py").path, cli.workspace, "3",
      "1",
      "--keys", cli.root + "/keys", "--trail", "8",
    ]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let path = cli.workspace + "/audit.jsonl"
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.count == 8)
    return (cli, path, lines)
  }

  func audit(_ cli: CLI) throws -> (Int32, [String: Any]) {
    let r = try cli.run(["audit", "--format", "json"], env: ["KEYWARD_KEYS_DIR": cli.root + "/no-keys"])
    return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:])
  }

  @Test("an intact trail and the report per environment")
  func intact() throws {
    let cli = try trail()
    let (status, doc) = try audit(cli)
    #expect(status == 0)
    let trail = try #require(doc["trail"] as? [String: Any])
    #expect(trail["intact"] as? Bool == true && trail["entry_count"] as? Int == 8)
    let envs = try #require(doc["environments"] as? [[String: Any]])
    #expect(envs.map { $0["environment"] as? String } == ["dev", "prod", "staging"])
    let prodSets = try #require(envs[1]["sets"] as? [[String: Any]])
    #expect(prodSets.first?["last_export"] as? String != nil)
    #expect(doc["schema_version"] as? Int == 2)
    let md = try cli.expect(0, ["audit", "--format", "markdown"])
    #expect(md.stdout.contains("**Audit trail:** intact, 8 entries (0 signed, 8 unsigned"), "\(md.stdout)")
    let sarif = try cli.run(["audit", "--format", "sarif"])
    #expect(
      (try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])?["version"]
        as? String == "2.1.0")
  }

  @Test(
    "version 1: deleting, editing, inserting, reordering or tearing a line of audit.jsonl is detected, and the first bad line named",
    arguments: ["delete-middle", "delete-first", "edit", "insert", "reorder", "torn"])
  func tamper(kind: String) throws {
    let (cli, path, lines) = try v1Trail()
    try cli.expect(1, ["audit"])  // the generated sets are old (KW301); the trail is intact
    var out = lines
    var expectedLine = 0
    switch kind {
    case "delete-middle":
      out.remove(at: 5)
      expectedLine = 6
    case "delete-first":
      out.remove(at: 0)
      expectedLine = 1
    case "edit":
      out[6] = out[6].replacingOccurrences(of: "\"format\":\"dotenv\"", with: "\"format\":\"json\"")
      expectedLine = 7
    case "insert":
      out.insert(lines[4], at: 6)
      expectedLine = 7
    case "reorder":
      out.swapAt(4, 5)
      expectedLine = 5
    default:
      break
    }
    var text = out.joined(separator: "\n") + "\n"
    if kind == "torn" {
      text += String(lines[7].prefix(40))
      expectedLine = 9
    }
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    let (status, doc) = try audit(cli)
    #expect(status == 4)
    let trail = try #require(doc["trail"] as? [String: Any])
    #expect(trail["intact"] as? Bool == false)
    #expect(trail["first_bad_line"] as? Int == expectedLine, "\(kind): \(trail)")
    let text2 = try cli.run(["audit"])
    #expect(text2.stdout.contains("broken at line \(expectedLine)"), "\(text2.stdout)")
    // SARIF: the trail's own id (KW803, once reported as the CSP id KW701), declared in the rules,
    // with the first bad line as the region.
    let sarif = try cli.run(["audit", "--format", "sarif"])
    #expect(sarif.status == 4)
    let run = try #require(
      ((try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])?["runs"]
        as? [[String: Any]])?
        .first)
    let rules =
      ((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
    #expect(rules.contains { $0["id"] as? String == "KW803" })
    let results = run["results"] as? [[String: Any]] ?? []
    let broken = try #require(results.first { $0["ruleId"] as? String == "KW803" }, "\(results)")
    #expect(!results.contains { $0["ruleId"] as? String == "KW701" })
    let region =
      (((broken["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["region"]
        as? [String: Any])
    #expect(region?["startLine"] as? Int == expectedLine)
  }

  @Test(
    "version 1 to 2: the first new entry anchors audit.jsonl, which is never written again; cutting or deleting it is then exit 4"
  )
  func anchored() throws {
    let (cli, path, lines) = try v1Trail()
    try cli.expect(0, ["rotate", "env0001", "--stdin"], stdin: "ck_anchor_1\ncs_anchor_SECRET_1\n")
    #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 8)
    let log = try cli.json(try cli.expect(0, ["log", "--format", "json"]))
    #expect(log["record_count"] as? Int == 1)  // log lists the version-2 entries
    let (status, doc) = try audit(cli)
    #expect(status == 1)  // old generated sets (KW301), nothing about the trail
    #expect((doc["trail"] as? [String: Any])?["entry_count"] as? Int == 9)
    #expect((doc["trail"] as? [String: Any])?["intact"] as? Bool == true)
    try (lines.dropLast().joined(separator: "\n") + "\n").write(
      toFile: path, atomically: false, encoding: .utf8)
    let cut = try cli.run(["audit"])
    #expect(cut.status == 4)
    #expect(cut.stdout.contains("cut or rewritten"), "\(cut.stdout)")
    try FileManager.default.removeItem(atPath: path)
    let gone = try cli.run(["audit"])
    #expect(gone.status == 4 && gone.stdout.contains("is gone"), "\(gone.stdout)")
  }

  @Test("findings reach --fail-on: exit 1")
  func findings() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    try cli.expect(
      0, ["set", "prod", "--stdin"], stdin: "ck_live_a_1\ncs_live_A_old\n",
      env: ["KEYWARD_NOW": "2025-01-01T00:00:00Z"])
    #expect(try audit(cli).0 == 1)
    // A report step in CI: the findings are printed, the step passes; integrity still fails.
    try cli.expect(0, ["audit", "--exit-zero"])
    try cli.expect(0, ["check", "--exit-zero"])
    try "{}".write(toFile: cli.workspace + "/trail/heads/not-a-head", atomically: false, encoding: .utf8)
    try cli.expect(4, ["audit", "--exit-zero"])
  }
}
