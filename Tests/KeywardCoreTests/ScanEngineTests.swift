import Foundation
import Testing

@testable import KeywardCore

/// The scanner as properties: its fast fingerprint equals the reference one; every decoder undoes
/// its encoder; a stored value planted in random text, under every tokenisation and encoding
/// `scan` promises, is found at the right line and column; random decoys are never found.
@Suite("scan: the engine's properties")
struct ScanEngineTests {
  let fingerprinter = try! Fingerprinter(salt: Array("a salt for the scan engine tests".utf8))

  func number(_ value: String) -> UInt64 {
    UInt64(fingerprinter.fingerprint(SecureBytes(Array(value.utf8))), radix: 16)!
  }

  func catalog(_ values: [String]) -> ScanCatalog {
    var table = [UInt64: [ScanCatalog.Target]]()
    for (i, v) in values.enumerated() {
      table[number(v), default: []].append(
        .init(environment: "env\(i)", set: "s\(i)", field: "app_secret", state: "active"))
    }
    return ScanCatalog(fingerprinter: fingerprinter, table: table)
  }

  /// Every copy in `text`: (line, column, value index, encoding).
  func scan(_ text: [UInt8], _ values: [String]) -> [LocatedHit] {
    let scanner = StreamScanner(engine: ScanEngine(catalog: catalog(values)))
    var at = 0
    let outcome = scanner.run { p, n in
      let k = min(n, text.count - at)
      text.withUnsafeBufferPointer { memcpy(p, $0.baseAddress! + at, k) }
      at += k
      return k
    }
    guard case .text(_, let hits) = outcome else { return [] }
    return hits
  }

  @Test("the prepared-state fingerprint equals Fingerprinter's on random bytes")
  func probeEqualsReference() {
    var rng = SeededRng(state: 1)
    let probe = FingerprintProbe(fingerprinter)
    for _ in 0..<2000 {
      let b = rng.bytes(rng.next(300))
      let fast = b.withUnsafeBufferPointer {
        probe.fingerprint($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, b.count)
      }
      #expect(fast == UInt64(fingerprinter.fingerprint(SecureBytes(b)), radix: 16)!)
    }
  }

  @Test("four words fingerprinted side by side equal Fingerprinter's, every length mixed in a batch")
  func fourLanesEqualReference() throws {
    try #require(FingerprintProbe.fourLanes, "this CPU has no AVX2: the four-lane path is not used here")
    var rng = SeededRng(state: 3)
    let probe = FingerprintProbe(fingerprinter)
    for round in 0..<1500 {
      // Lengths 0 to the longest one block holds, a word of each length at least once.
      let words = (0..<FingerprintProbe.lanes).map { k in
        rng.bytes(
          round < 30
            ? (round * 4 + k) % (FingerprintProbe.maxFast + 1) : rng.next(FingerprintProbe.maxFast + 1))
      }
      for (k, w) in words.enumerated() {
        w.withUnsafeBufferPointer { probe.stage(k, $0.baseAddress ?? UnsafePointer(bitPattern: 1)!, w.count) }
        #expect(Array(UnsafeBufferPointer(start: probe.stagedWord(k), count: w.count)) == w)
      }
      let answers = probe.staged()
      for (k, w) in words.enumerated() {
        #expect(answers[k] == UInt64(fingerprinter.fingerprint(SecureBytes(w)), radix: 16)!)
      }
    }
    probe.wipeStaged()
  }

  func decoded(
    _ input: [UInt8], _ decoder: (UnsafePointer<UInt8>, Int, Int, UnsafeMutablePointer<UInt8>) -> Int
  ) -> [UInt8] {
    let out = UnsafeMutablePointer<UInt8>.allocate(capacity: input.count + 4)
    defer { out.deallocate() }
    let n = input.withUnsafeBufferPointer { decoder($0.baseAddress!, 0, input.count, out) }
    return Array(UnsafeBufferPointer(start: out, count: n))
  }

  static let textChars = Array("abcXYZ019 _-=:/.\t\r\néß€😀\"'")

  @Test("each decoder undoes its encoder: base64 (standard and URL-safe), %XX, JSON escapes")
  func decodersRoundTrip() {
    var rng = SeededRng(state: 2)
    for _ in 0..<1000 {
      let b = rng.bytes(1 + rng.next(200))
      for encoded in [
        Array(Data(b).base64EncodedString().utf8),
        Array(
          Data(b).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "").utf8),
      ] {
        // The scanner's decoder gives up on noise: it returns nothing or exactly the bytes.
        let got = decoded(encoded, ScanEngine.base64Text)
        #expect(got.isEmpty || got == b)
      }
      // Text (what it exists to find) always comes back whole.
      let plain = Array(String((0..<(8 + rng.next(120))).map { _ in rng.pick(Self.textChars) }).utf8)
      for encoded in [
        Array(Data(plain).base64EncodedString().utf8),
        Array(Data(plain).base64EncodedString(options: .lineLength76Characters).utf8),
      ] {
        #expect(decoded(encoded, ScanEngine.base64Text) == plain)
      }
      let pct = Array(b.map { String(format: "%%%02X", $0) }.joined().utf8)
      #expect(decoded(pct, ScanEngine.percentDecode) == b)
      // Text through keyward's own JSON writer, with every character also as \uXXXX.
      let text = String(decoding: b, as: UTF8.self)
      var json = [UInt8]()
      JSONValue.writeString(text, into: &json)
      let inner = Array(json.dropFirst().dropLast())
      var u = ""
      for scalar in text.unicodeScalars {
        if scalar.value < 0x10000 {
          u += String(format: "\\u%04x", scalar.value)
        } else {
          let v = scalar.value - 0x10000
          u += String(format: "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff))
        }
      }
      for escaped in [inner, Array(u.utf8)] where escaped.contains(0x5c) {
        #expect(decoded(escaped, ScanEngine.unescape) == Array(text.utf8))
      }
    }
  }

  /// What real keys hold: letters, digits, base64's `+ / =`, JWT's `.`, and a few more that are
  /// word characters to the scanner. (Values holding strong breaks: `strongBreaksStandingAlone`.)
  static let valueChars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=.")

  func randomValue(_ rng: inout SeededRng) -> String {
    let alnum = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    // Values start and end with a letter or digit (a soft break at an edge would merge with its
    // neighbour only when the neighbour is a word, which the contexts below never are).
    var s = String(rng.pick(alnum))
    for _ in 0..<(6 + rng.next(50)) { s.append(rng.pick(Self.valueChars)) }
    s.append(rng.pick(alnum))
    return s
  }

  func noise(_ rng: inout SeededRng) -> String {
    (0..<(1 + rng.next(8))).map { _ in
      rng.pick([
        "let", "token", "x9f3a", "#", "{", "}", "2026-11-30T10:00:00Z", "INFO", "request_id=abc", "\"q\"",
      ])
    }.joined(separator: " ")
  }

  @Test("a value planted in random text under any promised tokenisation or encoding is found, at its place")
  func plantedValuesAreFound() throws {
    var rng = SeededRng(state: 3)
    for round in 0..<600 {
      let value = randomValue(&rng)
      let decoy = randomValue(&rng)
      let key = "APP_SECRET"
      // (the line holding it, the column where the reported word or encoded run starts, encoding)
      let before = noise(&rng) + " "
      var line: String
      var column: Int
      var encoding: String
      switch round % 9 {
      case 0, 1:
        let (open, close) = rng.pick([
          (" ", ""), ("=", ""), (": ", ""), ("\"", "\""), ("'", "'"), ("<secret>", "</secret>"),
          ("?secret=", "&x=1"),
          ("(", ")"), ("[", "]"), ("{", "}"), ("`", "`"), ("|", "|"), (";", ","),
        ])
        let lead = key + open
        line = before + lead + value + close + " " + noise(&rng)
        column = before.utf8.count + lead.utf8.count + 1
        encoding = "plain"
      case 2:
        let b64 = Data(value.utf8).base64EncodedString()
        line = before + "  \(key): " + b64
        column = before.utf8.count + "  \(key): ".utf8.count + 1
        encoding = "base64"
      case 3:
        let pct = value.utf8.map { c -> String in
          (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a)
            ? String(UnicodeScalar(c)) : String(format: "%%%02X", c)
        }.joined()
        line = before + "https://example.com/verify?secret=" + pct + "&response=t"
        column = before.utf8.count + 1
        encoding = "url"
      case 4:
        var json = [UInt8]()
        JSONValue.writeString(value, into: &json)
        var inner = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "/", with: "\\/")
        inner = "\"\\u00" + String(format: "%02x", value.utf8.first!) + inner.dropFirst(2)
        line = before + "{\"secret\":" + inner + "}"
        column = before.utf8.count + "{\"secret\":\"".utf8.count + 1
        encoding = "escape"
      case 5:
        // CRLF line ends.
        line = before + key + "=" + value + "\r"
        column = before.utf8.count + key.utf8.count + 2
        encoding = "plain"
      case 6:
        // A whole env file, base64 on one line.
        let env = "A=1\nB=\(decoy)\n\(key)=\(value)\nC=2\n"
        line = before + Data(env.utf8).base64EncodedString()
        column = before.utf8.count + 1
        encoding = "base64"
      case 7:
        // URL-encoded inside base64 (a query string in a k8s Secret).
        let q = "secret=" + value.replacingOccurrences(of: "/", with: "%2F") + "&x=1"
        line = before + Data(q.utf8).base64EncodedString()
        column = before.utf8.count + 1
        encoding = value.contains("/") ? "base64+url" : "base64"
      default:
        line = before + key + "=" + value
        column = before.utf8.count + key.utf8.count + 2
        encoding = "plain"
      }
      let prefixLines = (0..<rng.next(5)).map { _ in noise(&rng) }
      let text = (prefixLines + [line, noise(&rng)]).joined(separator: "\n") + "\n"
      let hits = scan(Array(text.utf8), [value, "unrelated-\(decoy)"])
      let wanted = number(value)
      let found = hits.filter { $0.print == wanted }
      #expect(
        found.contains {
          $0.line == prefixLines.count + 1 && $0.column == column && $0.steps.name == encoding
        },
        "round \(round): \(encoding) at \(prefixLines.count + 1):\(column) in \(line.debugDescription); got \(found.map { "\($0.line):\($0.column) \($0.steps.name)" })"
      )
      #expect(!hits.contains { $0.print != wanted })
    }
  }

  @Test(
    "a value holding strong breaks (: @ , ; * ~ …) is found alone between hard breaks, or as the rest of KEY=value"
  )
  func strongBreaksStandingAlone() {
    var rng = SeededRng(state: 7)
    for round in 0..<400 {
      var value = randomValue(&rng)
      for _ in 0..<(1 + rng.next(3)) {
        let at = 1 + rng.next(value.count - 2)
        value.insert(
          rng.pick(Array(":,;&?#<>|()[]{}@*~$!^")), at: value.index(value.startIndex, offsetBy: at))
      }
      let (open, close) =
        round % 2 == 0
        ? rng.pick([("secret: \"", "\""), ("secret: '", "'"), ("secret: ", " "), ("secret: `", "`")])
        : rng.pick([("APP_SECRET=", ""), ("export APP_SECRET=", " # prod"), ("--secret=", " --x")])
      let text = open + value + close + "\n"
      let hits = scan(Array(text.utf8), [value])
      #expect(hits.contains { $0.line == 1 && $0.column == open.utf8.count + 1 }, "\(text.debugDescription)")
    }
  }

  @Test("Unicode spaces, quotes and byte-order marks end a word as ASCII ones do")
  func unicodeBreaks() {
    var rng = SeededRng(state: 8)
    let breaks = [
      "\u{00A0}", "\u{FEFF}", "\u{200B}", "\u{2009}", "\u{3000}", "\u{201C}", "\u{201D}", "\u{2018}",
      "\u{00AB}", "\u{00BB}", "\u{202F}",
    ]
    for _ in 0..<300 {
      let value = randomValue(&rng)
      let before = "x" + rng.pick(breaks)
      let text = before + value + rng.pick(breaks) + "y\n"
      #expect(
        scan(Array(text.utf8), [value]).contains { $0.column == before.utf8.count + 1 },
        "\(text.debugDescription)")
    }
    // Other non-ASCII text is part of words, as before (é is not a break).
    #expect(
      scan(
        Array("é\(Self.valueChars.prefix(20).map(String.init).joined())\n".utf8),
        [String(Self.valueChars.prefix(20))]
      ).isEmpty)
  }

  @Test("a wrapped base64 env file (76 columns, as base64(1) writes it) is decoded across its lines")
  func wrappedBase64() {
    var rng = SeededRng(state: 4)
    for _ in 0..<100 {
      let value = randomValue(&rng)
      let filler = (0..<(3 + rng.next(30))).map { "VAR_\($0)=\(randomValue(&rng))" }.joined(separator: "\n")
      let env = filler + "\nAPP_SECRET=\(value)\n" + filler + "\n"
      let encoded = Data(env.utf8).base64EncodedString(options: [
        .lineLength76Characters, .endLineWithLineFeed,
      ])
      let indent = rng.pick(["", "    "])
      let text =
        "data: |\n" + encoded.split(separator: "\n").map { indent + $0 }.joined(separator: "\n") + "\n"
      let hits = scan(Array(text.utf8), [value])
      // One copy, one finding: at the line that holds it whole (76 columns are 19 whole groups,
      // so each line decodes alone), else at the block's first line.
      #expect(hits.count == 1, "\(hits.map { "\($0.line):\($0.column)" })")
      #expect(
        hits.allSatisfy { $0.line >= 2 && $0.column == indent.utf8.count + 1 && $0.steps.name == "base64" })
    }
  }

  @Test("across chunk boundaries: every copy in a 3 MiB text is found once, at its line and column")
  func largeText() {
    var rng = SeededRng(state: 5)
    let value = randomValue(&rng)
    var text = [UInt8]()
    var expected = [(Int, Int)]()
    var line = 1
    while text.count < 3 << 20 {
      var l = Array(noise(&rng).utf8)
      // Now and then, and on every line that starts just before the first chunk's end.
      if rng.next(200) == 0 || (text.count > (1 << 20) - 300 && text.count < 1 << 20) {
        l += Array(" s=".utf8)
        expected.append((line, l.count + 1))
        l += Array(value.utf8)
      }
      text += l + [0x0a]
      line += 1
    }
    let hits = scan(text, [value])
    #expect(hits.count == expected.count)
    #expect(Set(hits.map { "\($0.line):\($0.column)" }) == Set(expected.map { "\($0.0):\($0.1)" }))
  }

  @Test("a line longer than a chunk: each copy is found at its true column, also across the chunks' ends")
  func longLine() {
    var rng = SeededRng(state: 7)
    let value = randomValue(&rng)
    var text = Array("first line\n".utf8)
    var expected = [Int]()
    // One 3.5 MiB line of words; copies now and then, and astride each 1 MiB mark.
    let lineStart = text.count
    var marks = [1 << 20, 2 << 20, 3 << 20]
    while text.count < (7 << 20) / 2 {
      let column = text.count - lineStart + 1
      if let m = marks.first, text.count + value.utf8.count > m {
        marks.removeFirst()
        expected.append(column)
        text += Array(value.utf8) + [0x20]
      } else if rng.next(4000) == 0 {
        expected.append(column)
        text += Array(value.utf8) + [0x20]
      } else {
        text += Array(noise(&rng).utf8) + [0x20]
      }
    }
    text += Array("\nlast \(value)\n".utf8)
    let hits = scan(text, [value])
    #expect(hits.filter { $0.line == 2 }.map(\.column).sorted() == expected)
    #expect(hits.filter { $0.line == 3 }.map(\.column) == [6])
  }

  @Test("random decoys (hex, base64, JWT-like, UUIDs) are never reported, and binary text is skipped")
  func decoysAndBinary() {
    var rng = SeededRng(state: 6)
    let values = (0..<50).map { _ in randomValue(&rng) }
    var text = ""
    for _ in 0..<20_000 {
      let b = rng.bytes(8 + rng.next(40))
      text +=
        rng.pick([
          b.map { String(format: "%02x", $0) }.joined(), Data(b).base64EncodedString(),
          Data(b).base64EncodedString() + "." + Data(b.reversed()).base64EncodedString(), UUID().uuidString,
        ]) + rng.pick([" ", "\n", "=", "&", ","])
    }
    #expect(scan(Array(text.utf8), values).isEmpty)
    // A NUL in the first 8,000 bytes: binary, not scanned, even with a value in it.
    let binary = [UInt8](repeating: 0, count: 10) + Array(" s=\(values[0])\n".utf8)
    let scanner = StreamScanner(engine: ScanEngine(catalog: catalog(values)))
    var done = false
    let outcome = scanner.run { p, n in
      if done { return 0 }
      done = true
      binary.withUnsafeBufferPointer { memcpy(p, $0.baseAddress!, binary.count) }
      return binary.count
    }
    if case .binary = outcome {} else { Issue.record("a file with a NUL byte was scanned as text") }
  }
}
