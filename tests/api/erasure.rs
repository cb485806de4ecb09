//! Item 5 of issue 13: a client's export holds everything the salon keeps about them (visits,
//! messages, surveys, complaints), and erasure leaves nothing of their name, phone, email or
//! words anywhere in the database: searched in every text column of every table, after a
//! survey was sent and answered, a complaint opened from it, alerts sent to staff, a step noted
//! and an idempotent create remembered.

use crate::outreach::Salon;
use chrono::{Duration, Utc};
use e2e::{both_backends, Backend};
use serde_json::{json, Value};

const BASE: &str = "https://crm.example.test";
const NAME: &str = "林晓敏";
const PHONE: &str = "13712340000";
const EMAIL: &str = "linxm@example.com";
const COMMENT: &str = "林晓敏：等太久了，请回电13712340000";

async fn export_holds_everything_and_erasure_leaves_nothing(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let (app, owner, store) = (&salon.app, &salon.owner, &salon.store);
    let manager = app.create_staff(owner, "store_manager", Some(store)).await;
    let request = app
        .client()
        .post(app.url("/api/v1/clients"))
        .bearer_auth(&owner.token)
        .header("idempotency-key", "new-client-1")
        .json(&json!({
            "name": NAME, "phone": PHONE, "email": EMAIL, "preferred_channel": "email",
            "home_store_id": store, "marketing_consent": true, "notes": format!("{NAME}喜欢周末"),
        }));
    let created = app.send(request).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let client = created.json["id"].as_str().unwrap().to_owned();

    // A visit at noon in Shanghai before now, its survey by email a day later.
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
                "client_id": client, "store_id": store, "completed_at": completed.to_rfc3339(),
                "lines": [{ "description": "深层补水护理", "amount_cents": 39800 }], "payment_method": "alipay",
            }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let report = salon.tick(&(completed + Duration::hours(24)).to_rfc3339()).await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    let mail = salon.smtp.received();
    let text = mail[0].text().unwrap();
    assert!(text.contains(NAME), "{text}");
    let start = text.find(&format!("{BASE}/s/")).expect("a survey link") + BASE.len();
    let path: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();

    // A low answer with a comment that names the client: a complaint, the manager alerted.
    let form = [
        ("service", "2"),
        ("technician", "2"),
        ("environment", "3"),
        ("result", "2"),
        ("nps", "3"),
        ("comment", COMMENT),
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
    let complaints = app.get("/api/v1/complaints", &owner.token).await;
    let complaint = complaints.json["items"][0]["id"].as_str().unwrap().to_owned();
    salon.tick(&(Utc::now() + Duration::minutes(1)).to_rfc3339()).await;
    assert!(
        salon
            .smtp
            .received()
            .iter()
            .any(|m| m.rcpt_to == vec![manager.email.clone()]),
        "the manager's alert went out"
    );
    let step = app
        .post(
            &format!("/api/v1/complaints/{complaint}/steps"),
            &manager.token,
            &json!({ "step": "callback", "note": format!("已回电{NAME}，{PHONE}") }),
        )
        .await;
    assert_eq!(step.status, 200, "{}", step.text);

    // The export: the record, the visit, the messages, the survey and the complaint.
    let export = app.get(&format!("/api/v1/clients/{client}/export"), &owner.token).await;
    assert_eq!(export.status, 200, "{}", export.text);
    let surveys = export.json["surveys"].as_array().unwrap();
    assert_eq!(surveys.len(), 1, "{}", export.text);
    assert_eq!(surveys[0]["comment"], COMMENT, "{}", export.text);
    assert!(surveys[0]["answered_at"].is_string(), "{}", export.text);
    let exported_complaints = export.json["complaints"].as_array().expect("complaints in the export");
    assert_eq!(exported_complaints.len(), 1, "{}", export.text);
    assert_eq!(exported_complaints[0]["id"], complaint.as_str());
    assert!(
        exported_complaints[0]["timeline"].to_string().contains("已回电"),
        "{}",
        export.text
    );
    let kinds: Vec<&str> = export.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"survey"), "{kinds:?}");
    assert_eq!(export.json["visits"].as_array().unwrap().len(), 1);

    // Before erasure the search finds the client where expected (the check reads the data).
    let needles = [NAME, PHONE, EMAIL, "等太久了"];
    let before = app.stored_text_containing(&needles).await;
    for place in [
        "clients.name",
        "messages.body",
        "surveys.comment",
        "complaints.summary",
        "idempotency_keys.response",
    ] {
        assert!(
            before.iter().any(|hit| hit.starts_with(&format!("{place}:"))),
            "{place} holds the client before erasure: {before:#?}"
        );
    }

    let erased = app
        .post(&format!("/api/v1/clients/{client}/erase"), &owner.token, &json!({}))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    let after = app.stored_text_containing(&needles).await;
    assert!(after.is_empty(), "personal data survived erasure: {after:#?}");

    // What stays for the salon's reports: the visit's amount, the complaint and its steps.
    let kept: Value = app
        .get(&format!("/api/v1/complaints/{complaint}"), &owner.token)
        .await
        .json;
    assert_eq!(kept["status"], "in_progress", "{kept}");
    assert_eq!(kept["summary"], "—", "{kept}");
    assert!(kept["callback_at"].is_string(), "{kept}");
    let visit_after = app
        .get(
            &format!("/api/v1/visits/{}", visit.json["id"].as_str().unwrap()),
            &owner.token,
        )
        .await;
    assert_eq!(visit_after.json["total_cents"], 39800);
    // The idempotent create cannot hand the record back: the same key makes a new request.
    let again = app
        .send(
            app.client()
                .post(app.url("/api/v1/clients"))
                .bearer_auth(&owner.token)
                .header("idempotency-key", "new-client-1")
                .json(&json!({ "name": "另一位" })),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(!again.text.contains(NAME));
}

both_backends!(export_holds_everything_and_erasure_leaves_nothing);
