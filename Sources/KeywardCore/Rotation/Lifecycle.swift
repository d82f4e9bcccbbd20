/// The rotation lifecycle: `rotate` adds a pending set, `promote` makes it active (the old active
/// set retires for a grace period), `retire` removes retiring sets. Each change is written under
/// the workspace lock and recorded in the audit trail.
public enum Lifecycle {
  public struct Report: Sendable, Encodable {
    public var environment: String
    public var action: String
    /// The sets touched: id → new state (or "removed").
    public var sets: [String: String]
    public var graceUntil: Timestamp?
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
      case environment, action, sets, warnings
      case graceUntil = "grace_until"
    }
  }

  /// `keyward rotate ENV`: a pending set (needs no private key).
  public static func rotate(workspace: Workspace, environment: String, input: SetInput) throws(KeywardError)
    -> Report
  {
    let r = try SetOperation.run(
      workspace: workspace, environment: environment, input: input, state: .pending, replace: false)
    return Report(
      environment: environment, action: "rotate", sets: [r.setID: "pending"], graceUntil: nil, warnings: [])
  }

  /// `keyward promote ENV`: the pending set becomes active; the active one retires until
  /// `now + grace`. Refuses a pending set whose last verification was not `valid` unless `force`.
  public static func promote(workspace: Workspace, environment name: String, graceDays: Int?, force: Bool)
    throws(KeywardError) -> Report
  {
    let lock = try workspace.lock()
    defer { lock.unlock() }
    var env = try workspace.loadEnvironment(name)
    guard let p = env.sets.firstIndex(where: { $0.state == .pending }) else {
      throw KeywardError(.input, "\(name) has no pending set to promote", hint: "keyward rotate \(name)")
    }
    let pending = env.sets[p]
    var warnings = [String]()
    switch pending.lastVerification?.verdict {
    case "valid"?: break
    case nil:
      guard force else {
        throw KeywardError(
          .input, "pending set \(pending.id) of \(name) was never verified",
          hint: "keyward verify \(name) --set pending   (or promote with --force)")
      }
      warnings.append("promoted without a verification (--force)")
    case let verdict?:
      guard force else {
        throw KeywardError(
          .input, "pending set \(pending.id) of \(name) failed its last verification: \(verdict)",
          hint: "keyward verify \(name) --set pending   (or promote with --force)")
      }
      warnings.append("promoted although its last verification said \(verdict) (--force)")
    }
    let now = Timestamp.now()
    let grace = graceDays ?? workspace.config.rotation.graceDays
    let until = now.adding(days: grace)
    var touched = [pending.id: "active"]
    for i in env.sets.indices where env.sets[i].state == .active {
      env.sets[i].state = .retiring
      env.sets[i].retiringSince = now
      env.sets[i].graceUntil = until
      touched[env.sets[i].id] = "retiring"
    }
    env.sets[p].state = .active
    try commit(
      workspace: workspace, env: env, action: "promote", touched: touched,
      details: ["grace_until": .string(until.iso)])
    return Report(environment: name, action: "promote", sets: touched, graceUntil: until, warnings: warnings)
  }

  /// `keyward retire ENV`: removes retiring sets past their grace period (all of them with `now`),
  /// refusing one that the audit trail shows still deployed in a file.
  public static func retire(workspace: Workspace, environment name: String, now force: Bool)
    throws(KeywardError)
    -> Report
  {
    let lock = try workspace.lock()
    defer { lock.unlock() }
    var env = try workspace.loadEnvironment(name)
    let now = Timestamp.now()
    let retiring = env.sets.filter { $0.state == .retiring }
    guard !retiring.isEmpty else {
      throw KeywardError(
        .input, "\(name) has no retiring set", hint: "keyward promote \(name) retires the active set")
    }
    let due = retiring.filter { force || ($0.graceUntil.map { $0 <= now } ?? true) }
    guard !due.isEmpty else {
      let next = retiring.compactMap(\.graceUntil).min()
      throw KeywardError(
        .input,
        "no retiring set of \(name) is past its grace period yet" + (next.map { " (next: \($0.iso))" } ?? ""),
        hint: "keyward retire \(name) --now   # to retire them anyway")
    }
    let deployed = deployedTargets(workspace: workspace, environment: name)
    for s in due {
      if let target = deployed[s.id] {
        throw KeywardError(
          .input,
          "retiring set \(s.id) of \(name) is still deployed in \(target) (audit trail: its latest export there)",
          hint: "keyward export \(name) -o \(target)   # deploy the active set there first")
      }
    }
    env.sets.removeAll { s in due.contains { $0.id == s.id } }
    var touched = [String: String]()
    for s in due { touched[s.id] = "removed" }
    try commit(workspace: workspace, env: env, action: "retire", touched: touched, details: [:], removed: due)
    return Report(environment: name, action: "retire", sets: touched, graceUntil: nil, warnings: [])
  }

  /// Files whose latest export (audit trail) holds each set of `environment`: set id → path.
  static func deployedTargets(workspace: Workspace, environment: String) -> [String: String] {
    var latest = [String: String]()  // target → set id
    for e in AuditLog.entries(workspace: workspace) {
      guard e["action"] == .string("export"), e["environment"] == .string(environment),
        case .string(let target)? = e["target"], target != "stdout", case .string(let set)? = e["set"]
      else { continue }
      latest[target] = set
    }
    var out = [String: String]()
    for (target, set) in latest where FileSystem.exists(target) { out[set] = target }
    return out
  }

  /// Saves the environment and appends one audit entry per touched set (lock held by the caller).
  static func commit(
    workspace: Workspace, env: EnvironmentFile, action: String, touched: [String: String],
    details: [String: JSONValue], removed: [KeySet] = []
  ) throws(KeywardError) {
    try workspace.save(env)
    for id in touched.keys.sorted() {
      guard let set = env.sets.first(where: { $0.id == id }) ?? removed.first(where: { $0.id == id }) else {
        continue
      }
      var d = details
      d["state"] = .string(touched[id]!)
      try AuditLog.append(
        workspace: workspace, action: action, environment: env.environment, set: set, details: d)
    }
  }
}
