/// What the trail says about itself, as findings `check` and `audit` share: problems that break
/// it, environment files no entry announces, entries nobody (or a stranger) signed, and the
/// records of changes a write found unannounced.
public enum TrailFindings {
  /// Ids whose finding is an integrity failure: `audit` exits 4 on them.
  public static let integrity: Set<String> = [
    FindingID.trailChangedOutside.rawValue, FindingID.trailBroken.rawValue,
    FindingID.trailConcurrent.rawValue, FindingID.trailCut.rawValue,
  ]

  /// At most this many findings of one kind about single entries; the rest are counted in one more.
  static let perKind = 50

  public static func findings(_ index: TrailIndex, workspace: Workspace, words: Wording = Advice.unworded)
    -> [Finding]
  {
    var out = [Finding]()
    for p in index.problems {
      let id: FindingID = p.kind == .cut ? .trailCut : .trailBroken
      out.append(
        Finding(
          id: id.rawValue, severity: .error, environment: nil, set: nil, message: p.message, evidence: [:],
          remedy: words(.restoreTrail),
          file: p.file, line: p.line))
    }
    if let lost = Trail.Seen.lost(workspace: workspace.path, env: .process) {
      out.append(
        Finding(
          id: FindingID.trailMemoryLost.rawValue, severity: .warning, environment: nil, set: nil,
          message:
            "this machine's record of the trail heads it saw was lost (\(lost)): a cut of the trail made before then cannot be detected on this machine",
          evidence: [:], remedy: words(.checkTrailElsewhere),
          file: Trail.Seen.path(workspace: workspace.path, env: .process)))
    }
    let pending = Trail.Seen.pending(workspace: workspace.path, env: .process)
    for m in workspace.mismatches(maxima: index.maximalRecords(), pending: pending) {
      let id: FindingID =
        switch m.kind {
        case .interrupted: .trailInterrupted
        case .changedOutside: .trailChangedOutside
        case .concurrent: .trailConcurrent
        }
      out.append(
        Finding(
          id: id.rawValue, severity: id.defaultSeverity, environment: m.environment, set: nil,
          message: m.message,
          evidence: ["trail": m.ref, "file_digest": m.fileDigest],
          remedy: m.kind == .concurrent
            ? "check \(m.environment).json, then keyward trust resolve \(m.environment)"
            : "review the file's git history; the next keyward write to \(m.environment) records it",
          file: workspace.environmentPath(m.environment)))
    }
    // Entries a checkpoint does not attest: who signed them.
    var unsigned = [TrailIndex.Entry]()
    var strangers = [(TrailIndex.Entry, PublicIdentity)]()
    var reconciled = [TrailEntry]()
    for e in index.entries where !e.checkpointed {
      if let signer = e.signer {
        // A signer counts only where they have a role: a reader of dev announcing prod's file
        // is a stranger to prod.
        if let trust = workspace.trust,
          name(of: signer, in: trust) == nil
            || (trust.admin(signer) == nil
              && e.records.contains { r in
                r.envAfter != nil && trust.role(of: signer, in: r.environment ?? "") == nil
              })
        {
          strangers.append((e, signer))
        }
      } else if workspace.trust != nil {
        unsigned.append(e)
      }
    }
    // Changes a write found unannounced stay listed for good, checkpoint or not: a reviewer must
    // see every change the trail did not announce in advance.
    for r in index.history
    where r.entry != nil && ["interrupted", "external-change", "resolve"].contains(r.action ?? "") {
      reconciled.append(r)
    }
    var place = [String: (file: String, line: Int?)]()
    if !reconciled.isEmpty { for e in index.entries { place[e.id] = (e.file, e.line) } }
    func capped<T>(_ list: [T], _ id: FindingID, _ what: String, _ one: (T) -> Finding) {
      out += list.prefix(perKind).map(one)
      if list.count > perKind {
        out.append(
          Finding(
            id: id.rawValue, severity: id.defaultSeverity, environment: nil, set: nil,
            message: "\(list.count - perKind) more \(what) (keyward log lists them all)", evidence: [:],
            remedy: nil, file: "\(workspace.path)/\(Trail.folder)"))
      }
    }
    capped(unsigned, .trailUnsigned, "unsigned entries") { e in
      Finding(
        id: FindingID.trailUnsigned.rawValue, severity: .error, environment: e.records.first?.environment,
        set: e.records.first?.set,
        message:
          "entry \(e.id.prefix(12)) (\(e.command) by \(e.actor), \(e.time)) is unsigned: nothing proves who wrote it",
        evidence: ["entry_id": e.id], remedy: "an admin reviews it, then: keyward trail checkpoint",
        file: e.file,
        line: e.line)
    }
    capped(strangers, .trailNonMember, "entries signed by non-members") { (e, key) in
      Finding(
        id: FindingID.trailNonMember.rawValue, severity: .error, environment: e.records.first?.environment,
        set: e.records.first?.set,
        message:
          "entry \(e.id.prefix(12)) (\(e.command) of \(Set(e.records.compactMap(\.environment)).sorted().joined(separator: ", ")), \(e.time)) is signed by \(key.fingerprint) (calling itself \"\(e.actor)\"), who has no role there in the signed state",
        evidence: ["entry_id": e.id, "signer": key.fingerprint],
        remedy: "review the change; an admin grants access (keyward access grant) or reverts it",
        file: e.file,
        line: e.line)
    }
    capped(reconciled, .trailReconciled, "recorded outside changes") { r in
      let id = r.entry ?? ""
      // A compacted entry is located by the checkpoint whose index kept its record.
      let at = place[id] ?? (index.baseFile ?? "\(workspace.path)/\(Trail.folder)", nil)
      return Finding(
        id: FindingID.trailReconciled.rawValue, severity: .warning, environment: r.environment, set: nil,
        message:
          "entry \(id.prefix(12)) (\(r.command ?? "?") by \(r.actor ?? "?"), \(r.time ?? "?")) recorded \(r.action ?? "?") of \(r.environment ?? "?") found unannounced",
        evidence: [
          "entry_id": id, "ref": r["ref"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "",
        ],
        remedy: "review the environment file's git history around that entry", file: at.file, line: at.line)
    }
    return out
  }

  /// Each signer's name in the signed state and fingerprint, found once per key: a trail has few
  /// signers and many entries, and a fingerprint is a hash (`audit`'s summary, `log`'s rows).
  public struct Signers: Sendable {
    let trust: TrustedState?
    var known: [PublicIdentity: (name: String?, fingerprint: String)] = [:]

    public init(_ trust: TrustedState?) { self.trust = trust }

    public mutating func callAsFunction(_ key: PublicIdentity) -> (name: String?, fingerprint: String) {
      if let found = known[key] { return found }
      let found = lookup(key)
      known[key] = found
      return found
    }

    /// The same without remembering it (a copy shared by workers, filled beforehand).
    public func lookup(_ key: PublicIdentity) -> (name: String?, fingerprint: String) {
      known[key] ?? (trust.flatMap { TrailFindings.name(of: key, in: $0) }, key.fingerprint)
    }
  }

  /// The signed state's name for `key`: an admin's, or a member's or reader's in any environment.
  public static func name(of key: PublicIdentity, in trust: TrustedState) -> String? {
    if let a = trust.admin(key) { return a.name }
    for (_, members) in trust.members {
      if let m = members.first(where: { $0.identity == key }) { return m.name }
    }
    return nil
  }
}
