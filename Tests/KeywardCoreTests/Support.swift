import Foundation
import TestFolders
import Testing

@testable import KeywardCore

/// A fresh folder under the system temporary directory (tests never touch $HOME), removed when
/// the test process exits.
func temporaryDirectory(_ tag: String = "t") throws -> String {
  guard let path = TestFolders.make(tag) else { throw KeywardError(.io, "mkdtemp failed") }
  return path
}

/// The committed known-answer workspace, copied to a temporary folder with key files made 0600
/// (git does not keep file modes).
func knownAnswerWorkspace() throws -> (workspace: String, keys: String) {
  let src = try #require(
    Bundle.module.url(forResource: "kat-v1", withExtension: nil, subdirectory: "Fixtures"))
  let dir = try temporaryDirectory("kat")
  let dst = "\(dir)/Environments"
  try FileManager.default.copyItem(atPath: src.path, toPath: dst)
  for name in try FileManager.default.contentsOfDirectory(atPath: dst) where name.hasSuffix(".key") {
    chmod("\(dst)/\(name)", 0o600)
  }
  return (dst, dst)
}

struct Expected: Decodable {
  struct Env: Decodable {
    var app_key: String
    var app_secret: String
    var set_id: String
    var key_id: String
    var fingerprints: [String: String]
  }
  var prod: Env
  var dev: Env
}

func expectedValues(_ ws: String) throws -> Expected {
  try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: "\(ws)/expected.json")))
}

extension SecureBytes {
  /// Test helper: the contents as a string (tests only; production code never does this).
  var testString: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

/// A workspace created through the core API, with its own key store.
struct ScratchWorkspace {
  let root: String
  let path: String
  let keysDir: String
  let table: [String: String]
  var environment: Env { Env(table) }

  init(envs: [String] = ["dev", "staging", "prod"], passphrase: SecureBytes? = nil) throws {
    root = try temporaryDirectory("ws")
    path = "\(root)/Environments"
    keysDir = "\(root)/keys"
    table = ["KEYWARD_KEYS_DIR": keysDir]
    _ = try InitOperation.run(
      .init(
        path: path, environments: envs, provider: .captchala, passphrase: passphrase, environment: environment
      ))
  }

  var workspace: Workspace { get throws { try Workspace.open(path) } }

  func keys(_ extra: [String: String] = [:]) -> KeySource {
    KeySource(environment: Env(table.merging(extra) { $1 }))
  }

  @discardableResult
  func set(_ env: String, _ key: String, _ secret: String, state: SetState = .active, replace: Bool = false)
    throws
    -> SetOperation.Report
  {
    try SetOperation.run(
      workspace: workspace, environment: env,
      input: SetInput(appKey: SecureBytes(unsafeString: key), appSecret: SecureBytes(unsafeString: secret)),
      state: state, replace: replace)
  }

  func open(_ env: String, _ selector: SetSelector = .active) throws -> OpenedSet {
    try OpenOperation.run(workspace: workspace, environment: env, selector: selector, keys: keys())
  }

  func keyPath(_ env: String) throws -> String {
    KeySource.storePath(workspaceID: try workspace.config.workspaceID, environment: env, env: environment)
  }

  func edit(_ env: String, _ change: (inout EnvironmentFile) -> Void) throws {
    let file = "\(path)/\(env).json"
    var e = try EnvironmentFile.parse(FileSystem.read(file), source: file)
    change(&e)
    try Data(JSONFiles.encode(e.json)).write(to: URL(fileURLWithPath: file))
  }
}

/// Expects a KeywardError of `kind` whose message contains every fragment.
func expectError(
  _ kind: KeywardError.Kind, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> Void
) {
  do {
    try body()
    Issue.record("expected a \(kind) error containing \(fragments)", sourceLocation: sourceLocation)
  } catch let e as KeywardError {
    #expect(e.kind == kind, "kind of: \(e.message)", sourceLocation: sourceLocation)
    for f in fragments {
      #expect(e.description.contains(f), "“\(f)” not in: \(e.description)", sourceLocation: sourceLocation)
    }
  } catch {
    Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
  }
}

/// A small seeded generator (a 64-bit LCG) for the property tests: the same seed gives the same
/// cases on every run and machine.
struct SeededRng {
  var state: UInt64
  mutating func next(_ n: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(n))
  }
  mutating func pick<T>(_ a: [T]) -> T { a[next(a.count)] }
  mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(next(256)) } }
  /// `b` with one printable byte replaced, removed or inserted at a random place.
  mutating func mutated(_ b: [UInt8]) -> [UInt8] {
    var b = b
    let at = next(b.count)
    switch next(3) {
    case 0: b[at] = UInt8(32 + next(95))
    case 1: b.remove(at: at)
    default: b.insert(UInt8(32 + next(95)), at: at)
    }
    return b
  }
}
