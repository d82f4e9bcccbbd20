import ArgumentParser
import KeywardCLIKit
import KeywardCore

extension Keyward {
  struct Explain: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
      commandName: "explain",
      abstract:
        "What a finding id means, why it matters and how to fix it (offline), e.g. keyward explain KW101.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A finding id (KW101…); none lists them all.")
    var id: String?

    func run() throws {
      let p = Printer(global)
      guard let id else {
        if p.json {
          return p.document(
            value: .object([
              "schema_version": .number(Double(Printer.schemaVersion)),
              "findings": .array(FindingID.allCases.map(Explain.json)),
            ]))
        }
        p.out(
          FindingID.allCases.map {
            "\($0.rawValue)  \(Text.pad($0.defaultSeverity.rawValue, 7))  \($0.title)\n"
          }.joined())
        return
      }
      guard let finding = FindingID(rawValue: id.uppercased()) else {
        // The nearest ids by number (KW999 → KW803, KW802, KW801), else by prefix.
        let wanted = Int(id.uppercased().drop { !$0.isNumber }) ?? -1000
        let near = FindingID.allCases.sorted {
          abs((Int($0.rawValue.dropFirst(2)) ?? 0) - wanted)
            < abs((Int($1.rawValue.dropFirst(2)) ?? 0) - wanted)
        }.prefix(3).map(\.rawValue)
        throw KeywardError(
          .usage, "no finding \"\(Text.printable(String(id.prefix(20))))\"",
          hint: near.isEmpty
            ? "keyward explain lists them all" : "did you mean one of: \(near.joined(separator: ", "))")
      }
      if p.json {
        var doc = Explain.json(finding)
        if case .object(var m) = doc {
          m["schema_version"] = .number(Double(Printer.schemaVersion))
          doc = .object(m)
        }
        return p.document(value: doc)
      }
      p.out(
        "\(p.style(finding.rawValue, .bold)) (\(finding.defaultSeverity.rawValue)): \(finding.title)\n\n\(finding.explanation)\n"
      )
    }

    static func json(_ f: FindingID) -> JSONValue {
      .object([
        "finding_id": .string(f.rawValue), "title": .string(f.title),
        "severity": .string(f.defaultSeverity.rawValue),
        "explanation": .string(f.explanation),
      ])
    }
  }
}
