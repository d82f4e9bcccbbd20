/// An HTTP exchange as keyward sees it: no secrets (headers holding them are never recorded).
public struct HTTPRequestSpec: Sendable {
  public var method: String
  public var url: String
  public var headers: [(String, String)]
  public var body: [UInt8]
  /// For evidence: which endpoint this is (`validate`, `challenge-issue`, `siteverify`).
  public var purpose: String

  public init(
    method: String = "POST", url: String, headers: [(String, String)], body: [UInt8], purpose: String
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.purpose = purpose
  }
}

public struct HTTPResult: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]
  public var latencyMs: Double

  public init(status: Int, headers: [(String, String)], body: [UInt8], latencyMs: Double) {
    self.status = status
    self.headers = headers
    self.body = body
    self.latencyMs = latencyMs
  }

  public func header(_ name: String) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
  }
}

/// Why a request got no HTTP answer.
public enum TransportFailure: Error, Sendable, Equatable {
  case connect(String)
  case timeout
  case tls(String)
  case other(String)

  public var description: String {
    switch self {
    case .connect(let m): return "connection failed: \(m)"
    case .timeout: return "timed out"
    case .tls(let m): return "TLS failed: \(m)"
    case .other(let m): return m
    }
  }
}

/// Sends one request. Implemented with async-http-client in KeywardNet; the verifier retries.
public protocol HTTPTransport: Sendable {
  func send(_ request: HTTPRequestSpec, timeoutSeconds: Double) async -> Result<HTTPResult, TransportFailure>
}
