//! The unsubscribe page behind the link in every marketing message (`/u/{token}`).
//!
//! - `GET` shows the salon's name and one button (a form that posts back to the same URL); a
//!   client who already opted out sees the confirmation instead. A GET never changes anything,
//!   so link scanners and mail previews cannot unsubscribe anyone.
//! - `POST` opts the client out at once ([`optout::opt_out`], source `link`) and shows the
//!   confirmation; a second POST shows the same page and changes nothing. The RFC 8058 one-click
//!   POST that mail clients send for `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (a form
//!   body `List-Unsubscribe=One-Click`, urlencoded or multipart, no `Origin`) is the same
//!   request; it is recorded with source `one_click`.
//! - CSRF without cookies: the token in the URL is the credential, and a POST whose `Origin` is
//!   another site is refused with 403 ([`html::same_origin`]).
//! - An unknown token (or a client deleted or erased since) is a friendly 404 page, in both
//!   languages since nobody is known to ask for one.
//!
//! Every answer goes through [`html::page`] (CSP, no referrer, no caching).

use super::html;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::domain::Locale;
use shared::outreach::optout::{self, UnsubscribeLink};

const TEMPLATE_NAME: &str = "unsubscribe.html";
const TEMPLATE: &str = include_str!("templates/unsubscribe.html");

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(
        web::resource("/u/{token}")
            .route(web::get().to(show))
            .route(web::post().to(unsubscribe)),
    );
}

async fn show(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let token = token.into_inner();
    match state.db.read(move |conn| optout::find_by_token(conn, &token)).await {
        Ok(Some(link)) if link.opted_out => done(&link),
        Ok(Some(link)) => confirmation(&link),
        Ok(None) => not_found(),
        Err(error) => failure(&error),
    }
}

async fn unsubscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if !html::same_origin(&req, state.config.public_base_url.as_deref()) {
        return forbidden();
    }
    let source = if is_one_click(&body) { "one_click" } else { "link" };
    let token = token.into_inner();
    let now = state.now();
    let result = state
        .db
        .write(move |conn| {
            let Some(link) = optout::find_by_token(conn, &token)? else {
                return Ok(None);
            };
            optout::opt_out(conn, &link.tenant, link.client_id, source, now)?;
            Ok(Some(link))
        })
        .await;
    match result {
        Ok(Some(link)) => done(&link),
        Ok(None) | Err(shared::Error::NotFound) => not_found(),
        Err(error) => failure(&error),
    }
}

/// RFC 8058: the body is `List-Unsubscribe=One-Click`, urlencoded or as a multipart field.
fn is_one_click(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("List-Unsubscribe") && text.contains("One-Click")
}

#[derive(Serialize)]
struct Section {
    lang: &'static str,
    heading: String,
    paragraphs: Vec<String>,
    button: Option<&'static str>,
}

fn confirmation(link: &UnsubscribeLink) -> HttpResponse {
    let salon = &link.salon;
    let section = match link.locale {
        Locale::ZhCn => Section {
            lang: "zh-CN",
            heading: "退订营销消息".into(),
            paragraphs: vec![
                format!("确认后，{salon}将不再向您发送生日祝福、回归礼遇等营销短信和邮件。"),
                "与您到店服务相关的消息（例如服务后的满意度回访）不受影响。".into(),
            ],
            button: Some("确认退订"),
        },
        Locale::En => Section {
            lang: "en",
            heading: "Unsubscribe from marketing messages".into(),
            paragraphs: vec![
                format!(
                    "{salon} will stop sending you marketing texts and emails, such as birthday greetings and offers."
                ),
                "Messages about your visits (such as the satisfaction survey after a treatment) are not affected."
                    .into(),
            ],
            button: Some("Unsubscribe"),
        },
    };
    render_page(StatusCode::OK, link.locale, Some(salon), vec![section])
}

fn done(link: &UnsubscribeLink) -> HttpResponse {
    let salon = &link.salon;
    let section = match link.locale {
        Locale::ZhCn => Section {
            lang: "zh-CN",
            heading: "您已退订".into(),
            paragraphs: vec![
                format!("{salon}不会再向您发送营销消息。"),
                "如果改变主意，请告诉门店。".into(),
            ],
            button: None,
        },
        Locale::En => Section {
            lang: "en",
            heading: "You are unsubscribed".into(),
            paragraphs: vec![
                format!("{salon} will not send you marketing messages any more."),
                "If you change your mind, just let the salon know.".into(),
            ],
            button: None,
        },
    };
    render_page(StatusCode::OK, link.locale, Some(salon), vec![section])
}

/// A page for nobody in particular: Chinese first, then English.
fn bilingual(status: StatusCode, zh: (&str, &str), en: (&str, &str)) -> HttpResponse {
    let section = |lang, (heading, text): (&str, &str)| Section {
        lang,
        heading: heading.to_owned(),
        paragraphs: vec![text.to_owned()],
        button: None,
    };
    render_page(
        status,
        Locale::ZhCn,
        None,
        vec![section("zh-CN", zh), section("en", en)],
    )
}

fn not_found() -> HttpResponse {
    bilingual(
        StatusCode::NOT_FOUND,
        (
            "链接无效",
            "这个退订链接不存在或已失效。如需退订，请回复短信“T”或联系门店。",
        ),
        (
            "This link is not valid",
            "This unsubscribe link does not exist or is no longer valid. To unsubscribe, reply STOP to our text \
             message or contact the salon.",
        ),
    )
}

fn forbidden() -> HttpResponse {
    bilingual(
        StatusCode::FORBIDDEN,
        ("请求被拒绝", "退订只能在退订页面上确认。请重新打开消息中的链接。"),
        (
            "Request refused",
            "Unsubscribing can only be confirmed on the unsubscribe page. Please open the link in your message again.",
        ),
    )
}

fn failure(error: &shared::Error) -> HttpResponse {
    tracing::error!(error = %error, "unsubscribe page failed");
    let status = if error.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    bilingual(
        status,
        ("出错了", "请稍后再试一次。"),
        ("Something went wrong", "Please try again in a moment."),
    )
}

fn render_page(status: StatusCode, locale: Locale, salon: Option<&str>, sections: Vec<Section>) -> HttpResponse {
    let heading = sections.first().map(|s| s.heading.clone()).unwrap_or_default();
    let title = match salon {
        Some(salon) => format!("{heading} · {salon}"),
        None => heading,
    };
    let context = minijinja::context! {
        lang => locale.as_str(),
        title => title,
        salon => salon,
        sections => sections,
    };
    match html::render(TEMPLATE_NAME, TEMPLATE, context) {
        Ok(page) => html::page(status, page),
        Err(error) => {
            tracing::error!(error = %error, "unsubscribe page did not render");
            html::page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head>\
                 <body><main><h1>Something went wrong</h1></main></body></html>"
                    .to_owned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: HttpResponse) -> String {
        let bytes = actix_web::body::to_bytes(response.into_body());
        let bytes = futures_util::FutureExt::now_or_never(bytes).unwrap().unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn link(locale: Locale, opted_out: bool) -> UnsubscribeLink {
        UnsubscribeLink {
            tenant: shared::tenancy::Tenant::for_automation(shared::domain::TenantId::new()),
            client_id: shared::domain::ClientId::new(),
            salon: "悦颜 <美容>".into(),
            locale,
            opted_out,
        }
    }

    #[test]
    fn confirmation_pages_in_both_languages_escape_the_salon_name() {
        let zh = body(confirmation(&link(Locale::ZhCn, false)));
        assert!(zh.contains("<html lang=\"zh-CN\">"), "{zh}");
        assert!(zh.contains("悦颜 &lt;美容&gt;"), "{zh}");
        assert!(!zh.contains("<美容>"), "{zh}");
        assert!(zh.contains("<form method=\"post\""), "{zh}");
        assert!(zh.contains(">确认退订</button>"), "{zh}");
        let en = body(confirmation(&link(Locale::En, false)));
        assert!(en.contains("<html lang=\"en\">"), "{en}");
        assert!(en.contains(">Unsubscribe</button>"), "{en}");
    }

    #[test]
    fn done_page_has_no_form() {
        let page = body(done(&link(Locale::En, true)));
        assert!(page.contains("You are unsubscribed"), "{page}");
        assert!(!page.contains("<form"), "{page}");
    }

    #[test]
    fn pages_for_nobody_are_bilingual_with_their_status() {
        let response = not_found();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let page = body(response);
        assert!(
            page.contains("链接无效") && page.contains("<section lang=\"en\""),
            "{page}"
        );
        assert_eq!(forbidden().status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn one_click_bodies() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n"
        ));
        assert!(!is_one_click(b""));
    }
}
