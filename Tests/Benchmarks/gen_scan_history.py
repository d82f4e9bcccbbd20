#!/usr/bin/env python3
"""Writes a git fast-import stream of a long history for `keyward scan --history` benchmarks.

usage: gen_scan_history.py WORKSPACE COMMITS FILES_PER_COMMIT [--seed N] [--plant PAIRS.json]
                           [--plant-at I] [--remove-at J] | git -C REPO fast-import --quiet

A linear history on refs/heads/main: the first commit adds the workspace folder (WORKSPACE, as
Environments/), then each of COMMITS commits adds or rewrites FILES_PER_COMMIT text files with
fresh content (so COMMITS x FILES_PER_COMMIT distinct blobs) of about 3 KB: env files, code and
logs full of high-entropy decoys (random hex, base64, UUIDs, `sk_live_`-style keys stored
nowhere). The files live under src/, 3,000 paths at most, so later commits rewrite earlier files.
With --plant, commit I (default COMMITS / 2) also adds config/leaked.env holding the App Secret of
the first pair of PAIRS.json, and commit J (default 3 x COMMITS / 4) deletes it. Commits are
numbered from 1 after the workspace commit, so commit I is `git rev-list --reverse HEAD` line I+1.
Deterministic for a seed (but for the workspace, which gen_workspace.py writes at random).
"""
import base64, json, os, random, sys

def main():
    workspace, commits, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    rnd = random.Random(int(opts.get("--seed", "11")))
    plant_at = int(opts.get("--plant-at", commits // 2))
    remove_at = int(opts.get("--remove-at", 3 * commits // 4))
    secret = json.load(open(opts["--plant"]))[0]["app_secret"] if "--plant" in opts else None
    out = sys.stdout.buffer
    when = 1_760_000_000

    def decoy():
        k = rnd.randrange(6)
        if k == 0: return rnd.randbytes(16).hex()
        if k == 1: return rnd.randbytes(20).hex()
        if k == 2: return base64.b64encode(rnd.randbytes(33)).decode()
        if k == 3: return rnd.randbytes(16).hex("-", 2)
        if k == 4: return "sk_live_" + base64.urlsafe_b64encode(rnd.randbytes(24)).decode()
        return rnd.randbytes(32).hex()
    def body(kind):
        lines = []
        for n in range(36):
            if kind == 0: lines.append(f"SERVICE_{n}_TOKEN={decoy()}")
            elif kind == 1: lines.append(f'    let token{n} = "{decoy()}"  // request handler cache value')
            else: lines.append(f"2026-11-02T10:{n:02d}:00Z INFO request_id={decoy()} took={rnd.randrange(900)}ms")
        return ("\n".join(lines) + "\n").encode()

    def data(b):
        out.write(b"data %d\n" % len(b) + b + b"\n")
    def commit(message, ops):
        nonlocal when
        when += 60
        out.write(b"commit refs/heads/main\n")
        out.write(b"committer Bench <bench@example.invalid> %d +0000\n" % when)
        data(message.encode())
        for op in ops:
            out.write(op)

    # The workspace, as the first commit (the repository that holds it is the one scanned).
    ops = []
    for dirpath, _, names in os.walk(workspace):
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            rel = "Environments/" + os.path.relpath(path, workspace)
            ops.append(b"M 100644 inline " + rel.encode() + b"\n")
            ops.append(b"data %d\n" % os.path.getsize(path) + open(path, "rb").read() + b"\n")
    commit("workspace", ops)

    exts = ["env", "swift", "log"]
    for i in range(1, commits + 1):
        ops = []
        for k in range(per):
            slot = ((i - 1) * per + k) % 3000
            kind = slot % 3
            path = f"src/pkg{slot % 40:02d}/file{slot:04d}.{exts[kind]}"
            b = body(kind)
            ops.append(b"M 100644 inline " + path.encode() + b"\n" + b"data %d\n" % len(b) + b + b"\n")
        if secret and i == plant_at:
            b = f"# staging credentials, do not commit\nCAPTCHA_APP_SECRET={secret}\n".encode()
            ops.append(b"M 100644 inline config/leaked.env\n" + b"data %d\n" % len(b) + b + b"\n")
        if secret and i == remove_at:
            ops.append(b"D config/leaked.env\n")
        commit(f"change {i}", ops)

if __name__ == "__main__":
    main()
