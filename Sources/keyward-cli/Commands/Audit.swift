import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Audit: ParsableCommand, ReportsErrors {
    typealias Format = AuditFormat

    static let configuration = CommandConfiguration(
      commandName: "audit",
      abstract:
        "The security report over the whole workspace, and the audit trail's integrity (no private key).",
      discussion: """
        Verifies the team trail (Environments/trail/: every entry's id, the links between entries, \
        signatures, checkpoints, the version-1 audit.jsonl it anchors, and the heads this machine \
        saw before) and that every environment file is in a state some entry announced. Names each \
        signer by the signed state's member name. Per environment: the sets, their ages against the \
        policy, the last verification and export, the recipient key, and the findings of keyward \
        check. --full verifies the signatures of checkpointed entries too; --git walks the \
        repository's history (every entry of a parent commit must survive in its child; the signed \
        state's version never goes down). Exit 4 when the trail is broken or cut or a file is \
        unannounced, 3 when --git cannot see the whole history (a shallow clone), 1 when a finding \
        reaches --fail-on, else 0.
        """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "text, json, markdown or sarif.")
    var format: Format = .text

    @Option(name: .long, help: "The lowest severity that fails: note, warning or error.")
    var failOn: Severity = .error

    @Flag(
      name: .long,
      help: "Exit 0 when findings reach --fail-on (a report step in CI); integrity failures (4) still fail.")
    var exitZero = false

    @Option(name: .long, help: "Also write the findings as SARIF 2.1.0 to this file (one run, two outputs).")
    var sarif: String?

    @Flag(name: .long, help: "Verify every entry's signature, checkpointed ones too.")
    var full = false

    @Flag(
      name: .long,
      help: "Walk the git history: no commit may remove trail entries or lower the state's version.")
    var git = false

    var errorPrinter: Printer { Printer(common.settings.with(json: format == .json)) }

    var request: AuditRequest {
      AuditRequest(
        settings: common.settings, format: format, failOn: failOn, exitZero: exitZero, sarif: sarif,
        full: full,
        git: git)
    }

    func run() throws { try request.run().end() }
  }
}
