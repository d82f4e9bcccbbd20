import ArgumentParser
import KeywardCLIKit
import KeywardCore
import KeywardNet

extension OutputFormat: ExpressibleByArgument {}
extension CheckFormat: ExpressibleByArgument {}
extension AuditFormat: ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}

extension Printer {
  init(_ g: GlobalOptions) { self.init(g.settings) }
}

/// Options every command accepts, but --format (which `export` uses for the target format).
struct CommonOptions: ParsableArguments {
  @Option(name: .long, help: "The workspace folder (default: ./Environments, or $KEYWARD_WORKSPACE).")
  var workspace: String?

  @Flag(name: .long, help: "No colours (also when NO_COLOR is set or stdout is not a terminal).")
  var noColor = false

  @Flag(name: .shortAndLong, help: "Print only what was asked for (errors still go to stderr).")
  var quiet = false

  @Flag(name: .shortAndLong, help: "Say more about what is being done.")
  var verbose = false

  @Option(
    name: .long,
    help: "Require this trust root (its fingerprint, optionally @MIN_VERSION); also KEYWARD_TRUST.")
  var trust: String?

  var settings: CommonSettings {
    CommonSettings(
      workspace: workspace, format: .text, noColor: noColor, quiet: quiet, verbose: verbose, trust: trust)
  }
}

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
  @OptionGroup var common: CommonOptions

  @Option(name: .long, help: "Output format: text or json (one JSON document on stdout).")
  var format: OutputFormat = .text

  var settings: CommonSettings {
    var s = common.settings
    s.format = format
    return s
  }

  var workspacePath: String { settings.workspacePath }

  func openWorkspace() throws(KeywardError) -> Workspace { try settings.openWorkspace() }

  /// For a command that reads and writes one environment and signs no new state (`set`,
  /// `rotate`): the signed state read for that environment alone, from this machine's record of
  /// it when keyward.json and the state are the files it was made from (`Workspace.open(focus:)`).
  func openWorkspace(for environment: String) throws(KeywardError) -> Workspace {
    try settings.openWorkspace(focus: environment)
  }
}

/// Commands whose errors are rendered in the format they were asked for (a JSON error document
/// on stdout with `--format json`).
protocol ReportsErrors {
  var errorPrinter: Printer { get }
}

/// Commands that carry the global options.
protocol HasGlobalOptions: ReportsErrors {
  var global: GlobalOptions { get }
}

extension HasGlobalOptions {
  var errorPrinter: Printer { Printer(global.settings) }
}

/// How a command ended when it did not succeed but has nothing more to say: the exit status its
/// operation's report decided (findings, inconclusive, integrity). Thrown to the one place that
/// exits (`finish`); never a bare number.
struct ExitOutcome: Error {
  let status: ExitStatus
}

extension ExitStatus {
  /// Ends the command with this status unless it is success.
  func end() throws(ExitOutcome) {
    if self != .success { throw ExitOutcome(status: self) }
  }
}

/// Which identity signs: `--identity FILE`, else `KEYWARD_IDENTITY`, else the key store's.
struct IdentityOptions: ParsableArguments {
  @Option(
    name: .long, help: "The identity file to sign with (default: $KEYWARD_IDENTITY, then the key store's).")
  var identity: String?

  var source: IdentitySource { IdentitySource(file: identity) }

  /// The identity, or nil when none is configured; a passphrase is asked on the terminal.
  func load() throws(KeywardError) -> Identity? {
    try source.load { (prompt: String) throws(KeywardError) -> SecureBytes in
      guard Terminal.isTTY(0) || Terminal.isTTY(2) else {
        throw KeywardError(.integrity, "\(prompt), and there is no terminal to ask on")
      }
      return try Terminal.readHidden(
        "\(prompt). Passphrase: ", noTerminal: "give it with --passphrase-file FILE (mode 0600)")
    }
  }

  func require(_ why: String) throws(KeywardError) -> Identity {
    guard let id = try load() else {
      throw KeywardError(
        .integrity, "\(why) needs an identity, and none is configured",
        hint: "keyward identity new --name YOUR-NAME (or --identity FILE, or KEYWARD_IDENTITY)")
    }
    return id
  }
}

/// How a command finds an environment's private key.
struct KeyOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "Read the private key from this file (a keyward key file, or a file holding a kwsk1: string).",
      discussion: "Lookup order: --key-file, then $KEYWARD_PRIVATE_KEY_<ENV>, then the key store."))
  var keyFile: String?

  @Option(name: .long, help: "Read the passphrase of a protected key from this file (first line).")
  var passphraseFile: String?

  func source() -> KeySource { keySource(keyFile: keyFile, passphraseFile: passphraseFile) }
}

extension Keyward {
  /// `--sarif FILE`: the same findings as SARIF beside the main output, written atomically.
  static func writeSARIF(_ document: JSONValue, to path: String) throws(KeywardError) {
    try Reports.writeSARIF(document, to: path)
  }
}

/// `--timeout` and `--ca-file`, for every command that goes on the network (verify, check
/// --online, csp). Each command keeps its own default timeout.
struct NetworkOptions: ParsableArguments {
  @Option(name: .long, help: "Seconds per request (verify and check: 10; csp: 15).")
  var timeout: Double?

  @Option(name: .long, help: "Extra trust roots (PEM) for HTTPS, e.g. a corporate CA.")
  var caFile: String?

  func validate() throws {
    if let timeout, !(timeout > 0 && timeout <= 600) {
      throw ValidationError("--timeout must be more than 0 and at most 600 seconds")
    }
  }

  /// Runs `body` with an HTTP client that is shut down afterwards, whatever `body` does.
  func withTransport<T>(
    timeout: Double, concurrency: Int, _ body: (AHCTransport) async throws -> T
  ) async throws -> T {
    let transport = try AHCTransport(
      caFile: caFile ?? Env.process.nonEmpty("KEYWARD_CA_FILE"), connectTimeout: min(timeout, 10),
      concurrency: concurrency)
    do {
      let result = try await body(transport)
      await transport.shutdown()
      return result
    } catch {
      await transport.shutdown()
      throw error
    }
  }
}
