/// JSON string escapes (RFC 8259 §7), decoded once for both JSON readers: the file reader and the
/// reader of secrets on standard input, which must write straight into guarded memory — so the
/// output goes to a byte sink, and UTF-8 is encoded here by hand rather than through a `String`
/// (which would leave a copy of a secret's character on the heap).
enum JSONEscape {
  struct Failure: Error {
    let message: String
    /// Offset from the start of the escape (the byte after the backslash) where it went wrong.
    let offset: Int
  }

  /// Decodes the escape that starts at `i` (the byte after a backslash), emits its UTF-8 bytes and
  /// advances `i` past it.
  static func decode(
    at i: inout Int, count: Int, byte: (Int) -> UInt8, emit: (UInt8) -> Void
  ) throws(Failure) {
    let start = i
    func fail(_ message: String) -> Failure { Failure(message: message, offset: i - start) }
    guard i < count else { throw fail("unterminated escape") }
    let e = byte(i)
    i += 1
    switch e {
    case 0x22, 0x5c, 0x2f: emit(e)
    case 0x62: emit(0x08)
    case 0x66: emit(0x0c)
    case 0x6e: emit(0x0a)
    case 0x72: emit(0x0d)
    case 0x74: emit(0x09)
    case 0x75:
      var scalar = try hex4(at: &i, count: count, byte: byte, start: start)
      if (0xD800..<0xDC00).contains(scalar) {
        guard i + 1 < count, byte(i) == 0x5c, byte(i + 1) == 0x75 else { throw fail("lone surrogate") }
        i += 2
        let low = try hex4(at: &i, count: count, byte: byte, start: start)
        guard (0xDC00..<0xE000).contains(low) else { throw fail("bad surrogate pair") }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00..<0xE000).contains(scalar) {
        throw fail("lone surrogate")
      }
      utf8(scalar, emit)
    default:
      i -= 1
      throw fail("unknown escape")
    }
  }

  private static func hex4(at i: inout Int, count: Int, byte: (Int) -> UInt8, start: Int) throws(Failure)
    -> UInt32
  {
    guard i + 4 <= count else { throw Failure(message: "short \\u escape", offset: i - start) }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = byte(i)
      let d: UInt32
      switch c {
      case 0x30...0x39: d = UInt32(c - 0x30)
      case 0x61...0x66: d = UInt32(c - 0x61 + 10)
      case 0x41...0x46: d = UInt32(c - 0x41 + 10)
      default: throw Failure(message: "bad hex digit in \\u escape", offset: i - start)
      }
      v = v * 16 + d
      i += 1
    }
    return v
  }

  /// The UTF-8 bytes of a scalar (surrogates were excluded above).
  static func utf8(_ v: UInt32, _ emit: (UInt8) -> Void) {
    switch v {
    case 0..<0x80: emit(UInt8(v))
    case 0x80..<0x800:
      emit(UInt8(0xC0 | (v >> 6)))
      emit(UInt8(0x80 | (v & 0x3F)))
    case 0x800..<0x10000:
      emit(UInt8(0xE0 | (v >> 12)))
      emit(UInt8(0x80 | ((v >> 6) & 0x3F)))
      emit(UInt8(0x80 | (v & 0x3F)))
    default:
      emit(UInt8(0xF0 | (v >> 18)))
      emit(UInt8(0x80 | ((v >> 12) & 0x3F)))
      emit(UInt8(0x80 | ((v >> 6) & 0x3F)))
      emit(UInt8(0x80 | (v & 0x3F)))
    }
  }
}
