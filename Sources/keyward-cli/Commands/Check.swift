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
    typealias Format = CheckFormat

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
      if let maxAge, Reports.days(maxAge) == nil {
        throw ValidationError("--max-age takes days, like 90d or 90 (at most 36500)")
      }
    }

    var request: CheckRequest {
      CheckRequest(
        settings: common.settings, environments: environments, envFile: envFile, envFormat: envFormat,
        fromEnv: fromEnv, maxAgeDays: maxAge.flatMap(Reports.days), format: format, failOn: failOn,
        exitZero: exitZero, sarif: sarif)
    }

    func run() async throws {
      let request = self.request
      try Reports.checkSARIFPath(sarif)
      let workspace = try common.settings.openWorkspace()
      var findings = try request.findings(workspace: workspace)
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
      try request.report(findings, workspace: workspace, inconclusive: inconclusive).end()
    }
  }
}
