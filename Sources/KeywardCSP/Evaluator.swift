import KeywardCore

/// Would a browser, under these policies, load this URL as this kind of resource on this page?
/// CSP Level 3 §6 (fetch directives, "Does url match expression in origin with redirect count?",
/// the script directives' pre-request check and inline checks), with an explanation per policy.

public enum ResourceKind: String, Sendable, CaseIterable {
  case script, style, img, connect, frame, worker, font, media, object, manifest
  case inlineScript = "inline-script"
  case inlineStyle = "inline-style"
  /// A `style="…"` attribute (the CaptchaLa widget sets one on its element).
  case styleAttribute = "style-attr"

  public var isInline: Bool { self == .inlineScript || self == .inlineStyle || self == .styleAttribute }
  /// Script-like destinations go through nonce, integrity and 'strict-dynamic' (§6.1.1.1).
  public var isScriptLike: Bool { self == .script || self == .worker }

  /// The directives tried in order; the first one a policy has governs (§6.8.3).
  public var fallbackChain: [String] { ResourceKind.chains[ordinal] }

  static let chains: [[String]] = ResourceKind.allCases.map { kind in
    switch kind {
    case .script, .inlineScript: return ["script-src-elem", "script-src", "default-src"]
    case .style, .inlineStyle: return ["style-src-elem", "style-src", "default-src"]
    case .styleAttribute: return ["style-src-attr", "style-src", "default-src"]
    case .frame: return ["frame-src", "child-src", "default-src"]
    case .worker: return ["worker-src", "child-src", "script-src", "default-src"]
    case .img: return ["img-src", "default-src"]
    case .connect: return ["connect-src", "default-src"]
    case .font: return ["font-src", "default-src"]
    case .media: return ["media-src", "default-src"]
    case .object: return ["object-src", "default-src"]
    case .manifest: return ["manifest-src", "default-src"]
    }
  }

  /// The chain as slots of `Policy.fetchSlots` (no string comparisons on the hot path).
  static let slotChains: [[Int]] = chains.map { $0.map { Policy.fetchSlot[$0]! } }

  var slotChain: [Int] { ResourceKind.slotChains[ordinal] }

  /// Position in `allCases`, without hashing.
  var ordinal: Int {
    switch self {
    case .script: return 0
    case .style: return 1
    case .img: return 2
    case .connect: return 3
    case .frame: return 4
    case .worker: return 5
    case .font: return 6
    case .media: return 7
    case .object: return 8
    case .manifest: return 9
    case .inlineScript: return 10
    case .inlineStyle: return 11
    case .styleAttribute: return 12
    }
  }

  /// The directive a fix adds when the request falls back to a broader one.
  public var fixDirective: String {
    switch self {
    case .script, .inlineScript: return "script-src"
    case .style, .inlineStyle, .styleAttribute: return "style-src"
    default: return fallbackChain[0]
    }
  }
}

/// One question to the engine.
public struct CSPRequest: Sendable {
  /// The page's URL (its origin is what 'self' and scheme-less sources are relative to).
  public var page: WebURL
  public var kind: ResourceKind
  /// The resource's URL after `redirectCount` redirects; nil for inline content.
  public var url: WebURL?
  /// The element's nonce attribute ("" when none).
  public var nonce: String
  /// The element's integrity attribute ("" when none).
  public var integrity: String
  /// Whether the HTML parser created the element (false for elements inserted by script).
  public var parserInserted: Bool
  public var redirectCount: Int
  /// The inline script or style text, for hashes.
  public var body: [UInt8]?

  public init(
    page: WebURL, kind: ResourceKind, url: WebURL?, nonce: String = "", integrity: String = "",
    parserInserted: Bool = true, redirectCount: Int = 0, body: [UInt8]? = nil
  ) {
    self.page = page
    self.kind = kind
    self.url = url
    self.nonce = nonce
    self.integrity = integrity
    self.parserInserted = parserInserted
    self.redirectCount = redirectCount
    self.body = body
  }
}

/// Why a source expression did not match: the part of the URL that differed.
public struct SourceMiss: Sendable, Equatable {
  public var expression: String
  /// scheme, host, port, path or origin.
  public var part: String
}

/// One policy's answer.
public struct PolicyVerdict: Sendable {
  public enum Rule: String, Sendable {
    /// No directive of the chain is present: this policy does not restrict the request.
    case notRestricted = "not-restricted"
    case nonce
    case integrity
    /// 'strict-dynamic' allows a script inserted by trusted script.
    case strictDynamicTrusted = "strict-dynamic-trusted"
    /// 'strict-dynamic' blocks a parser-inserted script without a nonce or matching hash.
    case strictDynamicParserInserted = "strict-dynamic-parser-inserted"
    case source
    case noMatch = "no-match"
    case none
    case unsafeInline = "unsafe-inline"
    case hash
    case inlineBlocked = "inline-blocked"
  }

  public var index: Int
  public var source: PolicySource
  public var allowed: Bool
  /// The directive that decided, or nil when the policy does not restrict the request.
  public var directive: String?
  /// The first directive of the chain (the effective directive).
  public var effectiveDirective: String
  public var rule: Rule
  /// The source expression that allowed the request.
  public var matched: String?
  /// For a blocked URL: each URL source expression and the part that did not match.
  public var misses: [SourceMiss] = []
  var kind: ResourceKind
  /// The governing directive is a fallback of the effective one.
  var fallback = false
  /// The governing directive has no sources at all.
  var emptyList = false
  /// The governing directive is 'none'.
  var noneList = false
  /// The nonce, hash or 'strict-dynamic' that turned 'unsafe-inline' off.
  var disabledBy: String? = nil

  /// One sentence.
  public var reason: String {
    var b: [UInt8] = []
    writeReason(into: &b)
    return String(decoding: b, as: UTF8.self)
  }

  /// The reason, written straight into a buffer (the batch writes thousands a second).
  /// With `json`, the text written is escaped for a JSON string (the literals need none).
  func writeReason(into out: inout [UInt8], json: Bool = false) {
    func s(_ t: StaticString) { JSONValue.literal(t, into: &out) }
    func d(_ t: String) {
      if json { JSONValue.writeEscaped(t, into: &out) } else { out.append(contentsOf: t.utf8) }
    }
    func via() {
      d(directive ?? effectiveDirective)
      if fallback {
        s(" (")
        d(effectiveDirective)
        s(" falls back to it)")
      }
    }
    switch rule {
    case .notRestricted:
      s("no ")
      d(kind.fallbackChain.joined(separator: ", "))
      s(" directive: this policy does not restrict it")
    case .nonce:
      s("its nonce matches ")
      d(matched ?? "")
      s(" in ")
      via()
    case .integrity:
      s("its integrity attribute is listed in ")
      via()
    case .strictDynamicParserInserted:
      via()
      s(
        " has 'strict-dynamic': a parser-inserted <script src> needs a listed nonce or hash, and host sources are ignored"
      )
    case .strictDynamicTrusted:
      via()
      s(" has 'strict-dynamic', which trusts scripts inserted by an already-trusted script")
    case .none:
      via()
      s(emptyList ? " is empty, so it allows nothing" : " is 'none'")
    case .source:
      d(matched ?? "")
      s(" in ")
      via()
      s(" matches")
    case .noMatch:
      if directive == nil {
        d("no URL given for a \(kind.rawValue) request")
      } else if misses.isEmpty {
        via()
        s(" lists no source that can match a URL")
      } else {
        s("no source in ")
        via()
        s(" matches: ")
        for (i, m) in misses.enumerated() {
          if i > 0 { s(", ") }
          d(m.expression)
          s(" (")
          d(m.part)
          s(")")
        }
      }
    case .unsafeInline:
      s("'unsafe-inline' in ")
      via()
      s(" allows inline content")
    case .hash:
      s("its hash ")
      d(matched ?? "")
      s(" is listed in ")
      via()
    case .inlineBlocked:
      via()
      if let disabledBy {
        s(" has 'unsafe-inline', but ")
        d(disabledBy)
        s(" turns it off; this content has no matching nonce or hash")
      } else if noneList {
        s(" is 'none'")
      } else {
        s(" has no 'unsafe-inline', and no listed nonce or hash matches this content")
      }
    }
  }
}

public struct CSPDecision: Sendable {
  public var allowed: Bool
  /// The URL as fetched (after upgrade-insecure-requests).
  public var url: WebURL?
  public var upgraded: Bool
  public var verdicts: [PolicyVerdict]
  /// A report-only policy would have blocked it (it reports; it does not block).
  public var reported: Bool
  /// For inline content: its hashes in CSP form ('sha256-…').
  public var inlineHashes: [String]
}

public enum CSPEngine {
  public static func evaluate(_ request: CSPRequest, policies: [Policy]) -> CSPDecision {
    var url = request.url
    var upgraded = false
    if let u = url, u.scheme == "http" || u.scheme == "ws",
      policies.contains(where: { $0.source.enforced && $0.directive("upgrade-insecure-requests") != nil })
    {
      url?.scheme = u.scheme == "http" ? "https" : "wss"
      if u.port == 80 { url?.port = nil }
      upgraded = true
    }
    var r = request
    r.url = url
    var verdicts: [PolicyVerdict] = []
    verdicts.reserveCapacity(policies.count)
    var allowed = true
    var reported = false
    for (i, policy) in policies.enumerated() {
      let v = evaluate(r, policy, index: i)
      if !v.allowed {
        if policy.source.enforced { allowed = false } else { reported = true }
      }
      verdicts.append(v)
    }
    var hashes: [String] = []
    if request.kind.isInline, let body = request.body {
      hashes = HashAlgorithm.allCases.map { "'\($0.rawValue)-\(CSPHash.base64(CSPHash.digest($0, body)))'" }
    }
    return CSPDecision(
      allowed: allowed, url: url, upgraded: upgraded, verdicts: verdicts, reported: reported,
      inlineHashes: hashes)
  }

  static func evaluate(_ r: CSPRequest, _ policy: Policy, index: Int) -> PolicyVerdict {
    let chain = r.kind.slotChain
    var v = PolicyVerdict(
      index: index, source: policy.source, allowed: true, directive: nil,
      effectiveDirective: Policy.fetchNames[chain[0]], rule: .notRestricted, matched: nil, kind: r.kind)
    var found = -1
    for (position, slot) in chain.enumerated() {
      let at = policy.fetchSlots[slot]
      if at >= 0 {
        found = Int(at)
        v.fallback = position > 0
        break
      }
    }
    guard found >= 0 else { return v }
    let d = policy.directives[found]
    v.directive = d.name
    v.emptyList = d.sources.isEmpty
    v.noneList = d.isNone
    if r.kind.isInline {
      inline(r, d, into: &v)
    } else if let url = r.url {
      external(r, url, d, into: &v)
    } else {
      v.allowed = false
      v.rule = .noMatch
      v.directive = nil
    }
    return v
  }

  static func external(_ r: CSPRequest, _ url: WebURL, _ d: Directive, into v: inout PolicyVerdict) {
    // Scripts and stylesheets: a matching nonce allows first (the script-src and style-src
    // pre-request checks, §6.1.3 and §6.1.8).
    if r.kind.isScriptLike || r.kind == .style, !r.nonce.isEmpty, let n = nonceSource(d, r.nonce) {
      v.rule = .nonce
      v.matched = n
      return
    }
    if r.kind.isScriptLike {
      if !r.integrity.isEmpty && d.hasHash {
        let listed = d.sources.compactMap { s -> (HashAlgorithm, String)? in
          if case .hash(let a, let b) = s.expression { return (a, b) } else { return nil }
        }
        let metadata = integrityMetadata(r.integrity)
        if !metadata.isEmpty && metadata.allSatisfy({ m in listed.contains { $0 == m } }) {
          v.rule = .integrity
          v.matched = metadata.map { "'\($0.0.rawValue)-\($0.1)'" }.joined(separator: " ")
          return
        }
      }
      if d.hasStrictDynamic {
        // Only a <script> element can be parser-inserted; worker requests never are.
        if r.kind == .script && r.parserInserted {
          v.allowed = false
          v.rule = .strictDynamicParserInserted
        } else {
          v.rule = .strictDynamicTrusted
        }
        return
      }
    }
    if d.isNone {
      v.allowed = false
      v.rule = .none
      return
    }
    for s in d.sources {
      if let part = mismatch(url, s.expression, page: r.page, redirectCount: r.redirectCount) {
        if !part.isEmpty { v.misses.append(SourceMiss(expression: s.text, part: part)) }
      } else {
        v.rule = .source
        v.matched = s.text
        v.misses = []
        return
      }
    }
    v.allowed = false
    v.rule = .noMatch
  }

  static func nonceSource(_ d: Directive, _ nonce: String) -> String? {
    for s in d.sources {
      if case .nonce(let n) = s.expression, n == nonce { return s.text }
    }
    return nil
  }

  static func inline(_ r: CSPRequest, _ d: Directive, into v: inout PolicyVerdict) {
    let isScript = r.kind == .inlineScript
    // "Allow all inline" (§6.7.3.2): a nonce or hash, or 'strict-dynamic' for scripts, turns
    // 'unsafe-inline' off.
    var allowAll = false
    var disabledBy: String? = nil
    for s in d.sources {
      if s.expression.isNonce || s.expression.isHash || (isScript && s.expression == .strictDynamic) {
        disabledBy = disabledBy ?? s.text
      }
      if s.expression == .unsafeInline { allowAll = true }
    }
    if allowAll && disabledBy == nil {
      v.rule = .unsafeInline
      v.matched = "'unsafe-inline'"
      return
    }
    let attribute = r.kind == .styleAttribute
    if !attribute, !r.nonce.isEmpty, let n = nonceSource(d, r.nonce) {
      v.rule = .nonce
      v.matched = n
      return
    }
    // Hashes cover elements; attributes only with 'unsafe-hashes' (§6.7.3.3).
    if let body = r.body, !attribute || d.sources.contains(where: { $0.expression == .unsafeHashes }) {
      for s in d.sources {
        guard case .hash(let alg, let expected) = s.expression else { continue }
        let actual = CSPHash.base64(CSPHash.digest(alg, body))
        if actual == normaliseBase64(expected) {
          v.rule = .hash
          v.matched = s.text
          return
        }
      }
    }
    v.allowed = false
    v.rule = .inlineBlocked
    if allowAll { v.disabledBy = disabledBy }
  }

  static func normaliseBase64(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 == 0x2d || $0 == 0x5f }) else { return s }
    return String(s.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
  }

  /// SRI "parse metadata": the recognised `alg-value` items of an integrity attribute.
  static func integrityMetadata(_ integrity: String) -> [(HashAlgorithm, String)] {
    Policy.splitASCIIWhitespace(integrity).compactMap { item in
      let token = item.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
      guard let dash = token.firstIndex(of: "-"),
        let alg = HashAlgorithm(rawValue: token[..<dash].lowercased())
      else { return nil }
      return (alg, String(token[token.index(after: dash)...]))
    }
  }

  // MARK: - Matching a URL (§6.7.2)

  /// nil when `expression` matches `url`; otherwise the part that differs ("" for expressions that
  /// never match a URL, such as keywords).
  public static func mismatch(_ url: WebURL, _ expression: SourceExpression, page: WebURL, redirectCount: Int)
    -> String?
  {
    switch expression {
    case .star:
      let s = url.scheme
      return s == "http" || s == "https" || s == page.scheme ? nil : "scheme"
    case .scheme(let scheme):
      return schemePartMatch(scheme, url.scheme) ? nil : "scheme"
    case .host(let h):
      if let scheme = h.scheme {
        if !schemePartMatch(scheme, url.scheme) { return "scheme" }
      } else if !schemePartMatch(page.scheme, url.scheme) {
        return "scheme"
      }
      guard let host = url.host, hostPartMatch(h.host, host) else { return "host" }
      if !portPartMatch(h.port, url) { return "port" }
      if !h.path.isEmpty && redirectCount == 0 && !pathPartMatch(h.path, url.path) { return "path" }
      return nil
    case .selfOrigin:
      guard let host = url.host, let pageHost = page.host else { return "origin" }
      if url.scheme == page.scheme && host == pageHost && url.effectivePort == page.effectivePort {
        return nil
      }
      // "the same or the default ports for their respective schemes"
      let ports = url.port == page.port || url.effectivePort == page.effectivePort
      if host == pageHost && ports
        && (url.scheme == "https" || url.scheme == "wss"
          || (page.scheme == "http" && (url.scheme == "http" || url.scheme == "ws")))
      {
        return nil
      }
      return host != pageHost
        ? "origin (host)" : !ports ? "origin (port)" : "origin (scheme)"
    default:
      return ""
    }
  }

  /// §6.7.2.9: schemes may only upgrade.
  public static func schemePartMatch(_ a: String, _ b: String) -> Bool {
    if a == b { return true }
    switch a {
    case "http": return b == "https"
    case "ws": return b == "wss" || b == "http" || b == "https"
    case "wss": return b == "https"
    default: return false
    }
  }

  static func isIPAddress(_ host: String) -> Bool {
    host.hasPrefix("[")
      || (host.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e } && host.contains("."))
  }

  /// §6.7.2.10. "*." matches subdomains at any depth, never the bare domain. IP addresses match
  /// only themselves written out (or "*").
  public static func hostPartMatch(_ pattern: String, _ host: String) -> Bool {
    if pattern == "*" { return true }
    if pattern.hasPrefix("*.") {
      if isIPAddress(host) { return false }
      return host.hasSuffix(pattern.dropFirst()) && host.utf8.count > pattern.utf8.count - 1
    }
    return pattern == host
  }

  /// §6.7.2.11: no port in the source means the URL's scheme's default port.
  static func portPartMatch(_ port: HostSource.Port, _ url: WebURL) -> Bool {
    switch port {
    case .any: return true
    case .unspecified: return url.port == nil
    case .number(let n):
      if n == url.port { return true }
      return url.port == nil && n == WebURL.defaultPort(url.scheme)
    }
  }

  /// §6.7.2.12: "/dir/" is a prefix on whole segments, "/file.js" exact; percent-decoded,
  /// case-sensitive.
  public static func pathPartMatch(_ a: String, _ b: String) -> Bool {
    if a.isEmpty { return true }
    if a == "/" && b.isEmpty { return true }
    let exact = !a.hasSuffix("/")
    var listA = a.split(separator: "/", omittingEmptySubsequences: false)
    let listB = b.split(separator: "/", omittingEmptySubsequences: false)
    if listA.count > listB.count { return false }
    if exact && listA.count != listB.count { return false }
    if !exact { listA.removeLast() }
    for (pa, pb) in zip(listA, listB) where WebURL.percentDecoded(pa) != WebURL.percentDecoded(pb) {
      return false
    }
    return true
  }
}
