#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An App Key + App Secret pair on its way into the store, in guarded memory.
public struct SetInput {
  public let appKey: SecureBytes
  public let appSecret: SecureBytes

  public init(appKey: SecureBytes, appSecret: SecureBytes) {
    self.appKey = appKey
    self.appSecret = appSecret
  }

  public func value(_ field: Field) -> SecureBytes { field == .appKey ? appKey : appSecret }
}

/// Checks that catch the usual paste accidents before a value is stored.
public enum ValueCheck {
  public static let maxLength = 4096

  /// Throws a clear error if `value` is empty, not UTF-8, or (unless `raw`) carries surrounding
  /// whitespace, quotes or control characters. Never quotes the value itself.
  public static func validate(_ value: SecureBytes, _ field: Field, source: String, raw: Bool)
    throws(KeywardError)
  {
    let what = "\(field.label) from \(source)"
    guard value.count > 0 else { throw KeywardError(.input, "\(what) is empty") }
    guard value.count <= maxLength else {
      throw KeywardError(.input, "\(what) is \(value.count) bytes long; the limit is \(maxLength)")
    }
    guard SecureText.isUTF8(value) else { throw KeywardError(.input, "\(what) is not valid UTF-8") }
    if raw { return }
    let first = value[0]
    let last = value[value.count - 1]
    if last == 0x0a || last == 0x0d {
      throw KeywardError(.input, "\(what) ends with a stray newline", advice: .storeAsGiven)
    }
    if SecureText.isASCIIWhitespace(first) || SecureText.isASCIIWhitespace(last) {
      throw KeywardError(.input, "\(what) has leading or trailing whitespace", advice: .storeAsGiven)
    }
    if value.count >= 2 && first == last && (first == 0x22 || first == 0x27 || first == 0x60) {
      throw KeywardError(
        .input,
        "\(what) is wrapped in quotes (\(Character(UnicodeScalar(first)))…\(Character(UnicodeScalar(first)))): "
          + "were they copied from an env file?", advice: .storeAsGiven)
    }
    for i in 0..<value.count where value[i] < 0x20 || value[i] == 0x7f {
      throw KeywardError(
        .input, "\(what) contains a control character at byte \(i + 1)", advice: .storeAsGiven)
    }
  }

  /// Validates both values and that they differ.
  public static func validate(_ input: SetInput, source: String, raw: Bool) throws(KeywardError) {
    try validate(input.appKey, .appKey, source: source, raw: raw)
    try validate(input.appSecret, .appSecret, source: source, raw: raw)
    if input.appKey.constantTimeEquals(input.appSecret) {
      throw KeywardError(.input, "the App Key and the App Secret from \(source) are identical")
    }
  }
}

/// Readers for every way `set` accepts a pair. None takes a value from the command line.
public enum SecretInputReader {
  /// Standard input: a JSON object `{"app_key": …, "app_secret": …}` or two lines (key, then secret).
  public static func fromStdin(_ data: SecureBytes, source: String = "standard input") throws(KeywardError)
    -> SetInput
  {
    var i = 0
    while i < data.count && SecureText.isASCIIWhitespace(data[i]) { i += 1 }
    if i < data.count && data[i] == 0x7b {  // '{'
      return try SecureJSONObject.parsePair(data, source: source)
    }
    return try twoLines(data, source: source)
  }

  static func twoLines(_ data: SecureBytes, source: String) throws(KeywardError) -> SetInput {
    // One final line end closes the last line; it does not start another.
    var count = data.count
    if count > 0 && data[count - 1] == 0x0a { count -= 1 }
    var lines = [SecureBytes]()
    var start = 0
    for i in 0...count where i == count || data[i] == 0x0a {
      var end = i
      if end > start && data[end - 1] == 0x0d { end -= 1 }  // CRLF line ends
      lines.append(data.slice(start..<end))
      start = i + 1
    }
    guard lines.count == 2 else {
      throw KeywardError(
        .input,
        "\(source): expected two lines (App Key, then App Secret) or a JSON object; found \(lines.count) line(s)"
      )
    }
    return SetInput(appKey: lines[0], appSecret: lines[1])
  }

  /// The two variables named in keyward.json, from the process environment.
  public static func fromEnvironment(_ names: ExportNames, environment: [String: String]) throws(KeywardError)
    -> SetInput
  {
    func get(_ name: String) throws(KeywardError) -> SecureBytes {
      guard var v = environment[name] else {
        throw KeywardError(.input, "the environment variable \(name) is not set")
      }
      return v.withUTF8 { SecureBytes(copying: UnsafeRawBufferPointer($0)) }
    }
    return SetInput(appKey: try get(names.appKey), appSecret: try get(names.appSecret))
  }

  /// A dotenv-style file (see `EnvFile`) holding the two variables named in keyward.json.
  public static func fromEnvFile(path: String, names: ExportNames) throws(KeywardError) -> SetInput {
    let raw = try FileSystem.readSecret(path: path, requirePrivate: false)
    let vars = try EnvFile.parse(raw, source: path)
    func get(_ name: String) throws(KeywardError) -> SecureBytes {
      guard let v = vars[name] else { throw KeywardError(.input, "\(path): no \(name)=… line") }
      return v
    }
    return SetInput(appKey: try get(names.appKey), appSecret: try get(names.appSecret))
  }
}

/// A minimal JSON reader for one flat object of string values, working in guarded memory so that
/// secrets never become Swift strings.
enum SecureJSONObject {
  static func parsePair(_ d: SecureBytes, source: String) throws(KeywardError) -> SetInput {
    let fields = try parse(d, source: source)
    let aliases: [(Field, [String])] = [
      (.appKey, ["app_key", "site_key"]), (.appSecret, ["app_secret", "secret_key"]),
    ]
    var found = [Field: SecureBytes]()
    for (name, value) in fields {
      guard let field = aliases.first(where: { $0.1.contains(name) })?.0 else {
        // The name is not quoted back: a mistyped document may have a secret where a name belongs.
        throw KeywardError(.input, "\(source): unknown field (expected only app_key and app_secret)")
      }
      guard found[field] == nil else {
        throw KeywardError(.input, "\(source): \(field.rawValue) is given twice")
      }
      found[field] = value
    }
    guard let key = found[.appKey] else { throw KeywardError(.input, "\(source): missing \"app_key\"") }
    guard let secret = found[.appSecret] else {
      throw KeywardError(.input, "\(source): missing \"app_secret\"")
    }
    return SetInput(appKey: key, appSecret: secret)
  }

  /// Parses `{ "name": "string", … }`. Names are not secret; values stay in guarded memory.
  static func parse(_ d: SecureBytes, source: String) throws(KeywardError) -> [(String, SecureBytes)] {
    var i = 0
    func fail(_ what: String) -> KeywardError {
      KeywardError(.input, "\(source): invalid JSON at byte \(i + 1): \(what)")
    }
    func skipWS() { while i < d.count && SecureText.isASCIIWhitespace(d[i]) && d[i] != 0x0c { i += 1 } }
    func expect(_ c: UInt8, _ what: String) throws(KeywardError) {
      skipWS()
      guard i < d.count, d[i] == c else { throw fail("expected \(what)") }
      i += 1
    }
    func string() throws(KeywardError) -> SecureBytes {
      try expect(0x22, "a string")
      let out = SecureBytes(capacity: 64)
      while true {
        guard i < d.count else { throw fail("unterminated string") }
        let c = d[i]
        i += 1
        if c == 0x22 { return out }
        if c < 0x20 { throw fail("control character inside a string (escape it)") }
        if c != 0x5c {
          out.append(c)
          continue
        }
        do {
          try JSONEscape.decode(at: &i, count: d.count, byte: { d[$0] }, emit: { out.append($0) })
        } catch {
          throw fail(error.message)
        }
      }
    }
    var out = [(String, SecureBytes)]()
    try expect(0x7b, "'{'")
    skipWS()
    if i < d.count && d[i] == 0x7d {
      i += 1
    } else {
      while true {
        let name = try string().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        try expect(0x3a, "':'")
        skipWS()
        guard i < d.count, d[i] == 0x22 else { throw fail("a value must be a string") }
        out.append((name, try string()))
        skipWS()
        guard i < d.count else { throw fail("unterminated object") }
        if d[i] == 0x2c {
          i += 1
          continue
        }
        if d[i] == 0x7d {
          i += 1
          break
        }
        throw fail("expected ',' or '}'")
      }
    }
    skipWS()
    guard i == d.count else { throw fail("unexpected text after the object") }
    return out
  }
}

/// A reader for dotenv-style files (`NAME=value`, optional `export `, `#` comments, single quotes
/// literal, double quotes with `\n \t \" \\ \$` escapes, unquoted values trimmed and cut at ` #`).
/// Values stay in guarded memory. A variable defined twice is an error: the two common readers
/// disagree on which one wins. Errors give line numbers and never quote the file's text, which may
/// be a secret in the wrong place.
public enum EnvFile {
  public static func parse(_ d: SecureBytes, source: String) throws(KeywardError) -> [String: SecureBytes] {
    var out = [String: SecureBytes]()
    var firstLine = [String: Int]()
    var i = 0
    var line = 1
    func fail(_ what: String) -> KeywardError { KeywardError(.input, "\(source):\(line): \(what)") }
    while i < d.count {
      // Skip leading blanks.
      while i < d.count && (d[i] == 0x20 || d[i] == 0x09) { i += 1 }
      if i >= d.count { break }
      if d[i] == 0x0a || d[i] == 0x0d || d[i] == 0x23 {  // blank line or comment
        while i < d.count && d[i] != 0x0a { i += 1 }
        i += 1
        line += 1
        continue
      }
      var nameStart = i
      while i < d.count && isNameByte(d[i]) { i += 1 }
      var name = d.slice(nameStart..<i).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
      if name == "export" && i < d.count && (d[i] == 0x20 || d[i] == 0x09) {
        while i < d.count && (d[i] == 0x20 || d[i] == 0x09) { i += 1 }
        nameStart = i
        while i < d.count && isNameByte(d[i]) { i += 1 }
        name = d.slice(nameStart..<i).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
      }
      guard !name.isEmpty else { throw fail("expected NAME=value") }
      while i < d.count && (d[i] == 0x20 || d[i] == 0x09) { i += 1 }
      // The token is not quoted back: a value that wrapped onto its own line would be a secret.
      guard i < d.count, d[i] == 0x3d else { throw fail("expected NAME=value") }
      i += 1
      while i < d.count && (d[i] == 0x20 || d[i] == 0x09) { i += 1 }
      let value = SecureBytes(capacity: 64)
      let startLine = line
      if i < d.count && d[i] == 0x27 {  // 'literal'
        i += 1
        while i < d.count && d[i] != 0x27 {
          if d[i] == 0x0a { line += 1 }
          value.append(d[i])
          i += 1
        }
        guard i < d.count else { line = startLine; throw fail("unterminated single quote") }
        i += 1
      } else if i < d.count && d[i] == 0x22 {  // "escaped"
        i += 1
        while i < d.count && d[i] != 0x22 {
          if d[i] == 0x5c && i + 1 < d.count {
            let e = d[i + 1]
            switch e {
            case 0x6e: value.append(0x0a)
            case 0x74: value.append(0x09)
            case 0x72: value.append(0x0d)
            case 0x22, 0x5c, 0x24, 0x60: value.append(e)
            default:
              value.append(0x5c)
              value.append(e)
            }
            i += 2
            continue
          }
          if d[i] == 0x0a { line += 1 }
          value.append(d[i])
          i += 1
        }
        guard i < d.count else { line = startLine; throw fail("unterminated double quote") }
        i += 1
      } else {
        var end = i
        while end < d.count && d[end] != 0x0a && d[end] != 0x0d {
          if d[end] == 0x23 && end > i && (d[end - 1] == 0x20 || d[end - 1] == 0x09) { break }
          end += 1
        }
        var trimmedEnd = end
        while trimmedEnd > i && (d[trimmedEnd - 1] == 0x20 || d[trimmedEnd - 1] == 0x09) { trimmedEnd -= 1 }
        d.withUnsafeBytes { value.append(UnsafeRawBufferPointer(rebasing: $0[i..<trimmedEnd])) }
        i = end
      }
      // Rest of the line: blanks and an optional comment only.
      while i < d.count && (d[i] == 0x20 || d[i] == 0x09 || d[i] == 0x0d) { i += 1 }
      if i < d.count && d[i] == 0x23 { while i < d.count && d[i] != 0x0a { i += 1 } }
      guard i >= d.count || d[i] == 0x0a else { throw fail("unexpected text after the value") }
      if let first = firstLine[name] {
        throw fail(
          "the variable on this line is defined again (first on line \(first)); readers disagree on which one wins"
        )
      }
      firstLine[name] = startLine
      out[name] = value
      i += 1
      line += 1
    }
    return out
  }

  static func isNameByte(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2e
      || c == 0x2d
  }
}
