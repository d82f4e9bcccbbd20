import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward audit`: the security team's view, with no private key — the integrity of the audit
/// trail, and per environment the sets, their ages against the policy, the last verification and
/// export, the recipient key, and the check findings.
public enum AuditReport {
  /// The chain, line by line: the first line that breaks it, if any.
  public struct Chain: Sendable, Encodable, Equatable {
    public var entries: Int
    public var intact: Bool
    /// 1-based line number of the first problem.
    public var firstBadLine: Int?
    public var problem: String?
    public var lastHash: String?

    enum CodingKeys: String, CodingKey {
      case entries, intact, problem
      case firstBadLine = "first_bad_line"
      case lastHash = "last_hash"
    }
  }

  public static func verifyChain(_ bytes: [UInt8]) -> Chain {
    var ignored = [TrailEntry]()
    return verifyChain(bytes, entries: &ignored)
  }

  /// Verifies the chain and collects the parsed entries (up to the first bad line).
  static func verifyChain(_ bytes: [UInt8], entries: inout [TrailEntry]) -> Chain {
    var prev = AuditLog.genesis
    var seq = 0
    var line = 0
    var count = 0
    func broken(_ why: String) -> Chain {
      Chain(entries: count, intact: false, firstBadLine: line, problem: why, lastHash: count > 0 ? prev : nil)
    }
    /// Links an entry whose hash checked out to the one before it; the break, if it does not.
    func link(hash: String, prev p: String, seq n: Int, _ entry: TrailEntry) -> Chain? {
      if p != prev {
        return broken(
          line == 1
            ? "the first entry does not start the chain (earlier lines were deleted)"
            : "it does not follow line \(line - 1): a line was deleted, inserted or moved before it")
      }
      if n != seq + 1 { return broken("sequence number \(n) after \(seq)") }
      prev = hash
      seq = n
      count += 1
      entries.append(entry)
      return nil
    }
    // The lines, then each one's scan and hash: independent of each other, so they run on every
    // core; the links between them are checked in order below.
    var lines = [Range<Int>]()
    var start = 0
    while start < bytes.count {
      var end = start
      while end < bytes.count && bytes[end] != 0x0a { end += 1 }
      lines.append(start..<end)
      start = end + 1
    }
    let scans = scanAll(bytes, lines)
    for (index, lineRange) in lines.enumerated() {
      line += 1
      let terminated = lineRange.upperBound < bytes.count
      if lineRange.isEmpty { return broken("an empty line") }
      guard terminated else { return broken("the last line is incomplete: an append was interrupted") }
      // keyward's own lines (canonical, no escapes) are read by one byte scan and their hash is
      // checked on the bytes; any other line is parsed in full and hashed canonically.
      let fast = scans[index]
      if let (scanned, rawMatches) = fast, let hash = scanned.hash, let p = scanned.prev {
        if rawMatches {
          if let failed = link(hash: hash, prev: p, seq: scanned.entry.seq, scanned.entry) { return failed }
          continue
        }
      }
      guard let v = try? JSONValue.parse(Array(bytes[lineRange]), source: ""), case .object(let m) = v else {
        return broken("not a JSON object")
      }
      guard case .string(let hash)? = m["hash"], case .string(let p)? = m["prev"],
        case .number(let s)? = m["seq"],
        let n = Int(exactly: s)
      else { return broken("missing hash, prev or seq") }
      // keyward's own lines hash as they are; others (re-serialised by some tool) canonically.
      if AuditLog.hash(of: m) != hash {
        return broken("the entry was edited (its hash does not match its content)")
      }
      if let failed = link(hash: hash, prev: p, seq: n, TrailEntry(m)) { return failed }
    }
    return Chain(
      entries: count, intact: true, firstBadLine: nil, problem: nil, lastHash: count > 0 ? prev : nil)
  }

  /// Scans and hashes every line (the fast path's work), split across the cores.
  static func scanAll(_ bytes: [UInt8], _ lines: [Range<Int>]) -> [(TrailScan.Scanned, Bool)?] {
    var out = [(TrailScan.Scanned, Bool)?](repeating: nil, count: lines.count)
    let chunks = lines.count < 2_000 ? 1 : 2 * max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    out.withUnsafeMutableBufferPointer { results in
      let sink = WorkerSlots(results)
      bytes.withUnsafeBufferPointer { all in
        let source = Source(all)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
          let lo = lines.count * c / chunks
          let hi = lines.count * (c + 1) / chunks
          for i in lo..<hi {
            let b = UnsafeBufferPointer(rebasing: source.buffer[lines[i]])
            guard let scanned = TrailScan.summary(b), scanned.hasSeq, let hash = scanned.hash else {
              continue
            }
            guard let r = AuditLog.rawHash(b) else {
              sink.buffer[i] = (scanned, false)
              continue
            }
            sink.buffer[i] = (
              scanned, r.claimed.elementsEqual(hash.utf8) && AuditLog.hexEquals(r.computed, r.claimed)
            )
          }
        }
      }
    }
    return out
  }

  /// The file's bytes, shared read-only with the workers of `scanAll`.
  struct Source: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    init(_ b: UnsafeBufferPointer<UInt8>) { buffer = b }
  }

  public struct SetRow: Sendable, Encodable {
    public var id: String
    public var state: SetState
    public var created: Timestamp
    public var ageDays: Int
    /// ok, warn or stale against the policy.
    public var policy: String
    public var fingerprints: SetFingerprints
    public var lastVerification: LastVerification?
    public var lastExport: String?

    enum CodingKeys: String, CodingKey {
      case state, created, policy, fingerprints
      case id = "set_id"
      case ageDays = "age_days"
      case lastVerification = "last_verification"
      case lastExport = "last_export"
    }
  }

  public struct EnvironmentRow: Sendable, Encodable {
    public var name: String
    public var production: Bool
    public var keyID: String
    public var keyAgeDays: Int
    public var sets: [SetRow]
    public var findings: [Finding]

    enum CodingKeys: String, CodingKey {
      case production, sets, findings
      case name = "environment"
      case keyID = "key_id"
      case keyAgeDays = "key_age_days"
    }
  }

  /// The trail as `audit` reports it.
  public struct TrailSummary: Sendable, Encodable {
    /// Distinct entries (version 2) plus version-1 lines.
    public var entries: Int
    public var intact: Bool
    public var problem: String?
    public var firstBadLine: Int?
    public var file: String?
    public var heads: [String]
    public var checkpoints: Int
    public var signed: Int
    public var attested: Int
    public var unsigned: Int
    public var v1Entries: Int
    /// Every signer, by the signed state's name (or "not a member"), with a count.
    public var signers: [Signer]

    public struct Signer: Sendable, Encodable {
      /// The signed state's name for the key, or "not a member".
      public var name: String
      /// The key's fingerprint ("?" when a checkpoint's count names a key that does not parse).
      public var fingerprint: String
      public var entryCount: Int

      enum CodingKeys: String, CodingKey {
        case name, fingerprint
        case entryCount = "entry_count"
      }
    }

    enum CodingKeys: String, CodingKey {
      case intact, problem, file, heads, signers
      case entries = "entry_count"
      case checkpoints = "checkpoint_count"
      case signed = "signed_count"
      case attested = "attested_count"
      case unsigned = "unsigned_count"
      case firstBadLine = "first_bad_line"
      case v1Entries = "v1_entry_count"
    }
  }

  public struct Report: Sendable, Encodable {
    public var workspace: String
    public var generated: Timestamp
    public var policy: RotationPolicy
    public var trail: TrailSummary
    public var environments: [EnvironmentRow]
    /// Findings not tied to one environment (stray files).
    public var workspaceFindings: [Finding]
    /// `audit --git`: the history walk.
    public var git: TrailHistory.Report? = nil

    enum CodingKeys: String, CodingKey {
      case workspace, generated, policy, trail, environments, git
      case workspaceFindings = "workspace_findings"
    }

    /// Whether audit must exit 4: the trail is not intact or a file is unannounced.
    public var integrityFailure: Bool {
      (environments.flatMap(\.findings) + workspaceFindings).contains {
        TrailFindings.integrity.contains($0.id)
      }
    }
  }

  public static func summary(_ index: TrailIndex, workspace: Workspace) -> TrailSummary {
    var signers = [String: (name: String, count: Int)]()  // by fingerprint
    var lookup = TrailFindings.Signers(workspace.trust)
    var signed = 0
    var attested = 0
    var unsigned = 0
    for e in index.entries {
      switch e.signature {
      case .verified: signed += 1
      case .attested: if index.signaturesProven { signed += 1 } else { attested += 1 }
      case .unsigned: unsigned += 1
      }
      if let key = e.signer {
        let (name, fingerprint) = lookup(key)
        signers[fingerprint, default: (name ?? "not a member", 0)].count += 1
      }
    }
    // What the base index counts of the checkpointed entries (each attested by its checkpoint,
    // or with `--full` verified one by one).
    for (text, count) in index.base?.signers ?? [:] {
      if index.signaturesProven { signed += count } else { attested += count }
      let found = (try? PublicIdentity(parsing: text)).map { lookup($0) }
      signers[found?.fingerprint ?? "?", default: (found?.name ?? "not a member", 0)].count += count
    }
    unsigned += index.base?.unsigned ?? 0
    let first = index.problems.first
    return TrailSummary(
      entries: index.entryCount + index.v1Entries.count, intact: index.intact, problem: first?.message,
      firstBadLine: first?.line, file: first?.file, heads: index.heads, checkpoints: index.checkpoints,
      signed: signed, attested: attested, unsigned: unsigned, v1Entries: index.v1Entries.count,
      signers: signers.map {
        TrailSummary.Signer(name: $0.value.name, fingerprint: $0.key, entryCount: $0.value.count)
      }
      .sorted { ($0.name, $0.fingerprint) < ($1.name, $1.fingerprint) })
  }

  /// `words`: how remedies that name an option are worded (the command line's `Advice.words`).
  public static func run(
    workspace: Workspace, full: Bool = false, env: Env = .process, words: @escaping Wording = Advice.unworded
  ) throws(KeywardError) -> Report {
    let now = Timestamp.now()
    // The trail is read and checked once, for its integrity, the exports and check's history.
    var index = TrailIndex.load(
      workspace: workspace, full: full, seen: Trail.Seen.read(workspace: workspace.path, env: env))
    index.releaseKept()
    let loaded = try workspace.loadAll()
    Stopwatch.lap("audit: environments loaded")
    let findings = try CheckOperation.run(
      workspace: workspace, request: .init(), trail: index, environments: loaded, words: words)
    Stopwatch.lap("audit: check")
    // What this machine has now seen: a later cut of it is caught here.
    if index.intact && !index.heads.isEmpty {
      Trail.Seen.write(index.heads, workspace: workspace.path, env: env)
    }
    var lastExport = [String: String]()  // set id → "time → target"
    for e in index.history where e.action == "export" {
      if let set = e.set, let t = e.time, let target = e.target {
        lastExport[set] = Text.printable("\(t) → \(target)", keepNewlines: false)
      }
    }
    let policy = workspace.config.rotation
    var byEnvironment = [String: [Finding]]()
    for f in findings { if let e = f.environment { byEnvironment[e, default: []].append(f) } }
    var rows = [EnvironmentRow]()
    for env in loaded {
      let sets = env.sets.map { s -> SetRow in
        let age = s.created.days(until: now)
        let state =
          s.state == .retiring
          ? "ok" : age > policy.maxAgeDays ? "stale" : age > policy.warnAgeDays ? "warn" : "ok"
        return SetRow(
          id: s.id, state: s.state, created: s.created, ageDays: age, policy: state,
          fingerprints: s.fingerprints,
          lastVerification: s.lastVerification, lastExport: lastExport[s.id])
      }
      rows.append(
        EnvironmentRow(
          name: env.environment, production: workspace.isProduction(env.environment),
          keyID: env.recipient.keyID,
          keyAgeDays: env.recipient.created.days(until: now), sets: sets,
          findings: byEnvironment[env.environment] ?? []))
    }
    Stopwatch.lap("audit: rows")
    return Report(
      workspace: workspace.path, generated: now, policy: policy, trail: summary(index, workspace: workspace),
      environments: rows,
      workspaceFindings: findings.filter { $0.environment == nil })
  }

  /// Markdown, for pasting into a review.
  public static func markdown(_ r: Report) -> String {
    var t =
      "# keyward audit — \(r.workspace)\n\nGenerated \(r.generated.iso). Policy: rotate within \(r.policy.maxAgeDays) days "
    t += "(warn after \(r.policy.warnAgeDays)), grace \(r.policy.graceDays) days.\n\n"
    t +=
      r.trail.intact
      ? "**Audit trail:** intact, \(r.trail.entries) entries (\(r.trail.signed + r.trail.attested) signed, \(r.trail.unsigned) unsigned, \(r.trail.checkpoints) checkpoints).\n\n"
      : "**Audit trail: BROKEN**: \(r.trail.problem ?? "").\n\n"
    if let g = r.git {
      t +=
        "**Git history:** \(g.commits) commits walked\(g.shallow ? " (a shallow clone: the history is incomplete)" : ""), \(g.findings.count) problem(s).\n\n"
      for f in g.findings { t += "- **\(f.id)** (\(f.severity.rawValue)): \(f.message)\n" }
      if !g.findings.isEmpty { t += "\n" }
    }
    for e in r.environments {
      t +=
        "## \(e.name)\(e.production ? " (production)" : "")\n\nRecipient key `\(e.keyID)`, \(e.keyAgeDays) days old.\n\n"
      t +=
        "| set | state | age (days) | policy | last verification | last export |\n|---|---|---|---|---|---|\n"
      for s in e.sets {
        let v = s.lastVerification.map { "\($0.verdict) (\($0.time.iso))" } ?? "never"
        t +=
          "| `\(s.id)` | \(s.state.rawValue) | \(s.ageDays) | \(s.policy) | \(v) | \(s.lastExport ?? "—") |\n"
      }
      if !e.findings.isEmpty {
        t += "\nFindings:\n\n"
        for f in e.findings { t += "- **\(f.id)** (\(f.severity.rawValue)): \(f.message)\n" }
      }
      t += "\n"
    }
    if !r.workspaceFindings.isEmpty {
      t += "## Workspace\n\n"
      for f in r.workspaceFindings { t += "- **\(f.id)** (\(f.severity.rawValue)): \(f.message)\n" }
    }
    return t
  }
}

/// The members of a canonical trail line that reports use, read in one pass without building a
/// JSON tree. Only for lines as keyward writes them: one object whose values are strings without
/// escapes, integers, literals or objects of those; nil otherwise (the caller parses the line).
enum TrailScan {
  struct Scanned {
    var entry = TrailEntry()
    var hash: String?
    var prev: String?
    var hasSeq = false
  }

  static func summary(_ line: [UInt8]) -> Scanned? {
    line.withUnsafeBufferPointer { summary($0) }
  }

  /// Canonical lines only: ASCII, no whitespace, keys in strictly increasing order (so no
  /// duplicates), no leading zeros. Anything else takes the strict parser.
  static func summary(_ p: UnsafeBufferPointer<UInt8>) -> Scanned? {
    var s = FlatScan(p, whitespace: false)
    var out = Scanned()
    guard object(&s, depth: 0, into: &out), s.atEnd else { return nil }
    return out
  }

  /// Reads an object (depth 0: the entry; depth 1: its fingerprints).
  static func object(_ s: inout FlatScan, depth: Int, into out: inout Scanned) -> Bool {
    guard depth < 2, s.eat(ASCII.openBrace) else { return false }
    if s.eat(ASCII.closeBrace) { return true }
    var previous: Range<Int>? = nil
    repeat {
      guard let key = s.rawString(), s.eat(ASCII.colon) else { return false }
      if let previous, !s.precedes(previous, key) { return false }
      previous = key
      switch s.peek() {
      case ASCII.quote?:
        guard let v = s.rawString() else { return false }
        if depth == 1 {
          if s.key(key, "app_key") { out.entry.appKeyFP = s.text(v) }
          if s.key(key, "app_secret") { out.entry.appSecretFP = s.text(v) }
        } else if s.key(key, "action") {
          out.entry.action = s.text(v)
        } else if s.key(key, "environment") {
          out.entry.environment = s.text(v)
        } else if s.key(key, "set") {
          out.entry.set = s.text(v)
        } else if s.key(key, "target") {
          out.entry.target = s.text(v)
        } else if s.key(key, "time") {
          out.entry.time = s.text(v)
        } else if s.key(key, "env_after") {
          out.entry.envAfter = s.text(v)
        } else if s.key(key, "env_before") {
          out.entry.envBefore = s.text(v)
        } else if s.key(key, "hash") {
          out.hash = s.text(v)
        } else if s.key(key, "prev") {
          out.prev = s.text(v)
        }
      case ASCII.openBrace?:
        guard depth == 0, s.key(key, "fingerprints"), object(&s, depth: 1, into: &out) else { return false }
      case let c? where c >= ASCII.zero && c <= ASCII.nine:
        guard depth == 0, let n = s.integer(maxDigits: 15),
          s.peek() == ASCII.comma || s.peek() == ASCII.closeBrace
        else { return false }
        if s.key(key, "seq") {
          out.entry.seq = n
          out.hasSeq = true
        }
      default:
        return false
      }
    } while s.eat(ASCII.comma)
    return s.eat(ASCII.closeBrace)
  }
}

extension AuditReport.Report: DirectJSONDocument {
  public func writeDocument(schemaVersion: Int, flush: (inout [UInt8]) -> Void) {
    // The small members through the generic encoder, at their depth; the rows (12 MB at 3,000
    // environments) directly.
    func small<T: Encodable>(_ value: T, into out: inout [UInt8]) {
      ((try? JSONValueEncoder.encode(value)) ?? .object([:])).write(into: &out, indent: 2)
    }
    var out = [UInt8]()
    out.reserveCapacity(JSONValue.flushSize + (1 << 16))
    var o = JSONValue.Members(indent: 0)
    o.key("environments", into: &out)
    JSONValue.writeArray(environments.count, into: &out, indent: 2, flush: flush) { i, out in
      environments[i].write(into: &out, indent: 4)
    }
    o.string("generated", generated.iso, into: &out)
    if let git {
      o.key("git", into: &out)
      small(git, into: &out)
    }
    o.key("policy", into: &out)
    small(policy, into: &out)
    o.int("schema_version", schemaVersion, into: &out)
    o.key("trail", into: &out)
    small(trail, into: &out)
    o.string("workspace", workspace, into: &out)
    o.key("workspace_findings", into: &out)
    Finding.write(workspaceFindings, into: &out, indent: 2, flush: flush)
    o.end(into: &out)
    out.append(0x0a)
    flush(&out)
  }
}

extension AuditReport.EnvironmentRow {
  func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.string("environment", name, into: &out)
    o.key("findings", into: &out)
    Finding.write(findings, into: &out, indent: indent + 2)
    o.int("key_age_days", keyAgeDays, into: &out)
    o.string("key_id", keyID, into: &out)
    o.bool("production", production, into: &out)
    o.key("sets", into: &out)
    JSONValue.writeArray(sets.count, into: &out, indent: indent + 2) { i, out in
      sets[i].write(into: &out, indent: indent + 4)
    }
    o.end(into: &out)
  }
}

extension AuditReport.SetRow {
  func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.int("age_days", ageDays, into: &out)
    o.string("created", created.iso, into: &out)
    o.key("fingerprints", into: &out)
    fingerprints.write(into: &out, indent: indent + 2)
    o.string("last_export", lastExport, into: &out)
    if let lastVerification {
      o.key("last_verification", into: &out)
      lastVerification.write(into: &out, indent: indent + 2)
    }
    o.string("policy", policy, into: &out)
    o.string("set_id", id, into: &out)
    o.string("state", state.rawValue, into: &out)
    o.end(into: &out)
  }
}
