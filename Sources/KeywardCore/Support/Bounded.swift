/// Bounded concurrency: `count` jobs, at most `width` running at once, results in job order.
/// One helper for every fan-out (verify's sets, `csp --urls`' pages).
public enum Bounded {
  /// Runs `work(i)` for each `i` in `0..<count`, at most `width` at a time, and calls
  /// `progress(done, count)` on the caller's side as each one finishes.
  public static func map<T: Sendable>(
    count: Int, width: Int, progress: (Int, Int) -> Void = { _, _ in },
    _ work: @escaping @Sendable (Int) async -> T
  ) async -> [T] {
    guard count > 0 else { return [] }
    var results = [T?](repeating: nil, count: count)
    await withTaskGroup(of: (Int, T).self) { group in
      var next = 0
      var done = 0
      let width = min(max(1, width), count)
      while done < count {
        while next < count && next - done < width {
          let i = next
          next += 1
          group.addTask { (i, await work(i)) }
        }
        guard let (i, result) = await group.next() else { break }
        results[i] = result
        done += 1
        progress(done, count)
      }
    }
    return results.map { $0! }
  }
}
