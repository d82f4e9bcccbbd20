import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Terminal helpers: TTY detection and a no-echo prompt that reads into guarded memory.
public enum Terminal {
  public static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

  /// Prints `prompt` on /dev/tty and reads one line with echo off (`echo`: on, for a value that is
  /// public, like an App Key). Fails when there is no terminal, with `noTerminal` as the hint: the
  /// option of the asking command that does without one; and when the person ends the input
  /// (Ctrl-D) instead of answering.
  public static func readHidden(
    _ prompt: String, noTerminal: String, echo: Bool = false
  ) throws(KeywardError) -> SecureBytes {
    let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else {
      throw KeywardError(.input, "cannot prompt: no terminal", hint: noTerminal)
    }
    defer { close(fd) }
    var old = termios()
    let haveTermios = !echo && tcgetattr(fd, &old) == 0
    if haveTermios {
      var quiet = old
      quiet.c_lflag &= ~tcflag_t(ECHO)
      quiet.c_lflag |= tcflag_t(ECHONL)
      _ = tcsetattr(fd, TCSAFLUSH, &quiet)
    }
    defer { if haveTermios { _ = tcsetattr(fd, TCSAFLUSH, &old) } }
    var p = prompt
    p.withUTF8 { _ = Glibc_write(fd, $0.baseAddress!, $0.count) }
    let out = SecureBytes(capacity: 128)
    var byte: UInt8 = 0
    while true {
      let n = Glibc_read(fd, &byte, 1)
      if n < 0 && errno == EINTR { continue }
      if n == 0 && out.count == 0 {
        if !echo { _ = Glibc_write(fd, "\n", 1) }
        throw KeywardError(.input, "cancelled at the prompt (end of input)")
      }
      if n <= 0 || byte == 0x0a { break }
      out.append(byte)
    }
    byte = 0
    if out.count > 0 && out[out.count - 1] == 0x0d { out.truncate(to: out.count - 1) }
    return out
  }
}

extension Terminal {
  /// Prints `prompt` on /dev/tty and reads one visible line (nil without a terminal or at EOF).
  public static func ask(_ prompt: String) -> String? {
    let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var p = prompt
    p.withUTF8 { _ = Glibc_write(fd, $0.baseAddress!, $0.count) }
    var line = [UInt8]()
    var byte: UInt8 = 0
    while line.count < 256 {
      let n = Glibc_read(fd, &byte, 1)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
      if byte == 0x0a { break }
      line.append(byte)
    }
    return String(decoding: line, as: UTF8.self)
  }
}

/// Memory handed back to the system once freed (glibc otherwise keeps, at the top of its heap,
/// up to twice the largest block a command freed): peak resident memory is what a command uses,
/// not what it once used (`audit --full` at 300,000 entries: 64-69 MB before, 62-63 MB after).
public enum ProcessMemory {
  public static func returnFreed() { keyward_return_freed_memory() }
}

/// Process hardening done once at start: no core dumps (they would hold decrypted secrets), not
/// dumpable.
public enum ProcessHardening {
  /// The core-dump limit the process started with, restored for a program `keyward run` execs.
  nonisolated(unsafe) private static var original = rlimit(rlim_cur: 0, rlim_max: 0)

  /// Lowers the soft limit only: a process without privileges could never raise a lowered hard
  /// limit again for the program `keyward run` execs.
  public static func apply() {
    // Not dumpable: no core file, and no other process of this user may ptrace it or read its
    // memory through /proc. execve gives the next program its normal setting back.
    _ = keyward_set_nondumpable()
    #if os(Linux)
      _ = getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &original)
      var limit = rlimit(rlim_cur: 0, rlim_max: original.rlim_max)
      _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
    #else
      _ = getrlimit(RLIMIT_CORE, &original)
      var limit = rlimit(rlim_cur: 0, rlim_max: original.rlim_max)
      _ = setrlimit(RLIMIT_CORE, &limit)
    #endif
  }

  /// Whether the process may be dumped or ptraced (false after `apply`).
  public static var isDumpable: Bool { keyward_is_dumpable() != 0 }

  /// Gives the next exec'd program the core-dump limit keyward was started with (setrlimit
  /// survives exec); possible unprivileged because only the soft limit was lowered.
  public static func restoreForExec() {
    var limit = rlimit(rlim_cur: original.rlim_cur, rlim_max: original.rlim_max)
    #if os(Linux)
      _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
    #else
      _ = setrlimit(RLIMIT_CORE, &limit)
    #endif
  }
}
