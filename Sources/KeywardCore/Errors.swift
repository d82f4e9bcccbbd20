/// The exit codes of keyward, in one table (PRODUCT.md; the README repeats it).
public enum ExitStatus: Int32, Sendable, CaseIterable {
  /// Success; nothing wrong found.
  case success = 0
  /// Findings: a set failed verification, a check found a problem, a CSP blocks a resource.
  case findings = 1
  /// Error: bad workspace, config or input file; I/O failure.
  case error = 2
  /// Inconclusive: nothing wrong found, but something could not be verified.
  case inconclusive = 3
  /// Integrity: decryption failed, a file was tampered with, wrong or missing private key.
  case integrity = 4
  /// Usage error (argument parsing).
  case usage = 64
  /// `run`: the command was found but could not be executed (as shells do).
  case cannotExecute = 126
  /// `run`: the command was not found (as shells do).
  case commandNotFound = 127
}

/// The one error type a user reads. Every message says what failed and where, and, when there is
/// something to do about it, what to run next. Messages never contain secret values.
public struct KeywardError: Error, Sendable, CustomStringConvertible {
  /// Broad classes that decide the exit code.
  public enum Kind: String, Sendable {
    /// The workspace, a config file or an input is wrong (exit 2).
    case input
    /// Reading or writing a file failed (exit 2).
    case io
    /// A ciphertext or file failed authentication, or a key is wrong or missing (exit 4).
    case integrity
    /// A command-line usage problem found after parsing (exit 64).
    case usage
    /// A bug or an environment keyward cannot work in (exit 2).
    case `internal`
    /// `run`: the command to exec was not found (exit 127).
    case commandNotFound = "command_not_found"
    /// `run`: the command could not be executed (exit 126).
    case cannotExecute = "cannot_execute"
  }

  public let kind: Kind
  /// What failed, with the place (file, environment, set, field).
  public let message: String
  /// What to do next, if anything; shown on its own line.
  public let hint: String?
  /// What to do next when it is an option of the command line: worded at the edge (`Advice`).
  public internal(set) var advice: Advice? = nil

  public init(_ kind: Kind, _ message: String, hint: String? = nil) {
    self.kind = kind
    self.message = message
    self.hint = hint
  }

  public var exitStatus: ExitStatus {
    switch kind {
    case .input, .io, .internal: return .error
    case .integrity: return .integrity
    case .usage: return .usage
    case .commandNotFound: return .commandNotFound
    case .cannotExecute: return .cannotExecute
    }
  }

  /// The message and the hint; advice is named by its case (the command line words it).
  public var description: String {
    hint.map { "\(message)\nhint: \($0)" } ?? advice.map { "\(message)\nadvice: \($0)" } ?? message
  }
}
