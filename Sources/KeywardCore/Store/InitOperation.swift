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
      case status, production
      case name = "environment"
      case keyID = "key_id"
      case privateKeyPath = "key_file"
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
    /// What the trail writes found on this machine (a lost seen-heads record), for a warning line.
    public var notices: [String] = []

    enum CodingKeys: String, CodingKey {
      case workspace, provider, environments
      case workspaceCreated = "workspace_created"
      case trustRoot = "root_fingerprint"
      case trustVersion = "state_version"
    }
  }

  public static func run(_ req: Request) throws(KeywardError) -> Report {
    try Sodium.ready()
    for name in req.environments where !Names.isEnvironment(name) {
      throw KeywardError(.input, "\"\(name)\" is not a valid environment name (\(Names.environmentRule))")
    }
    guard !req.environments.isEmpty else { throw KeywardError(.input, "no environments given") }
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
            advice: .adminIdentity)
        }
      }
      if let wanted = req.provider, config.provider != wanted {
        throw KeywardError(
          .input,
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
          .input, "environments \"\(clash)\" and \"\(name)\" would share \(variable); rename one")
      }
    }
    let now = Timestamp.now()
    var results = [EnvironmentResult]()
    var notices = [String]()
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
      if let n = try AuditLog.append(
        workspace: workspace, action: "init", environment: name, set: nil,
        details: [
          "key_id": .string(publicKey.fingerprint), "status": .string(status), "env_before": .string("none"),
          "env_after": .string(workspace.fileDigest(name)),
        ])
      {
        notices.append(n)
      }
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
      if let n = try AuditLog.append(
        workspace: ws, action: "trust-init", environment: ws.config.environmentNames[0], set: nil,
        details: ["root": .string(trusted!.rootFingerprint), "admin": .string(admin.name)])
      {
        notices.append(n)
      }
    }
    return Report(
      workspace: req.path, workspaceCreated: created, provider: config.provider, environments: results,
      trustRoot: trusted?.rootFingerprint, trustVersion: trusted?.version, notices: notices)
  }
}
