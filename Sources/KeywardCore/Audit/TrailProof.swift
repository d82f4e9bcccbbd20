import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `audit --full` without holding the trail (issue 17). Every checkpoint segment is streamed in
/// pieces of a megabyte (two pieces' parsed entries are held at a time: one being added while the
/// next is parsed): each line is parsed, its signature verified on every core, and the entry
/// reduced to a row of about 120 bytes (its id, time, parents, signer, holder, where its line is,
/// and per record the keys the index's rules compare). Each index is then rebuilt from the rows
/// exactly as `CheckpointIndex.build` builds it from the entries, the few records it keeps are
/// read again from their lines, and the result's digest is compared with the one the checkpoint
/// signed. A property test holds the rebuild to `build` on random histories.
struct TrailProof {
  /// Every entry the segments hold, one row each, in the order read; a row whose id an earlier
  /// row has is a second copy (two checkpoints of merged clones holding the same entry).
  struct Table {
    var ids: [UInt8] = []  // 32 bytes a row
    var seconds: [Int64] = []
    var parentIDs: [UInt8] = []  // 32 bytes a parent, in payload order; freed by `finish`
    var parentStart: [Int32] = [0]
    var parents: [Int32] = []  // by `finish`: a row, or -1 for an entry no segment holds
    var signer: [Int32] = []  // into `signerTexts`; -1: unsigned
    var signerTexts: [String] = []
    var signerCode: [String: Int32] = [:]
    var v1: [Int32: CheckpointIndex.V1Anchor] = [:]
    var holder: [Int32] = []  // the segment that holds the row
    var offset: [Int] = []  // where its line is in that segment, and its number
    var length: [Int32] = []
    var line: [Int32] = []
    var recordStart: [Int32] = [0]
    /// Per record: its environment when it states the file after (else -1), the key of its
    /// first sighting (environment, set, fingerprints; -1 without fingerprints), the key of
    /// "the last of" (environment, set, action, target), and whether it is always kept.
    var recEnv: [Int32] = []
    var recSight: [Int32] = []
    var recLast: [Int32] = []
    var recSpecial: [Bool] = []
    var keys: [String: Int32] = [:]
    /// By `finish`: the first row of each id, sorted by id; the segments holding a first row
    /// besides its own.
    var unique: [Int32] = []
    var alsoHeld: [Int32: [Int32]] = [:]

    var count: Int { seconds.count }

    mutating func intern(_ s: String) -> Int32 {
      if let k = keys[s] { return k }
      let k = Int32(keys.count)
      keys[s] = k
      return k
    }

    /// Adds a parsed entry (its id, parents and time already checked by `TrailIndex.parse`).
    mutating func add(_ e: TrailIndex.Entry, holder h: Int, offset o: Int, length l: Int, line n: Int) {
      ids += CheckpointIndex.idBytes(e.id) ?? [UInt8](repeating: 0, count: 32)
      seconds.append(Timestamp(iso: e.time)?.seconds ?? 0)
      for p in e.parents { parentIDs += CheckpointIndex.idBytes(p) ?? [UInt8](repeating: 0, count: 32) }
      parentStart.append(Int32(parentIDs.count / 32))
      if let key = e.signer {
        let text = key.text
        if let c = signerCode[text] {
          signer.append(c)
        } else {
          signerCode[text] = Int32(signerTexts.count)
          signer.append(Int32(signerTexts.count))
          signerTexts.append(text)
        }
      } else {
        signer.append(-1)
      }
      if let a = e.v1 { v1[Int32(count - 1)] = .init(entries: a.entries, head: a.head) }
      holder.append(Int32(h))
      offset.append(o)
      length.append(Int32(l))
      line.append(Int32(n))
      for r in e.records {
        let env = r.environment ?? ""
        recEnv.append(r.envAfter != nil ? intern(env) : -1)
        recSight.append(
          r.appKeyFP != nil || r.appSecretFP != nil
            ? intern(CheckpointIndex.sightingKey(r)) : -1)
        recLast.append(intern(CheckpointIndex.lastKey(r)))
        recSpecial.append(CheckpointIndex.special(r))
      }
      recordStart.append(Int32(recEnv.count))
    }

    /// Room for `n` rows of one parent and one record each, so the columns do not grow by
    /// doubling (which would hold twice their size at the end of a long trail).
    /// `records`: room for that many records (one per row when not given).
    mutating func reserve(_ n: Int, records: Int? = nil) {
      ids.reserveCapacity(32 * n)
      seconds.reserveCapacity(n)
      parentIDs.reserveCapacity(32 * n)
      for column in [\Table.parentStart, \.signer, \.holder, \.length, \.line, \.recordStart]
        as [WritableKeyPath<Table, [Int32]>]
      {
        self[keyPath: column].reserveCapacity(n + 1)
      }
      let r = records ?? n
      for column in [\Table.recEnv, \.recSight, \.recLast] as [WritableKeyPath<Table, [Int32]>] {
        self[keyPath: column].reserveCapacity(r + 1)
      }
      offset.reserveCapacity(n)
      recSpecial.reserveCapacity(r)
    }

    func id(_ row: Int32) -> String { Sodium.hex(Array(idBytes(row))) }

    func idBytes(_ row: Int32) -> ArraySlice<UInt8> { ids[(Int(row) * 32)..<(Int(row) * 32 + 32)] }

    /// The ids line of an index holding `rows` (ascending by id, as `unique` gives them), in pieces.
    func writeIDs(of rows: [Int32], to sink: ([UInt8]) -> Void) {
      CheckpointIndex.base64Pieces(rows.count, to: sink) { idBytes(rows[$0]) }
    }

    func idLess(_ a: Int32, _ b: Int32) -> Bool {
      ids.withUnsafeBufferPointer { p in
        let x = Int(a) * 32
        let y = Int(b) * 32
        for k in 0..<32 where p[x + k] != p[y + k] { return p[x + k] < p[y + k] }
        return false
      }
    }

    func idEqual(_ a: Int32, _ b: Int32) -> Bool { !idLess(a, b) && !idLess(b, a) }

    /// The rows that hold `row`'s id (its first row's segments).
    func holders(_ row: Int32) -> [Int32] { [holder[Int(row)]] + (alsoHeld[row] ?? []) }

    func forEachHolder(_ row: Int32, _ body: (Int32) -> Void) {
      body(holder[Int(row)])
      for h in alsoHeld[row] ?? [] { body(h) }
    }

    func isHeld(_ row: Int32, by segment: Int32) -> Bool {
      holder[Int(row)] == segment || alsoHeld[row]?.contains(segment) == true
    }

    /// Sorts the ids, joins second copies to their first row, and resolves the parents.
    /// `known`: whether an id no segment holds is elsewhere in the trail (an entry file);
    /// returns the rows that follow an entry that is nowhere.
    mutating func finish(known: (String) -> Bool) -> [(row: Int32, parent: String)] {
      // By id (its first 8 bytes, read as a big-endian number, decide almost every comparison),
      // then by row; the rows sorted in place (no key copied beside each: 4.8 MB at 300,000).
      var sorted = (0..<Int32(count)).map { $0 }
      ids.withUnsafeBytes { p in
        func prefix(_ r: Int32) -> UInt64 {
          UInt64(bigEndian: p.loadUnaligned(fromByteOffset: Int(r) * 32, as: UInt64.self))
        }
        sorted.sort { a, b in
          let (x, y) = (prefix(a), prefix(b))
          return x != y ? x < y : idLess(a, b) || (!idLess(b, a) && a < b)
        }
      }
      unique = []
      unique.reserveCapacity(count)
      for r in sorted {
        if let u = unique.last, idEqual(u, r) {
          if !isHeld(u, by: holder[Int(r)]) { alsoHeld[u, default: []].append(holder[Int(r)]) }
        } else {
          unique.append(r)
        }
      }
      var missing = [(row: Int32, parent: String)]()
      parents = [Int32](repeating: -1, count: parentIDs.count / 32)
      for row in unique {
        for k in Int(parentStart[Int(row)])..<Int(parentStart[Int(row) + 1]) {
          let key = Array(parentIDs[k * 32..<k * 32 + 32])
          if let found = lookup(key) {
            parents[k] = found
          } else {
            let text = Sodium.hex(key)
            if !known(text) { missing.append((row, text)) }
          }
        }
      }
      parentIDs = []
      return missing
    }

    /// The first row with id `key`, by binary search over `unique`.
    func lookup(_ key: [UInt8]) -> Int32? {
      ids.withUnsafeBufferPointer { p -> Int32? in
        var lo = 0
        var hi = unique.count
        while lo < hi {
          let mid = (lo + hi) / 2
          let c = CheckpointIndex.compare(p, Int(unique[mid]) * 32, key)
          if c == 0 { return unique[mid] }
          if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return nil
      }
    }

    func parentRows(_ row: Int32) -> ArraySlice<Int32> {
      parents[Int(parentStart[Int(row)])..<Int(parentStart[Int(row) + 1])]
    }
  }

  /// The table while the segments are streamed, and the parsed piece waiting to be added. One
  /// worker at a time touches it (the one that adds), so it is shared without a lock.
  final class Rows: @unchecked Sendable {
    var table: Table
    var failed: [TrailIndex.Problem] = []
    var cap = TrailIndex.ProblemCap()
    var waiting:
      (
        results: [Result<TrailIndex.Entry, TrailIndex.Problem>?], places: [(offset: Int, length: Int)],
        lines: [Int], segment: Int
      )? = nil

    init(_ table: Table) { self.table = table }

    /// Adds the waiting piece's entries, in order; its failures are kept in order too.
    func addWaiting() {
      guard let w = waiting else { return }
      waiting = nil
      for (k, result) in w.results.enumerated() {
        switch result {
        case .success(let e)?:
          table.add(
            e, holder: w.segment, offset: w.places[k].offset, length: w.places[k].length, line: w.lines[k])
        case .failure(let p)?: if cap.admit(p) { failed.append(p) }
        case nil: break
        }
      }
    }
  }

  /// A record an index keeps, before its line is read again: the row and record position, its
  /// running number, and the heads above it when it is maximal.
  struct Placeholder {
    var row: Int32
    var record: Int
    var seq: Int
    var below: [Int]?
  }

  /// The index of the rows `keep` selects, in the order they would have alone (`rank` as
  /// `TrailIndex.order` takes it): `CheckpointIndex.build` of those entries, with each kept
  /// record as a placeholder.
  /// The index's ids are left out: the proof hands them to the digest from the table
  /// (`Table.writeIDs`) instead of copying them (9.6 MB at 300,000 entries).
  static func build(_ t: Table, keep: [Bool], rank: [Int], covers: [String]) -> (
    CheckpointIndex, [Placeholder]
  ) {
    // The order and the links by new position; what they are made from is let go at the end of
    // this block (at 300,000 entries about 9 MB, before the bit sets below are made).
    let (row, subStart, subLinks) = { () -> ([Int32], [Int32], [Int32]) in
      let picked = t.unique.filter { keep[Int($0)] }.sorted()  // rows in read order
      var position = [Int32](repeating: -1, count: t.count)
      for (p, row) in picked.enumerated() { position[Int(row)] = Int32(p) }
      let m = picked.count
      // Parents first; otherwise by rank, time, then id (`TrailIndex.order`).
      var byKey = (0..<m).sorted { a, b in
        let (x, y) = (picked[a], picked[b])
        if rank[Int(x)] != rank[Int(y)] { return rank[Int(x)] < rank[Int(y)] }
        if t.seconds[Int(x)] != t.seconds[Int(y)] { return t.seconds[Int(x)] < t.seconds[Int(y)] }
        return t.idLess(x, y)
      }
      func links(_ p: Int) -> [Int] {
        t.parentRows(picked[p]).compactMap {
          $0 >= 0 && position[Int($0)] >= 0 ? Int(position[Int($0)]) : nil
        }
      }
      let ordered = TrailIndex.parentsFirst(byKey, parents: links)  // positions in `picked`
      byKey = []
      var newPosition = [Int32](repeating: 0, count: m)
      for (n, old) in ordered.enumerated() { newPosition[old] = Int32(n) }
      // Each entry's parents by new position, flat: entry k's are subLinks[subStart[k]..<subStart[k + 1]].
      var subStart = [Int32](repeating: 0, count: m + 1)
      var subLinks = [Int32]()
      for (k, old) in ordered.enumerated() {
        for j in links(old) { subLinks.append(newPosition[j]) }
        subStart[k + 1] = Int32(subLinks.count)
      }
      return (ordered.map { picked[$0] }, subStart, subLinks)  // rows by new position
    }()
    let m = row.count
    func sub(_ k: Int) -> ArraySlice<Int32> { subLinks[Int(subStart[k])..<Int(subStart[k + 1])] }
    var hasChild = [Bool](repeating: false, count: m)
    for j in subLinks { hasChild[Int(j)] = true }

    var x = CheckpointIndex()
    x.covers = covers.sorted()
    x.heads = (0..<m).filter { !hasChild[$0] }.map { row[$0] }.sorted { t.idLess($0, $1) }.map(t.id)
    x.entries = m
    for r in row {
      let s = t.signer[Int(r)]
      if s >= 0 { x.signers[t.signerTexts[Int(s)], default: 0] += 1 } else { x.unsigned += 1 }
      if let a = t.v1[r] { x.v1.append(a) }
    }
    func records(_ r: Int32) -> Range<Int> { Int(t.recordStart[Int(r)])..<Int(t.recordStart[Int(r) + 1]) }
    // Each environment's maximal records (`TrailIndex.maximal`): one backward pass carrying the
    // environments recorded below each entry.
    var envBit = [Int32: Int]()
    for r in row {
      for k in records(r) where t.recEnv[k] >= 0 { envBit[t.recEnv[k]] = envBit[t.recEnv[k]] ?? envBit.count }
    }
    let words = max(1, (envBit.count + 63) / 64)
    var pending = [Int: [UInt64]]()
    var maximal = Set<Int>()  // record positions in the table
    for i in stride(from: m - 1, through: 0, by: -1) {
      var up = pending.removeValue(forKey: i) ?? [UInt64](repeating: 0, count: words)
      var seenHere = Set<Int32>()
      for k in records(row[i]).reversed() where t.recEnv[k] >= 0 {
        let env = t.recEnv[k]
        guard let b = envBit[env], seenHere.insert(env).inserted else { continue }
        if up[b / 64] & (1 << UInt64(b % 64)) == 0 { maximal.insert(k) }
      }
      for k in records(row[i]) where t.recEnv[k] >= 0 {
        if let b = envBit[t.recEnv[k]] { up[b / 64] |= 1 << UInt64(b % 64) }
      }
      for j32 in sub(i) {
        let j = Int(j32)
        if var acc = pending.removeValue(forKey: j) {
          for w in 0..<words { acc[w] |= up[w] }
          pending[j] = acc
        } else {
          pending[j] = up
        }
      }
    }
    // The heads at or above each entry, as bit sets.
    let headWords = max(1, (x.heads.count + 63) / 64)
    var headPosition = [Int32: Int]()
    for (p, r) in (0..<m).filter({ !hasChild[$0] }).map({ row[$0] }).sorted(by: { t.idLess($0, $1) })
      .enumerated()
    {
      headPosition[r] = p
    }
    var above = [UInt64](repeating: 0, count: m * headWords)
    for k in stride(from: m - 1, through: 0, by: -1) {
      if let p = headPosition[row[k]] { above[k * headWords + p / 64] |= 1 << UInt64(p % 64) }
      for p in sub(k) {
        let parent = Int(p)
        for w in 0..<headWords { above[parent * headWords + w] |= above[k * headWords + w] }
      }
    }
    // The candidates are every record in order (their running number is their position + 1);
    // the rules mark which are kept, and only those become placeholders.
    let total = row.reduce(0) { $0 + records($1).count }
    var kept = [Bool](repeating: false, count: total)
    var sighted = Set<Int32>()
    var seq = 0
    for r in row {
      for rec in records(r) {
        // (Every sighting is noted, whether or not another rule keeps the record.)
        let firstSighting = t.recSight[rec] >= 0 && sighted.insert(t.recSight[rec]).inserted
        if firstSighting || maximal.contains(rec) || t.recSpecial[rec] { kept[seq] = true }
        seq += 1
      }
    }
    var last = Set<Int32>()
    for r in row.reversed() {
      for rec in records(r).reversed() {
        seq -= 1
        if last.insert(t.recLast[rec]).inserted { kept[seq] = true }
      }
    }
    x.records = total
    var out = [Placeholder]()
    for (k, r) in row.enumerated() {
      for (p, rec) in records(r).enumerated() {
        seq += 1
        guard kept[seq - 1] else { continue }
        var below: [Int]? = nil
        if maximal.contains(rec) {
          below = (0..<x.heads.count).filter { above[k * headWords + $0 / 64] >> UInt64($0 % 64) & 1 == 1 }
        }
        out.append(Placeholder(row: r, record: p, seq: seq, below: below))
      }
    }
    return (x, out)
  }

  // MARK: - The proof

  /// Streams every segment named in `names` (the checkpoints folder's files; positions are the
  /// segments' numbers), verifies every line's signature, checks each valid segment's heads
  /// against its entries and each index in `indexes` against the entries of the checkpoints it
  /// covers. What fails is added to `index.problems`. Returns whether every line verified.
  static func prove(
    _ index: inout TrailIndex, root: String, trust: TrustedState?, names: [String],
    indexes: [String: (index: CheckpointIndex, digest: String)]
  ) -> Bool {
    var table = Table()
    // A problem the load already reported (it read these lines when no index stood for them)
    // is reported once.
    var reported = Set(index.problems)
    func report(_ p: TrailIndex.Problem) { if reported.insert(p).inserted { index.problems.append(p) } }
    var heads = [[String]?](repeating: nil, count: names.count)
    // The rows the headers announce (a hostile header cannot reserve more than its file's
    // size allows: a line is longer than 100 bytes).
    let rowCount = names.reduce(0) { n, name in
      let path = "\(root)/\(Trail.checkpointsFolder)/\(name)"
      var st = stat()
      guard let first = CheckpointFile.firstLine(path), lstat(path, &st) == 0,
        case .success(let h) = Checkpoint.header(first, name: name, trust: trust)
      else { return n }
      return n + min(h.entries, Int(st.st_size) / 100)
    }
    // Records per entry as the signed indexes count them (a verify of many environments is one
    // entry of many records), so the record columns are not grown by doubling; at most two per
    // row here (more grow as they come).
    let perEntry =
      indexes.values.map { Double($0.index.records) / Double(max(1, $0.index.entries)) }.max() ?? 1
    table.reserve(rowCount, records: Int(Double(rowCount) * min(2, max(1, perEntry))) + 16)
    // Each piece is parsed and verified on every core while the previous piece's entries are
    // added to the table (one worker adds, then joins the parsing).
    let rows = Rows(table)
    table = Table()
    let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    for (c, name) in names.enumerated() {
      let path = "\(root)/\(Trail.checkpointsFolder)/\(name)"
      let read = stream(path: path, name: name, trust: trust) { items, places in
        var results = [Result<TrailIndex.Entry, TrailIndex.Problem>?](repeating: nil, count: items.count)
        let chunks = items.count < 64 ? 1 : 4 * cores
        results.withUnsafeMutableBufferPointer { buffer in
          let sink = WorkerSlots(buffer)
          DispatchQueue.concurrentPerform(iterations: chunks + 1) { k in
            if k == 0 { return rows.addWaiting() }
            var keys = [String: PublicIdentity]()  // a trail has few signers: parse each key once
            for i in (items.count * (k - 1) / chunks)..<(items.count * k / chunks) {
              sink.buffer[i] = TrailIndex.parse(items[i], verify: true, keys: &keys)
            }
          }
        }
        rows.waiting = (results, places, items.map { $0.line ?? 0 }, c)
      }
      switch read {
      case .read(let named): heads[c] = named
      case .unreadable:
        // Its lines cannot be proven: the trail is not shown as verified.
        rows.addWaiting()
        rows.failed.append(
          TrailIndex.Problem(
            kind: .broken, message: "\(name): cannot be read to verify its entries", file: path))
      }
    }
    rows.addWaiting()
    table = rows.table
    rows.table = Table()
    rows.failed += rows.cap.summaries
    for p in rows.failed { report(p) }
    let allVerified = rows.failed.isEmpty
    Stopwatch.lap("full: segments streamed and verified")
    // Links: an entry a segment holds follows entries of the trail.
    var known: Set<String>? = nil
    let missing = table.finish { id in
      if known == nil { known = Set(index.entries.map(\.id)) }
      return known!.contains(id)
    }
    func place(_ row: Int32) -> (file: String, line: Int) {
      ("\(root)/\(Trail.checkpointsFolder)/\(names[Int(table.holder[Int(row)])])", Int(table.line[Int(row)]))
    }
    Stopwatch.lap("full: links resolved")
    // (Capped as the entry files' cuts are: the first thousand, then one problem counting the rest.)
    for (row, parent) in missing.prefix(TrailIndex.ProblemCap.perFile) {
      report(
        TrailIndex.Problem(
          kind: .cut,
          message:
            "entry \(table.id(row).prefix(12)) follows \(parent.prefix(12)), which is not in the trail: an entry was removed",
          file: place(row).file, line: place(row).line))
    }
    if missing.count > TrailIndex.ProblemCap.perFile {
      let rest = missing.dropFirst(TrailIndex.ProblemCap.perFile)
      report(
        TrailIndex.Problem(
          kind: .cut,
          message:
            "\(rest.count) more parent(s) named by \(Set(rest.map { $0.0 }).count) checkpointed entries are not in the trail either",
          file: "\(root)/\(Trail.checkpointsFolder)"))
    }
    if index.v1 != nil {
      for row in table.unique where table.parentRows(row).isEmpty && table.v1[row] == nil {
        report(
          TrailIndex.Problem(
            kind: .broken,
            message:
              "entry \(table.id(row).prefix(12)) starts the trail without anchoring \(Workspace.auditName): one of the two was planted",
            file: place(row).file, line: place(row).line))
      }
    }
    // A valid segment's heads are exactly its entries that no other entry in it follows: one
    // pass over the rows for every segment (a flag per row for its first segment, a small set
    // for the rows two checkpoints hold).
    var followed = [Bool](repeating: false, count: table.count)
    var followedElsewhere = Set<Int64>()  // row << 32 | segment
    for row in table.unique {
      for p in table.parentRows(row) where p >= 0 {
        table.forEachHolder(row) { c in
          guard table.isHeld(p, by: c) else { return }
          if table.holder[Int(p)] == c {
            followed[Int(p)] = true
          } else {
            followedElsewhere.insert(Int64(p) << 32 | Int64(c))
          }
        }
      }
    }
    var found = [[String]](repeating: [], count: names.count)
    for row in table.unique {
      table.forEachHolder(row) { c in
        guard heads[Int(c)] != nil else { return }
        let isFollowed =
          table.holder[Int(row)] == c
          ? followed[Int(row)] : followedElsewhere.contains(Int64(row) << 32 | Int64(c))
        if !isFollowed { found[Int(c)].append(table.id(row)) }
      }
    }
    followed = []
    for (c, named) in heads.enumerated() where named != nil && found[c].sorted() != named!.sorted() {
      report(
        TrailIndex.Problem(
          kind: .forged, message: "\(names[c]): the heads it names are not the heads of its entries",
          file: "\(root)/\(Trail.checkpointsFolder)/\(names[c])", line: 1))
    }
    // Every index must be exactly what its checkpoints' entries give.
    var position = [String: Int32]()
    for (c, name) in names.enumerated() { position[String(name.prefix(64))] = Int32(c) }
    let lines = LineReader(table: table, root: root, names: names)
    for (id, x) in indexes.sorted(by: { $0.key < $1.key })
    where x.index.covers.allSatisfy({ position[$0] != nil }) {
      let covered = Set((x.index.covers + [id]).compactMap { position[$0] })
      var keep = [Bool](repeating: false, count: table.count)
      var rank = [Int](repeating: Int.max, count: table.count)
      for row in table.unique {
        // Ranked by the checkpoints this index covers only (a concurrent one elsewhere holding
        // the entry too is not what the index was built from).
        for h in table.holders(row) where covered.contains(h) {
          keep[Int(row)] = true
          rank[Int(row)] = min(rank[Int(row)], index.generations[String(names[Int(h)].prefix(64))] ?? 1)
        }
      }
      var (rebuilt, placeholders) = build(table, keep: keep, rank: rank, covers: x.index.covers)
      Stopwatch.lap("full: index \(id.prefix(12)) rebuilt")
      // Its digest from the rebuilt header, the kept rows' ids straight from the table, and each
      // kept record read again from its line and hashed in turn: neither is held whole.
      let kept = table.unique.filter { keep[Int($0)] }
      let digest = CheckpointIndex.digest(
        header: rebuilt,
        ids: { table.writeIDs(of: kept, to: $0) },
        kept: { each in forEachKept(placeholders, entry: lines.entry, each) })
      placeholders = []
      rebuilt = CheckpointIndex()
      guard let digest else {
        report(
          TrailIndex.Problem(
            kind: .broken,
            message: "\(id.prefix(12)).index: a line of its checkpoints changed while it was being proven",
            file: "\(root)/\(Trail.checkpointsFolder)/\(id).index"))
        continue
      }
      if digest != x.digest {
        report(
          TrailIndex.Problem(
            kind: .forged,
            message:
              "\(id.prefix(12)).index does not match the entries it summarises: its admin signed a false index",
            file: "\(root)/\(Trail.checkpointsFolder)/\(id).index"))
      }
    }
    Stopwatch.lap("full: indexes rebuilt")
    return allVerified
  }

  /// What streaming a segment found: it could not be read (then no line was handed over), or
  /// it was read, and is what its admin signed (with the heads it names) or is not.
  enum Streamed: Equatable {
    case unreadable
    case read(heads: [String]?)
  }

  /// Reads one segment in pieces of `piece` bytes and hands each piece's complete lines after
  /// the first (the header, however long) to `batch`, with their places. Each byte is searched
  /// for a newline once, however long its line. The segment is what its admin signed when its
  /// header, count and digest hold, as `Checkpoint.verify` checks them.
  static func stream(
    path: String, name: String, trust: TrustedState?, piece: Int = 1 << 20,
    batch: ([TrailIndex.Item], [(offset: Int, length: Int)]) -> Void
  ) -> Streamed {
    guard let fd = try? FileSystem.openRegular(path, flags: O_RDONLY) else { return .unreadable }
    defer { close(fd) }
    // Pieces no larger than what is left of the file (and a byte to see its end): a trail of
    // hundreds of small checkpoints must not clear a whole piece for each.
    var st = stat()
    var left = fstat(fd, &st) == 0 ? Int(st.st_size) : piece
    var buffer = [UInt8]()
    var base = 0  // the file offset of buffer[0]
    var scanned = 0  // buffer[..<scanned] holds no newline
    var header: [UInt8]? = nil
    var lineNumber = 0
    var lines = 0
    var endsInNewline = false
    let d = Blake2b(key: nil, length: 32)
    d.update(Array("keyward checkpoint v2".utf8))
    while true {
      let old = buffer.count
      let want = min(piece, max(left, 0) + 1)
      buffer += [UInt8](repeating: 0, count: want)
      let n = buffer.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress! + old, want) }
      buffer.removeLast(want - max(0, n))
      if n < 0 { return .unreadable }
      if n == 0 { break }
      left -= n
      endsInNewline = buffer.last == 0x0a
      // The digest covers every byte after the header's newline.
      if header != nil { buffer.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0[old...])) } }
      var items = [TrailIndex.Item]()
      var places = [(offset: Int, length: Int)]()
      var at = 0
      var from = scanned
      while let nl = buffer.withUnsafeBytes({ p -> Int? in
        memchr(p.baseAddress! + from, 0x0a, p.count - from).map {
          p.baseAddress!.distance(to: UnsafeRawPointer($0))
        }
      }) {
        lineNumber += 1
        if header == nil {
          header = Array(buffer[at..<nl])
          buffer.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0[(nl + 1)...])) }
        } else {
          items.append(TrailIndex.Item(bytes: buffer[at..<nl], file: path, line: lineNumber, expectedID: nil))
          places.append((base + at, nl - at))
        }
        at = nl + 1
        from = at
      }
      lines += items.count
      if !items.isEmpty { batch(items, places) }
      items = []
      buffer.removeFirst(at)
      base += at
      scanned = buffer.count
    }
    guard let header, endsInNewline, buffer.isEmpty,
      case .success(let h) = Checkpoint.header(header, name: name, trust: trust), h.entries == lines
    else { return .read(heads: nil) }
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { d.finish(into: $0) }
    return .read(heads: Sodium.hex(out) == h.digest ? h.heads : nil)
  }

  /// Hands `body` the kept records in the placeholders' order (their running numbers), each from
  /// its entry (`entry` gives a row's entry, nil when it cannot: then false). One record at a
  /// time: the proof hashes each and lets it go.
  static func forEachKept(
    _ placeholders: [Placeholder], entry: (Int32) -> TrailIndex.Entry?, _ body: (CheckpointIndex.Kept) -> Void
  ) -> Bool {
    var last: (row: Int32, entry: TrailIndex.Entry)? = nil  // an entry's records come together
    for p in placeholders {
      if last?.row != p.row {
        guard let e = entry(p.row) else { return false }
        last = (p.row, e)
      }
      guard let e = last?.entry, p.record < e.records.count else { return false }
      var r = e.records[p.record]
      r.seq = p.seq
      body(CheckpointIndex.Kept(record: r, below: p.below))
    }
    return true
  }

  /// A row's entry, read again from its line in its segment (`fill` over the files).
  final class LineReader {
    let table: Table
    let root: String
    let names: [String]
    /// The segment open now and its descriptor: one at a time, whatever the number of
    /// checkpoints (a trail of a thousand must not run out of descriptors).
    var open: (segment: Int32, fd: Int32)? = nil
    var keys = [String: PublicIdentity]()
    /// Entries read back, for the next index (a chain of checkpoints keeps many of the same
    /// records in every index); at most `cacheLimit`, then started afresh.
    var cache = [Int32: TrailIndex.Entry]()
    let cacheLimit = 4096

    init(table: Table, root: String, names: [String]) {
      self.table = table
      self.root = root
      self.names = names
    }
    deinit { if let open, open.fd >= 0 { close(open.fd) } }

    func entry(_ row: Int32) -> TrailIndex.Entry? {
      if let known = cache[row] { return known }
      guard let e = read(row) else { return nil }
      if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
      cache[row] = e
      return e
    }

    func read(_ row: Int32) -> TrailIndex.Entry? {
      let h = table.holder[Int(row)]
      let path = "\(root)/\(Trail.checkpointsFolder)/\(names[Int(h)])"
      if open?.segment != h {
        if let open, open.fd >= 0 { close(open.fd) }
        open = (h, (try? FileSystem.openRegular(path, flags: O_RDONLY)) ?? -1)
      }
      let fd = open!.fd
      let count = Int(table.length[Int(row)])
      var bytes = [UInt8](repeating: 0, count: count)
      guard fd >= 0,
        bytes.withUnsafeMutableBytes({ pread(fd, $0.baseAddress!, count, off_t(table.offset[Int(row)])) })
          == count,
        case .success(let e) = TrailIndex.parse(
          .init(bytes: bytes[...], file: path, line: nil, expectedID: nil), verify: false, keys: &keys)
      else { return nil }
      return e
    }
  }
}
