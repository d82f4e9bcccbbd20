import Foundation
import Testing

/// One path for outcomes and errors: every command's failure is rendered in the format it was
/// asked for, with the exit status from the one table.
@Suite("outcomes and errors")
struct OutcomeTests {
  @Test(
    "check, audit and csp eval write a JSON error document with --format json",
    arguments: [
      ["check", "--format", "json"], ["audit", "--format", "json"], ["list", "--format", "json"],
    ])
  func jsonErrors(args: [String]) throws {
    let cli = try CLI()  // no workspace: an input error
    let r = try cli.expect(2, args)
    let doc = try cli.json(r)
    #expect(doc["schema_version"] as? Int == 2)
    let error = try #require(doc["error"] as? [String: Any])
    #expect(error["exit_code"] as? Int == 2 && (error["message"] as? String)?.contains("workspace") == true)
  }

  @Test("csp eval: a query without --origin is a usage error of csp eval (exit 64), JSON with --format json")
  func cspEvalUsage() throws {
    let cli = try CLI()
    let text = try cli.expect(64, ["csp", "eval", "--kind", "script", "--policy", "script-src 'self'"])
    #expect(text.stderr.contains("--origin and --kind"))
    #expect(!text.stderr.contains("SUBCOMMANDS"), "the top-level usage was printed: \(text.stderr)")
    let json = try cli.expect(
      64, ["csp", "eval", "--kind", "script", "--policy", "script-src 'self'", "--format", "json"])
    let error = try #require(try cli.json(json)["error"] as? [String: Any])
    #expect(error["exit_code"] as? Int == 64)
  }

  @Test("run: a command that is not found exits 127, one that cannot be executed 126; keyward says why")
  func runStatuses() throws {
    let cli = try CLI()
    try cli.seeded()
    let missing = try cli.expect(127, ["run", "prod", "--", "no-such-command-here"])
    #expect(missing.stderr.contains("no such command"))
    let notExec = cli.root + "/not-executable"
    try "#!/bin/sh\n".write(toFile: notExec, atomically: false, encoding: .utf8)
    let denied = try cli.expect(126, ["run", "prod", "--", notExec])
    #expect(denied.stderr.contains("cannot run"))
  }

  @Test("a mistyped command, or help for one, is exit 64 with \"did you mean\" (issue 15, item 13)")
  func unknownCommand() throws {
    let cli = try CLI()
    let typo = try cli.expect(64, ["lsit"])
    #expect(typo.stderr.contains("did you mean \"list\""), "\(typo.stderr)")
    #expect(try cli.expect(64, ["help", "nosuch"]).stderr.contains("is not a keyward command"))
    #expect(try cli.expect(64, ["scna", "--format", "json"]).stdout.contains("\"exit_code\" : 64"))
    try cli.expect(0, ["help", "scan"])
  }

  @Test("show --reveal -q prints the two values alone, one per line (issue 15, item 14)")
  func revealQuiet() throws {
    let cli = try CLI()
    let v = try cli.seeded()
    let r = try cli.expect(0, ["show", "prod", "--reveal", "-q"])
    #expect(r.stdout == "\(v["prod"]!.key)\n\(v["prod"]!.secret)\n")
  }

  @Test(
    "init with a passphrase hands over the key file and passphrase, not a secret-key line (issue 15, item 10)"
  )
  func protectedHandOff() throws {
    let cli = try CLI()
    let pass = cli.root + "/pass"
    try Data("correct horse battery\n".utf8).write(to: URL(fileURLWithPath: pass))
    chmod(pass, 0o600)
    let r = try cli.expect(0, ["init", "--envs", "prod", "--passphrase-file", pass])
    #expect(r.stdout.contains("--key-file KEY_FILE --passphrase-file PASSPHRASE_FILE"), "\(r.stdout)")
    #expect(!r.stdout.contains("value on the secret-key: line"))
    // What it says works: the file and the passphrase open the set.
    let secret = "cs_prod_SECRET_\(UUID().uuidString)"
    CLI.registerSecret(secret)
    try cli.expect(0, ["set", "prod", "--stdin"], stdin: "ck_prod_12345678\n\(secret)\n")
    let out = try cli.expect(
      0, ["export", "prod", "--key-file", try cli.keyPath("prod"), "--passphrase-file", pass])
    #expect(out.stdout.contains(secret))
  }

  /// Runs keyward on a real pseudo-terminal (Tests/Compat/pty_session.py), typing `steps`.
  func onTerminal(_ cli: CLI, _ args: [String], _ steps: [[String]]) throws -> (status: Int, output: String) {
    let script: [String: Any] = [
      "argv": [CLI.binary] + args, "cwd": cli.root, "env": cli.environment, "steps": steps,
    ]
    let path = cli.root + "/pty-script.json"
    try JSONSerialization.data(withJSONObject: script).write(to: URL(fileURLWithPath: path))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", CLI.packageRoot + "/Tests/Compat/pty_session.py", path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    return (doc["status"] as? Int ?? -1, doc["output"] as? String ?? "")
  }

  @Test("set on a terminal: the App Key echoes, the secret does not; Ctrl-D cancels (issue 15, item 11)")
  func terminalPrompts() throws {
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev,prod"])
    let secret = "cs_dev_SECRET_\(UUID().uuidString)"
    CLI.registerSecret(secret)
    let stored = try onTerminal(
      cli, ["set", "dev"], [["App Key: ", "ck_dev_visible_1234\r"], ["App Secret: ", secret + "\r"]])
    #expect(stored.status == 0, "\(stored.output)")
    #expect(stored.output.contains("ck_dev_visible_1234"))  // typed, and shown
    #expect(!stored.output.contains(secret))  // typed, never shown
    let cancelled = try onTerminal(
      cli, ["set", "prod"], [["App Key: ", "ck_prod_12345678\r"], ["App Secret: ", "\u{04}"]])
    #expect(cancelled.status == 2 && cancelled.output.contains("cancelled"), "\(cancelled.output)")
    let empty = try onTerminal(cli, ["set", "prod"], [["App Key: ", "\r"]])
    #expect(empty.status == 2 && empty.output.contains("is empty"), "\(empty.output)")
  }

  @Test("a report that cannot be written (a full disk) is exit 2 with a message, never 0 with nothing")
  func outputFailure() throws {
    guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
    let cli = try CLI()
    try cli.expect(0, ["init", "--envs", "dev,prod"])
    for args in [["list", "--format", "json"], ["list"], ["check", "--format", "json"]] {
      let (status, text) = try cli.shell("exec \"$0\" \"$@\" > /dev/full", args)
      #expect(status == 2, "\(args): \(status) \(text)")
      #expect(text.contains("could not write to standard output"), "\(args): \(text)")
    }
  }
}
