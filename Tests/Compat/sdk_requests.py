#!/usr/bin/env python3
"""Sends the requests the official CaptchaLa SDKs send, and reads the answers as they do.

usage: sdk_requests.py BASE_URL APP_KEY APP_SECRET [failover]
Requests reproduced (Captcha-La/captchala-go and captchala-php, read with the search tool; the
WordPress and Flarum plugins' "test connection"): POST /v1/validate with Content-Type
application/json, X-App-Key and X-App-Secret, body {"pass_token", "keep_token": false} (Go; PHP
adds client_ip); POST /v1/server/challenge/issue with {"action", "binding_ip", "ttl", "max_uses"}.
Reading, as the SDKs do: validate succeeds when code == 0 and data.valid (or data.ok) is true;
otherwise the error is data.error, then msg. Issue succeeds when code == 0 and data.server_token
is non-empty; PHP reads a failure from the top-level error first, then msg.
The Go SDK also picks its route by the token's prefix: `client_` tokens are accepted with no
request at all, `offline_` tokens go to the backup route POST /api/validate, the rest to
/v1/validate; an answer with data.degraded true is "degraded" (never valid) with data.reason
(default quota_exhausted); a transport failure or a body that is not JSON is request_failed.
With "failover" the emulator runs with --degraded --fault 5xx --fault-route main.
Prints {case: outcome} as JSON.
"""
import json, sys, urllib.request

base, key, secret = sys.argv[1:4]
mode = sys.argv[4] if len(sys.argv) > 4 else ""


def post(path, body, app_key=key, app_secret=secret):
    req = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-App-Key": app_key, "X-App-Secret": app_secret})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:  # the SDKs ignore the HTTP status and read the body
        return json.loads(e.read())


def validate_outcome(resp):
    data = resp.get("data") or {}
    if resp.get("code", 0) == 0 and (data.get("valid") or data.get("ok")):
        return "valid"
    return "invalid:" + str(data.get("error") or resp.get("msg") or "unknown_error")


def issue_outcome_php(resp):
    data = resp.get("data") or {}
    if resp.get("code") == 0 and data.get("server_token"):
        return data["server_token"]
    return "error:" + str(resp.get("error") or resp.get("msg") or "unknown_error")


def solve(action="login", kind=None):
    body = {"app_key": key, "action": action}
    if kind:
        body["kind"] = kind
    req = urllib.request.Request(
        base + "/__emulator/solve", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())["pass_token"]


def go_validate(token):
    """The Go SDK's Validate: the route by prefix, then the answer as it reads it."""
    if token.startswith("client_"):
        return "valid:client-only"
    offline = token.startswith("offline_")
    try:
        resp = post("/api/validate" if offline else "/v1/validate", {"pass_token": token, "keep_token": False})
    except (ValueError, OSError):
        return "request_failed"
    data = resp.get("data") or {}
    if resp.get("code") == 0 and (data.get("valid") or data.get("ok")):
        return "valid:offline" if offline else "valid"
    if data.get("degraded") is True:
        return "degraded:" + (data.get("reason") or "quota_exhausted")
    return "invalid:" + str(data.get("error") or resp.get("msg") or "unknown_error")


out = {}
if mode == "failover":
    token = solve()
    out["failover.default_kind"] = token.split("_")[0] + "_"
    out["failover.main"] = go_validate(token)
    out["failover.backup"] = go_validate(solve(kind="offline"))
    print(json.dumps(out))
    sys.exit(0)
token = solve()
out["go.validate.solved"] = validate_outcome(post("/v1/validate", {"pass_token": token, "keep_token": False}))
out["go.validate.reused"] = validate_outcome(post("/v1/validate", {"pass_token": token, "keep_token": False}))
out["php.validate.unknown"] = validate_outcome(
    post("/v1/validate", {"pass_token": "pt_" + "0" * 32, "keep_token": False, "client_ip": "203.0.113.7"}))
kept = solve()
out["php.validate.keep_token"] = validate_outcome(post("/v1/validate", {"pass_token": kept, "keep_token": True}))
out["php.validate.after_keep"] = validate_outcome(post("/v1/validate", {"pass_token": kept, "keep_token": False}))
out["wordpress.issue"] = issue_outcome_php(
    post("/v1/server/challenge/issue", {"action": "login", "binding_ip": "127.0.0.1", "ttl": 60, "max_uses": 1}))
out["flarum.issue"] = issue_outcome_php(
    post("/v1/server/challenge/issue", {"action": "generic_form", "ttl": 60, "max_uses": 1}))
out["php.validate.bad_secret"] = validate_outcome(
    post("/v1/validate", {"pass_token": "pt_x", "keep_token": False}, app_secret="wrong"))
out["php.issue.bad_key"] = issue_outcome_php(post("/v1/server/challenge/issue", {"action": "login"}, app_key="nope"))
out["go.validate.bad_key"] = validate_outcome(
    post("/v1/validate", {"pass_token": "pt_x", "keep_token": False}, app_key="nope"))
out["go.offline.solved"] = go_validate(solve(kind="offline"))
out["go.offline.at_main"] = validate_outcome(post("/v1/validate", {"pass_token": solve(kind="offline")}))
out["go.pass.at_backup"] = validate_outcome(post("/api/validate", {"pass_token": solve()}))
out["go.degraded"] = go_validate(solve(kind="degraded"))
out["go.client.no_request"] = go_validate(solve(kind="client"))
out["go.client.sent_anyway"] = validate_outcome(post("/v1/validate", {"pass_token": solve(kind="client")}))
print(json.dumps(out))
