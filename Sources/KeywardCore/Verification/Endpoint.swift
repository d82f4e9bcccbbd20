/// A verification endpoint, parsed once by the URL parser (WebURL): the same parse decides whether
/// credentials may go there and is the URL the request is sent to, so a rule and a client can never
/// disagree on the host (`http://evil.example:1?@127.0.0.1` is evil.example to a browser).
///
/// The rules: https anywhere; plain http only to a loopback address (127.0.0.0/8, ::1, localhost),
/// which is what `keyward emulate` listens on; no user name or password in the URL (it would be
/// written into keyward.json and the trail); no fragment, no control characters or spaces.
public struct Endpoint: Sendable, Equatable {
  /// The parsed URL.
  public let url: WebURL
  /// The URL as keyward sends it (the parser's serialisation, not the text it was given).
  public let text: String

  public var host: String { url.host ?? "" }
  public var isLoopback: Bool { Endpoint.isLoopback(host) }

  /// The host (and port when not the default) for messages: "api.example.com", "127.0.0.1:8080".
  public var hostAndPort: String { url.port.map { "\(host):\($0)" } ?? host }

  /// Parses and checks `raw`; `origin` says where it came from, for messages ("keyward.json
  /// environments.prod.endpoint", "--endpoint").
  public init(_ raw: String, origin: String) throws(KeywardError) {
    let shown = Text.printable(Endpoint.withoutUserinfo(String(raw.prefix(120))), keepNewlines: false)
    func refuse(_ why: String, hint: String? = nil) -> KeywardError {
      KeywardError(.input, "\(origin): the endpoint \"\(shown)\" \(why)", hint: hint)
    }
    guard raw.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else {
      throw refuse("contains spaces or control characters")
    }
    guard raw.utf8.count <= 2048 else { throw refuse("is longer than 2048 bytes") }
    guard let url = WebURL.parse(raw), let host = url.host, !host.isEmpty else {
      throw refuse("is not an absolute URL with a host")
    }
    guard url.scheme == "https" || url.scheme == "http" else {
      throw refuse("is not an https:// URL")
    }
    // The authority as written: anything before an '@' is a user name or password.
    let afterScheme = raw.utf8.drop { $0 != 0x3a }.dropFirst().drop { $0 == 0x2f || $0 == 0x5c }
    let authority = afterScheme.prefix { $0 != 0x2f && $0 != 0x5c && $0 != 0x3f && $0 != 0x23 }
    guard !authority.contains(0x40) else {
      throw refuse(
        "has a user name or password in it; keyward does not store credentials in URLs",
        hint: "put a gateway's credentials in a proxy setting (HTTPS_PROXY), not in the endpoint")
    }
    guard !raw.utf8.contains(0x23) else { throw refuse("has a fragment (#…)") }
    if url.scheme == "http" && !Endpoint.isLoopback(host) {
      throw KeywardError(
        .input,
        "\(origin): refusing to send credentials over plain http to \(Text.printable(host)): use an https:// endpoint",
        hint: "plain http is allowed only to this machine (127.0.0.1, ::1, localhost), e.g. keyward emulate")
    }
    self.url = url
    self.text = url.description
  }

  /// `raw` with anything between the scheme and an '@' in the authority shown as `***`: a password
  /// in a refused endpoint is not repeated in the message.
  static func withoutUserinfo(_ raw: String) -> String {
    guard let schemeEnd = raw.firstRange(of: "//") else { return raw }
    let rest = raw[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "\\" } ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return raw }
    return String(raw[..<schemeEnd.upperBound]) + "***" + String(rest[at...])
  }

  /// A loopback address as the URL parser gives hosts: "localhost", "[::1]", or four decimal
  /// numbers with the first 127 (never a name such as 127.0.0.1.example).
  public static func isLoopback(_ host: String) -> Bool {
    if host == "localhost" || host == "[::1]" || host == "::1" { return true }
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127"
      && parts.allSatisfy { p in !p.isEmpty && p.utf8.count <= 3 && p.allSatisfy(\.isASCII) && UInt8(p) != nil
      }
  }
}
