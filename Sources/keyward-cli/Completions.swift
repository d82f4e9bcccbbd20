import ArgumentParser
import KeywardCore

/// Shell completion of what only the workspace knows: environment names and set ids. The shells
/// call `keyward ---completion …` with the words typed so far; these read the workspace named by
/// `--workspace` among them (else `KEYWARD_WORKSPACE`, else ./Environments) and never fail: no
/// workspace, or a damaged one, completes nothing. They read names and ids only, never a value.
enum Completions {
  static func workspace(_ words: [String]) -> Workspace? {
    var explicit: String?
    for (i, w) in words.enumerated() {
      if w == "--workspace", i + 1 < words.count { explicit = words[i + 1] }
      if w.hasPrefix("--workspace=") { explicit = String(w.dropFirst("--workspace=".count)) }
    }
    return try? Workspace.open(Workspace.resolvePath(explicit))
  }

  /// The workspace's environments, in keyward.json's order.
  static let environments: CompletionKind = .custom { words, _, prefix in
    (workspace(words)?.config.environmentNames ?? []).filter { $0.hasPrefix(prefix) }
  }

  /// The set ids of the environment named among the words (and the selector words).
  static let sets: CompletionKind = .custom { words, _, prefix in
    guard let ws = workspace(words) else { return [] }
    let names = ws.config.environmentNames
    guard let env = words.first(where: { names.contains($0) }),
      let file = try? ws.loadEnvironment(env)
    else { return [] }
    return (["active", "pending"] + file.sets.map(\.id)).filter { $0.hasPrefix(prefix) }
  }
}
