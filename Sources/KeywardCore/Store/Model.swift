/// The CAPTCHA providers keyward knows.
public enum Provider: String, Sendable, Codable, CaseIterable {
  case captchala
  case recaptcha
  case hcaptcha
  case turnstile

  /// Default variable names for export and `--from-env`.
  public var defaultVariables: ExportNames {
    switch self {
    case .captchala: ExportNames(appKey: "CAPTCHALA_APP_KEY", appSecret: "CAPTCHALA_APP_SECRET")
    case .recaptcha: ExportNames(appKey: "RECAPTCHA_SITE_KEY", appSecret: "RECAPTCHA_SECRET_KEY")
    case .hcaptcha: ExportNames(appKey: "HCAPTCHA_SITE_KEY", appSecret: "HCAPTCHA_SECRET_KEY")
    case .turnstile: ExportNames(appKey: "TURNSTILE_SITE_KEY", appSecret: "TURNSTILE_SECRET_KEY")
    }
  }

  /// The provider's verification endpoint (CAPTCHALA-CONTRACT.md).
  public var defaultEndpoint: String {
    switch self {
    case .captchala: "https://apiv1.captcha.la"
    case .recaptcha: "https://www.google.com/recaptcha/api/siteverify"
    case .hcaptcha: "https://api.hcaptcha.com/siteverify"
    case .turnstile: "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    }
  }

  /// What the provider calls the two values.
  public var fieldNames: (key: String, secret: String) {
    self == .captchala ? ("App Key", "App Secret") : ("site key", "secret key")
  }
}

/// Variable names used by export, run and `set --from-env`.
public struct ExportNames: Sendable, Encodable, Equatable {
  public var appKey: String
  public var appSecret: String

  enum CodingKeys: String, CodingKey {
    case appKey = "app_key"
    case appSecret = "app_secret"
  }
}

/// The rotation policy (days).
public struct RotationPolicy: Sendable, Encodable, Equatable {
  /// Sets older than this are stale (error).
  public var maxAgeDays: Int
  /// Sets older than this get a warning.
  public var warnAgeDays: Int
  /// How long a retiring set stays after promote.
  public var graceDays: Int

  public static let `default` = RotationPolicy(maxAgeDays: 90, warnAgeDays: 75, graceDays: 7)

  enum CodingKeys: String, CodingKey {
    case maxAgeDays = "max_age_days"
    case warnAgeDays = "warn_age_days"
    case graceDays = "grace_days"
  }
}

/// Per-environment settings in keyward.json.
public struct EnvironmentSettings: Sendable, Encodable, Equatable {
  /// Production-like environments get the strictest checks (test credentials are findings there).
  public var production: Bool
  /// Base URL of the provider's API for this environment (nil: the provider's default).
  public var endpoint: String?

  public init(production: Bool, endpoint: String? = nil) {
    self.production = production
    self.endpoint = endpoint
  }
}

/// `Environments/keyward.json`.
public struct WorkspaceConfig: Sendable, Equatable {
  public static let formatName = "keyward-workspace"
  public static let currentVersion = 1

  public var format: String
  public var version: Int
  /// Random id; names this workspace's folder in the key store.
  public var workspaceID: String
  public var provider: Provider
  /// Base64 of the random salt that keys value fingerprints. Not secret.
  public var fingerprintSalt: String
  public var environments: [String: EnvironmentSettings]
  public var rotation: RotationPolicy
  public var export: ExportNames
  /// Members this version does not know, kept and written back unchanged (FORMAT.md).
  public var extra: [String: JSONValue] = [:]

  enum CodingKeys: String, CodingKey {
    case format, version, provider, environments, rotation, export
    case workspaceID = "workspace_id"
    case fingerprintSalt = "fingerprint_salt"
  }

  /// Environment names, sorted.
  public var environmentNames: [String] { environments.keys.sorted() }

  /// Names that are production-like unless the config says otherwise: a word of the name (split
  /// at anything not a letter) is prod, production, prd or live — `prod-eu`, `eu_prod`, `prod2` —
  /// unless another word says it is not (`pre-prod`, `preprod`, `nonprod`, `staging-prod`).
  public static func looksProduction(_ name: String) -> Bool {
    let lower = name.lowercased()
    let words = lower.split { !$0.isLetter }.map(String.init)
    let notProduction: Set = ["pre", "non", "not", "staging", "stage", "dev", "test", "qa", "uat", "sandbox"]
    if words.contains(where: notProduction.contains) || lower.contains("preprod") || lower.contains("nonprod")
    {
      return false
    }
    return words.contains { ["prod", "production", "prd", "live"].contains($0) }
  }
}

/// The lifecycle state of a set.
public enum SetState: String, Sendable, Codable, CaseIterable {
  /// Added by rotate; not yet in use.
  case pending
  /// The set deployments should use. At most one per environment.
  case active
  /// Replaced by promote; kept until its grace period ends.
  case retiring
}

/// Non-secret fingerprints of a set's two values.
public struct SetFingerprints: Sendable, Encodable, Equatable {
  public var appKey: String
  public var appSecret: String

  enum CodingKeys: String, CodingKey {
    case appKey = "app_key"
    case appSecret = "app_secret"
  }

  public subscript(field: Field) -> String { field == .appKey ? appKey : appSecret }
}

/// The last live verification of a set (written by `keyward verify`).
public struct LastVerification: Sendable, Equatable, Encodable {
  public var time: Timestamp
  public var verdict: String
  public var endpoint: String
  /// `{"key","name","sig"}` by the identity that ran the verification (Activation).
  public var signature: JSONValue?

  enum CodingKeys: String, CodingKey { case time, verdict, endpoint }

  public init(time: Timestamp, verdict: String, endpoint: String, signature: JSONValue? = nil) {
    self.time = time
    self.verdict = verdict
    self.endpoint = endpoint
    self.signature = signature
  }

  var json: JSONValue {
    var m: [String: JSONValue] = [
      "time": .string(time.iso), "verdict": .string(verdict), "endpoint": .string(endpoint),
    ]
    if let signature { m["signature"] = signature }
    return .object(m)
  }
}

/// One App Key + App Secret set, as stored.
public struct KeySet: Sendable, Equatable {
  public var id: String
  public var state: SetState
  public var created: Timestamp
  public var fingerprints: SetFingerprints
  /// `kw1:` ciphertext of the App Key.
  public var appKey: String
  /// `kw1:` ciphertext of the App Secret.
  public var appSecret: String
  /// When this set started retiring (promote) and until when it is kept.
  public var retiringSince: Timestamp?
  public var graceUntil: Timestamp?
  public var lastVerification: LastVerification?
  /// Members this version does not know, kept and written back unchanged.
  public var extra: [String: JSONValue] = [:]

  enum CodingKeys: String, CodingKey {
    case id, state, created, fingerprints
    case appKey = "app_key"
    case appSecret = "app_secret"
    case retiringSince = "retiring_since"
    case graceUntil = "grace_until"
  }

  public func ciphertext(_ field: Field) -> String { field == .appKey ? appKey : appSecret }
}

/// The recipient public key of an environment.
public struct Recipient: Sendable, Encodable, Equatable {
  /// Base64 of the X25519 public key.
  public var publicKey: String
  /// Its fingerprint (16 hex digits), repeated here for people reading the file.
  public var keyID: String
  public var created: Timestamp

  enum CodingKeys: String, CodingKey {
    case publicKey = "public_key"
    case keyID = "key_id"
    case created
  }
}

/// `Environments/<env>.json`: one environment's recipient key and its sets.
public struct EnvironmentFile: Sendable, Equatable {
  public static let formatName = "keyward-environment"
  public static let currentVersion = 1

  public var format: String
  public var version: Int
  public var environment: String
  public var recipient: Recipient
  public var sets: [KeySet]
  /// Members this version does not know, kept and written back unchanged.
  public var extra: [String: JSONValue] = [:]

  public var active: KeySet? { sets.first { $0.state == .active } }
}

// MARK: Reading (JSONReader; Codable is used for writing only)

extension WorkspaceConfig {
  /// Reads `keyward.json`. A wrong format name or version stops here, for the caller to report.
  public init(json o: JSONObject) throws(KeywardError) {
    let format = try o.string("format")
    let version = try o.int("version")
    guard format == WorkspaceConfig.formatName, version == WorkspaceConfig.currentVersion else {
      self.init(
        format: format, version: version, workspaceID: "", provider: .captchala, fingerprintSalt: "",
        environments: [:], rotation: .default, export: Provider.captchala.defaultVariables)
      return
    }
    let envs = try o.object("environments")
    var settings = [String: EnvironmentSettings]()
    for name in envs.members.keys {
      let e = try envs.object(name)
      settings[name] = EnvironmentSettings(
        production: try e.bool("production"), endpoint: try e.optionalString("endpoint"))
    }
    let r = try o.object("rotation")
    let x = try o.object("export")
    let known: Set<String> = [
      "format", "version", "workspace_id", "provider", "fingerprint_salt", "environments", "rotation",
      "export",
    ]
    self.init(
      format: format, version: version, workspaceID: try o.string("workspace_id"),
      provider: try o.enumeration("provider", Provider.self),
      fingerprintSalt: try o.string("fingerprint_salt"),
      environments: settings,
      rotation: RotationPolicy(
        maxAgeDays: try r.int("max_age_days"), warnAgeDays: try r.int("warn_age_days"),
        graceDays: try r.int("grace_days")),
      export: ExportNames(appKey: try x.string("app_key"), appSecret: try x.string("app_secret")),
      extra: o.members.filter { !known.contains($0.key) })
  }
}

extension EnvironmentFile {
  /// Reads `<env>.json`. A wrong format name or version stops here, for the caller to report.
  public init(json o: JSONObject) throws(KeywardError) {
    let format = try o.string("format")
    let version = try o.int("version")
    guard format == EnvironmentFile.formatName, version == EnvironmentFile.currentVersion else {
      self.init(
        format: format, version: version, environment: "",
        recipient: Recipient(publicKey: "", keyID: "", created: Timestamp(seconds: 0)), sets: [])
      return
    }
    let r = try o.object("recipient")
    var sets = [KeySet]()
    for s in try o.objects("sets") {
      let fp = try s.object("fingerprints")
      sets.append(
        KeySet(
          id: try s.string("id"), state: try s.enumeration("state", SetState.self),
          created: try s.timestamp("created"),
          fingerprints: SetFingerprints(
            appKey: try fp.string("app_key"), appSecret: try fp.string("app_secret")),
          appKey: try s.string("app_key"), appSecret: try s.string("app_secret"),
          retiringSince: try s.optionalTimestamp("retiring_since"),
          graceUntil: try s.optionalTimestamp("grace_until"),
          lastVerification: try s.members["last_verification"].map { (v: JSONValue) throws(KeywardError) in
            let o = try JSONObject(v, path: "\(s.path).last_verification", source: s.source)
            return LastVerification(
              time: try o.timestamp("time"), verdict: try o.string("verdict"),
              endpoint: try o.string("endpoint"), signature: o.members["signature"])
          },
          extra: s.members.filter { !KeySet.knownMembers.contains($0.key) }))
    }
    self.init(
      format: format, version: version, environment: try o.string("environment"),
      recipient: Recipient(
        publicKey: try r.string("public_key"), keyID: try r.string("key_id"),
        created: try r.timestamp("created")),
      sets: sets,
      extra: o.members.filter { !["format", "version", "environment", "recipient", "sets"].contains($0.key) })
  }

  /// Parses the bytes of an environment file: keyward's own form without a JSON tree
  /// (`EnvironmentScan`), anything else by the full parser.
  public static func parse(_ bytes: [UInt8], source: String) throws(KeywardError) -> EnvironmentFile {
    if let fast = EnvironmentScan.scan(bytes) { return fast }
    return try parseFully(bytes, source: source)
  }

  /// The full parser alone (what the fast reader is held to).
  static func parseFully(_ bytes: [UInt8], source: String) throws(KeywardError) -> EnvironmentFile {
    try JSONFiles.read(bytes, source: source, EnvironmentFile.init(json:))
  }
}

// MARK: Writing

extension WorkspaceConfig {
  public var json: JSONValue {
    .object(extra.merging(known) { $1 })
  }

  private var known: [String: JSONValue] {
    [
      "format": .string(format), "version": .number(Double(version)), "workspace_id": .string(workspaceID),
      "provider": .string(provider.rawValue), "fingerprint_salt": .string(fingerprintSalt),
      "environments": .object(
        environments.mapValues { e in
          var m: [String: JSONValue] = ["production": .bool(e.production)]
          if let endpoint = e.endpoint { m["endpoint"] = .string(endpoint) }
          return .object(m)
        }),
      "rotation": .object([
        "max_age_days": .number(Double(rotation.maxAgeDays)),
        "warn_age_days": .number(Double(rotation.warnAgeDays)),
        "grace_days": .number(Double(rotation.graceDays)),
      ]),
      "export": .object(["app_key": .string(export.appKey), "app_secret": .string(export.appSecret)]),
    ]
  }
}

extension EnvironmentFile {
  public var json: JSONValue {
    .object(
      extra.merging([
        "format": .string(format), "version": .number(Double(version)), "environment": .string(environment),
        "recipient": .object([
          "public_key": .string(recipient.publicKey), "key_id": .string(recipient.keyID),
          "created": .string(recipient.created.iso),
        ]),
        "sets": .array(sets.map(\.json)),
      ]) { $1 })
  }
}

extension KeySet {
  public var json: JSONValue {
    var m: [String: JSONValue] = [
      "id": .string(id), "state": .string(state.rawValue), "created": .string(created.iso),
      "fingerprints": .object([
        "app_key": .string(fingerprints.appKey), "app_secret": .string(fingerprints.appSecret),
      ]),
      "app_key": .string(appKey), "app_secret": .string(appSecret),
    ]
    if let retiringSince { m["retiring_since"] = .string(retiringSince.iso) }
    if let graceUntil { m["grace_until"] = .string(graceUntil.iso) }
    if let lastVerification { m["last_verification"] = lastVerification.json }
    return .object(extra.merging(m) { $1 })
  }

  static let knownMembers: Set<String> = [
    "id", "state", "created", "fingerprints", "app_key", "app_secret", "retiring_since", "grace_until",
    "last_verification",
  ]
}

// MARK: Written directly (the reports' own writers, `DirectJSONDocument`)

extension SetFingerprints {
  func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.string("app_key", appKey, into: &out)
    o.string("app_secret", appSecret, into: &out)
    o.end(into: &out)
  }
}

extension LastVerification {
  /// As its `Encodable` conformance writes it (the signature is not part of reports).
  func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.string("endpoint", endpoint, into: &out)
    o.string("time", time.iso, into: &out)
    o.string("verdict", verdict, into: &out)
    o.end(into: &out)
  }
}
