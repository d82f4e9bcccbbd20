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

  /// Whether none of the eight bytes of `x` (loaded from a string's content) needs a decision
  /// from a canonical-JSON reader: no quote, backslash, control byte, DEL or byte above ASCII.
  /// A false answer only sends the caller to its byte loop, which decides (SWAR: a byte's high
  /// bit is set in the mask when it is 0x80 or more, is below 0x20, is 0x7f, or equals the quote
  /// or backslash; borrows may flag more, never fewer).
  @inline(__always)
  static func plainString(_ x: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let quote = x ^ (0x22 &* ones)
    let slash = x ^ (0x5c &* ones)
    let flagged =
      ((x &- 0x20 &* ones) & ~x) | (x &+ ones) | x | ((quote &- ones) & ~quote) | ((slash &- ones) & ~slash)
    return flagged & 0x8080_8080_8080_8080 == 0
  }
}

/// A buffer shared with the workers of a `DispatchQueue.concurrentPerform`, each of which writes
/// only its own slots (so no two touch the same element).
struct WorkerSlots<Element>: @unchecked Sendable {
  let buffer: UnsafeMutableBufferPointer<Element>
  init(_ b: UnsafeMutableBufferPointer<Element>) { buffer = b }
}
