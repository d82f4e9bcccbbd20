import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `check`, `audit` and `list` as plain values, built by ArgumentParser or by the fast path: the
/// reports CI runs on every push, over workspaces of thousands of environments. Run here, in
/// `keyward`, they start without Foundation and argument-parser: about 6 ms and 10 MB less per run
/// (README "Benchmarks"). `check --online` needs the network and stays in keyward-cli, which adds
/// its verdicts through `CheckRequest.findings` and `report` as the fast path would.
public enum CheckFormat: String, CaseIterable, Sendable {
  case text, json, sarif
}

public enum AuditFormat: String, CaseIterable, Sendable {
  case text, json, markdown, sarif
}

public struct CheckRequest: Equatable, Sendable {
  public var settings: CommonSettings
  public var environments: [String]
  public var envFile: String?
  public var envFormat: DeployedReader.Syntax?
  public var fromEnv: Bool
  /// Days, already validated (`Reports.days`).
  public var maxAgeDays: Int?
  public var format: CheckFormat
  public var failOn: Severity
  public var exitZero: Bool
  public var sarif: String?

  public init(
    settings: CommonSettings, environments: [String], envFile: String?, envFormat: DeployedReader.Syntax?,
    fromEnv: Bool, maxAgeDays: Int?, format: CheckFormat, failOn: Severity, exitZero: Bool, sarif: String?
  ) {
    self.settings = settings
    self.environments = environments
    self.envFile = envFile
    self.envFormat = envFormat
    self.fromEnv = fromEnv
    self.maxAgeDays = maxAgeDays
    self.format = format
    self.failOn = failOn
    self.exitZero = exitZero
    self.sarif = sarif
  }

  /// The settings errors are rendered with (a JSON error document with `--format json`).
  public var errorSettings: CommonSettings { settings.with(json: format == .json) }

  /// The offline check: open, read the deployed file if any, report.
  public func run() throws(KeywardError) -> ExitStatus {
    try Reports.checkSARIFPath(sarif)
    // No write between its reads; unlocked where the folder cannot be opened (its error is the
    // workspace's to report).
    let lock = try? DirectoryLock(settings.workspacePath, shared: true)
    defer { lock?.unlock() }
    let workspace = try settings.openWorkspace()
    return try report(findings(workspace: workspace), workspace: workspace, inconclusive: false)
  }

  /// The findings of the offline rules.
  public func findings(workspace: Workspace) throws(KeywardError) -> [Finding] {
    // A deployed file is compared with one environment: named, or the workspace's only one.
    let compared = environments.isEmpty ? workspace.config.environmentNames.count : environments.count
    if (envFile != nil || fromEnv) && compared != 1 {
      throw KeywardError(
        .usage, "--env-file and --from-env compare one environment: name it",
        hint: "keyward check prod --env-file .env")
    }
    var deployed: CheckOperation.Deployed?
    if let envFile { deployed = try DeployedReader.read(path: envFile, syntax: envFormat) }
    if fromEnv {
      deployed = DeployedReader.fromEnvironment(workspace.config.export, env: Reports.processEnvironment())
    }
    return try CheckOperation.run(
      workspace: workspace,
      request: .init(environments: environments, maxAgeDays: maxAgeDays, deployed: deployed),
      words: Advice.words)
  }

  /// Prints the findings in the asked format; the exit status they decide.
  public func report(_ findings: [Finding], workspace: Workspace, inconclusive: Bool) throws(KeywardError)
    -> ExitStatus
  {
    let failing = findings.count { $0.severity >= failOn }
    let p = Printer(settings)
    if let sarif {
      try Reports.writeSARIF(
        SARIF.document(findings, workspace: workspace, version: KeywardVersion.current), to: sarif)
    }
    switch format {
    case .json:
      p.document(CheckOperation.Report(findings: findings, failOn: failOn, failing: failing))
    case .sarif:
      p.out(
        String(
          decoding: SARIF.document(findings, workspace: workspace, version: KeywardVersion.current)
            .written(), as: UTF8.self))
    case .text:
      var t = ""
      for f in findings {
        let style: Printer.Style = f.severity == .error ? .red : f.severity == .warning ? .yellow : .dim
        t +=
          "\(p.style(Text.pad(f.severity.rawValue, 7), style)) \(f.id)  \(f.environment ?? "-")  \(f.message)\n"
        if let r = f.remedy, !p.quiet { t += p.style("        → \(r)\n", .dim) }
      }
      if !p.quiet {
        t +=
          findings.isEmpty
          ? "No findings.\n"
          : "\(findings.count) finding(s), \(failing) at or above \(failOn.rawValue).\n"
      }
      p.out(t)
    }
    if failing > 0 && !exitZero { return .findings }
    if inconclusive { return .inconclusive }
    return Reports.unpinned(workspace)
  }
}

public struct AuditRequest: Equatable, Sendable {
  public var settings: CommonSettings
  public var format: AuditFormat
  public var failOn: Severity
  public var exitZero: Bool
  public var sarif: String?
  public var full: Bool
  public var git: Bool

  public init(
    settings: CommonSettings, format: AuditFormat, failOn: Severity, exitZero: Bool, sarif: String?,
    full: Bool,
    git: Bool
  ) {
    self.settings = settings
    self.format = format
    self.failOn = failOn
    self.exitZero = exitZero
    self.sarif = sarif
    self.full = full
    self.git = git
  }

  public var errorSettings: CommonSettings { settings.with(json: format == .json) }

  public func run() throws(KeywardError) -> ExitStatus {
    try Reports.checkSARIFPath(sarif)
    // No write between its reads: a concurrent set made one audit in 26 pair the new file with
    // the trail from before it (KW802, exit 4). Unlocked where the folder cannot be opened.
    let lock = try? DirectoryLock(settings.workspacePath, shared: true)
    defer { lock?.unlock() }
    let workspace = try settings.openWorkspace()
    Stopwatch.lap("audit: workspace opened")
    var report = try AuditReport.run(workspace: workspace, full: full, words: Advice.words)
    var history: TrailHistory.Report? = nil
    if git { history = try TrailHistory.walk(workspace: workspace) }
    let p = Printer(settings)
    let all =
      report.environments.flatMap(\.findings) + report.workspaceFindings + (history?.findings ?? [])
    if let sarif {
      try Reports.writeSARIF(
        SARIF.document(all, workspace: workspace, version: KeywardVersion.current), to: sarif)
    }
    report.git = history
    switch format {
    case .json: p.document(report)
    case .markdown: p.out(AuditReport.markdown(report))
    case .sarif:
      p.out(
        String(
          decoding: SARIF.document(all, workspace: workspace, version: KeywardVersion.current).written(),
          as: UTF8.self))
    case .text: p.out(Self.text(report, history: history, printer: p))
    }
    Stopwatch.lap("audit: printed")
    if report.integrityFailure {
      if format == .text {
        p.note("keyward: error: the audit trail or an environment file was tampered with, cut or damaged\n")
      }
      return .integrity
    }
    if let history, !history.findings.isEmpty {
      if format == .text {
        p.note(
          "keyward: error: a commit in the git history removed trail entries or lowered the signed state's version\n"
        )
      }
      return .integrity
    }
    if let history, history.shallow {
      p.note(
        "keyward: a shallow clone: only \(history.commits) commit(s) could be walked; the history before them was not checked (exit 3)\n"
      )
      return .inconclusive
    }
    if all.contains(where: { $0.severity >= failOn }) && !exitZero { return .findings }
    return Reports.unpinned(workspace)
  }

  static func text(_ report: AuditReport.Report, history: TrailHistory.Report?, printer p: Printer) -> String
  {
    let t = report.trail
    var out =
      t.intact
      ? "Audit trail: intact, \(t.entries) entries (\(t.signed) signed and verified, \(t.attested) attested by \(t.checkpoints) checkpoint(s), \(t.unsigned) unsigned\(t.v1Entries > 0 ? ", \(t.v1Entries) in audit.jsonl" : ""))\n"
      : p.style("Audit trail: BROKEN: \(t.problem ?? "")\n", .red)
    if !t.heads.isEmpty {
      out += "  heads: \(t.heads.map { String($0.prefix(12)) }.joined(separator: ", "))\n"
    }
    for s in t.signers { out += "  signed by \(s.name) (\(s.fingerprint)): \(s.entryCount)\n" }
    if let history {
      out +=
        "Git history: \(history.commits) commits walked\(history.shallow ? " (SHALLOW CLONE: the history is incomplete)" : ""), \(history.findings.count) problem(s)\n"
      for f in history.findings { out += "  \(f.severity.rawValue) \(f.id): \(f.message)\n" }
    }
    for e in report.environments {
      out +=
        "\n\(p.style(e.name, .bold))\(e.production ? " (production)" : "")  key \(e.keyID), \(e.keyAgeDays)d old\n"
      for s in e.sets {
        out += "  \(s.id)  \(Text.pad(s.state.rawValue, 8))  \(s.ageDays)d (\(s.policy))"
        out += "  verified: \(s.lastVerification.map { "\($0.verdict) \($0.time.iso)" } ?? "never")"
        out += "  exported: \(s.lastExport ?? "never")\n"
      }
      for f in e.findings { out += "  \(f.severity.rawValue) \(f.id): \(f.message)\n" }
    }
    for f in report.workspaceFindings { out += "\n\(f.severity.rawValue) \(f.id): \(f.message)\n" }
    return out
  }
}

public struct ListRequest: Equatable, Sendable {
  public var settings: CommonSettings

  public init(settings: CommonSettings) { self.settings = settings }

  public func run() throws(KeywardError) -> ExitStatus {
    let workspace = try settings.openWorkspace()
    let report = try ListOperation.run(workspace: workspace, words: Advice.words)
    let p = Printer(settings)
    if p.json {
      p.document(report)
      return Reports.unpinned(workspace)
    }
    var t = p.quiet ? "" : "Workspace \(report.workspace) · provider \(report.provider.rawValue)\n"
    for env in report.environments {
      t +=
        "\n\(p.style(env.name, .bold))\(env.production ? " (production)" : "")  key \(env.keyID)  · \(env.stage)\n"
      if env.sets.isEmpty {
        t += p.style("  no sets — keyward set \(env.name)\n", .dim)
      }
      for s in env.sets {
        let state = Text.pad(s.state.rawValue, 8)
        let colored = p.style(state, s.state == .active ? .green : s.state == .pending ? .cyan : .yellow)
        t +=
          "  \(s.id)  \(colored)  created \(s.created.iso)  age \(ageText(from: s.created, to: report.now))"
        t += "  key fp \(s.fingerprints.appKey)  secret fp \(s.fingerprints.appSecret)"
        if let g = s.graceUntil { t += "  grace until \(g.iso)" }
        if let v = s.lastVerification {
          let age = ageText(from: v.time, to: report.now)
          t += "  verified \(age == "just now" ? age : age + " ago"): \(v.verdict)"
        } else {
          t += p.style("  never verified", .dim)
        }
        t += "\n"
      }
      if let next = env.next, !env.sets.isEmpty { t += p.style("  next: \(next)\n", .cyan) }
    }
    p.out(t)
    return Reports.unpinned(workspace)
  }
}

public enum KeywardVersion {
  public static let current = "0.1.0"
}

/// What the reporting commands share.
public enum Reports {
  /// Days like `90d` or `90`: 1 to 36,500 (a century; anything longer overflows no date but means
  /// nothing either).
  public static func days(_ text: String) -> Int? {
    Int(text.hasSuffix("d") ? String(text.dropLast()) : text).flatMap {
      (1...36_500).contains($0) ? $0 : nil
    }
  }

  /// `--sarif FILE`: the findings as SARIF beside the main report.
  public static func writeSARIF(_ document: JSONValue, to path: String) throws(KeywardError) {
    try checkSARIFPath(path)
    try FileSystem.writeAtomically(path, bytes: document.written() + [0x0a], mode: 0o644)
  }

  /// Refuses a `--sarif` path before any work is done (and again when it is written).
  public static func checkSARIFPath(_ path: String?) throws(KeywardError) {
    guard let path else { return }
    guard path != "-" else {
      throw KeywardError(.usage, "--sarif takes a file: standard output already has the main report")
    }
    // Written beside and renamed over: a link or a device there would be replaced, not written
    // through (/dev/null itself, when run as root).
    if let kind = FileSystem.irregularKind(path) {
      throw KeywardError(
        .usage, "--sarif writes a regular file, and \(path) is \(kind)",
        hint: "name a new or regular file; --format sarif writes the SARIF to standard output")
    }
  }

  /// Reporting commands on a workspace whose root this machine has not pinned: they name the root
  /// they used and end inconclusive (exit 3), unless `--trust` was given.
  public static func unpinned(_ workspace: Workspace) -> ExitStatus {
    guard let t = workspace.trust, !t.isPinned else { return .success }
    Printer.plain.note(
      "keyward: note: reported against trust root \(t.rootFingerprint), which this machine has not pinned "
        + "(keyward trust pin FINGERPRINT, or --trust); nothing here is verified against a pin\n")
    return .inconclusive
  }

  /// The process environment as a table (only `check --from-env` needs all of it).
  public static func processEnvironment() -> [String: String] {
    var out = [String: String]()
    var p = environ
    while let entry = p.pointee {
      let s = String(cString: entry)
      if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
      p += 1
    }
    return out
  }
}
