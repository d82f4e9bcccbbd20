import KeywardCore

/// What `keyward csp` needs from a page's HTML: meta policies (and whether they sit in <head>),
/// every <script> (external, or inline with its exact text, which is what a hash covers),
/// stylesheets, frames, and the widget's attributes. A tokenizer, not a full HTML parser: it
/// knows comments, raw-text elements (script, style, textarea, title) and quoted attributes.
public struct PageScan: Sendable {
  public struct Element: Sendable {
    public var name: String
    public var attributes: [String: String]
    /// Byte offset of the tag in the page.
    public var offset: Int
    /// For <script>/<style> without src: the text between the tags, exactly.
    public var text: [UInt8]?
    /// Line number (1-based) of the tag.
    public var line: Int

    public func attribute(_ name: String) -> String? { attributes[name] }
  }

  public struct Meta: Sendable {
    public var content: String
    public var reportOnly: Bool
    public var inHead: Bool
    public var offset: Int
    public var line: Int
  }

  public var elements: [Element] = []
  public var metas: [Meta] = []

  public var scripts: [Element] { elements.filter { $0.name == "script" } }

  /// Elements whose content is text, not markup (with scripting on, as in a browser: noscript too).
  static let rawText: Set<String> = [
    "script", "style", "textarea", "title", "xmp", "noscript", "noembed", "noframes", "iframe", "plaintext",
  ]

  public static func scan(_ html: [UInt8]) -> PageScan {
    var page = PageScan()
    var i = 0
    let n = html.count
    var bodySeen = false
    var line = 1
    var lineCountedTo = 0
    func lineAt(_ pos: Int) -> Int {
      while lineCountedTo < pos && lineCountedTo < n {
        if html[lineCountedTo] == 0x0a { line += 1 }
        lineCountedTo += 1
      }
      return line
    }
    while i < n {
      guard html[i] == 0x3c, i + 1 < n else {
        i += 1
        continue
      }
      // <!-- comment -->
      if html[i + 1] == 0x21 {
        if i + 3 < n, html[i + 2] == 0x2d, html[i + 3] == 0x2d {
          // "<!-->" and "<!--->" are complete (empty) comments.
          if i + 4 < n, html[i + 4] == 0x3e {
            i += 5
          } else if i + 5 < n, html[i + 4] == 0x2d, html[i + 5] == 0x3e {
            i += 6
          } else {
            i = Bytes.firstIndex(of: Array("-->".utf8), in: html[min(i + 4, n)...]).map { $0 + 3 } ?? n
          }
        } else {
          i = html[(i + 1)...].firstIndex(of: 0x3e).map { $0 + 1 } ?? n
        }
        continue
      }
      let isEnd = html[i + 1] == 0x2f
      var j = i + (isEnd ? 2 : 1)
      guard j < n, WebURL.isSchemeStart(html[j]) else {
        i += 1
        continue
      }
      let nameStart = j
      while j < n, !isSpace(html[j]), html[j] != 0x3e, html[j] != 0x2f { j += 1 }
      let name = String(decoding: html[nameStart..<j], as: UTF8.self).lowercased()
      if isEnd {
        i = html[j...].firstIndex(of: 0x3e).map { $0 + 1 } ?? n
        if name == "head" { bodySeen = true }
        continue
      }
      let tagStart = i
      var attributes: [String: String] = [:]
      var selfClosing = false
      // Attributes until '>'.
      while j < n, html[j] != 0x3e {
        if isSpace(html[j]) || html[j] == 0x2f {
          if html[j] == 0x2f { selfClosing = true }
          j += 1
          continue
        }
        selfClosing = false
        let aStart = j
        while j < n, !isSpace(html[j]), html[j] != 0x3e, html[j] != 0x3d, !(html[j] == 0x2f && j > aStart) {
          j += 1
        }
        let aName = String(decoding: html[aStart..<j], as: UTF8.self).lowercased()
        while j < n, isSpace(html[j]) { j += 1 }
        var value = ""
        if j < n, html[j] == 0x3d {
          j += 1
          while j < n, isSpace(html[j]) { j += 1 }
          if j < n, html[j] == 0x22 || html[j] == 0x27 {
            let q = html[j]
            let vStart = j + 1
            j = html[vStart...].firstIndex(of: q) ?? n
            value = decodeEntities(html[vStart..<min(j, n)])
            j = min(j + 1, n)
          } else {
            let vStart = j
            while j < n, !isSpace(html[j]), html[j] != 0x3e { j += 1 }
            value = decodeEntities(html[vStart..<j])
          }
        }
        if !aName.isEmpty, attributes[aName] == nil { attributes[aName] = value }
      }
      let tagEnd = min(j + 1, n)
      var element = Element(
        name: name, attributes: attributes, offset: tagStart, text: nil, line: lineAt(tagStart))
      i = tagEnd
      if rawText.contains(name) && !selfClosing {
        let close = findCloseTag(html, name, from: tagEnd) ?? n
        // Browsers turn CRLF and lone CR into LF before parsing, and hash that text.
        if name == "script" || name == "style" { element.text = newlinesNormalised(html[tagEnd..<close]) }
        i = close < n ? (html[close...].firstIndex(of: 0x3e).map { $0 + 1 } ?? n) : n
      }
      if name == "body" { bodySeen = true }
      if name == "meta", let equiv = attributes["http-equiv"]?.lowercased(),
        equiv == "content-security-policy" || equiv == "content-security-policy-report-only"
      {
        page.metas.append(
          Meta(
            content: attributes["content"] ?? "", reportOnly: equiv.hasSuffix("report-only"),
            inHead: !bodySeen,
            offset: tagStart, line: element.line))
      }
      page.elements.append(element)
    }
    return page
  }

  static func newlinesNormalised(_ b: ArraySlice<UInt8>) -> [UInt8] {
    guard b.contains(0x0d) else { return Array(b) }
    var out = [UInt8]()
    out.reserveCapacity(b.count)
    var i = b.startIndex
    while i < b.endIndex {
      if b[i] == 0x0d {
        out.append(0x0a)
        if i + 1 < b.endIndex && b[i + 1] == 0x0a { i += 1 }
      } else {
        out.append(b[i])
      }
      i += 1
    }
    return out
  }

  @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0c || c == 0x0d
  }

  /// The offset of `</name` (any case) at or after `from`.
  static func findCloseTag(_ h: [UInt8], _ name: String, from: Int) -> Int? {
    let lower = Array(name.utf8)
    var i = from
    while i + 1 + lower.count < h.count {
      if h[i] == 0x3c && h[i + 1] == 0x2f {
        var ok = true
        for (k, c) in lower.enumerated() where h[i + 2 + k] | 0x20 != c {
          ok = false
          break
        }
        let after = i + 2 + lower.count
        if ok && (after >= h.count || isSpace(h[after]) || h[after] == 0x3e || h[after] == 0x2f) { return i }
      }
      i += 1
    }
    return nil
  }

  /// Character references in attribute values: the named ones pages use in URLs and policies,
  /// and numeric ones.
  static func decodeEntities(_ bytes: ArraySlice<UInt8>) -> String {
    guard bytes.contains(0x26) else { return String(decoding: bytes, as: UTF8.self) }
    let s = String(decoding: bytes, as: UTF8.self)
    var out = ""
    var rest = Substring(s)
    while let amp = rest.firstIndex(of: "&") {
      out += rest[..<amp]
      let after = rest[rest.index(after: amp)...]
      guard let semi = after.prefix(10).firstIndex(of: ";") else {
        out += "&"
        rest = after
        continue
      }
      let name = after[..<semi]
      var replacement: String? = nil
      switch name {
      case "amp": replacement = "&"
      case "quot": replacement = "\""
      case "apos": replacement = "'"
      case "lt": replacement = "<"
      case "gt": replacement = ">"
      case "nbsp": replacement = "\u{a0}"
      default:
        if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16) {
          replacement = Unicode.Scalar(v).map { String(Character($0)) }
        } else if name.hasPrefix("#"), let v = UInt32(name.dropFirst()) {
          replacement = Unicode.Scalar(v).map { String(Character($0)) }
        }
      }
      if let replacement {
        out += replacement
        rest = after[after.index(after: semi)...]
      } else {
        out += "&"
        rest = after
      }
    }
    return out + rest
  }
}
