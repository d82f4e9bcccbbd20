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
  /// UTF-16 text (a byte-order mark first: Windows' "Unicode", PowerShell 5's `>`) transcoded to
  /// UTF-8, a chunk at a time; allocated on first need.
  private var wide: UnsafeMutablePointer<UInt8>? = nil
  static let wideSize = chunkSize / 2 * 3 + 8

  init(engine: ScanEngine) {
    self.engine = engine
    buffer = .allocate(capacity: Self.chunkSize)
  }

  deinit {
    buffer.deallocate()
    if let wide {
      sodium_memzero(wide, Self.wideSize)
      wide.deallocate()
    }
  }

  enum Width { case utf8, utf16LE, utf16BE }

  /// UTF-16 code units to UTF-8 (an unpaired surrogate becomes a space); the byte count.
  static func transcode(
    _ raw: UnsafePointer<UInt8>, _ count: Int, bigEndian: Bool, into out: UnsafeMutablePointer<UInt8>
  ) -> Int {
    var n = 0
    var i = 0
    func unit(_ k: Int) -> UInt32 {
      bigEndian ? UInt32(raw[k]) << 8 | UInt32(raw[k + 1]) : UInt32(raw[k + 1]) << 8 | UInt32(raw[k])
    }
    func emit(_ v: UInt32) {
      if v < 0x80 {
        out[n] = UInt8(v)
        n += 1
      } else if v < 0x800 {
        out[n] = UInt8(0xc0 | v >> 6)
        out[n + 1] = UInt8(0x80 | v & 0x3f)
        n += 2
      } else if v < 0x10000 {
        out[n] = UInt8(0xe0 | v >> 12)
        out[n + 1] = UInt8(0x80 | v >> 6 & 0x3f)
        out[n + 2] = UInt8(0x80 | v & 0x3f)
        n += 3
      } else {
        out[n] = UInt8(0xf0 | v >> 18)
        out[n + 1] = UInt8(0x80 | v >> 12 & 0x3f)
        out[n + 2] = UInt8(0x80 | v >> 6 & 0x3f)
        out[n + 3] = UInt8(0x80 | v & 0x3f)
        n += 4
      }
    }
    while i + 1 < count {
      let u = unit(i)
      i += 2
      if (0xd800..<0xdc00).contains(u), i + 1 < count, case let l = unit(i), (0xdc00..<0xe000).contains(l) {
        emit(0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00))
        i += 2
      } else if (0xd800..<0xe000).contains(u) {
        emit(0x20)
      } else {
        emit(u)
      }
    }
    return n
  }

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
    var wideUsed = 0
    var width = Width.utf8
    defer {
      sodium_memzero(buffer, used)
      if let wide { sodium_memzero(wide, wideUsed) }
      engine.wipe()
    }
    var ended = false
    // Bytes of the current line scanned in earlier chunks (a line longer than a chunk).
    var carried = 0
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
        if filled >= 2 && (buffer[0], buffer[1]) == (0xff, 0xfe) {
          width = .utf16LE
        } else if filled >= 2 && (buffer[0], buffer[1]) == (0xfe, 0xff) {
          width = .utf16BE
        } else if memchr(buffer, 0, min(filled, Self.binaryProbe)) != nil {
          return .binary
        }
        if width != .utf8 {
          memmove(buffer, buffer + 2, filled - 2)
          filled -= 2
          if wide == nil { wide = .allocate(capacity: Self.wideSize) }
        }
      }
      guard filled > 0 else { break }
      // Up to the last line break (or the last hard break, for a chunk that is one long line).
      var cut = filled
      if width != .utf8 {
        // After the last line-feed code unit, on an even byte.
        cut = ended ? filled & ~1 : 0
        var i = (filled & ~1) - 2
        while !ended && i >= 0 {
          if width == .utf16LE
            ? (buffer[i] == 0x0a && buffer[i + 1] == 0) : (buffer[i] == 0 && buffer[i + 1] == 0x0a)
          {
            cut = i + 2
            break
          }
          i -= 2
        }
        if cut == 0 { cut = filled & ~1 }
        if ended { cut = filled }
      } else if !ended {
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
      // The text scanned: the bytes themselves, or their UTF-8 transcoding.
      var text = buffer
      var textCount = cut
      if width != .utf8, let wide {
        textCount = Self.transcode(buffer, cut, bigEndian: width == .utf16BE, into: wide)
        text = wide
        wideUsed = max(wideUsed, textCount)
      }
      engine.resetHits()
      engine.scan(text, textCount)
      engine.finish()
      // Offsets to lines: hits come mostly in order; a cursor counts line breaks once.
      var cursor = 0
      var cursorLine = line
      var lineStart = 0
      for hit in engine.hits.sorted(by: { $0.offset < $1.offset }) {
        while cursor < hit.offset {
          if text[cursor] == 0x0a {
            cursorLine += 1
            lineStart = cursor + 1
          }
          cursor += 1
        }
        // A column counts from the line's start, which lies in an earlier chunk when a line is
        // longer than a chunk (`carried` bytes of it were scanned before).
        let column = hit.offset - lineStart + 1 + (cursorLine == line ? carried : 0)
        let place = LocatedHit.Place(line: cursorLine, column: column, print: hit.print)
        if let at = seen[place] {
          if hit.steps.depth < hits[at].steps.depth { hits[at].steps = hit.steps }
        } else {
          seen[place] = hits.count
          hits.append(
            LocatedHit(line: place.line, column: place.column, print: place.print, steps: hit.steps))
        }
      }
      var p = UnsafeMutableRawPointer(text)
      let end = p + textCount
      var sawLineBreak = false
      while p < end, let nl = memchr(p, 0x0a, end - p) {
        line += 1
        p = nl + 1
        sawLineBreak = true
      }
      // What of the last line this chunk scanned (all of it from an earlier chunk on, if no break).
      carried = (sawLineBreak ? 0 : carried) + (end - p)
      total += cut
      // The rest of the last line moves to the front.
      if cut < filled { memmove(buffer, buffer + cut, filled - cut) }
      filled -= cut
    }
    return .text(bytes: total, hits: hits)
  }
}
