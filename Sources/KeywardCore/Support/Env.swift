#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Environment variables: the process's own, read one at a time with getenv (building the whole
/// table costs more than a short command's run), or a fixed table (tests, child processes).
public struct Env: Sendable, ExpressibleByDictionaryLiteral {
  private let table: [String: String]?

  /// The running process's environment.
  public static let process = Env(table: nil)

  private init(table: [String: String]?) { self.table = table }

  public init(_ table: [String: String]) { self.table = table }

  public init(dictionaryLiteral elements: (String, String)...) {
    table = Dictionary(elements, uniquingKeysWith: { $1 })
  }

  public subscript(_ name: String) -> String? {
    if let table { return table[name] }
    return getenv(name).map { String(cString: $0) }
  }

  /// The value, or nil when unset or empty.
  public func nonEmpty(_ name: String) -> String? {
    guard let v = self[name], !v.isEmpty else { return nil }
    return v
  }
}
