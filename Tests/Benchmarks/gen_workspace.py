#!/usr/bin/env python3
"""Writes a large v1 workspace for benchmarks, following Sources/KeywardCore/FORMAT.md (PyNaCl).

usage: gen_workspace.py DIR ENVIRONMENTS SETS_PER_ENV [--keys KEYS_DIR] [--pairs PAIRS.json] [--plant EXPECTED.json]
                        [--trail N]
Each environment gets an active set, then pending and retiring ones. Private keys are discarded,
or written to a key store (KEYS_DIR/<workspace_id>/<env>.key, mode 0600) with --keys; --pairs
writes the App Key / App Secret pairs for `keyward emulate --pairs`. --plant (with KEYWARD_NOW
2026-03-15T00:00:00Z) gives every set realistic dates and a valid last verification, plants one
problem of each kind `keyward check` finds offline, and writes the findings expected. --trail N
writes an audit trail of N hash-chained entries (canonical JSON: compact, keys sorted; hash =
BLAKE2b-256("keyward audit v1" || canonical JSON without "hash")).
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
    plant = "--plant" in opts
    values = {}
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
            if plant and j == 0 and name == "env0001":  # KW101: env0000's pair, exchanged
                vals = {"app_key": values["env0000"]["app_secret"], "app_secret": values["env0000"]["app_key"]}
            if plant and j == 0 and name == "env0002":  # KW202: env0000's secret
                vals["app_secret"] = values["env0000"]["app_secret"]
            if j == 0:
                values[name] = vals
            pairs.append({"app_key": vals["app_key"].decode(), "app_secret": vals["app_secret"].decode()})
            s = {"id": sid, "state": states[j % 3], "created": "2026-%02d-01T00:00:00Z" % (1 + j % 12),
                 "fingerprints": {f: h(b"keyward fp v1" + v, key=salt)[:8].hex() for f, v in vals.items()}}
            for f, v in vals.items(): s[f] = seal(v, pk, name, sid, f)
            if s["state"] == "retiring":
                s["retiring_since"], s["grace_until"] = "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"
            if plant:
                s["created"] = {"active": "2026-01-01T00:00:00Z", "pending": "2026-03-12T00:00:00Z",
                                "retiring": "2025-12-01T00:00:00Z"}[s["state"]]
                if s["state"] == "retiring":
                    s["retiring_since"], s["grace_until"] = "2026-03-10T00:00:00Z", "2026-03-17T00:00:00Z"
                s["last_verification"] = {"time": "2026-03-14T00:00:00Z", "verdict": "valid", "endpoint": "https://apiv1.captcha.la"}
                if name == "env0003" and s["state"] == "active":  # KW301
                    s["created"] = "2025-06-01T00:00:00Z"
                if name == "env0004" and s["state"] == "pending":  # KW303
                    s["created"] = "2026-01-01T00:00:00Z"
                if name == "env0005" and s["state"] == "retiring":  # KW302
                    s["grace_until"] = "2026-03-01T00:00:00Z"
                if name == "env0006" and s["state"] == "active":  # KW304
                    s["last_verification"]["verdict"] = "invalid-key"
            sets.append(s)
        doc = {"format": "keyward-environment", "version": 1, "environment": name,
               "recipient": {"public_key": b64(pk), "key_id": h(b"keyward recipient v1" + pk)[:8].hex(),
                             "created": "2026-01-01T00:00:00Z"}, "sets": sets}
        json.dump(doc, open(f"{out}/{name}.json", "w"), indent=2, sort_keys=True)
    if plant:  # KW603: a plaintext copy of env0007's secret
        with open(os.path.join(out, "notes.txt"), "w") as f:
            f.write("prod secret for the record: " + values["env0007"]["app_secret"].decode() + "\n")
        expected = [["KW101", "env0001"], ["KW202", "env0002"], ["KW301", "env0003"], ["KW303", "env0004"],
                    ["KW302", "env0005"], ["KW304", "env0006"], ["KW603", None]]
        json.dump(expected, open(opts["--plant"], "w"))
    if "--trail" in opts:
        n_entries, prev, fps = int(opts["--trail"]), "0" * 64, []
        for name in names:
            doc = json.load(open(f"{out}/{name}.json"))
            fps += [(name, st["id"], st["fingerprints"]) for st in doc["sets"]]
        with open(f"{out}/audit.jsonl", "w") as f:
            for i in range(n_entries):
                env, sid, fp = fps[i % len(fps)]
                e = {"v": 1, "seq": i + 1, "time": "2026-03-14T00:00:00Z", "actor": "bench@example.invalid",
                     "action": "export", "environment": env, "set": sid, "fingerprints": fp, "format": "dotenv",
                     "target": "stdout", "prev": prev}
                canon = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                e["hash"] = prev = hashlib.blake2b(b"keyward audit v1" + canon.encode(), digest_size=32).hexdigest()
                f.write(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
    if "--pairs" in opts:
        json.dump(pairs, open(opts["--pairs"], "w"))
    config = {"format": "keyward-workspace", "version": 1, "workspace_id": workspace_id,
              "provider": "captchala", "fingerprint_salt": b64(salt),
              "environments": {n: {"production": False} for n in names},
              "rotation": {"max_age_days": 90, "warn_age_days": 75, "grace_days": 7},
              "export": {"app_key": "CAPTCHALA_APP_KEY", "app_secret": "CAPTCHALA_APP_SECRET"}}
    json.dump(config, open(f"{out}/keyward.json", "w"), indent=2, sort_keys=True)

main()
