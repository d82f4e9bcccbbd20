import Foundation
import KeywardCore
import Testing

@Suite("run: exec with the set in the environment")
struct RunTests {
  func seeded() throws -> (CLI, [String: (key: String, secret: String)]) {
    let cli = try CLI()
    return (cli, try cli.seeded())
  }

  @Test("the command sees the set; its exit status and arguments pass through untouched")
  func environmentAndStatus() throws {
    let (cli, values) = try seeded()
    let r = try cli.run([
      "run", "prod", "--", "sh", "-c",
      #"printf '%s|%s|%s' "$CAPTCHALA_APP_KEY" "$CAPTCHALA_APP_SECRET" "$1"; exit 42"#,
      "sh", "an argument with  spaces",
    ])
    #expect(r.status == 42)
    #expect(r.stdout == "\(values["prod"]!.key)|\(values["prod"]!.secret)|an argument with  spaces")
  }

  @Test("signals pass through: the command is keyward's own process")
  func signals() throws {
    let (cli, _) = try seeded()
    // SIGKILL: a test runner may leave other signals ignored, and that survives exec.
    let r = try cli.run(["run", "prod", "--", "sh", "-c", "kill -KILL $$"])
    #expect(r.signaled && r.status == SIGKILL)
  }

  @Test("--pristine starts from an empty environment; otherwise keyward's own passes through")
  func pristine() throws {
    let (cli, _) = try seeded()
    let inherited = try cli.run(
      ["run", "prod", "--", "/bin/sh", "-c", "echo ${MARKER:-none}"], env: ["MARKER": "inherited"])
    #expect(inherited.stdout == "inherited\n")
    let clean = try cli.run(
      ["run", "prod", "--pristine", "--", "/usr/bin/env"], env: ["MARKER": "inherited"])
    let names = clean.stdout.split(separator: "\n").map {
      $0.split(separator: "=").first.map(String.init) ?? ""
    }
    #expect(Set(names) == ["CAPTCHALA_APP_KEY", "CAPTCHALA_APP_SECRET"])
  }

  @Test("a stale value in keyward's environment is replaced, not duplicated")
  func replaces() throws {
    let (cli, values) = try seeded()
    let r = try cli.run(
      ["run", "prod", "--", "/usr/bin/env"],
      env: ["CAPTCHALA_APP_SECRET": "stale", "CAPTCHALA_APP_KEY": "stale"])
    let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("CAPTCHALA_APP_") }
    #expect(
      lines.sorted() == [
        "CAPTCHALA_APP_KEY=\(values["prod"]!.key)", "CAPTCHALA_APP_SECRET=\(values["prod"]!.secret)",
      ])
  }

  @Test("a missing command exits 127, a non-executable one 126, no command is a usage error")
  func failures() throws {
    let (cli, _) = try seeded()
    let missing = try cli.run(["run", "prod", "--", "no-such-command-xyz"])
    #expect(missing.status == 127)
    #expect(missing.stderr.contains("cannot run no-such-command-xyz"))
    try "not a program".write(toFile: cli.root + "/plain.txt", atomically: false, encoding: .utf8)
    #expect(try cli.run(["run", "prod", "--", cli.root + "/plain.txt"]).status == 126)
    #expect(try cli.run(["run", "prod"]).status == 64)
    #expect(try cli.run(["run", "nope", "--", "true"]).status == 2)
  }

  @Test("nothing is written to disk but one audit entry, which holds no value")
  func noDiskWrites() throws {
    let (cli, values) = try seeded()
    let before = try FileManager.default.subpathsOfDirectory(atPath: cli.root).sorted()
    try cli.expect(0, ["run", "prod", "--", "true"])
    let after = try FileManager.default.subpathsOfDirectory(atPath: cli.root).sorted()
    // One new trail entry (its file and head marker); the head it follows is gone.
    let added = Set(after).subtracting(before)
    #expect(added.count == 2 && added.allSatisfy { $0.hasPrefix("Environments/trail/") }, "\(added)")
    let last = try #require(try cli.trailRecords().last)
    #expect(last["action"] as? String == "run" && last["target"] as? String == "true")
    let files = try FileManager.default.contentsOfDirectory(atPath: cli.workspace + "/trail/entries")
    for f in files {
      let trail = try String(contentsOfFile: cli.workspace + "/trail/entries/" + f, encoding: .utf8)
      let payload = String(
        decoding: Data(
          base64Encoded: (try JSONSerialization.jsonObject(with: Data(trail.utf8)) as! [String: Any])[
            "payload"] as! String)!,
        as: UTF8.self)
      for (_, v) in values { #expect(!payload.contains(v.secret) && !payload.contains(v.key)) }
    }
  }
}

@Suite("export: files, overwrites, the audit trail")
struct ExportFileTests {
  @Test("an export file is 0600, replaced atomically, and a foreign file is kept unless --force")
  func files() throws {
    let cli = try CLI()
    try cli.seeded()
    try cli.expect(0, ["export", "prod", "-o", "prod.env"])
    #expect(
      (try FileManager.default.attributesOfItem(atPath: cli.root + "/prod.env")[.posixPermissions] as? Int)
        == 0o600)
    try cli.expect(0, ["export", "prod", "-o", "prod.env"])  // its own previous export
    try cli.expect(0, ["export", "prod", "--format", "json", "-o", "prod.json"])
    try cli.expect(0, ["export", "prod", "--format", "json", "-o", "prod.json"])  // recognised by the trail
    try "KEEP=me\n".write(toFile: cli.root + "/mine.env", atomically: false, encoding: .utf8)
    let refused = try cli.expect(2, ["export", "prod", "-o", "mine.env"])
    #expect(refused.stderr.contains("was not written by keyward export"))
    #expect(try String(contentsOfFile: cli.root + "/mine.env", encoding: .utf8) == "KEEP=me\n")
    try cli.expect(0, ["export", "prod", "-o", "mine.env", "--force"])
  }

  @Test("k8s names that YAML 1.1 reads as booleans or null stay strings")
  func k8sQuoting() throws {
    let cli = try CLI()
    try cli.seeded()
    let r = try cli.expect(0, ["export", "prod", "--format", "k8s", "--name", "on", "--namespace", "null"])
    #expect(r.stdout.contains("name: \"on\"") && r.stdout.contains("namespace: \"null\""))
    #expect(r.stdout.contains("\"CAPTCHALA_APP_KEY\": \""))
  }

  @Test("an export into a folder that does not exist names the file and the folder, not a temporary file")
  func missingFolder() throws {
    let cli = try CLI()
    try cli.seeded()
    let r = try cli.expect(2, ["export", "prod", "-o", "nodir/prod.env"])
    #expect(r.stderr.contains("cannot write nodir/prod.env: the folder nodir does not exist"), "\(r.stderr)")
    #expect(!r.stderr.contains(".tmp-"))
  }

  @Test("exporting inside a git work tree warns when the file is not ignored")
  func gitWarning() throws {
    let cli = try CLI()
    try cli.seeded()
    let git = Process()
    git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    git.arguments = ["git", "init", "-q", cli.root]
    try git.run()
    git.waitUntilExit()
    try "ignored.env\n".write(toFile: cli.root + "/.gitignore", atomically: false, encoding: .utf8)
    let tracked = try cli.expect(0, ["export", "prod", "-o", "tracked.env"])
    #expect(tracked.stderr.contains("not ignored"))
    let ignored = try cli.expect(0, ["export", "prod", "-o", "ignored.env"])
    #expect(!ignored.stderr.contains("not ignored"))
  }

  @Test("each export is one trail entry following the last: set, fingerprints, format, target; never a value")
  func audit() throws {
    let cli = try CLI()
    let values = try cli.seeded()
    try cli.expect(0, ["export", "prod", "--format", "shell"])
    try cli.expect(0, ["export", "staging", "-o", "s.env", "--env-name-var", "APP_ENV"])
    let all = try cli.trailRecords()
    // The three `init`s and three `set`s of seeded(), then the two exports: one entry each, each
    // following the one before (a single line of history).
    #expect(
      all.map { $0["action"] as? String } == [
        "init", "init", "init", "set", "set", "set", "export", "export",
      ])
    #expect((all[0]["entry_parents"] as? [String])?.isEmpty == true)
    for k in 1..<all.count {
      #expect((all[k]["entry_parents"] as? [String]) == [all[k - 1]["entry_id"] as? String ?? ""])
    }
    let entries = Array(all.suffix(2))
    #expect(entries[1]["target"] as? String == cli.root + "/s.env")
    #expect(entries[0]["format"] as? String == "shell")
    let log = try cli.expect(0, ["log", "--format", "json"]).stdout
    for (_, v) in values { #expect(!log.contains(v.secret) && !log.contains(v.key)) }
  }
}
