import Testing

@testable import KeywardCSP
@testable import KeywardCore

@Suite("CSP engine")
struct CSPTests {
  func evaluate(_ t: CSPCase) -> CSPDecision {
    var policies: [Policy] = []
    for h in t.policies { policies += Policy.parseList(h, source: .header) }
    for h in t.reportOnly { policies += Policy.parseList(h, source: .reportOnly) }
    for m in t.meta { policies.append(Policy.parse(Substring(m), source: .meta)) }
    let page = WebURL.parse(t.page)!
    let request = CSPRequest(
      page: page, kind: t.kind, url: t.url.map { page.resolve($0)! }, nonce: t.nonce, integrity: t.integrity,
      parserInserted: t.parserInserted, redirectCount: t.redirects, body: t.body.map { Array($0.utf8) })
    return CSPEngine.evaluate(request, policies: policies)
  }

  @Test("the specification's cases", arguments: allCSPCases)
  func cases(_ t: CSPCase) {
    let d = evaluate(t)
    let reasons = d.verdicts.map(\.reason).joined(separator: " | ")
    #expect(d.allowed == t.allowed, "\(t.name): \(reasons)")
    if let directive = t.directive {
      #expect(d.verdicts.contains { $0.directive == directive }, "\(t.name): \(reasons)")
    }
    // Every blocking verdict says why.
    for v in d.verdicts where !v.allowed { #expect(!v.reason.isEmpty) }
  }

  @Test("at least 150 cases")
  func enough() { #expect(allCSPCases.count >= 150) }

  @Test("the explanation names the part that did not match")
  func misses() {
    let d = evaluate(
      c(
        "x", "script-src https://cdn.example.net:8443 http://cdn.example.net/lib/ https://other.net", .script,
        "https://cdn.example.net/app.js", false))
    let parts = d.verdicts[0].misses.map { "\($0.expression)=\($0.part)" }
    #expect(
      parts == [
        "https://cdn.example.net:8443=port", "http://cdn.example.net/lib/=path", "https://other.net=host",
      ])
    let s = evaluate(c("x", "script-src https:", .script, "http://cdn.example.net/a.js", false))
    #expect(s.verdicts[0].misses.map(\.part) == ["scheme"])
  }

  @Test("report-only is reported, not enforced")
  func reported() {
    let d = evaluate(c("x", "", .script, "https://a.example/x.js", true, reportOnly: ["script-src 'none'"]))
    #expect(d.allowed && d.reported)
  }

  @Test("SHA-2 known answers (FIPS 180-4 \"abc\"; 1000 × \"a\" from Python hashlib)")
  func hashes() {
    let abc = Array("abc".utf8)
    #expect(
      Sodium.hex(CSPHash.digest(.sha256, abc))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      Sodium.hex(CSPHash.digest(.sha384, abc))
        == "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
    #expect(
      Sodium.hex(CSPHash.digest(.sha384, Array(repeating: 0x61, count: 1000)))
        == "f54480689c6b0b11d0303285d9a81b21a93bca6ba5a1b4472765dca4da45ee328082d469c650cd3b61b16d3266ab8ced")
  }

  // MARK: parse warnings

  @Test(
    "parse warnings",
    arguments: [
      ("script-src 'self'; script-src *", PolicyWarning.Code.duplicateDirective),
      ("scripts-src 'self'", .unknownDirective),
      ("script-src: 'self'", .directiveColon),
      ("script-src 'self' style-src 'self'", .missingSemicolon),
      ("script-src self", .unquotedKeyword),
      ("script-src 'none' https://a.example", .noneWithSources),
      ("script-src https://a.example/x?y", .pathWithQuery),
      ("script-src https://a..example", .invalidSource),
      ("script-src 'unsafe-everything'", .invalidSource),
      ("script-src https://caf\u{e9}.example", .nonASCIIDropped),
      ("script-src", .emptyDirective),
    ])
  func warnings(_ policy: String, _ code: PolicyWarning.Code) {
    let p = Policy.parse(Substring(policy), source: .header)
    #expect(p.warnings.contains { $0.code == code }, "\(policy): \(p.warnings.map(\.message))")
  }

  @Test("meta ignores frame-ancestors, report-uri and sandbox, and says so")
  func metaIgnored() {
    let p = Policy.parse("frame-ancestors 'none'; report-uri /r", source: .meta)
    #expect(p.warnings.filter { $0.code == .ignoredInMeta }.count == 2)
  }

  // MARK: fixes

  func fix(_ policy: String, _ request: CSPRequest, source: String? = nil) -> CSPFix? {
    CSPFixer.fix(
      policies: Policy.parseList(policy, source: .header), targets: [FixTarget(request, source: source)]
    ).first
  }

  let page = WebURL.parse("https://shop.example/login")!
  let loader = WebURL.parse("https://cdn.captcha-cdn.net/captchala-loader.js")!

  @Test("fix: append to the governing directive")
  func fixAppend() throws {
    let f = try #require(
      fix("script-src 'self'; object-src 'none'", CSPRequest(page: page, kind: .script, url: loader)))
    #expect(f.after == "script-src 'self' https://cdn.captcha-cdn.net; object-src 'none'")
    #expect(f.diff == ["- script-src 'self'", "+ script-src 'self' https://cdn.captcha-cdn.net"])
    #expect(f.verified)
  }

  @Test("fix: a request that falls back to default-src gets its own directive with default-src's values")
  func fixFallback() throws {
    let f = try #require(
      fix("default-src 'self' https://img.example", CSPRequest(page: page, kind: .script, url: loader)))
    #expect(
      f.after
        == "default-src 'self' https://img.example; script-src 'self' https://img.example https://cdn.captcha-cdn.net"
    )
    #expect(f.verified)
  }

  @Test("fix: 'none' is replaced, not appended to")
  func fixNone() throws {
    let f = try #require(
      fix("frame-src 'none'", CSPRequest(page: page, kind: .frame, url: WebURL.parse("https://f.example/x")!))
    )
    #expect(f.after == "frame-src https://f.example")
  }

  @Test("fix: the provider's narrower source when it documents one")
  func fixSource() throws {
    let u = WebURL.parse("https://www.google.com/recaptcha/api.js")!
    let f = try #require(
      fix(
        "script-src 'self'", CSPRequest(page: page, kind: .script, url: u),
        source: "https://www.google.com/recaptcha/"))
    #expect(f.after == "script-src 'self' https://www.google.com/recaptcha/")
    #expect(f.verified)
  }

  @Test("fix: under 'strict-dynamic' the tag needs the nonce, not a host")
  func fixStrictDynamic() throws {
    let f = try #require(
      fix("script-src 'strict-dynamic' 'nonce-r4nd'", CSPRequest(page: page, kind: .script, url: loader)))
    #expect(f.after == "script-src 'strict-dynamic' 'nonce-r4nd'")
    #expect(f.pageChanges.first?.contains("nonce=\"r4nd\"") == true)
    #expect(f.verified)
  }

  @Test("fix: an inline boot script gets its hash")
  func fixInline() throws {
    let body = Array("captchala.render()".utf8)
    let f = try #require(
      fix("script-src 'self'", CSPRequest(page: page, kind: .inlineScript, url: nil, body: body)))
    #expect(f.after == "script-src 'self' \(CSPHash.source(.sha256, body))")
    #expect(f.verified)
  }

  @Test("fix: only enforced policies that block are touched; several blocked requests in one edit")
  func fixSeveral() {
    let policies =
      Policy.parseList("script-src 'self', img-src *", source: .header)
      + Policy.parseList("script-src 'none'", source: .reportOnly)
    let targets = [
      FixTarget(CSPRequest(page: page, kind: .script, url: loader)),
      FixTarget(CSPRequest(page: page, kind: .connect, url: WebURL.parse("https://apiv1.captcha.la/")!)),
    ]
    let fixes = CSPFixer.fix(policies: policies, targets: targets)
    #expect(fixes.count == 1)
    #expect(fixes[0].index == 0)
    #expect(fixes[0].after == "script-src 'self' https://cdn.captcha-cdn.net")
  }

  // MARK: lint

  @Test(
    "lint",
    arguments: [
      ("script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'", "KW711"),
      ("script-src 'self' 'unsafe-eval'; object-src 'none'", "KW712"),
      ("script-src *; object-src 'none'", "KW713"),
      ("script-src https:; object-src 'none'", "KW714"),
      ("script-src 'self'", "KW715"),
      ("script-src 'self'; object-src 'none'", "KW716"),
      ("script-src 'strict-dynamic'; object-src 'none'", "KW718"),
      ("script-src 'self' self; object-src 'none'", "KW719"),
    ])
  func lint(_ policy: String, _ id: String) {
    let findings = CSPLint.lint(Policy.parseList(policy, source: .header))
    #expect(findings.contains { $0.id == id }, "\(policy): \(findings.map(\.id))")
  }

  @Test("lint: a strict policy is clean, and report-only alone is flagged")
  func lintClean() {
    let strict = "script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'; base-uri 'none'"
    #expect(CSPLint.lint(Policy.parseList(strict, source: .header)).isEmpty)
    #expect(CSPLint.lint(Policy.parseList(strict, source: .reportOnly)).contains { $0.id == "KW717" })
  }
}

@Suite("CSP pages")
struct CSPPageTests {
  let page = WebURL.parse("https://shop.example/login")!
  let salt = Array(repeating: UInt8(7), count: 32)

  static let html = """
    <!doctype html><html><head>
    <meta http-equiv="Content-Security-Policy" content="script-src 'self' 'nonce-n1'; object-src 'none'">
    <!-- <script src="https://cdn.captcha-cdn.net/captchala-loader.js"></script> in a comment -->
    <script src="https://cdn.captcha-cdn.net/captchala-loader.js" nonce="n1" defer></script>
    <script nonce="n1">window.captchala && captchala.boot({action: "login"});</script>
    </head><body>
    <form><div data-captchala data-app-key="STAGINGKEY123" data-action="login"></div></form>
    <SCRIPT>var leaked = "SECRETVALUE987";</SCRIPT>
    </body></html>
    """

  func known(_ f: Fingerprinter) -> [CSPKeyContext.Known] {
    func fp(_ s: String) -> String { f.fingerprint(SecureBytes(Array(s.utf8))) }
    return [
      .init(
        environment: "staging", set: "s1", state: .active, appKey: fp("STAGINGKEY123"),
        appSecret: fp("STAGINGSECRET1")),
      .init(
        environment: "prod", set: "p1", state: .active, appKey: fp("PRODKEY456"),
        appSecret: fp("SECRETVALUE987")),
    ]
  }

  @Test("scan: meta in head, scripts with exact inline text, comments skipped, attributes decoded")
  func scan() {
    let s = PageScan.scan(Array(Self.html.utf8))
    #expect(s.metas.count == 1 && s.metas[0].inHead)
    #expect(s.metas[0].content == "script-src 'self' 'nonce-n1'; object-src 'none'")
    #expect(s.scripts.count == 3)
    #expect(s.scripts[0].attribute("src") == "https://cdn.captcha-cdn.net/captchala-loader.js")
    #expect(String(decoding: s.scripts[1].text!, as: UTF8.self).hasPrefix("window.captchala"))
    #expect(s.elements.contains { $0.attribute("data-app-key") == "STAGINGKEY123" })
    let e = PageScan.scan(Array("<a title='a &amp; b &#x41;&#66;' href=x>".utf8))
    #expect(e.elements[0].attribute("title") == "a & b AB")
  }

  @Test(
    "a page: loader by nonce, boot script by nonce, the inserted core script blocked, staging's key on prod, a secret in the page"
  )
  func pageCheck() throws {
    let f = try Fingerprinter(salt: salt)
    let report = CSPPageCheck.run(
      CSPPageInput(page: page, headers: [], reportOnly: [], html: Array(Self.html.utf8)),
      provider: .captchala,
      requirements: CSPRequirement.defaults(.captchala),
      keys: CSPKeyContext(fingerprinter: f, known: known(f), environment: "prod"))
    func check(_ id: String) -> CSPCheckResult? { report.checks.first { $0.requirement.id == id } }
    #expect(check("loader")?.decision.allowed == true)
    #expect(check("loader")?.decision.verdicts.first?.rule == .nonce)
    #expect(check("boot-script")?.decision.allowed == true)
    #expect(check("core-script")?.decision.allowed == false)
    let ids = Set(report.findings.map(\.id))
    #expect(ids.isSuperset(of: ["KW701", "KW705", "KW707"]))
    #expect(!ids.contains("KW702"))
    #expect(report.failed)
    // The fix goes into the meta policy and is re-checked.
    let fix = try #require(report.fixes.first)
    #expect(fix.source == .meta)
    #expect(fix.after.contains("https://cdn.captcha-cdn.net"))
    #expect(fix.verified)
  }

  @Test("scan: CRLF becomes LF in inline text (browsers hash that), short comments end, noscript is text")
  func scanEdges() {
    let crlf = PageScan.scan(Array("<script>a();\r\nb();\rc();</script>".utf8))
    #expect(crlf.scripts.first?.text == Array("a();\nb();\nc();".utf8))
    let short = PageScan.scan(
      Array("<!--><meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'none'\">".utf8))
    #expect(short.metas.count == 1)
    let noscript = PageScan.scan(
      Array(
        "<noscript><meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'none'\"></noscript>".utf8))
    #expect(noscript.metas.isEmpty)
  }

  @Test("raw responses: bad chunk sizes are errors, not crashes")
  func chunks() {
    for body in ["\n", ";\n", "7fffffffffffffff\r\nabc", "zz\r\n"] {
      let raw = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(body)".utf8)
      #expect(throws: KeywardError.self) { try PageFetch.parseResponse(raw, source: "r.http") }
    }
  }

  @Test(
    "the trail's fast scan takes canonical lines only (duplicates, unsorted keys, leading zeros go to the parser)"
  )
  func trailScan() {
    #expect(TrailScan.summary(Array(#"{"action":"set","prev":"a","seq":2}"#.utf8)) != nil)
    #expect(TrailScan.summary(Array(#"{"action":"set","action":"x","seq":2}"#.utf8)) == nil)
    #expect(TrailScan.summary(Array(#"{"seq":2,"action":"set"}"#.utf8)) == nil)
    #expect(TrailScan.summary(Array(#"{"action":"set","seq":002}"#.utf8)) == nil)
    #expect(TrailScan.summary(Array("{\"action\":\"s\u{e9}t\",\"seq\":2}".utf8)) == nil)
  }

  @Test("no loader on the page, and a loader included twice")
  func loaderTags() throws {
    let none = CSPPageCheck.run(
      CSPPageInput(
        page: page, headers: ["script-src 'self'"], reportOnly: [], html: Array("<html></html>".utf8)),
      provider: .captchala, requirements: CSPRequirement.defaults(.captchala), keys: nil)
    #expect(none.findings.contains { $0.id == "KW702" })
    let tag = "<script src=\"https://cdn.captchala.com/captchala-loader.js\"></script>"
    let twice = CSPPageCheck.run(
      CSPPageInput(page: page, headers: [], reportOnly: [], html: Array("<head>\(tag)\(tag)</head>".utf8)),
      provider: .captchala, requirements: CSPRequirement.defaults(.captchala), keys: nil)
    #expect(twice.findings.contains { $0.id == "KW703" })
    #expect(twice.findings.contains { $0.id == "KW704" })
    #expect(!twice.failed)
  }

  @Test("fuzz: random policies, URLs, pages and eval lines never crash, and answers are JSON")
  func fuzz() {
    var rng = FuzzTests.Rng(state: 7)
    let seeds = [
      "script-src 'self' https://cdn.example.net/lib/; default-src 'none'",
      "img-src * data:, script-src 'nonce-abc' 'strict-dynamic'",
      "style-src 'sha256-abc=' 'unsafe-inline' 'none'",
      "https://user@cdn.example.net:8443/a/../b.js?x#y", "//[::1]:80/x", "blob:https://a/b",
      "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\"><script src=x nonce=a>alert(1)</script><!-- c -->",
      "{\"policy\":\"script-src *\",\"origin\":\"https://a.b\",\"kind\":\"script\",\"url\":\"https://c.d/e\"}",
      "{\"policy\":[\"a\"],\"origin\":\"http://a\",\"kind\":\"inline-script\",\"body\":\"x\",\"redirect_count\":2}",
    ]
    let session = CSPEvalSession()
    let loader = WebURL.parse("https://cdn.captcha-cdn.net/captchala-loader.js")!
    for _ in 0..<4000 {
      let bytes = FuzzTests().randomInput(&rng, seeds: seeds)
      let s = String(decoding: bytes, as: UTF8.self)
      let policies = Policy.parseList(s, source: .header)
      _ = CSPLint.lint(policies)
      if let u = WebURL.parse(s) ?? page.resolve(s) {
        _ = CSPEngine.evaluate(CSPRequest(page: page, kind: .script, url: u), policies: policies)
      }
      _ = CSPFixer.fix(
        policies: policies, targets: [FixTarget(CSPRequest(page: page, kind: .script, url: loader))])
      _ = PageScan.scan(bytes)
      var out: [UInt8] = []
      session.answer(bytes, number: 1, into: &out)
      #expect(out.last == 0x0a)
      #expect((try? JSONValue.parse(Array(out.dropLast()), source: "answer")) != nil)
    }
  }
}
