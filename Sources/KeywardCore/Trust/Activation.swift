/// Signed sets and signed activation (TRUST.md, property 4).
///
/// Anyone may propose a set (a pending set sealed to the signed recipient key); it carries its
/// proposer's signature when the proposer has an identity. Which set is active is bound by a
/// per-environment manifest, `trust/active/<env>.json`, signed by the admin or member who activated
/// it, naming the set's content digest and the manifest's own version. `show`, `export` and `run`
/// take the active set only from a valid manifest: in a production-like environment anything else
/// is exit 4 naming who proposed and who (if anyone) activated it; elsewhere a warning.
public enum Activation {
  public static let type = "application/vnd.keyward.activation+json"
  public static let setType = "application/vnd.keyward.set+json"
  public static let verificationType = "application/vnd.keyward.verification+json"

  /// The manifests' folder, and an environment's manifest, within the workspace.
  public static let folder = "\(Trust.folder)/active"
  public static func name(_ environment: String) -> String { "\(folder)/\(environment).json" }

  public static func path(_ workspace: String, _ environment: String) -> String {
    "\(workspace)/\(name(environment))"
  }

  /// The set's content digest: BLAKE2b-256 over a label and the canonical JSON of what the set
  /// is (environment, id, creation time and both value fingerprints). The ciphertexts are left out
  /// so a rekey can re-seal a set without re-signing it: what binds the values is the fingerprints,
  /// which every decryption checks (a ciphertext swapped for another value is refused there).
  public static func setDigest(environment: String, _ s: KeySet) -> String {
    let canonical = JSONValue.object([
      "created": .string(s.created.iso), "environment": .string(environment),
      "fingerprints": .object([
        "app_key": .string(s.fingerprints.appKey), "app_secret": .string(s.fingerprints.appSecret),
      ]),
      "id": .string(s.id),
    ]).compact()
    return Sodium.hex(Sodium.blake2b(length: 32, [Array("keyward set v1".utf8), canonical]))
  }

  // MARK: Proposer signatures

  /// The `proposer` member a set carries: who sealed it, signed over its digest.
  public static func proposerSignature(environment: String, set: KeySet, by id: Identity) -> JSONValue {
    let digest = Array(setDigest(environment: environment, set).utf8)
    return .object([
      "key": .string(id.publicIdentity.text), "name": .string(id.name),
      "sig": .string(Sodium.base64(id.sign(SignedDocument.pae(setType, digest)))),
    ])
  }

  /// The admin or member whose valid signature the set's proposal carries, or nil (unsigned,
  /// forged, or an outsider's).
  public static func proposingMember(environment: String, set: KeySet, trust: TrustedState) -> String? {
    let who = proposer(environment: environment, set: set, trust: trust)
    guard case .object(let m)? = set.extra["proposer"], case .string(let keyText)? = m["key"],
      let id = try? PublicIdentity(parsing: keyText), trust.name(of: id, in: environment) == who
    else { return nil }
    return who
  }

  /// Who proposed a set, as far as the workspace can tell: a signer's name (a member's name from
  /// the signed state when they are one), "unsigned", or "a forged signature".
  public static func proposer(environment: String, set: KeySet, trust: TrustedState) -> String {
    guard case .object(let m)? = set.extra["proposer"], case .string(let keyText)? = m["key"],
      case .string(let sigText)? = m["sig"], let id = try? PublicIdentity(parsing: keyText),
      let sig = Sodium.unbase64(sigText)
    else { return "someone without an identity (the set is unsigned)" }
    let digest = Array(setDigest(environment: environment, set).utf8)
    guard id.verifies(sig, of: SignedDocument.pae(setType, digest)) else {
      return "a forged proposer signature"
    }
    if let known = trust.name(of: id, in: environment) { return known }
    return "an outsider (\(id.fingerprint))"
  }

  // MARK: Manifests

  /// Writes the manifest that makes `set` the active set of `environment`, signed by `id`, who must
  /// be an admin or a member there (a reader may not change what deploys).
  public static func write(
    workspace: Workspace, environment: String, set: KeySet, by id: Identity
  ) throws(KeywardError) {
    guard let trust = workspace.trust else { return }
    guard let (role, name) = trust.role(of: id.publicIdentity, in: environment), role != "reader" else {
      let what = trust.role(of: id.publicIdentity, in: environment) == nil ? "not a member" : "a reader"
      throw KeywardError(
        .integrity,
        "\(id.name) (\(id.publicIdentity.fingerprint)) is \(what) of \(environment): only an admin or a member may activate a set there",
        hint: "an admin grants access: keyward access grant \(environment) NAME IDENTITY")
    }
    // The next version: above the file's when an admin or member signed it (a number in an
    // unsigned file, or one a reader signed, is anyone's: 2^31 - 1 there stopped every later promote),
    // above what this machine saw, and above every signed one in history (a file restored to an
    // older manifest must not make the next one look older than what fresh machines compare it with).
    let known = max(
      signedVersion(path(workspace.path, environment), environment: environment, trust: trust) ?? 0,
      trust.pin?.activations[environment]?.version ?? 0)
    let previous = max(
      known,
      searchHistory(workspace: workspace.path, environment: environment, trust: trust, above: known).newest?
        .version ?? 0)
    guard previous < maxVersion else {
      throw KeywardError(
        .integrity, "\(environment)'s activation manifests reached version \(previous): none can follow")
    }
    let payload = JSONValue.object([
      "activated_by": .string(name), "environment": .string(environment), "set": .string(set.id),
      "set_digest": .string(setDigest(environment: environment, set)), "type": .string("keyward-activation"),
      "version": .number(Double(previous + 1)),
    ]).compact()
    var doc = SignedDocument(payloadType: type, payload: payload)
    doc.sign(with: id)
    let file = path(workspace.path, environment)
    try FileSystem.makeDirectory(Path.directory(file), mode: 0o755)
    try FileSystem.writeAtomically(file, bytes: doc.json.written())
    // This machine has seen what it signed: an older manifest restored later is a rollback here
    // too, not only on machines that deployed this one.
    try? checkRollback(
      Manifest(
        set: set.id, digest: setDigest(environment: environment, set), version: previous + 1,
        activatedBy: name),
      environment: environment, trust: trust)
  }

  /// The version of a manifest file signed by an admin or member of `environment` (not a reader:
  /// a reader who signed 2^31 - 1 himself stopped every later promote, session 19's fourth review).
  static func signedVersion(_ file: String, environment: String, trust: TrustedState) -> Int? {
    guard FileSystem.exists(file),
      let bytes = try? FileSystem.read(file, limit: FileSystem.Limit(maxManifestBytes)),
      let doc = try? SignedDocument.parse(bytes, source: file, type: type),
      !doc.validSigners(activators(environment, trust)).isEmpty,
      case .object(let m)? = try? JSONValue.parse(doc.payload, source: file),
      case .number(let v)? = m["version"], let version = Int(exactly: v), version <= maxVersion
    else { return nil }
    return version
  }

  /// The highest manifest version keyward reads or writes: nobody promotes two billion times, and a
  /// number above it (2^53 made the next promote sign a float no parser took back, for good once
  /// history held it) is nobody's to read.
  static let maxVersion = 1 << 31

  public struct Manifest: Sendable {
    public var set: String
    public var digest: String
    public var version: Int
    public var activatedBy: String
  }

  /// Who may sign `environment`'s manifest: the admins and its members (not its readers).
  static func activators(_ environment: String, _ trust: TrustedState) -> [PublicIdentity] {
    trust.admins.map(\.identity)
      + (trust.members[environment] ?? []).filter { $0.role == "member" }.map(\.identity)
  }

  /// Reads and verifies a manifest: a valid signature by an admin or member of the environment.
  static func read(workspace: String, environment: String, trust: TrustedState) throws(KeywardError)
    -> Manifest?
  {
    let file = path(workspace, environment)
    guard let bytes = try FileSystem.readIfPresent(file, limit: FileSystem.Limit(maxManifestBytes)) else {
      return nil
    }
    let doc = try SignedDocument.parse(bytes, source: file, type: type)
    guard let signer = doc.validSigners(activators(environment, trust)).first,
      let who = trust.name(of: signer, in: environment)
    else {
      throw KeywardError(
        .integrity,
        "\(file): not signed by an admin or member of \(environment): the manifest was forged or edited")
    }
    return try JSONFiles.read(doc.payload, source: file) { (o: JSONObject) throws(KeywardError) in
      guard try o.string("environment") == environment else {
        throw KeywardError(.integrity, "\(file) is the manifest of another environment")
      }
      return Manifest(
        set: try o.string("set"), digest: try o.string("set_digest"), version: try o.int("version"),
        activatedBy: who)
    }
  }

  /// Checks that the active set of `env` is the one a member activated. Returns who activated it;
  /// throws an integrity error naming who proposed it (and who activated, if anyone) otherwise.
  /// `manifest`: the environment's manifest already read (`read`), for a caller that reads many
  /// on every core.
  /// `history`: a deploy (`show`, `export`, `run`), where a manifest this machine has no record
  /// of is also held to the newest one in the repository's history (`checkRollback`); `notice`
  /// hears when that history is cut short (a shallow clone).
  public static func requireActivated(
    workspace: Workspace, env: EnvironmentFile, set: KeySet,
    manifest preread: Result<Manifest?, KeywardError>? = nil, history: Bool = false,
    notice: ((String) -> Void)? = nil
  )
    throws(KeywardError)
    -> String?
  {
    guard let trust = workspace.trust else { return nil }
    let name = env.environment
    // Who proposed it matters only for the refusal: computed then, not on every deploy.
    var proposer: String { Activation.proposer(environment: name, set: set, trust: trust) }
    let manifest: Manifest?
    do {
      manifest = try
        (preread
        ?? Result { () throws(KeywardError) in
          try read(workspace: workspace.path, environment: name, trust: trust)
        })
        .get()
    } catch {
      throw KeywardError(
        .integrity,
        "\(error.message); set \(set.id) of \(name) was proposed by \(proposer) and is not deployed")
    }
    guard let manifest else {
      throw KeywardError(
        .integrity,
        "set \(set.id) is marked active in \(workspace.environmentPath(name)), but no member activated it "
          + "(no signed manifest): it was proposed by \(proposer) and made active by editing the file",
        hint:
          "a member verifies it and runs keyward promote \(name); or restore the file from version control")
    }
    // This machine remembers the newest manifest it saw: an older one is a rollback (a replayed
    // manifest from git history, with the file edited back to an older active set).
    try checkRollback(manifest, environment: name, trust: trust, history: history, notice: notice)
    if manifest.set != set.id, let named = env.sets.first(where: { $0.id == manifest.set }),
      named.state == .pending,
      manifest.digest == setDigest(environment: name, named)
    {
      throw KeywardError(
        .integrity,
        "\(manifest.activatedBy) activated set \(manifest.set) of \(name), but the file still has it pending: an interrupted promote",
        hint: "run keyward promote \(name) again to finish it")
    }
    // `set --replace` writes the manifest before the file: killed in between, the manifest names
    // a set the file does not hold yet. A hand edit can look the same, so both are named.
    if manifest.set != set.id, !env.sets.contains(where: { $0.id == manifest.set }) {
      throw KeywardError(
        .integrity,
        "set \(set.id) of \(name) is not the set \(manifest.activatedBy) activated (\(manifest.set), manifest version \(manifest.version)), "
          + "and \(name).json does not hold that set: a replacement of the active set interrupted after it signed the manifest, "
          + "or the file was edited or restored (its active set was proposed by \(proposer))",
        hint:
          "if a replacement of \(name)'s set was interrupted, run that command again; otherwise restore \(workspace.environmentPath(name)) and \(Activation.path(workspace.path, name)) from version control"
      )
    }
    guard manifest.set == set.id, manifest.digest == setDigest(environment: name, set) else {
      throw KeywardError(
        .integrity,
        "set \(set.id) of \(name) is not the set \(manifest.activatedBy) activated (\(manifest.set), manifest version \(manifest.version)): "
          + "it was proposed by \(proposer) and swapped in by editing the file",
        hint: "restore \(workspace.environmentPath(name)) from version control")
    }
    return manifest.activatedBy
  }

  /// A manifest older than one this machine saw is a rollback. With `history`, one this machine has
  /// no record of (a fresh CI machine has none) is also compared with the newest manifest in the
  /// repository's history: a writer who restores an older manifest with its older set cannot
  /// remove the newer one from a protected branch's history.
  static func checkRollback(
    _ m: Manifest, environment: String, trust: TrustedState, history: Bool = false,
    notice: ((String) -> Void)? = nil
  ) throws(KeywardError) {
    let digest = m.set + " " + m.digest
    let seen = trust.pin?.activations[environment]
    if history, seen.map({ m.version > $0.version }) ?? true {
      try checkHistory(m, environment: environment, trust: trust, notice: notice)
    }
    guard var pin = trust.pin else { return }
    if let seen {
      if m.version < seen.version || (m.version == seen.version && digest != seen.digest) {
        throw KeywardError(
          .integrity,
          "the activation manifest of \(environment) is version \(m.version), but this machine has seen version \(seen.version)"
            + (m.version == seen.version ? " with another set" : "")
            + ": an older manifest was restored (rollback to an earlier set)",
          hint:
            "restore the newest \(name(environment)) and \(environment).json from version control"
        )
      }
      if m.version == seen.version { return }
    }
    // The record on disk, not the copy read at the start of this run: verify may have moved the pin
    // to a newer root or state since, and another environment's activation may be recorded already.
    if let fresh = try? Trust.readPin(workspace: trust.workspacePath, env: .process),
      fresh.fingerprint == pin.fingerprint || fresh.fingerprint == trust.rootFingerprint
    {
      pin = fresh
    }
    pin.activations[environment] = (m.version, digest)
    try? Trust.writePin(pin, workspace: trust.workspacePath, env: .process)
  }

  /// Whether a valid manifest names `env`'s active set now (before a change to who may sign).
  static func liveSetVouched(workspace: Workspace, env: EnvironmentFile) -> Bool {
    env.active.map { (try? requireActivated(workspace: workspace, env: env, set: $0)) != nil } ?? false
  }

  /// The environments of the workspace at `path` whose active set a valid manifest names now.
  static func liveSetsVouched(_ path: String) throws(KeywardError) -> [String] {
    let w = try Workspace.open(path)
    return w.config.environmentNames.filter { name in
      (try? w.loadEnvironment(name)).map { liveSetVouched(workspace: w, env: $0) } ?? false
    }
  }

  /// The admin signs the manifest of `environment`'s active set anew, as the workspace at `path`
  /// now stands (after a change to its signed state): what deployed before keeps deploying.
  static func signLiveSetAnew(_ path: String, environment: String, by admin: Identity) throws(KeywardError) {
    try signLiveSetsAnew(path, [environment], by: admin)
  }

  /// The same for each of `environments`, the workspace opened once; with `unlessVouched`, only
  /// those whose active set no valid manifest names now (a root change: their signer was
  /// removed).
  static func signLiveSetsAnew(
    _ path: String, _ environments: [String], by admin: Identity, unlessVouched: Bool = false
  ) throws(KeywardError) {
    guard !environments.isEmpty else { return }
    let after = try Workspace.open(path)
    for name in environments {
      let env = try after.loadEnvironment(name)
      guard let active = env.active, !(unlessVouched && liveSetVouched(workspace: after, env: env)) else {
        continue
      }
      try write(workspace: after, environment: name, set: active, by: admin)
    }
  }

  // MARK: The floor in the repository's history

  /// The newest manifest of an environment that the repository's history holds.
  struct Historic {
    var version: Int
    var set: String
    var activatedBy: String
    var commit: String
  }

  /// Holds `m` to the newest manifest of `environment` in the history of the repository the
  /// workspace is in: exit 4 when a signed one there is newer. `notice` hears why, when the history
  /// could not be searched whole (a deploy then has no floor but this machine's record).
  static func checkHistory(
    _ m: Manifest, environment: String, trust: TrustedState, notice: ((String) -> Void)?
  ) throws(KeywardError) {
    let search = searchHistory(
      workspace: trust.workspacePath, environment: environment, trust: trust, above: m.version)
    if let link = search.link {
      throw KeywardError(
        .integrity,
        "\(link) is a symbolic link inside the repository on the way to the workspace: git's history of the folder it "
          + "points to is not the workspace's, so a restored older manifest of \(environment) could not be told here",
        hint:
          "restore the folder from version control in place of the link (its real path has only the history since it moved), "
          + "and find out who committed the link")
    }
    if let root = search.newerRoot {
      throw KeywardError(
        .integrity,
        "the workspace's trust root is version \(trust.rootVersion) (\(trust.rootFingerprint)), but this repository's history "
          + "holds root version \(root.version) (\(root.fingerprint), \(Trust.firstCommit(root.commit))), a change of it its "
          + "admins signed: the root in use was signed away and then restored (rollback), so the signed state and manifests "
          + "of its time are not current",
        hint:
          "restore the newest trust/ folder from version control; if the admins abandoned that change, they publish another "
          + "(keyward trust rotate-root) and this machine is given the new root's fingerprint")
    }
    if let fork = search.rootFork, let first = fork.first {
      let named = fork.map { "\($0.fingerprint) (\(Trust.firstCommit($0.commit)))" }.joined(
        separator: " and ")
      throw KeywardError(
        .integrity,
        "this repository's history holds \(fork.count) different trust roots of version \(first.version), each signed by the "
          + "admins of the root before it: \(named); the workspace uses \(trust.rootFingerprint) (version \(trust.rootVersion)), "
          + "and this machine, given an older root, cannot tell which change the admins meant (a removed admin can sign "
          + "one of his own)",
        hint:
          "check with the admins which root is the workspace's, and give this machine that root's fingerprint (KEYWARD_TRUST)"
      )
    }
    if let newer = search.newest {
      throw KeywardError(
        .integrity,
        "the activation manifest of \(environment) is version \(m.version) (set \(m.set), activated by \(m.activatedBy)), "
          + "but this repository's history holds version \(newer.version), signed by \(newer.activatedBy) for set \(newer.set) "
          + "(commit \(newer.commit.prefix(12))): an older manifest was restored (rollback to an earlier set)",
        hint:
          "restore the newest \(name(environment)) and \(environment).json from version control; "
          + "if two promotes met in a merge, a member verifies the set to deploy and promotes it again")
    }
    if let gap = search.gap, Env.process.nonEmpty("KEYWARD_REQUIRE_HISTORY") == "1" {
      throw KeywardError(
        .integrity,
        "this machine has no record of \(environment)'s activations, and \(gap); KEYWARD_REQUIRE_HISTORY=1 asks for "
          + "the repository's whole history before a deploy",
        hint: "deploy from a full clone of the repository (e.g. fetch-depth: 0 in a CI checkout)")
    }
    if let notice, let gap = search.gap {
      notice(
        "this machine has no record of \(environment)'s activations, and \(gap): an older manifest restored by a writer "
          + "would not be noticed here (deploy from a full clone of the repository, e.g. fetch-depth: 0 in a CI checkout)"
      )
    }
  }

  /// What the repository's history said: a newer signed manifest, and why the search was not
  /// whole when it was not (no repository, a shallow clone, git failing).
  struct HistorySearch {
    var newest: Historic? = nil
    var gap: String? = nil
    /// A symbolic link inside the repository on the way to the workspace.
    var link: String? = nil
    /// A root in history that the root in use signed away to.
    var newerRoot: (fingerprint: String, version: Int, commit: String)? = nil
    /// Two roots of one version in history, each signed by the root before it.
    var rootFork: [(fingerprint: String, version: Int, commit: String)]? = nil
  }

  /// More versions of the root's files than any team makes (1,024 blobs of at most 64 KB): a
  /// history with more has its root's part unsearched (a gap, which production names and
  /// `KEYWARD_REQUIRE_HISTORY=1` refuses); the manifest's part is searched all the same.
  static let maxRootVersions = 1024
  /// The largest blob of history a deploy reads (a manifest or a root is a few KB).
  static let maxHistoricBytes = 1 << 16
  /// How a git-lfs pointer file starts (git-lfs's specification, version 1).
  static let lfsPointer = Array("version https://git-lfs.github.com/spec/v1".utf8)

  /// The gap `pointers` git-lfs pointers in place of `path` in history leave (nil: none): what
  /// they stand for is not in git's objects, which is all keyward reads.
  static func lfsGap(_ pointers: Int, _ path: String) -> String? {
    guard pointers > 0 else { return nil }
    return
      "the history holds \(pointers) git-lfs pointer(s) in place of \(path) (keyward reads git's objects, "
      + "not git-lfs's: keep the workspace out of git-lfs)"
  }

  /// The largest manifest there can be (one is about 1 KB): a larger file or blob is not one.
  static let maxManifestBytes = 1 << 13

  /// The newest manifest of `environment` above version `above` among the versions of
  /// `trust/active/<env>.json` in every commit reachable from HEAD that an admin or member of the
  /// environment signed; nil when there is none newer (or `gap` says why nothing could be
  /// searched). A signer counts when the current signed state makes them an activator, or when a
  /// newer signed state in history does (`newerStates`): a writer who restores an older state,
  /// from before a member was added, does not make that member's newer manifest disappear. A
  /// forged manifest counts nowhere. Two git processes; more only for a version above `above`
  /// that the current state does not vouch for.
  static func searchHistory(workspace: String, environment: String, trust: TrustedState, above: Int)
    -> HistorySearch
  {
    guard let dotGit = Git.dotGit(workspace) else {
      return HistorySearch(gap: "the workspace is not in a git work tree")
    }
    if Git.isSubmodule(dotGit) {
      return HistorySearch(
        gap: "the workspace is a git submodule (its history is whichever repository the superproject names)")
    }
    // git reads the history of the folder a link points to: a writer who moved the workspace and
    // committed a link by its old name would show keyward only the history since the move.
    if !dotGit.isEmpty, let link = Git.linkInside(workspace, top: Path.directory(dotGit)) {
      return HistorySearch(link: link)
    }
    let manifestPath = name(environment)
    let listed: [String: Versions]
    switch Versions.of([manifestPath] + Trust.rootPaths, in: workspace) {
    case .success(let v): listed = v
    case .failure(let why): return HistorySearch(gap: why.text)
    }
    let versions = listed[manifestPath] ?? Versions()
    let (order, commits) = (versions.order, versions.commits)
    let (rootBlobs, rootCommits) = Trust.rootVersions(listed)
    var gap: String?
    if order.isEmpty {
      gap =
        "no commit reachable from HEAD holds \(manifestPath) (it is not committed, or git reads another repository)"
    } else if Git.isShallow(workspace, dotGit: dotGit) {
      gap = "the repository is a shallow clone (it holds only the history fetched)"
    }
    // More root versions than any team makes are not read (a writer's flood of files named as
    // kept roots): the root's part of the search is then a gap, and the manifest's still runs.
    let rootsRead = rootBlobs.count <= maxRootVersions ? rootBlobs : []
    // A blob larger than a manifest or a root can be is not read at all: a writer's 400 MB blob
    // would otherwise be held whole by every fresh deploy.
    guard let blobs = try? TrailHistory.read(rootsRead, in: workspace, maxBytes: maxHistoricBytes) else {
      return HistorySearch(gap: "git cat-file failed")
    }
    // First the root: one the root in use signed away, restored, makes every signed state and
    // manifest of its time look current, and the floor below reads them under it.
    var rootGap: String?
    if rootsRead.count < rootBlobs.count {
      rootGap =
        "the repository's history holds \(rootBlobs.count) versions of the files a trust root is kept in, more than "
        + "\(maxRootVersions) (a writer's flood), so the root's history was not read"
    } else if let current = try? Trust.currentRoot(workspace, trust) {
      let candidates = Trust.rootCandidates(
        rootsRead, commits: rootCommits, blobs: blobs, workspaceID: current.root.workspaceID)
      // From the root this machine was given (KEYWARD_TRUST or its pin), when it followed signed
      // changes from an older one: a removed admin's own change from that root is a fork there.
      let given = trust.requiredRootOutdated ?? trust.rootMovedFrom
      let start = given.flatMap { fp in candidates.first { $0.root.fingerprint == fp }?.root } ?? current
      let found = Trust.rootHistory(from: start, current: current, among: candidates)
      if let fork = found.fork {
        return HistorySearch(rootFork: fork.map { ($0.root.fingerprint, $0.root.root.version, $0.commit) })
      }
      if let newer = found.newer {
        return HistorySearch(newerRoot: (newer.root.fingerprint, newer.root.root.version, newer.commit))
      }
    }
    let allowed = activators(environment, trust)
    var pointers = 0  // git-lfs pointers in place of the manifest
    var best: Historic?
    var unvouched = [(Historic, SignedDocument)]()  // newer, signed by nobody the current state names
    // The manifest's versions a few thousand at a time, each let go once judged (a writer's 16,384
    // blobs of 64 KB made a fresh deploy hold 1.1 GB; session 21's second review).
    let read = try? TrailHistory.readBounded(
      order, in: workspace, maxBytes: maxManifestBytes, batchBytes: 1 << 23
    ) {
      blobs in
      for (blob, bytes) in blobs {
        if bytes.starts(with: lfsPointer) { pointers += 1 }
        guard let doc = try? SignedDocument.parse(bytes, source: "", type: type),
          case .object(let o)? = try? JSONValue.parse(doc.payload, source: ""),
          case .string(environment)? = o["environment"], case .string(let set)? = o["set"],
          case .number(let n)? = o["version"], let version = Int(exactly: n),
          version > max(above, best?.version ?? 0), version <= maxVersion
        else { continue }
        // Named by the first commit that held it: the promote that made it.
        let found = Historic(version: version, set: set, activatedBy: "", commit: commits[blob]?.last ?? "")
        guard let signer = doc.validSigners(allowed).first, let who = trust.name(of: signer, in: environment)
        else {
          unvouched.append((found, doc))
          continue
        }
        best = Historic(version: version, set: set, activatedBy: who, commit: found.commit)
      }
    }
    guard read != nil else { return HistorySearch(gap: "git cat-file failed") }
    // A signer the current state does not name counts when a newer signed state in history does:
    // the state in use was then restored from before them. States are read only on this path.
    var statesGap: String?
    if unvouched.contains(where: { $0.0.version > (best?.version ?? above) }) {
      let (states, unread) = newerStates(workspace: workspace, environment: environment, trust: trust)
      if let unread { statesGap = unread }
      for (found, doc) in unvouched.sorted(by: { $0.0.version > $1.0.version })
      where found.version > (best?.version ?? above) {
        let named = states.lazy.compactMap { activators in
          doc.validSigners(activators.map(\.identity)).first.flatMap { signer in
            activators.first { $0.identity == signer }?.name
          }
        }
        if let who = named.first {
          best = Historic(version: found.version, set: found.set, activatedBy: who, commit: found.commit)
          break
        }
      }
    }
    // Versions kept by git-lfs are pointers in git's history: newer manifests among them cannot be
    // read here (a writer's `.gitattributes` line sends every later promote there).
    return HistorySearch(
      newest: best, gap: best == nil ? gap ?? rootGap ?? statesGap ?? lfsGap(pointers, manifestPath) : nil)
  }

  /// The activators of `environment` (the current root's admins, and its members then) in each
  /// signed state of the repository's history that is newer than the one in use and valid under
  /// the current root. A newer state in history means the one in use was restored; an older one
  /// that named a member since removed vouches for nothing (a former member who can still push
  /// would otherwise stop fresh deploys with a manifest he signs). Every version of the state in
  /// history is read, newest first, and no more of them at once than `maxStateBytes` (3 MB each
  /// at 3,000 environments). A blob larger than a signed state can be is not one and is not read
  /// (`Trust.maxStateBytes`: a writer's 400 MB blob was held whole by every fresh deploy). Every
  /// other version is read, however many: a budget would let a writer's blobs, committed after a
  /// member's state, use it up and hide that state (session 21's review deployed a rolled-back
  /// set that way), so a writer's flood costs time, never the floor. `unread` says why the
  /// versions could not be read (nil: they were).
  static func newerStates(workspace: String, environment: String, trust: TrustedState)
    -> (activators: [[(identity: PublicIdentity, name: String)]], unread: String?)
  {
    guard case .success(let versions) = Versions.of(Trust.stateName, in: workspace) else {
      return ([], "git could not list the signed state's versions in its history")
    }
    let admins = trust.admins.map { (identity: $0.identity, name: $0.name) }
    var out = [[(identity: PublicIdentity, name: String)]]()
    var pointers = 0  // git-lfs pointers in place of the state: whatever they stand for is unread
    do {
      try TrailHistory.readBounded(versions.order, in: workspace, maxBytes: Trust.maxStateBytes) { read in
        for bytes in read.values {
          if bytes.starts(with: lfsPointer) { pointers += 1 }
          guard let doc = try? SignedDocument.parse(bytes, source: "", type: SignedDocument.stateType),
            doc.validSigners(admins.map(\.identity)).count >= trust.threshold,
            let state = try? Trust.parseState(doc.payload, source: "history", focus: environment),
            state.root == trust.rootFingerprint, state.version > trust.version
          else { continue }
          let members = (state.members[environment] ?? []).filter { $0.role == "member" }
          out.append(admins + members.map { (identity: $0.identity, name: "\($0.name) (a member then)") })
        }
      }
    } catch {
      return (out, "git could not read the signed state's versions in its history")
    }
    return (out, lfsGap(pointers, Trust.stateName))
  }

  /// Every version of a file (its path relative to the workspace) in the commits reachable from
  /// HEAD, from `git log -m --full-history --raw`: its blobs in the order git lists them (newest
  /// commit first) and the commits that wrote each, newest first.
  struct Versions {
    var order: [String] = []
    var commits: [String: [String]] = [:]

    mutating func add(_ blob: String, in commit: String) {
      if commits[blob] == nil { order.append(blob) }
      commits[blob, default: []].append(commit)
    }

    /// Why git gave no listing, in words for a notice.
    struct Failure: Error { var text: String }

    static func of(_ path: String, in workspace: String) -> Result<Versions, Failure> {
      of([path], in: workspace).map { $0[path] ?? Versions() }
    }

    /// The versions of each of `paths`, from one `git log`.
    static func of(_ paths: [String], in workspace: String) -> Result<[String: Versions], Failure> {
      // `-z`: every name as it is (git quotes one with a non-ASCII letter otherwise, and it would
      // match nothing); `--relative`: names from the workspace, as the paths are given.
      let args =
        [
          "log", "-m", "--full-history", "--format=commit %H", "--raw", "--no-abbrev", "--no-renames", "-z",
          "--relative", "HEAD", "--",
        ]
        + paths
      guard let r = Git.run(args, in: workspace) else {
        return .failure(Failure(text: "git could not be run"))
      }
      guard r.status == 0 else {
        let first = String(decoding: r.errors + r.output, as: UTF8.self).split(separator: "\n").first.map {
          Text.printable(String($0.prefix(160)), keepNewlines: false)
        }
        return .failure(Failure(text: "git log failed (\(first ?? "status \(r.status)"))"))
      }
      guard let sections = Git.rawLog(r.output) else {
        return .failure(Failure(text: "git log gave a change it did not describe"))
      }
      var out = [String: Versions]()
      for (commit, changes) in sections {
        for c in changes {
          // Listed by the file's own path (a folder given lists each file in it).
          guard paths.contains(where: { c.path == $0 || c.path.hasPrefix($0 + "/") }) else {
            return .failure(
              Failure(
                text:
                  "git log named \(Text.printable(String(c.path.prefix(80)), keepNewlines: false)), which was not asked for"
              ))
          }
          if c.newBlob.contains(where: { $0 != "0" }) {
            out[c.path, default: Versions()].add(c.newBlob, in: commit)
          }
        }
      }
      return .success(out)
    }
  }

  // MARK: Signed verifications

  /// The bytes a verification record's signature covers.
  static func verificationMessage(
    environment: String, set: KeySet, verdict: String, endpoint: String, time: String
  )
    -> [UInt8]
  {
    let payload = JSONValue.object([
      "endpoint": .string(endpoint), "environment": .string(environment),
      "set_digest": .string(setDigest(environment: environment, set)), "time": .string(time),
      "verdict": .string(verdict),
    ]).compact()
    return SignedDocument.pae(verificationType, payload)
  }

  /// The `signature` member of a `last_verification` record, by the identity that ran it.
  public static func verificationSignature(
    environment: String, set: KeySet, verdict: String, endpoint: String, time: String, by id: Identity
  ) -> JSONValue {
    .object([
      "key": .string(id.publicIdentity.text), "name": .string(id.name),
      "sig": .string(
        Sodium.base64(
          id.sign(
            verificationMessage(
              environment: environment, set: set, verdict: verdict, endpoint: endpoint, time: time)))),
    ])
  }

  /// Who (an admin or member) signed the set's recorded verification, or nil when nobody did.
  public static func verifiedBy(environment: String, set: KeySet, trust: TrustedState) -> String? {
    guard let v = set.lastVerification, case .object(let m)? = v.signature,
      case .string(let keyText)? = m["key"],
      case .string(let sigText)? = m["sig"], let id = try? PublicIdentity(parsing: keyText),
      let sig = Sodium.unbase64(sigText), let (role, name) = trust.role(of: id, in: environment),
      role != "reader"
    else { return nil }
    let message = verificationMessage(
      environment: environment, set: set, verdict: v.verdict, endpoint: v.endpoint, time: v.time.iso)
    return id.verifies(sig, of: message) ? name : nil
  }
}
