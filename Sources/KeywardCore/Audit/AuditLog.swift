#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `Environments/audit.jsonl`: one compact JSON line per event, hash-chained.
///
/// Each entry has `v` (1), `seq`, `time`, `actor`, `action`, `environment`, optional `set`,
/// `fingerprints` and action details (`format`, `target`), `prev` (the previous entry's `hash`,
/// or 64 zeros for the first) and `hash` = hex(BLAKE2b-256("keyward audit v1" || the entry's
/// canonical JSON without `hash`)); canonical JSON is compact with keys sorted. Deleting,
/// editing, inserting or reordering a line breaks the chain. Never a value: fingerprints only.
/// One trail entry as reports read it: the members they use, typed (30,000 of these are cheap; as
/// many JSON dictionaries were not).
public struct TrailEntry: Sendable {
  public var seq = 0
  public var action: String?
  public var environment: String?
  public var set: String?
  public var target: String?
  public var time: String?
  public var appKeyFP: String?
  public var appSecretFP: String?
  public var envAfter: String?
  public var envBefore: String?
  /// The version-2 entry that holds this record, its actor, and whether it is signed.
  public var entry: String?
  public var actor: String?
  public var signed = false
  /// The command that wrote its entry (version 2).
  public var command: String?
  public var extra: [String: JSONValue] = [:]

  public init() {}

  public init(_ m: [String: JSONValue]) {
    func s(_ k: String) -> String? { if case .string(let v)? = m[k] { return v } else { return nil } }
    if case .number(let n)? = m["seq"], let i = Int(exactly: n) { seq = i }
    action = s("action")
    environment = s("environment")
    set = s("set")
    target = s("target")
    time = s("time")
    envAfter = s("env_after")
    envBefore = s("env_before")
    actor = s("actor")
    if case .object(let f)? = m["fingerprints"] {
      if case .string(let k)? = f["app_key"] { appKeyFP = k }
      if case .string(let v)? = f["app_secret"] { appSecretFP = v }
    }
    for (k, v) in m where !TrailEntry.typed.contains(k) && k != "hash" && k != "prev" { extra[k] = v }
  }

  static let typed: Set<String> = [
    "seq", "action", "environment", "set", "target", "time", "env_after", "env_before", "fingerprints",
    "actor",
  ]

  /// The record's own members, as its entry holds them (no time, actor or sequence number).
  public var members: JSONValue {
    var m = extra
    for k in ["action", "environment", "set", "target", "env_before", "env_after", "fingerprints"] {
      if let v = self[k] { m[k] = v }
    }
    return .object(m)
  }

  /// The member `key`, as the JSON reader would give it.
  public subscript(key: String) -> JSONValue? {
    switch key {
    case "seq": return .number(Double(seq))
    case "action": return action.map(JSONValue.string)
    case "environment": return environment.map(JSONValue.string)
    case "set": return set.map(JSONValue.string)
    case "target": return target.map(JSONValue.string)
    case "time": return time.map(JSONValue.string)
    case "env_after": return envAfter.map(JSONValue.string)
    case "env_before": return envBefore.map(JSONValue.string)
    case "actor": return actor.map(JSONValue.string)
    case "fingerprints":
      guard let appKeyFP, let appSecretFP else { return nil }
      return .object(["app_key": .string(appKeyFP), "app_secret": .string(appSecretFP)])
    default: return extra[key]
    }
  }
}

public enum AuditLog {
  public static let genesis = String(repeating: "0", count: 64)

  /// Who is acting: `KEYWARD_ACTOR`, else git's author email (environment, then the repository's
  /// and the user's git config), else user@host. Read from files, not by running git: this runs
  /// on every export.
  public static func actor(workspace: String, env: Env = .process) -> String {
    if let a = env.nonEmpty("KEYWARD_ACTOR") { return a }
    for v in ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL", "EMAIL"] { if let e = env.nonEmpty(v) { return e } }
    var dir = workspace.hasPrefix("/") ? workspace : (currentDirectory() + "/" + workspace)
    for _ in 0..<32 {
      if let email = gitEmail("\(dir)/.git/config") { return email }
      if FileSystem.exists("\(dir)/.git") || dir == "/" { break }
      dir = Path.directory(dir)
    }
    if let home = env.nonEmpty("HOME") {
      for f in ["\(home)/.gitconfig", "\(env.nonEmpty("XDG_CONFIG_HOME") ?? "\(home)/.config")/git/config"] {
        if let email = gitEmail(f) { return email }
      }
    }
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, host.count - 1)
    let uid = geteuid()
    return "\(userName(uid: uid, passwd: passwdFile()) ?? "uid\(uid)")@\(String(cString: host))"
  }

  /// /etc/passwd when it is a regular file of at most 8 MiB (a link is followed, as glibc does;
  /// anything larger or stranger names nobody, rather than take the memory a whole read would).
  static func passwdFile() -> [UInt8]? {
    let fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= 8 << 20 else { return nil }
    return try? FileSystem.readAll(fd, path: "/etc/passwd", size: Int(st.st_size))
  }

  /// The name `/etc/passwd` gives `uid`, read as a file. Not `getpwuid`: in the static `keyward`
  /// it loads the NSS modules nsswitch.conf names (systemd's, sss's) into a process they were not
  /// built for, and a user missing from /etc/passwd crashed `export` there (an attack review).
  static func userName(uid: uid_t, passwd: [UInt8]?) -> String? {
    guard let passwd else { return nil }
    let want = String(uid)
    for line in passwd.split(separator: 0x0a) {
      let fields = line.split(separator: 0x3a, maxSplits: 3, omittingEmptySubsequences: false)
      guard fields.count == 4, String(decoding: fields[2], as: UTF8.self) == want, !fields[0].isEmpty else {
        continue
      }
      return String(decoding: fields[0], as: UTF8.self)
    }
    return nil
  }

  static func currentDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    return getcwd(&buf, buf.count) != nil ? String(cString: buf) : "."
  }

  /// `email` in the `[user]` section of a git config file.
  static func gitEmail(_ path: String) -> String? {
    guard let bytes = try? FileSystem.read(path) else { return nil }
    var inUser = false
    for raw in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let line = Text.trimBlanks(raw)
      if line.hasPrefix("[") {
        inUser = line.lowercased() == "[user]"
        continue
      }
      if inUser, let eq = line.firstIndex(of: "="), Text.trimBlanks(line[..<eq]).lowercased() == "email" {
        let v = Text.trimBlanks(line[line.index(after: eq)...])
        return v.isEmpty ? nil : v
      }
    }
    return nil
  }

  /// The hash of an entry (without its `hash` member).
  public static func hash(of entry: [String: JSONValue]) -> String {
    var e = entry
    e.removeValue(forKey: "hash")
    let h = Blake2b(key: nil, length: 32)
    h.update(Array("keyward audit v1".utf8))
    h.update(JSONValue.object(e).compact())
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { h.finish(into: $0) }
    return Sodium.hex(out)
  }

  /// The hash of a line as keyward writes it (canonical JSON, keys sorted): the line without its
  /// `,"hash":"…"` member is exactly the canonical form the hash covers, so no re-serialisation is
  /// needed. Returns the line's claimed hash and the computed one; nil when the line has no single
  /// hash member of the expected shape (the caller then hashes the parsed entry).
  static func rawHash(_ line: UnsafeBufferPointer<UInt8>) -> (claimed: ArraySlice<UInt8>, computed: [UInt8])?
  {
    let key: StaticString = ",\"hash\":\""
    let k = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
    var found = -1
    var i = 0
    while i + k.count + 65 <= line.count {
      if line[i] == 0x2c && line[i + 1] == 0x22 && line[i + 2] == 0x68
        && UnsafeBufferPointer(rebasing: line[i..<(i + k.count)]).elementsEqual(k)
      {
        if found >= 0 { return nil }
        found = i
      }
      i += 1
    }
    guard found >= 0, line[found + k.count + 64] == 0x22 else { return nil }
    let end = found + k.count + 65
    let h = Blake2b(key: nil, length: 32)
    h.update(Array("keyward audit v1".utf8))
    h.update(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(line)[0..<found]))
    h.update(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(line)[end..<line.count]))
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { h.finish(into: $0) }
    return (ArraySlice(line[(found + k.count)..<(found + k.count + 64)]), out)
  }

  /// Whether `hex` (lowercase) spells `bytes`, without building a string.
  static func hexEquals(_ bytes: [UInt8], _ hex: ArraySlice<UInt8>) -> Bool {
    guard hex.count == bytes.count * 2 else { return false }
    let digits: StaticString = "0123456789abcdef"
    return digits.withUTF8Buffer { d in
      var j = hex.startIndex
      for b in bytes {
        if hex[j] != d[Int(b >> 4)] || hex[j + 1] != d[Int(b & 0xf)] { return false }
        j += 2
      }
      return true
    }
  }

  /// Records one change as one entry of the team trail (`Trail.write`), and returns its notice
  /// when this machine's record of the trail was found lost. The caller holds the workspace lock.
  /// The version-1 file is never appended to again.
  @discardableResult
  public static func append(
    workspace: Workspace, action: String, environment: String, set: KeySet?,
    details: [String: JSONValue] = [:], env: Env = .process
  ) throws(KeywardError) -> String? {
    try Trail.write(
      workspace: workspace, command: action,
      records: [Trail.Record(action: action, environment: environment, set: set, details: details)], env: env
    ).notice
  }

  /// 64 lower-case hex digits: the only `prev` an entry may carry.
  static func isHash(_ s: String) -> Bool { Names.isLowerHex(s, count: 64) }

  /// The newest record of `environment` that has `member` (version 2, then version 1).
  public static func lastEntry(workspace: Workspace, environment: String, withMember member: String)
    -> TrailEntry?
  {
    entries(workspace: workspace, environments: [environment]).last {
      $0.environment == environment && $0[member] != nil
    }
  }

  /// Every record, oldest first: version 1's lines, then version 2's entries (signatures not
  /// checked here: `audit` does). With `environments`, the records of a checkpoint's index are
  /// only theirs (see `TrailIndex.load`): ask nothing about any other environment.
  public static func entries(workspace: Workspace, environments: Set<String>? = nil) -> [TrailEntry] {
    TrailIndex.load(
      workspace: workspace, verifySignatures: false, remembered: .process, environments: environments
    ).history
  }
}
