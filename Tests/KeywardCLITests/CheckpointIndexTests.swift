import Foundation
import Testing

@testable import KeywardCore

/// A checkpoint's index (issue 17; FORMAT.md, "Checkpoint index"): what readers use instead of
/// the checkpoint's lines, attacked as a repository writer would, against the built binary and
/// the independent Python reader (which rebuilds every index from FORMAT.md).
@Suite("the checkpoint index: read instead of the lines, proven by --full")
struct CheckpointIndexTests {
  let t = TeamTrailTests()

  func checkpoint(_ cli: CLI) throws -> (segment: String, index: String) {
    try cli.expect(0, ["trail", "checkpoint"])
    let dir = cli.workspace + "/trail/checkpoints"
    let names = try FileManager.default.contentsOfDirectory(atPath: dir)
    // The newest: the index that covers every other checkpoint.
    var newest: (String, Int)? = nil
    for n in names where n.hasSuffix(".index") {
      let first = try String(contentsOfFile: "\(dir)/\(n)", encoding: .utf8).split(separator: "\n")[0]
      let doc = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
      let covers = (doc["covers"] as? [String] ?? []).count
      if newest == nil || covers > newest!.1 { newest = (n, covers) }
    }
    let index = try #require(newest?.0)
    return ("\(dir)/\(index.dropLast(6)).jsonl", "\(dir)/\(index)")
  }

  /// The entry files as they are now, kept aside; then a checkpoint, which compacts them.
  /// `restore` puts every one back, as a writer can.
  func compacting(_ cli: CLI) throws -> (restore: () throws -> Void, forget: () -> Void) {
    let entries = cli.workspace + "/trail/entries"
    let saved = cli.root + "-saved"
    try FileManager.default.copyItem(atPath: entries, toPath: saved)
    _ = try checkpoint(cli)
    return (
      {
        for name in try FileManager.default.contentsOfDirectory(atPath: saved) {
          try? FileManager.default.copyItem(atPath: "\(saved)/\(name)", toPath: "\(entries)/\(name)")
        }
      },
      { try? FileManager.default.removeItem(atPath: saved) }
    )
  }

  func reader(_ cli: CLI) throws -> String {
    try t.python(["Tests/Compat/trail_reader.py", cli.workspace]).output
  }

  @Test(
    "a chain of checkpoints: audit reads the newest index and agrees with --full, log and the Python reader; a retired pair and a rekey stay known"
  )
  func chain() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    try cli.expect(0, ["retire", "prod", "--now", "--force"])
    try cli.expect(0, ["export", "dev", "-o", cli.root + "/dev.env"])
    _ = try checkpoint(cli)
    try t.store(cli, "staging")
    try cli.expect(0, ["rekey", "dev"])
    let (_, index) = try checkpoint(cli)
    try t.store(cli, "dev")
    let quick = try t.audit(cli, 0)
    let full = try t.audit(cli, 0, ["--full"])
    for k in ["entry_count", "unsigned_count", "heads", "checkpoint_count", "intact", "signers"] {
      func shown(_ d: [String: Any]) -> String {
        let data = try? JSONSerialization.data(
          withJSONObject: [k: t.trail(d)[k] ?? NSNull()], options: .sortedKeys)
        return String(decoding: data ?? Data(), as: UTF8.self)
      }
      #expect(shown(quick) == shown(full), "\(k)")
    }
    // The quick audit attests the checkpointed entries; --full verifies every signature.
    func signatures(_ d: [String: Any]) -> Int {
      (t.trail(d)["signed_count"] as! Int) + (t.trail(d)["attested_count"] as! Int)
    }
    #expect(signatures(quick) == signatures(full))
    #expect(t.trail(full)["attested_count"] as? Int == 0)
    #expect(t.trail(quick)["checkpoint_count"] as? Int == 2)
    #expect(t.trail(quick)["entry_count"] as? Int == (try t.log(cli)).count)
    #expect(try reader(cli).contains("\"intact\": true"))
    // What the compacted entries said is still known: the retired pair is refused, the export
    // file is keyward's to overwrite, and the index lists both checkpoints' entries.
    let lines = try String(contentsOfFile: index, encoding: .utf8).split(separator: "\n")
    #expect(lines[0].contains("\"covers\":[\""))
    #expect(lines.contains { $0.contains("\"action\":\"retire\"") })
    try cli.expect(0, ["export", "dev", "-o", cli.root + "/dev.env"])
    // check and audit drop the index's copy of the kept records (history holds them): the
    // maximal records and the last record of each kind are what they were.
    var index2 = TrailIndex.load(workspace: try Workspace.open(cli.workspace))
    #expect(index2.base?.kept.isEmpty == false)
    func summary(_ i: TrailIndex) -> String {
      let maxima = i.maximalRecords().sorted { $0.key < $1.key }.map { env, records in
        "\(env): "
          + records.map { "\($0.seq) \($0.action ?? "") \($0.envAfter ?? "") \($0.entry ?? "")" }.joined(
            separator: ", ")
      }
      let last = ["init", "set", "retire", "rekey", "export", "promote", "nothing"].map { a in
        i.lastRecord { $0.action == a }.map { "\(a) \($0.seq) \($0.environment ?? "") \($0.entry ?? "")" }
          ?? "\(a) none"
      }
      return (maxima + last).joined(separator: "\n")
    }
    let before = summary(index2)
    index2.releaseKept()
    #expect(index2.base?.kept.isEmpty == true)
    #expect(summary(index2) == before)
    #expect(before.contains("retire ") && !before.contains("retire none"))
    // A write reads only the kept records of the environments it changes: what it asks about
    // them is what the whole read says (both read the files: the memo serves neither).
    let ws = try Workspace.open(cli.workspace)
    let whole = TrailIndex.load(workspace: ws)
    for env in ["prod", "staging", "dev"] {
      let only = TrailIndex.load(workspace: ws, environments: [env])
      #expect((only.base?.kept.count ?? 0) < (whole.base?.kept.count ?? 0), "\(env)")
      #expect(only.maximalRecords()[env]?.map(\.seq) == whole.maximalRecords()[env]?.map(\.seq), "\(env)")
      func of(_ i: TrailIndex) -> [String] {
        i.history.filter { $0.environment == env }.map { "\($0.seq) \($0.action ?? "") \($0.entry ?? "")" }
      }
      #expect(of(only) == of(whole), "\(env)")
      #expect(
        only.lastRecord { $0.action == "trust-init" }?.seq
          == whole.lastRecord { $0.action == "trust-init" }?.seq)
    }
    // prod's last announcement is a kept record now: an outside edit of prod.json is still what
    // the next write to prod records first; a write to dev records nothing of prod's.
    try t.editCiphertext(cli, "prod")
    try cli.expect(0, ["discard", "dev"])
    let other = try t.store(cli, "dev")
    #expect(!other.all.contains("no entry announces it"), "\(other.all)")
    let r = try t.store(cli, "prod")
    #expect(r.all.contains("no entry announces it"), "\(r.all)")
  }

  @Test(
    "an entry whose actor holds control and bidi characters: the index keeps them as the entry says (FORMAT.md), so keyward, --full and the Python reader agree; output shows them escaped"
  )
  func hostileActor() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    // A hand-made unsigned entry beside the last one (another tool, or a writer): its actor is
    // what no keyward writer would put there.
    let planted = try t.python([
      "-c",
      #"""
      import hashlib, json, os, sys, base64
      d = os.path.join(sys.argv[1], "trail", "entries")
      src = sorted(os.listdir(d))[0]
      doc = json.loads(open(os.path.join(d, src)).read())
      p = json.loads(base64.b64decode(doc["payload"]))
      p["actor"] = "\x1b[31mmallory\u202e\x07"
      p.pop("signer", None)
      for r in p["records"]:  # announces no change: a branch, not a second version of a file
          r.pop("env_before", None); r.pop("env_after", None)
      body = json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
      i = hashlib.blake2b(b"keyward trail v2" + body, digest_size=32).hexdigest()
      env = {"payload": base64.b64encode(body).decode(), "payload_type": doc["payload_type"], "signatures": []}
      open(os.path.join(d, i + ".json"), "w").write(json.dumps(env, separators=(",", ":")) + "\n")
      print(i)
      """#,
      cli.workspace,
    ])
    #expect(planted.status == 0, "\(planted.output)")
    let logged = try cli.expect(0, ["log"]).stdout
    #expect(
      !logged.contains("\u{1b}") && !logged.contains("\u{202e}") && logged.contains("mallory"), "\(logged)")
    try cli.expect(0, ["trail", "checkpoint"])
    let full = try t.audit(cli, 0, ["--full"])
    #expect(t.trail(full)["intact"] as? Bool == true)
    let reader = try reader(cli)
    #expect(reader.contains("\"intact\": true"), "\(reader)")
  }

  @Test(
    "attack: edit the index (a kept record, the ids, the counts): exit 4 naming it; delete it: still intact, read line by line"
  )
  func edited() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    let (_, index) = try checkpoint(cli)
    try t.store(cli, "dev")
    let original = try Data(contentsOf: URL(fileURLWithPath: index))
    let text = String(decoding: original, as: UTF8.self)
    for (from, to) in [
      ("\"unsigned\":0", "\"unsigned\":7"), ("\"action\":\"rotate\"", "\"action\":\"verify\""),
    ] {
      #expect(text.contains(from), "\(from)")
      try text.replacingOccurrences(of: from, with: to).write(
        toFile: index, atomically: false, encoding: .utf8)
      let r = try cli.expect(4, ["audit"])
      #expect(r.stdout.contains(".index does not match the digest its checkpoint signed"), "\(r.stdout)")
      #expect(try cli.run(["check"]).status != 0)
      #expect(!(try reader(cli)).contains("\"intact\": true"))
    }
    try original.write(to: URL(fileURLWithPath: index))
    try cli.expect(0, ["audit"])
    try FileManager.default.removeItem(atPath: index)
    let after = try t.audit(cli, 0)
    #expect(t.trail(after)["intact"] as? Bool == true)
    #expect(try reader(cli).contains("\"intact\": true"))
    // An index planted with no checkpoint of its name breaks the layout.
    try original.write(
      to: URL(
        fileURLWithPath: cli.workspace + "/trail/checkpoints/\(String(repeating: "ab", count: 32)).index"))
    try cli.expect(4, ["audit"])
  }

  @Test(
    "attack: segment lines cut or edited while the index stays: audit (not only --full) is exit 4, because it still checks every segment's digest"
  )
  func segmentEdited() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    let (segment, _) = try checkpoint(cli)
    var lines = try String(contentsOfFile: segment, encoding: .utf8).split(separator: "\n")
    lines.remove(at: lines.count - 1)
    try (lines.joined(separator: "\n") + "\n").write(toFile: segment, atomically: false, encoding: .utf8)
    try cli.expect(4, ["audit"])
    try cli.expect(4, ["audit", "--full"])
  }

  @Test(
    "attack: a writer puts back every entry file a checkpoint compacted, its heads' included, under entries that follow them: each entry is counted once, as --full, log and the Python reader count"
  )
  func compactedFilesPutBack() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    try t.store(cli, "staging")
    let putBack = try compacting(cli)
    defer { putBack.forget() }
    try cli.expect(0, ["discard", "prod"])
    try t.store(cli, "dev")
    let before = try t.audit(cli, 0)
    try putBack.restore()
    let quick = try t.audit(cli, 0)
    let full = try t.audit(cli, 0, ["--full"])
    for k in ["entry_count", "heads", "intact"] {
      #expect("\(t.trail(quick)[k] ?? "none")" == "\(t.trail(before)[k] ?? "none")", "\(k)")
      #expect("\(t.trail(quick)[k] ?? "none")" == "\(t.trail(full)[k] ?? "none")", "\(k)")
    }
    #expect(t.trail(quick)["entry_count"] as? Int == (try t.log(cli)).count)
    #expect(try reader(cli).contains("\"intact\": true"))
    // The next write follows the same heads.
    try t.store(cli, "prod")
    let after = try t.audit(cli, 0, ["--full"])
    #expect(t.trail(after)["entry_count"] as? Int == t.trail(before)["entry_count"] as! Int + 1)
    #expect((t.trail(after)["heads"] as? [String])?.count == 1)
  }

  @Test(
    "attack: an admin signs an index whose heads are below its heads, and a writer puts back the covered files that follow them: each entry is still counted once, --full names the false index, and an honest admin's next checkpoint is not made false by it (the review of session 24)"
  )
  func falseHeadsAndFilesPutBack() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    try cli.expect(0, ["promote", "prod", "--force"])
    try cli.expect(0, ["retire", "prod", "--now", "--force"])
    try t.store(cli, "staging")
    let putBack = try compacting(cli)
    defer { putBack.forget() }
    try t.store(cli, "dev")
    let before = try t.audit(cli, 0)
    let forged = try t.python([
      "Tests/Compat/forge_checkpoint.py", cli.workspace, cli.root + "/keys/identity", "index-heads-below",
    ])
    #expect(forged.status == 0, "\(forged.output)")
    let falseID = String(forged.output.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12))
    try putBack.restore()
    let quick = try t.audit(cli, 0)
    #expect(t.trail(quick)["entry_count"] as? Int == t.trail(before)["entry_count"] as? Int)
    #expect(t.trail(quick)["entry_count"] as? Int == (try t.log(cli)).count)
    let full = try cli.expect(4, ["audit", "--full"])
    #expect(full.stdout.contains("\(falseID).index") && full.stdout.contains("false index"), "\(full.stdout)")
    // An honest admin checkpoints what is there: only the forged index is false afterwards.
    try cli.expect(0, ["trail", "checkpoint"])
    let after = try cli.expect(4, ["audit", "--full"])
    // (Each false index is named twice: in the trail's summary and as its KW803.)
    let named = Set(
      after.stdout.split(separator: "\n").filter { $0.contains("signed a false index") }.compactMap { line in
        line.split(separator: " ").first { $0.hasSuffix(".index") }
      })
    #expect(named == ["\(falseID).index"], "\(after.stdout)")
    #expect(t.trail(try t.audit(cli, 0))["entry_count"] as? Int == t.trail(before)["entry_count"] as? Int)
  }

  @Test(
    "attack: planted entries name 1,800 parents that are nowhere: exit 4, the first 1,000 cuts listed and one line counting the rest (each was a problem held in memory: 200 such entries of 10,000 parents took 1.4 GB), found in one look at the index"
  )
  func plantedParentsCapped() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    _ = try checkpoint(cli)
    try t.store(cli, "staging")
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<3 {
      let parents = (0..<600).map { _ in
        (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
      }
      let planted = try t.python([
        "Tests/Compat/add_entry.py", cli.workspace, #"[{"action":"verify","environment":"dev"}]"#,
        "--parents", parents.joined(separator: ","),
      ])
      #expect(planted.status == 0, "\(planted.output)")
    }
    let r = try cli.expect(4, ["audit"])
    let cuts = r.stdout.split(separator: "\n").filter { $0.contains("error KW808") }
    #expect(cuts.filter { $0.contains("which is not in the trail: an entry was removed") }.count == 1000)
    #expect(cuts.contains { $0.contains("800 more parent(s) named by") }, "\(cuts.suffix(2))")
    let full = try cli.expect(4, ["audit", "--full"])
    #expect(full.stdout.contains("800 more parent(s) named by"))
  }

  @Test(
    "merge: a clone that forked below a checkpoint writes; merged, its entry names a parent deep in the segment: everything is read, intact, each entry once"
  )
  func forkBelow() throws {
    let (cli, root) = try t.repository()
    let other = cli.root + "-fork"
    try t.git(cli.root, ["clone", "-q", cli.root, other])
    defer { try? FileManager.default.removeItem(atPath: other) }
    // Here: two writes and a checkpoint. There: a write that follows the old head.
    try t.store(cli, "prod")
    try t.store(cli, "staging")
    _ = try checkpoint(cli)
    try t.git(cli.root, ["add", "-A", "Environments"])
    try t.git(cli.root, ["commit", "-q", "-m", "checkpoint"])
    try t.store(cli, "dev", workspace: other + "/Environments", extra: ["KEYWARD_TRUST": root])
    try t.git(other, ["add", "-A", "Environments"])
    try t.git(other, ["commit", "-q", "-m", "dev"])
    try t.git(cli.root, ["pull", "-q", "--no-rebase", "--no-edit", other, "main"])
    let merged = try t.audit(cli, 0)
    #expect(t.trail(merged)["intact"] as? Bool == true)
    #expect(t.trail(merged)["entry_count"] as? Int == (try t.log(cli)).count)
    #expect((t.trail(merged)["heads"] as? [String])?.count == 2)
    #expect(try reader(cli).contains("\"intact\": true"))
    // The next write follows both heads; the next checkpoint covers everything again.
    try cli.expect(0, ["discard", "prod"])
    _ = try checkpoint(cli)
    let again = try t.audit(cli, 0, ["--full"])
    #expect(t.trail(again)["entry_count"] as? Int == t.trail(merged)["entry_count"] as! Int + 1)
    #expect(try reader(cli).contains("\"intact\": true"))
  }

  @Test(
    "attack: an admin signs a false checkpoint (an index without the retire record, an entry with a forged signature, heads that are not its heads): audit attests what the admin signed, --full proves it false, exit 4 naming it, streaming the segment"
  )
  func falseCheckpointSigned() throws {
    for (mode, says) in [
      ("index", "does not match the entries it summarises: its admin signed a false index"),
      ("entry", "line 2: it names signer"),
      ("heads", "the heads it names are not the heads of its entries"),
      // Found by the independent review: a header longer than a streamed piece hid every line.
      ("entry-padded", "line 2: it names signer"),
    ] {
      let (cli, _) = try t.repository()
      try t.store(cli, "prod")
      try cli.expect(0, ["promote", "prod", "--force"])
      try cli.expect(0, ["retire", "prod", "--now", "--force"])
      try t.store(cli, "staging")
      _ = try checkpoint(cli)
      try t.store(cli, "dev")
      try cli.expect(0, ["audit", "--full"])
      let forged = try t.python([
        "Tests/Compat/forge_checkpoint.py", cli.workspace, cli.root + "/keys/identity", mode,
      ])
      #expect(forged.status == 0, "\(forged.output)")
      // What the admin signed holds for a quick audit: the index's digest and the segment's.
      let quick = try cli.run(["audit", "--format", "json"])
      #expect(t.trail(try cli.json(quick))["intact"] as? Bool == true, "\(mode): \(quick.stdout)")
      let full = try cli.expect(4, ["audit", "--full"], env: ["KEYWARD_PROFILE": "1"])
      #expect(full.stdout.contains(says), "\(mode): \(full.stdout)")
      #expect(full.stderr.contains("full: segments streamed and verified"), "\(mode): \(full.stderr)")
      let json = try cli.json(try cli.expect(4, ["audit", "--full", "--format", "json"]))
      #expect(t.trail(json)["intact"] as? Bool == false, "\(mode)")
      #expect(!(try reader(cli)).contains("\"intact\": true"), "\(mode)")
    }
  }

  @Test(
    "attack: an admin signs an index whose ids are out of order (ids-swapped, found by the independent review) or not base64 (ids-bad-base64): log does not drop the entries it cannot place, names the checkpoint as malformed and never an entry as removed, exit 4; --full proves it",
    arguments: ["ids-swapped", "ids-bad-base64"]
  )
  func malformedIndexIDs(mode: String) throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    try t.store(cli, "staging")
    _ = try checkpoint(cli)
    try t.store(cli, "dev")
    let before = try cli.expect(0, ["log"]).stdout
    let forged = try t.python([
      "Tests/Compat/forge_checkpoint.py", cli.workspace, cli.root + "/keys/identity", mode,
    ])
    #expect(forged.status == 0, "\(forged.output)")
    let log = try cli.expect(4, ["log"])
    #expect(log.stderr.contains("not entries the checkpoint's signed index lists"), "\(mode): \(log.stderr)")
    #expect(!log.all.contains("an entry was removed"), "\(mode): \(log.all)")
    #expect(log.stdout.split(separator: "\n").count < before.split(separator: "\n").count, "\(mode)")
    let json = try cli.json(try cli.expect(4, ["log", "--format", "json"]))
    #expect(json["intact"] as? Bool == false, "\(mode)")
    let problems = json["problems"] as? [String] ?? []
    #expect(problems.contains { $0.contains("the checkpoint is malformed") }, "\(mode)")
    #expect(!problems.contains { $0.contains("an entry was removed") }, "\(mode)")
    try cli.expect(4, ["audit", "--full"])
  }

  @Test(
    "attack: 1,500 malformed lines appended to a segment: the first 1,000 are listed and one line counts the rest, exit 4 in log, audit and audit --full (two million such lines took audit --full to 1.7 GB; found by the independent review)"
  )
  func malformedLinesCapped() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    _ = try checkpoint(cli)
    let folder = cli.workspace + "/trail/checkpoints"
    let segment = try #require(
      try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".jsonl") })
    let handle = try #require(FileHandle(forWritingAtPath: folder + "/" + segment))
    handle.seekToEndOfFile()
    handle.write(Data(String(repeating: "{}\n", count: 1_500).utf8))
    handle.closeFile()
    let log = try cli.expect(4, ["log"])
    let listed = log.stderr.split(separator: "\n").filter { $0.contains("not a trail entry") }
    #expect(listed.count == 1_000, "\(listed.count)")
    #expect(
      log.stderr.contains("500 more line(s) that are not valid entries are not listed"),
      "\(log.stderr.suffix(400))")
    for args in [["audit"], ["audit", "--full"]] {
      let r = try cli.expect(4, args)
      #expect(r.stdout.split(separator: "\n").filter { $0.contains("not a trail entry") }.count <= 1_000)
      #expect(r.stdout.contains("500 more line(s)"), "\(args)")
    }
  }

  @Test(
    "attack: an admin signs a checkpoint whose heads hold a number: malformed, exit 4 in audit (it was dropped silently; found by the independent review)"
  )
  func headsNotIDs() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    _ = try checkpoint(cli)
    try cli.expect(0, ["audit"])
    let forged = try t.python([
      "Tests/Compat/forge_checkpoint.py", cli.workspace, cli.root + "/keys/identity", "heads-number",
    ])
    #expect(forged.status == 0, "\(forged.output)")
    let r = try cli.expect(4, ["audit"])
    #expect(r.stdout.contains("a head that is not an entry id"), "\(r.stdout)")
    try cli.expect(4, ["audit", "--full"])
  }

  @Test(
    "a trail of many checkpoints is proven with few file descriptors: --full under a limit of 24 open files (found by the independent review: one descriptor per segment ran out)"
  )
  func manyCheckpoints() throws {
    let (cli, _) = try t.repository()
    for _ in 0..<30 {
      try t.store(cli, "dev")
      try cli.expect(0, ["discard", "dev"])
      try cli.expect(0, ["trail", "checkpoint"])
    }
    let (status, text) = try cli.shell("ulimit -n 24 && exec \"$0\" audit --full")
    #expect(status == 0, "\(text)")
    #expect(text.contains("0 attested"), "\(text)")
  }

  // MARK: The independent review's attacks (each reproduced, then fixed)

  @Test(
    "attack: delete a checkpoint (and its index) that the newest index covers: a cut, exit 4 in audit, check and log"
  )
  func coveredCheckpointDeleted() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    let (first, firstIndex) = try checkpoint(cli)
    try t.store(cli, "staging")
    _ = try checkpoint(cli)
    try t.store(cli, "dev")
    try cli.expect(0, ["audit"])
    try FileManager.default.removeItem(atPath: first)
    try FileManager.default.removeItem(atPath: firstIndex)
    let r = try cli.expect(4, ["audit"])
    #expect(r.stdout.contains("is gone: the trail was cut"), "\(r.stdout)")
    #expect(try cli.run(["check"]).status != 0)
    try cli.expect(4, ["log"])
    // --full names the cut, and does not blame the admin who signed the newer index.
    let full = try cli.expect(4, ["audit", "--full"])
    #expect(!full.stdout.contains("signed a false index"), "\(full.stdout)")
    try cli.expect(4, ["trail", "checkpoint"])  // the cut is not compacted into a new baseline
  }

  @Test(
    "attack: a deleted index in the middle of a chain, a folder or a 300 MB file in an index's place: --full blames no admin; the others break the layout"
  )
  func indexReplaced() throws {
    let (cli, _) = try t.repository()
    try t.store(cli, "prod")
    let (_, firstIndex) = try checkpoint(cli)
    try t.store(cli, "staging")
    _ = try checkpoint(cli)
    try FileManager.default.removeItem(atPath: firstIndex)
    try cli.expect(0, ["audit", "--full"])
    #expect(try reader(cli).contains("\"intact\": true"))
    try FileManager.default.createDirectory(atPath: firstIndex, withIntermediateDirectories: false)
    try cli.expect(4, ["audit"])
    #expect(!(try reader(cli)).contains("\"intact\": true"))
    try FileManager.default.removeItem(atPath: firstIndex)
    #expect(FileManager.default.createFile(atPath: firstIndex, contents: nil))
    let h = try #require(FileHandle(forWritingAtPath: firstIndex))
    try h.truncate(atOffset: 300 << 20)  // sparse: no disk, no memory unless read
    try h.close()
    let r = try cli.expect(4, ["audit"])
    #expect(r.stdout.contains("at most 256 MiB"), "\(r.stdout)")
  }

  @Test(
    "merge: two clones each checkpoint what they hold, one also checkpoints the merge; merged again, audit --full and the Python reader agree it is intact"
  )
  func concurrentCheckpoints() throws {
    let (cli, root) = try t.repository()
    let b = cli.root
    let a = cli.root + "-a"
    try t.git(b, ["clone", "-q", b, a])
    defer { try? FileManager.default.removeItem(atPath: a) }
    let trust = ["KEYWARD_TRUST": root]
    let aws = ["--workspace", a + "/Environments"]
    func commit(_ dir: String, _ message: String) throws {
      try t.git(dir, ["add", "-A", "Environments"])
      try t.git(dir, ["commit", "-q", "-m", message])
    }
    try cli.expect(0, ["export", "staging", "-o", b + "/staging.env"])
    _ = try checkpoint(cli)
    try commit(b, "b: checkpoint")
    try cli.expect(0, ["export", "prod", "-o", b + "/prod.env"])
    try commit(b, "b: export prod")
    Thread.sleep(forTimeInterval: 1.2)  // a's entry is later than b's last
    try cli.expect(0, ["export", "dev", "-o", a + "/dev.env"] + aws, env: trust)
    try commit(a, "a: export dev")
    try t.git(b, ["pull", "-q", "--no-rebase", "--no-edit", a, "main"])
    _ = try checkpoint(cli)
    try commit(b, "b: checkpoint the merge")
    try cli.expect(0, ["trail", "checkpoint"] + aws, env: trust)
    try commit(a, "a: checkpoint")
    try t.git(b, ["pull", "-q", "--no-rebase", "--no-edit", a, "main"])
    let full = try cli.expect(0, ["audit", "--full"])
    #expect(!full.stdout.contains("false index"), "\(full.stdout)")
    try cli.expect(0, ["audit"])
    #expect(try reader(cli).contains("\"intact\": true"))
  }

  /// A trusted workspace (environments `envs`) where `env`'s first pair was replaced, promoted
  /// over and retired, then checkpointed: the CLI, the retired pair as `--stdin` reads it, and
  /// the newest index's path.
  func retiredAndCheckpointed(_ env: String, envs: String) throws -> (CLI, String, String) {
    let cli = try CLI()
    try cli.expect(0, ["identity", "new", "--name", "alice"])
    try cli.expect(0, ["init", "--envs", envs])
    let old = "ck_\(env)_OLD_01234567\ncs_\(env)_OLD_SECRET_0123456789\n"
    CLI.registerSecret("cs_\(env)_OLD_SECRET_0123456789")
    try cli.expect(0, ["set", env, "--stdin"], stdin: old)
    try cli.expect(
      0, ["rotate", env, "--stdin"], stdin: "ck_\(env)_NEW_01234567\ncs_\(env)_NEW_SECRET_0123456789\n")
    try cli.expect(0, ["promote", env, "--force"])
    try cli.expect(0, ["retire", env, "--now", "--force"])
    let (_, index) = try checkpoint(cli)
    return (cli, old, index)
  }

  @Test(
    "attack: drop the retire record from the index: a write still refuses the retired pair (every reader checks the index's digest)"
  )
  func retireDroppedFromIndex() throws {
    let (cli, old, index) = try retiredAndCheckpointed("dev", envs: "dev")
    let text = try String(contentsOfFile: index, encoding: .utf8)
    let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter {
      !$0.contains("\"action\":\"retire\"")
    }
    #expect(kept.count < text.split(separator: "\n", omittingEmptySubsequences: false).count)
    try kept.joined(separator: "\n").write(toFile: index, atomically: false, encoding: .utf8)
    let r = try cli.expect(2, ["rotate", "dev", "--stdin"], stdin: old)
    #expect(r.stderr.contains("was retired"), "\(r.stderr)")
    try cli.expect(4, ["audit"])
  }

  @Test(
    "attack (review, session 14): an admin respells the index's retire record as valid JSON keyward does not write, with a decoy environment in it: a write still finds it and refuses the retired pair"
  )
  func retireRespelledInIndex() throws {
    let (cli, old, _) = try retiredAndCheckpointed("prod", envs: "dev,prod")
    let forged = try t.python([
      "Tests/Compat/forge_checkpoint.py", cli.workspace, cli.root + "/keys/identity", "index-respaced",
    ])
    #expect(forged.status == 0, "\(forged.output)")
    let r = try cli.expect(2, ["rotate", "prod", "--stdin"], stdin: old)
    #expect(r.stderr.contains("was retired"), "\(r.stderr)")
    // Nothing false was recorded on the way: the next write to prod says nothing changed outside.
    let next = try cli.expect(
      0, ["rotate", "prod", "--stdin"], stdin: "ck_prod_THIRD_0123456\ncs_prod_THIRD_SECRET_012345678\n")
    #expect(!next.all.contains("no entry announces it"), "\(next.all)")
  }

  @Test(
    "a write reads its environment's kept lines through this machine's table of the index; a table edited to hand over another environment's lines is not used, and the retired pair is still refused"
  )
  func keptLinesTable() throws {
    let (cli, old, index) = try retiredAndCheckpointed("prod", envs: "dev,prod")
    // git's racily-clean rule: a file changed in the last two seconds (whole seconds of its change
    // time against the clock's) is not taken on a record.
    Thread.sleep(forTimeInterval: 3.2)
    let fresh = "ck_dev_FRESH_0123456\ncs_dev_FRESH_SECRET_012345678\n"
    CLI.registerSecret("cs_dev_FRESH_SECRET_012345678")
    let first = try cli.expect(0, ["rotate", "dev", "--stdin", "-v"], stdin: fresh)
    #expect(!first.stderr.contains("through this machine's table"), "\(first.stderr)")
    let store = cli.root + "/keys/trail-verified"
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: store).first { $0.hasSuffix(".kept") })
    let table = store + "/" + name
    #expect(try FileManager.default.attributesOfItem(atPath: table)[.posixPermissions] as? Int == 0o600)
    let lines = try String(contentsOfFile: table, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.first?.contains(URL(fileURLWithPath: index).lastPathComponent) == true, "\(lines)")
    let prod = try #require(lines.first { $0.hasPrefix("prod ") })
    let dev = try #require(lines.first { $0.hasPrefix("dev ") })
    // The next write reads through it, and still refuses prod's retired pair.
    let refused = try cli.expect(2, ["rotate", "prod", "--stdin", "-v"], stdin: old)
    #expect(
      refused.stderr.contains("was retired") && refused.stderr.contains("read through this machine's table"),
      "\(refused.stderr)")
    // The table edited so prod's lines are dev's (which hold no retirement): the lines read do not
    // name prod, so every line is read, and the pair is refused all the same.
    let edited = lines.map { $0 == prod ? "prod " + dev.dropFirst(4) : $0 }.joined(separator: "\n") + "\n"
    try edited.write(toFile: table, atomically: true, encoding: .utf8)
    let again = try cli.expect(2, ["rotate", "prod", "--stdin", "-v"], stdin: old)
    #expect(
      again.stderr.contains("was retired") && again.stderr.contains("does not describe it"), "\(again.stderr)"
    )
  }
}
