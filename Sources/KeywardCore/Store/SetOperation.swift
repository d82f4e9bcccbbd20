#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward set`: seal a pair to the environment's public key. Needs no private key.
public enum SetOperation {
  public struct Report: Sendable, Encodable {
    public var environment: String
    public var setID: String
    public var state: SetState
    public var fingerprints: SetFingerprints
    /// The id of the active set this one replaced (`--replace`).
    public var replaced: String?
    /// Unannounced changes this write found and recorded first (an interruption, an outside edit).
    public var warnings: [String] = []

    enum CodingKeys: String, CodingKey {
      case environment, state, fingerprints, warnings
      case setID = "set_id"
      case replaced = "replaced_set_id"
    }
  }

  /// What refuses a set before its values are asked for: the trust rules, and an active set (for
  /// `set` without `--replace`) or a pending one (for `rotate`) already there. `run` checks it all
  /// again under the lock.
  public static func precheck(
    workspace: Workspace, environment name: String, state: SetState, replace: Bool, identity: Identity? = nil
  ) throws(KeywardError) {
    try checkAllowed(workspace: workspace, environment: name, state: state, identity: identity)
    try checkConflicts(try workspace.loadEnvironment(name), name: name, state: state, replace: replace)
  }

  static func checkConflicts(_ env: EnvironmentFile, name: String, state: SetState, replace: Bool)
    throws(KeywardError)
  {
    if state == .active, let current = env.active, !replace {
      throw KeywardError(
        .input, "\(name) already has an active set (\(current.id))",
        advice: .rotateOrReplace(environment: name))
    }
    if state == .pending, let pending = env.sets.first(where: { $0.state == .pending }) {
      throw KeywardError(
        .input, "\(name) already has a pending set (\(pending.id))",
        hint:
          "promote it (keyward promote \(name)) or drop it (keyward discard \(name)) before adding another")
    }
  }

  static func checkAllowed(
    workspace: Workspace, environment name: String, state: SetState, identity: Identity?
  )
    throws(KeywardError)
  {
    try workspace.requireTrusted("seal a set to \(name)")
    try workspace.refuseRemovedTrust("seal a set to \(name)")
    // Proposing (a pending set) is open to anyone; making a set active in a trusted workspace is a
    // member's signed act, refused before anything is written.
    if state == .active, let trust = workspace.trust {
      guard let identity, let role = trust.role(of: identity.publicIdentity, in: name), role.role != "reader"
      else {
        throw KeywardError(
          .integrity,
          "storing an active set of \(name) activates it, which needs the identity of an admin or member of \(name)"
            + (identity.map { " (\($0.name) is not one)" } ?? " (none is configured)"),
          hint: "propose it instead with keyward rotate \(name); a member verifies and promotes it")
      }
    }
  }

  /// Adds a set in `state` (active for `set`, pending for `rotate`).
  public static func run(
    workspace: Workspace, environment name: String, input: SetInput, state: SetState, replace: Bool,
    identity: Identity? = nil, allowRetired: Bool = false
  ) throws(KeywardError) -> Report {
    try checkAllowed(workspace: workspace, environment: name, state: state, identity: identity)
    let lock = try workspace.lock()
    defer { lock.unlock() }
    var env = try workspace.loadEnvironment(name)
    let recipient = try PublicKey(base64: env.recipient.publicKey)
    let fp = SetFingerprints(
      appKey: workspace.fingerprinter.fingerprint(input.appKey),
      appSecret: workspace.fingerprinter.fingerprint(input.appSecret))
    if let same = env.sets.first(where: { $0.fingerprints == fp }) {
      throw KeywardError(
        .input, "this pair is already stored in \(name) as set \(same.id) (\(same.state.rawValue))")
    }
    // A pair rotated out (often because it leaked, or a person left) is not stored again unasked.
    if !allowRetired,
      let old = AuditLog.entries(workspace: workspace, environments: [name]).last(where: {
        $0.action == "retire" && $0.environment == name && $0.appKeyFP == fp.appKey
          && $0.appSecretFP == fp.appSecret
      })
    {
      throw KeywardError(
        .input,
        "this pair was retired from \(name) (set \(old.set ?? "?"), \(old.time ?? "earlier")); storing it again undoes that rotation",
        advice: .newPairOrForce)
    }
    try checkConflicts(env, name: name, state: state, replace: replace)
    var replaced: String?
    if state == .active, let current = env.active {
      replaced = current.id
      env.sets.removeAll { $0.id == current.id }
    }
    var id = Names.newSetID()
    while env.sets.contains(where: { $0.id == id }) { id = Names.newSetID() }
    let appKey = try Sealed.seal(
      input.appKey, to: recipient, at: Place(environment: name, setID: id, field: .appKey))
    let appSecret = try Sealed.seal(
      input.appSecret, to: recipient, at: Place(environment: name, setID: id, field: .appSecret))
    var added = KeySet(
      id: id, state: state, created: Timestamp.now(), fingerprints: fp, appKey: appKey, appSecret: appSecret,
      retiringSince: nil, graceUntil: nil)
    if let identity {
      added.extra["proposer"] = Activation.proposerSignature(environment: name, set: added, by: identity)
    }
    env.sets.append(added)
    // The manifest first, then the file: an interruption between them blocks deploys of the
    // environment (the manifest names a set the file does not have yet) until the next write
    // completes it, and never lets an unactivated set deploy.
    if state == .active, let identity, workspace.trust != nil {
      try Activation.write(workspace: workspace, environment: name, set: added, by: identity)
      FileSystem.crashPoint("after-manifest")
    }
    var details: [String: JSONValue] = ["state": .string(state.rawValue)]
    if let replaced { details["replaced"] = .string(replaced) }
    let notes = try workspace.commit(
      env, [AuditIntent(action: state == .pending ? "rotate" : "set", set: env.sets.last, details: details)])
    return Report(
      environment: name, setID: id, state: state, fingerprints: fp, replaced: replaced, warnings: notes)
  }
}
