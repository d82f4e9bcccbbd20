import Foundation
import Testing

@testable import KeywardCore

/// `keyward check`'s rule groups as units: each is a function of a `CheckContext`, so each is
/// tested here on a workspace made through the core API, without spawning the binary.
@Suite("check: the rule groups, one at a time")
struct CheckRulesTests {
  func context(_ w: ScratchWorkspace, now: Timestamp = Timestamp.now(), maxAge: Int = 90, warnAge: Int = 75)
    throws -> (CheckContext, [EnvironmentFile])
  {
    let workspace = try w.workspace
    let all = try workspace.loadAll()
    return (
      CheckContext(
        workspace: workspace, environments: all, history: TrailIndex.load(workspace: workspace).history,
        now: now,
        maxAge: maxAge, warnAge: warnAge),
      all
    )
  }

  func ids(_ findings: [Finding]) -> [String] { findings.map(\.id).sorted() }

  @Test(
    "sharing: a swap (KW101), a shared secret (KW202) and a shared key (KW201), production making it an error"
  )
  func sharing() throws {
    let w = try ScratchWorkspace()
    try w.set("dev", "ck_dev_11111111", "cs_shared_SECRET_1")
    try w.set("staging", "cs_shared_SECRET_1", "ck_dev_11111111")  // dev's pair, exchanged
    try w.set("prod", "ck_prod_22222222", "cs_prod_SECRET_2")
    let (c, all) = try context(w)
    func findings(_ env: String) -> [Finding] {
      all.first { $0.environment == env }!.sets.flatMap { CheckRules.sharing(c, env, $0) }
    }
    #expect(ids(findings("staging")) == ["KW101"])
    #expect(findings("prod").isEmpty)
    try w.set("prod", "ck_dev_11111111", "cs_prod_SECRET_3", replace: true)  // dev's App Key in prod
    let (c2, all2) = try context(w)
    let prod = all2.first { $0.environment == "prod" }!.sets.flatMap { CheckRules.sharing(c2, "prod", $0) }
    let shared = try #require(prod.first { $0.id == "KW201" })
    #expect(shared.severity == .error)  // production: an error, not a warning
    #expect(shared.evidence["shared_with"]?.hasPrefix("dev/") == true)
  }

  @Test(
    "lifecycle: stale at the warning margin and past the maximum (KW301), a pending set left waiting (KW303)")
  func lifecycle() throws {
    let w = try ScratchWorkspace()
    try w.set("prod", "ck_prod_22222222", "cs_prod_SECRET_2")
    try w.set("prod", "ck_prod_33333333", "cs_prod_SECRET_3", state: .pending)
    let now = Timestamp.now()
    func at(days: Int) throws -> [Finding] {
      let (c, all) = try context(w, now: Timestamp(seconds: now.seconds + Int64(days) * 86_400))
      return all.first { $0.environment == "prod" }!.sets.flatMap { CheckRules.lifecycle(c, "prod", $0) }
    }
    #expect(try at(days: 0).isEmpty)
    let warn = try at(days: 80)
    #expect(warn.filter { $0.id == "KW301" }.allSatisfy { $0.severity == .warning })
    #expect(warn.contains { $0.id == "KW303" })
    #expect(try at(days: 100).filter { $0.id == "KW301" }.allSatisfy { $0.severity == .error })
  }

  @Test("verification: never verified is a note, a warning in production (KW305)")
  func verification() throws {
    let w = try ScratchWorkspace()
    try w.set("dev", "ck_dev_11111111", "cs_dev_SECRET_1")
    try w.set("prod", "ck_prod_22222222", "cs_prod_SECRET_2")
    let (c, all) = try context(w)
    let dev = all.first { $0.environment == "dev" }!.sets.flatMap { CheckRules.verification(c, "dev", $0) }
    let prod = all.first { $0.environment == "prod" }!.sets.flatMap { CheckRules.verification(c, "prod", $0) }
    #expect(dev.map(\.severity) == [.note] && prod.map(\.severity) == [.warning])
    #expect(ids(dev) == ["KW305"])
  }

  @Test("trust: a workspace with no trust root is KW606 when every environment is checked, and only then")
  func trustRules() throws {
    let w = try ScratchWorkspace()
    try w.set("prod", "ck_prod_44444444", "cs_prod_SECRET_4")
    let (c, all) = try context(w)
    let whole = CheckRules.trust(workspace: c.workspace, environments: all, everyEnvironment: true)
    #expect(ids(whole) == ["KW606"] && whole[0].file == c.workspace.configPath)
    #expect(CheckRules.trust(workspace: c.workspace, environments: all, everyEnvironment: false).isEmpty)
  }

  @Test("a failed verification (KW304) says what to do about what failed")
  func verificationRemedies() throws {
    let w = try ScratchWorkspace()
    try w.set("prod", "ck_prod_33333333", "cs_prod_SECRET_3")
    let (c, all) = try context(w)
    var set = all.first { $0.environment == "prod" }!.sets[0]
    func remedy(_ verdict: String) -> String? {
      set.lastVerification = LastVerification(
        time: Timestamp.now(), verdict: verdict, endpoint: "https://apiv1.captcha.la/", signature: nil)
      return CheckRules.verification(c, "prod", set).first { $0.id == "KW304" }?.remedy
    }
    #expect(remedy("invalid-key")?.contains("does not know this App Key") == true)
    #expect(remedy("invalid-secret")?.contains("the App Secret is not") == true)
    #expect(remedy("swapped")?.contains("wrong way round") == true)
    #expect(remedy("disabled")?.contains("disabled at the provider") == true)
    #expect(remedy("valid") == nil)
  }

  @Test("reuse: a provider's public test secret in production (KW501), not elsewhere")
  func reuse() throws {
    let w = try ScratchWorkspace()
    let test = "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe"  // reCAPTCHA's published test secret
    try w.set("dev", "ck_dev_11111111", test)
    try w.set("prod", "ck_prod_22222222", test)
    let (c, all) = try context(w)
    let dev = all.first { $0.environment == "dev" }!.sets.flatMap { CheckRules.reuse(c, "dev", $0) }
    let prod = all.first { $0.environment == "prod" }!.sets.flatMap { CheckRules.reuse(c, "prod", $0) }
    #expect(dev.isEmpty)
    #expect(ids(prod) == ["KW501"])
  }
}
