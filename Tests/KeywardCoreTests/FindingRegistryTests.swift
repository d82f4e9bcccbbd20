import Foundation
import KeywardCore
import Testing

@Suite("the finding registry")
struct FindingRegistryTests {
  static let readme: String = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    return (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
  }()

  /// The ids the README's tables list: `| KW101 |` rows and `| KW711–KW718 |` ranges.
  static func readmeIDs() -> Set<String> {
    var ids = Set<String>()
    for line in readme.split(separator: "\n") where line.hasPrefix("| KW") {
      let cell = line.dropFirst(2).prefix { $0 != " " && $0 != "|" }
      let parts = cell.split(separator: "–")
      if parts.count == 2, let a = Int(parts[0].dropFirst(2)), let b = Int(parts[1].dropFirst(2)) {
        for n in a...b { ids.insert("KW\(n)") }
      } else {
        ids.insert(String(cell))
      }
    }
    return ids
  }

  @Test("the README's finding tables list exactly the registry's ids")
  func readmeMatches() {
    let registry = Set(FindingID.allCases.map(\.rawValue))
    let listed = FindingRegistryTests.readmeIDs()
    #expect(!listed.isEmpty, "no finding table found in README.md")
    #expect(
      registry.subtracting(listed).isEmpty,
      "in the registry, not in the README: \(registry.subtracting(listed).sorted())")
    #expect(
      listed.subtracting(registry).isEmpty,
      "in the README, not in the registry: \(listed.subtracting(registry).sorted())")
  }

  @Test("every id has a title and an explanation of its own; ids are KW followed by three digits")
  func entries() {
    var titles = Set<String>()
    for id in FindingID.allCases {
      #expect(id.rawValue.count == 5 && id.rawValue.hasPrefix("KW") && Int(id.rawValue.dropFirst(2)) != nil)
      #expect(!id.title.isEmpty && id.explanation.count > 40, "\(id.rawValue)")
      #expect(titles.insert(id.title).inserted, "\(id.rawValue) repeats a title")
    }
  }

  @Test("the trail's own id is KW803, not a CSP id")
  func trailID() {
    #expect(FindingID.trailBroken.rawValue == "KW803")
    #expect(FindingID(rawValue: "KW701") == .cspBlocked)
  }
}
