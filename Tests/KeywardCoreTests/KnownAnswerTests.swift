import Foundation
import Testing

@testable import KeywardCore

/// The committed v1 fixture must open with every later version of keyward.
@Suite("known-answer fixture (format v1)")
struct KnownAnswerTests {
  @Test("the fixture opens to the recorded values", arguments: ["prod", "dev"])
  func opens(env: String) throws {
    let (ws, keys) = try knownAnswerWorkspace()
    let expected = try expectedValues(ws)
    let want = env == "prod" ? expected.prod : expected.dev
    let workspace = try Workspace.open(ws)
    let source = KeySource(keyFile: "\(keys)/\(env).TEST-ONLY.key", environment: [:])
    let opened = try OpenOperation.run(
      workspace: workspace, environment: env, selector: .active, keys: source)
    #expect(opened.set.id == want.set_id)
    #expect(opened.appKey.testString == want.app_key)
    #expect(opened.appSecret.testString == want.app_secret)
    #expect(opened.set.fingerprints.appKey == want.fingerprints["app_key"])
    #expect(opened.set.fingerprints.appSecret == want.fingerprints["app_secret"])
    let env = try workspace.loadEnvironment(env)
    #expect(try PublicKey(base64: env.recipient.publicKey).fingerprint == want.key_id)
  }

  @Test("fingerprints recompute from the fixture's salt")
  func fingerprints() throws {
    let (ws, _) = try knownAnswerWorkspace()
    let expected = try expectedValues(ws)
    let f = try Workspace.open(ws).fingerprinter
    #expect(
      f.fingerprint(SecureBytes(unsafeString: expected.prod.app_key)) == expected.prod.fingerprints["app_key"]
    )
    #expect(
      f.fingerprint(SecureBytes(unsafeString: expected.prod.app_secret))
        == expected.prod.fingerprints["app_secret"])
  }

  /// PyNaCl is installed by .ci/run; in CI the test always runs (and fails if it is missing).
  static let canRunPython: Bool = {
    if ProcessInfo.processInfo.environment["CI"] != nil { return true }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import nacl.bindings"]
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
  }()

  @Test(
    "an independent reader written from FORMAT.md opens the fixture",
    .enabled(if: canRunPython, "needs python3 with PyNaCl (.ci/run installs it)"))
  func independentReader() throws {
    let (ws, keys) = try knownAnswerWorkspace()
    let reader = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Compat/kw1_reader.py").path
    for env in ["prod", "dev"] {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      p.arguments = ["python3", reader, ws, env, "\(keys)/\(env).TEST-ONLY.key"]
      let out = Pipe()
      p.standardOutput = out
      try p.run()
      let data = out.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      let decoded = try JSONDecoder().decode([String: [String: String]].self, from: data)
      let expected = try expectedValues(ws)
      let want = env == "prod" ? expected.prod : expected.dev
      #expect(decoded[want.set_id]?["app_key"] == want.app_key)
      #expect(decoded[want.set_id]?["app_secret"] == want.app_secret)
    }
  }
}
