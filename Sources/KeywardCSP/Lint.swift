import KeywardCore

/// What a reviewer would say about the policies themselves, apart from the CAPTCHA: the common
/// weaknesses, each with a severity on the scale every finding uses, plus every parse warning.
public struct CSPLintFinding: Sendable {
  public var id: String
  public var severity: Severity
  /// The policy's index, or nil for findings about the set of policies.
  public var policy: Int?
  public var directive: String?
  public var message: String
}

public enum CSPLint {
  public static func lint(_ policies: [Policy]) -> [CSPLintFinding] {
    var out: [CSPLintFinding] = []
    for (i, p) in policies.enumerated() {
      for w in p.warnings {
        out.append(.init(id: "KW719", severity: .note, policy: i, directive: w.directive, message: w.message))
      }
      guard p.source.enforced else { continue }
      let script = p.directive("script-src") ?? p.directive("default-src")
      if let s = script {
        if s.hasStrictDynamic && !s.hasNonceOrHash {
          out.append(
            .init(
              id: "KW718", severity: .error, policy: i, directive: s.name,
              message: "'strict-dynamic' in \(s.name) without a nonce or hash: no script can start"))
        }
        if s.hasUnsafeInline && !s.hasNonceOrHash && !s.hasStrictDynamic {
          out.append(
            .init(
              id: "KW711", severity: .error, policy: i, directive: s.name,
              message:
                "'unsafe-inline' in \(s.name) lets any injected inline script run; use a nonce or hashes"))
        }
        if s.sources.contains(where: { $0.expression == .unsafeEval }) {
          out.append(
            .init(
              id: "KW712", severity: .warning, policy: i, directive: s.name,
              message: "'unsafe-eval' in \(s.name) allows eval() and new Function()"))
        }
      }
      for d in p.directives where Policy.fetchDirectives.contains(d.name) {
        let scriptLike = d.name.hasPrefix("script-src") || d.name == "default-src" || d.name == "object-src"
        for s in d.sources {
          switch s.expression {
          case .star:
            out.append(
              .init(
                id: "KW713", severity: scriptLike ? .error : .note, policy: i, directive: d.name,
                message: "* in \(d.name) allows any http(s) host"))
          case .host(let h) where h.host == "*":
            out.append(
              .init(
                id: "KW713", severity: scriptLike ? .error : .note, policy: i, directive: d.name,
                message: "\(s.text) in \(d.name) allows any host"))
          case .scheme(let scheme) where ["http", "https", "data", "blob", "ws", "wss"].contains(scheme):
            out.append(
              .init(
                id: "KW714", severity: scriptLike ? .error : .note, policy: i, directive: d.name,
                message: "the bare scheme \(s.text) in \(d.name) allows every URL of that scheme"))
          default: break
          }
        }
      }
      // Objects and <base> count as restricted when any enforced policy restricts them.
      let enforced = policies.filter { $0.source.enforced }
      let first = i == policies.firstIndex { $0.source.enforced }
      if first,
        !enforced.contains(where: { $0.directive("object-src") != nil || $0.directive("default-src") != nil })
      {
        out.append(
          .init(
            id: "KW715", severity: .warning, policy: nil, directive: nil,
            message: "no object-src (and no default-src): plugins are unrestricted; add object-src 'none'"))
      }
      if first, script != nil, !enforced.contains(where: { $0.directive("base-uri") != nil }) {
        out.append(
          .init(
            id: "KW716", severity: .note, policy: nil, directive: nil,
            message:
              "no base-uri (it does not fall back to default-src): an injected <base> can redirect relative script URLs; add base-uri 'self' or 'none'"
          ))
      }
    }
    if !policies.isEmpty && !policies.contains(where: { $0.source.enforced }) {
      out.append(
        .init(
          id: "KW717", severity: .warning, policy: nil, directive: nil,
          message: "only report-only policies: nothing is enforced"))
    }
    return out
  }
}
