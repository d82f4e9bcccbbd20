/// Small text and path helpers (kept here so the core needs only FoundationEssentials).
public enum Text {
  /// A word a POSIX shell reads back as exactly `s`: as it is when it holds only characters no
  /// shell treats specially, else in single quotes. Paths from the trail (hostile input) go
  /// through this before they appear in a command keyward suggests.
  public static func shellWord(_ s: String) -> String {
    let plain =
      !s.isEmpty
      && s.utf8.allSatisfy { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
          || b == 0x2f || b == 0x2e || b == 0x5f || b == 0x2d || b == 0x2b || b == 0x3a || b == 0x40
      }
    if plain && !s.hasPrefix("-") { return s }
    return "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
  }

  /// A byte count for people: `512 B`, `3.4 KB`, `120.0 MB` (powers of 1,000).
  public static func bytes(_ n: Int) -> String {
    if n < 1000 { return "\(n) B" }
    for (unit, size) in [("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000)]
    where n < size * 1000 || unit == "GB" {
      let tenths = (n * 10 + size / 2) / size
      return "\(tenths / 10).\(tenths % 10) \(unit)"
    }
    return "\(n) B"
  }

  /// Levenshtein distance between two short strings, counting up to `limit + 1` (a "did you
  /// mean" needs no more).
  public static func editDistance(_ a: String, _ b: String, limit: Int) -> Int {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    if abs(x.count - y.count) > limit { return limit + 1 }
    var previous = Array(0...y.count)
    for i in 1...max(1, x.count) where !x.isEmpty {
      var current = [i] + [Int](repeating: 0, count: y.count)
      for j in stride(from: 1, through: y.count, by: 1) {
        current[j] = min(
          previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return min(previous[y.count], limit + 1)
  }

  /// `s` padded with spaces to `width` characters (never truncated).
  public static func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
  }

  /// Whether `printable` would leave these bytes as they are: no control byte (newlines and
  /// tabs allowed when kept), and no lead byte of a C1 control (0xc2), of the Arabic letter mark
  /// (0xd8) or of the bidi controls and separators (0xe2).
  /// Eight bytes are looked at at once: only a word holding a byte below 0x20, DEL or a byte of
  /// 0x80 and above (which covers every lead byte above) is looked at byte by byte (megabytes
  /// of reports pass through here).
  public static func isPlain(_ buf: UnsafeBufferPointer<UInt8>, keepNewlines: Bool = true) -> Bool {
    @inline(__always) func plain(_ b: UInt8) -> Bool {
      guard b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xd8 || b == 0xe2 else { return true }
      return b < 0x20 && keepNewlines && (b == 0x0a || b == 0x09)
    }
    guard let base = buf.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    var i = 0
    // A high bit in each byte of `x` that is `c` (each byte's own high bit set first, so no
    // borrow crosses into the next byte: exact per byte).
    @inline(__always) func equal(_ x: UInt64, _ c: UInt8) -> UInt64 {
      let d = x ^ (UInt64(c) &* ones)
      return ~((d | highs) &- ones) & ~d & highs
    }
    while i + 8 <= buf.count {
      let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
      // A high bit where a byte is below 0x20 (exact per byte, as above), is DEL, or is 0x80 or
      // above; a newline or tab is let through when kept (a pretty-printed report has one a line).
      var below = ~((x | highs) &- (0x20 &* ones)) & ~x & highs
      if keepNewlines && below != 0 { below &= ~(equal(x, 0x0a) | equal(x, 0x09)) }
      if below | equal(x, 0x7f) | (x & highs) != 0 {
        for k in i..<(i + 8) where !plain(base[k]) { return false }
      }
      i += 8
    }
    for k in i..<buf.count where !plain(base[k]) { return false }
    return true
  }

  /// `s` with every character that could steer a terminal written as an escape (`\u001b`):
  /// C0 controls but newline and tab, DEL, C1 controls, the bidirectional overrides, isolates and
  /// marks (LRM, RLM, ALM), and the line and paragraph separators (a terminal or viewer may start a
  /// line at them). Text read from files passes through here before it reaches a terminal; the escape
  /// form is also a valid JSON string escape, so a JSON document stays valid. Returns `s` itself
  /// (no copy) when there is nothing to escape.
  public static func printable(_ s: String, keepNewlines: Bool = true) -> String {
    func steering(_ u: Unicode.Scalar) -> Bool {
      let v = u.value
      if v < 0x20 { return !(keepNewlines && (v == 0x0a || v == 0x09)) }
      return v == 0x7f || (0x80...0x9f).contains(v) || (0x202a...0x202e).contains(v)
        || (0x2066...0x2069).contains(v) || v == 0x200e || v == 0x200f || v == 0x061c || v == 0x2028
        || v == 0x2029
    }
    // Fast path: plain ASCII text without controls is by far the common case.
    // One pass over the bytes (a report of megabytes goes through here): no control byte, and no
    // lead byte of a C1 control, a bidi control or a separator means nothing to escape.
    var copy = s
    if copy.withUTF8({ isPlain($0, keepNewlines: keepNewlines) }) { return s }
    guard s.unicodeScalars.contains(where: steering) else { return s }
    var out = String.UnicodeScalarView()
    let hex = Array("0123456789abcdef".unicodeScalars)
    for u in s.unicodeScalars {
      if steering(u) {
        out.append(contentsOf: "\\u".unicodeScalars)
        for shift in stride(from: 12, through: 0, by: -4) {
          out.append(hex[Int((u.value >> UInt32(shift)) & 0xf)])
        }
      } else {
        out.append(u)
      }
    }
    return String(out)
  }

  /// A random hex string (not for secrets): markers and temporary names.
  public static func nonce(bytes: Int = 8) -> String { Sodium.hex(Sodium.randomBytes(bytes)) }

  /// `s` without leading and trailing spaces and tabs.
  public static func trimBlanks(_ s: Substring) -> String {
    var t = s
    while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
    while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
    return String(t)
  }
}

/// POSIX path pieces, without NSString.
public enum Path {
  /// The folder part of a path: "a/b/c" → "a/b", "c" → ".", "/c" → "/".
  public static func directory(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
  }

  /// The last component: "a/b/c" → "c".
  public static func name(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return String(p) }
    return String(p[p.index(after: slash)...])
  }

}
