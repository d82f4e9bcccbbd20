#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward init`: create a workspace, or add environments to an existing one.
public enum InitOperation {
  public struct Request {
    public var path: String
    public var environments: [String]
    /// nil: captchala for a new workspace; an existing one keeps its own.
    public var provider: Provider?
    /// Protects the new private keys with this passphrase (Argon2id), if given.
    public var passphrase: SecureBytes?
    public var environment: Env
    /// The identity of the person running init: a new workspace gets a trust root with it as the
    /// first admin; adding environments to a trusted workspace needs an admin's identity.
    public var identity: Identity?

    public init(
      path: String, environments: [String], provider: Provider? = nil, passphrase: SecureBytes? = nil,
      environment: Env = .process, identity: Identity? = nil
    ) {
      self.path = path
      self.environments = environments
      self.provider = provider
      self.passphrase = passphrase
      self.environment = environment
      self.identity = identity
    }
  }

  public struct EnvironmentResult: Sendable, Encodable {
    public var name: String
    /// "created" or "exists".
    public var status: String
    public var production: Bool
    public var keyID: String
    /// Where the private key was written (nil for an environment that already existed).
    public var privateKeyPath: String?
    public var passphraseProtected: Bool
    /// The variable CI should hold the private key in.
    public var ciVariable: String

    enum CodingKeys: String, CodingKey {
      case name, status, production
      case keyID = "key_id"
      case privateKeyPath = "private_key_path"
      case passphraseProtected = "passphrase_protected"
      case ciVariable = "ci_variable"
    }
  }

  public struct Report: Sendable, Encodable {
    public var workspace: String
    public var workspaceCreated: Bool
    public var provider: Provider
    public var environments: [EnvironmentResult]
    /// The trust root's fingerprint and the signed state's version, when the workspace has one.
    public var trustRoot: String?
    public var trustVersion: Int?

    enum CodingKeys: String, CodingKey {
      case workspace, provider, environments
      case workspaceCreated = "workspace_created"
      case trustRoot = "trust_root"
      case trustVersion = "trust_version"
    }
  }

  public static func run(_ req: Request) throws(KeywardError) -> Report {
    try Sodium.ready()
    for name in req.environments where !Names.isEnvironment(name) {
      throw KeywardError(.usage, "\"\(name)\" is not a valid environment name (\(Names.environmentRule))")
    }
    guard !req.environments.isEmpty else { throw KeywardError(.usage, "no environments given") }
    try Workspace.requireRealFolder(req.path)
    try FileSystem.makeDirectory(req.path, mode: 0o755)
    let lock = try DirectoryLock(req.path)
    defer { lock.unlock() }
    FileSystem.removeStaleTemporaries(in: req.path)

    let configPath = "\(req.path)/\(Workspace.configName)"
    let created = !FileSystem.exists(configPath)
    var config: WorkspaceConfig
    var trusted: TrustedState? = nil
    if created {
      config = WorkspaceConfig(
        format: WorkspaceConfig.formatName, version: WorkspaceConfig.currentVersion,
        workspaceID: Sodium.hex(Sodium.randomBytes(8)), provider: req.provider ?? .captchala,
        fingerprintSalt: Sodium.base64(Sodium.randomBytes(32)), environments: [:], rotation: .default,
        export: (req.provider ?? .captchala).defaultVariables)
    } else {
      let existing = try Workspace.open(req.path)
      config = existing.config
      trusted = existing.trust
      // Adding an environment changes the signed state: an admin's signature, checked before
      // anything is written.
      if let t = trusted, req.environments.contains(where: { config.environments[$0] == nil }) {
        try existing.requireTrusted("add environments")
        guard let id = req.identity, t.admin(id.publicIdentity) != nil else {
          throw KeywardError(
            .integrity,
            "adding an environment to this workspace changes its signed state, which needs an admin's identity"
              + (req.identity.map { " (\($0.name) is not an admin)" } ?? " (none is configured)"),
            hint: "keyward identity show prints yours; an admin runs this, or pass --identity FILE")
        }
      }
      if let wanted = req.provider, config.provider != wanted {
        throw KeywardError(
          .usage,
          "the workspace at \(req.path) uses provider \(config.provider.rawValue), not \(wanted.rawValue)")
      }
    }
    // Two names that differ only in '-' and '_' would share one CI variable.
    for name in req.environments {
      let variable = Names.privateKeyVariable(name)
      if let clash = (config.environmentNames + req.environments).first(where: {
        $0 != name && Names.privateKeyVariable($0) == variable
      }) {
        throw KeywardError(
          .usage, "environments \"\(clash)\" and \"\(name)\" would share \(variable); rename one")
      }
    }
    let now = Timestamp.now()
    var results = [EnvironmentResult]()
    // keyward.json is written first (its id and salt are fixed from the first moment) and again
    // after each environment, so an interrupted init leaves at most one environment half-made,
    // which the next run adopts.
    if created { try FileSystem.writeAtomically(configPath, bytes: JSONFiles.encode(config.json)) }
    for name in req.environments {
      let envPath = "\(req.path)/\(name).json"
      let ciVariable = Names.privateKeyVariable(name)
      if config.environments[name] != nil {
        let existing = try EnvironmentFile.parse(FileSystem.read(envPath), source: envPath)
        results.append(
          EnvironmentResult(
            name: name, status: "exists", production: config.environments[name]!.production,
            keyID: existing.recipient.keyID, privateKeyPath: nil, passphraseProtected: false,
            ciVariable: ciVariable))
        continue
      }
      let keyPath = KeySource.storePath(
        workspaceID: config.workspaceID, environment: name, env: req.environment)
      let storedKey = FileSystem.exists(keyPath) ? try KeyFile.publicKey(path: keyPath) : nil
      var status = "created"
      var publicKey: PublicKey
      if FileSystem.exists(envPath) {
        let existing = try EnvironmentFile.parse(FileSystem.read(envPath), source: envPath)
        guard let storedKey, existing.environment == name, existing.recipient.publicKey == storedKey.base64
        else {
          throw KeywardError(
            .input, "\(envPath) exists but keyward.json does not list \"\(name)\"",
            hint: "move the file away, or add \"\(name)\" to the environments in \(configPath)")
        }
        // Left by an interrupted init, with its key in the store: adopt it.
        publicKey = storedKey
        status = "adopted"
      } else {
        if let storedKey {
          // An interrupted init wrote the key but not the environment file: use that key.
          publicKey = storedKey
          status = "adopted"
        } else {
          let key = try PrivateKey.generate()
          let keyText = try KeyFile.render(
            key, environment: name, workspaceID: config.workspaceID, passphrase: req.passphrase)
          try KeyFile.write(keyText, to: keyPath)  // first: an orphan key is harmless
          publicKey = key.publicKey
        }
        let envFile = EnvironmentFile(
          format: EnvironmentFile.formatName, version: EnvironmentFile.currentVersion, environment: name,
          recipient: Recipient(publicKey: publicKey.base64, keyID: publicKey.fingerprint, created: now),
          sets: [])
        try FileSystem.writeAtomically(envPath, bytes: JSONFiles.encode(envFile.json))
      }
      let production = WorkspaceConfig.looksProduction(name)
      config.environments[name] = EnvironmentSettings(production: production)
      let configBytes = JSONFiles.encode(config.json)
      try FileSystem.writeAtomically(configPath, bytes: configBytes)
      if let t = trusted, let admin = req.identity {
        var recipients = t.recipients
        recipients[name] = publicKey.base64
        trusted = try Trust.update(
          workspace: req.path, current: t, configBytes: configBytes, recipients: recipients, admin: admin,
          env: req.environment)
      }
      // The trail's first word on this environment: its recipient key and the file's digest.
      let workspace = try Workspace.open(req.path)
      try AuditLog.append(
        workspace: workspace, action: "init", environment: name, set: nil,
        details: [
          "key_id": .string(publicKey.fingerprint), "status": .string(status), "env_before": .string("none"),
          "env_after": .string(workspace.fileDigest(name)),
        ])
      results.append(
        EnvironmentResult(
          name: name, status: status, production: production, keyID: publicKey.fingerprint,
          privateKeyPath: keyPath, passphraseProtected: status == "created" && req.passphrase != nil,
          ciVariable: ciVariable))
    }
    // A new workspace made by someone with an identity starts trusted, pinned on this machine.
    if created, let admin = req.identity {
      let ws = try Workspace.open(req.path)
      var recipients = [String: String]()
      for name in ws.config.environmentNames {
        recipients[name] = try ws.loadEnvironment(name).recipient.publicKey
      }
      trusted = try Trust.create(
        workspace: req.path, configBytes: try FileSystem.read(configPath), workspaceID: config.workspaceID,
        recipients: recipients, admin: admin, env: req.environment)
      try AuditLog.append(
        workspace: ws, action: "trust-init", environment: ws.config.environmentNames[0], set: nil,
        details: ["root": .string(trusted!.rootFingerprint), "admin": .string(admin.name)])
    }
    return Report(
      workspace: req.path, workspaceCreated: created, provider: config.provider, environments: results,
      trustRoot: trusted?.rootFingerprint, trustVersion: trusted?.version)
  }
}

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
      case environment, state, fingerprints, replaced, warnings
      case setID = "set_id"
    }
  }

  /// Adds a set in `state` (active for `set`, pending for `rotate`).
  public static func run(
    workspace: Workspace, environment name: String, input: SetInput, state: SetState, replace: Bool,
    identity: Identity? = nil, allowRetired: Bool = false
  ) throws(KeywardError) -> Report {
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
      let old = AuditLog.entries(workspace: workspace).last(where: {
        $0.action == "retire" && $0.environment == name && $0.appKeyFP == fp.appKey
          && $0.appSecretFP == fp.appSecret
      })
    {
      throw KeywardError(
        .input,
        "this pair was retired from \(name) (set \(old.set ?? "?"), \(old.time ?? "earlier")); storing it again undoes that rotation",
        hint: "get a new pair from the provider; to store it anyway: --force")
    }
    var replaced: String?
    if state == .active, let current = env.active {
      guard replace else {
        throw KeywardError(
          .input, "\(name) already has an active set (\(current.id))",
          hint:
            "for a zero-downtime change run `keyward rotate \(name)`; to overwrite it, `keyward set \(name) --replace`"
        )
      }
      replaced = current.id
      env.sets.removeAll { $0.id == current.id }
    }
    if state == .pending, let pending = env.sets.first(where: { $0.state == .pending }) {
      throw KeywardError(
        .input, "\(name) already has a pending set (\(pending.id))",
        hint:
          "promote it (keyward promote \(name)) or drop it (keyward discard \(name)) before adding another")
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
      case id, state, created, fingerprints
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
      case name, production, sets, stage, next
      case keyID = "key_id"
      case keyCreated = "key_created"
    }
  }

  /// The rotation cycle's stage of one environment, and the next command.
  public static func stage(_ env: EnvironmentFile, policy: RotationPolicy, now: Timestamp) -> (
    String, String?
  ) {
    let name = env.environment
    if env.sets.isEmpty { return ("empty", "keyward set \(name)") }
    if let pending = env.sets.first(where: { $0.state == .pending }) {
      switch pending.lastVerification?.verdict {
      case nil: return ("rotating: pending set not verified", "keyward verify \(name) --set pending")
      case "valid"?: return ("rotating: pending set verified", "keyward promote \(name)")
      case let v?:
        return ("rotating: pending set failed verification (\(v))", "keyward verify \(name) --set pending")
      }
    }
    if let until = env.sets.filter({ $0.state == .retiring }).compactMap(\.graceUntil).max() {
      if until <= now { return ("retiring: grace period over", "keyward retire \(name)") }
      return (
        "retiring until \(until.iso)",
        "keyward export \(name) -o FILE (deploy the active set), then keyward retire \(name)"
      )
    }
    guard let active = env.active else { return ("no active set", "keyward promote \(name)") }
    let age = active.created.days(until: now)
    if age > policy.warnAgeDays { return ("due for rotation (\(age) days old)", "keyward rotate \(name)") }
    if active.lastVerification == nil { return ("active, never verified", "keyward verify \(name)") }
    if active.lastVerification?.verdict != "valid" {
      return ("active, last verification: \(active.lastVerification!.verdict)", "keyward verify \(name)")
    }
    return ("steady", nil)
  }

  public struct Report: Sendable, Encodable {
    public var workspace: String
    public var provider: Provider
    public var now: Timestamp
    public var environments: [EnvironmentRow]
  }

  public static func run(workspace: Workspace) throws(KeywardError) -> Report {
    let now = Timestamp.now()
    var rows = [EnvironmentRow]()
    for env in try workspace.loadAll() {
      let order: [SetState: Int] = [.active: 0, .pending: 1, .retiring: 2]
      let sets = env.sets.sorted {
        (order[$0.state]!, $0.created.seconds) < (order[$1.state]!, $1.created.seconds)
      }
      let (stage, next) = stage(env, policy: workspace.config.rotation, now: now)
      rows.append(
        EnvironmentRow(
          name: env.environment, production: workspace.isProduction(env.environment),
          keyID: env.recipient.keyID,
          keyCreated: env.recipient.created,
          sets: sets.map {
            SetRow(
              id: $0.id, state: $0.state, created: $0.created, ageDays: $0.created.days(until: now),
              fingerprints: $0.fingerprints, graceUntil: $0.graceUntil, lastVerification: $0.lastVerification)
          }, stage: stage, next: next))
    }
    return Report(
      workspace: workspace.path, provider: workspace.config.provider, now: now, environments: rows)
  }
}

/// Which set a command means: `active` (default), `pending`, or a set id (or a unique prefix of one).
public enum SetSelector: Sendable, Equatable {
  case active
  case pending
  case id(String)

  public init(_ text: String?) {
    switch text {
    case nil, "active": self = .active
    case "pending": self = .pending
    case let s?: self = .id(s)
    }
  }

  public func pick(from env: EnvironmentFile) throws(KeywardError) -> KeySet {
    let name = env.environment
    switch self {
    case .active:
      if let a = env.active { return a }
      if env.sets.isEmpty {
        throw KeywardError(.input, "\(name) has no sets yet", hint: "keyward set \(name)")
      }
      throw KeywardError(
        .input,
        "\(name) has no active set (it has: \(env.sets.map { "\($0.id) \($0.state.rawValue)" }.joined(separator: ", ")))",
        hint: "choose one with --set ID")
    case .pending:
      guard let p = env.sets.first(where: { $0.state == .pending }) else {
        throw KeywardError(.input, "\(name) has no pending set", hint: "keyward rotate \(name)")
      }
      return p
    case .id(let id):
      let matches = env.sets.filter { $0.id.hasPrefix(id) }
      if matches.count == 1 { return matches[0] }
      if matches.isEmpty { throw KeywardError(.input, "\(name) has no set \"\(id)\"") }
      throw KeywardError(.input, "\"\(id)\" matches \(matches.count) sets in \(name); give more of the id")
    }
  }
}

/// A decrypted set. The values live in guarded memory and are wiped when this is released.
public struct OpenedSet {
  public let environment: String
  public let set: KeySet
  public let appKey: SecureBytes
  public let appSecret: SecureBytes
  /// Where the private key came from (`$KEYWARD_PRIVATE_KEY_PROD`, a path), never its value.
  public let keyOrigin: String
  /// Things worth saying on stderr (an active set nobody activated, outside production).
  public var warnings: [String] = []

  public func value(_ field: Field) -> SecureBytes { field == .appKey ? appKey : appSecret }
}

/// Decrypting sets.
public enum OpenOperation {
  /// `deploys`: the values leave for a deployment (`export`, `run`), so in production any set
  /// chosen — the active one or one named with `--set` — must be the set a member activated.
  /// `show` reads without deploying: it is held to that only for the active set.
  public static func run(
    workspace: Workspace, environment name: String, selector: SetSelector, keys: KeySource,
    deploys: Bool = true
  )
    throws(KeywardError) -> OpenedSet
  {
    try workspace.requireTrusted("decrypt \(name)")
    let env = try workspace.loadEnvironment(name)
    let set = try selector.pick(from: env)
    // The active set deploys only when a member's signed manifest names it (TRUST.md, property 4).
    var warnings = [String]()
    if workspace.trust != nil && (selector == .active || deploys) {
      do { _ = try Activation.requireActivated(workspace: workspace, env: env, set: set) } catch {
        if workspace.isProduction(name) { throw error }
        warnings.append(error.message)
      }
    }
    let (key, origin) = try keys.privateKey(for: env, in: workspace)
    let scratch = Sealed.Scratch()
    let k = try open(env: env, set: set, field: .appKey, key: key, workspace: workspace, scratch: scratch)
    let s = try open(env: env, set: set, field: .appSecret, key: key, workspace: workspace, scratch: scratch)
    // The values must be the ones the fingerprints (and so any signature over the set) name: a
    // ciphertext sealed anew to the same key with another value is refused.
    for (field, value) in [(Field.appKey, k), (.appSecret, s)]
    where workspace.fingerprinter.fingerprint(value) != set.fingerprints[field] {
      throw KeywardError(
        .integrity,
        "\(workspace.environmentPath(name)): set \(set.id)'s \(field.rawValue) does not hold the value its fingerprint names: the ciphertext was replaced"
      )
    }
    return OpenedSet(
      environment: name, set: set, appKey: k, appSecret: s, keyOrigin: origin, warnings: warnings)
  }

  /// Opens one field; on failure, names the place and, when the value opens at another place of
  /// this environment, says where it was moved from.
  static func open(
    env: EnvironmentFile, set: KeySet, field: Field, key: PrivateKey, workspace: Workspace,
    scratch: Sealed.Scratch? = nil
  ) throws(KeywardError) -> SecureBytes {
    let place = Place(environment: env.environment, setID: set.id, field: field)
    let file = workspace.environmentPath(env.environment)
    let text = set.ciphertext(field)
    switch Sealed.open(text, with: key, at: place, scratch: scratch) {
    case .success(let value):
      // A stored fingerprint that disagrees with the decrypted value means the file was edited.
      let fp = workspace.fingerprinter.fingerprint(value)
      guard fp == set.fingerprints[field] else {
        throw KeywardError(
          .integrity,
          "\(file): \(place): the stored fingerprint \(set.fingerprints[field]) does not match the value (\(fp)): "
            + "the fingerprint was edited, or the workspace salt changed")
      }
      return value
    case .failure(.authentication):
      for other in env.sets {
        for f in Field.allCases where !(other.id == set.id && f == field) {
          let candidate = Place(environment: env.environment, setID: other.id, field: f)
          if case .success = Sealed.open(text, with: key, at: candidate) {
            throw KeywardError(
              .integrity,
              "\(file): \(place) does not open: the ciphertext was sealed for \(candidate) and copied here")
          }
        }
      }
      throw KeywardError(
        .integrity,
        "\(file): \(place) failed authentication: the ciphertext was altered, or copied here from another environment or set"
      )
    case .failure(let f):
      throw EnvironmentValidator.envelopeError(f, at: "\(file): \(place)")
    }
  }
}
