import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct List: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "Every environment and set: id, state, fingerprints, age. Needs no private key.")

    @OptionGroup var global: GlobalOptions

    func run() throws { try ListRequest(settings: global.settings).run().end() }
  }
}
