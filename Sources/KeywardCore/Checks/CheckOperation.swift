#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward check`: configuration mistakes found from fingerprints alone — no private key.
///
/// Fingerprints are keyed BLAKE2b of the values with the workspace salt (FORMAT.md), so equal
/// values have equal fingerprints across fields, sets and environments: a swap is an App Key
/// fingerprint equal to some App Secret fingerprint, a shared key is one fingerprint in two
/// environments, and a deployed file is checked by fingerprinting its values the same way. No
/// fingerprint reveals a value.
public enum CheckOperation {
  public struct Request {
    /// Empty: every environment.
    public var environments: [String]
    public var maxAgeDays: Int?
    /// A deployed file (or the process environment) to compare with the store; needs exactly one
    /// environment.
    public var deployed: Deployed?

    public init(environments: [String] = [], maxAgeDays: Int? = nil, deployed: Deployed? = nil) {
      self.environments = environments
      self.maxAgeDays = maxAgeDays
      self.deployed = deployed
    }
  }

  /// Deployed values (in guarded memory) and where they came from.
  public struct Deployed {
    public var source: String
    public var variables: [String: SecureBytes]

    public init(source: String, variables: [String: SecureBytes]) {
      self.source = source
      self.variables = variables
    }
  }

  public static func run(
    workspace: Workspace, request r: Request, keysEnv: Env = .process,
    trail given: TrailIndex? = nil, environments loaded: [EnvironmentFile]? = nil,
    words: @escaping Wording = Advice.unworded
  ) throws(KeywardError) -> [Finding] {
    let all: [EnvironmentFile]
    if let loaded { all = loaded } else { all = try workspace.loadAll() }
    Stopwatch.lap("check: environment files loaded")
    let names = r.environments.isEmpty ? workspace.config.environmentNames : r.environments
    for n in names { try workspace.requireEnvironment(n) }
    let named = Set(names)  // asked of every environment and finding: 3,000 × 3,000 as a list
    let now = Timestamp.now()
    let policy = workspace.config.rotation
    let maxAge = r.maxAgeDays ?? policy.maxAgeDays
    // --max-age keeps the policy's warning margin (75 of 90 days: warn 15 days before).
    let warnAge = max(0, maxAge - max(0, policy.maxAgeDays - policy.warnAgeDays))
    var findings = [Finding]()
    func add(
      _ rule: FindingID, _ severity: Severity, _ env: String?, _ set: String?, _ message: String,
      _ evidence: [String: String] = [:], remedy: String? = nil, file: String? = nil
    ) {
      findings.append(
        Finding(
          id: rule.rawValue, severity: severity, environment: env, set: set, message: message,
          evidence: evidence,
          remedy: remedy, file: file ?? env.map { workspace.environmentPath($0) }))
    }
    findings += CheckRules.trust(
      workspace: workspace, environments: all.filter { named.contains($0.environment) },
      everyEnvironment: r.environments.isEmpty)
    if r.environments.isEmpty {
      findings += CheckRules.gitAttributes(workspace: workspace, environments: all)
    }
    Stopwatch.lap("check: trust rules")
    var trail =
      given
      ?? TrailIndex.load(
        workspace: workspace, seen: Trail.Seen.read(workspace: workspace.path, env: keysEnv),
        remembered: keysEnv)
    trail.releaseKept()
    let history = trail.history
    let context = CheckContext(
      workspace: workspace, environments: all, history: history, now: now, maxAge: maxAge, warnAge: warnAge,
      words: words)
    defer { Stopwatch.lap("check: the rest") }
    // The trail's own findings: integrity, unannounced files, signatures.
    Stopwatch.lap("check: rules before the trail")
    findings += TrailFindings.findings(trail, workspace: workspace, words: words).filter {
      $0.environment == nil || named.contains($0.environment!)
    }
    Stopwatch.lap("check: the trail's findings")
    Trace.note("rules of the trail: \(findings.count) finding(s) so far")
    // The workspace's files before the rules per set: the scan's buffers and catalog are freed
    // before the per-set findings (21,000 at 3,000 environments) are made, not held beside them.
    // (The order of the findings is the sort's below.)
    try workspaceFiles(
      workspace: workspace,
      catalog: ScanCatalog.load(workspace: workspace, environments: all, history: history),
      add: add)
    Stopwatch.lap("check: workspace files scanned")
    var folderModes = [String: mode_t?]()
    for env in all where named.contains(env.environment) {
      for s in env.sets {
        let before = findings.count
        findings += CheckRules.sharing(context, env.environment, s)
        findings += CheckRules.lifecycle(context, env.environment, s)
        findings += CheckRules.verification(context, env.environment, s)
        findings += CheckRules.reuse(context, env.environment, s)
        Trace.note(
          "rules sharing, lifecycle, verification, reuse on \(env.environment) set \(s.id): \(findings.count - before) finding(s)"
        )
      }
      try hygiene(workspace: workspace, env: env, keysEnv: keysEnv, folderModes: &folderModes, add: add)
    }
    Stopwatch.lap("check: rules per set")
    if let deployed = r.deployed {
      guard names.count == 1 else {
        throw KeywardError(.input, "a deployed file is compared with one environment; name it")
      }
      deployedChecks(
        deployed, environment: names[0], all: all, workspace: workspace, history: history, words: words,
        add: add)
    }
    // Stable, in place (a sorted copy held the findings twice).
    findings.sort {
      ($0.environment ?? "", $0.id, $0.set ?? "") < ($1.environment ?? "", $1.id, $1.set ?? "")
    }
    return findings
  }

  /// `--online`: verdicts of a live verification as findings.
  public static func findings(
    from report: VerifyOperation.Report, workspace: Workspace, words: Wording = Advice.unworded
  ) -> [Finding] {
    report.results.compactMap { r in
      let file = workspace.environmentPath(r.environment)
      let ev = ["verdict": r.verdict.rawValue, "endpoint": r.evidence.first?.endpoint ?? ""]
      if r.verdict == .swapped {
        return Finding(
          id: FindingID.swappedOnline.rawValue, severity: .error, environment: r.environment, set: r.setID,
          message: "the provider accepts set \(r.setID) only with App Key and App Secret exchanged",
          evidence: ev,
          remedy: words(.replaceSet(environment: r.environment)), file: file)
      }
      if r.isFinding {
        return Finding(
          id: FindingID.lastVerificationFailed.rawValue, severity: .error, environment: r.environment,
          set: r.setID,
          message:
            "live verification of set \(r.setID): \(r.testCredential ? "a public test secret" : r.verdict.rawValue)",
          evidence: ev, remedy: "keyward verify \(r.environment)", file: file)
      }
      if r.verdict.isInconclusive {
        return Finding(
          id: FindingID.onlineInconclusive.rawValue, severity: .note, environment: r.environment,
          set: r.setID,
          message: "set \(r.setID) could not be verified live: \(r.verdict.rawValue)", evidence: ev,
          remedy: "keyward verify \(r.environment)", file: file)
      }
      return nil
    }
  }

  /// KW601, KW602: the environment's key in the store. `folderModes` remembers the modes of the
  /// store's folders, which every environment shares (looked at once, reported for each).
  static func hygiene(
    workspace: Workspace, env: EnvironmentFile, keysEnv: Env, folderModes: inout [String: mode_t?],
    add: (FindingID, Severity, String?, String?, String, [String: String], String?, String?) -> Void
  ) throws(KeywardError) {
    let path = KeySource.storePath(
      workspaceID: workspace.config.workspaceID, environment: env.environment, env: keysEnv)
    // One lstat says whether it is there, what it is and its mode.
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    // The folders above the key: whoever can write them can swap the key file.
    let folder = Path.directory(path)
    for dir in [Path.directory(folder), folder] {
      if folderModes[dir] == nil { folderModes[dir] = .some(FileSystem.mode(dir)) }
      if let mode = folderModes[dir] ?? nil, mode & 0o077 != 0 {
        add(
          .keyFileTooOpen, .error, env.environment, nil,
          "the key store folder \(dir) is open to group or others (mode 0\(String(mode, radix: 8)))",
          [:], "chmod 700 '\(dir)'", dir)
      }
    }
    if (st.st_mode & S_IFMT) != S_IFREG {
      let kind = FileSystem.kindName(st.st_mode)
      add(
        .specialFileInWorkspace, .error, env.environment, nil,
        "\(path) is \(kind), not a key file; keyward will not read it", ["kind": kind],
        "replace it with the real key file", path)
      return
    }
    if case let mode = st.st_mode & 0o7777, mode & 0o077 != 0 {
      add(
        .keyFileTooOpen, .error, env.environment, nil,
        "\(path) is readable by group or others (mode 0\(String(mode, radix: 8)))",
        [:], "chmod 600 '\(path)'", path)
      return
    }
    if let pk = try? KeyFile.publicKey(path: path), pk.base64 != env.recipient.publicKey {
      add(
        .recipientKeyMismatch, .error, env.environment, nil,
        "\(env.environment)'s recipient key is \(env.recipient.keyID), but the key store holds \(pk.fingerprint)",
        ["expected": env.recipient.keyID, "found": pk.fingerprint, "key_file": path],
        "restore the right key file, or keyward rekey \(env.environment)", nil)
    }
  }

  /// KW603, KW604, KW605: what else sits in the workspace folder. Every file under it — dotfiles,
  /// subfolders and keyward's own files (an unknown member of `prod.json` is text like any other)
  /// — goes through `scan`'s engine, so a plaintext copy is found without any key, plain or
  /// encoded. The trail's entry, checkpoint and head files are left to `keyward scan` (they are
  /// many, and audit checks their shape).
  static func workspaceFiles(
    workspace: Workspace, catalog: ScanCatalog,
    add: (FindingID, Severity, String?, String?, String, [String: String], String?, String?) -> Void
  ) throws(KeywardError) {
    let expected = Set(
      [Workspace.configName, Workspace.auditName] + workspace.config.environmentNames.map { "\($0).json" })
    var items = [ScanOperation.Item]()
    var skipped = 0
    for (name, kind) in FileSystem.listDirectoryKinds(workspace.path) ?? [] {
      let path = "\(workspace.path)/\(name)"
      // A link, FIFO, device or socket is reported, never opened: a committed link can point at any
      // file of a reader's machine, and reading a FIFO would block.
      if let kind, kind != "a folder" {
        add(
          .specialFileInWorkspace, .error, nil, nil,
          "\(path) is \(kind); keyward refuses to read or write through it", ["kind": kind],
          "replace it with the real file, or delete it", path)
        continue
      }
      if kind == "a folder" {
        if name != Trail.folder { ScanOperation.walk(path, display: name, into: &items, skipped: &skipped) }
        continue
      }
      items.append(.file(path: name, open: path))
    }
    let unexpected = Set(
      items.compactMap { item -> String? in
        guard case .file(let name, _) = item, !name.contains("/"), !expected.contains(name),
          !name.hasPrefix(".")
        else { return nil }
        return name
      })
    let scanned = try ScanOperation.scanAll(items, catalog: catalog, repository: nil)
    for (i, result) in scanned.enumerated() {
      guard case .file(let name, let open) = items[i] else { continue }
      var reported = Set<ScanCatalog.Target>()
      for hit in result.hits {
        for t in catalog.table[hit.print] ?? [] where reported.insert(t).inserted {
          let field = t.field == "app_key" ? "App Key" : "App Secret"
          let how = hit.steps.depth == 0 ? "in plain text" : "encoded as \(hit.steps.name)"
          add(
            .plaintextInWorkspace, .error, t.environment, t.set,
            "\(workspace.path)/\(name) holds \(t.environment)'s \(field) (set \(t.set), \(t.state)) \(how) at line \(hit.line), column \(hit.column)",
            ["field": t.field, "encoding": hit.steps.name, "line": String(hit.line)],
            t.live
              ? "delete it (and purge it from git history if it was committed), then rotate \(t.environment)"
              : "delete it (and purge it from git history if it was committed)", open)
        }
      }
      // A file that is not keyward's and holds no copy is only out of place.
      if reported.isEmpty && unexpected.contains(name) {
        add(
          .unexpectedFile, .warning, nil, nil, "\(open) is not a keyward file", [:],
          "move it out of the workspace folder", open)
      }
    }
  }

  /// The runs of at least `minLength` positions that `isWord` accepts: the candidate values in a
  /// file or page, each then fingerprinted and compared with the stored ones.
  public static func wordRanges(count: Int, minLength: Int = 6, isWord: (Int) -> Bool) -> [Range<Int>] {
    var out = [Range<Int>]()
    var start = -1
    for i in 0...count {
      let inWord = i < count && isWord(i)
      if inWord && start < 0 { start = i }
      if !inWord && start >= 0 {
        if i - start >= minLength { out.append(start..<i) }
        start = -1
      }
    }
    return out
  }

  public static func isWordByte(_ c: UInt8) -> Bool {
    !(c <= 0x20 || c == 0x22 || c == 0x27 || c == 0x60 || c == 0x2c || c == 0x3b || c == 0x3d || c == 0x3a
      || c == 0x7b || c == 0x7d || c == 0x5b || c == 0x5d || c == 0x28 || c == 0x29)
  }

  /// KW401–KW406: the deployed values against the store.
  static func deployedChecks(
    _ d: Deployed, environment name: String, all: [EnvironmentFile], workspace: Workspace,
    history: [TrailEntry], words: Wording = Advice.unworded,
    add: (FindingID, Severity, String?, String?, String, [String: String], String?, String?) -> Void
  ) {
    let redeploy = words(.exportToFile(environment: name))
    let names = workspace.config.export
    let f = workspace.fingerprinter
    let key = d.variables[names.appKey]
    let secret = d.variables[names.appSecret]
    let source = d.source
    guard let key, let secret else {
      let present = [names.appKey, names.appSecret].filter { d.variables[$0] != nil }
      add(
        .deployedOneVariable, .error, name, nil,
        present.isEmpty
          ? "\(source) holds neither \(names.appKey) nor \(names.appSecret)"
          : "\(source) holds only \(present[0])", [:], redeploy, source)
      return
    }
    // Paste accidents: whitespace or quotes around a value (fingerprint of the trimmed value).
    for (variable, value) in [(names.appKey, key), (names.appSecret, secret)] {
      do {
        try ValueCheck.validate(
          value, variable == names.appKey ? .appKey : .appSecret, source: source, raw: false)
      } catch {
        add(
          .deployedPasteAccident, .warning, name, nil, "\(variable) in \(source): \(error.message)", [:],
          redeploy, source)
      }
    }
    let kfp = f.fingerprint(key)
    let sfp = f.fingerprint(secret)
    let env = all.first { $0.environment == name }
    let active = env?.active
    if let active, active.fingerprints.appKey == kfp, active.fingerprints.appSecret == sfp { return }
    let ev = [
      "deployed_app_key_fp": kfp, "deployed_app_secret_fp": sfp, "active_set_id": active?.id ?? "none",
    ]
    if let active, active.fingerprints.appKey == sfp, active.fingerprints.appSecret == kfp {
      add(
        .deployedNamesExchanged, .error, name, active.id,
        "\(source): \(names.appKey) holds the App Secret and \(names.appSecret) the App Key", ev,
        redeploy, source)
      return
    }
    // Which stored set is it, if any?
    for other in all {
      for s in other.sets where s.fingerprints.appKey == kfp && s.fingerprints.appSecret == sfp {
        if other.environment != name {
          add(
            .deployedOtherEnvironment, .error, name, s.id,
            "\(source) holds \(other.environment)'s set \(s.id), not \(name)'s",
            ev, redeploy, source)
        } else {
          add(
            .deployedNotActive, .error, name, s.id,
            "\(source) holds \(name)'s \(s.state.rawValue) set \(s.id), not the active one",
            ev, redeploy, source)
        }
        return
      }
    }
    let retired = history.contains { e in
      e.environment == name && e.appKeyFP == kfp && e.appSecretFP == sfp
    }
    if retired {
      add(
        .deployedRetiredSet, .error, name, nil,
        "\(source) holds a set \(name) no longer has (retired or replaced)",
        ev, redeploy, source)
      return
    }
    let otherKey = all.contains { e in
      e.environment != name && e.sets.contains { $0.fingerprints.appKey == kfp }
    }
    add(
      otherKey ? .deployedOtherEnvironment : .deployedNotActive, .error, name, nil,
      otherKey
        ? "\(source) holds another environment's App Key"
        : "\(source) holds a pair keyward does not know for \(name)", ev, redeploy,
      source)
  }
}

/// A set's two fingerprints as one key.
struct PairKey: Hashable {
  let key: String
  let secret: String
  init(_ f: SetFingerprints) {
    key = f.appKey
    secret = f.appSecret
  }
}
