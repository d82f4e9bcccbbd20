#!/usr/bin/env python3
"""A repository writer's trail entry: unsigned, well formed, with the records given (FORMAT.md,
"Version 2: trail/"), written from that text alone. It follows the current heads and replaces their
markers, unless --parents names the entries it follows (a sibling: the heads are left as they are,
plus its own marker); --time back-dates it.

  add_entry.py WORKSPACE RECORDS_JSON [--parents ID,ID] [--time YYYY-MM-DDTHH:MM:SSZ]
                                          prints the new entry's id
"""
import base64, hashlib, json, os, sys, time

ws, records, opts = sys.argv[1], json.loads(sys.argv[2]), dict(zip(sys.argv[3::2], sys.argv[4::2]))
heads_dir = os.path.join(ws, "trail", "heads")
for sub in ("entries", "heads"):
    os.makedirs(os.path.join(ws, "trail", sub), exist_ok=True)
heads = sorted(os.listdir(heads_dir))
parents = sorted(p for p in opts["--parents"].split(",") if p) if "--parents" in opts else heads
payload = {"actor": "writer@example.invalid", "command": records[0]["action"], "parents": parents,
           "records": records, "time": opts.get("--time") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "type": "keyward-trail-entry", "v": 2}
v1 = os.path.join(ws, "audit.jsonl")
if not parents and os.path.exists(v1):  # the first entry anchors the version-1 trail
    lines = [l for l in open(v1, "rb").read().splitlines() if l.strip()]
    payload["v1"] = {"entries": len(lines), "head": json.loads(lines[-1])["hash"] if lines else "0" * 64}
body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
entry = hashlib.blake2b(b"keyward trail v2" + body, digest_size=32).hexdigest()
envelope = {"payload": base64.b64encode(body).decode(), "payload_type": "application/vnd.keyward.trail-entry+json",
            "signatures": []}
with open(os.path.join(ws, "trail", "entries", entry + ".json"), "w") as f:
    f.write(json.dumps(envelope, separators=(",", ":")) + "\n")
for h in heads:
    if h in parents:
        os.remove(os.path.join(heads_dir, h))
with open(os.path.join(heads_dir, entry), "w") as f:
    f.write(entry + "\n")
print(entry)
