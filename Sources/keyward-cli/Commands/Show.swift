import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Show: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "show",
      abstract: "Decrypt one set and show it, masked unless --reveal.",
      discussion:
        "Needs the environment's private key: --key-file, $KEYWARD_PRIVATE_KEY_<ENV>, or the key store.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @Option(
      name: .long, help: "Which set: active (default), pending, or a set id (or a unique prefix).",
      completion: Completions.sets)
    var set: String?

    @Flag(name: .long, help: "Show the values in full.")
    var reveal = false

    var request: ShowRequest {
      ShowRequest(
        settings: global.settings, keyFile: keys.keyFile, passphraseFile: keys.passphraseFile,
        environment: environment, set: set, reveal: reveal)
    }

    func run() throws { try request.run() }
  }
}
