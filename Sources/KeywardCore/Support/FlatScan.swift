/// The bytes the JSON fast paths look for, by name.
public enum ASCII {
  public static let quote: UInt8 = 0x22  // "
  public static let backslash: UInt8 = 0x5c  // \
  public static let colon: UInt8 = 0x3a  // :
  public static let comma: UInt8 = 0x2c  // ,
  public static let openBrace: UInt8 = 0x7b  // {
  public static let closeBrace: UInt8 = 0x7d  // }
  public static let openBracket: UInt8 = 0x5b  // [
  public static let closeBracket: UInt8 = 0x5d  // ]
  public static let space: UInt8 = 0x20
  public static let tab: UInt8 = 0x09
  public static let newline: UInt8 = 0x0a
  public static let carriageReturn: UInt8 = 0x0d
  public static let zero: UInt8 = 0x30
  public static let nine: UInt8 = 0x39
  public static let dot: UInt8 = 0x2e
  public static let lowerE: UInt8 = 0x65
  public static let upperE: UInt8 = 0x45
  /// The first byte that is not ASCII, and the first that is not a control character.
  public static let firstNonASCII: UInt8 = 0x80
  public static let firstPrintable: UInt8 = 0x20
}

/// The one reader under the JSON fast paths (`csp eval`'s query lines, the v1 trail's lines): a
/// cursor over bytes in place that reads the common shapes — strings of ASCII without escapes,
/// small non-negative integers without leading zeros, the literals — and declines anything else
/// (nil or false), so the caller takes the full parser, which also words the errors. Each fast
/// path is held to that parser by a property test (`FastReaderTests`).
public struct FlatScan {
  public let p: UnsafeBufferPointer<UInt8>
  public var i = 0
  /// Whether insignificant whitespace is allowed (query lines) or not (canonical trail lines).
  public let whitespace: Bool

  @inlinable public init(_ p: UnsafeBufferPointer<UInt8>, whitespace: Bool) {
    self.p = p
    self.whitespace = whitespace
  }

  @inlinable public var atEnd: Bool { i == p.count }

  @inlinable public mutating func ws() {
    guard whitespace else { return }
    while i < p.count,
      p[i] == ASCII.space || p[i] == ASCII.tab || p[i] == ASCII.carriageReturn || p[i] == ASCII.newline
    {
      i += 1
    }
  }

  /// The next byte, after whitespace (nil at the end).
  @inlinable public mutating func peek() -> UInt8? {
    ws()
    return i < p.count ? p[i] : nil
  }

  @inlinable public mutating func eat(_ c: UInt8) -> Bool {
    ws()
    guard i < p.count, p[i] == c else { return false }
    i += 1
    return true
  }

  /// A string of printable ASCII without escapes: the range of its bytes.
  @inlinable public mutating func rawString() -> Range<Int>? {
    guard eat(ASCII.quote) else { return nil }
    let start = i
    while i < p.count {
      let c = p[i]
      if c == ASCII.quote {
        i += 1
        return start..<(i - 1)
      }
      if c == ASCII.backslash || c < ASCII.firstPrintable || c >= ASCII.firstNonASCII { return nil }
      i += 1
    }
    return nil
  }

  @inlinable public func text(_ r: Range<Int>) -> String {
    String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
  }

  @inlinable public mutating func string() -> String? { rawString().map(text) }

  /// `null`, `true` or `false` when it is next.
  @inlinable public mutating func literal(_ word: StaticString) -> Bool {
    ws()
    let n = word.utf8CodeUnitCount
    guard i + n <= p.count else { return false }
    let same = word.withUTF8Buffer { w in
      for k in 0..<n where w[k] != p[i + k] { return false }
      return true
    }
    if same { i += n }
    return same
  }

  /// A non-negative integer of at most `maxDigits` digits, without a leading zero, not followed by
  /// a fraction or an exponent (those are the parser's).
  @inlinable public mutating func integer(maxDigits: Int) -> Int? {
    ws()
    let start = i
    var n = 0
    while i < p.count, p[i] >= ASCII.zero, p[i] <= ASCII.nine, i - start < maxDigits {
      n = n * 10 + Int(p[i] - ASCII.zero)
      i += 1
    }
    guard i > start, i < p.count, p[i] != ASCII.dot, p[i] != ASCII.lowerE, p[i] != ASCII.upperE,
      p[i] < ASCII.zero || p[i] > ASCII.nine
    else { return nil }
    guard !(p[start] == ASCII.zero && i - start > 1) else { return nil }
    return n
  }

  /// Whether the bytes in `r` are `name`.
  @inlinable public func key(_ r: Range<Int>, _ name: StaticString) -> Bool {
    guard r.count == name.utf8CodeUnitCount else { return false }
    return name.withUTF8Buffer { n in
      for k in 0..<n.count where n[k] != p[r.lowerBound + k] { return false }
      return true
    }
  }

  /// Whether the bytes in `a` sort strictly before those in `b` (canonical key order).
  @inlinable public func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
    UnsafeBufferPointer(rebasing: p[a]).lexicographicallyPrecedes(UnsafeBufferPointer(rebasing: p[b]))
  }
}
