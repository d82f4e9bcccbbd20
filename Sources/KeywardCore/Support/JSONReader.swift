/// A small, strict JSON reader (RFC 8259) for keyward's own files.
///
/// Why not JSONDecoder: Codable instantiates generic metadata by demangling type names on first
/// use, which costs about a millisecond per process — most of the start-up budget of the commands
/// deploy scripts call. This reader is a few hundred lines, reports `line:column` for syntax
/// errors and the member path (`sets[1].app_key`) for type errors, and refuses duplicate members,
/// invalid UTF-8 and nesting deeper than 64.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Parses a whole document.
  public static func parse(_ bytes: [UInt8], source: String) throws(KeywardError) -> JSONValue {
    var p = Parser(bytes: bytes, source: source)
    p.skipWhitespace()
    let v = try p.value(depth: 0)
    p.skipWhitespace()
    guard p.i == bytes.count else { throw p.fail("unexpected text after the JSON document") }
    return v
  }

  var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "true or false"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "a list"
    case .object: return "an object"
    }
  }

  private struct Parser {
    let bytes: [UInt8]
    let source: String
    var i = 0

    init(bytes: [UInt8], source: String) {
      self.bytes = bytes
      self.source = source
    }

    func fail(_ what: String) -> KeywardError {
      var line = 1
      var column = 1
      for b in bytes[0..<min(i, bytes.count)] {
        if b == 0x0a {
          line += 1
          column = 1
        } else if b & 0xc0 != 0x80 {
          column += 1
        }
      }
      let at = i >= bytes.count ? "at the end (the file breaks off)" : "at line \(line), column \(column)"
      return KeywardError(.input, "\(source): not valid JSON \(at): \(what)")
    }

    mutating func skipWhitespace() {
      while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x0d || bytes[i] == 0x09 {
        i += 1
      }
    }

    mutating func value(depth: Int) throws(KeywardError) -> JSONValue {
      guard depth < 64 else { throw fail("nested deeper than 64 levels") }
      guard i < bytes.count else { throw fail("expected a value") }
      switch bytes[i] {
      case 0x7b: return try object(depth: depth)
      case 0x5b: return try array(depth: depth)
      case 0x22: return .string(try string())
      case 0x74: return try literal("true", .bool(true))
      case 0x66: return try literal("false", .bool(false))
      case 0x6e: return try literal("null", .null)
      case 0x2d, 0x30...0x39: return try number()
      default: throw fail("expected a value")
      }
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws(KeywardError) -> JSONValue {
      let w = Array(word.utf8)
      guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else {
        throw fail("expected a value")
      }
      i += w.count
      return v
    }

    mutating func object(depth: Int) throws(KeywardError) -> JSONValue {
      i += 1
      var members = [String: JSONValue]()
      members.reserveCapacity(12)  // keyward's objects are small; growing rehashes
      skipWhitespace()
      if i < bytes.count, bytes[i] == 0x7d {
        i += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard i < bytes.count, bytes[i] == 0x22 else { throw fail("expected a member name in quotes") }
        let start = i
        let name = try string()
        skipWhitespace()
        guard i < bytes.count, bytes[i] == 0x3a else { throw fail("expected ':' after \"\(name)\"") }
        i += 1
        skipWhitespace()
        let v = try value(depth: depth + 1)
        guard members.updateValue(v, forKey: name) == nil else {
          i = start
          throw fail("member \"\(name)\" appears twice")
        }
        skipWhitespace()
        guard i < bytes.count else { throw fail("unterminated object") }
        if bytes[i] == 0x2c {
          i += 1
          continue
        }
        if bytes[i] == 0x7d {
          i += 1
          return .object(members)
        }
        throw fail("expected ',' or '}'")
      }
    }

    mutating func array(depth: Int) throws(KeywardError) -> JSONValue {
      i += 1
      var items = [JSONValue]()
      skipWhitespace()
      if i < bytes.count, bytes[i] == 0x5d {
        i += 1
        return .array(items)
      }
      while true {
        skipWhitespace()
        items.append(try value(depth: depth + 1))
        skipWhitespace()
        guard i < bytes.count else { throw fail("unterminated list") }
        if bytes[i] == 0x2c {
          i += 1
          continue
        }
        if bytes[i] == 0x5d {
          i += 1
          return .array(items)
        }
        throw fail("expected ',' or ']'")
      }
    }

    mutating func number() throws(KeywardError) -> JSONValue {
      let start = i
      if bytes[i] == 0x2d { i += 1 }
      func digits(_ p: inout Parser) -> Int {
        let s = p.i
        while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
        return p.i - s
      }
      guard i < bytes.count else { throw fail("expected a digit") }
      if bytes[i] == 0x30 {
        i += 1
      } else if digits(&self) == 0 {
        throw fail("expected a digit")
      }
      if i < bytes.count, bytes[i] == 0x2e {
        i += 1
        guard digits(&self) > 0 else { throw fail("expected a digit after '.'") }
      }
      if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45 {
        i += 1
        if i < bytes.count, bytes[i] == 0x2b || bytes[i] == 0x2d { i += 1 }
        guard digits(&self) > 0 else { throw fail("expected a digit in the exponent") }
      }
      let text = String(decoding: bytes[start..<i], as: UTF8.self)
      guard let d = Double(text) else { throw fail("number out of range") }
      return .number(d)
    }

    mutating func string() throws(KeywardError) -> String {
      i += 1
      var runStart = i
      // The common case, printable ASCII without escapes (base64 payloads of megabytes among
      // them), in one tight loop; anything else goes on from there byte by byte.
      let plain = bytes.withUnsafeBufferPointer { p -> String? in
        var j = i
        while j < p.count {
          let c = p[j]
          if c == 0x22 {
            let s = String(decoding: UnsafeBufferPointer(rebasing: p[i..<j]), as: UTF8.self)
            i = j + 1
            return s
          }
          if c == 0x5c || c < 0x20 || c >= 0x80 { break }
          j += 1
        }
        i = j
        return nil
      }
      if let plain { return plain }
      var out = [UInt8]()
      var ascii = true
      var escaped = false
      while true {
        guard i < bytes.count else { throw fail("unterminated string") }
        let c = bytes[i]
        if c == 0x22 {
          // The common case, ASCII without escapes: straight from the input, nothing to validate.
          if !escaped && ascii {
            let range = runStart..<i
            i += 1
            return bytes.withUnsafeBufferPointer {
              String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self)
            }
          }
          out.append(contentsOf: bytes[runStart..<i])
          i += 1
          break
        }
        if c >= 0x80 { ascii = false }
        if c < 0x20 { throw fail("control character in a string (escape it)") }
        if c != 0x5c {
          i += 1
          continue
        }
        escaped = true
        out.append(contentsOf: bytes[runStart..<i])
        i += 1
        do {
          try JSONEscape.decode(at: &i, count: bytes.count, byte: { bytes[$0] }, emit: { out.append($0) })
        } catch {
          throw fail(error.message)
        }
        runStart = i
      }
      if ascii && out.allSatisfy({ $0 < 0x80 }) { return String(decoding: out, as: UTF8.self) }
      guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
      return s
    }
  }
}

/// Typed access to one JSON object, with errors that name the file and the member path.
public struct JSONObject {
  public let members: [String: JSONValue]
  /// `sets[1]`, or empty for the top level.
  public let path: String
  public let source: String

  public init(_ value: JSONValue, path: String = "", source: String) throws(KeywardError) {
    guard case .object(let m) = value else {
      throw KeywardError(
        .input, "\(source): \(path.isEmpty ? "top level" : path): expected an object, found \(value.typeName)"
      )
    }
    members = m
    self.path = path
    self.source = source
  }

  func place(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  func mismatch(_ key: String, _ want: String, _ found: JSONValue) -> KeywardError {
    if case .null = found {
      return KeywardError(.input, "\(source): \(place(key)): expected \(want), found null")
    }
    return KeywardError(.input, "\(source): \(place(key)): expected \(want), found \(found.typeName)")
  }

  func required(_ key: String) throws(KeywardError) -> JSONValue {
    guard let v = members[key] else {
      throw KeywardError(.input, "\(source): missing field \"\(key)\"" + (path.isEmpty ? "" : " in \(path)"))
    }
    return v
  }

  public func string(_ key: String) throws(KeywardError) -> String {
    let v = try required(key)
    guard case .string(let s) = v else { throw mismatch(key, "a string", v) }
    return s
  }

  public func optionalString(_ key: String) throws(KeywardError) -> String? {
    guard let v = members[key] else { return nil }
    if case .null = v { return nil }
    guard case .string(let s) = v else { throw mismatch(key, "a string", v) }
    return s
  }

  public func int(_ key: String) throws(KeywardError) -> Int {
    let v = try required(key)
    guard case .number(let d) = v, d.rounded() == d, abs(d) < 9.0e15 else {
      throw mismatch(key, "an integer", v)
    }
    return Int(d)
  }

  public func bool(_ key: String) throws(KeywardError) -> Bool {
    let v = try required(key)
    guard case .bool(let b) = v else { throw mismatch(key, "true or false", v) }
    return b
  }

  public func object(_ key: String) throws(KeywardError) -> JSONObject {
    let v = try required(key)
    guard case .object = v else { throw mismatch(key, "an object", v) }
    return try JSONObject(v, path: place(key), source: source)
  }

  public func objects(_ key: String) throws(KeywardError) -> [JSONObject] {
    let v = try required(key)
    guard case .array(let items) = v else { throw mismatch(key, "a list", v) }
    var out = [JSONObject]()
    out.reserveCapacity(items.count)
    for (n, item) in items.enumerated() {
      out.append(try JSONObject(item, path: "\(place(key))[\(n)]", source: source))
    }
    return out
  }

  public func timestamp(_ key: String) throws(KeywardError) -> Timestamp {
    let s = try string(key)
    guard let t = Timestamp(iso: s) else {
      throw KeywardError(
        .input,
        "\(source): \(place(key)): expected a UTC time like 2026-11-22T06:30:00Z, found \"\(Text.printable(String(s.prefix(40)), keepNewlines: false))\""
      )
    }
    return t
  }

  public func optionalTimestamp(_ key: String) throws(KeywardError) -> Timestamp? {
    guard members[key] != nil, try optionalString(key) != nil else { return nil }
    return try timestamp(key)
  }

  /// A string member that must be one of an enum's raw values.
  public func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type)
    throws(KeywardError) -> E
  where E.RawValue == String {
    let s = try string(key)
    guard let e = E(rawValue: s) else {
      let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
      throw KeywardError(
        .input,
        "\(source): \(place(key)): \"\(Text.printable(String(s.prefix(40)), keepNewlines: false))\" is not one of: \(allowed)"
      )
    }
    return e
  }
}
