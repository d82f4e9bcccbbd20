#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// POSIX file operations with the guarantees keyward promises: atomic replacement, explicit modes,
/// an advisory lock per workspace, and reads of secret files straight into guarded memory.
public enum FileSystem {
  static func errnoText() -> String { String(cString: strerror(errno)) }

  /// Reads a whole non-secret file.
  public static func read(_ path: String) throws(KeywardError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let e = errno
      if e == ENOENT { throw KeywardError(.input, "\(path): no such file") }
      throw KeywardError(.io, "\(path): cannot open: \(String(cString: strerror(e)))")
    }
    defer { close(fd) }
    var out = [UInt8]()
    var st = stat()
    if fstat(fd, &st) == 0, st.st_size > 0 { out.reserveCapacity(Int(st.st_size)) }
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw KeywardError(.io, "\(path): read failed: \(errnoText())")
      }
      if n == 0 { break }
      out.append(contentsOf: chunk[0..<n])
    }
    return out
  }

  /// Reads a whole file (or descriptor) that holds secrets into guarded memory: one buffer sized
  /// from fstat for regular files, read into directly (every guarded allocation costs system calls).
  public static func readSecret(fd: Int32, source: String, limit: Int = 1 << 20) throws(KeywardError)
    -> SecureBytes
  {
    var st = stat()
    var capacity = 4096
    if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0, st.st_size < limit {
      capacity = Int(st.st_size) + 1  // one spare byte, so end of file is seen without growing
    }
    let out = SecureBytes(capacity: capacity)
    while true {
      let n = out.appendRead(from: fd)
      if n < 0 {
        if errno == EINTR { continue }
        throw KeywardError(.io, "\(source): read failed: \(errnoText())")
      }
      if n == 0 { break }
      if out.count > limit { throw KeywardError(.input, "\(source): larger than \(limit) bytes; refusing") }
    }
    return out
  }

  /// Opens and reads a secret file. With `requirePrivate`, refuses a file readable by group or
  /// others, as ssh does for private keys.
  /// A file that cannot be opened is an input error (exit 2), or an integrity error (exit 4) for
  /// private keys (`requirePrivate`), whose absence means the key is missing.
  public static func readSecret(path: String, requirePrivate: Bool) throws(KeywardError) -> SecureBytes {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let e = errno
      let kind: KeywardError.Kind = requirePrivate ? .integrity : .input
      if e == ENOENT { throw KeywardError(kind, "\(path): no such file") }
      throw KeywardError(kind, "\(path): cannot open: \(String(cString: strerror(e)))")
    }
    defer { close(fd) }
    if requirePrivate {
      var st = stat()
      guard fstat(fd, &st) == 0 else { throw KeywardError(.io, "\(path): stat failed: \(errnoText())") }
      let mode = st.st_mode & 0o777
      if mode & 0o077 != 0 {
        throw KeywardError(
          .integrity,
          "UNPROTECTED PRIVATE KEY FILE: permissions \(octal(mode)) for '\(path)' are too open; "
            + "a private key file must not be accessible by group or others. This key will be ignored.",
          hint: "chmod 600 '\(path)'")
      }
    }
    return try readSecret(fd: fd, source: path)
  }

  static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }

  /// The permission bits of a file, or nil if it does not exist.
  public static func mode(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & 0o7777
  }

  public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  public static func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  /// Creates a directory and its parents with `mode` (existing ones are left alone).
  public static func makeDirectory(_ path: String, mode: mode_t) throws(KeywardError) {
    if isDirectory(path) { return }
    let parent = Path.directory(path)
    if parent != "." && parent != "/" && parent != path { try makeDirectory(parent, mode: mode) }
    if mkdir(path, mode) != 0 && errno != EEXIST {
      throw KeywardError(.io, "\(path): cannot create directory: \(errnoText())")
    }
  }

  /// Test hook: `KEYWARD_CRASHPOINT=name` makes the process SIGKILL itself at that point, so the
  /// test suite can prove that an interruption there leaves no torn file. Unset in normal use.
  public static func crashPoint(_ name: String) {
    if let want = getenv("KEYWARD_CRASHPOINT"), String(cString: want) == name {
      kill(getpid(), SIGKILL)
    }
  }

  /// Deletes a file (a missing one is fine).
  public static func remove(_ path: String) throws(KeywardError) {
    guard unlink(path) == 0 || errno == ENOENT else {
      throw KeywardError(.io, "\(path): cannot delete: \(errnoText())")
    }
  }

  /// Renames `from` over `to` (atomic) and syncs the folder.
  public static func replace(_ from: String, with to: String) throws(KeywardError) {
    guard rename(from, to) == 0 else {
      throw KeywardError(.io, "\(to): rename from \(from) failed: \(errnoText())")
    }
    let dfd = open(Path.directory(to), O_RDONLY | O_CLOEXEC)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }

  /// Atomically replaces `path` with `contents`: a temporary file in the same folder, written,
  /// fsynced, renamed over the target, and the folder fsynced. A crash at any point leaves either
  /// the old file or the new one. `mode` applies to new files; an existing file keeps its mode
  /// unless `forceMode` is set. With `noClobber` the file is put in place with link(2), which fails
  /// rather than replace a file that appeared meanwhile.
  public static func writeAtomically(
    _ path: String, mode: mode_t, forceMode: Bool = false, noClobber: Bool = false,
    _ contents: (Int32) throws(KeywardError) -> Void
  ) throws(KeywardError) {
    let dir = Path.directory(path)
    let name = Path.name(path)
    let finalMode = forceMode ? mode : (self.mode(path) ?? mode)
    let tmp = "\(dir)/.\(name).tmp-\(getpid())-\(Sodium.hex(Sodium.randomBytes(4)))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, finalMode)
    guard fd >= 0 else { throw KeywardError(.io, "\(tmp): cannot create: \(errnoText())") }
    var ok = false
    defer {
      if !ok { unlink(tmp) }
    }
    do {
      defer { close(fd) }
      _ = fchmod(fd, finalMode)  // umask may have narrowed it
      try contents(fd)
      crashPoint("write-before-fsync")
      guard fsync(fd) == 0 else { throw KeywardError(.io, "\(tmp): fsync failed: \(errnoText())") }
    }
    crashPoint("write-before-rename")
    if noClobber {
      guard link(tmp, path) == 0 else {
        let e = errno
        throw KeywardError(
          .io,
          e == EEXIST
            ? "\(path) already exists; refusing to replace it" : "\(path): link failed: \(errnoText())")
      }
      unlink(tmp)
    } else {
      guard rename(tmp, path) == 0 else { throw KeywardError(.io, "\(path): rename failed: \(errnoText())") }
    }
    ok = true
    crashPoint("write-after-rename")
    let dfd = open(dir, O_RDONLY | O_CLOEXEC)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }

  /// Atomically writes non-secret bytes.
  public static func writeAtomically(
    _ path: String, bytes: [UInt8], mode: mode_t = 0o644, forceMode: Bool = false
  )
    throws(KeywardError)
  {
    try writeAtomically(path, mode: mode, forceMode: forceMode) { (fd: Int32) throws(KeywardError) in
      try writeAll(fd, bytes, path: path)
    }
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(KeywardError) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc_write(fd, $0.baseAddress! + offset, bytes.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        throw KeywardError(.io, "\(path): write failed: \(errnoText())")
      }
      offset += n
    }
  }

  /// Removes temporary files left by an interrupted write (`.NAME.tmp-PID-RAND`) whose process is
  /// gone. Called with the workspace lock held.
  static func removeStaleTemporaries(in dir: String) {
    for name in listDirectory(dir) where name.hasPrefix(".") && name.contains(".tmp-") {
      let parts = name.split(separator: "-")
      if parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid != getpid(),
        kill(pid, 0) != 0 && errno == ESRCH
      {
        unlink("\(dir)/\(name)")
      }
    }
  }
}

extension FileSystem {
  /// The names in a folder (without "." and ".."); empty if it cannot be read.
  public static func listDirectory(_ dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var names = [String]()
    while let entry = readdir(d) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
  }
}

/// An exclusive advisory lock (flock) on a directory, held until `unlock` or deinit.
public final class DirectoryLock {
  private var fd: Int32

  /// Waits for the lock on `dir`. Two keyward processes writing the same workspace take turns.
  public init(_ dir: String) throws(KeywardError) {
    fd = open(dir, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw KeywardError(.io, "\(dir): cannot open to lock: \(FileSystem.errnoText())") }
    while flock(fd, LOCK_EX) != 0 {
      if errno == EINTR { continue }
      close(fd)
      throw KeywardError(.io, "\(dir): cannot lock: \(FileSystem.errnoText())")
    }
  }

  public func unlock() {
    if fd >= 0 {
      close(fd)
      fd = -1
    }
  }

  deinit { unlock() }
}

@inline(__always)
func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
  #if canImport(Glibc)
    return Glibc.read(fd, p, n)
  #else
    return Darwin.read(fd, p, n)
  #endif
}
