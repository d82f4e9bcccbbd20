/// Root rotation, as TUF does it: root N+1 names root N's fingerprint as `previous`, and it holds
/// only when `threshold` of root N's admins signed it, every admin it adds signed it, and
/// `threshold` of its own admins signed it. Earlier roots stay in `trust/roots/<version>.json`,
/// byte for byte, so a machine pinned to any of them walks forward; a proposal waits for its
/// signatures in `trust/root.next.json` (FORMAT.md, "Root changes").
extension Trust {
  public static let rootsFolder = "trust/roots"
  public static let nextRootName = "trust/root.next.json"

  /// A root as read from a file: the envelope, what it says, and its fingerprint.
  struct RootDoc {
    var doc: SignedDocument
    var root: Root
    var fingerprint: String
    var path: String
  }

  /// A root lists admins, not data: anything larger than this is not one.
  static let maxRootBytes = 1 << 20

  static func readRoot(_ path: String) throws(KeywardError) -> RootDoc {
    try parseRoot(
      FileSystem.read(path, limit: FileSystem.Limit(maxRootBytes, "a trust root", kind: .integrity)),
      path: path)
  }

  /// A root from its file's bytes (`path` names where they came from).
  static func parseRoot(_ bytes: [UInt8], path: String) throws(KeywardError) -> RootDoc {
    let doc = try SignedDocument.parse(bytes, source: path, type: SignedDocument.rootType)
    return RootDoc(
      doc: doc, root: try parseRoot(doc.payload, source: path), fingerprint: rootFingerprint(doc.payload),
      path: path)
  }

  /// The signatures `next` still needs to follow `prev`, in words (empty: none).
  static func signaturesMissing(_ next: RootDoc, after prev: RootDoc) -> [String] {
    var out = [String]()
    let old = next.doc.validSigners(prev.root.admins.map(\.identity))
    if old.count < prev.root.threshold {
      out.append(
        "\(prev.root.threshold - old.count) signature(s) of root \(prev.root.version)'s admins ("
          + prev.root.admins.map(\.name).joined(separator: ", ") + ")")
    }
    let own = next.doc.validSigners(next.root.admins.map(\.identity))
    for a in next.root.admins
    where !prev.root.admins.contains(where: { $0.identity == a.identity }) && !own.contains(a.identity) {
      out.append("the signature of \(a.name), whom it makes an admin")
    }
    if own.count < next.root.threshold {
      out.append("\(next.root.threshold - own.count) signature(s) of its own admins")
    }
    return out
  }

  /// Why `next` does not follow `prev` (nil: it does).
  static func successionProblem(_ next: RootDoc, after prev: RootDoc) -> String? {
    if let problem = shapeProblem(next, after: prev) { return problem }
    let missing = signaturesMissing(next, after: prev)
    return missing.isEmpty ? nil : "it lacks " + missing.joined(separator: "; ")
  }

  /// Why `next` cannot follow `prev` whatever its signatures (nil: it can).
  static func shapeProblem(_ next: RootDoc, after prev: RootDoc) -> String? {
    guard next.root.version == prev.root.version + 1 else {
      return
        "it is version \(next.root.version), and only version \(prev.root.version + 1) may follow version \(prev.root.version)"
    }
    guard next.root.previous == prev.fingerprint else {
      return "it names \(next.root.previous ?? "no root") as the root before it, not \(prev.fingerprint)"
    }
    guard next.root.workspaceID == prev.root.workspaceID else {
      return "it belongs to workspace \(next.root.workspaceID), not \(prev.root.workspaceID)"
    }
    return nil
  }

  /// The proposal in `trust/root.next.json` when it follows `current` with every signature it needs.
  static func completedProposal(_ workspace: String, of current: RootDoc) throws(KeywardError) -> RootDoc? {
    let path = "\(workspace)/\(nextRootName)"
    guard FileSystem.exists(path) else { return nil }
    let next = try readRoot(path)
    return successionProblem(next, after: current) == nil ? next : nil
  }

  /// Checks that the root pinned as `pinned` leads to `current` through signed changes, one version
  /// at a time, using the earlier roots kept in `trust/roots/` (and `also`, root.json's root when
  /// `current` is a proposal whose publication was interrupted).
  static func walkRoots(
    _ workspace: String, from pinned: String, to current: RootDoc, also: RootDoc?, pinnedBy: String
  ) throws(KeywardError) {
    let folder = "\(workspace)/\(rootsFolder)"
    var byVersion = [Int: RootDoc]()
    var start: RootDoc?
    var kept = [RootDoc]()
    if FileSystem.exists(folder) {
      guard FileSystem.irregularKind(folder) == "a folder" else {
        throw KeywardError(.integrity, "\(folder) is \(FileSystem.irregularKind(folder) ?? "not a folder")")
      }
      for name in FileSystem.listDirectory(folder).sorted() where name.hasSuffix(".json") {
        let r = try readRoot("\(folder)/\(name)")
        guard name == "\(r.root.version).json" else {
          throw KeywardError(.integrity, "\(folder)/\(name) holds root version \(r.root.version)")
        }
        kept.append(r)
      }
    }
    if let also { kept.append(also) }
    for r in kept {
      if r.fingerprint == pinned { start = r }
      if r.root.version < current.root.version { byVersion[r.root.version] = r }
    }
    let replaced =
      "the workspace's trust root is now \(current.fingerprint) (version \(current.root.version)), but \(pinnedBy) names \(pinned)"
    let advice = Advice.pinNewRoot(fingerprint: current.fingerprint)
    guard let start else {
      throw KeywardError(
        .integrity,
        "\(replaced), and no earlier root kept in \(folder) has that fingerprint: the root was replaced "
          + "(a new root needs the old admins' signatures; keyward never re-pins silently)", advice: advice)
    }
    guard start.root.version < current.root.version else {
      throw KeywardError(
        .integrity,
        "\(replaced), root version \(start.root.version): an older root (version \(current.root.version)) was restored (rollback)",
        hint: "restore the newest trust/ folder from version control")
    }
    var prev = start
    for v in (start.root.version + 1)...current.root.version {
      guard let next = v == current.root.version ? current : byVersion[v] else {
        throw KeywardError(
          .integrity,
          "\(replaced), and \(folder)/\(v).json is missing: the change from root version \(v - 1) cannot be verified",
          hint: "restore \(folder) from version control")
      }
      if let problem = successionProblem(next, after: prev) {
        throw KeywardError(
          .integrity,
          "\(replaced), and \(next.path) is not a valid change of the root from version \(prev.root.version) (\(prev.fingerprint)): \(problem); "
            + "keyward follows only root changes the previous root's admins signed", advice: advice)
      }
      prev = next
    }
  }

  // MARK: Proposing, signing and publishing a root change (admins)

  /// Where a root change stands.
  public struct RootProposal: Sendable {
    public var version: Int
    public var fingerprint: String
    /// Admins it adds; a name that keeps its place with another key says so in its note.
    public var added: [Person]
    public var removed: [Person]
    /// Every admin of the proposed root.
    public var admins: [Person]
    public var threshold: Int
    /// Who signed it, by the key that made each signature (a key two names share: "a/b").
    public var signedBy: [Person]
    public var missing: [String]
    /// Set once the change is the workspace's root.
    public var published: Bool
  }

  /// An admin as a reviewer reads one: a name, the key's fingerprint, and a note when it matters.
  public struct Person: Sendable, Equatable {
    public var name: String
    public var fingerprint: String
    public var note: String? = nil
    /// "name (fingerprint)", and the note after a colon.
    public var shown: String { "\(name) (\(fingerprint))" + (note.map { ": \($0)" } ?? "") }
  }

  /// The change in words a reviewer can check: every admin with their key's fingerprint, a name
  /// whose key changes said so, and each signature by the key that made it.
  static func describe(_ next: RootDoc, after prev: RootDoc, published: Bool) -> RootProposal {
    func shown(_ a: TrustedState.Admin) -> Person {
      Person(name: a.name, fingerprint: a.identity.fingerprint)
    }
    let everyone = prev.root.admins + next.root.admins
    var signedBy = [Person]()
    for key in next.doc.validSigners(everyone.map(\.identity))
    where !signedBy.contains(where: { $0.fingerprint == key.fingerprint }) {
      let names = Set(everyone.filter { $0.identity == key }.map(\.name)).sorted()
      signedBy.append(Person(name: names.joined(separator: "/"), fingerprint: key.fingerprint))
    }
    var added = [Person]()
    for a in next.root.admins where !prev.root.admins.contains(where: { $0.identity == a.identity }) {
      var person = shown(a)
      if let same = prev.root.admins.first(where: { $0.name == a.name }) {
        person.note = "a NEW KEY for the name \(a.name), whose key was \(same.identity.fingerprint)"
      }
      added.append(person)
    }
    return RootProposal(
      version: next.root.version, fingerprint: next.fingerprint, added: added,
      removed: prev.root.admins.filter { a in !next.root.admins.contains { $0.identity == a.identity } }.map(
        shown),
      admins: next.root.admins.map(shown), threshold: next.root.threshold, signedBy: signedBy,
      missing: signaturesMissing(next, after: prev), published: published)
  }

  /// The proposal waiting in `trust/root.next.json`, if any, described against the current root.
  public static func pendingRootChange(workspace: String, current: TrustedState) throws(KeywardError)
    -> RootProposal?
  {
    guard FileSystem.exists("\(workspace)/\(nextRootName)") else { return nil }
    let prev = try currentRoot(workspace, current)
    let next = try readRoot("\(workspace)/\(nextRootName)")
    guard next.fingerprint != current.rootFingerprint else { return nil }
    return describe(next, after: prev, published: false)
  }

  /// What the repository's history says of the roots after `start` (the root this machine was
  /// given; the root in use when it was given that one): the roots that follow `start` through
  /// changes each signed as `trust rotate-root` requires (`successionProblem`), version by version.
  struct RootHistory {
    /// The newest of them above the root in use: that root was signed away, and then restored
    /// (or the change abandoned), so the signed state and manifests of its time are not current.
    var newer: (root: RootDoc, commit: String)?
    /// Two of them at one version: two changes signed from one root, such as a removed admin's own
    /// from the root he was removed from. The machine cannot tell which the admins meant.
    var fork: [(root: RootDoc, commit: String)]?
    /// Why the history of a git work tree could not be read whole (nothing was searched).
    var unchecked: String?
  }

  /// Where a root of history was first committed, in words ("not committed" for the working tree's).
  static func firstCommit(_ commit: String) -> String {
    commit.isEmpty ? "not committed" : "first in commit \(commit.prefix(12))"
  }

  /// Every place a root lives: root.json, a proposal, and the earlier roots kept (two changes
  /// published before one commit leave the first only in trust/roots/).
  static let rootPaths = [rootName, nextRootName, rootsFolder]

  /// The blobs of the root's files in `listed` (`Activation.Versions` of `rootPaths`), each once,
  /// with the first commit that held it.
  static func rootVersions(_ listed: [String: Activation.Versions]) -> (
    blobs: [String], commits: [String: String]
  ) {
    var blobs = [String]()
    var commits = [String: String]()
    // root.json first, then a proposal, then the kept roots (`trust/roots/<N>.json` only: any
    // other file a writer puts there is no root keyward keeps).
    let kept = listed.keys.filter { isKeptRootPath($0) }.sorted()
    for path in [rootName, nextRootName] + kept {
      for blob in listed[path]?.order ?? [] where commits[blob] == nil {
        blobs.append(blob)
        commits[blob] = listed[path]?.commits[blob]?.last ?? ""
      }
    }
    return (blobs, commits)
  }

  /// `trust/roots/<N>.json`, as `publish` names an earlier root.
  static func isKeptRootPath(_ path: String) -> Bool {
    guard path.hasPrefix(rootsFolder + "/"), path.hasSuffix(".json") else { return false }
    let n = path.dropFirst(rootsFolder.count + 1).dropLast(5)
    return !n.isEmpty && n.allSatisfy { $0.isASCII && $0.isNumber }
  }

  /// The roots among `ids` that `blobs` holds and that read as roots.
  static func rootCandidates(
    _ ids: [String], commits: [String: String], blobs: [String: [UInt8]], workspaceID: String
  ) -> [(root: RootDoc, commit: String)] {
    ids.compactMap { blob in
      guard let bytes = blobs[blob], let r = try? parseRoot(bytes, path: "a trust root in history"),
        r.root.workspaceID == workspaceID
      else { return nil }
      return (r, commits[blob] ?? "")
    }
  }

  /// The repository's history of the root, from `start` (a pin about to follow root changes to
  /// `current`): nil outside a git work tree (nothing to read); `unchecked` says why a work
  /// tree's history could not be read whole (git failing, a shallow clone, a flood of files named
  /// as kept roots, the pinned root not in it), and then the pin does not follow. One `git log`
  /// and two `cat-file`s, only when a pin moves.
  static func rootHistoryInGit(_ workspace: String, from start: String, current: RootDoc) -> RootHistory? {
    guard let dotGit = Git.dotGit(workspace) else { return nil }
    func unchecked(_ why: String) -> RootHistory { RootHistory(unchecked: why) }
    if Git.isSubmodule(dotGit) { return unchecked("the workspace is a git submodule") }
    if !dotGit.isEmpty, let link = Git.linkInside(workspace, top: Path.directory(dotGit)) {
      return unchecked("\(link) is a symbolic link inside the repository on the way to the workspace")
    }
    if Git.isShallow(workspace, dotGit: dotGit) {
      return unchecked("the repository is a shallow clone (it holds only the history fetched)")
    }
    let listed: [String: Activation.Versions]
    switch Activation.Versions.of(rootPaths, in: workspace) {
    case .success(let v): listed = v
    case .failure(let why): return unchecked(why.text)
    }
    let (ids, commits) = rootVersions(listed)
    if ids.count > Activation.maxRootVersions {
      return unchecked(
        "the history holds \(ids.count) versions of the files a trust root is kept in, more than keyward reads (a writer's flood)"
      )
    }
    guard let blobs = try? TrailHistory.read(ids, in: workspace, maxBytes: Activation.maxHistoricBytes) else {
      return unchecked("git cat-file failed")
    }
    let candidates = rootCandidates(
      ids, commits: commits, blobs: blobs, workspaceID: current.root.workspaceID)
    guard let first = candidates.first(where: { $0.root.fingerprint == start }) else {
      return unchecked(
        "no commit reachable from HEAD holds the pinned root (git reads another repository, or it was never committed)"
      )
    }
    return rootHistory(from: first.root, current: current, among: candidates)
  }

  /// `RootHistory` from `candidates` (roots read from history, each with the commit that first
  /// held it) and `current`. A root nobody in the chain signed away to counts for nothing, so a
  /// writer without an admin's key can neither hide a change nor stop deploys with a made-up one.
  static func rootHistory(
    from start: RootDoc, current: RootDoc, among candidates: [(root: RootDoc, commit: String)]
  ) -> RootHistory {
    var byVersion = [Int: [(root: RootDoc, commit: String)]]()
    for c in candidates + [(current, "")] where c.root.root.version > start.root.version {
      byVersion[c.root.root.version, default: []].append(c)
    }
    var out = RootHistory()
    var previous = start
    var version = start.root.version + 1
    while let next = byVersion[version] {
      // Every copy is checked before copies are merged by fingerprint (which covers the payload
      // only): an unsigned copy of a root must not stand in for the signed one. The old root's
      // admins first: a writer's root naming a hundred admins of its own costs the few signatures
      // of the old root's admins, not its own.
      var followed = [(root: RootDoc, commit: String)]()
      for c in next where !followed.contains(where: { $0.root.fingerprint == c.root.fingerprint }) {
        guard shapeProblem(c.root, after: previous) == nil,
          c.root.doc.validSigners(previous.root.admins.map(\.identity)).count >= previous.root.threshold,
          successionProblem(c.root, after: previous) == nil
        else { continue }
        followed.append(c)
      }
      guard let first = followed.first else { break }
      if followed.count > 1 {
        out.fork = followed
        return out
      }
      if version > current.root.version { out.newer = first }
      previous = first.root
      version += 1
    }
    return out
  }

  /// root.json as verified (`current`), read again to sign a change of it.
  static func currentRoot(_ workspace: String, _ current: TrustedState) throws(KeywardError) -> RootDoc {
    for name in [rootName, nextRootName] where FileSystem.exists("\(workspace)/\(name)") {
      let r = try readRoot("\(workspace)/\(name)")
      if r.fingerprint == current.rootFingerprint { return r }
    }
    throw KeywardError(.integrity, "\(workspace)/\(rootName) changed while keyward read it")
  }

  /// Proposes root N+1 (the current admins, with `add` added and `remove` removed), or with
  /// `add` and `remove` empty signs the proposal that is waiting; publishes it once it holds every
  /// signature it needs and `signer` is one of its admins.
  public static func changeRoot(
    workspace: String, current: TrustedState, add: [TrustedState.Admin], remove: [String], reviewed: String?,
    signer: Identity,
    record: (RootProposal) throws(KeywardError) -> Void, env: Env
  ) throws(KeywardError) -> RootProposal {
    try current.requireWhole("change the root")
    let prev = try currentRoot(workspace, current)
    let nextPath = "\(workspace)/\(nextRootName)"
    // An interrupted publication: the state already names the proposal; put it in place.
    if prev.path == nextPath {
      let before = try readRoot("\(workspace)/\(rootName)")
      try FileSystem.replace(nextPath, with: "\(workspace)/\(rootName)")
      let finished = describe(prev, after: before, published: true)
      guard reviewed == nil || reviewed == prev.fingerprint else {
        throw KeywardError(
          .integrity, "the root being published is \(prev.fingerprint), not \(reviewed ?? "")")
      }
      try record(finished)
      return finished
    }
    var next: RootDoc
    let waiting = FileSystem.exists(nextPath) ? try readRoot(nextPath) : nil
    if add.isEmpty && remove.isEmpty {
      guard let waiting else {
        throw KeywardError(.input, "no root change is proposed (\(nextPath) does not exist)")
      }
      if let problem = shapeProblem(waiting, after: prev) {
        throw KeywardError(
          .integrity, "\(nextPath) does not follow the current root \(prev.fingerprint): \(problem)",
          advice: .withdrawRootChange)
      }
      // A signer signs the proposal they reviewed, named by its fingerprint, never whatever the
      // file holds when they run the command.
      guard reviewed == waiting.fingerprint else {
        throw KeywardError(
          .integrity,
          "\(nextPath) is root version \(waiting.root.version) with fingerprint \(waiting.fingerprint), not the \(reviewed ?? "(none)") you reviewed: nothing signed",
          advice: .signReviewedRootChange(fingerprint: waiting.fingerprint))
      }
      next = waiting
    } else {
      var admins = prev.root.admins
      for name in remove {
        guard admins.contains(where: { $0.name == name }) else {
          throw KeywardError(.input, "\(name) is not an admin of root \(prev.root.version)")
        }
        admins.removeAll { $0.name == name }
      }
      for a in add {
        guard Names.isMember(a.name) else {
          throw KeywardError(.input, "\"\(Text.printable(a.name))\" is not a valid name")
        }
        guard !admins.contains(where: { $0.name == a.name || $0.identity == a.identity }) else {
          throw KeywardError(.input, "\(a.name) (\(a.identity.fingerprint)) is already an admin")
        }
        admins.append(a)
      }
      guard !admins.isEmpty else {
        throw KeywardError(
          .input, "a root needs at least one admin; add the new admin before removing the last one")
      }
      let root = Root(
        workspaceID: prev.root.workspaceID, admins: admins, threshold: min(prev.root.threshold, admins.count),
        version: prev.root.version + 1, previous: prev.fingerprint)
      let payload = root.payload
      if let waiting, waiting.doc.payload != payload {
        throw KeywardError(
          .input,
          "another root change is proposed in \(nextPath) (version \(waiting.root.version), \(waiting.fingerprint))",
          advice: .signOrWithdrawRootChange)
      }
      next =
        waiting
        ?? RootDoc(
          doc: SignedDocument(payloadType: SignedDocument.rootType, payload: payload), root: root,
          fingerprint: rootFingerprint(payload), path: nextPath)
    }
    let involved = prev.root.admins + next.root.admins
    guard involved.contains(where: { $0.identity == signer.publicIdentity }) else {
      throw KeywardError(
        .integrity,
        "\(signer.name) (\(signer.publicIdentity.fingerprint)) is neither an admin of root \(prev.root.version) nor one the change adds: their signature is not needed"
      )
    }
    next.doc.sign(with: signer)
    try FileSystem.writeAtomically(nextPath, bytes: next.doc.json.written())
    var proposal = describe(next, after: prev, published: false)
    guard proposal.missing.isEmpty, next.root.admins.contains(where: { $0.identity == signer.publicIdentity })
    else { return proposal }
    // The live sets a removed admin activated: signed anew by the publishing admin once the new
    // root is in place, or every deploy of them would read their manifests as forged.
    let vouched = try Activation.liveSetsVouched(workspace)
    try publish(next, after: prev, workspace: workspace, current: current, signer: signer, env: env)
    try Activation.signLiveSetsAnew(workspace, vouched, by: signer, unlessVouched: true)
    proposal.published = true
    try record(proposal)
    return proposal
  }

  /// Puts a complete root change in place: the old root is kept in `trust/roots/`, the state is
  /// signed for the new root (version + 1), then the proposal becomes `root.json`. An interruption
  /// at any step leaves a workspace every reader verifies (FORMAT.md says how).
  static func publish(
    _ next: RootDoc, after prev: RootDoc, workspace: String, current: TrustedState, signer: Identity, env: Env
  ) throws(KeywardError) {
    let folder = "\(workspace)/\(rootsFolder)"
    if !FileSystem.exists(folder) { try FileSystem.makeDirectory(folder, mode: 0o755) }
    let kept = "\(folder)/\(prev.root.version).json"
    let bytes = try FileSystem.read(prev.path)
    if FileSystem.exists(kept) {
      guard try FileSystem.read(kept) == bytes else {
        throw KeywardError(
          .integrity, "\(kept) exists and is not root \(prev.root.version) (\(prev.fingerprint))")
      }
    } else {
      try FileSystem.writeAtomically(kept, bytes: bytes)
    }
    FileSystem.crashPoint("root-before-state")
    let signed = try sign(
      workspace: workspace, rootFingerprint: next.fingerprint, root: next.root, version: current.version + 1,
      configBytes: current.config, recipients: current.recipients, members: current.members,
      wraps: current.wraps, revoked: current.revoked, pending: current.pendingRecipients, admin: signer)
    FileSystem.crashPoint("root-before-rename")
    try FileSystem.replace(next.path, with: "\(workspace)/\(rootName)")
    if var pin = try readPin(workspace: workspace, env: env), pin.fingerprint == prev.fingerprint {
      pin.fingerprint = next.fingerprint
      pin.rootVersion = next.root.version
      pin.version = current.version + 1
      pin.stateDigest = signed.digest
      try writePin(pin, workspace: workspace, env: env)
    }
  }

  /// Removes a waiting proposal (an admin of the current root).
  public static func withdrawRootChange(workspace: String, current: TrustedState, signer: Identity)
    throws(KeywardError)
  {
    guard current.admin(signer.publicIdentity) != nil else {
      throw KeywardError(.integrity, "only an admin of the current root may withdraw a root change")
    }
    let path = "\(workspace)/\(nextRootName)"
    guard FileSystem.exists(path) else { throw KeywardError(.input, "no root change is proposed") }
    // An unreadable proposal is withdrawn too: it can only block the next one.
    guard (try? readRoot(path))?.fingerprint != current.rootFingerprint else {
      throw KeywardError(
        .input, "\(path) is the root already (its publication was interrupted): run keyward trust rotate-root"
      )
    }
    // One with every signature is a signed change (its publication was interrupted before the
    // state was signed): committed, a withdrawn one reads as a rollback to every machine that
    // checks the repository's history. It is finished, not withdrawn.
    if let next = try? readRoot(path), let root = try? currentRoot(workspace, current),
      successionProblem(next, after: root) == nil
    {
      throw KeywardError(
        .input,
        "\(path) holds every signature it needs (its publication was interrupted): it is a signed change of the root, "
          + "and withdrawn after it was committed it would read as a rollback to every machine that checks the "
          + "repository's history; finish it",
        advice: .signReviewedRootChange(fingerprint: next.fingerprint))
    }
    try FileSystem.remove(path)
  }
}
