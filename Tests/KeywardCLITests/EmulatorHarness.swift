import Foundation
import Testing

/// A `keyward emulate` process on a free loopback port, stopped (SIGKILL) when released.
final class EmulatorProcess {
  let process: Process
  let port: Int
  var url: String { "http://127.0.0.1:\(port)" }

  init(_ cli: CLI, _ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CLI.binary)
    p.arguments = ["emulate", "--port", "0", "-q"] + args
    p.currentDirectoryURL = URL(fileURLWithPath: cli.root)
    p.environment = cli.environment
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    // The first line is "listening on http://127.0.0.1:PORT".
    var line = [UInt8]()
    let handle = out.fileHandleForReading
    while true {
      let byte = handle.readData(ofLength: 1)
      if byte.isEmpty || byte.first == 0x0a { break }
      line.append(byte.first!)
    }
    let text = String(decoding: line, as: UTF8.self)
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
      p.terminate()
      throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "emulator said: \(text)"])
    }
    process = p
    self.port = port
  }

  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }
}

extension CLI {
  /// A workspace whose environments hold the given pairs (stored with --raw).
  func workspace(_ sets: [String: (key: String, secret: String)], provider: String = "captchala") throws {
    try expect(0, ["init", "--envs", sets.keys.sorted().joined(separator: ","), "--provider", provider])
    for (env, v) in sets {
      CLI.registerSecret(v.secret)
      try expect(0, ["set", env, "--stdin", "--raw"], stdin: "\(v.key)\n\(v.secret)\n")
    }
  }

  /// `verify … --format json` → (exit status, {environment: verdict}, document).
  func verify(_ args: [String]) throws -> (Int32, [String: String], [String: Any]) {
    let r = try run(["verify", "--format", "json"] + args)
    let doc = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
    var verdicts = [String: String]()
    for case let item as [String: Any] in (doc["results"] as? [Any]) ?? [] {
      verdicts[item["environment"] as? String ?? "?"] = item["verdict"] as? String
    }
    return (r.status, verdicts, doc)
  }
}
