import Foundation
import Testing

/// `keyward check`: a fixture workspace per finding, built through the CLI; no private key is used.
@Suite("check finds configuration mistakes from fingerprints")
struct CheckTests {
  /// Runs check (json) and returns (exit status, ids found, the findings).
  func check(_ cli: CLI, _ args: [String] = [], env: [String: String] = [:]) throws -> (
    Int32, Set<String>, [[String: Any]]
  ) {
    // No key store at all: the checks must not need one.
    let r = try cli.run(
      ["check", "--format", "json"] + args,
      env: ["KEYWARD_KEYS_DIR": cli.root + "/no-keys"].merging(env) { $1 })
    let doc = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
    let findings = (doc["findings"] as? [[String: Any]]) ?? []
    return (r.status, Set(findings.compactMap { $0["finding_id"] as? String }), findings)
  }

  func store(
    _ cli: CLI, _ env: String, _ key: String, _ secret: String, now: String? = nil, replace: Bool = false
  ) throws {
    CLI.registerSecret(secret)
    try cli.expect(
      0, ["set", env, "--stdin"] + (replace ? ["--replace"] : []), stdin: "\(key)\n\(secret)\n",
      env: now.map { ["KEYWARD_NOW": $0] } ?? [:])
  }

  @Test("a clean workspace passes; never-verified sets are only notes and warnings")
  func clean() throws {
    let cli = try CLI()
    try cli.expect(0, ["init"])
    try store(cli, "dev", "ck_dev_1111aaaa", "cs_dev_SECRET_1111")
    try store(cli, "prod", "ck_live_2222bbbb", "cs_live_SECRET_2222")
    let (status, ids, _) = try check(cli)
    // A v1 workspace (no trust root) is a warning of its own (KW606).
    #expect(status == 0 && ids == ["KW305", "KW606"])
    #expect(try check(cli, ["--fail-on", "warning"]).0 == 1)
  }

  @Test("KW101: a pair stored the other way round somewhere else")
  func swapped() throws {
    let cli = try CLI()
    try cli.expect(0, ["init"])
    try store(cli, "staging", "ck_stg_1111aaaa", "cs_stg_SECRET_1111")
    try store(cli, "prod", "cs_stg_SECRET_1111", "ck_stg_1111aaaa")
    let (status, ids, findings) = try check(cli)
    #expect(status == 1 && ids.contains("KW101"))
    let text = String(describing: findings)
    #expect(!text.contains("cs_stg_SECRET_1111"))
    // The trail saw staging's values first, in their fields: both findings name prod's set as
    // the exchanged one, and the remedy re-enters prod (issue 15, item 13).
    let kw101 = findings.filter { $0["finding_id"] as? String == "KW101" }
    #expect(kw101.count == 2)
    for f in kw101 {
      #expect((f["remedy"] as? String)?.hasPrefix("keyward set prod --replace") == true, "\(f)")
      #expect((f["evidence"] as? [String: String])?["first_seen_as"] != nil)
      #expect((f["message"] as? String)?.contains("so prod set") == true)
    }
  }

  @Test("KW201/KW202: one key or secret in two environments")
  func shared() throws {
    let cli = try CLI()
    try cli.expect(0, ["init"])
    try store(cli, "dev", "ck_same_1111aaaa", "cs_dev_SECRET_1")
    try store(cli, "staging", "ck_same_1111aaaa", "cs_shared_SECRET_2")
    try store(cli, "prod", "ck_live_3333cccc", "cs_shared_SECRET_2")
    let (_, ids, findings) = try check(cli)
    #expect(ids.isSuperset(of: ["KW201", "KW202"]))
    let kw202 = findings.filter { $0["finding_id"] as? String == "KW202" }
    #expect(kw202.allSatisfy { $0["severity"] as? String == "error" })
  }

  @Test("KW301: stale sets, with the policy or --max-age")
  func stale() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    try store(cli, "prod", "ck_live_1111aaaa", "cs_live_SECRET_1", now: "2026-01-01T00:00:00Z")
    let (status, ids, findings) = try check(cli, [], env: ["KEYWARD_NOW": "2026-06-01T00:00:00Z"])
    #expect(status == 1 && ids.contains("KW301"))
    #expect(findings.first { $0["finding_id"] as? String == "KW301" }?["severity"] as? String == "error")
    #expect(
      !(try check(cli, ["--max-age", "365d"], env: ["KEYWARD_NOW": "2026-06-01T00:00:00Z"]).1.contains(
        "KW301")))
    try cli.expect(64, ["check", "--max-age", "soon"])
  }

  @Test("KW501: a provider's public test secret in production")
  func testSecret() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod", "--provider", "turnstile"])
    try store(cli, "prod", "1x00000000000000000000AA", "1x0000000000000000000000000000000AA")
    #expect(try check(cli).1.contains("KW501"))
  }

  @Test("deployed files: not active, one variable, exchanged, another environment's, retired, pasted")
  func deployed() throws {
    let cli = try CLI()
    try cli.expect(0, ["init"])
    try store(cli, "staging", "ck_stg_1111aaaa", "cs_stg_SECRET_1")
    try store(cli, "prod", "ck_live_2222bbbb", "cs_live_SECRET_2")
    try cli.expect(0, ["export", "prod", "-o", "old.env"])  // the trail now knows this pair
    try store(cli, "prod", "ck_live_3333cccc", "cs_live_SECRET_3", replace: true)
    func file(_ name: String, _ text: String) throws -> String {
      try text.write(toFile: cli.root + "/" + name, atomically: false, encoding: .utf8)
      return name
    }
    let cases: [(String, String)] = [
      (try file("ok.env", "CAPTCHALA_APP_KEY=ck_live_3333cccc\nCAPTCHALA_APP_SECRET=cs_live_SECRET_3\n"), ""),
      (try file("one.env", "CAPTCHALA_APP_KEY=ck_live_3333cccc\n"), "KW402"),
      (
        try file(
          "swapped.env", "CAPTCHALA_APP_KEY=cs_live_SECRET_3\nCAPTCHALA_APP_SECRET=ck_live_3333cccc\n"),
        "KW403"
      ),
      (
        try file(
          "stg.json", #"{"CAPTCHALA_APP_KEY": "ck_stg_1111aaaa", "CAPTCHALA_APP_SECRET": "cs_stg_SECRET_1"}"#),
        "KW404"
      ),
      ("old.env", "KW405"),
      (
        try file(
          "paste.sh",
          "export CAPTCHALA_APP_KEY='ck_live_3333cccc '\nexport CAPTCHALA_APP_SECRET='cs_live_SECRET_3'\n"),
        "KW406"
      ),
    ]
    for (path, id) in cases {
      let (_, ids, _) = try check(cli, ["prod", "--env-file", path])
      if id.isEmpty {
        #expect(!ids.contains { $0.hasPrefix("KW4") }, "\(path): \(ids)")
      } else {
        #expect(ids.contains(id), "\(path) should give \(id), gave \(ids)")
      }
    }
    let (fromEnv, ids, _) = try check(
      cli, ["prod", "--from-env"],
      env: ["CAPTCHALA_APP_KEY": "ck_stg_1111aaaa", "CAPTCHALA_APP_SECRET": "cs_stg_SECRET_1"])
    #expect(fromEnv == 1 && ids.contains("KW404"))
    let docker = try file(
      "d.env", "CAPTCHALA_APP_KEY=ck_live_3333cccc\nCAPTCHALA_APP_SECRET=cs_live_SECRET_3\n")
    #expect(
      try check(cli, ["prod", "--env-file", docker, "--env-format", "docker"]).1.allSatisfy {
        !$0.hasPrefix("KW4")
      })
  }

  @Test(
    "workspace hygiene: open key files, a key store that does not match, stray files and plaintext copies")
  func hygiene() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev,prod"])
    try store(cli, "prod", "ck_live_1111aaaa", "cs_live_SECRET_plain")
    try "notes\n".write(toFile: cli.workspace + "/NOTES.txt", atomically: false, encoding: .utf8)
    try "CAPTCHALA_APP_SECRET=cs_live_SECRET_plain\n".write(
      toFile: cli.workspace + "/.env.bak", atomically: false, encoding: .utf8)
    try "CAPTCHALA_APP_SECRET=cs_live_SECRET_plain\n".write(
      toFile: cli.workspace + "/prod.env", atomically: false, encoding: .utf8)
    chmod(try cli.keyPath("dev"), 0o644)
    // prod's key file replaced by dev's: the store does not hold prod's key.
    try FileManager.default.removeItem(atPath: try cli.keyPath("prod"))
    try FileManager.default.copyItem(atPath: try cli.keyPath("dev"), toPath: try cli.keyPath("prod"))
    chmod(try cli.keyPath("prod"), 0o600)
    let r = try cli.run(["check", "--format", "json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let ids = Set(((doc["findings"] as? [[String: Any]]) ?? []).compactMap { $0["finding_id"] as? String })
    #expect(ids.isSuperset(of: ["KW601", "KW602", "KW603", "KW604"]), "\(ids)")
    #expect(!r.stdout.contains("cs_live_SECRET_plain"))
  }

  @Test("SARIF that code-scanning tools accept, and JSON with schema_version")
  func formats() throws {
    let cli = try CLI()
    try cli.expect(0, ["init"])
    try store(cli, "staging", "ck_stg_1111aaaa", "cs_stg_SECRET_1")
    try store(cli, "prod", "cs_stg_SECRET_1", "ck_stg_1111aaaa")
    let sarif = try cli.run(["check", "--format", "sarif"])
    #expect(sarif.status == 1)
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])
    #expect(doc["version"] as? String == "2.1.0")
    let run = try #require((doc["runs"] as? [[String: Any]])?.first)
    let rules = try #require(
      ((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
    let results = try #require(run["results"] as? [[String: Any]])
    let ruleIDs = Set(rules.compactMap { $0["id"] as? String })
    for r in results {
      #expect(ruleIDs.contains(r["ruleId"] as? String ?? ""))
      #expect(["error", "warning", "note"].contains(r["level"] as? String ?? ""))
      #expect((r["message"] as? [String: Any])?["text"] is String)
    }
    let json = try cli.json(try cli.run(["check", "--format", "json"]))
    #expect(json["schema_version"] as? Int == 2)
  }

  @Test("--online: a pair the provider accepts only exchanged, and an inconclusive answer (exit 3)")
  func online() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev"])
    try store(cli, "dev", "cs_dev_SECRET_online", "ck_dev_online_1")
    let emulator = try EmulatorProcess(cli, ["--pair", "ck_dev_online_1:cs_dev_SECRET_online"])
    let r = try cli.run(["check", "--online", "--endpoint", emulator.url, "--format", "json"])
    #expect(r.status == 1)
    #expect(r.stdout.contains("\"KW102\""))
    let waf = try EmulatorProcess(cli, ["--pair", "ck_dev_online_1:cs_dev_SECRET_online", "--fault", "html"])
    try store(cli, "dev", "ck_dev_online_1", "cs_dev_SECRET_online", replace: true)
    let inconclusive = try cli.run(["check", "--online", "--endpoint", waf.url, "--timeout", "1"])
    #expect(inconclusive.status == 3)
    #expect(inconclusive.stdout.contains("KW306"))
  }

  @Test("bad input: clear errors, never a crash")
  func badInput() throws {
    let cli = try CLI()
    try cli.expect(0, ["init"])
    try store(cli, "prod", "ck_live_1111aaaa", "cs_live_SECRET_1")
    try "CAPTCHALA_APP_KEY=a\nCAPTCHALA_APP_KEY=b\n".write(
      toFile: cli.root + "/dup.env", atomically: false, encoding: .utf8)
    try "this is not an env file at all\n".write(
      toFile: cli.root + "/junk.env", atomically: false, encoding: .utf8)
    #expect(try cli.run(["check", "prod", "--env-file", "dup.env"]).stderr.contains("defined again"))
    #expect(try cli.run(["check", "prod", "--env-file", "junk.env"]).status == 2)
    #expect(try cli.run(["check", "prod", "--env-file", "missing.env"]).status == 2)
    try "CAPTCHALA_APP_KEY=a\nCAPTCHALA_APP_SECRET=b\n".write(
      toFile: cli.root + "/ok.env", atomically: false, encoding: .utf8)
    #expect(try cli.run(["check", "--env-file", cli.root + "/ok.env"]).status == 64)  // which environment?
    #expect(try cli.run(["check", "qa"]).status == 2)
    try FileManager.default.removeItem(atPath: cli.workspace + "/staging.json")
    let missing = try cli.run(["check"])
    #expect(missing.status == 2 && missing.stderr.contains("staging.json is missing"))
  }
}
