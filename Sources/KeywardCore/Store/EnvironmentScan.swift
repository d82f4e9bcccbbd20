/// Environment files as keyward writes them, read without a JSON tree: every report reads all of
/// them (3,000 at the benchmark's largest size), and building a dictionary per object was a fifth
/// of `list`'s time there.
///
/// It accepts only a strict subset: the members keyward knows and nothing else, in sorted order,
/// printable ASCII strings without escapes, `"version": 1`. For anything outside it (an unknown
/// member, an escape, a duplicate, a null, another version, a damaged file) it returns nil and the
/// full parser reads the file, with its messages; for what it accepts it gives exactly what the
/// full parser gives (a property test holds them equal, on generated and mutated files).
enum EnvironmentScan {
  static func scan(_ bytes: [UInt8]) -> EnvironmentFile? {
    guard let compact = minified(bytes) else { return nil }
    return compact.withUnsafeBufferPointer { p -> EnvironmentFile? in
      var r = PayloadScan.Reader(p: p)
      var format: String?
      var version: Int?
      var environment: String?
      var recipient: Recipient?
      var sets: [KeySet]?
      let ok = r.object { (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
        if PayloadScan.Reader.equal(key, "environment") {
          return take(&environment, r.string())
        }
        if PayloadScan.Reader.equal(key, "format") {
          format = r.string()
          return format == EnvironmentFile.formatName
        }
        if PayloadScan.Reader.equal(key, "recipient") {
          return take(&recipient, Self.recipient(&r))
        }
        if PayloadScan.Reader.equal(key, "sets") {
          var list = [KeySet]()
          guard
            r.array({ (r: inout PayloadScan.Reader) -> Bool in
              guard let s = Self.set(&r) else { return false }
              list.append(s)
              return true
            })
          else { return false }
          sets = list
          return true
        }
        if PayloadScan.Reader.equal(key, "version") {
          version = r.integer()
          return version == EnvironmentFile.currentVersion
        }
        return false
      }
      guard ok, r.i == p.count, let format, let version, let environment, let recipient, let sets else {
        return nil
      }
      return EnvironmentFile(
        format: format, version: version, environment: environment, recipient: recipient, sets: sets)
    }
  }

  /// The file without the whitespace between its tokens; nil when a string holds an escape, a
  /// control byte or non-ASCII (the full parser's business), or when anything but JSON's own
  /// whitespace stands between tokens.
  static func minified(_ bytes: [UInt8]) -> [UInt8]? {
    var done = false
    let out = [UInt8](unsafeUninitializedCapacity: bytes.count) { o, count in
      count = 0
      bytes.withUnsafeBufferPointer { p in
        guard let base = p.baseAddress, let dst = o.baseAddress else { return done = true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        var n = 0
        var inString = false
        while i < p.count {
          // Inside a string, eight bytes at a time while none is a quote, a backslash, a control
          // byte, DEL or above (each of which the byte loop below decides): a sealed value's
          // base64 is most of the file.
          if inString {
            while i + 8 <= p.count {
              if !Bytes.plainString(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { break }
              (dst + n).initialize(from: base + i, count: 8)
              n += 8
              i += 8
            }
            if i >= p.count { break }
          }
          let c = p[i]
          i += 1
          if c == 0x5c || c >= 0x7f { return }
          if inString {
            if c < 0x20 { return }
            if c == 0x22 { inString = false }
          } else if c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 {
            continue
          } else if c < 0x20 {
            return
          } else if c == 0x22 {
            inString = true
          }
          dst[n] = c
          n += 1
        }
        count = n
        done = !inString
      }
    }
    return done ? out : nil
  }

  /// Stores a member's value in its slot; false (the file is declined) when it did not read.
  static func take<T>(_ slot: inout T?, _ value: T?) -> Bool {
    slot = value
    return value != nil
  }

  static func timestamp(_ r: inout PayloadScan.Reader) -> Timestamp? {
    r.string().flatMap { Timestamp(iso: $0) }
  }

  static func recipient(_ r: inout PayloadScan.Reader) -> Recipient? {
    var created: Timestamp?
    var keyID: String?
    var publicKey: String?
    let ok = r.object { (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
      if PayloadScan.Reader.equal(key, "created") {
        return take(&created, timestamp(&r))
      }
      if PayloadScan.Reader.equal(key, "key_id") {
        return take(&keyID, r.string())
      }
      if PayloadScan.Reader.equal(key, "public_key") {
        return take(&publicKey, r.string())
      }
      return false
    }
    guard ok, let created, let keyID, let publicKey else { return nil }
    return Recipient(publicKey: publicKey, keyID: keyID, created: created)
  }

  static func set(_ r: inout PayloadScan.Reader) -> KeySet? {
    var appKey: String?
    var appSecret: String?
    var created: Timestamp?
    var fingerprints: SetFingerprints?
    var graceUntil: Timestamp?
    var id: String?
    var last: LastVerification?
    var retiringSince: Timestamp?
    var state: SetState?
    let ok = r.object { (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
      switch String(decoding: key, as: UTF8.self) {
      case "app_key":
        return take(&appKey, r.string())
      case "app_secret":
        return take(&appSecret, r.string())
      case "created":
        return take(&created, timestamp(&r))
      case "fingerprints":
        var k: String?
        var s: String?
        guard
          r.object({ (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
            if PayloadScan.Reader.equal(key, "app_key") {
              return take(&k, r.string())
            }
            if PayloadScan.Reader.equal(key, "app_secret") {
              return take(&s, r.string())
            }
            return false
          }), let k, let s
        else { return false }
        fingerprints = SetFingerprints(appKey: k, appSecret: s)
        return true
      case "grace_until":
        return take(&graceUntil, timestamp(&r))
      case "id":
        return take(&id, r.string())
      case "last_verification":
        return take(&last, lastVerification(&r))
      case "retiring_since":
        return take(&retiringSince, timestamp(&r))
      case "state":
        return take(&state, r.string().flatMap(SetState.init(rawValue:)))
      default: return false
      }
    }
    guard ok, let appKey, let appSecret, let created, let fingerprints, let id, let state else { return nil }
    return KeySet(
      id: id, state: state, created: created, fingerprints: fingerprints, appKey: appKey,
      appSecret: appSecret,
      retiringSince: retiringSince, graceUntil: graceUntil, lastVerification: last)
  }

  /// `{"endpoint","signature"?,"time","verdict"}`; the signature an object of strings.
  static func lastVerification(_ r: inout PayloadScan.Reader) -> LastVerification? {
    var endpoint: String?
    var signature: JSONValue?
    var time: Timestamp?
    var verdict: String?
    let ok = r.object { (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
      if PayloadScan.Reader.equal(key, "endpoint") {
        return take(&endpoint, r.string())
      }
      if PayloadScan.Reader.equal(key, "signature") {
        var members = [String: JSONValue]()
        guard
          r.object({ (r: inout PayloadScan.Reader, key: UnsafeBufferPointer<UInt8>) -> Bool in
            guard let v = r.string() else { return false }
            members[String(decoding: key, as: UTF8.self)] = .string(v)
            return true
          })
        else { return false }
        signature = .object(members)
        return true
      }
      if PayloadScan.Reader.equal(key, "time") {
        return take(&time, timestamp(&r))
      }
      if PayloadScan.Reader.equal(key, "verdict") {
        return take(&verdict, r.string())
      }
      return false
    }
    guard ok, let endpoint, let time, let verdict else { return nil }
    return LastVerification(time: time, verdict: verdict, endpoint: endpoint, signature: signature)
  }
}
