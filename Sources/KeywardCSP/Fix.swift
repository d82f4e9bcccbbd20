import KeywardCore

/// The minimal fix (CSP-NOTES.md): for each enforced policy that blocks a required request, the
/// smallest edit of that policy, re-checked by the same engine.

/// One request to fix, with the source a fix should add for it when the provider documents a
/// narrower one than the URL's origin (reCAPTCHA's `https://www.google.com/recaptcha/`).
public struct FixTarget: Sendable {
  public var request: CSPRequest
  public var source: String?

  public init(_ request: CSPRequest, source: String? = nil) {
    self.request = request
    self.source = source
  }
}

public struct CSPFix: Sendable {
  public var index: Int
  public var source: PolicySource
  public var before: String
  public var after: String
  /// One line per edit ("script-src: add https://cdn.example").
  public var changes: [String]
  /// `-`/`+` lines, one per changed directive.
  public var diff: [String]
  /// Changes to the page rather than the policy (a nonce on a tag).
  public var pageChanges: [String]
  /// The engine allows every target under the fixed policy (with the page changes applied).
  public var verified: Bool
  /// Targets this policy still blocks after the fix (when one cannot be fixed by policy alone).
  public var unresolved: [String]
}

public enum CSPFixer {
  /// A per-response nonce placeholder, for 'strict-dynamic' policies that have no nonce yet.
  public static let noncePlaceholder = "REPLACE-WITH-A-FRESH-NONCE-PER-RESPONSE"

  struct Working {
    var name: String
    var tokens: [String]
    var text: String
    var changed = false
    var added = false
  }

  public static func fix(policies: [Policy], targets: [FixTarget]) -> [CSPFix] {
    var fixes: [CSPFix] = []
    for (index, policy) in policies.enumerated() where policy.source.enforced {
      var targets = targets
      let blocking = targets.indices.filter {
        !CSPEngine.evaluate(targets[$0].request, policy, index: index).allowed
      }
      if blocking.isEmpty { continue }
      var working = policy.directives.map {
        Working(name: $0.name, tokens: $0.sources.map(\.text), text: $0.text)
      }
      var changes: [String] = []
      var pageChanges: [String] = []
      var current = policy
      for t in blocking {
        let v = CSPEngine.evaluate(targets[t].request, current, index: index)
        guard !v.allowed, let governing = v.directive,
          let g = current.directive(governing)
        else { continue }
        let request = targets[t].request
        let what = describe(request)
        var add: String? = nil
        if request.kind.isInline {
          if let body = request.body {
            add = CSPHash.source(.sha256, body)
            if request.kind == .styleAttribute
              && !g.sources.contains(where: { $0.expression == .unsafeHashes })
            {
              add = "'unsafe-hashes' " + add!
            }
          } else if let nonce = firstNonce(g) {
            targets[t].request.nonce = nonce
            pageChanges.append("add nonce=\"\(nonce)\" to \(what)")
          }
        } else if request.kind.isScriptLike && g.hasStrictDynamic {
          // Host sources are ignored under 'strict-dynamic': the tag needs the nonce.
          if let nonce = firstNonce(g) {
            pageChanges.append("add nonce=\"\(nonce)\" to \(what) ('strict-dynamic' ignores host sources)")
            targets[t].request.nonce = nonce
          } else {
            add = "'nonce-\(noncePlaceholder)'"
            pageChanges.append(
              "generate a fresh nonce per response, put it in \(governing) in place of \(noncePlaceholder), and on \(what)"
            )
            targets[t].request.nonce = noncePlaceholder
          }
        } else if let url = request.url {
          add = targets[t].source ?? v.urlSource(url)
        }
        guard let add else { continue }
        let target = request.kind.fixDirective
        let chain = request.kind.fallbackChain
        let gi = chain.firstIndex(of: governing) ?? 0
        let ti = chain.firstIndex(of: target) ?? 0
        if gi <= ti {
          let w = working.firstIndex { $0.name == governing }!
          if g.isNone { working[w].tokens = [] }
          working[w].tokens.append(contentsOf: add.split(separator: " ").map(String.init))
          working[w].changed = true
          changes.append("\(governing): add \(add) for \(what)")
        } else {
          let inherited = g.isNone ? [] : working.first { $0.name == governing }!.tokens
          var w = Working(name: target, tokens: inherited, text: "")
          w.tokens.append(contentsOf: add.split(separator: " ").map(String.init))
          w.changed = true
          w.added = true
          working.append(w)
          changes.append(
            "add \(target) (a copy of \(governing), which it inherited, plus \(add)) for \(what)")
        }
        current = Policy.parse(Substring(serialise(working)), source: policy.source)
      }
      let after = serialise(working)
      let fixed = Policy.parse(Substring(after), source: policy.source)
      let unresolved = targets.filter { !CSPEngine.evaluate($0.request, fixed, index: index).allowed }
      var diff: [String] = []
      for w in working where w.changed {
        if !w.added { diff.append("- " + w.text) }
        diff.append("+ " + line(w))
      }
      fixes.append(
        CSPFix(
          index: index, source: policy.source, before: policy.text, after: after, changes: changes,
          diff: diff, pageChanges: pageChanges, verified: unresolved.isEmpty,
          unresolved: unresolved.map { describe($0.request) }))
    }
    return fixes
  }

  static func firstNonce(_ d: Directive) -> String? {
    for s in d.sources { if case .nonce(let n) = s.expression { return n } }
    return nil
  }

  static func line(_ w: Working) -> String {
    w.changed ? ([w.name] + w.tokens).joined(separator: " ") : w.text
  }

  static func serialise(_ working: [Working]) -> String {
    working.map(line).joined(separator: "; ")
  }

  static func describe(_ r: CSPRequest) -> String {
    switch r.kind {
    case .inlineScript: return "the inline script"
    case .inlineStyle: return "the inline style"
    case .styleAttribute: return "the style attribute"
    default: return "\(r.kind.rawValue) \(r.url?.description ?? "?")"
    }
  }
}

extension PolicyVerdict {
  /// The narrowest source that covers the URL's origin: `scheme://host[:port]`.
  func urlSource(_ url: WebURL) -> String {
    url.origin ?? (url.scheme + ":")
  }
}
