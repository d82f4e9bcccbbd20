#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Live verification of one set against the provider (CAPTCHALA-CONTRACT.md).
///
/// CaptchaLa: POST /v1/validate with a well-formed token that cannot exist. A token rejection
/// (`code 0`, `data.valid false`, a documented token error) means the key and secret were
/// accepted: `valid`. `valid: true` for that token: `accepts-any-token`. A credential error
/// (`invalid_app_key`, `invalid_app_secret`, `app_disabled`), looked for in `msg`, a top-level
/// `error` and `data.error` — where it appears is undocumented, so such verdicts say `inferred` —
/// is retried once with key and secret exchanged to tell `swapped` apart. Anything ambiguous is
/// confirmed with POST /v1/server/challenge/issue (a `sct_` server token means the credentials
/// work). HTML, malformed JSON and unknown shapes are inconclusive, never valid.
///
/// reCAPTCHA, hCaptcha, Turnstile: siteverify with a dummy response; `invalid-input-secret`
/// (hCaptcha also `sitekey-secret-mismatch`) is a credential failure; `invalid-input-response`
/// and its siblings mean the secret was accepted.
public struct Verifier: Sendable {
  public struct Settings: Sendable {
    /// CaptchaLa: the API base URL; others: the siteverify URL.
    public var endpoint: String
    /// Per request.
    public var timeoutSeconds: Double
    /// The whole budget for one set, retries and Retry-After included.
    public var budgetSeconds: Double
    public var retries: Int

    public init(endpoint: String, timeoutSeconds: Double = 10, budgetSeconds: Double? = nil, retries: Int = 2)
    {
      self.endpoint = endpoint
      self.timeoutSeconds = timeoutSeconds
      self.budgetSeconds = budgetSeconds ?? timeoutSeconds * 3
      self.retries = retries
    }
  }

  public struct Outcome: Sendable {
    public var verdict: Verdict
    public var evidence: [Evidence]
  }

  public let provider: Provider
  public let settings: Settings
  public let transport: any HTTPTransport

  /// Credentials travel only over HTTPS; plain http only to this machine (the emulator). The rules
  /// are Endpoint's.
  public static func checkEndpoint(_ url: String) throws(KeywardError) {
    _ = try Endpoint(url, origin: "endpoint")
  }

  public init(provider: Provider, settings: Settings, transport: any HTTPTransport) {
    self.provider = provider
    self.settings = settings
    self.transport = transport
  }

  public static let captchaLaTokenErrors: Set<String> = [
    "invalid_token", "empty_token", "token_expired", "token_consumed", "token_action_mismatch",
    "token_ip_mismatch",
    "token_uid_mismatch", "binding_mismatch",
  ]
  public static let siteverifyTokenErrors: Set<String> = [
    "invalid-input-response", "timeout-or-duplicate", "expired-input-response", "already-seen-response",
    "missing-input-response",
  ]

  public func verify(appKey: SecureBytes, appSecret: SecureBytes) async -> Outcome {
    provider == .captchala
      ? await verifyCaptchaLa(key: appKey, secret: appSecret)
      : await verifySiteverify(key: appKey, secret: appSecret)
  }

  // MARK: CaptchaLa

  /// What the retry loop needs to know of an answer.
  protocol Answer: Equatable {
    var isRateLimited: Bool { get }
    var isNotJSON: Bool { get }
    var isCredentialFailure: Bool { get }
  }

  enum CaptchaLaAnswer: Answer {
    case tokenRejected(String)
    case tokenAccepted
    case serverToken
    case credentialError(String)
    case rateLimited
    case degraded
    case ambiguous
    case notJSON
    case serverError

    var isRateLimited: Bool { self == .rateLimited }
    var isNotJSON: Bool { self == .notJSON }
    var isCredentialFailure: Bool {
      if case .credentialError = self { return true }
      return false
    }
  }

  /// Reads a CaptchaLa answer. Pure: unit-tested on every shape.
  static func interpretCaptchaLa(_ r: HTTPResult) -> (
    CaptchaLaAnswer, code: Int?, msg: String?, error: String?
  ) {
    guard let json = try? JSONValue.parse(r.body, source: "response"), case .object(let top) = json else {
      if r.status == 429 { return (.rateLimited, nil, nil, nil) }
      if r.status >= 500 { return (.serverError, nil, nil, nil) }
      return (.notJSON, nil, nil, nil)
    }
    func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s } else { return nil } }
    let code: Int? = {
      if case .number(let d)? = top["code"] { return Int(exactly: d) } else { return nil }
    }()
    let msg = string(top["msg"])
    var data: [String: JSONValue]? = nil
    if case .object(let d)? = top["data"] { data = d }
    let dataError = string(data?["error"])
    let topError = string(top["error"])
    // Credential errors may appear in any of three places (undocumented): look in all of them.
    for candidate in [dataError, topError, msg].compactMap({ $0?.lowercased() }) {
      for e in ["invalid_app_key", "invalid_app_secret", "app_disabled", "invalid_credentials"]
      where candidate == e || candidate.contains(e) {
        return (.credentialError(e), code, msg, e)
      }
      if candidate.contains("rate_limit_exceeded") { return (.rateLimited, code, msg, "rate_limit_exceeded") }
    }
    if r.status == 429 { return (.rateLimited, code, msg, dataError ?? topError) }
    guard code == 0, let data else {
      return (r.status >= 500 ? .serverError : .ambiguous, code, msg, dataError ?? topError)
    }
    // A decisive answer comes only with a success status: a 404 page whose body happens to say
    // `invalid_token` is not the provider accepting the credentials.
    guard (200..<300).contains(r.status) else {
      return (r.status >= 500 ? .serverError : .ambiguous, code, msg, dataError ?? topError)
    }
    if case .string(let token)? = data["server_token"], token.hasPrefix("sct_") {
      return (.serverToken, code, msg, nil)
    }
    let valid: Bool? = {
      if case .bool(let b)? = data["valid"] { return b }
      if case .bool(let b)? = data["ok"] { return b }
      return nil
    }()
    if valid == true { return (.tokenAccepted, code, msg, dataError) }
    if case .bool(true)? = data["degraded"] { return (.degraded, code, msg, string(data["reason"])) }
    if valid == false, let e = dataError, captchaLaTokenErrors.contains(e) {
      return (.tokenRejected(e), code, msg, e)
    }
    return (.ambiguous, code, msg, dataError)
  }

  func captchaLaRequest(_ path: String, key: SecureBytes, secret: SecureBytes, body: String, purpose: String)
    -> HTTPRequestSpec
  {
    let base = settings.endpoint.hasSuffix("/") ? String(settings.endpoint.dropLast()) : settings.endpoint
    // The header values must be Strings for the HTTP client: the one place a secret leaves
    // guarded memory, for the length of the request.
    return HTTPRequestSpec(
      url: base + path,
      headers: [
        ("Content-Type", "application/json"), ("Accept", "application/json"),
        ("X-App-Key", key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }),
        ("X-App-Secret", secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }),
      ], body: Array(body.utf8), purpose: purpose)
  }

  func probeCaptchaLa(key: SecureBytes, secret: SecureBytes, deadline: Deadline) async -> (
    CaptchaLaAnswer, Evidence
  ) {
    let token = "pt_keyward_probe_" + Sodium.hex(Sodium.randomBytes(16))
    let request = captchaLaRequest(
      "/v1/validate", key: key, secret: secret, body: "{\"pass_token\":\"\(token)\",\"keep_token\":true}",
      purpose: "validate")
    return await exchange(request, deadline: deadline, secrets: [key, secret]) {
      Verifier.interpretCaptchaLa($0)
    }
  }

  func issueChallenge(key: SecureBytes, secret: SecureBytes, deadline: Deadline) async -> (
    CaptchaLaAnswer, Evidence
  ) {
    let request = captchaLaRequest(
      "/v1/server/challenge/issue", key: key, secret: secret,
      body: "{\"action\":\"keyward_verify\",\"ttl\":60}",
      purpose: "challenge-issue")
    return await exchange(request, deadline: deadline, secrets: [key, secret]) {
      Verifier.interpretCaptchaLa($0)
    }
  }

  func verifyCaptchaLa(key: SecureBytes, secret: SecureBytes) async -> Outcome {
    let deadline = Deadline(seconds: settings.budgetSeconds)
    var evidence = [Evidence]()
    var (answer, ev) = await probeCaptchaLa(key: key, secret: secret, deadline: deadline)
    evidence.append(ev)
    if answer == .ambiguous || answer == .degraded {
      (answer, ev) = await issueChallenge(key: key, secret: secret, deadline: deadline)
      evidence.append(ev)
    }
    switch answer {
    case .tokenRejected, .serverToken: return Outcome(verdict: .valid, evidence: evidence)
    case .tokenAccepted: return Outcome(verdict: .acceptsAnyToken, evidence: evidence)
    case .rateLimited: return Outcome(verdict: .rateLimited, evidence: evidence)
    case .notJSON, .ambiguous, .degraded: return Outcome(verdict: .unexpectedResponse, evidence: evidence)
    case .serverError:
      return Outcome(
        verdict: evidence.last?.httpStatus == nil ? .unreachable : .unexpectedResponse, evidence: evidence)
    case .credentialError(let e):
      evidence[evidence.count - 1].inferred = true
      if e == "app_disabled" { return Outcome(verdict: .disabled, evidence: evidence) }
      // Exchanged: does the pair work the other way round?
      var (swappedAnswer, swappedEvidence) = await probeCaptchaLa(
        key: secret, secret: key, deadline: deadline)
      switch swappedAnswer {
      case .tokenRejected, .serverToken, .tokenAccepted:
        swappedEvidence.note = "retried with App Key and App Secret exchanged: accepted"
        evidence.append(swappedEvidence)
        return Outcome(verdict: .swapped, evidence: evidence)
      case .credentialError:
        swappedEvidence.note = "retried with App Key and App Secret exchanged: refused too"
      default:
        swappedEvidence.note =
          "retried with App Key and App Secret exchanged: inconclusive, so swapped is not ruled out"
      }
      evidence.append(swappedEvidence)
      return Outcome(verdict: e == "invalid_app_key" ? .invalidKey : .invalidSecret, evidence: evidence)
    }
  }

  // MARK: siteverify (reCAPTCHA, hCaptcha, Turnstile)

  enum SiteverifyAnswer: Answer {
    case accepted
    case tokenError
    case badSecret
    case mismatch
    case rateLimited
    case notJSON
    case serverError
    case unknown

    var isRateLimited: Bool { self == .rateLimited }
    var isNotJSON: Bool { self == .notJSON }
    var isCredentialFailure: Bool { self == .badSecret || self == .mismatch }
  }

  static func interpretSiteverify(_ r: HTTPResult) -> (
    SiteverifyAnswer, code: Int?, msg: String?, error: String?
  ) {
    guard let json = try? JSONValue.parse(r.body, source: "response"), case .object(let top) = json else {
      if r.status == 429 { return (.rateLimited, nil, nil, nil) }
      return (r.status >= 500 ? .serverError : .notJSON, nil, nil, nil)
    }
    var codes = [String]()
    if case .array(let items)? = top["error-codes"] {
      for case .string(let s) in items { codes.append(s) }
    }
    let joined = codes.isEmpty ? nil : codes.joined(separator: ",")
    if r.status == 429 { return (.rateLimited, nil, nil, joined) }
    // A credential error is believed at any status (it can only make the verdict worse).
    if codes.contains("invalid-input-secret") || codes.contains("missing-input-secret") {
      return (.badSecret, nil, nil, joined)
    }
    if codes.contains("sitekey-secret-mismatch") || codes.contains("invalid-sitekey") {
      return (.mismatch, nil, nil, joined)
    }
    // Anything that could make a set valid needs a success status.
    guard (200..<300).contains(r.status) else {
      return (r.status >= 500 ? .serverError : .unknown, nil, nil, joined)
    }
    if case .bool(true)? = top["success"] { return (.accepted, nil, nil, joined) }
    if case .bool(false)? = top["success"], codes.contains(where: { siteverifyTokenErrors.contains($0) }) {
      return (.tokenError, nil, nil, joined)
    }
    return (r.status >= 500 ? .serverError : .unknown, nil, nil, joined)
  }

  func siteverifyRequest(key: SecureBytes, secret: SecureBytes) -> HTTPRequestSpec {
    var form =
      "secret=" + Verifier.formEncode(secret) + "&response=keyward-probe-"
      + Sodium.hex(Sodium.randomBytes(16))
    if provider == .hcaptcha { form += "&sitekey=" + Verifier.formEncode(key) }
    return HTTPRequestSpec(
      url: settings.endpoint,
      headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
      body: Array(form.utf8), purpose: "siteverify")
  }

  static func formEncode(_ v: SecureBytes) -> String {
    var out = ""
    let hex = Array("0123456789ABCDEF")
    v.withUnsafeBytes { bytes in
      for b in bytes {
        switch b {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a, 0x2d, 0x2e, 0x5f, 0x7e:
          out.append(Character(UnicodeScalar(b)))
        default: out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 0xf)])
        }
      }
    }
    return out
  }

  func verifySiteverify(key: SecureBytes, secret: SecureBytes) async -> Outcome {
    let deadline = Deadline(seconds: settings.budgetSeconds)
    var evidence = [Evidence]()
    let (answer, ev) = await exchange(
      siteverifyRequest(key: key, secret: secret), deadline: deadline, secrets: [key, secret]
    ) { Verifier.interpretSiteverify($0) }
    evidence.append(ev)
    switch answer {
    case .accepted: return Outcome(verdict: .acceptsAnyToken, evidence: evidence)
    case .tokenError:
      if provider != .hcaptcha {
        evidence[0].note = "\(provider.rawValue)'s siteverify checks the secret key only, not the site key"
      }
      return Outcome(verdict: .valid, evidence: evidence)
    case .rateLimited: return Outcome(verdict: .rateLimited, evidence: evidence)
    case .notJSON, .unknown: return Outcome(verdict: .unexpectedResponse, evidence: evidence)
    case .serverError:
      return Outcome(
        verdict: evidence[0].httpStatus == nil ? .unreachable : .unexpectedResponse, evidence: evidence)
    case .badSecret, .mismatch:
      var (swapped, swappedEvidence) = await exchange(
        siteverifyRequest(key: secret, secret: key), deadline: deadline, secrets: [key, secret]
      ) { Verifier.interpretSiteverify($0) }
      let accepted = swapped == .tokenError || swapped == .accepted
      swappedEvidence.note =
        "retried with site key and secret key exchanged: "
        + (accepted
          ? "accepted"
          : swapped.isCredentialFailure ? "refused too" : "inconclusive, so swapped is not ruled out")
      evidence.append(swappedEvidence)
      if accepted { return Outcome(verdict: .swapped, evidence: evidence) }
      // hCaptcha's sitekey-secret-mismatch is a bad secret for this pair (the contract's reading).
      if answer == .mismatch { evidence[0].note = "hCaptcha: the secret does not belong to this site key" }
      return Outcome(verdict: .invalidSecret, evidence: evidence)
    }
  }

  // MARK: retries

  struct Deadline: Sendable {
    let end: UInt64
    init(seconds: Double) { end = Deadline.now() + UInt64(max(0, seconds) * 1e9) }
    var remaining: Double { Double(end > Deadline.now() ? end - Deadline.now() : 0) / 1e9 }
    static func now() -> UInt64 {
      var ts = timespec()
      clock_gettime(CLOCK_MONOTONIC, &ts)
      return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
  }

  /// Sends with retries: connection failures, timeouts and 5xx get jittered exponential backoff;
  /// 429 waits for Retry-After when it fits in the budget; nothing else is retried (a credential
  /// failure never is).
  func exchange<A>(
    _ request: HTTPRequestSpec, deadline: Deadline, secrets: [SecureBytes],
    interpret: (HTTPResult) -> (A, code: Int?, msg: String?, error: String?)
  ) async -> (A, Evidence) where A: Answer {
    let requestID = "kw-" + Sodium.hex(Sodium.randomBytes(6))
    var req = request
    req.headers.append(("X-Request-ID", requestID))
    var attempt = 0
    var backoff = 0.2
    // Text from the server goes into evidence: a server that quotes the key or the secret back
    // (in a message, an error, an HTML page) must not put it in CI logs.
    func scrub(_ text: String?) -> String? { text.map { Verifier.redact($0, secrets) } }
    while true {
      attempt += 1
      let timeout = min(settings.timeoutSeconds, max(0.05, deadline.remaining))
      let result = await transport.send(req, timeoutSeconds: timeout)
      var ev = Evidence(
        endpoint: request.url, purpose: request.purpose, httpStatus: nil, providerCode: nil,
        providerMessage: nil,
        providerError: nil, latencyMs: nil, requestID: requestID, attempts: attempt, inferred: false,
        note: nil)
      switch result {
      case .failure(let failure):
        ev.note = scrub(failure.description)
        // A TLS failure (a certificate that does not verify) will not fix itself: not retried.
        if case .tls = failure { return (Verifier.unreachableAnswer(interpret), ev) }
        if attempt <= settings.retries, await sleep(jittered(backoff), within: deadline) {
          backoff *= 2
          continue
        }
        return (Verifier.unreachableAnswer(interpret), ev)
      case .success(let r):
        let (answer, code, msg, error) = interpret(r)
        ev.httpStatus = r.status
        ev.providerCode = code
        // Redacted first, cut after: a secret straddling the cut must not survive in part.
        ev.providerMessage = scrub(msg).map { String($0.prefix(200)) }
        ev.providerError = scrub(error)
        ev.latencyMs = (r.latencyMs * 10).rounded() / 10
        // A credential failure is never retried, whatever its status.
        if !answer.isCredentialFailure {
          if r.status == 429 || answer.isRateLimited {
            let wait = Verifier.retryAfter(r.header("Retry-After")) ?? backoff
            if attempt <= settings.retries, wait <= deadline.remaining, await sleep(wait, within: deadline) {
              continue
            }
          } else if r.status >= 500, attempt <= settings.retries,
            await sleep(jittered(backoff), within: deadline)
          {
            backoff *= 2
            continue
          }
        }
        if r.status >= 500 || answer.isNotJSON {
          let head = String(decoding: r.body.prefix(4096), as: UTF8.self).filter { !$0.isNewline }
          ev.note = ev.note ?? scrub(head).map { "body starts: " + $0.prefix(80) }
        }
        return (answer, ev)
      }
    }
  }

  /// Retry-After in seconds (the delta form); nil for anything else, negative or not finite.
  static func retryAfter(_ value: String?) -> Double? {
    guard let v = value.flatMap({ Double(Text.trimBlanks(Substring($0))) }), v.isFinite, v >= 0, v <= 3600
    else {
      return nil
    }
    return v
  }

  /// `text` with every occurrence of the given values replaced by `[redacted]`, and every run of
  /// 8 or more bytes of one of them too (a server that quotes part of a secret back, or a cut that
  /// fell inside one). The values are compared in place, never copied out of guarded memory.
  static func redact(_ text: String, _ secrets: [SecureBytes]) -> String {
    let t = Array(text.utf8)
    var hidden = [Bool](repeating: false, count: t.count)
    var any = false
    for secret in secrets where secret.count >= 4 {
      secret.withUnsafeBytes { s in
        let minRun = min(8, s.count)
        for i in 0..<t.count {
          for j in 0..<s.count where s[j] == t[i] {
            var k = 1
            while i + k < t.count && j + k < s.count && t[i + k] == s[j + k] { k += 1 }
            if k >= minRun {
              for x in i..<(i + k) { hidden[x] = true }
              any = true
            }
          }
        }
      }
    }
    guard any else { return text }
    var out = [UInt8]()
    var i = 0
    while i < t.count {
      if hidden[i] {
        out += Array("[redacted]".utf8)
        while i < t.count && hidden[i] { i += 1 }
      } else {
        out.append(t[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The transport-failure answer for either dialect.
  static func unreachableAnswer<A>(_ interpret: (HTTPResult) -> (A, code: Int?, msg: String?, error: String?))
    -> A
  {
    interpret(HTTPResult(status: 599, headers: [], body: [], latencyMs: 0)).0
  }

  func jittered(_ seconds: Double) -> Double { seconds * Double.random(in: 0.5...1.5) }

  /// Sleeps if the budget allows; false when it does not.
  func sleep(_ seconds: Double, within deadline: Deadline) async -> Bool {
    guard seconds < deadline.remaining else { return false }
    try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    return true
  }
}
