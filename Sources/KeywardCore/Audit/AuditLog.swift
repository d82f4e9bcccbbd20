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
    if case .object(let f)? = m["fingerprints"] {
      if case .string(let k)? = f["app_key"] { appKeyFP = k }
      if case .string(let v)? = f["app_secret"] { appSecretFP = v }
    }
    for (k, v) in m where !TrailEntry.typed.contains(k) && k != "hash" && k != "prev" { extra[k] = v }
  }

  static let typed: Set<String> = [
    "seq", "action", "environment", "set", "target", "time", "env_after", "env_before", "fingerprints",
  ]

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
    let user =
      getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid\(geteuid())"
    return "\(user)@\(String(cString: host))"
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

  /// Appends one entry. The caller holds the workspace lock. Reads only the file's tail (for the
  /// previous hash and sequence number) and appends one line with a single write.
  @discardableResult
  public static func append(
    workspace: Workspace, action: String, environment: String, set: KeySet?,
    details: [String: JSONValue] = [:], env: Env = .process
  ) throws(KeywardError) -> [String: JSONValue] {
    let path = "\(workspace.path)/\(Workspace.auditName)"
    // Everything an entry says is checked before it is written: the trail is read by people and
    // tools, and must never carry text a reader could mistake for anything but data.
    guard Names.isEnvironment(environment) else {
      throw KeywardError(.internal, "refusing to record an invalid environment name in the audit trail")
    }
    if let set {
      guard Names.isSetID(set.id), Names.isFingerprint(set.fingerprints.appKey),
        Names.isFingerprint(set.fingerprints.appSecret)
      else {
        throw KeywardError(
          .integrity,
          "set \(Text.printable(set.id)) of \(environment) has an invalid id or fingerprint; not recorded")
      }
    }
    // Never through a link: a committed `audit.jsonl -> ~/.bashrc` would make every write append
    // to the reader's shell start-up file.
    let fd = try FileSystem.openRegular(path, flags: O_RDWR | O_APPEND, create: 0o644)
    defer { close(fd) }
    let (prev, seq, torn) = tail(fd)
    var entry = details
    entry["v"] = .number(1)
    entry["seq"] = .number(Double(seq + 1))
    entry["time"] = .string(Timestamp.now().iso)
    // The actor comes from the environment or git config: one line of printable text.
    entry["actor"] = .string(
      Text.printable(String(actor(workspace: workspace.path, env: env).prefix(200)), keepNewlines: false))
    entry["action"] = .string(action)
    entry["environment"] = .string(environment)
    if let set {
      entry["set"] = .string(set.id)
      entry["fingerprints"] = .object([
        "app_key": .string(set.fingerprints.appKey), "app_secret": .string(set.fingerprints.appSecret),
      ])
    }
    entry["prev"] = .string(prev)
    entry["hash"] = .string(hash(of: entry))
    // A line torn by an interrupted append is closed first, so this entry stays on a line of its
    // own; the chain verification reports the torn line.
    var line: [UInt8] = torn ? [0x0a] : []
    line += JSONValue.object(entry).compact()
    line.append(0x0a)
    try FileSystem.writeAll(fd, line, path: path)
    // On disk before the change it announces is written (Workspace.commit).
    _ = fsync(fd)
    return entry
  }

  /// 64 lower-case hex digits: the only `prev` an entry may carry.
  static func isHash(_ s: String) -> Bool { Names.isLowerHex(s, count: 64) }

  /// The last complete entry's hash and sequence number, and whether the file ends mid-line.
  static func tail(_ fd: Int32) -> (prev: String, seq: Int, torn: Bool) {
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_size > 0 else { return (genesis, 0, false) }
    let size = Int(st.st_size)
    // Read back from the end, widening the window until a complete, parsing line is found (or
    // the whole file is read): the chain must never silently restart.
    var want = min(size, 16 * 1024)
    while true {
      var buf = [UInt8](repeating: 0, count: want)
      let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, want, off_t(size - want)) }
      guard n == want else { return (genesis, 0, false) }
      let torn = buf.last != 0x0a
      var end = buf.count
      if torn {
        while end > 0 && buf[end - 1] != 0x0a { end -= 1 }
      }
      while end > 0 {
        var start = end - 1
        while start > 0 && buf[start - 1] != 0x0a { start -= 1 }
        // A line that starts before the window (start == 0, not at the file's start) is incomplete.
        if start == 0 && want < size { break }
        let line = Array(buf[start..<(end - 1)])
        if !line.isEmpty, let v = try? JSONValue.parse(line, source: ""), case .object(let m) = v,
          case .string(let h)? = m["hash"], isHash(h), case .number(let s)? = m["seq"],
          let seq = Int(exactly: s), seq >= 0
        {
          return (h, seq, torn)
        }
        end = start
      }
      if want == size { return (genesis, 0, torn) }
      want = min(size, want * 4)
    }
  }

  /// The newest entry of `environment` that has `member`, found by scanning the trail from its
  /// end (keyward writes canonical lines, so the members can be matched as bytes before parsing).
  public static func lastEntry(workspace: Workspace, environment: String, withMember member: String)
    -> [String: JSONValue]?
  {
    guard let bytes = try? FileSystem.read("\(workspace.path)/\(Workspace.auditName)") else { return nil }
    let envNeedle = Array("\"environment\":".utf8) + JSONValue.string(environment).compact()
    let memberNeedle = Array("\"\(member)\":".utf8)
    var end = bytes.count
    while end > 0 {
      var start = end - 1
      while start > 0 && bytes[start - 1] != 0x0a { start -= 1 }
      let line = bytes[start..<end]
      if Bytes.firstIndex(of: envNeedle, in: line) != nil
        && Bytes.firstIndex(of: memberNeedle, in: line) != nil,
        let v = try? JSONValue.parse(Array(line.last == 0x0a ? line.dropLast() : line), source: ""),
        case .object(let m) = v, m["environment"] == .string(environment), m[member] != nil
      {
        return m
      }
      end = start
    }
    return nil
  }

  /// Every entry that parses, oldest first (for checks that ask what was deployed where).
  public static func entries(workspace: Workspace) -> [TrailEntry] {
    guard let bytes = try? FileSystem.read("\(workspace.path)/\(Workspace.auditName)") else { return [] }
    return bytes.split(separator: 0x0a).compactMap { line in
      let l = Array(line)
      if let scanned = TrailScan.summary(l) { return scanned.entry }
      guard let v = try? JSONValue.parse(l, source: ""), case .object(let m) = v else { return nil }
      return TrailEntry(m)
    }
  }
}
