/// Reading and writing the workspace's JSON files with messages that name the file and the place.
enum JSONFiles {
  /// Parses `bytes` as one JSON object and builds a model from it.
  static func read<T>(
    _ bytes: [UInt8], source: String, _ build: (JSONObject) throws(KeywardError) -> T
  ) throws(KeywardError) -> T {
    if bytes.isEmpty { throw KeywardError(.input, "\(source): the file is empty") }
    return try build(JSONObject(JSONValue.parse(bytes, source: source), source: source))
  }

  static func encode(_ value: JSONValue) -> [UInt8] { value.written() }

}
