//! What every public page shares: rendering (minijinja, HTML auto-escaping by the `.html`
//! name), the response headers (CSP without scripts, a referrer only to ourselves so the token
//! in the URL never leaks to another site, no caching), the locale choice, and the same-origin
//! check that makes the forms CSRF-safe without cookies.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use shared::domain::Locale;

/// Renders `source` (a template whose `name` ends in `.html`, so values are HTML-escaped).
pub fn render(name: &str, source: &str, context: minijinja::Value) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(name, source)?;
    env.get_template(name)?.render(context)
}

/// An HTML response with the pages' security headers.
pub fn page(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ))
        // Not `no-referrer`: with it, browsers post our own forms with `Origin: null`, and a
        // browser without `Sec-Fetch-Site` (older Safari, in-app web views) could then not be
        // told from a foreign page. `same-origin` sends the page's URL (and its token) to this
        // server only, which has it already, and nothing to any other site.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(html)
}

/// The page's language: zh-CN or en; any other locale reads English.
pub fn locale(client_locale: Option<&str>) -> Locale {
    client_locale
        .and_then(|tag| Locale::parse(tag).ok())
        .unwrap_or(Locale::En)
}

/// A form post is accepted only from our own pages. Browsers say where a request comes from in
/// `Sec-Fetch-Site`, which no page can forge: `same-origin` (our page) or `none` (typed, a
/// bookmark) pass, `same-site`/`cross-site` do not. Without it, the `Origin` must be this
/// server's or `PUBLIC_BASE_URL`; `Origin: null` (a sandboxed frame, a page with
/// `Referrer-Policy: no-referrer`) proves nothing and is refused.
/// A client sending neither header is not a browser a foreign page could drive; the token in the
/// URL authorises it.
pub fn same_origin(req: &HttpRequest, public_base_url: Option<&str>) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    origin == own || public_base_url.is_some_and(|base| origin == base.trim_end_matches('/'))
}
