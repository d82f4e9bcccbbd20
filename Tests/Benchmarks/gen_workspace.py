#!/usr/bin/env python3
"""Writes a large v1 workspace for benchmarks, following Sources/KeywardCore/FORMAT.md (PyNaCl).

usage: gen_workspace.py DIR ENVIRONMENTS SETS_PER_ENV [--keys KEYS_DIR] [--pairs PAIRS.json]
Each environment gets an active set, then pending and retiring ones. Private keys are discarded,
or written to a key store (KEYS_DIR/<workspace_id>/<env>.key, mode 0600) with --keys; --pairs
writes the App Key / App Secret pairs for `keyward emulate --pairs`.
Real ciphertexts, so every file passes keyward's validation; a second writer of the format.
"""
import base64, hashlib, json, os, sys
from nacl import bindings as nb

b64 = lambda b: base64.b64encode(b).decode()
def h(msg, key=b""): return hashlib.blake2b(msg, digest_size=32, key=key).digest()

def seal(value, pk, env, set_id, field):
    epk, esk = nb.crypto_box_keypair()
    k = h(b"keyward kw1 key" + epk + pk, key=nb.crypto_scalarmult(esk, pk))
    nonce = os.urandom(24)
    ad = b"kw1\x00" + env.encode() + b"\x00" + set_id.encode() + b"\x00" + field.encode()
    ct = nb.crypto_aead_xchacha20poly1305_ietf_encrypt(value, ad, nonce, k)
    return "kw1:" + b64(h(b"keyward recipient v1" + pk)[:8] + epk + nonce + ct)

def main():
    out, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    os.makedirs(out, exist_ok=True)
    salt = os.urandom(32)
    workspace_id = os.urandom(8).hex()
    pairs = []
    names = [f"env{i:04d}" for i in range(n)]
    states = ["active", "pending", "retiring"]
    for name in names:
        pk, sk = nb.crypto_box_keypair()
        if "--keys" in opts:
            d = os.path.join(opts["--keys"], workspace_id)
            os.makedirs(d, mode=0o700, exist_ok=True)
            path = os.path.join(d, name + ".key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, (f"keyward-key: 1\nenvironment: {name}\nworkspace: {workspace_id}\n"
                          f"public-key: {b64(pk)}\nsecret-key: kwsk1:{b64(sk)}\n").encode())
            os.close(fd)
        sets = []
        for j in range(per):
            sid = os.urandom(4).hex()
            vals = {"app_key": f"ck_{name}_{j}".encode(), "app_secret": os.urandom(20).hex().encode()}
            pairs.append({"app_key": vals["app_key"].decode(), "app_secret": vals["app_secret"].decode()})
            s = {"id": sid, "state": states[j % 3], "created": "2026-%02d-01T00:00:00Z" % (1 + j % 12),
                 "fingerprints": {f: h(b"keyward fp v1" + v, key=salt)[:8].hex() for f, v in vals.items()}}
            for f, v in vals.items(): s[f] = seal(v, pk, name, sid, f)
            if s["state"] == "retiring":
                s["retiring_since"], s["grace_until"] = "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"
            sets.append(s)
        doc = {"format": "keyward-environment", "version": 1, "environment": name,
               "recipient": {"public_key": b64(pk), "key_id": h(b"keyward recipient v1" + pk)[:8].hex(),
                             "created": "2026-01-01T00:00:00Z"}, "sets": sets}
        json.dump(doc, open(f"{out}/{name}.json", "w"), indent=2, sort_keys=True)
    if "--pairs" in opts:
        json.dump(pairs, open(opts["--pairs"], "w"))
    config = {"format": "keyward-workspace", "version": 1, "workspace_id": workspace_id,
              "provider": "captchala", "fingerprint_salt": b64(salt),
              "environments": {n: {"production": False} for n in names},
              "rotation": {"max_age_days": 90, "warn_age_days": 75, "grace_days": 7},
              "export": {"app_key": "CAPTCHALA_APP_KEY", "app_secret": "CAPTCHALA_APP_SECRET"}}
    json.dump(config, open(f"{out}/keyward.json", "w"), indent=2, sort_keys=True)

main()
