#!/usr/bin/env python3
"""A repository writer's root change, made by hand from Sources/KeywardCore/FORMAT.md ("Root
changes") with PyNaCl: what an attacker with write access (and whatever keys the test lends
them) can commit. The tests feed its output to keyward and assert the refusal.

usage: forge_root.py WORKSPACE --admin NAME=IDENTITY_FILE ... --sign IDENTITY_FILE ...
                     [--version N] [--previous FP] [--state-signer IDENTITY_FILE]
Writes trust/root.json = a root of version N (default: the current one's + 1) naming FP as the
root before it (default: the current root's fingerprint), with the given admins, signed by every
--sign identity; keeps the old root in trust/roots/<version>.json; and re-signs trust/state.json
for the new root (version + 1) with --state-signer (default: the first --sign identity).
"""
import argparse, base64, hashlib, json, os
from nacl.signing import SigningKey

ROOT_TYPE = "application/vnd.keyward.root+json"
STATE_TYPE = "application/vnd.keyward.state+json"


def blake2b256(msg):
    return hashlib.blake2b(msg, digest_size=32).digest()


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d " % (len(t), t, len(payload)) + payload


def identity(path):
    fields = dict(line.split(": ", 1) for line in open(path, encoding="utf-8").read().splitlines() if ": " in line)
    seed = base64.b64decode(fields["secret"][len("kwid1:"):])
    key = SigningKey(seed)
    return fields["name"], key, "ed25519:" + base64.b64encode(bytes(key.verify_key)).decode()


def envelope(payload_type, payload, signers):
    sigs = []
    for _, key, _ in signers:
        pk = bytes(key.verify_key)
        sigs.append({"keyid": blake2b256(b"keyward identity v1" + pk)[:16].hex(),
                     "sig": base64.b64encode(key.sign(pae(payload_type, payload)).signature).decode()})
    return json.dumps({"payload": base64.b64encode(payload).decode(), "payload_type": payload_type,
                       "signatures": sigs}, sort_keys=True).encode()


def compact(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workspace")
    ap.add_argument("--admin", action="append", default=[])
    ap.add_argument("--sign", action="append", default=[])
    ap.add_argument("--version", type=int)
    ap.add_argument("--previous")
    ap.add_argument("--state-signer")
    a = ap.parse_args()
    trust = os.path.join(a.workspace, "trust")
    old_bytes = open(os.path.join(trust, "root.json"), "rb").read()
    old_payload = base64.b64decode(json.loads(old_bytes)["payload"])
    old = json.loads(old_payload)
    old_fp = blake2b256(b"keyward root v1" + old_payload)[:16].hex()
    admins = []
    for spec in a.admin:
        name, path = spec.split("=", 1)
        admins.append({"key": identity(path)[2], "name": name})
    root = {"admins": admins, "previous": a.previous or old_fp, "threshold": 1, "type": "keyward-root",
            "version": a.version or old["version"] + 1, "workspace_id": old["workspace_id"]}
    payload = compact(root)
    signers = [identity(p) for p in a.sign]
    os.makedirs(os.path.join(trust, "roots"), exist_ok=True)
    with open(os.path.join(trust, "roots", "%d.json" % old["version"]), "wb") as f:
        f.write(old_bytes)
    with open(os.path.join(trust, "root.json"), "wb") as f:
        f.write(envelope(ROOT_TYPE, payload, signers))
    state_doc = json.loads(open(os.path.join(trust, "state.json"), "rb").read())
    state = json.loads(base64.b64decode(state_doc["payload"]))
    state["root"] = blake2b256(b"keyward root v1" + payload)[:16].hex()
    state["version"] += 1
    state_signer = [identity(a.state_signer)] if a.state_signer else signers[:1]
    with open(os.path.join(trust, "state.json"), "wb") as f:
        f.write(envelope(STATE_TYPE, compact(state), state_signer))
    print(state["root"])


main()
