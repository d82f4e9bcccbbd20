import ArgumentParser
import Dispatch
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
    subcommands: [
      Init.self, SetCommand.self, List.self, Show.self, Verify.self, Check.self, Rotate.self, Promote.self,
      Retire.self, Rekey.self, Audit.self, Export.self, Run.self, Csp.self,
      Emulate.self,
      Demo.self,
    ]
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
    if let asyncCommand = command as? AsyncParsableCommand {
      // The concurrency runtime starts only for commands that need it: run the command in a task
      // and park the main thread on the main queue until it exits.
      nonisolated(unsafe) var c = asyncCommand
      Task {
        do {
          try await c.run()
          exitProcess(0)
        } catch {
          finish(error, printer: printer)
        }
      }
      dispatchMain()
    }
    do {
      var sync = command
      try sync.run()
    } catch {
      finish(error, printer: printer)
    }
  }
}

enum KeywardVersion {
  static let current = "0.1.0"
}

/// Ends the process for an error: keyward's own with its exit code; argument-parser's (help,
/// version, usage) as argument-parser does; anything else as an error (exit 2, never 1).
func finish(_ error: Error, printer: Printer) -> Never {
  if let e = error as? KeywardError {
    printer.fail(e)
    exitProcess(e.exitStatus.rawValue)
  }
  if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
    Keyward.exit(withError: error)
  }
  printer.fail(KeywardError(.internal, "\(error)"))
  exitProcess(ExitStatus.error.rawValue)
}
