import Foundation
import Testing

/// The team trail (issue 13, TRUST.md's second half) in real git repositories: two clones' work
/// merged three ways, and every attack a repository writer makes on the trail, against the built
/// binary.
@Suite("the team trail: signed, merge-safe, anchored")
struct TeamTrailTests {
  /// A trusted workspace made by alice in a git repository, one set per environment, committed.
  func repository() throws -> (CLI, String) {
    let cli = try CLI()
    try cli.expect(0, ["identity", "new", "--name", "alice"])
    let r = try cli.json(try cli.expect(0, ["init", "--envs", "dev,staging,prod", "--format", "json"]))
    let root = try #require(r["root_fingerprint"] as? String)
    for env in ["dev", "staging", "prod"] { try store(cli, env, command: "set") }
    try git(cli.root, ["init", "-q", "-b", "main"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "workspace"])
    return (cli, root)
  }

  /// Stores a new pending (or first) set; the secret is registered for the leak search.
  @discardableResult
  func store(
    _ cli: CLI, _ env: String, workspace: String? = nil, extra: [String: String] = [:], status: Int32 = 0,
    command: String = "rotate"
  )
    throws -> CLI.Result
  {
    let secret = "cs_\(env)_SECRET_\(UUID().uuidString)"
    CLI.registerSecret(secret)
    var args = [command, env, "--stdin"]
    if let workspace { args += ["--workspace", workspace] }
    return try cli.expect(
      status, args, stdin: "ck_\(env)_\(UUID().uuidString.prefix(8))\n\(secret)\n", env: extra)
  }

  @discardableResult
  func git(_ dir: String, _ args: [String], status: Int32? = 0) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "-C", dir] + args
    p.environment = [
      "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": dir + "/.git-home",
      "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
      "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
    ]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    if let status { #expect(p.terminationStatus == status, "git \(args): \(text)") }
    return (p.terminationStatus, text)
  }

  func audit(
    _ cli: CLI, _ status: Int32, workspace: String? = nil, env: [String: String] = [:], _ more: [String] = []
  )
    throws -> [String: Any]
  {
    var args = ["audit", "--format", "json"] + more
    if let workspace { args += ["--workspace", workspace] }
    return try cli.json(try cli.expect(status, args, env: env))
  }

  func trail(_ doc: [String: Any]) -> [String: Any] { doc["trail"] as? [String: Any] ?? [:] }

  func findingIDs(_ doc: [String: Any]) -> [String] {
    let envs = (doc["environments"] as? [[String: Any]] ?? []).flatMap {
      $0["findings"] as? [[String: Any]] ?? []
    }
    let ws = doc["workspace_findings"] as? [[String: Any]] ?? []
    return (envs + ws).compactMap { $0["finding_id"] as? String }
  }

  func entryFiles(_ workspace: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: workspace + "/trail/entries").filter {
      $0.hasSuffix(".json")
    }
  }

  func log(_ cli: CLI, workspace: String? = nil, env: [String: String] = [:]) throws -> [[String: Any]] {
    var args = ["log", "--format", "json"]
    if let workspace { args += ["--workspace", workspace] }
    return try cli.json(try cli.expect(0, args, env: env))["entries"] as? [[String: Any]] ?? []
  }

  enum Way: String, CaseIterable { case merge, mergeButton, rebase, cherryPick }

  @Test(
    "merge-safe: two clones write different environments; merge, a merge with every driver neutralised, rebase and cherry-pick all give an intact trail, each entry once",
    arguments: Way.allCases)
  func mergeSafe(way: Way) throws {
    let (cli, root) = try repository()
    let other = cli.root + "-clone"
    try git(cli.root, ["clone", "-q", cli.root, other], status: 0)
    defer { try? FileManager.default.removeItem(atPath: other) }
    let otherWS = other + "/Environments"
    let trust = ["KEYWARD_TRUST": root]
    let before = try entryFiles(cli.workspace).count
    // Each clone writes and commits: this one staging, the other dev.
    try store(cli, "staging")
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "staging"])
    try store(cli, "dev", workspace: otherWS, extra: trust)
    try git(other, ["add", "-A", "Environments"])
    try git(other, ["commit", "-q", "-m", "dev"])
    try git(cli.root, ["fetch", "-q", other, "main:theirs"])
    switch way {
    case .merge:
      try git(cli.root, ["merge", "-q", "--no-edit", "theirs"])
    case .mergeButton:
      // What a hosting service's merge button does: a plain text merge, no merge driver.
      try FileManager.default.createDirectory(
        atPath: cli.root + "/.git/info", withIntermediateDirectories: true)
      try "* merge=text\n".write(
        toFile: cli.root + "/.git/info/attributes", atomically: false, encoding: .utf8)
      try git(cli.root, ["merge", "-q", "--no-edit", "theirs"])
    case .rebase:
      try git(cli.root, ["rebase", "-q", "theirs"])
    case .cherryPick:
      try git(cli.root, ["cherry-pick", "theirs"])
    }
    let (_, conflicts) = try git(cli.root, ["diff", "--name-only", "--diff-filter=U"])
    #expect(conflicts.isEmpty, "conflicts: \(conflicts)")
    let merged = try audit(cli, 0)
    #expect(trail(merged)["intact"] as? Bool == true)
    #expect(trail(merged)["entry_count"] as? Int == before + 2, "\(trail(merged))")
    #expect((trail(merged)["heads"] as? [String])?.count == 2)
    // The next write follows both heads.
    try store(cli, "prod")
    let last = try #require(try log(cli).last)
    #expect((last["parents"] as? [String])?.count == 2, "\(last)")
    let after = try audit(cli, 0)
    #expect(trail(after)["entry_count"] as? Int == before + 3)
    #expect((trail(after)["heads"] as? [String])?.count == 1)
    // The independent reader agrees.
    let reader = try python(["Tests/Compat/trail_reader.py", cli.workspace])
    #expect(reader.status == 0, "\(reader.output)")
  }

  @Test(
    "merge: both clones change the same environment; git's conflict is only in that file, audit says unannounced (exit 4) until a member runs trust resolve"
  )
  func sameEnvironment() throws {
    let (cli, root) = try repository()
    let other = cli.root + "-clone"
    try git(cli.root, ["clone", "-q", cli.root, other])
    defer { try? FileManager.default.removeItem(atPath: other) }
    try store(cli, "prod")
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "ours"])
    try store(cli, "prod", workspace: other + "/Environments", extra: ["KEYWARD_TRUST": root])
    try git(other, ["add", "-A", "Environments"])
    try git(other, ["commit", "-q", "-m", "theirs"])
    try git(cli.root, ["fetch", "-q", other, "main:theirs"])
    let (status, _) = try git(cli.root, ["merge", "-q", "--no-edit", "theirs"], status: nil)
    #expect(status != 0)  // the environment file conflicts
    let (_, conflicts) = try git(cli.root, ["diff", "--name-only", "--diff-filter=U"])
    #expect(conflicts.split(separator: "\n") == ["Environments/prod.json"], "\(conflicts)")
    // A person resolves it: here by keeping our side.
    try git(cli.root, ["checkout", "--ours", "Environments/prod.json"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "--no-edit"])
    let doc = try audit(cli, 4)
    #expect(trail(doc)["intact"] as? Bool == true)
    #expect(findingIDs(doc).contains("KW806"), "\(findingIDs(doc))")
    try cli.expect(1, ["check"])
    let resolved = try cli.expect(0, ["trust", "resolve", "prod"])
    #expect(resolved.stdout.contains("merged branches both changed prod.json"), "\(resolved.all)")
    let after = try audit(cli, 0)
    #expect(!findingIDs(after).contains("KW806"))
    #expect(findingIDs(after).contains("KW807"))  // the resolution is listed
    try cli.expect(0, ["trust", "resolve", "prod"])  // nothing left to resolve
  }

  @Test(
    "attack: a writer's set slipped into a merge resolution (no entry announces it) is refused by trust resolve and by every write, so it is never laundered into a signed, clean trail (session 17's review)"
  )
  func unannouncedSetInResolution() throws {
    let (cli, root) = try repository()
    let trust = ["KEYWARD_TRUST": root]
    // Mallory can write to the repository but has no identity: he proposes his own pair in a
    // scratch clone and never pushes it, keeping only the sealed set.
    let scratch = cli.root + "-mallory"
    try git(cli.root, ["clone", "-q", cli.root, scratch])
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var mallory = try cli.otherMachine()
    mallory.merge(trust) { $1 }
    try store(cli, "prod", workspace: scratch + "/Environments", extra: mallory)
    let theirsFile =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: scratch + "/Environments/prod.json"))) as? [String: Any]
    let evil = try #require(
      (theirsFile?["sets"] as? [[String: Any]])?.first { $0["state"] as? String == "pending" })
    let evilID = try #require(evil["id"] as? String)
    // Two branches change prod: ours rotates and promotes, theirs rotates.
    let other = cli.root + "-clone"
    try git(cli.root, ["clone", "-q", cli.root, other])
    defer { try? FileManager.default.removeItem(atPath: other) }
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "ours"])
    try store(cli, "prod", workspace: other + "/Environments", extra: trust)
    try git(other, ["add", "-A", "Environments"])
    try git(other, ["commit", "-q", "-m", "theirs"])
    let path = cli.workspace + "/prod.json"
    var ours = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    try git(cli.root, ["fetch", "-q", other, "main:theirs"])
    // Git may merge the two files by itself (their sets sort apart) or stop at a conflict; either
    // way the person merging writes prod.json: ours plus Mallory's pending set.
    let (status, _) = try git(cli.root, ["merge", "-q", "--no-edit", "theirs"], status: nil)
    if status != 0 { try git(cli.root, ["checkout", "--ours", "Environments/trust/active/prod.json"]) }
    ours["sets"] = (ours["sets"] as? [[String: Any]] ?? []) + [evil]
    try JSONSerialization.data(withJSONObject: ours, options: [.prettyPrinted, .sortedKeys]).write(
      to: URL(fileURLWithPath: path))
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "merged"])
    let merged = findingIDs(try audit(cli, 4))
    #expect(merged.contains("KW806") || merged.contains("KW802"), "\(merged)")
    // The member asked to resolve is told what is wrong, and nothing is recorded.
    let entries = try log(cli).count
    let refused = try cli.expect(4, ["trust", "resolve", "prod"])
    #expect(
      refused.stderr.contains("holds set \(evilID)") && refused.stderr.contains("no trail entry announces"),
      "\(refused.stderr)")
    #expect(refused.stderr.contains("someone without an identity"), "\(refused.stderr)")
    // Nor does any other write record it (here the promote that would activate it).
    try cli.expect(4, ["promote", "prod", "--force"])
    #expect(try log(cli).count == entries, "nothing was recorded")
    let still = findingIDs(try audit(cli, 4))
    #expect(still == merged, "\(still) \(merged)")
    // Without the stranger's set, the resolution goes through.
    ours["sets"] = (ours["sets"] as? [[String: Any]] ?? []).filter { $0["id"] as? String != evilID }
    try JSONSerialization.data(withJSONObject: ours, options: [.prettyPrinted, .sortedKeys]).write(
      to: URL(fileURLWithPath: path))
    try cli.expect(0, ["trust", "resolve", "prod"])
    let after = try cli.run(["audit"])
    #expect(after.status == 0, "\(after.stdout)")
  }

  @Test(
    "both branches promote the same environment: trust resolve signs no manifest; a machine that deployed the side not kept refuses the kept one until a member promotes again, then deploys"
  )
  func bothPromoted() throws {
    let (cli, root) = try repository()
    let other = cli.root + "-clone"
    try git(cli.root, ["clone", "-q", cli.root, other])
    defer { try? FileManager.default.removeItem(atPath: other) }
    let otherWS = ["--workspace", other + "/Environments"]
    // The other clone is pinned on its own (a pin and its activation memory belong to a folder).
    try cli.expect(0, ["trust", "pin", root] + otherWS)
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "ours"])
    let oursCommit = try git(cli.root, ["rev-parse", "HEAD"]).1.trimmingCharacters(
      in: .whitespacesAndNewlines)
    let oursKey =
      try cli.json(try cli.expect(0, ["show", "prod", "--reveal", "--format", "json"]))["app_key"] as? String
    try store(cli, "prod", workspace: other + "/Environments")
    try cli.expect(0, ["promote", "prod", "--force"] + otherWS)
    try git(other, ["add", "-A", "Environments"])
    try git(other, ["commit", "-q", "-m", "theirs"])
    // The other machine deploys its side: it has now seen that manifest version.
    try cli.expect(0, ["export", "prod"] + otherWS)
    // The merge keeps our side of prod.json and of its manifest (the same version as theirs).
    try git(cli.root, ["fetch", "-q", other, "main:theirs"])
    try git(cli.root, ["merge", "-q", "--no-edit", "theirs"], status: nil)
    try git(
      cli.root,
      ["checkout", oursCommit, "--", "Environments/prod.json", "Environments/trust/active/prod.json"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "merged"])
    #expect(findingIDs(try audit(cli, 4)).contains("KW806"))
    let manifest = cli.workspace + "/trust/active/prod.json"
    let before = try Data(contentsOf: URL(fileURLWithPath: manifest))
    let resolved = try cli.expect(0, ["trust", "resolve", "prod"])
    #expect(!resolved.all.contains("activated again"), "\(resolved.all)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: manifest)) == before, "resolve signs no manifest")
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "resolved"])
    // The other machine pulls: it saw its own manifest at the kept one's version, so it refuses
    // (fails safe) ...
    try git(other, ["fetch", "-q", cli.root, "main"])
    try git(other, ["merge", "-q", "--ff-only", "FETCH_HEAD"])
    try cli.expect(4, ["export", "prod", "--format", "json"] + otherWS)
    #expect(oursKey != nil)
    // ... until a member promotes a new set, one version above both.
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    let newKey =
      try cli.json(try cli.expect(0, ["show", "prod", "--reveal", "--format", "json"]))["app_key"] as? String
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "promoted again"])
    try git(other, ["fetch", "-q", cli.root, "main"])
    try git(other, ["merge", "-q", "--ff-only", "FETCH_HEAD"])
    let deployed = try cli.expect(0, ["export", "prod", "--format", "json"] + otherWS)
    #expect(deployed.stdout.contains(newKey ?? "?"), "\(deployed.all)")
    _ = try audit(cli, 0)
  }

  @Test(
    "attack: a writer marks his own proposed set active in the file; a member's trust resolve records the edit but activates nothing, and deploys refuse it"
  )
  func resolveActivatesOnlyWhatAManifestNamed() throws {
    let (cli, root) = try repository()
    var mallory = try cli.otherMachine()
    mallory["KEYWARD_TRUST"] = root
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    let aliceKey =
      try cli.json(try cli.expect(0, ["show", "prod", "--reveal", "--format", "json"]))["app_key"] as? String
    let aliceFile = try Data(contentsOf: URL(fileURLWithPath: cli.workspace + "/prod.json"))
    // Mallory has no identity: his proposal is announced by an unsigned entry, as anyone's may be.
    try store(cli, "prod", extra: mallory)
    let path = cli.workspace + "/prod.json"
    var file = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    var sets = try #require(file["sets"] as? [[String: Any]])
    let evilID = try #require(sets.first { $0["state"] as? String == "pending" }?["id"] as? String)
    // He swaps the states by hand and commits: his set active, Alice's pending.
    for k in sets.indices {
      sets[k]["state"] = sets[k]["id"] as? String == evilID ? "active" : "pending"
    }
    file["sets"] = sets
    try JSONSerialization.data(withJSONObject: file, options: [.prettyPrinted, .sortedKeys]).write(
      to: URL(fileURLWithPath: path))
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "mallory"])
    #expect(!findingIDs(try audit(cli, 4)).isEmpty)
    // Alice resolves what the audit reports: the edit is recorded, her manifest still names her set.
    let resolved = try cli.run(["trust", "resolve", "prod"])
    #expect(!resolved.all.contains("activated again"), "\(resolved.all)")
    let evilActivated = try? String(
      contentsOfFile: cli.workspace + "/trust/active/prod.json", encoding: .utf8)
    #expect(evilActivated?.contains(evilID) == false, "the manifest must not name Mallory's set")
    // No deploy takes Mallory's pair, here or on a fresh machine.
    let deploy = try cli.run(["export", "prod", "--format", "json"])
    #expect(deploy.status == 4, "\(deploy.all)")
    #expect(!deploy.stdout.contains("ck_prod_"), "no pair at all: \(deploy.stdout)")
    // Alice's set deploys again once the file is restored (her manifest was never touched).
    try aliceFile.write(to: URL(fileURLWithPath: path))
    let restored = try cli.run(["export", "prod", "--format", "json"])
    #expect(
      restored.status == 0 && restored.stdout.contains(aliceKey ?? "?"), "\(restored.status) \(restored.all)")
  }

  @Test(
    "attack: a writer restores an older file and manifest from history; a member's trust resolve signs no manifest, and the machine that signed the newer one refuses the rollback (session 18's review)"
  )
  func resolveSignsNoRollback() throws {
    let (cli, _) = try repository()
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "A"])
    let old = try git(cli.root, ["rev-parse", "HEAD"]).1.trimmingCharacters(in: .whitespacesAndNewlines)
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])  // version 2; Alice never deploys it here
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "B"])
    // Mallory restores A's file and its validly signed version-1 manifest.
    try git(
      cli.root, ["checkout", old, "--", "Environments/prod.json", "Environments/trust/active/prod.json"])
    try git(cli.root, ["commit", "-q", "-am", "restore"])
    let manifest = cli.workspace + "/trust/active/prod.json"
    let restored = try Data(contentsOf: URL(fileURLWithPath: manifest))
    _ = try cli.run(["trust", "resolve", "prod"])
    #expect(try Data(contentsOf: URL(fileURLWithPath: manifest)) == restored, "resolve signs no manifest")
    let deploy = try cli.run(["export", "prod", "--format", "json"])
    #expect(deploy.status == 4 && deploy.stderr.contains("rollback"), "\(deploy.all)")
  }

  @Test(
    "promote names a pending set no admin or member proposed (a member's proposal can be replaced by a writer's real pair before it is verified)"
  )
  func promoteNamesAnUnsignedProposal() throws {
    let (cli, root) = try repository()
    var mallory = try cli.otherMachine()
    mallory["KEYWARD_TRUST"] = root
    try store(cli, "prod")
    let own = try cli.expect(0, ["promote", "prod", "--force"])
    #expect(!own.stderr.contains("not by an admin or member"), "\(own.stderr)")
    try store(cli, "prod", extra: mallory)
    let theirs = try cli.expect(0, ["promote", "prod", "--force"])
    #expect(
      theirs.stderr.contains("was proposed by someone without an identity")
        && theirs.stderr.contains("not by an admin or member"), "\(theirs.stderr)")
  }

  @Test(
    "attack: cut the trail's tail: exit 4 on the machine that saw it, and on a fresh machine when it announced a change"
  )
  func tailCut() throws {
    let (cli, root) = try repository()
    try cli.expect(0, ["audit"])  // this machine records the heads it saw
    try store(cli, "prod")
    try cli.expect(0, ["audit"])
    let head = try #require(try log(cli).last?["entry_id"] as? String)
    try FileManager.default.removeItem(atPath: "\(cli.workspace)/trail/entries/\(head).json")
    try? FileManager.default.removeItem(atPath: "\(cli.workspace)/trail/heads/\(head)")
    let here = try audit(cli, 4)
    #expect(findingIDs(here).contains("KW808"), "\(findingIDs(here))")
    // Another machine never saw it, but prod.json holds a set no entry announces.
    let fresh = try cli.otherMachine()
    let freshDoc = try audit(cli, 4, env: fresh.merging(["KEYWARD_TRUST": root]) { $1 })
    #expect(findingIDs(freshDoc).contains("KW802"), "\(findingIDs(freshDoc))")
    #expect(!findingIDs(freshDoc).contains("KW808"))
  }

  @Test("attack: delete the whole trail, remove an entry below a head, or edit one: exit 4 naming it")
  func deleteAndEdit() throws {
    let (cli, _) = try repository()
    try store(cli, "staging")
    try store(cli, "prod")
    let entries = try log(cli)
    let middle = try #require(entries[entries.count - 2]["entry_id"] as? String)
    let saved = cli.root + "/saved-trail"
    try FileManager.default.copyItem(atPath: cli.workspace + "/trail", toPath: saved)
    func restore() throws {
      try FileManager.default.removeItem(atPath: cli.workspace + "/trail")
      try FileManager.default.copyItem(atPath: saved, toPath: cli.workspace + "/trail")
    }
    // Below a head: the head names it.
    try FileManager.default.removeItem(atPath: "\(cli.workspace)/trail/entries/\(middle).json")
    let cut = try audit(cli, 4)
    #expect(trail(cut)["intact"] as? Bool == false)
    #expect(findingIDs(cut).contains("KW808"))
    #expect(try cli.expect(4, ["audit"]).stdout.contains("follows \(middle.prefix(12))"))
    try restore()
    // Edited in place: its name no longer matches its content.
    let path = "\(cli.workspace)/trail/entries/\(middle).json"
    var doc = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    var payload = try #require(Data(base64Encoded: doc["payload"] as! String))
    payload = Data(
      String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\"alice\"", with: "\"bob\"").utf8)
    doc["payload"] = payload.base64EncodedString()
    try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
    let edited = try audit(cli, 4)
    #expect(findingIDs(edited).contains("KW803"))
    // Renamed to its new id as a forger would: the signature no longer verifies.
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    try FileManager.default.removeItem(atPath: path)
    let newID = try blake2bID(payload)
    try (bytes + Data([0x0a])).write(to: URL(fileURLWithPath: "\(cli.workspace)/trail/entries/\(newID).json"))
    let forged = try cli.expect(4, ["audit"])
    #expect(forged.stdout.contains("forged"), "\(forged.stdout)")
    try restore()
    try cli.expect(0, ["audit"])
    // The whole trail deleted: every environment file is unannounced, and this machine saw heads.
    try FileManager.default.removeItem(atPath: cli.workspace + "/trail")
    let gone = try audit(cli, 4)
    #expect(findingIDs(gone).contains("KW802"))
    #expect(findingIDs(gone).contains("KW808"))
  }

  /// The id of a trail payload, computed by Python's hashlib (an independent implementation).
  func blake2bID(_ payload: Data) throws -> String {
    let file = NSTemporaryDirectory() + "payload-\(UUID().uuidString)"
    try payload.write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let r = try python([
      "-c",
      "import hashlib,sys; print(hashlib.blake2b(b'keyward trail v2' + open(sys.argv[1],'rb').read(), digest_size=32).hexdigest())",
      file,
    ])
    return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func python(_ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3"] + args
    p.currentDirectoryURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent()
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// Edits `env`'s first ciphertext inside its ephemeral key, past the key-id header: still
  /// well-formed, no longer what was sealed, and announced by no entry.
  func editCiphertext(_ cli: CLI, _ env: String) throws {
    let path = cli.workspace + "/\(env).json"
    var text = try String(contentsOfFile: path, encoding: .utf8)
    let range = try #require(text.range(of: "kw1:"))
    let start = text.index(range.upperBound, offsetBy: 20)
    let old = String(text[start..<text.index(start, offsetBy: 4)])
    text.replaceSubrange(start..<text.index(start, offsetBy: 4), with: old == "AAAA" ? "BBBB" : "AAAA")
    try text.write(toFile: path, atomically: false, encoding: .utf8)
  }

  @Test(
    "tamper is integrity: an edited ciphertext is exit 4 in audit and a finding in check; the next write records it and says so"
  )
  func editedCiphertext() throws {
    let (cli, _) = try repository()
    try editCiphertext(cli, "prod")
    let doc = try audit(cli, 4)
    #expect(findingIDs(doc).contains("KW802"))
    let check = try cli.json(try cli.expect(1, ["check", "--format", "json"]))
    #expect((check["findings"] as? [[String: Any]] ?? []).contains { $0["finding_id"] as? String == "KW802" })
    // The next write records the outside change before its own, and says so.
    let r = try store(cli, "prod")
    #expect(r.all.contains("no entry announces it"), "\(r.all)")
    let after = try audit(cli, 0)
    #expect(findingIDs(after).contains("KW807"))
    #expect(
      try log(cli).last.map { (($0["records"] as? [[String: Any]]) ?? []).first?["action"] as? String }
        == "external-change")
  }

  @Test(
    "signed entries: an unsigned write and a non-member's are findings (exit 1), named in log; a checkpoint attests them"
  )
  func signers() throws {
    let (cli, root) = try repository()
    // No identity at all (a script): a public-key write, unsigned.
    try store(cli, "staging", extra: try cli.otherMachine().merging(["KEYWARD_TRUST": root]) { $1 })
    // Mallory, an identity the signed state does not know, proposes a set.
    try cli.expect(0, ["identity", "new", "--name", "mallory", "--identity", cli.root + "/mallory.id"])
    try store(cli, "dev", extra: ["KEYWARD_IDENTITY": cli.root + "/mallory.id"])
    let doc = try audit(cli, 1)
    #expect(findingIDs(doc).contains("KW804"))
    #expect(findingIDs(doc).contains("KW805"))
    let signers = (trail(doc)["signers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    #expect(signers.contains("alice") && signers.contains("not a member"), "\(signers)")
    let statuses = try log(cli).compactMap { $0["signature"] as? String }
    #expect(statuses.contains("unsigned"))
    #expect(statuses.contains("signed:alice"))
    #expect(statuses.contains { $0.hasPrefix("signed:not-a-member") })
    let text = try cli.expect(0, ["log", "staging", "--action", "rotate"]).stdout
    #expect(
      text.contains("unsigned") && !text.contains(" dev ") && text.split(separator: "\n").count == 1,
      "\(text)")
    // The admin reviews and checkpoints: the entries are attested, the folder is emptied.
    try cli.expect(4, ["trail", "checkpoint", "--identity", cli.root + "/mallory.id"])  // not an admin
    let cp = try cli.expect(0, ["trail", "checkpoint"])
    #expect(cp.stdout.contains("entries compacted"))
    #expect(try entryFiles(cli.workspace).isEmpty)
    let after = try audit(cli, 0)
    #expect(!findingIDs(after).contains("KW804") && !findingIDs(after).contains("KW805"))
    #expect(trail(after)["checkpoint_count"] as? Int == 1)
    let full = try audit(cli, 0, ["--full"])
    #expect(trail(full)["entry_count"] as? Int == trail(after)["entry_count"] as? Int)
    // Writes go on after a checkpoint, following its heads.
    try store(cli, "prod")
    #expect(try log(cli).last.map { ($0["parents"] as? [String])?.count } == 1)
    try cli.expect(0, ["audit"])
    let reader = try python(["Tests/Compat/trail_reader.py", cli.workspace])
    #expect(reader.output.contains("\"intact\": true"), "\(reader.output)")
    // A checkpoint edited: one line removed.
    let dir = cli.workspace + "/trail/checkpoints"
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".jsonl") })
    var lines = try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8).split(separator: "\n")
    lines.remove(at: 2)
    try (lines.joined(separator: "\n") + "\n").write(
      toFile: "\(dir)/\(name)", atomically: false, encoding: .utf8)
    try cli.expect(4, ["audit"])
    try cli.expect(4, ["audit", "--full"])
  }

  @Test(
    "attack: a checkpoint edited in place after check hashed it (same size, modification time put back) is still found"
  )
  func rememberedSegment() throws {
    let (cli, _) = try repository()
    try store(cli, "dev")
    try cli.expect(0, ["trail", "checkpoint"])
    // A file changed in the last two seconds is never taken from the record, nor recorded (the
    // racily-clean rule): let the segment settle, so the record itself is what is attacked.
    Thread.sleep(forTimeInterval: 3)
    func checkIDs() throws -> [String] {
      let r = try cli.run(["check", "--format", "json"])
      let doc = try cli.json(r)
      return ((doc["findings"] as? [[String: Any]]) ?? []).compactMap { $0["finding_id"] as? String }.sorted()
    }
    let clean = try checkIDs()
    #expect(!clean.contains { $0.hasPrefix("KW8") }, "\(clean)")
    // check remembered the segment it hashed, in this machine's key store.
    let records = cli.root + "/keys/trail-verified"
    let recorded = try FileManager.default.contentsOfDirectory(atPath: records)
    #expect(recorded.count == 1)
    let record = try String(contentsOfFile: "\(records)/\(recorded[0])", encoding: .utf8)
    // One byte of an entry's payload changed: same size, same line count, the old modification time.
    let dir = cli.workspace + "/trail/checkpoints"
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".jsonl") })
    #expect(record.split(separator: "\n").contains { $0.hasPrefix(name + " ") }, "\(record)")
    let path = "\(dir)/\(name)"
    var before = stat()
    #expect(stat(path, &before) == 0)
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let secondLine = try #require(bytes.firstIndex(of: 0x0a)) + 1
    let at = try #require(bytes[secondLine...].firstIndex(of: UInt8(ascii: "\"")).map { $0 + 20 })
    bytes[at] = bytes[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.write(contentsOf: Data(bytes))
    try handle.close()
    var times = [before.st_atim, before.st_mtim]  // to the nanosecond
    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    var after = stat()
    #expect(
      stat(path, &after) == 0 && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec
        && after.st_size == before.st_size)
    Thread.sleep(forTimeInterval: 3)
    let edited = try checkIDs()
    #expect(edited.contains { $0.hasPrefix("KW8") }, "\(edited)")
    // The same findings as a machine that never hashed it.
    try FileManager.default.removeItem(atPath: records)
    #expect(try checkIDs() == edited)
    try cli.expect(4, ["audit"])
  }

  @Test(
    "attack: a checkpoint's index edited in place after check and a write hashed it (same size, modification time put back) is still found by check, log and audit"
  )
  func rememberedIndex() throws {
    let (cli, _) = try repository()
    try store(cli, "dev")
    try cli.expect(0, ["trail", "checkpoint"])
    Thread.sleep(forTimeInterval: 3)  // settled (the racily-clean rule), so the record is what is attacked
    try cli.expect(0, ["discard", "dev"])  // a write: it records the index it hashed
    let dir = cli.workspace + "/trail/checkpoints"
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".index") })
    let records = cli.root + "/keys/trail-verified"
    // (Beside it, the table of the index's kept lines a write keeps: `<…>.kept`.)
    let recorded = try #require(
      try FileManager.default.contentsOfDirectory(atPath: records).first { $0.hasSuffix(".segments") })
    let record = try String(contentsOfFile: "\(records)/\(recorded)", encoding: .utf8)
    #expect(record.split(separator: "\n").contains { $0.hasPrefix(name + " ") }, "\(record)")
    // One byte of a kept record changed in place: same size, the old modification time.
    let path = "\(dir)/\(name)"
    var before = stat()
    #expect(stat(path, &before) == 0)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("\"action\":\"rotate\""))
    let edited = text.replacingOccurrences(of: "\"action\":\"rotate\"", with: "\"action\":\"rotatf\"")
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.write(contentsOf: Data(edited.utf8))
    try handle.close()
    var times = [before.st_atim, before.st_mtim]
    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    Thread.sleep(forTimeInterval: 3)
    let check = try cli.run(["check", "--format", "json"])
    #expect(check.stdout.contains("does not match the digest its checkpoint signed"), "\(check.stdout)")
    try cli.expect(4, ["log"])
    try cli.expect(4, ["audit"])
  }

  @Test("audit --git names the commit that removed an entry, and a shallow clone is exit 3, never 0")
  func gitHistory() throws {
    let (cli, root) = try repository()
    try store(cli, "prod")
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "prod set"])
    try cli.expect(0, ["audit", "--git"])
    let victim = try #require(try log(cli).first?["entry_id"] as? String)
    try git(cli.root, ["rm", "-q", "Environments/trail/entries/\(victim).json"])
    try git(cli.root, ["commit", "-q", "-m", "tidy"])
    let (_, commit) = try git(cli.root, ["rev-parse", "HEAD"])
    let r = try cli.expect(4, ["audit", "--git"])
    #expect(r.stdout.contains("KW809") && r.stdout.contains(String(commit.prefix(12))), "\(r.stdout)")
    // Every format says so (the review found Markdown saying only "intact").
    let md = try cli.expect(4, ["audit", "--git", "--format", "markdown"])
    #expect(md.stdout.contains("**KW809**") && md.stdout.contains(String(commit.prefix(12))), "\(md.stdout)")
    try git(cli.root, ["revert", "--no-edit", "HEAD"])
    // Still reported: the history keeps the commit that removed it (the trail itself is intact
    // again, so the error line is the history's).
    let again = try cli.expect(4, ["audit", "--git"])
    #expect(
      again.stderr.contains("keyward: error: a commit in the git history removed trail entries"),
      "\(again.stderr)")
    let shallow = cli.root + "-shallow"
    try git(cli.root, ["clone", "-q", "--depth", "1", "file://" + cli.root, shallow])
    defer { try? FileManager.default.removeItem(atPath: shallow) }
    let s = try cli.run(["audit", "--git", "--workspace", shallow + "/Environments", "--trust", root])
    #expect(s.status == 3, "\(s.all)")
    #expect(s.stderr.contains("only 1 commit(s) could be walked"), "\(s.stderr)")
  }

  @Test(
    "attack: an entry removed in a commit of a workspace whose folder name git quotes (a double quote, a tab): audit --git still names the commit"
  )
  func gitHistoryUnderQuotedPath() throws {
    let cli = try CLI()
    let folder = "ops \"eu\"\tprod"
    let w = ["--workspace", "\(folder)/Environments"]
    try FileManager.default.createDirectory(
      atPath: "\(cli.root)/\(folder)", withIntermediateDirectories: true)
    try cli.expect(0, ["identity", "new", "--name", "alice"])
    try cli.expect(0, ["init", "--envs", "dev,prod"] + w)
    try store(cli, "prod", workspace: w[1], command: "set")
    try store(cli, "prod", workspace: w[1])
    try git(cli.root, ["init", "-q", "-b", "main"])
    try git(cli.root, ["add", "-A", folder])
    try git(cli.root, ["commit", "-q", "-m", "workspace"])
    try cli.expect(0, ["audit", "--git"] + w)
    let victim = try #require(try log(cli, workspace: w[1]).last?["entry_id"] as? String)
    try git(cli.root, ["rm", "-q", "\(folder)/Environments/trail/entries/\(victim).json"])
    try git(cli.root, ["commit", "-q", "-m", "tidy"])
    let (_, commit) = try git(cli.root, ["rev-parse", "HEAD"])
    let r = try cli.expect(4, ["audit", "--git"] + w)
    #expect(r.stdout.contains("KW809") && r.stdout.contains(String(commit.prefix(12))), "\(r.stdout)")
  }

  @Test(
    "attack: a commit that lowered the signed state's version and one that lowered a manifest's, each put back later: audit --git names both commits"
  )
  func gitHistoryRollbacks() throws {
    let (cli, _) = try repository()
    let state = cli.workspace + "/trust/state.json"
    let manifest = cli.workspace + "/trust/active/prod.json"
    let (oldState, oldManifest) = (
      try Data(contentsOf: URL(fileURLWithPath: state)), try Data(contentsOf: URL(fileURLWithPath: manifest))
    )
    // The state moves to version 2 (bob is granted prod), the manifest to version 2 (a promote).
    try grantBob(cli)
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "grant and promote"])
    let (newState, newManifest) = (
      try Data(contentsOf: URL(fileURLWithPath: state)), try Data(contentsOf: URL(fileURLWithPath: manifest))
    )
    // A writer commits the older state, then the older manifest; later commits put both back.
    var lowered = [String]()
    for (path, old) in [(state, oldState), (manifest, oldManifest)] {
      try old.write(to: URL(fileURLWithPath: path))
      try git(
        cli.root, ["commit", "-q", "-a", "-m", "older \(URL(fileURLWithPath: path).lastPathComponent)"])
      lowered.append(try git(cli.root, ["rev-parse", "HEAD"]).1)
    }
    try newState.write(to: URL(fileURLWithPath: state))
    try newManifest.write(to: URL(fileURLWithPath: manifest))
    try git(cli.root, ["commit", "-q", "-a", "-m", "back"])
    try expectHistory(
      cli,
      [
        (String(lowered[0].prefix(12)), "lowered the signed state's version from 2 to 1"),
        (String(lowered[1].prefix(12)), "trust/active/prod.json's version from 2 to 1"),
      ])
  }

  /// bob, a new identity (`<root>/bob.id`), granted prod as a member: the state's version goes up.
  func grantBob(_ cli: CLI) throws {
    let bob = try cli.expect(0, ["identity", "new", "--name", "bob", "--identity", cli.root + "/bob.id"])
    try cli.expect(0, ["access", "grant", "prod", "bob", String(bob.stdout.split(separator: " ")[1])])
  }

  /// `audit --git` is exit 4 and names each of `findings`: where (what follows "commit " in its
  /// message) and what it says of it.
  func expectHistory(_ cli: CLI, _ findings: [(at: String, says: String)]) throws {
    let r = try cli.expect(4, ["audit", "--git"])
    for (at, says) in findings {
      #expect(r.stdout.contains("commit \(at)") && r.stdout.contains(says), "\(says): \(r.stdout)")
    }
  }

  @Test(
    "attack: an entry line this machine verified, its signature then changed (the same payload): log and check, which remember verified lines, refuse it as forged"
  )
  func rememberedLinesAreExact() throws {
    let (cli, _) = try repository()
    try store(cli, "prod")
    try cli.expect(0, ["log"])
    // The lines remembered: one digest per signed entry file, in a file only its owner reads.
    let records = cli.root + "/keys/trail-verified"
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: records).first { $0.hasSuffix(".lines") })
    let remembered = try String(contentsOfFile: "\(records)/\(name)", encoding: .utf8)
    let entries = cli.workspace + "/trail/entries"
    let files = try FileManager.default.contentsOfDirectory(atPath: entries)
    #expect(remembered.split(separator: "\n").count == files.count && !files.isEmpty, "\(remembered)")
    #expect(
      try FileManager.default.attributesOfItem(atPath: "\(records)/\(name)")[.posixPermissions] as? Int
        == 0o600)
    // A writer changes one byte of one entry's signature.
    let path = "\(entries)/\(try #require(files.sorted().last))"
    var doc = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    var signatures = try #require(doc["signatures"] as? [[String: Any]])
    let sig = try #require(signatures[0]["sig"] as? String)
    signatures[0]["sig"] = (sig.first == "A" ? "B" : "A") + sig.dropFirst()
    doc["signatures"] = signatures
    try (JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys]) + Data("\n".utf8)).write(
      to: URL(fileURLWithPath: path))
    let r = try cli.expect(4, ["log"])
    #expect(r.stderr.contains("carries no valid signature"), "\(r.stderr)")
    let c = try cli.run(["check", "--format", "json"])
    #expect(c.status != 0 && c.stdout.contains("carries no valid signature"), "\(c.all)")
  }

  @Test(
    "attack: the signed state lowered through a commit of garbage between, a manifest through a link, another deleted and put back older: audit --git names each commit"
  )
  func gitHistoryThroughNonStates() throws {
    let (cli, _) = try repository()
    let state = cli.workspace + "/trust/state.json"
    let prod = cli.workspace + "/trust/active/prod.json"
    let dev = cli.workspace + "/trust/active/dev.json"
    let old = try [state, prod, dev].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    try grantBob(cli)
    for env in ["prod", "dev"] {
      try store(cli, env)
      try cli.expect(0, ["promote", env, "--force"])
    }
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "grant and promote"])
    let new = try [state, prod, dev].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    // Garbage in place of the state, then the older state; a link in place of prod's manifest,
    // then the older one; dev's manifest deleted, then the older one added back.
    try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: state))
    try FileManager.default.removeItem(atPath: prod)
    try FileManager.default.createSymbolicLink(atPath: prod, withDestinationPath: "dev.json")
    try FileManager.default.removeItem(atPath: dev)
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "in between"])
    let between = try git(cli.root, ["rev-parse", "HEAD"]).1
    try FileManager.default.removeItem(atPath: prod)
    for (path, bytes) in zip([state, prod, dev], old) { try bytes.write(to: URL(fileURLWithPath: path)) }
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "older"])
    for (path, bytes) in zip([state, prod, dev], new) { try bytes.write(to: URL(fileURLWithPath: path)) }
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "back"])
    try expectHistory(
      cli,
      [
        (
          String(between.prefix(12)),
          "replaced the signed state (trust/state.json) with something that is not a signed state"
        ),
        (
          String(between.prefix(12)),
          "replaced trust/active/prod.json with something that is not an activation manifest"
        ),
        (String(between.prefix(12)), "deleted trust/active/dev.json, an activation manifest"),
      ])
  }

  @Test(
    "attack: a merge with -s ours drops the branch that raised the signed state's version: audit --git names the merge against that branch's commit, not the unchanged parent"
  )
  func gitHistoryMergeParent() throws {
    let (cli, _) = try repository()
    let state = cli.workspace + "/trust/state.json"
    try git(cli.root, ["checkout", "-q", "-b", "side"])
    try grantBob(cli)
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "grant bob"])
    let side = try git(cli.root, ["rev-parse", "HEAD"]).1
    let raised = try Data(contentsOf: URL(fileURLWithPath: state))
    try git(cli.root, ["checkout", "-q", "main"])
    try git(cli.root, ["merge", "-q", "-s", "ours", "--no-edit", "side"])
    let merge = try git(cli.root, ["rev-parse", "HEAD"]).1
    // The state put back later (this machine saw version 2).
    try raised.write(to: URL(fileURLWithPath: state))
    try git(cli.root, ["commit", "-q", "-a", "-m", "back"])
    try expectHistory(
      cli,
      [
        (
          "\(merge.prefix(12)) (against parent \(side.prefix(12)))",
          "lowered the signed state's version from 2 to 1"
        )
      ])
  }

  // MARK: The independent review's attacks (each reproduced, then fixed)

  @Test(
    "attack: a committed revert of an environment file to its state before the last entry is exit 4, not an interruption"
  )
  func revertIsNotInterruption() throws {
    let (cli, root) = try repository()
    let before = try Data(contentsOf: URL(fileURLWithPath: cli.workspace + "/prod.json"))
    try store(cli, "prod")
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "rotate"])
    // What `git checkout HEAD~ -- prod.json` does, committed by someone else.
    try before.write(to: URL(fileURLWithPath: cli.workspace + "/prod.json"))
    let here = try audit(cli, 4)
    #expect(findingIDs(here).contains("KW802") && !findingIDs(here).contains("KW801"), "\(findingIDs(here))")
    let fresh = try cli.otherMachine()
    try audit(cli, 4, env: fresh.merging(["KEYWARD_TRUST": root]) { $1 })
  }

  @Test(
    "attack: stray files in the trail's folders (a dotfile checkpoint, a folder as a head marker) are reported; writes go on"
  )
  func strayFiles() throws {
    let (cli, _) = try repository()
    let entry = try #require(try entryFiles(cli.workspace).first)
    let line = try String(contentsOfFile: cli.workspace + "/trail/entries/" + entry, encoding: .utf8)
    try FileManager.default.createDirectory(
      atPath: cli.workspace + "/trail/checkpoints", withIntermediateDirectories: true)
    try ("junk\n" + line).write(
      toFile: cli.workspace + "/trail/checkpoints/.gitkeep", atomically: false, encoding: .utf8)
    let doc = try audit(cli, 4)
    #expect((trail(doc)["problem"] as? String)?.contains(".gitkeep") == true, "\(trail(doc))")
    try FileManager.default.removeItem(atPath: cli.workspace + "/trail/checkpoints/.gitkeep")
    // A folder where the head marker was: the next write still completes, the trail stays whole.
    let head = try #require(
      try FileManager.default.contentsOfDirectory(atPath: cli.workspace + "/trail/heads").first)
    try FileManager.default.removeItem(atPath: cli.workspace + "/trail/heads/" + head)
    try FileManager.default.createDirectory(
      atPath: cli.workspace + "/trail/heads/" + head, withIntermediateDirectories: false)
    try store(cli, "prod")
    try FileManager.default.removeItem(atPath: cli.workspace + "/trail/heads/" + head)
    let after = try audit(cli, 0)
    #expect((trail(after)["heads"] as? [String])?.count == 1)
  }

  @Test(
    "attack: a reader of dev who signs an announcement of prod is a stranger to prod (KW805); log names signers by the signed state"
  )
  func readerAnnouncesProd() throws {
    let (cli, _) = try repository()
    try cli.expect(0, ["identity", "new", "--name", "bob", "--identity", cli.root + "/bob.id"])
    let pub =
      try cli.json(
        try cli.expect(0, ["identity", "show", "--identity", cli.root + "/bob.id", "--format", "json"]))[
        "public_identity"]
      as! String
    try cli.expect(0, ["access", "grant", "dev", "bob", pub, "--reader"])
    try store(cli, "prod", extra: ["KEYWARD_IDENTITY": cli.root + "/bob.id", "KEYWARD_ACTOR": "alice"])
    let doc = try audit(cli, 1)
    #expect(findingIDs(doc).contains("KW805"), "\(findingIDs(doc))")
    let bobs = try cli.json(try cli.expect(0, ["log", "--actor", "bob", "--format", "json"]))
    #expect((bobs["entries"] as? [[String: Any]])?.count == 1)
  }

  @Test(
    "a branch switch is not a cut: the heads a machine saw are kept per git branch; trail forget clears them")
  func branchSwitch() throws {
    let (cli, _) = try repository()
    try git(cli.root, ["checkout", "-q", "-b", "feature"])
    try store(cli, "staging")
    try git(cli.root, ["add", "-A", "Environments"])
    try git(cli.root, ["commit", "-q", "-m", "feature"])
    try cli.expect(0, ["audit"])
    try git(cli.root, ["checkout", "-q", "main"])
    try cli.expect(0, ["audit"])
    try git(cli.root, ["checkout", "-q", "feature"])
    try cli.expect(0, ["audit"])
    // Dropping one's own uncommitted write is a cut here, until this machine is told to forget.
    try store(cli, "prod")
    try git(cli.root, ["checkout", "-q", "--", "Environments"])
    try git(cli.root, ["clean", "-q", "-fd", "Environments"])
    try cli.expect(4, ["audit"])
    try cli.expect(0, ["trail", "forget"])
    try cli.expect(0, ["audit"])
  }

  @Test(
    "a power loss that empties this machine's seen heads is reported (KW810, a warning), not taken for nothing seen; writes say so and keep it until an audit reports it"
  )
  func lostSeenHeads() throws {
    let (cli, _) = try repository()
    let seenDir = cli.root + "/keys/trail-seen"
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: seenDir).first { !$0.hasPrefix(".") })
    let seen = "\(seenDir)/\(name)"
    // What ext4's delayed allocation leaves after a power loss soon after a write: the name, no bytes.
    func powerLoss() throws { try Data().write(to: URL(fileURLWithPath: seen)) }
    func drop() throws {
      try git(cli.root, ["checkout", "-q", "--", "Environments"])
      try git(cli.root, ["clean", "-q", "-fd", "Environments"])
    }
    // A write this machine saw, then dropped (a cut here), with the record lost in between.
    try store(cli, "prod")
    try powerLoss()
    try drop()
    // The cut cannot be seen any more; the audit says why (a warning, as on a machine that never
    // saw the trail), instead of passing as if nothing was seen.
    let text = try cli.expect(0, ["audit"]).stdout
    #expect(text.contains("warning KW810") && text.contains("is empty, found 20"), "\(text)")
    #expect(text.contains("cannot be detected on this machine"), "\(text)")
    // That audit reported it and recorded the current heads: the next one says nothing of it, and
    // a cut is caught again.
    #expect(!findingIDs(try audit(cli, 0)).contains("KW810"))
    try store(cli, "staging")
    try drop()
    #expect(findingIDs(try audit(cli, 4)).contains("KW808"))
    try cli.expect(0, ["trail", "forget"])
    try cli.expect(0, ["audit"])
    // A write after the loss (one that changes an environment file, and a deploy) says so, and
    // keeps the loss in the record for the next audit instead of hiding it behind its own head.
    try powerLoss()
    let rotate = try store(cli, "dev")
    #expect(rotate.stderr.contains("was lost") && rotate.stderr.contains("is empty"), "\(rotate.stderr)")
    let export = try cli.expect(0, ["export", "dev"])
    #expect(!export.stderr.contains("was lost"), "said once, when found: \(export.stderr)")
    let check = try cli.json(try cli.expect(0, ["check", "--format", "json"]))
    #expect(
      (check["findings"] as? [[String: Any]] ?? []).contains { $0["finding_id"] as? String == "KW810" },
      "\(check)")
    #expect(findingIDs(try audit(cli, 0)).contains("KW810"))
    #expect(!findingIDs(try audit(cli, 0)).contains("KW810"))
    // init adding an environment writes the trail too, and says so (in JSON mode as well).
    try powerLoss()
    let added = try cli.expect(0, ["init", "--envs", "qa", "--format", "json"])
    #expect(added.stderr.contains("was lost") && added.stderr.contains("is empty"), "\(added.stderr)")
    #expect(findingIDs(try audit(cli, 0)).contains("KW810"))
    // Any other shape than the record keyward writes is a loss too, never fewer heads.
    for damaged in [
      "{\"bran", "{}", "{\"branches\":5,\"pending\":[]}",
      "{\"branches\":{\"refs/heads/main\":[\"abc\"]},\"pending\":[]}",
    ] {
      try Data(damaged.utf8).write(to: URL(fileURLWithPath: seen))
      let deploy = try cli.expect(0, ["export", "dev"])
      #expect(deploy.stderr.contains("not the record keyward writes there"), "\(damaged): \(deploy.stderr)")
      #expect(findingIDs(try audit(cli, 0)).contains("KW810"), "\(damaged)")
    }
    let sarif = try cli.expect(0, ["audit", "--format", "sarif"]).stdout
    #expect(sarif.contains("KW810"), "the SARIF rules declare it")
  }

  @Test(
    "attack: trust files deleted are a finding of the trail itself, even with no pin; a huge number is JSON null"
  )
  func trustDeletedAndNumbers() throws {
    let (cli, _) = try repository()
    let other = cli.root + "-clone"
    try git(cli.root, ["clone", "-q", cli.root, other])
    defer { try? FileManager.default.removeItem(atPath: other) }
    try git(other, ["rm", "-q", "-r", "Environments/trust"])
    let fresh = try cli.otherMachine()
    let r = try cli.run(["audit", "--workspace", other + "/Environments"], env: fresh)
    #expect(r.status == 4 && r.stdout.contains("trust files were deleted"), "\(r.all)")
  }

  @Test(
    "discard drops a pending set (its proposer, an admin or a member; not a stranger), records it, and refuses active sets"
  )
  func discard() throws {
    let (cli, _) = try repository()
    try cli.expect(0, ["identity", "new", "--name", "mallory", "--identity", cli.root + "/mallory.id"])
    try cli.expect(0, ["identity", "new", "--name", "eve", "--identity", cli.root + "/eve.id"])
    let mallory = ["KEYWARD_IDENTITY": cli.root + "/mallory.id"]
    try store(cli, "prod", extra: mallory)
    let full = try store(cli, "prod", status: 2)
    #expect(full.stderr.contains("keyward discard prod"), "\(full.stderr)")
    // Eve has no role and did not propose it.
    let refused = try cli.expect(4, ["discard", "prod"], env: ["KEYWARD_IDENTITY": cli.root + "/eve.id"])
    #expect(refused.stderr.contains("its proposer, an admin or a member"))
    // Mallory withdraws her own proposal.
    let pending = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    _ = pending
    try cli.expect(0, ["discard", "prod"], env: mallory)
    try cli.expect(2, ["discard", "prod"])  // nothing pending now
    let typo = try cli.expect(2, ["discard", "prdo"])
    #expect(typo.stderr.contains("did you mean \"prod\""), "\(typo.stderr)")
    let active = try #require(
      try cli.trailRecords().last {
        $0["environment"] as? String == "prod" && $0["action"] as? String == "set"
      }?["set_id"]
        as? String)
    try cli.expect(2, ["discard", "prod", "--set", active])  // an active set is not discarded
    let last = try #require(try cli.trailRecords().last)
    #expect(last["action"] as? String == "discard" && last["state"] as? String == "removed")
    // Alice (an admin) discards a proposal that is not hers.
    try store(cli, "prod", extra: mallory)
    try cli.expect(0, ["discard", "prod"])
    try cli.expect(1, ["audit"])  // mallory's proposals are still listed (KW805), nothing broken
  }

  @Test(
    "retire across clones: exports inside the repository are checked in every clone; another machine's block until --force (recorded); stdout and run are named"
  )
  func retireAcrossMachines() throws {
    let (cli, _) = try repository()
    try FileManager.default.createDirectory(atPath: cli.root + "/deploy", withIntermediateDirectories: true)
    let outside = cli.root + "-outside"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: outside) }
    let elsewhere = ["KEYWARD_MACHINE": "0123456789abcdef"]
    try cli.expect(0, ["export", "prod", "-o", "deploy/prod.env"])
    try cli.expect(0, ["export", "prod", "-o", outside + "/prod.env"], env: elsewhere)
    try cli.expect(0, ["export", "prod"])  // to standard output
    let inRepo = try #require(try cli.trailRecords().first { $0["target"] as? String == "deploy/prod.env" })
    #expect(inRepo["target_base"] as? String == "repository")
    try store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    let blocked = try cli.expect(2, ["retire", "prod", "--now"])
    #expect(blocked.stderr.contains("deploy/prod.env"), "\(blocked.stderr)")
    try cli.expect(0, ["export", "prod", "-o", "deploy/prod.env"])  // the active set there now
    let other = try cli.expect(2, ["retire", "prod", "--now"])
    #expect(other.stderr.contains("on another machine"), "\(other.stderr)")
    // The machine that wrote it can check it: there the file still holds the old set.
    try cli.expect(2, ["retire", "prod", "--now"], env: elsewhere)
    let forced = try cli.expect(0, ["retire", "prod", "--now", "--force"])
    #expect(forced.stderr.contains("standard output"), "\(forced.stderr)")
    let last = try #require(try cli.trailRecords().last)
    #expect(
      last["action"] as? String == "retire" && (last["forced_past"] as? [String])?.count == 1, "\(last)")
    try cli.expect(0, ["audit"])
  }

  @Test(
    "a retired pair is not stored again unasked: rotate refuses it, --force stores it, check reports KW307")
  func retiredPair() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    let old = "ck_live_old_1\ncs_live_OLD_secret_1\n"
    CLI.registerSecret("cs_live_OLD_secret_1")
    CLI.registerSecret("cs_live_NEW_secret_1")
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: old)
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_new_1\ncs_live_NEW_secret_1\n")
    try cli.expect(0, ["promote", "prod", "--force"])
    try cli.expect(0, ["retire", "prod", "--now"])
    let refused = try cli.expect(2, ["rotate", "prod", "--stdin"], stdin: old)
    #expect(refused.stderr.contains("was retired from prod"), "\(refused.stderr)")
    try cli.expect(0, ["rotate", "prod", "--stdin", "--force"], stdin: old)
    let check = try cli.json(try cli.expect(1, ["check", "--format", "json"]))
    #expect((check["findings"] as? [[String: Any]] ?? []).contains { $0["finding_id"] as? String == "KW307" })
  }
}
