//! The care worker through its public surface: the real `worker` binary ticking at chosen
//! instants against the app's database, a real SMTP server and the SMS providers' fakes on
//! loopback, and `GET /api/v1/messages`. Each automation's positive and negative cases,
//! consent, the cap, quiet hours, time zones (DST, 29 February), retries, permanent errors,
//! two ticks at once and a worker killed mid-batch.

use chrono::{DateTime, Duration, Utc};
use e2e::fakes::sms::{Failure, FakeSms};
use e2e::fakes::smtp::SmtpSink;
use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::{json, Value};

const BASE: &str = "https://crm.example.test";

/// A salon chain with a store, wired to the fakes.
pub(crate) struct Salon {
    pub(crate) app: TestApp,
    pub(crate) owner: Session,
    pub(crate) store: String,
    pub(crate) smtp: SmtpSink,
    pub(crate) sms: FakeSms,
    pub(crate) extra_env: Vec<(String, String)>,
}

impl Salon {
    pub(crate) async fn new(backend: Backend, zone: &str) -> Salon {
        let app = TestApp::spawn(backend).await;
        let owner = app.signup("悦颜美容").await;
        let store = Self::add_store(&app, &owner, "静安店", zone).await;
        Salon {
            app,
            owner,
            store,
            smtp: SmtpSink::start(),
            sms: FakeSms::start(),
            extra_env: Vec::new(),
        }
    }

    pub(crate) async fn add_store(app: &TestApp, owner: &Session, name: &str, zone: &str) -> String {
        let response = app
            .post(
                "/api/v1/stores",
                &owner.token,
                &json!({ "name": name, "timezone": zone, "phone": "021-62880000" }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn client(&self, body: Value) -> String {
        let mut body = body;
        if body.get("home_store_id").is_none() {
            body["home_store_id"] = json!(self.store);
        }
        let response = self.app.post("/api/v1/clients", &self.owner.token, &body).await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    /// `POST /imports/clients` with this CSV, all rows accepted.
    pub(crate) async fn import_clients(&self, csv: String) {
        let request = self
            .app
            .client()
            .post(self.app.url("/api/v1/imports/clients"))
            .bearer_auth(&self.owner.token)
            .header("content-type", "text/csv")
            .body(csv);
        let response = self.app.send(request).await;
        assert_eq!(response.status, 200, "{}", response.text);
    }

    pub(crate) async fn visit(&self, client: &str, completed_at: DateTime<Utc>) -> String {
        let response = self
            .app
            .post(
                "/api/v1/visits",
                &self.owner.token,
                &json!({
                    "client_id": client, "store_id": self.store, "completed_at": completed_at.to_rfc3339(),
                    "lines": [{ "description": "深层补水护理", "amount_cents": 39800 }], "payment_method": "wechat_pay",
                }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = self.smtp.env();
        env.extend(self.sms.env("twilio"));
        env.push(("PUBLIC_BASE_URL".into(), BASE.into()));
        env.extend(self.extra_env.iter().cloned());
        env
    }

    pub(crate) fn tick_command(&self, now: &str) -> tokio::process::Command {
        let mut command = self.app.worker_command(&["tick", "--now", now]);
        command.envs(self.env()).env("RUST_LOG", "warn");
        command
    }

    /// A `worker tick` started in the background with its output discarded, to be killed.
    pub(crate) fn spawn_tick(&self, now: &str) -> tokio::process::Child {
        self.tick_command(now)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start worker tick")
    }

    /// `worker run` with this salon's providers, sweeping every second, its metrics on a free
    /// port (tests run side by side).
    pub(crate) fn run_command(&self) -> tokio::process::Command {
        let mut command = self.app.worker_command(&["run"]);
        command
            .envs(self.env())
            .env("WORKER_INTERVAL_SECS", "1")
            .env("WORKER_METRICS_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn");
        command
    }

    /// One `worker tick --now` and its JSON report.
    pub(crate) async fn tick(&self, now: &str) -> Value {
        let output = self.tick_command(now).output().await.expect("run worker tick");
        assert!(
            output.status.success(),
            "worker tick failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("a JSON report")
    }

    pub(crate) async fn messages(&self, query: &str) -> Vec<Value> {
        let response = self
            .app
            .get(&format!("/api/v1/messages?limit=200{query}"), &self.owner.token)
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json["items"].as_array().unwrap().clone()
    }

    pub(crate) async fn put_settings(&self, changes: Value) {
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
}

/// An IANA zone (`Etc/GMT±N`) where the local hour is `hour` now, and its local date: tests
/// that run the worker on the real clock pick the local time they need, whenever they run.
pub(crate) fn zone_where_it_is(hour: i32) -> (String, chrono::NaiveDate) {
    let now = Utc::now();
    let utc_hour = i32::try_from(chrono::Timelike::hour(&now)).unwrap();
    let mut offset = hour - utc_hour;
    if offset < -12 {
        offset += 24;
    }
    if offset > 14 {
        offset -= 24;
    }
    // Etc/GMT zones have the sign reversed: Etc/GMT-8 is UTC+8.
    let zone = match offset {
        0 => "Etc/GMT".to_owned(),
        n if n > 0 => format!("Etc/GMT-{n}"),
        n => format!("Etc/GMT+{}", -n),
    };
    let local = now.with_timezone(&chrono::FixedOffset::east_opt(offset * 3600).unwrap());
    (zone, local.date_naive())
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn rfc(time: DateTime<Utc>) -> String {
    time.to_rfc3339()
}

async fn birthday_greeting_once_at_ten_local_time(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon
        .client(json!({ "name": "李晓雯", "phone": "13800138001", "birthday": "03-14", "marketing_consent": true, "preferred_channel": "sms", "locale": "zh-CN" }))
        .await;
    // 09:59 in Shanghai: not yet.
    assert_eq!(salon.tick("2026-03-14T01:59:00Z").await["sweep"]["messages_created"], 0);
    assert!(salon.sms.received().is_empty());
    // 10:00: one greeting, by SMS through Twilio.
    let report = salon.tick("2026-03-14T02:00:00Z").await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    let received = salon.sms.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, "+8613800138001");
    let body = received[0].body.clone().unwrap();
    assert!(body.starts_with("【"), "{body}");
    assert!(body.contains("李晓雯"), "{body}");
    assert!(body.contains("回T退订"), "{body}");
    assert!(body.contains(&format!("{BASE}/u/")), "{body}");
    assert!(!body.contains("{token}"), "{body}");
    // The outbox shows it sent, with the link's token never stored.
    let messages = salon.messages(&format!("&client_id={client}")).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "birthday");
    assert_eq!(messages[0]["status"], "sent");
    assert_eq!(messages[0]["attempts"], 1);
    assert!(messages[0]["body"].as_str().unwrap().contains("/u/{token}"));
    // The same instant again, later that day, and the next day: nothing new.
    assert_eq!(salon.tick("2026-03-14T02:00:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2026-03-14T15:00:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2026-03-15T02:00:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.sms.received().len(), 1);
    // Next year: again.
    assert_eq!(salon.tick("2027-03-14T02:30:00Z").await["sweep"]["messages_created"], 1);
    assert_eq!(salon.sms.received().len(), 2);
}

async fn a_late_sweep_still_greets_that_day_but_not_the_next(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    salon
        .client(json!({ "name": "王芳", "phone": "13800138002", "birthday": "05-20", "marketing_consent": true }))
        .await;
    salon
        .client(json!({ "name": "赵敏", "phone": "13800138003", "birthday": "05-19", "marketing_consent": true }))
        .await;
    // The worker was down from before 10:00 on 19 May until 20:30 on 20 May (Shanghai).
    let report = salon.tick("2026-05-20T12:30:00Z").await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    let received = salon.sms.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, "+8613800138002");
    // Back at 23:30 the same day after another outage: quiet hours would hold the greeting
    // until the morning after the birthday, so it is recorded as not sent, with its reason.
    let late = salon
        .client(json!({ "name": "黄蓉", "phone": "13800138014", "birthday": "05-20", "marketing_consent": true }))
        .await;
    let report = salon.tick("2026-05-20T15:30:00Z").await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    assert_eq!(report["delivery"]["sent"], 0, "{report}");
    assert_eq!(salon.tick("2026-05-21T01:00:00Z").await["delivery"]["sent"], 0);
    assert_eq!(salon.sms.received().len(), 1);
    let message = &salon.messages(&format!("&client_id={late}")).await[0];
    assert_eq!(message["status"], "suppressed");
    assert_eq!(message["suppression_reason"], "day_passed");
}

async fn a_greeting_failing_until_the_evening_is_not_sent_the_day_after(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon
        .client(json!({ "name": "林青", "phone": "13800138016", "birthday": "05-22", "marketing_consent": true }))
        .await;
    // 20:55 in Shanghai: the provider is down; the retry would fall in quiet hours.
    salon.sms.fail_next("twilio", 1, Failure::ServerError);
    let report = salon.tick("2026-05-22T12:55:00Z").await;
    assert_eq!(report["delivery"]["retrying"], 1, "{report}");
    // The next morning the retry is due, but the birthday is over.
    let report = salon.tick("2026-05-23T01:30:00Z").await;
    assert_eq!(report["delivery"]["sent"], 0, "{report}");
    assert!(salon.sms.received().is_empty());
    let message = &salon.messages(&format!("&client_id={client}")).await[0];
    assert_eq!(message["status"], "suppressed");
    assert_eq!(message["suppression_reason"], "day_passed");
    assert!(message["last_error"].as_str().unwrap().contains("500"), "{message}");
}

async fn leap_day_birthdays_fall_on_the_28th_in_common_years(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    salon
        .client(json!({ "name": "周婷", "phone": "13800138004", "birthday": "2000-02-29", "marketing_consent": true }))
        .await;
    assert_eq!(salon.tick("2027-02-27T03:00:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2027-02-28T03:00:00Z").await["sweep"]["messages_created"], 1);
    assert_eq!(salon.tick("2027-03-01T03:00:00Z").await["sweep"]["messages_created"], 0);
    // In a leap year, on the day itself.
    assert_eq!(salon.tick("2028-02-28T03:00:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2028-02-29T03:00:00Z").await["sweep"]["messages_created"], 1);
}

async fn shanghai_and_london_each_at_their_own_ten(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let london = Salon::add_store(&salon.app, &salon.owner, "Mayfair", "Europe/London").await;
    salon
        .client(json!({ "name": "陈洁", "phone": "13800138005", "birthday": "06-01", "marketing_consent": true }))
        .await;
    salon
        .client(json!({ "name": "Emma Hall", "email": "emma@example.com", "preferred_channel": "email", "birthday": "06-01", "marketing_consent": true, "home_store_id": london, "locale": "en" }))
        .await;
    // 10:00 in Shanghai is 03:00 in London (BST).
    let report = salon.tick("2026-06-01T02:00:00Z").await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    assert_eq!(salon.sms.received().len(), 1);
    assert!(salon.smtp.received().is_empty());
    // 10:00 BST is 09:00 UTC.
    assert_eq!(salon.tick("2026-06-01T08:59:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2026-06-01T09:00:00Z").await["sweep"]["messages_created"], 1);
    let mail = salon.smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].rcpt_to, vec!["emma@example.com".to_owned()]);
    assert!(mail[0].text().unwrap().contains("Emma Hall"));
    // Marketing email carries one-click unsubscribe (RFC 8058).
    assert!(mail[0]
        .header("List-Unsubscribe")
        .unwrap()
        .contains(&format!("{BASE}/u/")));
    assert_eq!(
        mail[0].header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
}

async fn new_york_dst_days_send_once(backend: Backend) {
    let salon = Salon::new(backend, "America/New_York").await;
    salon.client(json!({ "name": "Ava Stone", "phone": "+12125550101", "birthday": "03-08", "marketing_consent": true, "locale": "en" })).await;
    salon.client(json!({ "name": "Mia Lane", "phone": "+12125550102", "birthday": "11-01", "marketing_consent": true, "locale": "en" })).await;
    // 8 March 2026: clocks spring forward at 02:00; 10:00 EDT is 14:00 UTC.
    assert_eq!(salon.tick("2026-03-08T13:59:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2026-03-08T14:00:00Z").await["sweep"]["messages_created"], 1);
    // 1 November 2026: clocks fall back at 02:00; 10:00 EST is 15:00 UTC, once.
    assert_eq!(salon.tick("2026-11-01T14:59:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2026-11-01T15:00:00Z").await["sweep"]["messages_created"], 1);
    assert_eq!(salon.tick("2026-11-01T16:00:00Z").await["sweep"]["messages_created"], 0);
    let received = salon.sms.received();
    assert_eq!(received.len(), 2);
    assert!(
        received[0].body.as_deref().unwrap().contains("Reply STOP"),
        "{:?}",
        received[0].body
    );
}

async fn marketing_without_consent_is_recorded_as_suppressed(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let no_consent = salon
        .client(json!({ "name": "孙丽", "phone": "13800138006", "birthday": "07-07", "marketing_consent": false }))
        .await;
    let no_contact = salon
        .client(json!({ "name": "钱芳", "birthday": "07-07", "marketing_consent": true }))
        .await;
    let report = salon.tick("2026-07-07T02:00:00Z").await;
    assert_eq!(report["sweep"]["messages_created"], 2, "{report}");
    assert_eq!(report["delivery"]["sent"], 0, "{report}");
    assert!(salon.sms.received().is_empty());
    let first = &salon.messages(&format!("&client_id={no_consent}")).await[0];
    assert_eq!(first["status"], "suppressed");
    assert_eq!(first["suppression_reason"], "no_consent");
    let second = &salon.messages(&format!("&client_id={no_contact}")).await[0];
    assert_eq!(second["suppression_reason"], "no_contact");
    assert_eq!(salon.messages("&status=suppressed").await.len(), 2);
}

/// The most recent 21:30 Shanghai time that is at least two hours ago.
fn last_evening_in_shanghai(now: DateTime<Utc>) -> DateTime<Utc> {
    let mut candidate = now.date_naive().and_hms_opt(13, 30, 0).unwrap().and_utc();
    while candidate > now - Duration::hours(2) {
        candidate -= Duration::days(1);
    }
    candidate
}

async fn a_survey_follows_each_visit_by_a_day_and_waits_out_quiet_hours(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon
        .client(json!({ "name": "刘倩", "email": "liu@example.com", "preferred_channel": "email", "marketing_consent": false }))
        .await;
    // Completed at 21:30 local: the survey falls due at 21:30 the next day, in quiet hours.
    let completed = last_evening_in_shanghai(Utc::now());
    let visit = salon.visit(&client, completed).await;
    assert_eq!(
        salon.tick(&rfc(completed + Duration::hours(23))).await["sweep"]["messages_created"],
        0
    );
    let due = completed + Duration::hours(24);
    let report = salon.tick(&rfc(due)).await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    assert_eq!(report["delivery"]["sent"], 0, "{report}");
    let message = &salon.messages("&kind=survey").await[0];
    assert_eq!(message["status"], "deferred", "{message}");
    assert_eq!(message["suppression_reason"], "quiet_hours");
    assert_eq!(message["visit_id"], visit.as_str());
    // 09:00 the next morning in Shanghai (01:00 UTC): sent, without a marketing footer.
    let morning = message["next_attempt_at"].as_str().unwrap().to_owned();
    assert!(morning.contains("T01:00:00"), "{morning}");
    assert_eq!(
        salon.tick(&rfc(at(&morning) - Duration::minutes(1))).await["delivery"]["sent"],
        0
    );
    assert_eq!(salon.tick(&morning).await["delivery"]["sent"], 1);
    let mail = salon.smtp.received();
    assert_eq!(mail.len(), 1);
    let text = mail[0].text().unwrap();
    assert!(text.contains(&format!("{BASE}/s/")), "{text}");
    assert!(mail[0].header("List-Unsubscribe").is_none());
    // A survey is not marketing: no consent needed. One per visit: nothing more later.
    assert_eq!(
        salon.tick(&rfc(due + Duration::days(2))).await["sweep"]["messages_created"],
        0
    );
}

async fn late_recorded_and_voided_visits_get_no_survey(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon.client(json!({ "name": "吴静", "phone": "13800138007" })).await;
    let now = Utc::now();
    // Recorded ten days after it happened (history typed in later): no survey.
    salon.visit(&client, now - Duration::days(10)).await;
    // Voided before its survey was due: none either.
    let voided = salon.visit(&client, now - Duration::hours(2)).await;
    let response = salon
        .app
        .post(
            &format!("/api/v1/visits/{voided}/void"),
            &salon.owner.token,
            &json!({ "reason": "录错了" }),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let report = salon.tick(&rfc(now + Duration::days(2))).await;
    assert!(salon.messages("&kind=survey").await.is_empty(), "{report}");
    assert!(salon.sms.received().is_empty());
}

async fn dormant_clients_get_two_wake_ups_thirty_days_apart(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon
        .client(json!({ "name": "郑爽", "phone": "13800138008", "marketing_consent": true, "birthday": "01-01" }))
        .await;
    let last_visit = Utc::now() - Duration::days(1);
    salon.visit(&client, last_visit).await;
    // Noon in Shanghai on the given day after the visit, so quiet hours never interfere.
    let day = |n: i64| {
        let date = (last_visit + Duration::days(n)).date_naive();
        rfc(date.and_hms_opt(4, 0, 0).unwrap().and_utc())
    };
    salon.tick(&day(2)).await; // the survey goes out
    let wake_ups = || async { salon.messages("&kind=wake_up").await };
    salon.tick(&day(59)).await;
    assert!(wake_ups().await.is_empty());
    salon.tick(&day(61)).await;
    assert_eq!(wake_ups().await.len(), 1);
    assert_eq!(wake_ups().await[0]["status"], "sent");
    salon.tick(&day(75)).await;
    assert_eq!(wake_ups().await.len(), 1, "the second waits 30 days");
    salon.tick(&day(92)).await;
    assert_eq!(wake_ups().await.len(), 2);
    salon.tick(&day(130)).await;
    salon.tick(&day(170)).await;
    assert_eq!(wake_ups().await.len(), 2, "at most two per dormancy spell");
    let texts: Vec<String> = salon.sms.received().iter().filter_map(|sms| sms.body.clone()).collect();
    assert_eq!(
        texts.iter().filter(|text| text.contains("回T退订")).count(),
        2,
        "{texts:?}"
    );
}

async fn clients_already_dormant_when_imported_are_woken(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    salon
        .client(json!({ "name": "冯媛", "phone": "13800138009", "marketing_consent": true }))
        .await;
    let long_ago = (Utc::now() - Duration::days(200)).format("%Y-%m-%d 15:00").to_string();
    let csv = format!(
        "phone,store_id,completed_at,amount_cents\n13800138009,{},{long_ago},29800\n",
        salon.store
    );
    let response = salon
        .app
        .send(
            salon
                .app
                .client()
                .post(salon.app.url("/api/v1/imports/visits"))
                .bearer_auth(&salon.owner.token)
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let noon = Utc::now().date_naive().and_hms_opt(4, 0, 0).unwrap().and_utc() + Duration::days(1);
    let report = salon.tick(&rfc(noon)).await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    let messages = salon.messages("").await;
    assert_eq!(
        messages.len(),
        1,
        "no survey for history imported long after: {messages:?}"
    );
    assert_eq!(messages[0]["kind"], "wake_up");
}

async fn the_marketing_cap_holds_back_a_second_message_within_the_window(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    // A 40-day cap is longer than the 30 days between wake-ups.
    salon.put_settings(json!({ "marketing_cap_days": 40 })).await;
    let client = salon
        .client(json!({ "name": "蒋琳", "phone": "13800138010", "marketing_consent": true }))
        .await;
    let last_visit = Utc::now() - Duration::days(1);
    salon.visit(&client, last_visit).await;
    let day = |n: i64| {
        rfc((last_visit + Duration::days(n))
            .date_naive()
            .and_hms_opt(4, 0, 0)
            .unwrap()
            .and_utc())
    };
    salon.tick(&day(61)).await;
    salon.tick(&day(92)).await;
    let wake_ups = salon.messages("&kind=wake_up").await;
    assert_eq!(wake_ups.len(), 2);
    let reasons: Vec<&Value> = wake_ups.iter().map(|m| &m["suppression_reason"]).collect();
    assert!(reasons.contains(&&json!("frequency_cap")), "{wake_ups:?}");
    // The client's phone also got the survey after the visit; of marketing, one message.
    let marketing = salon
        .sms
        .received()
        .into_iter()
        .filter(|s| s.body.as_deref().is_some_and(|b| b.contains("回T退订")));
    assert_eq!(marketing.count(), 1);
}

async fn too_many_requests_is_retried_after_the_providers_wait(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    salon
        .client(json!({ "name": "韩雪", "phone": "13800138011", "birthday": "08-08", "marketing_consent": true }))
        .await;
    salon.sms.fail_next(
        "twilio",
        1,
        Failure::TooManyRequests {
            retry_after_secs: Some(7),
        },
    );
    let report = salon.tick("2026-08-08T02:00:00Z").await;
    assert_eq!(report["delivery"]["retrying"], 1, "{report}");
    let message = &salon.messages("").await[0];
    assert_eq!(message["status"], "pending");
    assert_eq!(message["attempts"], 1);
    assert!(message["last_error"].as_str().unwrap().contains("429"), "{message}");
    assert_eq!(message["next_attempt_at"].as_str().unwrap(), "2026-08-08T02:00:07Z");
    assert_eq!(salon.tick("2026-08-08T02:00:06Z").await["delivery"]["sent"], 0);
    assert_eq!(salon.tick("2026-08-08T02:00:07Z").await["delivery"]["sent"], 1);
    assert_eq!(salon.sms.received().len(), 1);
    let message = &salon.messages("").await[0];
    assert_eq!(message["status"], "sent");
    assert_eq!(message["attempts"], 2);
}

async fn a_message_failing_every_attempt_fails_after_the_last_one(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    salon.put_settings(json!({ "max_attempts": 2 })).await;
    salon
        .client(json!({ "name": "方圆", "phone": "13800138020", "birthday": "08-09", "marketing_consent": true }))
        .await;
    salon.sms.fail_next("twilio", 2, Failure::ServerError);
    let report = salon.tick("2026-08-09T02:00:00Z").await;
    assert_eq!(report["delivery"]["retrying"], 1, "{report}");
    let retry_at = salon.messages("").await[0]["next_attempt_at"]
        .as_str()
        .unwrap()
        .to_owned();
    // The second attempt, after the backoff (12 minutes ± 20 %), is the last.
    assert!(at(&retry_at) > at("2026-08-09T02:09:00Z"), "{retry_at}");
    assert!(at(&retry_at) < at("2026-08-09T02:15:00Z"), "{retry_at}");
    let report = salon.tick(&retry_at).await;
    assert_eq!(report["delivery"]["failed"], 1, "{report}");
    let message = &salon.messages("").await[0];
    assert_eq!(message["status"], "failed");
    assert_eq!(message["attempts"], 2);
    assert!(message["last_error"].as_str().unwrap().contains("20500"), "{message}");
    assert!(message["next_attempt_at"].is_null(), "{message}");
    // Nothing more happens by itself.
    assert_eq!(salon.tick("2026-08-09T06:00:00Z").await["delivery"]["sent"], 0);
    assert_eq!(salon.sms.requests(), 2);
}

async fn staff_cancel_a_waiting_message_and_it_never_goes(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon
        .client(json!({ "name": "白露", "phone": "13800138021", "birthday": "10-01", "marketing_consent": true }))
        .await;
    // Decided at 08:30 in Shanghai (quiet hours with a 08:00 greeting): deferred to 09:00.
    salon.put_settings(json!({ "birthday_time": "08:00" })).await;
    salon.tick("2026-10-01T00:30:00Z").await;
    let message = salon.messages(&format!("&client_id={client}")).await[0].clone();
    assert_eq!(message["status"], "deferred", "{message}");
    let id = message["id"].as_str().unwrap();
    let cancelled = salon
        .app
        .post(&format!("/api/v1/messages/{id}/cancel"), &salon.owner.token, &json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.json["status"], "cancelled");
    assert_eq!(salon.tick("2026-10-01T02:00:00Z").await["delivery"]["sent"], 0);
    assert!(salon.sms.received().is_empty());
    // Cancelled is final: a second cancel is a conflict, and so is a retry.
    let again = salon
        .app
        .post(&format!("/api/v1/messages/{id}/cancel"), &salon.owner.token, &json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
}

async fn voiding_a_visit_cancels_its_waiting_survey(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon.client(json!({ "name": "秦岚", "phone": "13800138022" })).await;
    // Its survey falls due at 21:30 Shanghai (quiet hours) and waits for the morning.
    let due = last_evening_in_shanghai(Utc::now());
    let visit = salon.visit(&client, due - Duration::hours(24)).await;
    salon.tick(&rfc(due + Duration::minutes(5))).await;
    let survey = salon.messages("&kind=survey").await[0].clone();
    assert_eq!(survey["status"], "deferred", "{survey}");
    let voided = salon
        .app
        .post(
            &format!("/api/v1/visits/{visit}/void"),
            &salon.owner.token,
            &json!({ "reason": "重复录入" }),
        )
        .await;
    assert_eq!(voided.status, 200, "{}", voided.text);
    let survey = salon.messages("&kind=survey").await[0].clone();
    assert_eq!(survey["status"], "cancelled", "{survey}");
    assert_eq!(salon.tick(&rfc(due + Duration::hours(12))).await["delivery"]["sent"], 0);
    assert!(salon.sms.received().is_empty());
}

/// A client whose visits (recorded now, long after) were `days_ago` days before now. Recording
/// them makes the dormancy sweep look at her again from now on.
async fn client_with_past_visits(salon: &Salon, name: &str, phone: &str, days_ago: &[i64]) -> String {
    let client = salon
        .client(json!({ "name": name, "phone": phone, "marketing_consent": true }))
        .await;
    for days in days_ago {
        salon.visit(&client, Utc::now() - Duration::days(*days)).await;
    }
    client
}

/// Noon in Shanghai on the `n`th day after today (n ≥ 1: always later than now).
fn noon_in(n: i64) -> String {
    rfc((Utc::now() + Duration::days(n))
        .date_naive()
        .and_hms_opt(4, 0, 0)
        .unwrap()
        .and_utc())
}

async fn a_visit_ends_the_dormancy_spell(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = client_with_past_visits(&salon, "江月", "13800138023", &[61]).await;
    let wake_ups = || async { salon.messages("&kind=wake_up").await };
    salon.tick(&noon_in(1)).await;
    assert_eq!(wake_ups().await.len(), 1);
    // She comes back: the spell ends, and no second wake-up follows 30 days later.
    salon.visit(&client, Utc::now() - Duration::minutes(5)).await;
    salon.tick(&noon_in(32)).await;
    salon.tick(&noon_in(50)).await;
    assert_eq!(wake_ups().await.len(), 1, "{:?}", wake_ups().await);
    // 60 days after that visit a new spell begins, with its own first wake-up.
    salon.tick(&noon_in(61)).await;
    let all = wake_ups().await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_ne!(all[0]["occasion"], all[1]["occasion"], "a new spell, a new occasion");
    assert!(all.iter().all(|m| m["status"] == "sent"), "{all:?}");
    // Besides them, only the return visit's survey went out.
    assert_eq!(salon.sms.received().len(), 3);
    assert_eq!(salon.messages("&kind=survey&status=sent").await.len(), 1);
}

async fn a_client_with_a_rhythm_is_woken_by_it(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    salon
        .put_settings(json!({ "personal_rhythm": true, "rhythm_min_visits": 3 }))
        .await;
    // Every 50 days, the last 99 days ago: twice the median interval, 100 days, is her own
    // threshold, so she is not dormant until tomorrow (the tenant's 60 days would say she is).
    client_with_past_visits(&salon, "夏天", "13800138024", &[199, 149, 99]).await;
    // With two visits she would have no rhythm: the tenant's 60 days.
    client_with_past_visits(&salon, "秋月", "13800138025", &[149, 99]).await;
    salon.tick(&rfc(Utc::now() + Duration::minutes(1))).await;
    let first: Vec<Value> = salon.messages("&kind=wake_up").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["recipient"], "+8613800138025", "{first:?}");
    salon.tick(&noon_in(2)).await;
    let woken = salon.messages("&kind=wake_up").await;
    assert_eq!(woken.len(), 2, "{woken:?}");
    assert!(woken.iter().any(|m| m["recipient"] == "+8613800138024"), "{woken:?}");
}

async fn the_birthday_greeting_is_exempt_from_the_cap(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    // Her birthday is the day after her wake-up.
    let birthday = (Utc::now() + Duration::days(2)).date_naive();
    let client = salon
        .client(json!({
            "name": "柳絮", "phone": "13800138026", "marketing_consent": true,
            "birthday": birthday.format("%m-%d").to_string(),
        }))
        .await;
    salon.visit(&client, Utc::now() - Duration::days(61)).await;
    salon.tick(&noon_in(1)).await;
    assert_eq!(salon.messages("&kind=wake_up&status=sent").await.len(), 1);
    salon.tick(&noon_in(2)).await;
    let greeting = salon.messages("&kind=birthday").await[0].clone();
    assert_eq!(greeting["status"], "sent", "{greeting}");
    assert_eq!(salon.sms.received().len(), 2);
}

async fn a_permanent_error_fails_at_once_and_staff_can_retry_or_cancel(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    // Her birthday is tomorrow (Shanghai): staff retry before the day is over.
    let tomorrow = noon_in(1);
    let birthday = at(&tomorrow).date_naive().format("%m-%d").to_string();
    salon
        .client(json!({ "name": "曹颖", "phone": "13800138012", "birthday": birthday, "marketing_consent": true }))
        .await;
    salon.sms.fail_next("twilio", 1, Failure::InvalidNumber);
    let report = salon.tick(&tomorrow).await;
    assert_eq!(report["delivery"]["failed"], 1, "{report}");
    let message = salon.messages("&status=failed").await[0].clone();
    assert_eq!(message["attempts"], 1);
    assert!(message["last_error"].as_str().unwrap().contains("21211"), "{message}");
    let id = message["id"].as_str().unwrap();
    // A front-desk member may not retry; the owner may.
    let desk = salon
        .app
        .create_staff(&salon.owner, "front_desk", Some(&salon.store))
        .await;
    let denied = salon
        .app
        .post(&format!("/api/v1/messages/{id}/retry"), &desk.token, &json!({}))
        .await;
    assert_eq!(denied.status, 403);
    let retried = salon
        .app
        .post(&format!("/api/v1/messages/{id}/retry"), &salon.owner.token, &json!({}))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(retried.json["status"], "pending");
    // Due again at once (the server's clock): still on her birthday, an hour later.
    assert_eq!(
        salon.tick(&rfc(at(&tomorrow) + Duration::hours(1))).await["delivery"]["sent"],
        1
    );
    // A sent message cannot be cancelled or retried.
    let cancel = salon
        .app
        .post(&format!("/api/v1/messages/{id}/cancel"), &salon.owner.token, &json!({}))
        .await;
    assert_eq!(cancel.status, 409);
    let retry = salon
        .app
        .post(&format!("/api/v1/messages/{id}/retry"), &salon.owner.token, &json!({}))
        .await;
    assert_eq!(retry.status, 409);
}

async fn a_complaint_alerts_its_store_manager_and_escalates_when_the_callback_is_missed(backend: Backend) {
    // 23:00 at the store: deep in quiet hours, which staff alerts ignore.
    let (zone, _) = zone_where_it_is(23);
    let salon = Salon::new(backend, &zone).await;
    let manager = salon
        .app
        .create_staff(&salon.owner, "store_manager", Some(&salon.store))
        .await;
    let patched = salon
        .app
        .patch(
            &format!("/api/v1/staff/{}", manager.staff_id),
            &salon.owner.token,
            &json!({ "phone": "13900139000" }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let client = salon.client(json!({ "name": "杜娟", "phone": "13800138013" })).await;
    let opened = salon
        .app
        .post(
            "/api/v1/complaints",
            &manager.token,
            &json!({ "client_id": client, "summary": "护理后皮肤发红" }),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let id = opened.json["id"].as_str().unwrap().to_owned();
    assert_eq!(opened.json["level"], 1);
    assert_eq!(opened.json["assignee_id"], manager.staff_id.as_str());
    let opened_at = at(opened.json["opened_at"].as_str().unwrap());
    // At once, at any hour: an email and an SMS to the store manager.
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let local_hour = chrono::Timelike::hour(&(opened_at + Duration::minutes(1)).with_timezone(&tz));
    assert!(!(9..21).contains(&local_hour), "{local_hour}:00 is not in quiet hours");
    let report = salon.tick(&rfc(opened_at + Duration::minutes(1))).await;
    assert_eq!(report["delivery"]["sent"], 2, "{report} {:?}", salon.messages("").await);
    assert_eq!(salon.smtp.received()[0].rcpt_to, vec![manager.email.clone()]);
    assert_eq!(salon.sms.received()[0].to, "+8613900139000");
    // The callback hour passes unmet: no HQ manager, so the owner is alerted.
    salon.tick(&rfc(opened_at + Duration::minutes(59))).await;
    assert_eq!(salon.smtp.received().len(), 1);
    let report = salon.tick(&rfc(opened_at + Duration::minutes(61))).await;
    assert_eq!(report["sweep"]["messages_created"], 1, "{report}");
    let mail = salon.smtp.received();
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[1].rcpt_to, vec![salon.owner.email.clone()]);
    let complaint = salon
        .app
        .get(&format!("/api/v1/complaints/{id}"), &salon.owner.token)
        .await;
    assert_eq!(complaint.json["level"], 3, "{}", complaint.text);
    assert_eq!(
        complaint.json["assignee_id"],
        salon.owner.staff_id.as_str(),
        "the owner owns it now"
    );
    let kinds: Vec<&str> = complaint.json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "alert", "escalated", "alert"], "{}", complaint.text);
    // Steps in order; out of order is a conflict, an unknown step a 422.
    let steps = format!("/api/v1/complaints/{id}/steps");
    assert_eq!(
        salon
            .app
            .post(&steps, &manager.token, &json!({ "step": "solution" }))
            .await
            .status,
        409
    );
    assert_eq!(
        salon
            .app
            .post(&steps, &manager.token, &json!({ "step": "apology" }))
            .await
            .invalid_fields(),
        ["step"]
    );
    assert_eq!(
        salon
            .app
            .post(&steps, &manager.token, &json!({ "step": "callback", "note": "已致电" }))
            .await
            .status,
        200
    );
    assert_eq!(
        salon
            .app
            .post(&steps, &manager.token, &json!({ "step": "solution" }))
            .await
            .status,
        200
    );
    let closed = salon
        .app
        .post(&steps, &manager.token, &json!({ "step": "follow_up" }))
        .await;
    assert_eq!(closed.json["status"], "closed", "{}", closed.text);
    // Nothing more escalates once closed.
    assert_eq!(
        salon.tick(&rfc(opened_at + Duration::days(30))).await["sweep"]["messages_created"],
        0
    );
    // Staff of another store do not see it.
    let other_store = Salon::add_store(&salon.app, &salon.owner, "徐汇店", "Asia/Shanghai").await;
    let other = salon
        .app
        .create_staff(&salon.owner, "store_manager", Some(&other_store))
        .await;
    assert_eq!(
        salon
            .app
            .get(&format!("/api/v1/complaints/{id}"), &other.token)
            .await
            .status,
        404
    );
}

/// Clients with a birthday on `date`, imported in one file.
async fn a_complaint_has_an_owner_and_can_be_handed_over(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let app = &salon.app;
    let manager = app
        .create_staff(&salon.owner, "store_manager", Some(&salon.store))
        .await;
    let desk = app.create_staff(&salon.owner, "front_desk", Some(&salon.store)).await;
    let beautician = app.create_staff(&salon.owner, "beautician", Some(&salon.store)).await;
    let hq = app.create_staff(&salon.owner, "hq_manager", None).await;
    let other_store = Salon::add_store(app, &salon.owner, "徐汇店", "Asia/Shanghai").await;
    let other_manager = app
        .create_staff(&salon.owner, "store_manager", Some(&other_store))
        .await;
    let client = salon.client(json!({ "name": "何静", "phone": "13800138027" })).await;
    let body = json!({ "client_id": client, "summary": "前台接到投诉：预约被取消" });

    // A walk-in complaint reaches the front desk first: they may open it; the store manager owns it.
    assert_eq!(
        app.post("/api/v1/complaints", &beautician.token, &body).await.status,
        403
    );
    let opened = app.post("/api/v1/complaints", &desk.token, &body).await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    assert_eq!(opened.json["assignee_id"], manager.staff_id.as_str());
    let id = opened.json["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/complaints/{id}");
    // The front desk does not handle it further.
    let step = json!({ "step": "callback", "note": "已回电" });
    assert_eq!(app.post(&format!("{path}/steps"), &desk.token, &step).await.status, 403);
    assert_eq!(
        app.patch(&path, &desk.token, &json!({ "assignee_id": hq.staff_id }))
            .await
            .status,
        403
    );

    // Only someone who handles this store's complaints can own it.
    for nobody in [
        desk.staff_id.as_str(),
        other_manager.staff_id.as_str(),
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    ] {
        let refused = app
            .patch(&path, &manager.token, &json!({ "assignee_id": nobody }))
            .await;
        assert_eq!(refused.status, 422, "{nobody}: {}", refused.text);
        assert_eq!(refused.invalid_fields(), ["assignee_id"]);
    }
    let handed = app
        .patch(&path, &manager.token, &json!({ "assignee_id": hq.staff_id }))
        .await;
    assert_eq!(handed.status, 200, "{}", handed.text);
    assert_eq!(handed.json["assignee_id"], hq.staff_id.as_str());
    let assigned = handed.json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["kind"] == "assigned")
        .cloned()
        .unwrap();
    assert_eq!(assigned["staff_id"], hq.staff_id.as_str());
    assert_eq!(assigned["note"], manager.staff_id.as_str());
    let mine = app
        .get(
            &format!("/api/v1/complaints?assignee_id={}", hq.staff_id),
            &salon.owner.token,
        )
        .await;
    assert_eq!(mine.json["items"].as_array().unwrap().len(), 1, "{}", mine.text);
    let none = app
        .get(
            &format!("/api/v1/complaints?assignee_id={}", manager.staff_id),
            &salon.owner.token,
        )
        .await;
    assert!(none.json["items"].as_array().unwrap().is_empty(), "{}", none.text);
    let bad = app.get("/api/v1/complaints?assignee_id=nope", &salon.owner.token).await;
    assert_eq!(bad.status, 422);

    // Who recorded a step is on its timeline; a closed complaint keeps its owner.
    for step in ["callback", "solution", "follow_up"] {
        let recorded = app
            .post(&format!("{path}/steps"), &hq.token, &json!({ "step": step }))
            .await;
        assert_eq!(recorded.status, 200, "{}", recorded.text);
        let event = recorded.json["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["kind"] == step)
            .cloned()
            .unwrap();
        assert_eq!(event["staff_id"], hq.staff_id.as_str());
    }
    let closed = app
        .patch(&path, &salon.owner.token, &json!({ "assignee_id": manager.staff_id }))
        .await;
    assert_eq!(closed.status, 409, "{}", closed.text);
}

pub(crate) async fn import_birthday_clients(salon: &Salon, count: usize, date: &str) {
    let mut csv = String::from("name,phone,birthday,marketing_consent,home_store_id\n");
    for n in 0..count {
        csv.push_str(&format!("客户{n},1370000{n:04},{date},yes,{}\n", salon.store));
    }
    salon.import_clients(csv).await;
}

pub(crate) fn assert_each_once(numbers: Vec<String>, expected: usize) {
    let mut sorted = numbers.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), expected, "distinct recipients");
    assert_eq!(numbers.len(), expected, "a message went twice");
}

async fn two_ticks_at_once_send_each_message_once(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    import_birthday_clients(&salon, 60, "10-10").await;
    let now = "2026-10-10T02:00:00Z";
    let (a, b) = tokio::join!(salon.tick_command(now).output(), salon.tick_command(now).output());
    for output in [a.unwrap(), b.unwrap()] {
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_each_once(salon.sms.received().into_iter().map(|sms| sms.to).collect(), 60);
    assert_eq!(salon.messages("&status=sent").await.len(), 60);
    // And a third tick later changes nothing.
    salon.tick("2026-10-10T03:00:00Z").await;
    assert_eq!(salon.sms.received().len(), 60);
}

async fn an_erased_client_gets_nothing_more_and_their_export_lists_their_messages(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let client = salon
        .client(json!({ "name": "许晴", "phone": "13800138015", "birthday": "04-04", "marketing_consent": true }))
        .await;
    // A greeting at 08:00, decided at 08:30 local: it waits for the end of quiet hours (09:00).
    salon.put_settings(json!({ "birthday_time": "08:00" })).await;
    salon.tick("2026-04-04T00:30:00Z").await;
    let export = salon
        .app
        .get(&format!("/api/v1/clients/{client}/export"), &salon.owner.token)
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.json["messages"][0]["kind"], "birthday", "{}", export.text);
    assert_eq!(export.json["messages"][0]["status"], "deferred");
    let timeline = salon
        .app
        .get(&format!("/api/v1/clients/{client}/timeline"), &salon.owner.token)
        .await;
    assert!(timeline.text.contains("\"kind\":\"message\""), "{}", timeline.text);
    let erased = salon
        .app
        .post(
            &format!("/api/v1/clients/{client}/erase"),
            &salon.owner.token,
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    assert_eq!(salon.tick("2026-04-04T01:00:00Z").await["delivery"]["sent"], 0);
    assert!(salon.sms.received().is_empty());
    let message = &salon.messages("").await[0];
    assert_eq!(message["status"], "suppressed");
    assert_eq!(message["suppression_reason"], "erased");
}

async fn aliyun_and_tencent_deliver_through_the_worker(backend: Backend) {
    for provider in ["aliyun", "tencent"] {
        let mut salon = Salon::new(backend, "Asia/Shanghai").await;
        salon.extra_env = salon.sms.env(provider);
        salon
            .client(json!({ "name": "林夕", "phone": "13800138016", "birthday": "02-02", "marketing_consent": true }))
            .await;
        let report = salon.tick("2026-02-02T02:00:00Z").await;
        assert_eq!(
            report["delivery"]["sent"],
            1,
            "{provider}: {report} {:?}",
            salon.messages("").await
        );
        let received = salon.sms.received();
        assert_eq!(received.len(), 1, "{provider}");
        assert_eq!(received[0].provider, provider);
        assert!(
            received[0].template.is_some(),
            "{provider}: sent by an approved template"
        );
        assert!(
            received[0].params.iter().any(|(_, value)| value == "林夕"),
            "{provider}: {:?}",
            received[0].params
        );
        let message = &salon.messages("").await[0];
        assert_eq!(message["provider"], provider);
        assert!(message["provider_message_id"].is_string(), "{message}");
    }
}

async fn settings_are_validated_and_guarded(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let current = salon.app.get("/api/v1/settings", &salon.owner.token).await;
    assert_eq!(current.status, 200);
    assert_eq!(current.json["birthday_time"], "10:00");
    assert_eq!(current.json["survey_delay_hours"], 24);
    assert_eq!(current.json["dormant_days"], 60);
    let etag = current.headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let put = |body: Value, if_match: Option<String>| {
        let mut request = salon
            .app
            .client()
            .put(salon.app.url("/api/v1/settings"))
            .bearer_auth(&salon.owner.token)
            .json(&body);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        salon.app.send(request)
    };
    let bad = put(
        json!({ "survey_delay_hours": 0, "birthday_time": "25:00", "sms_provider": "pigeon" }),
        None,
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let mut fields = bad.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["birthday_time", "sms_provider", "survey_delay_hours"]);
    let unknown = put(json!({ "surprise": true }), None).await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    let saved = put(
        json!({ "birthday_time": "11:30", "dormant_days": 90 }),
        Some(etag.clone()),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.json["dormant_days"], 90);
    assert_eq!(
        saved.json["survey_delay_hours"], 24,
        "fields left out take their defaults"
    );
    let stale = put(json!({ "dormant_days": 30 }), Some(etag)).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    let desk = salon
        .app
        .create_staff(&salon.owner, "front_desk", Some(&salon.store))
        .await;
    assert_eq!(salon.app.get("/api/v1/settings", &desk.token).await.status, 200);
    let denied = salon
        .app
        .send(
            salon
                .app
                .client()
                .put(salon.app.url("/api/v1/settings"))
                .bearer_auth(&desk.token)
                .json(&json!({})),
        )
        .await;
    assert_eq!(denied.status, 403);
    // The new greeting time applies: 10:00 passes quietly, 11:30 greets.
    salon
        .client(json!({ "name": "白露", "phone": "13800138017", "birthday": "09-01", "marketing_consent": true }))
        .await;
    assert_eq!(salon.tick("2026-09-01T02:00:00Z").await["sweep"]["messages_created"], 0);
    assert_eq!(salon.tick("2026-09-01T03:30:00Z").await["sweep"]["messages_created"], 1);
}

both_backends!(
    aliyun_and_tencent_deliver_through_the_worker,
    settings_are_validated_and_guarded,
    an_erased_client_gets_nothing_more_and_their_export_lists_their_messages,
    birthday_greeting_once_at_ten_local_time,
    a_late_sweep_still_greets_that_day_but_not_the_next,
    a_greeting_failing_until_the_evening_is_not_sent_the_day_after,
    leap_day_birthdays_fall_on_the_28th_in_common_years,
    shanghai_and_london_each_at_their_own_ten,
    new_york_dst_days_send_once,
    marketing_without_consent_is_recorded_as_suppressed,
    a_survey_follows_each_visit_by_a_day_and_waits_out_quiet_hours,
    late_recorded_and_voided_visits_get_no_survey,
    dormant_clients_get_two_wake_ups_thirty_days_apart,
    clients_already_dormant_when_imported_are_woken,
    the_marketing_cap_holds_back_a_second_message_within_the_window,
    too_many_requests_is_retried_after_the_providers_wait,
    a_permanent_error_fails_at_once_and_staff_can_retry_or_cancel,
    a_message_failing_every_attempt_fails_after_the_last_one,
    staff_cancel_a_waiting_message_and_it_never_goes,
    voiding_a_visit_cancels_its_waiting_survey,
    a_visit_ends_the_dormancy_spell,
    a_client_with_a_rhythm_is_woken_by_it,
    the_birthday_greeting_is_exempt_from_the_cap,
    a_complaint_alerts_its_store_manager_and_escalates_when_the_callback_is_missed,
    a_complaint_has_an_owner_and_can_be_handed_over,
    two_ticks_at_once_send_each_message_once,
);
