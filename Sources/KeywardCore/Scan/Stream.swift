import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A copy found in one text: line and column (1-based, in bytes) of the word, or of the encoded
/// run it was decoded from.
struct LocatedHit: Sendable {
  var line: Int
  var column: Int
  var print: UInt64
  var steps: ScanEngine.Steps

  struct Place: Hashable {
    var line: Int
    var column: Int
    var print: UInt64
  }
}

/// Reads one text through an engine in line-aligned chunks, never holding more than a chunk, and
/// turns offsets into lines and columns. The buffer is wiped when done (it held the text).
final class StreamScanner {
  static let chunkSize = 1 << 20
  /// git's rule: a NUL byte in the first 8,000 bytes makes a file binary.
  static let binaryProbe = 8000

  enum Outcome {
    case binary
    case text(bytes: Int, hits: [LocatedHit])
  }

  let engine: ScanEngine
  private let buffer: UnsafeMutablePointer<UInt8>

  init(engine: ScanEngine) {
    self.engine = engine
    buffer = .allocate(capacity: Self.chunkSize)
  }

  deinit { buffer.deallocate() }

  /// `read` fills up to the given count at the pointer and returns how many bytes it wrote (0 at
  /// the end, negative on an error, which ends the text as read so far).
  func run(_ read: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> Outcome {
    var filled = 0
    var total = 0
    var line = 1
    var first = true
    var hits = [LocatedHit]()
    // One value at one place is one copy, in its simplest encoding (a word can be both plain and,
    // through a stray backslash, "escaped").
    var seen = [LocatedHit.Place: Int]()
    var used = 0  // how much of the buffer held text, to wipe
    defer {
      sodium_memzero(buffer, used)
      engine.wipe()
    }
    var ended = false
    while !ended {
      while filled < Self.chunkSize {
        let n = read(buffer + filled, Self.chunkSize - filled)
        if n <= 0 {
          ended = true
          break
        }
        filled += n
      }
      used = max(used, filled)
      if first {
        first = false
        if memchr(buffer, 0, min(filled, Self.binaryProbe)) != nil { return .binary }
      }
      guard filled > 0 else { break }
      // Up to the last line break (or the last hard break, for a chunk that is one long line).
      var cut = filled
      if !ended {
        cut = 0
        var i = filled
        while i > 0 {
          i -= 1
          if buffer[i] == 0x0a {
            cut = i + 1
            break
          }
        }
        if cut == 0 {
          i = filled
          while i > 0 {
            i -= 1
            if ScanEngine.classes[Int(buffer[i])] == ScanEngine.hardBreak {
              cut = i + 1
              break
            }
          }
        }
        if cut == 0 { cut = filled }
      }
      engine.resetHits()
      engine.scan(buffer, cut)
      engine.finish()
      // Offsets to lines: hits come mostly in order; a cursor counts line breaks once.
      var cursor = 0
      var cursorLine = line
      var lineStart = 0
      for hit in engine.hits.sorted(by: { $0.offset < $1.offset }) {
        while cursor < hit.offset {
          if buffer[cursor] == 0x0a {
            cursorLine += 1
            lineStart = cursor + 1
          }
          cursor += 1
        }
        // A column counts from the line's start, which may lie in an earlier chunk only when a
        // line is longer than a chunk; then it counts from this chunk.
        let place = LocatedHit.Place(line: cursorLine, column: hit.offset - lineStart + 1, print: hit.print)
        if let at = seen[place] {
          if hit.steps.depth < hits[at].steps.depth { hits[at].steps = hit.steps }
        } else {
          seen[place] = hits.count
          hits.append(
            LocatedHit(line: place.line, column: place.column, print: place.print, steps: hit.steps))
        }
      }
      var p = UnsafeMutableRawPointer(buffer)
      let end = p + cut
      while p < end, let nl = memchr(p, 0x0a, end - p) {
        line += 1
        p = nl + 1
      }
      total += cut
      // The rest of the last line moves to the front.
      if cut < filled { memmove(buffer, buffer + cut, filled - cut) }
      filled -= cut
    }
    return .text(bytes: total, hits: hits)
  }
}
