/// SARIF 2.1.0 for code-scanning tools.
public enum SARIF {
  /// A path as a URI reference (RFC 3986): every byte but the unreserved ones and `/` as `%XX`, so
  /// a name holding a space, `#`, `?` or `%` stays one path.
  static func uri(_ path: String) -> String {
    var out = ""
    for b in path.utf8 {
      switch b {
      case 0x41...0x5a, 0x61...0x7a, 0x30...0x39, 0x2d, 0x2e, 0x5f, 0x7e, 0x2f:
        out.unicodeScalars.append(UnicodeScalar(b))
      default: out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return out
  }

  public static func document(_ findings: [Finding], workspace: Workspace, version: String) -> JSONValue {
    let rules = FindingID.allCases.map { rule -> JSONValue in
      .object([
        "id": .string(rule.rawValue), "name": .string(rule.rawValue),
        "shortDescription": .object(["text": .string(rule.title)]),
        "fullDescription": .object(["text": .string(rule.explanation)]),
        "defaultConfiguration": .object(["level": .string(rule.defaultSeverity.rawValue)]),
      ])
    }
    let results = findings.map { f -> JSONValue in
      var result: [String: JSONValue] = [
        "ruleId": .string(f.id), "level": .string(f.severity.rawValue),
        "message": .object(["text": .string(f.message)]),
      ]
      if let file = f.file {
        var location: [String: JSONValue] = ["artifactLocation": .object(["uri": .string(uri(file))])]
        if let line = f.line, line > 0 {
          var region: [String: JSONValue] = ["startLine": .number(Double(line))]
          if let column = f.column, column > 0 { region["startColumn"] = .number(Double(column)) }
          location["region"] = .object(region)
        }
        result["locations"] = .array([.object(["physicalLocation": .object(location)])])
      }
      var props: [String: JSONValue] = [:]
      if let e = f.environment { props["environment"] = .string(e) }
      if let s = f.set { props["set"] = .string(s) }
      if let r = f.remedy { props["remedy"] = .string(r) }
      if !props.isEmpty { result["properties"] = .object(props) }
      return .object(result)
    }
    return .object([
      "$schema": .string("https://json.schemastore.org/sarif-2.1.0.json"), "version": .string("2.1.0"),
      "runs": .array([
        .object([
          "tool": .object([
            "driver": .object([
              "name": .string("keyward"), "version": .string(version), "rules": .array(rules),
            ])
          ]),
          "results": .array(results),
        ])
      ]),
    ])
  }
}

extension String {
  fileprivate func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
