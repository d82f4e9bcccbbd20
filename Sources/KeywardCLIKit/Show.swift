import KeywardCore

/// Everything `show` needs, as a plain value: built by ArgumentParser or by the fast path.
public struct ShowRequest: Equatable, Sendable {
  public var settings: CommonSettings
  public var keyFile: String?
  public var passphraseFile: String?
  public var environment: String
  public var set: String?
  public var reveal: Bool

  public init(
    settings: CommonSettings, keyFile: String?, passphraseFile: String?, environment: String, set: String?,
    reveal: Bool
  ) {
    self.settings = settings
    self.keyFile = keyFile
    self.passphraseFile = passphraseFile
    self.environment = environment
    self.set = set
    self.reveal = reveal
  }

  public func run() throws(KeywardError) {
    let reading = try? DirectoryLock(settings.workspacePath, shared: true)  // as `export` holds it
    let workspace = try settings.openWorkspace(focus: environment)
    let opened = try OpenOperation.run(
      workspace: workspace, environment: environment, selector: SetSelector(set),
      keys: keySource(keyFile: keyFile, passphraseFile: passphraseFile), deploys: false)
    reading?.unlock()
    let p = Printer(settings)
    let out =
      p.json
      ? ShowRenderer.json(opened, reveal: reveal)
      : p.quiet && reveal
        ? ShowRenderer.values(opened, forTerminal: Terminal.isTTY(1))
        : ShowRenderer.text(
          opened, reveal: reveal, forTerminal: Terminal.isTTY(1), style: { p.directStyle($0, $1) })
    try out.write(to: 1)
  }
}

/// Renders a decrypted set straight into guarded memory, so revealed values never become strings.
enum ShowRenderer {
  /// Keys in sorted order, like every other JSON document keyward writes. The values are null
  /// unless revealed; their lengths are always there (nothing else of either: see `Mask`).
  static func json(_ o: OpenedSet, reveal: Bool) -> SecureBytes {
    let out = SecureBytes(capacity: 1024)
    out.append(literal: "{\n")
    for field in Field.allCases {
      let value = o.value(field)
      out.append(literal: "  \"\(field.rawValue)\" : ")
      if reveal { SecureJSON.appendQuoted(value, to: out) } else { out.append(literal: "null") }
      out.append(literal: ",\n  \"\(field.rawValue)_length\" : \(value.count),\n")
    }
    out.append(literal: "  \"environment\" : \(SecureJSON.quoted(o.environment)),\n")
    out.append(literal: "  \"key_source\" : \(SecureJSON.quoted(o.keyOrigin)),\n")
    out.append(literal: "  \"revealed\" : \(reveal),\n")
    out.append(literal: "  \"schema_version\" : \(Printer.schemaVersion),\n")
    out.append(literal: "  \"set\" : {\n")
    out.append(literal: "    \"created\" : \"\(o.set.created.iso)\",\n")
    out.append(literal: "    \"fingerprints\" : {\n")
    out.append(literal: "      \"app_key\" : \"\(o.set.fingerprints.appKey)\",\n")
    out.append(literal: "      \"app_secret\" : \"\(o.set.fingerprints.appSecret)\"\n    },\n")
    out.append(literal: "    \"set_id\" : \"\(o.set.id)\",\n")
    out.append(literal: "    \"state\" : \"\(o.set.state.rawValue)\"\n  }\n")
    out.append(literal: "}\n")
    return out
  }

  /// `--reveal -q`: the values alone, App Key then App Secret, one per line (what was asked for,
  /// and nothing else, for `read -r key; read -r secret`).
  static func values(_ o: OpenedSet, forTerminal: Bool) -> SecureBytes {
    let out = SecureBytes(capacity: 256)
    for field in Field.allCases {
      if forTerminal {
        SecureText.appendForTerminal(o.value(field), to: out)
      } else {
        out.append(o.value(field))
      }
      out.append(0x0a)
    }
    return out
  }

  /// `forTerminal`: control characters in the values are shown escaped (the values are exact only
  /// when piped, which is how scripts read them).
  static func text(
    _ o: OpenedSet, reveal: Bool, forTerminal: Bool = false, style: (String, Printer.Style) -> String
  ) -> SecureBytes {
    let out = SecureBytes(capacity: 512)
    out.append(
      literal:
        "\(style(o.environment, .bold)) · set \(o.set.id) · \(o.set.state.rawValue) · created \(o.set.created.iso)\n"
    )
    for field in Field.allCases {
      out.append(literal: "  \(Text.pad(field.label, 11)) ")
      if reveal && forTerminal {
        SecureText.appendForTerminal(o.value(field), to: out)
      } else if reveal {
        out.append(o.value(field))
      } else {
        out.append(literal: Mask.mask(o.value(field), field))
      }
      out.append(literal: style("   fingerprint \(o.set.fingerprints[field])", .dim) + "\n")
    }
    if !reveal { out.append(literal: style("  (masked; --reveal shows the values)\n", .dim)) }
    out.append(literal: style("  private key from \(o.keyOrigin)\n", .dim))
    return out
  }
}
