import KeywardCore

extension Printer {
  /// One JSON document built as a value (it carries its own `schema_version`), to stdout.
  public func document(value: JSONValue) { out(String(decoding: value.written(), as: UTF8.self)) }

  /// One JSON document of `fields` beside `schema_version`, to stdout: what a write command that
  /// has no report type says it did.
  public func document(fields: [String: JSONValue]) {
    var o = fields
    o["schema_version"] = .number(Double(Printer.schemaVersion))
    document(value: .object(o))
  }

  /// One JSON document with `schema_version`, to stdout.
  public func document<T: Encodable>(_ value: T) {
    Stopwatch.lap("report made")
    if let direct = value as? any DirectJSONDocument {
      direct.writeDocument(schemaVersion: Printer.schemaVersion) { piece in
        out(bytes: piece)
        piece.removeAll(keepingCapacity: true)
      }
    } else {
      out(bytes: JSONOutput.generic(value))
    }
    Stopwatch.lap("report written")
  }
}

/// JSON documents of reports: `schema_version` beside the report's fields, keys sorted, one
/// trailing newline.
public enum JSONOutput {
  /// Wraps a report so its fields sit beside `schema_version` at the top level.
  private struct Envelope<T: Encodable>: Encodable {
    let body: T
    enum Key: String, CodingKey { case schemaVersion = "schema_version" }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: Key.self)
      try c.encode(Printer.schemaVersion, forKey: .schemaVersion)
      try body.encode(to: encoder)
    }
  }

  /// Through the generic encoder (what a direct writer is held to).
  public static func generic<T: Encodable>(_ value: T) -> [UInt8] {
    (try? JSONValueEncoder.written(Envelope(body: value))) ?? Array("{}\n".utf8)
  }
}
