import ArgumentParser
import KeywardCLIKit
import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Keyward {
  struct Scan: ParsableCommand, ReportsErrors {
    enum Format: String, ExpressibleByArgument, CaseIterable {
      case text, json, sarif
    }

    static let configuration = CommandConfiguration(
      commandName: "scan",
      abstract:
        "Find every plaintext copy of a stored App Key or App Secret in the repository (no private key).",
      discussion: """
        Looks for every value the workspace ever stored (each set of each environment, and the \
        retired ones the trail remembers) by its fingerprint, so nothing is a guess: a finding is \
        that value, plain or base64-, URL- or escape-encoded. With no path: the repository that \
        holds the workspace (tracked and untracked files; --include-ignored adds ignored ones). \
        --staged: the index (a pre-commit hook; --install-hook installs one). --history: every \
        blob reachable from HEAD (--all-refs: from every branch and tag) with the commits that \
        added and removed it. Binary files are skipped by content. Never prints a value or any \
        part of one. Exit 0 clean, 1 when a copy reaches --fail-on, 2 bad input.
        """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Files or folders to scan instead of the repository (- : standard input).")
    var paths: [String] = []

    @Flag(name: .long, help: "Every blob reachable from HEAD, with the commits that added and removed it.")
    var history = false

    @Flag(name: .long, help: "With --history: every branch and tag, not only HEAD.")
    var allRefs = false

    @Flag(name: .long, help: "The index only: what the next commit would hold.")
    var staged = false

    @Flag(name: .long, help: "Also files git ignores.")
    var includeIgnored = false

    @Option(name: .long, help: "text, json or sarif.")
    var format: Format = .text

    @Option(
      name: .long,
      help: "The lowest severity that fails: warning (any copy, the default) or error (live sets only).")
    var failOn: Severity = .warning

    @Flag(name: .long, help: "Exit 0 when copies reach --fail-on (a report step in CI); errors still fail.")
    var exitZero = false

    @Option(name: .long, help: "Also write the findings as SARIF 2.1.0 to this file (one run, two outputs).")
    var sarif: String?

    @Flag(name: .long, help: "Install a git pre-commit hook that runs keyward scan --staged, and stop.")
    var installHook = false

    @Flag(name: .long, help: "With --install-hook: replace a pre-commit hook keyward did not write.")
    var force = false

    var errorPrinter: Printer { Printer(common.settings.with(json: format == .json)) }

    func validate() throws {
      let modes = [history, staged, !paths.isEmpty].filter { $0 }.count
      if modes > 1 { throw ValidationError("choose one of PATH, --staged and --history") }
      if allRefs && !history { throw ValidationError("--all-refs goes with --history") }
      if includeIgnored && (modes > 0) {
        throw ValidationError("--include-ignored goes with a scan of the repository")
      }
      if force && !installHook { throw ValidationError("--force goes with --install-hook") }
    }

    func run() throws {
      let workspace = try common.settings.openWorkspace()
      let p = Printer(common.settings)
      if installHook {
        let hook = try ScanHook.install(
          workspace: workspace, launcher: Path.directory(Launcher.selfPath()) + "/keyward", force: force)
        p.out("Installed \(hook): every commit runs keyward scan --staged.\n")
        return
      }
      let environments = try workspace.loadAll()
      // With this machine's record of the heads it saw: a trail whose newest entries were deleted
      // is damaged here (the warning below), as check says with KW808.
      let trail = TrailIndex.load(
        workspace: workspace, verifySignatures: false,
        seen: Trail.Seen.read(workspace: workspace.path, env: .process))
      let catalog = ScanCatalog.load(workspace: workspace, environments: environments, history: trail.history)
      let mode: ScanOperation.Mode =
        !paths.isEmpty
        ? .paths(paths)
        : staged
          ? .staged : history ? .history(allRefs: allRefs) : .repository(includeIgnored: includeIgnored)
      if !trail.problems.isEmpty {
        p.note(
          p.style(
            "keyward: warning: the trail is damaged (keyward audit says how): values it recorded may be missing from this scan\n",
            .yellow))
      }
      let report = try ScanOperation.run(workspace: workspace, catalog: catalog, mode: mode)
      let failing = report.failing(failOn)
      if let sarif {
        try Keyward.writeSARIF(
          SARIF.document(report.findings, workspace: workspace, version: KeywardVersion.current), to: sarif)
      }
      switch format {
      case .json:
        Printer.writeRaw(
          1,
          String(
            decoding: report.json(failOn: failOn, schemaVersion: Printer.schemaVersion).written(),
            as: UTF8.self))
      case .sarif:
        Printer.writeRaw(
          1,
          String(
            decoding: SARIF.document(report.findings, workspace: workspace, version: KeywardVersion.current)
              .written(),
            as: UTF8.self))
      case .text:
        var t = ""
        for c in report.copies {
          let style: Printer.Style = c.severity == .error ? .red : .yellow
          // One line each, whatever a file name holds.
          t +=
            "\(p.style(Text.pad(c.severity.rawValue, 7), style)) \(c.findingID.rawValue)  \(Text.printable(c.message, keepNewlines: false))\n"
          if !p.quiet { t += p.style("        → \(c.remedy)\n", .dim) }
        }
        if !p.quiet || !report.copies.isEmpty {
          t +=
            report.copies.isEmpty
            ? "No copies of a stored value: \(report.summary).\n"
            : "\(report.copies.count) copy(ies), \(failing) at or above \(failOn.rawValue): \(report.summary).\n"
        }
        p.out(t)
      }
      if !report.unreadable.isEmpty {
        let shown = report.unreadable.prefix(5).map { Text.printable($0, keepNewlines: false) }
        p.note(
          p.style(
            "keyward: warning: \(report.unreadable.count) file(s) could not be read, so their copies are unknown: \(shown.joined(separator: ", "))\(report.unreadable.count > 5 ? ", …" : "")\n",
            .yellow))
      }
      if failing > 0 && !exitZero { throw ExitOutcome(status: .findings) }
      // Nothing found, but not everything could be read: inconclusive, never clean.
      if failing == 0 && !report.unreadable.isEmpty && !exitZero { throw ExitOutcome(status: .inconclusive) }
    }
  }
}
