#!/usr/bin/env python3
"""Adds a trust root to a workspace written by gen_workspace.py, following Sources/KeywardCore/
FORMAT.md ("Trust") alone, with PyNaCl: a second, independent writer of the trust files.

usage: gen_trust.py WORKSPACE KEYS_DIR MEMBERS
Makes an admin (alice) and MEMBERS member identities per environment (a fifth of them readers),
signs the root and a state covering keyward.json's exact bytes, every recipient key, the members
and their wraps (each environment's key sealed to each member), and an activation manifest for
each active set. Prints the root fingerprint.
"""
import base64, hashlib, json, os, sys
from nacl import bindings as nb
from nacl.signing import SigningKey

b64 = lambda b: base64.b64encode(b).decode()
def h(msg): return hashlib.blake2b(msg, digest_size=32).digest()
def compact(v): return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
def ident(pk): return "ed25519:" + b64(pk)
def fingerprint(pk): return h(b"keyward identity v1" + pk)[:16].hex()
def pae(t, body): return b"DSSEv1 %d %s %d " % (len(t.encode()), t.encode(), len(body)) + body

def envelope(t, payload, signer):
    sig = signer.sign(pae(t, payload)).signature
    return {"payload": b64(payload), "payload_type": t,
            "signatures": [{"keyid": fingerprint(bytes(signer.verify_key)), "sig": b64(sig)}]}

def main():
    ws, keys, members_per_env = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config_bytes = open(os.path.join(ws, "keyward.json"), "rb").read()
    config = json.loads(config_bytes)
    alice = SigningKey.generate()
    if sys.argv[4:5] == ["--admin-seed"]:  # alice's 32-byte Ed25519 seed, hex, for gen_trail.py
        fd = os.open(sys.argv[5], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        os.write(fd, (bytes(alice).hex() + "\n").encode())
        os.close(fd)
    alice_pk = bytes(alice.verify_key)
    root_payload = compact({"admins": [{"key": ident(alice_pk), "name": "alice"}], "threshold": 1,
                            "type": "keyward-root", "version": 1, "workspace_id": config["workspace_id"]})
    root_fp = h(b"keyward root v1" + root_payload)[:16].hex()
    pool = [SigningKey.generate() for _ in range(members_per_env)]
    envs = {}
    os.makedirs(os.path.join(ws, "trust", "wraps"), exist_ok=True)
    os.makedirs(os.path.join(ws, "trust", "active"), exist_ok=True)
    for name in sorted(config["environments"]):
        data = json.load(open(os.path.join(ws, name + ".json")))
        recipient = base64.b64decode(data["recipient"]["public_key"])
        key_text = open(os.path.join(keys, config["workspace_id"], name + ".key")).read()
        secret = base64.b64decode([l.split("kwsk1:")[1].strip() for l in key_text.splitlines() if "kwsk1:" in l][0])
        members, wraps, digests = [], {}, {}
        for i, m in enumerate(pool):
            pk = bytes(m.verify_key)
            role = "reader" if i % 5 == 0 else "member"
            members.append({"key": ident(pk), "name": f"m{i:02d}", "role": role})
            plain = b"keyward wrap v1" + bytes([len(name.encode())]) + name.encode() + recipient + pk + secret
            sealed = nb.crypto_box_seal(plain, nb.crypto_sign_ed25519_pk_to_curve25519(pk))
            wraps[fingerprint(pk)] = b64(sealed)
            digests[fingerprint(pk)] = h(b"keyward wrap digest v1" + sealed).hex()
        members.sort(key=lambda m: m["name"])
        envs[name] = {"recipient": data["recipient"]["public_key"], "members": members, "wraps": digests,
                      "revoked": []}
        json.dump({"environment": name, "format": "keyward-wraps", "wraps": wraps},
                  open(os.path.join(ws, "trust", "wraps", name + ".json"), "w"))
        for s in data["sets"]:
            if s["state"] != "active":
                continue
            digest = h(b"keyward set v1" + compact({"created": s["created"], "environment": name,
                                                    "fingerprints": s["fingerprints"], "id": s["id"]})).hex()
            manifest = compact({"activated_by": "alice", "environment": name, "set": s["id"], "set_digest": digest,
                                "type": "keyward-activation", "version": 1})
            json.dump(envelope("application/vnd.keyward.activation+json", manifest, alice),
                      open(os.path.join(ws, "trust", "active", name + ".json"), "w"))
    state = compact({"config": b64(config_bytes), "environments": envs, "root": root_fp,
                     "type": "keyward-state", "version": 1})
    json.dump(envelope("application/vnd.keyward.root+json", root_payload, alice),
              open(os.path.join(ws, "trust", "root.json"), "w"))
    json.dump(envelope("application/vnd.keyward.state+json", state, alice),
              open(os.path.join(ws, "trust", "state.json"), "w"))
    print(root_fp)

main()
