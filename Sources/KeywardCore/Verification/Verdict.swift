/// The verdict of verifying one set (PRODUCT.md).
public enum Verdict: String, Sendable, CaseIterable, Encodable {
  case valid
  case invalidKey = "invalid-key"
  case invalidSecret = "invalid-secret"
  /// The pair works in the other order.
  case swapped
  case disabled
  /// The endpoint passed a token that cannot exist: a test or always-pass key.
  case acceptsAnyToken = "accepts-any-token"
  case rateLimited = "rate-limited"
  case unreachable
  /// An HTML or WAF page, malformed JSON, or a shape the contract does not describe.
  case unexpectedResponse = "unexpected-response"

  /// Something is wrong with the credentials (exit 1).
  public var isFinding: Bool {
    switch self {
    case .invalidKey, .invalidSecret, .swapped, .disabled, .acceptsAnyToken: return true
    default: return false
    }
  }

  /// Nothing wrong found, but not verified either (exit 3).
  public var isInconclusive: Bool {
    self == .rateLimited || self == .unreachable || self == .unexpectedResponse
  }
}

/// What the evidence of a verdict holds: never a key or a secret.
public struct Evidence: Sendable, Encodable {
  /// Whether this attempt was the retry with the two values exchanged (it decides only `swapped`).
  public var isExchangeRetry: Bool { note?.hasPrefix("retried with") == true }

  public var endpoint: String
  public var purpose: String
  public var httpStatus: Int?
  public var providerCode: Int?
  public var providerMessage: String?
  public var providerError: String?
  public var latencyMs: Double?
  public var requestID: String
  public var attempts: Int
  /// Set when the verdict rests on behaviour the contract marks as inferred.
  public var inferred: Bool
  public var note: String?

  enum CodingKeys: String, CodingKey {
    case endpoint, purpose, attempts, inferred, note
    case httpStatus = "http_status"
    case providerCode = "provider_code"
    case providerMessage = "provider_message"
    case providerError = "provider_error"
    case latencyMs = "latency_ms"
    case requestID = "request_id"
  }
}
