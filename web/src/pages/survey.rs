//! `/s/{token}`: the satisfaction survey a client opens from the link in their message.
//!
//! - `GET` shows the form (the salon, store, visit date, services and technician; a 1–5 scale
//!   per dimension, 0–10 likelihood to recommend, an optional comment), or the thank-you page
//!   once answered; an unknown or withdrawn link is a friendly 404, an expired one a 410.
//! - `POST` (form-urlencoded) records the answer and shows the thank-you page; a second
//!   submission shows it again and changes nothing. Invalid values re-show the form (422) with
//!   the messages beside their fields and the client's other answers kept. A post from a
//!   foreign `Origin` is refused (403) before anything is read.
//! - zh-CN or English by the survey's locale (pages without a survey: the browser's
//!   `Accept-Language`); no JavaScript; every page carries [`html::page`]'s headers.

use super::html;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::domain::Locale;
use shared::surveys::{self, Answer, AnswerForm, Dimension, Lookup, Submission, SurveyView, COMMENT_MAX};
use shared::{Error, FieldErrors};

const TEMPLATE: &str = include_str!("templates/survey.html");

/// Shown if the template itself fails (a bug): plain, but still a page.
const FALLBACK: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Error</title></head>\
    <body><main><h1>Something went wrong</h1><p>Please try again later.</p></main></body></html>";

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(
        web::resource("/s/{token}")
            .route(web::get().to(show))
            .route(web::post().to(submit)),
    );
}

async fn show(req: HttpRequest, state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let fallback = browser_locale(&req);
    let token = token.into_inner();
    let now = state.now();
    match state.db.read(move |conn| surveys::find(conn, &token, now)).await {
        Ok(Lookup::Open(view)) => form_page(StatusCode::OK, &view, &AnswerForm::default(), None),
        Ok(Lookup::Answered(view)) => thanks_page(&view, Thanks::Already),
        Ok(other) => closed_page(other, fallback),
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
    // A body that is not a form reads as an empty one: the form comes back asking for a rating.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let form = AnswerForm::from_pairs(pairs);
    let token = token.into_inner();
    let now = state.now();
    let answer = match Answer::parse(&form) {
        Ok(answer) => answer,
        Err(errors) => {
            return match state.db.read(move |conn| surveys::find(conn, &token, now)).await {
                Ok(Lookup::Open(view)) => form_page(StatusCode::UNPROCESSABLE_ENTITY, &view, &form, Some(&errors)),
                Ok(Lookup::Answered(view)) => thanks_page(&view, Thanks::Already),
                Ok(other) => closed_page(other, fallback),
                Err(error) => error_page(&error, fallback),
            };
        }
    };
    match state
        .db
        .write(move |conn| surveys::answer(conn, &token, &answer, now))
        .await
    {
        Ok(Submission::Recorded(recorded)) => {
            let thanks = if recorded.complaint_id.is_some() {
                Thanks::FollowUp
            } else {
                Thanks::New
            };
            thanks_page(&recorded.survey, thanks)
        }
        Ok(Submission::AlreadyAnswered(view)) => thanks_page(&view, Thanks::Already),
        Ok(Submission::NotOpen(lookup)) => closed_page(lookup, fallback),
        Err(error) => error_page(&error, fallback),
    }
}

/// The first language the browser asks for, for pages that have no survey to take it from.
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

/// Every word on the pages, per locale.
#[derive(Debug, Serialize)]
struct Texts {
    title: &'static str,
    intro: &'static str,
    store_label: &'static str,
    date_label: &'static str,
    services_label: &'static str,
    technician_label: &'static str,
    list_separator: &'static str,
    optional_note: &'static str,
    service: &'static str,
    technician: &'static str,
    environment: &'static str,
    result: &'static str,
    scale_low: &'static str,
    scale_high: &'static str,
    nps_legend: &'static str,
    nps_low: &'static str,
    nps_high: &'static str,
    comment_label: &'static str,
    comment_hint: &'static str,
    submit: &'static str,
    errors_heading: &'static str,
    rating_invalid: &'static str,
    ratings_required: &'static str,
    nps_invalid: &'static str,
    comment_too_long: &'static str,
    comment_invalid: &'static str,
    thanks_title: &'static str,
    thanks_body: &'static str,
    thanks_already: &'static str,
    thanks_follow_up: &'static str,
    not_found_title: &'static str,
    not_found_body: &'static str,
    unavailable_title: &'static str,
    unavailable_body: &'static str,
    expired_title: &'static str,
    expired_body: &'static str,
    forbidden_title: &'static str,
    forbidden_body: &'static str,
    error_title: &'static str,
    error_body: &'static str,
}

const ZH: Texts = Texts {
    title: "满意度调研",
    intro: "感谢您的光临！请花一分钟告诉我们这次服务的感受，您的意见会直接转达给门店。",
    store_label: "门店",
    date_label: "到店日期",
    services_label: "服务项目",
    technician_label: "服务技师",
    list_separator: "、",
    optional_note: "每个问题都可以跳过，但请至少为一项打分。",
    service: "服务态度",
    technician: "技师的专业水平",
    environment: "环境与卫生",
    result: "护理效果",
    scale_low: "1 = 非常不满意",
    scale_high: "5 = 非常满意",
    nps_legend: "您有多大可能向亲友推荐我们？",
    nps_low: "0 = 完全不可能",
    nps_high: "10 = 非常可能",
    comment_label: "其他意见或建议（选填）",
    comment_hint: "最多 1000 字。",
    submit: "提交评价",
    errors_heading: "请修改以下问题后再提交：",
    rating_invalid: "请选择 1 到 5 分。",
    ratings_required: "请至少为一项打分。",
    nps_invalid: "请选择 0 到 10 之间的数字。",
    comment_too_long: "留言最多 1000 字，请删减后再提交。",
    comment_invalid: "留言中含有无法识别的字符，请修改后再提交。",
    thanks_title: "感谢您的评价",
    thanks_body: "您的反馈已收到，我们会认真对待每一条意见。期待您再次光临！",
    thanks_already: "您已经提交过这次到店的评价，无需重复提交。感谢您的反馈！",
    thanks_follow_up: "很抱歉这次没能让您满意。门店负责人会尽快与您联系。",
    not_found_title: "链接无效",
    not_found_body: "找不到这份调研。请确认您打开的是短信或邮件中的完整链接。",
    unavailable_title: "调研已关闭",
    unavailable_body: "这份调研已不再开放，无需填写。感谢您的关注。",
    expired_title: "调研已过期",
    expired_body: "这份调研的填写期限已过。感谢您的关注，期待您再次光临！",
    forbidden_title: "无法提交",
    forbidden_body: "请直接打开短信或邮件中的链接，在该页面上提交评价。",
    error_title: "出了点问题",
    error_body: "我们暂时无法处理您的请求，请稍后再试。",
};

const EN: Texts = Texts {
    title: "How was your visit?",
    intro:
        "Thank you for visiting us! Please take a minute to tell us how it went. Your answers go straight to the salon.",
    store_label: "Location",
    date_label: "Date",
    services_label: "Services",
    technician_label: "Technician",
    list_separator: ", ",
    optional_note: "You can skip any question, but please rate at least one.",
    service: "Service and friendliness",
    technician: "Your technician's skill",
    environment: "Cleanliness and comfort",
    result: "The result of your treatment",
    scale_low: "1 = very dissatisfied",
    scale_high: "5 = very satisfied",
    nps_legend: "How likely are you to recommend us to a friend?",
    nps_low: "0 = not at all likely",
    nps_high: "10 = extremely likely",
    comment_label: "Anything else you would like to tell us? (optional)",
    comment_hint: "Up to 1000 characters.",
    submit: "Send my answers",
    errors_heading: "Please correct the following and send again:",
    rating_invalid: "Choose a rating from 1 to 5.",
    ratings_required: "Please rate at least one question.",
    nps_invalid: "Choose a number from 0 to 10.",
    comment_too_long: "Your comment can be at most 1000 characters. Please shorten it.",
    comment_invalid: "Your comment contains characters we cannot read. Please change it.",
    thanks_title: "Thank you for your feedback",
    thanks_body: "We have received your answers and read every one of them. We look forward to seeing you again!",
    thanks_already: "You have already answered this survey, so there is nothing more to do. Thank you!",
    thanks_follow_up: "We are sorry your visit was not what you expected. The salon manager will contact you shortly.",
    not_found_title: "This link does not work",
    not_found_body: "We could not find this survey. Please check that you opened the complete link from your message.",
    unavailable_title: "This survey is closed",
    unavailable_body: "This survey is no longer available, so there is nothing to fill in. Thank you all the same.",
    expired_title: "This survey has expired",
    expired_body: "The time to answer this survey has passed. Thank you all the same, and we hope to see you again!",
    forbidden_title: "Your answers could not be sent",
    forbidden_body: "Please open the link from your message and send your answers from that page.",
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
    paragraphs: Vec<&'a str>,
    form: Option<FormContext<'a>>,
}

#[derive(Serialize)]
struct FormContext<'a> {
    store: &'a str,
    date: String,
    services: String,
    technician: Option<&'a str>,
    groups: Vec<Group>,
    comment: &'a str,
    comment_max: usize,
    comment_error: Option<&'static str>,
    ratings_error: Option<&'static str>,
    errors: Vec<SummaryItem>,
}

/// One question: a fieldset of radio inputs.
#[derive(Serialize)]
struct Group {
    name: &'static str,
    class: &'static str,
    legend: String,
    low: &'static str,
    high: &'static str,
    choices: Vec<Choice>,
    error: Option<&'static str>,
}

#[derive(Serialize)]
struct Choice {
    value: u8,
    checked: bool,
}

/// A line of the error summary, linking to its field.
#[derive(Serialize)]
struct SummaryItem {
    href: String,
    message: &'static str,
}

fn render(status: StatusCode, context: &PageContext<'_>) -> HttpResponse {
    match html::render("survey.html", TEMPLATE, minijinja::Value::from_serialize(context)) {
        Ok(body) => html::page(status, body),
        Err(error) => {
            tracing::error!(error = %error, "the survey page did not render");
            html::page(StatusCode::INTERNAL_SERVER_ERROR, FALLBACK.to_owned())
        }
    }
}

fn format_date(date: chrono::NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::ZhCn => date.format("%Y年%-m月%-d日").to_string(),
        Locale::En => date.format("%-d %B %Y").to_string(),
    }
}

/// The message for one invalid field, in the page's language.
fn field_message(t: &'static Texts, field: &str, code: &str) -> &'static str {
    match (field, code) {
        ("ratings", _) => t.ratings_required,
        ("nps", _) => t.nps_invalid,
        ("comment", "too_long") => t.comment_too_long,
        ("comment", _) => t.comment_invalid,
        _ => t.rating_invalid,
    }
}

fn form_page(status: StatusCode, view: &SurveyView, form: &AnswerForm, errors: Option<&FieldErrors>) -> HttpResponse {
    let locale = view.locale;
    let t = texts(locale);
    let error_of = |field: &str| {
        errors
            .and_then(|errors| errors.0.iter().find(|e| e.field == field))
            .map(|e| field_message(t, &e.field, e.code))
    };
    let checked = |raw: Option<&str>, value: u8| raw.is_some_and(|raw| raw.trim() == value.to_string());
    let mut groups: Vec<Group> = Dimension::ALL
        .into_iter()
        .map(|dimension| {
            let name = dimension.as_str();
            let legend = match (dimension, &view.technician) {
                (Dimension::Service, _) => t.service.to_owned(),
                (Dimension::Technician, Some(technician)) => match locale {
                    Locale::ZhCn => format!("{}（{technician}）", t.technician),
                    Locale::En => format!("{} ({technician})", t.technician),
                },
                (Dimension::Technician, None) => t.technician.to_owned(),
                (Dimension::Environment, _) => t.environment.to_owned(),
                (Dimension::Result, _) => t.result.to_owned(),
            };
            Group {
                name,
                class: "rating",
                legend,
                low: t.scale_low,
                high: t.scale_high,
                choices: (1..=5)
                    .map(|value| Choice {
                        value,
                        checked: checked(form.rating(dimension), value),
                    })
                    .collect(),
                error: error_of(name),
            }
        })
        .collect();
    groups.push(Group {
        name: "nps",
        class: "nps",
        legend: t.nps_legend.to_owned(),
        low: t.nps_low,
        high: t.nps_high,
        choices: (0..=10)
            .map(|value| Choice {
                value,
                checked: checked(form.nps.as_deref(), value),
            })
            .collect(),
        error: error_of("nps"),
    });
    // The summary lists the errors in the page's order, each linking to its first input.
    let mut summary = Vec::new();
    let ratings_error = error_of("ratings");
    if let Some(message) = ratings_error {
        summary.push(SummaryItem {
            href: "#service-1".into(),
            message,
        });
    }
    for group in &groups {
        if let (Some(message), Some(first)) = (group.error, group.choices.first()) {
            summary.push(SummaryItem {
                href: format!("#{}-{}", group.name, first.value),
                message,
            });
        }
    }
    let comment_error = error_of("comment");
    if let Some(message) = comment_error {
        summary.push(SummaryItem {
            href: "#comment".into(),
            message,
        });
    }
    let context = PageContext {
        lang: locale.as_str(),
        t,
        view: "form",
        heading: t.title,
        salon: &view.salon,
        paragraphs: Vec::new(),
        form: Some(FormContext {
            store: &view.store,
            date: format_date(view.visit_date, locale),
            services: view.services.join(t.list_separator),
            technician: view.technician.as_deref(),
            groups,
            comment: form.comment.as_deref().unwrap_or_default(),
            comment_max: COMMENT_MAX,
            comment_error,
            ratings_error,
            errors: summary,
        }),
    };
    render(status, &context)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thanks {
    /// Recorded now.
    New,
    /// Recorded now, and low: someone will call.
    FollowUp,
    /// Answered before.
    Already,
}

fn thanks_page(view: &SurveyView, thanks: Thanks) -> HttpResponse {
    let t = texts(view.locale);
    let paragraphs = match thanks {
        Thanks::New => vec![t.thanks_body],
        Thanks::FollowUp => vec![t.thanks_body, t.thanks_follow_up],
        Thanks::Already => vec![t.thanks_already],
    };
    render(
        StatusCode::OK,
        &PageContext {
            lang: view.locale.as_str(),
            t,
            view: "message",
            heading: t.thanks_title,
            salon: &view.salon,
            paragraphs,
            form: None,
        },
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    NotFound,
    Unavailable,
    Expired,
    Forbidden,
    Error,
}

fn message_page(status: StatusCode, locale: Locale, salon: Option<&str>, message: Message) -> HttpResponse {
    let t = texts(locale);
    let (heading, body) = match message {
        Message::NotFound => (t.not_found_title, t.not_found_body),
        Message::Unavailable => (t.unavailable_title, t.unavailable_body),
        Message::Expired => (t.expired_title, t.expired_body),
        Message::Forbidden => (t.forbidden_title, t.forbidden_body),
        Message::Error => (t.error_title, t.error_body),
    };
    render(
        status,
        &PageContext {
            lang: locale.as_str(),
            t,
            view: "message",
            heading,
            salon: salon.unwrap_or_default(),
            paragraphs: vec![body],
            form: None,
        },
    )
}

/// A link that leads to no open survey: unknown or withdrawn 404, expired 410.
fn closed_page(lookup: Lookup, fallback: Locale) -> HttpResponse {
    match lookup {
        Lookup::Expired { locale, salon } => message_page(StatusCode::GONE, locale, Some(&salon), Message::Expired),
        Lookup::Unavailable { locale, salon } => {
            message_page(StatusCode::NOT_FOUND, locale, Some(&salon), Message::Unavailable)
        }
        Lookup::NotFound => message_page(StatusCode::NOT_FOUND, fallback, None, Message::NotFound),
        // Not reached (callers handle these), but a page all the same.
        Lookup::Open(view) => form_page(StatusCode::OK, &view, &AnswerForm::default(), None),
        Lookup::Answered(view) => thanks_page(&view, Thanks::Already),
    }
}

fn error_page(error: &Error, locale: Locale) -> HttpResponse {
    let status = if error.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    tracing::error!(error = %error, "the survey page failed");
    message_page(status, locale, None, Message::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn view(locale: Locale) -> SurveyView {
        SurveyView {
            salon: "悦颜美容 <&>".into(),
            store: "静安店".into(),
            visit_date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            services: vec!["深层补水护理".into(), "肩颈按摩".into()],
            technician: Some("王美美".into()),
            locale,
        }
    }

    async fn body(response: HttpResponse) -> String {
        let bytes = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn the_form_has_a_group_per_question_and_escapes_names() {
        let response = form_page(StatusCode::OK, &view(Locale::ZhCn), &AnswerForm::default(), None);
        assert_eq!(response.status(), StatusCode::OK);
        let html = body(response).await;
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains("悦颜美容 &lt;&amp;&gt;"), "{html}");
        assert!(html.contains("2026年11月25日"));
        assert!(html.contains("深层补水护理、肩颈按摩"));
        assert!(html.contains("技师的专业水平（王美美）"));
        for name in ["service", "technician", "environment", "result"] {
            assert_eq!(html.matches(&format!("name=\"{name}\"")).count(), 5, "{name}");
        }
        assert_eq!(html.matches("name=\"nps\"").count(), 11);
        assert_eq!(html.matches("<fieldset").count(), 5);
        assert!(!html.contains("<script"));
        assert!(!html.contains(" checked"));
    }

    #[actix_web::test]
    async fn errors_are_shown_beside_their_fields_and_answers_kept() {
        let form = AnswerForm {
            service: Some("9".into()),
            technician: Some("4".into()),
            nps: Some("8".into()),
            comment: Some("<b>等太久</b>".into()),
            ..AnswerForm::default()
        };
        let errors = Answer::parse(&form).unwrap_err();
        let response = form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &view(Locale::En),
            &form,
            Some(&errors),
        );
        let html = body(response).await;
        assert!(html.contains("<html lang=\"en\">"));
        assert!(
            html.contains("id=\"service-error\">Choose a rating from 1 to 5.</p>"),
            "{html}"
        );
        assert!(html.contains("href=\"#service-1\""));
        assert!(html.contains("id=\"technician-4\" name=\"technician\" value=\"4\" checked"));
        assert!(html.contains("id=\"nps-8\" name=\"nps\" value=\"8\" checked"));
        assert!(html.contains("&lt;b&gt;等太久&lt;&#x2f;b&gt;") || html.contains("&lt;b&gt;等太久&lt;/b&gt;"));
        assert_eq!(html.matches(" checked").count(), 2);
    }

    #[actix_web::test]
    async fn pages_carry_the_security_headers() {
        let response = message_page(StatusCode::GONE, Locale::En, Some("Salon"), Message::Expired);
        assert_eq!(response.status(), StatusCode::GONE);
        let headers = response.headers();
        assert!(headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("default-src 'none'")));
        assert_eq!(
            headers.get(header::REFERRER_POLICY).and_then(|v| v.to_str().ok()),
            Some("same-origin")
        );
        assert!(body(response).await.contains("This survey has expired"));
    }
}
