import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One region of libsodium-guarded memory, shared by the short-lived secret buffers of a process.
///
/// Why: every `sodium_malloc` costs mmap, two mprotect, madvise and mlock — and as many calls to
/// undo them — about 80 µs a buffer on the machines measured, most of a short command's run. The
/// pool makes that one allocation per process. Its region keeps what matters: it is locked in
/// memory, excluded from core dumps, flanked by guard pages, and every block is wiped when its
/// buffer is released (and the whole region when the process frees it). What it gives up is a
/// guard page between two buffers of the same process; buffers larger than a block budget get
/// their own `sodium_malloc` as before.
final class GuardedPool: @unchecked Sendable {
  // 16 KiB: four pages, within the smallest common RLIMIT_MEMLOCK; ample for a command's secrets.
  static let shared = GuardedPool(size: 16 * 1024)

  private let base: UnsafeMutableRawPointer?
  private let size: Int
  private var next = 0
  private var live = 0
  private let lock: UnsafeMutablePointer<pthread_mutex_t>

  init(size: Int) {
    try? Sodium.ready()
    self.size = size
    base = sodium_malloc(size)
    lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(lock, nil)
  }

  /// A block of at least `count` bytes, or nil when the pool cannot hold it.
  func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
    guard let base else { return nil }
    let rounded = (count + 15) & ~15
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    guard rounded <= size - next else { return nil }
    let p = base + next
    next += rounded
    live += 1
    return p
  }

  /// Wipes a block and returns it; when no block is in use the pool starts over.
  func release(_ p: UnsafeMutableRawPointer, count: Int) {
    sodium_memzero(p, count)
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    live -= 1
    if live == 0 { next = 0 }
  }

  /// True if `p` lies in the pool's region.
  func owns(_ p: UnsafeMutableRawPointer) -> Bool {
    guard let base else { return false }
    return p >= base && p < base + size
  }
}
