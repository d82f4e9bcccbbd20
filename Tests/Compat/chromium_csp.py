#!/usr/bin/env python3
"""A real-browser oracle for Content-Security-Policy decisions: headless Chromium loads pages
whose policies and resources come from a case file, and reports which resources it loaded.

usage: chromium_csp.py CASES.json [--chromium PATH] [--jobs N] [--budget MS] [--only ID ...]
                          [--control]

Prints one JSON document on stdout:
  {"chromium": "<chromium --version>", "results": [record, ...]}
with one record per resource (two for a redirected one, see below):
  case, resource (index in the case), origin (the page's), policy (the enforced header lines),
  report_only_policy, meta_policy, kind, url (external kinds) or body (inline kinds),
  nonce / integrity (only when the element has them), attribute (inline-style in a style=""
  attribute), via (index of the script that created it, for dynamically inserted elements),
  parser_inserted, redirect_count, redirected_from (hop 1 of a redirect), loaded.
Everything is concrete: no placeholders. A summary table goes to stderr.
Exit status: 0 fine; 1 a harness check failed (JSON still printed); 2 bad usage or case
file; 77 no Chromium found.

The case file is a JSON list of cases:
  {"id": "kebab-id", "note": "...", "header": [...], "report_only": [...], "meta": [...],
   "resources": [{"kind": ..., "url": ..., "nonce": ..., "integrity": ..., "via": n,
                  "redirect_to": ..., "attribute": true}, ...]}
  - header: one Content-Security-Policy line each; report_only: one -Report-Only line each;
    meta: one <meta http-equiv="Content-Security-Policy"> each, first in <head>.
  - kinds: script (<script src>), style (<link rel=stylesheet>), frame (<iframe src>),
    img (<img src>), connect (fetch()), inline-script (<script>BODY</script>),
    inline-style (<style>BODY</style>, or a style="" attribute with "attribute": true).
  - via: n  -> the element is not in the markup: script resource n (external or inline)
    creates it with createElement/appendChild when it runs (so parser_inserted is false), or
    calls fetch() for a connect resource. connect resources need a via. The case's policy
    must let script n run; the harness checks that it did.
  - redirect_to: the server answers url with a 302 to this URL. Two records result: hop 0
    (url, redirect_count 0, loaded = url was requested) and hop 1 (the target, redirect_count 1,
    redirected_from = url, loaded = the target was requested). Hop 1's loaded is the browser's
    verdict on both checks: the original URL's (redirect count 0) and the target's (count 1,
    where source paths are ignored); cases keep hop 0 allowed so that hop 1 isolates the latter.
  - placeholders, in policies, URLs and integrity: {P} the server's port, {Q} a second
    server's port (for port mismatches), {sha256:n} "sha256-<base64>" of resource n's body
    (an inline script's or style's text, or an external script's served bytes).
  - cases give no bodies, the harness generates them: a script (inline or external) sets
    data-ran-<n> on <html>, then performs the loads of the resources whose via is n; a style
    sheet, frame, image or JSON body is a fixed stub naming its marker.

How "loaded" is decided:
  - External fetches (script, style, frame, img, connect): the server log is the truth. A
    CSP-blocked request never reaches the network, so the resource was allowed iff its URL
    was requested. Each URL gets a unique query marker r=<case>-<n> (CSP ignores the query
    when matching, so adding it does not change any decision). Requests without a marker
    (favicon.ico, the page itself) are ignored.
  - inline-script: the script sets data-ran-<n> on <html>; --dump-dom shows whether it ran.
  - inline-style: the style gives a probe element a background-image from the page's own
    origin (/probe.png?r=<case>-<n>); Chromium fetches it only if the style was applied, so
    the server log decides again and no script is needed (a reporter script would need the
    case's script policy to allow it). This needs img-src (or default-src) to allow 'self':
    the harness adds a control <img> of the same origin to such pages and fails if the
    control was not loaded.
  Cross-checks: a script that ran must have been fetched; a fetched external script that did
  not run is reported (SRI mismatch or similar, not a CSP decision); a via script that did
  not run is an error (its dependents say nothing then); every marked request must arrive at
  the host and path expected. --control runs every case with all policies removed and fails
  unless everything loads, so that each "not loaded" of a real run is CSP's doing.
  Cases never state an expected outcome: the browser is the oracle.

Hostnames: pages are http://site.test:P/case/<id>; every hostname is mapped to 127.0.0.1 with
--host-resolver-rules, so any host in a case (cdn.captcha-cdn.test, evil.test, ...) reaches
the same server on the port given in the URL.
"""
import argparse, base64, concurrent.futures, hashlib, html, http.server, json, os, re
import shutil, signal, subprocess, sys, tempfile, threading, time, urllib.parse

KINDS = {"script", "style", "frame", "img", "connect", "inline-script", "inline-style"}
EXTERNAL = {"script", "style", "frame", "img", "connect"}
SCRIPTS = {"script", "inline-script"}
PAGE_HOST = "site.test"
# A 1x1 transparent GIF, for img resources and the inline-style probes.
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
CONTENT_TYPES = {
    "script": "text/javascript", "style": "text/css", "frame": "text/html; charset=utf-8",
    "img": "image/gif", "connect": "application/json",
}
PLACEHOLDER = re.compile(r"\{(?:(P)|(Q)|sha256:(\d+))\}")


class CaseError(Exception):
    pass


def add_query(url, param):
    """url with param appended to its query (before any fragment)."""
    base, hash_, frag = url.partition("#")
    return base + ("&" if "?" in base else "?") + param + hash_ + frag


def js(value):
    return json.dumps(value)


class Case:
    """One case, made concrete for the servers' ports: URLs, bodies, the page, the routes."""

    def __init__(self, raw, p, q):
        self.p, self.q = p, q
        self.id = raw.get("id", "")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.id):
            raise CaseError(f"bad case id {self.id!r}")
        self.origin = f"http://{PAGE_HOST}:{p}"
        self.page_url = f"{self.origin}/case/{self.id}"
        self.resources = raw.get("resources") or []
        for n, r in enumerate(self.resources):
            where = f"case {self.id} resource {n}"
            if r.get("kind") not in KINDS:
                raise CaseError(f"{where}: unknown kind {r.get('kind')!r}")
            if (r["kind"] in EXTERNAL) != ("url" in r):
                raise CaseError(f"{where}: url is required for external kinds and only for them")
            via = r.get("via")
            if via is not None and not (isinstance(via, int) and 0 <= via < len(self.resources)
                                        and via != n and self.resources[via].get("kind") in SCRIPTS):
                raise CaseError(f"{where}: via must name another script resource")
            if via is not None and r["kind"] not in EXTERNAL:
                raise CaseError(f"{where}: only external kinds can be created by a script")
            if "redirect_to" in r and r["kind"] not in EXTERNAL:
                raise CaseError(f"{where}: redirect_to is for external kinds")
            if r["kind"] == "connect" and via is None:
                raise CaseError(f"{where}: a connect resource needs a via script")
            if r.get("attribute") and (r["kind"] != "inline-style" or r.get("nonce")):
                raise CaseError(f"{where}: attribute is for inline-style, without a nonce")
        self._bodies, self._busy = {}, set()  # body() memo and its cycle guard
        self.policy = [self.sub(h) for h in raw.get("header", [])]
        self.report_only = [self.sub(h) for h in raw.get("report_only", [])]
        self.meta = [self.sub(h) for h in raw.get("meta", [])]

    # -- placeholders, markers, URLs -------------------------------------------------------

    def sub(self, text):
        def one(m):
            if m.group(1):
                return str(self.p)
            if m.group(2):
                return str(self.q)
            n = int(m.group(3))
            if n >= len(self.resources):
                raise CaseError(f"case {self.id}: {{sha256:{n}}} names no resource")
            body = self.body(n)
            data = body if isinstance(body, bytes) else body.encode()
            return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        return PLACEHOLDER.sub(one, text)

    def marker(self, n, hop=0):
        return f"{self.id}-{n}" + ("-to" if hop else "")

    def url(self, n, hop=0):
        r = self.resources[n]
        return add_query(self.sub(r["redirect_to"] if hop else r["url"]), "r=" + self.marker(n, hop))

    def probe_url(self, marker):
        # Unquoted in CSS: the URL has no spaces, quotes or parentheses.
        return f"{self.origin}/probe.png?r={marker}"

    def has_redirect(self, n):
        return "redirect_to" in self.resources[n]

    def attrs(self, n):
        """nonce and integrity of resource n, concrete."""
        r = self.resources[n]
        out = {}
        if "nonce" in r:
            out["nonce"] = r["nonce"]
        if "integrity" in r:
            out["integrity"] = self.sub(r["integrity"])
        return out

    # -- bodies ----------------------------------------------------------------------------

    def body(self, n):
        """What resource n consists of: inline text, or the bytes the server sends."""
        if n in self._bodies:
            return self._bodies[n]
        if n in self._busy:
            raise CaseError(f"case {self.id}: resource {n}'s body depends on itself")
        self._busy.add(n)
        kind = self.resources[n]["kind"]
        if kind in SCRIPTS:
            parts = [f'document.documentElement.setAttribute("data-ran-{n}", "");']
            parts += [self.js_load(m) for m, r in enumerate(self.resources) if r.get("via") == n]
            body = "\n".join(parts)
        elif kind == "inline-style":
            bg = f"background-image:url({self.probe_url(self.marker(n))})"
            body = bg if self.resources[n].get("attribute") else f"#probe-{n}{{{bg}}}"
        elif kind == "style":
            body = f"/* {self.marker(n)} */\n"
        elif kind == "frame":
            body = f"<!doctype html><title>{self.marker(n)}</title>"
        elif kind == "connect":
            body = json.dumps({"r": self.marker(n)})
        else:  # img
            body = GIF
        self._busy.discard(n)
        self._bodies[n] = body
        return body

    def js_load(self, m):
        """JavaScript that creates resource m's element (or fetches it) at run time."""
        r, url, a = self.resources[m], self.url(m), self.attrs(m)
        if r["kind"] == "connect":
            # no-cors: the request goes out either way; only CSP can stop it.
            return f'fetch({js(url)}, {{mode: "no-cors"}}).catch(function () {{}});'
        tag, src = {"script": ("script", "src"), "style": ("link", "href"),
                    "frame": ("iframe", "src"), "img": ("img", "src")}[r["kind"]]
        lines = [f"var e = document.createElement({js(tag)});"]
        if tag == "link":
            lines.append('e.rel = "stylesheet";')
        if "nonce" in a:
            lines.append(f"e.nonce = {js(a['nonce'])};")
        if "integrity" in a:
            lines.append(f'e.integrity = {js(a["integrity"])}; e.crossOrigin = "anonymous";')
        lines.append(f"e.{src} = {js(url)};")
        lines.append("(document.body || document.documentElement).appendChild(e);")
        return "(function () { " + " ".join(lines) + " })();"

    # -- the page and the routes -----------------------------------------------------------

    def element(self, n):
        r, a = self.resources[n], self.attrs(n)
        extra = ""
        if "nonce" in a:
            extra += f' nonce="{html.escape(a["nonce"])}"'
        if "integrity" in a:
            # SRI on a cross-origin script needs a CORS fetch (the server allows any origin).
            extra += f' integrity="{html.escape(a["integrity"])}" crossorigin="anonymous"'
        kind = r["kind"]
        if kind == "inline-script":
            return f"<script{extra}>{self.body(n)}</script>"
        if kind == "inline-style":
            if r.get("attribute"):
                return f'<div id="probe-{n}" style="{html.escape(self.body(n))}">probe</div>'
            return f'<style{extra}>{self.body(n)}</style><div id="probe-{n}">probe</div>'
        url = html.escape(self.url(n))
        return {
            "script": f'<script src="{url}"{extra}></script>',
            "style": f'<link rel="stylesheet" href="{url}"{extra}>',
            "frame": f'<iframe src="{url}"{extra}></iframe>',
            "img": f'<img src="{url}" alt=""{extra}>',
        }[kind]

    def needs_control(self):
        return any(r["kind"] == "inline-style" for r in self.resources)

    def page(self):
        """(headers, html) of the case's page."""
        headers = [("Content-Security-Policy", h) for h in self.policy]
        headers += [("Content-Security-Policy-Report-Only", h) for h in self.report_only]
        out = ["<!doctype html>", "<html><head>"]
        out += [f'<meta http-equiv="Content-Security-Policy" content="{html.escape(m)}">'
                for m in self.meta]
        out.append(f"<title>{self.id}</title></head><body>")
        if self.needs_control():
            out.append(f'<img src="{html.escape(self.probe_url(self.id + "-control"))}" alt="">')
        out += [self.element(n) for n, r in enumerate(self.resources) if r.get("via") is None]
        out.append("</body></html>")
        return headers, "\n".join(out)

    def routes(self):
        """marker -> (status, content type or redirect location, body bytes)."""
        out = {}
        for n, r in enumerate(self.resources):
            if r["kind"] not in EXTERNAL:
                continue
            body = self.body(n)
            body = body if isinstance(body, bytes) else body.encode()
            final = (200, CONTENT_TYPES[r["kind"]], body)
            if self.has_redirect(n):
                out[self.marker(n)] = (302, self.url(n, hop=1), b"")
                out[self.marker(n, hop=1)] = final
            else:
                out[self.marker(n)] = final
        return out

    def expected_markers(self):
        """marker -> (resource, hop, expected URL) for everything the log may show."""
        out = {}
        for n, r in enumerate(self.resources):
            if r["kind"] in EXTERNAL:
                out[self.marker(n)] = (n, 0, self.url(n))
                if self.has_redirect(n):
                    out[self.marker(n, 1)] = (n, 1, self.url(n, hop=1))
            elif r["kind"] == "inline-style":
                out[self.marker(n)] = (n, 0, self.probe_url(self.marker(n)))
        if self.needs_control():
            out[self.id + "-control"] = (None, 0, self.probe_url(self.id + "-control"))
        return out


class Site:
    """Serves every case's page and resources on two loopback ports, logging each request."""

    def __init__(self):
        self.pages, self.routes = {}, {}
        self.log, self.lock = [], threading.Lock()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                site.record(self)
                path, _, query = self.path.partition("?")
                marker = urllib.parse.parse_qs(query).get("r", [None])[0]
                if path.startswith("/case/") and path[6:] in site.pages:
                    headers, text = site.pages[path[6:]]
                    self.reply(200, "text/html; charset=utf-8", text.encode(), headers)
                elif marker in site.routes:
                    status, what, body = site.routes[marker]
                    if status == 302:
                        self.reply(302, "text/plain", b"", [("Location", what)])
                    else:
                        self.reply(200, what, body)
                elif path == "/probe.png":
                    self.reply(200, "image/gif", GIF)
                else:
                    self.reply(404, "text/plain", b"not found\n")

            def do_OPTIONS(self):
                site.record(self)
                self.reply(204, "text/plain", b"", [("Access-Control-Allow-Headers", "*")])

            def reply(self, status, ctype, body, headers=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Access-Control-Allow-Origin", "*")
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
        for s in self.servers:
            s.daemon_threads = True
        self.p, self.q = (s.server_address[1] for s in self.servers)
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]
        for t in self.threads:
            t.start()

    def record(self, handler):
        with self.lock:
            self.log.append((handler.server.server_address[1], handler.headers.get("Host", ""),
                             handler.path))

    def add(self, case):
        self.pages[case.id] = case.page()
        for marker, route in case.routes().items():
            if marker in self.routes:
                raise CaseError(f"marker {marker} used twice (case ids must be unique)")
            self.routes[marker] = route

    def requests(self):
        """marker -> [(port, host, path)], and the set of pages requested."""
        by_marker, pages = {}, set()
        with self.lock:
            log = list(self.log)
        for port, host, path in log:
            p, _, query = path.partition("?")
            marker = urllib.parse.parse_qs(query).get("r", [None])[0]
            if marker:
                by_marker.setdefault(marker, []).append((port, host, path))
            elif p.startswith("/case/"):
                pages.add(p[6:])
        return by_marker, pages

    def close(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()


def find_chromium(given):
    if given:
        return shutil.which(given) or (given if os.access(given, os.X_OK) else None)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_chromium(chromium, url, workdir, budget):
    """Loads url once in headless Chromium; returns (exit status, dumped DOM)."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    # Since Chromium 132, --headless is the "new" headless mode (the full browser without a
    # window); it supports --dump-dom and --virtual-time-budget (virtual time waits for pending
    # network fetches, so the budget is not wall-clock time).
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--no-default-browser-check", "--disable-extensions", "--disable-sync",
        # Chromium's own background traffic would also be mapped to 127.0.0.1: keep it off.
        "--disable-background-networking", "--disable-component-update", "--no-proxy-server",
        # Keep plain http:// as it is (no automatic upgrade attempts to https://).
        "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * 127.0.0.1, EXCLUDE localhost",
        f"--virtual-time-budget={budget}", "--dump-dom", url,
    ]
    # Chromium keeps crash-report settings and dconf state under $XDG_CONFIG_HOME and
    # $XDG_CACHE_HOME whatever --user-data-dir says: keep those in the throwaway profile too.
    env = dict(os.environ, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group of the Chromium we started
        proc.communicate()
        return None, ""
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return proc.returncode, out.decode("utf-8", "replace")


def ran_scripts(dom):
    """Indices n of the data-ran-<n> attributes on the dumped <html> element."""
    m = re.search(r"<html\b([^>]*)>", dom, re.I)
    return {int(x) for x in re.findall(r"\bdata-ran-(\d+)", m.group(1))} if m else set()


def short(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases")
    ap.add_argument("--chromium", help="browser binary (default: chromium, chromium-browser "
                    "or google-chrome on PATH)")
    ap.add_argument("--jobs", type=int, default=2, help="concurrent browsers (default 2)")
    ap.add_argument("--budget", type=int, default=4000, help="--virtual-time-budget in ms")
    ap.add_argument("--only", action="append", help="run only this case id (repeatable)")
    ap.add_argument("--control", action="store_true",
                    help="check the harness: run every case with its policies removed; every "
                    "resource must then load (so each 'not loaded' in a real run is CSP's doing)")
    args = ap.parse_args()

    chromium = find_chromium(args.chromium)
    if not chromium:
        print("chromium_csp.py: no chromium, chromium-browser or google-chrome found", file=sys.stderr)
        return 77
    version = subprocess.run([chromium, "--version"], capture_output=True, text=True,
                             timeout=60).stdout.strip()

    with open(args.cases) as f:
        raw_cases = json.load(f)
    if args.only:
        raw_cases = [c for c in raw_cases if c.get("id") in set(args.only)]
    if args.control:
        raw_cases = [dict(c, header=[], report_only=[], meta=[]) for c in raw_cases]

    started = time.monotonic()
    site = Site()
    workdir = tempfile.mkdtemp(prefix="chromium-csp-")
    try:
        try:
            cases = [Case(c, site.p, site.q) for c in raw_cases]
            if len({c.id for c in cases}) != len(cases):
                raise CaseError("case ids must be unique")
            for c in cases:
                site.add(c)
        except CaseError as e:
            print(f"chromium_csp.py: {e}", file=sys.stderr)
            return 2
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = dict(zip((c.id for c in cases),
                            pool.map(lambda c: run_chromium(chromium, c.page_url, workdir, args.budget),
                                     cases)))
    finally:
        site.close()
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started

    by_marker, pages = site.requests()
    results, problems, notes = [], [], []
    # Every marked request must be one some case expects, at the URL it expects.
    expected = {m: e for c in cases for m, e in c.expected_markers().items()}
    for marker, reqs in sorted(by_marker.items()):
        if marker not in expected:
            notes.append(f"unexpected request http://{reqs[0][1]}{reqs[0][2]}")
            continue
        want = urllib.parse.urlsplit(expected[marker][2])
        for port, host, path in reqs:
            if host != want.netloc or path != want.path + "?" + want.query:
                notes.append(f"{marker} requested as http://{host}{path}, "
                             f"expected {expected[marker][2]}")
    for c in cases:
        status, dom = runs[c.id]
        if status != 0 or "<html" not in dom.lower() or c.id not in pages:
            problems.append(f"{c.id}: the page did not load (chromium exit status {status})")
            continue
        ran = ran_scripts(dom)
        if c.needs_control() and c.id + "-control" not in by_marker:
            problems.append(f"{c.id}: the same-origin control image did not load, so the "
                            "inline-style probes cannot be observed (allow img-src 'self')")
        for n, r in enumerate(c.resources):
            kind = r["kind"]
            fetched = c.marker(n) in by_marker
            loaded = (n in ran) if kind == "inline-script" else fetched
            # The body a script runs comes from the last hop of a redirect.
            arrived = c.marker(n, hop=1 if c.has_redirect(n) else 0) in by_marker
            if kind == "script" and (n in ran) != arrived:
                (notes if arrived else problems).append(
                    f"{c.id}: script {n} was {'fetched but did not run' if arrived else 'run but never fetched'}")
            dependents = [m for m, d in enumerate(c.resources) if d.get("via") == n]
            if dependents and n not in ran:
                problems.append(f"{c.id}: script {n} did not run, so resources {dependents} "
                                "(created by it) say nothing; the policy must allow it")
            rec = {"case": c.id, "resource": n, "origin": c.origin, "policy": c.policy,
                   "report_only_policy": c.report_only, "meta_policy": c.meta, "kind": kind}
            if kind in EXTERNAL:
                rec["url"] = c.url(n)
            else:
                rec["body"] = c.body(n)
            rec.update(c.attrs(n))
            if r.get("attribute"):
                rec["attribute"] = True
            if r.get("via") is not None:
                rec["via"] = r["via"]
            rec.update(parser_inserted=r.get("via") is None, redirect_count=0, loaded=loaded)
            results.append(rec)
            if c.has_redirect(n):
                hop = {k: v for k, v in rec.items() if k != "loaded"}
                hop.update(url=c.url(n, hop=1), redirect_count=1, redirected_from=c.url(n),
                           loaded=c.marker(n, 1) in by_marker)
                results.append(hop)
        if args.control:
            problems += [f"{c.id}: resource {r['resource']} (hop {r['redirect_count']}) did not "
                         "load without any policy" for r in results if r["case"] == c.id and not r["loaded"]]

    json.dump({"chromium": version, "results": results}, sys.stdout, indent=1)
    sys.stdout.write("\n")

    # The summary, for reading by eye.
    err = sys.stderr
    print(f"{'case':36} {'n':>2} {'kind':13} {'loaded':6}  url / body", file=err)
    for r in results:
        what = (r.get("url") or r.get("body", "")).replace("\n", " ")
        what = what.replace(f":{site.p}", ":P").replace(f":{site.q}", ":Q")
        tag = (" [nonce=%s]" % r["nonce"]) if "nonce" in r else ""
        tag += " [dynamic]" if not r["parser_inserted"] else ""
        tag += " [after redirect]" if r["redirect_count"] else ""
        print(f"{short(r['case'], 36):36} {r['resource']:>2} {r['kind']:13} "
              f"{'yes' if r['loaded'] else 'no':6}  {short(what, 70)}{tag}", file=err)
    for n in notes:
        print(f"note: {n}", file=err)
    for p in problems:
        print(f"PROBLEM: {p}", file=err)
    print(f"{version}; {len(cases)} cases, {len(results)} results in {elapsed:.1f} s "
          f"(ports P={site.p}, Q={site.q})", file=err)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
