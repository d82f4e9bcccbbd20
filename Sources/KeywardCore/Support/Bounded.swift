import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Bounded concurrency: `count` jobs, at most `width` running at once, results in job order.
/// One helper for every fan-out (verify's sets, `csp --urls`' pages).
public enum Bounded {
  /// Runs `work(i)` for each `i` in `0..<count`, at most `width` at a time, and calls
  /// `progress(done, count)` on the caller's side as each one finishes.
  public static func map<T: Sendable>(
    count: Int, width: Int, progress: (Int, Int) -> Void = { _, _ in },
    _ work: @escaping @Sendable (Int) async -> T
  ) async -> [T] {
    guard count > 0 else { return [] }
    var results = [T?](repeating: nil, count: count)
    await withTaskGroup(of: (Int, T).self) { group in
      var next = 0
      var done = 0
      let width = min(max(1, width), count)
      while done < count {
        while next < count && next - done < width {
          let i = next
          next += 1
          group.addTask { (i, await work(i)) }
        }
        guard let (i, result) = await group.next() else { break }
        results[i] = result
        done += 1
        progress(done, count)
      }
    }
    return results.map { $0! }
  }
}

/// CPU work spread over every core (`Bounded` is for waiting on many requests at once): each
/// chunk's results written into its own slots (`WorkerSlots`).
enum Parallel {
  /// `transform` of each element, in order, computed on every core in chunks; one by one when
  /// there are fewer than `minimum` (threads cost more than they save). `transform` must not
  /// touch shared mutable state.
  static func map<T, R>(_ items: [T], minimum: Int = 64, _ transform: (T) -> R) -> [R] {
    guard items.count >= minimum else { return items.map(transform) }
    var results = [R?](repeating: nil, count: items.count)
    let chunks = 4 * max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    withoutActuallyEscaping(transform) { f in
      let work = Unchecked((items, f))
      results.withUnsafeMutableBufferPointer { buffer in
        let slots = WorkerSlots(buffer)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
          let (items, f) = work.value
          for i in (items.count * c / chunks)..<(items.count * (c + 1) / chunks) {
            slots.buffer[i] = f(items[i])
          }
        }
      }
    }
    return results.map { $0! }
  }

  struct Unchecked<V>: @unchecked Sendable {
    let value: V
    init(_ v: V) { value = v }
  }
}
