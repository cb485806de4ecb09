//! The seed's care loop in one scenario, through the real binaries only: a visit, its survey
//! 24 hours later by email (SMTP sink), a low answer on the survey page, the complaint it
//! opens and the store manager's alert by SMS (Twilio fake), the escalation to the HQ manager
//! when the callback hour passes, the three steps recorded, the complaint closed, and the care
//! report showing all of it.

use chrono::{DateTime, Duration, Utc};
use e2e::fakes::sms::FakeSms;
use e2e::fakes::smtp::SmtpSink;
use e2e::{both_backends, Backend, TestApp};
use serde_json::json;

const BASE: &str = "https://crm.example.test";

async fn tick(app: &TestApp, smtp: &SmtpSink, sms: &FakeSms, now: DateTime<Utc>) -> serde_json::Value {
    let output = app
        .worker_command(&["tick", "--now", &now.to_rfc3339()])
        .envs(smtp.env())
        .envs(sms.env("twilio"))
        .env("PUBLIC_BASE_URL", BASE)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn visit_survey_complaint_escalation_steps_report(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (smtp, sms) = (SmtpSink::start(), FakeSms::start());
    let owner = app.signup("悦颜美容").await;
    let store = app.create_store(&owner, "静安店").await;
    let manager = app.create_staff(&owner, "store_manager", Some(&store)).await;
    let phone = app
        .patch(
            &format!("/api/v1/staff/{}", manager.staff_id),
            &owner.token,
            &json!({ "phone": "13900139001" }),
        )
        .await;
    assert_eq!(phone.status, 200, "{}", phone.text);
    let hq = app.create_staff(&owner, "hq_manager", None).await;
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "王静", "email": "wangjing@example.com", "preferred_channel": "email", "home_store_id": store }),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let client_id = client.json["id"].as_str().unwrap();

    // A visit at noon in Shanghai (before now), so its survey is due at noon the next day.
    let now = Utc::now();
    let mut completed = now.date_naive().and_hms_opt(4, 0, 0).unwrap().and_utc();
    while completed > now - Duration::minutes(5) {
        completed -= Duration::days(1);
    }
    let visit = app
        .post(
            "/api/v1/visits",
            &owner.token,
            &json!({
                "client_id": client_id, "store_id": store, "staff_id": manager.staff_id, "completed_at": completed.to_rfc3339(),
                "lines": [{ "description": "深层补水护理", "amount_cents": 39800 }], "payment_method": "alipay",
            }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);

    // 24 hours later: the survey email with its personal link.
    assert_eq!(
        tick(&app, &smtp, &sms, completed + Duration::hours(23)).await["delivery"]["sent"],
        0
    );
    assert_eq!(
        tick(&app, &smtp, &sms, completed + Duration::hours(24)).await["delivery"]["sent"],
        1
    );
    let mail = smtp.received();
    let text = mail[0].text().unwrap();
    let start = text.find(&format!("{BASE}/s/")).expect("a survey link") + BASE.len();
    let path: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();

    // The client answers low on the page.
    let page = app.send(app.client().get(app.url(&path))).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("静安店"), "{}", page.text);
    let form = [
        ("service", "2"),
        ("technician", "3"),
        ("environment", "4"),
        ("result", "2"),
        ("nps", "4"),
        ("comment", "等太久了"),
    ];
    let answered = app
        .send(
            app.client()
                .post(app.url(&path))
                .header("Origin", &app.base)
                .form(&form),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);

    // The complaint: the store manager is alerted at once, by email and SMS.
    let complaints = app.get("/api/v1/complaints", &owner.token).await;
    assert_eq!(complaints.status, 200, "{}", complaints.text);
    let items = complaints.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", complaints.text);
    let id = items[0]["id"].as_str().unwrap().to_owned();
    let opened_at: DateTime<Utc> = items[0]["opened_at"].as_str().unwrap().parse().unwrap();
    tick(&app, &smtp, &sms, opened_at + Duration::minutes(1)).await;
    assert!(smtp.received().iter().any(|m| m.rcpt_to == vec![manager.email.clone()]));
    assert_eq!(sms.received().iter().filter(|s| s.to == "+8613900139001").count(), 1);

    // Nobody calls back within the hour: the HQ manager is alerted, the level is 2.
    tick(&app, &smtp, &sms, opened_at + Duration::minutes(61)).await;
    assert!(
        smtp.received().iter().any(|m| m.rcpt_to == vec![hq.email.clone()]),
        "HQ alerted"
    );
    let complaint = app.get(&format!("/api/v1/complaints/{id}"), &owner.token).await;
    assert_eq!(complaint.json["level"], 2, "{}", complaint.text);

    // The steps, in order; the follow-up closes it.
    let steps = format!("/api/v1/complaints/{id}/steps");
    for (step, extra) in [
        ("callback", json!({})),
        ("solution", json!({})),
        ("follow_up", json!({ "satisfaction": 4 })),
    ] {
        let mut body = json!({ "step": step, "note": format!("{step} 已完成") });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let response = app.post(&steps, &manager.token, &body).await;
        assert_eq!(response.status, 200, "{step}: {}", response.text);
    }
    let closed = app.get(&format!("/api/v1/complaints/{id}"), &owner.token).await;
    assert_eq!(closed.json["status"], "closed", "{}", closed.text);
    let kinds: Vec<&str> = closed.json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["opened", "alert", "escalated", "callback", "solution", "follow_up"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    // The care report of that fortnight shows it.
    let from = (completed - Duration::days(7)).date_naive();
    let to = (Utc::now() + Duration::days(2)).date_naive();
    let report = app
        .get(&format!("/api/v1/reports/care?from={from}&to={to}"), &owner.token)
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let total = &report.json["total"];
    assert_eq!(total["surveys"]["sent"], 1, "{}", report.text);
    assert_eq!(total["surveys"]["answered"], 1);
    assert_eq!(total["surveys"]["overall_mean"], 2.75);
    assert_eq!(total["surveys"]["detractors"], 1);
    assert_eq!(total["complaints"]["opened"], 1);
    assert_eq!(total["complaints"]["escalations"]["level_2"], 1);
    assert_eq!(total["complaints"]["resolution_satisfaction_mean"], 4.0);
}

both_backends!(visit_survey_complaint_escalation_steps_report);
