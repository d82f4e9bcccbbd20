/// `scan`'s report as text, one JSON document, or SARIF 2.1.0. Never a value: names, places,
/// encodings and commits only.
extension ScanOperation.Report {
  /// The copies at or above `failOn`.
  public func failing(_ failOn: Severity) -> Int { copies.filter { $0.severity >= failOn }.count }

  public var summary: String {
    "\(files) file(s), \(Text.bytes(bytes)) scanned for \(values) stored value(s)"
      + (root.map { " in \(Text.printable($0, keepNewlines: false))" } ?? "")
      + (binary > 0 ? ", \(binary) binary skipped" : "")
      + (skipped > 0 ? ", \(skipped) link(s) or unreadable skipped" : "")
  }

  public func json(failOn: Severity, schemaVersion: Int) -> JSONValue {
    let findings = copies.map { c -> JSONValue in
      var o: [String: JSONValue] = [
        "finding_id": .string(c.findingID.rawValue), "severity": .string(c.severity.rawValue),
        "file": .string(c.path), "line": .number(Double(c.line)), "column": .number(Double(c.column)),
        "environment": .string(c.target.environment), "set_id": .string(c.target.set),
        "field": .string(c.target.field), "state": .string(c.target.state), "live": .bool(c.target.live),
        "encoding": .string(c.encoding), "message": .string(c.message), "remedy": .string(c.remedy),
      ]
      if let b = c.blob {
        o["blob_id"] = .string(b)
        o["introduced"] = .array(c.introduced.map { .string($0) })
        o["removed"] = .array(c.removed.map { .string($0) })
      }
      return .object(o)
    }
    var scanned: [String: JSONValue] = [
      "mode": .string(mode.name), "file_count": .number(Double(files)),
      "byte_count": .number(Double(bytes)), "binary_skipped_count": .number(Double(binary)),
      "other_skipped_count": .number(Double(skipped)), "unreadable": .array(unreadable.map { .string($0) }),
      "value_count": .number(Double(values)),
    ]
    if let root { scanned["root"] = .string(root) }
    return .object([
      "schema_version": .number(Double(schemaVersion)), "scanned": .object(scanned),
      "findings": .array(findings),
      "fail_on": .string(failOn.rawValue), "failing_count": .number(Double(failing(failOn))),
    ])
  }

  /// As check's findings, for SARIF (file, line and column as the region).
  public var findings: [Finding] {
    copies.map { c in
      var evidence = ["field": c.target.field, "state": c.target.state, "encoding": c.encoding]
      if let b = c.blob {
        evidence["blob"] = b
        evidence["introduced"] = c.introduced.joined(separator: " ")
        evidence["removed"] = c.removed.joined(separator: " ")
      }
      return Finding(
        id: c.findingID.rawValue, severity: c.severity, environment: c.target.environment, set: c.target.set,
        message: c.message, evidence: evidence, remedy: c.remedy, file: c.path, line: c.line, column: c.column
      )
    }
  }
}
