import KeywardCore

/// JSON values of `keyward csp` reports (documented in the README).
extension CSPPageReport {
  /// The complete new header value: every header policy, the fixed ones replaced. Meta policies
  /// are fixed separately (their fix is listed with `"source": "meta"`).
  public var fixedHeader: String? {
    let fixedIndexes = Set(fixes.map(\.index))
    guard fixes.contains(where: { $0.source == .header && $0.after != $0.before }) else { return nil }
    return policies.enumerated().filter { $0.element.source == .header }.map { i, p in
      fixedIndexes.contains(i) ? fixes.first { $0.index == i }!.after : p.text
    }.joined(separator: ", ")
  }

  public func json(hops: [PageFetch.Hop] = [], provider: Provider) -> JSONValue {
    func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
    var o: [String: JSONValue] = [
      "page": .string(page.description),
      "provider": .string(provider.rawValue),
      "verdict": .string(failed ? "blocked" : "allowed"),
      "policies": .array(
        policies.enumerated().map { i, p in
          .object([
            "index": .number(Double(i)), "source": .string(p.source.rawValue), "text": .string(p.text),
            "warnings": .array(
              p.warnings.map { .object(["code": .string($0.code.rawValue), "message": .string($0.message)]) }),
          ])
        }),
      "checks": .array(checks.map { $0.json() }),
      "findings": .array(findings.map { $0.json() }),
      "fixes": .array(fixes.map { $0.json() }),
      "lint": .array(
        lint.map { l in
          .object([
            "finding_id": .string(l.id), "severity": .string(l.severity.rawValue),
            "policy": l.policy.map { .number(Double($0)) } ?? .null, "directive": s(l.directive),
            "message": .string(l.message),
          ])
        }),
      "page_app_key_fingerprints": .array(pageKeys.map(JSONValue.string)),
      "fixed_header": s(fixedHeader),
    ]
    if !hops.isEmpty {
      o["redirects"] = .array(
        hops.map {
          .object(["url": .string($0.url), "status": .number(Double($0.status)), "location": s($0.location)])
        })
    }
    return .object(o)
  }
}

extension CSPCheckResult {
  func json() -> JSONValue {
    var o: [String: JSONValue] = [
      "requirement_id": .string(requirement.id), "kind": .string(request.kind.rawValue),
      "required": .bool(requirement.required), "basis": .string(requirement.basis),
      "why": .string(requirement.why),
      "verdict": .string(decision.allowed ? "allowed" : "blocked"), "reported": .bool(decision.reported),
      "policies": .array(decision.verdicts.map { $0.json() }),
    ]
    if let u = decision.url { o["url"] = .string(u.description) }
    if let line { o["line"] = .number(Double(line)) }
    if !request.nonce.isEmpty { o["nonce"] = .string(request.nonce) }
    if !decision.inlineHashes.isEmpty { o["hashes"] = .array(decision.inlineHashes.map(JSONValue.string)) }
    return .object(o)
  }
}

extension PolicyVerdict {
  func json() -> JSONValue {
    var o: [String: JSONValue] = [
      "index": .number(Double(index)), "source": .string(source.rawValue),
      "verdict": .string(allowed ? "allowed" : "blocked"), "rule": .string(rule.rawValue),
      "reason": .string(reason),
    ]
    if let directive { o["directive"] = .string(directive) }
    if let matched { o["matched"] = .string(matched) }
    if !misses.isEmpty {
      o["misses"] = .array(
        misses.map { .object(["expression": .string($0.expression), "part": .string($0.part)]) })
    }
    return .object(o)
  }
}

extension CSPFix {
  func json() -> JSONValue {
    .object([
      "index": .number(Double(index)), "source": .string(source.rawValue), "before": .string(before),
      "after": .string(after), "changes": .array(changes.map(JSONValue.string)),
      "diff": .array(diff.map(JSONValue.string)), "page_changes": .array(pageChanges.map(JSONValue.string)),
      "verified": .bool(verified), "unresolved": .array(unresolved.map(JSONValue.string)),
    ])
  }
}

extension Finding {
  public func json() -> JSONValue {
    var o: [String: JSONValue] = [
      "finding_id": .string(id), "severity": .string(severity.rawValue), "message": .string(message),
      "evidence": .object(evidence.mapValues(JSONValue.string)),
    ]
    if let environment { o["environment"] = .string(environment) }
    if let remedy { o["remedy"] = .string(remedy) }
    if let file { o["file"] = .string(file) }
    return .object(o)
  }
}
