import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes human text and JSON documents. Everything goes through write(2) so that output built in
/// guarded memory (revealed secrets) and ordinary text can never be reordered by stdio buffers.
public struct Printer: Sendable {
  public let json: Bool
  public let color: Bool
  public let quiet: Bool
  public let verbose: Bool

  public static let plain = Printer(json: false, color: false, quiet: false, verbose: false)

  public init(json: Bool, color: Bool, quiet: Bool, verbose: Bool) {
    self.json = json
    self.color = color
    self.quiet = quiet
    self.verbose = verbose
  }

  public init(_ s: CommonSettings) {
    let noColorEnv = Env.process.nonEmpty("NO_COLOR") != nil
    self.init(
      json: s.format == .json, color: !s.noColor && !noColorEnv && Terminal.isTTY(1), quiet: s.quiet,
      verbose: s.verbose)
  }

  /// Text to stdout.
  public func out(_ text: String) { Printer.write(1, text) }

  /// A document keyward built, to stdout: as it is when `Text.printable` would change nothing
  /// (no String made of megabytes), otherwise through `out`.
  public func out(bytes: [UInt8]) {
    guard Printer.isUnchanged(bytes) else { return out(String(decoding: bytes, as: UTF8.self)) }
    Printer.writeRaw(1, bytes)
  }

  /// Whether `out(bytes:)` writes these bytes as they are (nothing to escape, no style marker).
  /// A byte-wise property, so pieces that each hold it hold it joined.
  public static func isUnchanged(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer {
      $0.isEmpty || (Text.isPlain($0) && memchr($0.baseAddress!, 0xEE, $0.count) == nil)
    }
  }

  /// Text to stderr.
  public func note(_ text: String) { Printer.write(2, text) }

  /// A warning line on standard error (unless `-q`).
  public func warning(_ text: String) {
    if !quiet { note(style("keyward: warning: \(Text.printable(text, keepNewlines: false))\n", .yellow)) }
  }

  /// A progress line on stderr that the next one overwrites (keyward's own text: counts only).
  public func progress(_ text: String) { Printer.writeRaw(2, "\r\u{1b}[K" + Text.printable(text)) }

  /// Reports an error: a line on stderr, and in JSON mode also an error document on stdout.
  public func fail(_ error: KeywardError) {
    var text = "keyward: error: \(error.message)\n"
    if let hint = error.shownHint { text += "hint: \(hint)\n" }
    note(style(text, .red))
    if json {
      var body: [String: JSONValue] = [
        "exit_code": .number(Double(error.exitStatus.rawValue)), "kind": .string(error.kind.rawValue),
        "message": .string(error.message),
      ]
      if let hint = error.shownHint { body["hint"] = .string(hint) }
      let doc = JSONValue.object([
        "schema_version": .number(Double(Printer.schemaVersion)), "error": .object(body),
      ])
      out(String(decoding: doc.written(), as: UTF8.self))
    }
  }

  /// The `schema_version` of every JSON document keyward writes.
  public static let schemaVersion = 2

  public enum Style: String {
    case bold = "1"
    case dim = "2"
    case red = "31"
    case green = "32"
    case yellow = "33"
    case cyan = "36"
  }

  /// Colour is written as a marker that only this process knows (a random nonce between two
  /// private-use characters); `write` turns exactly those markers into escape sequences after escaping
  /// every other control character. Text from a file can therefore never move the cursor, clear
  /// a line or retitle the terminal, even when it spells an escape sequence keyward itself uses.
  static let marker: String = {
    "\u{E000}" + Text.nonce() + "\u{E001}"
  }()

  /// Colour as real escape sequences, for text keyward builds itself that does not go through
  /// `write` (output assembled in guarded memory).
  public func directStyle(_ s: String, _ st: Style) -> String {
    color ? "\u{1b}[\(st.rawValue)m\(s)\u{1b}[0m" : s
  }

  public func style(_ s: String, _ st: Style) -> String {
    color ? "\(Printer.marker)\(st.rawValue)m\(s)\(Printer.marker)0m" : s
  }

  /// Writes human text: control characters that did not come from keyward are shown escaped
  /// (`\u001b`), keyward's own colours are put back (`style`).
  public static func write(_ fd: Int32, _ text: String) {
    var t = Text.printable(text)
    if t.withUTF8({ $0.count > 0 && memchr($0.baseAddress!, 0xEE, $0.count) != nil }), t.contains(marker) {
      t = t.replacingMarker(marker, with: "\u{1b}[")
    }
    writeRaw(fd, t)
  }

  /// Writes text as it is (a JSON document keyward built, the emulator's listening line).
  public static func writeRaw(_ fd: Int32, _ text: String) {
    var t = text
    t.withUTF8 { writeAll(fd, $0) }
  }

  public static func writeRaw(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { writeAll(fd, $0) }
  }

  /// Why a write to standard output failed (a full disk, a closed descriptor), if one did: the
  /// process then ends with exit 2 however the command went (`exitProcess`), never 0 with a cut
  /// report.
  nonisolated(unsafe) public static var outputFailure: String? = nil

  static func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) {
    var off = 0
    while off < buf.count {
      #if canImport(Glibc)
        let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
      #else
        let n = Darwin.write(fd, buf.baseAddress! + off, buf.count - off)
      #endif
      if n < 0 {
        if errno == EINTR { continue }
        if fd == 1 && outputFailure == nil { outputFailure = String(cString: strerror(errno)) }
        return
      }
      off += n
    }
  }
}

extension String {
  /// Every occurrence of `marker` replaced (no Foundation in this target).
  func replacingMarker(_ marker: String, with replacement: String) -> String {
    var out = ""
    var rest = Substring(self)
    while let r = rest.firstRange(of: marker) {
      out += rest[..<r.lowerBound]
      out += replacement
      rest = rest[r.upperBound...]
    }
    out += rest
    return out
  }
}
