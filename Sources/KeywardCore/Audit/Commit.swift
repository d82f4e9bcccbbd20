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
    /// The trail records a change (sequence `seq`) that never reached the file.
    case interrupted
    /// The file changed after the trail's last record of it, not through keyward.
    case changedOutside = "changed-outside"
  }
  public var environment: String
  public var kind: Kind
  /// The entry whose `env_after` the file should have.
  public var seq: Int
  public var action: String
  public var fileDigest: String

  public var message: String {
    switch kind {
    case .interrupted:
      return
        "\(environment): the trail records \(action) (entry \(seq)), but \(environment).json was never written: the change was interrupted and the file holds the state before it"
    case .changedOutside:
      return
        "\(environment): \(environment).json changed after entry \(seq) (\(action)) without keyward: edited by hand, restored from git, or tampered with"
    }
  }
}

extension Workspace {
  /// A short digest of an environment file's bytes (BLAKE2b-128, hex).
  public static func digest(_ bytes: [UInt8]) -> String {
    Sodium.hex(Sodium.blake2b(length: 16, [Array("keyward env v1".utf8), bytes]))
  }

  func fileDigest(_ environment: String) -> String {
    let path = environmentPath(environment)
    guard FileSystem.exists(path), let bytes = try? FileSystem.read(path) else { return "none" }
    return Workspace.digest(bytes)
  }

  /// Records `intents` in the trail, then writes `env`. The caller holds the lock. A mismatch
  /// left by an earlier interruption is recorded first; its description is returned.
  @discardableResult
  public func commit(_ env: EnvironmentFile, _ intents: [AuditIntent]) throws(KeywardError) -> [String] {
    let before = fileDigest(env.environment)
    let notes = try reconcile(env.environment, fileDigest: before)
    guard !intents.isEmpty else { return notes }  // nothing to record, nothing to write
    let bytes = JSONFiles.encode(env.json)
    let after = Workspace.digest(bytes)
    for (i, intent) in intents.enumerated() {
      if i > 0 { FileSystem.crashPoint("between-audit-entries") }
      var d = intent.details
      d["env_before"] = .string(before)
      d["env_after"] = .string(after)
      try AuditLog.append(
        workspace: self, action: intent.action, environment: env.environment, set: intent.set, details: d)
    }
    FileSystem.crashPoint("after-audit-before-file")
    try FileSystem.writeAtomically(environmentPath(env.environment), bytes: bytes)
    return notes
  }

  /// The environments whose file disagrees with the trail (read only).
  /// `digests` holds file digests the caller already has (each other file is read).
  public func mismatches(entries: [TrailEntry], digests: [String: String] = [:]) -> [TrailMismatch] {
    var last = [String: TrailEntry]()
    for e in entries {
      guard let env = e.environment, e.envAfter != nil else { continue }
      last[env] = e
    }
    var out = [TrailMismatch]()
    for (env, e) in last.sorted(by: { $0.key < $1.key }) where config.environments[env] != nil {
      guard case .string(let after)? = e["env_after"] else { continue }
      let digest = digests[env] ?? fileDigest(env)
      if digest == after { continue }
      let seq =
        e["seq"].flatMap { v -> Int? in if case .number(let n) = v { return Int(n) } else { return nil } }
        ?? 0
      let action: String = { if case .string(let a)? = e["action"] { return a } else { return "?" } }()
      let before: String? = { if case .string(let b)? = e["env_before"] { return b } else { return nil } }()
      out.append(
        TrailMismatch(
          environment: env, kind: digest == before ? .interrupted : .changedOutside, seq: seq, action: action,
          fileDigest: digest))
    }
    return out
  }

  /// Brings the trail in line with `environment`'s file: an interrupted change or an outside edit
  /// gets an entry of its own (`interrupted` or `external-change`) naming the entry it answers.
  /// The caller holds the lock.
  public func reconcile(_ environment: String, fileDigest digest: String) throws(KeywardError) -> [String] {
    // Only the environment's last recorded digest matters: found from the end of the trail.
    guard let last = AuditLog.lastEntry(workspace: self, environment: environment, withMember: "env_after")
    else {
      return []
    }
    let found = mismatches(entries: [TrailEntry(last)], digests: [environment: digest])
    var notes = [String]()
    for m in found {
      try AuditLog.append(
        workspace: self, action: m.kind == .interrupted ? "interrupted" : "external-change",
        environment: environment, set: nil,
        details: [
          "ref_seq": .number(Double(m.seq)), "env_before": .string(m.fileDigest),
          "env_after": .string(m.fileDigest),
        ])
      notes.append(m.message + " — recorded in the audit trail")
    }
    return notes
  }
}
