import CFileSystem
import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// POSIX file operations with the guarantees keyward promises: atomic replacement, explicit modes,
/// an advisory lock per workspace, and reads of secret files straight into guarded memory.
public enum FileSystem {
  static func errnoText() -> String { String(cString: strerror(errno)) }

  /// What kind of file sits at a path, for messages: "a symbolic link", "a FIFO", …
  static func kindName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFLNK: return "a symbolic link"
    case S_IFIFO: return "a FIFO"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    case S_IFDIR: return "a folder"
    default: return "not a regular file"
    }
  }

  /// Opens a file keyward reads from the workspace or the key store. Those folders may come from a
  /// repository anyone can write to, so the file must be a regular file reached without following a
  /// symbolic link (a committed link survives `git clone` and can point anywhere on a reader's
  /// machine), and opening it never blocks (a FIFO would). Anything else is an input error (exit 2)
  /// naming the path, or `kind` when the caller says it is an integrity matter.
  public static func openRegular(
    _ path: String, flags: Int32 = O_RDONLY, create: mode_t? = nil, kind: KeywardError.Kind = .input
  ) throws(KeywardError) -> Int32 {
    try openRegularSized(path, flags: flags, create: create, kind: kind).fd
  }

  /// `openRegular`, with the file's size as fstat saw it.
  static func openRegularSized(
    _ path: String, flags: Int32 = O_RDONLY, create: mode_t? = nil, kind: KeywardError.Kind = .input
  ) throws(KeywardError) -> (fd: Int32, size: Int) {
    var f = flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
    if create != nil { f |= O_CREAT }
    Trace.note("\(flags & O_ACCMODE == O_RDONLY ? "read" : "open") \(path)")
    let fd = open(path, f, create ?? 0)
    guard fd >= 0 else {
      let e = errno
      if e == ENOENT { throw KeywardError(kind, "\(path): no such file") }
      var st = stat()
      if (e == ELOOP || e == ENXIO || e == EISDIR || e == EWOULDBLOCK), lstat(path, &st) == 0 {
        throw notRegular(path, st.st_mode, kind: kind)
      }
      throw KeywardError(kind, "\(path): cannot open: \(String(cString: strerror(e)))")
    }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      close(fd)
      throw KeywardError(.io, "\(path): stat failed: \(errnoText())")
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw notRegular(path, st.st_mode, kind: kind)
    }
    // Back to blocking I/O for the reads and writes that follow (a regular file never blocks long).
    // F_SETFL changes only the status flags (the access mode and creation flags in `f` are
    // ignored), so the flags opened with, less O_NONBLOCK, are the file's flags: no F_GETFL.
    _ = fcntl(fd, F_SETFL, f & ~O_NONBLOCK)
    return (fd, Int(st.st_size))
  }

  /// `read` of the regular file `name` in the folder open as `dir`, for the thousands of entry
  /// files a trail reader reads: one name is looked up (not every folder of a path), and what was
  /// opened says what it is (no lstat first). The same refusals as `openRegular`, naming `path`;
  /// nil when the file is larger than `limit` bytes.
  static func readRegular(in dir: Int32, _ name: String, path: String, limit: Int) throws(KeywardError)
    -> [UInt8]?
  {
    Trace.note("read \(path)")
    let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else {
      let e = errno
      if e == ENOENT { throw KeywardError(.input, "\(path): no such file") }
      var st = stat()
      if e == ELOOP || e == ENXIO || e == EISDIR || e == EWOULDBLOCK,
        fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0
      {
        throw notRegular(path, st.st_mode, kind: .input)
      }
      throw KeywardError(.input, "\(path): cannot open: \(String(cString: strerror(e)))")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw KeywardError(.io, "\(path): stat failed: \(errnoText())") }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw notRegular(path, st.st_mode, kind: .input) }
    // (O_NONBLOCK, which kept a FIFO from blocking the open, does nothing to a regular file's reads.)
    guard st.st_size <= limit else { return nil }
    return try readAll(fd, path: path, size: Int(st.st_size))
  }

  static func notRegular(_ path: String, _ mode: mode_t, kind: KeywardError.Kind) -> KeywardError {
    KeywardError(
      kind, "\(path) is \(kindName(mode)), not a regular file; keyward refuses to read or write through it",
      hint: "replace it with the real file (a link or special file in the workspace can point anywhere)")
  }

  /// Whether `path` lies on a local file system whose kernel sets a file's change time on every
  /// change, where no one without root can set it back: ext2/3/4, XFS, Btrfs, tmpfs, overlayfs,
  /// F2FS, ZFS, bcachefs (APFS and HFS+ on macOS). Network and FUSE file systems are not (NFS
  /// caches attributes, an SMB server or ntfs-3g lets a writer set the time, sshfs makes it up).
  /// This machine's records keyed by a file's identity (`VerifiedSegments`, `VerifiedDeploy`) are
  /// kept and used only where this holds.
  public static func keepsChangeTimes(_ path: String) -> Bool {
    #if canImport(Darwin)
      var fs = statfs()
      guard statfs(path, &fs) == 0 else { return false }
      let name = withUnsafeBytes(of: fs.f_fstypename) {
        String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
      }
      return name == "apfs" || name == "hfs"
    #else
      let local: Set<Int64> = [
        0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630, 0xF2F5_2010, 0x2FC1_2FC1, 0xCA45_1A4E,
      ]
      return local.contains(Int64(keyward_fs_magic(path)))
    #endif
  }

  /// Whether `path` is something other than a regular file (a link, FIFO, device, socket or folder),
  /// looked at without following it; nil when nothing is there.
  public static func irregularKind(_ path: String) -> String? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return (st.st_mode & S_IFMT) == S_IFREG ? nil : kindName(st.st_mode)
  }

  /// Reads a whole non-secret file of the workspace or key store: a regular file only, never
  /// through a symbolic link (`openRegular`). `limit`: a larger file is refused before any of it
  /// is read (a writer's 3 GB environment file, sparse and a few bytes in git, made every command
  /// hold 3 GB and fail on JSON).
  public static func read(_ path: String, limit: Limit? = nil) throws(KeywardError) -> [UInt8] {
    let (fd, size) = try openRegularSized(path)
    defer { close(fd) }
    if let limit, size > limit.bytes {
      throw KeywardError(
        limit.kind,
        "\(path) is \(size) bytes, larger than \(limit.what) can be (\(limit.bytes) bytes): it is not one",
        hint: "restore it from version control, and find out who committed it")
    }
    return try readAll(fd, path: path, size: size)
  }

  /// The size a file of one kind can have, what the refusal calls it, and the refusal's kind.
  public struct Limit: Sendable {
    public var bytes: Int
    public var what: String
    public var kind: KeywardError.Kind

    public init(_ bytes: Int, _ what: String = "a file of its kind", kind: KeywardError.Kind = .input) {
      self.bytes = bytes
      self.what = what
      self.kind = kind
    }

    /// A workspace document keyward reads whole (`keyward.json`, an environment file, a wraps
    /// file): far above any it writes, and far below what a runner can hold.
    public static let document = Limit(64 << 20)
  }

  /// `read`, or nil when nothing is at `path`. Whether anything is there is asked only when the
  /// read fails (every report reads thousands of files that are there: one lstat fewer each); a
  /// link, FIFO or unreadable file there is still the read's error.
  public static func readIfPresent(_ path: String, limit: Limit? = nil) throws(KeywardError) -> [UInt8]? {
    do { return try read(path, limit: limit) } catch {
      guard exists(path) else { return nil }
      throw error
    }
  }

  /// Reads a file the person running keyward named (`--html FILE`, `--urls FILE`): links are
  /// followed and pipes read, as any command-line tool does; `-` is standard input.
  public static func readInput(_ path: String) throws(KeywardError) -> [UInt8] {
    if path == "-" { return try readAll(0, path: "standard input") }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let e = errno
      if e == ENOENT { throw KeywardError(.input, "\(path): no such file") }
      throw KeywardError(.io, "\(path): cannot open: \(String(cString: strerror(e)))")
    }
    defer { close(fd) }
    if isDirectory(path) { throw KeywardError(.input, "\(path) is a folder, not a file") }
    return try readAll(fd, path: path)
  }

  /// Reads to the end of `fd` into one buffer sized from `size` (fstat's, when not given) with a
  /// spare byte, so a file read whole sees its end without growing or copying (3,000 environment
  /// files are read by every report).
  static func readAll(_ fd: Int32, path: String, size: Int? = nil) throws(KeywardError) -> [UInt8] {
    var expected = size ?? 0
    if size == nil {
      var st = stat()
      if fstat(fd, &st) == 0 { expected = Int(st.st_size) }
    }
    // Read into the array's own uninitialised storage (zeroing a 3 MB buffer first cost more
    // than reading into it); only a file that grew past its size is read further, below.
    var failure: Int32 = 0
    var ended = false
    var out = [UInt8](unsafeUninitializedCapacity: max(expected, 0) + 1) { buffer, initialized in
      while initialized < buffer.count {
        let n = Glibc_read(fd, buffer.baseAddress! + initialized, buffer.count - initialized)
        if n < 0 {
          if errno == EINTR { continue }
          failure = errno
          return
        }
        if n == 0 {
          ended = true
          return
        }
        initialized += n
      }
    }
    if failure != 0 {
      errno = failure
      throw KeywardError(.io, "\(path): read failed: \(errnoText())")
    }
    if ended { return out }
    var count = out.count
    while true {
      if count == out.count { out.append(contentsOf: repeatElement(0, count: max(4096, out.count))) }
      let n = out.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress! + count, $0.count - count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw KeywardError(.io, "\(path): read failed: \(errnoText())")
      }
      if n == 0 { break }
      count += n
    }
    out.removeLast(out.count - count)
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

  /// Opens and reads a secret file.
  ///
  /// With `requirePrivate` (key files of the key store) the file must be a regular file reached
  /// without a symbolic link, owned by this user and not accessible by group or others, as ssh
  /// requires of private keys; a file that cannot be opened is then an integrity error (exit 4: the
  /// key is missing). Without it (a file the person running keyward named) links are followed,
  /// pipes are read and `-` is standard input; a regular file is still refused when others can read
  /// it and `privateIfRegular` is set (a passphrase file).
  public static func readSecret(
    path: String, requirePrivate: Bool, privateIfRegular: Bool = false, label: String = "passphrase file"
  )
    throws(KeywardError) -> SecureBytes
  {
    if path == "-" && !requirePrivate { return try readSecret(fd: 0, source: "standard input") }
    let fd: Int32
    if requirePrivate {
      fd = try openRegular(path, kind: .integrity)
    } else {
      fd = open(path, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else {
        let e = errno
        if e == ENOENT { throw KeywardError(.input, "\(path): no such file") }
        throw KeywardError(.input, "\(path): cannot open: \(String(cString: strerror(e)))")
      }
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw KeywardError(.io, "\(path): stat failed: \(errnoText())") }
    if requirePrivate || (privateIfRegular && (st.st_mode & S_IFMT) == S_IFREG) {
      try requireOwnerOnly(path, st, what: requirePrivate ? "private key file" : label)
    }
    return try readSecret(fd: fd, source: path)
  }

  /// Reads a file of the workspace that may hold secrets (a stray file `check` looks into): a
  /// regular file only, never through a link, into guarded memory.
  public static func readRegularSecret(_ path: String) throws(KeywardError) -> SecureBytes {
    let fd = try openRegular(path)
    defer { close(fd) }
    return try readSecret(fd: fd, source: path)
  }

  /// Reads a small non-secret file of the key store that must be this user's alone (a pin): a
  /// regular file, no link, owned by the user, not open to group or others.
  public static func readPrivate(_ path: String) throws(KeywardError) -> [UInt8] {
    let fd = try openRegular(path, kind: .integrity)
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw KeywardError(.io, "\(path): stat failed: \(errnoText())") }
    try requireOwnerOnly(path, st, what: "key store file")
    return try readAll(fd, path: path)
  }

  /// Refuses a file (or folder) that another user owns or that group or others may use.
  static func requireOwnerOnly(_ path: String, _ st: stat, what: String) throws(KeywardError) {
    let mode = st.st_mode & 0o777
    if st.st_uid != geteuid() {
      throw KeywardError(
        .integrity,
        "UNPROTECTED \(what.uppercased()): '\(path)' is owned by uid \(st.st_uid), not by you (uid \(geteuid())); it will be ignored.",
        hint: "chown \(geteuid()) '\(path)'")
    }
    if mode & 0o077 != 0 {
      throw KeywardError(
        .integrity,
        "UNPROTECTED \(what.uppercased()): permissions \(octal(mode)) for '\(path)' are too open; "
          + "a \(what) must not be accessible by group or others. It will be ignored.",
        hint: "chmod \(what.hasSuffix("folder") ? "700" : "600") '\(path)'")
    }
  }

  /// Refuses a key-store folder that is not this user's alone (anyone who can write it can swap
  /// the key files in it).
  public static func requirePrivateDirectory(_ path: String) throws(KeywardError) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    guard (st.st_mode & S_IFMT) == S_IFDIR else {
      throw KeywardError(.integrity, "\(path) is \(kindName(st.st_mode)), not a folder of the key store")
    }
    try requireOwnerOnly(path, st, what: "key store folder")
  }

  static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }

  /// The permission bits of a file, or nil if it does not exist.
  public static func mode(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & 0o7777
  }

  /// Whether anything is at `path`, a symbolic link included (even one that points nowhere: a
  /// planted link must be noticed, not taken for a missing file).
  public static func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
  }

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
    syncDirectory(Path.directory(to))
  }

  /// Atomically replaces `path` with `contents`: a temporary file in the same folder, written,
  /// fsynced, renamed over the target, and the folder fsynced. A crash at any point leaves either
  /// the old file or the new one. `mode` applies to new files; an existing file keeps its mode
  /// unless `forceMode` is set. With `noClobber` the file is put in place with link(2), which fails
  /// rather than replace a file that appeared meanwhile.
  public static func writeAtomically(
    _ path: String, mode: mode_t, forceMode: Bool = false, noClobber: Bool = false, crashLabel: String = "",
    _ contents: (Int32) throws(KeywardError) -> Void
  ) throws(KeywardError) {
    let file = try StagedFile(path, mode: mode, forceMode: forceMode, contents)
    crashPoint(crashLabel + "write-before-fsync")
    try file.sync()
    crashPoint(crashLabel + "write-before-rename")
    try file.install(noClobber: noClobber)
    crashPoint(crashLabel + "write-after-rename")
    syncDirectory(Path.directory(path))
  }

  /// Creates the temporary file `path` is written through: `.NAME.tmp-PID-RANDOM` in the same
  /// folder, new (O_EXCL), with `mode` whatever the umask.
  static func openTemporary(for path: String, mode: mode_t) throws(KeywardError) -> (path: String, fd: Int32)
  {
    let dir = Path.directory(path)
    let tmp = "\(dir)/.\(Path.name(path)).tmp-\(getpid())-\(Sodium.hex(Sodium.randomBytes(4)))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else {
      // Said of the file the person named, not of the temporary file beside it.
      let e = errno
      if e == ENOENT { throw KeywardError(.io, "cannot write \(path): the folder \(dir) does not exist") }
      if e == EACCES || e == EROFS {
        throw KeywardError(
          .io, "cannot write \(path): the folder \(dir) is not writable (\(String(cString: strerror(e))))")
      }
      throw KeywardError(.io, "cannot write \(path): \(String(cString: strerror(e)))")
    }
    _ = fchmod(fd, mode)  // umask may have narrowed it
    return (tmp, fd)
  }

  /// fsyncs a folder, so that the names created, renamed or removed in it so far are durable.
  /// False when it could not be opened or synced.
  @discardableResult
  public static func syncDirectory(_ dir: String) -> Bool {
    let dfd = open(dir, O_RDONLY | O_CLOEXEC)
    guard dfd >= 0 else { return false }
    defer { close(dfd) }
    return fsync(dfd) == 0
  }

  /// Atomically writes non-secret bytes.
  public static func writeAtomically(
    _ path: String, bytes: [UInt8], mode: mode_t = 0o644, forceMode: Bool = false, crashLabel: String = ""
  )
    throws(KeywardError)
  {
    try writeAtomically(path, mode: mode, forceMode: forceMode, crashLabel: crashLabel) {
      (fd: Int32) throws(KeywardError) in
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
  /// gone: in the workspace, with its lock held; in the key store's record folders, which other
  /// processes may be writing to at the time (a running process's temporary file stays).
  static func removeStaleTemporaries(in dir: String) {
    for name in dotNames(dir) where name.contains(".tmp-") {
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
  /// The path with every link and `..` resolved; nil when it does not resolve.
  public static func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
  }

  /// What a symbolic link points at (its text, not followed); nil when `path` is not a link.
  public static func linkTarget(_ path: String) -> String? {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBufferPointer { b in
      b.withMemoryRebound(to: CChar.self) { readlink(path, $0.baseAddress!, $0.count) }
    }
    guard n >= 0 else { return nil }
    return String(decoding: buf[0..<n], as: UTF8.self)
  }

  /// Each name in a folder that is not a regular file, with what it is (as `irregularKind` says).
  /// Names not there are not listed. nil when the folder cannot be read.
  public static func irregularEntries(_ dir: String) -> [String: String]? {
    guard let entries = listDirectoryKinds(dir) else { return nil }
    var out = [String: String]()
    for e in entries { if let kind = e.kind { out[e.name] = kind } }
    return out
  }

  /// The names in a folder, sorted, each with what `irregularKind` says of it (nil: a regular
  /// file), read from the folder's entries in one pass: an lstat only for an entry the file system
  /// does not type as a regular file (thousands of environment and trust files are listed by every
  /// `check`). nil when the folder cannot be read.
  public static func listDirectoryKinds(_ dir: String) -> [(name: String, kind: String?)]? {
    guard let d = opendir(dir) else { return nil }
    defer { closedir(d) }
    var out = [(name: String, kind: String?)]()
    while let entry = readdir(d) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name == "." || name == ".." { continue }
      // The kind from the entry's type (DTTOIF: the type is the mode's format bits), or from an
      // lstat of its raw name where the file system gives none: a name that is not UTF-8 (decoded
      // lossily above) is still a link or FIFO.
      var mode = mode_t(entry.pointee.d_type) << 12
      if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
        var st = stat()
        let found = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          fstatat(dirfd(d), raw.baseAddress!.assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW)
            == 0
        }
        mode = found ? st.st_mode : S_IFREG  // gone since it was listed: its read will say so
      }
      let kind = (mode & S_IFMT) == S_IFREG ? nil : kindName(mode)
      out.append((name, kind))
    }
    return out.sorted { $0.name < $1.name }
  }

  /// The names in a folder that start with a dot (without "." and ".."), in the folder's order:
  /// only those are made strings (a workspace folder holds thousands of environment files, which
  /// every write's sweep of temporary files passes over).
  static func dotNames(_ dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var names = [String]()
    while let entry = readdir(d) {
      withUnsafeBytes(of: entry.pointee.d_name) { raw in
        guard raw[0] == 0x2e else { return }
        let name = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        if name != "." && name != ".." { names.append(name) }
      }
    }
    return names
  }

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
  /// `shared`: the lock of a reader that compares the trail with the environment files (`audit`,
  /// the offline `check`): it waits for a writer to finish, and writers wait for it, so it never
  /// pairs one write's trail entry with the files from before it (or the other way round). A
  /// process holding it must not take the exclusive lock (flock would make it wait for itself).
  public init(_ dir: String, shared: Bool = false) throws(KeywardError) {
    fd = open(dir, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw KeywardError(.io, "\(dir): cannot open to lock: \(FileSystem.errnoText())") }
    while flock(fd, shared ? LOCK_SH : LOCK_EX) != 0 {
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

/// A file written in full beside its target now and put in place later (`install`): the one way
/// keyward writes a file whole. `FileSystem.writeAtomically` syncs, installs and syncs the folder
/// in one go; `Trail.write` orders those steps across its three files so that only the entry is
/// synced (see Decisions). Until it is installed nothing but a temporary file (`.NAME.tmp-…`,
/// which every reader skips) exists; one never installed is deleted.
public final class StagedFile {
  public let path: String
  let tmp: String
  private var fd: Int32
  private var installed = false

  /// `mode` applies to a new file; an existing one keeps its mode unless `forceMode` is set.
  public init(
    _ path: String, mode: mode_t, forceMode: Bool = false, _ contents: (Int32) throws(KeywardError) -> Void
  ) throws(KeywardError) {
    Trace.note("write \(path)")
    (tmp, fd) = try FileSystem.openTemporary(
      for: path, mode: forceMode ? mode : (FileSystem.mode(path) ?? mode))
    self.path = path
    try contents(fd)
  }

  public convenience init(_ path: String, mode: mode_t, forceMode: Bool = false, bytes: [UInt8])
    throws(KeywardError)
  {
    try self.init(path, mode: mode, forceMode: forceMode) { (fd: Int32) throws(KeywardError) in
      try FileSystem.writeAll(fd, bytes, path: path)
    }
  }

  /// Makes the bytes durable (fsync) and closes the file. Before `install` when the file must
  /// never be found in place but empty after a power loss.
  public func sync() throws(KeywardError) {
    guard fd >= 0 else { return }
    defer {
      close(fd)
      fd = -1
    }
    guard fsync(fd) == 0 else { throw KeywardError(.io, "\(tmp): fsync failed: \(FileSystem.errnoText())") }
  }

  /// Renames the file over `path`; with `noClobber`, puts it there with link(2), which fails rather
  /// than replace a file that appeared meanwhile. The folder is not synced: the caller says when
  /// (`FileSystem.syncDirectory`).
  public func install(noClobber: Bool = false) throws(KeywardError) {
    if fd >= 0 {
      close(fd)
      fd = -1
    }
    if noClobber {
      guard link(tmp, path) == 0 else {
        let e = errno
        throw KeywardError(
          .io,
          e == EEXIST
            ? "\(path) already exists; refusing to replace it"
            : "\(path): link failed: \(FileSystem.errnoText())")
      }
      unlink(tmp)
    } else {
      guard rename(tmp, path) == 0 else {
        throw KeywardError(.io, "\(path): rename failed: \(FileSystem.errnoText())")
      }
    }
    installed = true
  }

  /// `install` for a file whose bytes a power cut may take (one never synced: this machine's seen
  /// heads). Over a regular file the two names are swapped (renameat2 RENAME_EXCHANGE) and the
  /// old bytes, now under the temporary name, removed: readers see the old file or the new one,
  /// as with rename, but ext4 does not start writing the new bytes out at once, which it does
  /// when a file is renamed over another (its auto_da_alloc heuristic; 0.15 to 0.3 ms of an
  /// export here, README Decisions). A rename where the swap cannot be had.
  public func installLazily() throws(KeywardError) {
    if fd >= 0 {
      close(fd)
      fd = -1
    }
    var st = stat()
    if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, keyward_exchange_names(tmp, path) == 0 {
      installed = true
      unlink(tmp)
      return
    }
    try install()
  }

  deinit {
    if fd >= 0 { close(fd) }
    if !installed { unlink(tmp) }
  }
}
