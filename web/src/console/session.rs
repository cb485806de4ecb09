//! The console's session cookie and CSRF protection.
//!
//! - **Cookie** `salon_session`: the very session token the API takes as a bearer token
//!   (HttpOnly, SameSite=Lax, Path=/, Secure when `PUBLIC_BASE_URL` is https), so logout,
//!   expiry, deactivation and revocation end a console session exactly as an API one.
//!   [`token_from_cookie`] only reads it; the lookup is the API's ([`crate::middleware::session`]).
//! - **CSRF**, for every state-changing request: the `Origin` (or `Sec-Fetch-Site`) must be this
//!   site's, and the request must carry the session's CSRF token, in the form field `csrf` or the
//!   `X-CSRF-Token` header (htmx sends it from `hx-headers`). The token is derived from the
//!   session token (SHA-256 under a fixed label), so it is per session, needs no storage, and
//!   dies with the session. Before login (the login and signup forms) a random token in a
//!   short-lived cookie `salon_form` is compared with the form's copy (double submit).

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::HttpRequest;
use shared::tenancy::BearerToken;

pub const SESSION_COOKIE: &str = "salon_session";
/// The pre-login double-submit token.
pub const FORM_COOKIE: &str = "salon_form";
/// A one-shot message for the next page (a key of the message catalog).
pub const FLASH_COOKIE: &str = "salon_flash";
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session token the browser presented, if it is shaped like one. Nothing is looked up.
pub fn token_from_cookie(req: &HttpRequest) -> Option<BearerToken> {
    req.cookie(SESSION_COOKIE)
        .and_then(|cookie| BearerToken::presented(cookie.value()))
}

/// Whether cookies must be `Secure` (the service is reached over https).
pub fn secure(public_base_url: Option<&str>) -> bool {
    public_base_url.is_some_and(|url| url.starts_with("https://"))
}

fn cookie(name: &'static str, value: String, secure: bool, max_age: Option<time::Duration>) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish();
    if let Some(age) = max_age {
        cookie.set_max_age(age);
    }
    cookie
}

/// The session cookie for a fresh login; it lasts as long as the session (`SESSION_TTL`).
pub fn session_cookie(token: &str, secure: bool, ttl: chrono::Duration) -> Cookie<'static> {
    cookie(
        SESSION_COOKIE,
        token.to_owned(),
        secure,
        Some(time::Duration::seconds(ttl.num_seconds())),
    )
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut cookie = cookie(name, String::new(), secure, Some(time::Duration::ZERO));
    cookie.make_removal();
    cookie
}

pub fn form_cookie(token: &str, secure: bool) -> Cookie<'static> {
    cookie(FORM_COOKIE, token.to_owned(), secure, Some(time::Duration::hours(2)))
}

pub fn flash_cookie(key: &str, secure: bool) -> Cookie<'static> {
    cookie(FLASH_COOKIE, key.to_owned(), secure, Some(time::Duration::minutes(5)))
}

/// The CSRF token of the session whose token is `session_token`.
pub fn csrf_for(session_token: &BearerToken) -> String {
    let digest = shared::crypto::sha256_hex(format!("salon-crm console csrf\0{}", session_token.as_str()).as_bytes());
    digest[..32].to_owned()
}

/// A fresh random token for a pre-login form.
pub fn new_form_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    shared::crypto::sha256_hex(&bytes)[..32].to_owned()
}

/// Equal, in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && !a.is_empty() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: the `X-CSRF-Token` header, else the form's `csrf` field.
pub fn presented_csrf<'a>(req: &'a HttpRequest, form: &'a [(String, String)]) -> Option<&'a str> {
    req.headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| form.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str()))
}

/// A state-changing request must come from our own pages: `Sec-Fetch-Site` is `same-origin`
/// when the browser sends it; otherwise the `Origin` (or, lacking it, the `Referer`) must be
/// this server's or `PUBLIC_BASE_URL`. A request with none of them is refused: every browser
/// that runs the console sends at least one on a POST.
pub fn from_our_site(req: &HttpRequest, public_base_url: Option<&str>) -> bool {
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    let ours = |origin: &str| {
        let origin = origin.trim_end_matches('/');
        origin == own || public_base_url.is_some_and(|base| origin == base.trim_end_matches('/'))
    };
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" {
            return false;
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return origin != "null" && ours(origin);
    }
    if let Some(referer) = req.headers().get(header::REFERER).and_then(|v| v.to_str().ok()) {
        let origin: String = referer.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        return ours(&origin);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_csrf_token_is_per_session_and_not_the_session_token() {
        let a = BearerToken::generate();
        let b = BearerToken::generate();
        assert_eq!(csrf_for(&a), csrf_for(&a));
        assert_ne!(csrf_for(&a), csrf_for(&b));
        assert!(!a.as_str().contains(&csrf_for(&a)));
        assert!(same_token(&csrf_for(&a), &csrf_for(&a)));
        assert!(!same_token(&csrf_for(&a), &csrf_for(&b)));
        assert!(!same_token("", ""));
    }

    #[test]
    fn only_our_own_origin_may_post() {
        let base = Some("https://crm.example.com");
        let with = |headers: &[(&str, &str)]| {
            let mut req = TestRequest::post()
                .uri("/app/logout")
                .insert_header(("host", "127.0.0.1:8080"));
            for (k, v) in headers {
                req = req.insert_header((*k, *v));
            }
            from_our_site(&req.to_http_request(), base)
        };
        assert!(with(&[("origin", "http://127.0.0.1:8080")]));
        assert!(with(&[("origin", "https://crm.example.com")]));
        assert!(with(&[("referer", "http://127.0.0.1:8080/app/clients")]));
        assert!(with(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:8080")
        ]));
        assert!(!with(&[("origin", "https://evil.example")]));
        assert!(!with(&[("origin", "null")]));
        assert!(!with(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:8080")
        ]));
        assert!(!with(&[("referer", "https://evil.example/x")]));
        assert!(!with(&[]));
    }
}
