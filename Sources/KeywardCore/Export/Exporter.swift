/// The deploy-target formats `keyward export` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
  /// The dialect python-dotenv, Node's dotenv and docker compose all read the same way.
  case dotenv
  /// `export NAME='…'` lines, safe to `source` or `eval` in bash, dash, zsh.
  case shell
  /// One JSON object, names to values.
  case json
  /// `docker run --env-file`: `NAME=value`, no quote processing at all.
  case docker
  /// The `$GITHUB_ENV` / `$GITHUB_OUTPUT` file syntax, with heredocs for multi-line values.
  case github
  /// A Kubernetes `v1` `Secret` manifest with base64 `data`.
  case k8s
  /// systemd's `EnvironmentFile=` syntax.
  case systemd

  /// Whether a `#` comment line may start the output (used to mark files keyward wrote).
  public var allowsComments: Bool { self != .json && self != .github }
}

/// One variable to export. The value stays in guarded memory.
public struct ExportVariable {
  public let name: String
  public let value: SecureBytes

  public init(name: String, value: SecureBytes) {
    self.name = name
    self.value = value
  }
}

/// Settings that only some formats use.
public struct ExportOptions: Sendable {
  /// k8s: metadata.name and metadata.namespace (DNS-1123 labels).
  public var secretName: String
  public var namespace: String?
  /// A first comment line (formats that allow comments), e.g. who wrote the file.
  public var header: String?

  public init(secretName: String = "captcha-credentials", namespace: String? = nil, header: String? = nil) {
    self.secretName = secretName
    self.namespace = namespace
    self.header = header
  }
}

/// Renders variables in each format, exactly: a consumer of the format reads back the bytes that
/// are stored, or the value is refused with an error that says which character and why — never
/// the value itself.
public enum Exporter {
  /// `[A-Z_][A-Z0-9_]*`: the names every target accepts.
  public static func validateName(_ name: String) throws(KeywardError) {
    let b = Array(name.utf8)
    let ok =
      !b.isEmpty && b.count <= 256 && (isUpper(b[0]) || b[0] == 0x5f)
      && b.allSatisfy { isUpper($0) || $0 == 0x5f || ($0 >= 0x30 && $0 <= 0x39) }
    guard ok else {
      throw KeywardError(
        .input,
        "\"\(name.prefix(60))\" is not a valid variable name (upper-case letters, digits and _, not starting with a digit)"
      )
    }
  }

  static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5a }

  public static func render(_ vars: [ExportVariable], format: ExportFormat, options: ExportOptions = .init())
    throws(KeywardError) -> SecureBytes
  {
    var seen = [String]()
    for v in vars {
      try validateName(v.name)
      guard !seen.contains(v.name) else { throw KeywardError(.input, "variable \(v.name) is exported twice") }
      seen.append(v.name)
    }
    // Values are UTF-8 when stored through `set`; anyone with the public key can seal other bytes,
    // and most targets would mangle them (k8s carries bytes in base64).
    if format != .k8s {
      for v in vars where !SecureText.isUTF8(v.value) {
        throw KeywardError(
          .input, "cannot export \(v.name) as \(format.rawValue): the value is not valid UTF-8",
          advice: .exportBytes)
      }
    }
    let out = SecureBytes(capacity: 1024)
    if let header = options.header, format.allowsComments {
      out.append(literal: "# \(header.filter { $0 != "\n" && $0 != "\r" })\n")
    }
    switch format {
    case .dotenv: for v in vars { try dotenv(v, out) }
    case .shell: for v in vars { try shell(v, out) }
    case .json: json(vars, out)
    case .docker: for v in vars { try docker(v, out) }
    case .github: for v in vars { try github(v, out) }
    case .k8s: try k8s(vars, options, out)
    case .systemd: for v in vars { try systemd(v, out) }
    }
    return out
  }

  // MARK: helpers

  static func contains(_ v: SecureBytes, _ byte: UInt8) -> Bool { v.withUnsafeBytes { $0.contains(byte) } }

  static func containsSequence(_ v: SecureBytes, _ a: UInt8, _ b: UInt8) -> Bool {
    v.withUnsafeBytes { buf in
      guard buf.count >= 2 else { return false }
      for i in 0..<(buf.count - 1) where buf[i] == a && buf[i + 1] == b { return true }
      return false
    }
  }

  static func refuse(
    _ v: ExportVariable, _ format: ExportFormat, _ why: String, _ instead: String = "json or shell"
  )
    -> KeywardError
  {
    KeywardError(
      .input, "cannot export \(v.name) as \(format.rawValue): the value \(why)",
      advice: .exportFormat(instead))
  }

  static func refuseNUL(_ v: ExportVariable, _ format: ExportFormat) throws(KeywardError) {
    if contains(v.value, 0) {
      throw refuse(v, format, "contains a NUL byte, which no environment variable can hold", "json")
    }
  }

  // MARK: formats

  /// dotenv: single quotes, which all three readers take literally — except that python-dotenv
  /// still expands `${…}` and reads `\\` and `\'` as escapes, and Node's dotenv rewrites CR. A value
  /// with a single quote goes in double quotes when it has none of `\ " $` or a newline (the
  /// characters the readers treat differently there).
  static func dotenv(_ v: ExportVariable, _ out: SecureBytes) throws(KeywardError) {
    try refuseNUL(v, .dotenv)
    let value = v.value
    if contains(value, 0x0d) {
      throw refuse(v, .dotenv, "contains a carriage return, which Node's dotenv rewrites")
    }
    if containsSequence(value, 0x24, 0x7b) {
      throw refuse(v, .dotenv, "contains ${, which python-dotenv expands even inside single quotes")
    }
    out.append(literal: "\(v.name)=")
    if !contains(value, 0x27) {
      if containsSequence(value, 0x5c, 0x5c) || (value.count > 0 && value[value.count - 1] == 0x5c) {
        throw refuse(
          v, .dotenv,
          "contains \\\\ or ends with \\, which python-dotenv reads as an escape and Node's dotenv does not")
      }
      out.append(0x27)
      out.append(value)
      out.append(0x27)
    } else {
      for c in [0x5c, 0x22, 0x24, 0x0a] as [UInt8] where contains(value, c) {
        throw refuse(
          v, .dotenv,
          "contains a single quote together with \(c == 0x0a ? "a newline" : "\(Character(UnicodeScalar(c)))"), "
            + "which the dotenv readers do not read alike")
      }
      out.append(0x22)
      out.append(value)
      out.append(0x22)
    }
    out.append(0x0a)
  }

  /// shell: `export NAME='…'` with each `'` written as `'\''`. Exact for every byte but NUL.
  static func shell(_ v: ExportVariable, _ out: SecureBytes) throws(KeywardError) {
    try refuseNUL(v, .shell)
    out.append(literal: "export \(v.name)='")
    for i in 0..<v.value.count {
      let c = v.value[i]
      if c == 0x27 {
        out.append(literal: "'\\''")
      } else {
        out.append(c)
      }
    }
    out.append(literal: "'\n")
  }

  /// json: one object, keys in the order given.
  static func json(_ vars: [ExportVariable], _ out: SecureBytes) {
    out.append(literal: "{\n")
    for (n, v) in vars.enumerated() {
      out.append(literal: "  \(SecureJSON.quoted(v.name)) : ")
      SecureJSON.appendQuoted(v.value, to: out)
      out.append(literal: n == vars.count - 1 ? "\n" : ",\n")
    }
    out.append(literal: "}\n")
  }

  /// docker `--env-file`: the value is taken verbatim to the end of the line; only a newline cannot
  /// be carried (and a trailing CR would be eaten as a line end).
  static func docker(_ v: ExportVariable, _ out: SecureBytes) throws(KeywardError) {
    try refuseNUL(v, .docker)
    if contains(v.value, 0x0a) || contains(v.value, 0x0d) {
      throw refuse(
        v, .docker, "contains a line break, which docker's --env-file cannot carry (it has no quoting)")
    }
    out.append(literal: "\(v.name)=")
    out.append(v.value)
    out.append(0x0a)
  }

  /// github: `NAME=value`, or for multi-line values `NAME<<DELIM` … `DELIM` with a random delimiter
  /// that does not occur in the value. The runner strips a CR before each line end, so CR is refused.
  static func github(_ v: ExportVariable, _ out: SecureBytes) throws(KeywardError) {
    try refuseNUL(v, .github)
    if contains(v.value, 0x0d) {
      throw refuse(v, .github, "contains a carriage return, which the Actions runner strips at line ends")
    }
    guard contains(v.value, 0x0a) else {
      out.append(literal: "\(v.name)=")
      out.append(v.value)
      out.append(0x0a)
      return
    }
    var delimiter: String
    repeat {
      delimiter = "ghadelimiter_" + Sodium.hex(Sodium.randomBytes(16))
    } while occurs(delimiter, in: v.value)
    out.append(literal: "\(v.name)<<\(delimiter)\n")
    out.append(v.value)
    out.append(literal: "\n\(delimiter)\n")
  }

  static func occurs(_ s: String, in v: SecureBytes) -> Bool {
    let needle = Array(s.utf8)
    return v.withUnsafeBytes { buf in
      guard buf.count >= needle.count else { return false }
      for i in 0...(buf.count - needle.count) where buf[i] == needle[0] {
        if (0..<needle.count).allSatisfy({ buf[i + $0] == needle[$0] }) { return true }
      }
      return false
    }
  }

  /// k8s: a `v1` `Secret`; values as base64 under `data`, so every byte is exact.
  static func k8s(_ vars: [ExportVariable], _ o: ExportOptions, _ out: SecureBytes) throws(KeywardError) {
    for (what, name) in [("name", o.secretName), ("namespace", o.namespace ?? "default")]
    where !isDNSLabel(name) {
      throw KeywardError(
        .input,
        "\"\(name.prefix(80))\" is not a valid Kubernetes \(what) (lower-case letters, digits and '-', at most 63)"
      )
    }
    // Every scalar is double-quoted: YAML 1.1 readers (kubectl's among them) read a bare ON, NO,
    // Y or null as a boolean or null.
    out.append(literal: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"\(o.secretName)\"\n")
    if let ns = o.namespace { out.append(literal: "  namespace: \"\(ns)\"\n") }
    out.append(literal: "type: Opaque\ndata:\n")
    for v in vars {
      out.append(literal: "  \"\(v.name)\": \"")
      out.append(SecureBase64.encode(v.value))
      out.append(literal: "\"\n")
    }
  }

  static func isDNSLabel(_ s: String) -> Bool {
    let b = Array(s.utf8)
    func ok(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
    return (1...63).contains(b.count) && ok(b[0]) && ok(b[b.count - 1])
      && b.allSatisfy { ok($0) || $0 == 0x2d }
  }

  /// systemd `EnvironmentFile=`: double quotes, with `\`, `"`, `$` and `` ` `` escaped. Line
  /// breaks would be line continuations there, so they are refused.
  static func systemd(_ v: ExportVariable, _ out: SecureBytes) throws(KeywardError) {
    try refuseNUL(v, .systemd)
    if contains(v.value, 0x0a) || contains(v.value, 0x0d) {
      throw refuse(v, .systemd, "contains a line break, which EnvironmentFile= reads as a continuation")
    }
    out.append(literal: "\(v.name)=\"")
    for i in 0..<v.value.count {
      let c = v.value[i]
      if c == 0x5c || c == 0x22 || c == 0x24 || c == 0x60 { out.append(0x5c) }
      out.append(c)
    }
    out.append(literal: "\"\n")
  }
}
