import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Byte-string search, for the readers that work on raw input (trail lines, HTML, policies).
public enum Bytes {
  /// The index in `hay` where `needle` first starts, or nil.
  public static func firstIndex(of needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
    guard let first = needle.first, hay.count >= needle.count else { return nil }
    var i = hay.startIndex
    let last = hay.endIndex - needle.count
    while i <= last {
      if hay[i] == first && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
      i += 1
    }
    return nil
  }
}

/// A buffer shared with the workers of a `DispatchQueue.concurrentPerform`, each of which writes
/// only its own slots (so no two touch the same element).
struct WorkerSlots<Element>: @unchecked Sendable {
  let buffer: UnsafeMutableBufferPointer<Element>
  init(_ b: UnsafeMutableBufferPointer<Element>) { buffer = b }
}

/// Work spread over every core.
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
