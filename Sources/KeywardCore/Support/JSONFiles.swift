import Foundation

/// Reading and writing the workspace's JSON files with messages that name the file and the place.
enum JSONFiles {
  static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], path: String) throws(KeywardError)
    -> T
  {
    if bytes.isEmpty { throw KeywardError(.input, "\(path): the file is empty") }
    do {
      return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let error as DecodingError {
      throw KeywardError(.input, "\(path): \(describe(error, bytes: bytes))")
    } catch {
      throw KeywardError(.input, "\(path): not valid JSON")
    }
  }

  static func encode<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Encoding our own model types cannot fail.
    var bytes = [UInt8](try! encoder.encode(value))
    bytes.append(0x0a)
    return bytes
  }

  /// `sets[1].app_key` from a coding path.
  static func pathText(_ path: [CodingKey]) -> String {
    var out = ""
    for key in path {
      if let i = key.intValue {
        out += "[\(i)]"
      } else {
        out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
      }
    }
    return out.isEmpty ? "top level" : out
  }

  static func describe(_ error: DecodingError, bytes: [UInt8]) -> String {
    switch error {
    case .keyNotFound(let key, let ctx):
      let at = pathText(ctx.codingPath)
      return "missing field \"\(key.stringValue)\"" + (ctx.codingPath.isEmpty ? "" : " in \(at)")
    case .typeMismatch(let type, let ctx):
      return "\(pathText(ctx.codingPath)): expected \(typeName(type))"
    case .valueNotFound(let type, let ctx):
      return "\(pathText(ctx.codingPath)): expected \(typeName(type)), found null"
    case .dataCorrupted(let ctx):
      if ctx.codingPath.isEmpty {
        return "not valid JSON (\(syntaxPlace(ctx, bytes: bytes)))"
      }
      return "\(pathText(ctx.codingPath)): \(ctx.debugDescription)"
    @unknown default:
      return "cannot be read"
    }
  }

  static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Int.Type, is Int64.Type: return "an integer"
    case is Bool.Type: return "true or false"
    default:
      let name = String(describing: type)
      if name.hasPrefix("Array") { return "a list" }
      if name.hasPrefix("Dictionary") { return "an object" }
      return "a value of type \(name)"
    }
  }

  /// Foundation's parser reports the byte offset or line of a syntax error in various forms;
  /// when it does not, a truncated file is the common cause, so say where the text ends.
  static func syntaxPlace(_ ctx: DecodingError.Context, bytes: [UInt8]) -> String {
    let underlying = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
    var text = underlying ?? ctx.debugDescription
    if text.isEmpty || text == "The given data was not valid JSON." {
      let lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).count
      text = "the text breaks off or is malformed; it has \(lines) line(s)"
    }
    return text
  }
}
