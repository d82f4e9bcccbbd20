import Foundation
import Testing

/// Nasty values through every export format and back through the real consumers: each value reads
/// back byte for byte, or the format refuses it — and refuses exactly the values its documented
/// rule names, no more.
@Suite("export round trips through real consumers")
struct ExportRoundTripTests {
  static let formats = ["dotenv", "shell", "json", "docker", "github", "k8s", "systemd"]

  /// Hand-picked troublemakers, then seeded random mixes of them.
  static let values: [String] = {
    var v = [
      "plain_value_123", "with space", " leading", "trailing ", "\ttabs\t", "sq'quote", "dq\"quote",
      "both'and\"", "back\\slash", "double\\\\back", "ends\\", "dollar$HOME", "brace${HOME}", "$(whoami)",
      "`whoami`", "hash #x", "#start", "eq=val=", "multi\nline", "multi\nline'q", "cr\rin", "crlf\r\nx",
      "é😀ü", "sq'$x", "ghadelimiter_x\nmore", "=leading", "'", "\"", "\\", "${", "a\\'b", "semi;colon",
      "-dash", "<<EOF", "x<<y=z",
    ]
    let alphabet = Array("ab $'\"\\`#={}\n\t\r😀")
    var state: UInt64 = 42
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    for _ in 0..<12 {
      let len = 1 + Int(next() % 10)
      v.append(String((0..<len).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }))
    }
    return v
  }()

  /// When must a format refuse a value? The rules README and `keyward help export` document.
  static func mustRefuse(_ v: String, _ format: String) -> Bool {
    let hasCR = v.unicodeScalars.contains("\r")
    let hasLF = v.unicodeScalars.contains("\n")
    switch format {
    case "dotenv":
      if hasCR || v.contains("${") { return true }
      if !v.contains("'") { return v.contains("\\\\") || v.hasSuffix("\\") }
      return v.contains("\\") || v.contains("\"") || v.contains("$") || hasLF
    case "docker", "systemd": return hasCR || hasLF
    case "github": return hasCR
    default: return false
    }
  }

  static func jsonString(_ s: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: [s], options: []), as: UTF8.self).dropFirst()
      .dropLast().description
  }

  @Test("every value reads back exactly, or is refused exactly when the format cannot carry it")
  func roundTrips() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "prod"])
    let dir = cli.root + "/exports"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var manifest = [[String: Any]]()
    var expected = [String: (key: String, secret: String)]()
    var refusals = 0
    for (i, secret) in Self.values.enumerated() {
      let key = "ck_live_\(i)"
      let input = "{\"app_key\": \(Self.jsonString(key)), \"app_secret\": \(Self.jsonString(secret))}"
      try cli.expect(0, ["set", "prod", "--stdin", "--raw", "--replace"], stdin: input)
      for format in Self.formats {
        let path = "\(dir)/\(i).\(format)"
        let r = try cli.run(["export", "prod", "--format", format, "-o", path])
        let refuse = Self.mustRefuse(secret, format)
        if refuse {
          refusals += 1
          #expect(r.status == 2, "\(format) should refuse \(secret.debugDescription)")
          #expect(r.stderr.contains("cannot export CAPTCHALA_APP_SECRET as \(format)"))
          #expect(!r.stderr.contains(secret) || secret.count < 3, "the refusal must not quote the value")
        } else {
          #expect(r.status == 0, "\(format) refused \(secret.debugDescription): \(r.stderr)")
          if r.status == 0 {
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(
              (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
            manifest.append([
              "path": path, "format": format, "names": ["CAPTCHALA_APP_KEY", "CAPTCHALA_APP_SECRET"],
            ])
            expected[path] = (key, secret)
          }
        }
      }
    }
    #expect(refusals > 0 && manifest.count > 200)
    let manifestPath = dir + "/manifest.json"
    try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
    let reader = URL(fileURLWithPath: CLI.packageRoot + "/Tests/Compat/read_exports.py").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", reader, manifestPath]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try #require(p.terminationStatus == 0, "the consumer script failed")
    let results = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
    var readersSeen = Set<String>()
    for (path, (key, secret)) in expected {
      let byReader = try #require(results[path], "no result for \(path)")
      for (reader, value) in byReader {
        readersSeen.insert(reader)
        let got = value as? [String: Any]
        #expect(got?["error"] == nil, "\(reader) failed on \(path): \(got?["error"] ?? "")")
        #expect(got?["CAPTCHALA_APP_KEY"] as? String == key, "\(reader) \(path) key")
        // Bytes, not Strings: Swift compares Strings by canonical equivalence (NFC == NFD).
        #expect(
          (got?["CAPTCHALA_APP_SECRET"] as? String).map { Array($0.utf8) } == Array(secret.utf8),
          "\(reader) read \(path) as \(String(describing: got?["CAPTCHALA_APP_SECRET"])), stored \(secret.debugDescription)"
        )
      }
    }
    var required = [
      "python-dotenv", "bash-source", "bash-eval", "dash-source", "json", "pyyaml", "actions-runner",
    ]
    if ProcessInfo.processInfo.environment["CI"] != nil { required.append("node") }
    for reader in required {
      #expect(readersSeen.contains(reader), "reader \(reader) never ran")
    }
  }

  @Test(
    "a newline in -o's file name is escaped in the lines about it (it was printed raw; found by the independent review)"
  )
  func outputNameWithNewline() throws {
    let cli = try CLI()
    _ = try cli.seeded()
    let path = cli.root + "/out\nkeyward: error: forged line.env"
    let r = try cli.expect(0, ["export", "prod", "-o", path])
    #expect(FileManager.default.fileExists(atPath: path))
    #expect(!r.stderr.contains("\nkeyward: error: forged"), "\(r.stderr)")
    #expect(r.stderr.contains("out\\u000akeyward: error: forged line.env"), "\(r.stderr)")
  }

  @Test("github into the runner's $GITHUB_ENV: appended (other steps' lines kept), ::add-mask:: on stdout")
  func githubRunnerFile() throws {
    let cli = try CLI()
    let v = try cli.seeded()
    let envFile = cli.root + "/runner/github_env"
    try FileManager.default.createDirectory(atPath: cli.root + "/runner", withIntermediateDirectories: true)
    try Data("EARLIER_STEP=1\n".utf8).write(to: URL(fileURLWithPath: envFile))
    let runner = ["GITHUB_ENV": envFile, "GITHUB_ACTIONS": "true"]
    let first = try cli.expect(0, ["export", "prod", "--format", "github", "-o", envFile], env: runner)
    #expect(first.stdout == "::add-mask::\(v["prod"]!.secret)\n")
    try cli.expect(0, ["export", "staging", "--format", "github", "-o", envFile, "--no-mask"], env: runner)
    let text = try String(contentsOfFile: envFile, encoding: .utf8)
    #expect(text.hasPrefix("EARLIER_STEP=1\n"))
    #expect(text.contains("CAPTCHALA_APP_SECRET=\(v["prod"]!.secret)\n"))
    #expect(text.contains("CAPTCHALA_APP_SECRET=\(v["staging"]!.secret)\n"))
    // Any other existing file is still refused, and nothing is printed.
    let other = cli.root + "/runner/other"
    try Data("EARLIER_STEP=1\n".utf8).write(to: URL(fileURLWithPath: other))
    let r = try cli.expect(2, ["export", "prod", "--format", "github", "-o", other], env: runner)
    #expect(r.stdout.isEmpty && r.stderr.contains("refusing to overwrite"))
  }
}
