import Foundation
import Testing

/// Each test repeats one attack a repository writer (or someone on the network) made against the
/// release build, against the built binary, and asserts the refusal, the exit code and that nothing
/// secret went anywhere. The harness's leak search covers every output here too.
@Suite("hardening: the workspace as hostile input")
struct HardeningTests {
  func seeded() throws -> (CLI, [String: (key: String, secret: String)]) {
    let cli = try CLI()
    return (cli, try cli.seeded())
  }

  /// Rewrites one environment file's JSON.
  func edit(_ cli: CLI, _ env: String, _ change: (inout [String: Any]) -> Void) throws {
    let path = "\(cli.workspace)/\(env).json"
    var doc = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    change(&doc)
    try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
  }

  func editConfig(_ cli: CLI, _ change: (inout [String: Any]) -> Void) throws {
    let path = "\(cli.workspace)/keyward.json"
    var doc = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    change(&doc)
    try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
  }

  func setSets(_ doc: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
    var sets = doc["sets"] as! [[String: Any]]
    change(&sets[sets.count - 1])
    doc["sets"] = sets
  }

  @Test(
    "attack: a 3 GB environment file or keyward.json (sparse: a few bytes in git) is refused before it is read, with the file named"
  )
  func oversizedWorkspaceFiles() throws {
    let (cli, _) = try seeded()
    for name in ["prod.json", "keyward.json"] {
      let path = "\(cli.workspace)/\(name)"
      let saved = try Data(contentsOf: URL(fileURLWithPath: path))
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
      try handle.truncate(atOffset: 3 << 30)
      try handle.close()
      // Before, every command read all 3 GB (3 GB peak memory, seconds) and then failed on JSON;
      // the size is now checked before any byte is read.
      let r = try cli.expect(2, ["export", "prod"])
      #expect(
        r.stderr.contains("\(name) is 3221225472 bytes, larger than a file of its kind can be"), "\(r.stderr)"
      )
      try saved.write(to: URL(fileURLWithPath: path))
    }
    try cli.expect(0, ["export", "prod"])
  }

  // MARK: 1. Code execution through a symlink

  @Test(
    "attack: a committed audit.jsonl -> ~/.bashrc, or trail/entries -> ~, plus a fingerprint that is shell code"
  )
  func trailSymlinkToBashrc() throws {
    let (cli, _) = try seeded()
    let home = cli.root + "/home"
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    let bashrc = home + "/.bashrc"
    try "# the victim's shell start-up\n".write(toFile: bashrc, atomically: false, encoding: .utf8)
    let v1 = cli.workspace + "/audit.jsonl"
    let entries = cli.workspace + "/trail/entries"
    let saved = cli.root + "/entries-saved"
    try FileManager.default.moveItem(atPath: entries, toPath: saved)
    for (link, target, name) in [(v1, bashrc, "audit.jsonl"), (entries, home, "trail/entries")] {
      try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
      for args in [
        ["export", "prod"], ["run", "prod", "--", "true"], ["promote", "prod", "--force"], ["check"],
        ["audit"],
      ] {
        let r = try cli.expect(2, args)
        #expect(r.stderr.contains("\(name) is a symbolic link"), "\(args): \(r.stderr)")
        if args[0] == "export" { #expect(r.stdout.isEmpty, "export wrote values although it refused") }
      }
      try FileManager.default.removeItem(atPath: link)
    }
    #expect(try String(contentsOfFile: bashrc, encoding: .utf8) == "# the victim's shell start-up\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: home) == [".bashrc"])
    try FileManager.default.moveItem(atPath: saved, toPath: entries)

    // The fingerprint half of the attack, with the link gone: refused on load, never written.
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_prod_next_1\ncs_prod_next_SECRET_1\n")
    try edit(cli, "prod") { doc in
      setSets(&doc) { s in
        s["fingerprints"] = ["app_key": "$(touch PWNED)", "app_secret": "0123456789abcdef"]
      }
    }
    let before = try FileManager.default.contentsOfDirectory(atPath: entries)
    for args in [["promote", "prod", "--force"], ["export", "prod"], ["list"], ["check"]] {
      let r = try cli.expect(2, args)
      #expect(r.stderr.contains("fingerprints.app_key"), "\(args): \(r.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: cli.root + "/PWNED"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: entries) == before)
  }

  @Test("attack: a FIFO or a link in the workspace or key store never blocks and is never followed")
  func fifoAndLinks() throws {
    let (cli, _) = try seeded()
    let fifo = cli.workspace + "/notes.txt"
    #expect(mkfifo(fifo, 0o644) == 0)
    // check reports it as KW605 instead of blocking on the read (it used to hang here).
    let check = try cli.run(["check", "--format", "json"])
    #expect(check.status == 1)
    #expect(check.stdout.contains("KW605"))
    // A FIFO in place of an environment file: exit 2 naming it, at once.
    let prodFile = cli.workspace + "/prod.json"
    try FileManager.default.moveItem(atPath: prodFile, toPath: cli.root + "/prod.json.real")
    #expect(mkfifo(prodFile, 0o644) == 0)
    let r = try cli.expect(2, ["show", "prod"])
    #expect(r.stderr.contains("prod.json is a FIFO"))
    try cli.expect(2, ["audit"])
    try FileManager.default.removeItem(atPath: prodFile)
    try FileManager.default.moveItem(atPath: cli.root + "/prod.json.real", toPath: prodFile)
    try FileManager.default.removeItem(atPath: fifo)

    // A key file that is a link to someone else's key: refused (exit 4), not followed.
    let key = try cli.keyPath("prod")
    try FileManager.default.moveItem(atPath: key, toPath: cli.root + "/prod.key.elsewhere")
    try FileManager.default.createSymbolicLink(
      atPath: key, withDestinationPath: cli.root + "/prod.key.elsewhere")
    let linked = try cli.expect(4, ["show", "prod", "--reveal"])
    #expect(linked.stderr.contains("symbolic link"))
    #expect(try cli.run(["check", "--format", "json"]).stdout.contains("KW605"))
  }

  @Test(
    "attack: a link or FIFO whose name is not UTF-8 is still a special file (KW605, an error), not only an unexpected one (found by the independent review)"
  )
  func specialFileWithByteName() throws {
    let (cli, _) = try seeded()
    // Names with a byte that is not UTF-8, made through the C calls (a Swift String cannot hold one).
    func path(_ stem: String, _ byte: UInt8) -> [CChar] {
      Array((cli.workspace + "/" + stem).utf8CString.dropLast()) + [CChar(bitPattern: byte), 0]
    }
    #expect(symlink("/etc/passwd", path("x", 0xff)) == 0)
    let doc = try cli.json(try cli.expect(1, ["check", "--format", "json"]))
    let findings = doc["findings"] as? [[String: Any]] ?? []
    #expect(
      findings.contains { $0["finding_id"] as? String == "KW605" && $0["severity"] as? String == "error" })
    #expect(unlink(path("x", 0xff)) == 0)
    #expect(mkfifo(path("f", 0xfe), 0o644) == 0)
    let fifo = try cli.json(try cli.expect(1, ["check", "--format", "json"]))
    #expect((fifo["findings"] as? [[String: Any]] ?? []).contains { $0["finding_id"] as? String == "KW605" })
  }

  // MARK: 2. Every string validated

  @Test("attack: an unknown verdict string no longer hides KW304 and KW305")
  func unknownVerdict() throws {
    let (cli, _) = try seeded()
    try edit(cli, "prod") { doc in
      setSets(&doc) { s in
        s["last_verification"] = [
          "time": "2026-11-30T10:00:00Z", "verdict": "totally-fine", "endpoint": "https://apiv1.captcha.la",
        ]
      }
    }
    let r = try cli.expect(2, ["check"])
    #expect(r.stderr.contains("last_verification.verdict"))
    #expect(r.stderr.contains("prod.json"))
    #expect(!r.stdout.contains("No findings"))
  }

  // MARK: 3. No terminal control from files

  @Test("attack: escape sequences planted in files never reach the terminal raw")
  func terminalControl() throws {
    let (cli, _) = try seeded()
    try edit(cli, "dev") { doc in
      setSets(&doc) { s in s["id"] = "\u{1b}[2K\u{1b}[1A" }
    }
    let r = try cli.expect(2, ["list"])
    #expect(!r.all.contains("\u{1b}"), "a raw ESC reached the terminal: \(r.all.debugDescription)")
    #expect(r.stderr.contains("\\u001b[2K"))
    // An endpoint with a control character: named escaped, refused.
    try edit(cli, "dev") { doc in setSets(&doc) { s in s["id"] = "abcd1234" } }
    try editConfig(cli) { c in
      var envs = c["environments"] as! [String: Any]
      envs["dev"] = ["production": false, "endpoint": "https://x.example/\u{1b}]0;owned\u{07}"]
      c["environments"] = envs
    }
    let e = try cli.expect(2, ["list"])
    #expect(!e.all.contains("\u{1b}") && !e.all.contains("\u{07}"))
  }

  // MARK: 4. Secrets stay where they belong

  @Test("attack: the child of run never sees keyward's key material, with or without --pristine")
  func runWithholdsKeys() throws {
    let (cli, values) = try seeded()
    let keyText = try String(contentsOfFile: try cli.keyPath("prod"), encoding: .utf8)
    let kwsk = try #require(keyText.split(separator: "\n").first { $0.hasPrefix("secret-key:") })
      .dropFirst("secret-key:".count).trimmingCharacters(in: .whitespaces)
    CLI.registerSecret(kwsk)
    let env = [
      "KEYWARD_PRIVATE_KEY_PROD": kwsk, "KEYWARD_IDENTITY": "/tmp/some-identity",
      "KEYWARD_PASSPHRASE_FILE": "/tmp/pass", "DEPLOY_KEY_COPY": kwsk,
    ]
    for extra in [[String](), ["--pristine"]] {
      let r = try cli.run(["run", "prod"] + extra + ["--", "/usr/bin/env"], env: env)
      #expect(r.status == 0)
      #expect(!r.stdout.contains("KEYWARD_PRIVATE_KEY") && !r.stdout.contains("KEYWARD_IDENTITY"))
      #expect(!r.stdout.contains("KEYWARD_PASSPHRASE") && !r.stdout.contains(kwsk))
      #expect(r.stdout.contains("CAPTCHALA_APP_SECRET=\(values["prod"]!.secret)"))
    }
  }

  @Test("attack: export names that change how the child starts are refused")
  func dangerousExportNames() throws {
    let (cli, _) = try seeded()
    for bad in ["LD_PRELOAD", "PATH", "KEYWARD_PRIVATE_KEY_PROD", "NODE_OPTIONS", "1X", "A-B", "A B"] {
      try editConfig(cli) { c in c["export"] = ["app_key": "CAPTCHALA_APP_KEY", "app_secret": bad] }
      let r = try cli.expect(2, ["run", "prod", "--", "true"])
      #expect(r.stderr.contains("export.app_secret"), "\(bad): \(r.stderr)")
    }
    try editConfig(cli) { c in
      c["export"] = ["app_key": "CAPTCHALA_APP_KEY", "app_secret": "CAPTCHALA_APP_SECRET"]
    }
    try cli.expect(2, ["export", "prod", "--env-name-var", "LD_LIBRARY_PATH"])
  }

  @Test("run restores the caller's core-dump limit exactly, on the fast path and through keyward-cli")
  func coreLimitRestored() throws {
    let (cli, _) = try seeded()
    for viaCLI in [false, true] {
      // Combined short flags are not on the fast path: keyward hands the command to keyward-cli.
      let args = ["run"] + (viaCLI ? ["-qv"] : []) + ["prod", "--", "/bin/sh", "-c", "ulimit -c"]
      let quoted = args.map { "'\($0)'" }.joined(separator: " ")
      let r = try cli.run([
        "run", "prod", "--", "/bin/sh", "-c", "ulimit -S -c 1234; exec '\(CLI.binary)' \(quoted)",
      ])
      #expect(r.stdout == "1234\n", "viaCLI \(viaCLI): \(r.all)")
    }
  }

  // MARK: 5. Endpoints

  @Test("attack: endpoints that fooled the loopback rule, or carry a password, send nothing")
  func endpointTricks() throws {
    let (cli, _) = try seeded()
    for bad in [
      "http://evil.example:1?@127.0.0.1", "http://evil.example#@localhost",
      "https://gw:hunter2@api.example.com",
    ] {
      try editConfig(cli) { c in
        var envs = c["environments"] as! [String: Any]
        envs["prod"] = ["production": true, "endpoint": bad]
        c["environments"] = envs
      }
      let r = try cli.run(["verify", "prod"])
      #expect(r.status == 2, "\(bad): \(r.all)")
      #expect(r.stderr.contains("environments.prod.endpoint"))
      #expect(!r.all.contains("hunter2"), "the password was repeated: \(r.all)")
      #expect(!r.stdout.contains("valid"))
    }
  }

  @Test("a proxy is never used for loopback, and verify names the host it talked to")
  func noProxyForLoopback() throws {
    let cli = try CLI()
    try cli.workspace(["prod": (key: "ck_live_proxy_1", secret: "cs_live_SECRET_proxy_1")])
    let emu = try EmulatorProcess(cli, ["--from-workspace"])
    // A proxy that does not exist: were it used, the verdict would be unreachable.
    let r = try cli.run(
      ["verify", "prod", "--endpoint", emu.url],
      env: ["HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"])
    #expect(r.status == 0, "\(r.all)")
    #expect(r.stdout.contains("valid") && r.stdout.contains("at 127.0.0.1"))
  }

  // MARK: 7. The process and the key store

  @Test("attack: a key store open to others is KW602 and refused; Argon2 parameters from a file are bounded")
  func keyStoreAndArgon() throws {
    let (cli, _) = try seeded()
    let key = try cli.keyPath("prod")
    let folder = (key as NSString).deletingLastPathComponent
    #expect(chmod(folder, 0o777) == 0)
    let check = try cli.run(["check", "--format", "json"])
    #expect(check.stdout.contains("KW602") && check.stdout.contains("chmod 700"))
    let r = try cli.expect(4, ["show", "prod", "--reveal"])
    #expect(r.stderr.contains("key store folder"))
    #expect(chmod(folder, 0o700) == 0)

    // A passphrase-protected key whose parameters were raised to 4 GiB x 1000 passes.
    let other = try CLI()
    let pass = other.root + "/pass"
    try "a long enough passphrase\n".write(toFile: pass, atomically: false, encoding: .utf8)
    #expect(chmod(pass, 0o600) == 0)
    try other.expect(0, ["init", "--envs", "dev", "--passphrase", "--passphrase-file", pass])
    try other.expect(0, ["set", "dev", "--stdin"], stdin: "ck_dev_argon_1\ncs_dev_argon_SECRET_1\n")
    let devKey = try String(contentsOfFile: try other.keyPath("dev"), encoding: .utf8)
    #expect(devKey.contains("opslimit") && devKey.contains("memlimit"))
    let tampered = devKey.replacingOccurrences(
      of: #"opslimit: \d+"#, with: "opslimit: 1000", options: .regularExpression
    ).replacingOccurrences(of: #"memlimit: \d+"#, with: "memlimit: 4294967296", options: .regularExpression)
    let protected = other.root + "/protected.key"
    try tampered.write(toFile: protected, atomically: false, encoding: .utf8)
    #expect(chmod(protected, 0o600) == 0)
    let started = Date()
    let bounded = try other.expect(4, ["show", "dev", "--key-file", protected, "--passphrase-file", pass])
    #expect(Date().timeIntervalSince(started) < 5)
    #expect(bounded.stderr.contains("Argon2id parameters"))
  }

  @Test("a passphrase file readable by others is refused like a key file")
  func passphraseFileMode() throws {
    let cli = try CLI()
    let pass = cli.root + "/pass"
    try "a long enough passphrase\n".write(toFile: pass, atomically: false, encoding: .utf8)
    #expect(chmod(pass, 0o644) == 0)
    let r = try cli.run(["init", "--envs", "dev", "--passphrase", "--passphrase-file", pass])
    #expect(r.status == 4, "\(r.all)")
    #expect(r.stderr.contains("passphrase file") && r.stderr.contains("chmod 600"))
    // A passphrase file is held to the prompt's minimum length (8).
    try "short\n".write(toFile: pass, atomically: false, encoding: .utf8)
    #expect(chmod(pass, 0o600) == 0)
    let short = try cli.expect(2, ["init", "--envs", "dev", "--passphrase-file", pass])
    #expect(short.stderr.contains("shorter than 8"))
  }

  // MARK: 8. No traps

  @Test("attack: extreme numbers in flags and files end in a message, never a signal")
  func extremeNumbers() throws {
    let (cli, _) = try seeded()
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_prod_next_2\ncs_prod_next_SECRET_2\n")
    let huge = ["200000000000000d", "9223372036854775807", "-1", "1e308", "nan", "inf", "0x10", ""]
    var runs: [[String]] = []
    for v in huge {
      runs += [
        ["promote", "prod", "--force", "--grace", v], ["check", "--max-age", v],
        ["verify", "prod", "--timeout", v],
        ["verify", "prod", "--concurrency", v], ["verify", "prod", "--retries", v], ["emulate", "--port", v],
        ["emulate", "--latency", v], ["emulate", "--retry-after", v], ["emulate", "--fault-rate", v],
        ["csp", "--header", "script-src 'self'", "--timeout", v],
        ["csp", "--header", "x", "--concurrency", v],
      ]
    }
    for args in runs {
      let r = try cli.run(args)
      #expect(!r.signaled && r.status < 128, "keyward \(args.joined(separator: " ")) ended with \(r.status)")
      if args.contains("promote") { #expect(r.status == 64) }
    }
    for (member, value) in [("grace_days", 1e15), ("max_age_days", -5), ("warn_age_days", 1e300)]
      as [(String, Double)]
    {
      try editConfig(cli) { c in
        var rotation = c["rotation"] as! [String: Any]
        rotation[member] = value
        c["rotation"] = rotation
      }
      for args in [["promote", "prod", "--force"], ["check"], ["list"]] {
        let r = try cli.run(args)
        #expect(r.status == 2, "\(member)=\(value) \(args): \(r.status) \(r.all)")
        #expect(r.stderr.contains("rotation.\(member)") || r.stderr.contains(member))
      }
    }
  }

  // MARK: 9. export -o

  @Test(
    "attack: -o - is standard output, -o /dev/stdout is written into, a link is refused even with --force")
  func exportTargets() throws {
    let (cli, values) = try seeded()
    let dash = try cli.expect(0, ["export", "prod", "-o", "-"])
    #expect(dash.stdout.contains(values["prod"]!.secret))
    #expect(!FileManager.default.fileExists(atPath: cli.root + "/-"))
    let devStdout = try cli.expect(0, ["export", "prod", "-o", "/dev/stdout", "--force"])
    #expect(devStdout.stdout.contains(values["prod"]!.secret))
    var st = stat()
    #expect(lstat("/dev/stdout", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK, "/dev/stdout is still a link")

    let victim = cli.root + "/victim.txt"
    try "keep me\n".write(toFile: victim, atomically: false, encoding: .utf8)
    let link = cli.root + "/deploy.env"
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
    for force in [[String](), ["--force"]] {
      let r = try cli.expect(2, ["export", "prod", "-o", link] + force)
      #expect(r.stderr.contains("symbolic link"))
    }
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me\n")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == victim)

    // A FIFO target (a process substitution, a deploy pipe) is written into, not renamed over.
    let fifo = cli.root + "/pipe"
    #expect(mkfifo(fifo, 0o600) == 0)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
    reader.arguments = [fifo]
    let out = Pipe()
    reader.standardOutput = out
    try reader.run()
    try cli.expect(0, ["export", "prod", "-o", fifo])
    let got = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    reader.waitUntilExit()
    #expect(got.contains(values["prod"]!.secret))
    #expect(lstat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
  }

  // MARK: Found by the independent review of this change

  @Test("attack: export names a runtime reads (GIT_CONFIG_PARAMETERS, PERLLIB, …) are refused too")
  func runtimeVariables() throws {
    let (cli, _) = try seeded()
    for bad in [
      "GIT_CONFIG_PARAMETERS", "PERLLIB", "JDK_JAVA_OPTIONS", "LESSOPEN", "SSLKEYLOGFILE", "ZDOTDIR",
      "NODE_EXTRA_CA_CERTS", "HOSTALIASES", "GIT_DIR", "HTTPS_PROXY", "PYTHONWARNINGS",
    ] {
      try editConfig(cli) { c in c["export"] = ["app_key": bad, "app_secret": "CAPTCHALA_APP_SECRET"] }
      let r = try cli.expect(2, ["run", "prod", "--", "true"])
      #expect(r.stderr.contains("export.app_key"), "\(bad): \(r.stderr)")
    }
  }

  @Test("attack: a forged trail line naming ~/.bashrc as an export target licenses no overwrite")
  func forgedExportTarget() throws {
    let (cli, _) = try seeded()
    let bashrc = cli.root + "/home/.bashrc"
    try FileManager.default.createDirectory(atPath: cli.root + "/home", withIntermediateDirectories: true)
    try "# the victim's shell start-up\n".write(toFile: bashrc, atomically: false, encoding: .utf8)
    for format in ["json", "github"] {
      // A well-formed, unsigned trail entry claiming keyward exported there.
      let payload = Data(
        (#"{"actor":"mallory","command":"export","parents":[],"records":[{"action":"export","environment":"prod","format":"\#(format)","target":"\#(bashrc)"}],"time":"2026-01-01T00:00:00Z","type":"keyward-trail-entry","v":2}"#)
          .utf8)
      let envelope: [String: Any] = [
        "payload": payload.base64EncodedString(), "payload_type": "application/vnd.keyward.trail-entry+json",
        "signatures": [],
      ]
      let id = UUID().uuidString  // the name need not match: keyward must refuse either way
      try JSONSerialization.data(withJSONObject: envelope).write(
        to: URL(fileURLWithPath: "\(cli.workspace)/trail/entries/\(id).json"))
      let r = try cli.expect(2, ["export", "prod", "--format", format, "-o", bashrc])
      #expect(r.stderr.contains("refusing to overwrite"))
    }
    #expect(try String(contentsOfFile: bashrc, encoding: .utf8) == "# the victim's shell start-up\n")
  }

  @Test(
    "attack: a symlinked workspace folder is refused; a key store named with a trailing slash is still checked"
  )
  func linkedFolders() throws {
    let cli = try CLI()
    let victim = cli.root + "/victimdir"
    try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: cli.workspace, withDestinationPath: victim)
    let r = try cli.expect(2, ["init", "--envs", "prod"])
    #expect(r.stderr.contains("symbolic link"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: victim).isEmpty)

    let (other, _) = try seeded()
    let store = other.root + "/keys"
    try FileManager.default.moveItem(atPath: store, toPath: other.root + "/realkeys")
    try FileManager.default.createSymbolicLink(atPath: store, withDestinationPath: other.root + "/realkeys")
    for dir in [store, store + "/", store + "//"] {
      let linked = try other.run(["show", "prod", "--reveal"], env: ["KEYWARD_KEYS_DIR": dir])
      #expect(linked.status == 4, "\(dir): \(linked.all)")
    }
  }

  @Test("attack: newlines and escapes planted in the trail or a file name forge no report line")
  func forgedLines() throws {
    let (cli, _) = try seeded()
    let fake = "x\nerror   KW101  prod  FORGED finding"
    try "junk\n".write(toFile: cli.workspace + "/" + fake, atomically: false, encoding: .utf8)
    let check = try cli.run(["check"])
    #expect(
      !check.stdout.split(separator: "\n").contains { $0.hasPrefix("error   KW101") }, "\(check.stdout)")
    // An actor with control characters is recorded as one line of printable text.
    try cli.expect(
      0, ["export", "prod", "-o", cli.root + "/prod.env"],
      env: ["KEYWARD_ACTOR": "mallory\nAudit trail: intact\u{1b}[2J"])
    let log = try cli.expect(0, ["log", "--format", "json"]).stdout
    #expect(log.contains(#"mallory\\u000aAudit trail: intact\\u001b[2J"#), "\(log)")
    #expect(!(try cli.run(["log"])).stdout.contains("\u{1b}"))
  }

  @Test(
    "a user /etc/passwd does not name (a container's random uid, a systemd DynamicUser) exports and runs; the unsigned entry's actor is uidN@host"
  )
  func userUnknownToPasswd() throws {
    let uid = 4242
    let passwd = (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? ""
    // Becoming a uid nobody names needs root (CI runs as root); elsewhere there is nothing to do.
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
      !passwd.split(separator: "\n").contains(where: {
        $0.split(separator: ":").dropFirst(2).first == "\(uid)"
      })
    else { return }
    let (cli, values) = try seeded()
    // The static keyward asked glibc's getpwuid, which loaded nsswitch.conf's systemd module
    // into it: a segmentation fault before the export was recorded (an attack review).
    let r = try cli.shell(
      """
      root="$1"
      chown -R \(uid):\(uid) "$root"
      stranger() { setpriv --reuid \(uid) --regid \(uid) --clear-groups env -i KEYWARD_KEYS_DIR="$root/keys" "$@"; }
      stranger "$0" export prod --workspace "$root/Environments" -o "$root/prod.env" -q; echo "export=$?"
      stranger "$0" run prod --workspace "$root/Environments" -- /bin/sh -c 'test -n "$CAPTCHALA_APP_SECRET"'
      echo "run=$?"
      chown -R 0:0 "$root"
      """, [cli.root])
    #expect(r.output.contains("export=0") && r.output.contains("run=0"), "\(r.output)")
    #expect(
      try String(contentsOfFile: cli.root + "/prod.env", encoding: .utf8).contains(values["prod"]!.secret))
    let log = try cli.json(try cli.expect(0, ["log", "prod", "--format", "json"]))
    let actors = (log["entries"] as? [[String: Any]] ?? []).compactMap { $0["actor"] as? String }
    #expect(actors.filter { $0.hasPrefix("uid\(uid)@") }.count == 2, "\(actors)")
  }

  @Test("attack: a date that does not exist is refused, not normalised into year 10000")
  func impossibleDates() throws {
    let (cli, _) = try seeded()
    for bad in [
      "9999-12-31T23:59:60Z", "2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z",
    ] {
      try edit(cli, "prod") { doc in setSets(&doc) { s in s["created"] = bad } }
      let r = try cli.expect(2, ["list"])
      #expect(r.stderr.contains("created"), "\(bad): \(r.stderr)")
    }
  }

  @Test("a revealed value holding escape sequences is shown escaped on a terminal, exact in a pipe")
  func revealedControls() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    let secret = "cs_x\u{202E}abc\u{1b}]52;c;cHduZWQ=\u{07}"
    try cli.expect(
      0, ["set", "prod", "--stdin", "--raw"],
      stdin: #"{"app_key":"ck_\u001b[2J_live","app_secret":"cs_x\u202eabc\u001b]52;c;cHduZWQ=\u0007"}"#)
    // In a pipe (the harness's files): the exact bytes, for scripts.
    let piped = try cli.run(["show", "prod", "--reveal", "-q"])
    #expect(piped.stdout.contains(secret))
    // On a terminal: script(1) gives keyward a pseudo-terminal.
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
    for args in ["show prod --reveal", "export prod"] {
      let tty = try cli.run([
        "run", "prod", "--", "/usr/bin/script", "-qc", "'\(CLI.binary)' \(args)", "/dev/null",
      ])
      #expect(
        !tty.stdout.contains("\u{1b}]52") && !tty.stdout.contains("\u{202E}"),
        "\(args): \(tty.stdout.debugDescription)")
      #expect(tty.stdout.contains("\\u001b]52"), "\(args): \(tty.stdout.debugDescription)")
    }
    // JSON escapes C1 and bidirectional overrides too (the same value to a JSON reader).
    let json = try cli.json(try cli.expect(0, ["show", "prod", "--reveal", "--format", "json"]))
    #expect(json["app_secret"] as? String == secret)
  }

  @Test(
    "files the person names are read as any tool reads them: a linked --key-file, --html -, --from-file -")
  func namedInputs() throws {
    let (cli, values) = try seeded()
    let copy = cli.root + "/prod-copy.key"
    try FileManager.default.copyItem(atPath: try cli.keyPath("prod"), toPath: copy)
    chmod(copy, 0o600)
    try FileManager.default.createSymbolicLink(atPath: cli.root + "/linked.key", withDestinationPath: copy)
    let shown = try cli.json(
      try cli.expect(
        0, ["show", "prod", "--reveal", "--format", "json", "--key-file", cli.root + "/linked.key"]))
    #expect(shown["app_secret"] as? String == values["prod"]!.secret)
    chmod(copy, 0o644)
    #expect(
      try cli.expect(4, ["show", "prod", "--key-file", cli.root + "/linked.key"]).stderr.contains(
        "UNPROTECTED"))
    try cli.expect(
      1, ["csp", "--html", "-", "--header", "script-src 'self'"],
      stdin:
        "<html><head></head><body><script src=\"https://cdn.captcha-cdn.net/captchala-loader.js\"></script></body></html>"
    )
    CLI.registerSecret("cs_dev_SECRET_from_stdin")
    try cli.expect(
      0, ["set", "dev", "--replace", "--from-file", "-"],
      stdin: "CAPTCHALA_APP_KEY=ck_dev_from_stdin\nCAPTCHALA_APP_SECRET=cs_dev_SECRET_from_stdin\n")
  }
}
