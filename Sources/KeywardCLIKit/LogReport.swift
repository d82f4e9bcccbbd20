import KeywardCore

/// `log` as a plain value, built by ArgumentParser or by the fast path: the trail, readable. Run
/// in `keyward`, it starts without Foundation and argument-parser (about 10 MB and a few
/// milliseconds less over a trail of 300,000 entries; README "Benchmarks").
public enum LogFormat: String, CaseIterable, Sendable {
  case text, json
}

public struct LogRequest: Equatable, Sendable {
  public var settings: CommonSettings
  public var environments: [String]
  public var actor: String?
  public var action: String?
  public var setID: String?
  public var since: String?
  public var until: String?
  public var format: LogFormat

  public init(
    settings: CommonSettings, environments: [String], actor: String?, action: String?, setID: String?,
    since: String?, until: String?, format: LogFormat
  ) {
    self.settings = settings
    self.environments = environments
    self.actor = actor
    self.action = action
    self.setID = setID
    self.since = since
    self.until = until
    self.format = format
  }

  /// The settings errors are rendered with (a JSON error document with `--format json`).
  public var errorSettings: CommonSettings { settings.with(json: format == .json) }

  /// A bound as a timestamp: a date alone means its first (since) or last (until) second.
  public static func bound(_ text: String?, end: Bool, option: String) throws(KeywardError) -> String? {
    guard let text else { return nil }
    if text.count == 10, Timestamp(iso: text + "T00:00:00Z") != nil {
      return text + (end ? "T23:59:59Z" : "T00:00:00Z")
    }
    guard let t = Timestamp(iso: text) else {
      throw KeywardError(
        .usage, "--\(option) takes a date (YYYY-MM-DD) or a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)")
    }
    return t.iso
  }

  public func run() throws(KeywardError) -> ExitStatus {
    let workspace = try settings.openWorkspace()
    for e in environments { try workspace.requireEnvironment(e) }
    let from = try LogRequest.bound(since, end: false, option: "since")
    let to = try LogRequest.bound(until, end: true, option: "until")
    // The trail checked as check checks it (a segment this machine hashed is not hashed again
    // while its file is unchanged); with a checkpoint index, its entries are streamed from the
    // segments below (memory stays at one batch of lines).
    var index = TrailIndex.load(
      workspace: workspace, seen: Trail.Seen.read(workspace: workspace.path, env: .process),
      remembered: .process, history: false, decodeIDs: true)
    // The records the index kept are for other readers: log shows every entry from its line.
    index.base?.kept = []
    let p = Printer(settings)
    // Each signer's name in the signed state and fingerprint, found once per key before the
    // rows are made on every core (a trail has few signers: the base index counts them).
    var signers = TrailFindings.Signers(workspace.trust)
    for text in index.base?.signers.keys ?? [:].keys {
      if let key = try? PublicIdentity(parsing: text) { _ = signers(key) }
    }
    for e in index.entries { if let key = e.signer { _ = signers(key) } }
    Stopwatch.lap("log: signers")
    let row = LogRequest.rows(
      signers: signers, json: format == .json, from: from, to: to, actor: actor, environments: environments,
      action: action, set: setID)
    var out = [UInt8]()
    out.reserveCapacity(1 << 20)
    var plain = true  // whether every row in `out` is plain text (each row checked on its core)
    func flush() {
      if !out.isEmpty { plain ? Printer.writeRaw(1, out) : p.out(bytes: out) }
      out.removeAll(keepingCapacity: true)
      plain = true
    }
    var count = 0
    var rows = 0
    if format == .json { JSONValue.literal("{\n  \"entries\" : [", into: &out) }
    func emit(_ made: (records: Int, bytes: [UInt8], plain: Bool)) {
      count += made.records
      plain = plain && made.plain
      rows += 1
      if format == .json { JSONValue.literal(rows == 1 ? "\n    " : ",\n    ", into: &out) }
      out += made.bytes
      if out.count > 1 << 20 { flush() }
    }
    // A checkpointed line that is not an entry its signed index lists is not dropped in silence.
    var problems = index.problems.map(\.message)
    if let unplaced = index.forEachCovered(map: row, emit), unplaced > 0 {
      problems.append(
        "\(unplaced) line(s) of the checkpointed segments are not entries the checkpoint's signed index lists, and are not shown: "
          + "the checkpoint is malformed (keyward audit --full names them)")
    }
    Stopwatch.lap("log: checkpointed entries")
    let intact = index.intact && problems.count == index.problems.count
    for e in index.entries { if let made = row(e) { emit(made) } }
    if format == .json {
      JSONValue.literal(rows == 0 ? "]" : "\n  ]", into: &out)
      let rest: [(String, JSONValue)] = [
        ("heads", .array(index.heads.map(JSONValue.string))), ("intact", .bool(intact)),
        ("problems", .array(problems.map(JSONValue.string))),
        ("record_count", .number(Double(count))),
        ("schema_version", .number(Double(Printer.schemaVersion))), ("workspace", .string(workspace.path)),
      ]
      for (key, value) in rest {
        JSONValue.literal(",\n  ", into: &out)
        out += JSONValue.string(key).compact()
        JSONValue.literal(" : ", into: &out)
        value.write(into: &out, indent: 2)
      }
      JSONValue.literal("\n}\n", into: &out)
      plain = false  // the members after the rows are checked with the rest of the last piece
      flush()
    } else {
      if rows == 0 { out += Array("No records match.\n".utf8) }
      flush()
      for problem in problems { p.note("keyward: error: \(problem)\n") }
    }
    if !intact { return .integrity }
    return Reports.unpinned(workspace)
  }

  /// What an entry shows, or nil when the filters leave none of its records: the number of
  /// records shown, the bytes (a JSON row at indent 4, or text lines) and whether they are what
  /// `Printer.out(bytes:)` writes unchanged. Pure, so it runs on every core: `signers` already
  /// knows the trail's signers (another is looked up, not kept).
  static func rows(
    signers: TrailFindings.Signers, json: Bool, from: String?, to: String?, actor: String?,
    environments: [String], action: String?, set setID: String?
  ) -> @Sendable (TrailIndex.Entry) -> (records: Int, bytes: [UInt8], plain: Bool)? {
    /// Who an entry is by: its signature status, and its actor — for a signed entry the signed
    /// state's name for its key (what the entry says of itself is shown only for unsigned ones,
    /// and for strangers marked with a "?").
    @Sendable func who(_ e: TrailIndex.Entry) -> (status: String, actor: String) {
      guard let key = e.signer else { return ("unsigned", e.actor) }
      let how = e.signature == .attested ? "attested" : "signed"
      let s = signers.lookup(key)
      guard let name = s.name else {
        return ("\(how):not-a-member(\(s.fingerprint.prefix(8)))", "?\(e.actor)")
      }
      return ("\(how):\(name)", name)
    }
    return { e in
      if let from, e.time < from { return nil }
      if let to, e.time > to { return nil }
      let (status, shownActor) = who(e)
      if let actor, shownActor != actor { return nil }
      let records = e.records.filter { r in
        (environments.isEmpty || environments.contains(r.environment ?? ""))
          && (action == nil || r.action == action) && (setID == nil || r.set == setID)
      }
      if records.isEmpty { return nil }
      var out = [UInt8]()
      if json {
        // The row's members in sorted order, written as they come (no dictionary or key list
        // per row: 30,000 rows, a log).
        out.reserveCapacity(768 + 256 * records.count)
        var m = JSONValue.Members(indent: 4)
        m.string("actor", shownActor, into: &out)
        m.string("claimed_actor", e.actor, into: &out)
        m.string("command", e.command, into: &out)
        m.string("entry_id", e.id, into: &out)
        m.string("file", e.file, into: &out)
        m.key("line", into: &out)
        e.line.map { JSONValue.writeInt($0, into: &out) } ?? JSONValue.literal("null", into: &out)
        m.key("parents", into: &out)
        JSONValue.writeArray(e.parents.count, into: &out, indent: 6) { n, out in
          JSONValue.writeString(e.parents[n], into: &out)
        }
        m.key("records", into: &out)
        JSONValue.writeArray(records.count, into: &out, indent: 6) { n, out in
          LogRequest.write(records[n], into: &out, indent: 8)
        }
        m.string("signature", status, into: &out)
        m.key("signer", into: &out)
        e.signer.map { JSONValue.writeString(signers.lookup($0).fingerprint, into: &out) }
          ?? JSONValue.literal("null", into: &out)
        m.string("time", e.time, into: &out)
        m.end(into: &out)
      } else {
        for r in records {
          var line =
            "\(e.time)  \(Text.pad(shownActor, 14)) \(Text.pad(status, 18)) \(Text.pad(r.action ?? "?", 15))"
          line += " \(Text.pad(r.environment ?? "", 10)) \(Text.pad(r.set ?? "-", 20))"
          if let t = r.target { line += " → \(t)" }
          if case .string(let v)? = r["verdict"] { line += " (\(v))" }
          // One line per record whatever the trail holds (a target with a newline is hostile).
          out += Array((Text.printable(line, keepNewlines: false) + "  [\(e.id.prefix(12))]\n").utf8)
        }
      }
      return (records.count, out, Printer.isUnchanged(out))
    }
  }

  /// A record as the JSON document shows it: every member, the set's id as `set_id` (the
  /// vocabulary of every document; the trail's own files call it `set`). Written member by
  /// member in sorted order, without a dictionary per record (30,000 records, a log).
  static func write(_ r: TrailEntry, into out: inout [UInt8], indent: Int) {
    // The typed members in their sorted order, the record's other members (usually one) merged in
    // by key as they come.
    var extras = r.extra.isEmpty ? [] : r.extra.keys.filter { !($0 == "set_id" && r.set != nil) }
    if extras.count > 1 { extras.sort() }
    var m = JSONValue.Members(indent: indent)
    var next = 0
    func extrasFirst(before key: String?) {
      while next < extras.count, key.map({ extras[next] < $0 }) ?? true {
        m.key(extras[next], into: &out)
        r.extra[extras[next]]?.write(into: &out, indent: indent + 2)
        next += 1
      }
    }
    func text(_ key: StaticString, _ value: String?) {
      guard let value else { return }
      if next < extras.count { extrasFirst(before: key.description) }
      m.string(key, value, into: &out)
    }
    text("action", r.action)
    text("env_after", r.envAfter)
    text("env_before", r.envBefore)
    text("environment", r.environment)
    if let k = r.appKeyFP, let v = r.appSecretFP {
      if next < extras.count { extrasFirst(before: "fingerprints") }
      m.key("fingerprints", into: &out)
      var f = JSONValue.Members(indent: indent + 2)
      f.string("app_key", k, into: &out)
      f.string("app_secret", v, into: &out)
      f.end(into: &out)
    }
    text("set_id", r.set)
    text("target", r.target)
    extrasFirst(before: nil)
    m.end(into: &out)
  }
}
