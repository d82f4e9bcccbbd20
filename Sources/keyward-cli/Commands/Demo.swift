import ArgumentParser
import KeywardCLIKit
import KeywardCore

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Keyward {
  struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "demo",
      abstract: "The guided tour: every job end to end in a temporary workspace.",
      discussion: """
        Runs this keyward binary as a user would, in a temporary folder with its own key store, and \
        checks every step's exit code. Nothing outside the temporary folder is touched. Exit 0 when \
        every step behaved as documented.
        """)

    /// No --format: the tour is for people; its exit status is the machine-readable result.
    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Keep the temporary folder and print its path.")
    var keep = false

    func run() throws {
      let tour = try DemoTour(printer: Printer(common.settings), keep: keep)
      try tour.run()
    }
  }
}

/// The steps of the tour. Each later capability adds its own step here.
struct DemoTour {
  let printer: Printer
  let keep: Bool
  let root: String
  let runner: DemoRunner

  init(printer: Printer, keep: Bool) throws {
    self.printer = printer
    self.keep = keep
    let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    let template = tmp + "/keyward-demo-XXXXXX"
    var buf = Array(template.utf8CString)
    guard let dir = mkdtemp(&buf) else { throw KeywardError(.io, "cannot create a temporary folder") }
    root = String(cString: dir)
    runner = DemoRunner(
      executable: try DemoRunner.selfPath(),
      environment: ["KEYWARD_KEYS_DIR": "\(root)/keys", "NO_COLOR": "1"], printer: printer)
  }

  func run() throws {
    defer {
      if keep {
        printer.note("demo folder kept: \(root)\n")
      } else {
        try? FileManager.default.removeItem(atPath: root)
      }
    }
    // The tour works in its own folder, as a user in their repository would (single-threaded).
    guard chdir(root) == 0 else { throw KeywardError(.io, "cannot enter \(root)") }
    let p = printer
    p.out(p.style("keyward demo", .bold) + " — a temporary workspace in \(root)\n")

    runner.section("1. Create a workspace: one recipient keypair per environment")
    try runner.expect(0, ["init", "--envs", "dev,staging,prod"])

    runner.section("2. Store a set in each environment (a public-key write: no private key needed)")
    let values: [(String, String, String)] = [
      ("dev", "ck_dev_4f1c2a9b7e3d5a60", "cs_dev_" + Sodium_hex(20)),
      ("staging", "ck_stg_8a2e6c0d1f4b3a97", "cs_stg_" + Sodium_hex(20)),
      ("prod", "ck_live_2b7d9e1f0c8a6b35", "cs_live_" + Sodium_hex(20)),
    ]
    for (env, key, secret) in values {
      try runner.expect(
        0, ["set", env, "--stdin"], stdin: "{\"app_key\": \"\(key)\", \"app_secret\": \"\(secret)\"}\n",
        display: "printf '{\"app_key\": …, \"app_secret\": …}' | keyward set \(env) --stdin")
    }
    runner.comment("A value pasted with its quotes is refused, and nothing is written:")
    try runner.expect(
      2, ["set", "dev", "--stdin", "--replace"], stdin: "\"ck_dev_quoted\"\ncs_dev_x\n",
      display: "printf '\"ck_dev_quoted\"\\ncs_dev_x\\n' | keyward set dev --stdin --replace")

    runner.section("3. List every environment and set — fingerprints only, no private key")
    try runner.expect(0, ["list"])

    runner.section("4. Decrypt with the environment's private key (masked unless --reveal)")
    try runner.expect(0, ["show", "prod"])
    try runner.expect(0, ["show", "staging", "--reveal"])

    runner.section("5. Integrity: a ciphertext moved to another field is caught, and says where")
    let prodPath = "\(root)/Environments/prod.json"
    let original = try FileSystem.read(prodPath)
    var env = try EnvironmentFile.parse(original, source: prodPath)
    env.sets[0].appKey = env.sets[0].appSecret
    try FileSystem.writeAtomically(prodPath, bytes: env.json.written())
    runner.comment("(the demo copied prod's app_secret ciphertext over its app_key)")
    try runner.expect(4, ["show", "prod"])
    try FileSystem.writeAtomically(prodPath, bytes: original)
    runner.comment("The wrong private key is named by fingerprint:")
    // The workspace's folder in the key store (16 hex digits), not pins/ or trail-seen/.
    let devKey = try FileManager.default.contentsOfDirectory(atPath: "\(root)/keys").first {
      Names.isWorkspaceID($0)
    }.map {
      "\(root)/keys/\($0)/dev.key"
    }
    try runner.expect(
      4, ["show", "prod", "--key-file", devKey ?? "missing"],
      display: "keyward show prod --key-file …/dev.key")

    try verifyStep(values: values)

    try checkStep(values: values)

    runner.section("8. Export for every deploy target, exactly; run a program with the set injected")
    try runner.expect(0, ["export", "prod", "--format", "dotenv"])
    try runner.expect(0, ["export", "prod", "--format", "k8s", "--namespace", "web"])
    try runner.expect(0, ["export", "staging", "--format", "shell", "-o", "staging.sh"])
    runner.comment("A value a format cannot carry is refused, with the character and why, never the value:")
    try runner.expect(
      0, ["set", "dev", "--stdin", "--raw", "--replace"],
      stdin: "{\"app_key\": \"ck_dev_multi\", \"app_secret\": \"line1\\nline2\"}",
      display:
        "printf '{\"app_key\": …, \"app_secret\": \"line1\\nline2\"}' | keyward set dev --stdin --raw --replace"
    )
    try runner.expect(2, ["export", "dev", "--format", "docker"])
    try runner.expect(0, ["export", "dev", "--format", "github"])
    runner.comment("run execs the program: its exit status is the program's own")
    try runner.expect(
      3,
      [
        "run", "prod", "--", "sh", "-c",
        "echo \"key ${CAPTCHALA_APP_KEY%_*}_… has ${#CAPTCHALA_APP_SECRET} secret bytes\"; exit 3",
      ],
      display:
        "keyward run prod -- sh -c 'echo \"key ${CAPTCHALA_APP_KEY%_*}_… has ${#CAPTCHALA_APP_SECRET} secret bytes\"; exit 3'"
    )
    runner.comment("Every export and run left a line in the audit trail (fingerprints, never values):")
    let workspace = try Workspace.open("\(root)/Environments")
    for r in TrailIndex.load(workspace: workspace).history where r.action == "export" || r.action == "run" {
      p.out(
        "     \(r.action ?? "") \(r.environment ?? "") set \(r.set ?? "") → \(r.target ?? "") (\(r.reference))\n"
      )
    }

    try rotationStep()

    try cspStep()

    try teamStep()

    try teamTrailStep()

    p.out("\n" + p.style("Every step behaved as documented.", .green) + "\n")
  }

}

extension DemoTour {
  /// Step 9: a zero-downtime rotation of staging, then the security team's audit.
  func rotationStep() throws {
    runner.section("9. Rotate staging without downtime; then the audit a security team runs (no private key)")
    let newKey = "ck_stg_rotated_7a1b2c3d"
    let newSecret = "cs_stg_rotated_" + Sodium_hex(20)
    let (emulator, url) = try startEmulator(knowing: [(newKey, newSecret)])
    defer { emulator.stop() }
    try runner.expect(0, ["export", "staging", "-o", "staging.env"])
    try runner.expect(
      0, ["rotate", "staging", "--stdin"], stdin: "\(newKey)\n\(newSecret)\n",
      display: "printf '<new key>\\n<new secret>\\n' | keyward rotate staging --stdin")
    try runner.expect(2, ["promote", "staging"])
    try runner.expect(0, ["verify", "staging", "--set", "pending", "--endpoint", url])
    try runner.expect(0, ["promote", "staging", "--grace", "7d"])
    runner.comment(
      "staging.env and staging.sh (step 8) still hold the old set: retire refuses until both are redeployed")
    try runner.expect(2, ["retire", "staging", "--now"])
    try runner.expect(0, ["export", "staging", "-o", "staging.env"])
    try runner.expect(0, ["export", "staging", "--format", "shell", "-o", "staging.sh"])
    try runner.expect(0, ["retire", "staging", "--now"])
    runner.comment("The audit: every change above is one line of a hash chain; a security team needs no key")
    try runner.expect(0, ["audit", "--format", "markdown"])
  }

  /// Writes the pairs the emulator knows into the demo's pairs.json (mode 0600).
  func writePairs(_ pairs: [(key: String, secret: String)]) throws {
    let list = pairs.map { JSONValue.object(["app_key": .string($0.key), "app_secret": .string($0.secret)]) }
    try FileSystem.writeAtomically("\(root)/pairs.json", bytes: JSONValue.array(list).written(), mode: 0o600)
  }

  /// `keyward emulate` knowing exactly these pairs.
  func startEmulator(knowing pairs: [(key: String, secret: String)]) throws -> (Spawn.Background, String) {
    try writePairs(pairs)
    return try startEmulator()
  }

  /// `keyward emulate` on a free loopback port with the demo's pairs.json: the process and its URL.
  func startEmulator(_ extra: [String] = []) throws -> (Spawn.Background, String) {
    let cli = Path.directory(runner.executable) + "/keyward-cli"
    let bg = try Spawn.background(
      cli, ["emulate", "--port", "0", "--pairs", "pairs.json", "-q"] + extra,
      environment: ProcessInfo.processInfo.environment)
    guard let line = bg.readLine(), line.hasPrefix("listening on ") else {
      bg.stop()
      throw KeywardError(.internal, "the emulator did not start")
    }
    return (bg, String(line.dropFirst("listening on ".count)))
  }

  /// Step 10: the login page's Content-Security-Policy, as a browser would judge it.
  func cspStep() throws {
    runner.section("10. Will the browser load the CAPTCHA? The login page's CSP, judged as a browser would")
    let (emulator, url) = try startEmulator()
    defer { emulator.stop() }
    let site = url + "/site"
    runner.comment("The emulator also serves a sample login page under several policies (\(site)/…)")
    try runner.expect(0, ["csp", "\(site)/login?key=ck_live_9d0e1f2a3b4c5d6e", "--env", "prod"])
    runner.comment(
      "script-src without the CDN: the loader passes by its nonce, the script it inserts does not")
    try runner.expect(1, ["csp", "\(site)/blocked"])
    runner.comment("A prod page serving staging's App Key (compared by fingerprint):")
    try runner.expect(1, ["csp", "\(site)/login?key=ck_stg_rotated_7a1b2c3d", "--env", "prod"])
    runner.comment("The engine alone, for scripts and CI (also JSON lines on stdin):")
    try runner.expect(
      1,
      [
        "csp", "eval", "--policy", "default-src 'self'; script-src 'self' https://cdn.captcha-cdn.net/js/",
        "--origin", "https://shop.example/login", "--kind", "script", "--url",
        "https://cdn.captcha-cdn.net/captchala-loader.js",
      ])
  }

  /// Step 7: planted mistakes, found from fingerprints alone.
  func checkStep(values: [(String, String, String)]) throws {
    runner.section("7. Check: swapped and stale keys, in the store and in what is deployed (no private key)")
    let staging = values[1]
    runner.comment("Planted: dev gets staging's pair, stored the other way round")
    try runner.expect(
      0, ["set", "dev", "--stdin", "--replace"], stdin: "\(staging.2)\n\(staging.1)\n",
      display: "printf '<staging secret>\\n<staging key>\\n' | keyward set dev --stdin --replace")
    runner.comment("Planted: prod is deployed from a file, then prod's set is replaced: the file is stale")
    try runner.expect(0, ["export", "prod", "-o", "prod.env"])
    try runner.expect(
      0, ["set", "prod", "--stdin", "--replace"],
      stdin: "ck_live_9d0e1f2a3b4c5d6e\ncs_live_\(Sodium_hex(20))\n",
      display: "printf '…' | keyward set prod --stdin --replace")
    try runner.expect(1, ["check", "--fail-on", "error"])
    try runner.expect(1, ["check", "prod", "--env-file", "prod.env"])
  }

  /// Step 6: the emulator on loopback knows prod's and staging's pairs, not dev's.
  func verifyStep(values: [(String, String, String)]) throws {
    runner.section("6. Verify every set live, against the provider emulator on loopback")
    var (bg, url) = try startEmulator(knowing: values.filter { $0.0 != "dev" }.map { ($0.1, $0.2) })
    runner.comment(
      "keyward emulate --port 0 --pairs pairs.json   # listening on \(url); it knows prod and staging")
    defer { bg.stop() }
    try runner.expect(1, ["verify", "--endpoint", url])
    runner.comment("The last verification is recorded and listed:")
    try runner.expect(0, ["list"])
    bg.stop()
    (bg, url) = try startEmulator(["--fault", "html"])
    runner.comment("Behind a WAF that answers with an HTML page, nothing is called valid (exit 3):")
    try runner.expect(3, ["verify", "prod", "--endpoint", url, "--retries", "0"])
  }
}

/// Random lower-case hex for demo values.
func Sodium_hex(_ n: Int) -> String {
  var g = SystemRandomNumberGenerator()
  return (0..<n).map { _ in String(Int.random(in: 0..<16, using: &g), radix: 16) }.joined()
}

/// Runs the keyward binary as a child process and shows its command line and output.
struct DemoRunner {
  let executable: String
  let environment: [String: String]
  let printer: Printer

  /// The `keyward` launcher beside this keyward-cli (the demo runs what users run).
  static func selfPath() throws -> String {
    let launcher = Path.directory(Launcher.selfPath()) + "/keyward"
    guard FileSystem.exists(launcher) else {
      throw KeywardError(.internal, "cannot find \(launcher) to run the demo", hint: "swift build builds it")
    }
    return launcher
  }

  func section(_ title: String) { printer.out("\n" + printer.style("── \(title)", .bold) + "\n") }

  func comment(_ text: String) { printer.out(printer.style("   # \(text)", .dim) + "\n") }

  /// Runs `keyward ARGS`, prints the output indented, and fails the demo on an unexpected exit code.
  func expect(
    _ code: Int32, _ args: [String], stdin: String? = nil, display: String? = nil,
    as who: [String: String] = [:]
  ) throws {
    printer.out(printer.style("   $ ", .dim) + (display ?? "keyward " + args.joined(separator: " ")) + "\n")
    var env = ProcessInfo.processInfo.environment
    // The tour never uses the person's own identity or pins.
    for k in ["KEYWARD_WORKSPACE", "KEYWARD_IDENTITY", "KEYWARD_TRUST"] { env.removeValue(forKey: k) }
    for (k, v) in environment { env[k] = v }
    for (k, v) in who { env[k] = v }
    for k in env.keys where k.hasPrefix("KEYWARD_PRIVATE_KEY_") { env.removeValue(forKey: k) }
    let result = try Spawn.run(
      executable, args, environment: env, input: Array((stdin ?? "").utf8))
    let text = String(decoding: result.output, as: UTF8.self)
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
      text.hasSuffix("\n") ? 1 : 0)
    {
      printer.out("     \(line)\n")
    }
    let status = result.status
    let mark = printer.style("exit \(status)", status == code ? .green : .red)
    printer.out(printer.style("   → ", .dim) + mark + (status == code ? "" : " (expected \(code))") + "\n")
    guard status == code else {
      throw KeywardError(
        .internal, "demo step `keyward \(args.joined(separator: " "))` exited \(status), expected \(code)")
    }
  }
}

extension DemoTour {
  /// Step 11: a team in a shared repository (TRUST.md): identities, a pinned root, signed state,
  /// per-person access, and the attacks a repository writer makes.
  func teamStep() throws {
    runner.section("11. A team in a shared repository: a pinned root, signed state, per-person access")
    let team = "\(root)/team/Environments"
    let ws = ["--workspace", team]
    let alice = ["KEYWARD_IDENTITY": "\(root)/alice.id"]
    let bob = ["KEYWARD_IDENTITY": "\(root)/bob.id"]
    let contractor = ["KEYWARD_IDENTITY": ""]
    try runner.expect(0, ["identity", "new", "--name", "alice", "--identity", "\(root)/alice.id"])
    try runner.expect(0, ["identity", "new", "--name", "bob", "--identity", "\(root)/bob.id"])
    runner.comment("Alice creates the workspace: she is its first admin, and this machine pins its root")
    try runner.expect(0, ["init", "--envs", "staging,prod"] + ws, as: alice)
    let prodKey = "ck_live_team_5e6f7a8b"
    let prodSecret = "cs_live_team_" + Sodium_hex(20)
    try runner.expect(
      0, ["set", "prod", "--stdin"] + ws, stdin: "\(prodKey)\n\(prodSecret)\n",
      display: "keyward set prod --stdin  # as alice",
      as: alice)
    try runner.expect(
      0, ["set", "staging", "--stdin"] + ws, stdin: "ck_stg_team_1\ncs_stg_team_\(Sodium_hex(12))\n",
      display: "keyward set staging --stdin  # as alice", as: alice)
    let bobPublic =
      String(
        decoding: try FileSystem.readInput("\(root)/bob.id"), as: UTF8.self
      ).split(separator: "\n").first { $0.hasPrefix("public:") }.map {
        String($0.dropFirst(7)).trimmingCharacters(in: .whitespaces)
      } ?? ""
    try runner.expect(0, ["access", "grant", "staging", "bob", bobPublic] + ws, as: alice)
    try runner.expect(0, ["access", "list"] + ws)

    runner.comment(
      "A contractor (no identity) proposes a prod rotation — allowed — then marks it active by editing prod.json:"
    )
    let newKey = "ck_live_team_next_9c0d"
    let newSecret = "cs_live_team_next_" + Sodium_hex(20)
    try runner.expect(
      0, ["rotate", "prod", "--stdin"] + ws, stdin: "\(newKey)\n\(newSecret)\n",
      display: "keyward rotate prod --stdin  # as the contractor", as: contractor)
    let prodPath = "\(team)/prod.json"
    let original = try FileSystem.read(prodPath)
    var env = try EnvironmentFile.parse(original, source: prodPath)
    for i in env.sets.indices { env.sets[i].state = env.sets[i].state == .pending ? .active : .retiring }
    try FileSystem.writeAtomically(prodPath, bytes: env.json.written())
    try runner.expect(4, ["export", "prod"] + ws)
    try FileSystem.writeAtomically(prodPath, bytes: original)
    runner.comment("(the edit reverted) Bob is a member of staging only: he cannot promote prod")
    try runner.expect(
      4, ["promote", "prod", "--force"] + ws, display: "keyward promote prod --force  # as bob", as: bob)
    runner.comment("Alice verifies the pending set against the emulator, and promotes it (both signed)")
    let (emulator, url) = try startEmulator(knowing: [(newKey, newSecret)])
    defer { emulator.stop() }
    try runner.expect(0, ["verify", "prod", "--set", "pending", "--endpoint", url] + ws, as: alice)
    try runner.expect(0, ["promote", "prod"] + ws, display: "keyward promote prod  # as alice", as: alice)

    runner.comment("An attacker copies staging's key into prod.json: nothing new is sealed to it")
    let stagingEnv = try EnvironmentFile.parse(
      try FileSystem.read("\(team)/staging.json"), source: "staging.json")
    let current = try FileSystem.read(prodPath)
    var substituted = try EnvironmentFile.parse(current, source: prodPath)
    substituted.recipient = stagingEnv.recipient
    substituted.sets = []
    try FileSystem.writeAtomically(prodPath, bytes: substituted.json.written())
    try runner.expect(
      4, ["rotate", "prod", "--stdin"] + ws, stdin: "ck_live_x\ncs_live_x_\(Sodium_hex(8))\n",
      display: "keyward rotate prod --stdin")
    try FileSystem.writeAtomically(prodPath, bytes: current)
    runner.comment("... and points prod's endpoint at a collector: verify sends nothing")
    let configPath = "\(team)/keyward.json"
    let config = try FileSystem.read(configPath)
    guard case .object(var c) = try JSONValue.parse(config, source: configPath),
      case .object(var envs)? = c["environments"]
    else { throw KeywardError(.internal, "demo: keyward.json has no environments") }
    envs["prod"] = .object(["production": .bool(true), "endpoint": .string("https://collector.example/")])
    c["environments"] = .object(envs)
    try FileSystem.writeAtomically(configPath, bytes: JSONValue.object(c).written())
    try runner.expect(4, ["verify", "prod"] + ws, as: alice)
    try FileSystem.writeAtomically(configPath, bytes: config)

    runner.comment(
      "Bob leaves: staging is rekeyed, his identity opens nothing now, and check says what to rotate")
    try runner.expect(0, ["access", "revoke", "staging", "bob"] + ws, as: alice)
    try runner.expect(1, ["check", "staging"] + ws)
  }

  /// Step 12: the team trail in git: two clones' work merged with no conflict, then a cut tail.
  func teamTrailStep() throws {
    runner.section(
      "12. The team trail in git: two clones' work merges with no conflict; a cut tail is caught")
    let repo = "\(root)/team"
    let other = "\(root)/team-b"
    let alice = ["KEYWARD_IDENTITY": "\(root)/alice.id"]
    guard let rootFP = try Workspace.open("\(repo)/Environments").trust?.rootFingerprint else {
      throw KeywardError(.internal, "demo: the team workspace has no trust root")
    }
    try git(["init", "-q", "-b", "main"], in: repo)
    try git(["add", "-A", "Environments"], in: repo)
    try git(["commit", "-q", "-m", "team workspace"], in: repo)
    try git(["clone", "-q", repo, other], in: root)
    runner.comment("Alice rotates staging in one clone; in another clone, prod (both signed, both committed)")
    try runner.expect(
      0, ["rotate", "staging", "--stdin", "--workspace", "\(repo)/Environments"],
      stdin: "ck_stg_team_2\ncs_stg_team_\(Sodium_hex(12))\n",
      display: "keyward rotate staging --stdin  # clone A",
      as: alice)
    try git(["add", "-A", "Environments"], in: repo)
    try git(["commit", "-q", "-m", "rotate staging"], in: repo)
    try runner.expect(
      0, ["rotate", "prod", "--stdin", "--workspace", "\(other)/Environments"],
      stdin: "ck_live_team_3\ncs_live_team_\(Sodium_hex(12))\n",
      display: "KEYWARD_TRUST=\(rootFP) keyward rotate prod --stdin  # clone B",
      as: alice.merging(["KEYWARD_TRUST": rootFP]) { $1 })
    try git(["add", "-A", "Environments"], in: other)
    try git(["commit", "-q", "-m", "rotate prod"], in: other)
    try git(["fetch", "-q", other, "main:clone-b"], in: repo)
    try git(["merge", "-q", "--no-edit", "clone-b"], in: repo)
    runner.comment("No conflict: each write added a file of its own to trail/entries; log shows both, signed")
    let team = ["--workspace", "\(repo)/Environments"]
    try runner.expect(0, ["log", "--action", "rotate"] + team)
    runner.comment(
      "audit: the trail is intact (exit 1 for the findings of step 11: an unsigned proposal, Bob's exposure)")
    try runner.expect(1, ["audit"] + team)
    runner.comment(
      "Someone deletes the newest entry, prod's rotation: this machine saw it, and prod.json is unannounced")
    let heads = TrailIndex.load(workspace: try Workspace.open("\(repo)/Environments")).entries.filter {
      $0.records.contains { $0.environment == "prod" && $0.action == "rotate" }
    }
    guard let cut = heads.last else { throw KeywardError(.internal, "demo: no prod rotation in the trail") }
    let saved = try FileSystem.read(cut.file)
    try FileSystem.remove(cut.file)
    try runner.expect(4, ["audit"] + team)
    try FileSystem.writeAtomically(cut.file, bytes: saved)
    runner.comment("(restored) Alice reviews the trail and compacts it into a checkpoint she signs")
    try runner.expect(
      0, ["trail", "checkpoint"] + team, display: "keyward trail checkpoint  # as alice", as: alice)
    try runner.expect(1, ["audit"] + team)
  }

  /// Runs git for the demo, showing the command; fails the demo if git fails.
  func git(_ args: [String], in dir: String) throws {
    runner.printer.out(runner.printer.style("   $ ", .dim) + "git " + args.joined(separator: " ") + "\n")
    var env = ProcessInfo.processInfo.environment
    for (k, v) in [
      "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid", "GIT_COMMITTER_NAME": "demo",
      "GIT_COMMITTER_EMAIL": "demo@example.invalid", "GIT_CONFIG_NOSYSTEM": "1",
    ] { env[k] = v }
    let r = try Spawn.run("/usr/bin/env", ["git", "-C", dir] + args, environment: env, input: [])
    guard r.status == 0 else {
      throw KeywardError(
        .internal,
        "demo: git \(args.joined(separator: " ")) failed: \(String(decoding: r.output, as: UTF8.self))")
    }
  }
}
