import ArgumentParser
import KeywardCLIKit
import Testing

@testable import keyward_cli

/// `keyward` parses the hot commands itself (FastPath) and hands the rest to swift-argument-parser.
/// These tests hold the two parsers to one meaning.
@Suite("fast path agrees with swift-argument-parser")
struct FastPathTests {
  @Test(
    "plain invocations parse to the same request",
    arguments: [
      ["show", "prod"],
      ["show", "prod", "--reveal"],
      ["show", "--reveal", "prod", "--format", "json"],
      ["show", "prod", "--format=json", "--workspace", "/tmp/w"],
      ["show", "--workspace=/tmp/w", "prod"],
      ["show", "prod", "--set", "pending"],
      ["show", "prod", "--set=a1b2", "--key-file", "k.key", "--passphrase-file", "pass"],
      ["show", "staging", "-q", "-v", "--no-color", "--format", "text"],
      ["show", "prod", "--quiet", "--verbose"],
    ])
  func agrees(args: [String]) throws {
    let fast = try #require(FastPath.parse(args), "the fast path declined \(args)")
    let parsed = try Keyward.parseAsRoot(args)
    let show = try #require(parsed as? Keyward.Show)
    #expect(fast == .show(show.request))
  }

  @Test(
    "plain export invocations parse to the same request",
    arguments: [
      ["export", "prod"],
      ["export", "prod", "--format", "shell"],
      ["export", "--format=k8s", "prod", "--name", "captcha", "--namespace", "web", "-o", "s.yaml"],
      ["export", "prod", "--output", "x.env", "--force", "--set", "pending", "-q"],
      ["export", "prod", "--env-name-var", "APP_ENV", "--endpoint-var", "CAPTCHA_URL", "--workspace", "/w"],
      ["export", "prod", "--key-file", "k", "--passphrase-file", "p", "--no-color", "-v"],
      ["export", "prod", "--format", "github", "-o", "env", "--no-mask"],
    ])
  func exportAgrees(args: [String]) throws {
    let fast = try #require(FastPath.parse(args), "the fast path declined \(args)")
    let parsed = try #require(try Keyward.parseAsRoot(args) as? Keyward.Export)
    #expect(fast == .export(parsed.request))
  }

  @Test(
    "plain run invocations parse to the same request",
    arguments: [
      ["run", "prod", "--", "./server", "--port", "8080"],
      ["run", "--pristine", "prod", "--set", "a1b2", "--", "env"],
      ["run", "prod", "--key-file", "k", "-q", "--", "sh", "-c", "echo hi; exit 3"],
      ["run", "prod", "--", "--looks-like-a-flag", "--"],
    ])
  func runAgrees(args: [String]) throws {
    let fast = try #require(FastPath.parse(args), "the fast path declined \(args)")
    let parsed = try #require(try Keyward.parseAsRoot(args) as? Keyward.Run)
    #expect(fast == .run(parsed.request))
  }

  @Test(
    "plain report invocations (check, audit, list, log) parse to the same request",
    arguments: [
      ["check"],
      ["check", "prod", "staging", "--format", "json", "--fail-on", "warning", "--exit-zero"],
      ["check", "prod", "--env-file", ".env", "--env-format", "dotenv", "--max-age", "90d"],
      ["check", "--format=sarif", "--sarif", "out.sarif", "--max-age", "30", "-q"],
      ["check", "prod", "--from-env", "--fail-on=note", "--workspace", "/w", "--trust", "ab12"],
      ["audit"],
      ["audit", "--format", "markdown", "--full", "--git", "--no-color"],
      ["audit", "--format=sarif", "--fail-on", "note", "--exit-zero", "--sarif", "a.sarif", "-v"],
      ["audit", "--format", "json", "--workspace=/w"],
      ["list"],
      ["list", "--format", "json", "-q", "--workspace", "/w"],
      ["log"],
      ["log", "prod", "staging", "--format", "json", "--actor", "alice", "--action=verify"],
      [
        "log", "--set", "a1b2c3d4", "--since", "2026-01-01", "--until=2026-12-31T00:00:00Z", "-q", "--trust",
        "ab",
      ],
    ])
  func reportsAgree(args: [String]) throws {
    let fast = try #require(FastPath.parse(args), "the fast path declined \(args)")
    let parsed = try Keyward.parseAsRoot(args)
    switch fast {
    case .check(let request): #expect(request == (try #require(parsed as? Keyward.Check)).request)
    case .audit(let request): #expect(request == (try #require(parsed as? Keyward.Audit)).request)
    case .list(let request):
      #expect(request == ListRequest(settings: (try #require(parsed as? Keyward.List)).global.settings))
    case .log(let request): #expect(request == (try #require(parsed as? Keyward.Log)).request)
    default: Issue.record("\(args) parsed to \(fast)")
    }
  }

  @Test(
    "anything else is left to swift-argument-parser",
    arguments: [
      [], ["list", "prod"], ["list", "--format", "sarif"], ["check", "--online"],
      ["check", "--key-file", "k"], ["check", "--endpoint", "https://x"], ["check", "--timeout", "3"],
      ["check", "--max-age", "0"], ["check", "--max-age", "ninety"], ["check", "--format", "markdown"],
      ["check", "--fail-on", "fatal"], ["check", "--env-format", "yaml", "--env-file", "x"],
      ["check", "--env-file", "x", "--from-env"], ["check", "--exit-zero", "--exit-zero"],
      ["audit", "prod"], ["audit", "--format", "html"], ["list", "--workspace="], ["check", "--sarif="],
      ["check", "prod", "--env-file="], ["audit", "--trust="], ["show", "prod", "--set="],
      ["audit", "--help"], ["check", "-h"], ["show"],
      ["show", "a", "b"], ["show", "prod", "--bogus"],
      ["show", "prod", "--reveal", "--reveal"],
      ["show", "prod", "--format", "yaml"], ["show", "--help"], ["show", "-h"], ["show", "prod", "--"],
      ["show", "prod", "--set"], ["show", "prod", "--set", "--reveal"], ["show", "prod", "-qv"],
      ["show", "prod", "--workspace", "a", "--workspace", "b"], ["help", "show"], ["--version"],
      ["export", "prod", "--format", "yaml"], ["export", "prod", "-o", "a", "--output", "b"], ["export"],
      ["run", "prod"], ["run", "prod", "--"], ["run", "prod", "--format", "json", "--", "x"],
      ["run", "--", "x"], ["log", "--format", "markdown"], ["log", "--actor", "a", "--actor", "b"],
      ["log", "--since="], ["log", "--full"], ["log", "--help"],
    ])
  func declines(args: [String]) {
    #expect(FastPath.parse(args) == nil)
  }
}
