import ArgumentParser
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
    if let fast = FastPath.parse(Array(CommandLine.arguments.dropFirst())) {
      do {
        try FastPath.run(fast)
        Glibc_exit(0)
      } catch {
        FastPath.printer(for: fast).fail(error)
        Glibc_exit(error.exitStatus.rawValue)
      }
    }
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
      Glibc_exit(error.exitStatus.rawValue)
    } catch {
      exit(withError: error)
    }
  }
}

enum KeywardVersion {
  static let current = "0.1.0"
}

/// `exit` without the ambiguity with ParsableCommand.exit(withError:).
func Glibc_exit(_ code: Int32) -> Never {
  #if canImport(Glibc)
    Glibc.exit(code)
  #else
    Darwin.exit(code)
  #endif
}
