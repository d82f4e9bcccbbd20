import Foundation
import Testing

/// `-v` (issue 15, item 14): files read and written, requests sent and rules run, on standard
/// error, never a value or a header; standard output unchanged.
@Suite("-v says what a command did")
struct VerboseTests {
  func traces(_ r: CLI.Result) -> [String] {
    r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("keyward: trace: ") }
  }

  @Test(
    "show (the launcher's fast path), verify against the emulator, check and export: what they read, sent and ran"
  )
  func verbose() throws {
    let cli = try CLI()
    let values = try cli.seeded()
    let quiet = try cli.expect(0, ["show", "prod"])
    let shown = try cli.expect(0, ["show", "prod", "-v"])
    #expect(shown.stdout == quiet.stdout && traces(quiet).isEmpty)
    let read = traces(shown)
    #expect(read.contains { $0.hasSuffix("read Environments/prod.json") }, "\(read)")
    #expect(read.contains { $0.contains("read ") && $0.hasSuffix("prod.key") }, "\(read)")

    let emulator = try EmulatorProcess(cli, ["--from-workspace"])
    let verified = try cli.expect(0, ["verify", "prod", "--endpoint", emulator.url, "--no-record", "-v"])
    let sent = traces(verified)
    #expect(sent.contains { $0.contains("POST \(emulator.url)/v1/validate → 200 in ") }, "\(sent)")
    for line in sent {
      for (_, v) in values { #expect(!line.contains(v.secret) && !line.contains(v.key)) }
      #expect(!line.lowercased().contains("x-app-secret"))
    }

    let checked = try cli.run(["check", "-v"])
    #expect(
      traces(checked).contains { $0.contains("rules sharing, lifecycle, verification, reuse on prod set ") })

    let exported = try cli.expect(0, ["export", "prod", "-o", "prod.env", "-v"])
    #expect(traces(exported).contains { $0.hasSuffix("write prod.env") }, "\(exported.stderr)")
    // After --, -v belongs to run's program.
    let ran = try cli.expect(0, ["run", "prod", "--", "/bin/echo", "-v"])
    #expect(traces(ran).isEmpty && ran.stdout == "-v\n")
  }
}
