import KeywardCore

/// `keyward csp` on one page: the policies it is served with (headers and meta), the provider's
/// loader and boot script as the page has them, every resource the provider needs, the widget's
/// App Key against the workspace, and the minimal fix. No I/O: the command fetches, this judges.

/// One resource a provider's widget needs. Defaults come from CAPTCHALA-CONTRACT.md; keyward.json
/// may replace them (`"csp": {"requirements": [...]}`).
public struct CSPRequirement: Sendable {
  public var id: String
  public var kind: ResourceKind
  public var url: String
  /// The source a fix adds (default: the URL's origin).
  public var source: String?
  public var parserInserted: Bool
  /// "sdk" (the SDKs document it), "docs" (the provider's documentation), "inferred" or "config".
  public var basis: String
  /// A blocked required resource fails the check (exit 1); others are warnings.
  public var required: Bool
  public var why: String

  public init(
    id: String, kind: ResourceKind, url: String, source: String? = nil, parserInserted: Bool = true,
    basis: String, required: Bool = true, why: String
  ) {
    self.id = id
    self.kind = kind
    self.url = url
    self.source = source
    self.parserInserted = parserInserted
    self.basis = basis
    self.required = required
    self.why = why
  }

  /// The loader: which hosts serve it and the path it ends with.
  public struct Loader: Sendable {
    public var hosts: [String]
    public var pathSuffixes: [String]
    /// A word that marks the provider's inline boot script.
    public var marker: String
    /// Attributes that mark the widget element, and the one holding its App Key.
    public var widgetAttributes: [String]
    public var keyAttribute: String
  }

  public static func loader(_ provider: Provider) -> Loader {
    switch provider {
    case .captchala:
      return Loader(
        hosts: ["cdn.captcha-cdn.net", "cdn.captchala.com"], pathSuffixes: ["/captchala-loader.js"],
        marker: "captchala", widgetAttributes: ["data-captchala"], keyAttribute: "data-app-key")
    case .recaptcha:
      return Loader(
        hosts: ["www.google.com", "www.recaptcha.net"],
        pathSuffixes: ["/recaptcha/api.js", "/recaptcha/enterprise.js"],
        marker: "grecaptcha", widgetAttributes: ["data-sitekey"], keyAttribute: "data-sitekey")
    case .hcaptcha:
      return Loader(
        hosts: ["js.hcaptcha.com", "hcaptcha.com"], pathSuffixes: ["/1/api.js"], marker: "hcaptcha",
        widgetAttributes: ["data-sitekey"], keyAttribute: "data-sitekey")
    case .turnstile:
      return Loader(
        hosts: ["challenges.cloudflare.com"], pathSuffixes: ["/turnstile/v0/api.js"], marker: "turnstile",
        widgetAttributes: ["data-sitekey"], keyAttribute: "data-sitekey")
    }
  }

  public static func defaults(_ provider: Provider) -> [CSPRequirement] {
    switch provider {
    case .captchala:
      return [
        .init(
          id: "loader", kind: .script, url: "https://cdn.captcha-cdn.net/captchala-loader.js",
          source: "https://cdn.captcha-cdn.net", basis: "sdk", why: "the loader script"),
        .init(
          id: "core-script", kind: .script, url: "https://cdn.captcha-cdn.net/captchala-core.js",
          source: "https://cdn.captcha-cdn.net", parserInserted: false, basis: "sdk",
          why: "the core script the loader inserts (host from the SDKs; file name inferred)"),
        .init(
          id: "widget-css", kind: .style, url: "https://cdn.captcha-cdn.net/captchala.css",
          source: "https://cdn.captcha-cdn.net", basis: "sdk",
          why: "the widget's stylesheet (host from the SDKs; file name inferred)"),
        .init(
          id: "widget-style", kind: .styleAttribute, url: "", basis: "sdk", required: false,
          why:
            "inline style on the widget element; style-src-attr applies only if the SDK writes a style attribute (styles set through element.style are not subject to CSP)"
        ),
        .init(
          id: "api", kind: .connect, url: "https://apiv1.captcha.la/", basis: "inferred", required: false,
          why: "the widget's API calls (inferred: not documented)"),
      ]
    case .recaptcha:
      return [
        .init(
          id: "loader", kind: .script, url: "https://www.google.com/recaptcha/api.js",
          source: "https://www.google.com/recaptcha/", basis: "docs", why: "the loader script"),
        .init(
          id: "core-script", kind: .script,
          url: "https://www.gstatic.com/recaptcha/releases/recaptcha__en.js",
          source: "https://www.gstatic.com/recaptcha/", parserInserted: false, basis: "docs",
          why: "the script the loader inserts"),
        .init(
          id: "frame", kind: .frame, url: "https://www.google.com/recaptcha/api2/anchor",
          source: "https://www.google.com/recaptcha/", basis: "docs", why: "the challenge frame"),
        .init(
          id: "frame-alt", kind: .frame, url: "https://recaptcha.google.com/recaptcha/api2/bframe",
          source: "https://recaptcha.google.com/recaptcha/", basis: "docs", why: "the challenge frame"),
      ]
    case .hcaptcha:
      return [
        .init(
          id: "loader", kind: .script, url: "https://js.hcaptcha.com/1/api.js",
          source: "https://*.hcaptcha.com",
          basis: "docs", why: "the loader script"),
        .init(
          id: "frame", kind: .frame, url: "https://newassets.hcaptcha.com/captcha/v1/static/hcaptcha.html",
          source: "https://*.hcaptcha.com", basis: "docs", why: "the challenge frame"),
        .init(
          id: "style", kind: .style, url: "https://newassets.hcaptcha.com/captcha/v1/static/hcaptcha.css",
          source: "https://*.hcaptcha.com", basis: "docs", why: "the widget's styles"),
        .init(
          id: "api", kind: .connect, url: "https://api.hcaptcha.com/checksiteconfig",
          source: "https://*.hcaptcha.com", basis: "docs", why: "the widget's API calls"),
      ]
    case .turnstile:
      return [
        .init(
          id: "loader", kind: .script, url: "https://challenges.cloudflare.com/turnstile/v0/api.js",
          source: "https://challenges.cloudflare.com", basis: "docs", why: "the loader script"),
        .init(
          id: "frame", kind: .frame, url: "https://challenges.cloudflare.com/cdn-cgi/challenge-platform/",
          source: "https://challenges.cloudflare.com", basis: "docs", why: "the challenge frame"),
      ]
    }
  }

  /// `"csp": {"requirements": [{"id", "kind", "url", "source"?, "parser_inserted"?, "required"?,
  /// "why"?}]}` in keyward.json; nil when absent.
  public static func fromConfig(_ extra: [String: JSONValue]) throws(KeywardError) -> [CSPRequirement]? {
    guard let csp = extra["csp"] else { return nil }
    let o = try JSONObject(csp, path: "csp", source: "keyward.json")
    guard o.members["requirements"] != nil else { return nil }
    var out: [CSPRequirement] = []
    for r in try o.objects("requirements") {
      let kindText = try r.string("kind")
      guard let kind = ResourceKind(rawValue: kindText) else {
        throw KeywardError(
          .input,
          "keyward.json: \(r.path).kind: \"\(kindText)\" is not one of \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      let url = try r.optionalString("url") ?? ""
      if !kind.isInline && WebURL.parse(url) == nil {
        throw KeywardError(.input, "keyward.json: \(r.path).url: \"\(url)\" is not an absolute URL")
      }
      out.append(
        .init(
          id: try r.string("id"), kind: kind, url: url, source: try r.optionalString("source"),
          parserInserted: r.members["parser_inserted"] == nil ? true : try r.bool("parser_inserted"),
          basis: "config", required: r.members["required"] == nil ? true : try r.bool("required"),
          why: try r.optionalString("why") ?? "listed in keyward.json"))
    }
    return out
  }
}

/// The page as the command got it.
public struct CSPPageInput: Sendable {
  public var page: WebURL
  /// Each `Content-Security-Policy` header line.
  public var headers: [String]
  /// Each `Content-Security-Policy-Report-Only` header line.
  public var reportOnly: [String]
  public var html: [UInt8]?

  public init(page: WebURL, headers: [String], reportOnly: [String], html: [UInt8]?) {
    self.page = page
    self.headers = headers
    self.reportOnly = reportOnly
    self.html = html
  }
}

/// The sets the page's App Key (and any secret in it) are compared with, by fingerprint.
public struct CSPKeyContext {
  public struct Known {
    public var environment: String
    public var set: String
    public var state: SetState
    public var appKey: String
    public var appSecret: String

    public init(environment: String, set: String, state: SetState, appKey: String, appSecret: String) {
      self.environment = environment
      self.set = set
      self.state = state
      self.appKey = appKey
      self.appSecret = appSecret
    }
  }
  public var fingerprinter: Fingerprinter
  public var known: [Known]
  /// `--env`: the environment this page belongs to.
  public var environment: String?

  public init(fingerprinter: Fingerprinter, known: [Known], environment: String?) {
    self.fingerprinter = fingerprinter
    self.known = known
    self.environment = environment
  }
}

public struct CSPCheckResult: Sendable {
  public var requirement: CSPRequirement
  public var request: CSPRequest
  public var decision: CSPDecision
  /// Where on the page (line), when the resource comes from a tag.
  public var line: Int?
}

public struct CSPPageReport: Sendable {
  public var page: WebURL
  public var policies: [Policy]
  public var checks: [CSPCheckResult]
  public var findings: [Finding]
  public var fixes: [CSPFix]
  public var lint: [CSPLintFinding]
  /// Fingerprints of the App Keys in the page's widget elements.
  public var pageKeys: [String]

  /// A required resource is blocked, or a finding is an error.
  public var failed: Bool {
    checks.contains { $0.requirement.required && !$0.decision.allowed }
      || findings.contains { $0.severity == .error }
  }
}

/// What a page check reads once: the page's policies (headers, report-only headers and the
/// `<meta>` policies in `<head>`, each applying to what follows it), its scanned HTML, the
/// provider's loader and the tags that load it, and the stored sets to compare keys with.
struct CSPPageContext {
  let input: CSPPageInput
  let provider: Provider
  let keys: CSPKeyContext?
  let scan: PageScan?
  let headerPolicies: [Policy]
  let metas: [(offset: Int, policy: Policy)]
  /// The `<meta>` policies browsers ignore, with the reason.
  let ignoredMetas: [(line: Int, why: String)]
  let loader: CSPRequirement.Loader
  let loaderTags: [PageScan.Element]

  init(_ input: CSPPageInput, provider: Provider, keys: CSPKeyContext?) {
    self.input = input
    self.provider = provider
    self.keys = keys
    var headerPolicies: [Policy] = []
    for h in input.headers { headerPolicies += Policy.parseList(h, source: .header) }
    for h in input.reportOnly { headerPolicies += Policy.parseList(h, source: .reportOnly) }
    self.headerPolicies = headerPolicies
    let scan = input.html.map(PageScan.scan)
    self.scan = scan
    var metas: [(offset: Int, policy: Policy)] = []
    var ignored: [(line: Int, why: String)] = []
    for m in scan?.metas ?? [] {
      if m.reportOnly {
        ignored.append(
          (
            m.line,
            "<meta http-equiv=\"Content-Security-Policy-Report-Only\"> is ignored by browsers; send it as a header"
          ))
      } else if !m.inHead {
        ignored.append((m.line, "a CSP <meta> outside <head> is ignored by browsers"))
      } else {
        metas.append((m.offset, Policy.parse(Substring(m.content), source: .meta)))
      }
    }
    self.metas = metas
    ignoredMetas = ignored
    let loader = CSPRequirement.loader(provider)
    self.loader = loader
    // The loader as the page has it.
    loaderTags =
      scan?.scripts.filter { s in
        guard let src = s.attribute("src"), let u = input.page.resolve(src), let host = u.host else {
          return false
        }
        return loader.hosts.contains(host) && loader.pathSuffixes.contains { u.path.hasSuffix($0) }
      } ?? []
  }

  var allPolicies: [Policy] { headerPolicies + metas.map(\.policy) }

  /// The policies in force for something at `offset` in the HTML (every one when nil).
  func policies(before offset: Int?) -> [Policy] {
    guard let offset else { return allPolicies }
    return headerPolicies + metas.filter { $0.offset < offset }.map(\.policy)
  }
}

/// What the rule groups produce, in the order they produce it (the report keeps that order).
struct CSPPageFindings {
  var findings: [Finding] = []
  var checks: [CSPCheckResult] = []
  var targets: [FixTarget] = []
  var pageKeys: [String] = []

  mutating func add(
    _ context: CSPPageContext, _ id: String, _ severity: Severity, _ message: String,
    _ evidence: [String: String] = [:], remedy: String? = nil
  ) {
    findings.append(
      Finding(
        id: id, severity: severity, environment: context.keys?.environment, set: nil, message: message,
        evidence: evidence, remedy: remedy, file: context.input.page.description))
  }

  /// Evaluates one request the way a browser would at that point of the page: KW701 when it is
  /// blocked (and a fix target), KW708 when only a report-only policy objects.
  mutating func check(
    _ context: CSPPageContext, _ req: CSPRequirement, _ request: CSPRequest, offset: Int?, line: Int?
  ) {
    let d = CSPEngine.evaluate(request, policies: context.policies(before: offset))
    checks.append(CSPCheckResult(requirement: req, request: request, decision: d, line: line))
    if !d.allowed {
      targets.append(FixTarget(request, source: req.source))
      let blockers = d.verdicts.filter { !$0.allowed && $0.source.enforced }
      add(
        context, "KW701", req.required ? .error : .warning,
        "\(CSPPageCheck.describe(req, request)) is blocked: " + blockers.map(\.reason).joined(separator: "; ")
          + (req.basis == "inferred" ? " (this requirement is inferred, not documented)" : ""),
        ["requirement": req.id, "basis": req.basis], remedy: "apply the fix below")
    } else if d.reported {
      add(
        context, "KW708", .note,
        "\(CSPPageCheck.describe(req, request)) would be reported by a report-only policy",
        ["requirement": req.id])
    }
  }
}

/// The page check: one context, then one function per rule group, each unit-tested
/// (`CSPPageRuleTests`).
public enum CSPPageCheck {
  public static func run(
    _ input: CSPPageInput, provider: Provider, requirements: [CSPRequirement], keys: CSPKeyContext?
  ) -> CSPPageReport {
    let context = CSPPageContext(input, provider: provider, keys: keys)
    var out = CSPPageFindings()
    ignoredMetas(context, into: &out)
    for req in requirements { requirement(req, context, into: &out) }
    bootScripts(context, into: &out)
    widgetKeys(context, into: &out)
    pageSecrets(context, into: &out)
    let all = context.allPolicies
    return CSPPageReport(
      page: input.page, policies: all, checks: out.checks, findings: out.findings,
      fixes: CSPFixer.fix(policies: all, targets: out.targets), lint: CSPLint.lint(all),
      pageKeys: out.pageKeys)
  }

  /// KW719: `<meta>` policies browsers ignore.
  static func ignoredMetas(_ context: CSPPageContext, into out: inout CSPPageFindings) {
    for m in context.ignoredMetas { out.add(context, "KW719", .note, "line \(m.line): \(m.why)") }
  }

  /// One requirement: the loader as the page includes it (KW702–KW704, then each tag checked), an
  /// inline style on the widget, or a request where the provider serves it.
  static func requirement(_ req: CSPRequirement, _ context: CSPPageContext, into out: inout CSPPageFindings) {
    let page = context.input.page
    if req.id == "loader", context.scan != nil {
      loaderTags(req, context, into: &out)
      if !context.loaderTags.isEmpty { return }
    }
    if req.kind.isInline {
      if req.kind == .styleAttribute, let scan = context.scan {
        // Only a style attribute in the markup can be judged: one the SDK might set later
        // through element.style is not subject to CSP, and one it writes as an attribute is unknown.
        let widget = scan.elements.first { e in
          context.loader.widgetAttributes.contains { e.attributes[$0] != nil }
        }
        if let widget, let style = widget.attribute("style") {
          out.check(
            context, req, CSPRequest(page: page, kind: .styleAttribute, url: nil, body: Array(style.utf8)),
            offset: widget.offset, line: widget.line)
        }
      }
      return
    }
    guard let u = WebURL.parse(req.url) else { return }
    out.check(
      context, req, CSPRequest(page: page, kind: req.kind, url: u, parserInserted: req.parserInserted),
      offset: nil, line: nil)
  }

  /// KW702 (no loader), KW703 (twice), KW704 (another host, or http), and each loader tag checked
  /// where it stands in the page.
  static func loaderTags(_ req: CSPRequirement, _ context: CSPPageContext, into out: inout CSPPageFindings) {
    let loader = context.loader
    let tags = context.loaderTags
    if tags.isEmpty {
      out.add(
        context, "KW702", .error,
        "no \(context.provider.rawValue) loader <script> on the page (looked for \(loader.pathSuffixes.joined(separator: " or ")) on \(loader.hosts.joined(separator: ", ")))",
        remedy: "add <script src=\"\(req.url)\" defer></script>")
    }
    if tags.count > 1 {
      out.add(
        context, "KW703", .warning,
        "the loader is included \(tags.count) times (lines \(tags.map { String($0.line) }.joined(separator: ", "))); include it once"
      )
    }
    for tag in tags {
      let u = context.input.page.resolve(tag.attribute("src")!)!
      if let expected = WebURL.parse(req.url), u.host != expected.host {
        out.add(
          context, "KW704", .note,
          "line \(tag.line): the loader comes from \(u.host ?? "?"), not \(expected.host ?? "?"); the policy must allow that host"
        )
      }
      if u.scheme == "http" {
        out.add(context, "KW704", .warning, "line \(tag.line): the loader is loaded over http")
      }
      var r = req
      r.source = u.host == WebURL.parse(req.url)?.host ? req.source : u.origin
      out.check(
        context, r,
        CSPRequest(
          page: context.input.page, kind: .script, url: u, nonce: tag.attribute("nonce") ?? "",
          integrity: tag.attribute("integrity") ?? "", parserInserted: true),
        offset: tag.offset, line: tag.line)
    }
  }

  /// The inline boot script(s): each checked where it stands.
  static func bootScripts(_ context: CSPPageContext, into out: inout CSPPageFindings) {
    guard let scan = context.scan else { return }
    for s in scan.scripts where s.attribute("src") == nil {
      guard let text = s.text, isScriptType(s.attribute("type")),
        String(decoding: text, as: UTF8.self).lowercased().contains(context.loader.marker)
      else { continue }
      let req = CSPRequirement(
        id: "boot-script", kind: .inlineScript, url: "", basis: "sdk", why: "the inline boot script")
      out.check(
        context, req,
        CSPRequest(
          page: context.input.page, kind: .inlineScript, url: nil, nonce: s.attribute("nonce") ?? "",
          body: text),
        offset: s.offset, line: s.line)
    }
  }

  /// KW705 (another environment's App Key), KW706 (not this environment's, or not its active set),
  /// KW707 (an App Secret where the App Key belongs), for every widget element's key.
  static func widgetKeys(_ context: CSPPageContext, into out: inout CSPPageFindings) {
    guard let scan = context.scan, let keys = context.keys else { return }
    for e in scan.elements {
      guard let value = e.attribute(context.loader.keyAttribute), !value.isEmpty else { continue }
      let fp = keys.fingerprinter.fingerprint(SecureBytes(Array(value.utf8)))
      out.pageKeys.append(fp)
      let owners = keys.known.filter { $0.appKey == fp }
      if let env = keys.environment {
        let mine = owners.filter { $0.environment == env }
        if let other = owners.first(where: { $0.environment != env }), mine.isEmpty {
          out.add(
            context, "KW705", .error,
            "line \(e.line): the widget's App Key is \(other.environment)'s (set \(other.set)), not \(env)'s",
            ["page_app_key_fp": fp], remedy: "deploy \(env)'s App Key: keyward export \(env)")
        } else if mine.isEmpty {
          out.add(
            context, "KW706", .warning, "line \(e.line): the widget's App Key is not one of \(env)'s sets",
            ["page_app_key_fp": fp], remedy: "keyward list \(env)")
        } else if let m = mine.first, m.state != .active {
          out.add(
            context, "KW706", .warning,
            "line \(e.line): the widget's App Key is \(env)'s \(m.state.rawValue) set \(m.set), not the active one",
            ["page_app_key_fp": fp])
        }
      }
      if let swapped = keys.known.first(where: { $0.appSecret == fp }) {
        out.add(
          context, "KW707", .error,
          "line \(e.line): the widget carries \(swapped.environment)'s App Secret (set \(swapped.set)) where the App Key belongs",
          ["page_app_key_fp": fp], remedy: "rotate that secret now: keyward rotate \(swapped.environment)")
      }
    }
  }

  /// KW707: a stored App Secret anywhere in the page's text, once per secret.
  static func pageSecrets(_ context: CSPPageContext, into out: inout CSPPageFindings) {
    guard context.scan != nil, let keys = context.keys, let html = context.input.html else { return }
    let secrets = Set(keys.known.map(\.appSecret))
    var reported = Set<String>()
    // Words as check's KW603 reads files, with tag brackets as breaks too.
    let words = CheckOperation.wordRanges(count: html.count) {
      CheckOperation.isWordByte(html[$0]) && html[$0] != 0x3c && html[$0] != 0x3e
    }
    for word in words {
      let fp = keys.fingerprinter.fingerprint(SecureBytes(Array(html[word])))
      if secrets.contains(fp), !reported.contains(fp),
        let owner = keys.known.first(where: { $0.appSecret == fp })
      {
        reported.insert(fp)
        out.add(
          context, "KW707", .error,
          "the page shows \(owner.environment)'s App Secret (set \(owner.set)) to every visitor",
          ["app_secret_fp": fp], remedy: "rotate it now: keyward rotate \(owner.environment)")
      }
    }
  }

  static func isScriptType(_ type: String?) -> Bool {
    guard let t = type?.lowercased(), !t.isEmpty else { return true }
    return t == "text/javascript" || t == "module" || t == "application/javascript"
  }

  static func describe(_ req: CSPRequirement, _ r: CSPRequest) -> String {
    switch r.kind {
    case .inlineScript, .inlineStyle, .styleAttribute: return req.why
    default: return "\(req.why) (\(r.kind.rawValue) \(r.url?.description ?? req.url))"
    }
  }
}
