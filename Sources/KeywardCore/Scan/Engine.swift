import CSodium

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The words of a text that could be a stored value, each fingerprinted and looked up.
///
/// A value is found as a token under several tokenisations at once. Bytes fall into four classes:
/// hard breaks (whitespace, control bytes and quotes) end a token; strong soft breaks
/// (`: , ; & ? # < > | ( ) [ ] { } @ \ %`) end a segment of it; weak soft breaks (`/ . =`,
/// which base64, JWTs and padding put inside real keys) may or may not belong to a value; every
/// other byte is part of a word. The candidates are every stretch of a segment that starts at its
/// start or after a weak break and ends at its end or before one, and the whole token. So
/// `APP_SECRET=s3cr3t/x==` yields `s3cr3t/x==` (and `s3cr3t/x`), `?secret=…&` yields the value,
/// `<secret>…</secret>` too, and a value holding a strong break is found when it stands alone
/// between hard breaks (quoted, or between spaces).
/// Then decodings: each run of the base64 alphabet (a k8s Secret's `data`, a whole encoded env
/// file, also wrapped over lines), `%XX` URL encoding and JSON/YAML string escapes are decoded and
/// the result scanned the same way, up to three layers deep. Decoded bytes that are not text
/// (most base64-looking words decode to noise) are dropped at the first byte that is not.
///
/// Never false positives: a hit is a keyed 64-bit fingerprint equal to a stored one. Values shorter
/// than `minLength` bytes are not looked for (no real App Key or Secret is that short), nor values
/// holding whitespace or quotes (a hard break splits them).
final class ScanEngine {
  static let minLength = 8
  static let maxLength = ValueCheck.maxLength
  static let maxDepth = 3
  /// Segments with more weak breaks than this give only stretches of at most `spanLimit` pieces (a
  /// long path would otherwise give quadratically many).
  static let manyBreaks = 8
  static let spanLimit = 3
  /// Weak breaks remembered per segment; a longer segment's later stretches are not tried.
  static let maxBreaks = 256

  /// One stored value seen: where (the offset in the top-level text of the word, or of the encoded
  /// run it was decoded from), its fingerprint and the decodings applied (`Steps`); `order` counts
  /// the candidate words checked before it, so hits come out in the order their words were met
  /// although words wait to be fingerprinted four at a time.
  struct Hit {
    var offset: Int
    var print: UInt64
    var steps: Steps
    var order: Int = 0
  }

  /// A word staged in the probe's lane of the same index, waiting for its fingerprint.
  private struct Waiting {
    var offset: Int
    var steps: Steps
    var order: Int
    var count: Int
    var slot: UnsafeMutableRawPointer?
  }

  /// The decodings, outermost first, two bits each.
  struct Steps: Hashable, Sendable {
    var bits: UInt32 = 0
    var depth: Int = 0
    static let base64: UInt32 = 1
    static let url: UInt32 = 2
    static let escape: UInt32 = 3

    func adding(_ step: UInt32) -> Steps { Steps(bits: bits | step << (2 * UInt32(depth)), depth: depth + 1) }

    /// `plain`, or the decodings in the order applied: `base64`, `base64+url`, …
    var name: String {
      if depth == 0 { return "plain" }
      return (0..<depth).map { i -> String in
        switch (bits >> (2 * UInt32(i))) & 3 {
        case Steps.base64: return "base64"
        case Steps.url: return "url"
        default: return "escape"
        }
      }.joined(separator: "+")
    }
  }

  let probe: FingerprintProbe
  /// `FingerprintProbe.fourLanes`, read once (a global's every read checks that it was set).
  private let fourLanes = FingerprintProbe.fourLanes
  let cache = FingerprintCache()
  let prints: PrintSet
  // (The engine belongs to one worker: its state needs no exclusivity checks in the hot loop.)
  @exclusivity(unchecked) private(set) var hits = [Hit]()
  /// The weak breaks of the segment being read, one buffer per depth.
  private let breaks: UnsafeMutablePointer<Int>
  /// Decoded text, one buffer per depth (grown as needed), and its capacity.
  @exclusivity(unchecked) private var decoded: [UnsafeMutablePointer<UInt8>]
  @exclusivity(unchecked) private var decodedCapacity: [Int]
  /// Consecutive lines that are each one run of the base64 alphabet (a wrapped encoding).
  @exclusivity(unchecked) private var wrapped = [UInt8]()
  @exclusivity(unchecked) private var wrappedLines = 0
  @exclusivity(unchecked) private var wrappedStart = 0
  @exclusivity(unchecked) private var wrappedNext = -1
  /// The words staged for a four-lane fingerprint (`FingerprintProbe.fourLanes`), and the words
  /// checked so far.
  private let waiting: UnsafeMutablePointer<Waiting>
  @exclusivity(unchecked) private var waitingCount = 0
  @exclusivity(unchecked) private var checked = 0

  init(catalog: ScanCatalog) {
    probe = FingerprintProbe(catalog.fingerprinter)
    prints = catalog.prints
    breaks = .allocate(capacity: Self.maxBreaks * (Self.maxDepth + 1))
    decoded = (0...Self.maxDepth).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: 4096) }
    decodedCapacity = Array(repeating: 4096, count: Self.maxDepth + 1)
    waiting = .allocate(capacity: FingerprintProbe.lanes)
  }

  deinit {
    wipe()
    breaks.deallocate()
    waiting.deallocate()
    for d in decoded { d.deallocate() }
  }

  func resetHits() {
    hits.removeAll(keepingCapacity: true)
    checked = 0
  }

  /// Zeroes every buffer that held decoded text (it may have held a value).
  func wipe() {
    for (d, n) in zip(decoded, decodedCapacity) { sodium_memzero(d, n) }
    probe.wipeStaged()
    if !wrapped.isEmpty {
      wrapped.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) }
      wrapped.removeAll()
    }
  }

  // MARK: Byte classes

  static let word: UInt8 = 0
  static let weakBreak: UInt8 = 1
  static let strongBreak: UInt8 = 2
  static let hardBreak: UInt8 = 3
  /// A lead byte of a Unicode space, quote or byte-order mark (`unicodeBreak` decides).
  static let maybeBreak: UInt8 = 4

  // Written once, then only read: safe to share between the workers.
  nonisolated(unsafe) static let classes: UnsafePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    t.initialize(repeating: word, count: 256)
    for c in 0...0x20 { t[c] = hardBreak }
    t[0x7f] = hardBreak
    for c in "\"'`".utf8 { t[Int(c)] = hardBreak }
    for c in ":,;&?#<>|()[]{}@\\%*~$!^".utf8 { t[Int(c)] = strongBreak }
    for c in [0xc2, 0xe2, 0xe3, 0xef] { t[c] = maybeBreak }
    for c in "/.=".utf8 { t[Int(c)] = weakBreak }
    return UnsafePointer(t)
  }()

  /// The base64 alphabet, standard and URL-safe (0xff: not in it; `=` is handled apart).
  nonisolated(unsafe) static let base64Values: UnsafePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    t.initialize(repeating: 0xff, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
      t[Int(c)] = UInt8(i)
    }
    t[Int(UInt8(ascii: "-"))] = 62
    t[Int(UInt8(ascii: "_"))] = 63
    return UnsafePointer(t)
  }()

  // MARK: Scanning

  @inline(__always)
  private func check(_ p: UnsafePointer<UInt8>, _ a: Int, _ length: Int, depth: Int, outer: Int, steps: Steps)
  {
    checked += 1
    let found = cache.find(p + a, length)
    if let fp = found.print {
      if prints.contains(fp) {
        hits.append(Hit(offset: depth == 0 ? a : outer, print: fp, steps: steps, order: checked))
      }
    } else {
      fingerprint(p + a, length, at: depth == 0 ? a : outer, steps: steps, slot: found.slot)
    }
  }

  /// A word the cache did not know: fingerprinted now, or staged to be with three more.
  private func fingerprint(
    _ word: UnsafePointer<UInt8>, _ length: Int, at offset: Int, steps: Steps, slot: UnsafeMutableRawPointer?
  ) {
    guard fourLanes && length <= FingerprintProbe.maxFast else {
      let fp = probe.fingerprint(word, length)
      if let slot { cache.keep(slot, fp, word, length) }
      if prints.contains(fp) { hits.append(Hit(offset: offset, print: fp, steps: steps, order: checked)) }
      return
    }
    probe.stage(waitingCount, word, length)
    waiting[waitingCount] = Waiting(offset: offset, steps: steps, order: checked, count: length, slot: slot)
    waitingCount += 1
    if waitingCount == FingerprintProbe.lanes { flushWaiting() }
  }

  /// Fingerprints the staged words and records their hits.
  private func flushWaiting() {
    guard waitingCount > 0 else { return }
    let answers = probe.staged()
    for k in 0..<waitingCount {
      let w = waiting[k]
      if let slot = w.slot { cache.keep(slot, answers[k], probe.stagedWord(k), w.count) }
      if prints.contains(answers[k]) {
        hits.append(Hit(offset: w.offset, print: answers[k], steps: w.steps, order: w.order))
      }
    }
    waitingCount = 0
  }

  /// Every stretch of the segment `a..<b` between its weak breaks (`n` of them in `cuts`).
  @inline(__always)
  private func segment(
    _ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ cuts: UnsafeMutablePointer<Int>, _ n: Int, depth: Int,
    outer: Int, steps: Steps
  ) {
    guard b - a >= Self.minLength else { return }
    if n == 0 {
      if b - a <= Self.maxLength { check(p, a, b - a, depth: depth, outer: outer, steps: steps) }
      return
    }
    let k = min(n, Self.maxBreaks)
    let many = n > Self.manyBreaks
    for i in 0...k {
      let from = i == 0 ? a : cuts[i - 1] + 1
      var j = i + 1
      while j <= k + 1 {
        if many && j - i > Self.spanLimit { break }
        let to = j == k + 1 ? b : cuts[j - 1]
        let length = to - from
        if length > Self.maxLength { break }
        if length >= Self.minLength { check(p, from, length, depth: depth, outer: outer, steps: steps) }
        j += 1
      }
    }
  }

  /// The length of a Unicode space, quote or byte-order mark at `i` that ends a word as an ASCII
  /// space or quote does (U+00A0, « », U+2000–U+200B, ‘ ’ “ ”, U+2028/9, U+202F, U+3000, U+FEFF);
  /// 0 when there is none. Pasted values arrive between such characters.
  @inline(__always)
  static func unicodeBreak(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int {
    let a = p[i]
    if a == 0xc2 {
      guard i + 1 < count else { return 0 }
      let b = p[i + 1]
      return b == 0xa0 || b == 0xab || b == 0xbb ? 2 : 0
    }
    guard i + 2 < count else { return 0 }
    let b = p[i + 1]
    let c = p[i + 2]
    switch a {
    case 0xe2:
      guard b == 0x80 else { return 0 }
      return c <= 0x8b || (0x98...0x9f).contains(c) || c == 0xa8 || c == 0xa9 || c == 0xaf ? 3 : 0
    case 0xe3: return b == 0x80 && c == 0x80 ? 3 : 0
    case 0xef: return b == 0xbb && c == 0xbf ? 3 : 0
    default: return 0
    }
  }

  @inline(__always)
  static func remember(_ i: Int, _ first: inout (Int, Int)) {
    if first.0 < 0 { first.0 = i } else { first.1 = i }
  }

  /// Scans `count` bytes. At depth 0 hits carry the word's own offset; deeper, `outer` (where the
  /// encoded run starts in the top-level text).
  func scan(_ p: UnsafePointer<UInt8>, _ count: Int, depth: Int = 0, outer: Int = 0, steps: Steps = Steps()) {
    let cls = Self.classes
    let cuts = breaks + depth * Self.maxBreaks
    var i = 0
    while i < count {
      while i < count {
        let c = cls[Int(p[i])]
        if c == Self.hardBreak {
          i += 1
        } else if c == Self.maybeBreak, case let k = Self.unicodeBreak(p, i, count), k > 0 {
          i += k
        } else {
          break
        }
      }
      let s = i
      var segmentStart = i
      var n = 0
      var strong = false
      var percent = false
      var backslash = false
      // The first two and the last two breaks of any kind: a value holding strong breaks is still
      // the whole rest of `KEY=value`, or the whole start of `value#comment`.
      var first = (-1, -1)
      var last = (-1, -1)
      scanning: while i < count {
        // Word bytes (most of any text) in a loop of their own, four at a time while no break is
        // among them (four loads that do not wait for each other): the switch below is for breaks.
        while i + 4 <= count
          && cls[Int(p[i])] | cls[Int(p[i + 1])] | cls[Int(p[i + 2])] | cls[Int(p[i + 3])] == Self.word
        {
          i += 4
        }
        guard i < count else { break scanning }
        var c = cls[Int(p[i])]
        while c == Self.word {
          i += 1
          guard i < count else { break scanning }
          c = cls[Int(p[i])]
        }
        switch c {
        case Self.word:
          i += 1
          continue
        case Self.hardBreak:
          break scanning
        case Self.maybeBreak:
          if Self.unicodeBreak(p, i, count) > 0 { break scanning }
          i += 1
          continue
        case Self.weakBreak:
          if n < Self.maxBreaks { cuts[n] = i }
          n += 1
          if first.1 < 0 { Self.remember(i, &first) }
          last = (last.1, i)
        default:
          segment(p, segmentStart, i, cuts, n, depth: depth, outer: outer, steps: steps)
          segmentStart = i + 1
          n = 0
          if first.1 < 0 { Self.remember(i, &first) }
          last = (last.1, i)
          strong = true
          if p[i] == 0x25 { percent = true } else if p[i] == 0x5c { backslash = true }
        }
        i += 1
      }
      let e = i
      if e - s >= Self.minLength {
        segment(p, segmentStart, e, cuts, n, depth: depth, outer: outer, steps: steps)
        if strong {
          @inline(__always) func stretch(_ a: Int, _ b: Int) {
            if b - a >= Self.minLength && b - a <= Self.maxLength {
              check(p, a, b - a, depth: depth, outer: outer, steps: steps)
            }
          }
          stretch(s, e)
          if first.0 >= 0 { stretch(first.0 + 1, e) }
          if first.1 >= 0 { stretch(first.1 + 1, e) }
          if last.0 >= 0 { stretch(s, last.0) }
          if last.1 >= 0 { stretch(s, last.1) }
        }
        decodings(
          p, count, s, e, depth: depth, outer: outer, steps: steps, percent: percent, backslash: backslash)
      } else if depth == 0 && wrappedLines > 0 && e > s {
        collectWrapped(p, count, s, e)
      }
    }
  }

  /// Call after each top-level text (before reading `hits`): decodes a wrapped base64 block that
  /// ended with it, and fingerprints the words still waiting.
  func finish() {
    flushWrapped()
    flushWaiting()
    if hits.count > 1 { hits.sort { $0.order < $1.order } }
  }

  private func decodings(
    _ p: UnsafePointer<UInt8>, _ count: Int, _ s: Int, _ e: Int, depth: Int, outer: Int, steps: Steps,
    percent: Bool, backslash: Bool
  ) {
    guard depth < Self.maxDepth else { return }
    if depth == 0 { collectWrapped(p, count, s, e) }
    base64Runs(p, s, e, depth: depth, outer: outer, steps: steps)
    let where_ = depth == 0 ? s : outer
    if percent {
      let n = decode(depth: depth, capacity: e - s) { out in Self.percentDecode(p, s, e, into: out) }
      if n > 0 { scan(decoded[depth], n, depth: depth + 1, outer: where_, steps: steps.adding(Steps.url)) }
    }
    if backslash {
      let n = decode(depth: depth, capacity: e - s + 4) { out in Self.unescape(p, s, e, into: out) }
      if n > 0 { scan(decoded[depth], n, depth: depth + 1, outer: where_, steps: steps.adding(Steps.escape)) }
    }
  }

  /// Decodes into this depth's buffer (at least `capacity` bytes); the byte count when the decoder
  /// changed something into text of at least `minLength` bytes, else 0.
  private func decode(depth: Int, capacity: Int, _ decoder: (UnsafeMutablePointer<UInt8>) -> Int) -> Int {
    if decodedCapacity[depth] < capacity {
      sodium_memzero(decoded[depth], decodedCapacity[depth])
      decoded[depth].deallocate()
      decoded[depth] = .allocate(capacity: capacity)
      decodedCapacity[depth] = capacity
    }
    var n = decoder(decoded[depth])
    n = Self.narrowUTF16(decoded[depth], n)
    guard n >= Self.minLength, Self.textify(decoded[depth], n) else { return 0 }
    return n
  }

  /// Each run of the base64 alphabet (with its `=` padding) long enough to hold a value.
  private func base64Runs(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, depth: Int, outer: Int, steps: Steps)
  {
    // 11 characters hold 8 bytes: a shorter token holds no run worth decoding.
    guard e - s >= 11 else { return }
    let values = Self.base64Values
    var i = s
    while i < e {
      while i < e && values[Int(p[i])] == 0xff { i += 1 }
      let start = i
      // (Four at a time while all four are in the alphabet: its values are below 64.)
      while i + 4 <= e
        && (values[Int(p[i])] | values[Int(p[i + 1])] | values[Int(p[i + 2])] | values[Int(p[i + 3])]) < 64
      {
        i += 4
      }
      while i < e && values[Int(p[i])] != 0xff { i += 1 }
      let end = i
      while i < e && p[i] == 0x3d && i - end < 2 { i += 1 }
      // 11 characters hold 8 bytes.
      guard end - start >= 11, (end - start) % 4 != 1 else { continue }
      let n = decode(depth: depth, capacity: (end - start) * 3 / 4 + 3) { out in
        Self.base64Text(p, start, end, into: out)
      }
      if n > 0 {
        scan(
          decoded[depth], n, depth: depth + 1, outer: depth == 0 ? start : outer,
          steps: steps.adding(Steps.base64))
      }
    }
  }

  /// A top-level token alone on its line and all base64: a line of a wrapped encoding. Consecutive
  /// ones are joined and decoded when the block ends.
  private func collectWrapped(_ p: UnsafePointer<UInt8>, _ count: Int, _ s: Int, _ e: Int) {
    // Most tokens do not start a line: nothing to collect, and a block (if any) has ended.
    if s > 0 && p[s - 1] != 0x0a && p[s - 1] != 0x20 && p[s - 1] != 0x09 {
      if wrappedLines > 0 { flushWrapped() }
      return
    }
    var a = s
    while a > 0 && (p[a - 1] == 0x20 || p[a - 1] == 0x09) { a -= 1 }
    var b = e
    while b < count && (p[b] == 0x20 || p[b] == 0x09 || p[b] == 0x0d) { b += 1 }
    let alone = (a == 0 || p[a - 1] == 0x0a) && (b == count || p[b] == 0x0a)
    var all = alone && (e - s >= 16 || (wrappedLines > 0 && a == wrappedNext))
    if all {
      for k in s..<e where Self.base64Values[Int(p[k])] == 0xff && p[k] != 0x3d {
        all = false
        break
      }
    }
    if !all || a != wrappedNext { flushWrapped() }
    guard all else { return }
    if wrappedLines == 0 { wrappedStart = s }
    wrapped.append(contentsOf: UnsafeBufferPointer(start: p + s, count: e - s))
    wrappedLines += 1
    wrappedNext = b + 1
  }

  private func flushWrapped() {
    defer {
      if !wrapped.isEmpty { wrapped.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) } }
      wrapped.removeAll(keepingCapacity: true)
      wrappedLines = 0
      wrappedNext = -1
    }
    guard wrappedLines >= 2 else { return }
    // Padding may end each line when the lines were encoded apart; it is skipped by the decoder.
    let n = wrapped.withUnsafeBufferPointer { j in
      decode(depth: 0, capacity: j.count * 3 / 4 + 3) { out in
        Self.base64Text(j.baseAddress!, 0, j.count, into: out)
      }
    }
    guard n > 0 else { return }
    let before = hits.count
    scan(decoded[0], n, depth: 1, outer: wrappedStart, steps: Steps().adding(Steps.base64))
    // A value inside one line of the block was already found there, at its own line: the joined
    // block found the same copy again.
    let end = wrappedNext
    let single = hits[..<before].filter { $0.offset >= wrappedStart && $0.offset < end }.map(\.print)
    if !single.isEmpty {
      let again = Set(single)
      var k = before
      while k < hits.count {
        if again.contains(hits[k].print) { hits.remove(at: k) } else { k += 1 }
      }
    }
  }

  // MARK: Decoders: each writes into `out` and returns the byte count, 0 when it changed nothing

  /// Base64 (standard or URL-safe, padding and line breaks skipped), given up as soon as the
  /// decoded bytes hold more that cannot be text than text has (`textify`'s rule: control bytes,
  /// malformed UTF-8; NUL is let through for UTF-16). Most base64-looking words are noise and
  /// end within a few bytes.
  static func base64Text(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, into out: UnsafeMutablePointer<UInt8>)
    -> Int
  {
    let values = base64Values
    var acc: UInt32 = 0
    var bits = 0
    var n = 0
    var bad = 0
    var need = 0  // UTF-8 continuation bytes still expected
    for i in s..<e {
      let v = values[Int(p[i])]
      if v == 0xff { continue }
      acc = acc << 6 | UInt32(v)
      bits += 6
      guard bits >= 8 else { continue }
      bits -= 8
      let byte = UInt8(truncatingIfNeeded: acc >> UInt32(bits))
      out[n] = byte
      n += 1
      if need > 0 {
        if byte & 0xc0 == 0x80 {
          need -= 1
          continue
        }
        need = 0
        bad += 1
      }
      if byte < 0x80 {
        if byte < 0x20 && byte != 0x09 && byte != 0x0a && byte != 0x0d && byte != 0 || byte == 0x7f {
          bad += 1
        }
      } else if byte >= 0xc2 && byte <= 0xdf {
        need = 1
      } else if byte & 0xf0 == 0xe0 {
        need = 2
      } else if byte >= 0xf0 && byte <= 0xf4 {
        need = 3
      } else {
        bad += 1
      }
      if bad > 2 + n / 16 { return 0 }
    }
    return n
  }

  static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
  }

  static func percentDecode(
    _ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, into out: UnsafeMutablePointer<UInt8>
  ) -> Int {
    var changed = false
    var i = s
    var n = 0
    while i < e {
      if p[i] == 0x25, i + 2 < e, let h = hexValue(p[i + 1]), let l = hexValue(p[i + 2]) {
        out[n] = h << 4 | l
        changed = true
        i += 3
      } else {
        out[n] = p[i]
        i += 1
      }
      n += 1
    }
    return changed ? n : 0
  }

  /// JSON and YAML double-quoted escapes: `\n \t \r \b \f \/ \\ \" \' \uXXXX \xXX`. At most 4
  /// output bytes per input byte.
  static func unescape(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, into out: UnsafeMutablePointer<UInt8>)
    -> Int
  {
    var changed = false
    var i = s
    var n = 0
    var high: UInt32? = nil
    func hex(_ at: Int, _ count: Int) -> UInt32? {
      guard at + count <= e else { return nil }
      var v: UInt32 = 0
      for k in at..<(at + count) {
        guard let d = hexValue(p[k]) else { return nil }
        v = v << 4 | UInt32(d)
      }
      return v
    }
    func utf8(_ v: UInt32) {
      guard let scalar = Unicode.Scalar(v) else { return }
      for b in String(Character(scalar)).utf8 {
        out[n] = b
        n += 1
      }
    }
    while i < e {
      guard p[i] == 0x5c, i + 1 < e else {
        out[n] = p[i]
        n += 1
        i += 1
        continue
      }
      changed = true
      let c = p[i + 1]
      i += 2
      var byte: UInt8? = nil
      switch c {
      case UInt8(ascii: "n"): byte = 0x0a
      case UInt8(ascii: "t"): byte = 0x09
      case UInt8(ascii: "r"): byte = 0x0d
      case UInt8(ascii: "b"): byte = 0x08
      case UInt8(ascii: "f"): byte = 0x0c
      case UInt8(ascii: "u"):
        guard let v = hex(i, 4) else { continue }
        i += 4
        if (0xd800..<0xdc00).contains(v) {
          high = v
          continue
        }
        if (0xdc00..<0xe000).contains(v), let h = high {
          utf8(0x10000 + ((h - 0xd800) << 10) + (v - 0xdc00))
        } else {
          utf8(v)
        }
      case UInt8(ascii: "x"):
        guard let v = hex(i, 2) else { continue }
        i += 2
        byte = UInt8(v)
      default: byte = c
      }
      if let byte {
        out[n] = byte
        n += 1
      }
      high = nil
    }
    return changed ? n : 0
  }

  /// Makes decoded bytes scannable text: a control byte or a byte that is not well-formed UTF-8
  /// (one Latin-1 `é`, an ESC) becomes a space, which ends a word as it would in a file. False when
  /// there are more such bytes than text has (2, and one more per 16 bytes): noise, not text.
  static func textify(_ b: UnsafeMutablePointer<UInt8>, _ n: Int) -> Bool {
    var bad = 0
    var i = 0
    func spoil(_ k: Int) -> Bool {
      b[k] = 0x20
      bad += 1
      return bad <= 2 + k / 16
    }
    while i < n {
      let c = b[i]
      if c < 0x80 {
        if c < 0x20 && c != 0x09 && c != 0x0a && c != 0x0d || c == 0x7f {
          if !spoil(i) { return false }
        }
        i += 1
        continue
      }
      var extra = -1
      if c & 0xe0 == 0xc0 && c >= 0xc2 {
        extra = 1
      } else if c & 0xf0 == 0xe0 {
        extra = 2
      } else if c & 0xf8 == 0xf0 && c <= 0xf4 {
        extra = 3
      }
      var ok = extra > 0 && i + extra < n
      if ok { for k in 1...extra where b[i + k] & 0xc0 != 0x80 { ok = false } }
      if ok {
        i += extra + 1
      } else {
        if !spoil(i) { return false }
        i += 1
      }
    }
    return true
  }

  /// UTF-16LE text of ASCII characters (PowerShell's -EncodedCommand, a file saved as "Unicode")
  /// narrowed in place to its bytes; other text is left as it is. The new count.
  static func narrowUTF16(_ b: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int {
    guard n >= 16, n % 2 == 0 else { return n }
    var zeros = 0
    var k = 1
    while k < n {
      if b[k] == 0 { zeros += 1 }
      k += 2
    }
    // Nearly every second byte is 0: narrow (a non-ASCII character becomes a space).
    guard zeros * 10 >= (n / 2) * 9 else { return n }
    for i in 0..<(n / 2) { b[i] = b[2 * i + 1] == 0 ? b[2 * i] : 0x20 }
    return n / 2
  }

}

/// The stored fingerprints as an open-addressing set: one multiply-free probe per word (the
/// fingerprints are hashes already, so their low bits index the table).
struct PrintSet: Sendable {
  private let slots: [UInt64]
  private let mask: Int
  private let hasZero: Bool

  init<S: Sequence>(_ prints: S) where S.Element == UInt64 {
    let all = Array(prints)
    var size = 16
    while size < all.count * 4 { size <<= 1 }
    var t = [UInt64](repeating: 0, count: size)
    var zero = false
    for p in all {
      if p == 0 {
        zero = true
        continue
      }
      var i = Int(truncatingIfNeeded: p) & (size - 1)
      while t[i] != 0 && t[i] != p { i = (i + 1) & (size - 1) }
      t[i] = p
    }
    slots = t
    mask = size - 1
    hasZero = zero
  }

  @inline(__always)
  func contains(_ p: UInt64) -> Bool {
    if p == 0 { return hasZero }
    return slots.withUnsafeBufferPointer { t in
      var i = Int(truncatingIfNeeded: p) & mask
      while true {
        let v = t[i]
        if v == p { return true }
        if v == 0 { return false }
        i = (i + 1) & mask
      }
    }
  }
}
