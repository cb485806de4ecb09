//! `/app/password/{token}`: where a staff member chooses their password, from an invitation
//! or reset email (or the token a first login answered with).
//!
//! - `GET` shows the form (greeting the member by name, with the salon's name), or a friendly
//!   page for a link that is used or expired (410) or unknown (404).
//! - `POST` (form-urlencoded `password`, `password_confirm`) sets it through
//!   `shared::tenancy::passwords::set_with_token` (single use; every session of the member
//!   ends) and points to the login; a short password or two that differ re-show the form
//!   (422). A post from a foreign `Origin` is refused (403) before anything is read.
//! - zh-CN or English by the salon's language (staff have none of their own; unknown links:
//!   the browser's `Accept-Language`); no JavaScript; [`html::page`]'s headers (a CSP without
//!   scripts, no caching, a referrer only to ourselves). The token never reaches the logs.
//!
//! Logic lives in `shared`; this page only shows it, so the staff console can restyle it or
//! call the same functions.

use super::html;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::domain::{Locale, Password};
use shared::tenancy::passwords::{self, LinkView, Lookup, Purpose};

const TEMPLATE: &str = include_str!("templates/password.html");

const FALLBACK: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Error</title></head>\
    <body><main><h1>Something went wrong</h1><p>Please try again later.</p></main></body></html>";

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(
        web::resource("/app/password/{token}")
            .route(web::get().to(show))
            .route(web::post().to(submit)),
    );
}

async fn show(req: HttpRequest, state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let fallback = browser_locale(&req);
    let token = token.into_inner();
    let now = state.now();
    match state.db.read(move |conn| passwords::find(conn, &token, now)).await {
        Ok(Lookup::Open(view)) => form_page(StatusCode::OK, &view, None, None),
        Ok(other) => closed_page(&other, fallback),
        Err(error) => error_page(&error, fallback),
    }
}

async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let fallback = browser_locale(&req);
    if !html::same_origin(&req, state.config.public_base_url.as_deref()) {
        return message_page(StatusCode::FORBIDDEN, fallback, None, Message::Forbidden);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let (password, confirm) = (field("password"), field("password_confirm"));
    let token = token.into_inner();
    let now = state.now();
    let check = token.clone();
    let view = match state.db.read(move |conn| passwords::find(conn, &check, now)).await {
        Ok(Lookup::Open(view)) => view,
        Ok(other) => return closed_page(&other, fallback),
        Err(error) => return error_page(&error, fallback),
    };
    let t = texts(view.locale);
    let parsed = Password::parse(&password);
    if parsed.is_err() {
        return form_page(StatusCode::UNPROCESSABLE_ENTITY, &view, Some(t.too_short), None);
    }
    if password != confirm {
        return form_page(StatusCode::UNPROCESSABLE_ENTITY, &view, None, Some(t.mismatch));
    }
    let Ok(password) = parsed else {
        return form_page(StatusCode::UNPROCESSABLE_ENTITY, &view, Some(t.too_short), None);
    };
    match passwords::set_with_token(&state.db, token, password, now).await {
        Ok(Lookup::Open(view)) => done_page(&view),
        Ok(other) => closed_page(&other, fallback),
        Err(error) => error_page(&error, fallback),
    }
}

/// The first language the browser asks for, for links that name no one.
fn browser_locale(req: &HttpRequest) -> Locale {
    let first = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .and_then(|tag| tag.split(';').next())
        .map(str::trim);
    html::locale(first)
}

// ---- Texts -----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Texts {
    title_invitation: &'static str,
    title_reset: &'static str,
    /// `{name}` and `{salon}` are filled in.
    greeting_invitation: &'static str,
    greeting_reset: &'static str,
    password_label: &'static str,
    password_hint: &'static str,
    confirm_label: &'static str,
    submit: &'static str,
    too_short: &'static str,
    mismatch: &'static str,
    done_title: &'static str,
    done_body: &'static str,
    login: &'static str,
    used_title: &'static str,
    used_body: &'static str,
    expired_title: &'static str,
    expired_body: &'static str,
    not_found_title: &'static str,
    not_found_body: &'static str,
    forbidden_title: &'static str,
    forbidden_body: &'static str,
    error_title: &'static str,
    error_body: &'static str,
}

const ZH: Texts = Texts {
    title_invitation: "设置登录密码",
    title_reset: "设置新密码",
    greeting_invitation: "{name}您好，欢迎加入{salon}。请设置您自己的登录密码，只有您知道它。",
    greeting_reset: "{name}您好，请为您在{salon}的账号设置一个新密码。",
    password_label: "新密码",
    password_hint: "至少 10 个字符。可以用一句容易记住的话。",
    confirm_label: "再输入一次",
    submit: "保存密码",
    too_short: "密码至少需要 10 个字符（最多 128 个）。",
    mismatch: "两次输入的密码不一致，请重新输入。",
    done_title: "密码已设置",
    done_body: "您的密码已保存，之前登录的设备已全部退出。请用新密码登录。",
    login: "前往登录",
    used_title: "链接已使用",
    used_body: "这个链接已经用过了。如需重新设置密码，请在登录页选择“忘记密码”，或请店长重新发送邀请。",
    expired_title: "链接已过期",
    expired_body: "这个链接已经过期。请在登录页选择“忘记密码”获取新链接，或请店长重新发送邀请。",
    not_found_title: "链接无效",
    not_found_body: "找不到这个链接。请确认您打开的是邮件中的完整链接。",
    forbidden_title: "无法提交",
    forbidden_body: "请直接打开邮件中的链接，在该页面上设置密码。",
    error_title: "出了点问题",
    error_body: "我们暂时无法处理您的请求，请稍后再试。",
};

const EN: Texts = Texts {
    title_invitation: "Choose your password",
    title_reset: "Choose a new password",
    greeting_invitation: "Hello {name}, welcome to {salon}. Choose your own password: only you will know it.",
    greeting_reset: "Hello {name}, choose a new password for your {salon} account.",
    password_label: "New password",
    password_hint: "At least 10 characters. A sentence you can remember works well.",
    confirm_label: "Type it again",
    submit: "Save my password",
    too_short: "Your password needs at least 10 characters (and at most 128).",
    mismatch: "The two passwords are not the same. Please type them again.",
    done_title: "Your password is set",
    done_body: "Your password is saved, and every device you were logged in on is logged out. Log in with your new password.",
    login: "Go to the login",
    used_title: "This link was used already",
    used_body: "This link has been used. To set a password again, choose \"Forgot password\" on the login page, or ask your manager to invite you again.",
    expired_title: "This link has expired",
    expired_body: "This link is no longer valid. Choose \"Forgot password\" on the login page for a new one, or ask your manager to invite you again.",
    not_found_title: "This link does not work",
    not_found_body: "We could not find this link. Please check that you opened the complete link from your email.",
    forbidden_title: "Your password could not be saved",
    forbidden_body: "Please open the link from your email and choose your password on that page.",
    error_title: "Something went wrong",
    error_body: "We could not handle your request just now. Please try again later.",
};

fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::ZhCn => &ZH,
        Locale::En => &EN,
    }
}

// ---- Pages -----------------------------------------------------------------------------------

#[derive(Serialize)]
struct PageContext<'a> {
    lang: &'static str,
    t: &'static Texts,
    /// `form` or `message`.
    view: &'static str,
    heading: &'a str,
    salon: &'a str,
    greeting: String,
    password_error: Option<&'static str>,
    confirm_error: Option<&'static str>,
    min_chars: usize,
    max_chars: usize,
    paragraphs: Vec<&'a str>,
    /// Show the link to the login.
    login: bool,
}

fn render(status: StatusCode, context: &PageContext<'_>) -> HttpResponse {
    match html::render("password.html", TEMPLATE, minijinja::Value::from_serialize(context)) {
        Ok(body) => html::page(status, body),
        Err(error) => {
            tracing::error!(error = %error, "the password page did not render");
            html::page(StatusCode::INTERNAL_SERVER_ERROR, FALLBACK.to_owned())
        }
    }
}

fn base<'a>(locale: Locale, heading: &'a str, salon: &'a str) -> PageContext<'a> {
    PageContext {
        lang: locale.as_str(),
        t: texts(locale),
        view: "message",
        heading,
        salon,
        greeting: String::new(),
        password_error: None,
        confirm_error: None,
        min_chars: Password::MIN_CHARS,
        max_chars: Password::MAX_CHARS,
        paragraphs: Vec::new(),
        login: false,
    }
}

fn form_page(
    status: StatusCode,
    view: &LinkView,
    password_error: Option<&'static str>,
    confirm_error: Option<&'static str>,
) -> HttpResponse {
    let t = texts(view.locale);
    let (heading, greeting) = match view.purpose {
        Purpose::Reset => (t.title_reset, t.greeting_reset),
        Purpose::Invitation | Purpose::FirstLogin => (t.title_invitation, t.greeting_invitation),
    };
    let mut context = base(view.locale, heading, &view.salon);
    context.view = "form";
    context.greeting = greeting
        .replace("{name}", &view.staff_name)
        .replace("{salon}", &view.salon);
    context.password_error = password_error;
    context.confirm_error = confirm_error;
    render(status, &context)
}

fn done_page(view: &LinkView) -> HttpResponse {
    let t = texts(view.locale);
    let mut context = base(view.locale, t.done_title, &view.salon);
    context.paragraphs = vec![t.done_body];
    context.login = true;
    render(StatusCode::OK, &context)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Used,
    Expired,
    NotFound,
    Forbidden,
    Error,
}

fn message_page(status: StatusCode, locale: Locale, salon: Option<&str>, message: Message) -> HttpResponse {
    let t = texts(locale);
    let (heading, body) = match message {
        Message::Used => (t.used_title, t.used_body),
        Message::Expired => (t.expired_title, t.expired_body),
        Message::NotFound => (t.not_found_title, t.not_found_body),
        Message::Forbidden => (t.forbidden_title, t.forbidden_body),
        Message::Error => (t.error_title, t.error_body),
    };
    let mut context = base(locale, heading, salon.unwrap_or_default());
    context.paragraphs = vec![body];
    context.login = matches!(message, Message::Used | Message::Expired);
    render(status, &context)
}

/// A link that sets nothing: used or expired 410 (in the salon's language), unknown 404.
fn closed_page(lookup: &Lookup, fallback: Locale) -> HttpResponse {
    match lookup {
        Lookup::Used(view) => message_page(StatusCode::GONE, view.locale, Some(&view.salon), Message::Used),
        Lookup::Expired(view) => message_page(StatusCode::GONE, view.locale, Some(&view.salon), Message::Expired),
        Lookup::Unknown => message_page(StatusCode::NOT_FOUND, fallback, None, Message::NotFound),
        // Not reached (callers handle it), but a page all the same.
        Lookup::Open(view) => form_page(StatusCode::OK, view, None, None),
    }
}

fn error_page(error: &shared::Error, locale: Locale) -> HttpResponse {
    let status = if error.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    tracing::error!(error = %error, "the password page failed");
    message_page(status, locale, None, Message::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(locale: Locale, purpose: Purpose) -> LinkView {
        LinkView {
            staff_name: "王芳 <&>".into(),
            salon: "悦颜美容".into(),
            locale,
            purpose,
        }
    }

    async fn body(response: HttpResponse) -> String {
        let bytes = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn the_form_greets_the_member_and_escapes_names() {
        let html = body(form_page(
            StatusCode::OK,
            &view(Locale::ZhCn, Purpose::Invitation),
            None,
            None,
        ))
        .await;
        assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
        assert!(html.contains("王芳 &lt;&amp;&gt;您好"), "{html}");
        assert!(html.contains("name=\"password\"") && html.contains("name=\"password_confirm\""));
        assert!(html.contains("autocomplete=\"new-password\""));
        assert!(!html.contains("<script"));
        let reset = body(form_page(StatusCode::OK, &view(Locale::En, Purpose::Reset), None, None)).await;
        assert!(reset.contains("Choose a new password"), "{reset}");
    }

    #[actix_web::test]
    async fn errors_are_shown_beside_their_field() {
        let response = form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &view(Locale::En, Purpose::Invitation),
            None,
            Some(EN.mismatch),
        );
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = body(response).await;
        assert!(
            html.contains("id=\"confirm-error\">The two passwords are not the same."),
            "{html}"
        );
        assert!(html.contains("aria-invalid=\"true\""));
    }

    #[actix_web::test]
    async fn closed_links_are_friendly_pages_with_the_headers() {
        let used = closed_page(&Lookup::Used(view(Locale::En, Purpose::Reset)), Locale::ZhCn);
        assert_eq!(used.status(), StatusCode::GONE);
        assert!(used
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("default-src 'none'")));
        assert!(body(used).await.contains("This link was used already"));
        let unknown = closed_page(&Lookup::Unknown, Locale::ZhCn);
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert!(body(unknown).await.contains("链接无效"));
    }
}
