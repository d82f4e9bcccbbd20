import Foundation
import TestFolders
import Testing

@testable import KeywardCore

/// `audit --full`'s streamed proof (TrailProof) against the index builder the checkpoint writer
/// uses: on random histories (branches, merges, second roots, entries held by two checkpoints,
/// signers, version-1 anchors, every kind of record the index keeps), the rows rebuilt into an
/// index give exactly the bytes `CheckpointIndex.build` gives from the entries themselves.
@Suite("the streamed proof of a checkpoint index")
struct TrailProofTests {
  func history(seed: UInt64, count: Int) -> [TrailIndex.Entry] {
    var rng = SeededRng(state: seed)
    let keys = (0..<3).map { k in try! PublicIdentity(key: [UInt8](repeating: UInt8(k + 1), count: 32)) }
    var out = [TrailIndex.Entry]()
    for i in 0..<count {
      var parents = [String]()
      if i > 0 {
        let n = rng.next(12) == 0 ? 0 : 1 + rng.next(2)
        for _ in 0..<n {
          let p = out[rng.next(i)].id
          if !parents.contains(p) { parents.append(p) }
        }
      }
      var records = [TrailEntry]()
      for _ in 0..<rng.next(4) {
        var r = TrailEntry()
        r.environment = rng.pick(["dev", "staging", "prod", "qa"])
        r.action = rng.pick([
          "rotate", "verify", "export", "promote", "retire", "interrupted", "resolve", "set",
        ])
        if rng.next(3) > 0 { r.set = rng.pick(["s1", "s2", "s3"]) }
        if rng.next(3) == 0 { r.target = rng.pick(["a.env", "b.env"]) }
        if rng.next(2) == 0 { r.envAfter = "d\(i)-\(records.count)" }
        if rng.next(3) == 0 {
          r.appKeyFP = rng.pick(["k1", "k2"])
          if rng.next(2) == 0 { r.appSecretFP = rng.pick(["v1", "v2"]) }
        }
        if rng.next(8) == 0 { r.extra["new_key_id"] = .string("kid\(i)") }
        r.time = "t"
        r.command = "c\(i % 3)"
        records.append(r)
      }
      var e = TrailIndex.Entry(
        id: String(format: (i &* 7919) % 100_003 + 1), parents: parents,
        // Few distinct times: ties are broken by rank, then id.
        time: "2026-01-01T00:00:\(String(format: "%02d", rng.next(6)))Z", actor: "a\(i % 2)",
        signer: rng.next(4) == 0 ? nil : rng.pick(keys), command: "c\(i % 3)", records: records, file: "",
        line: nil)
      if parents.isEmpty && rng.next(2) == 0 { e.v1 = (rng.next(50), String(format: i + 500)) }
      out.append(e)
    }
    return out
  }

  @Test("the rows rebuilt into an index give the builder's bytes", arguments: 0..<80)
  func agrees(seed: Int) {
    var rng = SeededRng(state: UInt64(seed) &* 131 &+ 5)
    let list = history(seed: UInt64(seed) &+ 3, count: 1 + seed % 45)
    // Each entry held by one or two of four checkpoints (generations 1–3); the index covers some.
    let generation = [1, 2, 2, 3]
    let held = list.map { _ -> [Int] in
      let a = rng.next(4)
      let b = rng.next(4)
      return rng.next(3) == 0 && a != b ? [a, b] : [a]
    }
    let covered = Set((0..<4).filter { _ in rng.next(3) > 0 })
    let covers = covered.map { "cp\($0)" }
    // The builder's way: the entries in memory, restricted to the covered checkpoints.
    var byID = [String: Int]()
    for (i, e) in list.enumerated() { byID[e.id] = i }
    var index = TrailIndex()
    index.entries = list
    index.links = list.map { e in e.parents.compactMap { byID[$0] } }
    let keep = held.map { $0.contains(where: covered.contains) }
    let rank = held.map { h in h.filter(covered.contains).map { generation[$0] }.min() ?? Int.max }
    let expected = CheckpointIndex.build(index.restricted(to: keep, rank: rank), covers: covers).encode()
    // The proof's way: rows in a shuffled order, a second copy for an entry held twice.
    var table = TrailProof.Table()
    var rowEntry = [Int]()
    for i in Array(list.indices).shuffledDeterministically(seed: seed) {
      for h in held[i].shuffledDeterministically(seed: seed + i) {
        table.add(list[i], holder: h, offset: 0, length: 0, line: 0)
        rowEntry.append(i)
      }
    }
    let missing = table.finish { _ in false }
    #expect(missing.isEmpty, "seed \(seed)")
    var rowKeep = [Bool](repeating: false, count: table.count)
    var rowRank = [Int](repeating: Int.max, count: table.count)
    for row in table.unique {
      for h in table.holders(row) where covered.contains(Int(h)) {
        rowKeep[Int(row)] = true
        rowRank[Int(row)] = min(rowRank[Int(row)], generation[Int(h)])
      }
    }
    var (x, placeholders) = TrailProof.build(table, keep: rowKeep, rank: rowRank, covers: covers)
    let keptRows = table.unique.filter { rowKeep[Int($0)] }
    x.ids = keptRows.flatMap { table.idBytes($0) }
    var kept = [CheckpointIndex.Kept]()
    #expect(TrailProof.forEachKept(placeholders, entry: { list[rowEntry[Int($0)]] }) { kept.append($0) })
    x.kept = kept
    let got = x.encode()
    #expect(x.encodedDigest() == CheckpointIndex.digest(got), "seed \(seed): the digest piece by piece")
    // The proof's digest: the index as built (without its ids, which come from the table) and the
    // kept records handed over one at a time, never held.
    let (bare, _) = TrailProof.build(table, keep: rowKeep, rank: rowRank, covers: covers)
    let streamed = CheckpointIndex.digest(
      header: bare, ids: { table.writeIDs(of: keptRows, to: $0) },
      kept: { each in TrailProof.forEachKept(placeholders, entry: { list[rowEntry[Int($0)]] }, each) })
    #expect(streamed == CheckpointIndex.digest(expected), "seed \(seed): the proof's streamed digest")
    // A line that cannot be read again gives no digest, never a partial one.
    if !placeholders.isEmpty {
      #expect(!TrailProof.forEachKept(placeholders, entry: { _ in nil }) { _ in })
    }
    #expect(
      got == expected,
      "seed \(seed):\n\(String(decoding: got, as: UTF8.self))\n---\n\(String(decoding: expected, as: UTF8.self))"
    )
  }

  @Test("the ids line written in pieces is the base64 of all the ids, at lengths around a piece's")
  func idsInPieces() {
    var rng = SeededRng(state: 41)
    for n in [0, 1, 1535, 1536, 1537, 5000] {
      var x = CheckpointIndex()
      let ids = rng.bytes(32 * n)
      x.ids = ids
      x.entries = n
      let lines = x.encode().split(separator: 0x0a, omittingEmptySubsequences: false)
      #expect(Array(lines[1]) == Array(Sodium.base64(ids).utf8), "\(n) ids")
      #expect(x.encodedDigest() == CheckpointIndex.digest(x.encode()))
    }
  }

  @Test(
    "streaming a segment hands over exactly its lines after the header, with their places, whatever the piece size and however long the header",
    arguments: [1, 3, 64, 4096])
  func streamed(piece: Int) throws {
    var rng = SeededRng(state: UInt64(piece) &+ 11)
    let dir = try #require(TestFolders.make("proof"))
    for n in 0..<40 {
      // A header from empty to longer than the pieces (the review's 4 MiB header, in small), then
      // lines of every length, and sometimes no final newline.
      let header = [UInt8](repeating: 0x20, count: rng.next(3 * piece + 2))
      let lines = (0..<rng.next(12)).map { _ in
        (0..<rng.next(2 * piece + 3)).map { _ in UInt8(0x61 + rng.next(26)) }
      }
      var file = header + [0x0a]
      for l in lines { file += l + [0x0a] }
      let cut = rng.next(4) == 0 && !lines.isEmpty
      if cut { file.removeLast() }
      let path = "\(dir)/\(n).jsonl"
      try Data(file).write(to: URL(fileURLWithPath: path))
      var got = [(bytes: [UInt8], offset: Int, length: Int, line: Int)]()
      let result = TrailProof.stream(path: path, name: "\(n).jsonl", trust: nil, piece: piece) {
        items, places in
        for (k, item) in items.enumerated() {
          got.append((Array(item.bytes), places[k].offset, places[k].length, item.line ?? -1))
        }
      }
      #expect(result == .read(heads: nil))  // no trust root: never what an admin signed
      let expected = cut ? Array(lines.dropLast()) : lines
      #expect(got.map(\.bytes) == expected, "piece \(piece), case \(n)")
      var offset = header.count + 1
      for (k, g) in got.enumerated() {
        #expect(
          g.offset == offset && g.length == expected[k].count && g.line == k + 2, "piece \(piece), case \(n)")
        #expect(Array(file[g.offset..<(g.offset + g.length)]) == g.bytes)
        offset += g.length + 1
      }
    }
    #expect(
      TrailProof.stream(path: "\(dir)/none.jsonl", name: "none.jsonl", trust: nil) { _, _ in } == .unreadable)
  }

  @Test("a parent no row holds is named, unless the trail knows it elsewhere")
  func missingParent() {
    let list = history(seed: 9, count: 12)
    var table = TrailProof.Table()
    for e in list.dropFirst() { table.add(e, holder: 0, offset: 0, length: 0, line: 0) }
    let children = list.filter { $0.parents.contains(list[0].id) }.count
    let missing = table.finish { _ in false }
    #expect(missing.count == children && missing.allSatisfy { $0.parent == list[0].id })
    var again = TrailProof.Table()
    for e in list.dropFirst() { again.add(e, holder: 0, offset: 0, length: 0, line: 0) }
    #expect(again.finish { $0 == list[0].id }.isEmpty)
  }
}

/// The reference for the proof: what the entries `keep` selects would be alone, built in memory.
extension TrailIndex {
  /// The entries `keep` selects, as an index of their own, in the order they would have alone
  /// (`rank` as `order` takes it): what a checkpoint holding exactly them summarises.
  func restricted(to keep: [Bool], rank: [Int]) -> TrailIndex {
    let picked = entries.indices.filter { keep[$0] }
    var position = [Int](repeating: -1, count: entries.count)
    for (p, i) in picked.enumerated() { position[i] = p }
    let list = picked.map { entries[$0] }
    let subLinks = picked.map { i in
      links[i].compactMap { $0 < entries.count && position[$0] >= 0 ? position[$0] : nil }
    }
    let ordered = TrailIndex.order(list, links: subLinks, rank: picked.map { rank[$0] })
    var newPosition = [Int](repeating: 0, count: list.count)
    for (n, old) in ordered.enumerated() { newPosition[old] = n }
    var sub = TrailIndex()
    sub.entries = ordered.map { list[$0] }
    sub.links = ordered.map { old in subLinks[old].map { newPosition[$0] } }
    var hasChild = [Bool](repeating: false, count: list.count)
    for l in sub.links { for j in l { hasChild[j] = true } }
    sub.heads = sub.entries.indices.filter { !hasChild[$0] }.map { sub.entries[$0].id }.sorted()
    return sub
  }
}

extension CheckpointIndex {
  /// An index of nothing but these kept records (to compare two lists of them by their bytes).
  init(kept: [Kept]) {
    self.init()
    self.kept = kept
  }
}
