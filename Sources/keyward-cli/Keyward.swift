import ArgumentParser
import KeywardCLIKit
import KeywardCore

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// keyward-cli: every command, parsed by swift-argument-parser. Users call `keyward`, which runs
/// the hot commands itself and hands everything else to this binary (see Sources/keyward).
@main
struct Keyward: ParsableCommand {
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
    subcommands: [Init.self, SetCommand.self, List.self, Show.self, Export.self, Run.self, Demo.self]
  )

  /// Synchronous on purpose: an async main starts the concurrency runtime (about 0.2 ms) before
  /// the first line runs. Async subcommands, when they come, start it themselves.
  static func main() {
    ProcessHardening.apply()
    let command: ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      exit(withError: error)
    }
    let printer = (command as? HasGlobalOptions).map { Printer($0.global) } ?? Printer.plain
    do {
      var sync = command
      try sync.run()
    } catch let error as KeywardError {
      printer.fail(error)
      exitProcess(error.exitStatus.rawValue)
    } catch let error where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
      exit(withError: error)  // help, version and usage: argument-parser's own exits
    } catch {
      // Anything else (a Foundation error in the demo, say) is an error, exit 2 — never 1, which
      // means findings.
      printer.fail(KeywardError(.internal, "\(error)"))
      exitProcess(ExitStatus.error.rawValue)
    }
  }
}

enum KeywardVersion {
  static let current = "0.1.0"
}
