#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A checkpoint (FORMAT.md, "Checkpoint"): an admin compacts the trail's entry files into one
/// signed segment that attests every entry in it, so later audits check one signature and a
/// digest instead of thousands, and the folder stays small.
public enum Checkpoint {
  static func digest(_ lines: [[UInt8]]) -> String {
    let h = Blake2b(key: nil, length: 32)
    h.update(Array("keyward checkpoint v2".utf8))
    for l in lines {
      h.update(l)
      h.update([0x0a])
    }
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { h.finish(into: $0) }
    return Sodium.hex(out)
  }

  struct Read {
    var lines: [ArraySlice<UInt8>]
    /// Signed by an admin of the signed state, digest and count as stated (the heads are checked
    /// against the parsed entries by `TrailIndex`).
    var valid: Bool
    var problems: [TrailIndex.Problem]
    var heads: [String] = []
  }

  /// Reads a segment and checks it against the signed state. A segment that does not hold is
  /// reported; its entries are then verified one by one like any other.
  static func read(path: String, name: String, trust: TrustedState?) throws(KeywardError) -> Read {
    verify(try FileSystem.read(path), name: name, path: path, trust: trust)
  }

  static func verify(_ bytes: [UInt8], name: String, path: String, trust: TrustedState?) -> Read {
    // Lines as slices of the one buffer (a segment of 30,000 entries is not copied line by line).
    guard bytes.last == 0x0a, let firstEnd = bytes.firstIndex(of: 0x0a) else {
      return Read(
        lines: [], valid: false,
        problems: [.init(kind: .broken, message: "\(name): the checkpoint is incomplete", file: path)])
    }
    let header = Array(bytes[..<firstEnd])
    var lines = [ArraySlice<UInt8>]()
    var start = firstEnd + 1
    while start < bytes.count {
      var end = start
      while bytes[end] != 0x0a { end += 1 }
      lines.append(bytes[start..<end])
      start = end + 1
    }
    func problem(_ why: String, _ kind: TrailIndex.Problem.Kind = .broken) -> Read {
      Read(
        lines: lines, valid: false,
        problems: [.init(kind: kind, message: "\(name): \(why)", file: path, line: 1)])
    }
    let h: Header
    switch Checkpoint.header(header, name: name, trust: trust) {
    case .failure(let p): return problem(p.message, p.kind)
    case .success(let x): h = x
    }
    guard h.entries == lines.count else {
      return problem(
        "it says \(h.entries) entries but holds \(lines.count): lines were removed or added", .cut)
    }
    // The digest covers lines 2 to N+1 with their newlines: exactly the bytes after the first line.
    let d = Blake2b(key: nil, length: 32)
    d.update(Array("keyward checkpoint v2".utf8))
    bytes.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0[(firstEnd + 1)...])) }
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { d.finish(into: $0) }
    guard Sodium.hex(out) == h.digest else {
      return problem("its entries do not match the signed digest: the segment was edited or cut", .forged)
    }
    return Read(lines: lines, valid: true, problems: [], heads: h.heads)
  }

  struct Header {
    var heads: [String]
    var entries: Int
    var digest: String
    /// The digest of the checkpoint's index (`<id>.index`), when it has one.
    var index: String?
    /// 1 + the number of checkpoints its index covers (1 for a checkpoint without one).
    var generation = 1
  }

  /// Whether a segment is what its admin signed (header, count and digest), read in 1 MiB pieces
  /// and never held whole: what an audit that reads the checkpoint's index instead of its lines
  /// still proves about them.
  /// `remembered`: segments this machine already hashed (`VerifiedSegments`) are not hashed
  /// again while their file is the same file, unchanged — their header is still read and its
  /// signature checked against today's signed state. `check` passes it; `audit` never does.
  static func holds(
    path: String, name: String, trust: TrustedState?, remembered: VerifiedSegments? = nil
  ) -> Bool {
    guard let fd = try? FileSystem.openRegular(path, flags: O_RDONLY) else { return false }
    defer { close(fd) }
    var st = stat()
    let identity = fstat(fd, &st) == 0 ? VerifiedSegments.identity(st) : nil
    // Git's "racily clean" rule: a file changed within the last two seconds may change again
    // within the same tick of a filesystem that keeps whole seconds (a checkout can even reuse
    // the inode), so it is neither trusted from the record nor recorded.
    let settled = identity != nil && st.st_ctim.tv_sec < time(nil) - 2
    if let remembered, settled, let identity, let known = remembered.digest(name: name, identity: identity) {
      // The header from the same open file (not the path again, which could name another file
      // by now), its signature checked against today's signed state.
      if let first = CheckpointFile.firstLine(fd: fd),
        case .success(let h) = Checkpoint.header(first, name: name, trust: trust),
        h.digest == known.digest, h.entries == known.entries
      {
        return true
      }
      guard lseek(fd, 0, SEEK_SET) == 0 else { return false }
    }
    var first = [UInt8]()
    var inHeader = true
    var lines = 0
    var lastByte: UInt8 = 0
    let d = Blake2b(key: nil, length: 32)
    d.update(Array("keyward checkpoint v2".utf8))
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, 1 << 20) }
      if n < 0 { return false }
      if n == 0 { break }
      var start = 0
      if inHeader {
        guard let nl = buffer[0..<n].firstIndex(of: 0x0a) else {
          first += buffer[0..<n]
          if first.count > 1 << 20 { return false }
          continue
        }
        first += buffer[0..<nl]
        inHeader = false
        start = nl + 1
      }
      buffer.withUnsafeBytes { p in
        let piece = UnsafeRawBufferPointer(rebasing: p[start..<n])
        d.update(piece)
        var at = piece.baseAddress!
        let end = at + piece.count
        while at < end, let nl = memchr(at, 0x0a, end - at) {
          lines += 1
          at = UnsafeRawPointer(nl) + 1
        }
      }
      lastByte = buffer[n - 1]
    }
    guard !inHeader, lastByte == 0x0a,
      case .success(let h) = Checkpoint.header(first, name: name, trust: trust),
      h.entries == lines
    else { return false }
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { d.finish(into: $0) }
    guard Sodium.hex(out) == h.digest else { return false }
    if let remembered, settled, let identity {
      remembered.record(name: name, identity: identity, digest: h.digest, entries: lines)
    }
    return true
  }

  /// A checkpoint's first line: its name is its id, and an admin of the signed state signed it.
  static func header(_ line: [UInt8], name: String, trust: TrustedState?) -> Result<
    Header, TrailIndex.Problem
  > {
    func problem(_ why: String, _ kind: TrailIndex.Problem.Kind = .broken) -> Result<
      Header, TrailIndex.Problem
    > {
      .failure(.init(kind: kind, message: why))
    }
    guard name == "\(name.prefix(64)).jsonl", Trail.isID(name.prefix(64)) else {
      return problem("not a checkpoint file name")
    }
    let doc: SignedDocument
    do { doc = try SignedDocument.parse(line, source: name, type: Trail.checkpointType) } catch {
      return problem(error.message)
    }
    guard Trail.id(of: doc.payload) == String(name.prefix(64)) else {
      return problem("its content does not match its name: the checkpoint was edited", .forged)
    }
    guard let v = try? JSONValue.parse(doc.payload, source: name), case .object(let m) = v,
      m["type"] == .string("keyward-trail-checkpoint"), case .string(let signer)? = m["signer"],
      let key = try? PublicIdentity(parsing: signer), case .number(let n)? = m["entries"],
      let count = Int(exactly: n), case .string(let digest)? = m["digest"],
      case .array(let headValues)? = m["heads"]
    else { return problem("the checkpoint's payload is malformed") }
    guard let trust else {
      return problem("a checkpoint needs a trust root to be verified, and this workspace has none")
    }
    guard trust.admin(key) != nil else {
      return problem("signed by \(key.fingerprint), who is not an admin of the signed state", .forged)
    }
    guard !doc.validSigners([key]).isEmpty else {
      return problem("the admin signature does not verify: a forged checkpoint", .forged)
    }
    // Every head an entry id (a number or a stray string among them was dropped silently once:
    // found by the independent review of session 10).
    var heads = [String]()
    for h in headValues {
      guard case .string(let s) = h, Trail.isID(Substring(s)) else {
        return problem("the checkpoint's payload is malformed (a head that is not an entry id)")
      }
      heads.append(s)
    }
    var index: String? = nil
    if let i = m["index"] {
      guard case .string(let s) = i, Names.isLowerHex(s, count: 64) else {
        return problem("the checkpoint's payload is malformed")
      }
      index = s
    }
    var generation = 1
    if let g = m["generation"] {
      guard case .number(let n) = g, let k = Int(exactly: n), k >= 1 else {
        return problem("the checkpoint's payload is malformed")
      }
      generation = k
    }
    return .success(
      Header(heads: heads, entries: count, digest: digest, index: index, generation: generation))
  }

  public struct Report: Sendable, Encodable {
    public var id: String
    public var entries: Int
    public var heads: [String]
    public var file: String
    /// What the admin's signature now vouches for that no member signed: unsigned entries and
    /// entries by strangers (their findings are no longer reported).
    public var attests: [String]

    enum CodingKeys: String, CodingKey {
      case heads, file, attests
      case id = "checkpoint_id"
      case entries = "entry_count"
    }
  }

  /// Compacts every entry file into a new segment signed by `admin`, then deletes those files.
  /// The caller holds the workspace lock. Refused when the trail is not intact: a checkpoint must
  /// never attest a damaged history.
  public static func create(workspace: Workspace, admin: Identity) throws(KeywardError) -> Report {
    guard let trust = workspace.trust else {
      throw KeywardError(
        .integrity, "a checkpoint is signed by an admin of the trust root, and this workspace has none",
        hint: "keyward trust init")
    }
    guard trust.admin(admin.publicIdentity) != nil else {
      throw KeywardError(
        .integrity,
        "\(admin.name) (\(admin.publicIdentity.fingerprint)) is not an admin of this workspace; only an admin signs a checkpoint"
      )
    }
    // Temporary files of writes that were killed (never an entry) go with the files compacted:
    // nothing else lists the entries folder, and `git add -A` would commit them.
    FileSystem.removeStaleTemporaries(in: "\(workspace.path)/\(Trail.entriesFolder)")
    // Every entry file is looked up in the index this one builds on: an entry the new index
    // would count twice is not taken from the old index's word about its heads.
    let index = TrailIndex.load(workspace: workspace, lookUpAll: true)
    if let p = index.problems.first {
      throw KeywardError(
        .integrity, "the trail is not intact (\(p.message)); a checkpoint would attest it",
        hint: "keyward audit, then restore the trail from version control")
    }
    let root = workspace.path
    let files = index.entries.filter { !$0.checkpointed }
    guard !files.isEmpty else {
      throw KeywardError(.input, "nothing to compact: every entry is already in a checkpoint")
    }
    var lines = [[UInt8]]()
    for e in files {  // parents first, as the index orders them
      var b = try FileSystem.read(e.file)
      b.removeLast()
      lines.append(b)
    }
    let inSegment = Set(files.map(\.id))
    var followed = Set<String>()
    for e in files { followed.formUnion(e.parents) }
    let heads = inSegment.subtracting(followed).sorted()
    // The index of everything below the new heads: the checkpoints already here and these entries.
    // The base index's ids are read again from disk here: they must still be all there.
    if let base = index.base, base.ids.count != 32 * base.entries {
      throw KeywardError(
        .integrity, "the checkpoint index changed while it was read; nothing was compacted",
        hint: "keyward audit, then run keyward trail checkpoint again")
    }
    let built = CheckpointIndex.build(index, covers: index.checkpointIDs)
    let summary = built.encode()
    let payload = JSONValue.object([
      "type": .string("keyward-trail-checkpoint"), "v": .number(2), "time": .string(Timestamp.now().iso),
      "actor": .string(Trail.oneLine(admin.name)), "signer": .string(admin.publicIdentity.text),
      "entries": .number(Double(lines.count)), "digest": .string(digest(lines)),
      "heads": .array(heads.map(JSONValue.string)), "index": .string(CheckpointIndex.digest(summary)),
      "generation": .number(Double(built.covers.count + 1)),
    ]).compact()
    var doc = SignedDocument(payloadType: Trail.checkpointType, payload: payload)
    doc.sign(with: admin)
    let id = Trail.id(of: payload)
    try FileSystem.makeDirectory("\(root)/\(Trail.checkpointsFolder)", mode: 0o755)
    var out = doc.json.compact() + [0x0a]
    for l in lines { out += l + [0x0a] }
    let path = "\(root)/\(Trail.checkpointsFolder)/\(id).jsonl"
    try FileSystem.writeAtomically(path, bytes: out)
    // The index after its segment: a crash between leaves a checkpoint whose lines are read.
    try FileSystem.writeAtomically("\(root)/\(Trail.checkpointsFolder)/\(id).index", bytes: summary)
    FileSystem.crashPoint("checkpoint-before-delete")
    for e in files { try FileSystem.remove(e.file) }
    let attests = TrailFindings.findings(index, workspace: workspace).filter {
      [FindingID.trailUnsigned.rawValue, FindingID.trailNonMember.rawValue].contains($0.id)
    }.map(\.message)
    return Report(id: id, entries: lines.count, heads: heads, file: path, attests: attests)
  }
}

/// The checkpoint segments this machine hashed and found whole, each with the identity of the
/// file it hashed (device, inode, size, change time in nanoseconds): `check` does not hash a
/// segment of hundreds of MB again while its file is that same file. Any write to the file, a
/// `git checkout` or a copy changes its change time, which no writer without root can set back,
/// so an edited segment is hashed again, never taken on the record's word. A file changed less
/// than two seconds before is neither recorded nor taken from the record (git's "racily clean"
/// rule: on a filesystem that keeps whole seconds, a checkout in the same second can reuse the
/// inode and leave the identity unchanged). The record is not signed: whoever can write the key
/// store can make `check` skip a segment, as they could replace its keys. The record lives in
/// this machine's key store (0700), beside the heads it has seen; `audit` ignores it and hashes
/// every segment, every time.
final class VerifiedSegments {
  struct Known {
    var identity: String
    var digest: String
    var entries: Int
  }
  let path: String
  private var known: [String: Known] = [:]
  private var changed = false
  private var lines: Set<Line>?
  private var linesChanged = false
  /// Beside the segments' record: the entry lines verified (`verifiedLines`).
  var linesPath: String { String(path.dropLast(".segments".count)) + ".lines" }

  init(workspace: String, env: Env) {
    let stem = Trust.pinStem(workspace: workspace, env: env)
    path = "\(KeySource.storeDirectory(env))/trail-verified/\(stem).segments"  // lines, not JSON
    guard let bytes = try? FileSystem.read(path) else { return }
    for line in bytes.split(separator: 0x0a) {
      let f = line.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
      guard f.count == 4, let n = Int(f[3]) else { continue }
      known[f[0]] = Known(identity: f[1], digest: f[2], entries: n)
    }
  }

  static func identity(_ st: stat) -> String {
    let ns = String(st.st_ctim.tv_nsec)
    let padded = String(repeating: "0", count: max(0, 9 - ns.count)) + ns
    return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_ctim.tv_sec).\(padded)"
  }

  func digest(name: String, identity: String) -> Known? {
    known[name].flatMap { $0.identity == identity ? $0 : nil }
  }

  func record(name: String, identity: String, digest: String, entries: Int) {
    known[name] = Known(identity: identity, digest: digest, entries: entries)
    changed = true
  }

  /// An entry line's exact bytes, by digest: a line whose signature this machine verified.
  struct Line: Hashable, Sendable {
    var digest: [UInt8]

    init(_ bytes: ArraySlice<UInt8>) {
      digest = Sodium.blake2b(length: 32, [Array("keyward verified line v1".utf8), Array(bytes)])
    }

    init?(hex: Substring) {
      guard let d = CheckpointIndex.idBytes(String(hex)) else { return nil }
      digest = d
    }
  }

  /// The entry lines this machine verified when it last read the trail here (their signatures
  /// are not checked again while their bytes are the same), read once from `<pin>.lines`.
  func verifiedLines() -> Set<Line> {
    if let lines { return lines }
    var out = Set<Line>()
    for text in ((try? FileSystem.read(linesPath)) ?? []).split(separator: 0x0a) {
      if let line = Line(hex: Substring(String(decoding: text, as: UTF8.self))) { out.insert(line) }
    }
    lines = out
    return out
  }

  /// The lines verified in this read (or found verified before): what the record keeps, so the
  /// lines a checkpoint since took in drop out of it.
  func keep(lines now: some Sequence<Line>) {
    let now = Set(now)
    if now != verifiedLines() {
      lines = now
      linesChanged = true
    }
  }

  /// Writes the record if anything was added (best effort: a read-only store only costs time).
  func save() {
    // A save killed before its rename left its temporary file here: swept when the record changes.
    if linesChanged || changed { FileSystem.removeStaleTemporaries(in: Path.directory(path)) }
    if linesChanged, let lines, (try? FileSystem.makeDirectory(Path.directory(path), mode: 0o700)) != nil {
      let text = lines.map { Sodium.hex($0.digest) + "\n" }.sorted().joined()
      try? FileSystem.writeAtomically(
        linesPath, bytes: Array(text.utf8), mode: 0o600, forceMode: true, crashLabel: "verified-")
    }
    guard changed else { return }
    var text = ""
    for (name, k) in known.sorted(by: { $0.key < $1.key }) {
      text += "\(name) \(k.identity) \(k.digest) \(k.entries)\n"
    }
    guard (try? FileSystem.makeDirectory(Path.directory(path), mode: 0o700)) != nil else { return }
    try? FileSystem.writeAtomically(
      path, bytes: Array(text.utf8), mode: 0o600, forceMode: true, crashLabel: "verified-")
  }
}
