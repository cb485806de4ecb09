//! Log in, log out, sign up, and the language switch.
//!
//! - `GET /app/login`: the form (a signed-in visitor goes straight to Today). `POST` checks the
//!   password like `POST /api/v1/sessions` (same limits, same 401 for every failure), opens the
//!   same kind of session and sets it as the `salon_session` cookie; 303 to `next` (a console
//!   path) or `/app/`.
//! - `POST /app/logout` ends the session (like `DELETE /api/v1/sessions/current`).
//! - `GET/POST /app/signup`: a chain subscribes (the signup API's fields) and lands on Today
//!   with the first-run checklist.
//! - `POST /app/locale`: the staff member's language for the console.
//!
//! The login and signup forms are posted before there is a session: they carry a random token
//! that must match the `salon_form` cookie set with the form, and the `Origin` must be ours.

use super::frame::{safe_next, Anyone, Assets, Console, ConsoleError, Form};
use super::i18n::{self, Lang};
use super::session;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::domain::{Locale, Password};
use shared::tenancy::{self, LoginAttempt, NewSignup};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/app/login")
            .route(web::get().to(login_form))
            .route(web::post().to(login)),
    )
    .service(web::resource("/app/logout").route(web::post().to(logout)))
    .service(
        web::resource("/app/signup")
            .route(web::get().to(signup_form))
            .route(web::post().to(signup)),
    )
    .service(web::resource("/app/locale").route(web::post().to(set_locale)));
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

fn query_lang(req: &HttpRequest, asked: Option<&str>) -> Lang {
    asked
        .and_then(|tag| Locale::parse(tag).ok())
        .map_or_else(|| i18n::from_accept_language(req), Lang::from)
}

#[derive(Serialize)]
struct LoginPage<'a> {
    lang: &'static str,
    assets: Assets,
    form_token: &'a str,
    next: &'a str,
    email: &'a str,
    failed: Option<&'static str>,
    flash: Option<String>,
}

fn bare_page(
    status: StatusCode,
    template: &str,
    data: &impl Serialize,
    form_token: &str,
    secure: bool,
) -> HttpResponse {
    let mut response = super::frame::page_response(status, super::templates::render_bare(template, data));
    let _ = response.add_cookie(&session::form_cookie(form_token, secure));
    let _ = response.add_cookie(&session::removal(session::FLASH_COOKIE, secure));
    response
}

fn secure(state: &AppState) -> bool {
    session::secure(state.config.public_base_url.as_deref())
}

async fn login_form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> HttpResponse {
    // Already signed in: straight to the console.
    if let Some(token) = session::token_from_cookie(&req) {
        if crate::middleware::session(&state, token).await.is_ok() {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, safe_next(query.next.as_deref())))
                .finish();
        }
    }
    let token = session::new_form_token();
    let next = safe_next(query.next.as_deref());
    let flash = req
        .cookie(session::FLASH_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|key| i18n::is_flash(key));
    let page = LoginPage {
        lang: query_lang(&req, query.lang.as_deref()).tag(),
        assets: Assets::current(),
        form_token: &token,
        next: &next,
        email: "",
        failed: None,
        flash,
    };
    bare_page(StatusCode::OK, "login.html", &page, &token, secure(&state))
}

/// The pre-session CSRF checks: our own origin, and the form's token equal to its cookie's.
async fn public_form(req: &HttpRequest, state: &AppState, body: web::Bytes) -> Result<Form, ConsoleError> {
    if !session::from_our_site(req, state.config.public_base_url.as_deref()) {
        return Err(ConsoleError::CsrfRefused);
    }
    let form = Form::parse(&body);
    let cookie = req
        .cookie(session::FORM_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if !session::same_token(form.get(session::CSRF_FIELD).unwrap_or_default(), &cookie) {
        return Err(ConsoleError::CsrfRefused);
    }
    Ok(form)
}

async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ConsoleError> {
    let form = public_form(&req, &state, body).await?;
    let lang = i18n::from_accept_language(&req);
    let email = form.get("email").unwrap_or_default().to_owned();
    let next = safe_next(form.get("next"));
    let refuse = |status: StatusCode, failed: &'static str| {
        let token = session::new_form_token();
        let page = LoginPage {
            lang: lang.tag(),
            assets: Assets::current(),
            form_token: &token,
            next: &next,
            email: &email,
            failed: Some(failed),
            flash: None,
        };
        bare_page(status, "login.html", &page, &token, secure(&state))
    };
    if state.limits.login(state.client_address(&req), &email).is_err() {
        return Ok(refuse(StatusCode::TOO_MANY_REQUESTS, "login.too_many"));
    }
    let attempt = LoginAttempt {
        email: email.clone(),
        password: Password::attempt(form.get("password").unwrap_or_default()),
    };
    match tenancy::login(&state.db, attempt, state.now(), state.config.session_ttl).await {
        Ok((token, _)) => Ok(signed_in(&state, token.as_str(), &next, None)),
        Err(shared::Error::Unauthenticated) => Ok(refuse(StatusCode::UNAUTHORIZED, "login.failed")),
        // A first password an owner set opens no session: the member chooses their own on the
        // password page first, then logs in with it.
        Err(shared::Error::PasswordChangeRequired(token)) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/app/password/{}", token.as_str())))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        Err(other) => Err(other.into()),
    }
}

/// 303 to `next` with the session cookie set (and the pre-login form cookie gone).
fn signed_in(state: &AppState, token: &str, next: &str, flash: Option<&str>) -> HttpResponse {
    let secure = secure(state);
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish();
    let _ = response.add_cookie(&session::session_cookie(token, secure, state.config.session_ttl));
    let _ = response.add_cookie(&session::removal(session::FORM_COOKIE, secure));
    if let Some(key) = flash {
        let _ = response.add_cookie(&session::flash_cookie(key, secure));
    }
    response
}

async fn logout(console: Console<Anyone>) -> Result<HttpResponse, ConsoleError> {
    let auth = console.auth;
    let now = console.state.now();
    console
        .state
        .db
        .write(move |conn| tenancy::logout(conn, &auth, now))
        .await?;
    let secure = console.secure();
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/app/login"))
        .finish();
    let _ = response.add_cookie(&session::removal(session::SESSION_COOKIE, secure));
    let _ = response.add_cookie(&session::flash_cookie("flash.logged_out", secure));
    Ok(response)
}

async fn set_locale(console: Console<Anyone>) -> Result<HttpResponse, ConsoleError> {
    let locale = console.form.get("locale").and_then(|tag| Locale::parse(tag).ok());
    let back = safe_next(console.form.get("back"));
    let auth = console.auth;
    let now = console.state.now();
    console
        .state
        .db
        .write(move |conn| shared::staff::set_own_locale(conn, &auth, locale, now))
        .await?;
    Ok(console.redirect(&back, Some("flash.locale_changed")))
}

/// The time zones offered at signup (a chain elsewhere sets its own through the API).
const ZONES: &[&str] = &[
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Macau",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
];

/// The country whose national phone numbers the chain's staff type, from its zone.
fn country_of(zone: &str) -> Option<&'static str> {
    Some(match zone {
        "Asia/Shanghai" => "CN",
        "Asia/Hong_Kong" => "HK",
        "Asia/Macau" => "MO",
        "Asia/Taipei" => "TW",
        "Asia/Singapore" => "SG",
        "Asia/Tokyo" => "JP",
        "Asia/Seoul" => "KR",
        "Europe/London" => "GB",
        "America/New_York" | "America/Los_Angeles" => "US",
        "Australia/Sydney" => "AU",
        _ => return None,
    })
}

#[derive(Serialize)]
struct SignupField {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    autocomplete: &'static str,
}

const SIGNUP_FIELDS: &[SignupField] = &[
    SignupField {
        name: "tenant_name",
        kind: "text",
        autocomplete: "organization",
    },
    SignupField {
        name: "owner_name",
        kind: "text",
        autocomplete: "name",
    },
    SignupField {
        name: "email",
        kind: "email",
        autocomplete: "email",
    },
    SignupField {
        name: "password",
        kind: "password",
        autocomplete: "new-password",
    },
    SignupField {
        name: "timezone",
        kind: "select",
        autocomplete: "off",
    },
    SignupField {
        name: "locale",
        kind: "select",
        autocomplete: "off",
    },
];

#[derive(Serialize)]
struct SignupPage<'a> {
    lang: &'static str,
    assets: Assets,
    form_token: &'a str,
    fields: &'static [SignupField],
    zones_offered: &'static [&'static str],
    values: std::collections::BTreeMap<String, String>,
    errors: Vec<super::FieldMessage>,
    field_errors: std::collections::BTreeMap<String, String>,
}

async fn signup_form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> HttpResponse {
    let lang = query_lang(&req, query.lang.as_deref());
    let token = session::new_form_token();
    let mut values = std::collections::BTreeMap::new();
    values.insert("timezone".to_owned(), "Asia/Shanghai".to_owned());
    values.insert("locale".to_owned(), lang.tag().to_owned());
    let page = SignupPage {
        lang: lang.tag(),
        assets: Assets::current(),
        form_token: &token,
        fields: SIGNUP_FIELDS,
        zones_offered: ZONES,
        values,
        errors: Vec::new(),
        field_errors: Default::default(),
    };
    bare_page(StatusCode::OK, "signup.html", &page, &token, secure(&state))
}

async fn signup(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ConsoleError> {
    let form = public_form(&req, &state, body).await?;
    let lang = form
        .get("locale")
        .and_then(|tag| Locale::parse(tag).ok())
        .map_or_else(|| i18n::from_accept_language(&req), Lang::from);
    let field = |name: &str| form.get(name).unwrap_or_default().to_owned();
    let again = |status: StatusCode, error: shared::Error| {
        let token = session::new_form_token();
        let mut values = form.values();
        values.remove("password");
        let (errors, field_errors) = super::form_errors(&error, lang);
        let page = SignupPage {
            lang: lang.tag(),
            assets: Assets::current(),
            form_token: &token,
            fields: SIGNUP_FIELDS,
            zones_offered: ZONES,
            values,
            errors,
            field_errors,
        };
        bare_page(status, "signup.html", &page, &token, secure(&state))
    };
    if state.limits.signup(state.client_address(&req)).is_err() {
        return Ok(again(
            StatusCode::TOO_MANY_REQUESTS,
            shared::Error::invalid("email", "too_many", "too many signups from this address; wait a minute"),
        ));
    }
    let parsed = NewSignup::parse(
        &field("tenant_name"),
        &field("owner_name"),
        &field("email"),
        form.0
            .iter()
            .find(|(k, _)| k == "password")
            .map_or("", |(_, v)| v.as_str()),
        &field("timezone"),
        &field("locale"),
        country_of(&field("timezone")),
    );
    let new = match parsed {
        Ok(new) => new,
        Err(error) => return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, error)),
    };
    match tenancy::signup(&state.db, new, state.now(), state.config.session_ttl).await {
        Ok(outcome) => {
            // The language chosen for the chain is the owner's own for the console too.
            let auth = outcome.auth;
            let now = state.now();
            let chosen = Locale::parse(lang.tag()).ok();
            state
                .db
                .write(move |conn| shared::staff::set_own_locale(conn, &auth, chosen, now))
                .await?;
            Ok(signed_in(
                &state,
                outcome.token.as_str(),
                "/app/",
                Some("flash.welcome"),
            ))
        }
        Err(error @ (shared::Error::Validation(_) | shared::Error::Conflict { .. })) => {
            Ok(again(StatusCode::UNPROCESSABLE_ENTITY, error))
        }
        Err(other) => Err(other.into()),
    }
}
