#!/usr/bin/env python3
"""Writes a version-2 audit trail into a workspace, following Sources/KeywardCore/FORMAT.md ("The
audit trail") alone, with PyNaCl: a second, independent writer of trail/.

usage: gen_trail.py WORKSPACE ADMIN_SEED_FILE N CHECKPOINTED
Writes N entries signed by the admin whose 32-byte Ed25519 seed (hex) is in ADMIN_SEED_FILE (see
gen_trust.py --admin-seed), actor "alice", as a linear chain (each entry's parents: the previous
one), one second apart from 2026-01-01T00:00:00Z. The first entry records every environment file as it
is (an "init" record each, with env_after its digest), so audit finds every file announced; then
commands cycle over verify, export and set, and records over the environments of keyward.json,
with no env digests. The first CHECKPOINTED entries go into one checkpoint signed by
the admin (trail/checkpoints/<id>.jsonl) with its index (<id>.index, by Tests/Compat/trail_index.py),
the rest into trail/entries/<id>.json;
trail/heads/<last id> marks the head. If audit.jsonl exists, the first entry anchors it ("v1").
Refuses a workspace that already has trail/.
"""
import base64, datetime, hashlib, json, os, sys
from nacl.signing import SigningKey

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Compat"))
import trail_index  # FORMAT.md's "Checkpoint index", written from that text alone

ENTRY_TYPE = "application/vnd.keyward.trail-entry+json"
CHECKPOINT_TYPE = "application/vnd.keyward.trail-checkpoint+json"
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

b64 = lambda b: base64.b64encode(b).decode()
def b2(msg): return hashlib.blake2b(msg, digest_size=32).hexdigest()
def compact(v): return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
def pae(t, body): return b"DSSEv1 %d %s %d " % (len(t.encode()), t.encode(), len(body)) + body
def when(i): return (START + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope_line(t, payload, key, keyid):  # one line of compact JSON, without its "\n"
    sig = key.sign(pae(t, payload)).signature
    return compact({"payload": b64(payload), "payload_type": t, "signatures": [{"keyid": keyid, "sig": b64(sig)}]})


def v1_anchor(ws):
    path = os.path.join(ws, "audit.jsonl")
    if not os.path.exists(path):
        return None
    lines = [l for l in open(path, "rb").read().splitlines() if l.strip()]
    return {"entries": len(lines), "head": json.loads(lines[-1])["hash"] if lines else "0" * 64}


def records_for(ws, config, names):  # per environment: one record of each kind, no env digests
    out = {}
    for name in names:
        doc = json.load(open(os.path.join(ws, name + ".json")))
        sets = doc.get("sets", [])
        active = next((s for s in sets if s.get("state") == "active"), sets[0] if sets else None)
        pending = next((s for s in sets if s.get("state") == "pending"), active)
        base = {"environment": name}
        if active:
            base.update({"set": active["id"], "fingerprints": active["fingerprints"]})
        endpoint = config["environments"][name].get("endpoint") or "https://apiv1.captcha.la"
        set_rec = {"environment": name, "action": "set", "key_id": doc["recipient"]["key_id"]}
        if pending:
            set_rec.update({"set": pending["id"], "fingerprints": pending["fingerprints"]})
        out[name] = [("verify", dict(base, action="verify", verdict="valid", target=endpoint)),
                     ("export", dict(base, action="export", format="dotenv", target=f"deploy/{name}.env")),
                     ("set", set_rec)]
    return out


def write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    ws, seed_file, n, checkpointed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if not 0 <= checkpointed <= n:
        sys.exit("CHECKPOINTED must be between 0 and N")
    trail = os.path.join(ws, "trail")
    if os.path.exists(trail):
        sys.exit(f"{trail} already exists")
    admin = SigningKey(bytes.fromhex(open(seed_file).read().strip()))
    pk = bytes(admin.verify_key)
    signer, keyid = "ed25519:" + b64(pk), b2(b"keyward identity v1" + pk)[:32]
    config = json.load(open(os.path.join(ws, "keyward.json"), "rb"))
    names = sorted(config["environments"])
    kinds = records_for(ws, config, names)
    anchor = v1_anchor(ws)

    ids, lines, payloads, prev = [], [], [], None
    for i in range(n):
        command, record = kinds[names[i % len(names)]][(i // len(names)) % 3]
        records = [record]
        if i == 0:
            command, records = "init", [
                {"action": "init", "environment": name, "env_before": "none",
                 "env_after": hashlib.blake2b(b"keyward env v1" + open(os.path.join(ws, name + ".json"), "rb").read(),
                                              digest_size=16).hexdigest()} for name in names]
        p = {"actor": "alice", "command": command, "parents": [prev] if prev else [], "records": records,
             "signer": signer, "time": when(i), "type": "keyward-trail-entry", "v": 2}
        if i == 0 and anchor is not None:
            p["v1"] = anchor
        payload = compact(p)
        prev = b2(b"keyward trail v2" + payload)
        ids.append(prev)
        if i < checkpointed:
            payloads.append(p)
        lines.append(envelope_line(ENTRY_TYPE, payload, admin, keyid))

    for d in ("entries", "heads", "checkpoints"):
        os.makedirs(os.path.join(trail, d))
    if checkpointed:
        body = b"".join(l + b"\n" for l in lines[:checkpointed])
        covered = dict(zip(ids[:checkpointed], payloads))
        index = trail_index.build(covered, {i: 1 for i in covered}, [])
        header = compact({"actor": "alice", "digest": b2(b"keyward checkpoint v2" + body), "entries": checkpointed,
                          "generation": 1, "heads": [ids[checkpointed - 1]], "index": trail_index.digest(index),
                          "signer": signer,
                          "time": when(n), "type": "keyward-trail-checkpoint", "v": 2})
        cid = b2(b"keyward trail v2" + header)
        write(os.path.join(trail, "checkpoints", cid + ".jsonl"),
              envelope_line(CHECKPOINT_TYPE, header, admin, keyid) + b"\n" + body)
        write(os.path.join(trail, "checkpoints", cid + ".index"), index)
    for eid, line in zip(ids[checkpointed:], lines[checkpointed:]):
        write(os.path.join(trail, "entries", eid + ".json"), line + b"\n")
    if ids:
        write(os.path.join(trail, "heads", ids[-1]), (ids[-1] + "\n").encode())
    print(ids[-1] if ids else "")


main()
