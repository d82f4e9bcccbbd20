import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Log: ParsableCommand, ReportsErrors {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

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

    var errorPrinter: Printer { Printer(common.settings.with(json: format == .json)) }

    /// A bound as a timestamp: a date alone means its first (since) or last (until) second.
    static func bound(_ text: String?, end: Bool, option: String) throws -> String? {
      guard let text else { return nil }
      if text.count == 10, Timestamp(iso: text + "T00:00:00Z") != nil {
        return text + (end ? "T23:59:59Z" : "T00:00:00Z")
      }
      guard let t = Timestamp(iso: text) else {
        throw KeywardError(
          .usage, "--\(option) takes a date (YYYY-MM-DD) or a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)")
      }
      return t.iso
    }

    func run() throws {
      let workspace = try common.settings.openWorkspace()
      for e in environments { try workspace.requireEnvironment(e) }
      let from = try Log.bound(since, end: false, option: "since")
      let to = try Log.bound(until, end: true, option: "until")
      // The trail checked as check checks it (a segment this machine hashed is not hashed again
      // while its file is unchanged); with a checkpoint index, its entries are streamed from the
      // segments below (memory stays at one batch of lines).
      var index = TrailIndex.load(
        workspace: workspace, seen: Trail.Seen.read(workspace: workspace.path, env: .process),
        remembered: .process, history: false)
      // The records the index kept are for other readers: log shows every entry from its line.
      index.base?.kept = []
      let p = Printer(common.settings)
      // Each signer's name in the signed state and fingerprint, found once per key before the
      // rows are made on every core (a trail has few signers: the base index counts them).
      var signers = TrailFindings.Signers(workspace.trust)
      for text in index.base?.signers.keys ?? [:].keys {
        if let key = try? PublicIdentity(parsing: text) { _ = signers(key) }
      }
      for e in index.entries { if let key = e.signer { _ = signers(key) } }
      let row = Log.rows(
        signers: signers, json: format == .json, from: from, to: to, actor: actor, environments: environments,
        action: action, set: setID)
      var out = [UInt8]()
      out.reserveCapacity(1 << 20)
      func flush() {
        if !out.isEmpty { p.out(bytes: out) }
        out.removeAll(keepingCapacity: true)
      }
      var count = 0
      var rows = 0
      if format == .json { JSONValue.literal("{\n  \"entries\" : [", into: &out) }
      func emit(_ made: (records: Int, bytes: [UInt8])) {
        count += made.records
        rows += 1
        if format == .json { JSONValue.literal(rows == 1 ? "\n    " : ",\n    ", into: &out) }
        out += made.bytes
        if out.count > 1 << 20 { flush() }
      }
      _ = index.forEachCovered(map: row, emit)
      for e in index.entries { if let made = row(e) { emit(made) } }
      if format == .json {
        JSONValue.literal(rows == 0 ? "]" : "\n  ]", into: &out)
        let rest: [(String, JSONValue)] = [
          ("heads", .array(index.heads.map(JSONValue.string))), ("intact", .bool(index.intact)),
          ("problems", .array(index.problems.map { .string($0.message) })),
          ("record_count", .number(Double(count))),
          ("schema_version", .number(Double(Printer.schemaVersion))), ("workspace", .string(workspace.path)),
        ]
        for (key, value) in rest {
          JSONValue.literal(",\n  ", into: &out)
          out += JSONValue.string(key).compact()
          JSONValue.literal(" : ", into: &out)
          value.write(into: &out, indent: 2)
        }
        JSONValue.literal("\n}\n", into: &out)
        flush()
      } else {
        if rows == 0 { out += Array("No records match.\n".utf8) }
        flush()
        for problem in index.problems { p.note("keyward: error: \(problem.message)\n") }
      }
      if !index.intact { throw ExitOutcome(status: .integrity) }
      try Keyward.endReport(workspace)
    }

    /// What an entry shows, or nil when the filters leave none of its records: the number of
    /// records shown and the bytes (a JSON row at indent 4, or text lines). Pure, so it runs on
    /// every core: `signers` already knows the trail's signers (another is looked up, not kept).
    static func rows(
      signers: TrailFindings.Signers, json: Bool, from: String?, to: String?, actor: String?,
      environments: [String], action: String?, set setID: String?
    ) -> @Sendable (TrailIndex.Entry) -> (records: Int, bytes: [UInt8])? {
      /// Who an entry is by: its signature status, and its actor — for a signed entry the signed
      /// state's name for its key (what the entry says of itself is shown only for unsigned ones,
      /// and for strangers marked with a "?").
      @Sendable func who(_ e: TrailIndex.Entry) -> (status: String, actor: String) {
        guard let key = e.signer else { return ("unsigned", e.actor) }
        let how = e.signature == .attested ? "attested" : "signed"
        let s = signers.lookup(key)
        guard let name = s.name else {
          return ("\(how):not-a-member(\(s.fingerprint.prefix(8)))", "?\(e.actor)")
        }
        return ("\(how):\(name)", name)
      }
      return { e in
        if let from, e.time < from { return nil }
        if let to, e.time > to { return nil }
        let (status, shownActor) = who(e)
        if let actor, shownActor != actor { return nil }
        let records = e.records.filter { r in
          (environments.isEmpty || environments.contains(r.environment ?? ""))
            && (action == nil || r.action == action) && (setID == nil || r.set == setID)
        }
        if records.isEmpty { return nil }
        var out = [UInt8]()
        if json {
          // The row's members in sorted order, written as they come (no dictionary per row).
          JSONValue.writeObject(Log.rowKeys, into: &out, indent: 4) { k, out in
            switch k {
            case 0: JSONValue.writeString(shownActor, into: &out)
            case 1: JSONValue.writeString(e.actor, into: &out)
            case 2: JSONValue.writeString(e.command, into: &out)
            case 3: JSONValue.writeString(e.id, into: &out)
            case 4: JSONValue.writeString(e.file, into: &out)
            case 5: e.line.map { JSONValue.writeInt($0, into: &out) } ?? JSONValue.literal("null", into: &out)
            case 6:
              JSONValue.writeArray(e.parents.count, into: &out, indent: 6) { n, out in
                JSONValue.writeString(e.parents[n], into: &out)
              }
            case 7:
              JSONValue.writeArray(records.count, into: &out, indent: 6) { n, out in
                Log.write(records[n], into: &out, indent: 8)
              }
            case 8: JSONValue.writeString(status, into: &out)
            case 9:
              e.signer.map { JSONValue.writeString(signers.lookup($0).fingerprint, into: &out) }
                ?? JSONValue.literal("null", into: &out)
            default: JSONValue.writeString(e.time, into: &out)
            }
          }
        } else {
          for r in records {
            var line =
              "\(e.time)  \(Text.pad(shownActor, 14)) \(Text.pad(status, 18)) \(Text.pad(r.action ?? "?", 15))"
            line += " \(Text.pad(r.environment ?? "", 10)) \(Text.pad(r.set ?? "-", 20))"
            if let t = r.target { line += " → \(t)" }
            if case .string(let v)? = r["verdict"] { line += " (\(v))" }
            // One line per record whatever the trail holds (a target with a newline is hostile).
            out += Array((Text.printable(line, keepNewlines: false) + "  [\(e.id.prefix(12))]\n").utf8)
          }
        }
        return (records.count, out)
      }
    }

    /// A row's members, sorted (the order `writeObject` writes them in).
    static let rowKeys = [
      "actor", "claimed_actor", "command", "entry_id", "file", "line", "parents", "records", "signature",
      "signer", "time",
    ]

    /// A record as the JSON document shows it: every member, the set's id as `set_id` (the
    /// vocabulary of every document; the trail's own files call it `set`). Written member by
    /// member in sorted order, without a dictionary per record (30,000 records, a log).
    static func write(_ r: TrailEntry, into out: inout [UInt8], indent: Int) {
      enum Member {
        case text(String)
        case value(JSONValue)
        case fingerprints(String, String)
      }
      var members: [(key: String, value: Member)] = []
      members.reserveCapacity(7 + r.extra.count)
      if let v = r.action { members.append(("action", .text(v))) }
      if let v = r.envAfter { members.append(("env_after", .text(v))) }
      if let v = r.envBefore { members.append(("env_before", .text(v))) }
      if let v = r.environment { members.append(("environment", .text(v))) }
      if let k = r.appKeyFP, let v = r.appSecretFP { members.append(("fingerprints", .fingerprints(k, v))) }
      if let v = r.set { members.append(("set_id", .text(v))) }
      if let v = r.target { members.append(("target", .text(v))) }
      for (k, v) in r.extra where !(k == "set_id" && r.set != nil) { members.append((k, .value(v))) }
      if !r.extra.isEmpty { members.sort { $0.key < $1.key } }
      JSONValue.writeObject(members.map(\.key), into: &out, indent: indent) { n, out in
        switch members[n].value {
        case .text(let s): JSONValue.writeString(s, into: &out)
        case .value(let v): v.write(into: &out, indent: indent + 2)
        case .fingerprints(let k, let v):
          JSONValue.writeObject(["app_key", "app_secret"], into: &out, indent: indent + 2) { i, out in
            JSONValue.writeString(i == 0 ? k : v, into: &out)
          }
        }
      }
    }
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
