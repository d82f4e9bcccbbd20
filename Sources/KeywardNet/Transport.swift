import AsyncHTTPClient
import KeywardCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// HTTPS to the providers with async-http-client: certificate verification always on (system
/// roots, plus `--ca-file` roots when given), no redirects (a redirect would turn the POST into a
/// GET), `HTTPS_PROXY`/`HTTP_PROXY` with `NO_PROXY` (async-http-client reads none of them, and its
/// proxy is per client, so there is a direct client and one per proxy).
public final class AHCTransport: HTTPTransport {
  let direct: HTTPClient
  let viaHTTPS: HTTPClient?
  let viaHTTP: HTTPClient?
  let noProxy: String?

  public init(caFile: String?, connectTimeout: Double, concurrency: Int, env: Env = .process)
    throws(KeywardError)
  {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.certificateVerification = .fullVerification
    if let caFile {
      do {
        // Loaded now so that a bad file fails here, not on the first request.
        tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
      } catch {
        throw KeywardError(.input, "\(caFile): not a PEM certificate file (\(error))")
      }
    }
    func make(_ proxy: Proxy?) -> HTTPClient {
      var c = HTTPClient.Configuration()
      c.tlsConfiguration = tls
      c.timeout = .init(connect: .milliseconds(Int64(connectTimeout * 1000)), read: .seconds(30))
      c.redirectConfiguration = .disallow
      // A refused connection fails at once (the verifier retries with backoff itself).
      c.connectionPool.retryConnectionEstablishment = false
      c.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, concurrency)
      if let proxy {
        c.proxy = .server(
          host: proxy.host, port: proxy.port,
          authorization: proxy.user.map { .basic(username: $0, password: proxy.password ?? "") })
      }
      return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: c)
    }
    direct = make(nil)
    viaHTTPS = Proxy.parse(env.nonEmpty("HTTPS_PROXY") ?? env.nonEmpty("https_proxy")).map(make)
    viaHTTP = Proxy.parse(env.nonEmpty("HTTP_PROXY") ?? env.nonEmpty("http_proxy")).map(make)
    noProxy = env.nonEmpty("NO_PROXY") ?? env.nonEmpty("no_proxy")
  }

  public func shutdown() async {
    try? await direct.shutdown()
    try? await viaHTTPS?.shutdown()
    try? await viaHTTP?.shutdown()
  }

  func client(for url: String) -> HTTPClient {
    guard let target = Proxy.target(url) else { return direct }
    // Loopback is never proxied: a proxy would carry the credentials off this machine.
    if Proxy.isLoopbackAddress(target.host) { return direct }
    if Proxy.bypasses(host: target.host, port: target.port, noProxy: noProxy) { return direct }
    return (target.https ? viaHTTPS : viaHTTP) ?? direct
  }

  public func send(_ r: HTTPRequestSpec, timeoutSeconds: Double) async -> Result<HTTPResult, TransportFailure>
  {
    var req = HTTPClientRequest(url: r.url)
    req.method = HTTPMethod(rawValue: r.method)
    for (name, value) in r.headers { req.headers.add(name: name, value: value) }
    req.body = .bytes(ByteBuffer(bytes: r.body))
    let start = AHCTransport.nowNanos()
    do {
      let response = try await client(for: r.url).execute(
        req, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
      let body = try await withDeadline(seconds: timeoutSeconds) {
        try await response.body.collect(upTo: 1 << 20)
      }
      let ms = Double(AHCTransport.nowNanos() - start) / 1e6
      Trace.note("\(r.method) \(r.url) → \(response.status.code) in \(Int(ms)) ms")
      return .success(
        HTTPResult(
          status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
          body: Array(buffer: body), latencyMs: ms))
    } catch {
      let failure = AHCTransport.classify(error)
      Trace.note("\(r.method) \(r.url) → no answer (\(failure.description))")
      return .failure(failure)
    }
  }

  /// Bounds the body read too: execute's timeout only covers the wait for the response head.
  func withDeadline<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T)
    async throws -> T
  {
    try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        try await Task.sleep(nanoseconds: UInt64(max(0.01, seconds) * 1e9))
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let value = first else {
        throw HTTPClientError.deadlineExceeded
      }
      return value
    }
  }

  /// A sentence for each failure: no library text reaches the person (their type names, errno
  /// numbers and nested descriptions say nothing to someone whose deploy failed).
  static func classify(_ error: any Error) -> TransportFailure {
    if let e = error as? IOError { return .connect(sentence(errno: e.errnoCode)) }
    if let e = error as? NIOConnectionError {
      if e.connectionErrors.isEmpty && (e.dnsAError != nil || e.dnsAAAAError != nil) {
        return .connect("the host name \(e.host) could not be resolved")
      }
      let codes = e.connectionErrors.compactMap { ($0.error as? IOError)?.errnoCode }
      return .connect(codes.first.map(sentence(errno:)) ?? "could not connect to \(e.host):\(e.port)")
    }
    if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
      let text = "\(error)"
      if text.contains("CERTIFICATE_VERIFY_FAILED") {
        return .tls("the server's certificate is not trusted here (--ca-file adds a trust root)")
      }
      if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") {
        return .tls("the server does not speak TLS on that port (an http:// endpoint?)")
      }
      return .tls("the TLS handshake failed")
    }
    if let e = error as? HTTPClientError {
      if e == .deadlineExceeded || e == .readTimeout || e == .writeTimeout { return .timeout }
      if e == .connectTimeout || e == .getConnectionFromPoolTimeout { return .connect("connect timed out") }
      if e == .remoteConnectionClosed { return .connect("the server closed the connection") }
      if e == .tlsHandshakeTimeout { return .tls("handshake timed out") }
      return .other("\(e)")
    }
    if error is NIOTooManyBytesError { return .other("the response is larger than 1 MiB") }
    return .other("\(error)")
  }

  static func sentence(errno code: CInt) -> String {
    switch code {
    case ECONNREFUSED: return "connection refused: nothing is listening on that port"
    case ECONNRESET: return "the server reset the connection"
    case ETIMEDOUT: return "the connection timed out"
    case EHOSTUNREACH, ENETUNREACH: return "no route to the host (network down, or a firewall)"
    case EPIPE: return "the server closed the connection while the request was sent"
    default: return String(cString: strerror(code)).lowercased()
    }
  }

  static func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }
}

/// `HTTPS_PROXY`-style values and `NO_PROXY` matching.
public struct Proxy: Sendable, Equatable {
  public var host: String
  public var port: Int
  public var user: String?
  public var password: String?

  /// `[http://][user[:password]@]host[:port]`; only plain-http proxies (async-http-client's limit).
  public static func parse(_ raw: String?) -> Proxy? {
    guard var s = raw.map({ Text.trimBlanks(Substring($0)) }), !s.isEmpty else { return nil }
    if let r = s.firstRange(of: "://") {
      guard s[..<r.lowerBound].lowercased() == "http" else { return nil }
      s = String(s[r.upperBound...])
    }
    if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
    var user: String?
    var password: String?
    if let at = s.lastIndex(of: "@") {
      let cred = s[..<at]
      if let colon = cred.firstIndex(of: ":") {
        user = String(cred[..<colon])
        password = String(cred[cred.index(after: colon)...])
      } else {
        user = String(cred)
      }
      s = String(s[s.index(after: at)...])
    }
    var host = s
    var port = 80
    if let colon = s.lastIndex(of: ":"), !s.hasSuffix("]") {
      guard let p = Int(s[s.index(after: colon)...]) else { return nil }
      host = String(s[..<colon])
      port = p
    }
    guard !host.isEmpty else { return nil }
    return Proxy(host: host, port: port, user: user, password: password)
  }

  /// Host, port and scheme of a request URL.
  static func target(_ url: String) -> (host: String, port: Int, https: Bool)? {
    // The same parser that judged the endpoint (Endpoint) decides the host here.
    guard let u = WebURL.parse(url), let host = u.host, let port = u.effectivePort else { return nil }
    return (host, port, u.scheme == "https")
  }

  /// Whether a host is this machine in any spelling a resolver accepts (`localhost.`, `127.1`,
  /// `0177.0.0.1`, `2130706433`, `[0:0:0:0:0:0:0:1]`): those never go through a proxy.
  static func isLoopbackAddress(_ host: String) -> Bool {
    var h = host.lowercased()
    if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
    while h.hasSuffix(".") { h.removeLast() }
    if h == "localhost" || h.hasSuffix(".localhost") { return true }
    var v4 = in_addr()
    if inet_aton(h, &v4) != 0 { return (UInt32(bigEndian: v4.s_addr) >> 24) == 127 }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, h, &v6) == 1 {
      let bytes = withUnsafeBytes(of: &v6) { Array($0) }
      if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
      // ::ffff:127.x.y.z
      if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127 {
        return true
      }
    }
    return false
  }

  /// NO_PROXY: comma-separated; `*` for everything; a host matches exactly or as a domain suffix
  /// (`.example.com` or `example.com`); `host:port` must match the port too.
  public static func bypasses(host: String, port: Int, noProxy: String?) -> Bool {
    guard let noProxy else { return false }
    let h = host.lowercased().trimmingBrackets
    for raw in noProxy.split(separator: ",") {
      var entry = Text.trimBlanks(raw).lowercased()
      if entry.isEmpty { continue }
      if entry == "*" { return true }
      if let colon = entry.lastIndex(of: ":"), entry.filter({ $0 == ":" }).count == 1 {
        guard Int(entry[entry.index(after: colon)...]) == port else { continue }
        entry = String(entry[..<colon])
      }
      if entry.hasPrefix(".") { entry.removeFirst() }
      if h == entry || h.hasSuffix("." + entry) { return true }
    }
    return false
  }
}

extension String {
  var trimmingBrackets: String { hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self }
}
