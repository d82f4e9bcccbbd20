/// The parts of a URL that Content Security Policy looks at: scheme, host, port, path and query —
/// parsed the way the WHATWG URL parser does for these (lowercase scheme and host, a default port
/// dropped, an empty special path made "/", backslashes in special URLs read as slashes). It is not
/// a general URL library: no IDNA, no IPv6 canonicalisation beyond lowercasing.
public struct WebURL: Sendable, Equatable, CustomStringConvertible {
  /// Lowercase, without the colon.
  public var scheme: String
  /// Lowercase; nil for URLs without an authority (data:, blob:, about:).
  public var host: String?
  /// nil when absent or the scheme's default (as the URL parser normalises it).
  public var port: Int?
  /// The serialised path ("/a/b.js"); for non-special URLs, everything after the colon.
  public var path: String
  /// Without the "?"; nil when absent.
  public var query: String?

  public init(scheme: String, host: String?, port: Int?, path: String, query: String? = nil) {
    self.scheme = scheme
    self.host = host
    self.port = port
    self.path = path
    self.query = query
  }

  public static let specialSchemes: Set<String> = ["http", "https", "ws", "wss", "ftp", "file"]

  public static func defaultPort(_ scheme: String) -> Int? {
    switch scheme {
    case "http", "ws": return 80
    case "https", "wss": return 443
    case "ftp": return 21
    default: return nil
    }
  }

  /// The port in effect: the explicit one or the scheme's default.
  public var effectivePort: Int? { port ?? WebURL.defaultPort(scheme) }

  public var isSpecial: Bool { WebURL.specialSchemes.contains(scheme) }

  /// `scheme://host[:port]`, or nil for URLs without a host.
  public var origin: String? {
    guard let host else { return nil }
    return "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "")
  }

  public var description: String {
    var b: [UInt8] = []
    serialise(into: &b)
    return String(decoding: b, as: UTF8.self)
  }

  /// The URL's serialisation, as bytes (for `description` and for JSON without a String).
  func serialise(into b: inout [UInt8]) {
    b.append(contentsOf: scheme.utf8)
    b.append(0x3a)
    if let host {
      b.append(0x2f)
      b.append(0x2f)
      b.append(contentsOf: host.utf8)
      if let port {
        b.append(0x3a)
        b.append(contentsOf: String(port).utf8)
      }
    }
    b.append(contentsOf: path.utf8)
    if let query {
      b.append(0x3f)
      b.append(contentsOf: query.utf8)
    }
  }

  /// The serialisation as a JSON string, without building a String first.
  public func writeJSON(into out: inout [UInt8]) {
    var b: [UInt8] = []
    b.reserveCapacity(64)
    serialise(into: &b)
    JSONValue.writeString(bytes: b, into: &out)
  }

  public static func isSchemeStart(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a }
  static func isSchemeByte(_ c: UInt8) -> Bool {
    isSchemeStart(c) || (c >= 0x30 && c <= 0x39) || c == 0x2b || c == 0x2d || c == 0x2e
  }

  /// The scheme of `text` if it starts with one (`scheme:`), lowercased.
  public static func leadingScheme(_ bytes: ArraySlice<UInt8>) -> String? {
    guard let first = bytes.first, isSchemeStart(first) else { return nil }
    var i = bytes.startIndex
    while i < bytes.endIndex, isSchemeByte(bytes[i]) { i += 1 }
    guard i < bytes.endIndex, bytes[i] == 0x3a else { return nil }
    return String(decoding: bytes[bytes.startIndex..<i], as: UTF8.self).lowercased()
  }

  /// Parses an absolute URL; nil when it is not one (no scheme, empty host, bad port).
  public static func parse(_ text: String) -> WebURL? {
    let bytes = Array(trimmed(text).utf8)
    guard let scheme = leadingScheme(bytes[...]) else { return nil }
    let rest = bytes[(scheme.utf8.count + 1)...]
    if specialSchemes.contains(scheme) {
      var i = rest.startIndex
      // Special URLs accept any number of slashes (and backslashes) before the authority.
      while i < rest.endIndex, rest[i] == 0x2f || rest[i] == 0x5c { i += 1 }
      return parseAuthorityAndPath(scheme: scheme, rest[i...])
    }
    // Non-special: an authority only after "//".
    if rest.starts(with: [0x2f, 0x2f]) {
      return parseAuthorityAndPath(scheme: scheme, rest[(rest.startIndex + 2)...], special: false)
    }
    let (path, query) = splitQuery(rest)
    return WebURL(scheme: scheme, host: nil, port: nil, path: path, query: query)
  }

  static func trimmed(_ text: String) -> Substring {
    // The URL parser strips leading and trailing C0 controls and spaces, and removes tabs and newlines.
    var s = Substring(text)
    while let f = s.utf8.first, f <= 0x20 { s = s.dropFirst() }
    while let l = s.utf8.last, l <= 0x20 { s = s.dropLast() }
    if s.utf8.contains(where: { $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }) {
      // By bytes: "\r\n" is one Character, so a Character filter would miss it.
      return Substring(
        String(decoding: s.utf8.filter { $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }, as: UTF8.self))
    }
    return s
  }

  static func splitQuery(_ bytes: ArraySlice<UInt8>) -> (String, String?) {
    var end = bytes.endIndex
    if let hash = bytes.firstIndex(of: 0x23) { end = hash }
    let body = bytes[bytes.startIndex..<end]
    if let q = body.firstIndex(of: 0x3f) {
      return (
        String(decoding: body[body.startIndex..<q], as: UTF8.self),
        String(decoding: body[(q + 1)...], as: UTF8.self)
      )
    }
    return (String(decoding: body, as: UTF8.self), nil)
  }

  static func parseAuthorityAndPath(scheme: String, _ bytes: ArraySlice<UInt8>, special: Bool = true)
    -> WebURL?
  {
    var end = bytes.startIndex
    while end < bytes.endIndex {
      let c = bytes[end]
      if c == 0x2f || c == 0x3f || c == 0x23 || (special && c == 0x5c) { break }
      end += 1
    }
    var authority = bytes[bytes.startIndex..<end]
    if let at = authority.lastIndex(of: 0x40) { authority = authority[(at + 1)...] }
    var hostPart = authority
    var portText: ArraySlice<UInt8>? = nil
    if authority.first == 0x5b {  // [IPv6]
      guard let close = authority.firstIndex(of: 0x5d) else { return nil }
      hostPart = authority[authority.startIndex...close]
      let after = authority[(close + 1)...]
      if let f = after.first {
        guard f == 0x3a else { return nil }
        portText = after.dropFirst()
      }
    } else if let colon = authority.firstIndex(of: 0x3a) {
      hostPart = authority[authority.startIndex..<colon]
      portText = authority[(colon + 1)...]
    }
    guard !hostPart.isEmpty || scheme == "file" else { return nil }
    let host = String(decoding: hostPart, as: UTF8.self).lowercased()
    var port: Int? = nil
    if let portText, !portText.isEmpty {
      var n = 0
      for c in portText {
        guard c >= 0x30 && c <= 0x39 else { return nil }
        n = n * 10 + Int(c - 0x30)
        guard n <= 65535 else { return nil }
      }
      port = n == defaultPort(scheme) ? nil : n
    }
    var (path, query) = splitQuery(bytes[end...])
    if special {
      if path.isEmpty { path = "/" }
      if path.utf8.contains(0x5c) { path = String(path.map { $0 == "\\" ? "/" : $0 }) }
      path = removeDotSegments(path)
    }
    return WebURL(scheme: scheme, host: host, port: port, path: path, query: query)
  }

  /// RFC 3986 §5.2.4, enough for the paths pages reference.
  static func removeDotSegments(_ path: String) -> String {
    guard path.contains("/.") || path.hasPrefix(".") || path.lowercased().contains("%2e") else { return path }
    var out: [Substring] = []
    let parts = path.split(separator: "/", omittingEmptySubsequences: false)
    for (i, p) in parts.enumerated() {
      let last = i == parts.count - 1
      if p == "." || p.lowercased() == "%2e" {
        if last { out.append("") }
      } else if p == ".." || p.lowercased() == ".%2e" || p.lowercased() == "%2e."
        || p.lowercased() == "%2e%2e"
      {
        if out.count > 1 { out.removeLast() }
        if last { out.append("") }
      } else {
        out.append(p)
      }
    }
    let joined = out.joined(separator: "/")
    return joined.hasPrefix("/") ? joined : "/" + joined
  }

  /// Resolves a reference (as written in an attribute) against this URL.
  public func resolve(_ reference: String) -> WebURL? {
    let ref = WebURL.trimmed(reference)
    let bytes = Array(ref.utf8)
    if WebURL.leadingScheme(bytes[...]) != nil { return WebURL.parse(String(ref)) }
    if ref.hasPrefix("//") || ref.hasPrefix("\\\\") { return WebURL.parse(scheme + ":" + ref) }
    guard let origin else { return nil }
    if ref.isEmpty { return self }
    if ref.hasPrefix("/") || ref.hasPrefix("\\") { return WebURL.parse(origin + ref) }
    if ref.hasPrefix("?") { return WebURL.parse(origin + path + ref) }
    if ref.hasPrefix("#") { return self }
    let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "/"
    return WebURL.parse(origin + directory + ref)
  }

  /// Percent-decodes `text` to bytes (an invalid escape stays as written).
  public static func percentDecoded(_ text: Substring) -> [UInt8] {
    let b = Array(text.utf8)
    guard b.contains(0x25) else { return b }
    var out: [UInt8] = []
    out.reserveCapacity(b.count)
    var i = 0
    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x41...0x46: return c - 0x37
      case 0x61...0x66: return c - 0x57
      default: return nil
      }
    }
    while i < b.count {
      if b[i] == 0x25, i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
        out.append(h << 4 | l)
        i += 3
      } else {
        out.append(b[i])
        i += 1
      }
    }
    return out
  }
}
