import Dispatch

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
  public struct Problem: Error, Sendable, Equatable {
    public enum Kind: String, Sendable { case broken, forged, cut }
    public var kind: Kind
    public var message: String
    public var file: String?
    public var line: Int?
  }

  public var entries: [Entry] = []
  public var problems: [Problem] = []
  /// Entries nothing follows, sorted.
  public var heads: [String] = []
  public var checkpoints = 0
  /// The version-1 chain, when audit.jsonl exists.
  public var v1: AuditReport.Chain?
  public var v1Entries: [TrailEntry] = []
  public var intact: Bool { problems.isEmpty }
  public var hasV2: Bool { !entries.isEmpty || checkpoints > 0 }

  /// Every record, oldest first: the version-1 lines, then each entry's records (parents first).
  public var history: [TrailEntry] {
    v1Entries + entries.flatMap(\.records)
  }

  /// Reads and checks the trail. `full` verifies the signatures of checkpointed entries too;
  /// `seen` adds the heads this machine recorded (a later cut is then a problem).
  public static func load(
    workspace: Workspace, verifySignatures: Bool = true, full: Bool = false, seen: [String] = []
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
    // The items to parse: entry files, then checkpoint lines.
    var items = [Item]()
    for name in FileSystem.listDirectory("\(root)/\(Trail.entriesFolder)") {
      let path = "\(root)/\(Trail.entriesFolder)/\(name)"
      guard name.hasSuffix(".json"), Trail.isID(name.dropLast(5)) else {
        if !name.hasPrefix(".") {
          index.problems.append(
            Problem(
              kind: .broken, message: "\(name) in \(Trail.entriesFolder) is not an entry file", file: path))
        }
        continue
      }
      do {
        var bytes = try FileSystem.read(path)
        guard bytes.last == 0x0a else {
          index.problems.append(
            Problem(kind: .broken, message: "\(name): the file is incomplete", file: path))
          continue
        }
        bytes.removeLast()
        items.append(Item(bytes: bytes, file: path, line: nil, expectedID: String(name.dropLast(5))))
      } catch {
        index.problems.append(Problem(kind: .broken, message: error.message, file: path))
      }
    }
    var attested = Set<Int>()  // item indexes held by a valid checkpoint
    for name in FileSystem.listDirectory("\(root)/\(Trail.checkpointsFolder)") where !name.hasPrefix(".") {
      let path = "\(root)/\(Trail.checkpointsFolder)/\(name)"
      index.checkpoints += 1
      do {
        let checkpoint = try Checkpoint.read(path: path, name: name, trust: workspace.trust)
        let first = items.count
        for (n, line) in checkpoint.lines.enumerated() {
          items.append(Item(bytes: line, file: path, line: n + 2, expectedID: nil))
        }
        if checkpoint.valid { attested.formUnion(first..<items.count) }
        index.problems += checkpoint.problems
      } catch {
        index.problems.append(Problem(kind: .broken, message: error.message, file: path))
      }
    }
    // Parse, hash and (where needed) verify every item, on every core.
    let verify = (0..<items.count).map { verifySignatures && (full || !attested.contains($0)) }
    let parsed = parseAll(items, verify: verify)
    var byID = [String: Int]()
    var list = [Entry]()
    for (i, result) in parsed.enumerated() {
      switch result {
      case .failure(let p): index.problems.append(p)
      case .success(var e):
        if byID[e.id] != nil { continue }  // held by a file and a checkpoint, or two checkpoints
        e.checkpointed = attested.contains(i)
        if e.checkpointed && !verify[i] && e.signer != nil { e.signature = .attested }
        byID[e.id] = list.count
        list.append(e)
      case nil: break
      }
    }
    // Links: every parent exists; the heads are the entries nothing names.
    var followed = Set<String>()
    for e in list {
      for p in e.parents {
        followed.insert(p)
        if byID[p] == nil {
          index.problems.append(
            Problem(
              kind: .cut,
              message:
                "entry \(e.id.prefix(12)) follows \(p.prefix(12)), which is not in the trail: an entry was removed",
              file: e.file, line: e.line))
        }
      }
      if let anchor = e.v1 {
        if let chain = index.v1 {
          if chain.intact
            && (chain.entries != anchor.entries || (chain.lastHash ?? AuditLog.genesis) != anchor.head)
          {
            index.problems.append(
              Problem(
                kind: .cut,
                message:
                  "\(Workspace.auditName) has \(chain.entries) entries, but entry \(e.id.prefix(12)) anchored it at \(anchor.entries) ending in \(anchor.head.prefix(12)): it was cut or rewritten",
                file: v1Path))
          }
        } else {
          index.problems.append(
            Problem(
              kind: .cut,
              message:
                "\(Workspace.auditName), anchored by entry \(e.id.prefix(12)) (\(anchor.entries) entries), is gone",
              file: v1Path))
        }
      } else if e.parents.isEmpty, index.v1 != nil {
        index.problems.append(
          Problem(
            kind: .broken,
            message:
              "entry \(e.id.prefix(12)) starts the trail without anchoring \(Workspace.auditName): one of the two was planted",
            file: e.file, line: e.line))
      }
    }
    index.heads = list.map(\.id).filter { !followed.contains($0) }.sorted()
    for id in seen where byID[id] == nil {
      index.problems.append(
        Problem(
          kind: .cut,
          message:
            "entry \(id.prefix(12)), which this machine saw in the trail, is gone: the trail was cut or rewritten",
          file: "\(root)/\(Trail.folder)"))
    }
    index.entries = order(list, byID: byID)
    // Records carry their entry's time, actor and signature, and a running number.
    var seq = index.v1Entries.count
    for i in index.entries.indices {
      for r in index.entries[i].records.indices {
        seq += 1
        index.entries[i].records[r].seq = seq
      }
    }
    return index
  }

  /// Parents before children; otherwise by time, then id.
  static func order(_ list: [Entry], byID: [String: Int]) -> [Entry] {
    let sorted = list.indices.sorted { (list[$0].time, list[$0].id) < (list[$1].time, list[$1].id) }
    var done = [Bool](repeating: false, count: list.count)
    var out = [Entry]()
    out.reserveCapacity(list.count)
    for start in sorted where !done[start] {
      var stack = [(start, false)]
      while let (i, expanded) = stack.popLast() {
        if done[i] { continue }
        if expanded {
          done[i] = true
          out.append(list[i])
          continue
        }
        stack.append((i, true))
        for p in list[i].parents.reversed() {
          if let j = byID[p], !done[j] { stack.append((j, false)) }
        }
      }
    }
    return out
  }

  struct Item: Sendable {
    var bytes: [UInt8]
    var file: String
    var line: Int?
    var expectedID: String?
  }

  static func parseAll(_ items: [Item], verify: [Bool]) -> [Result<Entry, Problem>?] {
    var out = [Result<Entry, Problem>?](repeating: nil, count: items.count)
    let chunks = items.count < 256 ? 1 : 4 * max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    out.withUnsafeMutableBufferPointer { results in
      let sink = ResultSink(results)
      DispatchQueue.concurrentPerform(iterations: chunks) { c in
        for i in (items.count * c / chunks)..<(items.count * (c + 1) / chunks) {
          sink.buffer[i] = parse(items[i], verify: verify[i])
        }
      }
    }
    return out
  }

  struct ResultSink: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Result<Entry, Problem>?>
    init(_ b: UnsafeMutableBufferPointer<Result<Entry, Problem>?>) { buffer = b }
  }

  /// One entry envelope: its id from the payload, its members, and its signature when asked.
  static func parse(_ item: Item, verify: Bool) -> Result<Entry, Problem> {
    let whereText = item.line.map { "\(Path.name(item.file)) line \($0)" } ?? Path.name(item.file)
    func fail(_ why: String, _ kind: Problem.Kind = .broken) -> Result<Entry, Problem> {
      .failure(Problem(kind: kind, message: "\(whereText): \(why)", file: item.file, line: item.line))
    }
    let doc: SignedDocument
    do { doc = try SignedDocument.parse(item.bytes, source: whereText, type: Trail.entryType) } catch {
      return fail("not a trail entry (\(error.message))")
    }
    let id = Trail.id(of: doc.payload)
    if let expected = item.expectedID, expected != id {
      return fail("its content does not match its name: the entry was edited", .forged)
    }
    guard let v = try? JSONValue.parse(doc.payload, source: whereText), case .object(let m) = v,
      m["type"] == .string("keyward-trail-entry"), m["v"] == .number(2),
      case .array(let ps)? = m["parents"], case .string(let time)? = m["time"],
      Timestamp(iso: time) != nil, case .string(let actor)? = m["actor"],
      case .array(let rs)? = m["records"]
    else { return fail("the entry's payload is malformed") }
    var parents = [String]()
    for p in ps {
      guard case .string(let s) = p, Trail.isID(Substring(s)) else {
        return fail("a parent is not an entry id")
      }
      parents.append(s)
    }
    var entry = Entry(
      id: id, parents: parents, time: time, actor: Text.printable(actor, keepNewlines: false), signer: nil,
      command: { if case .string(let c)? = m["command"] { return c } else { return "?" } }(), records: [],
      file: item.file, line: item.line)
    if case .object(let a)? = m["v1"], case .number(let n)? = a["entries"], let count = Int(exactly: n),
      case .string(let head)? = a["head"]
    {
      entry.v1 = (count, head)
    }
    if let s = m["signer"] {
      guard case .string(let text) = s, let key = try? PublicIdentity(parsing: text) else {
        return fail("its signer is not a public identity")
      }
      entry.signer = key
      if verify {
        guard !doc.validSigners([key]).isEmpty else {
          return fail(
            "it names signer \(key.fingerprint) but carries no valid signature by that key: a forged entry",
            .forged)
        }
        entry.signature = .verified
      } else {
        entry.signature = .attested
      }
    }
    for r in rs {
      guard case .object(let rm) = r, case .string(let env)? = rm["environment"], Names.isEnvironment(env),
        case .string? = rm["action"]
      else { return fail("a record is malformed") }
      var t = TrailEntry(rm)
      t.time = time
      t.entry = id
      t.actor = entry.actor
      t.signed = entry.signer != nil
      entry.records.append(t)
    }
    return .success(entry)
  }

  /// Each environment's maximal records: the last record of it on every branch that no later
  /// record of it follows. One for a linear history; two or more after a merge of branches that
  /// both changed the environment, until someone records the resolution.
  public func maximalRecords() -> [String: [TrailEntry]] {
    var position = [String: Int]()
    for (i, e) in entries.enumerated() { position[e.id] = i }
    // Full cuts: positions every earlier entry leads to and every later entry comes from. Between
    // two records with a cut between them, the earlier is an ancestor of the later; only records
    // with no cut between them need a walk.
    let n = entries.count
    var crossing = [Int](repeating: 0, count: n + 1)
    var hasChild = [Bool](repeating: false, count: n)
    var lastRoot = 0
    for (j, e) in entries.enumerated() {
      if e.parents.isEmpty { lastRoot = j }
      for p in e.parents {
        guard let i = position[p] else { continue }
        hasChild[i] = true
        if i + 1 < j {
          crossing[i + 1] += 1
          crossing[j] -= 1
        }
      }
    }
    let firstHead = hasChild.firstIndex(of: false) ?? n
    var nextCut = [Int](repeating: Int.max, count: n + 1)
    var running = 0
    var cutAt = [Bool](repeating: false, count: n)
    for c in 0..<n {
      running += crossing[c]
      cutAt[c] = running == 0 && c >= lastRoot && c <= firstHead
    }
    for c in stride(from: n - 1, through: 0, by: -1) { nextCut[c] = cutAt[c] ? c : nextCut[c + 1] }
    func isAncestor(_ a: Int, of b: Int) -> Bool {
      if a == b { return true }
      if a > b { return false }
      if nextCut[a] <= b { return true }
      var stack = [b]
      var seen = Set<Int>()
      while let x = stack.popLast() {
        for p in entries[x].parents {
          guard let i = position[p], i >= a, seen.insert(i).inserted else { continue }
          if i == a { return true }
          stack.append(i)
        }
      }
      return false
    }
    // The last record of each environment in each entry, newest entry first.
    var touches = [String: [(Int, TrailEntry)]]()
    for (i, e) in entries.enumerated().reversed() {
      var seenHere = Set<String>()
      for r in e.records.reversed() where r.envAfter != nil {
        guard let env = r.environment, seenHere.insert(env).inserted else { continue }
        touches[env, default: []].append((i, r))
      }
    }
    var out = [String: [TrailEntry]]()
    for (env, list) in touches {
      var maxima = [(Int, TrailEntry)]()
      for (i, r) in list where !maxima.contains(where: { isAncestor(i, of: $0.0) }) { maxima.append((i, r)) }
      out[env] = maxima.map(\.1)
    }
    // Environments the version-2 trail never recorded: the version-1 trail's last word.
    for r in v1Entries.reversed() where r.envAfter != nil {
      if let env = r.environment, out[env] == nil { out[env] = [r] }
    }
    return out
  }
}
