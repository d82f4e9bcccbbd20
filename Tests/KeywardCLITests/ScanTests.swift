import Foundation
import Testing

/// `keyward scan` against the built binary in real git repositories: each planted copy is found
/// with its environment, set, field and encoding and nothing else is; history, other branches and
/// the index; the pre-commit hook refusing a commit; a clean repository full of decoys; no value
/// in any output (the harness's leak search).
@Suite("scan: plaintext copies of stored values in a repository", .serialized)
struct ScanTests {
  let trail = TeamTrailTests()

  func git(_ cli: CLI, _ args: [String], status: Int32? = 0) throws {
    try trail.git(cli.root, args, status: status)
  }

  /// A seeded workspace in a git repository with one commit.
  func repository() throws -> (CLI, [String: (key: String, secret: String)]) {
    let cli = try CLI()
    let values = try cli.seeded()
    try git(cli, ["init", "-q", "-b", "main"])
    try git(cli, ["add", "-A"])
    try git(cli, ["commit", "-q", "-m", "workspace"])
    return (cli, values)
  }

  func write(_ cli: CLI, _ path: String, _ text: String) throws {
    let full = cli.root + "/" + path
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: full))
  }

  /// The findings of a JSON scan as "path env field encoding" lines, sorted.
  func findings(_ cli: CLI, _ args: [String], status: Int32 = 1) throws -> ([String], [[String: Any]]) {
    let r = try cli.expect(status, ["scan", "--format", "json"] + args)
    let doc = try cli.json(r)
    #expect(doc["schema_version"] as? Int == 2)
    let list = doc["findings"] as? [[String: Any]] ?? []
    let lines = list.map { f in
      [f["file"], f["environment"], f["field"], f["encoding"]].map { "\($0 ?? "-")" }.joined(separator: " ")
    }
    return (lines.sorted(), list)
  }

  @Test("every planted case is found with its environment, field and encoding, and nothing else")
  func plantedCases() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    let staging = v["staging"]!
    let dev = v["dev"]!
    try write(cli, ".env", "APP_KEY=\(dev.key)\nAPP_SECRET=\(dev.secret)\n")
    try write(cli, ".env.production", "# production\nCAPTCHA_SECRET=\"\(prod.secret)\"\n")
    try write(cli, "config/app.yaml", "captcha:\n  enabled: true\n  secret: \(staging.secret)\n")
    // JSON with the first character escaped, as some serialisers write it.
    let first = String(format: "\\u%04x", prod.secret.unicodeScalars.first!.value)
    try write(
      cli, "config/settings.json", "{\"captcha\": {\"secret\": \"\(first)\(prod.secret.dropFirst())\"}}\n")
    let urlSecret = prod.secret.replacingOccurrences(of: "_", with: "%5F")
    try write(
      cli, "docs/verify.sh", "curl 'https://api.example.com/verify?secret=\(urlSecret)&response=tok'\n")
    try write(cli, "conf/app.xml", "<config><secret>\(staging.secret)</secret></config>\n")
    let k8s = Data(prod.secret.utf8).base64EncodedString()
    try write(
      cli, "k8s/secret.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: captcha\ndata:\n  APP_SECRET: \(k8s)\n")
    let envFile =
      (0..<20).map { "FILLER_\($0)=\(UUID().uuidString)" }.joined(separator: "\n")
      + "\nAPP_SECRET=\(dev.secret)\n"
    try write(
      cli, "backup/dev.env.b64",
      Data(envFile.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed]) + "\n")
    try write(cli, "win/settings.ini", "[captcha]\r\nsecret = \(staging.secret)\r\nkey = other\r\n")
    // A 5 MiB log with the secret in the middle.
    var log = ""
    let filler =
      "2026-11-30T10:00:00Z INFO request_id=\(UUID().uuidString) took=12ms token=\(UUID().uuidString)\n"
    while log.utf8.count < 5 << 19 { log += filler }
    log += "2026-11-30T10:00:01Z DEBUG config loaded secret=\(prod.secret)\n"
    while log.utf8.count < 5 << 20 { log += filler }
    try write(cli, "logs/app.log", log)
    // An unknown member in prod.json.
    let prodPath = cli.workspace + "/prod.json"
    var prodJSON = try String(contentsOfFile: prodPath, encoding: .utf8)
    prodJSON = prodJSON.replacingOccurrences(
      of: "{\n", with: "{\n  \"note\": \"\(prod.secret)\",\n", options: [], range: prodJSON.range(of: "{\n"))
    try Data(prodJSON.utf8).write(to: URL(fileURLWithPath: prodPath))
    // Binary with a value after a NUL byte: skipped by content.
    try Data([0, 1, 2] + Array("secret=\(prod.secret)\n".utf8)).write(
      to: URL(fileURLWithPath: cli.root + "/blob.bin"))

    let (got, list) = try findings(cli, [])
    #expect(
      got
        == [
          ".env dev app_key plain", ".env dev app_secret plain", ".env.production prod app_secret plain",
          "Environments/prod.json prod app_secret plain", "backup/dev.env.b64 dev app_secret base64",
          "conf/app.xml staging app_secret plain", "config/app.yaml staging app_secret plain",
          "config/settings.json prod app_secret escape", "docs/verify.sh prod app_secret url",
          "k8s/secret.yaml prod app_secret base64", "logs/app.log prod app_secret plain",
          "win/settings.ini staging app_secret plain",
        ].sorted(), "\(got)")
    // Places: line and column of the word (or of the encoded run).
    let log5 = try #require(list.first { $0["file"] as? String == "logs/app.log" })
    let logLine =
      log.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("DEBUG") }! + 1
    #expect(log5["line"] as? Int == logLine)
    #expect(log5["column"] as? Int == "2026-11-30T10:00:01Z DEBUG config loaded secret=".count + 1)
    let yaml = try #require(list.first { $0["file"] as? String == "config/app.yaml" })
    #expect(yaml["line"] as? Int == 3 && yaml["column"] as? Int == 11)
    #expect(list.allSatisfy { $0["state"] as? String == "active" && $0["live"] as? Bool == true })
    #expect(
      list.allSatisfy { $0["finding_id"] as? String == "KW901" && $0["severity"] as? String == "error" })

    // Text and SARIF name the same places and never a value (the harness searches every output).
    let text = try cli.expect(1, ["scan"])
    #expect(text.stdout.contains("logs/app.log:\(logLine):"))
    #expect(text.stdout.contains("12 copy(ies)"))
    #expect(!text.stdout.contains(prod.key) && !text.stdout.contains(dev.key))
    let sarif = try cli.json(try cli.expect(1, ["scan", "--format", "sarif"]))
    let run = try #require((sarif["runs"] as? [[String: Any]])?.first)
    let rules =
      ((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
    #expect(
      rules.contains { $0["id"] as? String == "KW901" } && rules.contains { $0["id"] as? String == "KW902" })
    let results = run["results"] as? [[String: Any]] ?? []
    #expect(results.count == 12)
    for r in results {
      let loc = ((r["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
      let region = loc?["region"] as? [String: Any]
      #expect((region?["startLine"] as? Int ?? 0) > 0 && (region?["startColumn"] as? Int ?? 0) > 0)
    }
    // --sarif FILE beside the main output: one run, both documents (check and audit take it too).
    let both = try cli.expect(1, ["scan", "--format", "json", "--sarif", cli.root + "/scan.sarif"])
    #expect((try cli.json(both)["findings"] as? [[String: Any]])?.count == 12)
    let file = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: cli.root + "/scan.sarif")))
    let fileResults =
      ((file as? [String: Any])?["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]
    #expect(fileResults?.count == 12)
    try cli.expect(1, ["check", "--sarif", cli.root + "/check.sarif", "-q"])
    // A link (or a device) at --sarif's path is refused, not renamed over (the review, as root,
    // replaced /dev/null this way): the link and what it names are left as they were.
    let target = cli.root + "/kept.txt"
    try Data("kept\n".utf8).write(to: URL(fileURLWithPath: target))
    try FileManager.default.createSymbolicLink(atPath: cli.root + "/link.sarif", withDestinationPath: target)
    for command in ["check", "audit", "scan"] {
      let refused = try cli.expect(64, [command, "--sarif", cli.root + "/link.sarif", "-q"])
      #expect(refused.stderr.contains("is a symbolic link"), "\(refused.stderr)")
      #expect(
        (try FileManager.default.destinationOfSymbolicLink(atPath: cli.root + "/link.sarif")) == target)
      #expect((try String(contentsOfFile: target, encoding: .utf8)) == "kept\n")
    }
    // (prod.json was edited above: audit's exit 4, and its SARIF says so.)
    try cli.expect(4, ["audit", "--sarif", cli.root + "/audit.sarif", "-q"])
    for name in ["check.sarif", "audit.sarif"] {
      let doc = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: cli.root + "/" + name)))
      #expect((doc as? [String: Any])?["version"] as? String == "2.1.0", "\(name)")
    }
    // --fail-on error still fails (live sets); --exit-zero reports and passes.
    try cli.expect(1, ["scan", "--fail-on", "error", "-q"])
    try cli.expect(0, ["scan", "--exit-zero", "-q"])
    // Named paths: only those.
    let (only, _) = try findings(cli, ["config", "win/settings.ini"])
    #expect(only.count == 3)
    let piped = try cli.run(["scan", "-", "--format", "json"], stdin: "x=\(staging.secret)\n")
    #expect(piped.status == 1)
    #expect((try cli.json(piped)["findings"] as? [[String: Any]])?.first?["file"] as? String == "-")
  }

  @Test("history (a file deleted two commits ago), other branches (--all-refs), the index, the hook")
  func historyBranchesIndexAndHook() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    try write(cli, "deploy/prod.env", "APP_SECRET=\(prod.secret)\n")
    try git(cli, ["add", "-A"])
    try git(cli, ["commit", "-q", "-m", "add prod env"])
    let added = try trail.git(cli.root, ["rev-parse", "HEAD"]).1.trimmingCharacters(
      in: .whitespacesAndNewlines)
    try git(cli, ["rm", "-q", "deploy/prod.env"])
    try git(cli, ["commit", "-q", "-m", "remove it"])
    let removed = try trail.git(cli.root, ["rev-parse", "HEAD"]).1.trimmingCharacters(
      in: .whitespacesAndNewlines)
    try write(cli, "README.txt", "nothing here\n")
    try git(cli, ["add", "-A"])
    try git(cli, ["commit", "-q", "-m", "later"])
    // The working tree is clean; history is not.
    try cli.expect(0, ["scan", "-q"])
    let (h, list) = try findings(cli, ["--history"])
    #expect(h == ["deploy/prod.env prod app_secret plain"])
    #expect(list.first?["introduced"] as? [String] == [added])
    #expect(list.first?["removed"] as? [String] == [removed])
    #expect((list.first?["blob_id"] as? String)?.count == 40)

    // Another branch: only --all-refs sees it.
    try git(cli, ["checkout", "-q", "-b", "feature"])
    try write(cli, "feature.yaml", "secret: \(v["staging"]!.secret)\n")
    try git(cli, ["add", "-A"])
    try git(cli, ["commit", "-q", "-m", "feature"])
    try git(cli, ["checkout", "-q", "main"])
    let (mainOnly, _) = try findings(cli, ["--history"])
    #expect(mainOnly == ["deploy/prod.env prod app_secret plain"])
    let (all, _) = try findings(cli, ["--history", "--all-refs"])
    #expect(all == ["deploy/prod.env prod app_secret plain", "feature.yaml staging app_secret plain"])

    // Staged, not committed: --staged finds it; history does not.
    try write(cli, "staged.txt", "key=\(v["dev"]!.secret)\n")
    try git(cli, ["add", "staged.txt"])
    let (staged, _) = try findings(cli, ["--staged"])
    #expect(staged == ["staged.txt dev app_secret plain"])
    let (stillMain, _) = try findings(cli, ["--history"])
    #expect(stillMain == ["deploy/prod.env prod app_secret plain"])

    // The hook: the commit is refused, and goes through once the copy is gone.
    try cli.expect(0, ["scan", "--install-hook"])
    let hook = cli.root + "/.git/hooks/pre-commit"
    #expect(FileManager.default.isExecutableFile(atPath: hook))
    let refused = try trail.git(cli.root, ["commit", "-q", "-m", "leak"], status: nil)
    #expect(refused.0 != 0, "the pre-commit hook let a secret through: \(refused.1)")
    #expect(refused.1.contains("staged.txt:1:5") && !refused.1.contains(v["dev"]!.secret))
    try write(cli, "staged.txt", "key=nothing\n")
    try git(cli, ["add", "staged.txt"])
    try git(cli, ["commit", "-q", "-m", "clean"])
    // A hook keyward did not write is not replaced without --force.
    try Data("#!/bin/sh\nexit 0\n".utf8).write(to: URL(fileURLWithPath: hook))
    let r = try cli.expect(2, ["scan", "--install-hook"])
    #expect(r.stderr.contains("already exists"))
    try cli.expect(0, ["scan", "--install-hook", "--force"])
  }

  @Test("a retired set's copy is a warning (KW902); --fail-on error passes it")
  func retiredCopies() throws {
    let (cli, v) = try repository()
    let old = v["staging"]!
    try write(cli, "notes.md", "old staging secret: \(old.secret)\n")
    let next = "cs_staging_NEW_\(UUID().uuidString)"
    CLI.registerSecret(next)
    try cli.expect(0, ["rotate", "staging", "--stdin"], stdin: "ck_staging_new\n\(next)\n")
    try cli.expect(0, ["promote", "staging", "--force"])
    try cli.expect(0, ["retire", "staging", "--now", "--force"])
    let (got, list) = try findings(cli, [])
    #expect(got == ["notes.md staging app_secret plain"])
    #expect(list.first?["state"] as? String == "retired" && list.first?["finding_id"] as? String == "KW902")
    try cli.expect(0, ["scan", "--fail-on", "error", "-q"])
  }

  /// Replaces the `field` ciphertext of the first set in `path` with a well-formed one 20 bytes
  /// shorter: what a writer does to make the file say another length.
  func cutCiphertext(_ path: String, field: String) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let match = try #require(text.firstMatch(of: try Regex("\"\(field)\"\\s*:\\s*\"kw1:([A-Za-z0-9+/=]+)\"")))
    let sealed = try #require(match.output[1].substring.map(String.init))
    let raw = try #require(Data(base64Encoded: sealed))
    let cut = raw.prefix(raw.count - 20).base64EncodedString()
    try Data(text.replacingOccurrences(of: sealed, with: cut).utf8).write(to: URL(fileURLWithPath: path))
  }

  @Test(
    "attack: cutting a set's ciphertext in prod.json hides none of its copies (a guard for any scan that trusts a value's length)"
  )
  func cutCiphertextKeepsLength() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    try write(cli, "notes.md", "prod: \(prod.secret)\n")
    try cli.expect(1, ["scan", "-q"])
    try cutCiphertext(cli.workspace + "/prod.json", field: "app_secret")
    let (got, _) = try findings(cli, [])
    #expect(got == ["notes.md prod app_secret plain"], "\(got)")
  }

  /// A repository writer's unsigned trail entry holding `records` (Tests/Compat/add_entry.py).
  func addEntry(_ cli: CLI, _ records: [[String: Any]]) throws {
    let json = String(decoding: try JSONSerialization.data(withJSONObject: records), as: UTF8.self)
    let r = try cli.shell(
      "python3 \"$1\" \"$2\" \"$3\"", [CLI.packageRoot + "/Tests/Compat/add_entry.py", cli.workspace, json])
    #expect(r.status == 0, "\(r.output)")
  }

  @Test(
    "attack: a writer's trail entries claiming other lengths for a stored value hide none of its copies (what broke session 22's length filter)"
  )
  func writersLengths() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    try write(cli, "notes.md", "prod: \(prod.key) \(prod.secret)\n")
    let file = try String(contentsOfFile: cli.workspace + "/prod.json", encoding: .utf8)
    let set = try #require(file.firstMatch(of: /"id"\s*:\s*"([0-9a-f]{8})"/)?.1)
    let fps = try #require(
      file.firstMatch(of: /"app_key"\s*:\s*"([0-9a-f]{16})",\s*"app_secret"\s*:\s*"([0-9a-f]{16})"/))
    func record(_ lengths: (Int, Int)?) -> [String: Any] {
      var r: [String: Any] = [
        "action": "export", "environment": "prod", "set": String(set), "format": "dotenv", "target": "stdout",
        "fingerprints": ["app_key": String(fps.1), "app_secret": String(fps.2)],
      ]
      if let (k, s) = lengths { (r["app_key_length"], r["app_secret_length"]) = (k, s) }
      return r
    }
    let both = ["notes.md prod app_key plain", "notes.md prod app_secret plain"]
    // Lengths that are not the values'.
    try addEntry(cli, [record((8, 9))])
    #expect(try findings(cli, []).0 == both)
    // Lengths no value can have, and a record with none.
    try addEntry(cli, [record((1, 1))])
    #expect(try findings(cli, []).0 == both)
    try addEntry(cli, [record(nil)])
    #expect(try findings(cli, []).0 == both)
  }

  @Test(
    "attack: deleting the trail's newest entry and cutting the value's ciphertext hides no copy, and a machine that saw the entry says the trail is damaged (what broke session 22's length filter)"
  )
  func cutTailKeepsLengths() throws {
    let (cli, _) = try repository()
    // A set stored on the branch (this machine records the heads it saw per branch): its entry is
    // the head.
    let secret = "cs_prod_REPLACED_\(UUID().uuidString)"
    CLI.registerSecret(secret)
    try cli.expect(0, ["set", "prod", "--stdin", "--replace"], stdin: "ck_prod_replaced\n\(secret)\n")
    try write(cli, "notes.md", "prod: \(secret)\n")
    let heads = cli.workspace + "/trail/heads"
    let head = try #require(try FileManager.default.contentsOfDirectory(atPath: heads).first)
    try FileManager.default.removeItem(atPath: "\(heads)/\(head)")
    try FileManager.default.removeItem(atPath: "\(cli.workspace)/trail/entries/\(head).json")
    try cutCiphertext(cli.workspace + "/prod.json", field: "app_secret")
    let r = try cli.expect(1, ["scan", "--format", "json"])
    #expect(r.stderr.contains("the trail is damaged"), "\(r.stderr)")
    let found = (try cli.json(r)["findings"] as? [[String: Any]] ?? []).map {
      "\($0["file"] ?? "") \($0["field"] ?? "")"
    }
    #expect(found == ["notes.md app_secret"], "\(found)")
  }

  @Test("a clean repository of 2,000 generated files full of high-entropy decoys: no findings")
  func decoys() throws {
    let (cli, _) = try repository()
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [
      "python3", CLI.packageRoot + "/Tests/Benchmarks/gen_scan_repo.py", cli.root + "/src", "2000", "4000000",
    ]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let (got, _) = try findings(cli, [], status: 0)
    #expect(got.isEmpty)
    let doc = try cli.json(try cli.expect(0, ["scan", "--format", "json"]))
    let files = (doc["scanned"] as? [String: Any])?["file_count"] as? Int ?? 0
    #expect(files >= 2000)
  }

  @Test("bad input: no repository for --staged or --history, a missing path, conflicting modes (exit 64)")
  func badInput() throws {
    let cli = try CLI()
    let v = try cli.seeded()
    #expect(try cli.expect(2, ["scan", "--staged"]).stderr.contains("git repository"))
    try cli.expect(2, ["scan", "--history"])
    #expect(try cli.expect(2, ["scan", "no/such/file"]).stderr.contains("no/such/file"))
    try cli.expect(64, ["scan", "--staged", "--history"])  // usage errors are 64, as everywhere
    try cli.expect(64, ["scan", "--all-refs"])
    // Outside git, the folder holding the workspace is scanned.
    try write(cli, "loose.env", "S=\(v["dev"]!.secret)\n")
    let (got, _) = try findings(cli, [])
    #expect(got == ["loose.env dev app_secret plain"])
  }

  @Test("check's KW603 uses the same scanner: dotfiles, subfolders, big files, unknown members, markup")
  func checkWorkspaceFolder() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    let ws = cli.workspace
    try write(cli, "Environments/.env", "APP_SECRET=\(prod.secret)\n")
    try write(cli, "Environments/.env.production", "APP_KEY=\(prod.key)\n")
    try write(cli, "Environments/backup/prod.env", "S=\(v["staging"]!.secret)\n")
    try write(
      cli, "Environments/big.txt",
      String(repeating: "x y z 0123456789\n", count: 70_000) + "<secret>\(prod.secret)</secret>\n")
    try write(cli, "Environments/q.txt", "https://example.com/verify?secret=\(v["dev"]!.secret)&response=1\n")
    let prodPath = ws + "/prod.json"
    var prodJSON = try String(contentsOfFile: prodPath, encoding: .utf8)
    prodJSON = prodJSON.replacingOccurrences(
      of: "{\n", with: "{\n  \"x\": \"\(v["dev"]!.key)\",\n", options: [], range: prodJSON.range(of: "{\n"))
    try Data(prodJSON.utf8).write(to: URL(fileURLWithPath: prodPath))
    let doc = try cli.json(try cli.expect(1, ["check", "--format", "json"]))
    let kw603 = (doc["findings"] as? [[String: Any]] ?? []).filter { $0["finding_id"] as? String == "KW603" }
    // (Paths as the workspace was named: relative to where keyward ran.)
    let files = Set(
      kw603.compactMap { ($0["file"] as? String).map { String($0.dropFirst("Environments/".count)) } })
    #expect(
      files == [".env", ".env.production", "backup/prod.env", "big.txt", "q.txt", "prod.json"], "\(files)")
    #expect(
      !(doc["findings"] as? [[String: Any]] ?? []).contains {
        $0["finding_id"] as? String == "KW604" && ($0["file"] as? String ?? "").hasSuffix("big.txt")
      })
  }

  @Test(
    "evasions a reviewer tried: Unicode breaks, Markdown, UTF-16, mixed encodings, strong breaks in values")
  func evasions() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    // A pair whose values hold strong breaks (set accepts any printable value).
    let odd = (
      key: "stg_key_abc:def@ghi_\(UUID().uuidString.prefix(6))",
      secret: "stg#sec%ret:ABCDEF_\(UUID().uuidString)"
    )
    CLI.registerSecret(odd.secret)
    try cli.expect(
      0, ["set", "staging", "--stdin", "--replace", "--force"], stdin: "\(odd.key)\n\(odd.secret)\n")
    try write(cli, "t/bom.env", "\u{FEFF}\(prod.secret)\n")
    try write(cli, "t/nbsp.env", "APP_SECRET=\u{00A0}\(prod.secret)\n")
    try write(cli, "t/smart.md", "the secret is \u{201C}\(prod.secret)\u{201D} and **\(prod.secret)**\n")
    try write(cli, "t/zwsp.txt", "x\u{200B}\(prod.secret)\u{3000}y\n")
    try write(cli, "t/odd.env", "APP_KEY=\(odd.key)\nAPP_SECRET=\(odd.secret)\n")
    // UTF-16LE with a byte-order mark (PowerShell 5's `>`).
    var utf16 = Data([0xff, 0xfe])
    utf16.append(("APP_SECRET=" + prod.secret + "\r\n").data(using: .utf16LittleEndian)!)
    try utf16.write(to: URL(fileURLWithPath: cli.root + "/t/ps.txt"))
    // Base64 of text holding one Latin-1 byte, and PowerShell's -EncodedCommand (UTF-16LE).
    var latin = Data("caf".utf8)
    latin.append(0xe9)
    latin.append(Data(" SECRET=\(prod.secret)\n".utf8))
    try write(cli, "t/latin.b64", latin.base64EncodedString() + "\n")
    let command = "$env:SECRET='\(prod.secret)'".data(using: .utf16LittleEndian)!.base64EncodedString()
    try write(cli, "t/run.ps1", "powershell -EncodedCommand \(command)\n")
    let (got, _) = try findings(cli, ["t"])
    #expect(
      got == [
        "t/bom.env prod app_secret plain", "t/latin.b64 prod app_secret base64",
        "t/nbsp.env prod app_secret plain",
        "t/odd.env staging app_key plain", "t/odd.env staging app_secret plain",
        "t/ps.txt prod app_secret plain",
        "t/run.ps1 prod app_secret base64", "t/smart.md prod app_secret plain",
        "t/smart.md prod app_secret plain",
        "t/zwsp.txt prod app_secret plain",
      ], "\(got)")
  }

  @Test(
    "the hook holds for commit -a and commit -- PATH; named links and pipes are read; names are never printed"
  )
  func reviewRegressions() throws {
    let (cli, v) = try repository()
    let prod = v["prod"]!
    try cli.expect(0, ["scan", "--install-hook"])
    try write(cli, "app.cfg", "nothing\n")
    try git(cli, ["add", "app.cfg"])
    try git(cli, ["commit", "-q", "-m", "cfg"])
    try write(cli, "app.cfg", "S=\(prod.secret)\n")
    let all = try trail.git(cli.root, ["commit", "-q", "-a", "-m", "leak"], status: nil)
    #expect(all.0 != 0, "commit -a let a secret through: \(all.1)")
    let only = try trail.git(cli.root, ["commit", "-q", "-m", "leak", "--", "app.cfg"], status: nil)
    #expect(only.0 != 0, "commit -- PATH let a secret through: \(only.1)")
    try write(cli, "app.cfg", "nothing\n")

    // A link named on the command line is followed; standard input as /dev/stdin is read.
    try write(cli, "outside/secret.txt", "S=\(prod.secret)\n")
    try FileManager.default.createSymbolicLink(
      atPath: cli.root + "/named-link", withDestinationPath: cli.root + "/outside/secret.txt")
    try cli.expect(1, ["scan", "-q", cli.root + "/named-link"])
    try cli.expect(1, ["scan", "-q", "/dev/stdin"], stdin: "S=\(prod.secret)\n")

    // A value in a file's name is a copy, and the name is shown redacted (the harness searches
    // every output for the value).
    try write(cli, "names/\(prod.secret).txt", "nothing\n")
    let (named, list) = try findings(cli, ["names"])
    #expect(named == ["names/[a stored value] prod app_secret file name"], "\(named)")
    #expect(list.first?["line"] as? Int == 0)

    // A staged link whose target is the value (git stores the target as the blob).
    try FileManager.default.createSymbolicLink(atPath: cli.root + "/lnk", withDestinationPath: prod.secret)
    try git(cli, ["add", "lnk"])
    let (staged, _) = try findings(cli, ["--staged"])
    #expect(staged.contains("lnk prod app_secret plain"), "\(staged)")
    try git(cli, ["rm", "-q", "--cached", "lnk"])

    // A tracked file under a folder that became a link out of the repository is not read, even
    // when the file it would reach holds a stored value.
    try write(cli, "sub/x.txt", "fine\n")
    try git(cli, ["add", "sub/x.txt"])
    let elsewhere = NSTemporaryDirectory() + "keyward-outside-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: elsewhere) }
    try Data("S=\(prod.secret)\n".utf8).write(to: URL(fileURLWithPath: elsewhere + "/x.txt"))
    try FileManager.default.removeItem(atPath: cli.root + "/sub")
    try FileManager.default.createSymbolicLink(atPath: cli.root + "/sub", withDestinationPath: elsewhere)
    let doc = try cli.json(try cli.run(["scan", "--format", "json"]))
    let paths = (doc["findings"] as? [[String: Any]] ?? []).compactMap { $0["file"] as? String }
    #expect(!paths.contains("sub/x.txt"), "\(paths)")
    #expect(((doc["scanned"] as? [String: Any])?["other_skipped_count"] as? Int ?? 0) >= 1)

    // An edited fingerprint in prod.json does not hide the value: the trail recorded it.
    let prodPath = cli.workspace + "/prod.json"
    let fp = try #require(
      try String(contentsOfFile: prodPath, encoding: .utf8).firstMatch(
        of: /"app_secret"\s*:\s*"([0-9a-f]{16})"/)?.1)
    let edited = try String(contentsOfFile: prodPath, encoding: .utf8).replacingOccurrences(
      of: String(fp), with: "0000000000000001")
    try Data(edited.utf8).write(to: URL(fileURLWithPath: prodPath))
    let (still, _) = try findings(cli, ["outside"])
    #expect(still == ["outside/secret.txt prod app_secret plain"], "\(still)")

    // A hook that merely mentions keyward's marker is someone else's.
    let hook = cli.root + "/.git/hooks/pre-commit"
    try Data("#!/bin/sh\n# run: # keyward scan pre-commit hook\nexit 0\n".utf8).write(
      to: URL(fileURLWithPath: hook))
    try cli.expect(2, ["scan", "--install-hook"])
  }
}
