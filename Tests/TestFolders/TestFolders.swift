import Foundation

/// Folders the tests make under the system temporary directory, removed when the test process
/// exits (a run used to leave hundreds of test key stores and workspaces in /tmp).
public enum TestFolders {
  nonisolated(unsafe) static var paths = [String]()
  static let lock = NSLock()
  static let removeAtExit: Void = {
    atexit {
      TestFolders.lock.lock()
      defer { TestFolders.lock.unlock() }
      for path in TestFolders.paths where (try? FileManager.default.removeItem(atPath: path)) == nil {
        // Some tests make folders unreadable or unwritable on purpose: open them up, then again.
        let chmod = Process()
        chmod.executableURL = URL(fileURLWithPath: "/bin/chmod")
        chmod.arguments = ["-R", "u+rwx", path]
        try? chmod.run()
        chmod.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
      }
    }
  }()

  /// A fresh folder `keyward-TAG-XXXXXX`, removed at exit.
  public static func make(_ tag: String) -> String? {
    var template = Array((NSTemporaryDirectory() + "keyward-\(tag)-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { return nil }
    let path = String(cString: p)
    removeAtExit
    lock.lock()
    paths.append(path)
    lock.unlock()
    return path
  }
}
