import Foundation
import Testing

@testable import KeywardCore

/// The trail's graph logic as properties: on random histories (branches, merges, dangling heads),
/// the order puts parents first, and each environment's maximal records are exactly what a
/// brute-force ancestor search says.
@Suite("the trail index: order and maximal records")
struct TrailIndexTests {
  /// A random history: each entry follows 0–2 earlier entries (0 only rarely: a second root),
  /// and records 0–2 of three environments.
  func history(seed: UInt64, count: Int) -> [TrailIndex.Entry] {
    var rng = SeededRng(state: seed)
    var out = [TrailIndex.Entry]()
    for i in 0..<count {
      var parents = Set<String>()
      if i > 0 {
        let n = rng.next(10) == 0 ? 0 : 1 + rng.next(2)
        for _ in 0..<n { parents.insert(out[rng.next(i)].id) }
      }
      var records = [TrailEntry]()
      for _ in 0..<rng.next(3) {
        var r = TrailEntry()
        r.environment = ["dev", "staging", "prod"][rng.next(3)]
        r.action = "rotate"
        r.envAfter = "d\(i)-\(records.count)"
        records.append(r)
      }
      out.append(
        TrailIndex.Entry(
          id: String(format: i), parents: parents.sorted(), time: "2026-01-01T00:00:\(i % 60)Z", actor: "t",
          signer: nil, command: "rotate", records: records, file: "", line: nil))
    }
    return out
  }

  @Test("parents come first; the maximal records match a brute-force search", arguments: 0..<60)
  func maxima(seed: Int) {
    let list = history(seed: UInt64(seed) &+ 17, count: 5 + seed % 40)
    // The order must not depend on the order the files were listed in.
    let shuffled = list.shuffledDeterministically(seed: seed)
    var byID = [String: Int]()
    for (i, e) in shuffled.enumerated() { byID[e.id] = i }
    var index = TrailIndex()
    index.entries = TrailIndex.order(shuffled, byID: byID)
    var position = [String: Int]()
    for (i, e) in index.entries.enumerated() {
      for p in e.parents { #expect(position[p] != nil, "seed \(seed): \(e.id) before its parent \(p)") }
      position[e.id] = i
    }
    #expect(index.entries.count == list.count)
    // Brute force: ancestors of every entry.
    var ancestors = [String: Set<String>]()
    for e in index.entries {
      var a = Set<String>()
      for p in e.parents { a.insert(p); a.formUnion(ancestors[p] ?? []) }
      ancestors[e.id] = a
    }
    let got = index.maximalRecords()
    for env in ["dev", "staging", "prod"] {
      let touching = index.entries.filter { e in e.records.contains { $0.environment == env } }
      let maximal = touching.filter { t in
        !touching.contains { ($0.id != t.id) && ancestors[$0.id]!.contains(t.id) }
      }
      let expected = Set(maximal.map { e in e.records.last { $0.environment == env }!.envAfter! })
      let actual = Set((got[env] ?? []).compactMap(\.envAfter))
      #expect(actual == expected, "seed \(seed), \(env)")
    }
  }
}

@Suite("the public base64 decoder")
struct Base64DecoderTests {
  @Test(
    "the table decoder equals libsodium's on round trips and on random and mutated text", arguments: 0..<20)
  func agrees(seed: Int) {
    var rng = SeededRng(state: UInt64(seed) &+ 99)
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n".utf8)
    for _ in 0..<300 {
      let bytes = (0..<rng.next(40)).map { _ in UInt8(rng.next(256)) }
      let text = Sodium.base64(bytes)
      #expect(Sodium.unbase64(text) == bytes)
      // One character changed, or random text: both decoders agree, value or refusal.
      var mutated = Array(text.utf8)
      if !mutated.isEmpty { mutated[rng.next(mutated.count)] = alphabet[rng.next(alphabet.count)] }
      let m = String(decoding: mutated, as: UTF8.self)
      #expect(Sodium.unbase64(m) == Sodium.unbase64Reference(m), "\(m)")
      let random = String(
        decoding: (0..<rng.next(12)).map { _ in alphabet[rng.next(alphabet.count)] }, as: UTF8.self)
      #expect(Sodium.unbase64(random) == Sodium.unbase64Reference(random), "\(random)")
    }
  }
}

extension String {
  init(format i: Int) {
    let hex = String(i, radix: 16)
    self = String(repeating: "0", count: 64 - hex.count) + hex
  }
}

extension Array {
  func shuffledDeterministically(seed: Int) -> [Element] {
    var rng = SeededRng(state: UInt64(seed) &* 31 &+ 7)
    var a = self
    for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.next(i + 1)) }
    return a
  }
}

@Suite("the trail envelope scan")
struct EnvelopeScanTests {
  @Test("the byte scan equals the strict parser on written envelopes, and never disagrees on mutated ones")
  func agrees() throws {
    var rng = SeededRng(state: 4242)
    let id = try Identity.generate(name: "alice")
    for n in 0..<200 {
      var doc = SignedDocument(
        payloadType: Trail.entryType, payload: (0..<rng.next(300)).map { _ in UInt8(rng.next(256)) })
      if n % 3 != 0 { doc.sign(with: id) }
      var line = doc.json.compact()
      // Another writer's spacing (`json.dump`'s ", " and ": ", a newline at the end) reads the same.
      if n % 4 == 1 {
        line =
          Array(
            String(decoding: line, as: UTF8.self).replacingOccurrences(of: "\",\"", with: "\", \"")
              .replacingOccurrences(of: "\":", with: "\": ").utf8) + [0x0a]
      }
      // A partial match read no further (the review's `"signatures":[]{…}]}` was taken for one
      // signature): not JSON, so neither reader takes it.
      let text = String(decoding: line, as: UTF8.self)
      if text.contains(#""signatures":[{"#) {
        let broken = Array(
          text.replacingOccurrences(of: #""signatures":[{"#, with: #""signatures":[]{"#).utf8)
        #expect(Envelope.scan(broken, type: Trail.entryType) == nil)
        #expect((try? SignedDocument.parse(broken, source: "t", type: Trail.entryType)) == nil)
      }
      let fast = try #require(Envelope.scan(line, type: Trail.entryType))
      #expect(
        fast
          == (try JSONFiles.read(line, source: "t") { (o: JSONObject) throws(KeywardError) in
            try SignedDocument.strict(o, source: "t", type: Trail.entryType)
          }))
      #expect(fast == (try SignedDocument.parse(line, source: "t", type: Trail.entryType)))
      for _ in 0..<10 {
        var m = line
        let at = rng.next(m.count)
        switch rng.next(3) {
        case 0: m[at] = UInt8(rng.next(128))
        case 1: m.remove(at: at)
        default: m.insert(UInt8(rng.next(128)), at: at)
        }
        guard let scanned = Envelope.scan(m, type: Trail.entryType) else { continue }
        // Whatever the scan accepts, the strict parser reads the same way.
        #expect(
          scanned
            == (try? JSONFiles.read(m, source: "t") { (o: JSONObject) throws(KeywardError) in
              try SignedDocument.strict(o, source: "t", type: Trail.entryType)
            }))
      }
    }
  }
}

@Suite("the trail payload scan")
struct PayloadScanTests {
  /// Payloads as keyward writes them, with awkward but legal values, then mutated.
  @Test(
    "the one-pass scan equals the strict reading on written payloads; on mutated ones it agrees or defers")
  func agrees() {
    var rng = SeededRng(state: 777)
    let words = ["prod", "staging", "x", "", "a b", "é", "tab\t", "q\"uote", "back\\slash", "0", "007"]
    for n in 0..<300 {
      var records = [JSONValue]()
      for _ in 0..<rng.next(4) {
        var r: [String: JSONValue] = [
          "action": .string(["verify", "export", "rotate"][rng.next(3)]),
          "environment": .string(["dev", "prod"][rng.next(2)]),
        ]
        if rng.next(2) == 0 {
          r["set"] = .string("abcd\(rng.next(100))")
          r["fingerprints"] = .object([
            "app_key": .string("0123456789abcdef"), "app_secret": .string("fedcba9876543210"),
          ])
        }
        if rng.next(2) == 0 { r["env_after"] = .string("d\(rng.next(9))") }
        if rng.next(3) == 0 { r["verdict"] = .string(words[rng.next(words.count)]) }
        if rng.next(4) == 0 { r["version"] = .number(Double(rng.next(1000))) }
        records.append(.object(r))
      }
      var m: [String: JSONValue] = [
        "type": .string("keyward-trail-entry"), "v": .number(2), "time": .string("2026-01-01T00:00:00Z"),
        "actor": .string(words[rng.next(words.count)]), "command": .string("verify"),
        "parents": .array((0..<rng.next(3)).map { .string(String(format: $0 + n)) }),
        "records": .array(records),
      ]
      if rng.next(2) == 0 { m["signer"] = .string("ed25519:AAAA") }
      if rng.next(5) == 0 { m["v1"] = .object(["entries": .number(8), "head": .string(String(format: 1))]) }
      let payload = JSONValue.object(m).compact()
      let full = PayloadScan.full(payload)
      if let fast = PayloadScan.scan(payload) {
        #expect(fast == full, "\(String(decoding: payload, as: UTF8.self))")
      }
      for _ in 0..<8 {
        let b = rng.mutated(payload)
        guard let fast = PayloadScan.scan(b) else { continue }
        #expect(fast == PayloadScan.full(b), "\(String(decoding: b, as: UTF8.self))")
      }
    }
    // keyward's own payloads take the scan.
    let written = JSONValue.object([
      "type": .string("keyward-trail-entry"), "v": .number(2), "time": .string("2026-01-01T00:00:00Z"),
      "actor": .string("alice"), "command": .string("set"), "parents": .array([]),
      "records": .array([.object(["action": .string("set"), "environment": .string("prod")])]),
    ]).compact()
    #expect(PayloadScan.scan(written) != nil)
  }
}

@Suite("the checkpoint index file")
struct CheckpointIndexFileTests {
  func line(_ k: CheckpointIndex.Kept) -> String {
    var x = CheckpointIndex()
    x.heads = ["h0", "h1", "h2"]
    x.kept = [k]
    return String(decoding: x.encode(), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
  }

  @Test("a kept line: the one-pass scan equals the strict reading, on written lines and mutated ones")
  func keptScan() {
    var rng = SeededRng(state: 4242)
    let words = ["prod", "x", "", "a b", "é", "tab\t", "q\"uote", "back\\slash", "0", "007"]
    for _ in 0..<400 {
      var m: [String: JSONValue] = [
        "action": .string(["verify", "retire", "export"][rng.next(3)]), "environment": .string("prod"),
      ]
      if rng.next(2) == 0 {
        m["set"] = .string("abcd\(rng.next(100))")
        m["fingerprints"] = .object(["app_key": .string("0123"), "app_secret": .string("4567")])
      }
      if rng.next(2) == 0 { m["target"] = .string(words[rng.next(words.count)]) }
      if rng.next(3) == 0 { m["version"] = .number(Double(rng.next(1000))) }
      if rng.next(4) == 0 { m["flag"] = .bool(true) }
      var r = TrailEntry(m)
      r.seq = 1 + rng.next(1000)
      r.entry = String(repeating: "ab", count: 32)
      r.time = "2026-01-01T00:00:00Z"
      r.actor = words[rng.next(words.count)]
      r.signed = rng.next(2) == 0
      r.command = words[rng.next(words.count)]
      let below: [Int]? = rng.next(2) == 0 ? nil : (0..<rng.next(3)).map { $0 }
      let text = Array(line(CheckpointIndex.Kept(record: r, below: below)).utf8)
      let strict = CheckpointIndex.strictKept(text[...], heads: 3)
      #expect(strict != nil, "\(String(decoding: text, as: UTF8.self))")
      if let fast = CheckpointIndex.scanKept(text[...], heads: 3) {
        #expect(line(fast) == line(strict!), "\(String(decoding: text, as: UTF8.self))")
      }
      for _ in 0..<6 {
        let b = rng.mutated(text)
        guard let fast = CheckpointIndex.scanKept(b[...], heads: 3) else { continue }
        let s = CheckpointIndex.strictKept(b[...], heads: 3)
        #expect(s != nil && line(fast) == line(s!), "\(String(decoding: b, as: UTF8.self))")
      }
    }
  }

  @Test(
    "a write's filtered read of the kept lines, and its read through this machine's table of them, equal the full read filtered by environment, escapes and duplicates included",
    arguments: 0..<6)
  func keptFilter(seed: Int) throws {
    var rng = SeededRng(state: UInt64(seed) &+ 77)
    let names = ["prod", "staging", "dev", "prod-eu", "pro", "prodx"]
    var lines = [[UInt8]]()
    for _ in 0..<300 {
      var m: [String: JSONValue] = [
        "action": .string(["verify", "retire", "set", "trust-init"][rng.next(4)])
      ]
      if rng.next(6) > 0 { m["environment"] = .string(rng.pick(names)) }
      if rng.next(3) == 0 {
        m["target"] = .string(["x", "environment", "\"environment\":\"prod\"", "prod"][rng.next(4)])
      }
      var r = TrailEntry(m)
      r.seq = 1 + rng.next(1000)
      r.entry = String(repeating: "ab", count: 32)
      r.time = "2026-01-01T00:00:00Z"
      r.actor = rng.pick(["alice", "prod", "staging"])
      r.signed = true
      r.command = "set"
      var text = line(CheckpointIndex.Kept(record: r, below: rng.next(2) == 0 ? nil : [0]))
      // The same record spelled with an escape, which only the parser sees through; or valid JSON
      // in another spelling with a decoy member (the review's attacks): whitespace around the
      // record's colon and another object's "environment", nested in the record, at the top
      // level, or in a duplicate "record".
      switch rng.next(8) {
      case 0: text = text.replacingOccurrences(of: #""prod""#, with: #""pr\u006fd""#)
      case 1:
        text = text.replacingOccurrences(
          of: #""environment":"prod""#, with: #""environment": "prod","zz":{"environment":"dev"}"#)
      case 2:
        text = text.replacingOccurrences(of: #""environment":"prod""#, with: "\"environment\":\t\"prod\"")
        text = String(text.dropLast()) + #","zz":{"environment":"dev"}}"#
      case 3:
        text = text.replacingOccurrences(
          of: #""record":{"#, with: #""record":{"environment":"dev"},"record" : {"#)
      default: break
      }
      var bytes = Array(text.utf8)
      if seed % 2 == 1 && rng.next(3) == 0 { bytes = rng.mutated(bytes) }
      lines.append(bytes + [0x0a])
    }
    // Line by line (a line the full read refuses makes the whole index unreadable to it), and
    // whole: what the filter keeps is what the full read keeps and `admits`.
    var compared = 0
    var skipped = 0
    var tables = 0
    for pick in [["prod"], ["staging", "dev"], ["prod-eu"], ["nowhere"]] {
      let filter = try #require(CheckpointIndex.KeptFilter(Set(pick)))
      for l in lines {
        guard let all = CheckpointIndex.keptLines(l[...], heads: 3) else { continue }
        compared += 1
        let expected = all.filter { filter.admits($0.record) }.map(line)
        #expect(
          CheckpointIndex.keptLines(l[...], heads: 3, filter: filter)?.map(line) == expected,
          "\(pick) \(String(decoding: l, as: UTF8.self))")
        if l.withUnsafeBufferPointer({ filter.skips(UnsafeBufferPointer(rebasing: $0.dropLast())) }) {
          skipped += 1
        }
      }
      // Whole: the lines the full read takes (one it refuses makes the whole index unreadable).
      let section = lines.filter { CheckpointIndex.keptLines($0[...], heads: 3) != nil }.flatMap { $0 }
      if let all = CheckpointIndex.keptLines(section[...], heads: 3) {
        #expect(
          CheckpointIndex.keptLines(section[...], heads: 3, filter: filter)?.map(line)
            == all.filter { filter.admits($0.record) }.map(line))
      }
      // A write's table of the same lines (in a file, after a newline): written and read back for
      // the filter's environments, it names the lines the filter reads, and reading only those
      // gives what reading every line gives.
      let file = [UInt8(0x0a)] + section
      let table = CheckpointIndex.KeptTable.build(file[1...], at: 1)
      let back = try #require(
        CheckpointIndex.KeptTable.parse(
          table.encode(verified: "x 1:2 ab"), verified: "x 1:2 ab", environments: filter.environments))
      #expect(back.global == table.global)
      #expect(back.byEnvironment == table.byEnvironment.filter { filter.environments.contains($0.key) })
      #expect(
        CheckpointIndex.KeptTable.parse(
          table.encode(verified: "x 1:2 ab"), verified: "x 1:3 ab", environments: filter.environments) == nil)
      // (A table is made only of a file every line of which was read: as the full read.)
      if let all = CheckpointIndex.keptLines(section[...], heads: 3) {
        let read = back.read(filter: filter, heads: 3) { Array(file[$0]) }
        #expect(read?.map(line) == all.filter { filter.admits($0.record) }.map(line), "\(pick)")
        tables += 1
      }
      // A table that does not describe the file (a line moved by one byte) is refused, not used.
      if var moved = back.byEnvironment.first {
        moved.value[0] = (moved.value[0].lowerBound + 1)..<moved.value[0].upperBound
        var wrong = back
        wrong.byEnvironment[moved.key] = moved.value
        #expect(wrong.read(filter: filter, heads: 3) { Array(file[$0]) } == nil)
      }
    }
    #expect(compared > 800 && skipped > 200, "\(compared) lines compared, \(skipped) passed over")
    #expect(tables == 4, "\(tables) tables read")
    #expect(CheckpointIndex.KeptFilter(Set((0..<9).map { "e\($0)" })) == nil)
  }

  @Test("ids: the search over the base64 line finds exactly the ids the decoded table holds, at every length")
  func idSearch() throws {
    var rng = SeededRng(state: 99)
    for n in [0, 1, 2, 3, 4, 5, 31, 100, 1000] {
      let hex = Array("0123456789abcdef")
      var ids = (0..<n).map { _ in String((0..<64).map { _ in rng.pick(hex) }) }
      ids = Array(Set(ids)).sorted()
      var x = CheckpointIndex()
      x.ids = ids.flatMap { CheckpointIndex.idBytes($0)! }
      x.entries = ids.count
      let read = try #require(CheckpointIndex.parse(x.encode()))
      // And from a file, the ids left on disk (with and without the digest check).
      let path = NSTemporaryDirectory() + "/kw-index-\(n)-\(UUID().uuidString)"
      try Data(x.encode()).write(to: URL(fileURLWithPath: path))
      defer { try? FileManager.default.removeItem(atPath: path) }
      let fromFile = try #require(
        CheckpointIndex.read(path: path, digest: CheckpointIndex.digest(x.encode())) ?? nil)
      #expect(CheckpointIndex.read(path: path, digest: String(repeating: "0", count: 64)) == nil)
      for (k, id) in ids.enumerated() {
        #expect(read.position(of: id) == k)
        #expect(x.position(of: id) == k)
        #expect(fromFile.position(of: id) == k)
      }
      var asked = [String]()
      for _ in 0..<50 {
        let other = String((0..<64).map { _ in rng.pick(hex) })
        asked.append(other)
        #expect(read.position(of: other) == (ids.firstIndex(of: other)))
        #expect(fromFile.position(of: other) == (ids.firstIndex(of: other)))
      }
      // Many at once, from the file through its window: the same answers.
      asked += ids.reversed()
      #expect(fromFile.containsEach(asked) == asked.map { ids.contains($0) })
      #expect(fromFile.containsEach(asked, mapping: false) == asked.map { ids.contains($0) })
      #expect(read.ids == x.ids)
      #expect(fromFile.ids == x.ids)
      #expect(fromFile.encode() == x.encode())
    }
  }
}

@Suite("the checkpoint index's ids asked together")
struct ContainsEachTests {
  @Test(
    "many ids asked at once, mapped or through the file's window: exactly the ids it holds, over an ids line of several MiB"
  )
  func window() throws {
    var rng = SeededRng(state: 5150)
    let hex = Array("0123456789abcdef")
    let ids = Array(Set((0..<120_000).map { _ in String((0..<64).map { _ in rng.pick(hex) }) })).sorted()
    var x = CheckpointIndex()
    x.ids = ids.flatMap { CheckpointIndex.idBytes($0)! }
    x.entries = ids.count
    let path = NSTemporaryDirectory() + "/kw-index-window-\(UUID().uuidString)"
    try Data(x.encode()).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let fromFile = try #require(
      CheckpointIndex.read(path: path, digest: CheckpointIndex.digest(x.encode())) ?? nil)
    var asked = (0..<3000).map { _ in rng.pick(ids) }
    for k in asked.indices where k % 2 == 0 {  // a neighbour that is not there
      var c = Array(asked[k])
      c[63] = c[63] == "0" ? "1" : "0"
      asked[k] = String(c)
    }
    asked += [ids.first!, ids.last!, String(repeating: "0", count: 64), String(repeating: "f", count: 64)]
    let held = Set(ids)
    // From the file mapped into memory, and through 1 MiB windows where it cannot be.
    #expect(fromFile.containsEach(asked) == asked.map { held.contains($0) })
    #expect(fromFile.containsEach(asked, mapping: false) == asked.map { held.contains($0) })
  }
}

@Suite("the checkpoint index's id search")
struct IDSearchTests {
  @Test(
    "the interpolated search finds exactly what the binary search finds, within twice its probes: even ids, clustered ids, ids that share their leading bytes, absent keys",
    arguments: 0..<18)
  func agrees(seed: Int) {
    var rng = SeededRng(state: UInt64(seed) &+ 7)
    // Even (hashes, as ids are) for seeds 0, 3, 6, …; clustered into a narrow band of the key space
    // for 1, 4, 7, …, so the first probes land far from the key; for 2, 5, 8, … most share their
    // leading 8 bytes, which is all the interpolation sees, and a few lie on either side.
    let count = [0, 1, 2, 3, 17, 1000, 4096, 30_000][rng.next(8)]
    let ids = (0..<count).map { _ -> [UInt8] in
      var id = (0..<32).map { _ in UInt8(rng.next(256)) }
      if seed % 3 == 1 { id[0] = 0x7f; id[1] = UInt8(rng.next(3)) }
      if seed % 3 == 2 && rng.next(10) > 0 { for i in 0..<8 { id[i] = 0x40 } }
      return id
    }.sorted { $0.lexicographicallyPrecedes($1) }
    let flat = ids.flatMap { $0 }
    var keys = [[UInt8]]()
    for _ in 0..<400 {
      var k = (0..<32).map { _ in UInt8(rng.next(256)) }
      if !ids.isEmpty && rng.next(3) > 0 {
        k = rng.pick(ids)  // present, or (one bit changed) a neighbour that is not
        if rng.next(2) == 0 { k[31] ^= 1 }
      }
      keys.append(k)
    }
    keys += [[UInt8](repeating: 0, count: 32), [UInt8](repeating: 0xff, count: 32)]
    let bound = 2 * (Int.bitWidth - count.leadingZeroBitCount) + 1
    flat.withUnsafeBufferPointer { p in
      for key in keys {
        let plain = CheckpointIndex.search(count: count, key) { CheckpointIndex.compare(p, $0 * 32, key) }
        var probes = 0
        let uniform = CheckpointIndex.searchUniform(count: count, key) { k in
          probes += 1
          return (CheckpointIndex.compare(p, k * 32, key), CheckpointIndex.prefix(p.baseAddress! + k * 32))
        }
        #expect(plain == uniform, "seed \(seed), \(count) ids")
        #expect(plain == nil || ids[plain!] == key)
        #expect(plain != nil || !ids.contains(key))
        #expect(probes <= bound, "seed \(seed), \(count) ids: \(probes) probes")
      }
    }
  }

  @Test("over 300,000 even ids, the interpolated search takes a few probes, not a binary search's 19")
  func fewProbes() {
    var rng = SeededRng(state: 17)
    let count = 300_000
    let flat = (0..<count).map { _ in (0..<32).map { _ in UInt8(rng.next(256)) } }
      .sorted { $0.lexicographicallyPrecedes($1) }.flatMap { $0 }
    var probes = 0
    flat.withUnsafeBufferPointer { p in
      for n in 0..<1000 {
        let key = Array(p[(n * 293 * 32)..<(n * 293 * 32 + 32)])
        let found = CheckpointIndex.searchUniform(count: count, key) { k in
          probes += 1
          return (CheckpointIndex.compare(p, k * 32, key), CheckpointIndex.prefix(p.baseAddress! + k * 32))
        }
        #expect(found == n * 293)
      }
    }
    #expect(probes <= 6 * 1000, "\(probes) probes for 1,000 keys")
  }
}
