import Testing

@testable import KeywardCSP
@testable import KeywardCore

/// One question with the answer CSP Level 3's algorithms give (§6.7 "matching", §6.1 the
/// pre-request checks, §6.8.3 the fallback lists). `policies` are header values (several =
/// several header lines); `meta` and `reportOnly` are the other two places a policy can come from.
struct CSPCase: CustomTestStringConvertible, Sendable {
  var name: String
  var policies: [String]
  var kind: ResourceKind
  var url: String?
  var allowed: Bool
  var page = "https://example.com/login"
  var nonce = ""
  var integrity = ""
  var parserInserted = true
  var redirects = 0
  var body: String? = nil
  var meta: [String] = []
  var reportOnly: [String] = []
  /// The directive expected to decide (nil: do not check).
  var directive: String? = nil

  var testDescription: String { name }

  /// 'sha256-…' of "color:red" (Python: hashlib.sha256(b"color:red")).
  static let colorRed = "'sha256-8f935d27GvUutRyY9yWScUMiFUk4WTdZURISiYfPOeQ='"

  static let alert = "alert(1)"
  // Base64 of SHA-2 of "alert(1)", from an independent implementation (Python hashlib).
  static let alert256 = "bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI="
  static let alert384 = "HT2E9NfWiuQ/w1PRai+hTyqW16NIoCGA/m8VQDUopfAtcz6YQjtsMmQd5uRbVDpW"
  static let alert512 =
    "+uuYUxxe7oWIShQrWEmMn/fixz/rxDP4qcAZddXLDM3nN8/tpk1ZC2jXQk6N+mXE65jwfzNVUJL/qjA3y9KbuQ=="
}

func c(
  _ name: String, _ policy: String, _ kind: ResourceKind, _ url: String?, _ allowed: Bool,
  page: String = "https://example.com/login", nonce: String = "", integrity: String = "",
  parserInserted: Bool = true, redirects: Int = 0, body: String? = nil, meta: [String] = [],
  reportOnly: [String] = [], directive: String? = nil, policies: [String]? = nil
) -> CSPCase {
  CSPCase(
    name: name, policies: policies ?? (policy.isEmpty ? [] : [policy]), kind: kind, url: url,
    allowed: allowed,
    page: page, nonce: nonce, integrity: integrity, parserInserted: parserInserted, redirects: redirects,
    body: body, meta: meta, reportOnly: reportOnly, directive: directive)
}

let cdn = "https://cdn.example.net"

let hostCases: [CSPCase] = [
  c("host with scheme", "script-src https://cdn.example.net", .script, "\(cdn)/a.js", true),
  c(
    "https source refuses http", "script-src https://cdn.example.net", .script, "http://cdn.example.net/a.js",
    false),
  c("http source covers https", "script-src http://cdn.example.net", .script, "\(cdn)/a.js", true),
  c("scheme-less takes the page's https", "script-src cdn.example.net", .script, "\(cdn)/a.js", true),
  c(
    "scheme-less on https page refuses http", "script-src cdn.example.net", .script,
    "http://cdn.example.net/a.js", false),
  c(
    "scheme-less on http page allows https", "script-src cdn.example.net", .script, "\(cdn)/a.js", true,
    page: "http://example.com/"),
  c(
    "scheme-less on http page allows http", "script-src cdn.example.net", .script,
    "http://cdn.example.net/a.js", true, page: "http://example.com/"),
  c("wildcard subdomain", "script-src *.example.net", .script, "\(cdn)/a.js", true),
  c("wildcard any depth", "script-src *.example.net", .script, "https://a.b.example.net/a.js", true),
  c("wildcard not the bare domain", "script-src *.example.net", .script, "https://example.net/a.js", false),
  c("wildcard not a longer name", "script-src *.example.net", .script, "https://evilexample.net/a.js", false),
  c("wildcard not another domain", "script-src *.example.net", .script, "https://example.org/a.js", false),
  c(
    "wildcard with https refuses http", "script-src https://*.example.net", .script, "http://a.example.net/",
    false),
  c("star allows https", "script-src *", .script, "https://any.org/x.js", true),
  c("star allows http", "script-src *", .script, "http://any.org/x.js", true),
  c("star refuses data:", "script-src *", .script, "data:text/javascript,1", false),
  c("star refuses blob:", "script-src *", .script, "blob:https://example.com/1", false),
  c("star img refuses data:", "img-src *", .img, "data:image/png;base64,AAAA", false),
  c("star plus data:", "img-src * data:", .img, "data:image/png;base64,AAAA", true),
  c("scheme source data:", "img-src data:", .img, "data:image/png;base64,AAAA", true),
  c("scheme source https:", "script-src https:", .script, "https://anything.org/x", true),
  c("scheme source https: refuses http", "script-src https:", .script, "http://anything.org/x", false),
  c("scheme source http: upgrades", "script-src http:", .script, "https://anything.org/x", true),
  c("ws: covers wss", "connect-src ws:", .connect, "wss://rt.example.net/", true),
  c("ws: covers https", "connect-src ws:", .connect, "https://rt.example.net/", true),
  c("ws: covers http", "connect-src ws:", .connect, "http://rt.example.net/", true),
  c("wss: covers https", "connect-src wss:", .connect, "https://rt.example.net/", true),
  c("wss: refuses http", "connect-src wss:", .connect, "http://rt.example.net/", false),
  c("wss: refuses ws", "connect-src wss:", .connect, "ws://rt.example.net/", false),
  c("blob: scheme for workers", "worker-src blob:", .worker, "blob:https://example.com/1", true),
  c("explicit port matches", "script-src https://cdn.example.net:8443", .script, "\(cdn):8443/a.js", true),
  c(
    "explicit port refuses default", "script-src https://cdn.example.net:8443", .script, "\(cdn)/a.js", false),
  c("no port refuses another port", "script-src https://cdn.example.net", .script, "\(cdn):8443/a.js", false),
  c("no port, URL says :443", "script-src https://cdn.example.net", .script, "\(cdn):443/a.js", true),
  c("source :443, URL default", "script-src https://cdn.example.net:443", .script, "\(cdn)/a.js", true),
  c("port wildcard", "script-src https://cdn.example.net:*", .script, "\(cdn):1234/a.js", true),
  c(
    "scheme-less with port", "script-src cdn.example.net:8080", .script, "http://cdn.example.net:8080/", true,
    page: "http://example.com/"),
  c("host star any https host", "script-src https://*", .script, "https://x.org/", true),
  c("host star refuses http", "script-src https://*", .script, "http://x.org/", false),
  c("star with port", "script-src *:8080", .script, "http://x.org:8080/a", true, page: "http://example.com/"),
  c(
    "star with port refuses default", "script-src *:8080", .script, "http://x.org/a", false,
    page: "http://example.com/"),
  c(
    "IPv4 written out", "script-src 127.0.0.1:*", .script, "http://127.0.0.1:8080/a.js", true,
    page: "http://127.0.0.1:8080/"),
  c(
    "wildcard never matches an IP", "script-src *.0.0.1:*", .script, "http://127.0.0.1:8080/a.js", false,
    page: "http://localhost/"),
  c("uppercase source", "script-src HTTPS://CDN.EXAMPLE.NET", .script, "\(cdn)/a.js", true),
  c(
    "uppercase URL host", "script-src https://cdn.example.net", .script, "HTTPS://CDN.Example.NET/a.js", true),
  c(
    "userinfo in URL", "script-src https://cdn.example.net", .script, "https://user@cdn.example.net/a.js",
    true),
  c("relative URL and self", "script-src 'self'", .script, "/a.js", true),
  c("protocol-relative URL", "script-src https://cdn.example.net", .script, "//cdn.example.net/a.js", true),
  c("bare 'https://' is invalid", "script-src https://", .script, "\(cdn)/a.js", false),
  c(
    "a host with an empty label is invalid", "script-src https://cdn..example.net", .script, "\(cdn)/a.js",
    false),
]

let pathCases: [CSPCase] = [
  c("directory prefix", "script-src https://cdn.example.net/lib/", .script, "\(cdn)/lib/a.js", true),
  c(
    "directory prefix deeper", "script-src https://cdn.example.net/lib/", .script, "\(cdn)/lib/sub/a.js", true
  ),
  c(
    "directory is whole segments", "script-src https://cdn.example.net/lib/", .script, "\(cdn)/library/a.js",
    false),
  c("directory without its slash", "script-src https://cdn.example.net/lib/", .script, "\(cdn)/lib", false),
  c("exact file", "script-src https://cdn.example.net/lib/a.js", .script, "\(cdn)/lib/a.js", true),
  c(
    "exact file ignores the query", "script-src https://cdn.example.net/lib/a.js", .script,
    "\(cdn)/lib/a.js?v=2", true),
  c(
    "exact file ignores the fragment", "script-src https://cdn.example.net/lib/a.js", .script,
    "\(cdn)/lib/a.js#x", true),
  c(
    "exact file, longer name", "script-src https://cdn.example.net/lib/a.js", .script, "\(cdn)/lib/a.jsx",
    false),
  c(
    "paths are case-sensitive", "script-src https://cdn.example.net/lib/a.js", .script, "\(cdn)/lib/A.js",
    false),
  c(
    "directories are case-sensitive", "script-src https://cdn.example.net/Lib/", .script, "\(cdn)/lib/a.js",
    false),
  c(
    "exact file is not a directory", "script-src https://cdn.example.net/lib/a.js", .script,
    "\(cdn)/lib/a.js/", false),
  c(
    "source path percent-decoded", "script-src https://cdn.example.net/lib/%61.js", .script,
    "\(cdn)/lib/a.js", true),
  c(
    "URL path percent-decoded", "script-src https://cdn.example.net/lib/a.js", .script, "\(cdn)/lib/%61.js",
    true),
  c(
    "path ignored after a redirect", "script-src https://cdn.example.net/lib/a.js", .script,
    "\(cdn)/other/b.js", true, redirects: 1),
  c(
    "path checked without a redirect", "script-src https://cdn.example.net/lib/a.js", .script,
    "\(cdn)/other/b.js", false),
  c(
    "host still checked after a redirect", "script-src https://cdn.example.net/lib/", .script,
    "https://evil.net/lib/a.js", false, redirects: 2),
  c("root path allows all", "script-src https://cdn.example.net/", .script, "\(cdn)/x/y/z.js", true),
  c("scheme-less with path", "script-src cdn.example.net/lib/", .script, "\(cdn)/lib/x.js", true),
  c("path with '?' is invalid", "script-src https://cdn.example.net/a.js?v=1", .script, "\(cdn)/a.js", false),
  c(
    "invalid source does not kill the list", "script-src https://cdn.example.net/a?b https://cdn.example.net",
    .script, "\(cdn)/a", true),
  c(
    "connect path directory", "connect-src https://api.example.net/v1/", .connect,
    "https://api.example.net/v1/x", true),
  c(
    "connect path needs the slash", "connect-src https://api.example.net/v1/", .connect,
    "https://api.example.net/v1", false),
  c(
    "dot segments resolved", "script-src https://cdn.example.net/lib/", .script, "\(cdn)/other/../lib/a.js",
    true),
]

let selfAndNoneCases: [CSPCase] = [
  c("self same origin", "script-src 'self'", .script, "https://example.com/a.js", true),
  c("self other port", "script-src 'self'", .script, "https://example.com:8443/a.js", false),
  c("self subdomain", "script-src 'self'", .script, "https://sub.example.com/a.js", false),
  c(
    "self upgrade to https", "script-src 'self'", .script, "https://example.com/a.js", true,
    page: "http://example.com/"),
  c("self refuses a downgrade", "script-src 'self'", .script, "http://example.com/a.js", false),
  c(
    "self with a port", "script-src 'self'", .script, "http://example.com:8080/x", true,
    page: "http://example.com:8080/"),
  c(
    "self ws on http page", "connect-src 'self'", .connect, "ws://example.com/", true,
    page: "http://example.com/"),
  c("self wss on https page", "connect-src 'self'", .connect, "wss://example.com/", true),
  c("self default port written", "script-src 'self'", .script, "https://example.com:443/a.js", true),
  c("self is case-insensitive", "script-src 'SELF'", .script, "https://example.com/a.js", true),
  c("unquoted self is a host name", "script-src self", .script, "https://example.com/a.js", false),
  c("none blocks", "script-src 'none'", .script, "https://example.com/a.js", false),
  c("none is case-insensitive", "script-src 'NONE'", .script, "https://example.com/a.js", false),
  c("none with a host is ignored", "script-src 'none' https://cdn.example.net", .script, "\(cdn)/a.js", true),
  c("empty directive allows nothing", "script-src", .script, "https://example.com/a.js", false),
  c("empty directive then another", "script-src ; img-src *", .script, "https://example.com/a.js", false),
  c(
    "unsafe-inline never allows an external script", "script-src 'unsafe-inline'", .script,
    "https://example.com/a.js", false),
]

let fallbackCases: [CSPCase] = [
  c(
    "default-src governs scripts", "default-src 'self'", .script, "\(cdn)/a.js", false,
    directive: "default-src"),
  c(
    "default-src allows", "default-src https://cdn.example.net", .script, "\(cdn)/a.js", true,
    directive: "default-src"),
  c(
    "script-src beats default-src", "default-src 'none'; script-src https://cdn.example.net", .script,
    "\(cdn)/a.js", true, directive: "script-src"),
  c(
    "script-src-elem beats script-src", "script-src 'none'; script-src-elem https://cdn.example.net", .script,
    "\(cdn)/a.js", true, directive: "script-src-elem"),
  c(
    "script-src-elem 'none' wins", "script-src-elem 'none'; script-src https://cdn.example.net", .script,
    "\(cdn)/a.js", false, directive: "script-src-elem"),
  c(
    "values are never merged", "default-src https://cdn.example.net; script-src 'self'", .script,
    "\(cdn)/a.js", false, directive: "script-src"),
  c(
    "style-src beats default-src", "default-src 'none'; style-src https://cdn.example.net", .style,
    "\(cdn)/a.css", true),
  c(
    "style-src-elem beats style-src", "style-src 'none'; style-src-elem https://cdn.example.net", .style,
    "\(cdn)/a.css", true),
  c(
    "style falls back to default-src", "default-src 'self'", .style, "\(cdn)/a.css", false,
    directive: "default-src"),
  c(
    "style-src does not govern scripts", "style-src https://cdn.example.net", .script,
    "https://evil.net/a.js", true, directive: nil),
  c(
    "script-src does not govern images", "script-src https://a.example", .img, "https://b.example/i.png", true
  ),
  c("default-src governs images", "default-src 'none'", .img, "https://b.example/i.png", false),
  c("img-src overrides", "default-src 'none'; img-src *", .img, "https://b.example/i.png", true),
  c(
    "frame falls back to child-src", "default-src 'none'; child-src https://f.example", .frame,
    "https://f.example/x", true, directive: "child-src"),
  c(
    "frame-src beats child-src", "child-src 'none'; frame-src https://f.example", .frame,
    "https://f.example/x", true, directive: "frame-src"),
  c(
    "frame-src 'none' wins", "frame-src 'none'; child-src https://f.example", .frame, "https://f.example/x",
    false),
  c(
    "frame falls back to default-src", "default-src 'self'", .frame, "https://f.example/x", false,
    directive: "default-src"),
  c(
    "script-src does not govern frames", "script-src https://f.example", .frame, "https://other.example/",
    true),
  c(
    "worker falls back to script-src", "script-src https://w.example", .worker, "https://w.example/w.js",
    true, parserInserted: false, directive: "script-src"),
  c(
    "worker ignores script-src-elem", "script-src-elem https://w.example; script-src 'none'", .worker,
    "https://w.example/w.js", false, parserInserted: false, directive: "script-src"),
  c(
    "worker prefers child-src to script-src", "child-src https://w.example; script-src 'none'", .worker,
    "https://w.example/w.js", true, parserInserted: false, directive: "child-src"),
  c(
    "worker-src beats child-src", "worker-src 'none'; child-src https://w.example", .worker,
    "https://w.example/w.js", false, parserInserted: false, directive: "worker-src"),
  c(
    "worker falls to default-src", "default-src https://w.example", .worker, "https://w.example/w.js", true,
    parserInserted: false),
  c("connect falls to default-src", "default-src 'self'", .connect, "https://api.example/", false),
  c(
    "connect-src allows", "default-src 'self'; connect-src https://api.example", .connect,
    "https://api.example/v", true),
  c(
    "font-src", "default-src 'none'; font-src https://fonts.example", .font, "https://fonts.example/f.woff2",
    true),
  c("font falls to default-src", "default-src 'none'", .font, "https://fonts.example/f.woff2", false),
  c("media-src", "media-src https://m.example", .media, "https://m.example/v.mp4", true),
  c("object-src 'none'", "object-src 'none'", .object, "https://example.com/x.swf", false),
  c("manifest-src self", "manifest-src 'self'", .manifest, "https://example.com/app.webmanifest", true),
  c(
    "directive name with a colon is unknown", "script-src: https://cdn.example.net; default-src 'none'",
    .script, "\(cdn)/a.js", false, directive: "default-src"),
  c(
    "directive names are case-insensitive", "SCRIPT-SRC https://cdn.example.net; default-src 'none'", .script,
    "\(cdn)/a.js", true, directive: "script-src"),
  c(
    "first duplicate wins", "script-src 'none'; script-src https://cdn.example.net", .script, "\(cdn)/a.js",
    false),
  c(
    "non-ASCII token dropped whole", "script-src https://cdn.example.net\u{a0}; default-src 'none'", .script,
    "\(cdn)/a.js", false, directive: "default-src"),
  c(
    "NBSP is not whitespace", "default-src 'none';\u{a0}script-src https://cdn.example.net", .script,
    "\(cdn)/a.js", false),
  c(
    "missing semicolon swallows the next directive", "script-src https://cdn.example.net default-src 'none'",
    .script, "\(cdn)/a.js", true),
  c("unknown directive ignored", "scripts-src 'none'", .script, "\(cdn)/a.js", true),
  c("no policy", "", .script, "\(cdn)/a.js", true),
  c("empty policies in a list", ", ,", .script, "\(cdn)/a.js", true),
  c(
    "whitespace around tokens", "  script-src\thttps://cdn.example.net  ;  default-src 'none' ", .script,
    "\(cdn)/a.js", true),
]

let multiPolicyCases: [CSPCase] = [
  c(
    "two policies in one header, second blocks", "script-src https://a.example, script-src https://b.example",
    .script, "https://a.example/x.js", false),
  c(
    "two policies, both allow",
    "script-src https://a.example https://b.example, script-src https://a.example", .script,
    "https://a.example/x.js", true),
  c(
    "two header lines, second blocks", "", .script, "https://a.example/x.js", false,
    policies: ["script-src https://a.example", "script-src 'self'"]),
  c(
    "two header lines, both allow", "", .script, "https://a.example/x.js", true,
    policies: ["script-src https://a.example", "default-src https://a.example"]),
  c(
    "a second policy without the directive does not restrict", "script-src https://a.example, img-src 'none'",
    .script, "https://a.example/x.js", true),
  c(
    "report-only never blocks", "script-src https://a.example", .script, "https://a.example/x.js", true,
    reportOnly: ["script-src 'none'"]),
  c(
    "report-only alone never blocks", "", .script, "https://a.example/x.js", true,
    reportOnly: ["default-src 'none'"]),
  c(
    "enforced blocks even when report-only allows", "script-src 'none'", .script, "https://a.example/x.js",
    false, reportOnly: ["script-src *"]),
  c(
    "meta adds a restriction", "script-src https://a.example", .script, "https://a.example/x.js", false,
    meta: ["script-src 'self'"]),
  c("meta alone blocks", "", .script, "https://a.example/x.js", false, meta: ["default-src 'self'"]),
  c("meta alone allows", "", .script, "https://a.example/x.js", true, meta: ["script-src https://a.example"]),
  c(
    "meta cannot loosen a header", "script-src 'none'", .script, "https://a.example/x.js", false,
    meta: ["script-src *"]),
  // A meta element holds one policy, so "img-src" and "*" after the comma are img-src sources.
  c(
    "a comma inside a meta policy is part of it", "", .img, "https://a.example/i.png", true,
    meta: ["img-src https://b.example, img-src *"]),
  c(
    "upgrade-insecure-requests upgrades before matching",
    "upgrade-insecure-requests; script-src https://cdn.example.net", .script, "http://cdn.example.net/a.js",
    true),
  c(
    "without upgrade http is refused", "script-src https://cdn.example.net", .script,
    "http://cdn.example.net/a.js", false),
  c(
    "report-only upgrade-insecure-requests does not upgrade", "script-src https://cdn.example.net", .script,
    "http://cdn.example.net/a.js", false, reportOnly: ["upgrade-insecure-requests"]),
]

let scriptCases: [CSPCase] = [
  c("nonce allows", "script-src 'nonce-abc123'", .script, "https://evil.example/x.js", true, nonce: "abc123"),
  c(
    "wrong nonce blocks", "script-src 'nonce-abc123'", .script, "https://evil.example/x.js", false,
    nonce: "abc124"),
  c(
    "nonce values are case-sensitive", "script-src 'nonce-ABC'", .script, "https://evil.example/x.js", false,
    nonce: "abc"),
  c(
    "nonce prefix is case-insensitive", "script-src 'NONCE-abc'", .script, "https://evil.example/x.js", true,
    nonce: "abc"),
  c(
    "no nonce falls back to hosts", "script-src 'nonce-abc' https://cdn.example.net", .script, "\(cdn)/a.js",
    true),
  c(
    "a malformed nonce source matches nothing", "script-src 'nonce-a*b'", .script, "\(cdn)/a.js", false,
    nonce: "a*b"),
  c("nonce for stylesheets", "style-src 'nonce-st'", .style, "https://evil.example/a.css", true, nonce: "st"),
  c(
    "nonce means nothing for images", "img-src 'nonce-im'", .img, "https://evil.example/i.png", false,
    nonce: "im"),
  c(
    "integrity listed allows", "script-src 'sha256-\(CSPCase.alert256)'", .script,
    "https://evil.example/x.js", true, integrity: "sha256-\(CSPCase.alert256)"),
  c(
    "integrity not listed", "script-src 'sha256-\(CSPCase.alert256)'", .script, "https://evil.example/x.js",
    false, integrity: "sha256-AAAA"),
  c(
    "every integrity hash must be listed", "script-src 'sha256-\(CSPCase.alert256)'", .script,
    "https://evil.example/x.js", false, integrity: "sha256-\(CSPCase.alert256) sha384-\(CSPCase.alert384)"),
  c(
    "no integrity with a hash list", "script-src 'sha256-\(CSPCase.alert256)'", .script,
    "https://evil.example/x.js", false),
  c(
    "unknown integrity algorithm is no metadata", "script-src 'sha256-\(CSPCase.alert256)'", .script,
    "https://evil.example/x.js", false, integrity: "md5-AAAA"),
  c(
    "integrity beats a host mismatch", "script-src https://cdn.example.net 'sha384-\(CSPCase.alert384)'",
    .script, "https://other.example/x.js", true, integrity: "sha384-\(CSPCase.alert384)"),
  c(
    "strict-dynamic blocks a parser-inserted host script",
    "script-src 'strict-dynamic' 'nonce-n1' https://cdn.example.net", .script, "\(cdn)/a.js", false),
  c(
    "strict-dynamic trusts script-inserted scripts",
    "script-src 'strict-dynamic' 'nonce-n1' https://cdn.example.net", .script,
    "https://anything.example/a.js", true, parserInserted: false),
  c(
    "strict-dynamic with the nonce", "script-src 'strict-dynamic' 'nonce-n1'", .script, "\(cdn)/a.js", true,
    nonce: "n1"),
  c(
    "strict-dynamic ignores self", "script-src 'strict-dynamic' 'nonce-n1' 'self'", .script,
    "https://example.com/a.js", false),
  c(
    "strict-dynamic in default-src", "default-src 'strict-dynamic' 'nonce-n1' https://cdn.example.net",
    .script, "\(cdn)/a.js", false),
  c(
    "strict-dynamic only affects scripts", "script-src 'strict-dynamic' 'nonce-n1'", .img,
    "https://x.example/i.png", true),
  c(
    "strict-dynamic and workers", "script-src 'strict-dynamic' 'nonce-n1'", .worker,
    "https://example.com/w.js", true, parserInserted: false),
  c(
    "strict-dynamic with a listed integrity", "script-src 'strict-dynamic' 'sha256-\(CSPCase.alert256)'",
    .script, "\(cdn)/a.js", true, integrity: "sha256-\(CSPCase.alert256)"),
  c(
    "strict-dynamic is case-insensitive", "script-src 'STRICT-DYNAMIC' 'nonce-n1' https://cdn.example.net",
    .script, "\(cdn)/a.js", false),
]

let inlineCases: [CSPCase] = [
  c(
    "unsafe-inline allows inline", "script-src 'unsafe-inline'", .inlineScript, nil, true, body: CSPCase.alert
  ),
  c(
    "a nonce turns unsafe-inline off", "script-src 'unsafe-inline' 'nonce-n1'", .inlineScript, nil, false,
    body: CSPCase.alert),
  c(
    "unsafe-inline with nonce, nonce given", "script-src 'unsafe-inline' 'nonce-n1'", .inlineScript, nil,
    true, nonce: "n1", body: CSPCase.alert),
  c(
    "a hash turns unsafe-inline off", "script-src 'unsafe-inline' 'sha256-AAAA'", .inlineScript, nil, false,
    body: CSPCase.alert),
  c(
    "sha256 hash allows", "script-src 'sha256-\(CSPCase.alert256)'", .inlineScript, nil, true,
    body: CSPCase.alert),
  c(
    "sha384 hash allows", "script-src 'sha384-\(CSPCase.alert384)'", .inlineScript, nil, true,
    body: CSPCase.alert),
  c(
    "sha512 hash allows", "script-src 'sha512-\(CSPCase.alert512)'", .inlineScript, nil, true,
    body: CSPCase.alert),
  c(
    "base64url hash allows", "script-src 'sha256-\(String(CSPCase.alert256.map { $0 == "+" ? "-" : $0 }))'",
    .inlineScript, nil, true, body: CSPCase.alert),
  c(
    "hash of other text", "script-src 'sha256-\(CSPCase.alert256)'", .inlineScript, nil, false,
    body: "alert(2)"),
  c(
    "whitespace changes the hash", "script-src 'sha256-\(CSPCase.alert256)'", .inlineScript, nil, false,
    body: " alert(1)"),
  c(
    "hash algorithm prefix is case-insensitive", "script-src 'SHA256-\(CSPCase.alert256)'", .inlineScript,
    nil, true, body: CSPCase.alert),
  c(
    "strict-dynamic turns unsafe-inline off", "script-src 'unsafe-inline' 'strict-dynamic'", .inlineScript,
    nil, false, body: CSPCase.alert),
  c(
    "strict-dynamic does not affect styles", "style-src 'unsafe-inline' 'strict-dynamic'", .inlineStyle, nil,
    true, body: "p{}"),
  c(
    "a nonce turns unsafe-inline off for styles", "style-src 'unsafe-inline' 'nonce-x'", .inlineStyle, nil,
    false, body: "p{}"),
  c("inline style nonce", "style-src 'nonce-x'", .inlineStyle, nil, true, nonce: "x", body: "p{}"),
  c(
    "inline falls back to default-src", "default-src 'unsafe-inline'", .inlineScript, nil, true,
    body: CSPCase.alert),
  c("inline with no policy", "", .inlineScript, nil, true, body: CSPCase.alert),
  c(
    "inline with only hosts", "script-src https://cdn.example.net", .inlineScript, nil, false,
    body: CSPCase.alert),
  c("inline nonce", "script-src 'nonce-n1'", .inlineScript, nil, true, nonce: "n1", body: CSPCase.alert),
  c(
    "inline in script-src-elem", "script-src 'none'; script-src-elem 'unsafe-inline'", .inlineScript, nil,
    true, body: CSPCase.alert),
  c(
    "style attribute with unsafe-inline", "style-src 'unsafe-inline'", .styleAttribute, nil, true,
    body: "color:red"),
  c(
    "style attribute: nonces do not apply", "style-src 'nonce-x'", .styleAttribute, nil, false, nonce: "x",
    body: "color:red"),
  c(
    "style attribute hash needs unsafe-hashes", "style-src \(CSPCase.colorRed)", .styleAttribute, nil, false,
    body: "color:red"),
  c(
    "style attribute hash with unsafe-hashes", "style-src 'unsafe-hashes' \(CSPCase.colorRed)",
    .styleAttribute, nil, true, body: "color:red"),
  c(
    "style-src-attr governs attributes", "style-src-attr 'none'; style-src 'unsafe-inline'", .styleAttribute,
    nil, false, body: "color:red"),
  c(
    "style-src-elem does not govern attributes", "style-src-elem 'none'; style-src 'unsafe-inline'",
    .styleAttribute, nil, true, body: "color:red"),
]

/// Edge cases found in review: grammar holes, encoded dot segments, workers under 'strict-dynamic'.
let reviewCases: [CSPCase] = [
  c("'*.' alone is invalid, not a wildcard", "script-src *.", .script, "https://evil.example/x.js", false),
  c("'https://*.' is invalid", "script-src https://*.", .script, "https://evil.example/x.js", false),
  c(
    "encoded dot segments are resolved", "script-src https://cdn.example.net/a/", .script,
    "\(cdn)/a/%2e%2e/evil.js", false),
  c(
    "a worker is never parser-inserted", "script-src 'strict-dynamic' 'nonce-abc' 'self'", .worker,
    "https://example.com/w.js", true),
]

let allCSPCases =
  reviewCases + hostCases + pathCases + selfAndNoneCases + fallbackCases + multiPolicyCases + scriptCases
  + inlineCases
