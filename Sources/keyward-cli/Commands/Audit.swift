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
        Verifies the hash chain of Environments/audit.jsonl and names the first bad line (deleted, \
        inserted, reordered or edited lines, an interrupted append). Per environment: the sets, \
        their ages against the policy, the last verification and export, the recipient key, and the \
        findings of keyward check. Exit 4 when the trail is broken, 1 when a finding reaches \
        --fail-on, else 0.
        """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "text, json, markdown or sarif.")
    var format: Format = .text

    @Option(name: .long, help: "The lowest severity that fails: note, warning or error.")
    var failOn: Severity = .error

    var errorPrinter: Printer { Printer(common.settings.with(json: format == .json)) }

    func run() throws {
      let workspace = try common.settings.openWorkspace()
      let report = try AuditReport.run(workspace: workspace)
      let p = Printer(common.settings)
      let all = report.environments.flatMap(\.findings) + report.workspaceFindings
      switch format {
      case .json: p.document(report)
      case .markdown: p.out(AuditReport.markdown(report))
      case .sarif:
        var findings = all
        if !report.trail.intact {
          findings.insert(
            Finding(
              id: FindingID.trailBroken.rawValue, severity: .error, environment: nil, set: nil,
              message:
                "audit trail broken at line \(report.trail.firstBadLine ?? 0): \(report.trail.problem ?? "")",
              evidence: [:], remedy: FindingID.trailBroken.explanation,
              file: "\(workspace.path)/\(Workspace.auditName)", line: report.trail.firstBadLine), at: 0)
        }
        p.out(
          String(
            decoding: SARIF.document(findings, workspace: workspace, version: KeywardVersion.current)
              .written(), as: UTF8.self))
      case .text:
        var t =
          report.trail.intact
          ? "Audit trail: intact, \(report.trail.entries) entries.\n"
          : p.style(
            "Audit trail: BROKEN at line \(report.trail.firstBadLine ?? 0): \(report.trail.problem ?? "")\n",
            .red)
        for e in report.environments {
          t +=
            "\n\(p.style(e.name, .bold))\(e.production ? " (production)" : "")  key \(e.keyID), \(e.keyAgeDays)d old\n"
          for s in e.sets {
            t += "  \(s.id)  \(Text.pad(s.state.rawValue, 8))  \(s.ageDays)d (\(s.policy))"
            t += "  verified: \(s.lastVerification.map { "\($0.verdict) \($0.time.iso)" } ?? "never")"
            t += "  exported: \(s.lastExport ?? "never")\n"
          }
          for f in e.findings { t += "  \(f.severity.rawValue) \(f.id): \(f.message)\n" }
        }
        for f in report.workspaceFindings { t += "\n\(f.severity.rawValue) \(f.id): \(f.message)\n" }
        p.out(t)
      }
      if !report.trail.intact {
        if format == .text { p.note("keyward: error: the audit trail was tampered with or damaged\n") }
        throw ExitOutcome(status: .integrity)
      }
      if all.contains(where: { $0.severity >= failOn }) { throw ExitOutcome(status: .findings) }
      try Keyward.endReport(workspace)
    }
  }
}
