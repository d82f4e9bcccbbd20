#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Which set a command means: `active` (default), `pending`, or a set id (or a unique prefix of one).
public enum SetSelector: Sendable, Equatable {
  case active
  case pending
  case id(String)

  public init(_ text: String?) {
    switch text {
    case nil, "active": self = .active
    case "pending": self = .pending
    case let s?: self = .id(s)
    }
  }

  public func pick(from env: EnvironmentFile) throws(KeywardError) -> KeySet {
    let name = env.environment
    switch self {
    case .active:
      if let a = env.active { return a }
      if env.sets.isEmpty {
        throw KeywardError(.input, "\(name) has no sets yet", hint: "keyward set \(name)")
      }
      throw KeywardError(
        .input,
        "\(name) has no active set (it has: \(env.sets.map { "\($0.id) \($0.state.rawValue)" }.joined(separator: ", ")))",
        advice: .chooseSet)
    case .pending:
      guard let p = env.sets.first(where: { $0.state == .pending }) else {
        throw KeywardError(.input, "\(name) has no pending set", hint: "keyward rotate \(name)")
      }
      return p
    case .id(let id):
      let matches = env.sets.filter { $0.id.hasPrefix(id) }
      if matches.count == 1 { return matches[0] }
      if matches.isEmpty { throw KeywardError(.input, "\(name) has no set \"\(id)\"") }
      throw KeywardError(.input, "\"\(id)\" matches \(matches.count) sets in \(name); give more of the id")
    }
  }
}

/// A decrypted set. The values live in guarded memory and are wiped when this is released.
public struct OpenedSet {
  public let environment: String
  public let set: KeySet
  public let appKey: SecureBytes
  public let appSecret: SecureBytes
  /// Where the private key came from (`$KEYWARD_PRIVATE_KEY_PROD`, a path), never its value.
  public let keyOrigin: String
  /// Things worth saying on stderr (an active set nobody activated, outside production).
  public var warnings: [String] = []

  public func value(_ field: Field) -> SecureBytes { field == .appKey ? appKey : appSecret }
}

/// Decrypting sets.
public enum OpenOperation {
  /// `deploys`: the values leave for a deployment (`export`, `run`), so in production any set
  /// chosen — the active one or one named with `--set` — must be the set a member activated.
  /// `show` reads without deploying: it is held to that only for the active set.
  public static func run(
    workspace: Workspace, environment name: String, selector: SetSelector, keys: KeySource,
    deploys: Bool = true
  )
    throws(KeywardError) -> OpenedSet
  {
    try workspace.requireTrusted("decrypt \(name)")
    let env = try workspace.loadEnvironment(name)
    let set = try selector.pick(from: env)
    // The active set deploys only when a member's signed manifest names it (TRUST.md, property 4).
    var warnings = [String]()
    if workspace.trust != nil && (selector == .active || deploys) {
      do {
        // A deploy with no record of this environment's activations holds the manifest to the
        // repository's history; in production a shallow clone, which cuts that short, is named.
        _ = try Activation.requireActivated(
          workspace: workspace, env: env, set: set, history: true,
          notice: workspace.isProduction(name) ? { warnings.append($0) } : nil)
      } catch {
        if workspace.isProduction(name) { throw error }
        warnings.append(error.message)
      }
    }
    let (key, origin) = try keys.privateKey(for: env, in: workspace)
    let scratch = Sealed.Scratch()
    let k = try open(env: env, set: set, field: .appKey, key: key, workspace: workspace, scratch: scratch)
    let s = try open(env: env, set: set, field: .appSecret, key: key, workspace: workspace, scratch: scratch)
    // The values must be the ones the fingerprints (and so any signature over the set) name: a
    // ciphertext sealed anew to the same key with another value is refused.
    for (field, value) in [(Field.appKey, k), (.appSecret, s)]
    where workspace.fingerprinter.fingerprint(value) != set.fingerprints[field] {
      throw KeywardError(
        .integrity,
        "\(workspace.environmentPath(name)): set \(set.id)'s \(field.rawValue) does not hold the value its fingerprint names: the ciphertext was replaced"
      )
    }
    return OpenedSet(
      environment: name, set: set, appKey: k, appSecret: s, keyOrigin: origin, warnings: warnings)
  }

  /// Opens one field; on failure, names the place and, when the value opens at another place of
  /// this environment, says where it was moved from.
  static func open(
    env: EnvironmentFile, set: KeySet, field: Field, key: PrivateKey, workspace: Workspace,
    scratch: Sealed.Scratch? = nil
  ) throws(KeywardError) -> SecureBytes {
    let place = Place(environment: env.environment, setID: set.id, field: field)
    let file = workspace.environmentPath(env.environment)
    let text = set.ciphertext(field)
    switch Sealed.open(text, with: key, at: place, scratch: scratch) {
    case .success(let value):
      // A stored fingerprint that disagrees with the decrypted value means the file was edited.
      let fp = workspace.fingerprinter.fingerprint(value)
      guard fp == set.fingerprints[field] else {
        throw KeywardError(
          .integrity,
          "\(file): \(place): the stored fingerprint \(set.fingerprints[field]) does not match the value (\(fp)): "
            + "the fingerprint was edited, or the workspace salt changed")
      }
      return value
    case .failure(.authentication):
      for other in env.sets {
        for f in Field.allCases where !(other.id == set.id && f == field) {
          let candidate = Place(environment: env.environment, setID: other.id, field: f)
          if case .success = Sealed.open(text, with: key, at: candidate) {
            throw KeywardError(
              .integrity,
              "\(file): \(place) does not open: the ciphertext was sealed for \(candidate) and copied here")
          }
        }
      }
      throw KeywardError(
        .integrity,
        "\(file): \(place) failed authentication: the ciphertext was altered, or copied here from another environment or set"
      )
    case .failure(let f):
      throw EnvironmentValidator.envelopeError(f, at: "\(file): \(place)")
    }
  }
}
