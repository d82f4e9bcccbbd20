import KeywardCore

/// Sample login pages for `keyward csp` (the demo and the live-fetch tests): a site that embeds the
/// CaptchaLa widget under different Content-Security-Policies. `?key=` sets the widget's App Key
/// (App Keys are public: every visitor's browser sees them).
public enum EmulatorSite {
  static let nonce = "kwdemo"

  static let good =
    "default-src 'self'; script-src 'self' 'nonce-\(nonce)' https://cdn.captcha-cdn.net; "
    + "style-src 'self' https://cdn.captcha-cdn.net; connect-src 'self' https://apiv1.captcha.la; "
    + "object-src 'none'; base-uri 'none'"

  public static let scenarios = [
    "login": "every resource allowed (nonce on the loader and the boot script)",
    "blocked": "script-src without the CDN: the loader passes by its nonce, the script it inserts does not",
    "meta": "the header allows the CDN; a <meta> policy in <head> takes it away",
    "no-loader": "the widget without its loader script",
    "redirect": "302 → /site/hop → 301 → /site/login",
    "loop": "a redirect to itself",
    "error": "HTTP 500",
  ]

  public static func respond(path: String, query: String?) -> EmulatorResponse {
    let scenario = String(path.dropFirst("/site/".count))
    let params = (query ?? "").split(separator: "&").reduce(into: [String: String]()) { out, pair in
      let kv = pair.split(separator: "=", maxSplits: 1)
      if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
    }
    let key = (params["key"] ?? "demo-app-key").filter {
      $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_"
    }
    let q = query.map { "?" + $0 } ?? ""
    func redirect(_ status: Int, _ to: String) -> EmulatorResponse {
      EmulatorResponse(status: status, headers: [("Location", to)], body: [], delayMs: 0, hang: false)
    }
    func page(csp: String, meta: String? = nil, loader: Bool = true) -> EmulatorResponse {
      var head = ""
      if let meta { head += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(meta)\">\n" }
      if loader {
        head +=
          "<script src=\"https://cdn.captcha-cdn.net/captchala-loader.js\" nonce=\"\(nonce)\" defer></script>\n"
      }
      head +=
        "<script nonce=\"\(nonce)\">window.captchalaReady = () => captchala.render('#login-captcha');</script>\n"
      let html = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Sign in</title>
        \(head)</head><body>
        <form method="post" action="/login">
        <input name="email"><input name="password" type="password">
        <div id="login-captcha" data-captchala data-app-key="\(key)" data-action="login"></div>
        <input type="hidden" name="captchala_token">
        <button>Sign in</button>
        </form>
        </body></html>

        """
      return EmulatorResponse(
        status: 200,
        headers: [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", csp)],
        body: Array(html.utf8), delayMs: 0, hang: false)
    }
    switch scenario {
    case "login": return page(csp: good)
    case "blocked":
      return page(csp: "default-src 'self'; script-src 'self' 'nonce-\(nonce)'; object-src 'none'")
    case "meta": return page(csp: good, meta: "script-src 'self' 'nonce-\(nonce)'")
    case "no-loader": return page(csp: good, loader: false)
    case "redirect": return redirect(302, "/site/hop" + q)
    case "hop": return redirect(301, "/site/login" + q)
    case "loop": return redirect(302, "/site/loop")
    case "error":
      return EmulatorResponse(status: 500, headers: [], body: Array("oops".utf8), delayMs: 0, hang: false)
    default:
      return EmulatorResponse(
        status: 404, headers: [("Content-Type", "text/plain")],
        body: Array(
          "no such page; try \(scenarios.keys.sorted().map { "/site/" + $0 }.joined(separator: ", "))\n".utf8),
        delayMs: 0, hang: false)
    }
  }
}
