"""A checkpoint's index (Sources/KeywardCore/FORMAT.md, "Checkpoint index"), built from the
entries it covers with nothing but that text: the second, independent writer of the file that
keyward reads instead of a checkpoint's lines. Used by trail_reader.py (which rebuilds every index
and compares bytes) and by Tests/Benchmarks/gen_trail.py (which writes one).
"""
import base64, hashlib, json

SPECIAL = {"retire", "interrupted", "external-change", "resolve", "trust-init"}


def compact(v):
    return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def digest(data):
    return hashlib.blake2b(b"keyward trail index v1" + data, digest_size=32).hexdigest()


def order(entries, rank):
    """entries: {id: payload}; rank: {id: int}. Parents first; otherwise by (rank, time, id)."""
    done, out = set(), []
    for start in sorted(entries, key=lambda i: (rank[i], entries[i]["time"], i)):
        stack = [(start, False)]
        while stack:
            i, expanded = stack.pop()
            if i in done:
                continue
            if expanded:
                done.add(i)
                out.append(i)
                continue
            stack.append((i, True))
            for p in reversed(entries[i]["parents"]):
                if p in entries and p not in done:
                    stack.append((p, False))
    return out


def build(entries, rank, covers):
    """The index bytes of the covered entries ({id: payload}, each with its rank)."""
    ordered = order(entries, rank)
    children = {}
    for i in ordered:
        for p in entries[i]["parents"]:
            if p in entries:
                children.setdefault(p, []).append(i)
    heads = sorted(i for i in entries if i not in children)
    position = {h: n for n, h in enumerate(heads)}

    def announced(i):  # environments entry i announces
        return {r["environment"] for r in entries[i]["records"] if "env_after" in r}

    above, below = {}, {}  # heads at or above each entry; environments its descendants announce
    for i in reversed(ordered):
        above[i] = {position[i]} if i in position else set()
        below[i] = set()
        for c in children.get(i, []):
            above[i] |= above[c]
            below[i] |= below[c] | announced(c)
    candidates, seq = [], 0
    for i in ordered:
        p = entries[i]
        last_of_env = {}
        for n, r in enumerate(p["records"]):
            if "env_after" in r:
                last_of_env[r["environment"]] = n
        for n, r in enumerate(p["records"]):
            seq += 1
            maximal = last_of_env.get(r["environment"]) == n and r["environment"] not in below[i]
            line = {"actor": p["actor"], "command": p["command"], "entry": i, "record": r, "seq": seq,
                    "signed": "signer" in p, "time": p["time"]}
            if maximal:
                line["below"] = sorted(above[i])
            candidates.append(line)
    keep, sighted, last = [False] * len(candidates), set(), set()
    for n, c in enumerate(candidates):
        r = c["record"]
        if "below" in c or r.get("action") in SPECIAL or "new_key_id" in r:
            keep[n] = True
        fp = r.get("fingerprints") or {}
        if "app_key" in fp or "app_secret" in fp:
            key = (r["environment"], r.get("set", ""), fp.get("app_key", ""), fp.get("app_secret", ""))
            if key not in sighted:
                sighted.add(key)
                keep[n] = True
    for n in range(len(candidates) - 1, -1, -1):
        r = candidates[n]["record"]
        key = (r["environment"], r.get("set", ""), r.get("action", ""), r.get("target", ""))
        if key not in last:
            last.add(key)
            keep[n] = True
    signers, unsigned = {}, 0
    for i in ordered:
        if "signer" in entries[i]:
            signers[entries[i]["signer"]] = signers.get(entries[i]["signer"], 0) + 1
        else:
            unsigned += 1
    header = {"covers": sorted(covers), "entries": len(entries), "heads": heads, "records": seq,
              "signers": signers, "type": "keyward-trail-index", "unsigned": unsigned, "v": 1,
              "v1": [entries[i]["v1"] for i in ordered if "v1" in entries[i]]}
    ids = b"".join(bytes.fromhex(i) for i in sorted(entries))
    out = compact(header) + b"\n" + base64.b64encode(ids) + b"\n"
    for n, c in enumerate(candidates):
        if keep[n]:
            out += compact(c) + b"\n"
    return out
