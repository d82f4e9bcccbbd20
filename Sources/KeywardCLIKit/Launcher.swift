import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How `keyward` finds and starts `keyward-cli`.
public enum Launcher {
  /// This executable's path (/proc/self/exe on Linux, else argv[0]).
  public static func selfPath() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    if n > 0 { return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    return CommandLine.arguments[0]
  }

  /// Replaces this process with `path ARGS` (argv[0] stays "keyward", so messages read naturally).
  public static func exec(_ path: String, _ arguments: [String]) -> Never {
    let argv = (["keyward"] + arguments).map { strdup($0) } + [nil]
    execv(path, argv)
    let reason = String(cString: strerror(errno))
    Printer.plain.fail(
      KeywardError(
        .internal, "cannot run \(path): \(reason)",
        hint: "keyward and keyward-cli are installed side by side; reinstall both (swift build builds both)"))
    exitProcess(ExitStatus.error.rawValue)
  }
}
