#!/usr/bin/env python3
"""Writes a repository-like tree of text files for `keyward scan` benchmarks and tests.

usage: gen_scan_repo.py DIR FILES TOTAL_BYTES [--seed N] [--plant PAIRS.json]

FILES files spread over nested folders, TOTAL_BYTES in all, of source code, JSON and YAML
configs, env files with other variables, and logs, full of high-entropy decoys that pattern and
entropy scanners flag: random hex (32/40/64 digits), base64 blobs, JWT-like tokens, UUIDs,
`sk_live_`-style keys that are not stored anywhere, and base64-encoded env files of decoys.
Deterministic for a seed. With --plant, one file (planted.env) holds the first pair of PAIRS.json
(the file `gen_workspace.py --pairs` writes) so a benchmark can check that it is found.
"""
import base64, json, os, random, sys

def main():
    out, files, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    rnd = random.Random(int(opts.get("--seed", "7")))
    def hexs(n): return "%0*x" % (n, rnd.getrandbits(4 * n))
    def b64(n, url=False):
        raw = bytes(rnd.getrandbits(8) for _ in range(n))
        return (base64.urlsafe_b64encode(raw).rstrip(b"=") if url else base64.b64encode(raw)).decode()
    def jwt(): return ".".join([b64(20, True), b64(60, True), b64(32, True)])
    def uuid(): return "-".join([hexs(8), hexs(4), hexs(4), hexs(4), hexs(12)])
    def fake_key(): return rnd.choice(["sk_live_", "ck_live_", "pk_test_", "AKIA", "ghp_"]) + b64(24, True)
    words = ("user request token secret config value handler server client session cache "
             "response error retry timeout payload verify captcha widget origin policy").split()
    def ident(): return "_".join(rnd.choice(words) for _ in range(rnd.randint(1, 3)))
    def decoy():
        return rnd.choice([lambda: hexs(32), lambda: hexs(40), lambda: hexs(64), lambda: b64(32),
                           lambda: b64(48, True), jwt, uuid, fake_key])()
    def code_line():
        k = rnd.randint(0, 5)
        if k == 0: return f"    let {ident()} = \"{decoy()}\"  // {' '.join(rnd.choice(words) for _ in range(5))}"
        if k == 1: return f"    if {ident()}.count > {rnd.randint(0, 999)} {{ return {ident()}({ident()}: {rnd.random():.4f}) }}"
        if k == 2: return f"func {ident()}(_ {ident()}: String, {ident()}: Int = {rnd.randint(0, 99)}) throws -> [String: Any] {{"
        if k == 3: return f"    // {' '.join(rnd.choice(words) for _ in range(rnd.randint(4, 12)))}"
        if k == 4: return f"    {ident()}.{ident()}(url: \"https://api.example.com/v1/{ident()}?token={decoy()}&id={uuid()}\")"
        return "}"
    def json_doc():
        return json.dumps({ident(): {ident(): decoy(), "id": uuid(), "n": rnd.randint(0, 10**6),
                                     "list": [decoy() for _ in range(3)]} for _ in range(rnd.randint(2, 6))}, indent=2)
    def yaml_doc():
        return "\n".join(f"{ident()}:\n  {ident()}: {decoy()}\n  {ident()}: \"{decoy()}\"\n  enabled: true"
                         for _ in range(rnd.randint(2, 8)))
    def env_doc():
        lines = [f"{ident().upper()}={decoy()}" for _ in range(rnd.randint(3, 10))]
        if rnd.random() < 0.3:
            return base64.b64encode("\n".join(lines).encode()).decode()
        return "\n".join(lines)
    def log_line():
        return (f"2026-11-{rnd.randint(1, 30):02d}T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00Z "
                f"{rnd.choice(['INFO', 'WARN', 'DEBUG'])} {ident()} request_id={uuid()} token={decoy()} "
                f"took={rnd.randint(1, 900)}ms")
    kinds = [("swift", lambda: "\n".join(code_line() for _ in range(40))), ("json", json_doc),
             ("yaml", yaml_doc), ("env", env_doc), ("log", lambda: "\n".join(log_line() for _ in range(40)))]
    per = max(1, total // files)
    written = 0
    for i in range(files):
        ext, make = kinds[i % len(kinds)]
        folder = os.path.join(out, f"pkg{i % 37:02d}", f"mod{i % 11}")
        os.makedirs(folder, exist_ok=True)
        parts, size = [], 0
        target = per if i < files - 1 else max(per, total - written)
        while size < target:
            p = make() + "\n"
            parts.append(p)
            size += len(p)
        body = "".join(parts)[:max(1, target)]
        body = body[:body.rfind("\n") + 1] or body
        with open(os.path.join(folder, f"file{i:05d}.{ext}"), "w") as f:
            f.write(body)
        written += len(body)
    if "--plant" in opts:
        pair = json.load(open(opts["--plant"]))[0]
        with open(os.path.join(out, "planted.env"), "w") as f:
            f.write(f"APP_KEY={pair['app_key']}\nAPP_SECRET={pair['app_secret']}\n")

if __name__ == "__main__":
    main()
