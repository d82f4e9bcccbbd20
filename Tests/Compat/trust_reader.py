#!/usr/bin/env python3
"""An independent verifier of keyward's trust files, written from Sources/KeywardCore/FORMAT.md
("Trust") alone, with PyNaCl for Ed25519.

usage: trust_reader.py WORKSPACE ROOT_FINGERPRINT [ENV IDENTITY_FILE]
Verifies trust/root.json (self-signed by its admins; when ROOT_FINGERPRINT names an earlier root,
every root change from it, through trust/roots/, as "Root changes" says), trust/state.json
(signed by the current root's admins, for that root), that keyward.json's bytes are the signed ones and that every environment
file's recipient key is the signed one. Prints {"root": ..., "version": N, "admins": [...],
"recipients": {...}} as JSON and exits 0; exits 1 with a reason on any failure.
With ENV and a member's identity file: also opens that member's wrap of ENV's key (checking its
signed digest and what it binds) and decrypts the active set, printed as "active": {...}.
"""
import base64, hashlib, json, os, sys
from nacl import bindings as nb
from nacl.signing import VerifyKey, SigningKey
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


def kw1_open(text, sk, pk, env, set_id, field):
    """A kw1: value (FORMAT.md, "Sealed values")."""
    raw = base64.b64decode(text[4:], validate=True)
    kid, epk, nonce, ct = raw[:8], raw[8:40], raw[40:64], raw[64:]
    if kid != blake2b256(b"keyward recipient v1" + pk)[:8]:
        fail("sealed to another key")
    shared = nb.crypto_scalarmult(sk, epk)
    k = hashlib.blake2b(b"keyward kw1 key" + epk + pk, digest_size=32, key=shared).digest()
    ad = b"kw1\x00" + env.encode() + b"\x00" + set_id.encode() + b"\x00" + field.encode()
    return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, k)


def open_through_wrap(ws, env, identity_file, state, salt):
    fields = {}
    for line in open(identity_file, encoding="utf-8").read().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields[name.strip()] = value.strip()
    seed = base64.b64decode(fields["secret"][len("kwid1:"):], validate=True)
    signing = SigningKey(seed)
    ed_pk = bytes(signing.verify_key)
    ed_sk = seed + ed_pk
    fp = blake2b256(b"keyward identity v1" + ed_pk)[:16].hex()
    signed = state["environments"][env]
    sealed = base64.b64decode(json.load(open(os.path.join(ws, "trust", "wraps", env + ".json")))["wraps"][fp])
    if blake2b256(b"keyward wrap digest v1" + sealed).hex() != signed["wraps"][fp]:
        fail("the wrap is not the signed one")
    plain = nb.crypto_box_seal_open(sealed, nb.crypto_sign_ed25519_pk_to_curve25519(ed_pk),
                                    nb.crypto_sign_ed25519_sk_to_curve25519(ed_sk))
    recipient = base64.b64decode(signed["recipient"])
    prefix = b"keyward wrap v1" + bytes([len(env.encode())]) + env.encode() + recipient + ed_pk
    if plain[:len(prefix)] != prefix:
        fail("the wrap binds another environment, key or member")
    sk = plain[len(prefix):]
    if nb.crypto_scalarmult_base(sk) != recipient:
        fail("the wrapped key is not the signed recipient key")
    data = json.load(open(os.path.join(ws, env + ".json"), encoding="utf-8"))
    active = [s for s in data["sets"] if s["state"] == "active"][0]
    values = {}
    for field in ("app_key", "app_secret"):
        value = kw1_open(active[field], sk, recipient, env, active["id"], field)
        if hashlib.blake2b(b"keyward fp v1" + value, digest_size=32, key=salt).digest()[:8].hex() != active["fingerprints"][field]:
            fail("fingerprint mismatch")
        values[field] = value.decode("utf-8")
    return values


def main():
    ws, pinned = sys.argv[1], sys.argv[2]
    root_type = "application/vnd.keyward.root+json"
    state_type = "application/vnd.keyward.state+json"
    trust = os.path.join(ws, "trust")

    def read_root(path):
        payload, sigs = envelope(path, root_type)
        root = json.loads(payload)
        if root["type"] != "keyward-root":
            fail(f"{path}: not a root")
        if (root["version"] == 1) != ("previous" not in root):
            fail(f"{path}: a first root has no previous root, and only a first root")
        admins = [(a["name"], parse_identity(a["key"])) for a in root["admins"]]
        fp = blake2b256(b"keyward root v1" + payload)[:16].hex()
        return {"payload": payload, "sigs": sigs, "root": root, "admins": admins, "fp": fp}

    def follows(nxt, prev):
        """Root N+1: names root N, signed by its threshold of root N's admins, by every admin it
        adds, and by its own threshold."""
        r, p = nxt["root"], prev["root"]
        if r["version"] != p["version"] + 1 or r.get("previous") != prev["fp"]:
            return False
        if r["workspace_id"] != p["workspace_id"]:
            return False
        old = valid_signers(root_type, nxt["payload"], nxt["sigs"], prev["admins"])
        own = valid_signers(root_type, nxt["payload"], nxt["sigs"], nxt["admins"])
        old_keys = [k for _, k in prev["admins"]]
        added = [n for n, k in nxt["admins"] if k not in old_keys]
        return len(old) >= p["threshold"] and all(n in own for n in added) and len(own) >= r["threshold"]

    current = read_root(os.path.join(trust, "root.json"))
    state_probe = json.loads(envelope(os.path.join(trust, "state.json"), state_type)[0])
    nxt_path = os.path.join(trust, "root.next.json")
    superseded = None
    if state_probe["root"] != current["fp"] and os.path.exists(nxt_path):
        # A publication interrupted after the state was signed for the proposal.
        nxt = read_root(nxt_path)
        if nxt["fp"] == state_probe["root"] and follows(nxt, current):
            superseded, current = current, nxt
    if current["fp"] != pinned:
        kept = []
        roots_dir = os.path.join(trust, "roots")
        if os.path.isdir(roots_dir):
            kept = [read_root(os.path.join(roots_dir, n)) for n in sorted(os.listdir(roots_dir))]
        if superseded:
            kept.append(superseded)
        start = [r for r in kept if r["fp"] == pinned]
        if not start:
            fail(f"root fingerprint {current['fp']} is not the pinned {pinned}, and no kept root is")
        by_version = {r["root"]["version"]: r for r in kept}
        prev = start[0]
        if prev["root"]["version"] >= current["root"]["version"]:
            fail("the pinned root is newer than the workspace's: rollback")
        for v in range(prev["root"]["version"] + 1, current["root"]["version"] + 1):
            nxt = current if v == current["root"]["version"] else by_version.get(v)
            if nxt is None or not follows(nxt, prev):
                fail(f"root version {v} does not follow version {v - 1} with its admins' signatures")
            prev = nxt
    root, admins, fp = current["root"], current["admins"], current["fp"]
    if len(valid_signers(root_type, current["payload"], current["sigs"], admins)) < root["threshold"]:
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
    out = {"root": fp, "root_version": root["version"], "version": state["version"],
           "admins": [n for n, _ in admins],
           "signed_by": signers, "recipients": recipients}
    if len(sys.argv) == 5:
        salt = base64.b64decode(json.loads(config)["fingerprint_salt"], validate=True)
        out["active"] = open_through_wrap(ws, sys.argv[3], sys.argv[4], state, salt)
    print(json.dumps(out, sort_keys=True))


main()
