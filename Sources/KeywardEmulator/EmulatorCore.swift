import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A provider emulator: CaptchaLa's /v1/validate and /v1/server/challenge/issue with the
/// documented envelope, the siteverify dialect of reCAPTCHA, hCaptcha and Turnstile, real
/// single-use tokens, and fault injection. Pure request → response logic; `EmulatorServer`
/// serves it over HTTP.
///
/// Routes (all POST unless noted):
/// - `/v1/validate`, `/v1/server/challenge/issue` — CaptchaLa, headers `X-App-Key`, `X-App-Secret`.
/// - `/api/validate` — CaptchaLa's backup route (the fallback host), where the official Go SDK sends
///   `offline_` tokens; same request and answer shape.
/// - `/recaptcha/api/siteverify`, `/siteverify` (hCaptcha), `/turnstile/v0/siteverify` — form bodies.
/// - `/__emulator/solve` — the test route: `{"app_key": …, "action": …, "kind": …}` →
///   `{"pass_token": "pt_…"}`, a token the validate route accepts once (what a browser gets by
///   solving the widget). `kind`: `pass` (the default), `offline` (`offline_…`, for the backup
///   route), `degraded` (`dg_…`, the default in degraded mode) or `client` (`client_…`).
/// - GET `/__emulator/health` — `ok`.
public struct EmulatorConfig: Sendable {
  public struct Pair: Sendable, Equatable {
    public var appKey: String
    public var appSecret: String
    public var disabled: Bool

    public init(appKey: String, appSecret: String, disabled: Bool = false) {
      self.appKey = appKey
      self.appSecret = appSecret
      self.disabled = disabled
    }
  }

  /// Where a CaptchaLa credential error appears. The real shape is undocumented; the default
  /// follows the official SDKs' own test fixtures (mocks, not captured traffic): HTTP 200, a
  /// non-zero `code`, the error string in a top-level `error` and in `msg`, where the SDKs read it
  /// (`{"code": 401, "msg": "invalid_app_key", "error": "invalid_app_key"}`).
  public enum CredentialErrorShape: String, Sendable, CaseIterable {
    case msg
    case error
    case dataError = "data-error"
    case http401 = "http-401"
  }

  public enum Fault: String, Sendable, CaseIterable {
    case none
    /// A 403 HTML page, as a WAF sends.
    case html
    /// Truncated JSON with HTTP 200.
    case malformed
    /// HTTP 502.
    case serverError = "5xx"
    /// HTTP 429 with Retry-After.
    case rateLimit = "429"
    /// Never answers.
    case hang
  }

  public var pairs: [Pair] = []
  public var credentialErrorShape: CredentialErrorShape = .error
  public var fault: Fault = .none
  /// Probability that a request gets the fault.
  public var faultRate: Double = 1
  /// Only the first N requests (counted over the provider routes) get the fault.
  public var faultFirst: Int?
  public var retryAfterSeconds: Int = 1
  public var latencyMs: Int = 0
  public var jitterMs: Int = 0
  /// Every token passes: what a provider's test keys do.
  public var acceptAnyToken = false
  /// Degraded mode (the app's quota exhausted): solving gives `dg_` tokens, whose validation
  /// answers `valid: false, degraded: true` with this reason.
  public var degradedReason: String?
  /// Which routes the fault applies to: every provider route, or only CaptchaLa's main or backup
  /// validate route (to test a failover).
  public var faultRoute: FaultRoute = .all

  public enum FaultRoute: String, Sendable, CaseIterable {
    case all
    case main
    case backup
  }

  /// The kinds of token the widget hands out, by prefix (CAPTCHALA-CONTRACT.md).
  public enum TokenKind: String, Sendable, CaseIterable {
    case pass
    case offline
    case degraded
    case client

    var prefix: String {
      switch self {
      case .pass: "pt_"
      case .offline: "offline_"
      case .degraded: "dg_"
      case .client: "client_"
      }
    }
  }

  public init() {}
}

public struct EmulatorRequest: Sendable {
  public var method: String
  public var path: String
  /// Header names lower-cased.
  public var headers: [String: String]
  public var body: [UInt8]

  public init(method: String, path: String, headers: [String: String], body: [UInt8]) {
    self.method = method
    self.path = path
    self.headers = headers
    self.body = body
  }
}

public struct EmulatorResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]
  /// Wait this long before answering (injected latency).
  public var delayMs: Int
  /// Never answer.
  public var hang: Bool

  static func json(_ value: JSONValue, status: Int = 200, delay: Int) -> EmulatorResponse {
    EmulatorResponse(
      status: status, headers: [("Content-Type", "application/json")], body: value.compact(), delayMs: delay,
      hang: false)
  }
}

/// The emulator's state: issued tokens and the request counter. An actor: requests arrive
/// concurrently.
public actor Emulator {
  public let config: EmulatorConfig
  struct Token {
    let appKey: String
    let action: String
    var kind: EmulatorConfig.TokenKind = .pass
    let expires: Int64
    var consumed: Bool
  }
  var tokens: [String: Token] = [:]
  var providerRequests = 0

  public init(config: EmulatorConfig) { self.config = config }

  public func handle(_ req: EmulatorRequest) -> EmulatorResponse {
    let delay = config.latencyMs + (config.jitterMs > 0 ? Int.random(in: 0...config.jitterMs) : 0)
    if req.method == "GET" && req.path == "/__emulator/health" {
      return EmulatorResponse(
        status: 200, headers: [("Content-Type", "text/plain")], body: Array("ok\n".utf8), delayMs: 0,
        hang: false)
    }
    if req.method == "POST" && req.path == "/__emulator/solve" { return solve(req) }
    providerRequests += 1
    let faulty =
      switch config.faultRoute {
      case .all: true
      case .main: req.path == "/v1/validate"
      case .backup: req.path == "/api/validate"
      }
    if faulty, let fault = injectedFault(delay: delay) { return fault }
    guard req.method == "POST" else {
      return .json(
        .object(["code": .number(405), "msg": .string("method not allowed")]), status: 405, delay: delay)
    }
    switch req.path {
    case "/v1/validate": return validate(req, backup: false, delay: delay)
    case "/api/validate": return validate(req, backup: true, delay: delay)
    case "/v1/server/challenge/issue": return issue(req, delay: delay)
    case "/recaptcha/api/siteverify": return siteverify(req, provider: .recaptcha, delay: delay)
    case "/siteverify": return siteverify(req, provider: .hcaptcha, delay: delay)
    case "/turnstile/v0/siteverify": return siteverify(req, provider: .turnstile, delay: delay)
    default:
      return .json(.object(["code": .number(404), "msg": .string("not found")]), status: 404, delay: delay)
    }
  }

  func injectedFault(delay: Int) -> EmulatorResponse? {
    guard config.fault != .none else { return nil }
    if let first = config.faultFirst, providerRequests > first { return nil }
    guard config.faultRate >= 1 || Double.random(in: 0..<1) < config.faultRate else { return nil }
    switch config.fault {
    case .none: return nil
    case .html:
      return EmulatorResponse(
        status: 403, headers: [("Content-Type", "text/html; charset=utf-8")],
        body: Array(
          "<!DOCTYPE html><html><head><title>Access denied</title></head><body><h1>Request blocked</h1><p>Ray ID: 8f2c</p></body></html>"
            .utf8),
        delayMs: delay, hang: false)
    case .malformed:
      return EmulatorResponse(
        status: 200, headers: [("Content-Type", "application/json")],
        body: Array(#"{"code":0,"data":{"valid":fal"#.utf8),
        delayMs: delay, hang: false)
    case .serverError:
      return EmulatorResponse(
        status: 502, headers: [("Content-Type", "text/html")],
        body: Array("<html><body>502 Bad Gateway</body></html>".utf8),
        delayMs: delay, hang: false)
    case .rateLimit:
      var r = EmulatorResponse.json(
        .object(["code": .number(429), "msg": .string("rate_limit_exceeded"), "data": .null]), status: 429,
        delay: delay)
      r.headers.append(("Retry-After", String(config.retryAfterSeconds)))
      return r
    case .hang:
      return EmulatorResponse(status: 0, headers: [], body: [], delayMs: 0, hang: true)
    }
  }

  // MARK: CaptchaLa

  enum Credentials {
    case ok(EmulatorConfig.Pair)
    case error(String)
  }

  /// Two environments may share an App Key (`--from-workspace` loads both): the key is known when
  /// any pair has it, and the secret is right when it belongs to one of those pairs.
  func credentials(key: String?, secret: String?) -> Credentials {
    guard let key else { return .error("invalid_app_key") }
    let withKey = config.pairs.filter { $0.appKey == key }
    guard !withKey.isEmpty else { return .error("invalid_app_key") }
    guard let pair = withKey.first(where: { $0.appSecret == secret }) else {
      return .error("invalid_app_secret")
    }
    if pair.disabled { return .error("app_disabled") }
    return .ok(pair)
  }

  func credentialError(_ e: String, delay: Int) -> EmulatorResponse {
    switch config.credentialErrorShape {
    case .msg:
      return .json(.object(["code": .number(40001), "msg": .string(e), "data": .null]), delay: delay)
    case .error:
      // Also in msg: the PHP SDK reads a validate error from data.error, then msg.
      return .json(.object(["code": .number(401), "msg": .string(e), "error": .string(e)]), delay: delay)
    case .dataError:
      return .json(
        .object([
          "code": .number(40001), "msg": .string("request failed"), "data": .object(["error": .string(e)]),
        ]), delay: delay)
    case .http401:
      return .json(
        .object(["code": .number(401), "msg": .string(e), "data": .null]), status: 401, delay: delay)
    }
  }

  static func object(_ body: [UInt8]) -> [String: JSONValue]? {
    guard let v = try? JSONValue.parse(body, source: "request"), case .object(let o) = v else { return nil }
    return o
  }

  static func now() -> Int64 { Int64(time(nil)) }

  /// The main route validates pass and degraded tokens; the backup route validates `offline_`
  /// tokens (where the official Go SDK sends them). A `client_` token is never validated by a
  /// server: the SDKs accept it without a request, which is the hazard, so here it is unknown.
  func validate(_ req: EmulatorRequest, backup: Bool, delay: Int) -> EmulatorResponse {
    let pair: EmulatorConfig.Pair
    switch credentials(key: req.headers["x-app-key"], secret: req.headers["x-app-secret"]) {
    case .error(let e): return credentialError(e, delay: delay)
    case .ok(let p): pair = p
    }
    guard let body = Emulator.object(req.body) else {
      return .json(
        .object(["code": .number(40000), "msg": .string("invalid request body"), "data": .null]), delay: delay
      )
    }
    func rejected(_ error: String) -> EmulatorResponse {
      .json(
        .object([
          "code": .number(0), "msg": .string("ok"),
          "data": .object(["valid": .bool(false), "error": .string(error)]),
        ]), delay: delay)
    }
    guard case .string(let token)? = body["pass_token"], !token.isEmpty else {
      return rejected("empty_token")
    }
    var keep = false
    if case .bool(let k)? = body["keep_token"] { keep = k }
    if config.acceptAnyToken { return accepted(token: token, action: "any", delay: delay) }
    guard var t = tokens[token], t.appKey == pair.appKey, t.kind != .client,
      (t.kind == .offline) == backup
    else { return rejected("invalid_token") }
    if t.kind == .degraded {
      // The answer the SDKs read as degraded: never valid; the integrator decides.
      return .json(
        .object([
          "code": .number(0), "msg": .string("ok"),
          "data": .object([
            "valid": .bool(false), "degraded": .bool(true),
            "reason": .string(config.degradedReason ?? "quota_exhausted"),
          ]),
        ]), delay: delay)
    }
    if t.consumed { return rejected("token_consumed") }
    if t.expires < Emulator.now() { return rejected("token_expired") }
    if case .string(let action)? = body["action"], action != t.action {
      return rejected("token_action_mismatch")
    }
    if !keep {
      t.consumed = true
      tokens[token] = t
    }
    return accepted(token: token, action: t.action, delay: delay)
  }

  func accepted(token: String, action: String, delay: Int) -> EmulatorResponse {
    .json(
      .object([
        "code": .number(0), "msg": .string("ok"),
        "data": .object([
          "valid": .bool(true), "challenge_id": .string("ch_" + RandomHex.make(bytes: 8)),
          "action": .string(action), "uid": .string(""),
          "captcha_args": .object([
            "platform": .string("web"), "user_ip": .string("127.0.0.1"), "referer": .string(""),
            "pkg": .string(""),
            "solved_at": .number(Double(Emulator.now())), "risk_score": .number(0.1),
          ]),
        ]),
      ]), delay: delay)
  }

  func issue(_ req: EmulatorRequest, delay: Int) -> EmulatorResponse {
    if case .error(let e) = credentials(key: req.headers["x-app-key"], secret: req.headers["x-app-secret"]) {
      return credentialError(e, delay: delay)
    }
    let body = Emulator.object(req.body) ?? [:]
    guard case .string(let action)? = body["action"], !action.isEmpty else {
      return .json(
        .object(["code": .number(40000), "msg": .string("action is required"), "data": .null]), delay: delay)
    }
    var ttl = 300.0
    if case .number(let t)? = body["ttl"] { ttl = min(max(t, 1), 3600) }
    return .json(
      .object([
        "code": .number(0), "msg": .string("ok"),
        "data": .object([
          "server_token": .string("sct_" + RandomHex.make(bytes: 12)), "expires_in": .number(ttl),
          "issued_at": .number(Double(Emulator.now())),
        ]),
      ]), delay: delay)
  }

  /// The test route: issues a single-use pass token for an App Key, as solving the widget would.
  func solve(_ req: EmulatorRequest) -> EmulatorResponse {
    let body = Emulator.object(req.body) ?? [:]
    guard case .string(let key)? = body["app_key"], config.pairs.contains(where: { $0.appKey == key }) else {
      return .json(.object(["error": .string("unknown app_key")]), status: 400, delay: 0)
    }
    var action = "default"
    if case .string(let a)? = body["action"] { action = a }
    // Bounded: an action is a short name, and expired tokens are swept before the map grows.
    guard action.utf8.count <= 128 else {
      return .json(.object(["error": .string("action longer than 128 bytes")]), status: 400, delay: 0)
    }
    if tokens.count >= 10_000 {
      let now = Emulator.now()
      tokens = tokens.filter { $0.value.expires >= now && !$0.value.consumed }
    }
    guard tokens.count < 100_000 else {
      return .json(.object(["error": .string("too many live tokens")]), status: 503, delay: 0)
    }
    var kind: EmulatorConfig.TokenKind = config.degradedReason == nil ? .pass : .degraded
    if case .string(let k)? = body["kind"] {
      guard let asked = EmulatorConfig.TokenKind(rawValue: k) else {
        return .json(.object(["error": .string("unknown kind")]), status: 400, delay: 0)
      }
      kind = asked
    }
    let token = kind.prefix + RandomHex.make(bytes: 16)
    tokens[token] = Token(
      appKey: key, action: action, kind: kind, expires: Emulator.now() + 300, consumed: false)
    return .json(.object(["pass_token": .string(token), "expires_in": .number(300)]), delay: 0)
  }

  // MARK: siteverify

  static func form(_ body: [UInt8]) -> [String: String] {
    var out = [String: String]()
    for pair in body.split(separator: 0x26) {
      let parts = pair.split(separator: 0x3d, maxSplits: 1, omittingEmptySubsequences: false)
      func decode(_ s: ArraySlice<UInt8>) -> String {
        var bytes = [UInt8]()
        var i = s.startIndex
        while i < s.endIndex {
          if s[i] == 0x2b {
            bytes.append(0x20)
          } else if s[i] == 0x25, i + 2 < s.endIndex, s[(i + 1)...(i + 2)].allSatisfy(Emulator.isHexDigit),
            let v = UInt8(String(decoding: s[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
          {
            bytes.append(v)
            i += 2
          } else {
            bytes.append(s[i])
          }
          i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
      }
      if let name = parts.first { out[decode(name)] = parts.count > 1 ? decode(parts[1]) : "" }
    }
    return out
  }

  /// 0-9, a-f, A-F: a percent escape is two of these and nothing else (`%+1` is not an escape).
  static func isHexDigit(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66)
  }

  func siteverify(_ req: EmulatorRequest, provider: Provider, delay: Int) -> EmulatorResponse {
    let form = Emulator.form(req.body)
    func answer(_ success: Bool, _ codes: [String]) -> EmulatorResponse {
      .json(
        .object(["success": .bool(success), "error-codes": .array(codes.map { .string($0) })]), delay: delay)
    }
    guard let secret = form["secret"], !secret.isEmpty else { return answer(false, ["missing-input-secret"]) }
    guard let pair = config.pairs.first(where: { $0.appSecret == secret }), !pair.disabled else {
      return answer(false, ["invalid-input-secret"])
    }
    if provider == .hcaptcha, let siteKey = form["sitekey"], siteKey != pair.appKey {
      return answer(false, ["sitekey-secret-mismatch"])
    }
    if config.acceptAnyToken { return answer(true, []) }
    guard let response = form["response"], !response.isEmpty else {
      return answer(false, ["missing-input-response"])
    }
    // Only a pass token the widget handed out, and not expired: the other kinds are CaptchaLa's.
    guard var t = tokens[response], t.appKey == pair.appKey, t.kind == .pass else {
      return answer(false, ["invalid-input-response"])
    }
    if t.expires < Emulator.now() { return answer(false, ["timeout-or-duplicate"]) }
    if t.consumed {
      return answer(false, [provider == .hcaptcha ? "already-seen-response" : "timeout-or-duplicate"])
    }
    t.consumed = true
    tokens[response] = t
    return answer(true, [])
  }
}
