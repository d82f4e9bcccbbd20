import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension ExportFormat: ExpressibleByArgument {}

extension Keyward {
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export",
      abstract: "Write an environment's set in a deploy target's format (stdout, or -o FILE).",
      discussion: """
        Formats: dotenv (python-dotenv, Node's dotenv and docker compose read it alike), shell \
        (export NAME='…', safe to eval), json, docker (--env-file), github ($GITHUB_ENV and \
        $GITHUB_OUTPUT syntax), k8s (a v1 Secret manifest), systemd (EnvironmentFile=).
        Every value reads back exactly as stored, or is refused with an error naming the character \
        the format cannot carry. Variable names come from keyward.json (default CAPTCHALA_APP_KEY and \
        CAPTCHALA_APP_SECRET). A file is written atomically with mode 0600; a file keyward did not \
        write is not replaced without --force. Each export is recorded in the audit trail \
        (environment, set, fingerprints, target; never values).
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @Option(name: .long, help: "dotenv, shell, json, docker, github, k8s or systemd.")
    var format: ExportFormat = .dotenv

    @Option(
      name: .shortAndLong, help: "Write to this file (atomically, mode 0600) instead of standard output.")
    var output: String?

    @Option(
      name: .long, help: "Which set: active (default), pending, or a set id.", completion: Completions.sets)
    var set: String?

    @Flag(name: .long, help: "Replace an existing file that keyward did not write.")
    var force = false

    @Option(name: .long, help: "k8s: the Secret's name (default captcha-ENV).")
    var name: String?

    @Option(name: .long, help: "k8s: the Secret's namespace.")
    var namespace: String?

    @Option(name: .long, help: "Also export the environment's name in this variable.")
    var envNameVar: String?

    @Option(name: .long, help: "Also export the provider endpoint in this variable.")
    var endpointVar: String?

    @Flag(name: .customLong("no-mask"), help: "github into $GITHUB_ENV: print no ::add-mask:: line.")
    var noMask = false

    var request: ExportRequest {
      ExportRequest(
        settings: common.settings, keyFile: keys.keyFile, passphraseFile: keys.passphraseFile,
        request: ExportOperation.Request(
          environment: environment, selector: SetSelector(set), format: format, secretName: name,
          namespace: namespace, environmentNameVariable: envNameVar, endpointVariable: endpointVar,
          output: output,
          force: force, mask: !noMask))
    }

    func run() throws { try request.run() }
  }

  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "run",
      abstract: "Run a command with an environment's set in its environment (nothing written to disk).",
      discussion: """
        keyward replaces itself with the command (exec): its exit status and signals are the \
        command's own. A command that cannot be found exits 127, one that cannot be executed 126. \
        --pristine starts from an empty environment plus the set. The run is recorded in the audit \
        trail (environment, set, fingerprints, program name; never values or arguments).
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "The environment.", completion: Completions.environments)
    var environment: String

    @Option(
      name: .long, help: "Which set: active (default), pending, or a set id.", completion: Completions.sets)
    var set: String?

    @Flag(name: .long, help: "Start from an empty environment instead of keyward's own.")
    var pristine = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
      if command.isEmpty {
        throw ValidationError("give the command to run after --, e.g. keyward run prod -- ./server")
      }
    }

    var request: RunRequest {
      RunRequest(
        settings: common.settings, keyFile: keys.keyFile, passphraseFile: keys.passphraseFile,
        request: RunOperation.Request(
          environment: environment, selector: SetSelector(set), pristine: pristine, command: command))
    }

    func run() throws { try request.run() }
  }
}
