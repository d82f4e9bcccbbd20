import KeywardCore

/// The command line's words for the core's `Advice`: the one place that spells an option in a
/// hint. (`keyward` and `keyward-cli` take the same options, so both print these.)
extension Advice {
  public var text: String {
    switch self {
    case .verifyPendingOrForce(let env):
      return "keyward verify \(env) --set pending   (or promote with --force)"
    case .retireNow(let env):
      return "keyward retire \(env) --now   # to retire them anyway"
    case .retireElsewhere(let env):
      return
        "export the active set there first, or: keyward retire \(env) --force   # recorded in the trail as yours"
    case .deployActiveFirst(let env, let format, let path, let shown):
      return Advice.exportThere(env, format, path, shown) + "   # deploy the active set there first"
    case .adminIdentity:
      return "an admin runs it (keyward identity show prints yours), or pass --identity FILE"
    case .foreignHook:
      return "add `keyward scan --staged` to it yourself, or replace it with --install-hook --force"
    case .addEnvironment(let name):
      return "keyward init --envs \(name)  # adds it"
    case .chooseSet:
      return "choose one with --set ID"
    case .storeAsGiven:
      return "if this really is the value, store it exactly as given with --raw"
    case .rotateOrReplace(let env):
      return
        "for a zero-downtime change run `keyward rotate \(env)`; to overwrite it, `keyward set \(env) --replace`"
    case .newPairOrForce:
      return "get a new pair from the provider; to store it anyway: --force"
    case .createOrNameWorkspace:
      return "run `keyward init` here, or pass --workspace DIR (or set KEYWARD_WORKSPACE)"
    case .nameRealWorkspace:
      return "use the folder it points to directly (--workspace), or replace the link with the folder"
    case .privateKey(let variable, let storePath):
      return "pass --key-file PATH, set \(variable), or place the key file at \(storePath)"
    case .passphraseFile:
      return "pass --passphrase-file FILE"
    case .pinNewRoot(let fingerprint):
      return
        "if your admins confirm a new root that the old one did not sign, pin it: keyward trust pin \(fingerprint) --replace"
    case .withdrawRootChange:
      return "remove it (keyward trust rotate-root --withdraw) and propose again"
    case .signReviewedRootChange(let fingerprint):
      return
        "review it (keyward trust show lists its admins by key) and run keyward trust rotate-root --sign \(fingerprint)"
    case .signOrWithdrawRootChange:
      return
        "sign it (keyward trust rotate-root --sign) or withdraw it (keyward trust rotate-root --withdraw)"
    case .exportFormat(let format):
      return "use --format \(format), which can carry any value"
    case .exportBytes:
      return "use --format k8s (base64), or store the value again with keyward set"
    case .otherFileOrForce:
      return "choose another file, or pass --force to replace it"
    case .command(let line):
      return line
    case .restoreTrail:
      return "restore the trail from version control; keyward audit --git names the commit that changed it"
    case .checkTrailElsewhere:
      return
        "compare the trail with another clone's, or run keyward audit --git, which names any commit that removed entries"
    case .exportToFile(let env):
      return "keyward export \(env) -o FILE"
    case .verifyPending(let env):
      return "keyward verify \(env) --set pending"
    case .verifyPendingThenPromote(let env):
      return "keyward verify \(env) --set pending && keyward promote \(env)"
    case .replaceSet(let env):
      return "keyward set \(env) --replace   # with the values in the right order"
    case .replaceExchangedSet(let env, let id):
      return "keyward set \(env) --replace   # set \(id): enter the App Key first, then the App Secret"
    case .deployThenRetireLater(let env):
      return "keyward export \(env) -o FILE (deploy the active set), then keyward retire \(env)"
    case .deployActiveThenRetire(let env, let format, let path, let shown):
      return Advice.exportThere(env, format, path, shown)
        + " (it still holds a retiring set), then keyward retire \(env)"
    case .retireAfterElsewhere(let env, let shown):
      return
        "export the active set to \(shown) on the machine that holds it, then keyward retire \(env) --force"
    }
  }

  /// The command that exports an environment's active set to a file the trail names (in its
  /// format): the path a shell word, or, when it holds control characters, FILE and the path
  /// named apart, escaped (a path from the trail is hostile input).
  static func exportThere(_ env: String, _ format: String?, _ path: String?, _ shown: String) -> String {
    let f = format.map { " --format \(Text.shellWord($0))" } ?? ""
    guard let path else { return "keyward export \(env)\(f) -o FILE (FILE: \(shown), as the trail names it)" }
    return "keyward export \(env)\(f) -o \(Text.shellWord(path))"
  }

  /// The words every command uses.
  public static let words: Wording = { $0.text }
}

extension KeywardError {
  /// The hint a person reads: the core's words, or the command line's for its advice.
  public var shownHint: String? { hint ?? advice?.text }
}
