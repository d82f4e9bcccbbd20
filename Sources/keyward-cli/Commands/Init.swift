import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Init: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "init",
      abstract: "Create the workspace, with one recipient keypair per environment.",
      discussion: """
        Writes Environments/keyward.json and one <env>.json per environment holding its public key. \
        Private keys go to the key store ($KEYWARD_KEYS_DIR, default ~/.config/keyward/keys), mode 0600.
        Run it again with --envs to add environments to an existing workspace; existing ones are left alone.
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Comma-separated environment names.")
    var envs: String = "dev,staging,prod"

    @Option(name: .long, help: "captchala (default for a new workspace), recaptcha, hcaptcha or turnstile.")
    var provider: String?

    @Flag(name: .long, help: "Protect the new private keys with a passphrase (asked twice on the terminal).")
    var passphrase = false

    @Option(name: .long, help: "Protect the new private keys with the passphrase in this file.")
    var passphraseFile: String?

    @OptionGroup var identityOptions: IdentityOptions

    func run() throws {
      var provider: Provider?
      if let name = self.provider {
        guard let p = Provider(rawValue: name) else {
          throw KeywardError(
            .usage,
            "unknown provider \"\(name)\" (one of: \(Provider.allCases.map(\.rawValue).joined(separator: ", ")))"
          )
        }
        provider = p
      }
      let names = envs.split(separator: ",").map { Text.trimBlanks($0) }.filter {
        !$0.isEmpty
      }
      // The shape of --envs is the command line's business (exit 64); the core refuses the same.
      for name in names where !Names.isEnvironment(name) {
        throw KeywardError(
          .usage,
          "\"\(Text.printable(name, keepNewlines: false))\" is not a valid environment name (\(Names.environmentRule))"
        )
      }
      guard !names.isEmpty else { throw KeywardError(.usage, "--envs names no environment") }
      let report = try InitOperation.run(
        .init(
          path: global.workspacePath, environments: names, provider: provider,
          passphrase: try readPassphrase(), identity: try identityOptions.load()))
      let p = Printer(global)
      for notice in report.notices { p.warning(notice) }
      if p.json { return p.document(report) }
      if p.quiet { return }
      var t =
        report.workspaceCreated
        ? "Created workspace \(report.workspace) (provider \(report.provider.rawValue)).\n"
        : "Workspace \(report.workspace) (provider \(report.provider.rawValue)).\n"
      let width = report.environments.map(\.name.count).max() ?? 0
      for e in report.environments {
        let name = Text.pad(e.name, width)
        let prod = e.production ? " (production)" : ""
        if let path = e.privateKeyPath {
          t += "  \(p.style(name, .bold))  key \(e.keyID)\(prod)  private key → \(path)"
          t += e.passphraseProtected ? " (passphrase-protected)" : ""
          t += e.status == "adopted" ? " (completed after an interrupted init)\n" : "\n"
        } else {
          t += "  \(name)  key \(e.keyID)\(prod)  already exists, unchanged\n"
        }
      }
      if let root = report.trustRoot, report.workspaceCreated {
        t += "Trust root \(root) (you are its admin; pinned on this machine). Others pin it with:\n"
        t += "  keyward trust pin \(root)\n"
      }
      let created = report.environments.filter { $0.privateKeyPath != nil }
      if let first = created.first {
        t += """

          Next:
            keyward set \(first.name)    store \(first.name)'s App Key + App Secret (no private key needed)
            keyward list    every environment and set, without any private key
          \(first.passphraseProtected ? Init.protectedHandOff(first) : Init.plainHandOff(first))
          Back up the key files: without an environment's private key its sets cannot be read.

          """
      }
      p.out(t)
    }

    /// A plain key file's `secret-key:` line is what CI's variable takes.
    static func plainHandOff(_ e: InitOperation.EnvironmentResult) -> String {
      """
      For CI, hand over one environment's private key as a masked secret variable, e.g.
        \(e.ciVariable) = the kwsk1:… value on the secret-key: line of \(e.privateKeyPath!)
      """
    }

    /// A protected key file has no `secret-key:` line (the CI variable cannot take it): CI gets the
    /// file and its passphrase, each as a secret.
    static func protectedHandOff(_ e: InitOperation.EnvironmentResult) -> String {
      """
      For CI, hand over the protected key file and its passphrase as two secrets (it has no
      secret-key: line, so \(e.ciVariable) cannot take it): write them to files in the job, then
        keyward export \(e.name) --key-file KEY_FILE --passphrase-file PASSPHRASE_FILE
      The key file is \(e.privateKeyPath!).
      """
    }

    func readPassphrase() throws -> SecureBytes? {
      try newPassphrase(passphrase: passphrase, file: passphraseFile, what: "the private keys")
    }
  }
}
