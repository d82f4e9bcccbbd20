import Foundation
import Testing

/// Issue 16, part 1: the core speaks of no command-line option. Every long option keyward-cli
/// defines (from argument-parser's own description of the commands) is looked for in the string
/// literals of the core and the CSP target; hints that name one are `Advice`, worded at the edge
/// (KeywardCLIKit/AdviceText.swift).
@Suite("structure: the core names no command-line option")
struct StructureTests {
  @Test("no string literal in KeywardCore or KeywardCSP spells an option of keyward's commands")
  func coreNamesNoOption() throws {
    let cli = try CLI()
    let dump = try cli.expect(0, ["--experimental-dump-help"]).stdout
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
    var options = Set<String>()
    func walk(_ c: [String: Any]) {
      for a in c["arguments"] as? [[String: Any]] ?? [] {
        for n in a["names"] as? [[String: Any]] ?? [] where n["kind"] as? String == "long" {
          options.insert(n["name"] as! String)
        }
      }
      for s in c["subcommands"] as? [[String: Any]] ?? [] { walk(s) }
    }
    walk(try #require(doc["command"] as? [String: Any]))
    #expect(options.count > 50 && options.contains("replace") && options.contains("key-file"))
    // Where an option may appear: doc comments, git's own arguments, the pre-commit hook (a
    // script that runs keyward), and docker's --env-file (docker's option, not keyward's).
    func allowed(_ line: String) -> Bool {
      let t = line.trimmingCharacters(in: .whitespaces)
      return t.hasPrefix("//") || line.contains("Git.") || line.contains("\"rev-parse\"")
        || line.contains("\"ls-files\"") || line.contains("\"cat-file\"") || line.contains("\"rev-list\"")
        || line.contains("\"log\", ") || line.contains("--format=%") || line.contains("docker's --env-file")
        || line.contains("workspaceArgument") || line.contains("scan --staged\\(")
        || line.contains("a == \"-v\" || a == \"--verbose\"")
    }
    var found = [String]()
    for folder in ["Sources/KeywardCore", "Sources/KeywardCSP"] {
      let root = CLI.packageRoot + "/" + folder
      let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
      for file in files where file.hasSuffix(".swift") {
        let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains("--") && !allowed(String(line)) {
          // An option spelled inside a string literal: "--name" followed by a non-name character.
          for option in options where line.contains("--\(option)") {
            let after = line.range(of: "--\(option)").map { line[$0.upperBound...].first } ?? nil
            if after.map({ !($0.isLetter || $0 == "-") }) ?? true {
              found.append("\(folder)/\(file):\(n + 1): --\(option)")
            }
          }
        }
      }
    }
    #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
  }
}
