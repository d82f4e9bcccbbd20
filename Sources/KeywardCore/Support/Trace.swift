#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `-v`/`--verbose`: what a command did, one line each on standard error — the files it read and
/// wrote, the requests it sent (method, URL, status, milliseconds; never a header or a body, which
/// carry credentials), and the rule groups it ran with their finding counts. Off unless the
/// command line turns it on; the core only says what happened, the edge decides it is shown.
public enum Trace {
  nonisolated(unsafe) public static var on = false

  public static func note(_ text: @autoclosure () -> String) {
    guard on else { return }
    let line = "keyward: trace: " + Text.printable(text(), keepNewlines: false) + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
  }

  /// Whether the arguments ask for it (before `--`, which starts `run`'s program).
  public static func requested(_ args: [String]) -> Bool {
    for a in args {
      if a == "--" { return false }
      if a == "-v" || a == "--verbose" { return true }
    }
    return false
  }
}
