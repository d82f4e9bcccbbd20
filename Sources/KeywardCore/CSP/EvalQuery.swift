/// `keyward csp eval`: one question per JSON line in, one JSON answer per line out. Policies repeat
/// across a batch, so each distinct policy text is parsed once.
public final class CSPEvalSession {
  public static let fields = [
    "id", "policy", "report_only_policy", "meta_policy", "origin", "kind", "url", "nonce", "integrity",
    "parser_inserted", "redirect_count", "body",
  ]

  struct PolicyKey: Hashable {
    var header: [String]
    var reportOnly: [String]
    var meta: [String]
  }

  var cache: [PolicyKey: [Policy]] = [:]
  var origins: [String: WebURL] = [:]

  public init() {}

  /// One parsed question.
  public struct Query {
    public var id: JSONValue?
    public var request: CSPRequest
    public var policies: [Policy]
  }

  public func policies(header: [String], reportOnly: [String], meta: [String]) -> [Policy] {
    let key = PolicyKey(header: header, reportOnly: reportOnly, meta: meta)
    if let p = cache[key] { return p }
    var p: [Policy] = []
    for h in header { p += Policy.parseList(h, source: .header) }
    for h in reportOnly { p += Policy.parseList(h, source: .reportOnly) }
    // A meta element holds one policy; a comma in it is part of that policy's text.
    for m in meta { p.append(Policy.parse(Substring(m), source: .meta)) }
    if cache.count > 10_000 { cache.removeAll(keepingCapacity: true) }
    cache[key] = p
    return p
  }

  func page(_ text: String) -> WebURL? {
    if let u = origins[text] { return u }
    guard let u = WebURL.parse(text), u.host != nil else { return nil }
    if origins.count > 10_000 { origins.removeAll(keepingCapacity: true) }
    origins[text] = u
    return u
  }

  public struct BadQuery: Error {
    public var message: String
  }

  public func query(_ line: [UInt8]) throws(BadQuery) -> Query {
    let value: JSONValue
    do { value = try JSONValue.parse(line, source: "input") } catch {
      throw BadQuery(message: error.message)
    }
    guard case .object(let m) = value else { throw BadQuery(message: "expected a JSON object") }
    if let unknown = m.keys.first(where: { !CSPEvalSession.fields.contains($0) }) {
      throw BadQuery(
        message: "unknown field \"\(unknown)\" (known: \(CSPEvalSession.fields.joined(separator: ", ")))")
    }
    func strings(_ key: String) throws(BadQuery) -> [String] {
      switch m[key] {
      case nil, .null?: return []
      case .string(let s)?: return [s]
      case .array(let a)?:
        var out: [String] = []
        for v in a {
          guard case .string(let s) = v else { throw BadQuery(message: "\(key): expected strings") }
          out.append(s)
        }
        return out
      default: throw BadQuery(message: "\(key): expected a string or a list of strings")
      }
    }
    func string(_ key: String) throws(BadQuery) -> String? {
      switch m[key] {
      case nil, .null?: return nil
      case .string(let s)?: return s
      default: throw BadQuery(message: "\(key): expected a string")
      }
    }
    guard let originText = try string("origin") else { throw BadQuery(message: "missing field \"origin\"") }
    guard let page = page(originText) else {
      throw BadQuery(message: "origin: \"\(originText)\" is not an absolute URL with a host")
    }
    guard let kindText = try string("kind") else { throw BadQuery(message: "missing field \"kind\"") }
    guard let kind = ResourceKind(rawValue: kindText) else {
      throw BadQuery(
        message:
          "kind: \"\(kindText)\" is not one of \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    var url: WebURL? = nil
    if !kind.isInline {
      guard let text = try string("url") else {
        throw BadQuery(message: "missing field \"url\" for kind \(kindText)")
      }
      guard let u = page.resolve(text) else { throw BadQuery(message: "url: \"\(text)\" is not a URL") }
      url = u
    }
    var parserInserted = true
    switch m["parser_inserted"] {
    case nil, .null?: break
    case .bool(let b)?: parserInserted = b
    default: throw BadQuery(message: "parser_inserted: expected true or false")
    }
    var redirects = 0
    switch m["redirect_count"] {
    case nil, .null?: break
    case .number(let n)? where n >= 0 && n <= 1000 && n == n.rounded(): redirects = Int(n)
    default: throw BadQuery(message: "redirect_count: expected a whole number from 0 to 1000")
    }
    let request = CSPRequest(
      page: page, kind: kind, url: url, nonce: try string("nonce") ?? "",
      integrity: try string("integrity") ?? "",
      parserInserted: parserInserted, redirectCount: redirects,
      body: try string("body").map { Array($0.utf8) })
    let policies = policies(
      header: try strings("policy"), reportOnly: try strings("report_only_policy"),
      meta: try strings("meta_policy"))
    return Query(id: m["id"], request: request, policies: policies)
  }

  /// Answers one input line (without its newline) into `out`, ending with a newline.
  /// Returns false when the line was not a valid question (its answer is an error object).
  @discardableResult
  public func answer(_ line: [UInt8], number: Int, into out: inout [UInt8]) -> Bool {
    defer { out.append(0x0a) }
    do {
      let q = try query(line)
      let d = CSPEngine.evaluate(q.request, policies: q.policies)
      CSPJSON.write(d, request: q.request, policies: q.policies, id: q.id, line: number, into: &out)
      return true
    } catch {
      out += Array("{\"schema_version\":1,\"line\":\(number),\"error\":".utf8)
      JSONValue.writeString(error.message, into: &out)
      out.append(0x7d)
      return false
    }
  }
}

/// The JSON form of a decision (one line).
public enum CSPJSON {
  public static func write(
    _ d: CSPDecision, request: CSPRequest, policies: [Policy], id: JSONValue?, line: Int?,
    into out: inout [UInt8]
  ) {
    func key(_ k: String) {
      out.append(0x22)
      out += Array(k.utf8)
      out += [0x22, 0x3a]
    }
    func str(_ k: String, _ v: String) {
      key(k)
      JSONValue.writeString(v, into: &out)
      out.append(0x2c)
    }
    out += Array("{\"schema_version\":1,".utf8)
    if let line { out += Array("\"line\":\(line),".utf8) }
    if let id {
      key("id")
      id.writeCompact(into: &out)
      out.append(0x2c)
    }
    str("verdict", d.allowed ? "allowed" : "blocked")
    str("kind", request.kind.rawValue)
    if let u = d.url { str("url", u.description) }
    str("effective_directive", request.kind.fallbackChain[0])
    key("reported")
    out += Array((d.reported ? "true," : "false,").utf8)
    if d.upgraded { out += Array("\"upgraded\":true,".utf8) }
    if !d.inlineHashes.isEmpty {
      key("hashes")
      out.append(0x5b)
      for (i, h) in d.inlineHashes.enumerated() {
        if i > 0 { out.append(0x2c) }
        JSONValue.writeString(h, into: &out)
      }
      out += [0x5d, 0x2c]
    }
    key("policies")
    out.append(0x5b)
    for (i, v) in d.verdicts.enumerated() {
      if i > 0 { out.append(0x2c) }
      out += Array("{\"index\":\(v.index),".utf8)
      str("source", v.source.rawValue)
      str("verdict", v.allowed ? "allowed" : "blocked")
      if let dname = v.directive { str("directive", dname) }
      str("rule", v.rule.rawValue)
      if let m = v.matched { str("matched", m) }
      if !v.misses.isEmpty {
        key("misses")
        out.append(0x5b)
        for (j, miss) in v.misses.enumerated() {
          if j > 0 { out.append(0x2c) }
          out.append(0x7b)
          str("expression", miss.expression)
          key("part")
          JSONValue.writeString(miss.part, into: &out)
          out.append(0x7d)
        }
        out += [0x5d, 0x2c]
      }
      key("reason")
      JSONValue.writeString(v.reason, into: &out)
      out.append(0x7d)
    }
    out.append(0x5d)
    let warnings = policies.enumerated().flatMap { i, p in p.warnings.map { (i, $0) } }
    if !warnings.isEmpty {
      out += Array(",\"warnings\":[".utf8)
      for (j, (i, w)) in warnings.enumerated() {
        if j > 0 { out.append(0x2c) }
        out += Array("{\"policy\":\(i),".utf8)
        str("code", w.code.rawValue)
        key("message")
        JSONValue.writeString(w.message, into: &out)
        out.append(0x7d)
      }
      out.append(0x5d)
    }
    out.append(0x7d)
  }
}
