import ArgumentParser
import KeywardCLIKit
import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Keyward {
  struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "identity",
      abstract: "Your identity: an Ed25519 keypair that signs what you change (new, show, import-ssh).",
      subcommands: [IdentityNew.self, IdentityShow.self, IdentityImportSSH.self])
  }

  struct IdentityNew: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "new",
      abstract: "Make an identity (the secret goes to the key store, 0600, or to --identity FILE).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Option(name: .long, help: "Your name as members and admins will see it (default: $USER).")
    var name: String?

    @Flag(name: .long, help: "Protect the secret with a passphrase (asked twice on the terminal).")
    var passphrase = false

    @Option(name: .long, help: "Protect the secret with the passphrase in this file (first line).")
    var passphraseFile: String?

    func run() throws {
      let who = name ?? Env.process.nonEmpty("USER") ?? "me"
      guard Names.isMember(who) else {
        throw KeywardError(.usage, "\"\(Text.printable(who))\" is not a valid name (\(Names.memberRule))")
      }
      let path = identityOptions.identity ?? IdentitySource.defaultPath(.process)
      guard !FileSystem.exists(path) else {
        throw KeywardError(
          .input, "\(path) already exists; refusing to replace an identity",
          hint: "keyward identity show prints it; choose another file with --identity FILE")
      }
      let id = try Identity.generate(name: who)
      let pass = try newPassphrase(passphrase: passphrase, file: passphraseFile, what: "the identity")
      try IdentitySource.write(try IdentityFile.render(id, passphrase: pass), to: path)
      try IdentityShow.print(id.publicIdentity, name: id.name, file: path, Printer(global))
    }
  }

  struct IdentityShow: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "show", abstract: "Print your public identity, to hand to an admin.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    func run() throws {
      let id = try identityOptions.require("identity show")
      try IdentityShow.print(
        id.publicIdentity, name: id.name, file: identityOptions.identity, Printer(global))
    }

    /// `file`: the identity file, when one was named (nil: the configured one).
    static func print(_ p: PublicIdentity, name: String, file: String?, _ printer: Printer) throws {
      if printer.json {
        printer.document(
          value: .object([
            "schema_version": .number(Double(Printer.schemaVersion)), "name": .string(name),
            "public_identity": .string(p.text), "fingerprint": .string(p.fingerprint),
            "identity_file": file.map(JSONValue.string) ?? .null,
          ]))
        return
      }
      printer.out("\(name) \(p.text)\n")
      if !printer.quiet {
        printer.note("fingerprint \(p.fingerprint); hand the line above to an admin (keyward access grant)\n")
      }
    }
  }

  struct IdentityImportSSH: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "import-ssh",
      abstract: "Make an identity from an unencrypted OpenSSH ed25519 private key (once).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Argument(help: "The OpenSSH private key file (e.g. ~/.ssh/id_ed25519).")
    var file: String

    @Option(name: .long, help: "Your name as members and admins will see it (default: $USER).")
    var name: String?

    func run() throws {
      let who = name ?? Env.process.nonEmpty("USER") ?? "me"
      guard Names.isMember(who) else {
        throw KeywardError(.usage, "\"\(Text.printable(who))\" is not a valid name (\(Names.memberRule))")
      }
      let path = identityOptions.identity ?? IdentitySource.defaultPath(.process)
      guard !FileSystem.exists(path) else {
        throw KeywardError(.input, "\(path) already exists; refusing to replace an identity")
      }
      let raw = try FileSystem.readSecret(path: file, requirePrivate: false, privateIfRegular: true)
      let id = try IdentityFile.importSSH(raw, source: file, name: who)
      try IdentitySource.write(try IdentityFile.render(id, passphrase: nil), to: path)
      try IdentityShow.print(id.publicIdentity, name: id.name, file: path, Printer(global))
    }
  }

  struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "trust",
      abstract: "The workspace's trust root and signed state (init, show, pin, sign, rotate-root, resolve).",
      subcommands: [
        TrustInit.self, TrustShow.self, TrustPin.self, TrustSign.self, TrustRotateRoot.self,
        TrustResolve.self,
      ])
  }

  struct TrustInit: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "init",
      abstract:
        "Upgrade a v1 workspace: your identity becomes its first admin; the state is signed and pinned.",
      discussion: """
        Run by someone who holds every environment's private key: each recipient key is checked against \
        its private key before it is signed, so a key substituted before the upgrade is not blessed.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions
    @OptionGroup var keys: KeyOptions

    func run() throws {
      let workspace = try global.openWorkspace()
      let admin = try identityOptions.require("trust init")
      if let t = workspace.trust {
        // Run again by the root's own admin, trust init finishes what an interrupted run left: the
        // pin on this machine and the manifests of the sets active when it ran.
        guard t.admin(admin.publicIdentity) != nil else {
          throw KeywardError(.input, "\(workspace.path) already has a trust root (\(t.rootFingerprint))")
        }
        let lock = try workspace.lock()
        defer { lock.unlock() }
        if !t.isPinned {
          try Trust.writePin(
            Trust.Pin(
              fingerprint: t.rootFingerprint, version: t.version,
              stateDigest: Trust.stateDigest(ofWorkspace: workspace.path),
              workspace: workspace.path, rootVersion: t.rootVersion),
            workspace: workspace.path, env: .process)
        }
        let trusted = try Workspace.open(workspace.path)
        for name in trusted.config.environmentNames {
          let env = try trusted.loadEnvironment(name)
          // Only where no manifest was ever written: a manifest that disagrees with the file is an
          // edit to investigate, not something to bless.
          if let active = env.active, !FileSystem.exists(Activation.path(trusted.path, name)) {
            try Activation.write(workspace: trusted, environment: name, set: active, by: admin)
          }
        }
        return try TrustShow.render(trusted.trust!, workspace: trusted, Printer(global))
      }
      let lock = try workspace.lock()
      defer { lock.unlock() }
      var recipients = [String: String]()
      for name in workspace.config.environmentNames {
        let env = try workspace.loadEnvironment(name)
        _ = try keys.source().privateKey(for: env, in: workspace)
        recipients[name] = env.recipient.publicKey
      }
      let trust = try Trust.create(
        workspace: workspace.path, configBytes: try FileSystem.read(workspace.configPath),
        workspaceID: workspace.config.workspaceID, recipients: recipients, admin: admin, env: .process)
      // The admin vouches for what is active today: each active set gets its signed manifest.
      let trusted = try Workspace.open(workspace.path)
      for name in trusted.config.environmentNames {
        if let active = try trusted.loadEnvironment(name).active {
          try Activation.write(workspace: trusted, environment: name, set: active, by: admin)
        }
      }
      let lost = try AuditLog.append(
        workspace: workspace, action: "trust-init",
        environment: workspace.config.environmentNames.first ?? "none",
        set: nil, details: ["root": .string(trust.rootFingerprint), "admin": .string(admin.name)])
      if let lost { Printer(global).warning(lost) }
      try TrustShow.render(trust, workspace: workspace, Printer(global))
    }
  }

  struct TrustShow: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "show",
      abstract: "The root fingerprint, its admins and the signed state's version (no key).")

    @OptionGroup var global: GlobalOptions

    func run() throws {
      var expected: TrustExpectation?
      if let t = global.common.trust {
        guard let e = TrustExpectation(t) else {
          throw KeywardError(.usage, "--trust takes a root fingerprint")
        }
        expected = e
      }
      // Every signature checked, so the report can name who signed.
      let workspace = try Workspace.open(global.workspacePath, expected: expected, fullTrust: true)
      guard let trust = workspace.trust else {
        throw KeywardError(
          .input, "\(workspace.path) has no trust root: anyone with write access can redirect new secrets",
          hint: "keyward trust init (by someone who holds the environment keys)")
      }
      try TrustShow.render(trust, workspace: workspace, Printer(global))
      try Keyward.endReport(workspace)
    }

    static func render(_ t: TrustedState, workspace: Workspace, _ p: Printer) throws {
      // An unreadable proposal blocks nothing but the next one: said, not fatal here.
      var proposal: Trust.RootProposal?
      do { proposal = try Trust.pendingRootChange(workspace: workspace.path, current: t) } catch {
        p.note("keyward: warning: \(error.message) (keyward trust rotate-root --withdraw removes it)\n")
      }
      if p.json {
        p.document(
          value: .object([
            "schema_version": .number(Double(Printer.schemaVersion)),
            "root_fingerprint": .string(t.rootFingerprint), "state_version": .number(Double(t.version)),
            "threshold": .number(Double(t.threshold)),
            "admins": .array(
              t.admins.map {
                .object([
                  "name": .string($0.name), "public_identity": .string($0.identity.text),
                  "fingerprint": .string($0.identity.fingerprint),
                ])
              }),
            "signed_by": .array(t.signers.map(JSONValue.string)), "pinned": .bool(t.isPinned),
            "pinned_by": t.pinnedBy.map(JSONValue.string) ?? .null,
            "root_version": .number(Double(t.rootVersion)),
            "proposed_root": proposal.map(TrustRotateRoot.json) ?? .null,
          ]))
        return
      }
      var s = "trust root \(t.rootFingerprint) (version \(t.rootVersion))\n"
      s += "  admins: \(t.admins.map { "\($0.name) (\($0.identity.fingerprint))" }.joined(separator: ", "))"
      s += " · threshold \(t.threshold)\n"
      s += "  signed state: version \(t.version), signed by \(t.signers.joined(separator: ", "))\n"
      s += t.isPinned ? "  pinned on this machine (\(t.pinnedBy!))\n" : "  NOT pinned on this machine\n"
      if let r = proposal { s += "  proposed \(TrustRotateRoot.describe(r))\n" }
      if let r = proposal, !r.missing.isEmpty {
        s += "    still needs \(r.missing.joined(separator: "; "))\n"
      }
      p.out(s)
    }
  }

  struct TrustPin: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "pin",
      abstract:
        "Pin the workspace's trust root on this machine (compare the fingerprint with an admin first).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The root fingerprint (32 hex digits).")
    var fingerprint: String

    @Flag(name: .long, help: "Replace a different pin (after a new root, confirmed with your admins).")
    var replace = false

    func run() throws {
      guard let expected = TrustExpectation(fingerprint) else {
        throw KeywardError(
          .usage, "\"\(Text.printable(fingerprint))\" is not a root fingerprint (32 hex digits)")
      }
      let path = global.workspacePath
      // --replace sets the old pin aside while the new root is verified, and restores it when the
      // fingerprint does not verify: a refused replacement loses nothing this machine remembered.
      let pinPath = Trust.pinPath(workspace: path, env: .process)
      let aside = pinPath + ".replacing"
      var setAside = false
      if replace, let old = try Trust.readPin(workspace: path, env: .process),
        old.fingerprint != expected.fingerprint
      {
        try FileSystem.replace(pinPath, with: aside)
        setAside = true
      }
      let workspace: Workspace
      do {
        // Opening with the expectation verifies the root, its signatures and the state against it.
        workspace = try Workspace.open(path, expected: expected)
      } catch {
        if setAside { try? FileSystem.replace(aside, with: pinPath) }
        throw error
      }
      if setAside { try? FileSystem.remove(aside) }
      guard let trust = workspace.trust else {
        throw KeywardError(.input, "\(path) has no trust root to pin")
      }
      let digest = Trust.stateDigest(ofWorkspace: workspace.path)
      try Trust.writePin(
        Trust.Pin(
          fingerprint: trust.rootFingerprint, version: trust.version, stateDigest: digest,
          workspace: workspace.path, rootVersion: trust.rootVersion),
        workspace: workspace.path, env: .process)
      Trust.markOwner(workspaceID: workspace.config.workspaceID, workspace: workspace.path, env: .process)
      let p = Printer(global)
      if p.json {
        p.document(fields: [
          "action": .string("pin"), "workspace": .string(path),
          "root_fingerprint": .string(trust.rootFingerprint),
          "root_version": .number(Double(trust.rootVersion)), "state_version": .number(Double(trust.version)),
        ])
      } else if !p.quiet {
        p.out("Pinned trust root \(trust.rootFingerprint) (state version \(trust.version)) for \(path).\n")
      }
    }
  }

  struct TrustSign: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "sign",
      abstract:
        "Sign keyward.json as it is now (an admin, after reviewing a hand edit): the state's next version.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    func run() throws {
      let workspace = try Workspace.open(global.workspacePath, unsignedConfig: true)
      guard let trust = workspace.trust else {
        throw KeywardError(.input, "\(workspace.path) has no trust root")
      }
      try workspace.requireTrusted("sign the state")
      let admin = try identityOptions.require("trust sign")
      let lock = try workspace.lock()
      defer { lock.unlock() }
      let bytes = try FileSystem.read(workspace.configPath)
      // What is being signed, member by member: an admin signs what they see.
      let changes = Trust.differences(signed: trust.config, current: bytes)
      guard !changes.isEmpty else {
        throw KeywardError(
          .input, "keyward.json is exactly the signed bytes (state version \(trust.version)): nothing to sign"
        )
      }
      let p0 = Printer(global)
      p0.note("Signing these changes to keyward.json (review them):\n" + changes.map { "  \($0)\n" }.joined())
      let next = try Trust.update(
        workspace: workspace.path, current: trust, configBytes: bytes, recipients: trust.recipients,
        admin: admin,
        env: .process)
      let lost = try AuditLog.append(
        workspace: workspace, action: "trust-sign",
        environment: workspace.config.environmentNames.first ?? "none",
        set: nil, details: ["version": .number(Double(next.version)), "admin": .string(admin.name)])
      let p = Printer(global)
      if let lost { p.warning(lost) }
      if p.json {
        p.document(fields: [
          "action": .string("sign"), "state_version": .number(Double(next.version)),
          "signer": .string(admin.name),
        ])
      } else if !p.quiet {
        p.out("Signed keyward.json as state version \(next.version) (\(admin.name)).\n")
      }
    }
  }

  struct TrustRotateRoot: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "rotate-root",
      abstract:
        "Change the workspace's admins: root N+1, signed by root N's admins and by every admin it adds.",
      discussion: """
        The first admin proposes (trust/root.next.json, signed by them); each admin whose signature is \
        still needed reviews it (`keyward trust show` lists every admin by key) and runs \
        `keyward trust rotate-root --sign FINGERPRINT`, naming the proposal they reviewed. The change \
        is published by whichever \
        admin of the new root completes it: the old root is kept in trust/roots/, the state is signed \
        for the new root, and machines pinned to an earlier root follow the change on their next run.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions

    @Option(
      name: .customLong("add-admin"),
      help: ArgumentHelp(
        "Make NAME an admin (IDENTITY: ed25519:…, an ssh-ed25519 line, or a file).",
        valueName: "NAME=IDENTITY"))
    var add: [String] = []
    @Option(name: .customLong("remove-admin"), help: ArgumentHelp("Remove an admin.", valueName: "NAME"))
    var remove: [String] = []
    @Option(
      name: .long,
      help: ArgumentHelp(
        "Sign the proposed change with this fingerprint, after reviewing it (keyward trust show).",
        valueName: "FINGERPRINT"))
    var sign: String?
    @Flag(name: .long, help: "Withdraw the proposed change (an admin of the current root).")
    var withdraw = false

    func run() throws {
      try TrustRotateRoot.perform(
        global: global, identityOptions: identityOptions, add: add, remove: remove, sign: sign,
        withdraw: withdraw)
    }

    static func perform(
      global: GlobalOptions, identityOptions: IdentityOptions, add: [String], remove: [String], sign: String?,
      withdraw: Bool
    ) throws {
      if (sign != nil || withdraw) && !(add.isEmpty && remove.isEmpty) || (sign != nil && withdraw)
        || (sign == nil && !withdraw && add.isEmpty && remove.isEmpty)
      {
        throw KeywardError(
          .usage, "give --add-admin/--remove-admin, or --sign FINGERPRINT, or --withdraw (each alone)")
      }
      var admins = [TrustedState.Admin]()
      for a in add {
        guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
          throw KeywardError(.usage, "--add-admin takes NAME=IDENTITY")
        }
        admins.append(
          .init(
            name: String(a[..<eq]), identity: try publicIdentity(argument: String(a[a.index(after: eq)...]))))
      }
      let workspace = try global.openWorkspace()
      guard let trust = workspace.trust else {
        throw KeywardError(.input, "\(workspace.path) has no trust root", hint: "keyward trust init")
      }
      try workspace.requireTrusted("change the trust root")
      let signer = try identityOptions.require("trust rotate-root")
      let lock = try workspace.lock()
      defer { lock.unlock() }
      let p = Printer(global)
      if withdraw {
        try Trust.withdrawRootChange(workspace: workspace.path, current: trust, signer: signer)
        if p.json {
          p.document(fields: ["action": .string("withdraw")])
        } else if !p.quiet {
          p.out("Withdrew the proposed root change.\n")
        }
        return
      }
      if add.isEmpty && remove.isEmpty,
        let waiting = try Trust.pendingRootChange(workspace: workspace.path, current: trust)
      {
        // What is being signed, in words: an admin signs what they see.
        p.note("Signing " + TrustRotateRoot.describe(waiting) + "\n")
      }
      let result = try Trust.changeRoot(
        workspace: workspace.path, current: trust, add: admins, remove: remove,
        reviewed: sign.map { $0.lowercased() }, signer: signer,
        record: { (r: Trust.RootProposal) throws(KeywardError) in
          let lost = try AuditLog.append(
            workspace: workspace, action: "trust-root",
            environment: workspace.config.environmentNames.first ?? "none", set: nil,
            details: [
              "root": .string(r.fingerprint), "root_version": .number(Double(r.version)),
              "added": .array(r.added.map { .string($0.shown) }),
              "removed": .array(r.removed.map { .string($0.shown) }),
              "admin": .string(signer.name),
            ])
          if let lost { Printer(global).warning(lost) }
        }, env: .process)
      TrustRotateRoot.render(result, Printer(global))
    }

    /// The proposal in words: its admins by key, what changes, and who signed with which key.
    static func describe(_ r: Trust.RootProposal) -> String {
      var s =
        "root version \(r.version) (\(r.fingerprint)): admins \(r.admins.map(\.shown).joined(separator: ", ")), threshold \(r.threshold)"
      if !r.added.isEmpty { s += "; adds \(r.added.map(\.shown).joined(separator: "; "))" }
      if !r.removed.isEmpty { s += "; removes \(r.removed.map(\.shown).joined(separator: ", "))" }
      s += "; signed by \(r.signedBy.isEmpty ? "nobody" : r.signedBy.map(\.shown).joined(separator: ", "))"
      return s
    }

    static func person(_ p: Trust.Person) -> JSONValue {
      var o: [String: JSONValue] = ["name": .string(p.name), "fingerprint": .string(p.fingerprint)]
      if let note = p.note { o["note"] = .string(note) }
      return .object(o)
    }

    static func json(_ r: Trust.RootProposal) -> JSONValue {
      .object([
        "root_fingerprint": .string(r.fingerprint), "root_version": .number(Double(r.version)),
        "published": .bool(r.published),
        "admins": .array(r.admins.map(person)), "threshold": .number(Double(r.threshold)),
        "added": .array(r.added.map(person)), "removed": .array(r.removed.map(person)),
        "signed_by": .array(r.signedBy.map(person)),
        "missing": .array(r.missing.map(JSONValue.string)),
      ])
    }

    static func render(_ r: Trust.RootProposal, _ p: Printer) {
      if p.json {
        guard case .object(var o) = json(r) else { return }
        o["schema_version"] = .number(Double(Printer.schemaVersion))
        p.document(value: .object(o))
        return
      }
      guard !p.quiet else { return }
      if r.published {
        p.out(
          "The trust root is now version \(r.version) (\(r.fingerprint)). Machines pinned to an earlier root follow it; "
            + "a new machine pins it with: keyward trust pin \(r.fingerprint)\n")
      } else if r.missing.isEmpty {
        p.out(
          "Proposed \(describe(r)). It has every signature it needs; an admin of the new root publishes it: "
            + "keyward trust rotate-root --sign \(r.fingerprint)\n")
      } else {
        p.out(
          "Proposed \(describe(r)), in trust/root.next.json. It still needs \(r.missing.joined(separator: "; ")): "
            + "each of them checks the keys above (keyward trust show) and runs keyward trust rotate-root --sign \(r.fingerprint). "
            + "Commit the file so they see it.\n")
      }
    }
  }

  /// Reporting commands on a workspace whose root this machine has not pinned: they name the root
  /// they used and end inconclusive (exit 3), unless `--trust` was given.
  static func endReport(_ workspace: Workspace) throws {
    try Reports.unpinned(workspace).end()
  }
}

/// A new passphrase: from a file, or asked twice on the terminal; nil when none was asked for.
func newPassphrase(passphrase: Bool, file: String?, what: String) throws -> SecureBytes? {
  if let file {
    guard let p = try KeySource(passphraseFile: file).passphraseFromFile() else { return nil }
    guard p.count >= 8 else {
      throw KeywardError(.input, "\(file): the passphrase is shorter than 8 characters")
    }
    return p
  }
  guard passphrase else { return nil }
  let hint = "give it in a file instead: --passphrase-file FILE (mode 0600)"
  let first = try Terminal.readHidden("New passphrase for \(what): ", noTerminal: hint)
  let second = try Terminal.readHidden("Again: ", noTerminal: hint)
  guard first.constantTimeEquals(second) else { throw KeywardError(.input, "the two passphrases differ") }
  guard first.count >= 8 else { throw KeywardError(.input, "the passphrase is shorter than 8 characters") }
  return first
}

extension Keyward {
  struct AccessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "access",
      abstract: "Who can read and activate each environment (grant, revoke, list).",
      subcommands: [AccessGrant.self, AccessRevoke.self, AccessList.self])
  }

  struct AccessGrant: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "grant",
      abstract: "Give NAME access to ENV: the environment's key is wrapped to their identity (an admin).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String
    @Argument(help: "The member's name (as reports will show it).")
    var name: String
    @Argument(help: "Their public identity: ed25519:…, an ssh-ed25519 line, or a file holding one.")
    var identity: String

    @Flag(name: .long, help: "Read only (a CI identity): may decrypt, may not activate.")
    var reader = false
    @Flag(
      name: .long,
      help:
        "Make them an admin of the workspace (every environment): proposes root N+1, as trust rotate-root --add-admin."
    )
    var admin = false

    func validate() throws {
      guard Names.isMember(name) else {
        throw ValidationError(
          "\"\(Text.printable(name, keepNewlines: false))\" is not a valid name (\(Names.memberRule))")
      }
    }

    func run() throws {
      if admin {
        // An admin acts in every environment: that is a change of the trust root.
        guard !reader else { throw KeywardError(.usage, "--admin and --reader exclude each other") }
        return try TrustRotateRoot.perform(
          global: global, identityOptions: identityOptions, add: ["\(name)=\(identity)"], remove: [],
          sign: nil,
          withdraw: false)
      }
      let workspace = try global.openWorkspace()
      let member = try publicIdentity(argument: identity)
      let signer = try identityOptions.require("access grant")
      let lock = try workspace.lock()
      defer { lock.unlock() }
      let state = try Access.grant(
        workspace: workspace, environment: environment, name: name, identity: member,
        role: reader ? "reader" : "member", admin: signer, keys: keys.source())
      let lost = try AuditLog.append(
        workspace: workspace, action: "grant", environment: environment, set: nil,
        details: [
          "member": .string(name), "role": .string(reader ? "reader" : "member"),
          "identity": .string(member.fingerprint), "state_version": .number(Double(state.version)),
        ])
      let p = Printer(global)
      if let lost { p.warning(lost) }
      if p.json {
        p.document(fields: [
          "action": .string("grant"), "environment": .string(environment), "name": .string(name),
          "fingerprint": .string(member.fingerprint), "role": .string(reader ? "reader" : "member"),
          "state_version": .number(Double(state.version)),
        ])
      } else if !p.quiet {
        p.out(
          "Granted \(name) (\(member.fingerprint)) \(reader ? "read" : "member") access to \(environment); state version \(state.version).\n"
        )
      }
    }
  }

  struct AccessRevoke: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "revoke",
      abstract:
        "Remove NAME from ENV and rekey it: their identity opens nothing in the current files (an admin).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var identityOptions: IdentityOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String
    @Argument(help: "The member's name.")
    var name: String

    func run() throws {
      let workspace = try global.openWorkspace()
      let signer = try identityOptions.require("access revoke")
      let (revocation, rekey) = try Access.revoke(
        workspace: workspace, environment: environment, name: name, admin: signer, keys: keys.source())
      let p = Printer(global)
      if p.json {
        p.document(fields: [
          "action": .string("revoke"), "environment": .string(environment), "name": .string(name),
          "fingerprint": .string(revocation.fingerprint), "old_key_id": .string(rekey.oldKeyID),
          "new_key_id": .string(rekey.newKeyID), "key_file": .string(rekey.keyFile),
          "ci_variable": .string(rekey.ciVariable),
          "exposed_sets": .array(revocation.sets.map { .object(["set_id": .string($0)]) }),
        ])
      } else if !p.quiet {
        p.out(
          """
          Revoked \(name) from \(environment) and rekeyed it (key \(rekey.newKeyID), was \(rekey.oldKeyID)).
          Their identity and the old key open nothing in the current files; git history still holds the
          old ciphertexts, so \(revocation.sets.count) set(s) they could read are exposed until rotated
          (keyward check lists them as KW607). CI: replace \(rekey.ciVariable) with the new key.

          """)
      }
    }
  }

  struct AccessList: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "Admins, members, readers and shared keys per environment (no key needed).")

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let workspace = try global.openWorkspace()
      guard let trust = workspace.trust else {
        throw KeywardError(
          .input,
          "\(workspace.path) has no trust root: whoever holds an environment's key file can read it, and nobody can say who",
          hint: "keyward trust init")
      }
      let p = Printer(global)
      let shared = "anyone who holds the environment's key file or its KEYWARD_PRIVATE_KEY_<ENV> value"
      if p.json {
        var envs = [JSONValue]()
        for name in workspace.config.environmentNames {
          envs.append(
            .object([
              "environment": .string(name), "production": .bool(workspace.isProduction(name)),
              "members": .array(
                (trust.members[name] ?? []).map {
                  .object([
                    "name": .string($0.name), "role": .string($0.role),
                    "fingerprint": .string($0.identity.fingerprint),
                    "wrapped": .bool(trust.wraps[name]?[$0.identity.fingerprint] != nil),
                  ])
                }),
              "shared_key": .string(shared),
              "revoked": .array(
                (trust.revoked[name] ?? []).map {
                  .object(["name": .string($0.name), "fingerprint": .string($0.fingerprint)])
                }),
            ]))
        }
        p.document(
          value: .object([
            "schema_version": .number(Double(Printer.schemaVersion)),
            "root_fingerprint": .string(trust.rootFingerprint),
            "state_version": .number(Double(trust.version)),
            "admins": .array(
              trust.admins.map {
                .object(["name": .string($0.name), "fingerprint": .string($0.identity.fingerprint)])
              }),
            "environments": .array(envs),
          ]))
        return try Keyward.endReport(workspace)
      }
      var t = "trust root \(trust.rootFingerprint) · state version \(trust.version)\n"
      t +=
        "admins (every environment): \(trust.admins.map { "\($0.name) (\($0.identity.fingerprint))" }.joined(separator: ", "))\n"
      for name in workspace.config.environmentNames {
        t += "\n\(p.style(name, .bold))\(workspace.isProduction(name) ? " (production)" : "")\n"
        for m in trust.members[name] ?? [] {
          t += "  \(Text.pad(m.role, 7)) \(m.name) (\(m.identity.fingerprint))\n"
        }
        t += "  shared  \(shared)\n"
        for r in trust.revoked[name] ?? [] { t += "  revoked \(r.name) (\(r.fingerprint))\n" }
      }
      p.out(t)
      try Keyward.endReport(workspace)
    }
  }
}

/// A public identity as the person gave it: `ed25519:…`, an `ssh-ed25519` line, or a file holding
/// one (`access grant`, `trust rotate-root --add-admin`).
func publicIdentity(argument: String) throws -> PublicIdentity {
  let text =
    FileSystem.exists(argument)
    ? String(decoding: try FileSystem.readInput(argument), as: UTF8.self) : argument
  return try PublicIdentity(parsing: text)
}
