import ArgumentParser
import KeywardCLIKit
import KeywardCore

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

extension Keyward {
  struct SetCommand: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "set",
      abstract: "Store an App Key + App Secret set in an environment (needs no private key).",
      discussion: """
        Values are never taken from the command line (they would show in `ps` and shell history). \
        On a terminal keyward asks for them without echo; scripts use --stdin (a JSON object \
        {"app_key": …, "app_secret": …} or two lines), --from-env or --from-file.
        The set becomes the environment's active set. To change an active set without downtime use \
        `keyward rotate`; --replace overwrites it.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @OptionGroup var input: SecretInputOptions

    @Flag(name: .long, help: "Replace the environment's active set.")
    var replace = false

    @Flag(name: .long, help: "Store the pair even though this environment retired it earlier.")
    var force = false

    @OptionGroup var identityOptions: IdentityOptions

    func run() throws {
      let workspace = try global.openWorkspace(for: environment)
      try workspace.requireEnvironment(environment)
      let identity = workspace.trust == nil ? nil : try identityOptions.load()
      // Refused before the values are asked for, not after.
      try SetOperation.precheck(
        workspace: workspace, environment: environment, state: .active, replace: replace, identity: identity)
      let values = try input.read(workspace, environment: environment)
      let report = try SetOperation.run(
        workspace: workspace, environment: environment, input: values, state: .active, replace: replace,
        identity: identity, allowRetired: force)
      let p = Printer(global)
      if p.json { return p.document(report) }
      for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
      if p.quiet { return }
      var t = "Stored set \(p.style(report.setID, .bold)) in \(report.environment) (active)"
      if let old = report.replaced { t += ", replacing \(old)" }
      t +=
        ".\n  App Key fingerprint \(report.fingerprints.appKey)  App Secret fingerprint \(report.fingerprints.appSecret)\n"
      p.out(t)
    }

  }
}

/// Where `set` and `rotate` take a pair from. Never from a command-line value.
struct SecretInputOptions: ParsableArguments {
  @Flag(name: .long, help: "Read a JSON object or two lines (App Key, App Secret) from standard input.")
  var stdin = false

  @Flag(name: .long, help: "Read the two export variables (e.g. CAPTCHALA_APP_KEY, CAPTCHALA_APP_SECRET).")
  var fromEnv = false

  @Option(name: .long, help: "Read the two export variables from a dotenv-style file.")
  var fromFile: String?

  @Flag(
    name: .long,
    help: "Store the values exactly as given, even with surrounding spaces, quotes or control characters.")
  var raw = false

  func validate() throws {
    let sources = [stdin, fromEnv, fromFile != nil].filter { $0 }.count
    if sources > 1 { throw ValidationError("choose one of --stdin, --from-env, --from-file") }
  }

  /// Reads and checks the pair.
  func read(_ workspace: Workspace, environment: String) throws -> SetInput {
    let (values, source) = try readUnchecked(workspace, environment: environment)
    try ValueCheck.validate(values, source: source, raw: raw)
    return values
  }

  func readUnchecked(_ workspace: Workspace, environment: String) throws -> (SetInput, String) {
    let names = workspace.config.export
    if stdin {
      return (
        try SecretInputReader.fromStdin(FileSystem.readSecret(fd: 0, source: "standard input")),
        "standard input"
      )
    }
    if fromEnv {
      return (
        try SecretInputReader.fromEnvironment(names, environment: ProcessInfo.processInfo.environment),
        "the environment"
      )
    }
    if let fromFile {
      return (try SecretInputReader.fromEnvFile(path: fromFile, names: names), fromFile)
    }
    guard Terminal.isTTY(0) else {
      throw KeywardError(
        .usage, "no input: standard input is not a terminal",
        hint: "pipe the values in with --stdin, or use --from-env / --from-file")
    }
    let (keyName, secretName) = workspace.config.provider.fieldNames
    // The App Key is public (it is in every page that shows the widget): it echoes.
    let key = try Terminal.readHidden(
      "\(environment) \(keyName): ", noTerminal: "pipe the values in with --stdin", echo: true)
    // An empty answer stops here; it must not make the next line the secret.
    guard key.count > 0 else { throw KeywardError(.input, "the \(keyName) is empty; nothing was stored") }
    let secret = try Terminal.readHidden(
      "\(environment) \(secretName): ", noTerminal: "pipe the values in with --stdin")
    return (SetInput(appKey: key, appSecret: secret), "the prompt")
  }
}
