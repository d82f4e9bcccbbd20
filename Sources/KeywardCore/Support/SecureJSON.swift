/// JSON string writing for values held in guarded memory, and masking for display.
public enum SecureJSON {
  /// Appends `value` as a JSON string literal (RFC 8259 escapes) to `out`.
  public static func appendQuoted(_ value: SecureBytes, to out: SecureBytes) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(0x22)
    var i = 0
    while i < value.count {
      let c = value[i]
      defer { i += 1 }
      // C1 controls and bidirectional overrides, as \u escapes: the same value to a JSON reader,
      // nothing a terminal acts on (an 8-bit CSI, a right-to-left override).
      if let steering = SecureText.steeringScalar(value, at: i) {
        for b in [0x5c, 0x75] as [UInt8] { out.append(b) }
        for shift in stride(from: 12, through: 0, by: -4) {
          out.append(hex[Int((steering.scalar >> shift) & 0xf)])
        }
        i += steering.length - 1
        continue
      }
      switch c {
      case 0x22: out.append(0x5c); out.append(0x22)
      case 0x5c: out.append(0x5c); out.append(0x5c)
      case 0x0a: out.append(0x5c); out.append(0x6e)
      case 0x0d: out.append(0x5c); out.append(0x72)
      case 0x09: out.append(0x5c); out.append(0x74)
      case 0..<0x20, 0x7f:
        for b in [0x5c, 0x75, 0x30, 0x30] as [UInt8] { out.append(b) }
        out.append(hex[Int(c >> 4)])
        out.append(hex[Int(c & 0xf)])
      default: out.append(c)
      }
    }
    out.append(0x22)
  }

  /// A non-secret string as a JSON literal (no guarded memory needed).
  public static func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20 || u.value == 0x7f:
        let hex = String(u.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(u)
      }
    }
    return out + "\""
  }
}

/// Masked display of values: the App Key (public in web pages anyway) keeps its first four and
/// last two characters when it is long enough; the App Secret shows only its length.
public enum Mask {
  /// What text output shows of a value that is not revealed: its length, nothing of the value.
  /// (An App Key is public, but a pair entered the wrong way round puts the App Secret in the App
  /// Key's field, and nothing here can tell: so neither field shows any of its characters.)
  public static func mask(_ value: SecureBytes, _ field: Field) -> String {
    "•••••••• (\(value.count) \(field == .appKey ? "chars" : "bytes"))"
  }
}
