import Foundation
import Testing

/// Every write of a trusted workspace is safe to interrupt (TRUST.md, property 7): the process
/// SIGKILLs itself at each write point (KEYWARD_CRASHPOINT). Afterwards every set that existed
/// opens for the admin, nothing unactivated deploys, and running the same command again (or, for
/// revoke, the rekey it was doing) finishes the change and production deploys again.
@Suite("trust writes under SIGKILL")
struct TrustKillTests {
  struct Op: CustomTestStringConvertible, Sendable {
    var name: String
    var args: [String]
    var stdin: String?
    /// The command that finishes an interrupted run (nil: the same one).
    var finish: [String]?
    var testDescription: String { name }
  }

  static let ops: [Op] = [
    Op(name: "promote", args: ["promote", "prod", "--force"]),
    Op(
      name: "set --replace", args: ["set", "prod", "--stdin", "--replace"],
      stdin: "ck_live_kill_r\ncs_live_KILL_r\n"),
    Op(name: "grant", args: ["access", "grant", "prod", "bob", "BOB"]),
    Op(name: "revoke", args: ["access", "revoke", "prod", "carol"], finish: ["rekey", "prod"]),
    Op(name: "rekey", args: ["rekey", "prod"]),
    Op(name: "trust sign", args: ["trust", "sign"]),
  ]

  static let points = [
    "write-before-fsync", "write-before-rename", "write-after-rename", "after-manifest",
    "after-audit-before-file",
    "rekey-after-next-key", "rekey-after-pending-state", "rekey-before-key-swap",
  ]

  @Test(
    "killed at every write point of a trusted workspace, nothing is lost and the re-run finishes",
    arguments: ops, points)
  func killed(_ op: Op, _ point: String) throws {
    let cli = try CLI()
    try cli.expect(0, ["identity", "new", "--name", "alice"])
    try cli.expect(0, ["init", "--envs", "prod"])
    CLI.registerSecret("cs_live_KILL_1")
    CLI.registerSecret("cs_live_KILL_2")
    CLI.registerSecret("cs_live_KILL_r")
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: "ck_live_kill_1\ncs_live_KILL_1\n")
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_kill_2\ncs_live_KILL_2\n")
    let bob = try cli.expect(0, ["identity", "new", "--name", "bob", "--identity", cli.root + "/bob.id"])
    let carol = try cli.expect(
      0, ["identity", "new", "--name", "carol", "--identity", cli.root + "/carol.id"])
    let carolPublic = String(carol.stdout.split(separator: " ")[1]).trimmingCharacters(
      in: .whitespacesAndNewlines)
    try cli.expect(0, ["access", "grant", "prod", "carol", carolPublic])
    let bobPublic = String(bob.stdout.split(separator: " ")[1]).trimmingCharacters(
      in: .whitespacesAndNewlines)
    let args = op.args.map { $0 == "BOB" ? bobPublic : $0 }
    var before = [String: String]()
    for case let s as [String: Any]
      in (try cli.json(try cli.expect(0, ["list", "--format", "json"]))["environments"]
      as? [[String: Any]])?.first?["sets"] as? [Any] ?? []
    {
      let id = s["set_id"] as! String
      before[id] =
        try cli.json(try cli.expect(0, ["show", "prod", "--set", id, "--reveal", "--format", "json"]))[
          "app_key"] as? String
    }
    if op.name == "trust sign" {
      let path = cli.workspace + "/keyward.json"
      var c = try #require(
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
      )
      c["rotation"] = ["max_age_days": 60, "warn_age_days": 50, "grace_days": 3]
      try JSONSerialization.data(withJSONObject: c).write(to: URL(fileURLWithPath: path))
    }
    let r = try cli.run(args, stdin: op.stdin, env: ["KEYWARD_CRASHPOINT": point])
    #expect(r.signaled || r.status == 0, "\(op.name) at \(point): \(r.status) \(r.all)")
    // Nothing unactivated deploys, whatever state the kill left.
    let exported = try cli.run(["export", "prod"])
    #expect(exported.status == 0 || exported.status == 4, "\(op.name) at \(point): \(exported.all)")
    if op.name == "set --replace" && point == "after-manifest" {
      // The manifest names a set the file does not hold yet: the refusal says so, and how to finish.
      #expect(
        exported.status == 4 && exported.stderr.contains("interrupted")
          && exported.stderr.contains("run that command again"), "\(exported.all)")
    }
    // Finish: the same command again (or the rekey a revoke was doing).
    if r.signaled {
      let again = try cli.run(op.finish ?? args, stdin: op.stdin)
      let done =
        again.status == 0 || again.stderr.contains("nothing to sign")
        || again.stderr.contains("no pending set")
      #expect(done, "\(op.name) at \(point), re-run: \(again.all)")
      if op.name == "promote" && again.status != 0 {
        // The kill came after the promote had finished its file: nothing left to do.
        #expect(again.stderr.contains("no pending set"))
      }
    }
    // Production deploys again, every set that is still there opens, and the state verifies.
    try cli.expect(0, ["export", "prod"])
    let ids = Set(
      ((try cli.json(try cli.expect(0, ["list", "--format", "json"]))["environments"] as? [[String: Any]])?
        .first?[
          "sets"] as? [[String: Any]] ?? []).compactMap { $0["set_id"] as? String })
    for (id, key) in before where ids.contains(id) {
      let shown = try cli.json(
        try cli.expect(0, ["show", "prod", "--set", id, "--reveal", "--format", "json"]))
      #expect(shown["app_key"] as? String == key, "\(op.name) at \(point): set \(id)")
    }
    try cli.expect(0, ["trust", "show"])
  }

  @Test(
    "trust init killed at every point leaves no trust root or a whole one, and running it again finishes",
    arguments: [
      "write-before-fsync", "write-before-rename", "write-after-rename", "trust-before-publish",
      "trust-before-pin",
    ])
  func trustInitKilled(_ point: String) throws {
    let cli = try CLI()
    try cli.seeded()
    try cli.expect(0, ["identity", "new", "--name", "alice"])
    let r = try cli.run(["trust", "init"], env: ["KEYWARD_CRASHPOINT": point])
    #expect(r.signaled, "\(point): \(r.all)")
    let hasTrust = FileManager.default.fileExists(atPath: cli.workspace + "/trust")
    if hasTrust {
      #expect(FileManager.default.fileExists(atPath: cli.workspace + "/trust/root.json"))
      #expect(FileManager.default.fileExists(atPath: cli.workspace + "/trust/state.json"))
    }
    try cli.expect(0, ["trust", "init"])
    try cli.expect(0, ["export", "prod"])
    try cli.expect(0, ["list"])
  }
}
