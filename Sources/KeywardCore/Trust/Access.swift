import CSodium

/// Per-person access (TRUST.md, property 5): an environment's private key wrapped (sealed) to each
/// member's and reader's identity, with the environment, the recipient key and the member bound in.
/// The wraps live in `trust/wraps/<env>.json`; their digests are in the signed state, so a dropped
/// or swapped wrap is detected.
public enum Access {
  static let label = Array("keyward wrap v1".utf8)

  /// The wraps' folder, and an environment's wraps, within the workspace.
  public static let wrapsFolder = "\(Trust.folder)/wraps"
  public static func wrapsName(_ environment: String) -> String { "\(wrapsFolder)/\(environment).json" }

  public static func wrapsPath(_ workspace: String, _ environment: String) -> String {
    "\(workspace)/\(wrapsName(environment))"
  }

  static func digest(_ sealed: [UInt8]) -> String {
    Sodium.hex(Sodium.blake2b(length: 32, [Array("keyward wrap digest v1".utf8), sealed]))
  }

  /// The X25519 public key of an Ed25519 identity (libsodium refuses small-order keys: -1).
  static func curve25519(_ id: PublicIdentity) throws(KeywardError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    guard crypto_sign_ed25519_pk_to_curve25519(&out, id.key) == 0 else {
      throw KeywardError(.input, "the identity \(id.fingerprint) is not a usable Ed25519 key (small order)")
    }
    return out
  }

  static func plaintextPrefix(environment: String, recipient: PublicKey, member: PublicIdentity) -> [UInt8] {
    let env = Array(environment.utf8)
    return label + [UInt8(env.count)] + env + recipient.bytes + member.key
  }

  /// Seals `key` to `member`: base64-ready bytes of `crypto_box_seal(prefix || secret)`.
  static func wrap(_ key: PrivateKey, environment: String, to member: PublicIdentity) throws(KeywardError)
    -> [UInt8]
  {
    let pk = try curve25519(member)
    let message = SecureBytes(capacity: 200)
    message.append(literal: "")
    plaintextPrefix(environment: environment, recipient: key.publicKey, member: member).withUnsafeBytes {
      message.append($0)
    }
    message.append(key.secret)
    var out = [UInt8](repeating: 0, count: message.count + Int(crypto_box_sealbytes()))
    _ = message.withUnsafeBytes { m in
      crypto_box_seal(&out, m.bindMemory(to: UInt8.self).baseAddress!, UInt64(m.count), pk)
    }
    return out
  }

  /// Opens this identity's wrap of `environment`'s key; the key must derive the signed recipient.
  static func unwrap(
    _ sealed: [UInt8], environment: String, recipient: PublicKey, as id: Identity, source: String
  ) throws(KeywardError) -> PrivateKey {
    let xsk = SecureBytes(capacity: 32)
    xsk.resize(to: 32)
    _ = id.secretKey.withUnsafeBytes { sk in
      xsk.withUnsafeMutableBytes { x in
        crypto_sign_ed25519_sk_to_curve25519(
          x.bindMemory(to: UInt8.self).baseAddress!, sk.bindMemory(to: UInt8.self).baseAddress!)
      }
    }
    let xpk = try curve25519(id.publicIdentity)
    let prefix = plaintextPrefix(environment: environment, recipient: recipient, member: id.publicIdentity)
    guard sealed.count == prefix.count + 32 + Int(crypto_box_sealbytes()) else {
      throw KeywardError(.integrity, "\(source): the wrap for \(id.name) has the wrong length")
    }
    let plain = SecureBytes(capacity: prefix.count + 32)
    plain.resize(to: prefix.count + 32)
    let rc = plain.withUnsafeMutableBytes { m in
      xsk.withUnsafeBytes { k in
        crypto_box_seal_open(
          m.bindMemory(to: UInt8.self).baseAddress!, sealed, UInt64(sealed.count), xpk,
          k.bindMemory(to: UInt8.self).baseAddress!)
      }
    }
    guard rc == 0 else { throw KeywardError(.integrity, "\(source): the wrap for \(id.name) does not open") }
    let bound = plain.withUnsafeBytes { Array($0.prefix(prefix.count)) }
    guard bound == prefix else {
      throw KeywardError(
        .integrity, "\(source): the wrap for \(id.name) was made for another environment, key or member")
    }
    let key = try PrivateKey(secret: plain.slice(prefix.count..<(prefix.count + 32)))
    guard key.publicKey == recipient else {
      throw KeywardError(
        .integrity, "\(source): the wrapped key is not \(environment)'s signed recipient key")
    }
    return key
  }

  /// Reads the wraps file of an environment: member fingerprint → sealed bytes.
  static func readWraps(_ workspace: String, _ environment: String) throws(KeywardError) -> [String: [UInt8]]
  {
    let file = wrapsPath(workspace, environment)
    guard FileSystem.exists(file) else { return [:] }
    return try JSONFiles.read(FileSystem.read(file, limit: .document), source: file) {
      (o: JSONObject) throws(KeywardError) in
      var out = [String: [UInt8]]()
      let wraps = try o.object("wraps")
      for (fp, _) in wraps.members {
        guard let bytes = Sodium.unbase64(try wraps.string(fp)) else {
          throw KeywardError(.integrity, "\(file): wraps.\(fp) is not base64")
        }
        out[fp] = bytes
      }
      return out
    }
  }

  static func writeWraps(_ workspace: String, _ environment: String, _ wraps: [String: [UInt8]])
    throws(KeywardError)
  {
    let file = wrapsPath(workspace, environment)
    try FileSystem.makeDirectory(Path.directory(file), mode: 0o755)
    let doc = JSONValue.object([
      "environment": .string(environment), "format": .string("keyward-wraps"),
      "wraps": .object(wraps.mapValues { .string(Sodium.base64($0)) }),
    ])
    try FileSystem.writeAtomically(file, bytes: doc.written())
  }

  /// The environment's private key through this identity's wrap, when the signed state has one
  /// for it. Nil when the identity has no wrap there.
  public static func key(
    for env: EnvironmentFile, in workspace: Workspace, identity: Identity
  ) throws(KeywardError) -> PrivateKey? {
    guard let trust = workspace.trust,
      let signed = trust.wraps[env.environment]?[identity.publicIdentity.fingerprint]
    else { return nil }
    let file = wrapsPath(workspace.path, env.environment)
    guard let sealed = try readWraps(workspace.path, env.environment)[identity.publicIdentity.fingerprint]
    else {
      throw KeywardError(
        .integrity, "\(file): the wrap for \(identity.name) that the signed state lists is missing (dropped)")
    }
    guard digest(sealed) == signed else {
      throw KeywardError(
        .integrity, "\(file): the wrap for \(identity.name) is not the signed one (swapped or edited)")
    }
    return try unwrap(
      sealed, environment: env.environment, recipient: try PublicKey(base64: env.recipient.publicKey),
      as: identity,
      source: file)
  }

  /// Wraps `key` to every listed member, writes the wraps file, and returns the digests the state
  /// signs.
  static func rewrap(
    workspace: String, environment: String, key: PrivateKey, members: [TrustedState.Member]
  ) throws(KeywardError) -> [String: String] {
    var wraps = [String: [UInt8]]()
    for m in members {
      wraps[m.identity.fingerprint] = try wrap(key, environment: environment, to: m.identity)
    }
    try writeWraps(workspace, environment, wraps)
    return wraps.mapValues(digest)
  }

  /// `keyward access grant`: adds a member or reader, wraps the environment's key to them, and
  /// signs the state (an admin, who must be able to open the environment).
  public static func grant(
    workspace: Workspace, environment: String, name: String, identity member: PublicIdentity, role: String,
    admin: Identity, keys: KeySource
  ) throws(KeywardError) -> TrustedState {
    guard let trust = workspace.trust else {
      throw KeywardError(.input, "\(workspace.path) has no trust root", hint: "keyward trust init")
    }
    try workspace.requireTrusted("grant access")
    guard trust.admin(admin.publicIdentity) != nil else {
      throw KeywardError(
        .integrity, "\(admin.name) is not an admin of this workspace: only an admin grants access")
    }
    guard Names.isMember(name) else {
      throw KeywardError(.input, "\"\(name)\" is not a valid name (\(Names.memberRule))")
    }
    let env = try workspace.loadEnvironment(environment)
    let (key, _) = try keys.privateKey(for: env, in: workspace)
    // A member made a reader: what deploys today stays deployed. If a valid manifest names the
    // active set now (perhaps signed by that member, who may sign none from now on), the admin
    // signs it anew, as revoke does; otherwise fresh machines could verify no manifest at all.
    let demoted =
      role != "member"
      && (trust.members[environment] ?? []).contains {
        ($0.name == name || $0.identity == member) && $0.role == "member"
      }
    let vouched = demoted && Activation.liveSetVouched(workspace: workspace, env: env)
    var members = trust.members[environment] ?? []
    members.removeAll { $0.name == name || $0.identity == member }
    members.append(.init(name: name, identity: member, role: role))
    var all = trust.members
    all[environment] = members
    var wraps = trust.wraps
    wraps[environment] = try rewrap(
      workspace: workspace.path, environment: environment, key: key, members: members)
    let updated = try Trust.update(
      workspace: workspace.path, current: trust, configBytes: trust.config, recipients: trust.recipients,
      members: all, wraps: wraps, admin: admin, env: keys.environment)
    if vouched { try Activation.signLiveSetAnew(workspace.path, environment: environment, by: admin) }
    return updated
  }

  /// `keyward access revoke`: removes a member or reader, then rekeys the environment (every set
  /// re-sealed, every remaining member's wrap made anew), so the revoked identity opens nothing in
  /// the current files. The sets it could read are recorded, and `check` reports them as exposed
  /// until they are rotated: old ciphertexts in git history still open with the old key.
  public static func revoke(
    workspace: Workspace, environment: String, name: String, admin: Identity, keys: KeySource
  ) throws(KeywardError) -> (revoked: TrustedState.Revocation, rekey: Lifecycle.RekeyReport) {
    guard let trust = workspace.trust else {
      throw KeywardError(.input, "\(workspace.path) has no trust root")
    }
    try workspace.requireTrusted("revoke access")
    guard trust.admin(admin.publicIdentity) != nil else {
      throw KeywardError(
        .integrity, "\(admin.name) is not an admin of this workspace: only an admin revokes access")
    }
    guard let member = trust.members[environment]?.first(where: { $0.name == name }) else {
      throw KeywardError(
        .input, "\(name) is not a member or reader of \(environment)",
        hint: "keyward access list shows who can read each environment")
    }
    let env = try workspace.loadEnvironment(environment)
    // What deploys today stays deployed: if a valid manifest names the active set now (perhaps
    // signed by the member being removed), the admin signs it anew after the rekey.
    let vouched = Activation.liveSetVouched(workspace: workspace, env: env)
    let revocation = TrustedState.Revocation(
      name: name, fingerprint: member.identity.fingerprint, sets: env.sets.map(\.id))
    var members = trust.members
    members[environment]?.removeAll { $0.name == name }
    var revoked = trust.revoked
    revoked[environment, default: []].append(revocation)
    var wraps = trust.wraps
    wraps[environment]?.removeValue(forKey: member.identity.fingerprint)
    _ = try Trust.update(
      workspace: workspace.path, current: trust, configBytes: trust.config, recipients: trust.recipients,
      members: members, wraps: wraps, revoked: revoked, admin: admin, env: keys.environment)
    // The rekey reads the state just signed.
    let fresh = try Workspace.open(workspace.path)
    let report = try Lifecycle.rekey(workspace: fresh, environment: environment, keys: keys, admin: admin)
    if vouched { try Activation.signLiveSetAnew(workspace.path, environment: environment, by: admin) }
    return (revocation, report)
  }
}
