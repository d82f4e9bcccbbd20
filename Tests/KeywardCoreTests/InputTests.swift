import Foundation
import Testing

@testable import KeywardCore

@Suite("secret input")
struct InputTests {
  func stdin(_ s: String) throws -> SetInput { try SecretInputReader.fromStdin(SecureBytes(unsafeString: s)) }

  @Test(
    "JSON objects, with every escape",
    arguments: [
      (#"{"app_key":"ck_1","app_secret":"cs_2"}"#, "ck_1", "cs_2"),
      (" \n{ \"app_secret\" : \"cs_2\" ,\n \"app_key\" : \"ck_1\" }\n", "ck_1", "cs_2"),
      (#"{"site_key":"k","secret_key":"s"}"#, "k", "s"),
      (#"{"app_key":"a\"b\\c\/d","app_secret":"\u00e9\ud83d\ude00\n\t"}"#, "a\"b\\c/d", "é😀\n\t"),
    ])
  func json(text: String, key: String, secret: String) throws {
    let input = try stdin(text)
    #expect(input.appKey.testString == key)
    #expect(input.appSecret.testString == secret)
  }

  @Test(
    "bad JSON gets a clear error",
    arguments: [
      (#"{"app_key":"k"}"#, "missing \"app_secret\""),
      (#"{"app_key":"k","app_secret":"s","extra":"x"}"#, "unknown field (expected only"),
      (#"{"app_key":"k","app_key":"k2","app_secret":"s"}"#, "app_key is given twice"),
      (#"{"app_key":1,"app_secret":"s"}"#, "a value must be a string"),
      (#"{"app_key":"k","app_secret":"s"} trailing"#, "unexpected text after the object"),
      (#"{"app_key":"k","app_secret":"s""#, "unterminated object"),
      (#"{"app_key":"k" "app_secret":"s"}"#, "expected ',' or '}'"),
      (#"{"app_key":"k","app_secret":"\ud800"}"#, "lone surrogate"),
      (#"{"app_key":"k","app_secret":"\q"}"#, "unknown escape"),
      ("{\"app_key\":\"k\n\",\"app_secret\":\"s\"}", "control character"),
    ])
  func badJSON(text: String, message: String) {
    expectError(.input, ["standard input", message]) { _ = try stdin(text) }
  }

  @Test("two lines, with LF or CRLF, with or without a final newline")
  func twoLines() throws {
    for text in ["ck_1\ncs_2\n", "ck_1\ncs_2", "ck_1\r\ncs_2\r\n"] {
      let input = try stdin(text)
      #expect(input.appKey.testString == "ck_1")
      #expect(input.appSecret.testString == "cs_2")
    }
    expectError(.input, ["expected two lines", "found 1"]) { _ = try stdin("ck_only\n") }
    expectError(.input, ["expected two lines", "found 3"]) { _ = try stdin("a\nb\nc\n") }
  }

  @Test(
    "paste accidents are refused unless --raw",
    arguments: [
      ("", "is empty"),
      ("cs_x\n", "stray newline"),
      (" cs_x", "leading or trailing whitespace"),
      ("cs_x\t", "leading or trailing whitespace"),
      ("\"cs_x\"", "wrapped in quotes"),
      ("'cs_x'", "wrapped in quotes"),
      ("`cs_x`", "wrapped in quotes"),
      ("cs\u{1}x", "control character at byte 3"),
    ])
  func accidents(value: String, message: String) {
    let v = SecureBytes(unsafeString: value)
    expectError(.input, ["App Secret from test", message]) {
      try ValueCheck.validate(v, .appSecret, source: "test", raw: false)
    }
    if !value.isEmpty {
      #expect(throws: Never.self) { try ValueCheck.validate(v, .appSecret, source: "test", raw: true) }
    }
  }

  @Test("invalid UTF-8, identical values and over-long values are refused even with --raw")
  func alwaysRefused() {
    expectError(.input, ["not valid UTF-8"]) {
      try ValueCheck.validate(SecureBytes([0x63, 0xff, 0x63]), .appKey, source: "t", raw: true)
    }
    expectError(.input, ["identical"]) {
      try ValueCheck.validate(
        SetInput(appKey: SecureBytes(unsafeString: "same"), appSecret: SecureBytes(unsafeString: "same")),
        source: "t", raw: true)
    }
    expectError(.input, ["limit is 4096"]) {
      try ValueCheck.validate(
        SecureBytes(Array(repeating: 0x61, count: 4097)), .appKey, source: "t", raw: true)
    }
  }

  @Test("env files: export, quotes, comments")
  func envFile() throws {
    let text = """
      # deployed values
      export CAPTCHALA_APP_KEY=ck_live_1   # trailing comment
      CAPTCHALA_APP_SECRET="cs \\"q\\" \\$x\\nline"
      SINGLE='lit $HOME \\n'
      EMPTY=
      HASH=a#b

      """
    let vars = try EnvFile.parse(SecureBytes(unsafeString: text), source: "f.env")
    #expect(vars["CAPTCHALA_APP_KEY"]?.testString == "ck_live_1")
    #expect(vars["CAPTCHALA_APP_SECRET"]?.testString == "cs \"q\" $x\nline")
    #expect(vars["SINGLE"]?.testString == "lit $HOME \\n")
    #expect(vars["EMPTY"]?.testString == "")
    #expect(vars["HASH"]?.testString == "a#b")
  }

  @Test("errors never quote the input: a wrapped secret on its own line stays out of the message")
  func noEcho() {
    let text = "CAPTCHALA_APP_SECRET=\ncs_live_WRAPPED_SECRET\n"
    do {
      _ = try EnvFile.parse(SecureBytes(unsafeString: text), source: "f.env")
      Issue.record("expected an error")
    } catch {
      #expect(error.description.contains("f.env:2"))
      #expect(!error.description.contains("WRAPPED"))
    }
    do {
      _ = try SecretInputReader.fromStdin(SecureBytes(unsafeString: #"{"cs_live_WRAPPED_SECRET": "x"}"#))
      Issue.record("expected an error")
    } catch {
      #expect(!error.description.contains("WRAPPED"))
    }
  }

  @Test(
    "env file errors name the line",
    arguments: [
      ("A=1\nA=2\n", "f.env:2", "defined again (first on line 1)"),
      ("A='open\n", "f.env:1", "unterminated single quote"),
      ("B=\"open\n", "f.env:1", "unterminated double quote"),
      ("just words\n", "f.env:1", "expected NAME=value"),
      ("A=\"x\" y\n", "f.env:1", "unexpected text after the value"),
    ])
  func envFileErrors(text: String, place: String, message: String) {
    expectError(.input, [place, message]) {
      _ = try EnvFile.parse(SecureBytes(unsafeString: text), source: "f.env")
    }
  }

  @Test("--from-file finds the configured names and says which is missing")
  func fromFile() throws {
    let dir = try temporaryDirectory("env")
    try "CAPTCHALA_APP_KEY=ck_1\n".write(toFile: "\(dir)/a.env", atomically: false, encoding: .utf8)
    expectError(.input, ["a.env", "no CAPTCHALA_APP_SECRET=… line"]) {
      _ = try SecretInputReader.fromEnvFile(path: "\(dir)/a.env", names: Provider.captchala.defaultVariables)
    }
    expectError(.input, ["the environment variable CAPTCHALA_APP_KEY is not set"]) {
      _ = try SecretInputReader.fromEnvironment(Provider.captchala.defaultVariables, environment: [:])
    }
  }
}
