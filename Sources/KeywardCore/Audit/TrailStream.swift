import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The checkpointed entries a base index stands for, read back from their segments in pieces, for
/// a reader that shows every entry (`log`): memory stays at one batch of lines and a bit per
/// entry, whatever the trail's length.
extension TrailIndex {
  /// Calls `body` with each entry the base index covers, once, in order: the covered checkpoints
  /// by generation (an earlier checkpoint's entries first), each segment's lines as written
  /// (parents before children). Signatures are not re-checked: a valid checkpoint attests them
  /// (`load` checked each segment's digest; `audit --full` checks every signature). Returns nil,
  /// having called `body` for nothing, when there is no base index; else the number of segment
  /// lines it could not place: lines that are not entries, or entries the signed index does not
  /// list (only an admin's malformed checkpoint has any; `audit --full` names them).
  @discardableResult
  public func forEachCovered(_ body: (Entry) -> Void) -> Int? {
    forEachCovered(map: { $0 }, body)
  }

  /// `forEachCovered` with each entry first turned into what `body` needs by `map`, on every
  /// core (`log` makes its rows there); `body` is then called in order with what `map` gave
  /// (nothing for an entry it gave nil for), never twice at once: a batch's results are handed
  /// to `body` by one worker while the next batch is parsed by the others, so the order-keeping
  /// part overlaps the parsing instead of waiting for it.
  @discardableResult
  public func forEachCovered<T: Sendable>(map: @escaping @Sendable (Entry) -> T?, _ body: (T) -> Void) -> Int?
  {
    guard var decoded = base, let baseFile else { return nil }
    decoded.ids = decoded.ids  // decoded once here: every entry below is looked up
    let base = decoded
    let folder = String(baseFile[..<(baseFile.lastIndex(of: "/") ?? baseFile.endIndex)])
    let baseID = String(Path.name(baseFile).prefix(64))
    // The covered checkpoints by the generation their signed headers state.
    let order = (base.covers + [baseID]).map { (generations[$0] ?? 1, $0) }.sorted { $0 < $1 }
    let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    return withoutActuallyEscaping(body) { body in
      let handOver = HandOver<T>(entries: base.entries, body: body)
      for (_, id) in order {
        let path = "\(folder)/\(id).jsonl"
        var lineNumber = 0
        TrailIndex.lines(of: path) { batch in
          var lines = [Item]()
          for line in batch {
            lineNumber += 1
            if lineNumber == 1 { continue }  // the header is not an entry
            lines.append(Item(bytes: line, file: path, line: lineNumber, expectedID: nil))
          }
          let items = lines
          // Parsed, looked up and mapped on every core; each result moved out once, in order.
          var results = [(position: Int, value: T?)?](repeating: nil, count: items.count)
          let chunks = items.count < 256 ? 1 : 4 * cores
          results.withUnsafeMutableBufferPointer { buffer in
            let sink = WorkerSlots(buffer)
            DispatchQueue.concurrentPerform(iterations: chunks + 1) { k in
              if k == 0 { return handOver.handWaiting() }
              var keys = [String: PublicIdentity]()
              for i in (items.count * (k - 1) / chunks)..<(items.count * k / chunks) {
                guard case .success(var e) = TrailIndex.parse(items[i], verify: false, keys: &keys),
                  let p = base.position(of: e.id)
                else { continue }
                e.checkpointed = true
                sink.buffer[i] = (p, map(e))
              }
            }
          }
          handOver.waiting = results
        }
      }
      handOver.handWaiting()
      return handOver.unplaced
    }
  }

  /// The results of the batch parsed last, waiting to be handed to `body` in order (each entry
  /// once: a bit per position in the base index). One worker at a time touches it.
  private final class HandOver<T>: @unchecked Sendable {
    var waiting: [(position: Int, value: T?)?] = []
    var shown: [UInt64]
    var unplaced = 0
    let body: (T) -> Void

    init(entries: Int, body: @escaping (T) -> Void) {
      shown = [UInt64](repeating: 0, count: (entries + 63) / 64)
      self.body = body
    }

    func handWaiting() {
      var results = waiting
      waiting = []
      for k in results.indices {
        guard let (p, value) = results[k].take() else {
          unplaced += 1
          continue
        }
        if shown[p / 64] & (1 << UInt64(p % 64)) != 0 { continue }
        shown[p / 64] |= 1 << UInt64(p % 64)
        if let value { body(value) }
      }
    }
  }

  /// Reads a file's lines in batches (about 1 MiB of lines each), without the newlines.
  static func lines(of path: String, _ batch: ([ArraySlice<UInt8>]) -> Void) {
    guard let fd = try? FileSystem.openRegular(path, flags: O_RDONLY) else { return }
    defer { close(fd) }
    let size = 1 << 20
    var pending = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: size)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, size) }
      if n <= 0 { break }
      pending += chunk[0..<n]
      guard let last = pending.lastIndex(of: 0x0a) else { continue }
      var lines = [ArraySlice<UInt8>]()
      var start = 0
      pending.withUnsafeBytes { p in
        while start <= last, let nl = memchr(p.baseAddress! + start, 0x0a, last + 1 - start) {
          let end = p.baseAddress!.distance(to: UnsafeRawPointer(nl))
          lines.append(pending[start..<end])
          start = end + 1
        }
      }
      batch(lines)
      pending.removeFirst(last + 1)
    }
  }
}

extension CheckpointIndex {
  /// The position of `id` among the covered ids, or nil (a binary search; from the base64 line,
  /// each probe decodes the 48 characters that hold one id).
  func position(of id: String) -> Int? { position(of: id) { idsText(at: $0, count: $1) } }

  /// Whether each of `ids` is covered. Many lookups from the file are made in id order, from the
  /// file mapped into memory (only the pages the probes touch are read: a write's 1,000 entry
  /// files after a checkpoint of 300,000 entries touch about 2,000 of the ids line's 3,100), or,
  /// where it cannot be mapped, through a window of the ids line read 1 MiB at a time (all 12.8 MB
  /// of it). One at a time, each lookup costs a dozen reads of a few bytes (13,000 reads).
  /// (`mapping: false`: the windows even where the file can be mapped, for the tests.)
  func containsEach(_ ids: [String], mapping: Bool = true) -> [Bool] {
    guard let idsFile, decodedIDs == nil, ids.count >= 64 else { return ids.map(contains) }
    let order = ids.indices.sorted(by: { ids[$0] < ids[$1] })  // lower-case hex sorts as its bytes
    if mapping, let mapped = idsFile.mapped() {
      defer { munmap(mapped.base, mapped.size) }
      let line = UnsafeRawPointer(mapped.base).assumingMemoryBound(to: UInt8.self) + idsFile.offset
      func text(at: Int, count: Int) -> [UInt8]? {
        guard at >= 0, count >= 0, at + count <= idsFile.length else { return nil }
        return Array(UnsafeBufferPointer(start: line + at, count: count))
      }
      var out = [Bool](repeating: false, count: ids.count)
      for k in order {
        guard let key = CheckpointIndex.idBytes(ids[k]) else { continue }
        // Each probe decodes its id's base64 groups in place; a group with padding (the line's
        // last) goes the general way.
        out[k] =
          key.withUnsafeBufferPointer { bytes in
            CheckpointIndex.searchUniform(count: entries, key) { i in
              Self.compareID(line, length: idsFile.length, i, bytes.baseAddress!)
                ?? probe(i, key: key, text: text)
            }
          } != nil
      }
      return out
    }
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 20)
    defer { buffer.deallocate() }
    var window = 0..<0  // the part of the line `buffer` holds
    func text(at: Int, count: Int) -> [UInt8]? {
      if at < window.lowerBound || at + count > window.upperBound {
        // Probes gallop both ways from a guess: the window starts a little before this one.
        let start = max(0, at - (1 << 14))
        guard start < idsFile.length else { return nil }
        let n = idsFile.read(
          at: idsFile.offset + start,
          into: UnsafeMutableBufferPointer(rebasing: buffer[..<min(buffer.count, idsFile.length - start)]))
        window = start..<(start + n)
        guard at + count <= window.upperBound else { return nil }
      }
      return Array(buffer[(at - window.lowerBound)..<(at - window.lowerBound + count)])
    }
    var out = [Bool](repeating: false, count: ids.count)
    for k in order { out[k] = position(of: ids[k]) { text(at: $0, count: $1) } != nil }
    return out
  }

  /// `position(of:)` over the base64 line as `text` reads it.
  private func position(of id: String, text: (Int, Int) -> [UInt8]?) -> Int? {
    guard let key = CheckpointIndex.idBytes(id) else { return nil }
    if let decodedIDs {
      return decodedIDs.withUnsafeBufferPointer { p in
        CheckpointIndex.searchUniform(count: decodedIDs.count / 32, key) {
          (CheckpointIndex.compare(p, $0 * 32, key), CheckpointIndex.prefix(p.baseAddress! + $0 * 32))
        }
      }
    }
    return CheckpointIndex.searchUniform(count: entries, key) { k in probe(k, key: key, text: text) }
  }

  /// How id `k` of the base64 line as `text` reads it compares with `key` (memcmp's sign), and its
  /// leading 8 bytes.
  private func probe(_ k: Int, key: [UInt8], text: (Int, Int) -> [UInt8]?) -> (order: Int, prefix: UInt64) {
    // Id k is bytes 32k..<32k+32: the base64 groups `first...last` hold it.
    let byte = 32 * k
    let first = byte / 3
    let last = (byte + 31) / 3
    guard let text = text(first * 4, (last - first + 1) * 4),
      let window = text.withUnsafeBufferPointer({ Sodium.unbase64(bytes: $0) }),
      window.count >= byte - 3 * first + 32
    else { return (1, .max) }  // undecodable: treated as past every key (the digest would not hold)
    return window.withUnsafeBufferPointer {
      (
        CheckpointIndex.compare($0, byte - 3 * first, key),
        CheckpointIndex.prefix($0.baseAddress! + byte - 3 * first)
      )
    }
  }

  /// `probe` for a line in memory, decoding id `k`'s base64 groups on the stack; nil when one of
  /// them is not four characters of the standard alphabet (the padded last group: `probe` then).
  static func compareID(_ line: UnsafePointer<UInt8>, length: Int, _ k: Int, _ key: UnsafePointer<UInt8>)
    -> (order: Int, prefix: UInt64)?
  {
    let byte = 32 * k
    let first = byte / 3
    let last = (byte + 31) / 3
    guard (last + 1) * 4 <= length else { return nil }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) {
      out -> (order: Int, prefix: UInt64)? in
      let values = ScanEngine.base64Values
      var o = 0
      for g in first...last {
        let c = line + 4 * g
        // (`-` and `_`, URL-safe base64, are not in the line's alphabet.)
        guard c[0] != 0x2d, c[0] != 0x5f, c[1] != 0x2d, c[1] != 0x5f, c[2] != 0x2d, c[2] != 0x5f,
          c[3] != 0x2d, c[3] != 0x5f
        else { return nil }
        let (a, b, d, e) = (values[Int(c[0])], values[Int(c[1])], values[Int(c[2])], values[Int(c[3])])
        guard (a | b | d | e) & 0xc0 == 0 else { return nil }
        out[o] = a << 2 | b >> 4
        out[o + 1] = b << 4 | d >> 2
        out[o + 2] = d << 6 | e
        o += 3
      }
      let id = out.baseAddress! + (byte - 3 * first)
      let r = memcmp(id, key, 32)
      return (r < 0 ? -1 : r > 0 ? 1 : 0, CheckpointIndex.prefix(id))
    }
  }

  /// `count` characters of the ids' base64 line from `at`: from the file, or the line in memory.
  func idsText(at: Int, count: Int) -> [UInt8]? {
    if let idsFile { return idsFile.read(at: idsFile.offset + at, count: count) }
    guard at + count <= idsBase64.count else { return nil }
    let start = idsBase64.startIndex + at
    return Array(idsBase64[start..<(start + count)])
  }

  /// `search` for ids, which are hashes spread evenly over the key space: an interpolation search.
  /// Each probe is placed where the key's leading 8 bytes fall between those of the nearest ids
  /// probed below and above it (the bounds of the key space at first), so evenly spread ids are
  /// found in about four probes, where a binary search takes 18 over 300,000 (and a galloping one
  /// from the first guess about as many: each probe of a mapped index is a cache miss, and often a
  /// page). `probe(k)` orders id k against the key (memcmp's sign) and gives its leading 8 bytes
  /// (big-endian). Bounded: after as many interpolated probes as a binary search would need, the
  /// range left is bisected, so no order of ids (an admin's malformed index included) costs more
  /// than twice a binary search. On sorted ids it finds exactly what `search` finds (a property
  /// test holds them equal, and the probe count to its bound); a valid index's ids are sorted, and
  /// `audit --full` rebuilds the index and compares (an admin's malformed one may be searched
  /// differently, and `log` reports the entries neither places).
  static func searchUniform(count: Int, _ key: [UInt8], _ probe: (Int) -> (order: Int, prefix: UInt64))
    -> Int?
  {
    guard count > 0, key.count >= 8 else { return search(count: count, key) { probe($0).order } }
    var want: UInt64 = 0
    for i in 0..<8 { want = want << 8 | UInt64(key[i]) }
    var lo = 0  // the key can only be at lo..<hi
    var hi = count
    var low: UInt64 = 0  // the leading bytes of the id at lo - 1 (or the least there are)
    var high: UInt64 = .max  // of the id at hi (or the most there are)
    var budget = Int.bitWidth - count.leadingZeroBitCount  // a binary search's probes
    while lo < hi && budget > 0 {
      budget -= 1
      var at = lo + (hi - lo) / 2
      if high > low, want > low {
        let f = Double(want - low) / Double(high - low)
        at = want >= high ? hi - 1 : min(hi - 1, lo + Int(f * Double(hi - lo)))
      } else if want <= low {
        at = lo
      }
      let (order, prefix) = probe(at)
      if order == 0 { return at }
      if order < 0 {
        lo = at + 1
        low = prefix
      } else {
        hi = at
        high = prefix
      }
    }
    return search(count: hi - lo, key) { probe(lo + $0).order }.map { lo + $0 }
  }

  /// A binary search over `count` sorted items; `compare(k)` orders item k against the key.
  static func search(count: Int, _ key: [UInt8], _ compare: (Int) -> Int) -> Int? {
    var lo = 0
    var hi = count
    while lo < hi {
      let mid = (lo + hi) / 2
      let c = compare(mid)
      if c == 0 { return mid }
      if c < 0 { lo = mid + 1 } else { hi = mid }
    }
    return nil
  }
}
