#!/usr/bin/env python3
"""An independent verifier of keyward's version-2 audit trail (and its version-1 anchor), written
from Sources/KeywardCore/FORMAT.md ("Trust" and "The audit trail") alone, with PyNaCl for Ed25519.

usage: trail_reader.py WORKSPACE [--seen FILE]
Checks everything FORMAT.md lists under "Intact": entry file names are ids and payloads parse;
parents exist; signed entries' signatures verify (every one, including those in checkpoints);
checkpoints (an admin of trust/root.json signed them; digest, count, heads, order); each entry
counted once; each checkpoint's index ("Checkpoint index": its digest as signed, and its bytes
rebuilt from the entries it covers by trail_index.py); the v1 anchor against audit.jsonl and its hash chain; with --seen, that the heads
in a seen-heads file still exist. Then, per environment of keyward.json, the maximal announcing
records and the environment file's digest. Prints one JSON document; exits 0 when intact and no
environment is "unannounced" or "concurrent", else 4 (2 on a usage error). "signed" and "signers"
count entries whose signature verifies; a forged entry (a "signer" without one) is in neither.
"""
import base64, hashlib, json, os, re, sys
from nacl.signing import VerifyKey
import trail_index

ENTRY_TYPE = "application/vnd.keyward.trail-entry+json"
CHECKPOINT_TYPE = "application/vnd.keyward.trail-checkpoint+json"
ROOT_TYPE = "application/vnd.keyward.root+json"
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
ENV_DIGEST = re.compile(r"([0-9a-f]{32}|none)\Z")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


def b2(msg, size=32): return hashlib.blake2b(msg, digest_size=size).hexdigest()
def canonical(v): return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
def fingerprint(pk): return b2(b"keyward identity v1" + pk)[:32]
def is_int(v): return isinstance(v, int) and not isinstance(v, bool)
def need(ok, why="malformed"):  # not assert: python -O would skip the checks
    if not ok:
        raise ValueError(why)
def pae(t, body): return b"DSSEv1 %d %s %d " % (len(t.encode()), t.encode(), len(body)) + body


def key_of(ident):  # "ed25519:<base64>" -> 32 bytes, else None
    try:
        need(isinstance(ident, str) and ident.startswith("ed25519:"))
        pk = base64.b64decode(ident[8:], validate=True)
        return pk if len(pk) == 32 else None
    except Exception:
        return None


def envelope(line, want_type):  # DSSE envelope bytes -> (payload bytes, signatures); raises
    env = json.loads(line)
    if env.get("payload_type") != want_type:
        raise ValueError("payload_type is not " + want_type)
    sigs = env.get("signatures", [])
    if not isinstance(sigs, list) or not all(isinstance(s, dict) for s in sigs):
        raise ValueError("bad signatures")
    return base64.b64decode(env["payload"], validate=True), sigs


def signed_by(payload, t, sigs, pk):  # a signature with pk's keyid that verifies
    for s in sigs:
        try:
            if s.get("keyid") == fingerprint(pk):
                VerifyKey(pk).verify(pae(t, payload), base64.b64decode(s["sig"], validate=True))
                return True
        except Exception:
            pass
    return False


class Trail:
    def __init__(self, ws):
        self.ws, self.problems = ws, []
        self.entries = {}  # id -> payload (dict)
        self.held = {}  # id -> ids of the checkpoints holding it
        self.later = []  # (where, checkpoint, entry, parent) whose parent is not earlier in its segment
        self.forged = set()
        self.checkpoints = 0
        self.indexes = {}  # checkpoint id -> digest its header signs
        self.generations = {}  # checkpoint id -> generation its header signs (1 when absent)

    def problem(self, text): self.problems.append(text)

    def entry(self, line, where):  # parse and check one entry envelope; returns its id or None
        try:
            payload, sigs = envelope(line, ENTRY_TYPE)
            p = json.loads(payload)
            eid = b2(b"keyward trail v2" + payload)
            need(isinstance(p, dict), "payload is not an object")
            need(p.get("type") == "keyward-trail-entry" and p.get("v") == 2 and is_int(p["v"]), "type/v")
            ps = p.get("parents")
            need(isinstance(ps, list) and all(isinstance(x, str) and HEX64.match(x) for x in ps), "parents")
            need(ps == sorted(set(ps)), "parents not sorted and distinct")
            need(isinstance(p.get("time"), str) and TIME.match(p["time"]), "time")
            a = p.get("actor")
            need(isinstance(a, str) and len(a) <= 200 and "\n" not in a and "\r" not in a, "actor")
            need(isinstance(p.get("command"), str), "command")
            need(isinstance(p.get("records"), list), "records")
            for r in p["records"]:
                need(isinstance(r, dict) and isinstance(r.get("action"), str)
                     and isinstance(r.get("environment"), str), "record without action/environment")
                for k in ("env_before", "env_after"):
                    need(k not in r or (isinstance(r[k], str) and ENV_DIGEST.match(r[k])), k)
            if "v1" in p:
                v1 = p["v1"]
                need(isinstance(v1, dict) and is_int(v1.get("entries")) and isinstance(v1.get("head"), str)
                     and HEX64.match(v1["head"]), "v1")
                need(not ps, "v1 anchor on an entry with parents")
            if "signer" in p:
                pk = key_of(p["signer"])
                need(pk is not None, "signer is not an ed25519 key")
                if not signed_by(payload, ENTRY_TYPE, sigs, pk):
                    self.problem(f"{where}: forged: signer {fingerprint(pk)} did not sign entry {eid}")
                    self.forged.add(eid)
        except Exception as e:
            self.problem(f"{where}: entry does not parse: {e!r}")
            return None
        self.entries.setdefault(eid, p)
        return eid

    def read_files(self):
        d = os.path.join(self.ws, "trail", "entries")
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            data = open(os.path.join(d, name), "rb").read()
            if not data.endswith(b"\n") or data.count(b"\n") != 1:
                self.problem(f"entries/{name}: not one line ending in a newline")
            eid = self.entry(data.rstrip(b"\n"), "entries/" + name)
            if eid is not None and name != eid + ".json":
                self.problem(f"entries/{name}: file name is not its id {eid}")

    def read_checkpoints(self, admins):
        d = os.path.join(self.ws, "trail", "checkpoints")
        names = sorted(os.listdir(d)) if os.path.isdir(d) else []
        for name in names:
            if name.endswith(".index"):
                if name[:-6] + ".jsonl" not in names:
                    self.problem(f"checkpoints/{name}: the index of no checkpoint")
                continue
            self.checkpoints += 1
            where = "checkpoints/" + name
            data = open(os.path.join(d, name), "rb").read()
            if not data.endswith(b"\n"):
                self.problem(f"{where}: does not end in a newline")
            lines = data.rstrip(b"\n").split(b"\n") if data.strip() else [b""]
            try:
                payload, sigs = envelope(lines[0], CHECKPOINT_TYPE)
                p = json.loads(payload)
                need(isinstance(p, dict) and p.get("type") == "keyward-trail-checkpoint" and p.get("v") == 2)
                for k, ok in (("actor", isinstance(p.get("actor"), str)), ("time", TIME.match(str(p.get("time")))),
                              ("digest", HEX64.match(str(p.get("digest")))), ("entries", is_int(p.get("entries"))),
                              ("heads", isinstance(p.get("heads"), list))):
                    need(ok, "checkpoint member " + k)
            except Exception as e:
                self.problem(f"{where}: header does not parse: {e!r}")
                continue
            cid = b2(b"keyward trail v2" + payload)
            if "index" in p:
                need(isinstance(p["index"], str) and HEX64.match(p["index"]), "checkpoint member index")
                self.indexes[cid] = p["index"]
            g = p.get("generation", 1)
            need(is_int(g) and g >= 1, "checkpoint member generation")
            self.generations[cid] = g
            if name != cid + ".jsonl":
                self.problem(f"{where}: file name is not its id {cid}")
            pk = key_of(p.get("signer"))
            if pk is None or pk not in admins:
                self.problem(f"{where}: signer is not an admin of the root")
            elif not signed_by(payload, CHECKPOINT_TYPE, sigs, pk):
                self.problem(f"{where}: checkpoint signature does not verify")
            body = lines[1:]
            if p["entries"] != len(body):
                self.problem(f"{where}: claims {p['entries']} entries, holds {len(body)}")
            if p["digest"] != b2(b"keyward checkpoint v2" + b"".join(l + b"\n" for l in body)):
                self.problem(f"{where}: digest does not match its entries")
            seen, named = set(), set()
            for i, line in enumerate(body):
                eid = self.entry(line, f"{where} line {i + 2}")
                if eid is None:
                    continue
                for parent in self.entries[eid]["parents"]:
                    named.add(parent)
                    if parent not in seen:
                        self.later.append((where, cid, eid, parent))  # must be in another checkpoint
                seen.add(eid)
                self.held.setdefault(eid, set()).add(cid)
            if sorted(seen - named) != p["heads"]:
                self.problem(f"{where}: heads do not match the segment")

    def check_indexes(self):
        d = os.path.join(self.ws, "trail", "checkpoints")
        files, covers = {}, {}
        for cid in self.indexes:
            path = os.path.join(d, cid + ".index")
            if os.path.islink(path) or (os.path.exists(path) and not os.path.isfile(path)):
                self.problem(f"checkpoints/{cid}.index: not a regular file")
            elif os.path.exists(path):  # an index deleted only costs readers time
                data = open(path, "rb").read()
                if trail_index.digest(data) != self.indexes[cid]:
                    self.problem(f"checkpoints/{cid}.index: not the index its checkpoint signed")
                    continue
                files[cid] = data
                covers[cid] = json.loads(data.split(b"\n")[0])["covers"]
        generation = lambda c: self.generations.get(c, 1)
        for cid, data in files.items():
            missing = [c for c in covers[cid] if c not in self.generations]
            if missing:
                self.problem(f"checkpoints/{cid}.index covers {missing}, which are gone: the trail was cut")
                continue
            within = set(covers[cid]) | {cid}
            covered = {i: self.entries[i] for i, held in self.held.items() if held & within}
            rank = {i: min(generation(c) for c in self.held[i] & within) for i in covered}
            if trail_index.build(covered, rank, covers[cid]) != data:
                self.problem(f"checkpoints/{cid}.index: does not match the entries it covers")

    def check_v1(self):
        path, anchors = os.path.join(self.ws, "audit.jsonl"), [e["v1"] for e in self.entries.values() if "v1" in e]
        if not os.path.exists(path):
            for a in anchors:
                self.problem("a v1 anchor names audit.jsonl, which is absent")
            return
        prev, count = "0" * 64, 0
        for n, raw in enumerate(open(path, "rb").read().splitlines(), 1):
            try:
                line = json.loads(raw)
                h = line.pop("hash")
                need(line.get("seq") == n and line.get("v") == 1 and line.get("prev") == prev, "seq/v/prev")
                need(h == b2(b"keyward audit v1" + canonical(line).encode()), "hash")
            except Exception as e:
                self.problem(f"audit.jsonl line {n}: chain broken: {e!r}")
                return
            prev, count = h, n
        if self.entries and not anchors:
            self.problem("audit.jsonl exists but no first entry anchors it")
        for a in anchors:
            if a != {"entries": count, "head": prev}:
                self.problem(f"v1 anchor {a} does not match audit.jsonl ({count} lines, last hash {prev})")

    def environments(self, names):
        parents = {i: [x for x in e["parents"] if x in self.entries] for i, e in self.entries.items()}
        result = {}
        for env in names:
            recs = {}  # entry id -> its last record announcing env
            for i, e in self.entries.items():
                for r in e["records"]:
                    if r["environment"] == env and "env_after" in r:
                        recs[i] = r
            covered, visited = set(), set()
            for y in recs:  # mark every announcing entry that another one follows
                stack = list(parents[y])
                while stack:
                    x = stack.pop()
                    if x in visited:
                        continue
                    visited.add(x)
                    if x in recs:
                        covered.add(x)
                    else:
                        stack.extend(parents[x])
            maximal = [recs[i] for i in recs if i not in covered]
            path = os.path.join(self.ws, env + ".json")
            digest = b2(b"keyward env v1" + open(path, "rb").read(), 16) if os.path.exists(path) else "none"
            result[env] = ("unrecorded" if not maximal else "concurrent" if len(maximal) > 1
                           else "announced" if maximal[0]["env_after"] == digest else "unannounced")
        return result


def root_admins(ws, t):
    path = os.path.join(ws, "trust", "root.json")
    if not os.path.exists(path):
        return set()
    try:
        payload, sigs = envelope(open(path, "rb").read(), ROOT_TYPE)
        root = json.loads(payload)
        admins = {key_of(a["key"]) for a in root["admins"]} - {None}
        valid = sum(1 for pk in admins if signed_by(payload, ROOT_TYPE, sigs, pk))
        need(root.get("type") == "keyward-root" and is_int(root["threshold"]) and 1 <= root["threshold"] <= valid)
        return admins
    except Exception as e:
        t.problem(f"trust/root.json is not a valid root: {e!r}")
        return set()


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--seen"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    ws = argv[1]
    t = Trail(ws)
    t.read_checkpoints(root_admins(ws, t))
    if t.checkpoints and not os.path.exists(os.path.join(ws, "trust", "root.json")):
        t.problem("checkpoints exist but trust/root.json does not")
    for where, cid, eid, parent in t.later:
        if not t.held.get(parent, set()) - {cid}:
            t.problem(f"{where}: entry {eid} names {parent}, in no checkpoint before it")
    t.check_indexes()
    t.read_files()
    for eid, e in t.entries.items():
        for parent in e["parents"]:
            if parent not in t.entries:
                t.problem(f"entry {eid} names a missing parent {parent}")
    t.check_v1()
    if len(argv) == 4:
        # The machine-local file keeps heads per git branch; every branch's must still exist here
        # when the reader is pointed at the branch they were seen on (the caller's business).
        doc = json.load(open(argv[3]))
        recorded = doc.get("heads") or [h for hs in doc.get("branches", {}).values() for h in hs]
        for h in recorded:
            if h not in t.entries:
                t.problem(f"recorded head {h} is no longer in the trail (the trail was cut)")
    names = sorted(json.load(open(os.path.join(ws, "keyward.json"), "rb"))["environments"])
    envs = t.environments(names)
    named = {p for e in t.entries.values() for p in e["parents"]}
    signers = {}
    for eid, e in t.entries.items():
        if "signer" in e and eid not in t.forged:
            fp = fingerprint(key_of(e["signer"]))
            signers[fp] = signers.get(fp, 0) + 1
    out = {"intact": not t.problems, "entries": len(t.entries), "signed": sum(signers.values()),
           "unsigned": sum(1 for e in t.entries.values() if "signer" not in e), "heads": sorted(set(t.entries) - named),
           "checkpoints": t.checkpoints, "problems": t.problems, "environments": envs, "signers": signers}
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0 if out["intact"] and not {"unannounced", "concurrent"} & set(envs.values()) else 4


if __name__ == "__main__":
    sys.exit(main(sys.argv))
