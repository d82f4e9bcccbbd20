import CSodium
import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward scan`: every plaintext copy of a stored App Key or App Secret in the repository (its
/// files, its index, or every blob of its history), found by fingerprint with no private key.
public enum ScanOperation {
  public enum Mode: Sendable, Equatable {
    /// The repository holding the workspace: tracked and untracked files (ignored ones too when
    /// asked). Outside git: every file under the folder that holds the workspace.
    case repository(includeIgnored: Bool)
    /// Files and folders named on the command line (`-`: standard input).
    case paths([String])
    /// The index: what the next commit would hold.
    case staged
    /// Every blob reachable from HEAD, or from every ref.
    case history(allRefs: Bool)

    var name: String {
      switch self {
      case .repository: return "repository"
      case .paths: return "paths"
      case .staged: return "staged"
      case .history(let all): return all ? "history (all refs)" : "history"
      }
    }
  }

  /// One copy of one stored value. Never the value, nor any part of it.
  public struct Copy: Sendable {
    public var path: String
    public var line: Int
    public var column: Int
    public var target: ScanCatalog.Target
    /// `plain`, or the decodings that revealed it (`base64`, `url`, `escape`, joined by `+`).
    public var encoding: String
    /// History: the blob, and the commits that added and removed it (none removed: still at HEAD).
    public var blob: String?
    public var introduced: [String] = []
    public var removed: [String] = []

    public var severity: Severity { target.live ? .error : .warning }
    public var findingID: FindingID { target.live ? .plaintextCopyLive : .plaintextCopyRetired }

    public var message: String {
      let field = target.field == "app_key" ? "App Key" : "App Secret"
      let what = "\(target.environment)'s \(field) of set \(target.set) (\(target.state))"
      var m: String
      if line == 0 {
        m = "\(path): \(what) in the file's name"
        if encoding != "file name" { m += " (\(encoding.dropFirst("file name, ".count)))" }
      } else {
        m = "\(path):\(line):\(column): \(what)"
        m += encoding == "plain" ? " in plain text" : " encoded as \(encoding)"
      }
      if blob != nil {
        m +=
          introduced.isEmpty
          ? "" : ", added in \(introduced.map { String($0.prefix(12)) }.joined(separator: ", "))"
        m +=
          removed.isEmpty
          ? ", still there" : ", removed in \(removed.map { String($0.prefix(12)) }.joined(separator: ", "))"
      }
      return m
    }

    public var remedy: String {
      target.live
        ? "rotate \(target.environment) now (keyward rotate \(target.environment), verify, promote, retire), then delete the copy"
        : "the set is retired; make sure the provider revoked it, then delete the copy"
    }
  }

  public struct Report: Sendable {
    public var mode: Mode
    /// The repository's top folder (nil outside git, or for named paths).
    public var root: String?
    public var copies: [Copy] = []
    public var files = 0
    public var bytes = 0
    public var binary = 0
    /// Special files passed over (FIFOs, devices; links out of the repository).
    public var skipped = 0
    /// Files and blobs that could not be read (their copies, if any, are unknown).
    public var unreadable: [String] = []
    /// How many distinct stored values were looked for.
    public var values = 0
  }

  /// What to read: a file on disk (`open` is where it is, `path` how it is reported), standard
  /// input, or a blob.
  enum Item: Sendable {
    case file(path: String, open: String)
    /// A path the person named: links followed, pipes read.
    case named(String)
    case stdin
    case blob(id: String, path: String)
    /// Text at hand (a link's target).
    case text(path: String, bytes: [UInt8])

    var path: String {
      switch self {
      case .file(let p, _), .blob(_, let p), .text(let p, _): return p
      case .named(let p): return p
      case .stdin: return "-"
      }
    }
  }

  public static func run(workspace: Workspace, catalog: ScanCatalog, mode: Mode) throws(KeywardError)
    -> Report
  {
    var report = Report(mode: mode)
    report.values = catalog.count
    let root = Git.output(["rev-parse", "--show-toplevel"], in: workspace.path).map {
      String($0.drop { $0 == " " }.prefix { $0 != "\n" })
    }
    var items = [Item]()
    switch mode {
    case .paths(let paths):
      for p in paths {
        if p == "-" {
          items.append(.stdin)
        } else if FileSystem.isDirectory(p) {
          walk(p, display: p, into: &items, skipped: &report.skipped)
        } else if FileSystem.exists(p) || FileSystem.irregularKind(p) != nil {
          // What the person named is read as any tool reads it: through a link, from a pipe.
          items.append(.named(p))
        } else {
          throw KeywardError(.input, "\(p): no such file or folder")
        }
      }
    case .repository(let ignored):
      if let root {
        report.root = root
        var args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        if ignored { args = ["ls-files", "-z", "--cached", "--others"] }
        guard let r = Git.run(args, in: root), r.status == 0 else {
          throw KeywardError(.io, "git ls-files failed in \(root)")
        }
        var seen = Set<String>()
        let realRoot = FileSystem.realPath(root) ?? root
        for name in r.output.split(separator: 0).map({ String(decoding: $0, as: UTF8.self) })
        where seen.insert(name).inserted {
          let full = "\(root)/\(name)"
          if let kind = FileSystem.irregularKind(full) {
            // A link's text is its target, which is what git stores: scanned, never followed.
            if kind == "a symbolic link", let target = FileSystem.linkTarget(full) {
              items.append(.text(path: name, bytes: Array(target.utf8)))
            } else if kind != "a folder" {
              report.skipped += 1
            }
            continue
          }
          // A folder on the way that is a link would lead out of the repository.
          guard let real = FileSystem.realPath(full), real.hasPrefix(realRoot + "/") else {
            report.skipped += 1
            continue
          }
          items.append(.file(path: name, open: full))
        }
      } else {
        // Not in git: the folder that holds the workspace, as the project.
        let top = Path.directory(workspace.path)
        report.root = top
        walk(top, display: "", into: &items, skipped: &report.skipped)
      }
    case .staged:
      guard let root else {
        throw KeywardError(
          .input, "scanning the index needs a git repository; \(workspace.path) is not in one")
      }
      report.root = root
      guard let r = Git.run(["ls-files", "-z", "--stage"], in: root), r.status == 0 else {
        throw KeywardError(.io, "git ls-files --stage failed in \(root)")
      }
      for rec in r.output.split(separator: 0) {
        // `<mode> <id> <stage>\t<path>`; a link's blob (120000) is its target's text; submodules
        // (160000) hold no text here.
        guard let tab = rec.firstIndex(of: 0x09) else { continue }
        let head = rec[rec.startIndex..<tab].split(separator: 0x20).map {
          String(decoding: $0, as: UTF8.self)
        }
        guard head.count == 3, head[0].hasPrefix("100") || head[0] == "120000" else { continue }
        items.append(.blob(id: head[1], path: String(decoding: rec[(tab + 1)...], as: UTF8.self)))
      }
    case .history(let all):
      guard let root else {
        throw KeywardError(.input, "scanning history needs a git repository; \(workspace.path) is not in one")
      }
      report.root = root
      if Git.output(["rev-parse", "--verify", "--quiet", "HEAD"], in: root) == nil && !all {
        break  // no commit yet: no history
      }
      guard
        let r = Git.run(
          ["rev-list", "--objects", "--filter=object:type=blob", all ? "--all" : "HEAD"], in: root),
        r.status == 0
      else { throw KeywardError(.io, "git rev-list failed in \(root)") }
      for line in r.output.split(separator: 0x0a) {
        guard let space = line.firstIndex(of: 0x20) else { continue }  // a commit: no path
        items.append(
          .blob(
            id: String(decoding: line[line.startIndex..<space], as: UTF8.self),
            path: String(decoding: line[(space + 1)...], as: UTF8.self)))
      }
    }
    let scanned = try scanAll(items, catalog: catalog, repository: root)
    // A value in a file's name is a copy too, and the name is never printed with it.
    let names = NameCheck(catalog: catalog)
    var copies = [Copy]()
    for (i, s) in scanned.enumerated() {
      report.files += s.bytes >= 0 ? 1 : 0
      report.bytes += max(0, s.bytes)
      if s.binary { report.binary += 1 }
      let (path, found) = names.redacted(items[i].path)
      if s.bytes < 0 && !s.binary { report.unreadable.append(path) }
      var blob: String? = nil
      if case .blob(let id, _) = items[i], mode != .staged { blob = id }
      for (print, steps) in found {
        for t in catalog.table[print] ?? [] {
          copies.append(
            Copy(
              path: path, line: 0, column: 0, target: t,
              encoding: steps.depth == 0 ? "file name" : "file name, \(steps.name)", blob: blob))
        }
      }
      for h in s.hits {
        for t in catalog.table[h.print] ?? [] {
          copies.append(
            Copy(path: path, line: h.line, column: h.column, target: t, encoding: h.steps.name, blob: blob))
        }
      }
    }
    if case .history(let all) = mode, let root, !copies.isEmpty {
      try commits(for: &copies, allRefs: all, root: root)
    }
    report.copies = copies.sorted {
      ($0.path, $0.line, $0.column, $0.target.environment, $0.target.field)
        < ($1.path, $1.line, $1.column, $1.target.environment, $1.target.field)
    }
    return report
  }

  /// A folder's files, recursively, without following links; `.git` folders are not entered.
  static func walk(_ dir: String, display: String, into items: inout [Item], skipped: inout Int) {
    for (name, kind) in FileSystem.listDirectoryKinds(dir) ?? [] {
      let full = dir == "/" ? "/\(name)" : "\(dir)/\(name)"
      let shown = display.isEmpty ? name : "\(display)/\(name)"
      if let kind {
        if kind == "a folder" {
          if name != ".git" { walk(full, display: shown, into: &items, skipped: &skipped) }
        } else {
          skipped += 1
        }
        continue
      }
      items.append(.file(path: shown, open: full))
    }
  }

  /// One item's result; `bytes` stays -1 when it could not be read.
  struct Scanned: Sendable {
    var bytes = -1
    var binary = false
    var hits: [LocatedHit] = []
  }

  /// Every item through the scanner, on every core: files handed out one at a time as workers
  /// free up (sizes vary); blobs split between workers, each reading its share through one
  /// `git cat-file --batch`.
  static func scanAll(_ items: [Item], catalog: ScanCatalog, repository: String?) throws(KeywardError)
    -> [Scanned]
  {
    var out = [Scanned](repeating: Scanned(), count: items.count)
    let cores = max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    let files = items.indices.filter { if case .blob = items[$0] { return false } else { return true } }
    let blobs = items.indices.filter { if case .blob = items[$0] { return true } else { return false } }
    var failures = [KeywardError?](repeating: nil, count: cores)
    out.withUnsafeMutableBufferPointer { results in
      let sink = WorkerSlots(results)
      // One scanner per worker, each taking the next file when it is done with one: sizes vary
      // (a 5 MB log among small sources), so fixed shares left a core idle at the end.
      let next = Atomic<Int>(0)
      DispatchQueue.concurrentPerform(iterations: min(files.count, cores)) { _ in
        let scanner = StreamScanner(engine: ScanEngine(catalog: catalog))
        while case let k = next.add(1, ordering: .relaxed).oldValue, k < files.count {
          let i = files[k]
          switch items[i] {
          case .file(_, let open): sink.buffer[i] = scanFile(open, scanner)
          case .named(let path): sink.buffer[i] = scanNamed(path, scanner)
          case .stdin: sink.buffer[i] = scanFD(0, scanner)
          case .text(_, let bytes): sink.buffer[i] = scanBytes(bytes, scanner)
          case .blob: break
          }
        }
      }
      guard !blobs.isEmpty, let repository else { return }
      let workers = blobs.count < 64 ? 1 : cores
      failures.withUnsafeMutableBufferPointer { errors in
        let errorSink = WorkerSlots(errors)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
          let scanner = StreamScanner(engine: ScanEngine(catalog: catalog))
          let mine = Array(stride(from: w, to: blobs.count, by: workers)).map { blobs[$0] }
          let ids = mine.map { i -> String in
            if case .blob(let id, _) = items[i] { return id }
            return ""
          }
          do throws(KeywardError) {
            try GitBlobs.each(ids, in: repository) { k, _, read in
              sink.buffer[mine[k]] = outcome(scanner.run(read))
            }
          } catch {
            errorSink.buffer[w] = error
          }
        }
      }
    }
    if let e = failures.compactMap({ $0 }).first { throw e }
    return out
  }

  static func outcome(_ o: StreamScanner.Outcome) -> Scanned {
    switch o {
    case .binary: return Scanned(bytes: 0, binary: true)
    case .text(let bytes, let hits): return Scanned(bytes: bytes, hits: hits)
    }
  }

  static func scanFile(_ path: String, _ scanner: StreamScanner) -> Scanned {
    guard let fd = try? FileSystem.openRegular(path) else { return Scanned() }
    defer { close(fd) }
    return scanFD(fd, scanner)
  }

  static func scanNamed(_ path: String, _ scanner: StreamScanner) -> Scanned {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return Scanned() }
    defer { close(fd) }
    return scanFD(fd, scanner)
  }

  static func scanBytes(_ bytes: [UInt8], _ scanner: StreamScanner) -> Scanned {
    var at = 0
    return outcome(
      scanner.run { p, n in
        let k = min(n, bytes.count - at)
        bytes.withUnsafeBufferPointer { memcpy(p, $0.baseAddress! + at, k) }
        at += k
        return k
      })
  }

  static func scanFD(_ fd: Int32, _ scanner: StreamScanner) -> Scanned {
    outcome(
      scanner.run { p, n in
        while true {
          let got = Glibc_read(fd, p, n)
          if got < 0 && errno == EINTR { continue }
          return got
        }
      })
  }

  /// For each blob found in history: the commits that added it and those that removed it, from one
  /// `git log --raw` over the same history.
  static func commits(for copies: inout [Copy], allRefs: Bool, root: String) throws(KeywardError) {
    let wanted = Set(copies.compactMap(\.blob))
    guard
      let r = Git.run(
        [
          "log", allRefs ? "--all" : "HEAD", "--raw", "--no-renames", "--no-abbrev", "--root",
          "--format=%x01%H",
        ],
        in: root), r.status == 0
    else { throw KeywardError(.io, "git log failed in \(root)") }
    var added = [String: [String]]()
    var removed = [String: [String]]()
    var commit = ""
    for line in r.output.split(separator: 0x0a) {
      if line.first == 0x01 {
        commit = String(decoding: line.dropFirst(), as: UTF8.self)
        continue
      }
      // `:<mode> <mode> <old> <new> <status>\t<path>`
      guard line.first == 0x3a, let tab = line.firstIndex(of: 0x09) else { continue }
      let f = line[line.startIndex..<tab].split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
      guard f.count >= 5 else { continue }
      let (old, new) = (f[2], f[3])
      if old == new { continue }
      if wanted.contains(new), added[new]?.contains(commit) != true { added[new, default: []].append(commit) }
      if wanted.contains(old), removed[old]?.contains(commit) != true {
        removed[old, default: []].append(commit)
      }
    }
    // git log lists newest first; the report reads oldest first.
    for i in copies.indices {
      guard let b = copies[i].blob else { continue }
      copies[i].introduced = (added[b] ?? []).reversed()
      copies[i].removed = (removed[b] ?? []).reversed()
    }
  }
}

/// Values in file names: each path is scanned as text, and a component holding a value is shown
/// as `[a stored value]` wherever the path is printed.
final class NameCheck {
  let engine: ScanEngine

  init(catalog: ScanCatalog) { engine = ScanEngine(catalog: catalog) }

  func redacted(_ path: String) -> (path: String, found: [(UInt64, ScanEngine.Steps)]) {
    var bytes = Array(path.utf8)
    engine.resetHits()
    bytes.withUnsafeBufferPointer { engine.scan($0.baseAddress!, $0.count) }
    engine.finish()
    guard !engine.hits.isEmpty else { return (path, []) }
    var found = [(UInt64, ScanEngine.Steps)]()
    var seen = Set<UInt64>()
    var hide = Set<Int>()  // the components to hide, by the offset of their first byte
    for h in engine.hits {
      if seen.insert(h.print).inserted { found.append((h.print, h.steps)) }
      var start = min(h.offset, bytes.count)
      while start > 0 && bytes[start - 1] != 0x2f { start -= 1 }
      hide.insert(start)
    }
    var out = [UInt8]()
    var i = 0
    while i < bytes.count {
      var end = i
      while end < bytes.count && bytes[end] != 0x2f { end += 1 }
      out += hide.contains(i) ? Array("[a stored value]".utf8) : Array(bytes[i..<end])
      if end < bytes.count { out.append(0x2f) }
      i = end + 1
    }
    bytes.withUnsafeMutableBufferPointer { sodium_memzero($0.baseAddress!, $0.count) }
    engine.wipe()
    return (String(decoding: out, as: UTF8.self), found)
  }
}
