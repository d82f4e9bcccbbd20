import Testing

@testable import KeywardCore

@Suite("JSON reader and writer")
struct JSONReaderTests {
  func parse(_ s: String) throws(KeywardError) -> JSONValue {
    try JSONValue.parse(Array(s.utf8), source: "f.json")
  }

  @Test(
    "valid documents",
    arguments: [
      (
        #"{"a": [1, -2.5e3, true, false, null, "x\u00e9\n"]}"#,
        JSONValue.object([
          "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("xé\n")])
        ])
      ),
      ("[]", .array([])),
      (" {} ", .object([:])),
      (#""\ud83d\ude00""#, .string("😀")),
      ("0", .number(0)),
    ])
  func valid(text: String, value: JSONValue) throws {
    #expect(try parse(text) == value)
  }

  @Test(
    "errors say where",
    arguments: [
      ("{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':' after \"b\""),
      ("{\"a\": 1, \"a\": 2}", "member \"a\" appears twice"),
      ("{\"a\": [1, 2", "at the end (the file breaks off)"),
      ("[01]", "expected ',' or ']'"),
      ("[1.]", "expected a digit after '.'"),
      ("{\"a\": tru}", "expected a value"),
      ("\"\u{1}\"", "control character in a string"),
      ("{} {}", "unexpected text after the JSON document"),
      (String(repeating: "[", count: 70), "nested deeper than 64 levels"),
      ("\"\\x\"", "unknown escape"),
    ])
  func errors(text: String, message: String) {
    expectError(.input, ["f.json: not valid JSON", message]) { _ = try parse(text) }
  }

  @Test("invalid UTF-8 inside a string is refused")
  func invalidUTF8() {
    expectError(.input, ["invalid UTF-8"]) { _ = try JSONValue.parse([0x22, 0xff, 0x22], source: "f.json") }
  }

  @Test("the writer's output reads back to the same value, keys sorted, two-space indents")
  func roundTrip() throws {
    let v = JSONValue.object([
      "b": .array([.number(1), .string("q\"\\/\u{1}é")]), "a": .object([:]), "c": .array([]),
      "d": .number(0.5),
    ])
    let text = String(decoding: v.written(), as: UTF8.self)
    #expect(try parse(text) == v)
    #expect(text.hasPrefix("{\n  \"a\" : {},\n  \"b\" : [\n    1,\n"))
    #expect(text.contains("\\u0001") && text.contains("/") && text.hasSuffix("}\n"))
  }

  @Test("seeded random inputs never crash the reader")
  func fuzz() {
    var rng = FuzzTests.Rng(state: 7)
    let seeds = [#"{"a": [1, {"b": "c\u00e9"}], "d": null}"#, "[[[]]]", #""\ud83d\ude00""#]
    for _ in 0..<5000 {
      _ = try? JSONValue.parse(FuzzTests().randomInput(&rng, seeds: seeds), source: "f")
    }
  }
}
