#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// git's standard output as a stream: `git cat-file --batch` hands scan every blob through one
/// process, read a chunk at a time. Standard input comes from a file (the object ids), so no
/// writer thread is needed and git ending early cannot raise SIGPIPE here.
final class GitReader {
  private let pid: pid_t
  private let fd: Int32
  private let buffer: UnsafeMutablePointer<UInt8>
  private let capacity = 1 << 16
  private var start = 0
  private var end = 0
  let command: String

  init(_ args: [String], in dir: String, input: [UInt8]) throws(KeywardError) {
    command = "git " + args.joined(separator: " ")
    // The input goes through an unlinked temporary file (object ids: nothing secret).
    var template = Array("\(Env.process.nonEmpty("TMPDIR") ?? "/tmp")/keyward-scan-XXXXXX".utf8CString)
    let inFD = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard inFD >= 0 else {
      throw KeywardError(.io, "cannot create a temporary file: \(FileSystem.errnoText())")
    }
    _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
    defer { close(inFD) }
    try FileSystem.writeAll(inFD, input, path: "a temporary file")
    lseek(inFD, 0, SEEK_SET)
    let child = try Spawn.background(
      Git.executable.path, Git.executable.prefix + ["-C", dir] + args, environment: Git.environment,
      stdin: inFD)
    pid = child.pid
    fd = child.stdout
    buffer = .allocate(capacity: capacity)
  }

  deinit {
    close(fd)
    buffer.deallocate()
  }

  private func fill() -> Bool {
    if start > 0 && start == end {
      start = 0
      end = 0
    }
    if end == capacity {
      memmove(buffer, buffer + start, end - start)
      end -= start
      start = 0
    }
    while true {
      let n = Glibc_read(fd, buffer + end, capacity - end)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return false }
      end += n
      return true
    }
  }

  /// The next line without its line break; nil at the end.
  func readLine() -> [UInt8]? {
    var line = [UInt8]()
    while true {
      if let nl = memchr(buffer + start, 0x0a, end - start) {
        let at = UnsafeMutablePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - buffer
        line.append(contentsOf: UnsafeBufferPointer(start: buffer + start, count: at - start))
        start = at + 1
        return line
      }
      line.append(contentsOf: UnsafeBufferPointer(start: buffer + start, count: end - start))
      start = end
      if !fill() { return line.isEmpty ? nil : line }
    }
  }

  /// Up to `count` bytes into `out`; 0 at the end.
  func read(_ out: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
    if start == end && !fill() { return 0 }
    let n = min(count, end - start)
    memcpy(out, buffer + start, n)
    start += n
    return n
  }

  /// Drops `count` bytes (the rest of a blob not scanned).
  func skip(_ count: Int) {
    var left = count
    while left > 0 {
      if start == end && !fill() { return }
      let n = min(left, end - start)
      start += n
      left -= n
    }
  }

  /// Waits for git; its exit status.
  func wait() -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  }
}

/// The blobs of a listing read through `git cat-file --batch`, each handed to `body` with a reader
/// limited to its bytes.
enum GitBlobs {
  static func each(
    _ ids: [String], in dir: String,
    _ body: (_ index: Int, _ size: Int, _ read: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> Void
  ) throws(KeywardError) {
    guard !ids.isEmpty else { return }
    let git = try GitReader(
      ["cat-file", "--batch"], in: dir, input: Array(ids.map { "\($0)\n" }.joined().utf8))
    for i in ids.indices {
      guard let header = git.readLine() else {
        _ = git.wait()
        throw KeywardError(.io, "git cat-file ended early in \(dir)")
      }
      let parts = header.split(separator: 0x20)
      guard parts.count == 3, let size = Int(String(decoding: parts[2], as: UTF8.self)) else {
        continue  // `<id> missing`: a promisor clone's absent blob
      }
      var left = size
      body(i, size) { p, n in
        guard left > 0 else { return 0 }
        let got = git.read(p, min(n, left))
        left -= got
        return got
      }
      git.skip(left)
      git.skip(1)  // the line break after each blob
    }
    if git.wait() != 0 { throw KeywardError(.io, "\(git.command) failed in \(dir)") }
  }
}
