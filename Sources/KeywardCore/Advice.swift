/// What a person can do about a refusal when the way out is a command-line option. The core says
/// why, as a value; the command line words it (`Advice.text` in KeywardCLIKit), so nothing in the
/// core names a flag. Hints without an option stay plain text (`KeywardError.hint`).
public enum Advice: Sendable, Equatable {
  /// A pending set not verified, or that failed: verify it, or promote anyway.
  case verifyPendingOrForce(environment: String)
  /// No retiring set is past its grace period: retire them anyway.
  case retireNow(environment: String)
  /// A retiring set was last exported to a file on another machine: export there first, or
  /// retire anyway (recorded in the trail).
  case retireElsewhere(environment: String)
  /// A retiring set is still in a file here: deploy the active set to it first. `format` is the
  /// file's export format when not dotenv; `path` is nil when the trail's path holds control
  /// characters (then `shown` is it, escaped, for the person to find it).
  case deployActiveFirst(environment: String, format: String?, path: String?, shown: String)
  /// A change that needs an admin's identity.
  case adminIdentity
  /// A git pre-commit hook that keyward did not write is in the way.
  case foreignHook
  /// An environment the workspace does not have (and no name close to it): add it.
  case addEnvironment(String)
  /// More than one set could be meant.
  case chooseSet
  /// A value that looks mistyped (a stray newline, a quote, spaces): store it as given.
  case storeAsGiven
  /// An active set exists: rotate (zero downtime) or replace it.
  case rotateOrReplace(environment: String)
  /// A pair retired earlier: get a new one, or store it anyway.
  case newPairOrForce
  /// No workspace here.
  case createOrNameWorkspace
  /// The workspace folder is a symbolic link.
  case nameRealWorkspace
  /// No private key for an environment: where one can come from.
  case privateKey(variable: String, storePath: String)
  /// A passphrase is needed and there is no terminal.
  case passphraseFile
  /// The pin names a root the workspace's current root does not follow from.
  case pinNewRoot(fingerprint: String)
  /// A proposed root change that does not follow the current root.
  case withdrawRootChange
  /// A signer must name the proposal they reviewed.
  case signReviewedRootChange(fingerprint: String)
  /// Another root change is already proposed.
  case signOrWithdrawRootChange
  /// A value the chosen export format cannot carry: a format that can.
  case exportFormat(String)
  /// A value that is not UTF-8: k8s carries bytes, or store the value again.
  case exportBytes
  /// The output file exists and keyward did not write it.
  case otherFileOrForce

  // The next steps reports carry (list's `next`, the findings' remedies), worded by the caller's
  // `Wording`.

  /// A keyward command line that names no option ("keyward promote prod").
  case command(String)
  /// The trail is broken or cut: restore it; the history walk names the commit.
  case restoreTrail
  /// This machine forgot the heads it saw: prove the trail another way.
  case checkTrailElsewhere
  /// Export the environment's active set to the deployed file.
  case exportToFile(environment: String)
  /// Verify the pending set.
  case verifyPending(environment: String)
  /// Verify the pending set, then promote it.
  case verifyPendingThenPromote(environment: String)
  /// Store the set again with the values in the right order, replacing it.
  case replaceSet(environment: String)
  /// Store KW101's exchanged set again, App Key first.
  case replaceExchangedSet(environment: String, setID: String)
  /// A retiring set's grace period runs: deploy the active set, then retire after it.
  case deployThenRetireLater(environment: String)
  /// A retiring set past its grace period is still in a file here (as `deployActiveFirst`): deploy
  /// the active set there, then retire.
  case deployActiveThenRetire(environment: String, format: String?, path: String?, shown: String)
  /// A retiring set past its grace period was last exported on another machine: export there,
  /// then retire anyway (recorded).
  case retireAfterElsewhere(environment: String, shown: String)
}

/// How the command line words advice (`Advice.text` in KeywardCLIKit). Reports that carry a next
/// step take one, so the core names no option; `Advice.unworded` names the advice by its case.
public typealias Wording = @Sendable (Advice) -> String

extension Advice {
  public static let unworded: Wording = { String(describing: $0) }
}

extension KeywardError {
  /// An error whose way out is an option of the command line, worded there.
  public init(_ kind: Kind, _ message: String, advice: Advice) {
    self.init(kind, message)
    self.advice = advice
  }
}
