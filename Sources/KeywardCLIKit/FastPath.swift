import KeywardCore

/// A parser for the commands deploy scripts call on every start (`show`, `export`, `run`) and the
/// reports CI runs (`check`, `audit`, `list`, `log`), so that they start as
/// fast as a Go binary: ArgumentParser builds its command tree by reflection, which costs a few
/// milliseconds of protocol-conformance lookups per process.
///
/// It accepts only a plain, valid invocation: each option at most once, the known options of the
/// command, exactly the positional arguments it takes. Anything else — help, a typo, a repeated
/// option, `--` — returns nil, and ArgumentParser parses the arguments as usual, so help and usage
/// errors have one source. `FastPathTests` checks that both parsers build the same request.
public enum FastPath {
  public enum Invocation: Equatable, Sendable {
    case show(ShowRequest)
    case export(ExportRequest)
    case run(RunRequest)
    case check(CheckRequest)
    case audit(AuditRequest)
    case list(ListRequest)
    case log(LogRequest)
  }

  public static func parse(_ args: [String]) -> Invocation? {
    guard let command = args.first else { return nil }
    var rest = Array(args.dropFirst())
    switch command {
    case "show":
      var scanner = Scanner(rest)
      guard scanner.scan(flags: ["--reveal"], options: ["--set", "--key-file", "--passphrase-file"]),
        scanner.positionals.count == 1, let settings = scanner.settings(formatIsOutput: true)
      else { return nil }
      return .show(
        ShowRequest(
          settings: settings, keyFile: scanner.option("--key-file"),
          passphraseFile: scanner.option("--passphrase-file"), environment: scanner.positionals[0],
          set: scanner.option("--set"), reveal: scanner.flags.contains("--reveal")))
    case "export":
      var scanner = Scanner(rest)
      guard
        scanner.scan(
          flags: ["--force", "--no-mask"],
          options: [
            "--set", "--key-file", "--passphrase-file", "-o", "--output", "--name", "--namespace",
            "--env-name-var",
            "--endpoint-var",
          ]),
        scanner.positionals.count == 1, scanner.option("-o") == nil || scanner.option("--output") == nil,
        let settings = scanner.settings(formatIsOutput: false)
      else { return nil }
      var format = ExportFormat.dotenv
      if let f = scanner.option("--format") {
        guard let parsed = ExportFormat(rawValue: f) else { return nil }
        format = parsed
      }
      return .export(
        ExportRequest(
          settings: settings, keyFile: scanner.option("--key-file"),
          passphraseFile: scanner.option("--passphrase-file"),
          request: ExportOperation.Request(
            environment: scanner.positionals[0], selector: SetSelector(scanner.option("--set")),
            format: format,
            secretName: scanner.option("--name"), namespace: scanner.option("--namespace"),
            environmentNameVariable: scanner.option("--env-name-var"),
            endpointVariable: scanner.option("--endpoint-var"),
            output: scanner.option("-o") ?? scanner.option("--output"),
            force: scanner.flags.contains("--force"), mask: !scanner.flags.contains("--no-mask"))))
    case "run":
      guard let dashes = rest.firstIndex(of: "--") else { return nil }
      let commandLine = Array(rest[(dashes + 1)...])
      rest = Array(rest[..<dashes])
      var scanner = Scanner(rest)
      guard !commandLine.isEmpty,
        scanner.scan(flags: ["--pristine"], options: ["--set", "--key-file", "--passphrase-file"]),
        scanner.positionals.count == 1, scanner.option("--format") == nil,
        let settings = scanner.settings(formatIsOutput: false)
      else { return nil }
      return .run(
        RunRequest(
          settings: settings, keyFile: scanner.option("--key-file"),
          passphraseFile: scanner.option("--passphrase-file"),
          request: RunOperation.Request(
            environment: scanner.positionals[0], selector: SetSelector(scanner.option("--set")),
            pristine: scanner.flags.contains("--pristine"), command: commandLine)))
    case "list":
      var scanner = Scanner(rest)
      guard scanner.scan(flags: [], options: []), scanner.positionals.isEmpty,
        let settings = scanner.settings(formatIsOutput: true)
      else { return nil }
      return .list(ListRequest(settings: settings))
    case "check":
      // --online, its key and network options, and the usage errors stay with ArgumentParser.
      var scanner = Scanner(rest)
      guard
        scanner.scan(
          flags: ["--from-env", "--exit-zero"],
          options: ["--env-file", "--env-format", "--max-age", "--fail-on", "--sarif"]),
        let settings = scanner.settings(formatIsOutput: false),
        let format = scanner.enumOption("--format", default: CheckFormat.text),
        let failOn = scanner.enumOption("--fail-on", default: Severity.error),
        !(scanner.option("--env-file") != nil && scanner.flags.contains("--from-env"))
      else { return nil }
      var envFormat: DeployedReader.Syntax? = nil
      if let f = scanner.option("--env-format") {
        guard let parsed = DeployedReader.Syntax(rawValue: f) else { return nil }
        envFormat = parsed
      }
      var maxAgeDays: Int? = nil
      if let m = scanner.option("--max-age") {
        guard let days = Reports.days(m) else { return nil }
        maxAgeDays = days
      }
      return .check(
        CheckRequest(
          settings: settings, environments: scanner.positionals, envFile: scanner.option("--env-file"),
          envFormat: envFormat, fromEnv: scanner.flags.contains("--from-env"), maxAgeDays: maxAgeDays,
          format: format, failOn: failOn, exitZero: scanner.flags.contains("--exit-zero"),
          sarif: scanner.option("--sarif")))
    case "audit":
      var scanner = Scanner(rest)
      guard
        scanner.scan(flags: ["--exit-zero", "--full", "--git"], options: ["--fail-on", "--sarif"]),
        scanner.positionals.isEmpty,
        let settings = scanner.settings(formatIsOutput: false),
        let format = scanner.enumOption("--format", default: AuditFormat.text),
        let failOn = scanner.enumOption("--fail-on", default: Severity.error)
      else { return nil }
      return .audit(
        AuditRequest(
          settings: settings, format: format, failOn: failOn, exitZero: scanner.flags.contains("--exit-zero"),
          sarif: scanner.option("--sarif"), full: scanner.flags.contains("--full"),
          git: scanner.flags.contains("--git")))
    case "log":
      var scanner = Scanner(rest)
      guard
        scanner.scan(flags: [], options: ["--actor", "--action", "--set", "--since", "--until"]),
        let settings = scanner.settings(formatIsOutput: false),
        let format = scanner.enumOption("--format", default: LogFormat.text)
      else { return nil }
      return .log(
        LogRequest(
          settings: settings, environments: scanner.positionals, actor: scanner.option("--actor"),
          action: scanner.option("--action"), setID: scanner.option("--set"),
          since: scanner.option("--since"),
          until: scanner.option("--until"), format: format))
    default:
      return nil
    }
  }

  /// Runs a fast invocation: the exit status its report decided. Errors are rendered by the
  /// caller, exactly as for the slow path.
  public static func run(_ invocation: Invocation) throws(KeywardError) -> ExitStatus {
    switch invocation {
    case .show(let request): try request.run()
    case .export(let request): try request.run()
    case .run(let request): try request.run()
    case .check(let request): return try request.run()
    case .audit(let request): return try request.run()
    case .list(let request): return try request.run()
    case .log(let request): return try request.run()
    }
    return .success
  }

  public static func printer(for invocation: Invocation) -> Printer {
    switch invocation {
    case .show(let r): return Printer(r.settings)
    case .export(let r): return Printer(r.settings)
    case .run(let r): return Printer(r.settings)
    case .check(let r): return Printer(r.errorSettings)
    case .audit(let r): return Printer(r.errorSettings)
    case .list(let r): return Printer(r.settings)
    case .log(let r): return Printer(r.errorSettings)
    }
  }

  /// Splits arguments into known flags, known options (`--name value` or `--name=value`) and
  /// positionals; fails on anything unknown or repeated.
  struct Scanner {
    let args: [String]
    var flags = [String]()
    // Parallel arrays, not a dictionary: a first use of Dictionary<String, String> costs a
    // generic-metadata instantiation, measurable at this scale.
    var optionNames = [String]()
    var optionValues = [String]()
    var positionals = [String]()

    init(_ args: [String]) { self.args = args }

    static let globalFlags = ["--no-color", "-q", "--quiet", "-v", "--verbose"]
    static let globalOptions = ["--workspace", "--format", "--trust"]

    mutating func scan(flags known: [String], options knownOptions: [String]) -> Bool {
      let allFlags = known + Scanner.globalFlags
      let allOptions = knownOptions + Scanner.globalOptions
      var i = 0
      while i < args.count {
        let arg = args[i]
        i += 1
        if !arg.hasPrefix("-") {
          positionals.append(arg)
          continue
        }
        if allFlags.contains(arg) {
          let canonical = arg == "-q" ? "--quiet" : arg == "-v" ? "--verbose" : arg
          guard !flags.contains(canonical) else { return false }
          flags.append(canonical)
          continue
        }
        var name = arg
        var value: String?
        if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
          name = String(arg[..<eq])
          value = String(arg[arg.index(after: eq)...])
          // `--name=` is argument-parser's to refuse ("missing value"), as it would.
          guard value != "" else { return false }
        }
        guard allOptions.contains(name), option(name) == nil else { return false }
        if value == nil {
          guard i < args.count, !args[i].hasPrefix("-") else { return false }
          value = args[i]
          i += 1
        }
        optionNames.append(name)
        optionValues.append(value!)
      }
      return true
    }

    func option(_ name: String) -> String? {
      optionNames.firstIndex(of: name).map { optionValues[$0] }
    }

    /// An option that takes one of an enumeration's values: the default when absent, nil (the slow
    /// path) when it is not one of them.
    func enumOption<T: RawRepresentable>(_ name: String, default value: T) -> T? where T.RawValue == String {
      guard let raw = option(name) else { return value }
      return T(rawValue: raw)
    }

    /// The global options. `formatIsOutput` is false for commands whose --format means something
    /// else (export's target format) or does not exist (run).
    func settings(formatIsOutput: Bool) -> CommonSettings? {
      var s = CommonSettings()
      s.workspace = option("--workspace")
      s.trust = option("--trust")
      if formatIsOutput, let f = option("--format") {
        guard let format = OutputFormat(rawValue: f) else { return nil }
        s.format = format
      }
      s.noColor = flags.contains("--no-color")
      s.quiet = flags.contains("--quiet")
      s.verbose = flags.contains("--verbose")
      Trace.on = s.verbose
      return s
    }
  }
}
