#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// This machine's record of a signed state it verified for one environment's deploys (`show`,
/// `export`, `run`) and writes that sign no state (`set`, `rotate`): while keyward.json and
/// `trust/state.json` are the very files it verified, such a command reads this small record
/// instead of the whole state (3 MB at 3,000 environments) and the whole config, so it costs the
/// same at 300 environments as at 3,000.
///
/// The record holds what verifying them established for the environment: the root fingerprint
/// the state's signatures were checked under, the admins whose signatures were valid, the
/// payload's digest (what a pin compares), and the state restricted to the environment (its
/// recipient, members, wraps, revocations, pending key, and the signed keyward.json with only that
/// environment), in the payload's own form, read by the same parser.
///
/// It is keyed by the identity of both files as `VerifiedSegments` keys a segment: device, inode,
/// size and change time in nanoseconds. Any write to a file, a `git checkout` or `pull` that
/// replaces it, or a copy changes its change time, which no one without root can set back, so an
/// edited file is read and verified in full again. A file changed less than two seconds before is
/// never recorded (git's "racily clean" rule), and a file is recorded only when its identity is
/// the same after the verification as before it. Everything else is checked on every deploy as
/// without the record: the root file and its signatures (or the pin that vouches for it), the pin
/// or `KEYWARD_TRUST`, rollbacks against the pin (with the recorded digest and version), the
/// environment file, the activation manifest and the wraps. The record is not signed: whoever can
/// write the key store (0700) could make a deploy skip the state, as they could replace its keys.
/// `trust show`, `check`, `audit` and every other write read the files themselves; a state is
/// never signed from a focused one (`TrustedState.requireWhole`).
public struct VerifiedDeploy {
  static let format = "keyward verified deploy v1"

  /// The identities of keyward.json and the signed state (`VerifiedSegments.identity`).
  public struct Files: Equatable, Sendable {
    var config: String
    var state: String
  }

  var environment: String
  var files: Files
  /// The root fingerprint the signatures were checked under.
  var root: String
  /// The payload's digest (`Trust.digest`), as a pin records it.
  var digest: String
  /// The admins whose signatures over the state were valid.
  var signers: [String]
  /// The state's payload restricted to `environment` (keyward.json with it alone inside).
  var payload: [UInt8]
  /// `payload` read, and the root file read in the same lookup (nil until `lookup` reads them).
  var state: Trust.State? = nil
  var rootDoc: Trust.RootDoc? = nil

  /// The signed keyward.json bytes, restricted to the environment.
  var config: [UInt8] { state?.config ?? [] }

  static func path(workspace: String, environment: String, env: Env) -> String {
    "\(KeySource.storeDirectory(env))/state-verified/\(Trust.pinStem(workspace: workspace, env: env))/\(environment)"
  }

  /// Both files' identities now; nil when either is not a regular file on a file system that
  /// keeps change times (`FileSystem.keepsChangeTimes`). `settled`: also nil when either changed
  /// less than two seconds ago.
  static func files(workspace: String, settled: Bool = false) -> Files? {
    var ids = [String]()
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    for name in [Workspace.configName, Trust.stateName] {
      var st = stat()
      let path = "\(workspace)/\(name)"
      guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, FileSystem.keepsChangeTimes(path) else {
        return nil
      }
      // Two whole seconds, to the nanosecond (a filesystem keeping whole seconds gives a change
      // in the same second the same time).
      let age =
        (Int(now.tv_sec) - Int(st.st_ctim.tv_sec)) * 1_000_000_000 + Int(now.tv_nsec)
        - Int(st.st_ctim.tv_nsec)
      if settled && age < 2_000_000_000 { return nil }
      ids.append(VerifiedSegments.identity(st))
    }
    return Files(config: ids[0], state: ids[1])
  }

  /// The record for `environment` when both files are the ones it was made from; nil otherwise
  /// (then the deploy reads and verifies them in full).
  static func lookup(workspace: String, environment: String, env: Env) -> VerifiedDeploy? {
    guard let now = files(workspace: workspace),
      let bytes = try? FileSystem.read(path(workspace: workspace, environment: environment, env: env))
    else { return nil }
    let lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
    guard lines.count >= 8, lines[0] == format, lines[1] == environment,
      lines[2] == now.config, lines[3] == now.state,
      let payload = Sodium.unbase64(lines[7]),
      let state = try? Trust.parseState(payload, source: "the verified-deploy record", focus: environment),
      state.recipients[environment] != nil,
      // The root in use must be the one the signatures were checked under; it is read here once
      // and verified by `Trust.verify` as always.
      let rootDoc = try? Trust.readRoot("\(workspace)/\(Trust.rootName)"), rootDoc.fingerprint == lines[4]
    else { return nil }
    return VerifiedDeploy(
      environment: environment, files: now, root: lines[4], digest: lines[5],
      signers: lines[6].split(separator: ",").map(String.init), payload: payload, state: state,
      rootDoc: rootDoc)
  }

  /// Records what the verification of `files` (taken before it) established, when both files are
  /// still those files and settled. Best effort: a key store it cannot write only costs time.
  func save(workspace: String, env: Env) {
    guard let after = Self.files(workspace: workspace, settled: true), after == files else { return }
    let text =
      [
        Self.format, environment, files.config, files.state, root, digest, signers.joined(separator: ","),
        Sodium.base64(payload), "",
      ].joined(separator: "\n")
    let path = Self.path(workspace: workspace, environment: environment, env: env)
    guard (try? FileSystem.makeDirectory(Path.directory(Path.directory(path)), mode: 0o700)) != nil,
      (try? FileSystem.makeDirectory(Path.directory(path), mode: 0o700)) != nil
    else { return }
    // A save killed before its rename left its temporary file here: swept when a record is
    // written (not on the deploys that read one).
    FileSystem.removeStaleTemporaries(in: Path.directory(path))
    try? FileSystem.writeAtomically(
      path, bytes: Array(text.utf8), mode: 0o600, forceMode: true, crashLabel: "verified-")
  }

  /// keyward.json's bytes with `environments` holding `environment` alone (nil when it is not
  /// there, or the bytes are not a JSON object).
  static func restrictedConfig(_ bytes: [UInt8], to environment: String) -> [UInt8]? {
    guard case .object(var top)? = try? JSONValue.parse(bytes, source: Workspace.configName),
      case .object(let all)? = top["environments"], let mine = all[environment]
    else { return nil }
    top["environments"] = .object([environment: mine])
    return JSONValue.object(top).compact()
  }
}
