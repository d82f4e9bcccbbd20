import Foundation
import TestFolders
import Testing

/// Runs the built `keyward` binary, as a user or a deploy script would.
struct CLI {
  /// The binary: $KEYWARD_BIN, else next to the test bundle, else .build/debug.
  static let binary: String = {
    if let b = ProcessInfo.processInfo.environment["KEYWARD_BIN"] { return b }
    var candidates = [String]()
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
      // Inside an .xctest bundle on macOS the binary sits a few levels up.
      for _ in 0..<4 {
        candidates.append(dir.appendingPathComponent("keyward").path)
        dir = dir.deletingLastPathComponent()
      }
    }
    for b in Bundle.allBundles {
      candidates.append(b.bundleURL.deletingLastPathComponent().appendingPathComponent("keyward").path)
    }
    candidates.append(packageRoot + "/.build/debug/keyward")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
  }()

  static let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

  struct Result {
    var status: Int32
    var signaled: Bool
    var stdout: String
    var stderr: String
    var all: String { stdout + stderr }
  }

  let root: String
  var environment: [String: String]

  /// Writing to a child that already exited must not kill the test process.
  static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

  /// A fresh folder with its own key store; the workspace is `root/Environments`.
  init() throws {
    CLI.ignoreSIGPIPE
    guard let p = TestFolders.make("cli") else { throw CocoaError(.fileWriteUnknown) }
    root = p
    var env = ProcessInfo.processInfo.environment
    for k in env.keys where k.hasPrefix("KEYWARD_") { env.removeValue(forKey: k) }
    env["KEYWARD_KEYS_DIR"] = root + "/keys"
    env["NO_COLOR"] = "1"
    env["HOME"] = root + "/home"  // never the real $HOME
    environment = env
  }

  var workspace: String { root + "/Environments" }

  /// Runs the binary through `/bin/sh -c SCRIPT` (for what a shell sets up around it: a limit, a
  /// redirection), with `$0` the binary and `$@` the arguments; standard output and error together.
  func shell(_ script: String, _ args: [String] = []) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script, CLI.binary] + args
    p.currentDirectoryURL = URL(fileURLWithPath: root)
    p.environment = environment
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
  }

  /// Every secret any test stored; every output captured by this harness is searched for them.
  nonisolated(unsafe) static var secrets = Set<String>()
  static let secretsLock = NSLock()

  static func registerSecret(_ s: String) {
    secretsLock.lock()
    secrets.insert(s)
    secretsLock.unlock()
  }

  /// Commands whose job is to emit secrets: their stdout is exempt from the leak search.
  static func emitsSecrets(_ args: [String]) -> Bool {
    args.contains("--reveal") || args.first == "export" || args.first == "run"
  }

  @discardableResult
  func run(_ args: [String], stdin: String? = nil, env extra: [String: String] = [:], cwd: String? = nil)
    throws -> Result
  {
    let p = try start(args, stdin: stdin, env: extra, cwd: cwd)
    return try p.finish()
  }

  /// `cwd`: the folder it runs in (the test's root folder by default).
  func start(_ args: [String], stdin: String? = nil, env extra: [String: String] = [:], cwd: String? = nil)
    throws -> Running
  {
    let id = UUID().uuidString
    let outPath = "\(root)/.out-\(id)"
    let errPath = "\(root)/.err-\(id)"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CLI.binary)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? root)
    p.environment = environment.merging(extra) { $1 }
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let input = Pipe()
    p.standardInput = input
    try p.run()
    // A command may refuse and exit before it reads its input: the write then fails (EPIPE, with
    // SIGPIPE ignored for the test process) and that is not the test's business.
    if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    return Running(process: p, outPath: outPath, errPath: errPath, args: args)
  }

  struct Running {
    let process: Process
    let outPath: String
    let errPath: String
    let args: [String]

    func finish(sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
      process.waitUntilExit()
      let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
      let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
      try? FileManager.default.removeItem(atPath: outPath)
      try? FileManager.default.removeItem(atPath: errPath)
      CLI.secretsLock.lock()
      let secrets = CLI.secrets
      CLI.secretsLock.unlock()
      let searched = CLI.emitsSecrets(args) ? err : out + err
      for s in secrets where searched.contains(s) {
        Issue.record(
          "a stored secret leaked in the output of keyward \(args.joined(separator: " "))",
          sourceLocation: sourceLocation)
      }
      // Every JSON document any test gets is held to its command's schema.
      if process.terminationReason == .exit, !out.isEmpty,
        let schema = SchemaCheck.schema(for: args, output: out),
        let problems = SchemaCheck.problems(schema, out)
      {
        Issue.record(
          "keyward \(args.joined(separator: " ")): its JSON does not match \(schema).schema.json: \(problems)",
          sourceLocation: sourceLocation)
      }
      return Result(
        status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
        stdout: out,
        stderr: err)
    }
  }

  /// init dev,staging,prod and store one set per environment; returns the values stored.
  @discardableResult
  func seeded() throws -> [String: (key: String, secret: String)] {
    try expect(0, ["init", "--envs", "dev,staging,prod"])
    var values = [String: (key: String, secret: String)]()
    for env in ["dev", "staging", "prod"] {
      let v = (
        key: "ck_\(env)_\(UUID().uuidString.prefix(8))", secret: "cs_\(env)_SECRET_\(UUID().uuidString)"
      )
      CLI.registerSecret(v.secret)
      try expect(0, ["set", env, "--stdin"], stdin: "\(v.key)\n\(v.secret)\n")
      values[env] = v
    }
    return values
  }

  @discardableResult
  func expect(
    _ status: Int32, _ args: [String], stdin: String? = nil, env: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> Result {
    let r = try run(args, stdin: stdin, env: env)
    #expect(
      r.status == status, "keyward \(args.joined(separator: " ")) → \(r.status)\n\(r.all)",
      sourceLocation: sourceLocation)
    return r
  }

  func json(_ r: Result) throws -> [String: Any] {
    let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    return try #require(obj as? [String: Any], "not a JSON object: \(r.stdout)")
  }

  /// The environment of "another machine": its own empty key store, so no pin, no identity and
  /// no memory of the trail's heads.
  /// Runs `python3 ARGS…` (the independent readers, generators and SDK requests in Tests/Compat
  /// and Tests/Benchmarks): its status, standard output and standard error.
  static func python(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3"] + args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Standard error is read on its own thread, so a chatty script cannot block on a full pipe.
    nonisolated(unsafe) var errText = ""
    let reader = Thread {
      errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
    reader.start()
    let outText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (p.terminationStatus, outText, errText)
  }

  /// A new OpenSSH ed25519 key at `path` (made by ssh-keygen), encrypted when a passphrase is
  /// given; returns `path`.
  static func sshKey(_ path: String, passphrase: String = "") throws -> String {
    let keygen = Process()
    keygen.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
    keygen.arguments = ["-q", "-t", "ed25519", "-N", passphrase, "-f", path, "-C", "carol@laptop"]
    try keygen.run()
    keygen.waitUntilExit()
    return path
  }

  func otherMachine() throws -> [String: String] {
    let keys = root + "/other-machine-keys"
    try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
    chmod(keys, 0o700)
    return ["KEYWARD_KEYS_DIR": keys]
  }

  /// The trail's records, oldest first, as `keyward log --format json` gives them; each carries
  /// its entry's id, parents, actor, signature status and time.
  func trailRecords(env extra: [String: String] = [:]) throws -> [[String: Any]] {
    let doc = try json(try run(["log", "--format", "json"], env: extra))
    var out = [[String: Any]]()
    for e in doc["entries"] as? [[String: Any]] ?? [] {
      for r in e["records"] as? [[String: Any]] ?? [] {
        var m = r
        m["entry_id"] = e["entry_id"]
        for k in ["parents", "actor", "signature", "time", "command"] { m["entry_" + k] = e[k] }
        out.append(m)
      }
    }
    return out
  }

  func keyPath(_ env: String) throws -> String {
    let dir = root + "/keys"
    // The workspace's folder in the key store (16 hex digits), not `identity` or `pins`.
    let ws = try #require(
      try FileManager.default.contentsOfDirectory(atPath: dir).first { name in
        name.count == 16 && name.allSatisfy(\.isHexDigit)
      })
    return "\(dir)/\(ws)/\(env).key"
  }
}
