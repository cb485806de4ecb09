//! What HQ sees, checked against a small known scenario played through the real binaries: a
//! chain with a store in Shanghai and one in London, surveys sent by `worker tick` and answered
//! on the survey page (links taken from the SMTP sink), birthday greetings, wake-ups and a
//! win-back, complaints opened by staff and by a low answer, steps recorded on time, missed
//! callbacks escalated by a tick past their deadline. Then the care report's exact figures per
//! store (each on its own local days) and in total, its store filter and who may read it; the
//! complaints list and its filters; the follow-up's satisfaction; the surveys list and its
//! filters.
//!
//! The web's clock is the real one (complaints and answers happen now), the worker's is the
//! `--now` of each tick: the fixed-date parts (surveys, birthdays) are ticked a few days in the
//! past, the rest just after now.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use e2e::fakes::sms::FakeSms;
use e2e::fakes::smtp::SmtpSink;
use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::{json, Value};

const BASE: &str = "https://crm.example.test";

/// A chain with a Shanghai store (with its manager) and a London store (with a front desk but
/// no manager, so its complaints start with the HQ manager), wired to the fakes.
struct Chain {
    app: TestApp,
    owner: Session,
    hq: Session,
    shanghai: String,
    london: String,
    manager: Session,
    desk: Session,
    smtp: SmtpSink,
    sms: FakeSms,
    /// Today's UTC date when the test began: the fixed instants are days before it.
    today: NaiveDate,
}

impl Chain {
    async fn new(backend: Backend) -> Chain {
        let app = TestApp::spawn(backend).await;
        let owner = app.signup("悦颜美容").await;
        let store = |name: &'static str, zone: &'static str| {
            let app = &app;
            let owner = &owner;
            async move {
                let response = app
                    .post(
                        "/api/v1/stores",
                        &owner.token,
                        &json!({ "name": name, "timezone": zone }),
                    )
                    .await;
                assert_eq!(response.status, 201, "{}", response.text);
                response.json["id"].as_str().unwrap().to_owned()
            }
        };
        let shanghai = store("静安店", "Asia/Shanghai").await;
        let london = store("Mayfair", "Europe/London").await;
        let hq = app.create_staff(&owner, "hq_manager", None).await;
        let manager = app.create_staff(&owner, "store_manager", Some(&shanghai)).await;
        let desk = app.create_staff(&owner, "front_desk", Some(&london)).await;
        Chain {
            app,
            owner,
            hq,
            shanghai,
            london,
            manager,
            desk,
            smtp: SmtpSink::start(),
            sms: FakeSms::start(),
            today: Utc::now().date_naive(),
        }
    }

    /// `days` after today (UTC) at `hour:00` UTC.
    fn at(&self, days: i64, hour: u32) -> DateTime<Utc> {
        (self.today + Duration::days(days))
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn date(&self, days: i64) -> String {
        (self.today + Duration::days(days)).format("%Y-%m-%d").to_string()
    }

    async fn client(&self, store: &str, body: Value) -> String {
        let mut body = body;
        body["home_store_id"] = json!(store);
        let response = self.app.post("/api/v1/clients", &self.owner.token, &body).await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    async fn visit(&self, client: &str, store: &str, completed_at: DateTime<Utc>) -> String {
        let response = self
            .app
            .post(
                "/api/v1/visits",
                &self.owner.token,
                &json!({
                    "client_id": client, "store_id": store, "completed_at": completed_at.to_rfc3339(),
                    "lines": [{ "description": "深层补水护理", "amount_cents": 39800 }], "payment_method": "alipay",
                }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

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

    async fn put_settings(&self, changes: Value) {
        let mut settings = self.app.get("/api/v1/settings", &self.owner.token).await.json;
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

    /// Answers the survey mailed to `email` on its page, as the client's phone would post it.
    async fn answer(&self, email: &str, fields: &[(&str, &str)]) {
        let mail = self.smtp.received();
        let mail = mail
            .iter()
            .find(|mail| mail.rcpt_to.iter().any(|to| to == email))
            .unwrap_or_else(|| panic!("no mail to {email}"));
        let text = mail.text().unwrap();
        let prefix = format!("{BASE}/s/");
        let start = text.find(&prefix).unwrap_or_else(|| panic!("no survey link in {text}")) + prefix.len();
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let response = self
            .app
            .send(
                self.app
                    .client()
                    .post(self.app.url(&format!("/s/{token}")))
                    .header("Origin", &self.app.base)
                    .form(fields),
            )
            .await;
        assert_eq!(response.status, 200, "answering the survey page: {}", response.text);
    }

    async fn open_complaint(&self, by: &Session, client: &str, store: &str) -> String {
        let response = self
            .app
            .post(
                "/api/v1/complaints",
                &by.token,
                &json!({ "client_id": client, "store_id": store, "summary": "护理后皮肤发红" }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json["id"].as_str().unwrap().to_owned()
    }

    async fn step(&self, by: &Session, complaint: &str, body: Value) -> e2e::Response {
        self.app
            .post(&format!("/api/v1/complaints/{complaint}/steps"), &by.token, &body)
            .await
    }

    /// The ids in a list answer, in order.
    async fn ids(&self, by: &Session, path: &str) -> Vec<String> {
        let response = self.app.get(path, &by.token).await;
        assert_eq!(response.status, 200, "{path}: {}", response.text);
        response.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn report(&self, by: &Session, query: &str) -> e2e::Response {
        self.app.get(&format!("/api/v1/reports/care?{query}"), &by.token).await
    }
}

fn rfc(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn suppressed(no_consent: i64, no_contact: i64) -> Value {
    json!({ "no_consent": no_consent, "no_contact": no_contact, "opted_out": 0, "frequency_cap": 0, "erased": 0, "day_passed": 0 })
}

fn step(on_time: i64, late: i64, sla: Option<f64>, pending: i64) -> Value {
    json!({ "on_time": on_time, "late": late, "sla_percent": sla, "pending": pending })
}

/// A part's complaint figures without the time to callback (seconds of real time), which is
/// returned apart.
fn complaints_of(part: &Value) -> (Value, Option<f64>) {
    let mut complaints = part["complaints"].clone();
    let minutes = complaints
        .as_object_mut()
        .unwrap()
        .remove("mean_minutes_to_callback")
        .unwrap();
    (complaints, minutes.as_f64())
}

async fn the_care_report_adds_up_a_known_scenario(backend: Backend) {
    let chain = Chain::new(backend).await;
    // Quiet hours moved to one minute half a day away, so that no instant of the scenario (the
    // fixed ones are on the hour, the rest are now) waits for the morning.
    let shanghai_now = Utc::now() + Duration::hours(8);
    let quiet = (shanghai_now.hour() + 12) % 24;
    chain
        .put_settings(json!({ "quiet_start": format!("{quiet:02}:30"), "quiet_end": format!("{quiet:02}:31") }))
        .await;

    // ---- Clients --------------------------------------------------------------------------
    let (sh, ldn) = (chain.shanghai.as_str(), chain.london.as_str());
    let birthday = (chain.today - Duration::days(3)).format("%m-%d").to_string();
    // Birthdays three days ago: greeted in Shanghai; no consent; consent but no way to reach.
    chain
        .client(
            sh,
            json!({ "name": "李晓雯", "phone": "13800138001", "birthday": birthday, "marketing_consent": true }),
        )
        .await;
    chain
        .client(
            sh,
            json!({ "name": "王芳", "phone": "13800138002", "birthday": birthday, "marketing_consent": false }),
        )
        .await;
    chain
        .client(
            ldn,
            json!({ "name": "Olivia Reed", "birthday": birthday, "marketing_consent": true, "locale": "en" }),
        )
        .await;
    // Visits three days ago, surveyed two days ago: one by mail unreachable (no contact).
    let s1 = chain
        .client(
            sh,
            json!({ "name": "刘倩", "email": "s1@example.com", "preferred_channel": "email" }),
        )
        .await;
    let s2 = chain
        .client(
            sh,
            json!({ "name": "陈洁", "email": "s2@example.com", "preferred_channel": "email" }),
        )
        .await;
    let s3 = chain
        .client(
            ldn,
            json!({ "name": "Emma Hall", "email": "s3@example.com", "preferred_channel": "email", "locale": "en" }),
        )
        .await;
    let s4 = chain.client(sh, json!({ "name": "赵敏" })).await;
    chain.visit(&s1, sh, chain.at(-3, 14)).await;
    chain.visit(&s4, sh, chain.at(-3, 14)).await;
    chain.visit(&s2, sh, chain.at(-3, 16)).await;
    chain.visit(&s3, ldn, chain.at(-3, 16)).await;
    // Dormant for 101 days (history typed in now: no survey): two London clients, one in Shanghai.
    let w1 = chain
        .client(ldn, json!({ "name": "Grace Lee", "email": "w1@example.com", "preferred_channel": "email", "marketing_consent": true, "locale": "en" }))
        .await;
    let w2 = chain
        .client(
            ldn,
            json!({ "name": "Amelia Fox", "phone": "+447911123456", "marketing_consent": true, "locale": "en" }),
        )
        .await;
    let w3 = chain
        .client(
            sh,
            json!({ "name": "孙丽", "phone": "13800138003", "marketing_consent": true }),
        )
        .await;
    for (client, store) in [(&w1, ldn), (&w2, ldn), (&w3, sh)] {
        chain.visit(client, store, chain.at(-101, 12)).await;
    }

    // ---- The worker, on fixed days ----------------------------------------------------------
    // Three days ago, 12:00 UTC (20:00 in Shanghai, midday in London): birthdays.
    let report = chain.tick(chain.at(-3, 12)).await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    // Two days ago, 15:00 UTC: 23:00 in Shanghai, the same day — s1's survey, s4's suppressed.
    let report = chain.tick(chain.at(-2, 15)).await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    // 17:00 UTC: already 01:00 the next day in Shanghai (s2), still that day in London (s3).
    let report = chain.tick(chain.at(-2, 17)).await;
    assert_eq!(report["delivery"]["sent"], 2, "{report}");
    assert_eq!(chain.smtp.received().len(), 3);

    // ---- Now: wake-ups, one won back ------------------------------------------------------
    let woken_at = Utc::now();
    let report = chain.tick(woken_at).await;
    assert_eq!(report["delivery"]["sent"], 3, "three wake-ups: {report}");
    // w2 comes back to London a minute later (a win-back); w3 (of Shanghai) comes to London,
    // which wins nothing back for Shanghai.
    chain.visit(&w2, ldn, woken_at + Duration::minutes(1)).await;
    chain.visit(&w3, ldn, woken_at + Duration::minutes(1)).await;

    // ---- Survey answers on the page --------------------------------------------------------
    let high = [
        ("service", "5"),
        ("technician", "5"),
        ("environment", "4"),
        ("result", "5"),
        ("nps", "10"),
    ];
    let low = [
        ("service", "2"),
        ("technician", "3"),
        ("environment", "4"),
        ("result", "3"),
        ("nps", "6"),
        ("comment", "等了四十分钟"),
    ];
    let london_answer = [
        ("service", "5"),
        ("technician", "4"),
        ("environment", "5"),
        ("result", "5"),
        ("nps", "9"),
    ];
    chain.answer("s1@example.com", &high).await;
    chain.answer("s2@example.com", &low).await;
    chain.answer("s3@example.com", &london_answer).await;

    // ---- Complaints ------------------------------------------------------------------------
    let owner = chain.owner.clone();
    let manager = chain.manager.clone();
    let hq = chain.hq.clone();
    // c1 (Shanghai, by its manager): every step at once, on time; satisfied 4 of 5.
    let c1 = chain.open_complaint(&manager, &s1, sh).await;
    // Satisfaction only with the follow-up, and 1 to 5.
    let early = chain
        .step(&manager, &c1, json!({ "step": "callback", "satisfaction": 4 }))
        .await;
    assert_eq!(early.invalid_fields(), ["satisfaction"]);
    for body in [
        json!({ "step": "callback", "note": "已致电" }),
        json!({ "step": "solution" }),
    ] {
        let response = chain.step(&manager, &c1, body).await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
    let out_of_range = chain
        .step(&manager, &c1, json!({ "step": "follow_up", "satisfaction": 6 }))
        .await;
    assert_eq!(out_of_range.invalid_fields(), ["satisfaction"]);
    let closed = chain
        .step(&manager, &c1, json!({ "step": "follow_up", "satisfaction": 4 }))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.json["status"], "closed");
    assert_eq!(closed.json["resolution_satisfaction"], 4);
    let c1_seen = chain.app.get(&format!("/api/v1/complaints/{c1}"), &owner.token).await;
    assert_eq!(c1_seen.json["resolution_satisfaction"], 4, "{}", c1_seen.text);
    assert_eq!(c1_seen.json["overdue"], false);
    // c2 (Shanghai): opened by s2's low answer; its callback will be missed.
    let surveys = chain.app.get("/api/v1/surveys?limit=200", &owner.token).await;
    let s2_survey = surveys.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["client_id"] == s2.as_str())
        .unwrap()
        .clone();
    let c2 = s2_survey["complaint_id"]
        .as_str()
        .expect("a low answer opens a complaint")
        .to_owned();
    // c3 and c4 (London, no store manager: the HQ manager's from the start).
    let c3 = chain.open_complaint(&owner, &s3, ldn).await;
    let c4 = chain.open_complaint(&owner, &s3, ldn).await;
    let callback = chain.step(&hq, &c3, json!({ "step": "callback" })).await;
    assert_eq!(callback.status, 200, "{}", callback.text);
    // An hour and a minute later, c2's and c4's callbacks have been missed.
    let report = chain.tick(Utc::now() + Duration::minutes(61)).await;
    assert!(report["sweep"]["messages_created"].as_i64().unwrap() >= 2, "{report}");
    let c2_seen = chain.app.get(&format!("/api/v1/complaints/{c2}"), &owner.token).await;
    assert_eq!(c2_seen.json["level"], 2, "{}", c2_seen.text);
    assert_eq!(c2_seen.json["source"], "survey");
    assert_eq!(c2_seen.json["overdue"], true);
    let c4_seen = chain.app.get(&format!("/api/v1/complaints/{c4}"), &owner.token).await;
    assert_eq!(c4_seen.json["level"], 3, "{}", c4_seen.text);

    // ---- The care report ------------------------------------------------------------------
    let range = format!("from={}&to={}", chain.date(-7), chain.date(2));
    let response = chain.report(&owner, &range).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let report = &response.json;
    let stores = report["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 2, "{report}");
    let part = |id: &str| stores.iter().find(|s| s["store_id"] == id).unwrap().clone();
    let (shanghai, london) = (part(sh), part(ldn));
    assert_eq!(shanghai["timezone"], "Asia/Shanghai");
    assert_eq!(shanghai["window_start"], format!("{}T16:00:00Z", chain.date(-8)));

    assert_eq!(
        shanghai["surveys"],
        json!({
            "sent": 2, "answered": 2, "response_rate_percent": 100.0,
            "mean_scores": { "service": 3.5, "technician": 4.0, "environment": 4.0, "result": 4.0 },
            "overall_mean": 3.88, "nps": 0.0, "nps_responses": 2, "promoters": 1, "passives": 0, "detractors": 1,
        }),
        "{report}"
    );
    let (complaints, minutes) = complaints_of(&shanghai);
    assert_eq!(
        complaints,
        json!({
            "opened": 2,
            "callback": step(1, 1, Some(50.0), 0),
            "solution": step(1, 0, Some(100.0), 1),
            "follow_up": step(1, 0, Some(100.0), 0),
            "escalations": { "level_2": 1, "level_3": 0 },
            "resolution_satisfaction_mean": 4.0, "resolution_satisfaction_responses": 1,
        }),
        "{report}"
    );
    assert!(minutes.is_some_and(|m| (0.0..1.0).contains(&m)), "{minutes:?}");
    assert_eq!(
        shanghai["outreach"],
        json!({
            "wake_ups_sent": 1, "win_backs": 0, "win_back_rate_percent": 0.0,
            "birthday_greetings_sent": 1, "suppressed": suppressed(1, 1),
        }),
        "{report}"
    );

    assert_eq!(
        london["surveys"],
        json!({
            "sent": 1, "answered": 1, "response_rate_percent": 100.0,
            "mean_scores": { "service": 5.0, "technician": 4.0, "environment": 5.0, "result": 5.0 },
            "overall_mean": 4.75, "nps": 100.0, "nps_responses": 1, "promoters": 1, "passives": 0, "detractors": 0,
        }),
        "{report}"
    );
    let (complaints, minutes) = complaints_of(&london);
    assert_eq!(
        complaints,
        json!({
            "opened": 2,
            "callback": step(1, 1, Some(50.0), 0),
            "solution": step(0, 0, None, 2),
            "follow_up": step(0, 0, None, 0),
            "escalations": { "level_2": 0, "level_3": 1 },
            "resolution_satisfaction_mean": null, "resolution_satisfaction_responses": 0,
        }),
        "{report}"
    );
    assert!(minutes.is_some_and(|m| (0.0..1.0).contains(&m)), "{minutes:?}");
    assert_eq!(
        london["outreach"],
        json!({
            "wake_ups_sent": 2, "win_backs": 1, "win_back_rate_percent": 50.0,
            "birthday_greetings_sent": 0, "suppressed": suppressed(0, 1),
        }),
        "{report}"
    );

    // Every client has a home store: nothing outside the stores.
    assert_eq!(report["without_store"]["surveys"]["sent"], 0);
    assert_eq!(report["without_store"]["outreach"]["suppressed"], suppressed(0, 0));
    // The total adds up the counts, and works its rates and means out from them.
    let total = &report["total"];
    assert_eq!(
        total["surveys"],
        json!({
            "sent": 3, "answered": 3, "response_rate_percent": 100.0,
            "mean_scores": { "service": 4.0, "technician": 4.0, "environment": 4.33, "result": 4.33 },
            "overall_mean": 4.17, "nps": 33.3, "nps_responses": 3, "promoters": 2, "passives": 0, "detractors": 1,
        }),
        "{report}"
    );
    let (complaints, _) = complaints_of(total);
    assert_eq!(
        complaints,
        json!({
            "opened": 4,
            "callback": step(2, 2, Some(50.0), 0),
            "solution": step(1, 0, Some(100.0), 3),
            "follow_up": step(1, 0, Some(100.0), 0),
            "escalations": { "level_2": 1, "level_3": 1 },
            "resolution_satisfaction_mean": 4.0, "resolution_satisfaction_responses": 1,
        }),
        "{report}"
    );
    assert_eq!(
        total["outreach"],
        json!({
            "wake_ups_sent": 3, "win_backs": 1, "win_back_rate_percent": 33.3,
            "birthday_greetings_sent": 1, "suppressed": suppressed(1, 2),
        }),
        "{report}"
    );

    // ---- Local days: one day, two days ago ----------------------------------------------------
    // In Shanghai it ended at 16:00 UTC: s1's survey (15:00) and s4's suppressed one are in it,
    // s2's (17:00, 01:00 local the next day) is not, nor the birthdays (20:00 local the day
    // before). In London s3's survey at 17:00 is in it.
    let day = format!("from={0}&to={0}", chain.date(-2));
    let response = chain.report(&owner, &day).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let stores = response.json["stores"].as_array().unwrap().clone();
    let part = |id: &str| stores.iter().find(|s| s["store_id"] == id).unwrap().clone();
    let (shanghai, london) = (part(sh), part(ldn));
    assert_eq!(shanghai["surveys"]["sent"], 1, "{}", response.text);
    assert_eq!(shanghai["surveys"]["overall_mean"], 4.75);
    assert_eq!(shanghai["surveys"]["nps"], 100.0);
    assert_eq!(shanghai["outreach"]["suppressed"], suppressed(0, 1));
    assert_eq!(shanghai["outreach"]["birthday_greetings_sent"], 0);
    assert_eq!(shanghai["complaints"]["opened"], 0);
    assert_eq!(london["surveys"]["sent"], 1);
    assert_eq!(london["outreach"]["suppressed"], suppressed(0, 0));
    assert_eq!(response.json["total"]["surveys"]["sent"], 2);

    // ---- The store filter and who may read ----------------------------------------------------
    let response = chain.report(&owner, &format!("{range}&store_id={ldn}")).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["stores"].as_array().unwrap().len(), 1);
    assert_eq!(response.json["stores"][0]["store_id"], ldn);
    assert!(response.json["without_store"].is_null());
    assert_eq!(response.json["total"]["outreach"]["win_backs"], 1);
    assert_eq!(response.json["total"]["complaints"]["opened"], 2);
    // A store manager sees their own store's, and only that.
    let response = chain.report(&manager, &range).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["stores"].as_array().unwrap().len(), 1);
    assert_eq!(response.json["stores"][0]["store_id"], sh);
    assert_eq!(response.json["total"]["surveys"]["sent"], 2);
    chain
        .report(&manager, &format!("{range}&store_id={ldn}"))
        .await
        .problem(403);
    // The front desk may not read it; nor may anyone read another tenant's store.
    chain.report(&chain.desk, &range).await.problem(403);
    let other = chain.app.signup("别家美容").await;
    let their_store = chain.app.create_store(&other, "别家店").await;
    let response = chain.report(&owner, &format!("{range}&store_id={their_store}")).await;
    assert_eq!(response.invalid_fields(), ["store_id"]);
    // Bad ranges.
    let backwards = chain
        .report(&owner, &format!("from={}&to={}", chain.date(0), chain.date(-1)))
        .await;
    assert_eq!(backwards.invalid_fields(), ["to"]);
    let too_long = chain
        .report(&owner, &format!("from={}&to={}", chain.date(-400), chain.date(0)))
        .await;
    assert_eq!(too_long.invalid_fields(), ["to"]);
    assert_eq!(chain.report(&owner, "from=yesterday").await.status, 422);

    // ---- The complaints list ------------------------------------------------------------------
    let list = |query: &str| format!("/api/v1/complaints?{query}");
    assert_eq!(
        sorted(chain.ids(&owner, &list("")).await),
        sorted(vec![c1.clone(), c2.clone(), c3.clone(), c4.clone()])
    );
    assert_eq!(
        sorted(chain.ids(&owner, &list(&format!("store_id={sh}"))).await),
        sorted(vec![c1.clone(), c2.clone()])
    );
    assert_eq!(chain.ids(&owner, &list("status=closed")).await, vec![c1.clone()]);
    assert_eq!(chain.ids(&owner, &list("status=in_progress")).await, vec![c3.clone()]);
    assert_eq!(
        sorted(chain.ids(&owner, &list("status=open")).await),
        sorted(vec![c2.clone(), c4.clone()])
    );
    assert_eq!(chain.ids(&owner, &list("level=1")).await, vec![c1.clone()]);
    assert_eq!(
        sorted(chain.ids(&owner, &list("level=2")).await),
        sorted(vec![c2.clone(), c3.clone()])
    );
    assert_eq!(chain.ids(&owner, &list("level=3")).await, vec![c4.clone()]);
    assert_eq!(
        sorted(chain.ids(&owner, &list("overdue=true")).await),
        sorted(vec![c2.clone(), c4.clone()])
    );
    assert_eq!(
        sorted(chain.ids(&owner, &list("overdue=false")).await),
        sorted(vec![c1.clone(), c3.clone()])
    );
    assert_eq!(
        chain
            .ids(&owner, &list(&format!("overdue=true&store_id={ldn}&level=3")))
            .await,
        vec![c4.clone()]
    );
    // Newest first (c2 came with the answer, before c1), a page at a time.
    let first = chain.ids(&owner, &list("limit=3")).await;
    assert_eq!(first, [c4.clone(), c3.clone(), c1.clone()]);
    let page = chain.app.get(&list("limit=3"), &owner.token).await;
    let cursor = page.json["next_cursor"].as_str().unwrap().to_owned();
    let rest = chain.ids(&owner, &list(&format!("limit=3&cursor={cursor}"))).await;
    assert_eq!(rest, vec![c2.clone()]);
    // The Shanghai manager sees Shanghai's only, and not a London complaint by its id.
    assert_eq!(
        sorted(chain.ids(&manager, &list("")).await),
        sorted(vec![c1.clone(), c2.clone()])
    );
    assert!(chain.ids(&manager, &list(&format!("store_id={ldn}"))).await.is_empty());
    chain
        .app
        .get(&format!("/api/v1/complaints/{c3}"), &manager.token)
        .await
        .problem(404);
    chain.app.get(&list(""), &chain.desk.token).await.problem(403);
    assert_eq!(
        chain
            .app
            .get(&list("level=4&status=done"), &owner.token)
            .await
            .invalid_fields(),
        ["status", "level"]
    );

    // ---- The surveys list ---------------------------------------------------------------------
    let list = |query: &str| format!("/api/v1/surveys?{query}");
    let all = chain.app.get(&list(""), &owner.token).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let items = all.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{}", all.text);
    let of = |client: &str| items.iter().find(|s| s["client_id"] == client).unwrap().clone();
    let (v1, v2, v3, v4) = (of(&s1), of(&s2), of(&s3), of(&s4));
    assert_eq!(v1["status"], "answered");
    assert_eq!(v1["overall"], 4.75);
    assert_eq!(v1["nps_category"], "promoter");
    assert_eq!(
        v1["scores"],
        json!({ "service": 5, "technician": 5, "environment": 4, "result": 5 })
    );
    assert!(v1["complaint_id"].is_null());
    assert_eq!(v2["overall"], 3.0);
    assert_eq!(v2["nps"], 6);
    assert_eq!(v2["nps_category"], "detractor");
    assert_eq!(v2["comment"], "等了四十分钟");
    assert_eq!(v2["complaint_id"], c2.as_str());
    assert_eq!(v3["store_id"], ldn);
    assert_eq!(v3["nps_category"], "promoter");
    assert_eq!(v4["status"], "pending");
    assert!(v4["overall"].is_null());
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let (v1, v2, v3, v4) = (id(&v1), id(&v2), id(&v3), id(&v4));
    assert_eq!(
        sorted(chain.ids(&owner, &list(&format!("store_id={sh}"))).await),
        sorted(vec![v1.clone(), v2.clone(), v4.clone()])
    );
    assert_eq!(chain.ids(&owner, &list("status=pending")).await, vec![v4.clone()]);
    assert_eq!(chain.ids(&owner, &list("status=answered")).await.len(), 3);
    assert!(chain.ids(&owner, &list("status=expired")).await.is_empty());
    assert_eq!(
        sorted(chain.ids(&owner, &list("min_overall=4.5")).await),
        sorted(vec![v1.clone(), v3.clone()])
    );
    assert_eq!(chain.ids(&owner, &list("max_overall=4.49")).await, vec![v2.clone()]);
    assert_eq!(
        chain.ids(&owner, &list("min_overall=3&max_overall=3")).await,
        vec![v2.clone()]
    );
    // Made from 16:00 UTC two days ago: the 17:00 tick's.
    let split = rfc(chain.at(-2, 16));
    assert_eq!(
        sorted(chain.ids(&owner, &list(&format!("from={split}"))).await),
        sorted(vec![v2.clone(), v3.clone()])
    );
    assert_eq!(
        sorted(chain.ids(&owner, &list(&format!("to={split}"))).await),
        sorted(vec![v1.clone(), v4.clone()])
    );
    // Store roles: their own store's only; the front desk not at all.
    assert_eq!(
        sorted(chain.ids(&manager, &list("")).await),
        sorted(vec![v1.clone(), v2.clone(), v4.clone()])
    );
    assert!(chain.ids(&manager, &list(&format!("store_id={ldn}"))).await.is_empty());
    chain.app.get(&list(""), &chain.desk.token).await.problem(403);
    let mut bad = chain
        .app
        .get(&list("min_overall=6&status=lost"), &owner.token)
        .await
        .invalid_fields();
    bad.sort();
    assert_eq!(bad, ["min_overall", "status"]);
    assert_eq!(
        chain
            .app
            .get(&list("min_overall=4&max_overall=3"), &owner.token)
            .await
            .invalid_fields(),
        ["max_overall"]
    );
    // Another tenant's owner sees none of these.
    assert!(chain.ids(&other, &list("")).await.is_empty());
    assert!(chain
        .ids(&other, &format!("/api/v1/complaints?store_id={sh}"))
        .await
        .is_empty());
}

both_backends!(the_care_report_adds_up_a_known_scenario);
