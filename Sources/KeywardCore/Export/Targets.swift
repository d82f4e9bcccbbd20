#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where an export went, recorded so that any clone can tell whether a file it can see still
/// holds a set. Inside the repository that holds the workspace a target is recorded relative to
/// the repository's root (`deploy/prod.env`), which means the same file in every clone; outside it,
/// as an absolute path with the id of the machine that wrote it, which only that machine can check.
public enum ExportTarget {
  /// A stable, non-identifying id of this machine: BLAKE2b of a label, /etc/machine-id (else the
  /// host name) and the user id, 16 hex digits.
  public static let machine: String = {
    // KEYWARD_MACHINE (16 hex digits) stands in for it in tests and demos, as KEYWARD_NOW does for
    // the clock: two "machines" on one host.
    if let m = Env.process.nonEmpty("KEYWARD_MACHINE"), Names.isLowerHex(m, count: 16) { return m }
    let id = (try? FileSystem.read("/etc/machine-id")).map { String(decoding: $0, as: UTF8.self) }
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, host.count - 1)
    let basis = (id ?? String(cString: host)) + "/\(geteuid())"
    return Sodium.hex(
      Array(Sodium.blake2b(length: 32, [Array("keyward machine v1".utf8), Array(basis.utf8)]).prefix(8)))
  }()

  /// The git work tree that holds `path` (a real path), found by looking for `.git` upward.
  static func repositoryRoot(of path: String) -> String? {
    var dir = Trust.realPath(path)
    for _ in 0..<64 {
      if FileSystem.exists("\(dir)/.git") { return dir }
      if dir == "/" || dir.isEmpty { return nil }
      dir = Path.directory(dir)
    }
    return nil
  }

  /// The details an export records for `absolute` (the file's absolute path).
  static func details(_ absolute: String, workspace: Workspace) -> [String: JSONValue] {
    let real = Trust.realPath(Path.directory(absolute)) + "/" + Path.name(absolute)
    if let root = repositoryRoot(of: workspace.path), real.hasPrefix(root + "/") {
      return [
        "target": .string(String(real.dropFirst(root.count + 1))), "target_base": .string("repository"),
      ]
    }
    return ["target": .string(absolute), "machine": .string(machine)]
  }

  /// Where a recorded target is on this machine: a path to check, or nil when only another
  /// machine can check it (`stdout`, a program run, and another machine's path have no file here).
  public enum Place: Equatable {
    case here(String)
    case elsewhere
  }

  public static func place(_ record: TrailEntry, workspace: Workspace) -> Place? {
    guard let target = record.target, target != "stdout" else { return nil }
    if record.extra["target_base"] == .string("repository") {
      guard let root = repositoryRoot(of: workspace.path), !target.hasPrefix("/"),
        !target.split(separator: "/").contains("..")
      else { return .elsewhere }
      return .here("\(root)/\(target)")
    }
    if case .string(let m)? = record.extra["machine"], m != machine { return .elsewhere }
    return target.hasPrefix("/") ? .here(target) : .elsewhere
  }
}
