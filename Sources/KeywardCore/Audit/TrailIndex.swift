import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The whole trail read and checked (FORMAT.md, "Intact"): the version-1 chain, every entry file
/// and checkpoint, the links between them, the signatures, and the heads this machine saw.
/// Entries come out parents first; `history` flattens them into the records reports use.
public struct TrailIndex: Sendable {
  public enum Signature: String, Sendable, Encodable {
    /// The signer's signature verified here.
    case verified
    /// Held by a checkpoint whose admin signature verified (its own signature not re-checked).
    case attested
    case unsigned
  }

  public struct Entry: Sendable {
    public var id: String
    public var parents: [String]
    public var time: String
    public var actor: String
    public var signer: PublicIdentity?
    public var signature: Signature = .unsigned
    public var command: String
    public var records: [TrailEntry]
    /// The file that holds it, and the line for a checkpoint.
    public var file: String
    public var line: Int?
    /// Held by a checkpoint whose admin signature verified.
    public var checkpointed = false
    var v1: (entries: Int, head: String)?
  }

  /// Something that makes the trail not intact (exit 4).
  public struct Problem: Error, Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case broken, forged, cut }
    public var kind: Kind
    public var message: String
    public var file: String?
    public var line: Int?
  }

  /// The lines a file could not give as entries, capped: a segment of two million malformed lines
  /// is reported by its first thousand and one line counting the rest (listing every one took
  /// `audit --full` to 1.7 GB). The trail is broken either way.
  struct ProblemCap {
    static let perFile = 1_000
    var counts: [String: (count: Int, kind: Problem.Kind)] = [:]

    /// Counts `p`; whether it is one of the first `perFile` of its file.
    mutating func admit(_ p: Problem) -> Bool {
      let file = p.file ?? ""
      let n = (counts[file]?.count ?? 0) + 1
      // The summary takes the kind of the first problem it stands for.
      counts[file] = (n, n == Self.perFile + 1 ? p.kind : counts[file]?.kind ?? p.kind)
      return n <= Self.perFile
    }

    /// One problem for each file past the cap, counting what was not listed.
    var summaries: [Problem] {
      counts.filter { $0.value.count > Self.perFile }.sorted { $0.key < $1.key }.map { file, c in
        Problem(
          kind: c.kind,
          message:
            "\(Path.name(file)): \(c.count - Self.perFile) more line(s) that are not valid entries are not listed",
          file: file)
      }
    }
  }

  /// The entries read one by one: every entry, or with `base`, those no checkpoint holds.
  public var entries: [Entry] = []
  public var problems: [Problem] = []
  /// Entries nothing follows, sorted.
  public var heads: [String] = []
  /// Each entry's parents as positions in `entries`; a position `entries.count + k` is the base's
  /// head `k` (set by `load`).
  var links: [[Int]] = []
  public var checkpoints = 0
  /// The ids of the checkpoints present, and the generation each one's signed header states.
  public var checkpointIDs: [String] = []
  var generations: [String: Int] = [:]
  /// The index of the checkpoint that covers every other one, read instead of their lines
  /// (FORMAT.md, "Checkpoint index"); nil when every line was read.
  public var base: CheckpointIndex?
  public var baseFile: String?
  /// Every entry counted once, the checkpointed ones included.
  public var entryCount: Int { entries.count + (base?.entries ?? 0) }
  /// The version-1 chain, when audit.jsonl exists.
  public var v1: AuditReport.Chain?
  public var v1Entries: [TrailEntry] = []
  public var intact: Bool { problems.isEmpty }
  /// `--full`: every checkpointed entry's signature was verified here, so none is only attested.
  public var signaturesProven = false
  public var hasV2: Bool { !entries.isEmpty || checkpoints > 0 || base != nil }

  /// Every record, oldest first: the version-1 lines, then each entry's records (parents first).
  /// Built once by `load`.
  public private(set) var history: [TrailEntry] = []

  /// After `releaseKept`: the base index's kept records that `maximal` reads (those with heads
  /// over them), by position; the others are only in `history`.
  private var keptMaximal: [(Int, CheckpointIndex.Kept)]? = nil

  /// For a reader that has the history and writes no checkpoint (check, audit): drops the base
  /// index's copy of the kept records, which `history` holds too (18,000 of them at 300,000
  /// entries: 4 MB). `maximal` and `lastRecord` answer as before; a new index cannot be built
  /// from this one.
  public mutating func releaseKept() {
    guard keptMaximal == nil, var b = base, !b.kept.isEmpty, !history.isEmpty else { return }
    keptMaximal = b.kept.enumerated().filter { $0.element.below != nil }.map { ($0.offset, $0.element) }
    b.kept = []
    base = b
  }

  /// Reads and checks the trail. `full` verifies the signatures of checkpointed entries too and
  /// rebuilds every checkpoint's index to compare it; `expand` reads every checkpointed entry
  /// (`log`) instead of the index that covers them; `seen` adds the heads this machine recorded
  /// (a later cut is then a problem).
  /// `remembered`: segments this machine hashed before and whose files are unchanged are not
  /// hashed again (`VerifiedSegments`; `check`, never `audit`).
  /// `history: false` leaves `history` empty (`log`, which streams the entries instead).
  /// `environments`: a write asks only about the environments it changes; of the records a
  /// checkpoint's index kept, only theirs are read (and those of no environment and the trust
  /// root's creation). Such an index answers nothing about any other environment.
  /// `lookUpAll`: every entry file is looked up in the checkpoint index, those that follow its
  /// heads too (`trail checkpoint`, whose index takes over the count).
  public static func load(
    workspace: Workspace, verifySignatures: Bool = true, full: Bool = false, seen: [String] = [],
    expand: Bool = false, remembered: Env? = nil, history: Bool = true, decodeIDs: Bool = false,
    environments: Set<String>? = nil, lookUpAll: Bool = false
  ) -> TrailIndex {
    let filter = full || expand ? nil : environments.flatMap(CheckpointIndex.KeptFilter.init)
    // A write reads the trail twice (its refusals, then its reconcile check): the second read is
    // the first one's, while no file was added to or removed from the trail's folders since (a
    // read of every environment's records answers for a few).
    let memoKey =
      !verifySignatures && !full && !expand && seen.isEmpty && history ? memoState(workspace.path) : nil
    if let memoKey,
      let hit = memo.withLock({ m in
        m?.key == memoKey && (m?.filter == nil || m?.filter == filter) ? m?.index : nil
      })
    {
      return hit
    }
    let segments =
      full || !FileSystem.keepsChangeTimes(workspace.path)
      ? nil : remembered.map { VerifiedSegments(workspace: workspace.path, env: $0) }
    defer { segments?.save() }
    let index = read(
      workspace: workspace, verifySignatures: verifySignatures, full: full, seen: seen, expand: expand,
      remembered: segments, history: history, decodeIDs: decodeIDs, filter: filter, lookUpAll: lookUpAll)
    if let memoKey { memo.withLock { $0 = (memoKey, filter, index) } }
    return index
  }

  /// The last read a write may reuse. Behind a lock: one process may load trails on several
  /// threads (the unit tests do, and two of them writing it at once freed it twice).
  static let memo = Mutex<(key: [Int], filter: CheckpointIndex.KeptFilter?, index: TrailIndex)?>(nil)

  /// The trail folders' identity and modification times (nanoseconds), and the workspace path's.
  static func memoState(_ root: String) -> [Int] {
    var key = [Int(bitPattern: UInt(bitPattern: root.hashValue))]
    for dir in [Trail.entriesFolder, Trail.headsFolder, Trail.checkpointsFolder, Workspace.auditName] {
      var st = stat()
      if stat("\(root)/\(dir)", &st) == 0 {
        key += [Int(st.st_dev), Int(st.st_ino), Int(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec]
      } else {
        key.append(-1)
      }
    }
    return key
  }

  static func read(
    workspace: Workspace, verifySignatures: Bool, full: Bool, seen: [String], expand: Bool,
    remembered: VerifiedSegments? = nil, history: Bool = true, decodeIDs: Bool = false,
    filter: CheckpointIndex.KeptFilter? = nil, lookUpAll: Bool = false
  ) -> TrailIndex {
    var index = TrailIndex()
    let root = workspace.path
    let v1Path = "\(root)/\(Workspace.auditName)"
    if FileSystem.exists(v1Path) {
      do {
        var v1 = [TrailEntry]()
        let chain = AuditReport.verifyChain(try FileSystem.read(v1Path), entries: &v1)
        index.v1 = chain
        index.v1Entries = v1
        if !chain.intact {
          index.problems.append(
            Problem(
              kind: .broken,
              message:
                "\(Workspace.auditName) is broken at line \(chain.firstBadLine ?? 0): \(chain.problem ?? "")",
              file: v1Path, line: chain.firstBadLine))
        }
      } catch {
        index.problems.append(Problem(kind: .broken, message: error.message, file: v1Path))
      }
    }
    // The items to parse: entry files (read on every core, taken in the folder's order), then
    // checkpoint lines.
    var items = [Item]()
    for read in readEntryFiles(root) {
      switch read {
      case .success(let item): items.append(item)
      case .failure(let problem): index.problems.append(problem)
      case nil: break
      }
    }
    var attested = Set<Int>()  // item indexes held by a valid checkpoint
    var segments = [(items: Range<Int>, heads: [String], file: String)]()
    // Anything else in the trail's folders is reported: a stray file there is either damage or an
    // attempt to be taken for part of the trail (a dotfile in checkpoints/, a folder in heads/).
    for name in FileSystem.listDirectory("\(root)/\(Trail.folder)")
    where !["entries", "heads", "checkpoints"].contains(name) && !isTemporary(name) {
      index.problems.append(
        Problem(
          kind: .broken, message: "\(Trail.folder)/\(name) is not part of the trail's layout",
          file: "\(root)/\(Trail.folder)/\(name)"))
    }
    for name in FileSystem.listDirectory("\(root)/\(Trail.headsFolder)") where !isTemporary(name) {
      let path = "\(root)/\(Trail.headsFolder)/\(name)"
      if !Trail.isID(Substring(name)) || FileSystem.irregularKind(path) != nil {
        index.problems.append(
          Problem(kind: .broken, message: "\(Trail.headsFolder)/\(name) is not a head marker", file: path))
      }
    }
    Stopwatch.lap("trail: entry files read")
    // Checkpoints: each one's signed header and index first. When one index covers every other
    // checkpoint (and every segment is what its admin signed), it stands for all their lines;
    // otherwise every line is read.
    var names = [String]()
    var indexNames = [String]()
    for name in FileSystem.listDirectory("\(root)/\(Trail.checkpointsFolder)") where !isTemporary(name) {
      if name.hasSuffix(".index") { indexNames.append(name) } else { names.append(name) }
    }
    index.checkpoints = names.count
    index.checkpointIDs = names.map { String($0.prefix(64)) }.sorted()
    for name in indexNames where !names.contains("\(name.dropLast(6)).jsonl") {
      index.problems.append(
        Problem(
          kind: .broken, message: "\(Trail.checkpointsFolder)/\(name) is the index of no checkpoint",
          file: "\(root)/\(Trail.checkpointsFolder)/\(name)"))
    }
    var indexes = [String: (index: CheckpointIndex, digest: String)]()
    var generation = [String: Int]()  // checkpoint id → its signed generation (1 without one)
    for name in names where name.hasSuffix(".jsonl") {
      let id = String(name.prefix(64))
      let path = "\(root)/\(Trail.checkpointsFolder)/\(name)"
      let indexPath = "\(root)/\(Trail.checkpointsFolder)/\(id).index"
      guard let first = CheckpointFile.firstLine(path),
        case .success(let h) = Checkpoint.header(first, name: name, trust: workspace.trust)
      else { continue }
      generation[id] = h.generation
      guard let digest = h.index, FileSystem.exists(indexPath) || FileSystem.linkTarget(indexPath) != nil
      else {
        continue  // no index (or none left): its lines are read
      }
      // An index is a regular file of at most 256 MiB (about five million entries): anything
      // else in its place is not read (a planted 3 GB file must not take a reader's memory).
      var st = stat()
      guard lstat(indexPath, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= 256 << 20 else {
        index.problems.append(
          Problem(
            kind: .broken,
            message:
              "\(Trail.checkpointsFolder)/\(id).index is not a regular file of at most 256 MiB (\(FileSystem.irregularKind(indexPath) ?? "too large"))",
            file: indexPath))
        continue
      }
      // Its digest is checked by every reader, writes and scan included (an edited index could
      // drop records, which planted entry files cannot); its ids stay on disk.
      guard
        case .some(.some(let x)) = CheckpointIndex.read(
          path: indexPath, digest: digest, remembered: remembered, filter: filter)
      else {
        index.problems.append(
          Problem(
            kind: .forged,
            message: "\(id.prefix(12)).index does not match the digest its checkpoint signed: it was edited",
            file: "\(root)/\(Trail.checkpointsFolder)/\(id).index"))
        continue
      }
      indexes[id] = (x, digest)
      // Every checkpoint an index covers must still be here: deleting one (and its index) is a cut.
      for c in x.covers where !index.checkpointIDs.contains(c) {
        index.problems.append(
          Problem(
            kind: .cut,
            message:
              "checkpoint \(c.prefix(12)), which \(id.prefix(12)).index covers, is gone: the trail was cut",
            file: "\(root)/\(Trail.checkpointsFolder)"))
      }
    }
    index.generations = generation
    Stopwatch.lap("trail: indexes read")
    if !expand {
      let all = Set(index.checkpointIDs)
      if let (id, x) = indexes.first(where: { all == Set($0.value.index.covers + [$0.key]) }),
        !verifySignatures
          || names.allSatisfy({
            Checkpoint.holds(
              path: "\(root)/\(Trail.checkpointsFolder)/\($0)", name: $0, trust: workspace.trust,
              remembered: remembered)
          })
      {
        index.base = x.index
        // A reader that looks every covered entry up (`log`) has the ids decoded now, so the entry
        // files below are looked up in memory too (each lookup from the file is a few reads).
        if decodeIDs { index.base!.decodeIDsIfValid() }
        index.baseFile = "\(root)/\(Trail.checkpointsFolder)/\(id).jsonl"
      }
      Stopwatch.lap("trail: segments checked")
    }
    var rank = [Int](repeating: Int.max, count: items.count)  // entry files come last
    for name in names where index.base == nil {
      let path = "\(root)/\(Trail.checkpointsFolder)/\(name)"
      do {
        let checkpoint = try Checkpoint.read(path: path, name: name, trust: workspace.trust)
        let first = items.count
        for (n, line) in checkpoint.lines.enumerated() {
          items.append(Item(bytes: line, file: path, line: n + 2, expectedID: nil))
        }
        // A later checkpoint's entries come after the ones it covers: the order (and so every
        // record's number) is the one its index was built in. The generation is in the signed
        // header, so deleting an index changes nothing here.
        let g = checkpoint.valid ? generation[String(name.prefix(64))] ?? 1 : Int.max
        rank += [Int](repeating: g, count: items.count - first)
        if checkpoint.valid {
          attested.formUnion(first..<items.count)
          segments.append((first..<items.count, checkpoint.heads, path))
        }
        index.problems += checkpoint.problems
      } catch {
        index.problems.append(Problem(kind: .broken, message: error.message, file: path))
      }
    }
    Stopwatch.lap("trail: files read")
    // Parse, hash and (where needed) verify every item, on every core.
    let verify = (0..<items.count).map { verifySignatures && !attested.contains($0) }
    var parsed = parseAll(items, verify: verify, lines: remembered)
    let itemCount = items.count
    items = []  // the segments' bytes (hundreds of MB for a long trail) are not needed past here
    Stopwatch.lap("trail: parsed")
    // Entries moved out of the results (never copied), each id once: one held by a file and a
    // checkpoint, or by two checkpoints, counts once.
    var byID = [String: Int]()
    byID.reserveCapacity(itemCount)
    var list = [Entry]()
    list.reserveCapacity(itemCount)
    var itemEntry = [Int](repeating: -1, count: itemCount)
    var cap = ProblemCap()
    var entryRank = [Int]()
    // Which parsed entries a checkpoint holds. One that follows the index's heads through entry
    // files is not one of them: the heads are the covered entries nothing covered follows (and
    // `audit --full` rebuilds the index from the lines and compares), so nothing covered follows
    // a head. The others (planted copies of covered entries, branches that forked below the
    // checkpoint) are looked up together, in id order: a write's 1,000 entry files after a
    // checkpoint of 300,000 entries then touch none of its 12.8 MB ids line. The heads' own
    // children are looked up still (a few): one that is covered shows an index whose heads are
    // not its heads (an admin's false index, which `audit --full` names), and then every entry
    // file is, as it is for `trail checkpoint` (`lookUpAll`): an honest admin's index must not
    // take over a false one's count.
    var covered = [Bool](repeating: false, count: itemCount)
    if let base = index.base {
      var (after, children) = lookUpAll ? ([], []) : Self.following(base.heads, parsed)
      let first = children.compactMap { i -> String? in
        guard case .success(let e)? = parsed[i] else { return nil }
        return e.id
      }
      if lookUpAll || base.containsEach(first).contains(true) {
        after = [Bool](repeating: false, count: itemCount)
      }
      var at = [Int]()
      var ids = [String]()
      for i in parsed.indices where !after[i] {
        if case .success(let e)? = parsed[i] {
          at.append(i)
          ids.append(e.id)
        }
      }
      for (k, held) in base.containsEach(ids).enumerated() { covered[at[k]] = held }
    }
    for i in parsed.indices {
      switch parsed[i].take() {
      case .failure(let p)?: if cap.admit(p) { index.problems.append(p) }
      case .success(var e)?:
        if covered[i] { continue }  // a checkpoint holds it: counted there
        if let known = byID[e.id] {
          itemEntry[i] = known
          entryRank[known] = min(entryRank[known], rank[i])
          if attested.contains(i) && !list[known].checkpointed {
            list[known].checkpointed = true
            if list[known].signature == .verified && !verify[i] { list[known].signature = .attested }
          }
          continue
        }
        e.checkpointed = attested.contains(i)
        if e.checkpointed && !verify[i] && e.signer != nil { e.signature = .attested }
        byID[e.id] = list.count
        itemEntry[i] = list.count
        entryRank.append(rank[i])
        list.append(e)
      case nil: break
      }
    }
    index.problems += cap.summaries
    Stopwatch.lap("trail: moved")
    // Links as indexes, resolved once: every parent exists (else an entry was removed).
    var links = [[Int]](repeating: [], count: list.count)
    var hasChild = [Bool](repeating: false, count: list.count)
    var baseHead = [String: Int]()
    for (k, h) in (index.base?.heads ?? []).enumerated() { baseHead[h] = k }
    var baseFollowed = [Bool](repeating: false, count: baseHead.count)
    var unknown = [(entry: Int, parent: String)]()  // parents neither read nor a base head
    for (k, e) in list.enumerated() {
      for p in e.parents {
        if let j = byID[p] {
          links[k].append(j)
          hasChild[j] = true
        } else if let h = baseHead[p] {
          links[k].append(list.count + h)
          baseFollowed[h] = true
        } else {
          unknown.append((k, p))
        }
      }
    }
    if let base = index.base, !unknown.isEmpty,
      base.containsEach(Array(Set(unknown.map(\.parent)))).contains(true)
    {
      // One follows an entry deep inside a checkpoint (a branch that forked before it): the index
      // cannot say what lies between, so every line is read.
      return load(
        workspace: workspace, verifySignatures: verifySignatures, full: full, seen: seen, expand: true,
        history: history)
    }
    // Each parent that is nowhere is a cut; a planted entry can name thousands, so the first
    // thousand are listed and one problem counts the rest.
    for (k, p) in unknown.prefix(ProblemCap.perFile) {
      index.problems.append(
        Problem(
          kind: .cut,
          message:
            "entry \(list[k].id.prefix(12)) follows \(p.prefix(12)), which is not in the trail: an entry was removed",
          file: list[k].file, line: list[k].line))
    }
    if unknown.count > ProblemCap.perFile {
      let rest = unknown.dropFirst(ProblemCap.perFile)
      index.problems.append(
        Problem(
          kind: .cut,
          message:
            "\(rest.count) more parent(s) named by \(Set(rest.map(\.entry)).count) entries are not in the trail either (keyward log lists the entries)",
          file: "\(root)/\(Trail.entriesFolder)"))
    }
    // A valid checkpoint's heads are exactly its entries that no other entry in it follows.
    for seg in segments {
      var inSegment = [Bool](repeating: false, count: list.count)
      for i in seg.items where itemEntry[i] >= 0 { inSegment[itemEntry[i]] = true }
      var followedHere = [Bool](repeating: false, count: list.count)
      for k in list.indices where inSegment[k] { for j in links[k] { followedHere[j] = true } }
      let heads = list.indices.filter { inSegment[$0] && !followedHere[$0] }.map { list[$0].id }
      if heads.sorted() != seg.heads.sorted() {
        index.problems.append(
          Problem(
            kind: .forged,
            message: "\(Path.name(seg.file)): the heads it names are not the heads of its entries",
            file: seg.file, line: 1))
      }
    }
    Stopwatch.lap("trail: links")
    // Each version-1 anchor (an entry's, or one a checkpoint's index lists) against audit.jsonl.
    var anchors = list.compactMap { e in e.v1.map { (anchor: $0, entry: "entry \(e.id.prefix(12))") } }
    for a in index.base?.v1 ?? [] { anchors.append(((a.entries, a.head), "a checkpointed entry")) }
    for (anchor, entry) in anchors {
      do {
        if let chain = index.v1 {
          if chain.intact
            && (chain.entries != anchor.entries || (chain.lastHash ?? AuditLog.genesis) != anchor.head)
          {
            index.problems.append(
              Problem(
                kind: .cut,
                message:
                  "\(Workspace.auditName) has \(chain.entries) entries, but \(entry) anchored it at \(anchor.entries) ending in \(anchor.head.prefix(12)): it was cut or rewritten",
                file: v1Path))
          }
        } else {
          index.problems.append(
            Problem(
              kind: .cut,
              message:
                "\(Workspace.auditName), anchored by \(entry) (\(anchor.entries) entries), is gone",
              file: v1Path))
        }
      }
    }
    for e in list {
      if e.v1 == nil, e.parents.isEmpty, index.v1 != nil {
        index.problems.append(
          Problem(
            kind: .broken,
            message:
              "entry \(e.id.prefix(12)) starts the trail without anchoring \(Workspace.auditName): one of the two was planted",
            file: e.file, line: e.line))
      }
    }
    index.heads =
      (list.indices.filter { !hasChild[$0] }.map { list[$0].id }
      + baseHead.filter { !baseFollowed[$0.value] }.map(\.key)).sorted()
    for id in seen where byID[id] == nil && index.base?.contains(id) != true {
      index.problems.append(
        Problem(
          kind: .cut,
          message:
            "entry \(id.prefix(12)), which this machine saw in the trail, is gone: the trail was cut or rewritten",
          file: "\(root)/\(Trail.folder)"))
    }
    let ordered = order(list, links: links, rank: entryRank)
    index.entries = ordered.map { list[$0] }
    // The links again, in the new order (maximalRecords walks them).
    var newIndex = [Int](repeating: 0, count: list.count)
    for (n, old) in ordered.enumerated() { newIndex[old] = n }
    index.links = ordered.map { old in links[old].map { $0 < list.count ? newIndex[$0] : $0 } }
    Stopwatch.lap("trail: ordered")
    // Records carry their entry's time, actor and signature, and a running number.
    var seq = index.v1Entries.count + (index.base?.records ?? 0)
    for i in index.entries.indices {
      for r in index.entries[i].records.indices {
        seq += 1
        index.entries[i].records[r].seq = seq
      }
    }
    Stopwatch.lap("trail: numbered")
    // `--full`: every checkpointed entry's signature, every segment's heads and every index,
    // proven by streaming the segments (never holding their entries). Before the history is made,
    // and without the base index's kept records (about 10 MB at 300,000 entries): they are read
    // again from its file afterwards, its signed digest checked again.
    if full {
      var keptAgain: (id: String, digest: String)? = nil
      if let baseFile = index.baseFile, index.base?.kept.isEmpty == false,
        case let id = String(Path.name(baseFile).prefix(64)),
        let digest = indexes[id]?.digest
      {
        keptAgain = (id, digest)
        index.base?.kept = []
        for k in Array(indexes.keys) { indexes[k]?.index.kept = [] }
      }
      index.signaturesProven = TrailProof.prove(
        &index, root: root, trust: workspace.trust, names: names, indexes: indexes)
      if let (id, digest) = keptAgain {
        let path = "\(root)/\(Trail.checkpointsFolder)/\(id).index"
        if case .some(.some(let x)) = CheckpointIndex.read(path: path, digest: digest) {
          index.base?.kept = x.kept
        } else {
          index.problems.append(
            Problem(
              kind: .broken, message: "\(id.prefix(12)).index changed while the trail was being proven",
              file: path))
        }
      }
    }
    if history {
      // Exactly the records kept (`seq` counts the ones the index stands for, too).
      index.history = index.v1Entries
      index.history.reserveCapacity(
        index.v1Entries.count + (index.base?.kept.count ?? 0)
          + index.entries.reduce(0) { $0 + $1.records.count })
      for k in index.base?.kept ?? [] {
        var r = k.record
        r.seq += index.v1Entries.count
        index.history.append(r)
      }
      for e in index.entries { index.history += e.records }
      Stopwatch.lap("trail: history")
    }
    // The trail remembers that the workspace had a trust root: its files deleted since is a
    // downgrade, whichever machine looks (one with no pin included).
    if workspace.trust == nil, let r = index.lastRecord(where: { $0.action == "trust-init" }) {
      index.problems.append(
        Problem(
          kind: .cut,
          message:
            "the trail records a trust root (\(r.reference)), but \(Trust.folder)/ is gone: the trust files were deleted",
          file: "\(root)/\(Trust.folder)"))
    }
    return index
  }

  /// The last record in `history`'s order that `matches`, whether or not `history` was built.
  func lastRecord(where matches: (TrailEntry) -> Bool) -> TrailEntry? {
    for e in entries.reversed() {
      if let r = e.records.last(where: matches) { return r }
    }
    if keptMaximal != nil {
      // Released: the kept records are `history`'s after the version-1 lines, numbered after them.
      let keptEnd = history.count - entries.reduce(0) { $0 + $1.records.count }
      if var r = history[v1Entries.count..<keptEnd].last(where: matches) {
        r.seq -= v1Entries.count
        return r
      }
      return v1Entries.last(where: matches)
    }
    return base?.kept.last(where: { matches($0.record) })?.record ?? v1Entries.last(where: matches)
  }

  /// A file left by an interrupted atomic write (`.NAME.tmp-PID-RAND`).
  static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(".tmp-") }

  /// Parents before children; otherwise by rank (an earlier checkpoint's entries first), time,
  /// then id. Returns positions in `list`.
  static func order(_ list: [Entry], links: [[Int]], rank: [Int]? = nil) -> [Int] {
    let rank = rank ?? [Int](repeating: 0, count: list.count)
    let sorted = list.indices.sorted {
      (rank[$0], list[$0].time, list[$0].id) < (rank[$1], list[$1].time, list[$1].id)
    }
    return parentsFirst(sorted) { links[$0].filter { $0 < list.count } }
  }

  /// The nodes `0..<sorted.count`, each after its parents, otherwise in `sorted`'s order: a
  /// depth-first walk from each node in turn, visiting its parents in the order given.
  static func parentsFirst(_ sorted: [Int], parents: (Int) -> [Int]) -> [Int] {
    var done = [Bool](repeating: false, count: sorted.count)
    var out = [Int]()
    out.reserveCapacity(sorted.count)
    for start in sorted where !done[start] {
      var stack = [(start, false)]
      while let (i, expanded) = stack.popLast() {
        if done[i] { continue }
        if expanded {
          done[i] = true
          out.append(i)
          continue
        }
        stack.append((i, true))
        for j in parents(i).reversed() where !done[j] { stack.append((j, false)) }
      }
    }
    return out
  }

  /// Links by id, for an index built by hand (tests).
  static func order(_ list: [Entry], byID: [String: Int]) -> [Entry] {
    order(list, links: list.map { e in e.parents.compactMap { byID[$0] } }).map { list[$0] }
  }

  struct Item: Sendable {
    var bytes: ArraySlice<UInt8>
    var file: String
    var line: Int?
    var expectedID: String?
  }

  /// Each file in the entries folder, in the folder's order: an entry's bytes (without its
  /// newline), a problem, or nil for a temporary file a write is still making. Read on every core
  /// (a trail holds a thousand entry files or more between checkpoints).
  static func readEntryFiles(_ root: String) -> [Result<Item, Problem>?] {
    let names = FileSystem.listDirectory("\(root)/\(Trail.entriesFolder)")
    guard !names.isEmpty else { return [] }
    // Each file is opened by its name in the folder, open once.
    let folder = open("\(root)/\(Trail.entriesFolder)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    defer { if folder >= 0 { close(folder) } }
    @Sendable func read(_ name: String) -> Result<Item, Problem>? {
      let path = "\(root)/\(Trail.entriesFolder)/\(name)"
      guard name.hasSuffix(".json"), Trail.isID(name.dropLast(5)) else {
        if isTemporary(name) { return nil }
        return .failure(
          Problem(
            kind: .broken, message: "\(name) in \(Trail.entriesFolder) is not an entry file", file: path))
      }
      do {
        guard
          var bytes = try folder >= 0
            ? FileSystem.readRegular(in: folder, name, path: path, limit: 1 << 20)
            : FileSystem.read(path)
        else {
          return .failure(
            Problem(kind: .broken, message: "\(name): larger than an entry can be (1 MiB)", file: path))
        }
        guard bytes.last == 0x0a else {
          return .failure(
            Problem(
              kind: .broken,
              message: "\(name): the file does not end with a newline (a write cut short, or an edit)",
              file: path))
        }
        bytes.removeLast()
        return .success(Item(bytes: bytes[...], file: path, line: nil, expectedID: String(name.dropLast(5))))
      } catch {
        return .failure(Problem(kind: .broken, message: error.message, file: path))
      }
    }
    var out = [Result<Item, Problem>?](repeating: nil, count: names.count)
    let chunks = names.count < 64 ? 1 : 4 * max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    out.withUnsafeMutableBufferPointer { results in
      let sink = WorkerSlots(results)
      DispatchQueue.concurrentPerform(iterations: chunks) { c in
        for i in (names.count * c / chunks)..<(names.count * (c + 1) / chunks) {
          sink.buffer[i] = read(names[i])
        }
      }
    }
    return out
  }

  /// Which parsed entries follow one of `heads`, through entries of `parsed` alone; and those
  /// that name one of them as a parent.
  static func following(_ heads: [String], _ parsed: [Result<Entry, Problem>?]) -> (
    marks: [Bool], children: [Int]
  ) {
    var out = [Bool](repeating: false, count: parsed.count)
    guard !heads.isEmpty else { return (out, []) }
    let head = Set(heads)
    var ids = Set<String>()  // the parsed entries' (only a parent among them passes a mark on)
    for case .success(let e)? in parsed { ids.insert(e.id) }
    var children = [String: [Int]]()  // an entry's id → the entries that name it as a parent
    var next = [Int]()
    for i in parsed.indices {
      guard case .success(let e)? = parsed[i] else { continue }
      for p in e.parents {
        if head.contains(p) {
          if !out[i] {
            out[i] = true
            next.append(i)
          }
        } else if ids.contains(p) {
          children[p, default: []].append(i)
        }
      }
    }
    let first = next
    while let i = next.popLast() {
      guard case .success(let e)? = parsed[i] else { continue }
      for c in children[e.id] ?? [] where !out[c] {
        out[c] = true
        next.append(c)
      }
    }
    return (out, first)
  }

  /// `lines`: the lines this machine verified before (`VerifiedSegments.lines`), whose
  /// signatures are not checked again; the lines verified now are handed back to it.
  static func parseAll(_ items: [Item], verify: [Bool], lines: VerifiedSegments? = nil) -> [Result<
    Entry, Problem
  >?] {
    // (Each result is moved out by the caller, never copied.)
    var out = [Result<Entry, Problem>?](repeating: nil, count: items.count)
    let chunks = items.count < 256 ? 1 : 4 * max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    let known = lines?.verifiedLines()
    var verified = [[VerifiedSegments.Line]](repeating: [], count: chunks)
    out.withUnsafeMutableBufferPointer { results in
      let sink = WorkerSlots(results)
      verified.withUnsafeMutableBufferPointer { found in
        let seen = WorkerSlots(found)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
          var keys = [String: PublicIdentity]()  // a trail has few signers: parse each key once
          for i in (items.count * c / chunks)..<(items.count * (c + 1) / chunks) {
            sink.buffer[i] = parse(items[i], verify: verify[i], keys: &keys, known: known) {
              seen.buffer[c].append($0)
            }
          }
        }
      }
    }
    lines?.keep(lines: verified.joined())
    return out
  }

  /// One entry envelope: its id from the payload, its members, and its signature when asked.
  /// `known`: lines whose signature this machine verified before (taken as verified again, for
  /// the same bytes); `verified` hears of each line whose signature holds.
  static func parse(
    _ item: Item, verify: Bool, keys: inout [String: PublicIdentity],
    known: Set<VerifiedSegments.Line>? = nil,
    verified: (VerifiedSegments.Line) -> Void = { _ in }
  ) -> Result<Entry, Problem> {
    var whereText: String { item.line.map { "\(Path.name(item.file)) line \($0)" } ?? Path.name(item.file) }
    func fail(_ why: String, _ kind: Problem.Kind = .broken) -> Result<Entry, Problem> {
      .failure(Problem(kind: kind, message: "\(whereText): \(why)", file: item.file, line: item.line))
    }
    let doc: SignedDocument
    if let fast = Envelope.scan(item.bytes, type: Trail.entryType) {
      doc = fast
    } else {
      do { doc = try SignedDocument.parse(Array(item.bytes), source: whereText, type: Trail.entryType) } catch
      {
        return fail("not a trail entry (\(error.message))")
      }
    }
    let id = Trail.id(of: doc.payload)
    if let expected = item.expectedID, expected != id {
      return fail("its content does not match its name: the entry was edited", .forged)
    }
    guard let f = PayloadScan.scan(doc.payload) ?? PayloadScan.full(doc.payload),
      f.type == "keyward-trail-entry",
      f.v == 2, let time = f.time, Timestamp(iso: time) != nil, let actor = f.actor
    else { return fail("the entry's payload is malformed") }
    for p in f.parents where !Trail.isID(Substring(p)) { return fail("a parent is not an entry id") }
    var entry = Entry(
      id: id, parents: f.parents, time: time, actor: actor, signer: nil,
      command: f.command ?? "?", records: [], file: item.file, line: item.line)
    entry.v1 = f.v1
    if f.hasSigner {
      guard let text = f.signer, let key = keys[text] ?? (try? PublicIdentity(parsing: text)) else {
        return fail("its signer is not a public identity")
      }
      keys[text] = key
      entry.signer = key
      if verify {
        let line = known.map { _ in VerifiedSegments.Line(item.bytes) }
        if let line, known?.contains(line) == true {
          verified(line)  // the same bytes, verified by this machine before
        } else {
          guard !doc.validSigners([key]).isEmpty else {
            return fail(
              "it names signer \(key.fingerprint) but carries no valid signature by that key: a forged entry",
              .forged)
          }
          line.map(verified)
        }
        entry.signature = .verified
      } else {
        entry.signature = .attested
      }
    }
    entry.records.reserveCapacity(f.records.count)
    for var t in f.records {
      guard let env = t.environment, Names.isEnvironment(env), t.action != nil else {
        return fail("a record is malformed")
      }
      t.time = time
      t.entry = id
      t.actor = entry.actor
      t.signed = entry.signer != nil
      t.command = entry.command
      entry.records.append(t)
    }
    return .success(entry)
  }

  /// Each environment's maximal records: the last record of it on every branch that no later
  /// record of it follows. One for a linear history; two or more after a merge of branches that
  /// both changed the environment, until someone records the resolution.
  public func maximalRecords() -> [String: [TrailEntry]] { maximal().mapValues { $0.map(\.record) } }

  /// A maximal record and where it is: a record of an entry, or a record the base index kept.
  struct Maximal {
    enum Place { case entry(Int, Int), base(Int) }
    var record: TrailEntry
    var place: Place
  }

  func maximal() -> [String: [Maximal]] {
    // One backward pass, children before parents, carrying for each entry the set of
    // environments its descendants record (a bit set). A record of env in x is maximal when no
    // descendant records env. Linear in entries × environments / 64, whatever the graph's shape.
    // A record the base index kept as maximal stays so unless an entry above one of the heads
    // over it records its environment.
    var links = self.links
    if links.count != entries.count {
      var position = [String: Int]()
      for (i, e) in entries.enumerated() { position[e.id] = i }
      links = entries.map { e in e.parents.compactMap { position[$0] } }
    }
    var envIndex = [String: Int]()
    for e in entries {
      for r in e.records where r.envAfter != nil {
        if let env = r.environment, envIndex[env] == nil { envIndex[env] = envIndex.count }
      }
    }
    let words = max(1, (envIndex.count + 63) / 64)
    let n = entries.count
    let baseHeads = base?.heads.count ?? 0
    // Only the frontier holds a bit set: an entry's is made when its first child is walked and
    // dropped once it is walked itself (a linear trail keeps one), not one per entry.
    var pending = [Int: [UInt64]]()
    var belowBase = [UInt64](repeating: 0, count: baseHeads * words)
    var out = [String: [Maximal]]()
    for i in stride(from: n - 1, through: 0, by: -1) {
      let e = entries[i]
      var up = pending.removeValue(forKey: i) ?? [UInt64](repeating: 0, count: words)
      // The last record of each environment in this entry, when nothing below records it.
      var seenHere = Set<String>()
      for p in e.records.indices.reversed() where e.records[p].envAfter != nil {
        let r = e.records[p]
        guard let env = r.environment, let k = envIndex[env], seenHere.insert(env).inserted else { continue }
        if up[k / 64] & (1 << UInt64(k % 64)) == 0 {
          out[env, default: []].append(Maximal(record: r, place: .entry(i, p)))
        }
      }
      // What this entry and everything below it record flows to its parents.
      for r in e.records where r.envAfter != nil {
        if let env = r.environment, let k = envIndex[env] { up[k / 64] |= 1 << UInt64(k % 64) }
      }
      for j in links[i] {
        if j >= n {
          for w in 0..<words { belowBase[(j - n) * words + w] |= up[w] }
        } else if var acc = pending.removeValue(forKey: j) {
          for w in 0..<words { acc[w] |= up[w] }
          pending[j] = acc
        } else {
          pending[j] = up
        }
      }
    }
    for (k, kept) in keptMaximal ?? (base?.kept ?? []).enumerated().map({ ($0.offset, $0.element) }) {
      guard let heads = kept.below, let env = kept.record.environment else { continue }
      if let b = envIndex[env],
        heads.contains(where: { h in belowBase[h * words + b / 64] & (1 << UInt64(b % 64)) != 0 })
      {
        continue
      }
      var r = kept.record
      r.seq += v1Entries.count
      out[env, default: []].append(Maximal(record: r, place: .base(k)))
    }
    // Environments the version-2 trail never recorded: the version-1 trail's last word.
    for r in v1Entries.reversed() where r.envAfter != nil {
      if let env = r.environment, out[env] == nil { out[env] = [Maximal(record: r, place: .base(-1))] }
    }
    return out
  }
}

/// An entry's payload as the index needs it. `scan` reads keyward's own canonical payloads in one
/// pass with no JSON tree (30,000 of them are read by every audit); `full` parses anything else
/// strictly. Both give the same fields (a property test holds them to it); validation is the
/// caller's, once, for either.
struct PayloadScan: Equatable {
  var type: String?
  var v: Int?
  var parents: [String] = []
  var time: String?
  var actor: String?
  var command: String?
  var hasSigner = false
  var signer: String?
  var records: [TrailEntry] = []
  var v1Entries: Int?
  var v1Head: String?
  var v1: (entries: Int, head: String)? {
    guard let v1Entries, let v1Head else { return nil }
    return (v1Entries, v1Head)
  }

  static func full(_ payload: [UInt8]) -> PayloadScan? {
    guard let v = try? JSONValue.parse(payload, source: "trail entry"), case .object(let m) = v,
      case .array(let ps)? = m["parents"], case .array(let rs)? = m["records"]
    else { return nil }
    func s(_ k: String) -> String? { if case .string(let x)? = m[k] { return x } else { return nil } }
    var out = PayloadScan()
    out.type = s("type")
    if case .number(let n)? = m["v"] { out.v = Int(exactly: n) }
    out.time = s("time")
    out.actor = s("actor")
    out.command = s("command")
    if let signer = m["signer"] {
      out.hasSigner = true
      if case .string(let x) = signer { out.signer = x }
    }
    for p in ps {
      guard case .string(let x) = p else { return nil }
      out.parents.append(x)
    }
    for r in rs {
      guard case .object(let rm) = r else { return nil }
      out.records.append(TrailEntry(rm))
    }
    if case .object(let a)? = m["v1"], case .number(let n)? = a["entries"], let count = Int(exactly: n),
      case .string(let head)? = a["head"]
    {
      out.v1Entries = count
      out.v1Head = head
    }
    return out
  }

  static func scan(_ payload: [UInt8]) -> PayloadScan? {
    payload.withUnsafeBufferPointer { p -> PayloadScan? in
      var r = Reader(p: p)
      var out = PayloadScan()
      var sawParents = false
      var sawRecords = false
      guard
        r.object({ (r: inout Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
          switch String(decoding: key, as: UTF8.self) {
          case "actor": out.actor = r.string()
          case "command": out.command = r.string()
          case "time": out.time = r.string()
          case "type": out.type = r.string()
          case "signer":
            out.hasSigner = true
            out.signer = r.string()
          case "v": out.v = r.integer()
          case "parents":
            sawParents = true
            return r.array { (r: inout Reader) -> Bool in
              guard let x = r.string() else { return false }
              out.parents.append(x)
              return true
            }
          case "records":
            sawRecords = true
            return r.array { (r: inout Reader) -> Bool in
              guard let t = r.record() else { return false }
              out.records.append(t)
              return true
            }
          case "v1":
            return r.object { (r: inout Reader, k: UnsafeBufferPointer<UInt8>) -> Bool in
              if Reader.equal(k, "entries") {
                out.v1Entries = r.integer()
                return out.v1Entries != nil
              }
              if Reader.equal(k, "head") {
                out.v1Head = r.string()
                return out.v1Head != nil
              }
              return false
            }
          default: return false
          }
          return true
        }), r.i == p.count
      else { return nil }
      // A member of the wrong kind (a number where a string belongs): the strict reading decides.
      if !sawParents || !sawRecords || out.actor == nil || out.time == nil || out.type == nil || out.v == nil
        || (out.hasSigner && out.signer == nil)
      {
        return nil
      }
      return out
    }
  }

  /// Canonical JSON only: ASCII strings without escapes, keys strictly increasing, non-negative
  /// integers without leading zeros. Anything else fails, and the strict parser reads it.
  struct Reader {
    let p: UnsafeBufferPointer<UInt8>
    var i = 0

    static func equal(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
      b.count == s.utf8CodeUnitCount
        && b.elementsEqual(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func raw() -> UnsafeBufferPointer<UInt8>? {
      guard i < p.count, p[i] == 0x22 else { return nil }
      let start = i + 1
      var j = start
      // Eight bytes at a time while none needs a look (keys and fingerprints are most of a
      // signed state and of a trail entry), then byte by byte.
      if let base = p.baseAddress {
        let r = UnsafeRawPointer(base)
        while j + 8 <= p.count && Bytes.plainString(r.loadUnaligned(fromByteOffset: j, as: UInt64.self)) {
          j += 8
        }
      }
      while j < p.count && p[j] != 0x22 {
        if p[j] == 0x5c || p[j] < 0x20 || p[j] >= 0x7f { return nil }
        j += 1
      }
      guard j < p.count else { return nil }
      i = j + 1
      return UnsafeBufferPointer(rebasing: p[start..<j])
    }

    mutating func string() -> String? { raw().map { String(decoding: $0, as: UTF8.self) } }

    /// Steps over one object or array without reading it: each closing bracket must match the
    /// one it closes, and its strings must be those `raw` accepts (so no bracket inside one is
    /// taken for structure). False for anything else, a missing end, or nesting deeper than 64
    /// (the strict reading then decides).
    mutating func skip() -> Bool {
      guard i < p.count, p[i] == 0x7b || p[i] == 0x5b else { return false }
      var open: UInt64 = 0  // one bit per open bracket, innermost lowest: 1 for `{`, 0 for `[`
      var depth = 0
      var j = i
      while j < p.count {
        switch p[j] {
        case 0x22:
          i = j
          guard raw() != nil else { return false }
          j = i
          continue
        case 0x7b, 0x5b:
          guard depth < 64 else { return false }
          open = open << 1 | (p[j] == 0x7b ? 1 : 0)
          depth += 1
        case 0x7d, 0x5d:
          guard depth > 0, (open & 1 == 1) == (p[j] == 0x7d) else { return false }
          open >>= 1
          depth -= 1
          if depth == 0 {
            i = j + 1
            return true
          }
        default: break
        }
        j += 1
      }
      return false
    }

    /// `true`, `false`: a literal, followed by the end of its value.
    mutating func literal(_ s: StaticString) -> Bool {
      let n = s.utf8CodeUnitCount
      guard i + n < p.count, Reader.equal(UnsafeBufferPointer(rebasing: p[i..<(i + n)]), s),
        p[i + n] == 0x2c || p[i + n] == 0x7d || p[i + n] == 0x5d
      else { return false }
      i += n
      return true
    }

    mutating func integer() -> Int? {
      let start = i
      var n = 0
      while i < p.count, p[i] >= 0x30, p[i] <= 0x39, i - start < 15 {
        n = n * 10 + Int(p[i] - 0x30)
        i += 1
      }
      guard i > start, !(p[start] == 0x30 && i - start > 1), i < p.count,
        p[i] == 0x2c || p[i] == 0x7d || p[i] == 0x5d
      else { return nil }
      return n
    }

    mutating func object(_ member: (inout Reader, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
      guard i < p.count, p[i] == 0x7b else { return false }
      i += 1
      if i < p.count && p[i] == 0x7d {
        i += 1
        return true
      }
      var previous: UnsafeBufferPointer<UInt8>? = nil
      while true {
        guard let key = raw(), i < p.count, p[i] == 0x3a else { return false }
        if let previous, !previous.lexicographicallyPrecedes(key) { return false }
        previous = key
        i += 1
        guard member(&self, key), i < p.count else { return false }
        if p[i] == 0x2c {
          i += 1
          continue
        }
        guard p[i] == 0x7d else { return false }
        i += 1
        return true
      }
    }

    mutating func array(_ element: (inout Reader) -> Bool) -> Bool {
      guard i < p.count, p[i] == 0x5b else { return false }
      i += 1
      if i < p.count && p[i] == 0x5d {
        i += 1
        return true
      }
      while true {
        guard element(&self), i < p.count else { return false }
        if p[i] == 0x2c {
          i += 1
          continue
        }
        guard p[i] == 0x5d else { return false }
        i += 1
        return true
      }
    }

    /// A record: string and integer members (typed ones set, the rest kept as extras) and the
    /// fingerprints object.
    mutating func record() -> TrailEntry? {
      var t = TrailEntry()
      let ok = object { (r: inout Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
        guard r.i < r.p.count else { return false }
        let name = String(decoding: key, as: UTF8.self)
        if r.p[r.i] == 0x7b {
          guard name == "fingerprints" else { return false }
          return r.object { (r: inout Reader, k: UnsafeBufferPointer<UInt8>) -> Bool in
            guard let v = r.string() else { return false }
            if Reader.equal(k, "app_key") { t.appKeyFP = v }
            if Reader.equal(k, "app_secret") { t.appSecretFP = v }
            return true
          }
        }
        if r.p[r.i] == 0x22 {
          guard let v = r.string() else { return false }
          switch name {
          case "action": t.action = v
          case "environment": t.environment = v
          case "set": t.set = v
          case "target": t.target = v
          case "time": t.time = v
          case "env_after": t.envAfter = v
          case "env_before": t.envBefore = v
          case "actor": t.actor = v
          case "fingerprints", "seq": return false
          case "hash", "prev": break
          default: t.extra[name] = .string(v)
          }
          return true
        }
        guard let n = r.integer(), !TrailEntry.typed.contains(name) || name == "seq" else { return false }
        if name == "seq" {
          t.seq = n
        } else if name != "hash" && name != "prev" {
          t.extra[name] = .number(Double(n))
        }
        return true
      }
      return ok ? t : nil
    }
  }

  static func == (a: PayloadScan, b: PayloadScan) -> Bool {
    a.type == b.type && a.v == b.v && a.parents == b.parents && a.time == b.time && a.actor == b.actor
      && a.command == b.command && a.hasSigner == b.hasSigner && a.signer == b.signer
      && a.v1Entries == b.v1Entries && a.v1Head == b.v1Head && a.records.count == b.records.count
      && zip(a.records, b.records).allSatisfy { x, y in
        x.seq == y.seq && x.action == y.action && x.environment == y.environment && x.set == y.set
          && x.target == y.target && x.time == y.time && x.appKeyFP == y.appKeyFP
          && x.appSecretFP == y.appSecretFP
          && x.envAfter == y.envAfter && x.envBefore == y.envBefore && x.actor == y.actor
          && x.extra == y.extra
      }
  }
}
