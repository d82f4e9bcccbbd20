#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The summary a checkpoint carries of everything below it (FORMAT.md, "Checkpoint index"): the
/// ids of the entries it and the checkpoints it covers hold, their heads and counts, and the few
/// records any reader still needs from them — so `audit`, `check`, `list` and every write read a
/// small file instead of the whole history. Its digest is in the checkpoint's signed header, and
/// `audit --full` rebuilds it from the entries and compares it byte for byte: an index is a
/// summary the admin attests and `--full` proves, never a cache that is trusted on its own.
public struct CheckpointIndex: Sendable {
  public static let type = "keyward-trail-index"

  /// A record kept from the covered entries. `seq` counts version-2 records only (1-based).
  public struct Kept: Sendable {
    public var record: TrailEntry
    /// For a record of an environment that no later covered record of it follows: the positions
    /// in `heads` of the heads at or above its entry.
    public var below: [Int]?

    init(record: TrailEntry, below: [Int]?) {
      self.record = record
      self.below = below
    }

    /// A kept line's record with the members of its entry it carries (both readers of a line).
    init(
      _ record: TrailEntry, seq: Int, entry: String, time: String, actor: String, signed: Bool,
      command: String,
      below: [Int]?
    ) {
      var r = record
      r.seq = seq
      r.entry = entry
      r.time = time
      r.actor = actor
      r.signed = signed
      r.command = command
      self.init(record: r, below: below)
    }
  }

  /// The earlier checkpoints whose entries this index includes (by id, sorted).
  public var covers: [String] = []
  public var entries = 0
  public var records = 0
  public var heads: [String] = []
  /// Every covered entry's id, 32 bytes each, ascending. An index read from its file keeps them
  /// as the file's base64 line and `position` decodes 32 bytes at a time: a write that asks about
  /// a few ids does not decode 300,000 of them.
  public var ids: [UInt8] {
    get {
      decodedIDs ?? decodedLine() ?? []
    }
    set {
      decodedIDs = newValue
      idsBase64 = []
      idsFile = nil
    }
  }
  /// Decodes the ids into memory when their line is the base64 of `entries` ids; otherwise they
  /// stay on the line (each lookup decodes its own window, as before): an admin's malformed line
  /// must not turn every id into an unknown one.
  mutating func decodeIDsIfValid() {
    guard decodedIDs == nil, let bytes = decodedLine(), bytes.count == 32 * entries else { return }
    ids = bytes
  }

  /// The ids' base64 line (from the file, or in memory) decoded; nil when it is not base64.
  private func decodedLine() -> [UInt8]? {
    let text = idsFile.flatMap { $0.read(at: $0.offset, count: $0.length) } ?? Array(idsBase64)
    return text.withUnsafeBufferPointer { Sodium.unbase64(bytes: $0) }
  }

  var decodedIDs: [UInt8]? = []
  var idsBase64: ArraySlice<UInt8> = []
  var idsFile: IDFile? = nil
  public var signers: [String: Int] = [:]
  public var unsigned = 0
  /// The version-1 anchors the covered entries carry.
  public var v1: [V1Anchor] = []
  public var kept: [Kept] = []
  /// When set, `kept` holds only what the filter admits: such an index answers questions about
  /// those environments alone, and no checkpoint's index is built from it.
  var keptFilter: KeptFilter? = nil

  public struct V1Anchor: Sendable, Equatable {
    public var entries: Int
    public var head: String
  }

  public static func digest(_ bytes: [UInt8]) -> String {
    Sodium.hex(Sodium.blake2b(length: 32, [Array("keyward trail index v1".utf8), bytes]))
  }

  // MARK: - Ids

  public func contains(_ id: String) -> Bool { position(of: id) != nil }

  static func compare(_ p: UnsafeBufferPointer<UInt8>, _ at: Int, _ key: [UInt8]) -> Int {
    guard at >= 0, at + 32 <= p.count, key.count >= 32, let base = p.baseAddress else {
      for k in 0..<32 where p[at + k] != key[k] { return p[at + k] < key[k] ? -1 : 1 }
      return 0
    }
    let c = key.withUnsafeBytes { memcmp(base + at, $0.baseAddress!, 32) }
    return c < 0 ? -1 : c > 0 ? 1 : 0
  }

  /// The 8 bytes at `p` as a big-endian number (an id's leading bytes, which order it).
  static func prefix(_ p: UnsafePointer<UInt8>) -> UInt64 {
    UInt64(bigEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
  }

  /// Each byte's value as a hex digit (either case), or 0xff.
  static let hexDigits: [UInt8] = (0...255).map { ScanEngine.hexValue(UInt8($0)) ?? 0xff }

  static func idBytes(_ id: String) -> [UInt8]? {
    var id = id
    return id.withUTF8 { u -> [UInt8]? in
      guard u.count == 64 else { return nil }
      var bad: UInt8 = 0
      let out = hexDigits.withUnsafeBufferPointer { digit in
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
          for i in 0..<32 {
            let (a, b) = (digit[Int(u[2 * i])], digit[Int(u[2 * i + 1])])
            bad |= a | b
            out[i] = a << 4 | b
          }
          count = 32
        }
      }
      return bad & 0xf0 == 0 ? out : nil
    }
  }

  // MARK: - The file

  /// Line 1 the header, line 2 the ids (base64), then one line per kept record; compact JSON with
  /// sorted keys, so two writers of the same history write the same bytes.
  public func encode() -> [UInt8] {
    var out = [UInt8]()
    encode { out += $0 }
    return out
  }

  /// The digest of `encode()`'s bytes, hashed piece by piece (the ids of 300,000 entries are
  /// never one 13 MB string).
  func encodedDigest() -> String {
    CheckpointIndex.digest(
      header: self, ids: encodeIDs,
      kept: { each in
        for k in kept { each(k) }
        return true
      })!
  }

  /// The digest of an index's encoding from its header, its ids line (handed over in pieces,
  /// with its newline) and its kept records in order (handed over one at a time; nil when they
  /// cannot all be given): what `audit --full` compares with the signed digest without holding
  /// the rebuilt index's ids or records.
  static func digest(
    header x: CheckpointIndex, ids: (([UInt8]) -> Void) -> Void, kept: ((Kept) -> Void) -> Bool
  ) -> String? {
    let h = Blake2b(key: nil, length: 32)
    h.update(Array("keyward trail index v1".utf8))
    x.encodeHeader { h.update($0) }
    ids { h.update($0) }
    guard kept({ h.update(encode($0)) }) else { return nil }
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { h.finish(into: $0) }
    return Sodium.hex(out)
  }

  /// The file's bytes in pieces, in order.
  func encode(to sink: ([UInt8]) -> Void) {
    encodeHeader(to: sink)
    encodeIDs(to: sink)
    for k in kept { sink(CheckpointIndex.encode(k)) }
  }

  /// Line 1: the header.
  func encodeHeader(to sink: ([UInt8]) -> Void) {
    var header: [String: JSONValue] = [
      "type": .string(CheckpointIndex.type), "v": .number(1),
      "covers": .array(covers.map(JSONValue.string)), "entries": .number(Double(entries)),
      "records": .number(Double(records)), "heads": .array(heads.map(JSONValue.string)),
      "signers": .object(signers.mapValues { .number(Double($0)) }), "unsigned": .number(Double(unsigned)),
    ]
    header["v1"] = .array(
      v1.map { .object(["entries": .number(Double($0.entries)), "head": .string($0.head)]) })
    sink(JSONValue.object(header).compact() + [0x0a])
  }

  /// Line 2: the ids in base64.
  func encodeIDs(to sink: ([UInt8]) -> Void) {
    if let decodedIDs {
      CheckpointIndex.base64Pieces(decodedIDs.count / 32, to: sink) { k in
        decodedIDs[(32 * k)..<(32 * k + 32)]
      }
      return
    } else if let idsFile, let text = idsFile.read(at: idsFile.offset, count: idsFile.length) {
      sink(text)
    } else {
      sink(Array(idsBase64))
    }
    sink([0x0a])
  }

  /// The base64 line of `count` ids given one at a time, and its newline, in pieces of 48 KiB of
  /// ids (base64 of whole 3-byte groups joins up).
  static func base64Pieces(_ count: Int, to sink: ([UInt8]) -> Void, id: (Int) -> ArraySlice<UInt8>) {
    let step = 3 << 14  // 1,536 ids
    var piece = [UInt8]()
    piece.reserveCapacity(step)
    for k in 0..<count {
      piece += id(k)
      if piece.count >= step {
        sink(Array(Sodium.base64(piece).utf8))
        piece.removeAll(keepingCapacity: true)
      }
    }
    if !piece.isEmpty { sink(Array(Sodium.base64(piece).utf8)) }
    sink([0x0a])
  }

  /// A kept record's line.
  static func encode(_ k: Kept) -> [UInt8] {
    let r = k.record
    var m: [String: JSONValue] = [
      "record": r.members, "seq": .number(Double(r.seq)), "entry": .string(r.entry ?? ""),
      "time": .string(r.time ?? ""), "actor": .string(r.actor ?? ""), "signed": .bool(r.signed),
      "command": .string(r.command ?? ""),
    ]
    if let below = k.below { m["below"] = .array(below.map { .number(Double($0)) }) }
    return JSONValue.object(m).compact() + [0x0a]
  }

  /// Reads an index strictly; nil when anything in it is not as `encode` writes it.
  public static func parse(_ bytes: [UInt8]) -> CheckpointIndex? {
    guard bytes.last == 0x0a, let headerEnd = bytes.firstIndex(of: 0x0a), var x = header(bytes[..<headerEnd])
    else { return nil }
    let idsEnd = headerEnd + 1 + x.idsLength
    guard idsEnd < bytes.count, bytes[idsEnd] == 0x0a,
      let kept = keptLines(bytes[(idsEnd + 1)...], heads: x.heads.count)
    else { return nil }
    x.decodedIDs = nil
    x.idsBase64 = bytes[(headerEnd + 1)..<idsEnd]
    x.kept = kept
    return x
  }

  /// The length of the ids' base64 line.
  var idsLength: Int { (32 * entries + 2) / 3 * 4 }

  /// Reads the index file at `path` without holding its ids: the header and the kept lines are
  /// read, the ids line is skipped and stays on disk, where `position` reads 48 bytes a probe.
  /// With `digest`, the whole file is hashed first (in 1 MiB pieces) and must match.
  /// `remembered`: an index this machine hashed before is not hashed again while its file is the
  /// same file, unchanged, and its checkpoint still names that digest (`VerifiedSegments`, as for
  /// segments; `check`, `log` and writes pass it, `audit` never does).
  static func read(
    path: String, digest: String?, remembered: VerifiedSegments? = nil, filter: KeptFilter? = nil
  ) -> CheckpointIndex?? {
    guard let fd = try? FileSystem.openRegular(path, flags: O_RDONLY) else { return .some(nil) }
    let file = IDFile(path: path, fd: fd)
    var st = stat()
    guard fstat(fd, &st) == 0 else { return .some(nil) }
    let size = Int(st.st_size)
    let name = Path.name(path)
    let identity = VerifiedSegments.identity(st)
    // Git's racily-clean rule, as for segments: a file changed in the last two seconds is neither
    // trusted from the record nor recorded.
    let settled = st.st_ctim.tv_sec < time(nil) - 2
    if let digest, let remembered, settled,
      remembered.digest(name: name, identity: identity)?.digest == digest
    {
      // Hashed before, the same file since.
    } else if let digest {
      let h = Blake2b(key: nil, length: 32)
      h.update(Array("keyward trail index v1".utf8))
      var at = 0
      while at < size {
        guard let piece = file.read(at: at, count: min(1 << 20, size - at)), !piece.isEmpty else {
          return .some(nil)
        }
        h.update(piece)
        at += piece.count
      }
      var out = [UInt8](repeating: 0, count: 32)
      out.withUnsafeMutableBytes { h.finish(into: $0) }
      guard Sodium.hex(out) == digest else { return nil }  // edited: the caller reports it
      if let remembered, settled {
        remembered.record(name: name, identity: identity, digest: digest, entries: 0)
      }
    }
    // The header: at most 16 MiB (its heads and signers), read until its newline.
    var first = [UInt8]()
    while first.count < size && first.count < 16 << 20 {
      guard let piece = file.read(at: first.count, count: min(1 << 16, size - first.count)) else { break }
      if let nl = piece.firstIndex(of: 0x0a) {
        first += piece[..<nl]
        break
      }
      first += piece
    }
    guard first.count < size, var x = header(first[...]) else { return .some(nil) }
    let idsStart = first.count + 1
    let keptStart = idsStart + x.idsLength + 1
    guard keptStart <= size, file.read(at: keptStart - 1, count: 1) == [0x0a] else { return .some(nil) }
    // A write asks about a few environments: where this machine holds the table of this file's
    // kept lines (the same file, unchanged, with the signed digest), it reads only theirs.
    let tablePath = remembered.map { KeptTable.path(beside: $0.path) }
    let verified = digest.map { "\(name) \(identity) \($0)" }
    var kept: [Kept]?
    if let filter, settled, let tablePath, let verified,
      size == keptStart || file.read(at: size - 1, count: 1) == [0x0a],
      let table = KeptTable.load(tablePath, verified: verified, environments: filter.environments)
    {
      kept = table.read(filter: filter, heads: x.heads.count) {
        file.read(at: $0.lowerBound, count: $0.count)
      }
      Trace.note(
        kept == nil
          ? "\(path): this machine's table of its kept lines does not describe it; every line is read"
          : "\(path): \(kept!.count) kept line(s) read through this machine's table")
    }
    if kept == nil {
      guard let rest = file.read(at: keptStart, count: size - keptStart), rest.count == size - keptStart,
        rest.isEmpty || rest.last == 0x0a,
        let all = keptLines(rest[...], heads: x.heads.count, filter: filter)
      else { return .some(nil) }
      kept = all
      if filter != nil, settled, let tablePath, let verified {
        KeptTable.build(rest[...], at: keptStart).save(tablePath, verified: verified)
      }
    }
    x.kept = kept ?? []
    x.keptFilter = filter
    x.decodedIDs = nil
    file.offset = idsStart
    file.length = x.idsLength
    file.release()  // reopened on the first probe: a trail with many checkpoints holds no descriptors
    x.idsFile = file
    return .some(x)
  }

  /// An index file whose ids line is read on demand: open while the index is read, then closed,
  /// and opened again (once) by the first probe of a reader that asks about ids.
  final class IDFile: @unchecked Sendable {
    let path: String
    var fd: Int32
    var offset = 0
    var length = 0
    init(path: String, fd: Int32) {
      self.path = path
      self.fd = fd
    }
    deinit { release() }

    func release() {
      if fd >= 0 { close(fd) }
      fd = -1
    }

    func read(at: Int, count: Int) -> [UInt8]? {
      guard count > 0 else { return [] }
      // Not zeroed first: the kept records of 300,000 entries are 6 MB.
      let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        initialized = read(at: at, into: buffer)
      }
      return out.isEmpty ? nil : out
    }

    /// The file from its start through the ids line, mapped read-only (nil when it cannot be, or
    /// is shorter than that now); the caller unmaps it. A file keyward or git replaces gets a new
    /// inode, so the mapping keeps the bytes it was read for.
    func mapped() -> (base: UnsafeMutableRawPointer, size: Int)? {
      if fd < 0 { fd = (try? FileSystem.openRegular(path, flags: O_RDONLY)) ?? -1 }
      var st = stat()
      let size = offset + length
      guard fd >= 0, size > 0, fstat(fd, &st) == 0, Int(st.st_size) >= size,
        let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
        base != UnsafeMutableRawPointer(bitPattern: -1)
      else { return nil }
      return (base, size)
    }

    /// Reads up to `buffer.count` bytes from `at` into `buffer`; the bytes read.
    func read(at: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
      if fd < 0 { fd = (try? FileSystem.openRegular(path, flags: O_RDONLY)) ?? -1 }
      guard fd >= 0, let base = buffer.baseAddress else { return 0 }
      var done = 0
      while done < buffer.count {
        let n = pread(fd, base + done, buffer.count - done, off_t(at + done))
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        done += n
      }
      return done
    }
  }

  /// The first line: counts, heads, signers, anchors.
  static func header(_ line: ArraySlice<UInt8>) -> CheckpointIndex? {
    guard let hv = try? JSONValue.parse(Array(line), source: "index"),
      case .object(let h) = hv, h["type"] == .string(type), h["v"] == .number(1)
    else { return nil }
    func int(_ v: JSONValue?) -> Int? { if case .number(let n)? = v { Int(exactly: n) } else { nil } }
    func strings(_ v: JSONValue?) -> [String]? {
      guard case .array(let a)? = v else { return nil }
      var out = [String]()
      for x in a {
        guard case .string(let s) = x else { return nil }
        out.append(s)
      }
      return out
    }
    var x = CheckpointIndex()
    guard let covers = strings(h["covers"]), let entries = int(h["entries"]), entries >= 0,
      entries < 1 << 40, let records = int(h["records"]), let heads = strings(h["heads"]),
      case .object(let signers)? = h["signers"], let unsigned = int(h["unsigned"]),
      case .array(let v1)? = h["v1"]
    else { return nil }
    x.covers = covers
    x.entries = entries
    x.records = records
    x.heads = heads
    x.unsigned = unsigned
    for (k, v) in signers {
      guard let n = int(v) else { return nil }
      x.signers[k] = n
    }
    for a in v1 {
      guard case .object(let m) = a, let n = int(m["entries"]), case .string(let head)? = m["head"] else {
        return nil
      }
      x.v1.append(V1Anchor(entries: n, head: head))
    }
    return x
  }

  /// The kept records a reader that asks about a few environments needs (a write: the ones it
  /// changes): theirs, and those of no environment or of the trust root's creation (read by every
  /// reader). A line is passed over unparsed only when its bytes alone settle that it is not
  /// needed; any other line is parsed and its record asked. A property test holds the filtered
  /// read to the full read filtered by `admits`.
  struct KeptFilter: Sendable, Equatable {
    let environments: Set<String>
    /// Nil for more environments than a filter pays for (each skipped line is searched for each).
    init?(_ environments: Set<String>) {
      guard !environments.isEmpty, environments.count <= 8 else { return nil }
      self.environments = environments
    }

    func admits(_ r: TrailEntry) -> Bool {
      guard let env = r.environment else { return true }
      return environments.contains(env) || r.action == "trust-init"
    }

    /// Whether `line` holds a record `admits` refuses, decided from its bytes only where they
    /// settle it for any valid JSON spelling. With no backslash every quote delimits a string, so
    /// a key spelled `"record"` or `"environment"` is those bytes; when each occurs once, the
    /// first as `"record":{` and the second as `"environment":"` inside that object with no
    /// bracket between them, the second is the record's own member and the bytes up to the next
    /// quote its value. Anything else (whitespace around a colon, a second or nested member,
    /// an escape, the trust root's creation) is left to the parser.
    func skips(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
      KeptFilter.environment(of: line).map { !environments.contains($0) } ?? false
    }

    /// The environment `line`'s record is for, when its bytes alone settle it (`skips`); nil when
    /// the line must be parsed to tell (and for the trust root's creation, which every reader needs).
    static func environment(of line: UnsafeBufferPointer<UInt8>) -> String? {
      guard let base = line.baseAddress, memchr(base, 0x5c, line.count) == nil else { return nil }
      // One pass over the quotes: where `"record"` and `"environment"` start, and how often.
      var record = (at: -1, count: 0)
      var env = (at: -1, count: 0)
      var from = 0
      while from < line.count, let q = memchr(base + from, 0x22, line.count - from) {
        let i = base.distance(to: q.assumingMemoryBound(to: UInt8.self))
        from = i + 1
        guard from < line.count else { break }
        switch line[from] {
        case 0x72 where Self.starts(Self.record, line, i): record = (i, record.count + 1)
        case 0x65 where Self.starts(Self.environment, line, i): env = (i, env.count + 1)
        case 0x74 where Self.starts(Self.trustInit, line, i): return nil
        default: break
        }
      }
      let open = record.at + Self.record.count + 2  // just past `"record":{`
      let value = env.at + Self.environment.count + 2  // just past `"environment":"`
      guard record.count == 1, env.count == 1, open <= env.at, value <= line.count,
        line[open - 2] == 0x3a, line[open - 1] == 0x7b, line[value - 2] == 0x3a, line[value - 1] == 0x22,
        !line[open..<env.at].contains(where: { $0 == 0x7b || $0 == 0x7d || $0 == 0x5b || $0 == 0x5d }),
        let close = memchr(base + value, 0x22, line.count - value)
      else { return nil }
      let end = base.distance(to: close.assumingMemoryBound(to: UInt8.self))
      return String(decoding: line[value..<end], as: UTF8.self)
    }

    static let record = Array(#""record""#.utf8)
    static let environment = Array(#""environment""#.utf8)
    static let trustInit = Array(#""trust-init""#.utf8)

    /// Whether `needle` is in `line` at `at`.
    static func starts(_ needle: [UInt8], _ line: UnsafeBufferPointer<UInt8>, _ at: Int) -> Bool {
      at + needle.count <= line.count && memcmp(line.baseAddress! + at, needle, needle.count) == 0
    }

  }

  /// Where each kept line of an index file is (its bytes, without the newline), by the
  /// environment its bytes alone name (`KeptFilter.environment(of:)`; `global` for a line they do
  /// not settle), so that a write reads its environments' lines instead of all of them (18,000
  /// lines, 6 MB at 300,000 entries). Built by a write that read every line, kept on this machine
  /// beside `VerifiedSegments`' record and used on the same terms: only for the same file,
  /// unchanged (device, inode, size, change time, settled two seconds) and hashed to the digest
  /// its checkpoint signs. Each line read through it must still be a whole line naming what the
  /// table says, or the whole file is read; `check` and `audit` never use it.
  struct KeptTable: Equatable {
    var global: [Range<Int>] = []
    var byEnvironment: [String: [Range<Int>]] = [:]

    static func path(beside segments: String) -> String {
      (segments.hasSuffix(".segments") ? String(segments.dropLast(9)) : segments) + ".kept"
    }

    /// The environment a line is listed under: the one its bytes settle, when it is a name keyward
    /// gives environments (the table's lines are split at spaces); nil for a global line.
    static func environment(of line: UnsafeBufferPointer<UInt8>) -> String? {
      KeptFilter.environment(of: line).flatMap { Names.isEnvironment($0) ? $0 : nil }
    }

    /// The table of the kept lines in `bytes`, which start at offset `at` of the file.
    static func build(_ bytes: ArraySlice<UInt8>, at: Int) -> KeptTable {
      var t = KeptTable()
      bytes.withUnsafeBufferPointer { p in
        guard let base = p.baseAddress else { return }
        var i = 0
        while i < p.count, let nl = memchr(base + i, 0x0a, p.count - i) {
          let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
          let range = (at + i)..<(at + end)
          if let env = environment(of: UnsafeBufferPointer(rebasing: p[i..<end])) {
            t.byEnvironment[env, default: []].append(range)
          } else {
            t.global.append(range)
          }
          i = end + 1
        }
      }
      return t
    }

    /// The lines a filter needs, in file order, parsed and admitted as `keptLines` does; nil when
    /// a line is not where and what the table says (the caller then reads every line).
    func read(filter: KeptFilter, heads: Int, line: (Range<Int>) -> [UInt8]?) -> [Kept]? {
      var wanted = global.map { ($0, nil as String?) }
      for env in filter.environments { wanted += (byEnvironment[env] ?? []).map { ($0, env) } }
      wanted.sort { $0.0.lowerBound < $1.0.lowerBound }
      var out = [Kept]()
      for (range, env) in wanted {
        // The newline before it and after it, and the environment its bytes name.
        guard range.lowerBound > 0, let bytes = line((range.lowerBound - 1)..<(range.upperBound + 1)),
          bytes.count == range.count + 2, bytes.first == 0x0a, bytes.last == 0x0a
        else { return nil }
        let text = bytes[1..<(bytes.count - 1)]
        guard !text.contains(0x0a), text.withUnsafeBufferPointer(KeptTable.environment(of:)) == env else {
          return nil
        }
        guard let k = scanKept(text, heads: heads) ?? strictKept(text, heads: heads) else { return nil }
        if filter.admits(k.record) { out.append(k) }
      }
      return out
    }

    /// Line 1 names the file it describes (`verified`: its name, identity and signed digest);
    /// then one line per environment, `ENV START-END …`, and the global lines under `-`.
    func encode(verified: String) -> [UInt8] {
      func ranges(_ list: [Range<Int>]) -> String {
        list.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: " ")
      }
      var text = "keyward-kept v1 \(verified)\n- \(ranges(global))\n"
      for (env, list) in byEnvironment.sorted(by: { $0.key < $1.key }) { text += "\(env) \(ranges(list))\n" }
      return Array(text.utf8)
    }

    func save(_ path: String, verified: String) {
      guard (try? FileSystem.makeDirectory(Path.directory(path), mode: 0o700)) != nil else { return }
      FileSystem.removeStaleTemporaries(in: Path.directory(path))  // of saves killed before their rename
      try? FileSystem.writeAtomically(
        path, bytes: encode(verified: verified), mode: 0o600, forceMode: true, crashLabel: "verified-")
    }

    /// The table at `path` when it describes the file `verified` names, with the global lines and
    /// those of `environments` only (each found by its line's start, not by reading every line).
    static func load(_ path: String, verified: String, environments: Set<String>) -> KeptTable? {
      guard let bytes = try? FileSystem.read(path) else { return nil }
      return parse(bytes, verified: verified, environments: environments)
    }

    static func parse(_ bytes: [UInt8], verified: String, environments: Set<String>) -> KeptTable? {
      let head = Array("keyward-kept v1 \(verified)\n".utf8)
      guard bytes.count >= head.count, Array(bytes[..<head.count]) == head else { return nil }
      func ranges(after key: String) -> [Range<Int>]? {
        let needle = Array("\n\(key) ".utf8)
        return bytes.withUnsafeBufferPointer { p -> [Range<Int>]? in
          guard let base = p.baseAddress else { return nil }
          // The line that starts with the key: each line's start compared, no line parsed.
          var at = head.count - 1  // the newline ending line 1
          var found: Int?
          while at < p.count {
            if at + needle.count <= p.count, memcmp(base + at, needle, needle.count) == 0 {
              found = at + needle.count
              break
            }
            guard let nl = memchr(base + at + 1, 0x0a, p.count - at - 1) else { break }
            at = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
          }
          guard let from = found else { return [] }  // not in the table: no lines
          guard let nl = memchr(base + from, 0x0a, p.count - from) else { return nil }
          let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
          var out = [Range<Int>]()
          for field in p[from..<end].split(separator: 0x20) {
            let parts = field.split(separator: 0x2d)
            guard parts.count == 2, let a = Int(String(decoding: parts[0], as: UTF8.self)),
              let b = Int(String(decoding: parts[1], as: UTF8.self)), a < b
            else { return nil }
            out.append(a..<b)
          }
          return out
        }
      }
      var t = KeptTable()
      guard let g = ranges(after: "-") else { return nil }
      t.global = g
      for env in environments {
        guard let list = ranges(after: env) else { return nil }
        if !list.isEmpty { t.byEnvironment[env] = list }
      }
      return t
    }
  }

  /// The kept lines (each ending in a newline); with a filter, only those it admits.
  static func keptLines(_ bytes: ArraySlice<UInt8>, heads: Int, filter: KeptFilter? = nil) -> [Kept]? {
    var out = [Kept]()
    // Exactly one per line: grown by doubling, 18,000 of them held room for 32,768 (3 MB more).
    if filter == nil {
      out.reserveCapacity(
        bytes.withUnsafeBufferPointer { p -> Int in
          guard var at = p.baseAddress else { return 0 }
          var n = 0
          let end = at + p.count
          while at < end, let nl = memchr(at, 0x0a, end - at) {
            n += 1
            at = UnsafePointer(nl.assumingMemoryBound(to: UInt8.self)) + 1
          }
          return n
        })
    }
    var start = bytes.startIndex
    while start < bytes.endIndex {
      guard let nl = bytes[start...].firstIndex(of: 0x0a) else { return nil }
      defer { start = nl + 1 }
      if let filter, bytes[start..<nl].withUnsafeBufferPointer(filter.skips) { continue }
      guard let k = scanKept(bytes[start..<nl], heads: heads) ?? strictKept(bytes[start..<nl], heads: heads)
      else { return nil }
      if let filter, !filter.admits(k.record) { continue }
      out.append(k)
    }
    return out
  }

  /// A kept line read by the strict JSON parser.
  static func strictKept(_ line: ArraySlice<UInt8>, heads: Int) -> Kept? {
    func int(_ v: JSONValue?) -> Int? { if case .number(let n)? = v { Int(exactly: n) } else { nil } }
    guard let v = try? JSONValue.parse(Array(line), source: "index"), case .object(let m) = v,
      case .object(let rm)? = m["record"], let seq = int(m["seq"]), case .string(let entry)? = m["entry"],
      case .string(let time)? = m["time"], case .string(let actor)? = m["actor"],
      case .bool(let signed)? = m["signed"], case .string(let command)? = m["command"]
    else { return nil }
    var below: [Int]? = nil
    if let b = m["below"] {
      guard case .array(let a) = b else { return nil }
      below = []
      for p in a {
        guard let n = int(p), n >= 0, n < heads else { return nil }
        below!.append(n)
      }
    }
    return Kept(
      TrailEntry(rm), seq: seq, entry: entry, time: time, actor: actor, signed: signed, command: command,
      below: below)
  }

  /// A kept line as `encode` writes it, read in one pass with no JSON tree (18,000 of them are
  /// read by every write at 300,000 entries); nil for anything else, which the strict parser reads.
  static func scanKept(_ line: ArraySlice<UInt8>, heads: Int) -> Kept? {
    line.withUnsafeBufferPointer { p -> Kept? in
      var r = PayloadScan.Reader(p: p)
      var record: TrailEntry? = nil
      var below: [Int]? = nil
      var seq: Int? = nil
      var signed: Bool? = nil
      var entry: String? = nil
      var time: String? = nil
      var actor: String? = nil
      var command: String? = nil
      guard
        r.object({ (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
          switch String(decoding: key, as: UTF8.self) {
          case "actor": actor = r.string()
          case "command": command = r.string()
          case "entry": entry = r.string()
          case "time": time = r.string()
          case "seq": seq = r.integer()
          case "record": record = r.record()
          case "signed":
            if r.literal("true") { signed = true } else if r.literal("false") { signed = false }
          case "below":
            below = []
            return r.array { (r: inout PayloadScan.Reader) -> Bool in
              guard let n = r.integer(), n < heads else { return false }
              below!.append(n)
              return true
            }
          default: return false
          }
          return true
        }), r.i == p.count, let record, let seq, let signed, let entry, let time, let actor, let command,
        record.seq == 0, record.time == nil, record.actor == nil
      else { return nil }
      return Kept(
        record, seq: seq, entry: entry, time: time, actor: actor, signed: signed, command: command,
        below: below)
    }
  }

  // MARK: - Building

  /// Whether any reader needs `r` once its entry is compacted: a retirement, a reconciled change,
  /// the trust root's creation, a rekey (its key ids), or anything a later rule may ask about.
  static func special(_ r: TrailEntry) -> Bool {
    ["retire", "interrupted", "external-change", "resolve", "trust-init"].contains(r.action ?? "")
      || r.extra["new_key_id"] != nil
  }

  /// What "the first sighting of" compares: environment, set and both fingerprints.
  static func sightingKey(_ r: TrailEntry) -> String {
    [r.environment ?? "", r.set ?? "", r.appKeyFP ?? "", r.appSecretFP ?? ""].joined(separator: "\u{0}")
  }

  /// What "the last of" compares: environment, set, action and target.
  static func lastKey(_ r: TrailEntry) -> String {
    [r.environment ?? "", r.set ?? "", r.action ?? "", r.target ?? ""].joined(separator: "\u{0}")
  }

  /// The index of everything `trail` holds (its base index, if any, and its entries): what the
  /// checkpoint that compacts `trail`'s entries carries. `covers`: the checkpoints already holding
  /// the rest. Every reader keeps, of the compacted records: each special one; the last of each
  /// (environment, set, action, target); the first sighting of each (environment, set,
  /// fingerprints); and each environment's maximal records (with the heads above them).
  public static func build(_ trail: TrailIndex, covers: [String]) -> CheckpointIndex {
    precondition(trail.base?.keptFilter == nil, "an index is built from a trail read in full")
    var x = CheckpointIndex()
    let base = trail.base
    x.covers = covers.sorted()
    x.heads = trail.heads
    // Ids: the base's (sorted) merged with the entries' (sorted as hex, which sorts as bytes).
    let fresh = trail.entries.map(\.id).sorted().compactMap(idBytes)
    var ids = [UInt8]()
    ids.reserveCapacity((base?.ids.count ?? 0) + 32 * fresh.count)
    var i = 0
    var j = 0
    let old = base?.ids ?? []  // decoded once: a checkpoint is being written
    let oldCount = old.count / 32
    old.withUnsafeBufferPointer { p in
      while i < oldCount || j < fresh.count {
        if j == fresh.count || (i < oldCount && compare(p, i * 32, fresh[j]) < 0) {
          ids += p[(i * 32)..<(i * 32 + 32)]
          i += 1
        } else {
          if i < oldCount && compare(p, i * 32, fresh[j]) == 0 { i += 1 }  // the same entry once
          ids += fresh[j]
          j += 1
        }
      }
    }
    x.ids = ids
    x.entries = ids.count / 32
    x.signers = base?.signers ?? [:]
    x.unsigned = base?.unsigned ?? 0
    x.v1 = base?.v1 ?? []
    for e in trail.entries {
      if let s = e.signer { x.signers[s.text, default: 0] += 1 } else { x.unsigned += 1 }
      if let a = e.v1 { x.v1.append(V1Anchor(entries: a.entries, head: a.head)) }
    }
    // Candidates, oldest first: the base's kept records, then every entry's records.
    let maximal = trail.maximal()
    var maximalBase = Set<Int>()
    var maximalEntry = Set<Int>()  // entry << 24 | record position
    for (_, list) in maximal {
      for m in list {
        switch m.place {
        case .base(let k): maximalBase.insert(k)
        case .entry(let e, let r): maximalEntry.insert(e << 24 | r)
        }
      }
    }
    // The heads at or above each node (entries, then the base's heads), as bit sets.
    let n = trail.entries.count
    let baseHeads = base?.heads ?? []
    let words = max(1, (x.heads.count + 63) / 64)
    var headPosition = [String: Int]()
    for (p, h) in x.heads.enumerated() { headPosition[h] = p }
    var above = [UInt64](repeating: 0, count: (n + baseHeads.count) * words)
    func set(_ node: Int, _ bit: Int) { above[node * words + bit / 64] |= 1 << UInt64(bit % 64) }
    for (k, h) in baseHeads.enumerated() { if let p = headPosition[h] { set(n + k, p) } }
    for k in stride(from: n - 1, through: 0, by: -1) {
      if let p = headPosition[trail.entries[k].id] { set(k, p) }
      for parent in trail.links[k] {
        for w in 0..<words { above[parent * words + w] |= above[k * words + w] }
      }
    }
    func bits(_ nodes: [Int]) -> [Int] {
      var out = [Int]()
      for p in 0..<x.heads.count
      where nodes.contains(where: { above[$0 * words + p / 64] >> UInt64(p % 64) & 1 == 1 }) {
        out.append(p)
      }
      return out
    }
    var candidates = [(record: TrailEntry, below: [Int]?)]()
    for (k, kept) in (base?.kept ?? []).enumerated() {
      candidates.append(
        (kept.record, maximalBase.contains(k) ? bits((kept.below ?? []).map { n + $0 }) : nil))
    }
    var seq = base?.records ?? 0
    for (k, e) in trail.entries.enumerated() {
      for (p, var r) in e.records.enumerated() {
        seq += 1
        r.seq = seq
        r.command = e.command
        candidates.append((r, maximalEntry.contains(k << 24 | p) ? bits([k]) : nil))
      }
    }
    x.records = seq
    var keep = [Bool](repeating: false, count: candidates.count)
    var sighted = Set<String>()
    for (k, c) in candidates.enumerated() {
      let r = c.record
      if c.below != nil || special(r) { keep[k] = true }
      if r.appKeyFP != nil || r.appSecretFP != nil, sighted.insert(sightingKey(r)).inserted { keep[k] = true }
    }
    var last = Set<String>()
    for k in stride(from: candidates.count - 1, through: 0, by: -1) {
      if last.insert(lastKey(candidates[k].record)).inserted { keep[k] = true }
    }
    for (k, c) in candidates.enumerated() where keep[k] {
      x.kept.append(Kept(record: c.record, below: c.below))
    }
    return x
  }
}
