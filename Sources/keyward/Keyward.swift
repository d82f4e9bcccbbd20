import ArgumentParser
import Foundation
import KeywardCore

/// keyward: CAPTCHA credentials per environment, encrypted with libsodium, and the jobs around them.
@main
struct Keyward: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keyward",
    abstract: "Keep CAPTCHA App Key + App Secret sets per environment, encrypted with libsodium.",
    discussion: """
      The workspace is ./Environments (or --workspace DIR, or $KEYWARD_WORKSPACE). Anyone can add a \
      set to an environment; only holders of that environment's private key can read one.

      Exit codes: 0 ok · 1 findings · 2 error · 3 inconclusive · 4 integrity (tampering, wrong or \
      missing key) · 64 usage.
      """,
    version: KeywardVersion.current,
    subcommands: [Init.self, SetCommand.self, List.self, Show.self, Demo.self]
  )

  static func main() async {
    ProcessHardening.apply()
    let command: ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      exit(withError: error)
    }
    let printer = (command as? HasGlobalOptions).map { Printer($0.global) } ?? Printer.plain
    do {
      if let asyncCommand = command as? AsyncParsableCommand {
        // The parsed command is used by this task alone; nothing else can reach it.
        nonisolated(unsafe) var async = asyncCommand
        try await async.run()
      } else {
        var sync = command
        try sync.run()
      }
    } catch let error as KeywardError {
      printer.fail(error)
      Foundation.exit(error.exitStatus.rawValue)
    } catch {
      exit(withError: error)
    }
  }
}

enum KeywardVersion {
  static let current = "0.1.0"
}
