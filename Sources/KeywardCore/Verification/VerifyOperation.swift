/// `keyward verify`: every chosen set against its provider, with bounded concurrency; each set's
/// last verification is recorded in its environment file and in the audit trail.
public enum VerifyOperation {
  public enum Selection: Sendable, Equatable {
    case all
    case state(SetState)
    case id(String)

    public init(_ text: String?) {
      switch text {
      case nil, "all": self = .all
      case "active": self = .state(.active)
      case "pending": self = .state(.pending)
      case "retiring": self = .state(.retiring)
      case let s?: self = .id(s)
      }
    }
  }

  public struct Request: Sendable {
    /// Empty: every environment.
    public var environments: [String]
    public var selection: Selection
    /// A per-run override of the endpoint (the base URL for CaptchaLa, the siteverify URL otherwise).
    public var endpoint: String?
    public var timeoutSeconds: Double
    public var concurrency: Int
    public var retries: Int
    /// Print the verdicts, record nothing (CI on a checkout it must not change).
    public var record: Bool

    public init(
      environments: [String] = [], selection: Selection = .all, endpoint: String? = nil,
      timeoutSeconds: Double = 10,
      concurrency: Int = 32, retries: Int = 2, record: Bool = true
    ) {
      self.record = record
      self.environments = environments
      self.selection = selection
      self.endpoint = endpoint
      self.timeoutSeconds = timeoutSeconds
      self.concurrency = concurrency
      self.retries = retries
    }
  }

  public struct SetResult: Sendable, Encodable {
    public var environment: String
    public var setID: String
    public var state: SetState
    public var verdict: Verdict
    /// A provider's public test secret in a production-like environment.
    public var testCredential: Bool
    public var evidence: [Evidence]

    enum CodingKeys: String, CodingKey {
      case environment, state, verdict, evidence
      case setID = "set_id"
      case testCredential = "test_credential"
    }

    /// Counts as a finding (exit 1).
    public var isFinding: Bool { verdict.isFinding || testCredential }
  }

  public struct Report: Sendable, Encodable {
    public var provider: Provider
    public var results: [SetResult]
    public var counts: [String: Int]
    /// 0, 1 (findings) or 3 (inconclusive), as PRODUCT.md says.
    public var exitCode: Int32
    /// Unannounced changes the recording found and recorded first (an interruption, an outside edit).
    public var warnings: [String] = []
    /// Environments not verified because their key is not at hand here (none was named).
    public var skipped: [Skipped] = []
    /// Sets that would not open (each its own row; the others are verified; exit 4 overall).
    public var errors: [SetError] = []

    public struct Skipped: Sendable, Encodable {
      public var environment: String
      public var reason: String
    }

    public struct SetError: Sendable, Encodable {
      public var environment: String
      public var setID: String
      public var error: String

      enum CodingKeys: String, CodingKey {
        case environment, error
        case setID = "set_id"
      }
    }

    enum CodingKeys: String, CodingKey {
      case provider, results, counts, warnings, skipped, errors
      case exitCode = "exit_code"
    }
  }

  /// The providers' public test secrets (CAPTCHALA-CONTRACT.md): findings in production.
  public static let testSecrets = [
    "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe", "0x0000000000000000000000000000000000000000",
    "1x0000000000000000000000000000000AA", "2x0000000000000000000000000000000AA",
    "3x0000000000000000000000000000000AA",
  ]

  struct Job: Sendable {
    let environment: String
    let set: KeySet
    let appKey: SecureBytes
    let appSecret: SecureBytes
    let settings: Verifier.Settings
    let production: Bool
  }

  public static func run(
    workspace: Workspace, request r: Request, keys: KeySource, transport: any HTTPTransport,
    progress: (Int, Int) -> Void = { _, _ in }, signer: Identity? = nil
  ) async throws(KeywardError) -> Report {
    try workspace.requireTrusted("send credentials to the provider")
    try workspace.refuseRemovedTrust("send credentials to the provider")
    let provider = workspace.config.provider
    let names = r.environments.isEmpty ? workspace.config.environmentNames : r.environments
    var jobs = [Job]()
    var skipped = [Report.Skipped]()
    var errors = [Report.SetError]()
    for name in names {
      let env = try workspace.loadEnvironment(name)
      let chosen: [KeySet]
      switch r.selection {
      case .all: chosen = env.sets
      case .state(let s): chosen = env.sets.filter { $0.state == s }
      case .id(let id): chosen = [try SetSelector.id(id).pick(from: env)]
      }
      if chosen.isEmpty { continue }
      // With no environment named, one whose key is not here is skipped and said so (a CI job
      // holds the keys of the environments it deploys); a named one without its key is an error.
      let key: PrivateKey
      do { (key, _) = try keys.privateKey(for: env, in: workspace) } catch {
        guard r.environments.isEmpty else { throw error }
        skipped.append(.init(environment: name, reason: error.message))
        continue
      }
      let scratch = Sealed.Scratch()
      let configured = workspace.config.environments[name]?.endpoint
      let origin =
        r.endpoint != nil
        ? "the endpoint given for this run"
        : configured != nil
          ? "\(workspace.configPath): environments.\(name).endpoint" : "the provider's default"
      // Parsed once: the URL sent to is the parser's serialisation, the one the rules were checked on.
      let endpoint = try Endpoint(r.endpoint ?? configured ?? provider.defaultEndpoint, origin: origin).text
      for set in chosen {
        // A set that will not open gets its own error row; the others are still verified.
        let k: SecureBytes
        let s: SecureBytes
        do {
          k = try OpenOperation.open(
            env: env, set: set, field: .appKey, key: key, workspace: workspace, scratch: scratch)
          s = try OpenOperation.open(
            env: env, set: set, field: .appSecret, key: key, workspace: workspace, scratch: scratch)
        } catch {
          errors.append(.init(environment: name, setID: set.id, error: error.message))
          continue
        }
        jobs.append(
          Job(
            environment: name, set: set, appKey: k, appSecret: s,
            settings: Verifier.Settings(
              endpoint: endpoint, timeoutSeconds: r.timeoutSeconds, retries: r.retries),
            production: workspace.isProduction(name)))
      }
    }
    if jobs.isEmpty && errors.isEmpty {
      if !skipped.isEmpty {
        throw KeywardError(
          .integrity,
          "no environment's private key is at hand here (skipped: \(skipped.map(\.environment).joined(separator: ", ")))",
          hint: "name the environments this job holds keys for, or give KEYWARD_PRIVATE_KEY_<ENV>")
      }
      throw KeywardError(.input, "no sets to verify", hint: "keyward list shows what each environment holds")
    }
    let queued = jobs
    let final = await Bounded.map(count: queued.count, width: r.concurrency, progress: progress) { i in
      let job = queued[i]
      let verifier = Verifier(provider: provider, settings: job.settings, transport: transport)
      let outcome = await verifier.verify(appKey: job.appKey, appSecret: job.appSecret)
      let test = job.production && testSecrets.contains { job.appSecret.constantTimeEquals(literal: $0) }
      return SetResult(
        environment: job.environment, setID: job.set.id, state: job.set.state, verdict: outcome.verdict,
        testCredential: test, evidence: outcome.evidence)
    }
    // Recording writes the environment files and the trail. Not asked (--no-record), or not
    // possible (a read-only checkout): the verdicts still stand, with a warning.
    var notes = [String]()
    if r.record {
      do { notes = try record(final, workspace: workspace, signer: signer) } catch  where error.kind == .io {
        notes = ["nothing was recorded (\(error.message)): the verdicts above are this run's only record"]
      }
    }
    var counts = [String: Int]()
    for v in final { counts[v.verdict.rawValue, default: 0] += 1 }
    let exit: Int32 =
      !errors.isEmpty
      ? 4 : final.contains { $0.isFinding } ? 1 : final.contains { $0.verdict.isInconclusive } ? 3 : 0
    return Report(
      provider: provider, results: final, counts: counts, exitCode: exit, warnings: notes, skipped: skipped,
      errors: errors)
  }

  /// Writes each set's last verification into its environment file, and one trail entry naming them all.
  @discardableResult
  static func record(_ results: [SetResult], workspace: Workspace, signer: Identity? = nil)
    throws(KeywardError) -> [String]
  {
    let lock = try workspace.lock()
    defer { lock.unlock() }
    let now = Timestamp.now()
    var changes = [(EnvironmentFile, [AuditIntent])]()
    for name in Set(results.map(\.environment)).sorted() {
      var env = try workspace.loadEnvironment(name)
      for r in results where r.environment == name {
        guard let i = env.sets.firstIndex(where: { $0.id == r.setID }) else { continue }
        let endpoint = r.evidence.first?.endpoint ?? ""
        // Signed by whoever ran it, bound to the set's digest and the endpoint: a forged `valid`
        // opens no gate.
        let signature = signer.map {
          Activation.verificationSignature(
            environment: name, set: env.sets[i], verdict: r.verdict.rawValue, endpoint: endpoint,
            time: now.iso,
            by: $0)
        }
        // An answer that decides nothing (unreachable, rate limited, an unexpected page) never
        // replaces a decisive one: it is kept beside it as the last attempt, and promote and
        // KW304 go on seeing the last decisive verdict.
        if r.verdict.isInconclusive {
          env.sets[i].extra["last_attempt"] = .object([
            "time": .string(now.iso), "verdict": .string(r.verdict.rawValue), "endpoint": .string(endpoint),
          ])
        } else {
          env.sets[i].lastVerification = LastVerification(
            time: now, verdict: r.verdict.rawValue, endpoint: endpoint, signature: signature)
          env.sets[i].extra.removeValue(forKey: "last_attempt")
        }
      }
      var intents = [AuditIntent]()
      for r in results where r.environment == name {
        guard let set = env.sets.first(where: { $0.id == r.setID }) else { continue }
        var details: [String: JSONValue] = ["verdict": .string(r.verdict.rawValue)]
        if let e = r.evidence.first { details["target"] = .string(e.endpoint) }
        intents.append(AuditIntent(action: "verify", set: set, details: details))
      }
      changes.append((env, intents))
    }
    // One trail entry for the whole run, naming every verdict.
    return try workspace.commit(changes, command: "verify")
  }
}
