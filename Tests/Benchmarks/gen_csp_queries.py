#!/usr/bin/env python3
"""Writes N `keyward csp eval` query lines: a realistic mix of kinds, policies (a few hundred
distinct ones, as a crawl of many pages would give), nonces, hashes, redirects and report-only."""
import json, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rng = random.Random(5)
hosts = ["cdn.captcha-cdn.net", "cdn.captchala.com", "apiv1.captcha.la", "www.google.com", "www.gstatic.com",
         "js.hcaptcha.com", "newassets.hcaptcha.com", "challenges.cloudflare.com", "static.shop.example",
         "evil.example", "img.shop.example"]
sources = ["'self'", "'none'", "'unsafe-inline'", "'strict-dynamic'", "'nonce-r4nd0m'", "https:", "data:", "*",
           "https://cdn.captcha-cdn.net", "https://*.hcaptcha.com", "https://www.google.com/recaptcha/",
           "https://www.gstatic.com/recaptcha/", "https://challenges.cloudflare.com", "static.shop.example/js/",
           "https://apiv1.captcha.la", "https://img.shop.example:*", "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]
directives = ["default-src", "script-src", "script-src-elem", "style-src", "img-src", "connect-src", "frame-src",
              "child-src", "worker-src", "object-src", "base-uri"]
policies = []
for _ in range(300):
    ds = rng.sample(directives, rng.randint(2, 6))
    policies.append("; ".join(d + " " + " ".join(rng.sample(sources, rng.randint(1, 5))) for d in ds))
kinds = ["script", "script", "script", "style", "img", "connect", "frame", "worker", "font", "inline-script"]
paths = ["/captchala-loader.js", "/recaptcha/api.js", "/js/app.js", "/a/b/c.css", "/i.png", "/v1/validate", "/"]
out = sys.stdout
for i in range(n):
    kind = rng.choice(kinds)
    q = {"policy": rng.choice(policies), "origin": "https://shop.example/login", "kind": kind}
    if rng.random() < 0.2:
        q["policy"] = [q["policy"], rng.choice(policies)]
    if rng.random() < 0.1:
        q["report_only_policy"] = rng.choice(policies)
    if kind == "inline-script":
        q["body"] = rng.choice(["alert(1)", "captchala.render('#c')", "window.x = 1;"])
    else:
        q["url"] = "https://" + rng.choice(hosts) + rng.choice(paths)
    if rng.random() < 0.3:
        q["nonce"] = rng.choice(["r4nd0m", "other"])
    if rng.random() < 0.1:
        q["parser_inserted"] = False
    if rng.random() < 0.05:
        q["redirect_count"] = 1
    out.write(json.dumps(q, separators=(",", ":")) + "\n")
