import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A growable byte buffer for secrets, held in libsodium-guarded memory.
///
/// The storage is libsodium-guarded memory (`sodium_malloc`: guard pages, `mlock`, excluded from
/// core dumps where the system allows), from the process's `GuardedPool` or an allocation of its
/// own, and is wiped when released in `deinit`. A Swift `[UInt8]` or
/// `String` can be copied behind your back by copy-on-write and is never wiped, so secrets never
/// become one: they are read from files, the terminal or pipes straight into this type, decrypted
/// into it, and written out from it.
///
/// Sendable so that a set can be verified on another task; a buffer is only ever mutated by the
/// task that fills it, before it is shared.
public final class SecureBytes: @unchecked Sendable {
  private var storage: UnsafeMutableRawPointer
  private var capacity: Int
  /// Number of bytes in use.
  public private(set) var count: Int

  /// An empty buffer able to hold `capacity` bytes before it must grow.
  public init(capacity: Int = 64) {
    let cap = max(capacity, 16)
    storage = SecureBytes.allocate(cap)
    self.capacity = cap
    count = 0
  }

  /// Guarded memory for `count` bytes: a block of the shared pool, or a `sodium_malloc` of its own.
  private static func allocate(_ count: Int) -> UnsafeMutableRawPointer {
    if count <= 4096, let p = GuardedPool.shared.allocate(count) { return p }
    try? Sodium.ready()
    guard let p = sodium_malloc(count) else {
      // Out of locked memory is not something a user can fix mid-run; say so plainly.
      fatalError("keyward: sodium_malloc(\(count)) failed: out of memory for secrets")
    }
    return p
  }

  private static func free(_ p: UnsafeMutableRawPointer, capacity: Int) {
    if GuardedPool.shared.owns(p) {
      GuardedPool.shared.release(p, count: capacity)
    } else {
      sodium_free(p)  // zeroes the whole allocation before unmapping it
    }
  }

  /// A buffer holding a copy of `bytes`. The caller remains responsible for wiping the source.
  public convenience init(copying bytes: UnsafeRawBufferPointer) {
    self.init(capacity: bytes.count)
    append(bytes)
  }

  /// A buffer holding a copy of a non-secret literal (tests, fixed labels).
  public convenience init(_ bytes: [UInt8]) {
    self.init(capacity: bytes.count)
    bytes.withUnsafeBytes { append($0) }
  }

  /// A buffer holding the UTF-8 of a string literal. Only for tests and demos: the
  /// `String` itself is not wiped.
  public convenience init(unsafeString s: String) {
    self.init(Array(s.utf8))
  }

  deinit {
    SecureBytes.free(storage, capacity: capacity)
  }

  /// Appends raw bytes, growing into a new guarded allocation (the old one is wiped) if needed.
  public func append(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0 else { return }
    reserve(count + bytes.count)
    (storage + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    count += bytes.count
  }

  /// Appends one byte.
  public func append(_ byte: UInt8) {
    reserve(count + 1)
    storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
    count += 1
  }

  /// Appends the bytes of another secure buffer.
  public func append(_ other: SecureBytes) {
    other.withUnsafeBytes { append($0) }
  }

  /// Appends the UTF-8 of a non-secret string (labels, JSON punctuation).
  public func append(literal s: String) {
    var s = s
    s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
  }

  /// Reads once from `fd` into the free space after the current bytes (growing first when full).
  /// Returns read(2)'s result: bytes read, 0 at end of file, -1 on error.
  public func appendRead(from fd: Int32) -> Int {
    if count == capacity { reserve(capacity * 2) }
    let n = Glibc_read(fd, storage + count, capacity - count)
    if n > 0 { count += n }
    return n
  }

  /// Ensures room for `needed` bytes.
  public func reserve(_ needed: Int) {
    guard needed > capacity else { return }
    var newCap = capacity
    while newCap < needed { newCap *= 2 }
    let p = SecureBytes.allocate(newCap)
    p.copyMemory(from: storage, byteCount: count)
    SecureBytes.free(storage, capacity: capacity)
    storage = p
    capacity = newCap
  }

  /// Sets the length to `n` bytes (shrinking wipes the tail).
  public func truncate(to n: Int) {
    precondition(n >= 0 && n <= count)
    sodium_memzero(storage + n, count - n)
    count = n
  }

  /// Removes every byte and wipes them.
  public func removeAll() { truncate(to: 0) }

  /// Read access to the bytes in use.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeRawBufferPointer(start: storage, count: count))
  }

  /// Write access to the first `count` bytes (after `resize`), for C functions that fill a buffer.
  public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeMutableRawBufferPointer(start: storage, count: count))
  }

  /// Grows the length to `n` (new bytes are zero) so a C function can fill it.
  public func resize(to n: Int) {
    if n <= count {
      truncate(to: n)
      return
    }
    reserve(n)
    sodium_memzero(storage + count, n - count)
    count = n
  }

  /// Byte at `index` (no bounds check beyond a precondition).
  public subscript(index: Int) -> UInt8 {
    precondition(index >= 0 && index < count)
    return storage.load(fromByteOffset: index, as: UInt8.self)
  }

  /// Calls `body` with the bytes in `range`.
  public func withUnsafeBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows
    -> R
  {
    precondition(range.lowerBound >= 0 && range.upperBound <= count)
    return try body(UnsafeRawBufferPointer(start: storage + range.lowerBound, count: range.count))
  }

  /// A new secure buffer with bytes `range`.
  public func slice(_ range: Range<Int>) -> SecureBytes {
    precondition(range.lowerBound >= 0 && range.upperBound <= count)
    return SecureBytes(copying: UnsafeRawBufferPointer(start: storage + range.lowerBound, count: range.count))
  }

  /// Constant-time comparison of contents (lengths are not secret).
  public func constantTimeEquals(_ other: SecureBytes) -> Bool {
    withUnsafeBytes { a in other.withUnsafeBytes { b in Sodium.constantTimeEqual(a, b) } }
  }

  /// True if the contents equal the UTF-8 of `s`, compared in constant time.
  public func constantTimeEquals(literal s: String) -> Bool {
    let bytes = Array(s.utf8)
    return withUnsafeBytes { a in bytes.withUnsafeBytes { b in Sodium.constantTimeEqual(a, b) } }
  }

  /// Writes the whole buffer to a file descriptor, retrying short writes and EINTR.
  public func write(to fd: Int32) throws(KeywardError) {
    var offset = 0
    while offset < count {
      let n = Glibc_write(fd, storage + offset, count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        throw KeywardError(.io, "could not write output: \(String(cString: strerror(errno)))")
      }
      offset += n
    }
  }
}

extension SecureBytes: CustomStringConvertible, CustomDebugStringConvertible {
  /// Never the contents.
  public var description: String { "<redacted \(count) bytes>" }
  public var debugDescription: String { description }
}

@inline(__always)
func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
  #if canImport(Glibc)
    return Glibc.write(fd, p, n)
  #else
    return Darwin.write(fd, p, n)
  #endif
}
