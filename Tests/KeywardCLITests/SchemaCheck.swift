import Foundation
import Testing

/// Holds every JSON document the tests get from keyward to its command's JSON Schema
/// (Sources/keyward-cli/Schemas), with python's `jsonschema` in one long-lived process
/// (Tests/Compat/json_schemas.py --serve) shared by every test.
enum SchemaCheck {
  /// The schema a command line's output is held to: `list`, `trust-show`, `csp-eval`, …; nil when
  /// it does not ask for JSON.
  static func schema(for args: [String], output: String) -> String? {
    guard let first = args.first, !first.hasPrefix("-") else { return nil }
    let wantsJSON =
      zip(args, args.dropFirst()).contains { $0 == "--format" && $1 == "json" }
      || args.contains("--format=json")
    if first == "csp" && args.count > 1 && args[1] == "eval" {
      // Batch mode (queries on stdin) writes JSON Lines whatever --format says.
      return wantsJSON || output.hasPrefix("{") ? "csp-eval" : nil
    }
    guard wantsJSON else { return nil }
    if ["identity", "trust", "access", "trail"].contains(first), args.count > 1, !args[1].hasPrefix("-") {
      return "\(first)-\(args[1])"
    }
    return first
  }

  private static let lock = NSLock()
  nonisolated(unsafe) private static var server: (process: Process, input: FileHandle, output: Int32)?
  /// Every schema a document was held to so far in this test process.
  nonisolated(unsafe) private static var used = Set<String>()

  static var schemasUsed: Set<String> {
    lock.lock()
    defer { lock.unlock() }
    return used
  }

  /// Every schema shipped in Sources/keyward-cli/Schemas, by name (`common` holds definitions).
  static var schemasShipped: Set<String> {
    let names =
      (try? FileManager.default.contentsOfDirectory(atPath: CLI.packageRoot + "/Sources/keyward-cli/Schemas"))
      ?? []
    return Set(
      names.filter { $0.hasSuffix(".schema.json") }.map { String($0.dropLast(".schema.json".count)) })
  }

  /// nil when `text` is valid; else the validator's reasons.
  static func problems(_ schema: String, _ text: String) -> String? {
    lock.lock()
    defer { lock.unlock() }
    used.insert(text.hasPrefix("{\n  \"error\" : {") ? "error" : schema)
    do {
      let s = try started()
      let body = Data(text.utf8)
      try s.input.write(contentsOf: Data("\(schema) \(body.count)\n".utf8) + body)
      var line = [UInt8]()
      var byte: UInt8 = 0
      while read(s.output, &byte, 1) == 1, byte != 0x0a { line.append(byte) }
      let answer = String(decoding: line, as: UTF8.self)
      return answer == "ok" ? nil : answer.isEmpty ? "the schema validator stopped" : answer
    } catch {
      return "the schema validator could not run: \(error)"
    }
  }

  private static func started() throws -> (process: Process, input: FileHandle, output: Int32) {
    if let server, server.process.isRunning { return server }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", CLI.packageRoot + "/Tests/Compat/json_schemas.py", "--serve"]
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    let s = (p, input.fileHandleForWriting, output.fileHandleForReading.fileDescriptor)
    server = s
    return s
  }
}
