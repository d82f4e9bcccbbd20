/// Encodes any `Encodable` into a `JSONValue`, which `written()` prints in the layout JSONEncoder
/// gives with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`. Reports of thousands of
/// environments are printed by every command that speaks JSON; JSONEncoder spent about 50 ns per
/// byte on them (0.7 s for a 12 MB audit report), this about a tenth of that.
public enum JSONValueEncoder {
  public static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
    let root = Node()
    try value.encode(to: NodeEncoder(node: root, codingPath: []))
    return root.resolve()
  }

  /// The document's bytes as `JSONValue.written()` gives them, written straight from the nodes.
  public static func written<T: Encodable>(_ value: T) throws -> [UInt8] {
    let root = Node(depth: 0, writing: true)
    try value.encode(to: NodeEncoder(node: root, codingPath: []))
    var out = [UInt8]()
    out.reserveCapacity(1 << 16)
    root.write(into: &out, indent: 0)
    out.append(0x0a)
    return out
  }

  /// A value under construction: containers hand out child nodes, resolved once at the end.
  /// When writing, a child whose `encode(to:)` has returned is complete: it is written to bytes
  /// at its depth's indentation there and then, and its nodes freed — a 12 MB report never
  /// exists as a tree of a million nodes.
  final class Node {
    enum Kind { case unset, object, array, value, written }
    /// A member or element: a plain value is held as it is (most of a report's values are
    /// strings and numbers: a node each was most of the encoder's time), anything else as a node.
    enum Slot {
      case value(JSONValue)
      case node(Node)

      func resolve() -> JSONValue {
        switch self {
        case .value(let v): return v
        case .node(let n): return n.resolve()
        }
      }

      func write(into out: inout [UInt8], indent: Int) {
        switch self {
        case .value(let v): v.write(into: &out, indent: indent)
        case .node(let n): n.write(into: &out, indent: indent)
        }
      }
    }
    var kind = Kind.unset
    var object: [String: Slot] = [:]
    var array: [Slot] = []
    var value = JSONValue.null
    var bytes: [UInt8] = []
    let depth: Int
    let writing: Bool

    init(depth: Int = 0, writing: Bool = false) {
      self.depth = depth
      self.writing = writing
    }

    func child() -> Node { Node(depth: depth + 1, writing: writing) }

    /// Writes a completed child now (writing mode only).
    func complete() {
      guard writing, kind == .object || kind == .array else { return }
      var out = [UInt8]()
      write(into: &out, indent: 2 * depth)
      bytes = out
      object = [:]
      array = []
      kind = .written
    }

    func resolve() -> JSONValue {
      switch kind {
      case .object: return .object(object.mapValues { $0.resolve() })
      case .array: return .array(array.map { $0.resolve() })
      case .value: return value
      // An encode(to:) that encoded nothing, as JSONEncoder writes it (`.written` is never resolved).
      case .unset, .written: return .object([:])
      }
    }

    func write(into out: inout [UInt8], indent: Int) {
      switch kind {
      case .object:
        let keys = object.keys.sorted()
        JSONValue.writeObject(keys, into: &out, indent: indent) { n, out in
          object[keys[n]]!.write(into: &out, indent: indent + 2)
        }
      case .array:
        JSONValue.writeArray(array.count, into: &out, indent: indent) { n, out in
          array[n].write(into: &out, indent: indent + 2)
        }
      case .value: value.write(into: &out, indent: indent)
      case .written: out += bytes
      case .unset: JSONValue.literal("{}", into: &out)
      }
    }

    func set(_ v: JSONValue) {
      kind = .value
      value = v
    }
  }

  static func number<T: BinaryInteger>(_ v: T) -> JSONValue { .number(Double(v)) }

  struct NodeEncoder: Encoder {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
      if node.kind != .object {
        node.kind = .object
        node.object = [:]
      }
      return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
      if node.kind != .array {
        node.kind = .array
        node.array = []
      }
      return Unkeyed(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
      Single(node: node, codingPath: codingPath)
    }
  }

  struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey]

    func child(_ key: Key) -> Node {
      let n = node.child()
      node.object[key.stringValue] = .node(n)
      return n
    }
    func set(_ key: Key, _ v: JSONValue) { node.object[key.stringValue] = .value(v) }
    mutating func encodeNil(forKey key: Key) throws { set(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(key, .number(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(key, number(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
      let n = child(key)
      // The coding path is not extended: nothing keyward encodes reads it, and building it cost
      // an allocation per nested value.
      try value.encode(to: NodeEncoder(node: n, codingPath: codingPath))
      n.complete()
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
      -> KeyedEncodingContainer<NestedKey>
    {
      NodeEncoder(node: child(key), codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
      NodeEncoder(node: child(key), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node, codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
      NodeEncoder(node: child(key), codingPath: codingPath)
    }
  }

  struct Unkeyed: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]
    var count: Int { node.array.count }

    func next() -> Node {
      let n = node.child()
      node.array.append(.node(n))
      return n
    }
    func append(_ v: JSONValue) { node.array.append(.value(v)) }
    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(.number(value)) }
    mutating func encode(_ value: Int) throws { append(number(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      let n = next()
      try value.encode(to: NodeEncoder(node: n, codingPath: codingPath))
      n.complete()
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
      -> KeyedEncodingContainer<NestedKey>
    {
      NodeEncoder(node: next(), codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
      NodeEncoder(node: next(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { NodeEncoder(node: next(), codingPath: codingPath) }
  }

  struct Single: SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.set(.null) }
    mutating func encode(_ value: Bool) throws { node.set(.bool(value)) }
    mutating func encode(_ value: String) throws { node.set(.string(value)) }
    mutating func encode(_ value: Double) throws { node.set(.number(value)) }
    mutating func encode(_ value: Float) throws { node.set(.number(Double(value))) }
    mutating func encode(_ value: Int) throws { node.set(number(value)) }
    mutating func encode(_ value: Int8) throws { node.set(number(value)) }
    mutating func encode(_ value: Int16) throws { node.set(number(value)) }
    mutating func encode(_ value: Int32) throws { node.set(number(value)) }
    mutating func encode(_ value: Int64) throws { node.set(number(value)) }
    mutating func encode(_ value: UInt) throws { node.set(number(value)) }
    mutating func encode(_ value: UInt8) throws { node.set(number(value)) }
    mutating func encode(_ value: UInt16) throws { node.set(number(value)) }
    mutating func encode(_ value: UInt32) throws { node.set(number(value)) }
    mutating func encode(_ value: UInt64) throws { node.set(number(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
  }
}
