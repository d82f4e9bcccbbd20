import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Rotate: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "rotate",
      abstract: "Add a pending set to an environment (the first step of a zero-downtime rotation).",
      discussion: """
        Takes the new pair like `keyward set` (prompt, --stdin, --from-env, --from-file). Then: \
        keyward verify ENV --set pending; keyward promote ENV; deploy; keyward retire ENV.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @OptionGroup var input: SecretInputOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Flag(name: .long, help: "Store the pair even though this environment retired it earlier.")
    var force = false

    func run() throws {
      let workspace = try global.openWorkspace(for: environment)
      try workspace.requireEnvironment(environment)
      let identity = workspace.trust == nil ? nil : try identityOptions.load()
      // A pending set already there is refused before the values are asked for.
      try SetOperation.precheck(
        workspace: workspace, environment: environment, state: .pending, replace: false, identity: identity)
      let report = try Lifecycle.rotate(
        workspace: workspace, environment: environment,
        input: try input.read(workspace, environment: environment), identity: identity, allowRetired: force)
      let p = Printer(global)
      if p.json { return p.document(report) }
      for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
      if !p.quiet {
        let id = report.sets.keys.first ?? "?"
        p.out(
          "Added pending set \(p.style(id, .bold)) to \(environment).\nNext: keyward verify \(environment) --set pending && keyward promote \(environment)\n"
        )
      }
    }
  }

  struct Promote: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "promote",
      abstract: "Make the pending set active; the old active set retires for a grace period.",
      discussion: """
        Refuses a pending set whose last verification was not valid (or that was never verified) \
        unless --force. The grace period defaults to the policy in keyward.json.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @Option(name: .long, help: "How long the old set stays, e.g. 7d (default: the policy).")
    var grace: String?

    @Flag(name: .long, help: "Promote even without a valid verification.")
    var force = false

    @OptionGroup var identityOptions: IdentityOptions

    func validate() throws {
      if let grace, Reports.days(grace) == nil && grace != "0d" && grace != "0" {
        throw ValidationError("--grace takes days, like 7d (0 to 36500)")
      }
    }

    func run() throws {
      let workspace = try global.openWorkspace()
      let days = grace.map { $0 == "0" || $0 == "0d" ? 0 : Reports.days($0)! }
      let identity = workspace.trust == nil ? nil : try identityOptions.load()
      let report = try Lifecycle.promote(
        workspace: workspace, environment: environment, graceDays: days, force: force, identity: identity)
      let p = Printer(global)
      if p.json { return p.document(report) }
      for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
      if !p.quiet {
        let active = report.sets.first { $0.value == "active" }?.key ?? "?"
        let retiring = report.sets.filter { $0.value == "retiring" }.map(\.key).sorted()
        var t = "\(environment): set \(p.style(active, .bold)) is active"
        if !retiring.isEmpty {
          t += "; \(retiring.joined(separator: ", ")) retiring until \(report.graceUntil?.iso ?? "?")"
        }
        t +=
          ".\nNext: deploy it (keyward export \(environment) -o FILE), then keyward retire \(environment) after the grace period.\n"
        p.out(t)
      }
    }
  }

  struct Retire: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "retire",
      abstract: "Remove retiring sets past their grace period (or all of them with --now).",
      discussion: """
        Refuses while the trail shows a file this machine can see whose latest export still holds a \
        retiring set. Exports inside the repository are recorded relative to its root, so every clone \
        checks the same file; exports elsewhere are recorded with the machine that wrote them, and \
        another machine's block until --force (recorded). A set last sent to standard output or run \
        is named in a warning.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @Flag(name: .long, help: "Retire every retiring set, grace period or not.")
    var now = false

    @Flag(
      name: .long,
      help:
        "Go ahead past exports on other machines, which cannot be checked from here (recorded in the trail).")
    var force = false

    func run() throws {
      let workspace = try global.openWorkspace()
      let report = try Lifecycle.retire(
        workspace: workspace, environment: environment, now: now, overrideElsewhere: force)
      let p = Printer(global)
      if p.json { return p.document(report) }
      for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
      if !p.quiet { p.out("\(environment): retired \(report.sets.keys.sorted().joined(separator: ", ")).\n") }
    }
  }
}

extension Keyward {
  struct Discard: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "discard",
      abstract: "Drop a pending set that will not be promoted (a wrong pair, a test); one trail entry.",
      discussion: """
        Only a pending set: an active set is replaced with rotate and promote, a retiring one \
        leaves with retire. In a trusted workspace its proposer, an admin or a member of the \
        environment may discard it. Needs no private key.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @Option(name: .customLong("set"), help: "The pending set's id (default: the environment's pending set).")
    var setID: String?

    func run() throws {
      let workspace = try global.openWorkspace()
      try workspace.requireEnvironment(environment)
      let identity = workspace.trust == nil ? nil : try identityOptions.load()
      let report = try Lifecycle.discard(
        workspace: workspace, environment: environment, setID: setID, identity: identity)
      let p = Printer(global)
      if p.json { return p.document(report) }
      for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
      if !p.quiet {
        p.out("\(environment): discarded pending set \(report.sets.keys.sorted().joined(separator: ", ")).\n")
      }
    }
  }

  struct Rekey: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "rekey",
      abstract:
        "Replace an environment's recipient keypair and re-encrypt every set (needs the old key once).",
      discussion: """
        The old private key is found as for show (--key-file, $KEYWARD_PRIVATE_KEY_<ENV>, the key \
        store). The new key goes to the key store; CI must get it before its next run. Safe to \
        interrupt: the file is always sealed to a key that exists, and a re-run completes the swap.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    func run() throws {
      let workspace = try global.openWorkspace()
      let admin = workspace.trust == nil ? nil : try identityOptions.load()
      let report = try Lifecycle.rekey(
        workspace: workspace, environment: environment, keys: keys.source(), admin: admin)
      let p = Printer(global)
      if p.json { return p.document(report) }
      for w in report.warnings { p.note(p.style("keyward: warning: \(w)\n", .yellow)) }
      if !p.quiet {
        p.out(
          """
          \(environment): \(report.setCount) set(s) re-sealed to key \(p.style(report.newKeyID, .bold)) (was \(report.oldKeyID)).
          New private key: \(report.keyFile) (mode 0600). The old key opens nothing in the current files, but
            the ciphertexts in git history still open with it: if it may have leaked, rotate the sets too
            (keyward rotate \(environment)).
          CI hand-off: replace the secret \(report.ciVariable) with the new key's kwsk1: string
            (the secret-key line of \(report.keyFile)) before the next deploy; until then CI cannot read \(environment).
          Commit \(workspace.environmentPath(environment)) and \(workspace.path)/\(Trail.folder)/.

          """)
      }
    }
  }
}
