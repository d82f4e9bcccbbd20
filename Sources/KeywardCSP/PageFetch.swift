import KeywardCore

/// Fetching a page for `keyward csp`: GET, following redirects one hop at a time (each hop is
/// recorded and checked: a downgrade to http, a loop, too many hops), and reading a raw HTTP
/// response from a file for `--response`.
public struct PageFetch: Sendable {
  public struct Hop: Sendable {
    public var url: String
    public var status: Int
    public var location: String?
  }

  public struct Fetched: Sendable {
    public var url: WebURL
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var hops: [Hop]

    public func values(_ name: String) -> [String] {
      headers.filter { $0.0.lowercased() == name }.map(\.1)
    }
  }

  public enum Failure: Error, Sendable {
    case transport(String, TransportFailure)
    case status(String, Int)
    case redirect(String)

    public var message: String {
      switch self {
      case .transport(let url, let f): return "\(url): \(f.description)"
      case .status(let url, let s): return "\(url): HTTP \(s)"
      case .redirect(let m): return m
      }
    }
  }

  public static let maxHops = 10

  /// Fetches every page, at most `concurrency` at a time, in the order given.
  public static func fetchAll(
    _ urls: [WebURL], transport: any HTTPTransport, timeoutSeconds: Double, concurrency: Int,
    progress: (Int, Int) -> Void = { _, _ in }
  ) async -> [Result<Fetched, Failure>] {
    await Bounded.map(count: urls.count, width: concurrency, progress: progress) { i in
      await fetch(urls[i], transport: transport, timeoutSeconds: timeoutSeconds)
    }
  }

  public static func fetch(_ url: WebURL, transport: any HTTPTransport, timeoutSeconds: Double) async
    -> Result<Fetched, Failure>
  {
    var current = url
    var hops: [Hop] = []
    var seen = Set<String>()
    while true {
      let text = current.description
      if seen.contains(text) { return .failure(.redirect("\(url): a redirect loop through \(text)")) }
      seen.insert(text)
      let spec = HTTPRequestSpec(
        method: "GET", url: text,
        headers: [("Accept", "text/html,application/xhtml+xml"), ("User-Agent", "keyward-csp/1")], body: [],
        purpose: "page")
      switch await transport.send(spec, timeoutSeconds: timeoutSeconds) {
      case .failure(let f): return .failure(.transport(text, f))
      case .success(let r):
        let location = r.header("location")
        hops.append(Hop(url: text, status: r.status, location: location))
        if (300..<400).contains(r.status), let location {
          guard let next = current.resolve(location) else {
            return .failure(.redirect("\(text): HTTP \(r.status) to \"\(location)\", which is not a URL"))
          }
          guard hops.count <= maxHops else {
            return .failure(.redirect("\(url): more than \(maxHops) redirects"))
          }
          current = next
          continue
        }
        guard (200..<300).contains(r.status) else { return .failure(.status(text, r.status)) }
        return .success(Fetched(url: current, status: r.status, headers: r.headers, body: r.body, hops: hops))
      }
    }
  }

  /// A raw HTTP/1.x response (status line, headers, blank line, body; chunked bodies decoded).
  public static func parseResponse(_ bytes: [UInt8], source: String) throws(KeywardError) -> (
    status: Int, headers: [(String, String)], body: [UInt8]
  ) {
    var i = 0
    func line() -> String? {
      guard i < bytes.count else { return nil }
      let start = i
      while i < bytes.count, bytes[i] != 0x0a { i += 1 }
      var end = i
      if end > start, bytes[end - 1] == 0x0d { end -= 1 }
      i = min(i + 1, bytes.count)
      return String(decoding: bytes[start..<end], as: UTF8.self)
    }
    guard let statusLine = line(), statusLine.hasPrefix("HTTP/") else {
      throw KeywardError(.input, "\(source): line 1: expected an HTTP status line (\"HTTP/1.1 200 OK\")")
    }
    let parts = statusLine.split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, let status = Int(parts[1]), (100..<600).contains(status) else {
      throw KeywardError(.input, "\(source): line 1: no status code in \"\(statusLine.prefix(60))\"")
    }
    var headers: [(String, String)] = []
    var n = 1
    while let l = line() {
      n += 1
      if l.isEmpty { break }
      guard let colon = l.firstIndex(of: ":") else {
        throw KeywardError(.input, "\(source): line \(n): a header line without ':'")
      }
      headers.append(
        (Text.trimBlanks(l[..<colon]), Text.trimBlanks(l[l.index(after: colon)...]))
      )
    }
    var body = Array(bytes[i...])
    if headers.contains(where: {
      $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked")
    }) {
      body = try dechunk(body, source: source)
    }
    return (status, headers, body)
  }

  static func dechunk(_ b: [UInt8], source: String) throws(KeywardError) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
      var end = i
      while end < b.count, b[end] != 0x0a { end += 1 }
      let lineEnd = end > i && b[end - 1] == 0x0d ? end - 1 : end
      let sizeText = Text.trimBlanks(
        String(decoding: b[i..<lineEnd], as: UTF8.self).split(
          separator: ";", omittingEmptySubsequences: false)[0])
      guard let size = Int(sizeText, radix: 16), size >= 0 else {
        throw KeywardError(.input, "\(source): a bad chunk size \"\(sizeText.prefix(20))\"")
      }
      i = end + 1
      if size == 0 { break }
      guard size <= b.count - min(i, b.count) else {
        throw KeywardError(.input, "\(source): the body ends inside a chunk")
      }
      out += b[i..<(i + size)]
      i += size
      if i < b.count, b[i] == 0x0d { i += 1 }
      if i < b.count, b[i] == 0x0a { i += 1 }
    }
    return out
  }
}
