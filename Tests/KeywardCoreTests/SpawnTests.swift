import Foundation
import Testing

@testable import KeywardCore

/// A child's standard input is written as the child takes it (`Spawn.run`): git check-attr
/// answers as it reads, and writing a large input before reading any answer hung `audit` and
/// `check` in a git repository of about 1,000 trail entry files (the review of session 24).
@Suite("spawning a child: large inputs, children that stop reading")
struct SpawnTests {
  @Test(
    "a child that echoes its input as it reads (cat) gets 4 MiB and gives all of it back",
    .timeLimit(.minutes(1)))
  func largeInputEchoed() throws {
    let input = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
    let r = try Spawn.run("/bin/cat", [], environment: [:], input: input, separateErrors: true)
    #expect(r.status == 0)
    #expect(r.output == input)
    #expect(r.errors.isEmpty)
  }

  @Test(
    "a child that exits without reading its input ends the writing, not this process (no SIGPIPE)",
    .timeLimit(.minutes(1)))
  func childStopsReading() throws {
    let input = [UInt8](repeating: 0x61, count: 4 << 20)
    let r = try Spawn.run("/bin/sh", ["-c", "echo done; exit 3"], environment: [:], input: input)
    #expect(r.status == 3)
    #expect(r.output == Array("done\n".utf8))
  }

  @Test(
    "git check-attr over 20,000 paths on standard input answers each one",
    .timeLimit(.minutes(1)))
  func gitCheckAttrManyPaths() throws {
    let dir = "/tmp/keyward-spawn-\(ProcessInfo.processInfo.processIdentifier)"
    defer { _ = try? Spawn.run("/bin/rm", ["-rf", dir], environment: [:], input: []) }
    #expect(try Spawn.run("/bin/mkdir", ["-p", dir], environment: [:], input: []).status == 0)
    #expect(Git.run(["init", "-q"], in: dir)?.status == 0)
    var input = [UInt8]()
    for k in 0..<20_000 { input += Array("trail/entries/\(k).json".utf8) + [0] }
    let r = try #require(Git.run(["check-attr", "-z", "--stdin", "merge"], in: dir, input: input))
    #expect(r.status == 0, "\(String(decoding: r.errors, as: UTF8.self))")
    #expect(r.output.split(separator: 0, omittingEmptySubsequences: false).count >= 3 * 20_000)
  }
}
