/// `keyward audit --git`: the trail along the repository's history. Every trail entry of a parent
/// commit must survive in its child (as its file, or in a checkpoint the child holds); a
/// checkpoint is never deleted; audit.jsonl only grows; the signed state's version never goes
/// down. Two git processes for the walk and one per commit that deletes entry files (a
/// checkpoint's commit), whatever the history's length. A force-pushed history is out of reach:
/// protect the branch.
public enum TrailHistory {
  public struct Report: Sendable, Encodable {
    public var commits: Int
    public var shallow: Bool
    public var findings: [Finding]

    enum CodingKeys: String, CodingKey {
      case shallow, findings
      case commits = "commit_count"
    }
  }

  struct Change {
    var commit: String
    var parent: String
    /// Every parent of the commit (a merge has two or more).
    var parents: [String] = []
    var status: Character
    var oldBlob: String
    var newBlob: String
    var path: String
  }

  public static func walk(workspace: Workspace) throws(KeywardError) -> Report {
    let dir = workspace.path
    func line(_ s: String?) -> String { String((s ?? "").split(separator: "\n").first ?? "") }
    let top = line(Git.output(["rev-parse", "--show-toplevel"], in: dir))
    guard !top.isEmpty
    else {
      throw KeywardError(.input, "\(dir) is not in a git repository, whose history the audit would walk")
    }
    let real = Trust.realPath(dir)
    let realTop = Trust.realPath(top)
    let rel = real == realTop ? "" : String(real.dropFirst(realTop.count + 1)) + "/"
    guard Git.output(["rev-parse", "--verify", "--quiet", "HEAD"], in: dir) != nil else {
      throw KeywardError(.input, "the repository at \(top) has no commits yet: there is no history to walk")
    }
    let shallow = line(Git.output(["rev-parse", "--is-shallow-repository"], in: dir)) == "true"
    let commits = Int(line(Git.output(["rev-list", "--count", "HEAD"], in: dir))) ?? 0
    let entries = "\(rel)\(Trail.entriesFolder)/"
    let checkpoints = "\(rel)\(Trail.checkpointsFolder)/"
    let state = "\(rel)\(Trust.stateName)"
    let v1 = "\(rel)\(Workspace.auditName)"
    // `-z`: every name as it is (git quotes a name with a quote, a backslash or a tab otherwise,
    // and a workspace in such a folder would show no change at all).
    guard
      let r = Git.run(
        [
          "log", "-m", "--full-history", "--format=commit %H %P", "--raw", "--no-abbrev", "--no-renames",
          "-z",
          "HEAD", "--", "\(rel)\(Trail.folder)", state, v1, "\(rel)\(Trust.folder)/active",
        ], in: top), r.status == 0, let sections = Git.rawLog(r.output)
    else { throw KeywardError(.io, "git log failed in \(top)") }
    // Each commit's diff against each of its parents, in turn.
    var changes = [Change]()
    var seenSections = [String: Int]()
    for (header, list) in sections {
      let parts = header.split(separator: " ").map(String.init)
      guard let commit = parts.first else { continue }
      let parents = parts.dropFirst()
      let n = seenSections[commit, default: 0]
      seenSections[commit] = n + 1
      let parent = n < parents.count ? parents[parents.startIndex + n] : ""
      for c in list {
        changes.append(
          Change(
            commit: commit, parent: parent, parents: Array(parents), status: c.status, oldBlob: c.oldBlob,
            newBlob: c.newBlob, path: c.path))
      }
    }
    var findings = [Finding]()
    func report(_ c: Change, _ message: String) {
      // git's listing leaves out a merge's empty diff against a parent, so the order of its
      // sections does not say which parent each is against: the one whose tree holds the change's
      // old side is (asked of git only for a finding).
      var parent = c.parent
      if c.parents.count > 1 {
        let absent = !c.oldBlob.contains { $0 != "0" }
        parent =
          c.parents.first { p in
            let held = Git.output(["rev-parse", "--verify", "--quiet", "\(p):\(c.path)"], in: top)?
              .split(separator: "\n").first.map(String.init)
            return absent ? held == nil : held == c.oldBlob
          } ?? c.parent
      }
      findings.append(
        Finding(
          id: FindingID.trailHistory.rawValue, severity: .error, environment: nil, set: nil,
          message: "commit \(c.commit.prefix(12)) (against parent \(parent.prefix(12))): \(message)",
          evidence: ["commit": c.commit, "parent": parent], remedy: FindingID.trailHistory.explanation,
          file: "\(dir)/\(c.path.dropFirst(rel.count))"))
    }
    // Blobs to read: the states and manifests on both sides of a change, for their versions only
    // (read a few at a time and let go: a long history holds hundreds of 3 MB states).
    let active = "\(rel)\(Activation.folder)/"
    // A manifest is `active/<environment>.json` (a `.gitkeep` or a note beside them is not one).
    func isManifest(_ path: String) -> Bool {
      guard path.hasPrefix(active), path.hasSuffix(".json") else { return false }
      let name = path.dropFirst(active.count).dropLast(5)
      return !name.contains("/") && Names.isEnvironment(String(name))
    }
    var stateVersions = [String: Int]()
    var manifestVersions = [String: Int]()
    for (path, type) in [(state, SignedDocument.stateType), (active, Activation.type)] {
      let isState = path == state
      let blobs = Set(
        changes.filter {
          ["M", "A", "T"].contains($0.status) && (isState ? $0.path == state : isManifest($0.path))
        }
        .flatMap { [$0.oldBlob, $0.newBlob] })
      // A blob larger than a state (or a manifest) can be is not one: left unread.
      let largest = isState ? Trust.maxStateBytes : Activation.maxManifestBytes
      try readBounded(Array(blobs), in: top, maxBytes: largest) { batch in
        for (blob, bytes) in batch {
          guard let v = version(bytes, type: type) else { continue }
          if isState { stateVersions[blob] = v } else { manifestVersions[blob] = v }
        }
      }
    }
    // Entry files a commit deleted: the checkpoints that commit holds must hold them.
    var deleted = [String: [(Change, String)]]()
    for c in changes where c.status == "D" {
      if c.path.hasPrefix(entries), c.path.hasSuffix(".json") {
        let id = String(c.path.dropFirst(entries.count).dropLast(5))
        deleted[c.commit, default: []].append((c, id))
      } else if c.path.hasPrefix(checkpoints) {
        report(c, "deleted the checkpoint \(c.path.dropFirst(checkpoints.count)) and every entry it held")
      } else if c.path == state {
        report(c, "deleted the signed state (\(Trust.stateName))")
      } else if c.path == v1 {
        report(c, "deleted the version-1 trail (\(Workspace.auditName))")
      }
    }
    var held = [String: [(blob: String, name: String)]]()  // commit → its checkpoints
    for commit in deleted.keys {
      // "<mode> <type> <blob>\t<path>", each ending in NUL.
      let listing = Git.run(["ls-tree", "-z", commit, "--", checkpoints], in: top)?.output ?? []
      held[commit] = listing.split(separator: 0).compactMap { entry in
        let l = String(decoding: entry, as: UTF8.self)
        guard let tab = l.firstIndex(of: "\t") else { return nil }
        let f = l[..<tab].split(separator: " ")
        guard f.count == 3 else { return nil }
        return (String(f[2]), Path.name(String(l[l.index(after: tab)...])))
      }
    }
    for (commit, list) in deleted {
      // Only a checkpoint that holds (its name, an admin's signature, its digest) holds entries:
      // any other file there (a dotfile with entry lines in it) holds nothing. One at a time.
      var ids = Set<String>()
      let names = Dictionary(grouping: held[commit] ?? [], by: \.blob)
      try read(Array(names.keys), in: top, batch: 1) { batch in
        for (blob, bytes) in batch {
          // A blob held under a name that is not its digest holds nothing; under its own, it does.
          guard
            let read = (names[blob] ?? []).lazy.map({
              Checkpoint.verify(bytes, name: $0.name, path: $0.name, trust: workspace.trust)
            }).first(where: \.valid)
          else { continue }
          for line in read.lines {
            if let d = Envelope.scan(line, type: Trail.entryType)
              ?? (try? SignedDocument.parse(Array(line), source: "", type: Trail.entryType))
            {
              ids.insert(Trail.id(of: d.payload))
            }
          }
        }
      }
      for (c, id) in list where !ids.contains(id) {
        report(c, "removed trail entry \(id.prefix(12)), and no checkpoint in it holds the entry")
      }
    }
    for c in changes where c.status == "M" {
      if c.path == v1 {
        // The version-1 trail's two sides, read for this change alone.
        let pair = try read([c.oldBlob, c.newBlob], in: top)
        if let old = pair[c.oldBlob], let new = pair[c.newBlob], !new.starts(with: old) {
          report(c, "rewrote \(Workspace.auditName): lines of its parent's version are gone or changed")
        }
      }
    }
    // The signed state and the manifests: each version must be one, and never lower than the
    // one before it. Whatever is not one (a file that does not parse, a link) is reported where
    // it appears: an older version put back after it would otherwise be compared with nothing
    // (session 21's review lowered the state's version through a commit of garbage between).
    for c in changes where c.path == state || isManifest(c.path) {
      let isState = c.path == state
      let versions = isState ? stateVersions : manifestVersions
      let what = isState ? "the signed state (\(Trust.stateName))" : "\(c.path.dropFirst(rel.count))"
      switch c.status {
      case "D" where !isState:
        report(c, "deleted \(what), an activation manifest (keyward never deletes one)")
      case "M", "A", "T":  // T: a file became a link, or a link a file
        guard let b = versions[c.newBlob] else {
          report(
            c,
            "replaced \(what) with something that is not \(isState ? "a signed state" : "an activation manifest")"
          )
          continue
        }
        if c.status == "M", let a = versions[c.oldBlob], b < a {
          report(
            c,
            isState
              ? "lowered the signed state's version from \(a) to \(b) (a rollback)"
              : "lowered \(what)'s version from \(a) to \(b) (an older activation replayed)")
        }
      default: break
      }
    }
    return Report(commits: commits, shallow: shallow, findings: findings)
  }

  /// The signed state's version (unverified: only its order along history matters here).
  static func version(_ bytes: [UInt8], type: String = SignedDocument.stateType) -> Int? {
    guard let doc = try? SignedDocument.parse(bytes, source: "", type: type) else { return nil }
    // A state's environments are stepped over, not made into a tree (no environment is named "").
    if type == SignedDocument.stateType, let state = Trust.scanState(doc.payload, focus: "") {
      return state.version
    }
    guard let v = try? JSONValue.parse(doc.payload, source: ""), case .object(let m) = v,
      case .number(let n)? = m["version"]
    else { return nil }
    return Int(exactly: n)
  }

  /// Reads blobs with `git cat-file --batch`, 1,000 at a time: `Spawn.run` writes all of a
  /// child's input before it reads any output, so the input must fit the pipe's buffer (64 KB;
  /// 1,000 ids are 41 KB) or both sides wait for ever once the output fills its own.
  /// `maxBytes`: blobs larger than this are left out unread (their sizes asked of
  /// `git cat-file --batch-check` first).
  static func read(_ ids: [String], in dir: String, maxBytes: Int? = nil) throws(KeywardError) -> [String:
    [UInt8]]
  {
    var out = [String: [UInt8]]()
    let keep = { (batch: [String: [UInt8]]) in out.merge(batch) { $1 } }
    if let maxBytes {
      try readBounded(ids, in: dir, maxBytes: maxBytes, batchBytes: Int.max, keep)
    } else {
      try read(ids, in: dir, batch: 1000, keep)
    }
    return out
  }

  /// The size of each of `ids` that is a blob (a missing one is not listed), from
  /// `git cat-file --batch-check`, without reading any.
  static func sizes(_ ids: [String], in dir: String) throws(KeywardError) -> [String: Int] {
    var out = [String: Int]()
    for start in stride(from: 0, to: ids.count, by: 1000) {
      let output = try catFile("--batch-check", ids[start..<min(start + 1000, ids.count)], in: dir)
      // "<id> blob <size>" (or "<id> missing") per line.
      for line in output.split(separator: 0x0a) {
        let f = line.split(separator: 0x20)
        guard f.count == 3, let size = Int(String(decoding: f[2], as: UTF8.self)) else { continue }
        out[String(decoding: f[0], as: UTF8.self)] = size
      }
    }
    return out
  }

  /// Reads each of `ids` no larger than `maxBytes` (the others are left out unread: their sizes
  /// are asked first), in batches of at most `batchBytes` together (`maxBytes` unless given; one
  /// blob when it is that large), each handed to `body` and let go: memory stays at one batch,
  /// however many there are.
  static func readBounded(
    _ ids: [String], in dir: String, maxBytes: Int, batchBytes: Int? = nil,
    _ body: ([String: [UInt8]]) -> Void
  ) throws(KeywardError) {
    let sizes = try sizes(ids, in: dir)
    let batchBytes = max(batchBytes ?? maxBytes, maxBytes)
    var batches = [[String]]()
    var held = 0
    for id in ids {
      guard let size = sizes[id], size <= maxBytes else { continue }
      if batches.isEmpty || held + size > batchBytes {
        batches.append([])
        held = 0
      }
      batches[batches.count - 1].append(id)
      held += size
    }
    for batch in batches { try read(batch, in: dir, batch: batch.count, body) }
  }

  /// The same, `batch` blobs per git process, each batch handed to `body` and let go (at most
  /// 1,000: see above): a caller that keeps little of each holds only one batch at a time.
  static func read(
    _ ids: [String], in dir: String, batch: Int, _ body: ([String: [UInt8]]) -> Void
  ) throws(KeywardError) {
    var start = 0
    while start < ids.count {
      let end = min(start + min(batch, 1000), ids.count)
      var out = [String: [UInt8]]()
      try readBatch(ids[start..<end], in: dir, into: &out)
      body(out)
      start = end
    }
  }

  /// `git cat-file OPTION` given `ids` (at most 1,000: see `read`), its output.
  static func catFile(_ option: String, _ ids: ArraySlice<String>, in dir: String) throws(KeywardError)
    -> [UInt8]
  {
    let input = Array(ids.map { "\($0)\n" }.joined().utf8)
    guard let r = Git.run(["cat-file", option], in: dir, input: input), r.status == 0 else {
      throw KeywardError(.io, "git cat-file failed in \(dir)")
    }
    return r.output
  }

  static func readBatch(_ ids: ArraySlice<String>, in dir: String, into out: inout [String: [UInt8]])
    throws(KeywardError)
  {
    var i = 0
    let b = try catFile("--batch", ids, in: dir)
    while i < b.count {
      guard let nl = b[i...].firstIndex(of: 0x0a) else { break }
      let header = String(decoding: b[i..<nl], as: UTF8.self).split(separator: " ")
      i = nl + 1
      guard header.count == 3, let size = Int(header[2]), i + size <= b.count else { continue }
      out[String(header[0])] = Array(b[i..<(i + size)])
      i += size + 1
    }
  }
}
