#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A signed document in the DSSE shape: exact payload bytes, a payload type, and signatures over
/// the pre-authentication encoding `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` (lengths in
/// ASCII decimal). The payload is never re-serialised: what was signed is what is read, so keyward
/// and an independent reader (Tests/Compat/trust_reader.py) agree byte for byte.
///
/// File form (FORMAT.md):
/// `{"payload":"<base64>","payload_type":"…","signatures":[{"keyid":"<identity fingerprint>","sig":"<base64>"}]}`
public struct SignedDocument: Sendable, Equatable {
  public var payloadType: String
  public var payload: [UInt8]
  public var signatures: [Signature]

  public struct Signature: Sendable, Equatable {
    /// The signer's identity fingerprint (a hint; verification tries the named key).
    public var keyID: String
    public var sig: [UInt8]
  }

  public static let rootType = "application/vnd.keyward.root+json"
  public static let stateType = "application/vnd.keyward.state+json"

  /// The bytes a signature covers.
  public static func pae(_ type: String, _ body: [UInt8]) -> [UInt8] {
    Array("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8) + body
  }

  public init(payloadType: String, payload: [UInt8], signatures: [Signature] = []) {
    self.payloadType = payloadType
    self.payload = payload
    self.signatures = signatures
  }

  public mutating func sign(with id: Identity) {
    signatures.removeAll { $0.keyID == id.publicIdentity.fingerprint }
    signatures.append(
      Signature(keyID: id.publicIdentity.fingerprint, sig: id.sign(SignedDocument.pae(payloadType, payload))))
  }

  /// The identities among `keys` whose signature verifies (each counted once). At most
  /// `triesPerKey` signatures naming one key are checked: an envelope a writer fills with
  /// thousands of false signatures under an admin's key id costs a few checks, not thousands
  /// (a writer's blobs in history are read by every fresh deploy).
  public func validSigners(_ keys: [PublicIdentity]) -> [PublicIdentity] {
    let message = SignedDocument.pae(payloadType, payload)
    return keys.filter { key in
      var tries = 0
      for s in signatures where s.keyID == key.fingerprint {
        if key.verifies(s.sig, of: message) { return true }
        tries += 1
        if tries == SignedDocument.triesPerKey { return false }
      }
      return false
    }
  }

  static let triesPerKey = 4

  public var json: JSONValue {
    .object([
      "payload": .string(Sodium.base64(payload)), "payload_type": .string(payloadType),
      "signatures": .array(
        signatures.map { .object(["keyid": .string($0.keyID), "sig": .string(Sodium.base64($0.sig))]) }),
    ])
  }

  public static func parse(_ bytes: [UInt8], source: String, type: String) throws(KeywardError)
    -> SignedDocument
  {
    // keyward's own spelling (and JSON's whitespace around it) without a JSON tree: the signed
    // state of 3,000 environments is a 4 MB string read by every command.
    if let doc = Envelope.scan(bytes, type: type) { return doc }
    return try JSONFiles.read(bytes, source: source) { (o: JSONObject) throws(KeywardError) in
      try strict(o, source: source, type: type)
    }
  }

  /// An envelope read from its JSON tree, whatever its spelling; every problem named.
  static func strict(_ o: JSONObject, source: String, type: String) throws(KeywardError) -> SignedDocument {
    let t = try o.string("payload_type")
    guard t == type else {
      throw KeywardError(
        .integrity, "\(source): payload_type is \"\(Text.printable(String(t.prefix(60))))\", not \(type)")
    }
    guard let payload = Sodium.unbase64(try o.string("payload")) else {
      throw KeywardError(.integrity, "\(source): payload is not valid base64")
    }
    var sigs = [Signature]()
    for s in try o.objects("signatures") {
      let keyID = try s.string("keyid")
      guard let sig = Sodium.unbase64(try s.string("sig")), sig.count == 64,
        Names.isLowerHex(keyID, count: 32)
      else { throw KeywardError(.integrity, "\(source): a signature is malformed") }
      sigs.append(Signature(keyID: keyID, sig: sig))
    }
    return SignedDocument(payloadType: t, payload: payload, signatures: sigs)
  }
}

/// keyward's own envelopes, read by one byte scan: `{"payload":"…","payload_type":"TYPE",
/// "signatures":[]}` or with one `{"keyid":"<32 hex>","sig":"<base64>"}`, as the writer spells
/// them or with JSON's whitespace between the tokens (another writer's `json.dump`). Anything else
/// returns nil and takes the strict parser; both give the same document (a property test holds
/// them to it).
enum Envelope {
  static func scan(_ line: [UInt8], type: String) -> SignedDocument? { scan(line[...], type: type) }

  static func scan(_ line: ArraySlice<UInt8>, type: String) -> SignedDocument? {
    line.withUnsafeBufferPointer { p -> SignedDocument? in
      var i = 0
      func space() {
        while i < p.count, p[i] == 0x20 || p[i] == 0x0a || p[i] == 0x0d || p[i] == 0x09 { i += 1 }
      }
      // `s` as it is, but for whitespace around its structural characters outside its strings
      // (`inString`: it starts with the quote that closes one); on a mismatch nothing is read.
      func literal(_ s: String, inString: Bool = false) -> Bool {
        let from = i
        if match(s, inString: inString) { return true }
        i = from
        return false
      }
      func match(_ s: String, inString: Bool) -> Bool {
        // The writer's own spelling, compared at once (every trail line is read here).
        var s = s
        let exact = s.withUTF8 { u in
          i + u.count <= p.count && memcmp(p.baseAddress! + i, u.baseAddress!, u.count) == 0
        }
        if exact {
          i += s.utf8.count
          if let last = s.utf8.last, last == 0x7d || last == 0x5d { space() }
          return true
        }
        var quoted = inString
        for b in s.utf8 {
          let structural =
            !quoted && (b == 0x7b || b == 0x7d || b == 0x5b || b == 0x5d || b == 0x3a || b == 0x2c)
          if structural { space() }
          guard i < p.count, p[i] == b else { return false }
          i += 1
          if b == 0x22 { quoted.toggle() }
          if structural { space() }
        }
        return true
      }
      func base64() -> [UInt8]? {
        let start = i
        // The closing quote, found by libc's vectorised search (the signed state of 3,000
        // environments is a 3 MB string: a byte loop was 6 % of `export` there).
        guard i < p.count, let q = memchr(p.baseAddress! + i, 0x22, p.count - i) else { return nil }
        i = UnsafeRawPointer(q) - UnsafeRawPointer(p.baseAddress!)
        let r = Sodium.unbase64(bytes: UnsafeBufferPointer(rebasing: p[start..<i]))
        i += 1
        return r
      }
      guard literal("{\"payload\":\""), let payload = base64(),
        literal(",\"payload_type\":\"\(type)\",\"signatures\":[")
      else { return nil }
      var doc = SignedDocument(payloadType: type, payload: payload)
      if literal("]}") { return i == p.count ? doc : nil }
      guard literal("{\"keyid\":\""), i + 32 < p.count else { return nil }
      let keyID = String(decoding: UnsafeBufferPointer(rebasing: p[i..<(i + 32)]), as: UTF8.self)
      i += 32
      guard Names.isLowerHex(keyID, count: 32), literal("\",\"sig\":\"", inString: true), let sig = base64(),
        sig.count == 64,
        literal("}]}"), i == p.count
      else { return nil }
      doc.signatures = [.init(keyID: keyID, sig: sig)]
      return doc
    }
  }
}
