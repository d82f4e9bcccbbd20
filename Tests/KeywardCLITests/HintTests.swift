import Foundation
import Testing

/// Issue 15, item 13: hints that are true — the workspace found from a subfolder or the
/// repository's root, as git finds `.git`; production-like names.
@Suite("finding the workspace; production-like names")
struct HintTests {
  func git(_ args: [String], in dir: String) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
  }

  func list(_ cli: CLI, from dir: String, _ extra: [String] = []) throws -> CLI.Result {
    try cli.run(["list", "--format", "json"] + extra, cwd: dir)
  }

  @Test(
    "--workspace at the repository's root means its Environments/; from a subfolder nothing above is used (a copy planted there would carry no pin)"
  )
  func discovery() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev"])
    try git(["init", "-q"], in: cli.root)
    let sub = cli.root + "/src/app/deep"
    try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
    let atRoot = try list(cli, from: cli.root + "/src", ["--workspace", ".."])
    #expect(atRoot.status == 0 && atRoot.stdout.contains("\"dev\""), "\(atRoot.stderr)")
    let below = try list(cli, from: sub)
    #expect(below.status != 0 && !below.stdout.contains("\"dev\""), "\(below.all)")
  }

  @Test("a workspace planted in a shared parent (/tmp/Environments with a .git beside it) is never used")
  func noRepository() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev"])
    FileManager.default.createFile(atPath: cli.root + "/.git", contents: Data())
    let sub = cli.root + "/elsewhere"
    try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
    let r = try list(cli, from: sub)
    #expect(r.status != 0 && !r.stdout.contains("\"dev\""), "\(r.all)")
  }

  @Test("prod-eu, eu_prod and prod2 are production-like; pre-prod, preprod and staging are not")
  func productionNames() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod-eu,eu_prod,prod2,live,pre-prod,preprod,staging,product"])
    let r = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    var production = [String: Bool]()
    for e in r["environments"] as? [[String: Any]] ?? [] {
      production[e["environment"] as! String] = e["production"] as? Bool
    }
    #expect(production["prod-eu"] == true && production["eu_prod"] == true && production["prod2"] == true)
    #expect(production["live"] == true)
    #expect(
      production["pre-prod"] == false && production["preprod"] == false && production["staging"] == false)
    #expect(production["product"] == false)
  }

  @Test("rekey says that git history still opens with the old key, and names the real workspace's files")
  func rekeyMessage() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod", "--workspace", "deploy/Env"])
    CLI.registerSecret("cs_prod_SECRET_rekey_1")
    try cli.expect(
      0, ["set", "prod", "--stdin", "--workspace", "deploy/Env"],
      stdin: "ck_prod_rekey_1\ncs_prod_SECRET_rekey_1\n")
    let r = try cli.expect(0, ["rekey", "prod", "--workspace", "deploy/Env"])
    #expect(r.stdout.contains("git history still open with it"), "\(r.stdout)")
    #expect(r.stdout.contains("Commit deploy/Env/prod.json and deploy/Env/trail/"), "\(r.stdout)")
    #expect(!r.stdout.contains("audit.jsonl"))
  }

  @Test("audit --git in a repository with no commits says so (an attack review found \"git log failed\")")
  func auditGitWithoutCommits() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev"])
    try git(["init", "-q"], in: cli.root)
    let r = try cli.expect(2, ["audit", "--git"])
    #expect(r.stderr.contains("has no commits yet"), "\(r.stderr)")
  }
}
