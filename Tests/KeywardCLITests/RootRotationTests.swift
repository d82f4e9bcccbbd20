import Foundation
import Testing

/// Root rotation (TRUST.md property 2, issue 12 property 6): root N+1 holds only when root N's
/// admins, every admin it adds and its own admins signed it; machines pinned to an earlier root
/// follow signed changes and refuse every other one. The attacks are written by hand with
/// `Tests/Compat/forge_root.py`, as a repository writer would.
@Suite("trust: root rotation")
struct RootRotationTests {
  let base = TrustTests()

  func python(_ args: [String]) throws -> (status: Int32, output: String) {
    let r = try CLI.python(args)
    return (r.status, r.stdout + r.stderr)
  }

  func shown(_ cli: CLI, env: [String: String] = [:]) throws -> [String: Any] {
    try cli.json(try cli.expect(0, ["trust", "show", "--format", "json"], env: env))
  }

  /// Alice's workspace with bob made an admin by a signed root change; a second machine pinned
  /// root 1 before the change.
  func rotated() throws -> (cli: CLI, root1: String, root2: String, bob: String, other: [String: String]) {
    let (cli, root1) = try base.trusted()
    let bob = try base.newIdentity(cli, "bob")
    let other = try cli.otherMachine()
    try cli.expect(0, ["trust", "pin", root1], env: other)
    // The trust files as git holds them before the change.
    try FileManager.default.copyItem(atPath: cli.workspace + "/trust", toPath: cli.root + "/trust-root1")
    let proposed = try cli.expect(0, ["trust", "rotate-root", "--add-admin", "bob=\(bob.public)"])
    #expect(proposed.stdout.contains("still needs the signature of bob"), "\(proposed.stdout)")
    let waiting = try shown(cli)
    #expect(waiting["root_fingerprint"] as? String == root1)
    let proposal = try #require(waiting["proposed_root"] as? [String: Any])
    let bobFP = try #require(
      try cli.json(
        try cli.expect(
          0, ["identity", "show", "--identity", bob.file, "--format", "json"]))["fingerprint"] as? String)
    let added = proposal["added"] as? [[String: Any]] ?? []
    #expect(
      added.count == 1 && added.first?["name"] as? String == "bob"
        && added.first?["fingerprint"] as? String == bobFP)
    #expect((proposal["signed_by"] as? [[String: Any]])?.map { $0["name"] as? String } == ["alice"])
    let next = try #require(proposal["root_fingerprint"] as? String)
    // Until bob signs, nothing changed: every machine still uses root 1.
    try cli.expect(0, ["show", "prod"])
    try cli.expect(0, ["list"], env: other)
    let signed = try cli.expect(
      0, ["trust", "rotate-root", "--sign", next], env: ["KEYWARD_IDENTITY": bob.file])
    #expect(signed.stdout.contains("The trust root is now version 2"), "\(signed.stdout)")
    let now = try shown(cli)
    let root2 = try #require(now["root_fingerprint"] as? String)
    #expect(root2 == next && now["root_version"] as? Int == 2 && now["pinned"] as? Bool == true)
    #expect((now["admins"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["alice", "bob"])
    return (cli, root1, root2, bob.file, other)
  }

  @Test(
    "a root change signed by the old admin and the added one: pinned machines follow it, KEYWARD_TRUST of the old root too, the new admin acts"
  )
  func signedChangeFollowed() throws {
    let (cli, root1, root2, bob, other) = try rotated()
    // The machine pinned to root 1 follows the signed change and says so; its pin moves.
    let listed = try cli.expect(0, ["list"], env: other)
    #expect(listed.stderr.contains("changed from \(root1) to \(root2)"), "\(listed.stderr)")
    #expect(try shown(cli, env: other)["root_fingerprint"] as? String == root2)
    #expect(!(try cli.expect(0, ["list"], env: other)).stderr.contains("changed from"))
    // A fresh CI machine given the old root's fingerprint follows it too.
    var ci = try cli.otherMachine()
    ci["KEYWARD_KEYS_DIR"] = cli.root + "/ci-keys"
    try FileManager.default.createDirectory(atPath: cli.root + "/ci-keys", withIntermediateDirectories: true)
    ci["KEYWARD_TRUST"] = root1
    let followed = try cli.expect(0, ["list"], env: ci)
    #expect(followed.stderr.contains("the required trust root \(root1)") && followed.stderr.contains(root2))
    // Bob, now an admin, grants access; the trail records the change, signed, and audit is intact.
    let carol = try base.newIdentity(cli, "carol")
    try cli.expect(
      0, ["access", "grant", "prod", "carol", carol.public, "--reader"], env: ["KEYWARD_IDENTITY": bob])
    let records = try cli.trailRecords()
    #expect(records.contains { $0["action"] as? String == "trust-root" })
    try cli.expect(0, ["audit"])
    // The independent reader, from FORMAT.md, walks from root 1 to root 2.
    let read = try python([CLI.packageRoot + "/Tests/Compat/trust_reader.py", cli.workspace, root1])
    #expect(read.status == 0 && read.output.contains("\"root_version\": 2"), "\(read.output)")
    // access grant --admin proposes the same kind of change.
    let dave = try base.newIdentity(cli, "dave")
    let r = try cli.expect(0, ["access", "grant", "prod", "dave", dave.public, "--admin"])
    #expect(r.stdout.contains("Proposed root version 3") && r.stdout.contains("dave"))
    try cli.expect(0, ["trust", "rotate-root", "--withdraw"])
    #expect(try shown(cli)["proposed_root"] is NSNull)
  }

  @Test(
    "attack: root changes forged by a repository writer are exit 4 on pinned machines: unsigned by the old admins, an added admin who did not sign, a skipped version"
  )
  func forgedChanges() throws {
    let (cli, root1) = try base.trusted()
    let alice = cli.root + "/keys/identity"
    let mallory = try base.newIdentity(cli, "mallory").file
    let forge = CLI.packageRoot + "/Tests/Compat/forge_root.py"
    let trust = cli.workspace + "/trust"
    let saved = cli.root + "/trust-saved"
    try FileManager.default.copyItem(atPath: trust, toPath: saved)
    var ci = try cli.otherMachine()
    ci["KEYWARD_TRUST"] = root1
    let attacks: [(String, [String], String)] = [
      (
        "a new root signed only by its new admin", ["--admin", "mallory=\(mallory)", "--sign", mallory],
        "lacks 1 signature(s) of root 1's admins"
      ),
      (
        "alice's signature adding mallory, who did not sign",
        [
          "--admin", "alice=\(alice)", "--admin", "mallory=\(mallory)", "--sign", alice,
        ], "lacks the signature of mallory"
      ),
      (
        "a skipped version", ["--admin", "alice=\(alice)", "--sign", alice, "--version", "3"],
        "2.json is missing"
      ),
      (
        "a change naming another previous root",
        [
          "--admin", "alice=\(alice)", "--sign", alice, "--previous", String(repeating: "ab", count: 16),
        ], "names abab"
      ),
    ]
    for (what, args, reason) in attacks {
      let forged = try python([forge, cli.workspace] + args)
      #expect(forged.status == 0, "\(forged.output)")
      for env in [[:], ci] {
        for command in [["show", "prod"], ["list"], ["export", "prod"]] {
          let r = try cli.expect(4, command, env: env)
          #expect(r.stderr.contains(reason), "\(what) \(command): \(r.stderr)")
          #expect(!r.stdout.contains("cs_"), "\(what): a secret was printed")
        }
      }
      let read = try python([CLI.packageRoot + "/Tests/Compat/trust_reader.py", cli.workspace, root1])
      #expect(read.status == 1, "\(what): the independent reader accepted it")
      try FileManager.default.removeItem(atPath: trust)
      try FileManager.default.copyItem(atPath: saved, toPath: trust)
      try cli.expect(0, ["show", "prod"])
    }
  }

  @Test("attack: the old root restored from history, or the kept roots deleted, is exit 4")
  func rollbackAndCutHistory() throws {
    let (cli, _, root2, _, other) = try rotated()
    let trust = cli.workspace + "/trust"
    // Restore root 1 and its state (the files before the change) on a machine that saw root 2.
    let after = cli.root + "/trust-root2"
    try FileManager.default.copyItem(atPath: trust, toPath: after)
    try FileManager.default.removeItem(atPath: trust)
    try FileManager.default.copyItem(atPath: cli.root + "/trust-root1", toPath: trust)
    let r = try cli.expect(4, ["show", "prod"])
    #expect(r.stderr.contains("rollback"), "\(r.stderr)")
    try FileManager.default.removeItem(atPath: trust)
    try FileManager.default.copyItem(atPath: after, toPath: trust)
    // A machine still pinned to root 1 cannot follow when the kept root 1 is gone.
    try FileManager.default.removeItem(atPath: trust + "/roots/1.json")
    let cut = try cli.expect(4, ["list"], env: other)
    #expect(cut.stderr.contains("no earlier root kept"), "\(cut.stderr)")
    // This machine, pinned to root 2, needs no history.
    try cli.expect(0, ["show", "prod"])
    #expect(try shown(cli)["root_fingerprint"] as? String == root2)
  }

  @Test(
    "a SIGKILL at each step of publishing a root change leaves a workspace every machine verifies; running again finishes it",
    arguments: ["root-before-state", "root-before-rename"])
  func killedPublication(point: String) throws {
    let (cli, root1) = try base.trusted()
    let bob = try base.newIdentity(cli, "bob")
    let other = try cli.otherMachine()
    try cli.expect(0, ["trust", "pin", root1], env: other)
    try cli.expect(0, ["trust", "rotate-root", "--add-admin", "bob=\(bob.public)"])
    let next = try #require(
      (try shown(cli)["proposed_root"] as? [String: Any])?["root_fingerprint"] as? String)
    let killed = try cli.run(
      ["trust", "rotate-root", "--sign", next],
      env: ["KEYWARD_IDENTITY": bob.file, "KEYWARD_CRASHPOINT": point])
    #expect(killed.signaled && killed.status == SIGKILL)
    try cli.expect(0, ["show", "prod"])
    try cli.expect(0, ["list"], env: other)
    let read = try python([CLI.packageRoot + "/Tests/Compat/trust_reader.py", cli.workspace, root1])
    #expect(read.status == 0, "\(read.output)")
    // A change with every signature is finished, never withdrawn (committed, a withdrawn one
    // would read as a rollback in history).
    let withdrawn = try cli.run(["trust", "rotate-root", "--withdraw"])
    #expect(
      withdrawn.status == 2 && withdrawn.stderr.contains("keyward trust rotate-root"), "\(withdrawn.all)")
    #expect(FileManager.default.fileExists(atPath: cli.workspace + "/trust/root.next.json"))
    try cli.expect(0, ["trust", "rotate-root", "--sign", next], env: ["KEYWARD_IDENTITY": bob.file])
    let now = try shown(cli)
    #expect(now["root_version"] as? Int == 2 && now["proposed_root"] is NSNull)
    #expect(!FileManager.default.fileExists(atPath: cli.workspace + "/trust/root.next.json"))
    #expect(try shown(cli, env: other)["root_version"] as? Int == 2)
    try cli.expect(0, ["audit"])
  }

  @Test(
    "attack: a proposal swapped after review is not signed; a new key under an admin's name is shown as one; a refused re-pin keeps the old pin"
  )
  func reviewedProposalOnly() throws {
    let (cli, root1) = try base.trusted()
    let bob = try base.newIdentity(cli, "bob")
    let mallory = try base.newIdentity(cli, "mallory")
    try cli.expect(0, ["trust", "rotate-root", "--add-admin", "bob=\(bob.public)"])
    let reviewed = try #require(
      (try shown(cli)["proposed_root"] as? [String: Any])?["root_fingerprint"] as? String)
    // Mallory replaces the proposal with one giving her key the name bob, signed by her.
    try FileManager.default.removeItem(atPath: cli.workspace + "/trust/root.next.json")
    try cli.expect(0, ["trust", "rotate-root", "--add-admin", "bob=\(mallory.public)"])
    let swapped = try #require((try shown(cli)["proposed_root"] as? [String: Any]))
    #expect(swapped["root_fingerprint"] as? String != reviewed)
    let refused = try cli.expect(
      4, ["trust", "rotate-root", "--sign", reviewed], env: ["KEYWARD_IDENTITY": bob.file])
    #expect(refused.stderr.contains("not the \(reviewed) you reviewed"), "\(refused.stderr)")
    #expect(try shown(cli)["root_fingerprint"] as? String == root1)
    // A name that stays with another key says so, with both fingerprints.
    try cli.expect(0, ["trust", "rotate-root", "--withdraw"])
    try cli.expect(0, ["trust", "rotate-root", "--add-admin", "bob=\(bob.public)"])
    let bobNext = try #require(
      (try shown(cli)["proposed_root"] as? [String: Any])?["root_fingerprint"] as? String)
    try cli.expect(0, ["trust", "rotate-root", "--sign", bobNext], env: ["KEYWARD_IDENTITY": bob.file])
    try cli.expect(
      0, ["trust", "rotate-root", "--remove-admin", "bob", "--add-admin", "bob=\(mallory.public)"])
    let text = try cli.expect(0, ["trust", "show"]).stdout
    #expect(text.contains("a NEW KEY for the name bob"), "\(text)")
    try cli.expect(0, ["trust", "rotate-root", "--withdraw"])
    // A junk proposal is reported, not fatal, and withdrawn like any other.
    try "junk".write(toFile: cli.workspace + "/trust/root.next.json", atomically: false, encoding: .utf8)
    let junk = try cli.expect(0, ["trust", "show"])
    #expect(junk.stderr.contains("--withdraw"))
    try cli.expect(0, ["trust", "rotate-root", "--withdraw"])
    // trust pin --replace with a fingerprint that does not verify keeps the old pin.
    let pinned = try shown(cli)["root_fingerprint"] as? String
    try cli.expect(4, ["trust", "pin", String(repeating: "0", count: 32), "--replace"])
    let after = try shown(cli)
    #expect(after["root_fingerprint"] as? String == pinned && after["pinned"] as? Bool == true)
  }

  @Test(
    "a machine that follows a root change while it records an activation keeps the new pin (no later rollback)"
  )
  func pinMovesWithActivation() throws {
    let (cli, _) = try base.trusted()
    // Alice's key store as it is before the change: a deploy machine with prod's key, pinned to root 1.
    let deploy = cli.root + "/deploy-keys"
    try FileManager.default.copyItem(atPath: cli.root + "/keys", toPath: deploy)
    let snapshot = cli.root + "/trust-root1"
    try FileManager.default.copyItem(atPath: cli.workspace + "/trust", toPath: snapshot)
    // A new prod set is activated (a newer manifest the deploy machine has not seen), then the root changes.
    CLI.registerSecret("cs_prod_SECRET_after_snapshot")
    try cli.expect(
      0, ["set", "prod", "--stdin", "--replace"],
      stdin: "ck_prod_after_snapshot\ncs_prod_SECRET_after_snapshot\n")
    let bob = try base.newIdentity(cli, "bob")
    try cli.expect(0, ["trust", "rotate-root", "--add-admin", "bob=\(bob.public)"])
    let next = try #require(
      (try shown(cli)["proposed_root"] as? [String: Any])?["root_fingerprint"] as? String)
    try cli.expect(0, ["trust", "rotate-root", "--sign", next], env: ["KEYWARD_IDENTITY": bob.file])
    // The deploy machine exports (which records the activation it saw) and follows the change.
    let env = ["KEYWARD_KEYS_DIR": deploy]
    try cli.expect(0, ["export", "prod"], env: env)
    // Its pin record (read as a file: a reading command would follow the change again) names root 2.
    let pins = try FileManager.default.contentsOfDirectory(atPath: deploy + "/pins")
    let pin = try base.readJSON(deploy + "/pins/" + (try #require(pins.first)))
    #expect(pin["fingerprint"] as? String == next && pin["root_version"] as? Int == 2, "\(pin)")
    // Root 1 and its state restored by a repository writer: a rollback there now.
    try FileManager.default.removeItem(atPath: cli.workspace + "/trust")
    try FileManager.default.copyItem(atPath: snapshot, toPath: cli.workspace + "/trust")
    let r = try cli.expect(4, ["list"], env: env)
    #expect(r.stderr.contains("rollback"), "\(r.stderr)")
  }

  @Test(
    "attack: a former admin restores the root the admins signed away, with its state and set: a fresh CI machine given that root's fingerprint refuses to deploy (git history); a made-up successor in history stops nothing"
  )
  func rootRollbackOnFreshMachine() throws {
    let (cli, root1) = try base.trusted()
    try base.commitWorkspace(cli)
    let oldSecret = try prodSecret(cli)
    // A writer commits a root of version 2 that root 1's admins never signed, then takes it out
    // again: it is no successor, and deploys go on.
    let mallory = try base.newIdentity(cli, "mallory").file
    let forge = CLI.packageRoot + "/Tests/Compat/forge_root.py"
    let forged = try python([forge, cli.workspace, "--admin", "mallory=\(mallory)", "--sign", mallory])
    #expect(forged.status == 0, "\(forged.output)")
    try base.git(cli, ["add", "-A", "Environments"])
    try base.git(cli, ["commit", "-q", "-m", "a made-up root"])
    try base.restoreWorkspace(cli, from: "HEAD~1", message: "take it out")
    let calm = try cli.expect(
      0, ["export", "prod"], env: try base.ciProdMachine(cli, "ci-calm", root: root1))
    #expect(calm.stdout.contains(oldSecret) && !calm.stderr.contains("root version 2"), "\(calm.all)")
    let (_, root2) = try handOverToBob(cli)
    // A CI machine still given root 1's fingerprint follows the signed change and deploys bob's set.
    let before = try cli.expect(
      0, ["export", "prod"], env: try base.ciProdMachine(cli, "ci-before", root: root1))
    #expect(before.stdout.contains("cs_prod_SECRET_newer"), "\(before.all)")
    // Alice, who can still push, restores the workspace as it was under root 1: her root, her
    // state, her manifest and the set she chose. Every signature in it is valid under root 1.
    try base.restoreWorkspace(cli, from: "HEAD~3", message: "restore")
    for args in [["export", "prod"], ["run", "prod", "--", "/usr/bin/env"], ["show", "prod", "--reveal"]] {
      let r = try cli.expect(4, args, env: try base.ciProdMachine(cli, "ci-\(args[0])", root: root1))
      #expect(
        r.stderr.contains("rollback") && r.stderr.contains("root version 2 (\(root2)"), "\(args): \(r.stderr)"
      )
      #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"), "\(args)")
    }
    // A machine given root 2 already refused the older root.
    let pinned = try cli.run(["export", "prod"], env: try base.ciProdMachine(cli, "ci-root2", root: root2))
    #expect(pinned.status == 4 && !pinned.all.contains(oldSecret), "\(pinned.all)")
  }

  @Test(
    "attack: a former admin signs a root change of her own from the root she was removed from, beside her older workspace: a fresh CI machine given that root refuses the fork (git history)"
  )
  func forkedRootOnFreshMachine() throws {
    let (cli, root1, root2, oldSecret) = try handedOverToBob()
    try aliceForks(cli, from: "HEAD~1")
    for args in [["export", "prod"], ["show", "prod", "--reveal"]] {
      let r = try cli.expect(4, args, env: try base.ciProdMachine(cli, "ci-\(args[0])", root: root1))
      #expect(
        r.stderr.contains("2 different trust roots of version 2") && r.stderr.contains(root2),
        "\(args): \(r.stderr)")
      #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"), "\(args)")
    }
  }

  @Test(
    "attack: a writer with no key commits root 2's payload without its signatures, then restores the root 1 workspace: the unsigned copy does not hide the signed root 2 from a fresh CI machine"
  )
  func unsignedRootCopyOnFreshMachine() throws {
    let (cli, root1, root2, oldSecret) = try handedOverToBob()
    var copy = try base.readJSON(cli.workspace + "/trust/root.json")
    copy["signatures"] = [Any]()
    try base.writeJSON(copy, cli.workspace + "/trust/root.json")
    try base.git(cli, ["commit", "-q", "-a", "-m", "tidy"])
    try base.restoreWorkspace(cli, from: "HEAD~2", message: "restore")
    let r = try cli.expect(4, ["export", "prod"], env: try base.ciProdMachine(cli, "ci", root: root1))
    #expect(r.stderr.contains("holds root version 2 (\(root2)"), "\(r.stderr)")
    #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"))
  }

  @Test(
    "attack: a pinned machine, offline through a root change, meets the removed admin's own root change beside her restored workspace: its pin follows neither root, on every run"
  )
  func forkedRootOnPinnedMachine() throws {
    let (cli, root1, pinned, oldSecret) = try committedWithPinnedHost()
    var online = pinned
    online["KEYWARD_KEYS_DIR"] = cli.root + "/online-keys"
    try FileManager.default.createDirectory(
      atPath: cli.root + "/online-keys", withIntermediateDirectories: true)
    chmod(cli.root + "/online-keys", 0o700)
    try cli.expect(0, ["trust", "pin", root1], env: online)
    let (_, root2) = try handOverToBob(cli)
    // A pinned machine that runs now follows the signed change (one chain in history).
    let followed = try cli.expect(0, ["export", "prod"], env: online)
    #expect(
      followed.stdout.contains("cs_prod_SECRET_newer")
        && followed.stderr.contains("changed from \(root1) to \(root2)"),
      "\(followed.all)")
    try aliceForks(cli, from: "HEAD~1")
    for args in [["export", "prod"], ["export", "prod"], ["list"]] {
      let r = try cli.expect(4, args, env: pinned)
      #expect(
        r.stderr.contains("pinned trust root \(root1)") && r.stderr.contains("2 different roots of version 2")
          && r.stderr.contains(root2), "\(args): \(r.stderr)")
      #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"), "\(args)")
    }
  }

  @Test(
    "attack: the removed admin's fork, with a flood of files named as kept roots to blind the history: a pinned machine offline through the change does not follow, on every run"
  )
  func floodedRootOnPinnedMachine() throws {
    let (cli, root1, pinned, oldSecret) = try committedWithPinnedHost()
    _ = try handOverToBob(cli)
    try aliceForks(cli, from: "HEAD~1")
    let roots = cli.workspace + "/trust/roots"
    for n in 100..<1200 { try Data("\(n)".utf8).write(to: URL(fileURLWithPath: "\(roots)/\(n).json")) }
    try base.git(cli, ["add", "-A", "Environments"])
    try base.git(cli, ["commit", "-q", "-m", "vendor"])
    for n in 100..<1200 { try FileManager.default.removeItem(atPath: "\(roots)/\(n).json") }
    try base.git(cli, ["commit", "-q", "-a", "-m", "unvendor"])
    for args in [["export", "prod"], ["export", "prod"]] {
      let r = try cli.expect(4, args, env: pinned)
      #expect(
        r.stderr.contains("pinned trust root \(root1)") && r.stderr.contains("the pin does not follow"),
        "\(args): \(r.stderr)")
      #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"))
    }
  }

  @Test(
    "attack: the removed admin's fork, deployed from a shallow clone (the CI default) by a host whose pin is kept: the pin does not follow, and a full clone then refuses the fork"
  )
  func forkedRootOnShallowClone() throws {
    let (cli, root1) = try base.trusted()
    try base.commitWorkspace(cli)
    let clone = cli.root + "/deploy"
    func cloneAgain(depth: Int?) throws {
      try? FileManager.default.removeItem(atPath: clone)
      try base.git(
        cli, ["clone", "-q"] + (depth.map { ["--depth", "\($0)"] } ?? []) + ["file://" + cli.root, clone])
    }
    try cloneAgain(depth: nil)
    var host = try cli.otherMachine()
    let w = ["--workspace", clone + "/Environments"]
    try cli.expect(0, ["trust", "pin", root1] + w, env: host)
    host["KEYWARD_PRIVATE_KEY_PROD"] = try base.secretKey(cli, "prod")
    let oldSecret = try prodSecret(cli)
    #expect(try cli.expect(0, ["export", "prod"] + w, env: host).stdout.contains(oldSecret))
    _ = try handOverToBob(cli)
    try aliceForks(cli, from: "HEAD~1")
    try cloneAgain(depth: 1)
    for _ in 0..<2 {
      let r = try cli.expect(4, ["export", "prod"] + w, env: host)
      #expect(
        r.stderr.contains("shallow clone") && r.stderr.contains("the pin does not follow"), "\(r.stderr)")
      #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"))
    }
    try cloneAgain(depth: nil)
    let full = try cli.expect(4, ["export", "prod"] + w, env: host)
    #expect(full.stderr.contains("2 different roots of version 2"), "\(full.stderr)")
  }

  @Test(
    "a root change that removes the admin who activated every set keeps them deployable: the publishing admin signs those manifests anew"
  )
  func removedAdminsManifests() throws {
    let (cli, _) = try base.trusted()
    let oldSecret = try prodSecret(cli)
    let (_, root2) = try rotateToBob(cli)
    let ci = try base.ciProdMachine(cli, "ci", root: root2)
    let r = try cli.expect(0, ["export", "prod"], env: ci)
    #expect(r.stdout.contains(oldSecret) && !r.stderr.contains("forged"), "\(r.all)")
    for env in ["dev", "staging", "prod"] {
      let m = try base.manifestPayload(cli.workspace + "/trust/active/\(env).json")
      #expect(m["activated_by"] as? String == "bob", "\(env): \(m)")
    }
  }

  @Test(
    "attack: two root changes published before one commit (root 2 only in trust/roots/), then the older workspace restored: a fresh CI machine given root 1 refuses it"
  )
  func twoRootChangesInOneCommit() throws {
    let (cli, root1) = try base.trusted()
    try base.commitWorkspace(cli)
    let oldSecret = try prodSecret(cli)
    let (bob, _) = try rotateToBob(cli)
    let carol = try base.newIdentity(cli, "carol")
    try cli.expect(
      0, ["trust", "rotate-root", "--add-admin", "carol=\(carol.public)"], env: ["KEYWARD_IDENTITY": bob.file]
    )
    let root3 = try #require(
      (try shown(cli)["proposed_root"] as? [String: Any])?["root_fingerprint"] as? String)
    try cli.expect(0, ["trust", "rotate-root", "--sign", root3], env: ["KEYWARD_IDENTITY": carol.file])
    try base.promoteAndCommit(cli, "newer", env: ["KEYWARD_IDENTITY": bob.file])
    try base.restoreWorkspace(cli, from: "HEAD~1", message: "restore")
    let r = try cli.expect(4, ["export", "prod"], env: try base.ciProdMachine(cli, "ci", root: root1))
    #expect(r.stderr.contains("holds root version 3 (\(root3)"), "\(r.stderr)")
    #expect(!r.all.contains(oldSecret) && !r.all.contains("cs_prod_SECRET_newer"))
  }

  /// Alice's workspace, committed, and a deploy host (its own key store, prod's key) that pinned
  /// root 1 and deployed prod once: the CLI, root 1, the host's environment and prod's secret.
  func committedWithPinnedHost() throws -> (CLI, String, [String: String], String) {
    let (cli, root1) = try base.trusted()
    try base.commitWorkspace(cli)
    var pinned = try cli.otherMachine()
    try cli.expect(0, ["trust", "pin", root1], env: pinned)
    pinned["KEYWARD_PRIVATE_KEY_PROD"] = try base.secretKey(cli, "prod")
    let oldSecret = try prodSecret(cli)
    #expect(try cli.expect(0, ["export", "prod"], env: pinned).stdout.contains(oldSecret))
    return (cli, root1, pinned, oldSecret)
  }

  /// prod's active App Secret, as `show --reveal` prints it.
  func prodSecret(_ cli: CLI) throws -> String {
    try #require(
      try cli.expect(0, ["show", "prod", "--reveal", "-q"]).stdout.split(separator: "\n").last.map(
        String.init))
  }

  /// Alice makes a new identity, bob, the only admin: root 2, signed by her and by him. Bob's
  /// identity and root 2's fingerprint.
  func rotateToBob(_ cli: CLI) throws -> (bob: (file: String, public: String), root2: String) {
    let bob = try base.newIdentity(cli, "bob")
    try cli.expect(
      0, ["trust", "rotate-root", "--add-admin", "bob=\(bob.public)", "--remove-admin", "alice"])
    let root2 = try #require(
      (try shown(cli)["proposed_root"] as? [String: Any])?["root_fingerprint"] as? String)
    try cli.expect(0, ["trust", "rotate-root", "--sign", root2], env: ["KEYWARD_IDENTITY": bob.file])
    return (bob, root2)
  }

  /// Alice hands the workspace to a new admin, bob (`rotateToBob`). Bob then promotes a new prod
  /// set, and the workspace is committed. Bob's identity file and root 2's fingerprint.
  func handOverToBob(_ cli: CLI) throws -> (bob: String, root2: String) {
    let (bob, root2) = try rotateToBob(cli)
    try base.promoteAndCommit(cli, "newer", env: ["KEYWARD_IDENTITY": bob.file])
    return (bob.file, root2)
  }

  /// Alice's workspace, committed, then handed over to bob (`handOverToBob`): the CLI, root 1,
  /// root 2 and prod's secret under root 1.
  func handedOverToBob() throws -> (CLI, String, String, String) {
    let (cli, root1) = try base.trusted()
    try base.commitWorkspace(cli)
    let oldSecret = try prodSecret(cli)
    let (_, root2) = try handOverToBob(cli)
    return (cli, root1, root2, oldSecret)
  }

  /// Alice, removed but able to push, restores the workspace as commit `rev` held it and signs,
  /// as root 1's only admin, a root 2 of her own, in a commit.
  func aliceForks(_ cli: CLI, from rev: String) throws {
    try base.restoreWorkspace(cli, from: rev, message: "restore")
    let alice = cli.root + "/keys/identity"
    let forge = CLI.packageRoot + "/Tests/Compat/forge_root.py"
    let forged = try python([forge, cli.workspace, "--admin", "alice=\(alice)", "--sign", alice])
    #expect(forged.status == 0, "\(forged.output)")
    try base.git(cli, ["add", "-A", "Environments"])
    try base.git(cli, ["commit", "-q", "-m", "routine"])
  }
}
