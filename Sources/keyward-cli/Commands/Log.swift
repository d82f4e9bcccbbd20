import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Log: ParsableCommand, ReportsErrors {
    typealias Format = LogFormat

    static let configuration = CommandConfiguration(
      commandName: "log",
      abstract:
        "The audit trail, readable: who did what to which set, when, and who signed it (no private key).",
      discussion: """
        One line per record, oldest first (parents before children): time, actor, signature status \
        (signed by a member's name, attested by a checkpoint, unsigned, or not a member), action, \
        environment, set, target, and the entry's id. An entry that verified three sets is three \
        lines with the same id. --format json is one document with every entry and its records. \
        Signatures are checked as audit checks them; a broken trail is still listed, and the \
        command then exits 4.
        """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Only these environments.", completion: Completions.environments)
    var environments: [String] = []

    @Option(name: .long, help: "Only entries by this actor (the actor's name or the signer's member name).")
    var actor: String?

    @Option(name: .long, help: "Only records of this action (set, rotate, promote, verify, export, run, …).")
    var action: String?

    @Option(name: .customLong("set"), help: "Only records of this set id.")
    var setID: String?

    @Option(name: .long, help: "Only entries at or after this date (YYYY-MM-DD or a full UTC timestamp).")
    var since: String?

    @Option(name: .long, help: "Only entries at or before this date (YYYY-MM-DD or a full UTC timestamp).")
    var until: String?

    @Option(name: .long, help: "text or json.")
    var format: Format = .text

    var errorPrinter: Printer { Printer(request.errorSettings) }

    var request: LogRequest {
      LogRequest(
        settings: common.settings, environments: environments, actor: actor, action: action, setID: setID,
        since: since, until: until, format: format)
    }

    func run() throws { try request.run().end() }
  }

  struct TrailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "trail", abstract: "The team trail's upkeep (checkpoint, forget).",
      subcommands: [TrailCheckpoint.self, TrailForget.self])
  }

  struct TrailCheckpoint: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "checkpoint",
      abstract: "Compact the trail's entry files into one segment signed by an admin (who attests them).",
      discussion: """
        Refused unless the trail is intact. The segment holds every entry file's exact bytes, the \
        heads, a digest and the admin's signature; later audits check that one signature instead of \
        each entry's (audit --full still checks them all). Unsigned entries it holds are attested by \
        the admin and no longer reported. Commit the new segment and the deleted entry files together.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    func run() throws {
      let workspace = try Workspace.open(global.workspacePath)
      try workspace.requireTrusted("sign a checkpoint")
      let admin = try identityOptions.require("trail checkpoint")
      let lock = try workspace.lock()
      defer { lock.unlock() }
      let r = try Checkpoint.create(workspace: workspace, admin: admin)
      let p = Printer(global)
      if global.settings.format == .json {
        p.document(r)
      } else if !p.quiet {
        var t =
          "Checkpoint \(r.id.prefix(12)): \(r.entries) entries compacted into \(r.file), signed by \(admin.name).\n"
        if !r.attests.isEmpty {
          t += "Your signature now vouches for these, which no member signed:\n"
          t += r.attests.map { "  \($0)\n" }.joined()
        }
        t += "Commit it with the deleted entry files (git add -A \(workspace.path)/\(Trail.folder)).\n"
        p.out(t)
      }
    }
  }

  struct TrailForget: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "forget",
      abstract: "Forget the trail heads this machine saw here (after you deliberately dropped entries).",
      discussion: """
        This machine remembers, per git branch, the newest trail entries it wrote or audited, so a \
        later cut is exit 4 here. When you yourself dropped entries (git reset past your own \
        uncommitted write, say), audit reports them as cut; this clears the memory. Only this \
        machine's key store changes; nothing in the workspace does.
        """)

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let path = global.workspacePath
      try Trail.Seen.forget(workspace: path, env: .process)
      let p = Printer(global)
      if p.json {
        p.document(fields: ["action": .string("forget"), "workspace": .string(path)])
      } else if !p.quiet {
        p.out("Forgot the trail heads this machine saw in \(path).\n")
      }
    }
  }

  struct TrustResolve: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "resolve",
      abstract: "Sign an environment file as it is now, after resolving a merge conflict in it (a member).",
      discussion: """
        When two branches both changed ENV.json, git's conflict there is resolved by a person and \
        no entry announces the result: audit reports it (KW806, exit 4). A member of ENV (or an \
        admin) checks the file's sets, then runs this: one signed entry that follows both branches \
        and announces the file as it is. The next keyward write to ENV records it too.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Argument(help: "The environment whose file was merged by hand.", completion: Completions.environments)
    var environment: String

    func run() throws {
      let workspace = try Workspace.open(global.workspacePath)
      try workspace.requireEnvironment(environment)
      try workspace.requireTrusted("sign a resolution")
      let lock = try workspace.lock()
      defer { lock.unlock() }
      let file = try workspace.loadEnvironment(environment)  // a file that does not parse is not signed
      if let trust = workspace.trust {
        let id = try identityOptions.require("trust resolve")
        let role =
          trust.admin(id.publicIdentity) != nil
          ? "admin" : trust.role(of: id.publicIdentity, in: environment)?.role
        guard role == "admin" || role == "member" else {
          throw KeywardError(
            .integrity,
            "\(id.name) is not an admin or a member of \(environment); only they may sign what its file holds"
          )
        }
      }
      let notes = try workspace.commit([(file, [])], command: "resolve")
      // No manifest is signed here: the file is anyone's to edit, and what it marks active (an
      // old set restored from history, a writer's own proposal) is not re-activated by a routine
      // resolve. After a merge of two promotes a member promotes again (README, "trust resolve").
      let p = Printer(global)
      let sets = JSONValue.array(
        file.sets.map { .object(["set_id": .string($0.id), "state": .string($0.state.rawValue)]) })
      guard !notes.isEmpty else {
        if p.json {
          return p.document(fields: [
            "action": .string("resolve"), "environment": .string(environment), "resolved": .bool(false),
            "sets": sets, "warnings": .array([]),
          ])
        }
        p.note("\(environment).json is already the state the trail announces: nothing to resolve\n")
        return
      }
      if p.json {
        p.document(fields: [
          "action": .string("resolve"), "environment": .string(environment), "resolved": .bool(true),
          "sets": sets, "warnings": .array(notes.map(JSONValue.string)),
        ])
      } else if !p.quiet {
        p.out(notes.map { $0 + "\n" }.joined())
        p.out(
          "Sets now in \(environment).json: \(file.sets.map { "\($0.id) (\($0.state.rawValue))" }.joined(separator: ", "))\n"
        )
      }
    }
  }
}
