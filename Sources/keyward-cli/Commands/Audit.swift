import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Audit: ParsableCommand, ReportsErrors {
    enum Format: String, ExpressibleByArgument, CaseIterable {
      case text, json, markdown, sarif
    }

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

    func run() throws {
      let workspace = try common.settings.openWorkspace()
      Stopwatch.lap("audit: workspace opened")
      let report = try AuditReport.run(workspace: workspace, full: full, words: Advice.words)
      var history: TrailHistory.Report? = nil
      if git { history = try TrailHistory.walk(workspace: workspace) }
      let p = Printer(common.settings)
      let all =
        report.environments.flatMap(\.findings) + report.workspaceFindings + (history?.findings ?? [])
      if let sarif {
        try Keyward.writeSARIF(
          SARIF.document(all, workspace: workspace, version: KeywardVersion.current), to: sarif)
      }
      switch format {
      case .json:
        var r = report
        r.git = history
        p.document(r)
      case .markdown: p.out(AuditReport.markdown(report))
      case .sarif:
        p.out(
          String(
            decoding: SARIF.document(all, workspace: workspace, version: KeywardVersion.current).written(),
            as: UTF8.self))
      case .text:
        let t = report.trail
        var out =
          t.intact
          ? "Audit trail: intact, \(t.entries) entries (\(t.signed) signed and verified, \(t.attested) attested by \(t.checkpoints) checkpoint(s), \(t.unsigned) unsigned\(t.v1Entries > 0 ? ", \(t.v1Entries) in audit.jsonl" : ""))\n"
          : p.style("Audit trail: BROKEN: \(t.problem ?? "")\n", .red)
        if !t.heads.isEmpty {
          out += "  heads: \(t.heads.map { String($0.prefix(12)) }.joined(separator: ", "))\n"
        }
        for s in t.signers { out += "  signed by \(s.name) (\(s.fingerprint)): \(s.entryCount)\n" }
        if let history {
          out +=
            "Git history: \(history.commits) commits walked\(history.shallow ? " (SHALLOW CLONE: the history is incomplete)" : ""), \(history.findings.count) problem(s)\n"
          for f in history.findings { out += "  \(f.severity.rawValue) \(f.id): \(f.message)\n" }
        }
        for e in report.environments {
          out +=
            "\n\(p.style(e.name, .bold))\(e.production ? " (production)" : "")  key \(e.keyID), \(e.keyAgeDays)d old\n"
          for s in e.sets {
            out += "  \(s.id)  \(Text.pad(s.state.rawValue, 8))  \(s.ageDays)d (\(s.policy))"
            out += "  verified: \(s.lastVerification.map { "\($0.verdict) \($0.time.iso)" } ?? "never")"
            out += "  exported: \(s.lastExport ?? "never")\n"
          }
          for f in e.findings { out += "  \(f.severity.rawValue) \(f.id): \(f.message)\n" }
        }
        for f in report.workspaceFindings { out += "\n\(f.severity.rawValue) \(f.id): \(f.message)\n" }
        p.out(out)
      }
      Stopwatch.lap("audit: printed")
      if report.integrityFailure {
        if format == .text {
          p.note("keyward: error: the audit trail or an environment file was tampered with, cut or damaged\n")
        }
        throw ExitOutcome(status: .integrity)
      }
      if let history, !history.findings.isEmpty { throw ExitOutcome(status: .integrity) }
      if let history, history.shallow {
        p.note(
          "keyward: a shallow clone: the history before \(history.commits) commits was not checked (exit 3)\n"
        )
        throw ExitOutcome(status: .inconclusive)
      }
      if all.contains(where: { $0.severity >= failOn }) && !exitZero { throw ExitOutcome(status: .findings) }
      try Keyward.endReport(workspace)
    }
  }
}
