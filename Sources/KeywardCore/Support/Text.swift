/// Small text and path helpers (kept here so the core needs only FoundationEssentials).
public enum Text {
  /// `s` padded with spaces to `width` characters (never truncated).
  public static func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
  }

  /// `s` without leading and trailing spaces and tabs.
  public static func trimBlanks(_ s: Substring) -> String {
    var t = s
    while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
    while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
    return String(t)
  }
}

/// POSIX path pieces, without NSString.
public enum Path {
  /// The folder part of a path: "a/b/c" → "a/b", "c" → ".", "/c" → "/".
  public static func directory(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
  }

  /// The last component: "a/b/c" → "c".
  public static func name(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return String(p) }
    return String(p[p.index(after: slash)...])
  }
}
