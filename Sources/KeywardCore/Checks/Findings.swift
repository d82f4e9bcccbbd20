/// How serious a finding is; `--fail-on` compares against it.
public enum Severity: String, Sendable, Encodable, Comparable, CaseIterable {
  case note
  case warning
  case error

  var rank: Int { self == .note ? 0 : self == .warning ? 1 : 2 }
  public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One problem found by `keyward check`: never a value, only fingerprints, names and dates.
public struct Finding: Sendable, Encodable, Equatable {
  public var id: String
  public var severity: Severity
  public var environment: String?
  public var set: String?
  public var message: String
  /// Names and values that back the message (fingerprints, dates, ids).
  public var evidence: [String: String] {
    get { PackedEvidence.unpack(packedEvidence) }
    set { packedEvidence = PackedEvidence.pack(newValue) }
  }
  /// `evidence`, sorted by name and packed into one string: as a dictionary each finding's cost
  /// about 300 bytes more, 6 MB over the 21,000 findings of 3,000 environments.
  var packedEvidence: String
  /// The command to run about it.
  public var remedy: String?
  /// The file the finding is about (for SARIF locations).
  public var file: String?
  /// The line in `file`, when the finding is about one (SARIF's region).
  public var line: Int?
  /// The column (1-based, in bytes) in `line`.
  public var column: Int?

  enum CodingKeys: String, CodingKey {
    case severity, environment, message, evidence, remedy, file, line, column
    case id = "finding_id"
    case set = "set_id"
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(id, forKey: .id)
    try c.encode(severity, forKey: .severity)
    try c.encodeIfPresent(environment, forKey: .environment)
    try c.encodeIfPresent(set, forKey: .set)
    try c.encode(message, forKey: .message)
    try c.encode(evidence, forKey: .evidence)
    try c.encodeIfPresent(remedy, forKey: .remedy)
    try c.encodeIfPresent(file, forKey: .file)
    try c.encodeIfPresent(line, forKey: .line)
    try c.encodeIfPresent(column, forKey: .column)
  }

  public init(
    id: String, severity: Severity, environment: String?, set: String?, message: String,
    evidence: [String: String],
    remedy: String?, file: String?, line: Int? = nil, column: Int? = nil
  ) {
    // One line each, whatever a file or the trail put in them: a name holding a newline must not
    // forge a line of the report.
    func oneLine(_ s: String) -> String { Text.printable(s, keepNewlines: false) }
    self.id = id
    self.severity = severity
    self.environment = environment.map(oneLine)
    self.set = set.map(oneLine)
    self.message = oneLine(message)
    self.packedEvidence = PackedEvidence.pack(evidence.mapValues(oneLine))
    self.remedy = remedy.map(oneLine)
    self.file = file.map(oneLine)
    self.line = line
    self.column = column
  }
}

/// A finding's evidence as one string: each name and value, sorted by name, as its UTF-8 length,
/// `:` and its bytes (`4:time20:2026-01-01T00:00:00Z`), so no byte of a value can be misread.
enum PackedEvidence {
  static func pack(_ evidence: [String: String]) -> String {
    var out = ""
    for k in evidence.keys.sorted() {
      let v = evidence[k]!
      out += "\(k.utf8.count):\(k)\(v.utf8.count):\(v)"
    }
    return out
  }

  static func pairs(_ packed: String) -> [(String, String)] {
    var out = [(String, String)]()
    var u = packed.utf8[...]
    func next() -> String {
      let colon = u.firstIndex(of: UInt8(ascii: ":"))!
      let n = Int(String(decoding: u[..<colon], as: UTF8.self))!
      let start = u.index(after: colon)
      let end = u.index(start, offsetBy: n)
      u = u[end...]
      return String(decoding: packed.utf8[start..<end], as: UTF8.self)
    }
    while !u.isEmpty {
      let k = next()
      out.append((k, next()))
    }
    return out
  }

  static func unpack(_ packed: String) -> [String: String] {
    Dictionary(pairs(packed), uniquingKeysWith: { a, _ in a })
  }
}

/// The one registry of finding ids, KW1xx–KW8xx: what `check`, `audit` and `csp` report, with a
/// title, a default severity and a paragraph that says what, why and how to fix. SARIF's rules are
/// generated from it and a test holds the README's tables to it.
public enum FindingID: String, Sendable, CaseIterable {
  case swappedInStore = "KW101"
  case swappedOnline = "KW102"
  case sameKeyAcrossEnvironments = "KW201"
  case sameSecretAcrossEnvironments = "KW202"
  case productionHoldsOtherEnvironmentsSet = "KW203"
  case stale = "KW301"
  case retiringPastGrace = "KW302"
  case pendingNotPromoted = "KW303"
  case lastVerificationFailed = "KW304"
  case neverVerified = "KW305"
  case onlineInconclusive = "KW306"
  case retiredPairReused = "KW307"
  case deployedNotActive = "KW401"
  case deployedOneVariable = "KW402"
  case deployedNamesExchanged = "KW403"
  case deployedOtherEnvironment = "KW404"
  case deployedRetiredSet = "KW405"
  case deployedPasteAccident = "KW406"
  case testCredentialInProduction = "KW501"
  case recipientKeyMismatch = "KW601"
  case keyFileTooOpen = "KW602"
  case plaintextInWorkspace = "KW603"
  case unexpectedFile = "KW604"
  case specialFileInWorkspace = "KW605"
  case noTrustRoot = "KW606"
  case exposedToRevoked = "KW607"
  case notActivated = "KW608"
  case gitAttributes = "KW609"
  case cspBlocked = "KW701"
  case cspNoLoader = "KW702"
  case cspLoaderTwice = "KW703"
  case cspLoaderSource = "KW704"
  case cspKeyOfOtherEnvironment = "KW705"
  case cspUnknownKey = "KW706"
  case cspSecretInPage = "KW707"
  case cspReportOnly = "KW708"
  case cspUnsafeInline = "KW711"
  case cspUnsafeEval = "KW712"
  case cspWildcard = "KW713"
  case cspBareScheme = "KW714"
  case cspNoObjectSrc = "KW715"
  case cspNoBaseURI = "KW716"
  case cspReportOnlyOnly = "KW717"
  case cspStrictDynamicAlone = "KW718"
  case cspParseWarning = "KW719"
  case trailInterrupted = "KW801"
  case trailChangedOutside = "KW802"
  case trailBroken = "KW803"
  case trailUnsigned = "KW804"
  case trailNonMember = "KW805"
  case trailConcurrent = "KW806"
  case trailReconciled = "KW807"
  case trailCut = "KW808"
  case trailHistory = "KW809"
  case trailMemoryLost = "KW810"
  case plaintextCopyLive = "KW901"
  case plaintextCopyRetired = "KW902"

  public var title: String { entry.title }
  /// The severity the finding has unless its text says otherwise (production raises some).
  public var defaultSeverity: Severity { entry.severity }
  /// What it means, why it matters, what to do.
  public var explanation: String { entry.explanation }

  var entry: (title: String, severity: Severity, explanation: String) {
    switch self {
    case .swappedInStore:
      return (
        "App Key and App Secret swapped in a stored set", .error,
        "A set's App Key fingerprint equals a stored App Secret's fingerprint (or the other way round): the two values were entered in the wrong order. The provider rejects every token. Store the set again with the values in the right fields, replacing the swapped one (the finding's remedy is the command)."
      )
    case .swappedOnline:
      return (
        "the provider accepts the pair only the other way round (checked online)", .error,
        "The provider refused the set as stored and accepted it with App Key and App Secret exchanged. Store it again in the right order."
      )
    case .sameKeyAcrossEnvironments:
      return (
        "the same App Key in two environments", .warning,
        "Two environments hold the same App Key, so one environment's traffic counts against the other's and a rotation in one breaks the other. Give each environment its own app (an error when one of them is production)."
      )
    case .sameSecretAcrossEnvironments:
      return (
        "the same App Secret in two environments", .error,
        "Two environments share an App Secret: whoever can read the less protected one can act as the other. Rotate one of them."
      )
    case .productionHoldsOtherEnvironmentsSet:
      return (
        "a production environment holds a set that is or was another environment's", .error,
        "Production holds a set that the audit trail shows in another environment, typically staging's key promoted to production by mistake. Rotate production to its own set."
      )
    case .stale:
      return (
        "a set older than the rotation policy allows", .warning,
        "A set is older than the policy's warn age (a warning) or max age (an error). Long-lived secrets are more likely to have leaked. Rotate: keyward rotate ENV, verify, promote."
      )
    case .retiringPastGrace:
      return (
        "a retiring set kept past its grace period", .warning,
        "An old set is still present after its grace period. Once nothing deployed uses it, remove it with keyward retire ENV."
      )
    case .pendingNotPromoted:
      return (
        "a pending set never promoted", .warning,
        "A rotation was started but never finished. Verify and promote the pending set, or discard it."
      )
    case .lastVerificationFailed:
      return (
        "the last live verification found a problem", .error,
        "The provider rejected the set the last time it was verified (invalid key or secret, swapped, disabled, accepts any token). Fix or rotate the set and verify again."
      )
    case .neverVerified:
      return (
        "a set never verified live", .note,
        "Nothing shows that the provider accepts this set. Run keyward verify ENV (a warning in production)."
      )
    case .onlineInconclusive:
      return (
        "the live check could not verify a set (checked online)", .note,
        "The provider could not be asked or gave an answer that decides nothing (network, rate limit, an unexpected page). Try again later; nothing was found wrong."
      )
    case .retiredPairReused:
      return (
        "a retired pair is stored again", .error,
        "A set holds the same App Key and App Secret as a set this environment retired earlier (the trail remembers their fingerprints). A pair is retired because it was rotated out — often because it leaked or a person left; storing it again undoes that. Get a new pair from the provider and rotate to it."
      )
    case .deployedNotActive:
      return (
        "the deployed pair is not the environment's active set", .error,
        "What is deployed is an older, pending or unknown set. Export the active set again and redeploy."
      )
    case .deployedOneVariable:
      return (
        "only one of the two variables is deployed", .error,
        "Only the App Key or only the App Secret is in the deployed environment; verification fails on every request. Deploy both."
      )
    case .deployedNamesExchanged:
      return (
        "the deployed variable names are exchanged", .error,
        "The variable meant for the App Key holds the App Secret and the other way round. Fix the deployment's variable names."
      )
    case .deployedOtherEnvironment:
      return (
        "the deployed pair belongs to another environment", .error,
        "The deployment uses another environment's set, for example staging's key in production. Export the right environment."
      )
    case .deployedRetiredSet:
      return (
        "the deployed pair is a retired set", .error,
        "The deployment still uses a set the environment no longer has; the provider may already have revoked it. Export the active set and redeploy."
      )
    case .deployedPasteAccident:
      return (
        "a deployed value looks pasted with whitespace or quotes", .warning,
        "A deployed value has surrounding whitespace, quotes or control characters, which providers treat as part of the value. Export it again instead of pasting."
      )
    case .testCredentialInProduction:
      return (
        "a provider's public test credential in a production environment", .error,
        "Production holds a published test key or secret that accepts every token: the CAPTCHA protects nothing. Store the real pair."
      )
    case .recipientKeyMismatch:
      return (
        "the environment's recipient key is not the key store's key", .error,
        "New values are sealed to the environment file's public key, but this machine's key store holds another key, so this machine cannot open them. Restore the right key file, or rekey."
      )
    case .keyFileTooOpen:
      return (
        "a private key file or key-store folder open to group or others", .error,
        "Other users of this machine can read the key (or swap it). keyward refuses such keys as ssh does. chmod 600 the file and 700 the folders."
      )
    case .plaintextInWorkspace:
      return (
        "a plaintext secret in the workspace folder", .error,
        "A file in the workspace holds a stored value in plain text, found by fingerprint. Delete it, purge it from git history, and rotate the set if it was ever pushed."
      )
    case .unexpectedFile:
      return (
        "a file in the workspace folder that keyward did not write", .warning,
        "The workspace folder holds a file keyward does not know. Move it out: the folder is for keyward's files."
      )
    case .specialFileInWorkspace:
      return (
        "a symbolic link, FIFO, device or socket in the workspace folder or key store", .error,
        "A link committed to a repository survives git clone and can point at any file of a reader's machine (audit.jsonl -> ~/.bashrc); a FIFO blocks a reader. keyward never follows or opens such files. Replace it with the real file or delete it."
      )
    case .noTrustRoot:
      return (
        "no trust root: the workspace trusts whatever its folder says", .warning,
        "Without a signed state anyone who can write to the repository can substitute a recipient key (new secrets are sealed to theirs), point verification at their endpoint, or activate a set they control. An admin who holds the environment keys runs keyward trust init; every machine then pins the root."
      )
    case .exposedToRevoked:
      return (
        "a set that a revoked member could read is still in use", .error,
        "Revoking rekeys the environment, but the old ciphertexts stay in git history and the revoked person's old key (or wrap) opens them. Every set they could read is exposed until it is rotated: rotate, verify, promote, then retire the old set."
      )
    case .notActivated:
      return (
        "an active set that no member activated", .error,
        "The environment file marks a set active, but no signed manifest by an admin or member names it: someone made it active by editing the file. In production show, export and run refuse it (exit 4); elsewhere they warn. A member verifies the set and promotes it, or the file is restored."
      )
    case .gitAttributes:
      return (
        "a git attribute changes what git stores or checks out for the workspace's files", .error,
        "A .gitattributes line (or .git/info/attributes) gives files of the workspace a filter (git-lfs: git then stores a pointer, not the file), a working-tree encoding, ident expansion or a merge driver. With a filter, history holds pointers in place of the signed state and the activation manifests, so a machine with no record of an environment can no longer tell a restored older set from the newest (a production deploy warns, KEYWARD_REQUIRE_HISTORY=1 refuses); the others change the files' bytes on checkout or merge them line by line. keyward writes every file of the workspace itself: remove the attribute for the workspace folder, on the pull request that adds it. `git check-attr -a PATH` shows what applies."
      )
    case .cspBlocked:
      return (
        "a resource the CAPTCHA provider needs is blocked by a CSP", .error,
        "An enforced Content-Security-Policy blocks a script, frame, style or connection the widget needs, so the widget fails to load and every form post is rejected. The report says which policy and directive block it and prints the minimal fix."
      )
    case .cspNoLoader:
      return (
        "no loader script on the page", .error,
        "The page has no <script> that loads the provider's loader, so no widget appears. Add the loader tag."
      )
    case .cspLoaderTwice:
      return (
        "the loader is included more than once", .warning,
        "Loading the loader twice can render two widgets or break token handling. Keep one tag."
      )
    case .cspLoaderSource:
      return (
        "the loader comes from another CDN host or over http", .note,
        "The loader is taken from the fallback host (a note) or over plain http (a warning: it can be replaced in transit)."
      )
    case .cspKeyOfOtherEnvironment:
      return (
        "the widget's App Key belongs to another environment", .error,
        "The page's widget uses another environment's App Key (by fingerprint), typically staging's on production. Deploy the right key."
      )
    case .cspUnknownKey:
      return (
        "the widget's App Key is not one of the environment's sets, or not the active one", .warning,
        "The page's App Key is not the environment's active set. Export the active set and redeploy the page."
      )
    case .cspSecretInPage:
      return (
        "an App Secret of the workspace is in the page", .error,
        "The page sent to browsers contains an App Secret: anyone can read it. Remove it from the page and rotate the set now."
      )
    case .cspReportOnly:
      return (
        "a report-only policy would report a required resource", .note,
        "A Content-Security-Policy-Report-Only header would block a required resource if it were enforced. Fix it before enforcing it."
      )
    case .cspUnsafeInline:
      return (
        "'unsafe-inline' in script-src", .warning,
        "Any inline script runs, which undoes most of what a CSP protects against. Use nonces or hashes."
      )
    case .cspUnsafeEval:
      return (
        "'unsafe-eval' in script-src", .warning,
        "eval() and new Function() are allowed. Remove it unless a dependency needs it."
      )
    case .cspWildcard:
      return (
        "* as a source", .warning,
        "Any host may serve the resource type; for scripts this allows any attacker-controlled host. Name the hosts."
      )
    case .cspBareScheme:
      return (
        "a bare scheme (https:, data:, …) as a source", .warning,
        "Every host of that scheme is allowed; for scripts this is nearly as open as *. Name the hosts."
      )
    case .cspNoObjectSrc:
      return (
        "no object-src", .warning,
        "Without object-src (or a default-src) plugins can load from anywhere. Add object-src 'none'."
      )
    case .cspNoBaseURI:
      return (
        "no base-uri", .note,
        "Without base-uri an injected <base> tag can redirect relative script URLs. Add base-uri 'self' or 'none'."
      )
    case .cspReportOnlyOnly:
      return (
        "only report-only policies", .warning,
        "Nothing is enforced; report-only policies only report. Enforce the policy once the reports are clean."
      )
    case .cspStrictDynamicAlone:
      return (
        "'strict-dynamic' without a nonce or hash", .warning,
        "'strict-dynamic' trusts only scripts loaded by nonced or hashed ones; without either no script runs. Add the nonce or hash."
      )
    case .cspParseWarning:
      return (
        "a CSP parse warning, or a meta policy browsers ignore", .note,
        "A directive or source browsers ignore (misspelled, misplaced, or a <meta> policy outside <head>). Fix the text so the policy says what was meant."
      )
    case .trailInterrupted:
      return (
        "the audit trail records a change its environment file never got (interrupted)", .warning,
        "A write was announced in the trail and then interrupted before the environment file was replaced. The next keyward write records it; review what was meant."
      )
    case .trailChangedOutside:
      return (
        "an environment file changed and no trail entry announces it", .error,
        "The file's digest differs from the state the trail's last record of it announced: it was edited by hand, restored from git, or tampered with (an edited ciphertext, state or fingerprint). This is an integrity failure (exit 4 in audit). Review the file's git history; if the change is legitimate, the next keyward write to the environment records it."
      )
    case .trailBroken:
      return (
        "the audit trail is broken or forged", .error,
        "An entry or checkpoint of the trail (or a line of the version-1 audit.jsonl) was edited, forged, truncated or does not parse, so the trail no longer proves what happened. The report names the file and line; restore it from version control and find out who changed it."
      )
    case .trailUnsigned:
      return (
        "an unsigned trail entry", .error,
        "An entry in a trusted workspace carries no signature: whoever wrote it had no identity, so nothing proves who made the change it announces. Find out who did (keyward log), then an admin who has reviewed it compacts the trail (keyward trail checkpoint), which attests it."
      )
    case .trailNonMember:
      return (
        "a trail entry signed by someone who is not a member", .error,
        "The entry's signature verifies, but the signed state names no admin, member or reader with that key: someone outside the team wrote to the repository. Review the change it announces; an admin grants access (keyward access grant) or reverts it."
      )
    case .trailConcurrent:
      return (
        "merged branches both changed an environment, and nobody recorded the resolution", .error,
        "Two branches of the repository each changed the same environment file; git's conflict was resolved by a person, and the trail cannot say which sets survived. A member checks the file and signs the result with keyward trust resolve ENV (the next keyward write to the environment records it too). Exit 4 until then."
      )
    case .trailReconciled:
      return (
        "a write recorded an interrupted or outside change", .warning,
        "When a keyward write finds an environment file that the trail does not announce (an interrupted write, an edit by hand or a merge), it records that before its own change. These records are listed so that a reviewer sees every change the trail did not announce in advance."
      )
    case .trailCut:
      return (
        "trail entries were removed", .error,
        "An entry that another entry follows, that a checkpoint counts, that anchors audit.jsonl, or that this machine saw earlier is gone: the trail was cut or rewritten. Restore it from version control (keyward audit, walking git's history, names the commit that removed it)."
      )
    case .trailHistory:
      return (
        "a commit removed trail entries or lowered the signed state's version", .error,
        "keyward audit, walking git's history, checks the repository's commits: every trail entry of a parent commit must survive in its child (or in a checkpoint there), and the signed state's version never goes down. The finding names the commit; find out who pushed it."
      )
    case .trailMemoryLost:
      return (
        "this machine's record of the trail heads it saw was lost", .warning,
        "Each machine records, in its key store, the trail heads it wrote or audited, so that a later cut of them is caught (KW808). That record is not synced to disk after each write (see the README's Decisions), so a crash or power loss within about half a minute of a keyward write can leave it empty. Its heads are then forgotten: a cut made before now cannot be detected on this machine. Compare the trail with another clone's, or walk git's history with keyward audit's history check; the next audit or write records the current heads again."
      )
    case .plaintextCopyLive:
      return (
        "a plaintext copy of a live App Key or App Secret in the repository", .error,
        "keyward scan found a stored value (of an active, pending or retiring set) in a file, the index or a blob of the history, by fingerprint: plain, base64, URL-encoded or escaped. Anyone who can read the repository can use it. Rotate the environment now, then delete the copy and purge it from history."
      )
    case .plaintextCopyRetired:
      return (
        "a plaintext copy of a retired App Key or App Secret", .warning,
        "keyward scan found a value of a set the environment no longer holds (the trail remembers its fingerprints). It is harmless only if the provider revoked it: check that, then delete the copy."
      )
    }
  }
}

extension Finding {
  /// The finding as its `Encodable` conformance writes it (`DirectJSONDocument`).
  public func write(into out: inout [UInt8], indent: Int) {
    var o = JSONValue.Members(indent: indent)
    o.int("column", column, into: &out)
    o.string("environment", environment, into: &out)
    o.key("evidence", into: &out)
    let pairs = PackedEvidence.pairs(packedEvidence)
    JSONValue.writeObject(pairs.map(\.0), into: &out, indent: indent + 2) { n, out in
      JSONValue.writeString(pairs[n].1, into: &out)
    }
    o.string("file", file, into: &out)
    o.string("finding_id", id, into: &out)
    o.int("line", line, into: &out)
    o.string("message", message, into: &out)
    o.string("remedy", remedy, into: &out)
    o.string("set_id", set, into: &out)
    o.string("severity", severity.rawValue, into: &out)
    o.end(into: &out)
  }

  /// A list of findings at `indent`, as the generic encoder writes `[Finding]`; `flush` takes
  /// the buffer whenever it has grown past `JSONValue.flushSize`.
  public static func write(
    _ findings: [Finding], into out: inout [UInt8], indent: Int, flush: (inout [UInt8]) -> Void = { _ in }
  ) {
    JSONValue.writeArray(findings.count, into: &out, indent: indent, flush: flush) { i, out in
      findings[i].write(into: &out, indent: indent + 2)
    }
  }
}

extension CheckOperation {
  /// `check --format json`: the findings, the severity that fails, and how many do.
  public struct Report: Encodable, DirectJSONDocument {
    public var findings: [Finding]
    public var failOn: Severity
    public var failing: Int

    enum CodingKeys: String, CodingKey {
      case findings
      case failing = "failing_count"
      case failOn = "fail_on"
    }

    public init(findings: [Finding], failOn: Severity, failing: Int) {
      self.findings = findings
      self.failOn = failOn
      self.failing = failing
    }

    public func writeDocument(schemaVersion: Int, flush: (inout [UInt8]) -> Void) {
      var out = [UInt8]()
      out.reserveCapacity(JSONValue.flushSize + (1 << 16))
      var o = JSONValue.Members(indent: 0)
      o.string("fail_on", failOn.rawValue, into: &out)
      o.int("failing_count", failing, into: &out)
      o.key("findings", into: &out)
      Finding.write(findings, into: &out, indent: 2, flush: flush)
      o.int("schema_version", schemaVersion, into: &out)
      o.end(into: &out)
      out.append(0x0a)
      flush(&out)
    }
  }
}
