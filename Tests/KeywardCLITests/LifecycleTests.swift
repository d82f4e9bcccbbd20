import Foundation
import Testing

@Suite("rotation: rotate, verify, promote, export, check, retire")
struct LifecycleTests {
  func sets(_ cli: CLI, _ env: String) throws -> [String: String] {
    let list = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    let e = try #require(
      (list["environments"] as? [[String: Any]])?.first { $0["environment"] as? String == env })
    var out = [String: String]()
    for s in (e["sets"] as? [[String: Any]]) ?? [] { out[s["set_id"] as! String] = s["state"] as? String }
    return out
  }

  func next(_ cli: CLI, _ env: String) throws -> String? {
    let list = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    let e = try #require(
      (list["environments"] as? [[String: Any]])?.first { $0["environment"] as? String == env })
    return e["next"] as? String
  }

  @Test("the whole rotation story against the emulator")
  func story() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    CLI.registerSecret("cs_live_OLD_secret")
    CLI.registerSecret("cs_live_NEW_secret")
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: "ck_live_old_1\ncs_live_OLD_secret\n")
    let emulator = try EmulatorProcess(
      cli, ["--pair", "ck_live_old_1:cs_live_OLD_secret", "--pair", "ck_live_new_1:cs_live_NEW_secret"])
    try cli.expect(0, ["export", "prod", "-o", "prod.env"])
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_new_1\ncs_live_NEW_secret\n")
    let pendingID = try #require(try sets(cli, "prod").first { $0.value == "pending" }?.key)
    #expect(try next(cli, "prod") == "keyward verify prod --set pending")
    // Not verified yet: promote refuses and says why.
    let refused = try cli.expect(2, ["promote", "prod"])
    #expect(refused.stderr.contains("never verified"))
    try cli.expect(0, ["verify", "prod", "--set", "pending", "--endpoint", emulator.url])
    #expect(try next(cli, "prod") == "keyward promote prod")
    try cli.expect(0, ["promote", "prod", "--grace", "7d"])
    #expect(try next(cli, "prod")?.contains("then keyward retire prod") == true)
    let after = try sets(cli, "prod")
    #expect(after[pendingID] == "active")
    #expect(after.values.filter { $0 == "retiring" }.count == 1)
    // The deployed file still holds the old set: check says so, retire refuses.
    let check = try cli.run(["check", "prod", "--env-file", "prod.env", "--format", "json"])
    #expect(check.stdout.contains("\"KW401\""))
    let blocked = try cli.expect(2, ["retire", "prod", "--now"])
    #expect(blocked.stderr.contains("still deployed in"))
    // Past the grace period, list and check do not suggest a retire that would refuse: they say
    // to deploy the active set to that file first (issue 15, item 13).
    let later = ["KEYWARD_NOW": "2099-01-01T00:00:00Z"]
    let listLater = try cli.json(try cli.expect(0, ["list", "--format", "json"], env: later))
    let advice = try #require((listLater["environments"] as? [[String: Any]])?.first?["next"] as? String)
    #expect(
      advice.hasPrefix("keyward export prod -o ") && advice.contains("prod.env")
        && advice.hasSuffix("then keyward retire prod"), "\(advice)")
    let checkLater = try cli.json(try cli.run(["check", "--format", "json"], env: later))
    let kw302 = (checkLater["findings"] as? [[String: Any]] ?? []).first {
      $0["finding_id"] as? String == "KW302"
    }
    #expect((kw302?["remedy"] as? String)?.hasPrefix("keyward export prod -o ") == true, "\(kw302 ?? [:])")
    try cli.expect(0, ["export", "prod", "-o", "prod.env"])
    let listAfter = try cli.json(try cli.expect(0, ["list", "--format", "json"], env: later))
    #expect(
      (listAfter["environments"] as? [[String: Any]])?.first?["next"] as? String == "keyward retire prod")
    // Within the grace period retire waits, unless --now.
    #expect(try cli.expect(2, ["retire", "prod"]).stderr.contains("past its grace period yet"))
    try cli.expect(0, ["retire", "prod"], env: ["KEYWARD_NOW": "2099-01-01T00:00:00Z"])
    #expect(try sets(cli, "prod") == [pendingID: "active"])
    // Every step is in one chain.
    let actions = try cli.trailRecords().map { $0["action"] as? String ?? "" }
    for a in ["set", "export", "rotate", "verify", "promote", "retire"] {
      #expect(actions.contains(a), "\(a)")
    }
  }

  @Test(
    "attack: an export target with a newline and $(…): list, check, retire and log never print a line a shell would run, and the suggestion keeps the file's format"
  )
  func hostileTargetAdvice() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    CLI.registerSecret("cs_live_OLD_target")
    CLI.registerSecret("cs_live_NEW_target")
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: "ck_live_old_2\ncs_live_OLD_target\n")
    let name = "x\n$(touch PWNED) #.json"
    try cli.expect(0, ["export", "prod", "--format", "json", "-o", name])
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_new_2\ncs_live_NEW_target\n")
    try cli.expect(0, ["promote", "prod", "--force"])
    let later = ["KEYWARD_NOW": "2099-01-01T00:00:00Z"]
    let outputs = [
      try cli.expect(0, ["list"], env: later).stdout,
      try cli.run(["check"], env: later).stdout,
      try cli.expect(2, ["retire", "prod", "--now"]).stderr,
      try cli.expect(0, ["log"]).stdout,
    ]
    for out in outputs {
      // No line of it starts with what followed the newline in the file's name.
      #expect(!out.split(separator: "\n").contains { $0.hasPrefix("$(touch PWNED)") }, "\(out)")
    }
    for out in outputs.prefix(3) {
      #expect(out.contains("keyward export prod --format json -o FILE (FILE: "), "\(out)")
    }
    #expect(!FileManager.default.fileExists(atPath: cli.root + "/PWNED"))
  }

  @Test("promote: nothing pending, a failed verification, --force")
  func promoteRules() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: "ck_live_a_1\ncs_live_A_secret\n")
    #expect(try cli.expect(2, ["promote", "prod"]).stderr.contains("no pending set"))
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_b_1\ncs_live_B_secret\n")
    let emulator = try EmulatorProcess(cli, ["--pair", "ck_live_a_1:cs_live_A_secret"])
    try cli.expect(1, ["verify", "prod", "--set", "pending", "--endpoint", emulator.url])
    #expect(
      try cli.expect(2, ["promote", "prod"]).stderr.contains("failed its last verification: invalid-key"))
    let forced = try cli.expect(0, ["promote", "prod", "--force", "--grace", "0d"])
    #expect(forced.stderr.contains("(forced)"))
    try cli.expect(0, ["retire", "prod"])
    #expect(try sets(cli, "prod").count == 1)
    #expect(try cli.expect(2, ["retire", "prod"]).stderr.contains("no retiring set"))
    try cli.expect(64, ["promote", "prod", "--grace", "soon"])
  }

  @Test("rotate takes input like set, and only one pending set at a time")
  func rotateInput() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: "ck_live_a_1\ncs_live_A_secret\n")
    try cli.expect(
      0, ["rotate", "prod", "--from-env"],
      env: ["CAPTCHALA_APP_KEY": "ck_live_b_1", "CAPTCHALA_APP_SECRET": "cs_live_B_s"])
    #expect(
      try cli.expect(2, ["rotate", "prod", "--stdin"], stdin: "ck_c\ncs_c\n").stderr.contains(
        "already has a pending set"))
    try cli.expect(2, ["rotate", "prod"])  // the pending set is refused before input is looked for
  }

  @Test("set and rotate refuse before they ask for the values (issue 15, item 11)")
  func refuseBeforeAsking() throws {
    let cli = try CLI()
    _ = try cli.seeded()
    // Input that would itself be refused: the conflict is what is reported, so nothing was read.
    let set = try cli.expect(2, ["set", "prod", "--stdin"], stdin: "one line only\n")
    #expect(set.stderr.contains("already has an active set"), "\(set.stderr)")
    try cli.expect(
      0, ["rotate", "prod", "--stdin"], stdin: "ck_new_12345678\ncs_new_SECRET_\(UUID().uuidString)\n")
    let rotate = try cli.expect(2, ["rotate", "prod", "--stdin"], stdin: "one line only\n")
    #expect(rotate.stderr.contains("already has a pending set"), "\(rotate.stderr)")
    // No terminal and no input: the conflict still comes first.
    #expect(try cli.expect(2, ["rotate", "prod"]).stderr.contains("already has a pending set"))
  }
}
