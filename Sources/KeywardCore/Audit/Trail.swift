#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The team trail (FORMAT.md, "Version 2: trail/"): one signed file per write command invocation,
/// each naming the entries it follows, so that two clones' work merges with no conflict however
/// git brings it together. This file writes entries; `TrailIndex` reads and verifies them.
public enum Trail {
  public static let folder = "trail"
  public static let entriesFolder = "trail/entries"
  public static let headsFolder = "trail/heads"
  public static let checkpointsFolder = "trail/checkpoints"
  public static let entryType = "application/vnd.keyward.trail-entry+json"
  public static let checkpointType = "application/vnd.keyward.trail-checkpoint+json"

  /// An entry's or a checkpoint's id: hex BLAKE2b-256 of a label and its exact payload bytes.
  public static func id(of payload: [UInt8]) -> String {
    Sodium.hex(Sodium.blake2b(length: 32, [Array("keyward trail v2".utf8), payload]))
  }

  public static func isID(_ s: Substring) -> Bool { Names.isLowerHex(String(s), count: 64) }

  /// Who signs the entries this process writes: the identity the command already loaded, else
  /// the configured one if it opens without a passphrase (the trail never asks for one on its
  /// own: an export must not start prompting). None: the entry is unsigned. Tests may replace it.
  nonisolated(unsafe) public static var signer: () -> Identity? = {
    if let id = IdentitySource.lastLoaded { return id }
    let source = IdentitySource()
    guard source.configured else { return nil }
    return try? source.load { (prompt: String) throws(KeywardError) -> SecureBytes in
      throw KeywardError(.integrity, prompt)
    }
  }

  /// One change an entry records.
  public struct Record: Sendable {
    public var action: String
    public var environment: String
    public var set: KeySet?
    public var details: [String: JSONValue]

    public init(action: String, environment: String, set: KeySet?, details: [String: JSONValue] = [:]) {
      self.action = action
      self.environment = environment
      self.set = set
      self.details = details
    }

    func json() throws(KeywardError) -> JSONValue {
      // Everything an entry says is checked before it is written: the trail is read by people and
      // tools, and must never carry text a reader could mistake for anything but data.
      guard Names.isEnvironment(environment) else {
        throw KeywardError(.internal, "refusing to record an invalid environment name in the audit trail")
      }
      var m = details
      m["action"] = .string(action)
      m["environment"] = .string(environment)
      if let set {
        guard Names.isSetID(set.id), Names.isFingerprint(set.fingerprints.appKey),
          Names.isFingerprint(set.fingerprints.appSecret)
        else {
          throw KeywardError(
            .integrity,
            "set \(Text.printable(set.id)) of \(environment) has an invalid id or fingerprint; not recorded")
        }
        m["set"] = .string(set.id)
        m["fingerprints"] = .object([
          "app_key": .string(set.fingerprints.appKey), "app_secret": .string(set.fingerprints.appSecret),
        ])
      }
      return .object(m)
    }
  }

  /// What `write` did: the new entry's id, and a notice when this machine's record of the heads
  /// it saw was found lost (a crash or power loss; `Seen.lostNotice`).
  public struct Written: Sendable {
    public var id: String
    public var notice: String?
  }

  /// Writes one entry for `records`. The caller holds the workspace lock. Reads only the heads (a
  /// few small files), never the whole trail.
  @discardableResult
  public static func write(
    workspace: Workspace, command: String, records: [Record], pending: Bool = false, env: Env = .process
  ) throws(KeywardError) -> Written {
    let root = workspace.path
    for sub in [folder, entriesFolder, headsFolder] {
      let path = "\(root)/\(sub)"
      if let kind = FileSystem.irregularKind(path), kind != "a folder" {
        throw KeywardError(
          .input, "\(path) is \(kind); keyward refuses to write the audit trail through it",
          hint: "replace it with the real folder (git checkout -- \(path)), or delete it")
      }
      try FileSystem.makeDirectory(path, mode: 0o755)
    }
    let parents = try heads(workspace: workspace)
    var payload: [String: JSONValue] = [
      "type": .string("keyward-trail-entry"), "v": .number(2),
      "parents": .array(parents.map(JSONValue.string)), "time": .string(Timestamp.now().iso),
      "command": .string(command),
      "records": .array(try records.map { r throws(KeywardError) in try r.json() }),
    ]
    // The first entry of a workspace that has a version-1 trail anchors it: its count and last
    // hash, so cutting or deleting audit.jsonl later is seen.
    if parents.isEmpty, let v1 = try v1Anchor(workspace) {
      payload["v1"] = .object(["entries": .number(Double(v1.entries)), "head": .string(v1.head)])
    }
    let identity = signer()
    if let identity {
      payload["signer"] = .string(identity.publicIdentity.text)
      payload["actor"] = .string(oneLine(identity.name))
    } else {
      payload["actor"] = .string(oneLine(AuditLog.actor(workspace: root, env: env)))
    }
    let bytes = JSONValue.object(payload).compact()
    var document = SignedDocument(payloadType: entryType, payload: bytes)
    if let identity { document.sign(with: identity) }
    let id = id(of: bytes)
    // Marked as this machine's own unfinished write before the entry exists: a crash anywhere
    // from here to the environment file is an interruption here, never taken for a revert.
    // A lost record is found before anything here rewrites it (the rewrite keeps the loss).
    let found = Seen.load(workspace: root, env: env)
    let notice = found.lostNow ? found.lost.map(Seen.lostNotice) : nil
    if pending { Seen.markPending(id, workspace: root, env: env) }
    // Three files, each durable before anything names it, with two fsyncs where an atomic write
    // each took six (see Decisions): the entry's bytes are synced, it is put in place and its
    // folder synced; only then are its head marker (a hint: readers compute heads from
    // `parents`) and this machine's seen heads put in place, by rename without fsync, so a power
    // loss can take them back but never leave them naming an entry it took. The seen heads are
    // synced first when they hold an unfinished write of this machine (`pending`), whose loss
    // would make an interruption here look like a revert; if that sync fails they are not
    // replaced (the durable ones already name the pending entry).
    let entry = try StagedFile(
      "\(root)/\(entriesFolder)/\(id).json", mode: 0o644, bytes: document.json.compact() + [0x0a])
    FileSystem.crashPoint("trail-write-before-fsync")
    try entry.sync()
    FileSystem.crashPoint("trail-write-before-rename")
    try entry.install()
    // Nothing names the entry until its name is durable: if that cannot be had, the write stops
    // here (its head marker and the seen heads untouched) and says so.
    guard FileSystem.syncDirectory("\(root)/\(entriesFolder)") else {
      throw KeywardError(
        .io,
        "\(root)/\(entriesFolder): cannot sync the folder after writing entry \(id.prefix(12)): \(FileSystem.errnoText())"
      )
    }
    // The new head replaces the ones it follows; a crash in between leaves extra head files,
    // which the next writer simply follows too.
    FileSystem.crashPoint("trail-before-head")
    try StagedFile("\(root)/\(headsFolder)/\(id)", mode: 0o644, bytes: Array("\(id)\n".utf8)).install()
    // Best effort: a head marker that cannot be removed (a folder planted there) only makes the
    // next writer name this entry's parent once more, which changes nothing.
    for p in parents where FileSystem.irregularKind("\(root)/\(headsFolder)/\(p)") == nil {
      try? FileSystem.remove("\(root)/\(headsFolder)/\(p)")
    }
    // A killed write's temporary head marker (a few names to list: the folder holds the heads).
    FileSystem.removeStaleTemporaries(in: "\(root)/\(headsFolder)")
    FileSystem.crashPoint("trail-before-seen")
    // Best effort, as every write of this machine's memory.
    if let seen = Seen.staged(workspace: root, replacing: parents, with: id, env: env),
      !seen.mustSync || (try? seen.file.sync()) != nil
    {
      try? seen.file.installLazily()
    }
    return Written(id: id, notice: notice)
  }

  static func oneLine(_ s: String) -> String { Text.printable(String(s.prefix(200)), keepNewlines: false) }

  /// The entries the next one follows: the listed heads that exist. When none is listed but the
  /// trail has entries (head files deleted, or a crash), they are computed from the entries.
  public static func heads(workspace: Workspace, env: Env = .process) throws(KeywardError) -> [String] {
    let root = workspace.path
    // The listed heads (regular files only), and the heads this machine itself last saw here: a
    // head file deleted or replaced by a writer cannot make this machine fork the trail.
    let listed = FileSystem.listDirectory("\(root)/\(headsFolder)").filter {
      isID(Substring($0)) && FileSystem.irregularKind("\(root)/\(headsFolder)/\($0)") == nil
    }
    var known: Set<String>? = nil
    func exists(_ id: String) -> Bool {
      if FileSystem.irregularKind("\(root)/\(entriesFolder)/\(id).json") == nil
        && FileSystem.exists("\(root)/\(entriesFolder)/\(id).json")
      {
        return true
      }
      if known == nil { known = Set(CheckpointFile.allHeads(root, trust: workspace.trust)) }
      return known!.contains(id)
    }
    let present = Set(listed + Seen.read(workspace: root, env: env)).filter(exists)
    if !present.isEmpty { return present.sorted() }
    let anyEntries =
      !FileSystem.listDirectory("\(root)/\(entriesFolder)").isEmpty
      || !FileSystem.listDirectory("\(root)/\(checkpointsFolder)").isEmpty
    guard anyEntries else { return [] }
    return TrailIndex.load(workspace: workspace, verifySignatures: false, remembered: env).heads
  }

  /// The version-1 trail's count and last hash, when audit.jsonl exists.
  static func v1Anchor(_ workspace: Workspace) throws(KeywardError) -> (entries: Int, head: String)? {
    let path = "\(workspace.path)/\(Workspace.auditName)"
    guard FileSystem.exists(path) else { return nil }
    let chain = AuditReport.verifyChain(try FileSystem.read(path))
    guard chain.intact else {
      throw KeywardError(
        .integrity,
        "\(path) is broken at line \(chain.firstBadLine ?? 0) (\(chain.problem ?? "")); the new trail will not anchor a damaged one",
        hint: "restore it from version control (git checkout -- \(path)) and run keyward audit")
    }
    return (chain.entries, chain.lastHash ?? AuditLog.genesis)
  }

  /// What this machine knows of the trail, kept in the key store beside the pins (never in the
  /// workspace): per git branch, the heads it last wrote or audited (an id recorded there that the
  /// trail no longer holds was cut); and the entries it wrote whose files are not written yet (a
  /// crash between the two is an interruption here; elsewhere the same state is a revert).
  public enum Seen {
    public static func path(workspace: String, env: Env) -> String {
      let pin = Trust.pinPath(workspace: workspace, env: env)
      return "\(KeySource.storeDirectory(env))/trail-seen/\(Path.name(pin))"
    }

    struct State {
      var branches: [String: [String]] = [:]
      var pending: [String] = []
      /// That the record was found lost, and when (nil when it never was, or an audit has
      /// reported it since): empty, not the record keyward writes, or unreadable. No repository
      /// writer can reach the key store, so this is a crash or power loss soon after a write (the
      /// record is not synced, see Decisions): the heads it held are forgotten, and a cut made
      /// before now cannot be seen on this machine. Kept in the record by every write until an
      /// audit reports it (KW810), so a write after the loss does not hide it.
      var lost: String? = nil
      /// Whether the file itself is lost now (not a loss the record remembers): a write says so.
      var lostNow = false
    }

    static func load(workspace: String, env: Env) -> State {
      var state = State()
      let p = path(workspace: workspace, env: env)
      func damaged(_ why: String) -> State {
        var lost = State()
        lost.lost = "\(why), found \(Timestamp.now().iso)"
        lost.lostNow = true
        return lost
      }
      let bytes: [UInt8]?
      do { bytes = try FileSystem.readIfPresent(p) } catch {
        return damaged("\(p) cannot be read (\(error.message))")
      }
      guard let bytes else { return state }
      if bytes.allSatisfy({ $0 == 0 || $0 == 0x20 || $0 == 0x0a }) { return damaged("\(p) is empty") }
      // Exactly what `document` writes: any other shape is damage, never fewer heads.
      func ids(_ v: JSONValue?) -> [String]? {
        guard case .array(let a)? = v else { return nil }
        var out = [String]()
        for h in a {
          guard case .string(let s) = h, isID(Substring(s)) else { return nil }
          out.append(s)
        }
        return out
      }
      guard let v = try? JSONValue.parse(bytes, source: ""), case .object(let m) = v,
        case .object(let b)? = m["branches"], let pending = ids(m["pending"])
      else { return damaged("\(p) is not the record keyward writes there") }
      for (k, v) in b {
        guard let heads = ids(v) else { return damaged("\(p) is not the record keyward writes there") }
        state.branches[k] = heads
      }
      state.pending = pending
      if case .string(let why)? = m["lost"] {
        state.lost = Text.printable(String(why.prefix(400)), keepNewlines: false)
      }
      return state
    }

    static func save(_ state: State, workspace: String, env: Env) {
      guard let (p, bytes) = document(state, workspace: workspace, env: env) else { return }
      try? FileSystem.writeAtomically(p, bytes: bytes, mode: 0o600, forceMode: true, crashLabel: "seen-")
    }

    /// The file's path and bytes for `state` (nil when its folder cannot be made).
    static func document(_ state: State, workspace: String, env: Env) -> (String, [UInt8])? {
      let p = path(workspace: workspace, env: env)
      guard (try? FileSystem.makeDirectory(Path.directory(p), mode: 0o700)) != nil else { return nil }
      var doc: [String: JSONValue] = [
        "workspace": .string(Trust.realPath(workspace)),
        "branches": .object(state.branches.mapValues { .array($0.sorted().map(JSONValue.string)) }),
        "pending": .array(state.pending.map(JSONValue.string)),
      ]
      if let lost = state.lost { doc["lost"] = .string(lost) }
      return (p, JSONValue.object(doc).written())
    }

    /// The git branch the workspace is on (`refs/heads/NAME`, `detached`, or `-` outside git),
    /// read from `.git/HEAD` (no git process): a head seen on a feature branch is not missing on main.
    static func branch(_ workspace: String) -> String {
      var dir = Trust.realPath(workspace)
      for _ in 0..<32 {
        let dotgit = "\(dir)/.git"
        var head: [UInt8]? = nil
        if FileSystem.isDirectory(dotgit) {
          head = try? FileSystem.read("\(dotgit)/HEAD")
        } else if let link = try? FileSystem.read(dotgit) {
          let text = String(decoding: link, as: UTF8.self)
          if text.hasPrefix("gitdir: ") {
            var target = String(text.dropFirst(8).prefix { $0 != "\n" })
            if !target.hasPrefix("/") { target = "\(dir)/\(target)" }
            head = try? FileSystem.read("\(target)/HEAD")
          }
        }
        if let head {
          let text = String(decoding: head, as: UTF8.self).prefix { $0 != "\n" }
          return text.hasPrefix("ref: ") ? String(text.dropFirst(5)) : "detached"
        }
        if dir == "/" || dir.isEmpty { break }
        dir = Path.directory(dir)
      }
      return "-"
    }

    /// The heads this machine recorded on the current branch.
    public static func read(workspace: String, env: Env) -> [String] {
      load(workspace: workspace, env: env).branches[branch(workspace)] ?? []
    }

    /// That this machine's record of the trail was lost, and when (nil when it is absent or sound
    /// and remembers no loss): what `audit` and `check` report as KW810.
    public static func lost(workspace: String, env: Env) -> String? {
      load(workspace: workspace, env: env).lost
    }

    /// The notice a write gives when it finds the record lost: what is forgotten and what still
    /// proves the trail.
    static func lostNotice(_ lost: String) -> String {
      "this machine's record of the trail heads it saw was lost (\(lost)): a crash or power loss soon after a "
        + "keyward write leaves it so. A cut of the trail made before now cannot be detected on this machine; "
        + "compare the trail with another clone's. The record keeps the loss until keyward audit reports it (KW810)"
    }

    /// Entries this machine wrote whose environment files it has not written yet.
    public static func pending(workspace: String, env: Env) -> Set<String> {
      Set(load(workspace: workspace, env: env).pending)
    }

    /// The heads an audit verified (which has reported a loss the record kept: it is cleared).
    public static func write(_ heads: [String], workspace: String, env: Env) {
      var state = load(workspace: workspace, env: env)
      state.branches[branch(workspace)] = heads
      state.lost = nil
      save(state, workspace: workspace, env: env)
    }

    /// Forgets what this machine saw of the workspace's trail (`keyward trail forget`).
    public static func forget(workspace: String, env: Env) throws(KeywardError) {
      try FileSystem.remove(path(workspace: workspace, env: env))
    }

    /// The record of a new entry `id` that follows `old`, written beside the file and not yet in
    /// place (best effort: nil when it cannot be written).
    static func staged(workspace: String, replacing old: [String], with id: String, env: Env) -> (
      file: StagedFile, mustSync: Bool
    )? {
      var state = load(workspace: workspace, env: env)
      let b = branch(workspace)
      var heads = Set(state.branches[b] ?? [])
      heads.subtract(old)
      heads.insert(id)
      state.branches[b] = Array(heads.sorted())
      guard let (p, bytes) = document(state, workspace: workspace, env: env) else { return nil }
      // Killed writes' temporaries (one file per workspace lives here): the new bytes of a write
      // killed before its swap, or the old ones of a write killed between the swap and the unlink.
      FileSystem.removeStaleTemporaries(in: Path.directory(p))
      guard let file = try? StagedFile(p, mode: 0o600, forceMode: true, bytes: bytes) else { return nil }
      return (file, !state.pending.isEmpty)
    }

    static func markPending(_ id: String, workspace: String, env: Env) {
      var state = load(workspace: workspace, env: env)
      state.pending = Array((state.pending + [id]).suffix(64))
      save(state, workspace: workspace, env: env)
    }

    static func completed(_ id: String, workspace: String, env: Env) {
      var state = load(workspace: workspace, env: env)
      guard state.pending.contains(id) else { return }
      state.pending.removeAll { $0 == id }
      save(state, workspace: workspace, env: env)
    }
  }
}

/// A checkpoint segment's first line, read without the rest of the file.
enum CheckpointFile {
  /// Every head named by a checkpoint whose name and admin signature hold (for the writer's
  /// existence test: an unsigned or misnamed file names nothing).
  static func allHeads(_ root: String, trust: TrustedState?) -> [String] {
    var out = [String]()
    for name in FileSystem.listDirectory("\(root)/\(Trail.checkpointsFolder)") where name.hasSuffix(".jsonl")
    {
      guard let first = firstLine("\(root)/\(Trail.checkpointsFolder)/\(name)"),
        case .success(let h) = Checkpoint.header(first, name: name, trust: trust)
      else { continue }
      out += h.heads
    }
    return out
  }
  static func firstLine(_ path: String) -> [UInt8]? {
    guard let fd = try? FileSystem.openRegular(path, flags: O_RDONLY) else { return nil }
    defer { close(fd) }
    return firstLine(fd: fd)
  }

  /// The first line of the file open at `fd`, read from its current offset.
  static func firstLine(fd: Int32) -> [UInt8]? {
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while out.count < 1 << 20 {
      let n = buf.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, 4096) }
      if n <= 0 { break }
      if let nl = buf[0..<n].firstIndex(of: 0x0a) {
        out += buf[0..<nl]
        return out
      }
      out += buf[0..<n]
    }
    return out.isEmpty ? nil : out
  }
}
