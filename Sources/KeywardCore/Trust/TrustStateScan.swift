extension Trust {
  /// The state payload as keyward writes it (canonical JSON: keys sorted, no escapes, ASCII), read
  /// in one pass with no JSON tree. Every command reads the signed state, and at 3,000
  /// environments it is 2 MB of members, wraps and revocations: the tree cost more than the rest
  /// of `export`. Nil for anything else, and for anything the strict reading would refuse or
  /// read differently (an unknown member, a non-string set id, an invalid name or key): the
  /// strict reading then decides and says what is wrong. A property test holds the two to the
  /// same result.
  ///
  /// `focus`: a deploy reads one environment, so the members, wraps and revocations of the others
  /// are stepped over unread (at 3,000 environments they were a fifth of `export`); every
  /// environment's recipient and pending key are still read, and the signature still covers every
  /// byte. What is stepped over is not checked here: a state the strict reading refuses only for
  /// another environment's members is read (`check` and `audit` read it all).
  static func scanState(_ payload: [UInt8], focus: String? = nil) -> State? {
    payload.withUnsafeBufferPointer { p -> State? in
      typealias Reader = PayloadScan.Reader
      var r = Reader(p: p)
      var type: String?
      var version: Int?
      var root: String?
      var config: [UInt8]?
      var sawEnvironments = false
      var recipients = [String: String]()
      var members = [String: [TrustedState.Member]]()
      var wraps = [String: [String: String]]()
      var revoked = [String: [TrustedState.Revocation]]()
      var pending = [String: String]()
      var identities = [String: PublicIdentity]()  // a person is a member of many environments

      func identity(_ text: String) -> PublicIdentity? {
        if let known = identities[text] { return known }
        guard let parsed = try? PublicIdentity(parsing: text) else { return nil }
        identities[text] = parsed
        return parsed
      }

      func member(_ r: inout Reader) -> TrustedState.Member? {
        var key: String?
        var who: String?
        var role: String?
        guard
          r.object({ (r: inout Reader, k: UnsafeBufferPointer<UInt8>) -> Bool in
            if Reader.equal(k, "key") {
              key = r.string()
            } else if Reader.equal(k, "name") {
              who = r.string()
            } else if Reader.equal(k, "role") {
              role = r.string()
            } else {
              return false
            }
            return true
          }), let key, let who, let role, role == "member" || role == "reader", Names.isMember(who),
          let id = identity(key)
        else { return nil }
        return TrustedState.Member(name: who, identity: id, role: role)
      }

      func revocation(_ r: inout Reader) -> TrustedState.Revocation? {
        var who: String?
        var fingerprint: String?
        var sets: [String]?
        guard
          r.object({ (r: inout Reader, k: UnsafeBufferPointer<UInt8>) -> Bool in
            if Reader.equal(k, "fingerprint") {
              fingerprint = r.string()
            } else if Reader.equal(k, "name") {
              who = r.string()
            } else if Reader.equal(k, "sets") {
              var ids = [String]()
              guard
                r.array({ (r: inout Reader) -> Bool in
                  guard let id = r.string() else { return false }
                  ids.append(id)
                  return true
                })
              else { return false }
              sets = ids
            } else {
              return false
            }
            return true
          }), let who, let fingerprint, let sets
        else { return nil }
        return TrustedState.Revocation(name: who, fingerprint: fingerprint, sets: sets)
      }

      func environment(_ r: inout Reader, _ name: String) -> Bool {
        var recipient: String?
        let skipped = focus != nil && focus != name
        let read = r.object { (r: inout Reader, k: UnsafeBufferPointer<UInt8>) -> Bool in
          if skipped && (Reader.equal(k, "members") || Reader.equal(k, "revoked") || Reader.equal(k, "wraps"))
          {
            return r.skip()
          } else if Reader.equal(k, "members") {
            return r.array { (r: inout Reader) -> Bool in
              guard let m = member(&r) else { return false }
              members[name, default: []].append(m)
              return true
            }
          } else if Reader.equal(k, "pending_recipient") {
            guard let s = r.string() else { return false }
            pending[name] = s
          } else if Reader.equal(k, "recipient") {
            recipient = r.string()
          } else if Reader.equal(k, "revoked") {
            return r.array { (r: inout Reader) -> Bool in
              guard let x = revocation(&r) else { return false }
              revoked[name, default: []].append(x)
              return true
            }
          } else if Reader.equal(k, "wraps") {
            return r.object { (r: inout Reader, fp: UnsafeBufferPointer<UInt8>) -> Bool in
              guard let w = r.string() else { return false }
              wraps[name, default: [:]][String(decoding: fp, as: UTF8.self)] = w
              return true
            }
          } else {
            return false
          }
          return true
        }
        guard read, let recipient else { return false }
        recipients[name] = recipient
        return true
      }

      guard
        r.object({ (r: inout Reader, k: UnsafeBufferPointer<UInt8>) -> Bool in
          if Reader.equal(k, "config") {
            guard let raw = r.raw() else { return false }
            config = Sodium.unbase64(bytes: raw)
            return config != nil
          } else if Reader.equal(k, "environments") {
            sawEnvironments = true
            return r.object { (r: inout Reader, n: UnsafeBufferPointer<UInt8>) -> Bool in
              let name = String(decoding: n, as: UTF8.self)
              return Names.isEnvironment(name) && environment(&r, name)
            }
          } else if Reader.equal(k, "root") {
            root = r.string()
          } else if Reader.equal(k, "type") {
            type = r.string()
          } else if Reader.equal(k, "version") {
            version = r.integer()
          } else {
            return false
          }
          return true
        }), r.i == p.count, type == "keyward-state", let version, version >= 1, let root, let config,
        sawEnvironments
      else { return nil }
      return State(
        root: root, version: version, config: config, recipients: recipients, members: members,
        wraps: wraps, revoked: revoked, pending: pending, focus: focus)
    }
  }
}
