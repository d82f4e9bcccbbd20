import ArgumentParser
import KeywardCLIKit
import KeywardCore
import KeywardNet

extension Keyward {
  struct Verify: AsyncParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "verify",
      abstract: "Check each set live against the provider's endpoint: valid, invalid-key, swapped, …",
      discussion: """
        Verdicts: valid · invalid-key · invalid-secret · swapped · disabled · accepts-any-token · \
        rate-limited · unreachable · unexpected-response. Only an answer the provider documents as \
        "credentials accepted" is valid; anything unclassifiable is inconclusive.
        Exit 0 all valid, 1 a finding, 3 inconclusive (network, rate limit, unexpected answer).
        HTTPS is always verified; --ca-file (or $KEYWARD_CA_FILE) adds trust roots; HTTPS_PROXY and \
        NO_PROXY are honoured. Each set's last verification is recorded (see `keyward list`).
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Argument(
      help: "Environments to verify (default: every environment).", completion: Completions.environments)
    var environments: [String] = []

    @Option(name: .long, help: "Which sets: all (default), active, pending, retiring, or a set id.")
    var set: String?

    @OptionGroup var network: NetworkOptions
    var timeout: Double { network.timeout ?? 10 }

    @Option(name: .long, help: "Sets verified at once.")
    var concurrency: Int = 32

    @Option(
      name: .long, help: "Retries on connection errors, timeouts and 5xx (never on a credential failure).")
    var retries: Int = 2

    @Flag(name: .long, help: "Print the verdicts and record nothing (no file or trail change; for CI).")
    var noRecord = false

    @Option(
      name: .long, help: "Endpoint for this run (CaptchaLa: the API base URL; others: the siteverify URL).")
    var endpoint: String?

    func validate() throws {
      if concurrency < 1 || concurrency > 1024 { throw ValidationError("--concurrency must be 1...1024") }
      if retries < 0 || retries > 10 { throw ValidationError("--retries must be 0...10") }
    }

    func run() async throws {
      let workspace = try global.openWorkspace()
      for env in environments { try workspace.requireEnvironment(env) }
      let signer = workspace.trust == nil ? nil : try identityOptions.load()
      let p = Printer(global)
      let tty = Terminal.isTTY(2) && !p.quiet
      let report = try await network.withTransport(timeout: timeout, concurrency: concurrency) { transport in
        try await VerifyOperation.run(
          workspace: workspace,
          request: .init(
            environments: environments, selection: .init(set), endpoint: endpoint, timeoutSeconds: timeout,
            concurrency: concurrency, retries: retries, record: !noRecord),
          keys: keys.source(), transport: transport,
          progress: { done, total in if tty { p.progress("verifying \(done)/\(total)") } }, signer: signer)
      }
      if tty { p.progress("") }
      if p.json {
        p.document(report)
      } else {
        for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
        p.out(render(report, p))
      }
      try (ExitStatus(rawValue: report.exitCode) ?? .error).end()
    }

    func render(_ r: VerifyOperation.Report, _ p: Printer) -> String {
      var t = ""
      let width = r.results.map(\.environment.count).max() ?? 0
      for s in r.results {
        let style: Printer.Style = s.isFinding ? .red : s.verdict.isInconclusive ? .yellow : .green
        t += "\(Text.pad(s.environment, width))  \(s.setID)  \(Text.pad(s.state.rawValue, 8))  "
        t += p.style(Text.pad(s.verdict.rawValue, 19), style)
        // The attempt that decided the verdict: the exchanged retry only for `swapped`; otherwise
        // the attempt before it, with the retry's outcome as a note.
        let retry = s.evidence.last { $0.isExchangeRetry }
        let deciding =
          s.verdict == .swapped
          ? s.evidence.last : (s.evidence.last { !$0.isExchangeRetry } ?? s.evidence.last)
        if let e = deciding {
          // The host it talked to, from the URL the request went to.
          var parts = [e.purpose, WebURL.parse(e.endpoint).flatMap(\.host).map { "at \($0)" } ?? "at ?"]
          if let st = e.httpStatus { parts.append("HTTP \(st)") }
          if let c = e.providerCode { parts.append("code \(c)") }
          if let err = e.providerError { parts.append(err) }
          if let ms = e.latencyMs { parts.append("\(ms) ms") }
          if e.attempts > 1 { parts.append("\(e.attempts) attempts") }
          if let n = e.note { parts.append(n) }
          if s.verdict != .swapped, let n = retry?.note { parts.append(n) }
          t += "  " + parts.joined(separator: ", ")
          if s.evidence.contains(where: \.inferred) { t += p.style(" [error shape inferred]", .dim) }
        }
        if s.testCredential { t += p.style("  public TEST secret in a production environment", .red) }
        t += "\n"
      }
      for e in r.errors {
        t += "\(Text.pad(e.environment, width))  \(e.setID)  " + p.style("error", .red) + "  \(e.error)\n"
      }
      for s in r.skipped {
        t += "\(Text.pad(s.environment, width))  skipped: \(s.reason)\n"
      }
      if !p.quiet {
        let summary = r.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(
          separator: ", ")
        t += "\(r.results.count) set(s): \(summary)"
        if !r.errors.isEmpty { t += "; \(r.errors.count) would not open" }
        if !r.skipped.isEmpty { t += "; \(r.skipped.count) environment(s) skipped (no key here)" }
        t += "\n"
      }
      return t
    }
  }
}
