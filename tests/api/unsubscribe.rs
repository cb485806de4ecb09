//! Opting out of marketing as a client does it: the unsubscribe link in an SMS or email (the
//! page, then its button), the mail client's one-click POST (RFC 8058), and a reply to an SMS
//! ("退订", "TD", "STOP"; "START" to opt back in) pushed by Twilio (signed), Aliyun or Tencent
//! (shared secret). Each time, the next marketing message is recorded `suppressed` with reason
//! `opted_out` and nothing reaches the provider. Real binaries, the SMTP sink and the SMS fakes.

use base64::Engine as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use e2e::fakes::sms::{FakeSms, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM};
use e2e::fakes::smtp::SmtpSink;
use e2e::{both_backends, Backend, Response, Session, TestApp};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// What the worker puts in links, and what the app is told it is reached at (the URL Twilio
/// signs). The tests reach the app at its loopback address and rewrite links accordingly.
const BASE: &str = "https://crm.example.test";
const ALIYUN_SECRET: &str = "aliyun-inbound-secret-for-tests-0001";
const TENCENT_SECRET: &str = "tencent-inbound-secret-for-tests-0001";
const SALON: &str = "悦颜美容";

/// A salon chain with a store, the web app configured like the worker, and the fakes.
struct Salon {
    app: TestApp,
    owner: Session,
    store: String,
    smtp: SmtpSink,
    sms: FakeSms,
    env: Vec<(String, String)>,
}

impl Salon {
    /// `providers`: the SMS providers configured (the last is the default).
    async fn new(backend: Backend, providers: &[&str]) -> Salon {
        let smtp = SmtpSink::start();
        let sms = FakeSms::start();
        let mut env = smtp.env();
        for provider in providers {
            env.extend(sms.env(provider));
        }
        env.push(("PUBLIC_BASE_URL".into(), BASE.into()));
        env.push(("ALIYUN_INBOUND_SECRET".into(), ALIYUN_SECRET.into()));
        env.push(("TENCENT_INBOUND_SECRET".into(), TENCENT_SECRET.into()));
        let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = TestApp::spawn_with(backend, &vars).await;
        let owner = app.signup(SALON).await;
        let store = app
            .post(
                "/api/v1/stores",
                &owner.token,
                &json!({ "name": "静安店", "timezone": "Asia/Shanghai", "phone": "021-62880000" }),
            )
            .await;
        assert_eq!(store.status, 201, "{}", store.text);
        let store = store.json["id"].as_str().unwrap().to_owned();
        Salon {
            app,
            owner,
            store,
            smtp,
            sms,
            env,
        }
    }

    async fn client(&self, body: Value) -> String {
        let mut body = body;
        body["home_store_id"] = json!(self.store);
        let response = self.app.post("/api/v1/clients", &self.owner.token, &body).await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    async fn get_client(&self, id: &str) -> Value {
        let response = self.app.get(&format!("/api/v1/clients/{id}"), &self.owner.token).await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json
    }

    async fn consent(&self, id: &str) -> bool {
        self.get_client(id).await["marketing_consent"].as_bool().unwrap()
    }

    /// One `worker tick --now` and its JSON report.
    async fn tick(&self, now: &str) -> Value {
        let output = self
            .app
            .worker_command(&["tick", "--now", now])
            .envs(self.env.iter().cloned())
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run worker tick");
        assert!(
            output.status.success(),
            "worker tick failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("a JSON report")
    }

    /// The client's birthday greetings, newest first.
    async fn greetings(&self, client: &str) -> Vec<Value> {
        let response = self
            .app
            .get(
                &format!("/api/v1/messages?limit=200&kind=birthday&client_id={client}"),
                &self.owner.token,
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json["items"].as_array().unwrap().clone()
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

    /// The consent changes the system recorded for the client (not staff's), newest first.
    async fn opt_out_audit(&self, client: &str) -> Vec<Value> {
        let response = self
            .app
            .get(
                &format!("/api/v1/audit?action=consent_changed&subject_id={client}"),
                &self.owner.token,
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        let entries = response.json["items"].as_array().unwrap();
        entries
            .iter()
            .filter(|entry| entry["actor_id"].is_null())
            .cloned()
            .collect()
    }

    // ---- the page ----

    async fn get_page(&self, path: &str) -> Response {
        self.app.send(self.app.client().get(self.app.url(path))).await
    }

    async fn post_page(&self, path: &str, origin: Option<&str>, content_type: &str, body: &str) -> Response {
        let mut request = self
            .app
            .client()
            .post(self.app.url(path))
            .header("content-type", content_type)
            .body(body.to_owned());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        self.app.send(request).await
    }

    /// The button's POST, as a browser on the page sends it.
    async fn press_button(&self, path: &str) -> Response {
        let origin = self.app.base.clone();
        self.post_page(path, Some(&origin), "application/x-www-form-urlencoded", "")
            .await
    }

    // ---- inbound SMS ----

    /// A reply pushed by Twilio, signed with the account's auth token over the URL Twilio
    /// calls (`PUBLIC_BASE_URL` + the path), unless `signature` replaces the real one.
    async fn twilio_reply(&self, from: &str, body: &str, signature: Option<&str>) -> Response {
        let path = "/api/v1/inbound/sms/twilio";
        let params = [
            ("AccountSid", TWILIO_ACCOUNT_SID),
            ("ApiVersion", "2010-04-01"),
            ("Body", body),
            ("From", from),
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
            ("To", TWILIO_FROM),
        ];
        let real = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{BASE}{path}"), &params);
        let request = self
            .app
            .client()
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature.unwrap_or(&real))
            .body(serde_urlencoded::to_string(params).unwrap());
        self.app.send(request).await
    }

    async fn provider_push(&self, provider: &str, secret: Option<&str>, body: Value) -> Response {
        let path = match secret {
            Some(secret) => format!("/api/v1/inbound/sms/{provider}?secret={secret}"),
            None => format!("/api/v1/inbound/sms/{provider}"),
        };
        self.app.request(reqwest::Method::POST, &path, None, Some(&body)).await
    }
}

/// base64(HMAC-SHA1(auth token, URL + the parameters sorted by name, name then value)).
fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The path of the unsubscribe link in a message (`BASE/u/TOKEN` → `/u/TOKEN`).
fn unsubscribe_path(text: &str) -> String {
    let prefix = format!("{BASE}/u/");
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no unsubscribe link in {text}"))
        + prefix.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 16, "{text}");
    format!("/u/{token}")
}

fn assert_page(response: &Response, status: u16) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.content_type(), "text/html; charset=utf-8", "{}", response.text);
    let header = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(header("content-security-policy").contains("default-src 'none'"));
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
}

/// Two consecutive recent days (never 29 February, so "a year later" exists), each at 10:00 in
/// Shanghai. Replies are matched with SMS sent in the last months, so these tests send them
/// near the real date rather than at a fixed one.
fn recent_birthdays() -> [NaiveDate; 2] {
    let today = Utc::now().date_naive();
    let pick = |back: i64| [today - Duration::days(back), today - Duration::days(back - 1)];
    let days = pick(5);
    if days.iter().any(|d| d.month() == 2 && d.day() == 29) {
        pick(7)
    } else {
        days
    }
}

fn ten_in_shanghai(day: NaiveDate) -> String {
    let at: DateTime<Utc> = day.and_hms_opt(2, 0, 0).unwrap().and_utc();
    at.to_rfc3339()
}

fn a_year_later(day: NaiveDate, years: i32) -> NaiveDate {
    day.with_year(day.year() + years).unwrap()
}

fn month_day(day: NaiveDate) -> String {
    format!("{:02}-{:02}", day.month(), day.day())
}

async fn the_link_in_an_sms_unsubscribes_and_the_next_greeting_is_suppressed(backend: Backend) {
    let salon = Salon::new(backend, &["twilio"]).await;
    let client = salon
        .client(json!({ "name": "李晓雯", "phone": "13800138001", "birthday": "03-14", "marketing_consent": true, "preferred_channel": "sms", "locale": "zh-CN" }))
        .await;
    let report = salon.tick("2026-03-14T02:00:00Z").await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    let sms = salon.sms.received();
    assert_eq!(sms.len(), 1);
    let page = unsubscribe_path(sms[0].body.as_deref().unwrap());

    // The page: the salon's name and one button, in the client's language. Looking changes
    // nothing.
    let shown = salon.get_page(&page).await;
    assert_page(&shown, 200);
    assert!(shown.text.contains("<html lang=\"zh-CN\">"), "{}", shown.text);
    assert!(shown.text.contains(SALON), "{}", shown.text);
    assert!(shown.text.contains("<form method=\"post\""), "{}", shown.text);
    assert!(shown.text.contains(">确认退订</button>"), "{}", shown.text);
    assert_eq!(shown.text.matches("<button").count(), 1, "{}", shown.text);
    assert!(salon.consent(&client).await);

    // A form posted from another site is refused, and changes nothing.
    let forged = salon
        .post_page(
            &page,
            Some("https://evil.example"),
            "application/x-www-form-urlencoded",
            "",
        )
        .await;
    assert_page(&forged, 403);
    assert!(salon.consent(&client).await);

    // The button: opted out at once, with time and source.
    let done = salon.press_button(&page).await;
    assert_page(&done, 200);
    assert!(done.text.contains("您已退订"), "{}", done.text);
    assert!(done.text.contains(SALON), "{}", done.text);
    assert!(!done.text.contains("<form"), "{}", done.text);
    let after = salon.get_client(&client).await;
    assert_eq!(after["marketing_consent"], false, "{after}");
    assert_eq!(after["consent_source"], "link", "{after}");
    assert!(after["consent_changed_at"].is_string(), "{after}");

    // A second POST shows the same page and changes nothing (the first opt-out is kept).
    let again = salon.press_button(&page).await;
    assert_page(&again, 200);
    assert!(again.text.contains("您已退订"), "{}", again.text);
    assert_eq!(salon.get_client(&client).await, after);
    // Coming back to the link shows the confirmation, not the button.
    let revisit = salon.get_page(&page).await;
    assert_page(&revisit, 200);
    assert!(
        revisit.text.contains("您已退订") && !revisit.text.contains("<form"),
        "{}",
        revisit.text
    );
    // One consent change in the audit log by the system (besides staff's at creation), from the
    // link.
    let audit = salon.opt_out_audit(&client).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["details"]["source"], "link");
    assert_eq!(audit[0]["details"]["marketing_consent"], false);

    // Unknown tokens: a friendly 404 page, for a look and for a post.
    let longer = format!("{page}x");
    for path in ["/u/AAAAAAAAAAAAAAAAAAAAAA", "/u/nope", longer.as_str()] {
        let unknown = salon.get_page(path).await;
        assert_page(&unknown, 404);
        assert!(unknown.text.contains("链接无效") && unknown.text.contains("This link is not valid"));
        assert_page(&salon.press_button(path).await, 404);
    }

    // Next year's greeting is decided, recorded as suppressed (opted out), and not sent.
    salon.tick("2027-03-14T02:00:00Z").await;
    let greetings = salon.greetings(&client).await;
    assert_eq!(greetings.len(), 2, "{greetings:?}");
    assert_eq!(greetings[0]["status"], "suppressed", "{:?}", greetings[0]);
    assert_eq!(greetings[0]["suppression_reason"], "opted_out", "{:?}", greetings[0]);
    assert_eq!(greetings[1]["status"], "sent");
    assert_eq!(salon.sms.received().len(), 1);
}

async fn one_click_from_a_mail_client_unsubscribes(backend: Backend) {
    let salon = Salon::new(backend, &["twilio"]).await;
    let client = salon
        .client(json!({ "name": "Emma Hall", "email": "emma@example.com", "preferred_channel": "email", "birthday": "03-14", "marketing_consent": true, "locale": "en" }))
        .await;
    let report = salon.tick("2026-03-14T02:00:00Z").await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    let mail = salon.smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        mail[0].header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let page = unsubscribe_path(&mail[0].header("List-Unsubscribe").unwrap());
    // The same link in the text shows the page in English.
    assert_eq!(unsubscribe_path(&mail[0].text().unwrap()), page);
    let shown = salon.get_page(&page).await;
    assert_page(&shown, 200);
    assert!(shown.text.contains("<html lang=\"en\">"), "{}", shown.text);
    assert!(shown.text.contains(">Unsubscribe</button>"), "{}", shown.text);
    assert!(shown.text.contains(SALON), "{}", shown.text);

    // RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click`, without an Origin.
    let one_click = salon
        .post_page(
            &page,
            None,
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(one_click.status, 200, "{}", one_click.text);
    let after = salon.get_client(&client).await;
    assert_eq!(after["marketing_consent"], false, "{after}");
    assert_eq!(after["consent_source"], "one_click", "{after}");
    // A retry by the mail provider (multipart this time) changes nothing.
    let retry = salon
        .post_page(
            &page,
            None,
            "multipart/form-data; boundary=---FormBoundaryjWmhtjORrn",
            "---FormBoundaryjWmhtjORrn\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n---FormBoundaryjWmhtjORrn--\r\n",
        )
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(salon.get_client(&client).await, after);

    salon.tick("2027-03-14T02:00:00Z").await;
    let greetings = salon.greetings(&client).await;
    assert_eq!(greetings[0]["status"], "suppressed", "{:?}", greetings[0]);
    assert_eq!(greetings[0]["suppression_reason"], "opted_out", "{:?}", greetings[0]);
    assert_eq!(salon.smtp.received().len(), 1);
}

async fn a_twilio_reply_opts_out_and_start_opts_back_in(backend: Backend) {
    let salon = Salon::new(backend, &["twilio"]).await;
    let [day, _] = recent_birthdays();
    let client = salon
        .client(json!({ "name": "王芳", "phone": "13800138002", "birthday": month_day(day), "marketing_consent": true, "preferred_channel": "sms", "locale": "zh-CN" }))
        .await;
    // Another salon chain has a client with the same number but never texted it.
    let other = salon.app.signup("另一家美容").await;
    let elsewhere = salon
        .app
        .post(
            "/api/v1/clients",
            &other.token,
            &json!({ "name": "王芳", "phone": "13800138002", "marketing_consent": true }),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
    let elsewhere = elsewhere.json["id"].as_str().unwrap().to_owned();
    let report = salon.tick(&ten_in_shanghai(day)).await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    assert_eq!(salon.sms.received()[0].to, "+8613800138002");
    let before = salon.get_client(&client).await;

    // A wrong or missing signature: 403 problem, nothing changes.
    let forged = salon
        .twilio_reply("+8613800138002", "退订", Some("bm90IHRoZSBzaWduYXR1cmU="))
        .await;
    forged.problem(403);
    let unsigned = salon
        .app
        .send(
            salon
                .app
                .client()
                .post(salon.app.url("/api/v1/inbound/sms/twilio"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("From=%2B8613800138002&Body=STOP"),
        )
        .await;
    unsigned.problem(403);
    assert_eq!(salon.get_client(&client).await, before);

    // A number nobody texted, and a reply that is not a keyword: acknowledged, nothing changes.
    let stranger = salon.twilio_reply("+8613900139000", "退订", None).await;
    assert_eq!(stranger.status, 200, "{}", stranger.text);
    let chat = salon.twilio_reply("+8613800138002", "谢谢，下周见", None).await;
    assert_eq!(chat.status, 200, "{}", chat.text);
    assert_eq!(salon.get_client(&client).await, before);

    // "退订": opted out at the salon that texted the number, not at the other chain.
    let reply = salon.twilio_reply("+8613800138002", " 退订 ", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.content_type().starts_with("text/xml"), "{}", reply.content_type());
    assert!(reply.text.contains("<Response/>"), "{}", reply.text);
    let after = salon.get_client(&client).await;
    assert_eq!(after["marketing_consent"], false, "{after}");
    assert_eq!(after["consent_source"], "sms:twilio", "{after}");
    let untouched = salon
        .app
        .get(&format!("/api/v1/clients/{elsewhere}"), &other.token)
        .await;
    assert_eq!(untouched.json["marketing_consent"], true, "{}", untouched.text);
    // Twilio delivers a retried webhook again: nothing more changes.
    assert_eq!(salon.twilio_reply("+8613800138002", "STOP", None).await.status, 200);
    assert_eq!(salon.get_client(&client).await, after);

    // Next year's greeting: suppressed, opted out, nothing sent.
    salon.tick(&ten_in_shanghai(a_year_later(day, 1))).await;
    let greetings = salon.greetings(&client).await;
    assert_eq!(greetings.len(), 2, "{greetings:?}");
    assert_eq!(greetings[0]["status"], "suppressed", "{:?}", greetings[0]);
    assert_eq!(greetings[0]["suppression_reason"], "opted_out", "{:?}", greetings[0]);
    assert_eq!(salon.sms.received().len(), 1);

    // "START" opts back in (with its time and source); the year after, the greeting goes.
    let start = salon.twilio_reply("+8613800138002", "start", None).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let back = salon.get_client(&client).await;
    assert_eq!(back["marketing_consent"], true, "{back}");
    assert_eq!(back["consent_source"], "sms:twilio", "{back}");
    let audit = salon.opt_out_audit(&client).await;
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["details"]["marketing_consent"], true);
    assert_eq!(audit[1]["details"]["marketing_consent"], false);
    salon.tick(&ten_in_shanghai(a_year_later(day, 2))).await;
    assert_eq!(salon.greetings(&client).await[0]["status"], "sent");
    assert_eq!(salon.sms.received().len(), 2);
}

async fn aliyun_and_tencent_replies_need_the_shared_secret(backend: Backend) {
    let salon = Salon::new(backend, &["aliyun", "tencent"]).await;
    let [first, second] = recent_birthdays();
    let by_aliyun = salon
        .client(json!({ "name": "赵敏", "phone": "13800138003", "birthday": month_day(first), "marketing_consent": true, "locale": "zh-CN" }))
        .await;
    let by_tencent = salon
        .client(json!({ "name": "周婷", "phone": "13800138004", "birthday": month_day(second), "marketing_consent": true, "locale": "zh-CN" }))
        .await;
    salon.put_settings(json!({ "sms_provider": "aliyun" })).await;
    assert_eq!(salon.tick(&ten_in_shanghai(first)).await["delivery"]["sent"], 1);
    salon.put_settings(json!({ "sms_provider": "tencent" })).await;
    assert_eq!(salon.tick(&ten_in_shanghai(second)).await["delivery"]["sent"], 1);
    let providers: Vec<String> = salon.sms.received().into_iter().map(|m| m.provider).collect();
    assert_eq!(providers, ["aliyun", "tencent"]);

    // Aliyun's SmsUp push: an array; the secret in the URL is the only authentication.
    let up = json!([{
        "phone_number": "13800138003", "content": "TD", "send_time": "2026-03-14 10:05:00",
        "dest_code": "1234", "sequence_id": 1234567890, "sign_name": "美发沙龙",
    }]);
    salon.provider_push("aliyun", None, up.clone()).await.problem(403);
    salon
        .provider_push("aliyun", Some("not-the-secret-0000000000"), up.clone())
        .await
        .problem(403);
    // The Tencent secret does not open Aliyun's door.
    salon
        .provider_push("aliyun", Some(TENCENT_SECRET), up.clone())
        .await
        .problem(403);
    assert!(salon.consent(&by_aliyun).await);
    let accepted = salon.provider_push("aliyun", Some(ALIYUN_SECRET), up).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["code"], 0, "{}", accepted.text);
    let after = salon.get_client(&by_aliyun).await;
    assert_eq!(after["marketing_consent"], false, "{after}");
    assert_eq!(after["consent_source"], "sms:aliyun", "{after}");

    // A reply through Aliyun from the number only Tencent texted is about nobody.
    let wrong_way = json!([{ "phone_number": "13800138004", "content": "退订", "send_time": "2026-03-15 10:05:00", "dest_code": "1234", "sequence_id": "1234567891" }]);
    let ignored = salon.provider_push("aliyun", Some(ALIYUN_SECRET), wrong_way).await;
    assert_eq!(ignored.status, 200, "{}", ignored.text);
    assert!(salon.consent(&by_tencent).await);

    // Tencent's reply callback: one object.
    let reply = json!({ "extend": "", "mobile": "13800138004", "nationcode": "86", "sign": "美发沙龙", "text": "退订", "time": 1773454000 });
    salon
        .provider_push("tencent", Some(ALIYUN_SECRET), reply.clone())
        .await
        .problem(403);
    assert!(salon.consent(&by_tencent).await);
    let accepted = salon.provider_push("tencent", Some(TENCENT_SECRET), reply).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["result"], 0, "{}", accepted.text);
    let after = salon.get_client(&by_tencent).await;
    assert_eq!(after["marketing_consent"], false, "{after}");
    assert_eq!(after["consent_source"], "sms:tencent", "{after}");

    // An unknown provider is 404.
    salon
        .provider_push("carrier-pigeon", Some(ALIYUN_SECRET), json!({}))
        .await
        .problem(404);

    // Both clients' next greetings are suppressed as opted out; the fakes receive nothing new.
    salon.tick(&ten_in_shanghai(a_year_later(first, 1))).await;
    salon.tick(&ten_in_shanghai(a_year_later(second, 1))).await;
    for client in [&by_aliyun, &by_tencent] {
        let greetings = salon.greetings(client).await;
        assert_eq!(greetings[0]["status"], "suppressed", "{:?}", greetings[0]);
        assert_eq!(greetings[0]["suppression_reason"], "opted_out", "{:?}", greetings[0]);
    }
    assert_eq!(salon.sms.received().len(), 2);
}

/// Issue 13, item 4: "START" reverses only an opt-out that came by SMS through the same sender.
/// A client who unsubscribed with the link at one salon and by "STOP" at another is opted back
/// in at the second only; the first keeps her "no" (and its source).
async fn start_only_undoes_an_opt_out_given_by_sms(backend: Backend) {
    let salon = Salon::new(backend, &["twilio"]).await;
    let [day, _] = recent_birthdays();
    let here = salon
        .client(json!({ "name": "陈静", "phone": "13800138005", "birthday": month_day(day), "marketing_consent": true, "preferred_channel": "sms", "locale": "zh-CN" }))
        .await;
    let other = salon.app.signup("另一家美容").await;
    let there = salon
        .app
        .post(
            "/api/v1/clients",
            &other.token,
            &json!({ "name": "陈静", "phone": "13800138005", "birthday": month_day(day), "marketing_consent": true, "locale": "zh-CN" }),
        )
        .await;
    assert_eq!(there.status, 201, "{}", there.text);
    let there = there.json["id"].as_str().unwrap().to_owned();
    let there_consent = || async {
        salon
            .app
            .get(&format!("/api/v1/clients/{there}"), &other.token)
            .await
            .json["marketing_consent"]
            .as_bool()
            .unwrap()
    };
    let report = salon.tick(&ten_in_shanghai(day)).await;
    assert_eq!(report["delivery"]["sent"], 2, "{report}");
    let ours = salon
        .sms
        .received()
        .into_iter()
        .find(|sms| sms.body.as_deref().is_some_and(|body| body.contains(SALON)))
        .expect("our greeting");

    // At our salon she unsubscribes with the link; then she replies STOP (both salons texted
    // her): the other salon opts her out too, ours keeps the first opt-out and its source.
    let page = unsubscribe_path(ours.body.as_deref().unwrap());
    assert_page(&salon.press_button(&page).await, 200);
    assert_eq!(salon.twilio_reply("+8613800138005", "STOP", None).await.status, 200);
    assert!(!salon.consent(&here).await);
    assert!(!there_consent().await);

    // START: back in at the salon where STOP was her only "no"; not where she used the link.
    assert_eq!(salon.twilio_reply("+8613800138005", "START", None).await.status, 200);
    assert!(there_consent().await, "the SMS opt-out is reversed by SMS");
    let after = salon.get_client(&here).await;
    assert_eq!(after["marketing_consent"], false, "{after}");
    assert_eq!(after["consent_source"], "link", "{after}");
}

both_backends!(
    the_link_in_an_sms_unsubscribes_and_the_next_greeting_is_suppressed,
    one_click_from_a_mail_client_unsubscribes,
    a_twilio_reply_opts_out_and_start_opts_back_in,
    aliyun_and_tencent_replies_need_the_shared_secret,
    start_only_undoes_an_opt_out_given_by_sms,
);
