import Foundation
import Testing

@testable import KeywardCore

@Suite("workspace and store")
struct StoreTests {
  @Test(
    "records keyed by a file's identity are kept only on file systems whose change times nobody sets back")
  func changeTimesKept() {
    // procfs, sysfs and a path that is not there: no; the mounts of this machine say the rest.
    #expect(!FileSystem.keepsChangeTimes("/proc/self"))
    #expect(!FileSystem.keepsChangeTimes("/sys"))
    #expect(!FileSystem.keepsChangeTimes("/no/such/path/\(UUID().uuidString)"))
    let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
    for line in mounts.split(separator: "\n") {
      let f = line.split(separator: " ")
      guard f.count > 2, ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "9p"].contains(String(f[2])) else {
        continue
      }
      #expect(!FileSystem.keepsChangeTimes(String(f[1])), "\(f[1]) (\(f[2]))")
    }
  }

  @Test("init writes the config, public environment files and 0600 private keys")
  func initLayout() throws {
    let s = try ScratchWorkspace()
    let ws = try s.workspace
    #expect(ws.config.environmentNames == ["dev", "prod", "staging"])
    #expect(ws.isProduction("prod") && !ws.isProduction("dev"))
    for env in ["dev", "staging", "prod"] {
      let key = try s.keyPath(env)
      #expect(FileSystem.mode(key) == 0o600)
      #expect(FileSystem.mode((key as NSString).deletingLastPathComponent) == 0o700)
      let file = try ws.loadEnvironment(env)
      #expect(file.sets.isEmpty)
      let text = try String(contentsOfFile: "\(s.path)/\(env).json", encoding: .utf8)
      #expect(!text.contains("kwsk1:"))
    }
  }

  @Test("init again adds environments and leaves existing ones alone")
  func initAdds() throws {
    let s = try ScratchWorkspace(envs: ["dev"])
    try s.set("dev", "ck_dev_1234567890", "cs_dev_abcdefghij")
    let before = try s.workspace.loadEnvironment("dev")
    let report = try InitOperation.run(
      .init(path: s.path, environments: ["dev", "qa"], provider: .captchala, environment: s.environment))
    #expect(report.environments.map(\.status) == ["exists", "created"])
    #expect(try s.workspace.loadEnvironment("dev") == before)
    #expect(try s.workspace.config.environmentNames == ["dev", "qa"])
    expectError(.input, ["uses provider captchala"]) {
      _ = try InitOperation.run(
        .init(path: s.path, environments: ["x"], provider: .turnstile, environment: s.environment))
    }
    expectError(.input, ["not a valid environment name"]) {
      _ = try InitOperation.run(
        .init(path: s.path, environments: ["Prod!"], provider: .captchala, environment: s.environment))
    }
  }

  @Test("init on a non-CaptchaLa workspace adds environments without repeating --provider")
  func initKeepsProvider() throws {
    let root = try temporaryDirectory("prov")
    let env = Env(["KEYWARD_KEYS_DIR": "\(root)/keys"])
    _ = try InitOperation.run(
      .init(path: "\(root)/E", environments: ["dev"], provider: .turnstile, environment: env))
    let r = try InitOperation.run(.init(path: "\(root)/E", environments: ["qa"], environment: env))
    #expect(r.provider == .turnstile)
    #expect(try Workspace.open("\(root)/E").config.environmentNames == ["dev", "qa"])
  }

  @Test("names that would share a CI variable are refused")
  func variableClash() throws {
    let s = try ScratchWorkspace(envs: ["eu-west"])
    expectError(.input, ["\"eu-west\" and \"eu_west\" would share KEYWARD_PRIVATE_KEY_EU_WEST"]) {
      _ = try InitOperation.run(.init(path: s.path, environments: ["eu_west"], environment: s.environment))
    }
  }

  @Test("an interrupted init is completed by the next one: orphan key, orphan environment file")
  func initAdoptsOrphans() throws {
    let s = try ScratchWorkspace(envs: ["dev"])
    let ws = try s.workspace
    // As if init was killed after writing qa's key (and, for uat, its environment file too).
    for name in ["qa", "uat"] {
      let key = try PrivateKey.generate()
      let path = KeySource.storePath(
        workspaceID: ws.config.workspaceID, environment: name, env: s.environment)
      try KeyFile.write(
        KeyFile.render(key, environment: name, workspaceID: ws.config.workspaceID, passphrase: nil), to: path)
      if name == "uat" {
        let file = EnvironmentFile(
          format: EnvironmentFile.formatName, version: 1, environment: name,
          recipient: Recipient(
            publicKey: key.publicKey.base64, keyID: key.publicKey.fingerprint, created: .now()),
          sets: [])
        try FileSystem.writeAtomically("\(s.path)/uat.json", bytes: file.json.written())
      }
    }
    let r = try InitOperation.run(
      .init(path: s.path, environments: ["qa", "uat"], environment: s.environment))
    #expect(r.environments.map(\.status) == ["adopted", "adopted"])
    try s.set("qa", "ck_qa_1234567890", "cs_qa_abcdefghij")
    #expect(try s.open("qa").appSecret.testString == "cs_qa_abcdefghij")
    try s.set("uat", "ck_uat_1234567890", "cs_uat_abcdefghij")
    #expect(try s.open("uat").appSecret.testString == "cs_uat_abcdefghij")
  }

  @Test("members a later version added survive a rewrite")
  func unknownMembersKept() throws {
    let s = try ScratchWorkspace(envs: ["prod"])
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let file = "\(s.path)/prod.json"
    var doc = try JSONValue.parse(FileSystem.read(file), source: file)
    guard case .object(var top) = doc, case .array(var sets)? = top["sets"], case .object(var set0) = sets[0]
    else {
      Issue.record("unexpected shape")
      return
    }
    top["future_top"] = .string("kept")
    set0["future_set"] = .number(42)
    sets[0] = .object(set0)
    top["sets"] = .array(sets)
    doc = .object(top)
    try FileSystem.writeAtomically(file, bytes: doc.written())
    try s.set("prod", "ck_live_0987654321", "cs_live_jihgfedcba", state: .pending)
    let after = String(decoding: try FileSystem.read(file), as: UTF8.self)
    #expect(after.contains("\"future_top\" : \"kept\""))
    #expect(after.contains("\"future_set\" : 42"))
  }

  @Test("a key file is never replaced")
  func keyNoClobber() throws {
    let s = try ScratchWorkspace(envs: ["prod"])
    let path = try s.keyPath("prod")
    let before = try FileSystem.read(path)
    let other = try PrivateKey.generate()
    expectError(.io, ["already exists; refusing to replace it"]) {
      try KeyFile.write(
        KeyFile.render(other, environment: "prod", workspaceID: "0123456789abcdef", passphrase: nil), to: path
      )
    }
    #expect(try FileSystem.read(path) == before)
    #expect(FileSystem.listDirectory(Path.directory(path)).allSatisfy { !$0.contains(".tmp-") })
  }

  @Test("set seals without a private key; show opens with it")
  func setAndOpen() throws {
    let s = try ScratchWorkspace()
    let r = try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let text = try String(contentsOfFile: "\(s.path)/prod.json", encoding: .utf8)
    #expect(!text.contains("ck_live_1234567890") && !text.contains("cs_live_abcdefghij"))
    let o = try s.open("prod")
    #expect(o.set.id == r.setID)
    #expect(o.appKey.testString == "ck_live_1234567890")
    #expect(o.appSecret.testString == "cs_live_abcdefghij")
    #expect(o.keyOrigin.hasSuffix("prod.key"))
  }

  @Test("a second active set needs --replace; the same pair twice is refused")
  func activeRules() throws {
    let s = try ScratchWorkspace()
    let first = try s.set("prod", "ck_live_1111111111", "cs_live_1111111111")
    expectError(
      .input, ["already has an active set (\(first.setID))", #"rotateOrReplace(environment: "prod")"#]
    ) {
      try s.set("prod", "ck_live_2222222222", "cs_live_2222222222")
    }
    expectError(.input, ["already stored in prod as set \(first.setID)"]) {
      try s.set("prod", "ck_live_1111111111", "cs_live_1111111111", replace: true)
    }
    let second = try s.set("prod", "ck_live_2222222222", "cs_live_2222222222", replace: true)
    #expect(second.replaced == first.setID)
    #expect(try s.workspace.loadEnvironment("prod").sets.map(\.id) == [second.setID])
    let pending = try s.set("prod", "ck_live_3333333333", "cs_live_3333333333", state: .pending)
    #expect(try s.open("prod", .pending).set.id == pending.setID)
    #expect(try s.open("prod", .id(String(pending.setID.prefix(4)))).set.id == pending.setID)
  }

  @Test("list needs no private key and reports ages")
  func list() throws {
    let s = try ScratchWorkspace()
    try s.set("dev", "ck_dev_1234567890", "cs_dev_abcdefghij")
    try FileManager.default.removeItem(atPath: s.keysDir)
    let report = try ListOperation.run(workspace: s.workspace)
    #expect(report.environments.map(\.name) == ["dev", "prod", "staging"])
    #expect(report.environments[0].sets.count == 1)
    #expect(report.environments[0].sets[0].ageDays == 0)
  }

  // MARK: bad input: a clear error, the right kind, nothing written

  @Test("a truncated environment file names the file")
  func truncated() throws {
    let s = try ScratchWorkspace()
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let file = "\(s.path)/prod.json"
    let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
    expectError(.input, ["prod.json", "not valid JSON"]) { _ = try s.workspace.loadEnvironment("prod") }
    try Data().write(to: URL(fileURLWithPath: file))
    expectError(.input, ["prod.json", "empty"]) { _ = try s.workspace.loadEnvironment("prod") }
  }

  @Test("a wrong type names the field")
  func wrongType() throws {
    let s = try ScratchWorkspace()
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let file = "\(s.path)/prod.json"
    var json =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
    var sets = json["sets"] as! [[String: Any]]
    sets[0]["app_key"] = 42
    json["sets"] = sets
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: file))
    expectError(.input, ["prod.json", "sets[0].app_key", "expected a string"]) {
      _ = try s.workspace.loadEnvironment("prod")
    }
  }

  @Test("an unknown format version says to upgrade")
  func newerVersion() throws {
    let s = try ScratchWorkspace()
    try s.edit("prod") { $0.version = 2 }
    expectError(.input, ["prod.json", "format version 2 is newer", "upgrade keyward"]) {
      _ = try s.workspace.loadEnvironment("prod")
    }
  }

  @Test("a flipped byte inside a ciphertext is an integrity error naming the place")
  func flippedByte() throws {
    let s = try ScratchWorkspace()
    let r = try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    try s.edit("prod") {
      var raw = Sodium.unbase64(String($0.sets[0].appSecret.dropFirst(4)))!
      raw[raw.count - 5] ^= 0x10
      $0.sets[0].appSecret = "kw1:" + Sodium.base64(raw)
    }
    expectError(.integrity, ["prod.json", "prod/\(r.setID)/app_secret", "failed authentication"]) {
      _ = try s.open("prod")
    }
  }

  @Test("a ciphertext moved to the other field or another set says where it came from")
  func movedWithinEnvironment() throws {
    let s = try ScratchWorkspace()
    let a = try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let b = try s.set("prod", "ck_live_0987654321", "cs_live_jihgfedcba", state: .pending)
    try s.edit("prod") { $0.sets[0].appKey = $0.sets[0].appSecret }
    expectError(.integrity, ["prod/\(a.setID)/app_key", "sealed for prod/\(a.setID)/app_secret"]) {
      _ = try s.open("prod")
    }
    try s.edit("prod") { $0.sets[0].appKey = $0.sets[1].appKey }
    expectError(.integrity, ["prod/\(a.setID)/app_key", "sealed for prod/\(b.setID)/app_key"]) {
      _ = try s.open("prod")
    }
  }

  @Test("a ciphertext copied from another environment is caught without any private key")
  func movedAcrossEnvironments() throws {
    let s = try ScratchWorkspace()
    try s.set("staging", "ck_stg_1234567890", "cs_stg_abcdefghij")
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let staging = try s.workspace.loadEnvironment("staging")
    try s.edit("prod") { $0.sets[0].appSecret = staging.sets[0].appSecret }
    expectError(
      .integrity, ["sets[0].app_secret", "sealed to key \(staging.recipient.keyID)", "another environment"]
    ) {
      _ = try ListOperation.run(workspace: s.workspace)
    }
  }

  @Test("a plaintext value in the store is an integrity error")
  func plaintextValue() throws {
    let s = try ScratchWorkspace()
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    try s.edit("prod") { $0.sets[0].appSecret = "cs_live_abcdefghij" }
    expectError(.integrity, ["sets[0].app_secret", "not encrypted"]) {
      _ = try s.workspace.loadEnvironment("prod")
    }
  }

  @Test("an edited fingerprint or key id is detected")
  func editedMetadata() throws {
    let s = try ScratchWorkspace()
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    try s.edit("prod") { $0.sets[0].fingerprints.appKey = "0000000000000000" }
    expectError(.integrity, ["stored fingerprint 0000000000000000 does not match"]) { _ = try s.open("prod") }
    try s.edit("prod") { $0.recipient.keyID = "0000000000000000" }
    expectError(.integrity, ["key_id 0000000000000000 does not match"]) {
      _ = try s.workspace.loadEnvironment("prod")
    }
  }

  @Test("a file renamed to another environment is refused")
  func renamed() throws {
    let s = try ScratchWorkspace()
    try FileManager.default.removeItem(atPath: "\(s.path)/prod.json")
    try FileManager.default.copyItem(atPath: "\(s.path)/staging.json", toPath: "\(s.path)/prod.json")
    expectError(.integrity, ["belongs to environment \"staging\""]) {
      _ = try s.workspace.loadEnvironment("prod")
    }
  }

  @Test("an unknown environment and a missing file are input errors with a way out")
  func missing() throws {
    let s = try ScratchWorkspace()
    expectError(.input, ["no environment \"qa\"", "known: dev, prod, staging", #"addEnvironment("qa")"#]) {
      _ = try s.workspace.loadEnvironment("qa")
    }
    try FileManager.default.removeItem(atPath: "\(s.path)/staging.json")
    expectError(.input, ["staging.json is missing"]) { _ = try s.workspace.loadAll() }
    expectError(.input, ["no keyward workspace at"]) { _ = try Workspace.open("\(s.root)/nowhere") }
  }

  // MARK: private keys

  @Test("lookup order: --key-file, then the environment variable, then the store")
  func keyLookup() throws {
    let s = try ScratchWorkspace()
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let keyText = try String(contentsOfFile: s.keyPath("prod"), encoding: .utf8)
    let kwsk = keyText.split(separator: "\n").first { $0.hasPrefix("secret-key: ") }!.dropFirst(12)
    let ws = try s.workspace
    let viaEnv = try OpenOperation.run(
      workspace: ws, environment: "prod", selector: .active,
      keys: KeySource(environment: [
        "KEYWARD_PRIVATE_KEY_PROD": String(kwsk), "KEYWARD_KEYS_DIR": "/nonexistent",
      ]))
    #expect(viaEnv.keyOrigin == "$KEYWARD_PRIVATE_KEY_PROD")
    // --key-file wins over the variable.
    let devKey = try s.keyPath("dev")
    expectError(
      .integrity, ["wrong private key for environment \"prod\"", "expected key", "from key file"]
    ) {
      _ = try OpenOperation.run(
        workspace: ws, environment: "prod", selector: .active,
        keys: KeySource(keyFile: devKey, environment: ["KEYWARD_PRIVATE_KEY_PROD": String(kwsk)]))
    }
    expectError(.integrity, ["no private key for environment \"prod\"", "KEYWARD_PRIVATE_KEY_PROD"]) {
      _ = try OpenOperation.run(
        workspace: ws, environment: "prod", selector: .active,
        keys: KeySource(environment: ["KEYWARD_KEYS_DIR": "/nonexistent"]))
    }
  }

  @Test("hardening makes the process not dumpable (no core file, no ptrace by the same user)")
  func notDumpable() {
    ProcessHardening.apply()
    #if os(Linux)
      #expect(!ProcessHardening.isDumpable)
    #endif
  }

  @Test("a file that is a link, a FIFO or a folder is refused by the workspace reader, and never blocks")
  func irregularFiles() throws {
    let dir = try temporaryDirectory("irregular")
    try "{}".write(toFile: "\(dir)/real.json", atomically: false, encoding: .utf8)
    symlink("\(dir)/real.json", "\(dir)/link.json")
    mkfifo("\(dir)/fifo.json", 0o644)
    expectError(.input, ["link.json is a symbolic link"]) { _ = try FileSystem.read("\(dir)/link.json") }
    expectError(.input, ["fifo.json is a FIFO"]) { _ = try FileSystem.read("\(dir)/fifo.json") }
    expectError(.input, ["is a folder"]) { _ = try FileSystem.read(dir) }
    #expect(try FileSystem.read("\(dir)/real.json") == Array("{}".utf8))
    // A dangling link is something, not nothing.
    symlink("\(dir)/nowhere", "\(dir)/dangling")
    #expect(FileSystem.exists("\(dir)/dangling"))
    #expect(FileSystem.irregularKind("\(dir)/dangling") == "a symbolic link")
  }

  @Test("a key file readable by group or others is refused like ssh does")
  func keyFileMode() throws {
    let s = try ScratchWorkspace()
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    for mode: mode_t in [0o640, 0o604, 0o644] {
      chmod(try s.keyPath("prod"), mode)
      expectError(.integrity, ["UNPROTECTED PRIVATE KEY FILE", "0\(String(mode, radix: 8))", "chmod 600"]) {
        _ = try s.open("prod")
      }
    }
  }

  @Test("a passphrase-protected store: the right passphrase opens, a wrong one says so")
  func passphrase() throws {
    let s = try ScratchWorkspace(envs: ["prod"], passphrase: SecureBytes(unsafeString: "hunter2-hunter2"))
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    let ws = try s.workspace
    let dir = try temporaryDirectory("pp")
    try "hunter2-hunter2\n".write(toFile: "\(dir)/good", atomically: false, encoding: .utf8)
    try "hunter3\n".write(toFile: "\(dir)/bad", atomically: false, encoding: .utf8)
    // Passphrase files are held to the key files' rule: this user's alone.
    chmod("\(dir)/good", 0o600)
    chmod("\(dir)/bad", 0o600)
    let ok = try OpenOperation.run(
      workspace: ws, environment: "prod", selector: .active,
      keys: KeySource(passphraseFile: "\(dir)/good", environment: s.environment))
    #expect(ok.appSecret.testString == "cs_live_abcdefghij")
    expectError(.integrity, ["wrong passphrase"]) {
      _ = try OpenOperation.run(
        workspace: ws, environment: "prod", selector: .active,
        keys: KeySource(passphraseFile: "\(dir)/bad", environment: s.environment))
    }
    expectError(.integrity, ["passphrase", "advice: passphraseFile"]) {
      _ = try OpenOperation.run(
        workspace: ws, environment: "prod", selector: .active, keys: KeySource(environment: s.environment))
    }
  }

  // MARK: atomic writes

  @Test("an atomic write leaves no temporary file and keeps the mode")
  func atomicWrite() throws {
    let dir = try temporaryDirectory("aw")
    let path = "\(dir)/f.json"
    try FileSystem.writeAtomically(path, bytes: Array("one".utf8), mode: 0o600, forceMode: true)
    try FileSystem.writeAtomically(path, bytes: Array("two".utf8))
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "two")
    #expect(FileSystem.mode(path) == 0o600)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["f.json"])
  }

  @Test("a lazy install replaces a file, a link (not what it points to) or nothing, and leaves no temporary")
  func lazyInstall() throws {
    let dir = try temporaryDirectory("lazy")
    let path = "\(dir)/seen.json"
    for round in ["new", "over a file", "again"] {
      try StagedFile(path, mode: 0o600, forceMode: true, bytes: Array(round.utf8)).installLazily()
      #expect(try String(contentsOfFile: path, encoding: .utf8) == round)
      #expect(FileSystem.mode(path) == 0o600)
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["seen.json"])
    }
    // A link in its place is replaced by the file; its target is not written through.
    try "outside".write(toFile: "\(dir)/target", atomically: false, encoding: .utf8)
    try FileSystem.remove(path)
    #expect(symlink("\(dir)/target", path) == 0)
    try StagedFile(path, mode: 0o600, forceMode: true, bytes: Array("mine".utf8)).installLazily()
    #expect(FileSystem.irregularKind(path) == nil)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "mine")
    #expect(try String(contentsOfFile: "\(dir)/target", encoding: .utf8) == "outside")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["seen.json", "target"])
  }

  @Test("stale temporaries of dead processes are cleaned under the lock")
  func staleTemporaries() throws {
    let s = try ScratchWorkspace()
    let stale = "\(s.path)/.prod.json.tmp-999999-deadbeef"
    try "partial".write(toFile: stale, atomically: false, encoding: .utf8)
    try s.set("prod", "ck_live_1234567890", "cs_live_abcdefghij")
    #expect(!FileSystem.exists(stale))
  }
}
