#!/usr/bin/env python3
"""An independent reader of keyward's v1 format, written from Sources/KeywardCore/FORMAT.md alone.

usage: kw1_reader.py WORKSPACE ENV KEYFILE
Prints {"set_id": {"app_key": ..., "app_secret": ...}, ...} as JSON. Exits 1 on any check failure.
Used by the test suite to prove that FORMAT.md is precise enough to build a compatible reader.
"""
import base64, hashlib, json, sys
from nacl import bindings as nb


def blake2b256(msg, key=b""):
    return hashlib.blake2b(msg, digest_size=32, key=key).digest()


def key_id(pk):
    return blake2b256(b"keyward recipient v1" + pk)[:8]


def read_key_file(path):
    text = open(path, encoding="utf-8").read()
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    if text.strip().startswith("kwsk1:"):
        secret = text.strip()
    else:
        assert fields.get("keyward-key") == "1", "not a key file"
        secret = fields["secret-key"]  # passphrase-protected files are out of scope here
    assert secret.startswith("kwsk1:")
    sk = base64.b64decode(secret[len("kwsk1:"):], validate=True)
    assert len(sk) == 32
    return sk


def open_value(text, sk, pk, env, set_id, field):
    assert text.startswith("kw1:"), "not a kw1 value"
    raw = base64.b64decode(text[4:], validate=True)
    assert len(raw) >= 8 + 32 + 24 + 16, "too short"
    kid, epk, nonce, ct = raw[:8], raw[8:40], raw[40:64], raw[64:]
    assert kid == key_id(pk), "sealed to another key"
    shared = nb.crypto_scalarmult(sk, epk)
    k = blake2b256(b"keyward kw1 key" + epk + pk, key=shared)
    ad = b"kw1\x00" + env.encode() + b"\x00" + set_id.encode() + b"\x00" + field.encode()
    return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, k)


def main():
    ws, env, keyfile = sys.argv[1:4]
    config = json.load(open(f"{ws}/keyward.json"))
    assert config["format"] == "keyward-workspace" and config["version"] == 1
    salt = base64.b64decode(config["fingerprint_salt"], validate=True)
    data = json.load(open(f"{ws}/{env}.json"))
    assert data["format"] == "keyward-environment" and data["version"] == 1
    assert data["environment"] == env
    pk = base64.b64decode(data["recipient"]["public_key"], validate=True)
    assert data["recipient"]["key_id"] == key_id(pk).hex()
    sk = read_key_file(keyfile)
    assert nb.crypto_scalarmult_base(sk) == pk, "wrong private key"
    out = {}
    for s in data["sets"]:
        values = {}
        for field in ("app_key", "app_secret"):
            value = open_value(s[field], sk, pk, env, s["id"], field)
            fp = blake2b256(b"keyward fp v1" + value, key=salt)[:8].hex()
            assert fp == s["fingerprints"][field], f"fingerprint mismatch for {field}"
            values[field] = value.decode("utf-8")
        out[s["id"]] = values
    print(json.dumps(out, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, do not trace: the test compares exit codes and output
        print(f"kw1_reader: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
