import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct List: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "Every environment and set: id, state, fingerprints, age. Needs no private key.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let workspace = try global.openWorkspace()
      let report = try ListOperation.run(workspace: workspace, words: Advice.words)
      let p = Printer(global)
      if p.json {
        p.document(report)
        return try Keyward.endReport(workspace)
      }
      var t = p.quiet ? "" : "Workspace \(report.workspace) · provider \(report.provider.rawValue)\n"
      for env in report.environments {
        t +=
          "\n\(p.style(env.name, .bold))\(env.production ? " (production)" : "")  key \(env.keyID)  · \(env.stage)\n"
        if env.sets.isEmpty {
          t += p.style("  no sets — keyward set \(env.name)\n", .dim)
        }
        for s in env.sets {
          let state = Text.pad(s.state.rawValue, 8)
          let colored = p.style(state, s.state == .active ? .green : s.state == .pending ? .cyan : .yellow)
          t +=
            "  \(s.id)  \(colored)  created \(s.created.iso)  age \(ageText(from: s.created, to: report.now))"
          t += "  key fp \(s.fingerprints.appKey)  secret fp \(s.fingerprints.appSecret)"
          if let g = s.graceUntil { t += "  grace until \(g.iso)" }
          if let v = s.lastVerification {
            let age = ageText(from: v.time, to: report.now)
            t += "  verified \(age == "just now" ? age : age + " ago"): \(v.verdict)"
          } else {
            t += p.style("  never verified", .dim)
          }
          t += "\n"
        }
        if let next = env.next, !env.sets.isEmpty { t += p.style("  next: \(next)\n", .cyan) }
      }
      p.out(t)
      try Keyward.endReport(workspace)
    }
  }
}
