import Foundation
import Testing

/// Issue 15, item 12: no library text reaches the person — each failure is a sentence that says
/// what and where, with the next step when there is one.
@Suite("errors in words")
struct ErrorWordsTests {
  @Test("a refused connection, a TLS endpoint that is not TLS, a port in use, a missing folder")
  func sentences() throws {
    let cli = try CLI()
    let values = try cli.seeded()
    // Port 9 (discard) on loopback: nothing listens.
    let refused = try cli.run([
      "verify", "prod", "--endpoint", "http://127.0.0.1:9", "--no-record", "--retries", "0",
    ])
    #expect(
      refused.stdout.contains("connection refused: nothing is listening on that port"), "\(refused.all)")
    let emulator = try EmulatorProcess(cli, ["--from-workspace"])
    let port = try #require(emulator.url.split(separator: ":").last)
    let plain = try cli.run(
      ["verify", "prod", "--endpoint", "https://127.0.0.1:\(port)", "--no-record", "--retries", "0"])
    #expect(plain.stdout.contains("does not speak TLS on that port"), "\(plain.all)")
    let busy = try cli.run(["emulate", "--port", String(port), "--pair", "ck_a:cs_b"])
    #expect(busy.status == 2 && busy.stderr.contains("127.0.0.1:\(port) is already in use"), "\(busy.all)")
    #expect(busy.stderr.contains("--port 0"))
    let nodir = try cli.run(["export", "prod", "-o", "nodir/x.env"])
    #expect(
      nodir.status == 2 && nodir.stderr.contains("cannot write nodir/x.env: the folder nodir does not exist"))
    // The verify line shows the attempt that decided the verdict (not the exchanged retry's answer).
    let wrongSecret = try EmulatorProcess(cli, ["--pair", "\(values["prod"]!.key):cs_not_the_stored_one"])
    let decided = try cli.run(["verify", "prod", "--endpoint", wrongSecret.url, "--no-record"])
    #expect(decided.stdout.contains("invalid-secret"), "\(decided.all)")
    #expect(
      decided.stdout.contains("invalid_app_secret") && !decided.stdout.contains("invalid_app_key"),
      "\(decided.all)")
    for r in [refused, plain, busy, nodir] {
      for raw in ["errno", "SingleConnectionFailure", "NIO", "bind(descriptor", "(error set)"] {
        #expect(!r.all.contains(raw), "library text \"\(raw)\" in: \(r.all)")
      }
    }
  }
}
