import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension OutputFormat: ExpressibleByArgument {}

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

  var settings: CommonSettings {
    CommonSettings(workspace: workspace, format: .text, noColor: noColor, quiet: quiet, verbose: verbose)
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
}

/// Commands that carry the global options (so errors can be rendered in the chosen format).
protocol HasGlobalOptions {
  var global: GlobalOptions { get }
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
