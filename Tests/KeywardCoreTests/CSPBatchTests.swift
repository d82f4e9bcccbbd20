import Foundation
import Testing

@testable import KeywardCSP
@testable import KeywardCore

/// `csp eval`'s batch loop, in the CSP target since issue 16: lines split across reads, CRLF,
/// blank lines, a bad line among good ones, a line longer than the read buffer.
@Suite("csp eval's batch loop")
struct CSPBatchTests {
  func batch(_ input: [UInt8]) throws -> (valid: Bool, lines: [String]) {
    let dir = NSTemporaryDirectory() + "kw-batch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Data(input).write(to: URL(fileURLWithPath: dir + "/in"))
    let inFD = open(dir + "/in", O_RDONLY)
    let outFD = open(dir + "/out", O_WRONLY | O_CREAT, 0o600)
    defer {
      close(inFD)
      close(outFD)
    }
    let valid = try CSPEvalSession().answerAll(from: inFD, to: outFD)
    let text = try String(contentsOfFile: dir + "/out", encoding: .utf8)
    return (valid, text.split(separator: "\n").map(String.init))
  }

  @Test("every query answered once, in order, numbered by its line; a bad line says so and the rest go on")
  func lines() throws {
    let good =
      #"{"id":"a","policy":["script-src 'self'"],"origin":"https://a.example","kind":"script","url":"/x.js"}"#
    // A policy longer than the 64 KiB read buffer, so one line spans several reads.
    let long =
      #"{"id":"long","policy":["script-src 'self' "# + String(repeating: "https://h.example ", count: 5000)
      + #"'unsafe-inline'"],"origin":"https://a.example","kind":"script","url":"/y.js"}"#
    let input = [good, "", "   ", "not json", long + "\r", good].joined(separator: "\n")
    let (valid, out) = try batch(Array(input.utf8))
    #expect(!valid)
    #expect(out.count == 4)
    let docs = try out.map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(docs.map { $0["line"] as? Int } == [1, 4, 5, 6])
    #expect(docs[0]["verdict"] as? String == "allowed" && docs[2]["id"] as? String == "long")
    #expect((docs[1]["error"] as? [String: Any])?["kind"] as? String == "input")
    // No newline at the end of the input: the last line is still answered.
    let (ok, single) = try batch(Array(good.utf8))
    #expect(ok && single.count == 1)
  }
}
