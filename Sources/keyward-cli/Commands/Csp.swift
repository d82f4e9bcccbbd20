import ArgumentParser
import KeywardCLIKit
import KeywardCSP
import KeywardCore
import KeywardNet

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension ResourceKind: ExpressibleByArgument {}
extension Provider: ExpressibleByArgument {}

extension Keyward {
  struct Csp: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "csp",
      abstract:
        "Check a page's Content-Security-Policy for the CAPTCHA loader, API and frames; write the minimal fix.",
      subcommands: [CspCheck.self, CspEval.self],
      defaultSubcommand: CspCheck.self)
  }

  struct CspCheck: AsyncParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "page",
      abstract: "Check one page (URL, --response, --html or --header), or many (--urls).",
      discussion: """
        Evaluates, as a browser would (CSP Level 3), every resource the provider needs: the loader \
        as the page includes it (with its nonce), the script it inserts, the widget's CSS and API, \
        and the inline boot script (by its hash or nonce). Meta policies count for the tags after \
        them. For each enforced policy that blocks, prints the smallest edit, re-checked. With \
        --env, the widget's App Key is compared with that environment's sets by fingerprint. \
        Exit 0 when everything required is allowed, 1 when something is blocked or wrong, 3 when \
        a page could not be fetched.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The page to fetch (redirects are followed and each hop is shown).")
    var url: String?

    @Option(name: .long, help: "A Content-Security-Policy header value (repeatable).")
    var header: [String] = []

    @Option(name: .long, help: "A Content-Security-Policy-Report-Only header value (repeatable).")
    var reportOnly: [String] = []

    @Option(name: .long, help: "The page's HTML from a file (meta policies, loader tags, boot script).")
    var html: String?

    @Option(name: .long, help: "A raw HTTP response from a file (status line, headers, body).")
    var response: String?

    @Option(name: .long, help: "A file of page URLs, one per line (# comments).")
    var urls: String?

    @Option(name: .long, help: "The page's URL for --header/--html/--response (default https://localhost/).")
    var origin: String?

    @Option(name: .long, help: "Compare the widget's App Key with this environment's sets.")
    var env: String?

    @Option(name: .long, help: "The provider (default: the workspace's, else captchala).")
    var provider: Provider?

    @OptionGroup var network: NetworkOptions
    var timeout: Double { network.timeout ?? 15 }

    @Option(name: .long, help: "Pages fetched at once with --urls.")
    var concurrency: Int = 8

    func validate() throws {
      let modes = [url != nil, urls != nil, response != nil].filter { $0 }.count
      if modes > 1 { throw ValidationError("give one of URL, --urls and --response") }
      if modes == 0 && html == nil && header.isEmpty && reportOnly.isEmpty {
        throw ValidationError("give a URL, --urls FILE, --response FILE, --html FILE or --header VALUE")
      }
      if (url != nil || urls != nil) && html != nil {
        throw ValidationError("--html is for a page you have on disk; a fetched page brings its own HTML")
      }
      if concurrency < 1 || concurrency > 64 { throw ValidationError("--concurrency takes 1 to 64") }
    }

    func run() async throws {
      let p = Printer(global)
      let workspace: Workspace? =
        FileSystem.isDirectory(global.workspacePath) ? try global.openWorkspace() : nil
      if env != nil && workspace == nil {
        throw KeywardError(.input, "--env needs a workspace (\(global.workspacePath) does not exist)")
      }
      if let env, let workspace { try workspace.requireEnvironment(env) }
      let provider = self.provider ?? workspace?.config.provider ?? .captchala
      let requirements =
        try workspace.flatMap { w throws(KeywardError) in try CSPRequirement.fromConfig(w.config.extra) }
        ?? CSPRequirement.defaults(provider)
      var keys: CSPKeyContext? = nil
      if let workspace {
        let known = try workspace.loadAll().flatMap { e in
          e.sets.map {
            CSPKeyContext.Known(
              environment: e.environment, set: $0.id, state: $0.state, appKey: $0.fingerprints.appKey,
              appSecret: $0.fingerprints.appSecret)
          }
        }
        keys = CSPKeyContext(fingerprinter: workspace.fingerprinter, known: known, environment: env)
      }
      func judge(_ input: CSPPageInput) -> CSPPageReport {
        CSPPageCheck.run(input, provider: provider, requirements: requirements, keys: keys)
      }

      if url != nil || urls != nil {
        var pages: [String] = []
        if let url { pages = [url] }
        if let urls {
          let text = String(decoding: try FileSystem.readInput(urls), as: UTF8.self)
          pages = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { Text.trimBlanks($0) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
          if pages.isEmpty { throw KeywardError(.input, "\(urls): no URLs in it") }
        }
        var parsed: [WebURL] = []
        for page in pages {
          guard let u = WebURL.parse(page), u.scheme == "http" || u.scheme == "https", u.host != nil else {
            throw KeywardError(.usage, "\"\(page)\" is not an http(s) URL")
          }
          parsed.append(u)
        }
        let tty = Terminal.isTTY(2) && !p.quiet && parsed.count > 1
        let timeout = self.timeout
        let concurrency = self.concurrency
        let results = try await network.withTransport(timeout: timeout, concurrency: concurrency) {
          transport in
          let all = await PageFetch.fetchAll(
            parsed, transport: transport, timeoutSeconds: timeout, concurrency: concurrency
          ) { done, count in
            if tty { p.progress("checked \(done)/\(count)") }
          }
          if tty { p.progress("") }
          return all
        }
        var outcomes: [Outcome] = []
        for (u, r) in zip(parsed, results) {
          switch r {
          case .success(let f):
            let input = CSPPageInput(
              page: f.url, headers: f.values("content-security-policy"),
              reportOnly: f.values("content-security-policy-report-only"), html: f.body)
            outcomes.append(.report(judge(input), f.hops))
          case .failure(let e):
            outcomes.append(.unreachable(u.description, e.message))
          }
        }
        try finish(outcomes, provider: provider, p, many: urls != nil)
        return
      }

      let page = try pageURL()
      var headers = header
      var reportOnly = self.reportOnly
      var body: [UInt8]? = try html.map { path throws(KeywardError) in try FileSystem.readInput(path) }
      if let response {
        let raw = try FileSystem.readInput(response)
        let r = try PageFetch.parseResponse(raw, source: response)
        headers += r.headers.filter { $0.0.lowercased() == "content-security-policy" }.map(\.1)
        reportOnly += r.headers.filter { $0.0.lowercased() == "content-security-policy-report-only" }.map(\.1)
        if body == nil { body = r.body }
      }
      let report = judge(CSPPageInput(page: page, headers: headers, reportOnly: reportOnly, html: body))
      try finish([.report(report, [])], provider: provider, p, many: false)
    }

    func pageURL() throws(KeywardError) -> WebURL {
      let text = origin ?? "https://localhost/"
      guard let u = WebURL.parse(text), u.host != nil else {
        throw KeywardError(.usage, "--origin \"\(text)\" is not an absolute URL with a host")
      }
      return u
    }

    enum Outcome {
      case report(CSPPageReport, [PageFetch.Hop])
      case unreachable(String, String)
    }

    func finish(_ outcomes: [Outcome], provider: Provider, _ p: Printer, many: Bool) throws {
      var failed = false
      var unreachable = false
      var documents: [JSONValue] = []
      var text = ""
      for o in outcomes {
        switch o {
        case .report(let r, let hops):
          failed = failed || r.failed
          var v = r.json(hops: hops, provider: provider)
          if case .object(var m) = v, !many {
            m["schema_version"] = .number(Double(Printer.schemaVersion)); v = .object(m)
          }
          documents.append(v)
          text += CspText.render(r, hops: hops, p)
        case .unreachable(let url, let why):
          unreachable = true
          var m: [String: JSONValue] = [
            "page": .string(url), "verdict": .string("unreachable"), "reason": .string(why),
          ]
          if !many { m["schema_version"] = .number(Double(Printer.schemaVersion)) }
          documents.append(.object(m))
          text += p.style("\(url): could not fetch: \(why)\n", .yellow)
        }
      }
      if global.format == .json {
        let doc: JSONValue =
          many
          ? .object(["schema_version": .number(Double(Printer.schemaVersion)), "pages": .array(documents)])
          : documents[0]
        p.out(String(decoding: doc.written(), as: UTF8.self))
      } else {
        p.out(text)
      }
      if failed { throw ExitOutcome(status: .findings) }
      if unreachable { throw ExitOutcome(status: .inconclusive) }
    }
  }

  /// `keyward csp eval`: the engine alone.
  struct CspEval: ParsableCommand, ReportsErrors {
    static let configuration = CommandConfiguration(
      commandName: "eval",
      abstract: "The CSP engine alone: one query from flags, or JSON lines on stdin (one answer per line).",
      discussion: """
        Batch: each input line is an object with policy, report_only_policy, meta_policy (a string or a \
        list), origin, kind, url, nonce, integrity, parser_inserted (default true), redirect_count \
        (default 0), body (inline text) and id (echoed). Each answer is one JSON line with "verdict" \
        ("allowed" or "blocked") and the explanation per policy; a bad line gets {"error": …}. Exit \
        0 when every line was answered, 2 when some line was an error. One query from flags: exit 0 \
        allowed, 1 blocked.
        """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Output format for a single query: text or json.")
    var format: OutputFormat = .text

    @Option(name: .long, help: "A Content-Security-Policy header value (repeatable).")
    var policy: [String] = []

    @Option(name: .long, help: "A report-only header value (repeatable).")
    var reportOnly: [String] = []

    @Option(name: .long, help: "A <meta> policy (repeatable).")
    var meta: [String] = []

    @Option(name: .long, help: "The page's URL.")
    var origin: String?

    @Option(
      name: .long,
      help:
        "script, style, img, connect, frame, worker, font, media, object, manifest, inline-script, inline-style, style-attr."
    )
    var kind: ResourceKind?

    @Option(name: .long, help: "The resource's URL (absolute or relative to --origin).")
    var url: String?

    @Option(name: .long, help: "The element's nonce.")
    var nonce: String?

    @Option(name: .long, help: "The element's integrity attribute.")
    var integrity: String?

    @Option(name: .long, help: "Inline content (for hashes).")
    var body: String?

    @Flag(name: .long, help: "The element was inserted by script (for 'strict-dynamic').")
    var notParserInserted = false

    @Option(name: .long, help: "Redirects before this URL (paths are ignored after one).")
    var redirectCount: Int = 0

    var errorPrinter: Printer { Printer(common.settings.with(json: format == .json)) }

    func validate() throws {
      if single && (origin == nil || kind == nil) {
        throw ValidationError("a query from flags needs --origin and --kind")
      }
      if !(0...20).contains(redirectCount) { throw ValidationError("--redirect-count must be 0...20") }
    }

    var single: Bool { origin != nil || kind != nil || url != nil || !policy.isEmpty || !meta.isEmpty }

    func run() throws {
      let session = CSPEvalSession()
      if single {
        guard let origin, let kind else {
          throw KeywardError(.usage, "a query from flags needs --origin and --kind")
        }
        var o: [String: JSONValue] = [
          "origin": .string(origin), "kind": .string(kind.rawValue),
          "policy": .array(policy.map(JSONValue.string)),
          "report_only_policy": .array(reportOnly.map(JSONValue.string)),
          "meta_policy": .array(meta.map(JSONValue.string)), "parser_inserted": .bool(!notParserInserted),
          "redirect_count": .number(Double(redirectCount)),
        ]
        if let url { o["url"] = .string(url) }
        if let nonce { o["nonce"] = .string(nonce) }
        if let integrity { o["integrity"] = .string(integrity) }
        if let body { o["body"] = .string(body) }
        let q: CSPEvalSession.Query
        do { q = try session.query(JSONValue.object(o).compact()) } catch {
          throw KeywardError(.usage, error.message)
        }
        let d = CSPEngine.evaluate(q.request, policies: q.policies)
        let p = Printer(common.settings)
        if format == .json {
          var out: [UInt8] = []
          CSPJSON.write(d, request: q.request, policies: q.policies, id: nil, line: nil, into: &out)
          out.append(0x0a)
          p.out(String(decoding: out, as: UTF8.self))
        } else {
          p.out(CspText.decision(d, request: q.request, policies: q.policies, p))
        }
        if !d.allowed { throw ExitOutcome(status: .findings) }
        return
      }
      // Batch: stdin to stdout, line by line (the session's loop).
      let errors = try !session.answerAll(from: 0, to: 1)
      if errors { throw ExitOutcome(status: .error) }
    }
  }
}

/// Human text for `keyward csp`.
enum CspText {
  static func decision(_ d: CSPDecision, request: CSPRequest, policies: [Policy], _ p: Printer) -> String {
    let what = request.url.map { "\(request.kind.rawValue) \($0)" } ?? request.kind.rawValue
    var t =
      d.allowed
      ? p.style("allowed", .green) + "  \(what)\n"
      : p.style("blocked", .red) + "  \(what)\n"
    if d.upgraded { t += "  upgrade-insecure-requests: fetched as https\n" }
    if policies.isEmpty { t += "  no policy: nothing restricts it\n" }
    for v in d.verdicts {
      let mark =
        v.allowed ? p.style("✓", .green) : v.source.enforced ? p.style("✗", .red) : p.style("!", .yellow)
      t += "  \(mark) policy \(v.index + 1) (\(v.source.rawValue)): \(v.reason)\n"
    }
    if d.reported { t += "  a report-only policy would report it\n" }
    if !d.inlineHashes.isEmpty { t += "  hashes: \(d.inlineHashes.joined(separator: " "))\n" }
    for (i, pol) in policies.enumerated() {
      for w in pol.warnings { t += p.style("  warning (policy \(i + 1)): \(w.message)\n", .yellow) }
    }
    return t
  }

  static func render(_ r: CSPPageReport, hops: [PageFetch.Hop], _ p: Printer) -> String {
    var t = p.style("\(r.page)", .bold) + "\n"
    for h in hops where h.location != nil {
      t += "  redirect: \(h.url) → HTTP \(h.status) → \(h.location!)\n"
    }
    if r.policies.isEmpty { t += "  no Content-Security-Policy: nothing is restricted\n" }
    for (i, pol) in r.policies.enumerated() {
      t += "  policy \(i + 1) (\(pol.source.rawValue)): \(pol.text)\n"
    }
    for c in r.checks {
      let mark =
        c.decision.allowed
        ? p.style("allowed", .green)
        : c.requirement.required ? p.style("blocked", .red) : p.style("blocked", .yellow)
      let url = c.decision.url.map { " \($0)" } ?? ""
      let line = c.line.map { " (line \($0))" } ?? ""
      let basis =
        c.requirement.basis == "inferred" ? " [inferred]" : c.requirement.required ? "" : " [optional]"
      t += "  \(mark)  \(c.requirement.why)\(basis): \(c.request.kind.rawValue)\(url)\(line)\n"
      for v in c.decision.verdicts where !v.allowed || p.verbose {
        t += p.style("           policy \(v.index + 1) (\(v.source.rawValue)): \(v.reason)\n", .dim)
      }
    }
    for f in r.findings where f.id != "KW701" {
      let style: Printer.Style = f.severity == .error ? .red : f.severity == .warning ? .yellow : .dim
      t += "  \(p.style(f.severity.rawValue, style)) \(f.id)  \(f.message)\n"
      if let remedy = f.remedy { t += p.style("           → \(remedy)\n", .dim) }
    }
    for fix in r.fixes {
      t +=
        "  fix for policy \(fix.index + 1) (\(fix.source.rawValue))\(fix.verified ? ", re-checked" : ""):\n"
      for c in fix.changes { t += "    \(c)\n" }
      for d in fix.diff { t += p.style("    \(d)\n", d.hasPrefix("+") ? .green : .red) }
      for c in fix.pageChanges { t += "    page: \(c)\n" }
      for u in fix.unresolved { t += p.style("    still blocked: \(u)\n", .yellow) }
    }
    if let header = r.fixedHeader { t += "  new Content-Security-Policy: \(header)\n" }
    for l in r.lint where l.severity >= .warning || p.verbose {
      t += p.style("  lint \(l.severity.rawValue) \(l.id): \(l.message)\n", .dim)
    }
    t += r.failed ? p.style("  → blocked\n", .red) : p.style("  → the CAPTCHA can load\n", .green)
    return t
  }
}
