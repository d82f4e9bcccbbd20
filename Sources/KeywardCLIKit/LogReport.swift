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
        // The row's members in sorted order, written as they come (no dictionary per row).
        JSONValue.writeObject(LogRequest.rowKeys, into: &out, indent: 4) { k, out in
          switch k {
          case 0: JSONValue.writeString(shownActor, into: &out)
          case 1: JSONValue.writeString(e.actor, into: &out)
          case 2: JSONValue.writeString(e.command, into: &out)
          case 3: JSONValue.writeString(e.id, into: &out)
          case 4: JSONValue.writeString(e.file, into: &out)
          case 5: e.line.map { JSONValue.writeInt($0, into: &out) } ?? JSONValue.literal("null", into: &out)
          case 6:
            JSONValue.writeArray(e.parents.count, into: &out, indent: 6) { n, out in
              JSONValue.writeString(e.parents[n], into: &out)
            }
          case 7:
            JSONValue.writeArray(records.count, into: &out, indent: 6) { n, out in
              LogRequest.write(records[n], into: &out, indent: 8)
            }
          case 8: JSONValue.writeString(status, into: &out)
          case 9:
            e.signer.map { JSONValue.writeString(signers.lookup($0).fingerprint, into: &out) }
              ?? JSONValue.literal("null", into: &out)
          default: JSONValue.writeString(e.time, into: &out)
          }
        }
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

  /// A row's members, sorted (the order `writeObject` writes them in).
  static let rowKeys = [
    "actor", "claimed_actor", "command", "entry_id", "file", "line", "parents", "records", "signature",
    "signer", "time",
  ]

  /// A record as the JSON document shows it: every member, the set's id as `set_id` (the
  /// vocabulary of every document; the trail's own files call it `set`). Written member by
  /// member in sorted order, without a dictionary per record (30,000 records, a log).
  static func write(_ r: TrailEntry, into out: inout [UInt8], indent: Int) {
    enum Member {
      case text(String)
      case value(JSONValue)
      case fingerprints(String, String)
    }
    var members: [(key: String, value: Member)] = []
    members.reserveCapacity(7 + r.extra.count)
    if let v = r.action { members.append(("action", .text(v))) }
    if let v = r.envAfter { members.append(("env_after", .text(v))) }
    if let v = r.envBefore { members.append(("env_before", .text(v))) }
    if let v = r.environment { members.append(("environment", .text(v))) }
    if let k = r.appKeyFP, let v = r.appSecretFP { members.append(("fingerprints", .fingerprints(k, v))) }
    if let v = r.set { members.append(("set_id", .text(v))) }
    if let v = r.target { members.append(("target", .text(v))) }
    for (k, v) in r.extra where !(k == "set_id" && r.set != nil) { members.append((k, .value(v))) }
    if !r.extra.isEmpty { members.sort { $0.key < $1.key } }
    JSONValue.writeObject(members.map(\.key), into: &out, indent: indent) { n, out in
      switch members[n].value {
      case .text(let s): JSONValue.writeString(s, into: &out)
      case .value(let v): v.write(into: &out, indent: indent + 2)
      case .fingerprints(let k, let v):
        JSONValue.writeObject(["app_key", "app_secret"], into: &out, indent: indent + 2) { i, out in
          JSONValue.writeString(i == 0 ? k : v, into: &out)
        }
      }
    }
  }
}
