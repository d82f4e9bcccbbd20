#!/usr/bin/env python3
"""An activation manifest signed by hand, from Sources/KeywardCore/FORMAT.md ("Signed documents",
"Sets, activation and verification records") with PyNaCl: what anyone holding an identity's key
can sign outside keyward, for instance a former member of the environment. The tests commit its
output to history and check what a fresh machine's deploy makes of it.

usage: forge_manifest.py MANIFEST IDENTITY_FILE VERSION
Rewrites the manifest file MANIFEST with its payload's version set to VERSION (its other members
kept) and one signature, by the identity in IDENTITY_FILE (a `secret: kwid1:` identity file).
"""
import base64, hashlib, json, sys
from nacl.signing import SigningKey

ACTIVATION_TYPE = "application/vnd.keyward.activation+json"


def pae(t, body):
    return b"DSSEv1 %d %s %d " % (len(t.encode()), t.encode(), len(body)) + body


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    path, identity, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fields = dict(l.split(": ", 1) for l in open(identity, encoding="utf-8").read().splitlines() if ": " in l)
    key = SigningKey(base64.b64decode(fields["secret"][len("kwid1:"):]))
    keyid = hashlib.blake2b(b"keyward identity v1" + bytes(key.verify_key), digest_size=32).hexdigest()[:32]
    doc = json.load(open(path, encoding="utf-8"))
    payload = json.loads(base64.b64decode(doc["payload"]))
    payload["version"] = version
    payload["activated_by"] = fields["name"]
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    sig = key.sign(pae(ACTIVATION_TYPE, body)).signature
    out = {"payload": base64.b64encode(body).decode(), "payload_type": ACTIVATION_TYPE,
           "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, sort_keys=True)
        f.write("\n")


main()
