#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `KEYWARD_PROFILE=1`: named phases and their milliseconds on standard error, for finding where a
/// whole command's time goes (benchmarks time commands; this says which part). Silent otherwise.
public enum Stopwatch {
  nonisolated(unsafe) static let on = getenv("KEYWARD_PROFILE") != nil
  nonisolated(unsafe) static var last = now()

  static func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1_000_000
  }

  /// Starts the clock (at the top of `main`) without printing a phase.
  public static func start() {
    if on { last = now() }
  }

  public static func lap(_ name: String) {
    guard on else { return }
    let t = now()
    let line =
      "keyward profile: \(name) \(Int((t - last) * 10) / 10) ms, \(residentMB()) MB resident (\(residentMB("VmHWM:")) MB peak)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    last = t
  }

  /// The process's resident memory now (VmRSS), or its peak so far (VmHWM), in MB; 0 where
  /// /proc is not there.
  static func residentMB(_ field: String = "VmRSS:") -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
      let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      if s.hasPrefix(field) {
        return (Int(s.dropFirst(field.count).filter { $0.isNumber }) ?? 0) / 1024
      }
    }
    return 0
  }
}
