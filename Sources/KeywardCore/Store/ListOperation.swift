#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward list`: every environment and set, from public data only.
public enum ListOperation {
  public struct SetRow: Sendable, Encodable {
    public var id: String
    public var state: SetState
    public var created: Timestamp
    public var ageDays: Int
    public var fingerprints: SetFingerprints
    public var graceUntil: Timestamp?
    public var lastVerification: LastVerification?

    enum CodingKeys: String, CodingKey {
      case state, created, fingerprints
      case id = "set_id"
      case ageDays = "age_days"
      case graceUntil = "grace_until"
      case lastVerification = "last_verification"
    }
  }

  public struct EnvironmentRow: Sendable, Encodable {
    public var name: String
    public var production: Bool
    public var keyID: String
    public var keyCreated: Timestamp
    public var sets: [SetRow]
    /// Where the environment stands in the rotation cycle.
    public var stage: String
    /// The command to run next, if anything is due.
    public var next: String?

    enum CodingKeys: String, CodingKey {
      case production, sets, stage, next
      case name = "environment"
      case keyID = "key_id"
      case keyCreated = "key_created"
    }
  }

  /// The rotation cycle's stage of one environment, and the next step.
  public static func stage(_ env: EnvironmentFile, policy: RotationPolicy, now: Timestamp) -> (
    String, Advice?
  ) {
    let name = env.environment
    if env.sets.isEmpty { return ("empty", .command("keyward set \(name)")) }
    if let pending = env.sets.first(where: { $0.state == .pending }) {
      switch pending.lastVerification?.verdict {
      case nil: return ("rotating: pending set not verified", .verifyPending(environment: name))
      case "valid"?: return ("rotating: pending set verified", .command("keyward promote \(name)"))
      case let v?:
        return ("rotating: pending set failed verification (\(v))", .verifyPending(environment: name))
      }
    }
    if let until = env.sets.filter({ $0.state == .retiring }).compactMap(\.graceUntil).max() {
      if until <= now { return ("retiring: grace period over", .command("keyward retire \(name)")) }
      return ("retiring until \(until.iso)", .deployThenRetireLater(environment: name))
    }
    guard let active = env.active else { return ("no active set", .command("keyward promote \(name)")) }
    let age = active.created.days(until: now)
    if age > policy.warnAgeDays {
      return ("due for rotation (\(age) days old)", .command("keyward rotate \(name)"))
    }
    if active.lastVerification == nil {
      return ("active, never verified", .command("keyward verify \(name)"))
    }
    if active.lastVerification?.verdict != "valid" {
      return (
        "active, last verification: \(active.lastVerification!.verdict)", .command("keyward verify \(name)")
      )
    }
    return ("steady", nil)
  }

  public struct Report: Sendable, Encodable {
    public var workspace: String
    public var provider: Provider
    public var now: Timestamp
    public var environments: [EnvironmentRow]
  }

  /// `words`: how the next step is worded (the command line's `Advice.words`).
  public static func run(workspace: Workspace, words: Wording = Advice.unworded) throws(KeywardError)
    -> Report
  {
    let now = Timestamp.now()
    let all = try workspace.loadAll()
    Stopwatch.lap("list: environment files loaded")
    var stages = all.map { stage($0, policy: workspace.config.rotation, now: now) }
    // Only for an environment whose grace period is over does list read the trail (once, for all
    // of them): retire refuses while a file still holds a retiring set.
    let due = Set(
      zip(all, stages).filter { $0.1.1 == .command("keyward retire \($0.0.environment)") }.map(
        \.0.environment))
    if !due.isEmpty {
      let deployed = Lifecycle.deployedTargets(
        AuditLog.entries(workspace: workspace), workspace: workspace, environments: due)
      for (i, env) in all.enumerated() where due.contains(env.environment) {
        stages[i].1 = retireAdvice(
          environment: env.environment, sets: env.sets.filter { $0.state == .retiring }.map(\.id),
          deployed: deployed[env.environment] ?? Lifecycle.Deployed())
      }
    }
    Stopwatch.lap("list: stages")
    var rows = [EnvironmentRow]()
    for (env, (stage, next)) in zip(all, stages) {
      let order: [SetState: Int] = [.active: 0, .pending: 1, .retiring: 2]
      let sets = env.sets.sorted {
        (order[$0.state]!, $0.created.seconds) < (order[$1.state]!, $1.created.seconds)
      }
      rows.append(
        EnvironmentRow(
          name: env.environment, production: workspace.isProduction(env.environment),
          keyID: env.recipient.keyID,
          keyCreated: env.recipient.created,
          sets: sets.map {
            SetRow(
              id: $0.id, state: $0.state, created: $0.created, ageDays: $0.created.days(until: now),
              fingerprints: $0.fingerprints, graceUntil: $0.graceUntil, lastVerification: $0.lastVerification)
          }, stage: stage, next: next.map(words)))
    }
    Stopwatch.lap("list: rows")
    return Report(
      workspace: workspace.path, provider: workspace.config.provider, now: now, environments: rows)
  }

  /// What to run for a retiring set past its grace period: `retire`, unless the trail shows one
  /// of them still deployed, in a file here (retire refuses: export the active set there first)
  /// or on another machine (export there, or retire anyway).
  static func retireAdvice(environment name: String, sets due: [String], deployed: Lifecycle.Deployed)
    -> Advice
  {
    if let (set, target) = due.lazy.compactMap({ s in deployed.here[s].map { (s, $0) } }).first {
      let (format, path, shown) = deployed.place(set, target)
      return .deployActiveThenRetire(environment: name, format: format, path: path, shown: shown)
    }
    if let target = due.lazy.compactMap({ deployed.elsewhere[$0] }).first {
      return .retireAfterElsewhere(environment: name, shown: Text.printable(target, keepNewlines: false))
    }
    return .command("keyward retire \(name)")
  }
}

extension ListOperation.Report: DirectJSONDocument {
  public func writeDocument(schemaVersion: Int, flush: (inout [UInt8]) -> Void) {
    var out = [UInt8]()
    out.reserveCapacity(JSONValue.flushSize + (1 << 16))
    var o = JSONValue.Members(indent: 0)
    o.key("environments", into: &out)
    JSONValue.writeArray(environments.count, into: &out, indent: 2, flush: flush) { i, out in
      environments[i].write(into: &out, indent: 4)
    }
    o.string("now", now.iso, into: &out)
    o.string("provider", provider.rawValue, into: &out)
    o.int("schema_version", schemaVersion, into: &out)
    o.string("workspace", workspace, into: &out)
    o.end(into: &out)
    out.append(0x0a)
    flush(&out)
  }
}

extension ListOperation.EnvironmentRow {
  func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.string("environment", name, into: &out)
    o.string("key_created", keyCreated.iso, into: &out)
    o.string("key_id", keyID, into: &out)
    o.string("next", next, into: &out)
    o.bool("production", production, into: &out)
    o.key("sets", into: &out)
    JSONValue.writeArray(sets.count, into: &out, indent: indent + 2) { i, out in
      sets[i].write(into: &out, indent: indent + 4)
    }
    o.string("stage", stage, into: &out)
    o.end(into: &out)
  }
}

extension ListOperation.SetRow {
  func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.int("age_days", ageDays, into: &out)
    o.string("created", created.iso, into: &out)
    o.key("fingerprints", into: &out)
    fingerprints.write(into: &out, indent: indent + 2)
    o.string("grace_until", graceUntil?.iso, into: &out)
    if let lastVerification {
      o.key("last_verification", into: &out)
      lastVerification.write(into: &out, indent: indent + 2)
    }
    o.string("set_id", id, into: &out)
    o.string("state", state.rawValue, into: &out)
    o.end(into: &out)
  }
}
