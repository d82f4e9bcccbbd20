import ArgumentParser
import KeywardCLIKit
import KeywardCore
import KeywardNet

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension DeployedReader.Syntax: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

extension Keyward {
  struct Check: AsyncParsableCommand, ReportsErrors {
    enum Format: String, ExpressibleByArgument, CaseIterable {
      case text, json, sarif
    }

    static let configuration = CommandConfiguration(
      commandName: "check",
      abstract: "Find swapped, shared and stale keys in the store and in what is deployed (no private key).",
      discussion: """
        Works on fingerprints alone: keyed hashes of the values that are equal exactly when the \
        values are, and reveal nothing of them. Finding ids (KW101…) are listed in the README. \
        --env-file (dotenv, shell, docker or JSON syntax) or --from-env compares what is deployed \
        with one environment's sets. --online adds a live verification of the active sets (needs \
        their private keys). Exit 0 clean, 1 when a finding reaches --fail-on, 3 when --online \
        could not verify something and nothing else failed.
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "Environments to check (default: all).", completion: Completions.environments)
    var environments: [String] = []

    @Option(name: .long, help: "A deployed env file to compare with the environment's sets.")
    var envFile: String?

    @Option(name: .long, help: "The env file's syntax: dotenv, shell, docker or json (default: guessed).")
    var envFormat: DeployedReader.Syntax?

    @Flag(name: .long, help: "Compare the deployed variables of this process's environment.")
    var fromEnv = false

    @Option(name: .long, help: "Maximum age, e.g. 90d (default: the policy in keyward.json).")
    var maxAge: String?

    @Option(name: .long, help: "text, json or sarif.")
    var format: Format = .text

    @Option(name: .long, help: "The lowest severity that fails the check: note, warning or error.")
    var failOn: Severity = .error

    @Flag(name: .long, help: "Exit 0 when findings reach --fail-on (a report step in CI); errors still fail.")
    var exitZero = false

    @Option(name: .long, help: "Also write the findings as SARIF 2.1.0 to this file (one run, two outputs).")
    var sarif: String?

    @Flag(
      name: .long, help: "Also verify the active sets live (as keyward verify; needs their private keys).")
    var online = false

    @Option(name: .long, help: "With --online: the endpoint for this run.")
    var endpoint: String?

    @OptionGroup var network: NetworkOptions
    var timeout: Double { network.timeout ?? 10 }

    var errorPrinter: Printer { Printer(common.settings.with(json: format == .json)) }

    func validate() throws {
      if envFile != nil && fromEnv { throw ValidationError("choose one of --env-file and --from-env") }
      if let maxAge, Check.days(maxAge) == nil {
        throw ValidationError("--max-age takes days, like 90d or 90 (at most 36500)")
      }
    }

    /// Days like `90d` or `90`: 1 to 36,500 (a century; anything longer overflows no date but means
    /// nothing either).
    static func days(_ text: String) -> Int? {
      Int(text.hasSuffix("d") ? String(text.dropLast()) : text).flatMap {
        (1...36_500).contains($0) ? $0 : nil
      }
    }

    func run() async throws {
      let workspace = try common.settings.openWorkspace()
      // A deployed file is compared with one environment: named, or the workspace's only one.
      let compared = environments.isEmpty ? workspace.config.environmentNames.count : environments.count
      if (envFile != nil || fromEnv) && compared != 1 {
        throw KeywardError(
          .usage, "--env-file and --from-env compare one environment: name it",
          hint: "keyward check prod --env-file .env")
      }
      var deployed: CheckOperation.Deployed?
      if let envFile { deployed = try DeployedReader.read(path: envFile, syntax: envFormat) }
      if fromEnv {
        deployed = DeployedReader.fromEnvironment(
          workspace.config.export, env: ProcessInfo_environment())
      }
      var findings = try CheckOperation.run(
        workspace: workspace,
        request: .init(
          environments: environments, maxAgeDays: maxAge.flatMap(Check.days), deployed: deployed),
        words: Advice.words)
      var inconclusive = false
      if online {
        let report = try await network.withTransport(timeout: timeout, concurrency: 32) { transport in
          try await VerifyOperation.run(
            workspace: workspace,
            request: .init(
              environments: environments, selection: .state(.active), endpoint: endpoint,
              timeoutSeconds: timeout),
            keys: keys.source(), transport: transport)
        }
        findings += CheckOperation.findings(from: report, workspace: workspace, words: Advice.words)
        inconclusive = report.results.contains { $0.verdict.isInconclusive }
      }
      let failing = findings.filter { $0.severity >= failOn }
      let p = Printer(common.settings)
      if let sarif {
        try Keyward.writeSARIF(
          SARIF.document(findings, workspace: workspace, version: KeywardVersion.current), to: sarif)
      }
      switch format {
      case .json:
        p.document(CheckOperation.Report(findings: findings, failOn: failOn, failing: failing.count))
      case .sarif:
        p.out(
          String(
            decoding: SARIF.document(findings, workspace: workspace, version: KeywardVersion.current)
              .written(), as: UTF8.self))
      case .text:
        var t = ""
        for f in findings {
          let style: Printer.Style = f.severity == .error ? .red : f.severity == .warning ? .yellow : .dim
          t +=
            "\(p.style(Text.pad(f.severity.rawValue, 7), style)) \(f.id)  \(f.environment ?? "-")  \(f.message)\n"
          if let r = f.remedy, !p.quiet { t += p.style("        → \(r)\n", .dim) }
        }
        if !p.quiet {
          t +=
            findings.isEmpty
            ? "No findings.\n"
            : "\(findings.count) finding(s), \(failing.count) at or above \(failOn.rawValue).\n"
        }
        p.out(t)
      }
      if !failing.isEmpty && !exitZero { throw ExitOutcome(status: .findings) }
      if inconclusive { throw ExitOutcome(status: .inconclusive) }
      try Keyward.endReport(workspace)
    }
  }
}

/// The process environment as a table (only `check --from-env` needs all of it).
func ProcessInfo_environment() -> [String: String] {
  var out = [String: String]()
  var p = environ
  while let entry = p.pointee {
    let s = String(cString: entry)
    if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
    p += 1
  }
  return out
}
