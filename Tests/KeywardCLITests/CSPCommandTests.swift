import Foundation
import Testing

/// `keyward csp` against real servers: the emulator's sample site (live fetches, redirects, meta
/// policies, a prod page with staging's key), files on disk, the batch engine, and headless
/// Chromium as the judge of what a browser actually loads.
@Suite("csp command")
struct CSPCommandTests {
  func page(_ cli: CLI, _ emu: EmulatorProcess, _ scenario: String, _ extra: [String] = [], status: Int32)
    throws -> [String: Any]
  {
    let r = try cli.expect(status, ["csp", "\(emu.url)/site/\(scenario)", "--format", "json"] + extra)
    return try cli.json(r)
  }

  func checks(_ doc: [String: Any]) -> [String: String] {
    var out = [String: String]()
    for case let c as [String: Any] in doc["checks"] as? [Any] ?? [] {
      out[c["requirement_id"] as! String] = c["verdict"] as? String
    }
    return out
  }

  func findings(_ doc: [String: Any]) -> Set<String> {
    Set((doc["findings"] as? [[String: Any]] ?? []).compactMap { $0["finding_id"] as? String })
  }

  @Test("live pages: allowed, blocked with a fix that the engine then accepts, meta, no loader")
  func livePages() throws {
    let cli = try CLI()
    let emu = try EmulatorProcess(cli, ["--pair", "k:s"])
    let ok = try page(cli, emu, "login", status: 0)
    #expect(ok["verdict"] as? String == "allowed")
    #expect(
      checks(ok) == [
        "loader": "allowed", "core-script": "allowed", "widget-css": "allowed", "api": "allowed",
        "boot-script": "allowed",
      ])
    #expect(ok["schema_version"] as? Int == 2)

    let blocked = try page(cli, emu, "blocked", status: 1)
    #expect(checks(blocked)["core-script"] == "blocked")
    #expect(checks(blocked)["loader"] == "allowed")  // by its nonce
    let fixed = try #require(blocked["fixed_header"] as? String)
    #expect(fixed.contains("script-src 'self' 'nonce-kwdemo' https://cdn.captcha-cdn.net"))
    // The fixed header, with the same page, passes.
    let html = cli.root + "/blocked.html"
    // Saved by another HTTP client (Python's urllib).
    let fetch = Process()
    fetch.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    fetch.arguments = [
      "python3", "-c",
      "import sys, urllib.request; open(sys.argv[2], 'wb').write(urllib.request.urlopen(sys.argv[1]).read())",
      "\(emu.url)/site/blocked", html,
    ]
    try fetch.run()
    fetch.waitUntilExit()
    #expect(fetch.terminationStatus == 0)
    try cli.expect(
      1,
      [
        "csp", "--header", "default-src 'self'; script-src 'self' 'nonce-kwdemo'", "--html", html, "--origin",
        "\(emu.url)/site/blocked",
      ])
    try cli.expect(0, ["csp", "--header", fixed, "--html", html, "--origin", "\(emu.url)/site/blocked"])

    let meta = try page(cli, emu, "meta", status: 1)
    let fixes = try #require(meta["fixes"] as? [[String: Any]])
    #expect(fixes.contains { $0["source"] as? String == "meta" && $0["verified"] as? Bool == true })

    let none = try page(cli, emu, "no-loader", status: 1)
    #expect(findings(none).contains("KW702"))
  }

  @Test("redirect chains are followed hop by hop; loops and errors are inconclusive (exit 3)")
  func redirects() throws {
    let cli = try CLI()
    let emu = try EmulatorProcess(cli, ["--pair", "k:s"])
    let doc = try page(cli, emu, "redirect", status: 0)
    let hops = try #require(doc["redirects"] as? [[String: Any]])
    #expect(hops.map { $0["status"] as? Int } == [302, 301, 200])
    #expect((doc["page"] as? String)?.hasSuffix("/site/login") == true)
    let loop = try cli.expect(3, ["csp", "\(emu.url)/site/loop"])
    #expect(loop.all.contains("redirect loop"))
    let error = try cli.expect(3, ["csp", "\(emu.url)/site/error"])
    #expect(error.all.contains("HTTP 500"))
    try cli.expect(3, ["csp", "http://127.0.0.1:9/login"])  // nothing listens on the discard port
  }

  @Test("a prod page serving staging's App Key, and a secret in a page, found by fingerprint")
  func keysOnPage() throws {
    let cli = try CLI()
    let sets = [
      "staging": (key: "stagingKey0001", secret: "stagingSecret-\(UUID().uuidString)"),
      "prod": (key: "prodKey0002", secret: "prodSecret-\(UUID().uuidString)"),
    ]
    try cli.workspace(sets)
    let emu = try EmulatorProcess(cli, ["--pair", "k:s"])
    let doc = try page(
      cli, emu, "login?key=stagingKey0001", ["--env", "prod", "--workspace", cli.workspace], status: 1)
    #expect(findings(doc).contains("KW705"))
    let fine = try page(
      cli, emu, "login?key=prodKey0002", ["--env", "prod", "--workspace", cli.workspace], status: 0)
    #expect(findings(fine).isEmpty)
    // A secret pasted into a page: reported by fingerprint, never echoed (the harness checks).
    let html = cli.root + "/leak.html"
    try "<html><body><script>var s = '\(sets["prod"]!.secret)';</script></body></html>".write(
      toFile: html, atomically: false, encoding: .utf8)
    let r = try cli.expect(1, ["csp", "--html", html, "--workspace", cli.workspace, "--format", "json"])
    #expect(findings(try cli.json(r)).contains("KW707"))
  }

  @Test(
    "--response reads a raw HTTP response (several CSP headers, report-only, chunked body); --urls checks many pages"
  )
  func responseAndURLs() throws {
    let cli = try CLI()
    let raw = cli.root + "/resp.http"
    let body = "<script src=\"https://cdn.captcha-cdn.net/captchala-loader.js\"></script>"
    let chunked = String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
    try
      ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n"
      + "Content-Security-Policy: script-src https://cdn.captcha-cdn.net\r\n"
      + "Content-Security-Policy: default-src 'self'\r\n"
      + "Content-Security-Policy-Report-Only: script-src 'none'\r\n\r\n" + chunked).write(
        toFile: raw, atomically: false, encoding: .utf8)
    let r = try cli.expect(
      1, ["csp", "--response", raw, "--format", "json", "--origin", "https://shop.example/"])
    let doc = try cli.json(r)
    #expect((doc["policies"] as? [Any])?.count == 3)
    // The second header line blocks the loader: every enforced policy must allow.
    #expect(checks(doc)["loader"] == "blocked")
    let bad = cli.root + "/bad.http"
    try "<html>not a response</html>".write(toFile: bad, atomically: false, encoding: .utf8)
    let e = try cli.expect(2, ["csp", "--response", bad])
    #expect(e.stderr.contains("bad.http: line 1"))

    let emu = try EmulatorProcess(cli, ["--pair", "k:s"])
    let list = cli.root + "/urls.txt"
    try "# pages\n\(emu.url)/site/login\n\(emu.url)/site/blocked\n\n\(emu.url)/site/error\n".write(
      toFile: list, atomically: false, encoding: .utf8)
    let many = try cli.expect(1, ["csp", "--urls", list, "--format", "json"])
    let pages = try #require(try cli.json(many)["pages"] as? [[String: Any]])
    #expect(pages.map { $0["verdict"] as? String } == ["allowed", "blocked", "unreachable"])
  }

  @Test(
    "csp eval: one query from flags (exit 0/1), a batch with ids echoed and bad lines answered with errors")
  func eval() throws {
    let cli = try CLI()
    try cli.expect(
      0,
      [
        "csp", "eval", "--policy", "script-src https://cdn.captcha-cdn.net", "--origin", "https://a.example/",
        "--kind", "script", "--url", "https://cdn.captcha-cdn.net/captchala-loader.js",
      ])
    let blocked = try cli.expect(
      1,
      [
        "csp", "eval", "--policy", "default-src 'self'", "--origin", "https://a.example/", "--kind", "frame",
        "--url", "https://f.example/", "--format", "json",
      ])
    #expect(blocked.stdout.contains("\"directive\":\"default-src\""))
    let input = [
      #"{"id":"a","policy":"script-src 'nonce-x'","origin":"https://a.example","kind":"script","url":"/x.js","nonce":"x"}"#,
      "not json",
      #"{"origin":"https://a.example","kind":"rocket","url":"/x"}"#,
      #"{"origin":"https://a.example","kind":"script","url":"/x","polcy":"x"}"#,
      "",
      #"{"id":2,"policy":["default-src 'none'"],"origin":"https://a.example","kind":"img","url":"/i.png"}"#,
    ].joined(separator: "\n")
    let r = try cli.expect(2, ["csp", "eval"], stdin: input)
    let lines = r.stdout.split(separator: "\n").map {
      try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    #expect(lines.count == 5)
    #expect(lines[0]["id"] as? String == "a" && lines[0]["verdict"] as? String == "allowed")
    func message(_ line: [String: Any]) -> String? {
      (line["error"] as? [String: Any])?["message"] as? String
    }
    #expect(message(lines[1])?.contains("not valid JSON") == true)
    #expect(message(lines[2])?.contains("rocket") == true)
    #expect(message(lines[3])?.contains("polcy") == true)
    #expect(lines[4]["id"] as? Int == 2 && lines[4]["verdict"] as? String == "blocked")
    #expect(lines[4]["line"] as? Int == 6)
  }

  @Test("headless Chromium and the engine agree on every load (skipped only where Chromium is absent)")
  func browser() throws {
    let cli = try CLI()
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [
      "python3", CLI.packageRoot + "/Tests/Compat/chromium_csp.py",
      CLI.packageRoot + "/Tests/Compat/csp_browser_cases.json",
    ]
    let outPath = cli.root + "/oracle.json"
    FileManager.default.createFile(atPath: outPath, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    if p.terminationStatus == 77 {
      print("csp browser test skipped: no Chromium on this machine")
      return
    }
    #expect(p.terminationStatus == 0, "the Chromium oracle failed (\(p.terminationStatus))")
    let doc = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: outPath)))
        as? [String: Any])
    let results = try #require(doc["results"] as? [[String: Any]])
    let cases = Set(results.compactMap { $0["case"] as? String })
    #expect(cases.count >= 30)
    let fields = [
      "policy", "report_only_policy", "meta_policy", "origin", "kind", "url", "nonce", "integrity",
      "parser_inserted", "redirect_count", "body",
    ]
    var lines: [String] = []
    for r in results {
      var q = r.filter { fields.contains($0.key) && !($0.value is NSNull) }
      if r["attribute"] as? Bool == true { q["kind"] = "style-attr" }
      lines.append(String(decoding: try JSONSerialization.data(withJSONObject: q), as: UTF8.self))
    }
    let answers = try cli.expect(0, ["csp", "eval"], stdin: lines.joined(separator: "\n") + "\n")
      .stdout.split(separator: "\n")
    #expect(answers.count == results.count)
    var disagreements: [String] = []
    for (r, a) in zip(results, answers) {
      let answer = try JSONSerialization.jsonObject(with: Data(a.utf8)) as! [String: Any]
      let browser = (r["loaded"] as? Bool) == true ? "allowed" : "blocked"
      if answer["verdict"] as? String != browser {
        disagreements.append(
          "\(r["case"]!)#\(r["resource"]!) \(r["kind"]!): Chromium \(browser), keyward \(answer["verdict"] ?? answer)"
        )
      }
    }
    #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
  }
}
