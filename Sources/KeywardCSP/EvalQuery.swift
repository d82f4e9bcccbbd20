import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `keyward csp eval`: one question per JSON line in, one JSON answer per line out. Policies repeat
/// across a batch, so each distinct policy text is parsed once.
public final class CSPEvalSession {
  public static let fields = [
    "id", "policy", "report_only_policy", "meta_policy", "origin", "kind", "url", "nonce", "integrity",
    "parser_inserted", "redirect_count", "body",
  ]

  /// Parsed policies by source and text: a batch repeats the same few hundred policies.
  var headers: [String: [Policy]] = [:]
  var reportOnly: [String: [Policy]] = [:]
  var metas: [String: [Policy]] = [:]
  var origins: [String: WebURL] = [:]
  var urls: [String: WebURL] = [:]

  public init() {}

  /// One parsed question.
  public struct Query {
    public var id: JSONValue?
    public var request: CSPRequest
    public var policies: [Policy]
  }

  func parse(_ text: String, _ source: PolicySource) -> [Policy] {
    switch source {
    case .header: return CSPEvalSession.cached(&headers, text) { Policy.parseList($0, source: .header) } ?? []
    case .reportOnly:
      return CSPEvalSession.cached(&reportOnly, text) { Policy.parseList($0, source: .reportOnly) } ?? []
    // A meta element holds one policy; a comma in it is part of that policy's text.
    case .meta:
      return CSPEvalSession.cached(&metas, text) { [Policy.parse(Substring($0), source: .meta)] } ?? []
    }
  }

  /// `make(text)`, remembered (a nil answer is not); the cache starts over past 10,000 texts.
  static func cached<Value>(_ cache: inout [String: Value], _ text: String, _ make: (String) -> Value?)
    -> Value?
  {
    if let v = cache[text] { return v }
    guard let v = make(text) else { return nil }
    if cache.count >= 10_000 { cache.removeAll(keepingCapacity: true) }
    cache[text] = v
    return v
  }

  public func policies(header: [String], reportOnly: [String], meta: [String]) -> [Policy] {
    if header.count == 1 && reportOnly.isEmpty && meta.isEmpty { return parse(header[0], .header) }
    var p: [Policy] = []
    for h in header { p += parse(h, .header) }
    for h in reportOnly { p += parse(h, .reportOnly) }
    for m in meta { p += parse(m, .meta) }
    return p
  }

  func resource(_ text: String, page: WebURL) -> WebURL? {
    // Absolute URLs are cached; relative ones depend on the page.
    CSPEvalSession.cached(&urls, text) { WebURL.parse($0) } ?? page.resolve(text)
  }

  func page(_ text: String) -> WebURL? {
    CSPEvalSession.cached(&origins, text) { t in WebURL.parse(t).flatMap { $0.host == nil ? nil : $0 } }
  }

  public struct BadQuery: Error {
    public var message: String
  }

  /// The fields of one question, typed.
  struct Fields {
    var id: JSONValue?
    var policy: [String] = []
    var reportOnly: [String] = []
    var meta: [String] = []
    var origin: String?
    var kind: String?
    var url: String?
    var nonce: String?
    var integrity: String?
    var body: String?
    var parserInserted: Bool?
    var redirectCount: Double?
    /// The header policy, already parsed (the fast reader looks it up by its bytes).
    var parsedPolicies: [Policy]?
  }

  /// Parsed header policies keyed by the bytes of their text: a repeated policy costs a hash and
  /// a compare, no String.
  final class PolicyIntern {
    var index: [Int: Int] = [:]
    var keys: [[UInt8]] = []
    var values: [[Policy]] = []
    var next: [Int] = []

    func get(_ p: UnsafeBufferPointer<UInt8>, make: () -> [Policy]) -> [Policy] {
      var hasher = Hasher()
      hasher.combine(bytes: UnsafeRawBufferPointer(p))
      let h = hasher.finalize()
      var slot = index[h] ?? -1
      while slot >= 0 {
        let same = keys[slot].withUnsafeBufferPointer { k in
          k.count == p.count && (p.isEmpty || memcmp(k.baseAddress!, p.baseAddress!, p.count) == 0)
        }
        if same { return values[slot] }
        slot = next[slot]
      }
      if keys.count >= 10_000 {
        index.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
      }
      let v = make()
      keys.append(Array(p))
      values.append(v)
      next.append(index[h] ?? -1)
      index[h] = keys.count - 1
      return v
    }
  }

  let headerIntern = PolicyIntern()

  public func query(_ line: [UInt8]) throws(BadQuery) -> Query {
    try line.withUnsafeBufferPointer { (b) throws(BadQuery) -> Query in try query(b) }
  }

  public func query(_ line: UnsafeBufferPointer<UInt8>) throws(BadQuery) -> Query {
    if let f = FastFields.parse(line, session: self) { return try query(f) }
    return try query(try fields(Array(line)))
  }

  /// The general path, with the reader's exact messages: anything the fast path did not take.
  func fields(_ line: [UInt8]) throws(BadQuery) -> Fields {
    let value: JSONValue
    do { value = try JSONValue.parse(line, source: "input") } catch {
      throw BadQuery(message: error.message)
    }
    guard case .object(let m) = value else { throw BadQuery(message: "expected a JSON object") }
    if let unknown = m.keys.sorted().first(where: { !CSPEvalSession.fields.contains($0) }) {
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
    var f = Fields(id: m["id"])
    f.policy = try strings("policy")
    f.reportOnly = try strings("report_only_policy")
    f.meta = try strings("meta_policy")
    f.origin = try string("origin")
    f.kind = try string("kind")
    f.url = try string("url")
    f.nonce = try string("nonce")
    f.integrity = try string("integrity")
    f.body = try string("body")
    switch m["parser_inserted"] {
    case nil, .null?: break
    case .bool(let b)?: f.parserInserted = b
    default: throw BadQuery(message: "parser_inserted: expected true or false")
    }
    switch m["redirect_count"] {
    case nil, .null?: break
    case .number(let n)?: f.redirectCount = n
    default: throw BadQuery(message: "redirect_count: expected a whole number from 0 to 1000")
    }
    return f
  }

  func query(_ f: Fields) throws(BadQuery) -> Query {
    guard let originText = f.origin else { throw BadQuery(message: "missing field \"origin\"") }
    guard let page = page(originText) else {
      throw BadQuery(message: "origin: \"\(originText)\" is not an absolute URL with a host")
    }
    guard let kindText = f.kind else { throw BadQuery(message: "missing field \"kind\"") }
    guard let kind = ResourceKind(rawValue: kindText) else {
      throw BadQuery(
        message:
          "kind: \"\(kindText)\" is not one of \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    var url: WebURL? = nil
    if !kind.isInline {
      guard let text = f.url else { throw BadQuery(message: "missing field \"url\" for kind \(kindText)") }
      guard let u = resource(text, page: page) else {
        throw BadQuery(message: "url: \"\(text)\" is not a URL")
      }
      url = u
    }
    var redirects = 0
    if let n = f.redirectCount {
      guard n >= 0 && n <= 1000 && n == n.rounded() else {
        throw BadQuery(message: "redirect_count: expected a whole number from 0 to 1000")
      }
      redirects = Int(n)
    }
    let request = CSPRequest(
      page: page, kind: kind, url: url, nonce: f.nonce ?? "", integrity: f.integrity ?? "",
      parserInserted: f.parserInserted ?? true, redirectCount: redirects, body: f.body.map { Array($0.utf8) })
    var policies: [Policy]
    if let parsed = f.parsedPolicies {
      policies = parsed
      if !f.reportOnly.isEmpty || !f.meta.isEmpty {
        policies += self.policies(header: [], reportOnly: f.reportOnly, meta: f.meta)
      }
    } else {
      policies = self.policies(header: f.policy, reportOnly: f.reportOnly, meta: f.meta)
    }
    return Query(id: f.id, request: request, policies: policies)
  }

  /// Answers one input line (without its newline) into `out`, ending with a newline.
  /// Returns false when the line was not a valid question (its answer is an error object).
  @discardableResult
  public func answer(_ line: [UInt8], number: Int, into out: inout [UInt8]) -> Bool {
    line.withUnsafeBufferPointer { answer($0, number: number, into: &out) }
  }

  /// The same, over bytes in place (the batch reader's buffer).
  @discardableResult
  public func answer(_ line: UnsafeBufferPointer<UInt8>, number: Int, into out: inout [UInt8]) -> Bool {
    defer { out.append(0x0a) }
    do {
      let q = try query(line)
      let d = CSPEngine.evaluate(q.request, policies: q.policies)
      CSPJSON.write(d, request: q.request, policies: q.policies, id: q.id, line: number, into: &out)
      return true
    } catch {
      out.append(
        contentsOf: "{\"schema_version\":2,\"line\":\(number),\"error\":{\"kind\":\"input\",\"message\":".utf8
      )
      JSONValue.writeString(error.message, into: &out)
      out += [0x7d, 0x7d]
      return false
    }
  }
}

extension CSPEvalSession {
  /// The batch: every line read from `input` answered on `output`, in large buffered chunks (a
  /// blank line is skipped; CRLF is read as LF). Returns whether every line was a valid query;
  /// a bad line gets its error document and the batch goes on.
  public func answerAll(from input: Int32, to output: Int32) throws(KeywardError) -> Bool {
    var out: [UInt8] = []
    out.reserveCapacity(1 << 17)
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var number = 0
    var allValid = true
    func flush() throws(KeywardError) {
      var failed: Int32 = 0
      out.withUnsafeBytes { b in
        var off = 0
        while off < b.count {
          let n = write(output, b.baseAddress! + off, b.count - off)
          if n <= 0 {
            if n < 0 && errno == EINTR { continue }
            failed = n < 0 ? errno : EIO
            return
          }
          off += n
        }
      }
      guard failed == 0 else {
        throw KeywardError(.io, "writing the answers failed: \(String(cString: strerror(failed)))")
      }
      out.removeAll(keepingCapacity: true)
    }
    func handle(_ line: ArraySlice<UInt8>) throws(KeywardError) {
      number += 1
      var l = line
      if l.last == 0x0d { l = l.dropLast() }
      if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
      let ok = l.withUnsafeBufferPointer { answer($0, number: number, into: &out) }
      if !ok { allValid = false }
      if out.count >= 1 << 16 { try flush() }
    }
    while true {
      let n = read(input, &buffer, buffer.count)
      if n < 0 {
        if errno == EINTR { continue }
        throw KeywardError(.io, "reading the queries failed: \(String(cString: strerror(errno)))")
      }
      if n == 0 { break }
      var start = 0
      for i in 0..<n where buffer[i] == 0x0a {
        if pending.isEmpty {
          try handle(buffer[start..<i])
        } else {
          pending += buffer[start..<i]
          try handle(pending[...])
          pending.removeAll(keepingCapacity: true)
        }
        start = i + 1
      }
      if start < n { pending += buffer[start..<n] }
    }
    if !pending.isEmpty { try handle(pending[...]) }
    try flush()
    return allValid
  }
}

/// The JSON form of a decision (one line).
public enum CSPJSON {
  public static func write(
    _ d: CSPDecision, request: CSPRequest, policies: [Policy], id: JSONValue?, line: Int?,
    into out: inout [UInt8]
  ) {
    func key(_ k: StaticString) {
      out.append(0x22)
      JSONValue.literal(k, into: &out)
      out.append(0x22)
      out.append(0x3a)
    }
    func str(_ k: StaticString, _ v: String) {
      key(k)
      JSONValue.writeString(v, into: &out)
      out.append(0x2c)
    }
    JSONValue.literal("{\"schema_version\":2,", into: &out)
    if let line {
      JSONValue.literal("\"line\":", into: &out)
      JSONValue.writeInt(line, into: &out)
      out.append(0x2c)
    }
    if let id {
      key("id")
      id.writeCompact(into: &out)
      out.append(0x2c)
    }
    str("verdict", d.allowed ? "allowed" : "blocked")
    str("kind", request.kind.rawValue)
    if let u = d.url {
      key("url")
      u.writeJSON(into: &out)
      out.append(0x2c)
    }
    str("effective_directive", request.kind.fallbackChain[0])
    key("reported")
    if d.reported { JSONValue.literal("true,", into: &out) } else { JSONValue.literal("false,", into: &out) }
    if d.upgraded { JSONValue.literal("\"upgraded\":true,", into: &out) }
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
      JSONValue.literal("{\"index\":", into: &out)
      JSONValue.writeInt(v.index, into: &out)
      out.append(0x2c)
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
      out.append(0x22)
      v.writeReason(into: &out, json: true)
      out.append(0x22)
      out.append(0x7d)
    }
    out.append(0x5d)
    if policies.contains(where: { !$0.warnings.isEmpty }) {
      let warnings = policies.enumerated().flatMap { i, p in p.warnings.map { (i, $0) } }
      JSONValue.literal(",\"warnings\":[", into: &out)
      for (j, (i, w)) in warnings.enumerated() {
        if j > 0 { out.append(0x2c) }
        out.append(contentsOf: "{\"policy\":\(i),".utf8)
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

/// The common shape of a query line, read without building a JSON tree: a flat object of known
/// fields whose strings are ASCII without escapes, read by the core's `FlatScan`. Anything else
/// returns nil and takes the general reader (which also words the errors).
enum FastFields {
  static func parse(_ line: UnsafeBufferPointer<UInt8>, session: CSPEvalSession) -> CSPEvalSession.Fields? {
    var r = Reader(s: FlatScan(line, whitespace: true), session: session)
    return r.object()
  }

  struct Reader {
    var s: FlatScan
    let session: CSPEvalSession

    mutating func optionalString() -> String?? {
      if s.literal("null") { return .some(nil) }
      return s.string().map { .some($0) }
    }

    mutating func strings() -> [String]? {
      switch s.peek() {
      case ASCII.quote?: return s.string().map { [$0] }
      case nil: return nil
      default: break
      }
      if s.literal("null") { return [] }
      guard s.eat(ASCII.openBracket) else { return nil }
      var out: [String] = []
      if s.eat(ASCII.closeBracket) { return out }
      repeat {
        guard let v = s.string() else { return nil }
        out.append(v)
      } while s.eat(ASCII.comma)
      return s.eat(ASCII.closeBracket) ? out : nil
    }

    mutating func bool() -> Bool?? {
      if s.literal("null") { return .some(nil) }
      if s.literal("true") { return .some(true) }
      if s.literal("false") { return .some(false) }
      return nil
    }

    mutating func object() -> CSPEvalSession.Fields? {
      guard s.eat(ASCII.openBrace) else { return nil }
      var f = CSPEvalSession.Fields()
      var seen: UInt16 = 0
      func once(_ bit: UInt16) -> Bool {
        if seen & bit != 0 { return false }
        seen |= bit
        return true
      }
      if !s.eat(ASCII.closeBrace) {
        repeat {
          guard let k = s.rawString(), s.eat(ASCII.colon) else { return nil }
          if s.key(k, "policy") {
            guard once(1) else { return nil }
            if s.peek() == ASCII.quote {
              // One header value, looked up by its bytes: parsed once per distinct text.
              guard let r = s.rawString() else { return nil }
              let bytes = UnsafeBufferPointer(rebasing: s.p[r])
              let session = self.session
              f.parsedPolicies = session.headerIntern.get(bytes) {
                session.parse(String(decoding: bytes, as: UTF8.self), .header)
              }
            } else {
              guard let v = strings() else { return nil }
              f.policy = v
            }
          } else if s.key(k, "origin") {
            guard once(2), let v = optionalString() else { return nil }
            f.origin = v
          } else if s.key(k, "kind") {
            guard once(4), let v = optionalString() else { return nil }
            f.kind = v
          } else if s.key(k, "url") {
            guard once(8), let v = optionalString() else { return nil }
            f.url = v
          } else if s.key(k, "nonce") {
            guard once(16), let v = optionalString() else { return nil }
            f.nonce = v
          } else if s.key(k, "integrity") {
            guard once(32), let v = optionalString() else { return nil }
            f.integrity = v
          } else if s.key(k, "body") {
            guard once(64), let v = optionalString() else { return nil }
            f.body = v
          } else if s.key(k, "report_only_policy") {
            guard once(128), let v = strings() else { return nil }
            f.reportOnly = v
          } else if s.key(k, "meta_policy") {
            guard once(256), let v = strings() else { return nil }
            f.meta = v
          } else if s.key(k, "parser_inserted") {
            guard once(512), let v = bool() else { return nil }
            f.parserInserted = v
          } else if s.key(k, "redirect_count") {
            guard once(1024), let v = s.integer(maxDigits: 9) else { return nil }
            f.redirectCount = Double(v)
          } else if s.key(k, "id") {
            guard once(2048) else { return nil }
            if s.peek() == ASCII.quote {
              guard let v = s.string() else { return nil }
              f.id = .string(v)
            } else {
              guard let v = s.integer(maxDigits: 9) else { return nil }
              f.id = .number(Double(v))
            }
          } else {
            return nil
          }
        } while s.eat(ASCII.comma)
        guard s.eat(ASCII.closeBrace) else { return nil }
      }
      s.ws()
      return s.atEnd ? f : nil
    }
  }
}
