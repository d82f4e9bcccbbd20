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
