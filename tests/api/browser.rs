//! The clients' public pages in a real browser, as a phone shows them: Debian's chromium
//! driven by playwright-core (`tests/browser/pages.mjs`), the survey answered by tapping at
//! 390×844, the thank-you page seen, the unsubscribe button tapped, and axe-core run on the
//! survey, thank-you and unsubscribe pages in zh-CN and English: no serious or critical
//! violation. A third survey is answered with the keyboard alone (its empty submission's error
//! page checked too), and the friendly page of an unknown link is checked in both languages. Screenshots and axe's report go to `<target dir>/browser-artifacts/<test>/`.
//!
//! The links come the way clients get them: a visit, `worker tick` 24 hours later sending the
//! survey email to the SMTP sink, and a birthday greeting with its unsubscribe link (SMS
//! through the Twilio fake; email's `List-Unsubscribe`). Afterwards the API shows what the
//! taps recorded.
//!
//! SQLite only: what is under test is the pages in a browser, which do not depend on the
//! backend; recording answers and opt-outs on both backends is covered by `survey_page` and
//! `unsubscribe`, over plain HTTP.
//!
//! Needs `CHROMIUM` (a Chromium binary) and `npm ci --prefix tests/browser`; `scripts/test`
//! does both. With neither `CHROMIUM` nor `BROWSER_SKIP_REASON` set the test fails, so that a
//! run can never skip it silently.

use chrono::{DateTime, Duration, Utc};
use e2e::fakes::sms::FakeSms;
use e2e::fakes::smtp::SmtpSink;
use e2e::{Backend, Session, TestApp};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The worker's (and the app's) `PUBLIC_BASE_URL`; links are rewritten to the app's address.
const BASE: &str = "https://crm.example.test";
/// How long the whole browser run may take.
const NODE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(240);

/// A salon chain with a store and a beautician; the app and the worker wired to the fakes.
struct Salon {
    app: TestApp,
    owner: Session,
    store: String,
    beautician: Session,
    smtp: SmtpSink,
    sms: FakeSms,
    env: Vec<(String, String)>,
}

impl Salon {
    async fn new(backend: Backend) -> Salon {
        let smtp = SmtpSink::start();
        let sms = FakeSms::start();
        let mut env = smtp.env();
        env.extend(sms.env("twilio"));
        env.push(("PUBLIC_BASE_URL".into(), BASE.into()));
        let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = TestApp::spawn_with(backend, &vars).await;
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
        let output = self
            .app
            .worker_command(&["tick", "--now", &now.to_rfc3339()])
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

    async fn get(&self, path: &str) -> Value {
        let response = self.app.get(path, &self.owner.token).await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json
    }

    /// The mail to `email`.
    fn mail_to(&self, email: &str) -> e2e::fakes::smtp::ReceivedMail {
        self.smtp
            .received()
            .into_iter()
            .find(|mail| mail.rcpt_to.iter().any(|to| to == email))
            .unwrap_or_else(|| panic!("no mail to {email}"))
    }

    /// `BASE/{kind}/TOKEN` in `text`, as a URL of the app under test.
    fn link(&self, text: &str, kind: &str) -> String {
        let prefix = format!("{BASE}/{kind}/");
        let start = text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in {text}"))
            + prefix.len();
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(token.len() >= 16, "{text}");
        format!("{}/{kind}/{token}", self.app.base)
    }
}

/// The most recent noon in Shanghai (04:00 UTC) at or before `before`: a visit then has its
/// survey due at noon the next day, outside quiet hours (21:00–09:00).
fn noon_in_shanghai_before(before: DateTime<Utc>) -> DateTime<Utc> {
    let mut noon = before.date_naive().and_hms_opt(4, 0, 0).unwrap().and_utc();
    while noon > before {
        noon -= Duration::days(1);
    }
    noon
}

/// The workspace's target dir: the test executable is `<target>/<profile>/deps/api-…`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() { dir } else { repo_root().join(dir) };
    }
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The browser to use, or `None` when the run says why it cannot have one.
fn chromium() -> Option<String> {
    match (std::env::var("CHROMIUM"), std::env::var("BROWSER_SKIP_REASON")) {
        (Ok(chromium), _) => {
            let modules = repo_root().join("tests/browser/node_modules");
            assert!(
                modules.join("playwright-core").is_dir() && modules.join("axe-core").is_dir(),
                "{} lacks playwright-core or axe-core: run `npm ci --prefix tests/browser` (scripts/test does)",
                modules.display()
            );
            Some(chromium)
        }
        (Err(_), Ok(reason)) => {
            eprintln!("SKIPPED browser tests: {reason}");
            None
        }
        (Err(_), Err(_)) => panic!(
            "set CHROMIUM (scripts/test does: it installs Debian's chromium and runs \
             `npm ci --prefix tests/browser`) or BROWSER_SKIP_REASON"
        ),
    }
}

/// Runs `tests/browser/pages.mjs` on `scenario`; panics with its output unless it passed.
async fn run_pages(scenario: &Value) {
    run_script("pages.mjs", scenario).await;
}

/// Runs `tests/browser/<name>` on `scenario`; panics with its output unless it passed.
async fn run_script(name: &str, scenario: &Value) {
    let script = repo_root().join("tests/browser").join(name);
    let child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(scenario.to_string())
        .current_dir(repo_root())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NODE_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("node {} took more than {NODE_TIMEOUT:?}", script.display()))
        .expect("run node (Node.js 20 or later must be on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("---- node {} ----\n{stdout}{stderr}", script.display());
    // The whole output is above; the message repeats only its summary.
    let summary = stdout.find("\nFAILED:").map_or("", |start| &stdout[start..]);
    assert!(
        output.status.success(),
        "the browser run failed ({}); screenshots and axe's report in {}{summary}{stderr}",
        output.status,
        scenario["artifacts"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_and_unsubscribe_pages_on_a_phone() {
    let Some(chromium) = chromium() else { return };
    let salon = Salon::new(Backend::Sqlite).await;

    // Surveys: a zh-CN and an English client, each after a visit a few hours ago; the worker
    // sends both surveys by email 24 hours after it, at noon in Shanghai.
    let zh = salon
        .client(json!({ "name": "刘倩", "email": "liu@example.com", "preferred_channel": "email", "locale": "zh-CN" }))
        .await;
    let en = salon
        .client(
            json!({ "name": "Emma Hall", "email": "emma@example.com", "preferred_channel": "email", "locale": "en" }),
        )
        .await;
    // And one answered with the keyboard alone.
    let keyboard = salon
        .client(
            json!({ "name": "Noah Reed", "email": "noah@example.com", "preferred_channel": "email", "locale": "en" }),
        )
        .await;
    let completed = noon_in_shanghai_before(Utc::now() - Duration::hours(2));
    salon.visit(&zh, completed).await;
    salon.visit(&en, completed).await;
    salon.visit(&keyboard, completed).await;

    // Unsubscribe links: two consenting clients' birthday greetings at 10:00 in Shanghai, the
    // zh-CN one by SMS (the link in its text), the English one by email (List-Unsubscribe).
    let zh_greeted = salon
        .client(json!({ "name": "李晓雯", "phone": "13800138001", "birthday": "03-14", "marketing_consent": true, "preferred_channel": "sms", "locale": "zh-CN" }))
        .await;
    let en_greeted = salon
        .client(json!({ "name": "Olivia Grant", "email": "olivia@example.com", "birthday": "03-14", "marketing_consent": true, "preferred_channel": "email", "locale": "en" }))
        .await;
    let report = salon
        .tick(DateTime::parse_from_rfc3339("2026-03-14T02:00:00Z").unwrap().to_utc())
        .await;
    assert_eq!(report["delivery"]["sent"], 2, "{report}");
    let report = salon.tick(completed + Duration::hours(24)).await;
    assert_eq!(report["delivery"]["sent"], 3, "{report}");

    let survey_url = |email: &str| salon.link(&salon.mail_to(email).text().unwrap(), "s");
    let sms = salon.sms.received();
    let greeting = sms
        .iter()
        .find(|sms| sms.to == "+8613800138001")
        .expect("the birthday SMS");
    let zh_unsubscribe = salon.link(greeting.body.as_deref().unwrap(), "u");
    let en_unsubscribe = salon.link(
        &salon.mail_to("olivia@example.com").header("List-Unsubscribe").unwrap(),
        "u",
    );

    let zh_comment = "等了四十分钟才开始，皮肤有点发红。";
    let en_comment = "Lovely staff, my skin feels great.";
    let artifacts = target_dir()
        .join("browser-artifacts")
        .join("survey_and_unsubscribe_pages_on_a_phone");
    let _ = std::fs::remove_dir_all(&artifacts);
    let scenario = json!({
        "chromium": chromium,
        "artifacts": artifacts,
        "surveys": [
            {
                "locale": "zh-CN", "url": survey_url("liu@example.com"),
                "answers": { "service": "2", "technician": "3", "environment": "4", "result": "2", "nps": "3" },
                "comment": zh_comment, "thanks": "感谢您的评价",
            },
            {
                "locale": "en", "url": survey_url("emma@example.com"),
                "answers": { "service": "5", "technician": "5", "environment": "4", "result": "5", "nps": "10" },
                "comment": en_comment, "thanks": "Thank you for your feedback",
            },
        ],
        "unsubscribes": [
            { "locale": "zh-CN", "url": zh_unsubscribe, "done": "您已退订" },
            { "locale": "en", "url": en_unsubscribe, "done": "You are unsubscribed" },
        ],
        "keyboard_surveys": [
            {
                "locale": "en", "url": survey_url("noah@example.com"),
                "answers": { "service": "4", "technician": "5", "environment": "3", "result": "4", "nps": "8" },
                "comment": "Booked by keyboard.", "thanks": "Thank you for your feedback",
                "error": "Please rate at least one question.",
            },
        ],
        "unknown_links": [
            { "locale": "zh-CN", "url": format!("{}/s/AAAAAAAAAAAAAAAAAAAAAA", salon.app.base), "status": 404, "text": "链接无效" },
            { "locale": "en", "url": format!("{}/s/AAAAAAAAAAAAAAAAAAAAAA", salon.app.base), "status": 404, "text": "This link does not work" },
        ],
    });
    run_pages(&scenario).await;

    // What the taps recorded: both answers, exactly as tapped and typed; the low one opened a
    // complaint about the visit, the high one none.
    let surveys = salon.get("/api/v1/surveys?status=answered").await;
    let items = surveys["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{surveys}");
    let of = |client: &str| items.iter().find(|s| s["client_id"] == client).unwrap().clone();
    let low = of(&zh);
    assert_eq!(
        low["scores"],
        json!({ "service": 2, "technician": 3, "environment": 4, "result": 2 }),
        "{low}"
    );
    assert_eq!(low["overall"], 2.75, "{low}");
    assert_eq!(low["nps"], 3, "{low}");
    assert_eq!(low["nps_category"], "detractor", "{low}");
    assert_eq!(low["comment"], zh_comment, "{low}");
    let complaint_id = low["complaint_id"].as_str().expect("a complaint for the low answer");
    let complaint = salon.get(&format!("/api/v1/complaints/{complaint_id}")).await;
    assert_eq!(complaint["source"], "survey", "{complaint}");
    assert_eq!(complaint["client_id"], zh.as_str(), "{complaint}");
    let high = of(&en);
    assert_eq!(
        high["scores"],
        json!({ "service": 5, "technician": 5, "environment": 4, "result": 5 }),
        "{high}"
    );
    assert_eq!(high["nps"], 10, "{high}");
    assert_eq!(high["nps_category"], "promoter", "{high}");
    assert_eq!(high["comment"], en_comment, "{high}");
    assert!(high["complaint_id"].is_null(), "{high}");
    // The keyboard's answers, as keyed.
    let keyed = of(&keyboard);
    assert_eq!(
        keyed["scores"],
        json!({ "service": 4, "technician": 5, "environment": 3, "result": 4 }),
        "{keyed}"
    );
    assert_eq!(keyed["nps"], 8, "{keyed}");
    assert_eq!(keyed["comment"], "Booked by keyboard.", "{keyed}");

    // Both greeted clients are opted out, by the link.
    for client in [&zh_greeted, &en_greeted] {
        let after = salon.get(&format!("/api/v1/clients/{client}")).await;
        assert_eq!(after["marketing_consent"], false, "{after}");
        assert_eq!(after["consent_source"], "link", "{after}");
    }
}

/// The staff console in the browser (`tests/browser/console.mjs`): on demo-like data (two
/// stores in Shanghai, the catalog, 张三丰 with an allergy and other clients), in zh-CN and
/// English at 1280×800 and 390×844, a front desk logs in, types `zsf`, opens 张三丰 with the
/// keyboard, records a visit and sees it on the timeline, and is not offered the sensitive
/// fields; a store manager shows them. axe-core on every screen; screenshots and the search
/// round trips in `<target dir>/browser-artifacts/console_in_a_browser/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_browser() {
    let Some(chromium) = chromium() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("美丽人生美容连锁").await;
    let jingan = app.create_store(&owner, "静安店").await;
    let xuhui = app.create_store(&owner, "徐汇店").await;
    app.create_service(&owner, "深层补水护理", 39_800).await;
    app.create_service(&owner, "眼部抗皱护理", 29_800).await;
    for (name, phone, store, allergies) in [
        ("张三丰", "13712345678", &jingan, Some("果酸过敏")),
        ("张三", "13712340001", &jingan, None),
        ("李小龙", "13912345670", &jingan, None),
        ("王美丽", "13612345671", &xuhui, None),
    ] {
        let response = app
            .post(
                "/api/v1/clients",
                &owner.token,
                &json!({ "name": name, "phone": phone, "home_store_id": store, "allergies": allergies, "birthday": "03-08",
                          "marketing_consent": true, "consent_source": "paper form", "tags": ["VIP"] }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
    }
    let desk = app.create_staff(&owner, "front_desk", Some(&jingan)).await;
    let manager = app.create_staff(&owner, "store_manager", Some(&jingan)).await;
    let artifacts = target_dir().join("browser-artifacts").join("console_in_a_browser");
    let _ = std::fs::remove_dir_all(&artifacts);
    let scenario = json!({
        "chromium": chromium,
        "artifacts": artifacts,
        "base": app.base,
        "front_desk": { "email": desk.email, "password": desk.password },
        "manager": { "email": manager.email, "password": manager.password },
        "query": "zsf",
        "client": "张三丰",
        "service": "深层补水护理",
    });
    run_script("console.mjs", &scenario).await;
    // Four runs (two languages × two sizes), each one visit, recorded once.
    let clients = app.get("/api/v1/clients?q=13712345678", &owner.token).await;
    assert_eq!(clients.json["items"][0]["visit_count"], 4, "{}", clients.text);
}
