#!/usr/bin/env python3
"""An independent verifier of keyward's trust files, written from Sources/KeywardCore/FORMAT.md
("Trust") alone, with PyNaCl for Ed25519.

usage: trust_reader.py WORKSPACE ROOT_FINGERPRINT
Verifies trust/root.json (self-signed by its admins), trust/state.json (signed by the root's
admins, for this root), that keyward.json's bytes are the signed ones and that every environment
file's recipient key is the signed one. Prints {"root": ..., "version": N, "admins": [...],
"recipients": {...}} as JSON and exits 0; exits 1 with a reason on any failure.
"""
import base64, hashlib, json, os, sys
from nacl.signing import VerifyKey
from nacl.exceptions import BadSignatureError


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def blake2b256(msg):
    return hashlib.blake2b(msg, digest_size=32).digest()


def identity_fingerprint(pk):
    return blake2b256(b"keyward identity v1" + pk)[:16].hex()


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d " % (len(t), t, len(payload)) + payload


def parse_identity(text):
    if text.startswith("ed25519:"):
        return base64.b64decode(text[len("ed25519:"):], validate=True)
    fail("unknown identity form: " + text)


def envelope(path, payload_type):
    doc = json.load(open(path, encoding="utf-8"))
    if doc["payload_type"] != payload_type:
        fail(f"{path}: payload_type {doc['payload_type']}")
    return base64.b64decode(doc["payload"], validate=True), doc["signatures"]


def valid_signers(payload_type, payload, signatures, admins):
    good = []
    for name, key in admins:
        fp = identity_fingerprint(key)
        for s in signatures:
            if s["keyid"] != fp:
                continue
            try:
                VerifyKey(key).verify(pae(payload_type, payload), base64.b64decode(s["sig"]))
                good.append(name)
                break
            except BadSignatureError:
                pass
    return good


def main():
    ws, pinned = sys.argv[1], sys.argv[2]
    root_type = "application/vnd.keyward.root+json"
    state_type = "application/vnd.keyward.state+json"
    root_payload, root_sigs = envelope(os.path.join(ws, "trust", "root.json"), root_type)
    fp = blake2b256(b"keyward root v1" + root_payload)[:16].hex()
    if fp != pinned:
        fail(f"root fingerprint {fp} is not the pinned {pinned}")
    root = json.loads(root_payload)
    if root["type"] != "keyward-root" or root["version"] != 1:
        fail("not a first root")
    admins = [(a["name"], parse_identity(a["key"])) for a in root["admins"]]
    if len(valid_signers(root_type, root_payload, root_sigs, admins)) < root["threshold"]:
        fail("root: not enough admin signatures")
    state_payload, state_sigs = envelope(os.path.join(ws, "trust", "state.json"), state_type)
    signers = valid_signers(state_type, state_payload, state_sigs, admins)
    if len(signers) < root["threshold"]:
        fail("state: not enough admin signatures")
    state = json.loads(state_payload)
    if state["type"] != "keyward-state" or state["root"] != fp:
        fail("state: not a state of this root")
    config = open(os.path.join(ws, "keyward.json"), "rb").read()
    if base64.b64decode(state["config"]) != config:
        fail("keyward.json is not the signed bytes")
    recipients = {}
    for name, env in state["environments"].items():
        f = json.load(open(os.path.join(ws, name + ".json"), encoding="utf-8"))
        if f["recipient"]["public_key"] != env["recipient"]:
            fail(f"{name}.json: recipient key is not the signed one")
        recipients[name] = env["recipient"]
    print(json.dumps({"root": fp, "version": state["version"], "admins": [n for n, _ in admins],
                      "signed_by": signers, "recipients": recipients}, sort_keys=True))


main()
