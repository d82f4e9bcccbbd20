/// The trail and the environment files change together. Every change to an environment file is
/// written as an intent first — audit entries carrying the digest of the file before
/// (`env_before`) and after (`env_after`) — and only then the file itself. A crash between the
/// two leaves a trail that says more than the file: the next write (or `keyward audit`) sees that
/// the file still has its `env_before` digest and records the change as interrupted. A file whose
/// digest is neither was changed outside keyward, and that is recorded too. Nothing is ever left
/// silently inconsistent, and no set is lost: the file is either the old one or the new one.

/// One audit entry of a change.
public struct AuditIntent: Sendable {
  public var action: String
  public var set: KeySet?
  public var details: [String: JSONValue]

  public init(action: String, set: KeySet?, details: [String: JSONValue] = [:]) {
    self.action = action
    self.set = set
    self.details = details
  }
}

/// Where an environment file and the trail disagree.
public struct TrailMismatch: Sendable, Equatable {
  public enum Kind: String, Sendable {
    /// The trail records a change that never reached the file.
    case interrupted
    /// The file changed after the trail's last record of it, not through keyward.
    case changedOutside = "changed-outside"
    /// Two merged branches both changed the environment, and nobody has recorded the resolution.
    case concurrent
  }
  public var environment: String
  public var kind: Kind
  /// The record(s) the file should match: "entry 3f2a9c0d1e2b" or "line 12" of audit.jsonl.
  public var ref: String
  public var action: String
  public var fileDigest: String

  public var message: String {
    switch kind {
    case .interrupted:
      return
        "\(environment): the trail records \(action) (\(ref)), but \(environment).json was never written: the change was interrupted and the file holds the state before it"
    case .changedOutside:
      return
        "\(environment): \(environment).json changed after \(ref) (\(action)) and no entry announces it: edited by hand, restored from git, or tampered with"
    case .concurrent:
      return
        "\(environment): merged branches both changed \(environment).json (\(ref)); the merged file is unannounced until a member records the resolution"
    }
  }

  /// The record a reconciling write adds for it.
  var reconcileAction: String {
    switch kind {
    case .interrupted: return "interrupted"
    case .changedOutside: return "external-change"
    case .concurrent: return "resolve"
    }
  }
}

extension TrailEntry {
  /// How a report names this record.
  public var reference: String {
    if let entry { return "entry \(entry.prefix(12))" }
    return "line \(seq) of audit.jsonl"
  }
}

extension Workspace {
  /// A short digest of an environment file's bytes (BLAKE2b-128, hex).
  public static func digest(_ bytes: [UInt8]) -> String {
    Sodium.hex(Sodium.blake2b(length: 16, [Array("keyward env v1".utf8), bytes]))
  }

  func fileDigest(_ environment: String) -> String {
    let path = environmentPath(environment)
    // (A missing file fails its read: no lstat first, 3,000 files are digested by every check.)
    guard let bytes = try? FileSystem.read(path) else { return "none" }
    return Workspace.digest(bytes)
  }

  /// Records `intents` in the trail, then writes `env`. The caller holds the lock. A mismatch
  /// left by an earlier interruption, an outside edit or a merge is recorded first, in the same
  /// entry; its description is returned.
  @discardableResult
  public func commit(_ env: EnvironmentFile, _ intents: [AuditIntent]) throws(KeywardError) -> [String] {
    try commit([(env, intents)], command: intents.first?.action ?? "reconcile")
  }

  /// One command's changes to several environment files: one trail entry naming them all, then
  /// the files. A crash in between leaves files whose digest is their record's `env_before`: the
  /// next write (or `audit`) reports them as interrupted.
  @discardableResult
  public func commit(_ changes: [(EnvironmentFile, [AuditIntent])], command: String) throws(KeywardError)
    -> [String]
  {
    let index = TrailIndex.load(
      workspace: self, verifySignatures: false, remembered: .process,
      environments: Set(changes.map { $0.0.environment }))
    let maxima = index.maximalRecords()
    let pending = Trail.Seen.pending(workspace: path, env: .process)
    var records = [Trail.Record]()
    var notes = [String]()
    var writes = [(path: String, bytes: [UInt8])]()
    for (env, intents) in changes {
      let name = env.environment
      let before = fileDigest(name)
      for m in mismatches(maxima: maxima, digests: [name: before], only: name, pending: pending) {
        try requireAnnounced(try loadEnvironment(name), history: index.history)
        records.append(
          Trail.Record(
            action: m.reconcileAction, environment: name, set: nil,
            details: [
              "ref": .string(m.ref), "env_before": .string(before), "env_after": .string(before),
            ]))
        notes.append(m.message + " — recorded in the audit trail")
      }
      guard !intents.isEmpty else { continue }  // nothing to record, nothing to write
      let bytes = JSONFiles.encode(env.json)
      let after = Workspace.digest(bytes)
      for intent in intents {
        var d = intent.details
        d["env_before"] = .string(before)
        d["env_after"] = .string(after)
        records.append(Trail.Record(action: intent.action, environment: name, set: intent.set, details: d))
      }
      writes.append((environmentPath(name), bytes))
    }
    guard !records.isEmpty else { return notes }
    let written = try Trail.write(
      workspace: self, command: command, records: records, pending: !writes.isEmpty)
    let id = written.id
    if let notice = written.notice { notes.append(notice) }
    FileSystem.crashPoint("after-audit-before-file")
    for (n, w) in writes.enumerated() {
      if n > 0 { FileSystem.crashPoint("between-environment-files") }
      try FileSystem.writeAtomically(w.path, bytes: w.bytes)
    }
    if !writes.isEmpty { Trail.Seen.completed(id, workspace: path, env: .process) }
    return notes
  }

  /// Before a write records a file the trail did not announce (an interruption, an edit, a merge
  /// resolved by hand): in a trusted workspace every set the file holds on disk must be one some
  /// entry announced (its id and both fingerprints, in any record of the environment; checkpoints
  /// keep each first sighting). A set that arrived by editing the file or in a merge resolution
  /// has no entry, and recording the file would sign it into the trail as if a member had vouched
  /// for it (found by session 17's review: a writer's unsigned set, added while resolving a
  /// conflict, was laundered by `trust resolve` and then promoted and deployed).
  func requireAnnounced(_ env: EnvironmentFile, history: [TrailEntry]) throws(KeywardError) {
    try requireAnnounced(env.sets, of: env.environment, history: history)
  }

  /// In a trusted workspace, refuses `sets` of environment `name` unless some trail entry
  /// announced each (`history`: the environment's records; read here when not given). `promote`
  /// asks before it signs the manifest that activates a set.
  public func requireAnnounced(_ sets: [KeySet], of name: String, history: [TrailEntry]? = nil)
    throws(KeywardError)
  {
    guard let trust, !sets.isEmpty else { return }
    let history = history ?? AuditLog.entries(workspace: self, environments: [name])
    func key(_ id: String, _ key: String, _ secret: String) -> String { "\(id) \(key) \(secret)" }
    var announced = Set<String>()
    for r in history where r.environment == name {
      if let id = r.set, let k = r.appKeyFP, let sec = r.appSecretFP { announced.insert(key(id, k, sec)) }
    }
    for set in sets
    where !announced.contains(key(set.id, set.fingerprints.appKey, set.fingerprints.appSecret)) {
      let file = environmentPath(name)
      throw KeywardError(
        .integrity,
        "\(file) holds set \(set.id) (\(set.state.rawValue)), which no trail entry announces: it was added by editing the file "
          + "or while resolving a merge, not by keyward set or rotate (proposed by "
          + "\(Activation.proposer(environment: name, set: set, trust: trust))); keyward will not record or activate it",
        hint:
          "remove set \(set.id) from \(file) (restore the file from version control, or resolve the merge without it), then run the command again; a new set is added with keyward rotate \(name)"
      )
    }
  }

  /// The environments whose file disagrees with the trail (read only). `digests` holds file
  /// digests the caller already has (each other file is read); `only` limits it to one.
  /// In a trusted workspace every environment was recorded (`init`, `trust init`), so a file that
  /// no record announces at all is one whose trail was deleted: changed outside.
  /// A file in the state before its last record is an interruption only when this machine wrote
  /// that entry and never got to the file (`pending`); anywhere else it is a revert (changed
  /// outside): the same bytes a person restores with `git checkout HEAD~ -- prod.json`.
  public func mismatches(
    maxima: [String: [TrailEntry]], digests: [String: String] = [:], only: String? = nil,
    pending: Set<String> = []
  ) -> [TrailMismatch] {
    var out = [TrailMismatch]()
    for env in config.environmentNames.sorted() where only == nil || only == env {
      let digest = digests[env] ?? fileDigest(env)
      guard let records = maxima[env], let last = records.first, let after = last.envAfter else {
        if trust != nil && digest != "none" {
          out.append(
            TrailMismatch(
              environment: env, kind: .changedOutside, ref: "the start of the trail",
              action: "nothing recorded",
              fileDigest: digest))
        }
        continue
      }
      if records.count > 1 {
        out.append(
          TrailMismatch(
            environment: env, kind: .concurrent, ref: records.map(\.reference).joined(separator: " and "),
            action: records.compactMap(\.action).joined(separator: ", "), fileDigest: digest))
        continue
      }
      if digest == after { continue }
      let interrupted = digest == last.envBefore && (last.entry.map(pending.contains) ?? true)
      out.append(
        TrailMismatch(
          environment: env, kind: interrupted ? .interrupted : .changedOutside,
          ref: last.reference, action: last.action ?? "?", fileDigest: digest))
    }
    return out
  }
}
