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

    /// One set the change touched, as JSON writes it.
    struct Touched: Encodable {
      let set_id: String
      let state: String
    }

    public func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(environment, forKey: .environment)
      try c.encode(action, forKey: .action)
      try c.encode(
        sets.sorted { $0.key < $1.key }.map { Touched(set_id: $0.key, state: $0.value) }, forKey: .sets)
      try c.encodeIfPresent(graceUntil, forKey: .graceUntil)
      try c.encode(warnings, forKey: .warnings)
    }
  }

  /// `keyward rotate ENV`: a pending set (needs no private key).
  public static func rotate(
    workspace: Workspace, environment: String, input: SetInput, identity: Identity? = nil,
    allowRetired: Bool = false
  ) throws(KeywardError) -> Report {
    let r = try SetOperation.run(
      workspace: workspace, environment: environment, input: input, state: .pending, replace: false,
      identity: identity, allowRetired: allowRetired)
    return Report(
      environment: environment, action: "rotate", sets: [r.setID: "pending"], graceUntil: nil,
      warnings: r.warnings)
  }

  /// `keyward promote ENV`: the pending set becomes active; the active one retires until
  /// `now + grace`. Refuses a pending set whose last verification was not `valid` unless `force`.
  public static func promote(
    workspace: Workspace, environment name: String, graceDays: Int?, force: Bool, identity: Identity? = nil
  )
    throws(KeywardError) -> Report
  {
    try workspace.requireTrusted("activate a set of \(name)")
    try workspace.refuseRemovedTrust("activate a set of \(name)")
    if let trust = workspace.trust {
      guard let identity, let role = trust.role(of: identity.publicIdentity, in: name), role.role != "reader"
      else {
        throw KeywardError(
          .integrity,
          "promote activates a set of \(name), which needs the identity of an admin or member of \(name)"
            + (identity.map {
              " (\($0.name) is "
                + (trust.role(of: $0.publicIdentity, in: name) == nil ? "not one)" : "a reader)")
            }
              ?? " (none is configured)"))
      }
    }
    let lock = try workspace.lock()
    defer { lock.unlock() }
    var env = try workspace.loadEnvironment(name)
    guard let p = env.sets.firstIndex(where: { $0.state == .pending }) else {
      throw KeywardError(.input, "\(name) has no pending set to promote", hint: "keyward rotate \(name)")
    }
    let pending = env.sets[p]
    var warnings = [String]()
    // In a trusted workspace only a verification a member signed counts.
    var verdict = pending.lastVerification?.verdict
    if let trust = workspace.trust, verdict != nil,
      Activation.verifiedBy(environment: name, set: pending, trust: trust) == nil
    {
      verdict = "an unsigned or forged record (no admin or member signed it)"
    }
    switch verdict {
    case "valid"?: break
    case nil:
      guard force else {
        throw KeywardError(
          .input, "pending set \(pending.id) of \(name) was never verified",
          advice: .verifyPendingOrForce(environment: name))
      }
      warnings.append("promoted without a verification (forced)")
    case let verdict?:
      guard force else {
        throw KeywardError(
          .input, "pending set \(pending.id) of \(name) failed its last verification: \(verdict)",
          advice: .verifyPendingOrForce(environment: name))
      }
      warnings.append("promoted although its last verification said \(verdict) (forced)")
    }
    // Anyone may propose a set, and a member's proposal can be replaced by hand before it is
    // verified (a real pair verifies valid whoever proposed it): one no member signed is named.
    if let trust = workspace.trust,
      Activation.proposingMember(environment: name, set: pending, trust: trust) == nil
    {
      warnings.append(
        "pending set \(pending.id) was proposed by \(Activation.proposer(environment: name, set: pending, trust: trust)), not by an admin or member: make sure it is the pair you meant to activate"
      )
    }
    let now = Timestamp.now()
    let grace = graceDays ?? workspace.config.rotation.graceDays
    guard (0...ConfigValidator.maxDays).contains(grace) else {
      throw KeywardError(
        .input, "a grace period of \(grace) days is out of range (0 to \(ConfigValidator.maxDays))")
    }
    let until = now.adding(days: grace)
    var touched = [pending.id: "active"]
    for i in env.sets.indices where env.sets[i].state == .active {
      env.sets[i].state = .retiring
      env.sets[i].retiringSince = now
      env.sets[i].graceUntil = until
      touched[env.sets[i].id] = "retiring"
    }
    env.sets[p].state = .active
    // The manifest first (see SetOperation): an interrupted promote is finished by running it again.
    // Only a set the trail announces is activated (one slipped into the file has no entry).
    if let identity, workspace.trust != nil {
      try workspace.requireAnnounced([pending], of: name)
      try Activation.write(workspace: workspace, environment: name, set: env.sets[p], by: identity)
      FileSystem.crashPoint("after-manifest")
    }
    warnings += try commit(
      workspace: workspace, env: env, action: "promote", touched: touched,
      details: ["grace_until": .string(until.iso)])
    return Report(environment: name, action: "promote", sets: touched, graceUntil: until, warnings: warnings)
  }

  /// `keyward discard ENV [--set ID]`: drops a pending set that will not be promoted (a wrong
  /// pair, a test). Only a pending set: an active one is replaced through rotate and promote, a
  /// retiring one leaves through retire. In a trusted workspace the proposer of the set, an admin
  /// or a member of the environment may discard it (anyone may propose; not anyone may withdraw
  /// someone else's proposal).
  public static func discard(
    workspace: Workspace, environment name: String, setID: String?, identity: Identity? = nil
  ) throws(KeywardError) -> Report {
    try workspace.requireTrusted("discard a set of \(name)")
    let lock = try workspace.lock()
    defer { lock.unlock() }
    var env = try workspace.loadEnvironment(name)
    let candidates = env.sets.filter { setID == nil ? $0.state == .pending : $0.id == setID }
    guard let set = candidates.first else {
      throw KeywardError(
        .input,
        setID.map { "\(name) has no set \(Text.printable($0))" } ?? "\(name) has no pending set",
        hint: "keyward list shows each environment's sets")
    }
    guard set.state == .pending else {
      throw KeywardError(
        .input, "set \(set.id) of \(name) is \(set.state.rawValue); only a pending set is discarded",
        hint: set.state == .active
          ? "replace it with keyward rotate \(name), then promote"
          : "keyward retire \(name) removes retiring sets")
    }
    if let trust = workspace.trust {
      let proposerKey: PublicIdentity? = {
        guard case .object(let m)? = set.extra["proposer"], case .string(let k)? = m["key"] else {
          return nil
        }
        return try? PublicIdentity(parsing: k)
      }()
      guard let identity,
        trust.admin(identity.publicIdentity) != nil
          || trust.role(of: identity.publicIdentity, in: name)?.role == "member"
          || (proposerKey == identity.publicIdentity
            && Activation.proposer(environment: name, set: set, trust: trust) != "a forged proposer signature")
      else {
        throw KeywardError(
          .integrity,
          "discarding set \(set.id) of \(name) needs the identity of its proposer, an admin or a member of \(name)"
            + (identity.map { " (\($0.name) is none of them)" } ?? " (none is configured)"))
      }
    }
    env.sets.removeAll { $0.id == set.id }
    let notes = try commit(
      workspace: workspace, env: env, action: "discard", touched: [set.id: "removed"], details: [:],
      removed: [set])
    return Report(
      environment: name, action: "discard", sets: [set.id: "removed"], graceUntil: nil, warnings: notes)
  }

  /// `keyward retire ENV`: removes retiring sets past their grace period (all of them with `now`),
  /// refusing one that the audit trail shows still deployed in a file.
  public static func retire(
    workspace: Workspace, environment name: String, now force: Bool, overrideElsewhere: Bool = false
  )
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
        advice: .retireNow(environment: name))
    }
    let deployed = deployedTargets(workspace: workspace, environment: name)
    var warnings = [String]()
    var forced = [JSONValue]()
    for s in due {
      if let target = deployed.here[s.id] {
        throw KeywardError(
          .input,
          "retiring set \(s.id) of \(name) is still deployed in \(Text.printable(target, keepNewlines: false)) (audit trail: its latest export there)",
          advice: deployed.advice(name, set: s.id, to: target))
      }
      if let target = deployed.elsewhere[s.id] {
        guard overrideElsewhere else {
          throw KeywardError(
            .input,
            "retiring set \(s.id) of \(name) was last exported to \(Text.printable(target, keepNewlines: false)) on another machine, which cannot be checked from here",
            advice: .retireElsewhere(environment: name))
        }
        forced.append(.string(target))
        warnings.append(
          "set \(s.id) may still be deployed in \(Text.printable(target, keepNewlines: false)) on another machine (forced: recorded)"
        )
      }
      if let use = deployed.unseen[s.id] {
        warnings.append(
          "set \(s.id) was last handed out to \(Text.printable(use, keepNewlines: false)): wherever that went may still hold it"
        )
      }
    }
    env.sets.removeAll { s in due.contains { $0.id == s.id } }
    var touched = [String: String]()
    for s in due { touched[s.id] = "removed" }
    let notes = try commit(
      workspace: workspace, env: env, action: "retire", touched: touched,
      details: forced.isEmpty ? [:] : ["forced_past": .array(forced)], removed: due)
    return Report(
      environment: name, action: "retire", sets: touched, graceUntil: nil, warnings: warnings + notes)
  }

  public struct RekeyReport: Sendable, Encodable {
    public var environment: String
    public var oldKeyID: String
    public var newKeyID: String
    public var setCount: Int
    /// Where the new private key is (the key store).
    public var keyFile: String
    /// The CI variable that must now hold the new key.
    public var ciVariable: String
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
      case environment, warnings
      case setCount = "set_count"
      case oldKeyID = "old_key_id"
      case newKeyID = "new_key_id"
      case keyFile = "key_file"
      case ciVariable = "ci_variable"
    }
  }

  /// `keyward rekey ENV`: a new recipient keypair, every set re-sealed to it (the old private key
  /// is needed this once). Crash-safe in three steps: the new key is written beside the old one
  /// (`ENV.key.next`); the trail records the change and the environment file is replaced; the new
  /// key takes the old one's place. An interruption after the second step leaves the file sealed
  /// to the `.next` key, which key lookup accepts and the next rekey puts in place.
  public static func rekey(
    workspace: Workspace, environment name: String, keys: KeySource, admin: Identity? = nil
  )
    throws(KeywardError) -> RekeyReport
  {
    // A new recipient key changes the signed state: an admin signs it.
    if let trust = workspace.trust {
      try workspace.requireTrusted("rekey \(name)")
      guard let admin, trust.admin(admin.publicIdentity) != nil else {
        throw KeywardError(
          .integrity, "rekey changes \(name)'s signed recipient key, which needs an admin's identity",
          advice: .adminIdentity)
      }
    }
    let lock = try workspace.lock()
    defer { lock.unlock() }
    let env = try workspace.loadEnvironment(name)
    let storePath = KeySource.storePath(
      workspaceID: workspace.config.workspaceID, environment: name, env: keys.environment)
    let nextPath = storePath + ".next"
    var warnings = [String]()
    // An interrupted rekey already re-sealed the file to the key waiting in .next: finish it.
    if FileSystem.exists(nextPath), let pk = try? KeyFile.publicKey(path: nextPath),
      pk.base64 == env.recipient.publicKey
    {
      if let trust = workspace.trust, let admin, trust.recipients[name] != env.recipient.publicKey {
        let key = try KeyFile.load(path: nextPath, passphrase: keys.passphrase)
        try finishTrustedRekey(
          workspace: workspace, trust: trust, environment: name, key: key, admin: admin, env: keys.environment
        )
      }
      try FileSystem.replace(nextPath, with: storePath)
      let last = AuditLog.lastEntry(workspace: workspace, environment: name, withMember: "new_key_id")
      let oldID: String = { if case .string(let s)? = last?["old_key_id"] { return s } else { return "?" } }()
      return RekeyReport(
        environment: name, oldKeyID: oldID, newKeyID: env.recipient.keyID, setCount: env.sets.count,
        keyFile: storePath, ciVariable: Names.privateKeyVariable(name),
        warnings: ["completed an interrupted rekey: the new key is now in place"])
    }
    let (old, _) = try keys.privateKey(for: env, in: workspace)
    let new = try PrivateKey.generate()
    var out = env
    out.recipient = Recipient(
      publicKey: new.publicKey.base64, keyID: new.publicKey.fingerprint, created: .now())
    let scratch = Sealed.Scratch()
    for (i, set) in env.sets.enumerated() {
      for field in Field.allCases {
        let value = try OpenOperation.open(
          env: env, set: set, field: field, key: old, workspace: workspace, scratch: scratch)
        let sealed = try Sealed.seal(
          value, to: new.publicKey, at: Place(environment: name, setID: set.id, field: field))
        if field == .appKey { out.sets[i].appKey = sealed } else { out.sets[i].appSecret = sealed }
      }
    }
    // 1. The new key beside the old one. A .next left by an interrupted rekey whose file was never
    //    written is useless (nothing is sealed to it): replace it.
    if FileSystem.exists(nextPath) { try FileSystem.remove(nextPath) }
    // A passphrase-protected store key stays protected: the new key is wrapped with the passphrase.
    var passphrase: SecureBytes? = nil
    if FileSystem.exists(storePath), let text = try? FileSystem.read(storePath),
      String(decoding: text, as: UTF8.self).contains("encrypted-secret-key:")
    {
      passphrase = try keys.passphrase("the new key of \(name) is protected with the old key's passphrase")
    }
    try KeyFile.write(
      try KeyFile.render(
        new, environment: name, workspaceID: workspace.config.workspaceID, passphrase: passphrase),
      to: nextPath)
    FileSystem.crashPoint("rekey-after-next-key")
    // In a trusted workspace the state first signs the key the file is moving to (as pending), so
    // an interruption anywhere leaves a file whose key the state signs; the re-run finishes it.
    var trusted = workspace.trust
    if let trust = trusted, let admin {
      var pending = trust.pendingRecipients
      pending[name] = out.recipient.publicKey
      trusted = try Trust.update(
        workspace: workspace.path, current: trust, configBytes: trust.config, recipients: trust.recipients,
        pending: pending, admin: admin, env: keys.environment)
      FileSystem.crashPoint("rekey-after-pending-state")
    }
    // 2. The trail, then the environment file.
    warnings += try workspace.commit(
      out,
      [
        AuditIntent(
          action: "rekey", set: nil,
          details: [
            "old_key_id": .string(env.recipient.keyID), "new_key_id": .string(out.recipient.keyID),
            "sets": .number(Double(env.sets.count)),
          ])
      ])
    if let trust = trusted, let admin {
      try finishTrustedRekey(
        workspace: workspace, trust: trust, environment: name, key: new, admin: admin, env: keys.environment)
    }
    FileSystem.crashPoint("rekey-before-key-swap")
    // 3. The new key takes the old one's place.
    try FileSystem.replace(nextPath, with: storePath)
    return RekeyReport(
      environment: name, oldKeyID: env.recipient.keyID, newKeyID: out.recipient.keyID,
      setCount: env.sets.count,
      keyFile: storePath, ciVariable: Names.privateKeyVariable(name), warnings: warnings)
  }

  /// The second half of an admin's rekey: the new key becomes the signed recipient, the pending
  /// mark goes, and every member's wrap is made anew for it (a revoked member is no longer listed).
  static func finishTrustedRekey(
    workspace: Workspace, trust: TrustedState, environment name: String, key: PrivateKey, admin: Identity,
    env: Env
  ) throws(KeywardError) {
    var recipients = trust.recipients
    recipients[name] = key.publicKey.base64
    var pending = trust.pendingRecipients
    pending.removeValue(forKey: name)
    var wraps = trust.wraps
    wraps[name] = try Access.rewrap(
      workspace: workspace.path, environment: name, key: key, members: trust.members[name] ?? [])
    _ = try Trust.update(
      workspace: workspace.path, current: trust, configBytes: trust.config, recipients: recipients,
      wraps: wraps,
      pending: pending, admin: admin, env: env)
  }

  /// Where each set of `environment` was last deployed, by the trail: files this machine can see
  /// that still hold it (set id → path), targets only another machine can check (set id → the
  /// recorded target), and sets whose latest export went to standard output or to `run`.
  struct Deployed {
    var here = [String: String]()
    var elsewhere = [String: String]()
    var unseen = [String: String]()
    /// The export format of each file above, by set, when it was not dotenv.
    var formats = [String: String]()

    /// The file that holds `set` as advice needs it: its export format when not dotenv, the
    /// path (nil when it holds a control character: a path from the trail is hostile input and
    /// never goes into a command line), and the path escaped, to name it apart.
    func place(_ set: String, _ target: String) -> (format: String?, path: String?, shown: String) {
      // What printing would escape (control and bidi characters) keeps the path out.
      let shown = Text.printable(target, keepNewlines: false)
      return (formats[set], shown == target ? target : nil, shown)
    }

    /// Deploying the active set to that file, for `retire`'s refusal.
    func advice(_ environment: String, set: String, to target: String) -> Advice {
      let (format, path, shown) = place(set, target)
      return .deployActiveFirst(environment: environment, format: format, path: path, shown: shown)
    }
  }

  static func deployedTargets(workspace: Workspace, environment: String) -> Deployed {
    deployedTargets(
      AuditLog.entries(workspace: workspace, environments: [environment]), workspace: workspace,
      environments: [environment])[
        environment] ?? Deployed()
  }

  /// Where each set of each of `environments` was last deployed, from the trail's `history` in one
  /// pass: a file this machine sees (`here`, which blocks `retire`), a file elsewhere (which needs
  /// `--force`), or standard output and `run` (said, not blocking).
  static func deployedTargets(_ history: [TrailEntry], workspace: Workspace, environments: Set<String>)
    -> [String: Deployed]
  {
    struct Key: Hashable {
      let environment: String
      let name: String
    }
    var latest = [Key: TrailEntry]()  // (environment, target as recorded) → its latest export
    var lastUse = [Key: TrailEntry]()  // (environment, set) → its latest export or run
    for e in history {
      guard let env = e.environment, environments.contains(env), let set = e.set else { continue }
      if e.action == "export" || e.action == "run" { lastUse[Key(environment: env, name: set)] = e }
      if e.action == "export", let t = e.target, t != "stdout" { latest[Key(environment: env, name: t)] = e }
    }
    var out = [String: Deployed]()
    for (key, e) in latest {
      guard let set = e.set else { continue }
      switch ExportTarget.place(e, workspace: workspace) {
      case .here(let path)?:
        if FileSystem.exists(path) { out[key.environment, default: Deployed()].here[set] = path }
      case .elsewhere?: out[key.environment, default: Deployed()].elsewhere[set] = key.name
      case nil: break
      }
      if case .string(let f)? = e["format"], f != "dotenv" {
        out[key.environment, default: Deployed()].formats[set] = f
      }
    }
    for (key, e) in lastUse where e.action == "run" || e.target == "stdout" {
      out[key.environment, default: Deployed()].unseen[key.name] =
        e.action == "run" ? "run \(e.target ?? "")" : "standard output"
    }
    return out
  }

  /// Records one audit entry per touched set, then saves the environment (lock held by the
  /// caller; see `Workspace.commit`). Returns notes about earlier interruptions it recorded.
  @discardableResult
  static func commit(
    workspace: Workspace, env: EnvironmentFile, action: String, touched: [String: String],
    details: [String: JSONValue], removed: [KeySet] = []
  ) throws(KeywardError) -> [String] {
    var intents = [AuditIntent]()
    for id in touched.keys.sorted() {
      guard let set = env.sets.first(where: { $0.id == id }) ?? removed.first(where: { $0.id == id }) else {
        continue
      }
      var d = details
      d["state"] = .string(touched[id]!)
      intents.append(AuditIntent(action: action, set: set, details: d))
    }
    return try workspace.commit(env, intents)
  }
}
