import KeywardCore

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes human text and JSON documents. Everything goes through write(2) so that output built in
/// guarded memory (revealed secrets) and ordinary text can never be reordered by stdio buffers.
struct Printer {
  let json: Bool
  let color: Bool
  let quiet: Bool
  let verbose: Bool

  static let plain = Printer(json: false, color: false, quiet: false, verbose: false)

  init(json: Bool, color: Bool, quiet: Bool, verbose: Bool) {
    self.json = json
    self.color = color
    self.quiet = quiet
    self.verbose = verbose
  }

  init(_ g: GlobalOptions) { self.init(g.settings) }

  init(_ s: CommonSettings) {
    let noColorEnv = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    self.init(
      json: s.format == .json, color: !s.noColor && !noColorEnv && Terminal.isTTY(1), quiet: s.quiet,
      verbose: s.verbose)
  }

  /// Text to stdout.
  func out(_ text: String) { Printer.write(1, text) }

  /// Text to stderr.
  func note(_ text: String) { Printer.write(2, text) }

  /// One JSON document with `schema_version`, to stdout.
  func document<T: Encodable>(_ value: T) {
    out(String(decoding: JSONOutput.encode(value), as: UTF8.self))
  }

  /// Reports an error: a line on stderr, and in JSON mode also an error document on stdout.
  func fail(_ error: KeywardError) {
    var text = "keyward: error: \(error.message)\n"
    if let hint = error.hint { text += "hint: \(hint)\n" }
    note(style(text, .red))
    if json { document(ErrorDocument(error: .init(error))) }
  }

  enum Style: String {
    case bold = "1"
    case dim = "2"
    case red = "31"
    case green = "32"
    case yellow = "33"
    case cyan = "36"
  }

  func style(_ s: String, _ st: Style) -> String { color ? "\u{1b}[\(st.rawValue)m\(s)\u{1b}[0m" : s }

  static func write(_ fd: Int32, _ text: String) {
    var t = text
    t.withUTF8 { buf in
      var off = 0
      while off < buf.count {
        #if canImport(Glibc)
          let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
        #else
          let n = Darwin.write(fd, buf.baseAddress! + off, buf.count - off)
        #endif
        if n < 0 {
          if errno == EINTR { continue }
          return
        }
        off += n
      }
    }
  }
}

/// `{"schema_version": 1, "error": {...}}`.
struct ErrorDocument: Encodable {
  struct Body: Encodable {
    var exitCode: Int32
    var kind: String
    var message: String
    var hint: String?

    init(_ e: KeywardError) {
      exitCode = e.exitStatus.rawValue
      kind = e.kind.rawValue
      message = e.message
      hint = e.hint
    }

    enum CodingKeys: String, CodingKey {
      case kind, message, hint
      case exitCode = "exit_code"
    }
  }

  var error: Body
}

/// JSON documents: `schema_version` first-class, keys sorted, one trailing newline.
enum JSONOutput {
  static let schemaVersion = 1

  /// Wraps a report so its fields sit beside `schema_version` at the top level.
  private struct Envelope<T: Encodable>: Encodable {
    let body: T
    enum Key: String, CodingKey { case schemaVersion = "schema_version" }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: Key.self)
      try c.encode(JSONOutput.schemaVersion, forKey: .schemaVersion)
      try body.encode(to: encoder)
    }
  }

  static func encode<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var bytes = [UInt8]((try? encoder.encode(Envelope(body: value))) ?? Data("{}".utf8))
    bytes.append(0x0a)
    return bytes
  }
}
