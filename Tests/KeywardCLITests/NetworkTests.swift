import Foundation
import Testing

/// A helper server process (Python, from Tests/Compat) on loopback, stopped when released.
final class ScriptServer {
  let process: Process
  let url: String

  init(_ script: String, _ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", CLI.packageRoot + "/Tests/Compat/" + script] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    var line = [UInt8]()
    while true {
      let b = out.fileHandleForReading.readData(ofLength: 1)
      if b.isEmpty || b.first == 0x0a { break }
      line.append(b.first!)
    }
    let text = String(decoding: line, as: UTF8.self)
    guard text.hasPrefix("listening on ") else {
      p.terminate()
      throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(script) said: \(text)"])
    }
    process = p
    url = String(text.dropFirst("listening on ".count))
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

@Suite("HTTPS trust and proxies")
struct NetworkTests {
  @Test("certificates are always verified; --ca-file and KEYWARD_CA_FILE add a trust root")
  func tls() throws {
    let cli = try CLI()
    try cli.workspace(["prod": ("ck_live_tls", "cs_live_tls_SECRET")])
    let server = try ScriptServer("tls_server.py", [cli.root])
    let (untrusted, verdicts, doc) = try cli.verify([
      "--endpoint", server.url, "--retries", "0", "--timeout", "3",
    ])
    #expect(untrusted == 3 && verdicts == ["prod": "unreachable"])
    let note =
      ((doc["results"] as? [[String: Any]])?.first?["evidence"] as? [[String: Any]])?.first?["note"]
      as? String
    #expect(note?.contains("TLS") == true, "\(note ?? "")")
    let (trusted, v2, _) = try cli.verify(["--endpoint", server.url, "--ca-file", cli.root + "/ca.pem"])
    #expect(trusted == 0 && v2 == ["prod": "valid"])
    let viaEnv = try cli.run(
      ["verify", "--endpoint", server.url], env: ["KEYWARD_CA_FILE": cli.root + "/ca.pem"])
    #expect(viaEnv.status == 0)
    try "not a certificate".write(toFile: cli.root + "/bad.pem", atomically: false, encoding: .utf8)
    let bad = try cli.run(["verify", "--endpoint", server.url, "--ca-file", cli.root + "/bad.pem"])
    #expect(bad.status == 2 && bad.stderr.contains("bad.pem"))
  }

  @Test("HTTPS_PROXY carries the requests through a CONNECT tunnel; NO_PROXY bypasses it; loopback never")
  func proxy() throws {
    let cli = try CLI()
    try cli.workspace(["prod": ("ck_live_px", "cs_live_px_SECRET")])
    let server = try ScriptServer("tls_server.py", [cli.root])
    let port = try #require(server.url.split(separator: ":").last.flatMap { Int($0.filter(\.isNumber)) })
    // A name only the test proxy knows (it tunnels *.keyward.test to 127.0.0.1): a loopback
    // address is never proxied, so a proxied request must name another host.
    let endpoint = "https://api.keyward.test:\(port)"
    let log = cli.root + "/proxy.log"
    let proxy = try ScriptServer("connect_proxy.py", [log])
    let ca = ["--ca-file", cli.root + "/ca.pem", "--retries", "0", "--timeout", "3"]
    let proxied = try cli.run(["verify", "--endpoint", endpoint] + ca, env: ["HTTPS_PROXY": proxy.url])
    #expect(proxied.status == 0, "\(proxied.all)")
    let tunnels = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(tunnels.contains("CONNECT api.keyward.test:\(port)"))
    try "".write(toFile: log, atomically: false, encoding: .utf8)
    // NO_PROXY: straight to a name nothing resolves, so unreachable, and the proxy saw nothing.
    let bypassed = try cli.run(
      ["verify", "--endpoint", endpoint] + ca, env: ["HTTPS_PROXY": proxy.url, "NO_PROXY": ".keyward.test"])
    #expect(bypassed.status == 3, "\(bypassed.all)")
    #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty)
    // Loopback is never proxied, whatever the variables say.
    let emulator = try EmulatorProcess(cli, ["--pair", "ck_live_px:cs_live_px_SECRET"])
    let direct = try cli.run(
      ["verify", "--endpoint", emulator.url], env: ["HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url])
    #expect(direct.status == 0, "\(direct.all)")
    #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty)
  }
}
