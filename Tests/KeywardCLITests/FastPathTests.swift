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
    "anything else is left to swift-argument-parser",
    arguments: [
      [], ["list"], ["show"], ["show", "a", "b"], ["show", "prod", "--bogus"],
      ["show", "prod", "--reveal", "--reveal"],
      ["show", "prod", "--format", "yaml"], ["show", "--help"], ["show", "-h"], ["show", "prod", "--"],
      ["show", "prod", "--set"], ["show", "prod", "--set", "--reveal"], ["show", "prod", "-qv"],
      ["show", "prod", "--workspace", "a", "--workspace", "b"], ["help", "show"], ["--version"],
    ])
  func declines(args: [String]) {
    #expect(FastPath.parse(args) == nil)
  }
}
