import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The workspace's trust: a root (its admins), pinned on each machine, and a signed state that
/// covers the exact bytes of keyward.json and every environment's recipient key. Files:
/// `Environments/trust/root.json` and `Environments/trust/state.json`, each a SignedDocument
/// (FORMAT.md, "Trust").
public struct TrustedState: Sendable {
  public struct Admin: Sendable, Equatable {
    public var name: String
    public var identity: PublicIdentity

    public init(name: String, identity: PublicIdentity) {
      self.name = name
      self.identity = identity
    }
  }

  /// A member of one environment: `member` reads and activates, `reader` only reads.
  public struct Member: Sendable, Equatable {
    public var name: String
    public var identity: PublicIdentity
    public var role: String

    public init(name: String, identity: PublicIdentity, role: String) {
      self.name = name
      self.identity = identity
      self.role = role
    }
  }

  /// 128 bits of BLAKE2b over the root payload, as 32 hex digits: what machines pin.
  public var rootFingerprint: String
  public var admins: [Admin]
  public var threshold: Int
  /// The root's version: 1, then one more for each root change its admins signed.
  public var rootVersion: Int = 1
  /// The root this machine's pin named before it followed a signed root change in this run.
  public var rootMovedFrom: String? = nil
  /// The one environment whose members, wraps and revocations were read (a focused open,
  /// `Workspace.open(focus:)`: a deploy, `set`, `rotate`); nil when every environment's were. A focused state is never the
  /// base of a new signed state (it would drop the others' members).
  public var focus: String? = nil
  /// The signed state's version; it only grows.
  public var version: Int
  /// Environment → base64 X25519 recipient public key, as signed.
  public var recipients: [String: String]
  /// Environment → its members and readers, as signed (admins are not listed: they may act anywhere).
  public var members: [String: [Member]] = [:]
  /// Environment → member identity fingerprint → digest of that member's wrap of the key.
  public var wraps: [String: [String: String]] = [:]
  /// Environment → identities removed from it, with the sets they could read then.
  public var revoked: [String: [Revocation]] = [:]
  /// Environment → the recipient key an admin's rekey is moving to (signed before the environment
  /// file is rewritten, so an interruption leaves a file whose key the state signs).
  public var pendingRecipients: [String: String] = [:]

  public struct Revocation: Sendable, Equatable {
    public var name: String
    public var fingerprint: String
    public var sets: [String]
  }
  /// The exact keyward.json bytes that were signed.
  public var config: [UInt8]
  /// Who signed this version of the state.
  public var signers: [String]
  /// How this machine knows the root: a pin record, `--trust`/`KEYWARD_TRUST`, or not at all.
  public var pinnedBy: String?
  /// This machine's pin record, when there is one (what it remembers of this workspace).
  public var pin: Trust.Pin? = nil
  /// The workspace folder (where the pin record is kept for).
  public var workspacePath: String = ""
  /// The root fingerprint `KEYWARD_TRUST` / `--trust` named when it is an earlier root that this
  /// run followed forward (the setting should be updated).
  public var requiredRootOutdated: String? = nil

  public var isPinned: Bool { pinnedBy != nil }

  /// Refuses a focused state (`focus`) as the base of a new signed version: it lacks the other
  /// environments' members, wraps and revocations.
  func requireWhole(_ action: String) throws(KeywardError) {
    guard let focus else { return }
    throw KeywardError(
      .internal,
      "cannot \(action): the signed state was read for environment \(focus) alone (a bug in keyward)")
  }

  public func admin(_ id: PublicIdentity) -> Admin? { admins.first { $0.identity == id } }

  /// "admin", "member" or "reader" for `id` in `environment`, and the name it is known by; nil for
  /// an outsider.
  public func role(of id: PublicIdentity, in environment: String) -> (role: String, name: String)? {
    if let a = admin(id) { return ("admin", a.name) }
    return members[environment]?.first { $0.identity == id }.map { ($0.role, $0.name) }
  }

  /// The name of whoever holds `key` (a hex fingerprint or a public identity), for reports.
  public func name(of id: PublicIdentity, in environment: String) -> String? {
    role(of: id, in: environment)?.name
  }
}

/// What the person running keyward said about the root: `--trust FP[@MIN]` or
/// `KEYWARD_TRUST=FP[@MIN]`.
public struct TrustExpectation: Sendable, Equatable {
  public var fingerprint: String
  public var minVersion: Int

  public init?(_ text: String) {
    let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
    let fp = String(parts.first ?? "").lowercased()
    guard Names.isLowerHex(fp, count: 32) else { return nil }
    fingerprint = fp
    if parts.count == 2 {
      guard let n = Int(parts[1]), n >= 1, n < 1 << 40 else { return nil }
      minVersion = n
    } else {
      minVersion = 1
    }
  }
}

public enum Trust {
  public static let folder = "trust"
  public static let rootName = "trust/root.json"
  public static let stateName = "trust/state.json"
  /// The largest signed state there can be: keyward signs none larger (about 1 KB per
  /// environment: 3 MB at 3,000), so a larger file or blob at `stateName` is not one, in the
  /// workspace or in its history, and is never read whole.
  public static let maxStateBytes = 64 << 20

  static func rootFingerprint(_ payload: [UInt8]) -> String {
    Sodium.hex(Array(Sodium.blake2b(length: 32, [Array("keyward root v1".utf8), payload]).prefix(16)))
  }

  /// The digest of the workspace's current signed state payload (for a new pin).
  public static func stateDigest(ofWorkspace workspace: String) -> String {
    (try? FileSystem.read("\(workspace)/\(stateName)")).flatMap {
      try? SignedDocument.parse($0, source: "", type: SignedDocument.stateType)
    }.map { digest($0.payload) } ?? ""
  }

  /// The digest a pin records of a signed state's payload.
  public static func stateDigest(_ payload: [UInt8]) -> String { digest(payload) }

  static func digest(_ bytes: [UInt8]) -> String {
    Sodium.hex(Sodium.blake2b(length: 32, [Array("keyward state v1".utf8), bytes]))
  }

  // MARK: Pins

  /// A machine's record of a workspace's root, in the key store (where no repository writer can
  /// reach): keyed by the workspace folder's real path on this machine, never by anything inside
  /// the workspace. It also remembers the highest state version seen, so an older signed state
  /// restored from git history is a rollback here.
  public struct Pin: Sendable, Equatable {
    public var fingerprint: String
    public var version: Int
    public var stateDigest: String
    public var workspace: String
    /// The pinned root's version (1 in pins written before root changes existed).
    public var rootVersion = 1
    /// Environment → the newest activation manifest this machine saw: its version and digest.
    public var activations: [String: (version: Int, digest: String)] = [:]

    public init(
      fingerprint: String, version: Int, stateDigest: String, workspace: String, rootVersion: Int = 1
    ) {
      self.fingerprint = fingerprint
      self.rootVersion = rootVersion
      self.version = version
      self.stateDigest = stateDigest
      self.workspace = workspace
    }

    public static func == (a: Pin, b: Pin) -> Bool {
      a.fingerprint == b.fingerprint && a.rootVersion == b.rootVersion && a.version == b.version
        && a.stateDigest == b.stateDigest
        && a.workspace == b.workspace
        && a.activations.mapValues { "\($0.version) \($0.digest)" }
          == b.activations.mapValues { "\($0.version) \($0.digest)" }
    }
  }

  /// `path` with every link resolved, once per process for each path: the pin, the seen heads and
  /// the branch they are kept for ask about the same folder several times in one write (each
  /// `realpath` is a readlink per component).
  static func realPath(_ path: String) -> String {
    if let known = realPaths.withLock({ $0[path] }) { return known }
    guard let p = realpath(path, nil) else { return path }
    defer { free(p) }
    let real = String(cString: p)
    realPaths.withLock { $0[path] = real }
    return real
  }
  static let realPaths = Mutex<[String: String]>([:])

  public static func pinPath(workspace: String, env: Env) -> String {
    let key = Sodium.hex(
      Array(
        Sodium.blake2b(length: 32, [Array("keyward pin v1".utf8), Array(realPath(workspace).utf8)]).prefix(16)
      ))
    return KeySource.storeDirectory(env) + "/pins/" + key + ".json"
  }

  /// The pin record's name without `.json`: what this machine's other records of the workspace
  /// are named by (`VerifiedSegments`, `VerifiedDeploy`).
  static func pinStem(workspace: String, env: Env) -> String {
    let name = Path.name(pinPath(workspace: workspace, env: env))
    return name.hasSuffix(".json") ? String(name.dropLast(5)) : name
  }

  public static func readPin(workspace: String, env: Env) throws(KeywardError) -> Pin? {
    let path = pinPath(workspace: workspace, env: env)
    guard FileSystem.exists(path) else { return nil }
    // Not secret, but it must be this user's alone (whoever could write it could re-pin): the key
    // files' rule, without guarded memory (this runs on every show and export).
    let bytes = try FileSystem.readPrivate(path)
    return try JSONFiles.read(bytes, source: path) { (o: JSONObject) throws(KeywardError) in
      var pin = Pin(
        fingerprint: try o.string("fingerprint"), version: try o.int("version"),
        stateDigest: try o.string("state_digest"), workspace: try o.string("workspace"))
      if o.members["root_version"] != nil { pin.rootVersion = try o.int("root_version") }
      if o.members["activations"] != nil {
        let a = try o.object("activations")
        for env in a.members.keys {
          let e = try a.object(env)
          pin.activations[env] = (try e.int("version"), try e.string("digest"))
        }
      }
      return pin
    }
  }

  public static func writePin(_ pin: Pin, workspace: String, env: Env) throws(KeywardError) {
    let path = pinPath(workspace: workspace, env: env)
    try FileSystem.makeDirectory(Path.directory(path), mode: 0o700)
    let doc = JSONValue.object([
      "fingerprint": .string(pin.fingerprint), "version": .number(Double(pin.version)),
      "state_digest": .string(pin.stateDigest), "workspace": .string(pin.workspace),
      "root_version": .number(Double(pin.rootVersion)),
      "activations": .object(
        pin.activations.mapValues {
          .object(["version": .number(Double($0.version)), "digest": .string($0.digest)])
        }),
    ])
    try FileSystem.writeAtomically(path, bytes: doc.written(), mode: 0o600, forceMode: true)
  }

  /// `<key store>/<workspace_id>/trusted-workspace`: the folder whose trusted workspace owns that
  /// id on this machine (written when it is pinned or required), so a v1 copy elsewhere with the
  /// same id — whose keys the key store holds — is refused.
  static func ownerPath(workspaceID: String, env: Env) -> String {
    KeySource.storeDirectory(env) + "/" + workspaceID + "/trusted-workspace"
  }

  static func owner(workspaceID: String, env: Env) -> String? {
    let path = ownerPath(workspaceID: workspaceID, env: env)
    guard FileSystem.exists(path), let bytes = try? FileSystem.readPrivate(path) else { return nil }
    let text = Text.trimBlanks(Substring(String(decoding: bytes, as: UTF8.self)))
    return text.isEmpty ? nil : text
  }

  /// Records which folder's trusted workspace owns `workspaceID` here (once).
  public static func markOwner(workspaceID: String, workspace: String, env: Env) {
    guard Names.isFingerprint(workspaceID) else { return }
    let path = ownerPath(workspaceID: workspaceID, env: env)
    guard !FileSystem.exists(path) else { return }
    try? FileSystem.makeDirectory(Path.directory(path), mode: 0o700)
    try? FileSystem.writeAtomically(
      path, bytes: Array((realPath(workspace) + "\n").utf8), mode: 0o600, forceMode: true)
  }

  /// The commit that added the workspace's trust root and its author, from git (nil outside git).
  public static func introducingCommit(workspace: String) -> String? {
    guard
      let log = Git.output(
        ["log", "--diff-filter=A", "--format=%h by %an <%ae>, %ad", "--date=short", "--", rootName],
        in: workspace)
    else { return nil }
    return log.split(separator: "\n").last.map { Text.printable(String($0.prefix(160)), keepNewlines: false) }
  }

  // MARK: Reading and verifying

  /// Whether the workspace has trust files (either of them: one alone is damage, not v1).
  public static func present(_ workspace: String) -> Bool {
    FileSystem.exists("\(workspace)/\(rootName)") || FileSystem.exists("\(workspace)/\(stateName)")
  }

  /// Verifies the root and the signed state against this machine's pin (or `expected`), and
  /// keyward.json's bytes against the signed ones. Nil for a v1 workspace nobody pinned.
  /// `verified`: this machine's record of the state for the deploy's `focus` environment (taken
  /// in place of reading the state while it was checked under the root in use); `recordAs`: the
  /// files' identities taken before they were read, to record what this verification finds.
  public static func verify(
    workspace: String, configBytes: [UInt8], workspaceID: String, expected: TrustExpectation?, env: Env,
    checkConfig: Bool = true, full: Bool = false, focus: String? = nil, verified: VerifiedDeploy? = nil,
    recordAs: VerifiedDeploy.Files? = nil
  ) throws(KeywardError) -> TrustedState? {
    let pin = try readPin(workspace: workspace, env: env)
    guard present(workspace) else {
      if let pin {
        throw KeywardError(
          .integrity,
          "\(workspace)/\(folder) is missing, but this machine pinned the workspace's trust root \(pin.fingerprint) (state version \(pin.version)): "
            + "deleting the trust files does not make it an unprotected workspace",
          hint: "restore \(workspace)/\(folder) from version control and find out who removed it")
      }
      if let expected {
        throw KeywardError(
          .integrity,
          "\(workspace) has no trust root, but trust root \(expected.fingerprint) was required (KEYWARD_TRUST or the trust option)"
        )
      }
      // A v1 copy of a workspace this machine trusts (its id, its files, no trust root): it could
      // carry any endpoint or recipient key, and the key store's keys for that id would open it.
      if let owner = owner(workspaceID: workspaceID, env: env), owner != realPath(workspace) {
        throw KeywardError(
          .integrity,
          "\(workspace) has no trust root, but its workspace id \(workspaceID) belongs to the trusted workspace at \(owner), "
            + "whose root this machine pinned: a copy without its trust files is refused (it could name any endpoint or key)",
          hint: "work in \(owner); a workspace of its own needs its own id (keyward init in an empty folder)")
      }
      return nil
    }
    let rootPath = "\(workspace)/\(rootName)"
    let statePath = "\(workspace)/\(stateName)"
    for p in [rootPath, statePath] where !FileSystem.exists(p) {
      throw KeywardError(.integrity, "\(p) is missing: the trust files were damaged or removed in part")
    }
    // (A deploy's record comes with the root file, read once.)
    var current: RootDoc
    if let read = verified?.rootDoc { current = read } else { current = try readRoot(rootPath) }
    // The record stands for the state only under the root its signatures were checked under (it
    // is made only when the state names that root).
    let known = verified.flatMap { $0.root == current.fingerprint ? $0 : nil }
    let stateDoc: SignedDocument?
    let state: State
    if let known, let s = known.state {
      stateDoc = nil
      state = s
    } else {
      let stateBytes = try FileSystem.read(
        statePath, limit: FileSystem.Limit(maxStateBytes, "a signed state", kind: .integrity))
      let doc = try SignedDocument.parse(stateBytes, source: statePath, type: SignedDocument.stateType)
      stateDoc = doc
      state = try parseState(doc.payload, source: statePath, focus: focus)
    }
    func payloadDigest() -> String { stateDoc.map { Trust.digest($0.payload) } ?? known?.digest ?? "" }
    func validSigners(_ admins: [PublicIdentity]) -> [PublicIdentity] {
      if let stateDoc { return stateDoc.validSigners(admins) }
      let recorded = Set(known?.signers ?? [])
      return admins.filter { recorded.contains($0.text) }
    }
    // A root change interrupted after the state was signed for the new root: the complete proposal
    // is the root (its signatures are checked here, as a change from root.json's root).
    var superseded: RootDoc?
    if state.root != current.fingerprint, let next = try completedProposal(workspace, of: current),
      next.fingerprint == state.root
    {
      superseded = current
      current = next
    }
    let fp = current.fingerprint
    let root = current.root
    guard root.workspaceID == workspaceID else {
      throw KeywardError(
        .integrity,
        "\(current.path) belongs to workspace \(root.workspaceID), not to this one (\(workspaceID)): copied from another workspace"
      )
    }
    // A root this machine pinned was verified when it was pinned, and the pin is its hash: its
    // signatures need no second check on the hot path (`full` checks them anyway).
    let pinnedRoot = pin?.fingerprint == fp && !full
    let rootSigners =
      pinnedRoot ? root.admins.map(\.identity) : current.doc.validSigners(root.admins.map(\.identity))
    guard rootSigners.count >= root.threshold else {
      throw KeywardError(
        .integrity,
        "\(current.path): \(rootSigners.count) valid admin signature(s), \(root.threshold) needed: the root was edited or forged"
      )
    }
    // The pin: the person's word first, then this machine's record. A pin of an earlier root is
    // followed forward only through root changes its admins signed (TUF's root rotation).
    var pinnedBy: String?
    var movedFrom: String?
    if let expected {
      if expected.fingerprint != fp {
        try walkRoots(
          workspace, from: expected.fingerprint, to: current, also: superseded,
          pinnedBy: "the required root (KEYWARD_TRUST or the trust option)")
      }
      pinnedBy = "KEYWARD_TRUST / the trust option"
    }
    if let pin {
      if pin.fingerprint != fp {
        guard pin.rootVersion < root.version else {
          throw KeywardError(
            .integrity,
            "the workspace's trust root is \(fp), version \(root.version), but this machine pinned root version \(pin.rootVersion) (\(pin.fingerprint)): "
              + "an older root was restored (rollback), or the root was replaced",
            hint: "restore the newest trust/ folder from version control")
        }
        try walkRoots(
          workspace, from: pin.fingerprint, to: current, also: superseded, pinnedBy: "this machine's pin")
        // Before the pin follows: the admins of the pinned root may have signed two ways (a
        // removed admin's own change), or signed the root in use away since.
        if let found = rootHistoryInGit(workspace, from: pin.fingerprint, current: current) {
          if let why = found.unchecked {
            throw KeywardError(
              .integrity,
              "this machine pinned trust root \(pin.fingerprint), and the workspace's root is now \(fp) (version \(root.version)), "
                + "but the repository's history could not be read whole (\(why)), so the change cannot be checked "
                + "against it (a removed admin can sign a change of his own); the pin does not follow",
              hint:
                "run it again in a full clone (e.g. fetch-depth: 0), or check with the admins which root is the workspace's "
                + "and have this machine pin that one in place of its pin (keyward trust pin)")
          }
          if let fork = found.fork, let first = fork.first {
            throw KeywardError(
              .integrity,
              "this machine pinned trust root \(pin.fingerprint), and this repository's history holds \(fork.count) different "
                + "roots of version \(first.root.root.version) that follow it, each signed by the admins of the root before it: "
                + fork.map { "\($0.root.fingerprint) (\(Trust.firstCommit($0.commit)))" }.joined(
                  separator: " and ")
                + "; the pin follows neither (a removed admin can sign a change of his own)",
              hint:
                "check with the admins which root is the workspace's, and have this machine pin that one in place of its pin (keyward trust pin)"
            )
          }
          if let newer = found.newer {
            throw KeywardError(
              .integrity,
              "the workspace's trust root is \(fp) (version \(root.version)), but this repository's history holds root version "
                + "\(newer.root.root.version) (\(newer.root.fingerprint), \(Trust.firstCommit(newer.commit))) that follows it: "
                + "the root in use was signed away and then restored (rollback); this machine's pin stays at \(pin.fingerprint)",
              hint: "restore the newest trust/ folder from version control")
          }
        }
        movedFrom = pin.fingerprint
      }
      pinnedBy = pinnedBy ?? "this machine's pin"
    }
    // Likewise a state whose digest is the newest one this machine verified and recorded. (The
    // digest is 2 MB of BLAKE2b at 3,000 environments: only a pin needs it.)
    let digest = pin == nil ? "" : payloadDigest()
    let seenState = pinnedRoot && pin?.stateDigest == digest
    let signers = seenState ? [] : validSigners(root.admins.map(\.identity))
    guard seenState || signers.count >= root.threshold else {
      throw KeywardError(
        .integrity,
        "\(statePath): no valid signature by an admin of root \(fp): the signed state was edited or forged")
    }
    guard state.root == fp else {
      throw KeywardError(.integrity, "\(statePath) was signed for root \(state.root), not \(fp)")
    }
    if let pin {
      if state.version < pin.version || (state.version == pin.version && digest != pin.stateDigest) {
        throw KeywardError(
          .integrity,
          "\(statePath) is version \(state.version), but this machine has seen version \(pin.version)"
            + (state.version == pin.version ? " with other contents" : "")
            + ": an older signed state was restored (rollback)",
          hint: "restore the newest trust/state.json from version control")
      }
    }
    if let expected, state.version < expected.minVersion {
      throw KeywardError(
        .integrity,
        "\(statePath) is version \(state.version), below the required minimum \(expected.minVersion): rollback"
      )
    }
    // keyward.json must be exactly what was signed.
    if checkConfig && state.config != configBytes {
      throw configMismatch(
        signed: state.config, current: configBytes, workspace: workspace, version: state.version)
    }
    // Verified against this machine's pin or the person's word: this folder owns the id here.
    if pin != nil || expected != nil { markOwner(workspaceID: workspaceID, workspace: workspace, env: env) }
    var currentPin = pin
    if let pin, state.version > pin.version || movedFrom != nil {
      var newer = pin
      newer.fingerprint = fp
      newer.rootVersion = root.version
      newer.version = state.version
      newer.stateDigest = digest
      try? writePin(newer, workspace: workspace, env: env)
      currentPin = newer
    }
    if let recordAs, let focus, stateDoc != nil, superseded == nil, checkConfig,
      let config = VerifiedDeploy.restrictedConfig(configBytes, to: focus),
      let recipient = state.recipients[focus]
    {
      let payload = statePayload(
        rootFingerprint: state.root, version: state.version, configBytes: config,
        recipients: [focus: recipient],
        members: state.members.filter { $0.key == focus }, wraps: state.wraps.filter { $0.key == focus },
        revoked: state.revoked.filter { $0.key == focus }, pending: state.pending.filter { $0.key == focus })
      VerifiedDeploy(
        environment: focus, files: recordAs, root: fp, digest: digest.isEmpty ? payloadDigest() : digest,
        signers: (seenState ? validSigners(root.admins.map(\.identity)) : signers).map(\.text),
        payload: payload
      ).save(workspace: workspace, env: env)
    }
    let names = Dictionary(uniqueKeysWithValues: root.admins.map { ($0.identity, $0.name) })
    return TrustedState(
      rootFingerprint: fp, admins: root.admins, threshold: root.threshold, rootVersion: root.version,
      rootMovedFrom: movedFrom, focus: state.focus, version: state.version,
      recipients: state.recipients, members: state.members, wraps: state.wraps, revoked: state.revoked,
      pendingRecipients: state.pending,
      config: state.config,
      signers: signers.compactMap { names[$0] }, pinnedBy: pinnedBy, pin: currentPin,
      workspacePath: workspace,
      requiredRootOutdated: expected.map(\.fingerprint).flatMap { $0 == fp ? nil : $0 })
  }

  /// Names the first member of keyward.json that differs from the signed bytes, with the signed
  /// value.
  static func configMismatch(signed: [UInt8], current: [UInt8], workspace: String, version: Int)
    -> KeywardError
  {
    let path = "\(workspace)/\(Workspace.configName)"
    var detail = "its bytes differ from the signed ones"
    if let d = jsonDifferences(signed: signed, current: current)?.first {
      let shown = d.signed.map { String(decoding: $0.compact(), as: UTF8.self) } ?? "absent"
      detail =
        "\(d.path.isEmpty ? "the document" : d.path) is not the signed value (\(Text.printable(String(shown.prefix(120)), keepNewlines: false)))"
    }
    return KeywardError(
      .integrity,
      "\(path) does not match the signed state (trust/state.json version \(version)): \(detail); keyward uses only signed values",
      hint: "revert the edit (git checkout -- \(path)), or have an admin review it and run keyward trust sign"
    )
  }

  /// Every member of keyward.json that differs from the signed bytes: "path: signed → current".
  public static func differences(signed: [UInt8], current: [UInt8]) -> [String] {
    guard let all = jsonDifferences(signed: signed, current: current) else { return ["(not JSON)"] }
    func show(_ v: JSONValue?) -> String {
      v.map {
        Text.printable(String(String(decoding: $0.compact(), as: UTF8.self).prefix(120)), keepNewlines: false)
      }
        ?? "absent"
    }
    return all.map { "\($0.path.isEmpty ? "(document)" : $0.path): \(show($0.signed)) → \(show($0.current))" }
  }

  /// The members where two JSON documents differ, in sorted key order (nil when either is not
  /// JSON): a member's dotted path and its value on each side (nil: absent).
  static func jsonDifferences(signed: [UInt8], current: [UInt8])
    -> [(path: String, signed: JSONValue?, current: JSONValue?)]?
  {
    guard let a = try? JSONValue.parse(signed, source: "signed"),
      let b = try? JSONValue.parse(current, source: "current")
    else { return nil }
    var out = [(path: String, signed: JSONValue?, current: JSONValue?)]()
    func walk(_ x: JSONValue?, _ y: JSONValue?, _ path: String) {
      if x == y { return }
      if case .object(let p)? = x, case .object(let q)? = y {
        for k in Set(p.keys).union(q.keys).sorted() { walk(p[k], q[k], path.isEmpty ? k : "\(path).\(k)") }
        return
      }
      out.append((path, x, y))
    }
    walk(a, b, "")
    return out
  }

  struct Root {
    var workspaceID: String
    var admins: [TrustedState.Admin]
    var threshold: Int
    var version: Int = 1
    /// The fingerprint of root `version - 1` (nil for a first root).
    var previous: String? = nil

    /// The payload bytes (compact JSON, keys sorted) that are signed and fingerprinted.
    var payload: [UInt8] {
      var o: [String: JSONValue] = [
        "admins": .array(
          admins.map { .object(["key": .string($0.identity.text), "name": .string($0.name)]) }),
        "threshold": .number(Double(threshold)), "type": .string("keyward-root"),
        "version": .number(Double(version)), "workspace_id": .string(workspaceID),
      ]
      if let previous { o["previous"] = .string(previous) }
      return JSONValue.object(o).compact()
    }
  }

  static func parseRoot(_ payload: [UInt8], source: String) throws(KeywardError) -> Root {
    try JSONFiles.read(payload, source: "\(source) payload") { (o: JSONObject) throws(KeywardError) in
      guard try o.string("type") == "keyward-root" else {
        throw KeywardError(.integrity, "\(source): not a root")
      }
      let version = try o.int("version")
      let previous = try o.optionalString("previous")
      guard version >= 1, version < 1 << 40, (version == 1) == (previous == nil) else {
        throw KeywardError(
          .integrity,
          "\(source): root version \(version) \(previous == nil ? "without" : "with") a previous root")
      }
      if let previous, !Names.isLowerHex(previous, count: 32) {
        throw KeywardError(.integrity, "\(source): previous is not a root fingerprint")
      }
      var admins = [TrustedState.Admin]()
      for a in try o.objects("admins") {
        let name = try a.string("name")
        guard Names.isMember(name) else {
          throw KeywardError(.integrity, "\(source): an admin's name is invalid")
        }
        admins.append(.init(name: name, identity: try PublicIdentity(parsing: try a.string("key"))))
      }
      let threshold = try o.int("threshold")
      guard Set(admins.map(\.name)).count == admins.count,
        Set(admins.map(\.identity.fingerprint)).count == admins.count
      else {
        throw KeywardError(.integrity, "\(source): an admin is listed twice")
      }
      guard !admins.isEmpty, (1...admins.count).contains(threshold) else {
        throw KeywardError(.integrity, "\(source): threshold \(threshold) with \(admins.count) admin(s)")
      }
      let id = try o.string("workspace_id")
      guard Names.isFingerprint(id) else {
        throw KeywardError(.integrity, "\(source): workspace_id is invalid")
      }
      return Root(workspaceID: id, admins: admins, threshold: threshold, version: version, previous: previous)
    }
  }

  struct State: Equatable {
    var root: String
    var version: Int
    var config: [UInt8]
    var recipients: [String: String]
    var members: [String: [TrustedState.Member]]
    var wraps: [String: [String: String]] = [:]
    var revoked: [String: [TrustedState.Revocation]] = [:]
    var pending: [String: String] = [:]
    /// The environment whose members, wraps and revocations alone were read (`scanState`'s focus).
    var focus: String? = nil
  }

  /// The signed state's payload: keyward's own canonical form in one pass (`scanState`), anything
  /// else (or anything wrong) by the strict reading, which says what is wrong.
  static func parseState(_ payload: [UInt8], source: String, focus: String? = nil) throws(KeywardError)
    -> State
  {
    if let state = scanState(payload, focus: focus) { return state }
    return try parseStateStrictly(payload, source: source)
  }

  static func parseStateStrictly(_ payload: [UInt8], source: String) throws(KeywardError) -> State {
    var identities = [String: PublicIdentity]()  // a person is a member of many environments
    return try JSONFiles.read(payload, source: "\(source) payload") { (o: JSONObject) throws(KeywardError) in
      guard try o.string("type") == "keyward-state" else {
        throw KeywardError(.integrity, "\(source): not a state")
      }
      let version = try o.int("version")
      guard version >= 1 else { throw KeywardError(.integrity, "\(source): version \(version)") }
      guard let config = Sodium.unbase64(try o.string("config")) else {
        throw KeywardError(.integrity, "\(source): config is not valid base64")
      }
      var recipients = [String: String]()
      var members = [String: [TrustedState.Member]]()
      let envs = try o.object("environments")
      for name in envs.members.keys {
        guard Names.isEnvironment(name) else {
          throw KeywardError(.integrity, "\(source): invalid environment name")
        }
        let e = try envs.object(name)
        recipients[name] = try e.string("recipient")
        if e.members["members"] != nil {
          for m in try e.objects("members") {
            let role = try m.string("role")
            let who = try m.string("name")
            guard role == "member" || role == "reader", Names.isMember(who) else {
              throw KeywardError(.integrity, "\(source): environments.\(name).members: invalid entry")
            }
            let key = try m.string("key")
            var identity: PublicIdentity
            if let known = identities[key] {
              identity = known
            } else {
              identity = try PublicIdentity(parsing: key)
              identities[key] = identity
            }
            members[name, default: []].append(.init(name: who, identity: identity, role: role))
          }
        }
      }
      var wraps = [String: [String: String]]()
      var revoked = [String: [TrustedState.Revocation]]()
      var pending = [String: String]()
      for name in envs.members.keys {
        let e = try envs.object(name)
        if let p = try e.optionalString("pending_recipient") { pending[name] = p }
        if e.members["wraps"] != nil {
          let w = try e.object("wraps")
          for fp in w.members.keys { wraps[name, default: [:]][fp] = try w.string(fp) }
        }
        if e.members["revoked"] != nil {
          for r in try e.objects("revoked") {
            guard case .array(let ids)? = r.members["sets"] else {
              throw KeywardError(.integrity, "\(source): environments.\(name).revoked: sets missing")
            }
            revoked[name, default: []].append(
              .init(
                name: try r.string("name"), fingerprint: try r.string("fingerprint"),
                sets: ids.compactMap { if case .string(let s) = $0 { return s } else { return nil } }))
          }
        }
      }
      return State(
        root: try o.string("root"), version: version, config: config, recipients: recipients,
        members: members,
        wraps: wraps, revoked: revoked, pending: pending)
    }
  }

  // MARK: Writing (an admin)

  /// Creates a first root with `admin` as its only admin, signs the state, and pins it here.
  public static func create(
    workspace: String, configBytes: [UInt8], workspaceID: String, recipients: [String: String],
    admin: Identity,
    env: Env
  ) throws(KeywardError) -> TrustedState {
    let root = Root(
      workspaceID: workspaceID, admins: [.init(name: admin.name, identity: admin.publicIdentity)],
      threshold: 1)
    let rootPayload = root.payload
    var rootDoc = SignedDocument(payloadType: SignedDocument.rootType, payload: rootPayload)
    rootDoc.sign(with: admin)
    // Both files are written in a hidden folder beside the workspace's files and put in place with
    // one rename of the folder: an interruption leaves either no trust root or a whole one.
    let staging = "\(workspace)/.trust-new-\(getpid())"
    if FileSystem.exists(staging) { _ = try? removeFolder(staging) }
    try FileSystem.makeDirectory("\(staging)/\(folder)", mode: 0o755)
    try FileSystem.writeAtomically("\(staging)/\(rootName)", bytes: rootDoc.json.written())
    let fp = rootFingerprint(rootPayload)
    let state = try sign(
      workspace: staging, rootFingerprint: fp, root: root, version: 1, configBytes: configBytes,
      recipients: recipients, admin: admin)
    FileSystem.crashPoint("trust-before-publish")
    guard !FileSystem.exists("\(workspace)/\(folder)") else {
      throw KeywardError(.input, "\(workspace)/\(folder) appeared meanwhile; not replacing it")
    }
    try FileSystem.replace("\(staging)/\(folder)", with: "\(workspace)/\(folder)")
    _ = try? removeFolder(staging)
    FileSystem.crashPoint("trust-before-pin")
    try writePin(
      Pin(fingerprint: fp, version: 1, stateDigest: state.digest, workspace: realPath(workspace)),
      workspace: workspace, env: env)
    markOwner(workspaceID: workspaceID, workspace: workspace, env: env)
    return TrustedState(
      rootFingerprint: fp, admins: root.admins, threshold: 1, version: 1, recipients: recipients,
      config: configBytes, signers: [admin.name], pinnedBy: "this machine's pin")
  }

  /// Removes an empty (or nearly empty) staging folder left by `create`.
  static func removeFolder(_ path: String) throws(KeywardError) {
    for name in FileSystem.listDirectory(path) {
      let child = "\(path)/\(name)"
      if FileSystem.isDirectory(child) && FileSystem.irregularKind(child) == "a folder" {
        try removeFolder(child)
      } else {
        try FileSystem.remove(child)
      }
    }
    guard rmdir(path) == 0 || errno == ENOENT else {
      throw KeywardError(.io, "\(path): cannot remove: \(String(cString: strerror(errno)))")
    }
  }

  /// Signs a new version of the state (the previous version + 1) as `admin`.
  public static func update(
    workspace: String, current: TrustedState, configBytes: [UInt8], recipients: [String: String],
    members: [String: [TrustedState.Member]]? = nil, wraps: [String: [String: String]]? = nil,
    revoked: [String: [TrustedState.Revocation]]? = nil, pending: [String: String]? = nil, admin: Identity,
    env: Env
  ) throws(KeywardError) -> TrustedState {
    try current.requireWhole("sign a new version of the state")
    let pending = pending ?? current.pendingRecipients
    let members = members ?? current.members
    let wraps = wraps ?? current.wraps
    let revoked = revoked ?? current.revoked
    guard let who = current.admin(admin.publicIdentity) else {
      throw KeywardError(
        .integrity,
        "the identity \(admin.name) (\(admin.publicIdentity.fingerprint)) is not an admin of this workspace's trust root: "
          + "only an admin may change keyward.json or a recipient key")
    }
    let root = Root(workspaceID: "", admins: current.admins, threshold: current.threshold)
    let signed = try sign(
      workspace: workspace, rootFingerprint: current.rootFingerprint, root: root,
      version: current.version + 1,
      configBytes: configBytes, recipients: recipients, members: members, wraps: wraps, revoked: revoked,
      pending: pending, admin: admin)
    if var pin = try readPin(workspace: workspace, env: env), pin.fingerprint == current.rootFingerprint {
      pin.version = current.version + 1
      pin.stateDigest = signed.digest
      try writePin(pin, workspace: workspace, env: env)
    }
    var next = current
    next.version += 1
    next.config = configBytes
    next.recipients = recipients
    next.members = members
    next.wraps = wraps
    next.revoked = revoked
    next.pendingRecipients = pending
    next.signers = [who.name]
    return next
  }

  static func sign(
    workspace: String, rootFingerprint: String, root: Root, version: Int, configBytes: [UInt8],
    recipients: [String: String], members: [String: [TrustedState.Member]] = [:],
    wraps: [String: [String: String]] = [:], revoked: [String: [TrustedState.Revocation]] = [:],
    pending: [String: String] = [:], admin: Identity
  ) throws(KeywardError) -> (doc: SignedDocument, digest: String) {
    let payload = statePayload(
      rootFingerprint: rootFingerprint, version: version, configBytes: configBytes, recipients: recipients,
      members: members, wraps: wraps, revoked: revoked, pending: pending)
    var doc = SignedDocument(payloadType: SignedDocument.stateType, payload: payload)
    doc.sign(with: admin)
    let bytes = doc.json.written()
    guard bytes.count <= maxStateBytes else {
      throw KeywardError(
        .input,
        "the signed state would be \(bytes.count >> 20) MB, more than a signed state can be (\(maxStateBytes >> 20) MB): "
          + "split the workspace (fewer environments or members in one)")
    }
    try FileSystem.writeAtomically("\(workspace)/\(stateName)", bytes: bytes)
    return (doc, digest(payload))
  }

  /// A signed state's payload in keyward's canonical form.
  static func statePayload(
    rootFingerprint: String, version: Int, configBytes: [UInt8], recipients: [String: String],
    members: [String: [TrustedState.Member]], wraps: [String: [String: String]],
    revoked: [String: [TrustedState.Revocation]], pending: [String: String]
  ) -> [UInt8] {
    var environments = [String: JSONValue]()
    for (name, recipient) in recipients {
      var e: [String: JSONValue] = [
        "recipient": .string(recipient),
        "members": .array(
          (members[name] ?? []).sorted { $0.name < $1.name }.map {
            .object(["key": .string($0.identity.text), "name": .string($0.name), "role": .string($0.role)])
          }),
        "wraps": .object((wraps[name] ?? [:]).mapValues(JSONValue.string)),
        "revoked": .array(
          (revoked[name] ?? []).map {
            .object([
              "fingerprint": .string($0.fingerprint), "name": .string($0.name),
              "sets": .array($0.sets.map(JSONValue.string)),
            ])
          }),
      ]
      if let p = pending[name] { e["pending_recipient"] = .string(p) }
      environments[name] = .object(e)
    }
    return JSONValue.object([
      "config": .string(Sodium.base64(configBytes)),
      "environments": .object(environments),
      "root": .string(rootFingerprint), "type": .string("keyward-state"), "version": .number(Double(version)),
    ]).compact()
  }
}
