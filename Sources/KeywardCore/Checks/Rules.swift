/// What every rule of `keyward check` reads, built once: the fingerprint tables, the trail's
/// history, the time and the policy. The rule groups below are plain functions of it, each tested
/// on its own (`CheckRulesTests`).
struct CheckContext {
  let workspace: Workspace
  let now: Timestamp
  let maxAge: Int
  let warnAge: Int
  /// Every stored fingerprint, by field: (environment, set id) — names only, not the sets, which
  /// 18,000 of would copy.
  let keyFP: [String: [(String, String)]]
  let secretFP: [String: [(String, String)]]
  /// Pairs each environment retired, by fingerprints (KW307).
  let retired: [String: [PairKey: TrailEntry]]
  /// Which environments each production fingerprint appeared in over the whole trail (KW203).
  let fpEnvironments: [String: Set<String>]
  /// The providers' published test credentials, fingerprinted (KW501).
  let testFPs: Set<String>
  /// Where the sets of the environments below were last deployed (KW302's remedy).
  let deployed: [String: Lifecycle.Deployed]
  /// How remedies that name an option are worded (the command line's `Advice.words`).
  let words: Wording
  /// Each environment's retiring sets past their grace period (retire removes them together:
  /// KW302's remedy).
  let retiring: [String: [String]]
  /// For each value stored in both fields somewhere (KW101's candidates): the field, environment
  /// and time the trail first recorded it in, which says which of the two sets is exchanged.
  let firstSeen: [String: (field: Field, environment: String, time: String)]

  init(
    workspace: Workspace, environments all: [EnvironmentFile], history: [TrailEntry], now: Timestamp,
    maxAge: Int, warnAge: Int, words: @escaping Wording = Advice.unworded
  ) {
    self.words = words
    self.workspace = workspace
    self.now = now
    self.maxAge = maxAge
    self.warnAge = warnAge
    var retiring = [String: [String]]()
    for env in all {
      let due = env.sets.filter { s in s.state == .retiring && s.graceUntil.map { $0 < now } ?? true }
      if !due.isEmpty { retiring[env.environment] = due.map(\.id) }
    }
    self.retiring = retiring
    deployed =
      retiring.isEmpty
      ? [:] : Lifecycle.deployedTargets(history, workspace: workspace, environments: Set(retiring.keys))
    var keyFP = [String: [(String, String)]]()
    var secretFP = [String: [(String, String)]]()
    for env in all {
      for s in env.sets {
        keyFP[s.fingerprints.appKey, default: []].append((env.environment, s.id))
        secretFP[s.fingerprints.appSecret, default: []].append((env.environment, s.id))
      }
    }
    self.keyFP = keyFP
    self.secretFP = secretFP
    let inBothFields = Set(keyFP.keys).intersection(secretFP.keys)
    var firstSeen = [String: (field: Field, environment: String, time: String)]()
    if !inBothFields.isEmpty {
      for e in history {
        guard let env = e.environment else { continue }
        for (fp, field) in [(e.appKeyFP, Field.appKey), (e.appSecretFP, Field.appSecret)] {
          if let fp, inBothFields.contains(fp), firstSeen[fp] == nil {
            firstSeen[fp] = (field, env, e.time ?? "?")
          }
        }
      }
    }
    self.firstSeen = firstSeen
    var retired = [String: [PairKey: TrailEntry]]()
    for e in history where e.action == "retire" {
      guard let env = e.environment, let k = e.appKeyFP, let v = e.appSecretFP else { continue }
      retired[env, default: [:]][PairKey(SetFingerprints(appKey: k, appSecret: v))] = e
    }
    self.retired = retired
    // Only fingerprints of production sets are looked up, so only those are indexed.
    var productionFPs = Set<String>()
    for env in all where workspace.isProduction(env.environment) {
      for s in env.sets {
        productionFPs.insert(s.fingerprints.appKey)
        productionFPs.insert(s.fingerprints.appSecret)
      }
    }
    var fpEnvironments = [String: Set<String>]()
    for e in history {
      guard let env = e.environment else { continue }
      if let k = e.appKeyFP, productionFPs.contains(k) { fpEnvironments[k, default: []].insert(env) }
      if let v = e.appSecretFP, productionFPs.contains(v) { fpEnvironments[v, default: []].insert(env) }
    }
    self.fpEnvironments = fpEnvironments
    testFPs = Set(
      (VerifyOperation.testSecrets + [
        "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI", "10000000-ffff-ffff-ffff-000000000001",
        "1x00000000000000000000AA", "2x00000000000000000000AB", "3x00000000000000000000FF",
      ]).map {
        workspace.fingerprinter.fingerprint(SecureBytes(unsafeString: $0))
      })
  }

  var policy: RotationPolicy { workspace.config.rotation }

  /// A finding about a set of an environment, located in that environment's file.
  func finding(
    _ rule: FindingID, _ severity: Severity, _ env: String, _ set: String, _ message: String,
    _ evidence: [String: String], remedy: String
  ) -> Finding {
    Finding(
      id: rule.rawValue, severity: severity, environment: env, set: set, message: message, evidence: evidence,
      remedy: remedy, file: workspace.environmentPath(env))
  }
}

/// The rule groups of `keyward check`: over the workspace's trust, and over one set, each
/// returning its findings.
enum CheckRules {
  /// The git attributes that change what git stores for a file (`filter`: git-lfs keeps a pointer
  /// in history), the bytes a checkout writes (`working-tree-encoding`, `ident`) or how a merge
  /// combines two sides (`merge`, except git's own text and binary ones). `text` and `eol` are
  /// left alone: `* text=auto` is everywhere, and keyward's files are LF text already.
  static let riskyAttributes = ["filter", "working-tree-encoding", "ident", "merge"]

  /// KW609: a risky git attribute applies to the workspace's files. Asked of git (one
  /// `check-attr`), since attributes come from several files, macros and patterns: for every file
  /// in the workspace's folders keyward writes (the trail's entries are the ones after the last
  /// checkpoint: few) and every name keyward will write there for an environment, plus one name
  /// in each folder for files to come (a pattern can skip a sample name, not a real one). None
  /// outside git.
  static func gitAttributes(workspace: Workspace, environments: [EnvironmentFile]) -> [Finding] {
    guard Git.dotGit(workspace.path) != nil else { return [] }
    var paths = [
      "keyward.json", Trust.stateName, Trust.rootName, Trust.nextRootName,
      Trust.rootsFolder + "/1.json", Trail.entriesFolder + "/0.json",
      Trail.checkpointsFolder + "/0.jsonl",
      Trail.checkpointsFolder + "/0.index", Trail.headsFolder + "/0",
    ]
    var named = Set(paths)
    for env in environments {
      let name = env.environment
      for p in [name + ".json", Activation.name(name), Access.wrapsName(name)] where named.insert(p).inserted
      {
        paths.append(p)
      }
    }
    for folder in [
      Trust.rootsFolder, Activation.folder, Access.wrapsFolder, Trail.entriesFolder, Trail.headsFolder,
      Trail.checkpointsFolder,
    ] {
      for name in FileSystem.listDirectory(workspace.path + "/" + folder)
      where named.insert(folder + "/" + name).inserted {
        paths.append(folder + "/" + name)
      }
    }
    var input = [UInt8]()
    for p in paths { input += Array(p.utf8) + [0] }
    guard
      let r = Git.run(["check-attr", "-z", "--stdin"] + riskyAttributes, in: workspace.path, input: input),
      r.status == 0
    else {
      // Not checked is said, not passed over: a note (it fails no check by default).
      return [
        Finding(
          id: FindingID.gitAttributes.rawValue, severity: .note, environment: nil, set: nil,
          message:
            "git could not be run here (git check-attr), so whether a git attribute changes the workspace's files was not checked",
          evidence: [:], remedy: "run keyward check where git is installed", file: workspace.path)
      ]
    }
    // -z: path, attribute, value, each ended by NUL; nearly every value is "unspecified" (36,000
    // answers at 3,000 environments), so only the others become strings.
    let fields = r.output.split(separator: 0, omittingEmptySubsequences: false)
    var found = [String: [String]]()  // "attribute=value" → the paths it applies to
    var order = [String]()
    var i = 0
    while i + 2 < fields.count {
      let raw = fields[i + 2]
      i += 3
      if raw.elementsEqual("unspecified".utf8) || raw.elementsEqual("unset".utf8) { continue }
      let (path, attribute, value) = (
        String(decoding: fields[i - 3], as: UTF8.self), String(decoding: fields[i - 2], as: UTF8.self),
        String(decoding: raw, as: UTF8.self)
      )
      if attribute == "merge" && ["text", "binary"].contains(value) { continue }
      let key = value == "set" ? attribute : "\(attribute)=\(value)"
      if found[key] == nil { order.append(key) }
      found[key, default: []].append(path)
    }
    let folder = workspace.path
    return order.map { key in
      let where_ = found[key]!
      let more = where_.count > 1 ? " and \(where_.count - 1) more of its files" : ""
      return Finding(
        id: FindingID.gitAttributes.rawValue, severity: FindingID.gitAttributes.defaultSeverity,
        environment: nil, set: nil,
        message:
          "the git attribute \(Text.printable(key)) applies to \(folder)/\(Text.printable(where_[0]))\(more): git no longer stores or checks out the files keyward wrote as they are",
        evidence: ["attribute": key, "path": where_[0], "paths": String(where_.count)],
        remedy:
          "remove the attribute for \(folder)/ from .gitattributes (git check-attr -a \(folder)/\(where_[0]) shows it)",
        file: "\(folder)/\(where_[0])")
    }
  }

  /// KW606 (no trust root: anyone with write access redirects new secrets), KW608 (an active set
  /// no member activated: it does not deploy), KW607 (sets a revoked identity could read: exposed
  /// until rotated, since git history keeps the ciphertexts and the old key opens them).
  static func trust(workspace: Workspace, environments: [EnvironmentFile], everyEnvironment: Bool)
    -> [Finding]
  {
    guard let trust = workspace.trust else {
      guard everyEnvironment else { return [] }
      return [
        Finding(
          id: FindingID.noTrustRoot.rawValue, severity: FindingID.noTrustRoot.defaultSeverity,
          environment: nil,
          set: nil,
          message:
            "no trust root: anyone with write access can redirect new secrets, endpoints and what production deploys",
          evidence: [:], remedy: "keyward trust init (by someone who holds the environment keys)",
          file: workspace.configPath)
      ]
    }
    var out = [Finding]()
    // Each manifest's read and signature check on every core (3,000 of them take 0.4 s on one);
    // what follows, which may record the manifests this machine saw, one by one.
    let manifests = Parallel.map(environments) { env -> Result<Activation.Manifest?, KeywardError>? in
      guard env.active != nil else { return nil }
      return Result { () throws(KeywardError) in
        try Activation.read(workspace: workspace.path, environment: env.environment, trust: trust)
      }
    }
    for (env, manifest) in zip(environments, manifests) {
      guard let active = env.active else { continue }
      do {
        _ = try Activation.requireActivated(workspace: workspace, env: env, set: active, manifest: manifest)
      } catch {
        out.append(
          Finding(
            id: FindingID.notActivated.rawValue,
            severity: workspace.isProduction(env.environment) ? .error : .warning,
            environment: env.environment, set: active.id, message: error.message, evidence: [:],
            remedy: error.hint ?? "a member verifies it and runs keyward promote \(env.environment)",
            file: workspace.environmentPath(env.environment)))
      }
    }
    for env in environments {
      for r in trust.revoked[env.environment] ?? [] {
        for s in env.sets where r.sets.contains(s.id) {
          out.append(
            Finding(
              id: FindingID.exposedToRevoked.rawValue, severity: .error, environment: env.environment,
              set: s.id,
              message:
                "set \(s.id) of \(env.environment) was readable by \(r.name) (\(r.fingerprint)), whose access was revoked: rotate it",
              evidence: ["revoked": r.name],
              remedy: "keyward rotate \(env.environment), verify, promote, retire",
              file: workspace.environmentPath(env.environment)))
        }
      }
    }
    return out
  }

  static func evidence(_ s: KeySet) -> [String: String] {
    ["app_key_fp": s.fingerprints.appKey, "app_secret_fp": s.fingerprints.appSecret]
  }

  /// KW101, KW201, KW202, KW203: one value in two places (swapped, shared, or production's set
  /// seen in another environment).
  static func sharing(_ c: CheckContext, _ name: String, _ s: KeySet) -> [Finding] {
    var out = [Finding]()
    let ev = evidence(s)
    let production = c.workspace.isProduction(name)
    // KW101: this set's App Key is some set's App Secret (or the other way round).
    let keyAsSecret = c.secretFP[s.fingerprints.appKey]?.first
    if let other = keyAsSecret ?? c.keyFP[s.fingerprints.appSecret]?.first {
      var message =
        "set \(s.id)'s App Key and App Secret look exchanged: the same values are stored the other way round in \(other.0) set \(other.1)"
      var evidence = ev.merging(["matches": "\(other.0)/\(other.1)"]) { $1 }
      var remedy = c.words(.replaceSet(environment: name))
      // The trail's first sighting of the shared value says which set holds it in the wrong field.
      let shared = keyAsSecret != nil ? s.fingerprints.appKey : s.fingerprints.appSecret
      if let first = c.firstSeen[shared] {
        let sharedField: Field = keyAsSecret != nil ? .appKey : .appSecret  // its field in this set
        let (env, id) = first.field == sharedField ? (other.0, other.1) : (name, s.id)
        let what = first.field == .appKey ? "an App Key" : "an App Secret"
        message += "; the trail first recorded that value as \(what) (\(first.environment), \(first.time))"
        message += ", so \(env) set \(id) is the one with the values exchanged"
        evidence["first_seen_as"] = first.field.rawValue
        evidence["exchanged_set_id"] = id
        remedy = c.words(.replaceExchangedSet(environment: env, setID: id))
      }
      out.append(c.finding(.swappedInStore, .error, name, s.id, message, evidence, remedy: remedy))
    }
    // KW201/KW202: shared with another environment, reported under every environment involved
    // (as KW101 is: teams filter by environment).
    for (fp, table, rule, what) in [
      (s.fingerprints.appKey, c.keyFP, FindingID.sameKeyAcrossEnvironments, "App Key"),
      (s.fingerprints.appSecret, c.secretFP, FindingID.sameSecretAcrossEnvironments, "App Secret"),
    ] {
      let others = (table[fp] ?? []).filter { $0.0 != name }.map { "\($0.0)/\($0.1)" }
      guard !others.isEmpty else { continue }
      let severity: Severity = rule == .sameSecretAcrossEnvironments || production ? .error : .warning
      out.append(
        c.finding(
          rule, severity, name, s.id, "set \(s.id) shares its \(what) with \(others.joined(separator: ", "))",
          ev.merging(["shared_with": others.joined(separator: ",")]) { $1 },
          remedy: "give each environment its own credentials: keyward rotate \(name)"))
    }
    // KW203: production holding a set another environment has, or had (the audit trail).
    if production {
      let elsewhere = (c.fpEnvironments[s.fingerprints.appKey] ?? [])
        .union(c.fpEnvironments[s.fingerprints.appSecret] ?? [])
        .contains { $0 != name && !c.workspace.isProduction($0) }
      if elsewhere {
        out.append(
          c.finding(
            .productionHoldsOtherEnvironmentsSet, .error, name, s.id,
            "production set \(s.id) was used in another environment (audit trail)", ev,
            remedy: "keyward rotate \(name)"))
      }
    }
    return out
  }

  /// KW301, KW302, KW303: age against the policy, a retiring set past its grace, a pending set
  /// left waiting.
  static func lifecycle(_ c: CheckContext, _ name: String, _ s: KeySet) -> [Finding] {
    var out = [Finding]()
    let ev = evidence(s)
    let age = s.created.days(until: c.now)
    if s.state != .retiring && age > c.maxAge {
      out.append(
        c.finding(
          .stale, .error, name, s.id, "set \(s.id) is \(age) days old; the policy allows \(c.maxAge)",
          ev.merging(["created": s.created.iso, "age_days": "\(age)"]) { $1 },
          remedy: "keyward rotate \(name)"))
    } else if s.state != .retiring && age > c.warnAge {
      out.append(
        c.finding(
          .stale, .warning, name, s.id, "set \(s.id) is \(age) days old; rotate before \(c.maxAge)",
          ev.merging(["created": s.created.iso, "age_days": "\(age)"]) { $1 },
          remedy: "keyward rotate \(name)"))
    }
    if s.state == .retiring, let g = s.graceUntil, g < c.now {
      out.append(
        c.finding(
          .retiringPastGrace, .warning, name, s.id,
          "retiring set \(s.id) is past its grace period (\(g.iso))",
          ev.merging(["grace_until": g.iso]) { $1 },
          remedy: c.words(
            ListOperation.retireAdvice(
              environment: name, sets: c.retiring[name] ?? [s.id],
              deployed: c.deployed[name] ?? Lifecycle.Deployed()))))
    }
    if s.state == .pending && age > c.policy.graceDays {
      out.append(
        c.finding(
          .pendingNotPromoted, .warning, name, s.id, "pending set \(s.id) has waited \(age) days",
          ev.merging(["created": s.created.iso]) { $1 },
          remedy: c.words(.verifyPendingThenPromote(environment: name))))
    }
    return out
  }

  /// KW304, KW305: what the last live verification said, or that there was none.
  static func verification(_ c: CheckContext, _ name: String, _ s: KeySet) -> [Finding] {
    let ev = evidence(s)
    if let v = s.lastVerification {
      guard let verdict = Verdict(rawValue: v.verdict), verdict.isFinding else { return [] }
      return [
        c.finding(
          .lastVerificationFailed, .error, name, s.id,
          "the last verification of set \(s.id) said \(v.verdict) (\(v.time.iso))",
          ev.merging(["verified": v.time.iso, "verdict": v.verdict]) { $1 },
          remedy: remedy(for: verdict, name))
      ]
    }
    guard s.state != .retiring else { return [] }
    return [
      c.finding(
        .neverVerified, c.workspace.isProduction(name) ? .warning : .note, name, s.id,
        "set \(s.id) was never verified live", ev, remedy: "keyward verify \(name)")
    ]
  }

  /// What to do about a failed verification, by what failed.
  static func remedy(for verdict: Verdict, _ name: String) -> String {
    switch verdict {
    case .invalidKey:
      return
        "the provider does not know this App Key: copy the pair from the provider's dashboard into a new set (keyward rotate \(name)), verify it and promote it"
    case .invalidSecret:
      return
        "the App Key is known but the App Secret is not (rotated at the provider?): store the current pair (keyward rotate \(name)), verify it and promote it"
    case .swapped:
      return
        "the App Key and the App Secret were entered the wrong way round: store them exchanged (keyward rotate \(name)), verify and promote"
    case .disabled:
      return
        "the app is disabled at the provider: enable it there, or rotate to a live app's pair (keyward rotate \(name))"
    case .acceptsAnyToken:
      return
        "the endpoint accepts any token (a test key, or the wrong endpoint): store the live pair (keyward rotate \(name))"
    default:
      return "keyward verify \(name)"
    }
  }

  /// KW307, KW501: a pair this environment retired stored again; a provider's public test
  /// credential in production.
  static func reuse(_ c: CheckContext, _ name: String, _ s: KeySet) -> [Finding] {
    var out = [Finding]()
    let ev = evidence(s)
    if s.state != .retiring, let old = c.retired[name]?[PairKey(s.fingerprints)], old.set != s.id {
      out.append(
        c.finding(
          .retiredPairReused, .error, name, s.id,
          "set \(s.id) of \(name) holds the pair of set \(old.set ?? "?"), retired \(old.time ?? "earlier")",
          ev, remedy: "get a new pair from the provider: keyward rotate \(name)"))
    }
    if c.workspace.isProduction(name)
      && (c.testFPs.contains(s.fingerprints.appSecret) || c.testFPs.contains(s.fingerprints.appKey))
    {
      out.append(
        c.finding(
          .testCredentialInProduction, .error, name, s.id,
          "set \(s.id) holds a provider's public test credential",
          ev, remedy: "keyward rotate \(name)   # with the production credentials"))
    }
    return out
  }
}
