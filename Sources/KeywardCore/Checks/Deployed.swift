/// Reading what is deployed: an env file in dotenv, shell (`export NAME=…`), docker (`--env-file`,
/// values verbatim) or JSON syntax, or the process environment. Values stay in guarded memory.
public enum DeployedReader {
  public enum Syntax: String, Sendable, CaseIterable {
    case dotenv, shell, docker, json
  }

  /// Reads `path`; `syntax` nil guesses: a JSON object, shell exports, else dotenv.
  public static func read(path: String, syntax: Syntax?) throws(KeywardError) -> CheckOperation.Deployed {
    let raw = try FileSystem.readSecret(path: path, requirePrivate: false)
    var first = 0
    while first < raw.count && SecureText.isASCIIWhitespace(raw[first]) { first += 1 }
    let guessed: Syntax =
      syntax ?? (first < raw.count && raw[first] == 0x7b ? .json : startsWithExport(raw) ? .shell : .dotenv)
    var vars = [String: SecureBytes]()
    switch guessed {
    case .json:
      for (name, value) in try SecureJSONObject.parse(raw, source: path) {
        guard vars[name] == nil else { throw KeywardError(.input, "\(path): a variable is given twice") }
        vars[name] = value
      }
    case .dotenv, .shell:
      vars = try EnvFile.parse(raw, source: path)
    case .docker:
      vars = try docker(raw, source: path)
    }
    if vars.isEmpty {
      throw KeywardError(
        .input, "\(path): no NAME=value lines (is it a dotenv, shell, docker or JSON env file?)")
    }
    return CheckOperation.Deployed(source: path, variables: vars)
  }

  static func startsWithExport(_ raw: SecureBytes) -> Bool {
    let prefix = Array("export ".utf8)
    var i = 0
    while i < raw.count {
      while i < raw.count && (raw[i] == 0x20 || raw[i] == 0x09) { i += 1 }
      if i < raw.count && raw[i] == 0x23 {  // comment line
        while i < raw.count && raw[i] != 0x0a { i += 1 }
        i += 1
        continue
      }
      if i < raw.count && raw[i] == 0x0a {
        i += 1
        continue
      }
      return i + prefix.count <= raw.count && (0..<prefix.count).allSatisfy { raw[i + $0] == prefix[$0] }
    }
    return false
  }

  /// docker's `--env-file`: a value is everything after the first `=`, verbatim.
  static func docker(_ raw: SecureBytes, source: String) throws(KeywardError) -> [String: SecureBytes] {
    var out = [String: SecureBytes]()
    var start = 0
    var line = 0
    while start < raw.count {
      var end = start
      while end < raw.count && raw[end] != 0x0a { end += 1 }
      line += 1
      var lo = start
      var hi = end
      if hi > lo && raw[hi - 1] == 0x0d { hi -= 1 }
      while lo < hi && SecureText.isASCIIWhitespace(raw[lo]) { lo += 1 }
      start = end + 1
      if lo == hi || raw[lo] == 0x23 { continue }
      var eq = lo
      while eq < hi && raw[eq] != 0x3d { eq += 1 }
      guard eq < hi else { continue }  // NAME alone: docker takes it from its own environment
      let name = raw.withUnsafeBytes(in: lo..<eq) { String(decoding: $0, as: UTF8.self) }
      guard !name.contains(where: { $0 == " " || $0 == "\t" }) else {
        throw KeywardError(.input, "\(source):\(line): a variable name contains whitespace")
      }
      guard out[name] == nil else {
        throw KeywardError(.input, "\(source):\(line): the variable on this line is defined again")
      }
      out[name] = raw.slice((eq + 1)..<hi)
    }
    return out
  }

  /// The two export variables from the process environment.
  public static func fromEnvironment(_ names: ExportNames, env: [String: String]) -> CheckOperation.Deployed {
    var vars = [String: SecureBytes]()
    for n in [names.appKey, names.appSecret] {
      if var v = env[n] { vars[n] = v.withUTF8 { SecureBytes(copying: UnsafeRawBufferPointer($0)) } }
    }
    return CheckOperation.Deployed(source: "the environment", variables: vars)
  }
}

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
