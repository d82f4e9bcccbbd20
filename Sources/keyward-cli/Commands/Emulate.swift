import ArgumentParser
import KeywardCLIKit
import KeywardCore
import KeywardEmulator

extension EmulatorConfig.CredentialErrorShape: ExpressibleByArgument {}
extension EmulatorConfig.Fault: ExpressibleByArgument {}
extension EmulatorConfig.FaultRoute: ExpressibleByArgument {}

extension Keyward {
  struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "emulate",
      abstract: "Run a local server that speaks the providers' validate protocols, for tests, demos and CI.",
      discussion: """
        Serves CaptchaLa's POST /v1/validate and /v1/server/challenge/issue (headers X-App-Key, \
        X-App-Secret) and the siteverify routes of reCAPTCHA (/recaptcha/api/siteverify), hCaptcha \
        (/siteverify) and Turnstile (/turnstile/v0/siteverify). It knows the pairs given by \
        --pairs FILE (JSON [{"app_key", "app_secret", "disabled"}]), --pair KEY:SECRET (throwaway \
        test credentials only: values in argv are visible to other users of the machine), or \
        --from-workspace (decrypts the workspace's sets). Test route: POST /__emulator/solve \
        {"app_key": …, "action": …} returns a single-use pt_ token, as solving the widget would; \
        "kind": "offline" gives an offline_ token, which only the backup route POST /api/validate \
        accepts (where the official Go SDK sends them), "degraded" a dg_ token, answered \
        {"valid": false, "degraded": true, "reason": …} (the default kind with --degraded), \
        "client" a client_ token, which no server validates. --fault-route main fails only \
        /v1/validate, to test a failover to the backup route.
        The first line on stdout is "listening on http://HOST:PORT". Stops on SIGINT or SIGTERM.
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var keys: KeyOptions

    @Option(name: .long, help: "Address to bind (loopback by default).")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port (0: any free port; the first line says which).")
    var port: Int = 8787

    @Option(
      name: .long, help: "A JSON file of pairs: [{\"app_key\": …, \"app_secret\": …, \"disabled\": false}].")
    var pairs: String?

    @Option(name: .long, help: "A throwaway test pair KEY:SECRET (repeatable).")
    var pair: [String] = []

    @Flag(name: .long, help: "Know every set of the workspace (needs the environments' private keys).")
    var fromWorkspace = false

    @Option(name: .long, help: "App Keys to answer app_disabled for (repeatable).")
    var disabled: [String] = []

    @Option(
      name: .long,
      help:
        "Where credential errors appear: error (default; as in the SDKs' fixtures), msg, data-error, http-401."
    )
    var credentialErrorShape: EmulatorConfig.CredentialErrorShape = .error

    @Option(name: .long, help: "Inject a fault: none, html, malformed, 5xx, 429, hang.")
    var fault: EmulatorConfig.Fault = .none

    @Option(name: .long, help: "Probability a request gets the fault (0...1).")
    var faultRate: Double = 1

    @Option(name: .long, help: "Only the first N provider requests get the fault.")
    var faultFirst: Int?

    @Option(name: .long, help: "Retry-After seconds for the 429 fault.")
    var retryAfter: Int = 1

    @Option(name: .long, help: "Latency to add to every answer (ms).")
    var latency: Int = 0

    @Option(name: .long, help: "Random extra latency, 0...N ms.")
    var jitter: Int = 0

    @Flag(name: .long, help: "Accept any token, as providers' test keys do.")
    var acceptAnyToken = false

    @Flag(
      name: .long, help: "Degraded mode (quota exhausted): solving gives dg_ tokens, answered as degraded.")
    var degraded = false

    @Option(name: .long, help: "The reason degraded answers give.")
    var degradedReason = "quota_exhausted"

    @Option(
      name: .long, help: "Which routes get the fault: all, main (/v1/validate) or backup (/api/validate).")
    var faultRoute: EmulatorConfig.FaultRoute = .all

    func validate() throws {
      if !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535 (0: any free port)") }
      if !(faultRate >= 0 && faultRate <= 1) { throw ValidationError("--fault-rate must be 0...1") }
      if degradedReason.isEmpty || degradedReason.utf8.count > 64
        || !degradedReason.utf8.allSatisfy({
          ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f
        })
      {
        throw ValidationError("--degraded-reason must be 1-64 characters of a-z, 0-9 and _")
      }
      if let faultFirst, !(0...1_000_000).contains(faultFirst) {
        throw ValidationError("--fault-first must be 0...1000000")
      }
      // Negative values are allowed: the emulator sends them to test clients' handling of a bad header.
      if !(-86_400...86_400).contains(retryAfter) {
        throw ValidationError("--retry-after must be -86400...86400 seconds")
      }
      for (flag, ms) in [("--latency", latency), ("--jitter", jitter)] where !(0...600_000).contains(ms) {
        throw ValidationError("\(flag) must be 0...600000 ms")
      }
    }

    func run() async throws {
      var config = EmulatorConfig()
      config.pairs = try loadPairs()
      for i in config.pairs.indices where disabled.contains(config.pairs[i].appKey) {
        config.pairs[i].disabled = true
      }
      config.credentialErrorShape = credentialErrorShape
      config.fault = fault
      config.faultRate = faultRate
      config.faultFirst = faultFirst
      config.retryAfterSeconds = retryAfter
      config.latencyMs = latency
      config.jitterMs = jitter
      config.acceptAnyToken = acceptAnyToken
      config.degradedReason = degraded ? degradedReason : nil
      config.faultRoute = faultRoute
      let p = Printer(common.settings)
      if host != "127.0.0.1" && host != "::1" && host != "localhost" && !common.quiet {
        p.note(
          "keyward: warning: binding \(host), not loopback: the emulator is reachable from the network\n")
      }
      let quiet = common.quiet
      let pairCount = config.pairs.count
      try await EmulatorServer.run(emulator: Emulator(config: config), host: host, port: port) { bound in
        Printer.write(1, "listening on http://\(host):\(bound)\n")
        if !quiet {
          Printer.write(2, "keyward emulator: \(pairCount) pair(s); stop with Ctrl-C\n")
        }
      }
    }

    func loadPairs() throws -> [EmulatorConfig.Pair] {
      var out = [EmulatorConfig.Pair]()
      for text in pair {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex,
          colon != text.index(before: text.endIndex)
        else { throw ValidationError("--pair takes KEY:SECRET") }
        out.append(
          .init(appKey: String(text[..<colon]), appSecret: String(text[text.index(after: colon)...])))
      }
      if let pairs {
        let bytes = try FileSystem.readInput(pairs)
        guard case .array(let items) = try JSONValue.parse(bytes, source: pairs) else {
          throw KeywardError(.input, "\(pairs): expected a list of {\"app_key\", \"app_secret\"} objects")
        }
        for (i, item) in items.enumerated() {
          let o = try JSONObject(item, path: "[\(i)]", source: pairs)
          var disabled = false
          if o.members["disabled"] != nil { disabled = try o.bool("disabled") }
          out.append(
            .init(appKey: try o.string("app_key"), appSecret: try o.string("app_secret"), disabled: disabled))
        }
      }
      if fromWorkspace {
        let ws = try common.settings.openWorkspace()
        let source = keys.source()
        for env in try ws.loadAll() {
          for set in env.sets {
            // The values stay on this machine (a loopback emulator), as `show`'s do: a pending set
            // opens without an activation (the review found a normal rotate refused here).
            let o = try OpenOperation.run(
              workspace: ws, environment: env.environment, selector: .id(set.id), keys: source, deploys: false
            )
            out.append(
              .init(
                appKey: o.appKey.withUnsafeBytes { String(decoding: $0, as: UTF8.self) },
                appSecret: o.appSecret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
          }
        }
      }
      if out.isEmpty {
        throw KeywardError(
          .usage, "the emulator knows no pairs",
          hint: "give --pairs FILE, --pair KEY:SECRET or --from-workspace")
      }
      return out
    }
  }
}
