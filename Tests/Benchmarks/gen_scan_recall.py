#!/usr/bin/env python3
"""Writes the recall cases of `keyward scan` (scan_recall.sh): one stored App Secret per case.

usage: gen_scan_recall.py REPO LATER VALUES.json CASES.json [--seed N]

Makes 13 environments' pairs (case01 … case13) that look like real keys: App Key `ck_live_` + 32
letters and digits, App Secret `sk_live_` + 32 (case05's secret is base64 of 32 random bytes, as
many real secrets are, so that URL encoding changes it: `=` becomes %3D). VALUES.json gets
{env: {app_key, app_secret}} for `keyward set`. Each case plants its environment's App Secret,
and no App Key, in one file: cases in the working tree are written under REPO; the three that
the script must commit, branch or stage are written under LATER (same relative paths).
CASES.json lists the cases: id, label, path, env, mode (files, history, all-refs, staged), value,
lines (first and last line of the plant, 1-based) and text (those lines), for the recall table.
Deterministic for a seed.
"""
import base64, json, os, random, string, sys, urllib.parse

def main():
    repo, later, values_out, cases_out = sys.argv[1:5]
    opts = dict(zip(sys.argv[5::2], sys.argv[6::2]))
    rnd = random.Random(int(opts.get("--seed", "14")))
    alnum = string.ascii_letters + string.digits
    def word(n): return "".join(rnd.choice(alnum) for _ in range(n))
    values = {}
    for i in range(1, 14):
        env = f"case{i:02d}"
        secret = "sk_live_" + word(32)
        if i == 5:
            secret = base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(32))).decode()
        values[env] = {"app_key": "ck_live_" + word(32), "app_secret": secret}
    v = lambda i: values[f"case{i:02d}"]["app_secret"]

    cases = []
    def case(i, label, path, mode, body, newline="\n", root=repo, at=None):
        """body: the file's lines; the plant is line `at` (0-based), else every line holding the
        marker @V, else the whole file."""
        lines = [l.replace("@V", v(i)) for l in body]
        marked = [at] if at is not None else [n for n, l in enumerate(body) if "@V" in l] or list(range(len(body)))
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
        with open(full, "w", newline="") as f:
            f.write(newline.join(lines) + newline)
        cases.append({"id": i, "label": label, "path": path, "env": f"case{i:02d}", "mode": mode, "value": v(i),
                      "lines": [marked[0] + 1, marked[-1] + 1], "text": "\n".join(lines[marked[0]:marked[-1] + 1])})

    case(1, "`.env`", ".env", "files",
         ["APP_ENV=production", "PORT=8080", "CAPTCHA_APP_SECRET=@V", "DATABASE_HOST=db.internal"])
    case(2, "`.env.production` (quoted)", ".env.production", "files",
         ["APP_ENV=production", 'CAPTCHA_APP_SECRET="@V"', "LOG_LEVEL=info"])
    case(3, "`config/app.yaml`", "config/app.yaml", "files",
         ["server:", "  port: 8080", "captcha:", "  provider: captchala", "  app_secret: @V"])
    doc = json.dumps({"server": {"port": 8080}, "captcha": {"provider": "captchala", "app_secret": "@V"}}, indent=2)
    case(4, "JSON config", "config/settings.json", "files", doc.split("\n"))
    case(5, "URL query, URL-encoded (`?secret=%XX…&x=1`)", "docs/integration.md", "files",
         ["# Integration", "", "Try it:", "",
          "    curl 'https://api.example.com/v1/verify?secret=" + urllib.parse.quote(v(5), safe="") + "&x=1'"], at=4)
    case(6, "XML `<secret>…</secret>`", "config/app.xml", "files",
         ['<?xml version="1.0" encoding="UTF-8"?>', "<config>", "  <captcha>",
          "    <secret>@V</secret>", "  </captcha>", "</config>"])
    case(7, "k8s Secret, base64 `data`", "k8s/captcha-secret.yaml", "files",
         ["apiVersion: v1", "kind: Secret", "metadata:", "  name: captcha", "type: Opaque", "data:",
          "  app-secret: " + base64.b64encode(v(7).encode()).decode()], at=6)
    env_file = "\n".join(["APP_ENV=production", "PORT=8080", "DATABASE_HOST=db.internal",
                          "DATABASE_USER=app", "CAPTCHA_PROVIDER=captchala", f"CAPTCHA_APP_SECRET={v(8)}",
                          "LOG_LEVEL=info", "FEATURE_FLAGS=search,checkout"]) + "\n"
    case(8, "whole env file, base64 wrapped at 76", "deploy/production.env.b64", "files",
         base64.encodebytes(env_file.encode()).decode().rstrip("\n").split("\n"))
    case(9, "CRLF file", "config/windows.ini", "files",
         ["[captcha]", "provider=captchala", "app_secret=@V", "timeout=5"], newline="\r\n")
    # A 5 MiB log, the secret on a line in the middle.
    log, n, size = [], 0, 0
    while size < 5 * 1024 * 1024:
        n += 1
        log.append(f"2026-11-02T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z INFO GET /api/v1/items/{rnd.randrange(10**6)} "
                   f"200 took={rnd.randrange(900)}ms user=u{rnd.randrange(10**4)} region=eu-west-1")
        size += len(log[-1]) + 1
    log.insert(len(log) // 2, "2026-11-02T12:00:00Z DEBUG captcha verify request secret=@V remote=10.0.3.7")
    case(10, "5 MiB log, secret in the middle", "logs/app.log", "files", log)
    case(11, "file deleted two commits ago", "old/credentials.env", "history",
         ["# rotate me", "CAPTCHA_APP_SECRET=@V"], root=later)
    case(12, "file on another branch", "config/feature.env", "all-refs",
         ["CAPTCHA_APP_SECRET=@V", "FEATURE=captcha-v2"], root=later)
    case(13, "staged, not committed", "config/staged.env", "staged",
         ["CAPTCHA_APP_SECRET=@V"], root=later)
    json.dump(values, open(values_out, "w"), indent=1)
    json.dump(cases, open(cases_out, "w"), indent=1)

if __name__ == "__main__":
    main()
