/// Writes `JSONValue`s: pretty-printed with two-space indents, `"key" : value`, keys sorted, no
/// escaped slashes, one trailing newline — the layout JSONEncoder produces with
/// `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`, so files diff cleanly in git.
extension JSONValue {
  /// One line, no spaces, keys sorted: the canonical form hashed by the audit trail.
  public func compact() -> [UInt8] {
    var out = [UInt8]()
    writeCompact(into: &out)
    return out
  }

  public func writeCompact(into out: inout [UInt8]) {
    switch self {
    case .array(let items):
      out.append(0x5b)
      for (n, item) in items.enumerated() {
        if n > 0 { out.append(0x2c) }
        item.writeCompact(into: &out)
      }
      out.append(0x5d)
    case .object(let members):
      out.append(0x7b)
      for (n, key) in members.keys.sorted().enumerated() {
        if n > 0 { out.append(0x2c) }
        JSONValue.writeString(key, into: &out)
        out.append(0x3a)
        members[key]!.writeCompact(into: &out)
      }
      out.append(0x7d)
    default: write(into: &out, indent: 0)
    }
  }

  public func written() -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(1024)
    write(into: &out, indent: 0)
    out.append(0x0a)
    return out
  }

  public func write(into out: inout [UInt8], indent: Int) {
    switch self {
    case .null: JSONValue.literal("null", into: &out)
    case .bool(let b): JSONValue.writeBool(b, into: &out)
    case .number(let d): JSONValue.writeNumber(d, into: &out)
    case .string(let s): JSONValue.writeString(s, into: &out)
    case .array(let items):
      JSONValue.writeArray(items.count, into: &out, indent: indent) { n, out in
        items[n].write(into: &out, indent: indent + 2)
      }
    case .object(let members):
      let keys = members.keys.sorted()
      JSONValue.writeObject(keys, into: &out, indent: indent) { n, out in
        members[keys[n]]!.write(into: &out, indent: indent + 2)
      }
    }
  }

  public static func writeNumber(_ d: Double, into out: inout [UInt8]) {
    if !d.isFinite {
      literal("null", into: &out)  // JSON has no infinity or NaN (a 1e99999 read from a file)
    } else if d.rounded() == d && abs(d) < 9.0e15 {
      if d < 0 { out.append(0x2d) }
      writeInt(Int(abs(d)), into: &out)
    } else {
      out += Array("\(d)".utf8)
    }
  }

  /// `[`, each element on its own line indented by `indent + 2`, `]` (`[]` when empty).
  public static func writeArray(
    _ count: Int, into out: inout [UInt8], indent: Int, element: (Int, inout [UInt8]) -> Void
  ) {
    guard count > 0 else { return literal("[]", into: &out) }
    literal("[\n", into: &out)
    for n in 0..<count {
      spaces(indent + 2, into: &out)
      element(n, &out)
      n == count - 1 ? out.append(0x0a) : literal(",\n", into: &out)
    }
    spaces(indent, into: &out)
    out.append(0x5d)
  }

  /// `writeArray` for the rows of a report written in pieces: `flush` takes the buffer after any
  /// element that leaves it past `flushSize` (so each piece ends between two values).
  public static func writeArray(
    _ count: Int, into out: inout [UInt8], indent: Int, flush: (inout [UInt8]) -> Void,
    element: (Int, inout [UInt8]) -> Void
  ) {
    writeArray(count, into: &out, indent: indent) { n, out in
      element(n, &out)
      if out.count >= flushSize { flush(&out) }
    }
  }

  /// `{`, each `"key" : value` on its own line (keys as given: sorted by the caller), `}`.
  public static func writeObject(
    _ keys: [String], into out: inout [UInt8], indent: Int, value: (Int, inout [UInt8]) -> Void
  ) {
    guard !keys.isEmpty else { return literal("{}", into: &out) }
    literal("{\n", into: &out)
    for (n, key) in keys.enumerated() {
      spaces(indent + 2, into: &out)
      writeString(key, into: &out)
      literal(" : ", into: &out)
      value(n, &out)
      n == keys.count - 1 ? out.append(0x0a) : literal(",\n", into: &out)
    }
    spaces(indent, into: &out)
    out.append(0x7d)
  }

  /// An object written member by member, in `writeObject`'s layout, by a caller that gives the
  /// keys in sorted order (plain ASCII names) — a report's own writer, with no key list or
  /// closure per object.
  public struct Members {
    let indent: Int
    var count = 0

    public init(indent: Int) { self.indent = indent }

    public mutating func key(_ name: StaticString, into out: inout [UInt8]) {
      count == 0 ? JSONValue.literal("{\n", into: &out) : JSONValue.literal(",\n", into: &out)
      JSONValue.spaces(indent + 2, into: &out)
      out.append(0x22)
      JSONValue.literal(name, into: &out)
      JSONValue.literal("\" : ", into: &out)
      count += 1
    }

    /// A member whose name is not known in advance (escaped as any string is).
    public mutating func key(_ name: String, into out: inout [UInt8]) {
      count == 0 ? JSONValue.literal("{\n", into: &out) : JSONValue.literal(",\n", into: &out)
      JSONValue.spaces(indent + 2, into: &out)
      JSONValue.writeString(name, into: &out)
      JSONValue.literal(" : ", into: &out)
      count += 1
    }

    /// A string member; none when `value` is nil (as `encodeIfPresent` leaves it out).
    public mutating func string(_ name: StaticString, _ value: String?, into out: inout [UInt8]) {
      guard let value else { return }
      key(name, into: &out)
      JSONValue.writeString(value, into: &out)
    }

    /// An integer member, written as the generic encoder writes an `Int`; none when nil.
    public mutating func int(_ name: StaticString, _ value: Int?, into out: inout [UInt8]) {
      guard let value else { return }
      key(name, into: &out)
      JSONValue.writeNumber(Double(value), into: &out)
    }

    public mutating func bool(_ name: StaticString, _ value: Bool, into out: inout [UInt8]) {
      key(name, into: &out)
      JSONValue.writeBool(value, into: &out)
    }

    public func end(into out: inout [UInt8]) {
      guard count > 0 else { return JSONValue.literal("{}", into: &out) }
      out.append(0x0a)
      JSONValue.spaces(indent, into: &out)
      out.append(0x7d)
    }
  }

  public static func writeBool(_ b: Bool, into out: inout [UInt8]) {
    b ? literal("true", into: &out) : literal("false", into: &out)
  }

  public static func writeString(_ s: String, into out: inout [UInt8]) {
    var s = s
    s.withUTF8 { writeString(utf8: $0, into: &out) }
  }

  /// Appends `count` spaces (an indent) from a literal, not element by element.
  @inline(__always)
  public static func spaces(_ count: Int, into out: inout [UInt8]) {
    let run: StaticString = "                                                                "
    var left = max(0, count)
    while left > 0 {
      let n = min(left, run.utf8CodeUnitCount)
      out.append(contentsOf: UnsafeBufferPointer(start: run.utf8Start, count: n))
      left -= n
    }
  }

  /// Appends a literal's bytes (no String, no generic UTF8View walk).
  @inline(__always)
  public static func literal(_ s: StaticString, into out: inout [UInt8]) {
    out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
  }

  /// Appends a non-negative integer's decimal digits.
  public static func writeInt(_ n: Int, into out: inout [UInt8]) {
    if n < 10 {
      out.append(UInt8(0x30 + max(0, n)))
      return
    }
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var v = n
    withUnsafeMutableBytes(of: &digits) { d in
      while v > 0 && count < 20 {
        d[19 - count] = UInt8(0x30 + v % 10)
        v /= 10
        count += 1
      }
      out.append(contentsOf: d[(20 - count)...])
    }
  }

  static func writeString(bytes: [UInt8], into out: inout [UInt8]) {
    bytes.withUnsafeBufferPointer { writeString(utf8: $0, into: &out) }
  }

  /// A string's JSON escape, without the quotes.
  public static func writeEscaped(_ s: String, into out: inout [UInt8]) {
    var s = s
    s.withUTF8 { writeEscaped(utf8: $0, into: &out) }
  }

  static func writeString(utf8 buf: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    out.append(0x22)
    writeEscaped(utf8: buf, into: &out)
    out.append(0x22)
  }

  public static func writeEscaped(utf8 buf: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    let hex: StaticString = "0123456789abcdef"
    do {
      // Runs without anything to escape are copied whole.
      var start = 0
      for i in 0..<buf.count {
        let b = buf[i]
        guard b < 0x20 || b == 0x22 || b == 0x5c else { continue }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i]))
        start = i + 1
        switch b {
        case 0x22: out += [0x5c, 0x22]
        case 0x5c: out += [0x5c, 0x5c]
        case 0x0a: out += [0x5c, 0x6e]
        case 0x0d: out += [0x5c, 0x72]
        case 0x09: out += [0x5c, 0x74]
        case 0x08: out += [0x5c, 0x62]
        case 0x0c: out += [0x5c, 0x66]
        default:
          hex.withUTF8Buffer { h in out += [0x5c, 0x75, 0x30, 0x30, h[Int(b >> 4)], h[Int(b & 0xf)]] }
        }
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<buf.count]))
    }
  }
}

/// A report that writes its own JSON document, byte for byte what its `Encodable` conformance
/// gives through `JSONValueEncoder` with `schema_version` beside its fields (a test holds each to
/// it). For the reports that grow with the workspace: at 3,000 environments `list` writes 3.6 MB
/// and `check` 18,000 findings, which the generic encoder took 80–140 ms over each.
/// The document is written in pieces of about a megabyte, each handed to `flush` (whole values
/// only, never a split string), so a 12 MB report is never one buffer.
public protocol DirectJSONDocument {
  /// `flush` takes what is written so far and leaves the buffer empty.
  func writeDocument(schemaVersion: Int, flush: (inout [UInt8]) -> Void)
}

extension DirectJSONDocument {
  /// The whole document in one buffer (tests compare it with the generic encoder's).
  public func writtenDocument(schemaVersion: Int) -> [UInt8] {
    var all = [UInt8]()
    writeDocument(schemaVersion: schemaVersion) { piece in
      all += piece
      piece.removeAll(keepingCapacity: true)
    }
    return all
  }
}

extension JSONValue {
  /// The size at which a direct writer hands its buffer on.
  public static let flushSize = 1 << 20
}
