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
