//! The client's survey page (`/s/TOKEN`) through the real binaries: a visit, `worker tick`
//! sending the survey email 24 hours later, the link taken from the mail the SMTP sink
//! received, and the page filled in as a phone would (the form parsed out of the HTML and
//! posted). Low answers open exactly one complaint, high ones none; double and concurrent
//! submissions; unknown, expired and withdrawn links; invalid values; zh-CN and English; a
//! cross-site post; the pages' security headers.

use chrono::{DateTime, Duration, Utc};
use e2e::fakes::sms::FakeSms;
use e2e::fakes::smtp::SmtpSink;
use e2e::{both_backends, Backend, Response, Session, TestApp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The worker's `PUBLIC_BASE_URL`; the app runs without one, so links are rewritten to it.
const BASE: &str = "https://crm.example.test";

/// A salon chain with a store and a beautician, wired to the fakes.
struct Salon {
    app: TestApp,
    owner: Session,
    store: String,
    beautician: Session,
    smtp: SmtpSink,
    sms: FakeSms,
}

impl Salon {
    async fn new(backend: Backend) -> Salon {
        let app = TestApp::spawn(backend).await;
        let owner = app.signup("悦颜美容").await;
        let response = app
            .post(
                "/api/v1/stores",
                &owner.token,
                &json!({ "name": "静安店", "timezone": "Asia/Shanghai", "phone": "021-62880000" }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        let store = response.json["id"].as_str().unwrap().to_owned();
        let beautician = app.create_staff(&owner, "beautician", Some(&store)).await;
        Salon {
            app,
            owner,
            store,
            beautician,
            smtp: SmtpSink::start(),
            sms: FakeSms::start(),
        }
    }

    async fn client(&self, body: Value) -> String {
        let mut body = body;
        body["home_store_id"] = json!(self.store);
        body["preferred_channel"] = json!("email");
        let response = self.app.post("/api/v1/clients", &self.owner.token, &body).await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    async fn visit(&self, client: &str, completed_at: DateTime<Utc>) -> String {
        let response = self
            .app
            .post(
                "/api/v1/visits",
                &self.owner.token,
                &json!({
                    "client_id": client, "store_id": self.store, "staff_id": self.beautician.staff_id,
                    "completed_at": completed_at.to_rfc3339(),
                    "lines": [
                        { "description": "深层补水护理", "amount_cents": 39800 },
                        { "description": "肩颈舒缓按摩", "amount_cents": 19800 },
                    ],
                    "payment_method": "wechat_pay",
                }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    /// One `worker tick --now` with the fakes' environment; its JSON report.
    async fn tick(&self, now: DateTime<Utc>) -> Value {
        let mut command = self.app.worker_command(&["tick", "--now", &now.to_rfc3339()]);
        command
            .envs(self.smtp.env())
            .envs(self.sms.env("twilio"))
            .env("PUBLIC_BASE_URL", BASE)
            .env("RUST_LOG", "warn");
        let output = command.output().await.expect("run worker tick");
        assert!(
            output.status.success(),
            "worker tick failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("a JSON report")
    }

    async fn messages(&self, query: &str) -> Vec<Value> {
        let response = self
            .app
            .get(&format!("/api/v1/messages?limit=200{query}"), &self.owner.token)
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json["items"].as_array().unwrap().clone()
    }

    /// The complaints opened so far, seen through the alerts they sent.
    async fn complaint_ids(&self) -> BTreeSet<String> {
        self.messages("&kind=complaint_alert")
            .await
            .iter()
            .filter_map(|m| m["complaint_id"].as_str().map(str::to_owned))
            .collect()
    }

    async fn put_settings(&self, changes: Value) {
        let current = self.app.get("/api/v1/settings", &self.owner.token).await;
        let mut settings = current.json.clone();
        for (key, value) in changes.as_object().unwrap() {
            settings[key] = value.clone();
        }
        let response = self
            .app
            .request(
                reqwest::Method::PUT,
                "/api/v1/settings",
                Some(&self.owner.token),
                Some(&settings),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
    }

    /// The path of the survey link in the mail sent to `email` (`/s/TOKEN`).
    fn survey_path(&self, email: &str) -> String {
        let mail = self.smtp.received();
        let mail = mail
            .iter()
            .find(|mail| mail.rcpt_to.iter().any(|to| to == email))
            .unwrap_or_else(|| panic!("no mail to {email}"));
        let text = mail.text().unwrap();
        let prefix = format!("{BASE}/s/");
        let start = text.find(&prefix).unwrap_or_else(|| panic!("no survey link in {text}")) + prefix.len();
        let rest = &text[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        assert!(end >= 16, "{text}");
        format!("/s/{}", &rest[..end])
    }

    /// The page, as a browser asks for it.
    async fn open(&self, path: &str, language: &str) -> Response {
        let request = self
            .app
            .client()
            .get(self.app.url(path))
            .header("Accept-Language", language);
        self.app.send(request).await
    }

    /// Posts the form as the browser showing our page would (its own origin).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.post_from(path, fields, &self.app.base).await
    }

    async fn post_from(&self, path: &str, fields: &[(&str, &str)], origin: &str) -> Response {
        self.post_with(path, fields, &[("Origin", origin)]).await
    }

    /// A form post with these request headers (what a browser says of where it comes from).
    async fn post_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        let mut request = self.app.client().post(self.app.url(path)).form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.app.send(request).await
    }
}

/// The most recent noon in Shanghai (04:00 UTC) at or before `before`: a visit then has its
/// survey due at noon the next day, outside quiet hours.
fn noon_in_shanghai_before(before: DateTime<Utc>) -> DateTime<Utc> {
    let mut noon = before.date_naive().and_hms_opt(4, 0, 0).unwrap().and_utc();
    while noon > before {
        noon -= Duration::days(1);
    }
    noon
}

// ---- Reading the page as a browser would ------------------------------------------------------

/// One tag's attributes (`name="value"`, bare names as empty values), lower-cased names.
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    let mut rest = tag.trim_start_matches('<');
    // Skip the tag name.
    rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() || rest.starts_with('>') {
            return attributes;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let value = if let Some(after) = rest.strip_prefix('=') {
            let quote = after.chars().next().unwrap();
            assert!(quote == '"' || quote == '\'', "unquoted attribute in {tag}");
            let body = &after[1..];
            let end = body.find(quote).unwrap();
            rest = &body[end + 1..];
            body[..end].to_owned()
        } else {
            String::new()
        };
        attributes.insert(name, value);
    }
}

/// Every `<name …>` start tag in `html`, with its attributes.
fn tags(html: &str, name: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        if after.starts_with(|c: char| c.is_whitespace() || c == '>') {
            let end = after.find('>').unwrap();
            found.push(attributes(&rest[start..start + open.len() + end + 1]));
        }
        rest = after;
    }
    found
}

/// The form on the page: its method, its radio groups (name → values, in order, and which is
/// checked) and its text fields.
#[derive(Debug)]
struct Form {
    method: String,
    radios: BTreeMap<String, Vec<String>>,
    checked: BTreeMap<String, String>,
    textareas: Vec<String>,
}

fn form_of(html: &str) -> Form {
    let forms = tags(html, "form");
    assert_eq!(forms.len(), 1, "one form: {html}");
    assert!(!forms[0].contains_key("action") || !forms[0]["action"].is_empty());
    let mut radios: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = BTreeMap::new();
    let labels: BTreeSet<String> = tags(html, "label")
        .into_iter()
        .filter_map(|l| l.get("for").cloned())
        .collect();
    for input in tags(html, "input") {
        assert_eq!(input["type"], "radio", "{input:?}");
        // Every choice has a visible label tied to it.
        assert!(labels.contains(&input["id"]), "no label for {input:?}");
        radios
            .entry(input["name"].clone())
            .or_default()
            .push(input["value"].clone());
        if input.contains_key("checked") {
            checked.insert(input["name"].clone(), input["value"].clone());
        }
    }
    let textareas = tags(html, "textarea").into_iter().map(|t| t["name"].clone()).collect();
    for textarea in tags(html, "textarea") {
        assert!(labels.contains(&textarea["id"]), "no label for {textarea:?}");
    }
    Form {
        method: forms[0]["method"].clone(),
        radios,
        checked,
        textareas,
    }
}

/// A textarea's current text (still HTML-escaped).
fn textarea_text(html: &str, name: &str) -> String {
    let start = html.find(&format!("name=\"{name}\"")).unwrap();
    let open_end = start + html[start..].find('>').unwrap() + 1;
    let close = open_end + html[open_end..].find("</textarea>").unwrap();
    html[open_end..close].to_owned()
}

fn html_lang(html: &str) -> String {
    tags(html, "html")[0]["lang"].clone()
}

fn assert_page(response: &Response, status: u16) {
    assert_eq!(response.status, status, "{}", response.text);
    assert!(
        response.content_type().starts_with("text/html"),
        "{}",
        response.content_type()
    );
    let header = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
    assert!(!response.text.contains("<script"), "{}", response.text);
}

fn full_form(low: bool) -> Vec<(&'static str, &'static str)> {
    if low {
        vec![
            ("service", "2"),
            ("technician", "3"),
            ("environment", "4"),
            ("result", "2"),
            ("nps", "3"),
            ("comment", "等了四十分钟才开始，\r\n皮肤有点发红。"),
        ]
    } else {
        vec![
            ("service", "5"),
            ("technician", "5"),
            ("environment", "4"),
            ("result", "5"),
            ("nps", "10"),
            ("comment", ""),
        ]
    }
}

// ---- The tests -------------------------------------------------------------------------------

async fn a_low_answer_opens_one_complaint_and_a_high_one_none(backend: Backend) {
    let salon = Salon::new(backend).await;
    let zh_client = salon
        .client(json!({ "name": "刘倩", "email": "liu@example.com", "marketing_consent": false }))
        .await;
    let en_client = salon
        .client(json!({ "name": "Emma Hall", "email": "emma@example.com", "locale": "en" }))
        .await;
    let completed = noon_in_shanghai_before(Utc::now() - Duration::hours(2));
    let zh_visit = salon.visit(&zh_client, completed).await;
    salon.visit(&en_client, completed).await;
    let report = salon.tick(completed + Duration::hours(24)).await;
    assert_eq!(report["delivery"]["sent"], 2, "{report}");
    let zh_path = salon.survey_path("liu@example.com");
    let en_path = salon.survey_path("emma@example.com");

    // The page, in Chinese: the salon, store, visit, services and technician; a radio group per
    // question, each choice labelled; a comment box; no script.
    let page = salon.open(&zh_path, "en-GB,en;q=0.9").await;
    assert_page(&page, 200);
    let html = &page.text;
    assert_eq!(html_lang(html), "zh-CN");
    for text in [
        "悦颜美容",
        "静安店",
        "深层补水护理",
        "肩颈舒缓按摩",
        "beautician 员工",
        "满意度调研",
    ] {
        assert!(html.contains(text), "{text} missing from {html}");
    }
    let form = form_of(html);
    assert_eq!(form.method, "post");
    let one_to_five: Vec<String> = (1..=5).map(|v| v.to_string()).collect();
    for name in ["service", "technician", "environment", "result"] {
        assert_eq!(form.radios[name], one_to_five, "{name}");
    }
    assert_eq!(form.radios["nps"], (0..=10).map(|v| v.to_string()).collect::<Vec<_>>());
    assert_eq!(form.radios.len(), 5);
    assert!(form.checked.is_empty());
    assert_eq!(form.textareas, ["comment"]);
    assert_eq!(html.matches("<fieldset").count(), 5);
    assert_eq!(html.matches("<legend>").count(), 5);

    // A post from another site is refused and records nothing, however the browser says so.
    let own = salon.app.url("");
    let own = own.trim_end_matches('/');
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "null")],
        vec![("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")],
        // A sibling subdomain is not us either, even with our origin claimed.
        vec![("Sec-Fetch-Site", "same-site"), ("Origin", own)],
        vec![("Sec-Fetch-Site", "cross-site")],
    ] {
        let foreign = salon.post_with(&zh_path, &full_form(true), &headers).await;
        assert_page(&foreign, 403);
    }
    assert!(salon.complaint_ids().await.is_empty());
    assert!(!form_of(&salon.open(&zh_path, "zh-CN").await.text).radios.is_empty());

    // An invalid value: the form again, the error beside the field, the other answers kept.
    let invalid = salon
        .post(
            &zh_path,
            &[
                ("service", "9"),
                ("technician", "4"),
                ("nps", "8"),
                ("comment", "还不错 <b>"),
            ],
        )
        .await;
    assert_page(&invalid, 422);
    assert_eq!(html_lang(&invalid.text), "zh-CN");
    assert!(
        invalid.text.contains("id=\"service-error\">请选择 1 到 5 分。"),
        "{}",
        invalid.text
    );
    let again = form_of(&invalid.text);
    assert_eq!(again.radios.len(), 5);
    assert_eq!(
        again.checked,
        BTreeMap::from([
            ("technician".to_owned(), "4".to_owned()),
            ("nps".to_owned(), "8".to_owned())
        ])
    );
    assert_eq!(textarea_text(&invalid.text, "comment"), "还不错 &lt;b&gt;");
    // Nothing chosen at all: asked for at least one rating.
    let empty = salon.post(&zh_path, &[("comment", "")]).await;
    assert_page(&empty, 422);
    assert!(empty.text.contains("请至少为一项打分"), "{}", empty.text);
    assert!(salon.complaint_ids().await.is_empty());

    // A low answer: thanks, and exactly one complaint about this visit.
    let answered = salon.post(&zh_path, &full_form(true)).await;
    assert_page(&answered, 200);
    assert!(answered.text.contains("感谢您的评价"), "{}", answered.text);
    assert!(answered.text.contains("门店负责人会尽快与您联系"), "{}", answered.text);
    let complaints = salon.complaint_ids().await;
    assert_eq!(complaints.len(), 1, "{complaints:?}");
    let complaint_id = complaints.iter().next().unwrap().clone();
    let complaint = salon
        .app
        .get(&format!("/api/v1/complaints/{complaint_id}"), &salon.owner.token)
        .await;
    assert_eq!(complaint.status, 200, "{}", complaint.text);
    assert_eq!(complaint.json["source"], "survey");
    assert_eq!(complaint.json["client_id"], zh_client.as_str());
    assert_eq!(complaint.json["visit_id"], zh_visit.as_str());
    assert_eq!(complaint.json["store_id"], salon.store.as_str());
    assert_eq!(complaint.json["status"], "open");
    let summary = complaint.json["summary"].as_str().unwrap().to_owned();
    assert!(summary.starts_with("满意度 2.75/5"), "{summary}");
    assert!(summary.contains("等了四十分钟"), "{summary}");

    // A second submission: the thank-you page again, nothing changed.
    let second = salon.post(&zh_path, &full_form(false)).await;
    assert_page(&second, 200);
    assert!(second.text.contains("已经提交过"), "{}", second.text);
    assert_eq!(salon.complaint_ids().await, complaints);
    let unchanged = salon
        .app
        .get(&format!("/api/v1/complaints/{complaint_id}"), &salon.owner.token)
        .await;
    assert_eq!(unchanged.json["summary"], summary.as_str());
    // Opening the link again shows the thanks, not the form.
    let reopened = salon.open(&zh_path, "zh-CN").await;
    assert_page(&reopened, 200);
    assert!(tags(&reopened.text, "form").is_empty());
    assert!(reopened.text.contains("已经提交过"));
    // An invalid post to an answered survey changes nothing either.
    assert_page(&salon.post(&zh_path, &[("service", "9")]).await, 200);

    // The English client's page, answered high: thanks, and no complaint.
    let page = salon.open(&en_path, "zh-CN").await;
    assert_page(&page, 200);
    assert_eq!(html_lang(&page.text), "en");
    assert!(page.text.contains("How was your visit?"), "{}", page.text);
    assert!(page.text.contains("Send my answers"));
    let invalid = salon.post(&en_path, &[("service", "9")]).await;
    assert_page(&invalid, 422);
    assert!(
        invalid.text.contains("Choose a rating from 1 to 5."),
        "{}",
        invalid.text
    );
    let answered = salon.post(&en_path, &full_form(false)).await;
    assert_page(&answered, 200);
    assert!(
        answered.text.contains("Thank you for your feedback"),
        "{}",
        answered.text
    );
    assert!(!answered.text.contains("manager will contact you"));
    assert_eq!(salon.complaint_ids().await, complaints);
}

async fn a_concurrent_double_submit_opens_one_complaint(backend: Backend) {
    let salon = Salon::new(backend).await;
    let client = salon
        .client(json!({ "name": "王芳", "email": "wang@example.com" }))
        .await;
    let completed = noon_in_shanghai_before(Utc::now() - Duration::hours(2));
    salon.visit(&client, completed).await;
    salon.tick(completed + Duration::hours(24)).await;
    let path = salon.survey_path("wang@example.com");
    // One rating at the floor opens a complaint even with a high mean.
    let low = [
        ("service", "5"),
        ("technician", "5"),
        ("environment", "5"),
        ("result", "1"),
    ];
    let (a, b, c, d) = tokio::join!(
        salon.post(&path, &low),
        salon.post(&path, &low),
        salon.post(&path, &low),
        salon.post(&path, &low)
    );
    for response in [&a, &b, &c, &d] {
        assert_page(response, 200);
    }
    let fresh = [&a, &b, &c, &d]
        .iter()
        .filter(|r| r.text.contains("门店负责人会尽快与您联系"))
        .count();
    assert_eq!(fresh, 1, "exactly one submission was recorded");
    assert_eq!(salon.complaint_ids().await.len(), 1);
}

async fn unknown_expired_and_withdrawn_links_show_friendly_pages(backend: Backend) {
    let salon = Salon::new(backend).await;

    // Unknown: 404, in the browser's language, for GET and POST alike.
    let unknown = "/s/AAAAAAAAAAAAAAAAAAAAAA";
    let page = salon.open(unknown, "en-US,en;q=0.8").await;
    assert_page(&page, 404);
    assert_eq!(html_lang(&page.text), "en");
    assert!(page.text.contains("This link does not work"), "{}", page.text);
    let page = salon.open(unknown, "zh-CN,zh;q=0.9").await;
    assert_page(&page, 404);
    assert_eq!(html_lang(&page.text), "zh-CN");
    assert_page(&salon.post(unknown, &full_form(true)).await, 404);
    assert_page(&salon.open("/s/not-a-token", "en").await, 404);

    // Expired: a survey sent three days ago that was valid for one day. The server decides
    // with its own clock, so the worker ticks in the past.
    salon.put_settings(json!({ "survey_valid_days": 1 })).await;
    let late = salon
        .client(json!({ "name": "陈洁", "email": "chen@example.com" }))
        .await;
    let completed = noon_in_shanghai_before(Utc::now() - Duration::days(3));
    salon.visit(&late, completed).await;
    assert_eq!(salon.tick(completed + Duration::hours(24)).await["delivery"]["sent"], 1);
    let expired = salon.survey_path("chen@example.com");
    let page = salon.open(&expired, "en").await;
    assert_page(&page, 410);
    assert_eq!(html_lang(&page.text), "zh-CN");
    assert!(page.text.contains("调研已过期"), "{}", page.text);
    assert!(page.text.contains("悦颜美容"));
    assert_page(&salon.post(&expired, &full_form(true)).await, 410);
    assert!(salon.complaint_ids().await.is_empty());

    // Withdrawn: the visit was voided after its survey went out.
    salon.put_settings(json!({ "survey_valid_days": 7 })).await;
    let voided_client = salon
        .client(json!({ "name": "孙丽", "email": "sun@example.com" }))
        .await;
    let completed = noon_in_shanghai_before(Utc::now() - Duration::hours(2));
    let visit = salon.visit(&voided_client, completed).await;
    salon.tick(completed + Duration::hours(24)).await;
    let withdrawn = salon.survey_path("sun@example.com");
    assert_page(&salon.open(&withdrawn, "zh-CN").await, 200);
    let void = salon
        .app
        .post(
            &format!("/api/v1/visits/{visit}/void"),
            &salon.owner.token,
            &json!({ "reason": "录错了" }),
        )
        .await;
    assert_eq!(void.status, 200, "{}", void.text);
    let page = salon.open(&withdrawn, "zh-CN").await;
    assert_page(&page, 404);
    assert!(page.text.contains("调研已关闭"), "{}", page.text);
    assert_page(&salon.post(&withdrawn, &full_form(true)).await, 404);
    assert!(salon.complaint_ids().await.is_empty());
}

both_backends!(
    a_low_answer_opens_one_complaint_and_a_high_one_none,
    a_concurrent_double_submit_opens_one_complaint,
    unknown_expired_and_withdrawn_links_show_friendly_pages,
);
