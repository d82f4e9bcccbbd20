#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A UTC instant with one-second precision, written as `2026-11-22T06:30:00Z`.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
  public var seconds: Int64

  public init(seconds: Int64) { self.seconds = seconds }

  /// Now, or `KEYWARD_NOW` (an ISO timestamp) when set: lets demos and tests age sets
  /// without waiting. Documented in the README.
  public static func now() -> Timestamp {
    if let fixed = Env.process["KEYWARD_NOW"], let t = Timestamp(iso: fixed) {
      return t
    }
    return Timestamp(seconds: Int64(time(nil)))
  }

  /// Parses `YYYY-MM-DDTHH:MM:SSZ` exactly.
  public init?(iso: String) {
    let b = Array(iso.utf8)
    guard b.count == 20, b[4] == 0x2d, b[7] == 0x2d, b[10] == 0x54, b[13] == 0x3a, b[16] == 0x3a,
      b[19] == 0x5a
    else { return nil }
    func num(_ r: Range<Int>) -> Int? {
      var v = 0
      for i in r {
        guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
        v = v * 10 + Int(b[i] - 0x30)
      }
      return v
    }
    guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13),
      let mi = num(14..<16), let s = num(17..<19), (1970...9999).contains(y), (1...12).contains(mo),
      (1...Timestamp.daysIn(month: mo, year: y)).contains(d), h < 24, mi < 60, s < 60
    else { return nil }
    var t = tm()
    t.tm_year = Int32(y - 1900)
    t.tm_mon = Int32(mo - 1)
    t.tm_mday = Int32(d)
    t.tm_hour = Int32(h)
    t.tm_min = Int32(mi)
    t.tm_sec = Int32(s)
    seconds = Int64(timegm(&t))
  }

  /// Days in a month of the Gregorian calendar. Dates that do not exist (February 31, a leap
  /// second) are refused rather than normalised: a normalised `9999-12-31T23:59:60Z` became year
  /// 10000, which keyward could then no longer read.
  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  public var iso: String {
    var t = tm()
    var secs = time_t(seconds)
    gmtime_r(&secs, &t)
    func pad(_ v: Int32, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T"
      + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2))Z"
  }

  public var description: String { iso }

  public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

  public func adding(days: Int) -> Timestamp { Timestamp(seconds: seconds + Int64(days) * 86_400) }

  /// Whole days from `self` to `later` (negative if `later` is earlier).
  public func days(until later: Timestamp) -> Int { Int((later.seconds - seconds) / 86_400) }

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let t = Timestamp(iso: s) else {
      throw DecodingError.dataCorruptedError(
        in: c, debugDescription: "expected a UTC time like 2026-11-22T06:30:00Z, found \"\(s.prefix(40))\"")
    }
    self = t
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(iso)
  }
}

/// Human age: "3d", "5h", "just now".
public func ageText(from t: Timestamp, to now: Timestamp) -> String {
  let s = max(0, now.seconds - t.seconds)
  if s < 60 { return "just now" }
  if s < 3600 { return "\(s / 60)m" }
  if s < 86_400 { return "\(s / 3600)h" }
  return "\(s / 86_400)d"
}
