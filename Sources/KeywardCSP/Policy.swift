import KeywardCore

/// Content Security Policy Level 3 parsing (§2.2 "Parse a serialized CSP"), with the warnings a
/// person writing a policy wants to hear about. Parsing never fails: like a browser, it keeps what
/// it can use and drops the rest, and says what it dropped.

/// Where a policy came from, which decides whether it blocks.
public enum PolicySource: String, Sendable, Codable {
  /// A `Content-Security-Policy` header: enforced.
  case header
  /// A `Content-Security-Policy-Report-Only` header: only reports.
  case reportOnly = "report-only"
  /// A `<meta http-equiv="Content-Security-Policy">` element: enforced, for what follows it.
  case meta

  public var enforced: Bool { self != .reportOnly }
}

/// One parse warning: what was wrong, in which directive and token.
public struct PolicyWarning: Sendable, Equatable {
  public enum Code: String, Sendable {
    case unknownDirective = "unknown-directive"
    case duplicateDirective = "duplicate-directive"
    case missingSemicolon = "missing-semicolon"
    case unquotedKeyword = "unquoted-keyword"
    case nonASCIIDropped = "non-ascii-dropped"
    case noneWithSources = "none-with-sources"
    case invalidSource = "invalid-source"
    case pathWithQuery = "path-with-query"
    case directiveColon = "directive-colon"
    case emptyDirective = "empty-directive"
    case ignoredInMeta = "ignored-in-meta"
    case emptyPolicy = "empty-policy"
  }

  public var code: Code
  public var directive: String?
  public var token: String?
  public var message: String

  public init(_ code: Code, directive: String? = nil, token: String? = nil, _ message: String) {
    self.code = code
    self.directive = directive
    self.token = token
    self.message = message
  }
}

public enum HashAlgorithm: String, Sendable, CaseIterable {
  case sha256, sha384, sha512
}

/// A host-source: `[scheme://]host[:port][/path]`.
public struct HostSource: Sendable, Equatable {
  /// Lowercase; nil when the expression has no scheme (the page's scheme is its base).
  public var scheme: String?
  /// Lowercase. "*" for any host; a leading "*." for subdomains.
  public var host: String
  public enum Port: Sendable, Equatable {
    case unspecified
    case any
    case number(Int)
  }
  public var port: Port
  /// Empty when absent.
  public var path: String
}

/// One source expression, parsed once (CSP3 §2.3.1).
public enum SourceExpression: Sendable, Equatable {
  case none
  case star
  case scheme(String)
  case host(HostSource)
  case selfOrigin
  case unsafeInline
  case unsafeEval
  case strictDynamic
  case unsafeHashes
  case reportSample
  case wasmUnsafeEval
  case unsafeAllowRedirects
  case otherKeyword(String)
  case nonce(String)
  /// The base64 value as written; matching compares it with `-`/`_` read as `+`/`/`.
  case hash(HashAlgorithm, String)
  case invalid(String)

  public var isNonce: Bool { if case .nonce = self { return true } else { return false } }
  public var isHash: Bool { if case .hash = self { return true } else { return false } }
}

/// One source expression with the text it was written as (for explanations and fixes).
public struct Source: Sendable, Equatable {
  public var text: String
  public var expression: SourceExpression
}

public struct Directive: Sendable {
  /// Lowercase.
  public var name: String
  public var sources: [Source]
  /// The directive as written (trimmed), reproduced unchanged when a fix leaves it alone.
  public var text: String

  public var hasStrictDynamic: Bool { sources.contains { $0.expression == .strictDynamic } }
  public var hasNonceOrHash: Bool { sources.contains { $0.expression.isNonce || $0.expression.isHash } }
  public var hasHash: Bool { sources.contains { $0.expression.isHash } }
  public var hasUnsafeInline: Bool { sources.contains { $0.expression == .unsafeInline } }
  /// `'none'` as the only expression, or an empty list: nothing matches.
  public var isNone: Bool {
    sources.isEmpty || (sources.count == 1 && sources[0].expression == .none)
  }
}

public struct Policy: Sendable {
  public var source: PolicySource
  /// Directives in order of appearance; duplicates were dropped (the first wins).
  public var directives: [Directive]
  public var warnings: [PolicyWarning]
  /// The policy as written.
  public var text: String

  public func directive(_ name: String) -> Directive? { directives.first { $0.name == name } }

  /// For each fetch directive (`Policy.fetchNames` order): its index in `directives`, or -1.
  public var fetchSlots: [Int16] = Array(repeating: -1, count: Policy.fetchNames.count)

  public static let fetchNames: [String] = fetchDirectives.sorted()
  static let fetchSlot: [String: Int] = Dictionary(
    uniqueKeysWithValues: fetchNames.enumerated().map { ($1, $0) })

  public static let fetchDirectives: Set<String> = [
    "child-src", "connect-src", "default-src", "font-src", "frame-src", "img-src", "manifest-src",
    "media-src", "object-src", "prefetch-src", "script-src", "script-src-elem", "script-src-attr",
    "style-src", "style-src-elem", "style-src-attr", "worker-src", "fenced-frame-src",
  ]

  public static let knownDirectives: Set<String> = fetchDirectives.union([
    "base-uri", "sandbox", "form-action", "frame-ancestors", "navigate-to", "report-uri", "report-to",
    "require-trusted-types-for", "trusted-types", "upgrade-insecure-requests",
    "block-all-mixed-content", "plugin-types", "webrtc", "require-sri-for",
  ])

  static let ignoredInMeta: Set<String> = ["frame-ancestors", "report-uri", "sandbox"]

  /// Parses one header value: a comma separates policies (§2.2.2); policies with no directive are
  /// dropped.
  public static func parseList(_ value: String, source: PolicySource) -> [Policy] {
    value.split(separator: ",", omittingEmptySubsequences: false).compactMap { text -> Policy? in
      let p = parse(text, source: source)
      return p.directives.isEmpty && p.text.isEmpty ? nil : p
    }
  }

  /// Parses one serialized policy (§2.2.1).
  public static func parse(_ serialized: Substring, source: PolicySource) -> Policy {
    var policy = Policy(source: source, directives: [], warnings: [], text: trimASCII(serialized))

    var seen = Set<String>()
    for rawToken in serialized.split(separator: ";", omittingEmptySubsequences: false) {
      let token = trimASCII(rawToken)
      if token.isEmpty { continue }
      if !token.utf8.allSatisfy({ $0 < 0x80 }) {
        policy.warnings.append(
          .init(
            .nonASCIIDropped, token: token,
            "'\(token)' contains a non-ASCII character, so the browser drops this directive whole"))
        continue
      }
      let parts = splitASCIIWhitespace(token)
      let name = parts[0].lowercased()
      if seen.contains(name) {
        policy.warnings.append(
          .init(
            .duplicateDirective, directive: name,
            "\(name) appears more than once; only the first counts, this one is ignored"))
        continue
      }
      seen.insert(name)
      if source == .meta && ignoredInMeta.contains(name) {
        policy.warnings.append(
          .init(.ignoredInMeta, directive: name, "\(name) is ignored in a <meta> policy; send it as a header")
        )
      }
      var directive = Directive(name: name, sources: [], text: token)
      if !knownDirectives.contains(name) {
        if name.hasSuffix(":"), knownDirectives.contains(String(name.dropLast())) {
          policy.warnings.append(
            .init(
              .directiveColon, directive: name,
              "'\(name)' is not a directive (no colon after a directive name); the browser ignores it"))
        } else {
          policy.warnings.append(
            .init(.unknownDirective, directive: name, "unknown directive '\(name)' is ignored"))
        }
        policy.directives.append(directive)
        continue
      }
      let isFetch = fetchDirectives.contains(name)
      for word in parts.dropFirst() {
        if isFetch {
          let src = parseSource(word)
          directive.sources.append(src)
          warn(about: src, in: name, into: &policy.warnings)
        } else {
          directive.sources.append(Source(text: word, expression: .otherKeyword(word)))
        }
        if knownDirectives.contains(word.lowercased()) {
          policy.warnings.append(
            .init(
              .missingSemicolon, directive: name, token: word,
              "'\(word)' in \(name) looks like a directive: is a ';' missing before it?"))
        }
      }
      if isFetch {
        if directive.sources.isEmpty {
          policy.warnings.append(
            .init(.emptyDirective, directive: name, "\(name) has no sources, so it allows nothing"))
        } else if directive.sources.count > 1 && directive.sources.contains(where: { $0.expression == .none })
        {
          policy.warnings.append(
            .init(
              .noneWithSources, directive: name,
              "'none' in \(name) is ignored because other sources are listed with it"))
        }
      }
      policy.directives.append(directive)
    }
    for (i, d) in policy.directives.enumerated() {
      if let slot = fetchSlot[d.name] { policy.fetchSlots[slot] = Int16(i) }
    }
    if policy.directives.isEmpty && !policy.text.isEmpty {
      policy.warnings.append(.init(.emptyPolicy, "the policy '\(policy.text)' has no usable directive"))
    }
    return policy
  }

  static func warn(about src: Source, in name: String, into warnings: inout [PolicyWarning]) {
    switch src.expression {
    case .invalid(let why):
      if why == "query" {
        warnings.append(
          .init(
            .pathWithQuery, directive: name, token: src.text,
            "'\(src.text)' in \(name): a source path cannot contain '?'; this source matches nothing"))
      } else {
        warnings.append(
          .init(
            .invalidSource, directive: name, token: src.text,
            "'\(src.text)' in \(name) is not a valid source expression (\(why)); it matches nothing"))
      }
    case .host(let h) where h.scheme == nil && h.port == .unspecified && h.path.isEmpty:
      let bare = ["self", "none", "unsafe-inline", "unsafe-eval", "strict-dynamic", "unsafe-hashes"]
      if bare.contains(h.host) || h.host.hasPrefix("nonce-") || h.host.hasPrefix("sha256-") {
        warnings.append(
          .init(
            .unquotedKeyword, directive: name, token: src.text,
            "'\(src.text)' in \(name) is read as a host name; keywords need single quotes ('\(src.text)')"))
      }
    case .otherKeyword(let k):
      warnings.append(
        .init(
          .invalidSource, directive: name, token: src.text,
          "unknown keyword \(k) in \(name); it matches nothing"))
    default:
      break
    }
  }

  /// Trims ASCII whitespace only (TAB LF FF CR SPACE) — never NBSP.
  static func trimASCII(_ s: Substring) -> String {
    let u = s.utf8
    var start = u.startIndex
    var end = u.endIndex
    while start < end, isASCIIWhitespace(u[start]) { start = u.index(after: start) }
    while end > start, isASCIIWhitespace(u[u.index(before: end)]) { end = u.index(before: end) }
    return String(s[start..<end])
  }

  @inline(__always) static func isASCIIWhitespace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0c || c == 0x0d
  }

  static func splitASCIIWhitespace(_ s: String) -> [String] {
    var out: [String] = []
    var current: [UInt8] = []
    for c in s.utf8 {
      if isASCIIWhitespace(c) {
        if !current.isEmpty {
          out.append(String(decoding: current, as: UTF8.self))
          current.removeAll(keepingCapacity: true)
        }
      } else {
        current.append(c)
      }
    }
    if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
    return out
  }

  /// One source expression (§2.3.1 grammar). Keywords compare case-insensitively; nonce and hash
  /// values are case-sensitive.
  public static func parseSource(_ word: String) -> Source {
    Source(text: word, expression: parseExpression(word))
  }

  static func isBase64Value(_ s: Substring) -> Bool {
    // 1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" ) *2( "=" )
    let u = Array(s.utf8)
    var i = 0
    while i < u.count {
      let c = u[i]
      let ok =
        (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2b || c == 0x2f
        || c == 0x2d || c == 0x5f
      if !ok { break }
      i += 1
    }
    guard i > 0 else { return false }
    var pad = 0
    while i < u.count, u[i] == 0x3d, pad < 2 {
      pad += 1
      i += 1
    }
    return i == u.count
  }

  static func parseExpression(_ word: String) -> SourceExpression {
    if word == "*" { return .star }
    let lower = word.lowercased()
    if lower.hasPrefix("'") {
      guard lower.count >= 2, lower.hasSuffix("'") else { return .invalid("an unterminated quote") }
      switch lower {
      case "'none'": return .none
      case "'self'": return .selfOrigin
      case "'unsafe-inline'": return .unsafeInline
      case "'unsafe-eval'": return .unsafeEval
      case "'strict-dynamic'": return .strictDynamic
      case "'unsafe-hashes'": return .unsafeHashes
      case "'report-sample'": return .reportSample
      case "'wasm-unsafe-eval'": return .wasmUnsafeEval
      case "'unsafe-allow-redirects'": return .unsafeAllowRedirects
      case "'inline-speculation-rules'": return .otherKeyword(word)
      default: break
      }
      let inner = word.dropFirst().dropLast()
      if lower.hasPrefix("'nonce-") {
        let value = inner.dropFirst(6)
        return isBase64Value(value) ? .nonce(String(value)) : .invalid("a nonce must be base64")
      }
      for alg in HashAlgorithm.allCases where lower.hasPrefix("'\(alg.rawValue)-") {
        let value = inner.dropFirst(alg.rawValue.count + 1)
        return isBase64Value(value) ? .hash(alg, String(value)) : .invalid("a hash must be base64")
      }
      return .invalid("an unknown quoted keyword")
    }
    // Scheme and host compare case-insensitively, the path case-sensitively.
    let bytes = Array(word.utf8)
    // scheme-source: scheme ":"
    if let scheme = WebURL.leadingScheme(bytes[...]), bytes.count == scheme.utf8.count + 1 {
      return .scheme(scheme)
    }
    return parseHostSource(bytes)
  }

  static func isHostChar(_ c: UInt8) -> Bool {
    (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d
  }

  static func parseHostSource(_ b: [UInt8]) -> SourceExpression {
    var i = 0
    var scheme: String? = nil
    if let sep = Bytes.firstIndex(of: [0x3a, 0x2f, 0x2f], in: b[...]) {
      guard let s = WebURL.leadingScheme(b[...]), s.utf8.count == sep else {
        return .invalid("a bad scheme")
      }
      scheme = s
      i = sep + 3
    }
    // host-part = "*" / [ "*." ] 1*host-char *( "." 1*host-char ) [ "." ]
    let hostStart = i
    var labels = true
    if i < b.count, b[i] == 0x2a {
      i += 1
      if i < b.count, b[i] == 0x2e {
        i += 1
        guard i < b.count, isHostChar(b[i]) else { return .invalid("'*.' must be followed by a host name") }
      } else {
        labels = false  // the host "*"
      }
    }
    if labels {
      var label = 0
      while i < b.count, isHostChar(b[i]) || b[i] == 0x2e {
        if b[i] == 0x2e {
          guard label > 0 else { return .invalid("an empty label in the host") }
          label = 0
        } else {
          label += 1
        }
        i += 1
      }
      guard i > hostStart, b[i - 1] != 0x2a else { return .invalid("no host") }
      guard b[hostStart] != 0x2e else { return .invalid("an empty label in the host") }
    }
    var host = String(decoding: b[hostStart..<i], as: UTF8.self).lowercased()
    if host.hasSuffix(".") && host.count > 1 && host != "*." { host.removeLast() }
    var port = HostSource.Port.unspecified
    if i < b.count, b[i] == 0x3a {
      i += 1
      if i < b.count, b[i] == 0x2a {
        port = .any
        i += 1
      } else {
        var n = 0
        let start = i
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
          n = min(n * 10 + Int(b[i] - 0x30), 1_000_000)
          i += 1
        }
        guard i > start else { return .invalid("a bad port") }
        port = .number(n)
      }
    }
    var path = ""
    if i < b.count {
      guard b[i] == 0x2f else { return .invalid("unexpected characters after the host") }
      let rest = b[i...]
      if rest.contains(0x3f) { return .invalid("query") }
      if rest.contains(0x23) || rest.contains(0x2c) || rest.contains(0x3b) {
        return .invalid("a bad path")
      }
      path = String(decoding: rest, as: UTF8.self)
    }
    return .host(HostSource(scheme: scheme, host: host, port: port, path: path))
  }
}
