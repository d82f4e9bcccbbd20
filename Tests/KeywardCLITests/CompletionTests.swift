import Foundation
import Testing

/// Offline help (issue 15, item 15): shell completion as bash runs it, and the manual's input.
@Suite("completion and the manual")
struct CompletionTests {
  /// What bash offers after `line` (a command line typed so far), with keyward's own completion
  /// script loaded, run from the test's folder (whose ./Environments is the workspace).
  func complete(_ cli: CLI, _ script: String, _ line: String) throws -> [String] {
    let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    let quoted = words.map { "'\($0)'" }.joined(separator: " ")
    let program = """
      source '\(script)'
      COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
      COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}
      _keyward keyward '\(words.last!)' '\(words[words.count - 2])'
      printf '%s\\n' "${COMPREPLY[@]}"
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", program]
    p.currentDirectoryURL = URL(fileURLWithPath: cli.root)
    var env = cli.environment
    env["PATH"] =
      URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path + ":"
      + (env["PATH"] ?? "/usr/bin:/bin")
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return text.split(separator: "\n").map(String.init)
  }

  @Test("bash completes commands, environment names and set ids from the workspace, never a value")
  func bash() throws {
    let cli = try CLI()
    let values = try cli.seeded()
    let script = cli.root + "/keyward.bash"
    let generated = try cli.expect(0, ["--generate-completion-script", "bash"])
    try generated.stdout.write(toFile: script, atomically: false, encoding: .utf8)
    #expect(try complete(cli, script, "keyward ro").contains("rotate"))
    #expect(Set(try complete(cli, script, "keyward show ")) == ["dev", "staging", "prod"])
    #expect(try complete(cli, script, "keyward export pr") == ["prod"])
    let list = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    let prod = (list["environments"] as? [[String: Any]])?.first { $0["environment"] as? String == "prod" }
    let ids = (prod?["sets"] as? [[String: Any]])?.compactMap { $0["set_id"] as? String }
    let offered = try complete(cli, script, "keyward show prod --set ")
    #expect(Set(offered).isSuperset(of: Set(try #require(ids))) && offered.contains("active"))
    for (_, v) in values { #expect(!offered.contains(v.key) && !offered.contains(v.secret)) }
    // Another workspace named on the line is the one read; a missing one completes nothing.
    #expect(try complete(cli, script, "keyward show --workspace nowhere ").isEmpty)
  }

  @Test("the manual's input: every command and option, as argument-parser's manual plugin reads it")
  func manualInput() throws {
    let cli = try CLI()
    let dump = try cli.json(try cli.expect(0, ["--experimental-dump-help"]))
    let command = try #require(dump["command"] as? [String: Any])
    let names =
      (command["subcommands"] as? [[String: Any]])?.compactMap { $0["commandName"] as? String } ?? []
    for expected in [
      "init", "set", "show", "export", "run", "verify", "check", "audit", "scan", "trust", "explain",
    ] {
      #expect(names.contains(expected), "\(expected) missing from \(names)")
    }
  }
}
