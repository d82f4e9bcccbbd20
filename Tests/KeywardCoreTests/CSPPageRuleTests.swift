import Testing

@testable import KeywardCSP
@testable import KeywardCore

/// The page check's rule groups, each on its own small page (CSPPageCheck.run is one context and
/// these groups in order; `CSPPageTests` covers the whole report).
@Suite("CSP page rule groups")
struct CSPPageRuleTests {
  let page = WebURL.parse("https://shop.example/login")!
  let loaderURL = "https://cdn.captcha-cdn.net/captchala-loader.js"

  func context(_ html: String?, headers: [String] = [], keys: CSPKeyContext? = nil) -> CSPPageContext {
    CSPPageContext(
      CSPPageInput(page: page, headers: headers, reportOnly: [], html: html.map { Array($0.utf8) }),
      provider: .captchala, keys: keys)
  }

  func ids(_ out: CSPPageFindings) -> [String] { out.findings.map(\.id) }

  var loaderRequirement: CSPRequirement {
    CSPRequirement.defaults(.captchala).first { $0.id == "loader" }!
  }

  @Test("KW719: a report-only meta and a meta outside head are ignored, and said so with their lines")
  func ignoredMetas() {
    let c = context(
      """
      <head><meta http-equiv="Content-Security-Policy-Report-Only" content="script-src 'none'"></head>
      <body><meta http-equiv="Content-Security-Policy" content="img-src 'none'"></body>
      """)
    var out = CSPPageFindings()
    CSPPageCheck.ignoredMetas(c, into: &out)
    #expect(ids(out) == ["KW719", "KW719"])
    #expect(out.findings[0].message.hasPrefix("line 1:") && out.findings[1].message.hasPrefix("line 2:"))
    #expect(c.metas.isEmpty)
  }

  @Test("a meta policy applies only to what follows it")
  func metaOrder() {
    let c = context(
      """
      <head><script src="\(loaderURL)"></script>
      <meta http-equiv="Content-Security-Policy" content="script-src 'none'"></head>
      """)
    #expect(c.policies(before: 0).isEmpty)
    #expect(c.policies(before: nil).count == 1)
    var out = CSPPageFindings()
    CSPPageCheck.requirement(loaderRequirement, c, into: &out)
    #expect(out.checks.count == 1 && out.checks[0].decision.allowed)
  }

  @Test("KW702 no loader (then the provider's URL is checked), KW703 twice, KW704 another host and http")
  func loaderTags() {
    var none = CSPPageFindings()
    CSPPageCheck.requirement(
      loaderRequirement, context("<html></html>", headers: ["script-src 'self'"]), into: &none)
    #expect(ids(none) == ["KW702", "KW701"])
    #expect(none.checks.count == 1 && none.targets.count == 1)

    let tag = "<script src=\"http://cdn.captchala.com/captchala-loader.js\"></script>"
    var twice = CSPPageFindings()
    CSPPageCheck.requirement(loaderRequirement, context("<head>\(tag)\(tag)</head>"), into: &twice)
    #expect(ids(twice) == ["KW703", "KW704", "KW704", "KW704", "KW704"])
    #expect(twice.checks.count == 2 && twice.checks.allSatisfy { $0.decision.allowed })
  }

  @Test("the boot script is checked where it stands; scripts of another type or without the marker are not")
  func bootScripts() {
    let c = context(
      """
      <head><meta http-equiv="Content-Security-Policy" content="script-src 'nonce-a'"></head>
      <script nonce="a">captchala.boot()</script><script>captchala.boot()</script>
      <script type="text/template">captchala.boot()</script><script>other()</script>
      """)
    var out = CSPPageFindings()
    CSPPageCheck.bootScripts(c, into: &out)
    #expect(out.checks.map(\.decision.allowed) == [true, false])
    #expect(ids(out) == ["KW701"])
    var without = CSPPageFindings()
    CSPPageCheck.bootScripts(context(nil), into: &without)
    #expect(without.checks.isEmpty)
  }

  func keys(_ environment: String?) throws -> CSPKeyContext {
    let f = try Fingerprinter(salt: Array(repeating: UInt8(7), count: 32))
    func fp(_ s: String) -> String { f.fingerprint(SecureBytes(Array(s.utf8))) }
    return CSPKeyContext(
      fingerprinter: f,
      known: [
        .init(
          environment: "staging", set: "s1", state: .active, appKey: fp("STAGINGKEY1"),
          appSecret: fp("STAGINGSEC1")),
        .init(
          environment: "prod", set: "p1", state: .retiring, appKey: fp("PRODKEYOLD1"),
          appSecret: fp("PRODSECOLD1")),
        .init(
          environment: "prod", set: "p2", state: .active, appKey: fp("PRODKEYNEW1"),
          appSecret: fp("PRODSECNEW1")),
      ], environment: environment)
  }

  @Test("KW705 another environment's key, KW706 unknown or not active, KW707 a secret in the key's place")
  func widgetKeys() throws {
    func run(_ value: String, env: String? = "prod") throws -> [String] {
      var out = CSPPageFindings()
      CSPPageCheck.widgetKeys(
        context("<div data-captchala data-app-key=\"\(value)\"></div>", keys: try keys(env)), into: &out)
      #expect(out.pageKeys.count == 1)
      return ids(out)
    }
    #expect(try run("PRODKEYNEW1") == [])
    #expect(try run("STAGINGKEY1") == ["KW705"])
    #expect(try run("UNKNOWNKEY1") == ["KW706"])
    #expect(try run("PRODKEYOLD1") == ["KW706"])
    #expect(try run("PRODSECNEW1") == ["KW706", "KW707"])
    #expect(try run("STAGINGKEY1", env: nil) == [])
  }

  @Test(
    "KW707: a stored secret in the page's text is reported once, named by environment and set, never shown")
  func pageSecrets() throws {
    var out = CSPPageFindings()
    CSPPageCheck.pageSecrets(
      context("<p>PRODSECNEW1</p><script>x='PRODSECNEW1'</script><i>NOTASECRET</i>", keys: try keys("prod")),
      into: &out)
    #expect(ids(out) == ["KW707"])
    #expect(out.findings[0].message.contains("prod's App Secret (set p2)"))
    #expect(!out.findings[0].message.contains("PRODSECNEW1"))
  }
}
