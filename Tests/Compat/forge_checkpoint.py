#!/usr/bin/env python3
"""An admin's false checkpoint, made by hand from Sources/KeywardCore/FORMAT.md ("Checkpoint",
"Checkpoint index") with PyNaCl: what a compromised or careless admin key can sign. The segment
and index stay exactly as the header states, so an audit that trusts the admin's signature sees
nothing; `audit --full` must prove them false. The tests feed its output to keyward.

usage: forge_checkpoint.py WORKSPACE ADMIN_IDENTITY_FILE MODE
Takes the workspace's only checkpoint and re-signs it with the admin after MODE:
  index   drops the retire record from its index (the header names the new index's digest)
  entry   replaces the signature of the segment's first entry line with 64 other bytes
  heads   names the segment's first entry as its only head
  heads-number   adds the number 7 to the heads it names
  entry-padded   as entry, and the header line padded with 5 MiB of blanks (outside the payload)
  ids-swapped    swaps the first and the last id of its index's sorted ids (the index is then not
                 sorted: a reader's search misses entries the segment holds)
  ids-bad-base64 puts a '!' in the middle of its index's ids line (no longer base64)
  index-heads-below names as its index's heads the first parent of the segment's head (covered,
                 and followed by it: heads that are not the covered entries nothing covered follows)
  index-respaced respells its retire record's line as valid JSON keyward does not write: a space
                 after the record's "environment" colon, and a decoy {"environment":"dev"} in it
The checkpoint's files are renamed to the new header's id; prints that id.
"""
import base64, hashlib, json, os, sys
from nacl.signing import SigningKey

CHECKPOINT_TYPE = "application/vnd.keyward.trail-checkpoint+json"

b64 = lambda b: base64.b64encode(b).decode()
def b2(msg): return hashlib.blake2b(msg, digest_size=32).hexdigest()
def compact(v): return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
def pae(t, body): return b"DSSEv1 %d %s %d " % (len(t.encode()), t.encode(), len(body)) + body


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("index", "entry", "heads", "entry-padded", "heads-number",
                                                       "ids-swapped", "ids-bad-base64", "index-respaced",
                                                       "index-heads-below"):
        sys.exit(__doc__.split("\n\n")[1])
    ws, identity, mode = sys.argv[1:]
    fields = dict(l.split(": ", 1) for l in open(identity, encoding="utf-8").read().splitlines() if ": " in l)
    admin = SigningKey(base64.b64decode(fields["secret"][len("kwid1:"):]))
    pk = bytes(admin.verify_key)
    keyid = b2(b"keyward identity v1" + pk)[:32]
    folder = os.path.join(ws, "trail", "checkpoints")
    [segment] = [n for n in os.listdir(folder) if n.endswith(".jsonl")]
    old = segment[:64]
    lines = open(os.path.join(folder, segment), "rb").read().split(b"\n")[:-1]
    header = json.loads(base64.b64decode(json.loads(lines[0])["payload"]))
    body = lines[1:]
    index_path = os.path.join(folder, old + ".index")
    index = open(index_path, "rb").read() if os.path.exists(index_path) else None
    if mode == "index":
        kept = index.split(b"\n")[:-1]
        retire = [k for k in kept[2:] if b'"action":"retire"' in k]
        if not retire:
            sys.exit("the index keeps no retire record")
        index = b"".join(k + b"\n" for k in kept if k != retire[0])
        header["index"] = b2(b"keyward trail index v1" + index)
    elif mode == "index-respaced":
        kept = index.split(b"\n")[:-1]
        at = [n for n, k in enumerate(kept) if n >= 2 and b'"action":"retire"' in k]
        if not at:
            sys.exit("the index keeps no retire record")
        line = json.loads(kept[at[0]])
        env = line["record"]["environment"]
        kept[at[0]] = kept[at[0]].replace(
            b'"environment":"%s"' % env.encode(), b'"environment": "%s","zz":{"environment":"dev"}' % env.encode())
        index = b"".join(k + b"\n" for k in kept)
        header["index"] = b2(b"keyward trail index v1" + index)
    elif mode == "index-heads-below":
        kept = index.split(b"\n")[:-1]
        payloads = [base64.b64decode(json.loads(l)["payload"]) for l in body]
        by_id = {b2(b"keyward trail v2" + p): json.loads(p) for p in payloads}
        [head] = header["heads"]
        below = sorted(by_id[head]["parents"])[:1]
        if not below:
            sys.exit("the segment's head follows nothing")
        first = json.loads(kept[0])
        first["heads"] = below
        kept[0] = compact(first)
        for n in range(2, len(kept)):
            line = json.loads(kept[n])
            if "below" in line:
                line["below"] = [0]
                kept[n] = compact(line)
        index = b"".join(k + b"\n" for k in kept)
        header["index"] = b2(b"keyward trail index v1" + index)
    elif mode == "ids-swapped":
        kept = index.split(b"\n")[:-1]
        ids = bytearray(base64.b64decode(kept[1]))
        if len(ids) < 64:
            sys.exit("the index lists fewer than two ids")
        ids[:32], ids[-32:] = ids[-32:], ids[:32]
        kept[1] = base64.b64encode(bytes(ids))
        index = b"".join(k + b"\n" for k in kept)
        header["index"] = b2(b"keyward trail index v1" + index)
    elif mode == "ids-bad-base64":
        kept = index.split(b"\n")[:-1]
        line = bytearray(kept[1])
        line[len(line) // 2] = ord("!")
        kept[1] = bytes(line)
        index = b"".join(k + b"\n" for k in kept)
        header["index"] = b2(b"keyward trail index v1" + index)
    elif mode in ("entry", "entry-padded"):
        envelope = json.loads(body[0])
        envelope["signatures"][0]["sig"] = b64(bytes(64))
        body[0] = compact(envelope)
        header["digest"] = b2(b"keyward checkpoint v2" + b"".join(l + b"\n" for l in body))
    elif mode == "heads-number":
        header["heads"] = header["heads"] + [7]
    else:
        payload = base64.b64decode(json.loads(body[0])["payload"])
        header["heads"] = [b2(b"keyward trail v2" + payload)]
    payload = compact(header)
    new = b2(b"keyward trail v2" + payload)
    line = compact({"payload": b64(payload), "payload_type": CHECKPOINT_TYPE,
                    "signatures": [{"keyid": keyid, "sig": b64(admin.sign(pae(CHECKPOINT_TYPE, payload)).signature)}]})
    if mode == "entry-padded":  # 5 MiB of blanks inside the header's JSON, outside what is signed
        line = line[:-1] + b" " * (5 << 20) + line[-1:]
    os.remove(os.path.join(folder, segment))
    open(os.path.join(folder, new + ".jsonl"), "wb").write(b"".join(l + b"\n" for l in [line] + body))
    if index is not None:
        os.remove(index_path)
        open(os.path.join(folder, new + ".index"), "wb").write(index)
    print(new)


main()
