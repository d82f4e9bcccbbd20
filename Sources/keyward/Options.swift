import ArgumentParser
import KeywardCore

/// Output format shared by every command.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case text
  case json
}

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
  @Option(name: .long, help: "The workspace folder (default: ./Environments, or $KEYWARD_WORKSPACE).")
  var workspace: String?

  @Option(name: .long, help: "Output format: text or json (one JSON document on stdout).")
  var format: OutputFormat = .text

  @Flag(name: .long, help: "No colours (also when NO_COLOR is set or stdout is not a terminal).")
  var noColor = false

  @Flag(name: .shortAndLong, help: "Print only what was asked for (errors still go to stderr).")
  var quiet = false

  @Flag(name: .shortAndLong, help: "Say more about what is being done.")
  var verbose = false

  var settings: CommonSettings {
    CommonSettings(workspace: workspace, format: format, noColor: noColor, quiet: quiet, verbose: verbose)
  }

  var workspacePath: String { settings.workspacePath }

  func openWorkspace() throws(KeywardError) -> Workspace { try settings.openWorkspace() }
}

/// The global options as a plain value, whichever parser produced them.
struct CommonSettings: Equatable {
  var workspace: String?
  var format: OutputFormat = .text
  var noColor = false
  var quiet = false
  var verbose = false

  var workspacePath: String { Workspace.resolvePath(workspace) }

  func openWorkspace() throws(KeywardError) -> Workspace { try Workspace.open(workspacePath) }
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

  func source() -> KeySource { KeyOptions.source(keyFile: keyFile, passphraseFile: passphraseFile) }

  static func source(keyFile: String?, passphraseFile: String?) -> KeySource {
    KeySource(
      keyFile: keyFile, passphraseFile: passphraseFile,
      askPassphrase: Terminal.isTTY(0) || Terminal.isTTY(2)
        ? { (prompt: String) throws(KeywardError) -> SecureBytes in
          try Terminal.readHidden("\(prompt). Passphrase: ")
        } : nil)
  }
}
