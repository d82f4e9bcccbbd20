import Foundation
import Testing

/// The built binary against a real emulator process over loopback: no mocked HTTP.
@Suite("verify against the emulator")
struct VerifyTests {
  static let pairs: [String: (key: String, secret: String)] = [
    "good": ("ck_live_good_1", "cs_live_good_SECRET_1"),
    "swapped": ("cs_live_good_SECRET_2", "ck_live_good_2"),
    "badkey": ("ck_live_unknown", "cs_live_SECRET_x"),
    "badsecret": ("ck_live_good_3", "cs_live_WRONG_SECRET"),
    "off": ("ck_live_off", "cs_live_off_SECRET"),
  ]
  static let known = [
    "--pair", "ck_live_good_1:cs_live_good_SECRET_1", "--pair", "ck_live_good_2:cs_live_good_SECRET_2",
    "--pair",
    "ck_live_good_3:cs_live_good_SECRET_3", "--pair", "ck_live_off:cs_live_off_SECRET", "--disabled",
    "ck_live_off",
  ]

  @Test(
    "every credential verdict, whatever shape the credential error takes",
    arguments: ["error", "msg", "data-error", "http-401"])
  func verdicts(shape: String) throws {
    let cli = try CLI()
    try cli.workspace(Self.pairs)
    let emulator = try EmulatorProcess(cli, Self.known + ["--credential-error-shape", shape])
    let (status, verdicts, doc) = try cli.verify(["--endpoint", emulator.url])
    #expect(
      verdicts == [
        "good": "valid", "swapped": "swapped", "badkey": "invalid-key", "badsecret": "invalid-secret",
        "off": "disabled",
      ])
    #expect(status == 1)
    #expect(doc["schema_version"] as? Int == 2)
    let results = try #require(doc["results"] as? [[String: Any]])
    let badkey = try #require(results.first { $0["environment"] as? String == "badkey" })
    let evidence = try #require((badkey["evidence"] as? [[String: Any]])?.first)
    #expect(evidence["inferred"] as? Bool == true)
    #expect(evidence["provider_error"] as? String == "invalid_app_key")
    #expect((evidence["request_id"] as? String)?.hasPrefix("kw-") == true)
    #expect(evidence["endpoint"] as? String == emulator.url + "/v1/validate")
  }

  @Test("emulate --from-workspace: two environments sharing an App Key each verify with their own secret")
  func sharedAppKey() throws {
    let cli = try CLI()
    try cli.workspace([
      "staging": ("ck_live_shared_1", "cs_live_shared_SECRET_stg"),
      "prod": ("ck_live_shared_1", "cs_live_shared_SECRET_prd"),
    ])
    let emulator = try EmulatorProcess(cli, ["--from-workspace"])
    let (status, verdicts, _) = try cli.verify(["--endpoint", emulator.url])
    #expect(status == 0 && verdicts == ["prod": "valid", "staging": "valid"], "\(verdicts)")
  }

  @Test(
    "emulate --from-workspace after a rotate: the pending set is known and verifies (it was refused as unactivated)"
  )
  func pendingFromWorkspace() throws {
    let cli = try CLI()
    try cli.expect(0, ["identity", "new", "--name", "alice"])  // a trusted workspace: activations count
    try cli.workspace(["prod": Self.pairs["good"]!])
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_rotated_1\ncs_live_ROTATED_secret_1\n")
    let emulator = try EmulatorProcess(cli, ["--from-workspace"])
    let (status, verdicts, _) = try cli.verify(["prod", "--set", "pending", "--endpoint", emulator.url])
    #expect(status == 0 && verdicts == ["prod": "valid"], "\(verdicts)")
  }

  @Test("all valid exits 0, and the result is recorded for list; --no-record changes nothing")
  func recorded() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let emulator = try EmulatorProcess(cli, Self.known)
    let prodBefore = try Data(contentsOf: URL(fileURLWithPath: cli.workspace + "/prod.json"))
    let trailBefore = try FileManager.default.contentsOfDirectory(atPath: cli.workspace + "/trail/entries")
    let (dry, dryVerdicts, _) = try cli.verify(["prod", "--endpoint", emulator.url, "--no-record"])
    #expect(dry == 0 && dryVerdicts == ["prod": "valid"])
    #expect(try Data(contentsOf: URL(fileURLWithPath: cli.workspace + "/prod.json")) == prodBefore)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: cli.workspace + "/trail/entries") == trailBefore)
    let (status, verdicts, _) = try cli.verify(["prod", "--endpoint", emulator.url])
    #expect(status == 0 && verdicts == ["prod": "valid"])
    let list = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    let env = try #require((list["environments"] as? [[String: Any]])?.first)
    let set = try #require((env["sets"] as? [[String: Any]])?.first)
    let last = try #require(set["last_verification"] as? [String: Any])
    #expect(last["verdict"] as? String == "valid")
    let verified = try cli.trailRecords().filter { $0["action"] as? String == "verify" }
    #expect(verified.count == 1 && verified[0]["verdict"] as? String == "valid", "\(verified)")
  }

  @Test("an endpoint that passes any token is flagged")
  func acceptsAnyToken() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let emulator = try EmulatorProcess(cli, Self.known + ["--accept-any-token"])
    let (status, verdicts, _) = try cli.verify(["--endpoint", emulator.url])
    #expect(verdicts == ["prod": "accepts-any-token"] && status == 1)
  }

  @Test(
    "faults are inconclusive, never valid, and exit 3",
    arguments: [
      (["--fault", "html"], "unexpected-response"),
      (["--fault", "malformed"], "unexpected-response"),
      (["--fault", "5xx"], "unexpected-response"),
      (["--fault", "429", "--retry-after", "1"], "rate-limited"),
      (["--fault", "429", "--retry-after=-1"], "rate-limited"),
      (["--fault", "hang"], "unreachable"),
    ])
  func faults(args: [String], verdict: String) throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let emulator = try EmulatorProcess(cli, Self.known + args)
    let (status, verdicts, doc) = try cli.verify([
      "--endpoint", emulator.url, "--timeout", "1", "--retries", "1",
    ])
    #expect(verdicts == ["prod": verdict])
    #expect(status == 3)
    let evidence = try #require(
      ((doc["results"] as? [[String: Any]])?.first?["evidence"] as? [[String: Any]])?.first)
    if verdict != "unreachable" { #expect(evidence["http_status"] != nil) }
  }

  @Test(
    "transient faults are retried; Retry-After is honoured",
    arguments: [
      ["--fault", "5xx", "--fault-first", "1"],
      ["--fault", "429", "--retry-after", "1", "--fault-first", "1"],
    ])
  func retried(args: [String]) throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let emulator = try EmulatorProcess(cli, Self.known + args)
    let started = Date()
    let (status, verdicts, doc) = try cli.verify(["--endpoint", emulator.url, "--timeout", "3"])
    #expect(verdicts == ["prod": "valid"] && status == 0)
    let evidence = try #require(
      ((doc["results"] as? [[String: Any]])?.first?["evidence"] as? [[String: Any]])?.first)
    #expect(evidence["attempts"] as? Int == 2)
    if args.contains("429") { #expect(Date().timeIntervalSince(started) >= 1.0) }
  }

  @Test("nothing listening is unreachable (exit 3)")
  func unreachable() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let (status, verdicts, _) = try cli.verify([
      "--endpoint", "http://127.0.0.1:9", "--timeout", "1", "--retries", "1",
    ])
    #expect(verdicts == ["prod": "unreachable"] && status == 3)
  }

  @Test(
    "CI: an environment whose key is not here is skipped (naming it is exit 4); a set that will not open is its own error row, the rest verified, exit 4"
  )
  func partialKeys() throws {
    let cli = try CLI()
    try cli.workspace(["dev": Self.pairs["good"]!, "prod": ("ck_live_good_2", "cs_live_good_SECRET_2")])
    let emulator = try EmulatorProcess(cli, Self.known)
    try FileManager.default.moveItem(atPath: try cli.keyPath("dev"), toPath: cli.root + "/dev.key.away")
    let (status, verdicts, doc) = try cli.verify(["--endpoint", emulator.url])
    #expect(status == 0 && verdicts == ["prod": "valid"], "\(doc)")
    #expect((doc["skipped"] as? [[String: Any]])?.first?["environment"] as? String == "dev")
    let (named, _, _) = try cli.verify(["dev", "--endpoint", emulator.url])
    #expect(named == 4)
    // A pending set of prod whose App Key ciphertext was replaced by its App Secret's: it does not open.
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_good_3\ncs_live_good_SECRET_3\n")
    CLI.registerSecret("cs_live_good_SECRET_3")
    let path = cli.workspace + "/prod.json"
    var env = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    var sets = try #require(env["sets"] as? [[String: Any]])
    let i = try #require(sets.firstIndex { $0["state"] as? String == "pending" })
    sets[i]["app_key"] = sets[i]["app_secret"]
    env["sets"] = sets
    try JSONSerialization.data(withJSONObject: env, options: [.prettyPrinted, .sortedKeys]).write(
      to: URL(fileURLWithPath: path))
    let (broken, brokenVerdicts, brokenDoc) = try cli.verify([
      "prod", "--endpoint", emulator.url, "--no-record",
    ])
    #expect(broken == 4 && brokenVerdicts == ["prod": "valid"], "\(brokenDoc)")
    #expect((brokenDoc["errors"] as? [[String: Any]])?.count == 1)
  }

  @Test("an inconclusive verdict never replaces a decisive one: promote and list still see valid")
  func inconclusiveKeepsDecisive() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    try cli.expect(0, ["rotate", "prod", "--stdin"], stdin: "ck_live_good_3\ncs_live_good_SECRET_3\n")
    CLI.registerSecret("cs_live_good_SECRET_3")
    let emulator = try EmulatorProcess(cli, Self.known)
    let (ok, _, _) = try cli.verify(["prod", "--set", "pending", "--endpoint", emulator.url])
    #expect(ok == 0)
    let (down, verdicts, _) = try cli.verify([
      "prod", "--set", "pending", "--endpoint", "http://127.0.0.1:9", "--timeout", "1", "--retries", "1",
    ])
    #expect(down == 3 && verdicts == ["prod": "unreachable"])
    let list = try cli.json(try cli.expect(0, ["list", "--format", "json"]))
    let sets = ((list["environments"] as? [[String: Any]])?.first?["sets"] as? [[String: Any]]) ?? []
    let pending = try #require(sets.first { $0["state"] as? String == "pending" })
    #expect((pending["last_verification"] as? [String: Any])?["verdict"] as? String == "valid", "\(pending)")
    let file = try String(contentsOfFile: cli.workspace + "/prod.json", encoding: .utf8)
    #expect(file.contains("\"last_attempt\"") && file.contains("unreachable"))
    try cli.expect(0, ["promote", "prod"])  // the gate sees the decisive valid
  }

  @Test(
    "siteverify providers: valid, invalid secret, swapped, any-token",
    arguments: [
      ("recaptcha", "/recaptcha/api/siteverify"), ("hcaptcha", "/siteverify"),
      ("turnstile", "/turnstile/v0/siteverify"),
    ])
  func siteverify(provider: String, path: String) throws {
    let cli = try CLI()
    try cli.workspace(
      [
        "good": ("site_key_1", "secret_key_1"), "badsecret": ("site_key_1", "secret_key_WRONG"),
        "swapped": ("secret_key_2", "site_key_2"),
      ], provider: provider)
    let emulator = try EmulatorProcess(
      cli, ["--pair", "site_key_1:secret_key_1", "--pair", "site_key_2:secret_key_2"])
    let (status, verdicts, _) = try cli.verify(["--endpoint", emulator.url + path])
    #expect(verdicts == ["good": "valid", "badsecret": "invalid-secret", "swapped": "swapped"])
    #expect(status == 1)
    let any = try EmulatorProcess(cli, ["--pair", "site_key_1:secret_key_1", "--accept-any-token"])
    #expect(try cli.verify(["good", "--endpoint", any.url + path]).1 == ["good": "accepts-any-token"])
  }

  @Test("hCaptcha checks the site key too: a secret that is not this site key's is a bad secret")
  func hcaptchaMismatch() throws {
    let cli = try CLI()
    try cli.workspace(["prod": ("site_key_OTHER", "secret_key_1")], provider: "hcaptcha")
    let emulator = try EmulatorProcess(cli, ["--pair", "site_key_1:secret_key_1"])
    #expect(try cli.verify(["--endpoint", emulator.url + "/siteverify"]).1 == ["prod": "invalid-secret"])
  }

  @Test("a provider's public test secret in production is a finding")
  func testSecret() throws {
    let cli = try CLI()
    try cli.workspace(
      ["prod": ("1x00000000000000000000AA", "1x0000000000000000000000000000000AA")], provider: "turnstile")
    let emulator = try EmulatorProcess(
      cli, ["--pair", "1x00000000000000000000AA:1x0000000000000000000000000000000AA", "--accept-any-token"])
    let (status, _, doc) = try cli.verify(["--endpoint", emulator.url + "/turnstile/v0/siteverify"])
    #expect(status == 1)
    #expect((doc["results"] as? [[String: Any]])?.first?["test_credential"] as? Bool == true)
  }

  @Test("concurrency is bounded and every set gets a verdict")
  func many() throws {
    let cli = try CLI()
    var sets = [String: (key: String, secret: String)]()
    for i in 0..<12 { sets["e\(i)"] = Self.pairs["good"]! }
    try cli.expect(0, ["init", "--envs", sets.keys.sorted().joined(separator: ",")])
    for env in sets.keys {
      try cli.expect(0, ["set", env, "--stdin"], stdin: "ck_live_good_1\ncs_live_good_SECRET_1\n")
    }
    let emulator = try EmulatorProcess(cli, Self.known + ["--latency", "200"])
    let started = Date()
    let (status, verdicts, _) = try cli.verify(["--endpoint", emulator.url, "--concurrency", "4"])
    let elapsed = Date().timeIntervalSince(started)
    #expect(status == 0 && verdicts.count == 12 && Set(verdicts.values) == ["valid"])
    #expect(elapsed >= 0.6, "12 sets at 4 at a time and 200 ms each take at least 3 rounds")
  }

  @Test("credentials never go over plain http beyond this machine")
  func plainHTTP() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let r = try cli.run(["verify", "--endpoint", "http://captcha.example.invalid"])
    #expect(r.status == 2 && r.stderr.contains("refusing to send credentials over plain http"))
    #expect(try cli.run(["verify", "--endpoint", "ftp://x"]).status == 2)
  }

  @Test("a server that quotes the credentials back does not get them into the evidence")
  func scrubbed() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    let emulator = try EmulatorProcess(cli, Self.known + ["--fault", "html"])
    // The HTML fault page does not echo; the unit test of Verifier.redact covers echoing servers.
    let (_, _, doc) = try cli.verify(["--endpoint", emulator.url, "--retries", "0"])
    let text = String(describing: doc)
    #expect(!text.contains(Self.pairs["good"]!.secret))
  }

  @Test("usage: bad numbers and unknown environments")
  func usage() throws {
    let cli = try CLI()
    try cli.workspace(["prod": Self.pairs["good"]!])
    try cli.expect(64, ["verify", "--concurrency", "0"])
    try cli.expect(64, ["verify", "--timeout", "inf"])
    try cli.expect(2, ["verify", "nope", "--endpoint", "http://127.0.0.1:9"])
  }
}

/// The exact requests the official Go and PHP SDKs send, answered as those SDKs expect.
@Suite("emulator interoperability with the official SDKs' requests")
struct SDKInteropTests {
  @Test("validate, reuse, challenge issue and credential errors, as the SDKs send and read them")
  func sdkRequests() throws {
    let cli = try CLI()
    let emulator = try EmulatorProcess(cli, ["--pair", "ck_sdk_1:cs_sdk_SECRET_1"])
    let run = try CLI.python([
      CLI.packageRoot + "/Tests/Compat/sdk_requests.py", emulator.url, "ck_sdk_1", "cs_sdk_SECRET_1",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let data = Data(run.stdout.utf8)
    let results = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
    #expect(results["go.validate.solved"] == "valid")
    #expect(results["go.validate.reused"] == "invalid:token_consumed")
    #expect(results["php.validate.unknown"] == "invalid:invalid_token")
    #expect(results["php.validate.keep_token"] == "valid")
    #expect(results["php.validate.after_keep"] == "valid")
    #expect(results["wordpress.issue"]?.hasPrefix("sct_") == true)
    #expect(results["flarum.issue"]?.hasPrefix("sct_") == true)
    #expect(results["php.validate.bad_secret"] == "invalid:invalid_app_secret")
    #expect(results["php.issue.bad_key"] == "error:invalid_app_key")
    #expect(results["go.validate.bad_key"] == "invalid:invalid_app_key")
    // The Go SDK's routes by prefix: offline_ at the backup route only; dg_ read as degraded;
    // client_ accepted with no request by the SDK, and unknown to the server when sent anyway.
    #expect(results["go.offline.solved"] == "valid:offline")
    #expect(results["go.offline.at_main"] == "invalid:invalid_token")
    #expect(results["go.pass.at_backup"] == "invalid:invalid_token")
    #expect(results["go.degraded"] == "degraded:quota_exhausted")
    #expect(results["go.client.no_request"] == "valid:client-only")
    #expect(results["go.client.sent_anyway"] == "invalid:invalid_token")
  }

  @Test("degraded mode and a failover: the main route fails, the backup route answers offline_ tokens")
  func degradedFailover() throws {
    let cli = try CLI()
    let emulator = try EmulatorProcess(
      cli,
      [
        "--pair", "ck_sdk_2:cs_sdk_SECRET_2", "--degraded", "--degraded-reason", "app_quota",
        "--fault", "5xx", "--fault-route", "main",
      ])
    let failover = try CLI.python([
      CLI.packageRoot + "/Tests/Compat/sdk_requests.py", emulator.url, "ck_sdk_2", "cs_sdk_SECRET_2",
      "failover",
    ])
    let data = Data(failover.stdout.utf8)
    let results = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
    #expect(results["failover.default_kind"] == "dg_")
    #expect(results["failover.main"] == "request_failed")
    #expect(results["failover.backup"] == "valid:offline")
    // Without the fault the degraded token gets the degraded answer with the reason given.
    let calm = try EmulatorProcess(
      cli, ["--pair", "ck_sdk_2:cs_sdk_SECRET_2", "--degraded", "--degraded-reason", "app_quota"])
    let calmRun = try CLI.python([
      CLI.packageRoot + "/Tests/Compat/sdk_requests.py", calm.url, "ck_sdk_2", "cs_sdk_SECRET_2", "failover",
    ])
    let data2 = Data(calmRun.stdout.utf8)
    let calmResults = try #require(try JSONSerialization.jsonObject(with: data2) as? [String: String])
    #expect(calmResults["failover.main"] == "degraded:app_quota")
    try cli.expect(64, ["emulate", "--degraded", "--degraded-reason", "a b"])
  }

  @Test("siteverify routes take only pass tokens; solve refuses an oversized action")
  func siteverifyKinds() throws {
    let cli = try CLI()
    let emulator = try EmulatorProcess(cli, ["--pair", "ck_sv_1:cs_sv_SECRET_1"])
    let code = """
      import json, sys, urllib.request, urllib.parse
      base = sys.argv[1]
      def solve(kind, action="login"):
          body = json.dumps({"app_key": "ck_sv_1", "action": action, "kind": kind}).encode()
          try:
              with urllib.request.urlopen(urllib.request.Request(base + "/__emulator/solve", data=body, method="POST")) as r:
                  return json.loads(r.read())["pass_token"]
          except urllib.error.HTTPError as e:
              return "HTTP %d" % e.code
      out = {}
      for kind in ["pass", "client", "degraded", "offline"]:
          for route in ["/turnstile/v0/siteverify", "/siteverify", "/recaptcha/api/siteverify"]:
              form = urllib.parse.urlencode({"secret": "cs_sv_SECRET_1", "response": solve(kind)}).encode()
              with urllib.request.urlopen(urllib.request.Request(base + route, data=form, method="POST")) as r:
                  out[kind + route] = json.loads(r.read())["success"]
      out["long_action"] = solve("pass", "x" * 200)
      print(json.dumps(out))
      """
    let r = try CLI.python(["-c", code, emulator.url])
    let results = try #require(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
    for (name, value) in results where name != "long_action" {
      #expect((value as? Bool) == name.hasPrefix("pass/"), "\(name): \(value)")
    }
    #expect(results["long_action"] as? String == "HTTP 400")
    // A percent sign not followed by two hex digits is a literal ("%+1" is not the byte 0x01).
    let literal = try EmulatorProcess(cli, ["--pair", "ck_pc_1:cs_pc_SECRET% 1"])
    let form = """
      import json, sys, urllib.request
      base = sys.argv[1]
      body = json.dumps({"app_key": "ck_pc_1", "action": "login"}).encode()
      with urllib.request.urlopen(urllib.request.Request(base + "/__emulator/solve", data=body, method="POST")) as r:
          token = json.loads(r.read())["pass_token"]
      data = ("secret=cs_pc_SECRET%+1&response=" + token).encode()
      with urllib.request.urlopen(urllib.request.Request(base + "/turnstile/v0/siteverify", data=data, method="POST")) as r:
          print(json.loads(r.read())["success"])
      """
    #expect(try CLI.python(["-c", form, literal.url]).stdout == "True\n")
  }
}
