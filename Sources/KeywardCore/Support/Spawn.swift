#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs a child process with posix_spawn: standard input from bytes, standard output and error
/// captured together, in the caller's working directory. Used by the demo to run keyward as a
/// user would.
public enum Spawn {
  public struct Result: Sendable {
    public var status: Int32
    /// Standard output, and standard error with it unless it was asked for apart.
    public var output: [UInt8]
    /// Standard error, when asked for apart (`separateErrors`).
    public var errors: [UInt8] = []
  }

  /// `separateErrors`: standard error in `errors`, never in `output`. Output that is parsed must
  /// be asked for so: git writes warnings to standard error at any point (a writer's tag named
  /// HEAD makes every `git log HEAD` warn that the name is ambiguous), and one in front of
  /// `git log -z`'s first field made the history unreadable.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String], input: [UInt8],
    separateErrors: Bool = false
  ) throws(KeywardError) -> Result {
    var inPipe: [Int32] = [0, 0]
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [-1, -1]
    guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, !separateErrors || pipe(&errPipe) == 0 else {
      throw KeywardError(.io, "cannot create a pipe: \(FileSystem.errnoText())")
    }
    var pid: pid_t = 0
    let rc = spawn(executable, arguments, environment: environment, pid: &pid) { actions in
      posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
      posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
      posix_spawn_file_actions_adddup2(&actions, separateErrors ? errPipe[1] : outPipe[1], 2)
      for fd in inPipe + outPipe + errPipe where fd >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
    }
    close(inPipe[0])
    close(outPipe[1])
    if separateErrors { close(errPipe[1]) }
    guard rc == 0 else {
      close(inPipe[1])
      close(outPipe[0])
      if separateErrors { close(errPipe[0]) }
      throw KeywardError(.io, "cannot run \(executable): \(String(cString: strerror(rc)))")
    }
    // The input is written as the child takes it while both outputs are read (poll): a child that
    // answers as it reads (`git check-attr --stdin`) fills its output pipe before it has read a
    // large input, and writing all of it first hung `audit` at about 1,000 trail entry files.
    // SIGPIPE is held back on this thread while writing: a child that exits without reading all
    // of its input ends the writing (EPIPE), not keyward.
    var inFD: Int32 = inPipe[1]
    var written = 0
    if input.isEmpty {
      close(inFD)
      inFD = -1
    } else {
      _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK)
    }
    var output = [UInt8]()
    var errors = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 16384)
    var open = separateErrors ? [outPipe[0], errPipe[0]] : [outPipe[0]]
    while !open.isEmpty || inFD >= 0 {
      var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
      if poll(&fds, nfds_t(fds.count), -1) < 0 {
        if errno == EINTR { continue }
        break
      }
      for p in fds where p.revents != 0 {
        if p.fd == inFD {
          var done = p.revents & Int16(POLLOUT) == 0  // POLLERR: the child closed its input
          if !done {
            let n = Self.writeWithoutSIGPIPE(inFD, input, from: written)
            if n > 0 {
              written += n
            } else if n < 0 && errno != EAGAIN && errno != EINTR {
              done = true
            }
          }
          if done || written == input.count {
            close(inFD)
            inFD = -1
          }
          continue
        }
        let n = chunk.withUnsafeMutableBytes { Glibc_read(p.fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 {
          open.removeAll { $0 == p.fd }
          continue
        }
        if p.fd == outPipe[0] {
          output.append(contentsOf: chunk[0..<n])
        } else {
          errors.append(contentsOf: chunk[0..<n])
        }
      }
    }
    close(outPipe[0])
    if separateErrors { close(errPipe[0]) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exited = (status & 0x7f) == 0
    return Result(
      status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output, errors: errors)
  }
}

extension Spawn {
  /// `write` of `bytes[from...]` to a pipe, with SIGPIPE blocked on this thread for the call and a
  /// SIGPIPE it raised taken back: EPIPE then says the reader is gone. errno is the write's.
  static func writeWithoutSIGPIPE(_ fd: Int32, _ bytes: [UInt8], from: Int) -> Int {
    var pipeSignal = sigset_t()
    sigemptyset(&pipeSignal)
    sigaddset(&pipeSignal, SIGPIPE)
    var before = sigset_t()
    pthread_sigmask(SIG_BLOCK, &pipeSignal, &before)
    let n = bytes.withUnsafeBytes { Glibc_write(fd, $0.baseAddress! + from, bytes.count - from) }
    let e = errno
    if n < 0 && e == EPIPE {
      var zero = timespec(tv_sec: 0, tv_nsec: 0)
      _ = sigtimedwait(&pipeSignal, nil, &zero)
    }
    pthread_sigmask(SIG_SETMASK, &before, nil)
    errno = e
    return n
  }
}

extension Spawn {
  /// A child process left running, its standard output on a pipe (the demo's emulator).
  public final class Background: @unchecked Sendable {
    public let pid: pid_t
    let stdout: Int32

    init(pid: pid_t, stdout: Int32) {
      self.pid = pid
      self.stdout = stdout
    }

    /// The next line of its standard output (without the newline), or nil at end of file.
    public func readLine() -> String? {
      var line = [UInt8]()
      var byte: UInt8 = 0
      while true {
        let n = Glibc_read(stdout, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
        if byte == 0x0a { return String(decoding: line, as: UTF8.self) }
        line.append(byte)
      }
    }

    /// Stops it (SIGTERM, then SIGKILL after a second) and reaps it.
    public func stop() {
      kill(pid, SIGTERM)
      var status: Int32 = 0
      for _ in 0..<20 {
        if waitpid(pid, &status, WNOHANG) == pid {
          close(stdout)
          return
        }
        usleep(50_000)
      }
      kill(pid, SIGKILL)
      _ = waitpid(pid, &status, 0)
      close(stdout)
    }
  }

  /// Starts a child with standard output on a pipe and standard error discarded; standard input
  /// from `stdin` when given (a descriptor the child reads from the start), else inherited.
  public static func background(
    _ executable: String, _ arguments: [String], environment: [String: String], stdin: Int32? = nil
  ) throws(KeywardError) -> Background {
    var outPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0 else {
      throw KeywardError(.io, "cannot create a pipe: \(FileSystem.errnoText())")
    }
    var pid: pid_t = 0
    let rc = spawn(executable, arguments, environment: environment, pid: &pid) { actions in
      if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
      posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
      posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
      posix_spawn_file_actions_addclose(&actions, outPipe[0])
      posix_spawn_file_actions_addclose(&actions, outPipe[1])
    }
    close(outPipe[1])
    guard rc == 0 else {
      close(outPipe[0])
      throw KeywardError(.io, "cannot run \(executable): \(String(cString: strerror(rc)))")
    }
    return Background(pid: pid, stdout: outPipe[0])
  }
}

#if canImport(Glibc)
  typealias SpawnFileActions = posix_spawn_file_actions_t
#else
  typealias SpawnFileActions = posix_spawn_file_actions_t?
#endif

extension Spawn {
  /// posix_spawn with the file actions `configure` sets up; argv and envp are built and freed
  /// here. Returns posix_spawn's result (0, or an errno value).
  static func spawn(
    _ executable: String, _ arguments: [String], environment: [String: String], pid: inout pid_t,
    configure: (inout SpawnFileActions) -> Void
  ) -> Int32 {
    #if canImport(Glibc)
      var actions = posix_spawn_file_actions_t()
    #else
      var actions: posix_spawn_file_actions_t? = nil
    #endif
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    configure(&actions)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for p in argv { free(p) }
      for p in envp { free(p) }
    }
    return posix_spawn(&pid, executable, &actions, nil, argv, envp)
  }
}

/// git, asked by keyward in a few places off the hot path (is a file ignored, what does history
/// say). One way to run it: `/usr/bin/env git -C DIR …` with only the variables git needs.
enum Git {
  /// Runs git in `dir`; nil when it could not be run at all. Its standard error is kept apart
  /// (`Result.errors`): only standard output is parsed.
  static func run(_ args: [String], in dir: String, input: [UInt8] = []) -> Spawn.Result? {
    try? Spawn.run(
      executable.path, executable.prefix + ["-C", dir] + args, environment: environment, input: input,
      separateErrors: true)
  }

  /// git's path, looked up in PATH once as `env` would: a deploy that asks git twice saves an exec
  /// of `env` each time. `/usr/bin/env git` when no PATH entry has one (env then says so).
  static let executable: (path: String, prefix: [String]) = {
    for dir in (Env.process["PATH"] ?? "").split(separator: ":", omittingEmptySubsequences: false) {
      let p = (dir.isEmpty ? "." : String(dir)) + "/git"
      if access(p, X_OK) == 0, !FileSystem.isDirectory(p) { return (p, []) }
    }
    return ("/usr/bin/env", ["git"])
  }()

  /// The variables git needs, and the repository git itself chose when it runs keyward from a
  /// hook: `git commit -a` and `git commit -- PATH` stage into a temporary index named by
  /// GIT_INDEX_FILE. Relative paths are made absolute here, because `-C` changes git's folder.
  static var environment: [String: String] {
    // Replacement refs (refs/replace/*, which a mirror fetch brings) would let a writer show
    // keyward another commit in place of one in history: keyward reads the objects themselves.
    var env = ["GIT_NO_REPLACE_OBJECTS": "1"]
    for k in ["PATH", "HOME", "XDG_CONFIG_HOME"] { env[k] = Env.process[k] }
    for k in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY"] {
      guard let v = Env.process.nonEmpty(k) else { continue }
      env[k] = v.hasPrefix("/") ? v : ExportOperation.absolute(v)
    }
    return env
  }

  /// The `.git` in `dir` or the nearest folder above it ("" when GIT_DIR names the repository),
  /// or nil: a deploy outside git starts no git at all.
  static func dotGit(_ dir: String) -> String? {
    if Env.process.nonEmpty("GIT_DIR") != nil { return "" }
    var d = Trust.realPath(dir)
    while true {
      if FileSystem.exists(d + "/.git") { return d + "/.git" }
      guard let slash = d.lastIndex(of: "/"), d != "/" else { return nil }
      d = slash == d.startIndex ? "/" : String(d[..<slash])
    }
  }

  /// Whether a `.git` file says its repository is a submodule's (`gitdir: …/modules/NAME`; a
  /// worktree's says `…/worktrees/NAME`).
  static func isSubmodule(_ dotGit: String) -> Bool {
    guard !dotGit.isEmpty, !FileSystem.isDirectory(dotGit), let bytes = try? FileSystem.read(dotGit) else {
      return false
    }
    return String(decoding: bytes.prefix(4096), as: UTF8.self).contains("/modules/")
  }

  /// The first symbolic link on the path to `dir` (as given, made absolute from PWD when that is
  /// this process's folder) that lies inside the
  /// repository whose top folder is `top`, or nil. Links above the repository (`/tmp` on macOS)
  /// do not count.
  static func linkInside(_ dir: String, top: String) -> String? {
    let realTop = Trust.realPath(top)
    // A relative path starts where the shell says it is (`cd infra` through a link leaves PWD on
    // the link, while the process's own directory is already the real folder).
    let cwd = AuditLog.currentDirectory()
    let base =
      Env.process.nonEmpty("PWD").flatMap { Trust.realPath($0) == Trust.realPath(cwd) ? $0 : nil } ?? cwd
    let absolute = dir.hasPrefix("/") ? dir : base + "/" + dir
    var prefix = ""
    for part in absolute.split(separator: "/") {
      let parent = prefix.isEmpty ? "/" : prefix
      prefix += "/" + part
      let real = Trust.realPath(parent)
      guard real == realTop || real.hasPrefix(realTop + "/") else { continue }
      if FileSystem.irregularKind(prefix) == "a symbolic link" { return prefix }
    }
    return nil
  }

  /// Whether the repository holding `dir`, whose `.git` is `git` (`dotGit`), is a shallow clone:
  /// its `shallow` file when `.git` is the repository's folder, git asked otherwise (a worktree, a
  /// submodule, GIT_DIR).
  static func isShallow(_ dir: String, dotGit git: String) -> Bool {
    if !git.isEmpty, FileSystem.isDirectory(git) { return FileSystem.exists(git + "/shallow") }
    return output(["rev-parse", "--is-shallow-repository"], in: dir)?.hasPrefix("true") == true
  }

  /// One change `git log --raw --no-abbrev --no-renames -z` lists.
  struct RawChange {
    var oldBlob: String
    var newBlob: String
    var status: Character
    var path: String
  }

  /// The sections of `git log --format='commit …' --raw --no-abbrev --no-renames -z` output: each
  /// header's text after "commit ", and the changes listed under it. Fields end in NUL: the
  /// header, then per change "\n:<modes> <blobs> <status>" and its path as it is (with `-z` git
  /// quotes no name; without it, a name with a quote, a backslash or a tab came back quoted and
  /// matched nothing). Nil when a change is not described as such a listing describes one.
  static func rawLog(_ output: [UInt8]) -> [(header: String, changes: [RawChange])]? {
    var sections = [(header: String, changes: [RawChange])]()
    var meta: [Substring]?  // the change whose path comes next
    for field in output.split(separator: 0, omittingEmptySubsequences: true) {
      if let m = meta {
        // A path is taken whole (a name may start with a newline).
        meta = nil
        guard !sections.isEmpty, let status = m[4].first else { return nil }
        sections[sections.count - 1].changes.append(
          RawChange(
            oldBlob: String(m[2]), newBlob: String(m[3]), status: status,
            path: String(decoding: field, as: UTF8.self)))
        continue
      }
      var f = field[...]
      while f.first == 0x0a { f = f.dropFirst() }
      let text = String(decoding: f, as: UTF8.self)
      if text.hasPrefix("commit ") {
        sections.append((String(text.dropFirst(7)), []))
      } else if text.hasPrefix(":") {
        let m = text.dropFirst().split(separator: " ")
        guard m.count == 5 else { return nil }
        meta = m
      }
    }
    return sections
  }

  /// git's standard output when it succeeded, else nil (not a repository, no git).
  static func output(_ args: [String], in dir: String) -> String? {
    guard let r = run(args, in: dir), r.status == 0 else { return nil }
    return String(decoding: r.output, as: UTF8.self)
  }
}
