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
      Retire.self, Discard.self, Rekey.self, Audit.self, Log.self, TrailCommand.self, Export.self, Run.self,
      Csp.self, Scan.self,
      IdentityCommand.self,
      TrustCommand.self, AccessCommand.self, Explain.self,
      Emulate.self,
      Demo.self,
    ]
  )

  /// Synchronous on purpose: an async main starts the concurrency runtime (about 0.2 ms) before
  /// the first line runs. Async subcommands, when they come, start it themselves.
  static func main() {
    Stopwatch.start()
    ProcessHardening.apply()
    ProcessMemory.returnFreed()
    unknownCommand(Array(CommandLine.arguments.dropFirst()))
    let command: ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      // A usage error with --format json is a JSON error document too (help and version are not
      // errors and print as usual).
      let code = exitCode(for: error)
      if code != .success, wantsJSON(Array(CommandLine.arguments.dropFirst())) {
        Printer(json: true, color: false, quiet: false, verbose: false).fail(
          KeywardError(.usage, message(for: error)))
        exitProcess(ExitStatus.usage.rawValue)
      }
      exit(withError: error)
    }
    Trace.on = Trace.requested(Array(CommandLine.arguments.dropFirst()))
    let printer = (command as? ReportsErrors)?.errorPrinter ?? Printer.plain
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
    exitProcess(0)  // (a failed write to standard output turns this into exit 2)
  }
}

extension Keyward {
  /// `keyward lsit` and `keyward help nosuch`: exit 64 naming the nearest commands, instead of
  /// argument-parser's "unexpected argument" (or, for help, the top-level help and exit 0).
  static func unknownCommand(_ args: [String]) {
    let names = configuration.subcommands.compactMap { $0.configuration.commandName }
    var word: String? = nil
    if let first = args.first, !first.hasPrefix("-") {
      word = first == "help" ? args.dropFirst().first { !$0.hasPrefix("-") } : first
    }
    guard let word, !names.contains(word), word != "help" else { return }
    // The closest names: two letters swapped first (lsit → list), then one edit, then two.
    func swapped(_ a: String) -> Bool {
      let x = Array(a.utf8)
      let y = Array(word.utf8)
      guard x.count == y.count, let i = x.indices.first(where: { x[$0] != y[$0] }), i + 1 < x.count else {
        return false
      }
      return x[i] == y[i + 1] && x[i + 1] == y[i] && x[(i + 2)...] == y[(i + 2)...]
    }
    var near = names.filter(swapped)
    for limit in 1...2 where near.isEmpty {
      near = names.filter { Text.editDistance($0, word, limit: limit) <= limit }
    }
    let error = KeywardError(
      .usage, "\"\(word)\" is not a keyward command",
      hint: near.isEmpty
        ? "keyward --help lists them"
        : "did you mean \(near.map { "\"\($0)\"" }.joined(separator: " or "))?")
    Printer(json: wantsJSON(args), color: false, quiet: false, verbose: false).fail(error)
    exitProcess(ExitStatus.usage.rawValue)
  }
}

/// Whether the arguments ask for JSON output (looked at before parsing could finish).
func wantsJSON(_ args: [String]) -> Bool {
  for (i, a) in args.enumerated() {
    if a == "--" { return false }
    if a == "--format=json" || (a == "--format" && i + 1 < args.count && args[i + 1] == "json") {
      return true
    }
  }
  return false
}

/// The one place a command's end becomes an exit status, decided by the error's type: keyward's
/// own errors are printed (in the command's format) with their status; an `ExitOutcome` exits with
/// its status silently (the report said everything); argument-parser's errors, recognised by the
/// status argument-parser itself gives them, are rendered as argument-parser does; anything else
/// is an internal error (exit 2, never 1).
func finish(_ error: Error, printer: Printer) -> Never {
  switch error {
  case let e as KeywardError:
    printer.fail(e)
    exitProcess(e.exitStatus.rawValue)
  case let o as ExitOutcome:
    exitProcess(o.status.rawValue)
  case let v as ValidationError where printer.json:
    // With --format json a usage error is a JSON error document too.
    printer.fail(KeywardError(.usage, v.message))
    exitProcess(ExitStatus.usage.rawValue)
  case _ where Keyward.exitCode(for: error) != .failure:
    // argument-parser's own errors — help and version (its HelpCommand throws them from run),
    // usage and validation errors — are the ones it maps to a status other than a plain failure:
    // rendered as argument-parser renders them.
    Keyward.exit(withError: error)
  default:
    printer.fail(KeywardError(.internal, "\(error)"))
    exitProcess(ExitStatus.error.rawValue)
  }
}
