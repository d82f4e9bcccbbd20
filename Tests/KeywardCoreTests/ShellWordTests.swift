import Foundation
import KeywardCore
import Testing

@Suite("shell words: paths from the trail in the commands keyward suggests")
struct ShellWordTests {
  @Test("shellWord: a POSIX shell reads back exactly the string, whatever it holds (paths from the trail)")
  func shellWords() throws {
    var rng = HardeningUnitTests.Rand(state: 0x5eed_cafe)
    let alphabet = Array("ab/._-+:@ '\"$`\\;&|<>(){}*?[]~!#=%^,\t\n") + ["é", "\u{1b}"]
    var words = ["plain/path.env", "-o", "", "it's", "$(touch /tmp/pwned)", "`id`", "a b", "x;rm -rf ~"]
    for _ in 0..<40 {
      words.append(
        String(
          (0..<(1 + Int(rng.next() % 12))).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
    }
    // One shell reads them all: each word printed back between markers.
    let script = words.map { "printf '%s\\0' \(Text.shellWord($0))" }.joined(separator: "\n")
    let sh = Process()
    sh.executableURL = URL(fileURLWithPath: "/bin/sh")
    sh.arguments = ["-c", script]
    let out = Pipe()
    sh.standardOutput = out
    try sh.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    sh.waitUntilExit()
    let back = String(decoding: data, as: UTF8.self).split(separator: "\0", omittingEmptySubsequences: false)
      .dropLast()
    #expect(back.map(String.init) == words)
    #expect(Text.shellWord("deploy/prod.env") == "deploy/prod.env")
  }
}
