import Foundation
import TestFolders
import Testing

/// A deploy's record of the signed state it verified (`VerifiedDeploy`): used while keyward.json
/// and the state are the very files it was made from, and never once a writer changed either,
/// whatever the writer puts back (size, modification time, the old bytes).
@Suite("trust: a deploy's record of the state it verified")
struct VerifiedDeployTests {
  /// The files' change time must be two seconds old before a record is made (git's racily-clean
  /// rule); this waits that long once the files are written.
  func settle() { Thread.sleep(forTimeInterval: 2.3) }

  func record(_ cli: CLI, _ env: String) throws -> String? {
    let folder = cli.root + "/keys/state-verified"
    let stems = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return stems.map { "\(folder)/\($0)/\(env)" }.first { FileManager.default.fileExists(atPath: $0) }
  }

  /// Writes `bytes` over the file in place (same inode), then puts its modification time back.
  func editInPlace(_ path: String, _ bytes: Data) throws {
    var st = stat()
    #expect(stat(path, &st) == 0)
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.truncate(atOffset: 0)
    try handle.write(contentsOf: bytes)
    try handle.close()
    var times = [st.st_atim, st.st_mtim]
    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
  }

  @Test(
    "a record save killed before its rename leaves a temporary file: the next save sweeps it (a live process's stays)"
  )
  func killedSavesSwept() throws {
    let (cli, _) = try TrustTests().trusted()
    settle()
    try cli.expect(0, ["export", "prod"])
    let path = try #require(try record(cli, "prod"))
    let folder = (path as NSString).deletingLastPathComponent
    // A process that has exited, and one that is running (this one).
    let done = Process()
    done.executableURL = URL(fileURLWithPath: "/bin/true")
    try done.run()
    done.waitUntilExit()
    let dead = "\(folder)/.prod.tmp-\(done.processIdentifier)-0badc0de"
    let live = "\(folder)/.staging.tmp-\(getpid())-0badc0de"
    for p in [dead, live] { #expect(FileManager.default.createFile(atPath: p, contents: Data("x".utf8))) }
    // keyward.json's change time moves (its bytes do not): the next deploy verifies in full and,
    // once the file has settled, saves a new record.
    #expect(chmod(cli.workspace + "/keyward.json", 0o600) == 0)
    settle()
    let before = try String(contentsOfFile: path, encoding: .utf8)
    try cli.expect(0, ["export", "prod"])
    #expect(try String(contentsOfFile: path, encoding: .utf8) != before, "a new record was saved")
    #expect(!FileManager.default.fileExists(atPath: dead))
    #expect(FileManager.default.fileExists(atPath: live))
  }

  @Test(
    "attack: with a record made, an export name edited in place (same size, modification time put back) is still refused (exit 4), and so is a rolled-back state"
  )
  func recordNeverOutlivesAnEdit() throws {
    let (cli, _) = try TrustTests().trusted()
    let configPath = cli.workspace + "/keyward.json"
    let statePath = cli.workspace + "/trust/state.json"
    let v1Config = try Data(contentsOf: URL(fileURLWithPath: configPath))
    let v1State = try Data(contentsOf: URL(fileURLWithPath: statePath))
    let fresh = try cli.expect(0, ["export", "prod"])
    settle()
    let first = try cli.expect(0, ["export", "prod"])
    #expect(first.stdout == fresh.stdout)
    let path = try #require(try record(cli, "prod"))
    var st = stat()
    #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
    #expect(stat((path as NSString).deletingLastPathComponent, &st) == 0 && st.st_mode & 0o777 == 0o700)
    // The record holds no value and no other environment.
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(!text.contains("SECRET") && !text.contains("staging"))
    let again = try cli.expect(0, ["export", "prod"])
    #expect(again.stdout == first.stdout)

    // A writer's name for the App Secret's variable (to be read by something of theirs), the same
    // length, written into the file in place with its modification time put back: its change time
    // moved, so it is verified in full again.
    let original = String(decoding: v1Config, as: UTF8.self)
    let edited = original.replacingOccurrences(of: "CAPTCHALA_APP_SECRET", with: "CAPTCHALA_APP_LEAKED")
    #expect(edited != original && edited.utf8.count == original.utf8.count, "keyward.json: \(original)")
    try editInPlace(configPath, Data(edited.utf8))
    let prodFile = try Data(contentsOf: URL(fileURLWithPath: cli.workspace + "/prod.json"))
    let refused = "cs_prod_SECRET_refused_\(UUID().uuidString)"
    CLI.registerSecret(refused)
    for args in [
      ["export", "prod"], ["run", "prod", "--", "true"], ["show", "prod", "--reveal"],
      ["rotate", "prod", "--stdin"],
      ["set", "prod", "--stdin", "--replace"],
    ] {
      let r = try cli.expect(4, args, stdin: "ck_prod_refused\n\(refused)\n")
      #expect(r.stderr.contains("does not match the signed state"), "\(args): \(r.stderr)")
      #expect(!r.stdout.contains("ck_prod") && !r.stdout.contains("LEAKED"))
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: cli.workspace + "/prod.json")) == prodFile)
    // The signed bytes put back: a new file to the record, verified in full, and deployed.
    try editInPlace(configPath, v1Config)
    #expect(try cli.expect(0, ["export", "prod"]).stdout == first.stdout)

    // An admin signs a change (state version 2); once settled, the deploy records it. Then the
    // version-1 state and config are put back, in place, times and all: a rollback (exit 4).
    var newer = try TrustTests().readJSON(configPath)
    newer["rotation"] = ["max_age_days": 60, "warn_age_days": 50, "grace_days": 3]
    try TrustTests().writeJSON(newer, configPath)
    try cli.expect(0, ["trust", "sign"])
    settle()
    try cli.expect(0, ["export", "prod"])
    try cli.expect(0, ["export", "prod"])
    #expect(try String(contentsOfFile: path, encoding: .utf8) != text)
    // A write that signs no state (rotate, set) reads the record too.
    let next = "cs_prod_SECRET_next_\(UUID().uuidString)"
    CLI.registerSecret(next)
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_prod_next\n\(next)\n")
    #expect(try cli.expect(0, ["show", "prod", "--set", "pending", "--reveal"]).stdout.contains(next))
    try cli.expect(0, ["discard", "prod"])
    try editInPlace(configPath, v1Config)
    try editInPlace(statePath, v1State)
    let rolled = try cli.expect(4, ["export", "prod"])
    #expect(rolled.stderr.contains("rollback"), "\(rolled.stderr)")
  }

  @Test(
    "the record stands for the state while the files are the same: a record edited in the key store is what a deploy reads (the store is trusted, as for the keys)"
  )
  func recordIsRead() throws {
    let (cli, _) = try TrustTests().trusted()
    settle()
    try cli.expect(0, ["export", "prod"])
    let path = try #require(try record(cli, "prod"))
    // A file changed less than two seconds before is not recorded (git's racily-clean rule): a
    // chmod to the same mode changes keyward.json's change time alone.
    let made = try String(contentsOfFile: path, encoding: .utf8)
    #expect(chmod(cli.workspace + "/keyward.json", 0o644) == 0)
    try cli.expect(0, ["export", "prod"])
    #expect(try String(contentsOfFile: path, encoding: .utf8) == made)
    settle()
    try cli.expect(0, ["export", "prod"])
    #expect(try String(contentsOfFile: path, encoding: .utf8) != made)
    // Another environment's recipient key in prod's record: the environment file's key is then not
    // the one the record says was signed. (Proves the deploy read the record, not the state.)
    var lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
    let staging = try TrustTests().readJSON(cli.workspace + "/staging.json")
    let prodFile = try TrustTests().readJSON(cli.workspace + "/prod.json")
    let theirs = try #require((staging["recipient"] as? [String: Any])?["public_key"] as? String)
    let ours = try #require((prodFile["recipient"] as? [String: Any])?["public_key"] as? String)
    let payload = try #require(Data(base64Encoded: lines[7]))
    let swapped = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: ours, with: theirs)
    lines[7] = Data(swapped.utf8).base64EncodedString()
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    let r = try cli.expect(4, ["export", "prod"])
    #expect(r.stderr.contains("prod.json"), "\(r.stderr)")
    // A deploy checks its own environment's file for a link or FIFO, not the others', with a
    // record and without one alike; commands over every environment refuse.
    try FileManager.default.moveItem(
      atPath: cli.workspace + "/staging.json", toPath: cli.root + "/staging.json")
    try FileManager.default.createSymbolicLink(
      atPath: cli.workspace + "/staging.json", withDestinationPath: "/etc/passwd")
    try "keyward verified deploy v1\nprod\nnot a record\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    try cli.expect(0, ["export", "prod"])
    settle()
    try cli.expect(0, ["export", "prod"])
    #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 8)
    try cli.expect(0, ["export", "prod"])
    try cli.expect(2, ["export", "staging"])
    #expect(try cli.expect(2, ["list"]).stderr.contains("symbolic link"))
    try FileManager.default.removeItem(atPath: cli.workspace + "/staging.json")
    try FileManager.default.moveItem(
      atPath: cli.root + "/staging.json", toPath: cli.workspace + "/staging.json")
    // A record that does not read is no record: the state is read in full and the deploy works.
    try "keyward verified deploy v1\nprod\nnot a record\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    try cli.expect(0, ["export", "prod"])
  }
}
