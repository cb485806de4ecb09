//! Visits and the client's aggregates: record, correct, void; all-or-nothing writes; ETags;
//! the per-store view.

use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::{json, Value};

struct Salon {
    app: TestApp,
    owner: Session,
    store: String,
    client: String,
    service: String,
}

async fn salon(backend: Backend) -> Salon {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "张三丰", "phone": "13712345678" }),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let service = app.create_service(&owner, "深层补水", 39800).await;
    Salon {
        app,
        owner,
        store,
        client,
        service,
    }
}

impl Salon {
    async fn record(&self, at: &str, lines: Value, discount: i64) -> e2e::Response {
        self.app
            .post(
                "/api/v1/visits",
                &self.owner.token,
                &json!({ "client_id": self.client, "store_id": self.store, "completed_at": at,
                         "lines": lines, "discount_cents": discount, "payment_method": "wechat_pay" }),
            )
            .await
    }

    async fn client(&self) -> Value {
        self.app
            .get(&format!("/api/v1/clients/{}", self.client), &self.owner.token)
            .await
            .json
    }
}

async fn aggregates_follow_record_edit_and_void(backend: Backend) {
    let s = salon(backend).await;
    let first = s
        .record("2026-01-05T10:00:00+08:00", json!([{ "service_id": s.service }]), 0)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        first.json["lines"][0]["description"], "深层补水",
        "catalog name by default"
    );
    assert_eq!(first.json["total_cents"], 39800, "catalog price by default");
    let second = s
        .record(
            "2026-02-10T15:30:00+08:00",
            json!([{ "service_id": s.service, "amount_cents": 30000 }, { "description": "眼部护理", "amount_cents": 12000 }]),
            2000,
        )
        .await;
    assert_eq!(second.json["subtotal_cents"], 42000);
    assert_eq!(second.json["total_cents"], 40000);

    let client = s.client().await;
    assert_eq!(client["visit_count"], 2);
    assert_eq!(client["total_spent_cents"], 79800);
    assert_eq!(client["first_visit_at"], "2026-01-05T02:00:00Z");
    assert_eq!(client["last_visit_at"], "2026-02-10T07:30:00Z");

    // A correction changes the totals.
    let path = format!("/api/v1/visits/{}", second.json["id"].as_str().unwrap());
    let edited = s
        .app
        .patch(
            &path,
            &s.owner.token,
            &json!({ "lines": [{ "description": "眼部护理", "amount_cents": 15000 }], "discount_cents": 0 }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(s.client().await["total_spent_cents"], 39800 + 15000);

    // Voiding takes the visit out of every total, last visit included.
    let voided = s.app.delete(&path, &s.owner.token).await;
    assert_eq!(voided.status, 200, "{}", voided.text);
    assert_eq!(voided.json["status"], "voided");
    let client = s.client().await;
    assert_eq!(client["visit_count"], 1);
    assert_eq!(client["total_spent_cents"], 39800);
    assert_eq!(client["last_visit_at"], "2026-01-05T02:00:00Z");
    // Still on record, out of the default list.
    let listed = s
        .app
        .get(&format!("/api/v1/visits?client_id={}", s.client), &s.owner.token)
        .await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);
    let all = s
        .app
        .get(
            &format!("/api/v1/visits?client_id={}&include_voided=true", s.client),
            &s.owner.token,
        )
        .await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 2);
    let timeline = s
        .app
        .get(&format!("/api/v1/clients/{}/timeline", s.client), &s.owner.token)
        .await;
    let kinds: Vec<&str> = timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["visit", "visit"]);
    assert!(timeline.json[1]["summary"].as_str().unwrap().contains("(voided)"));
}

async fn a_bad_visit_writes_nothing(backend: Backend) {
    let s = salon(backend).await;
    let unknown_service = s
        .record(
            "2026-01-05T10:00:00+08:00",
            json!([{ "description": "ok", "amount_cents": 100 }, { "service_id": "01900000-0000-7000-8000-000000000000" }]),
            0,
        )
        .await;
    assert_eq!(unknown_service.invalid_fields(), ["lines.1.service_id"]);
    let too_much_discount = s
        .record(
            "2026-01-05T10:00:00+08:00",
            json!([{ "description": "x", "amount_cents": 100 }]),
            101,
        )
        .await;
    assert_eq!(too_much_discount.invalid_fields(), ["discount_cents"]);
    let future = s
        .record(
            "2099-01-01T10:00:00+08:00",
            json!([{ "description": "x", "amount_cents": 100 }]),
            0,
        )
        .await;
    assert_eq!(future.invalid_fields(), ["completed_at"]);
    let several = s
        .app
        .post(
            "/api/v1/visits",
            &s.owner.token,
            &json!({ "client_id": "nope", "completed_at": "yesterday", "lines": [], "payment_method": "cash" }),
        )
        .await;
    let mut fields = several.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["client_id", "completed_at", "lines"]);
    let negative = s
        .record(
            "2026-01-05T10:00:00+08:00",
            json!([{ "description": "x", "amount_cents": -5 }]),
            0,
        )
        .await;
    assert_eq!(negative.invalid_fields(), ["lines.0.amount_cents"]);
    let bad_payment = s
        .app
        .post(
            "/api/v1/visits",
            &s.owner.token,
            &json!({ "client_id": s.client, "store_id": s.store, "completed_at": "2026-01-05T10:00:00+08:00",
                     "lines": [{ "description": "x", "amount_cents": 1 }], "payment_method": "bitcoin" }),
        )
        .await;
    assert_eq!(bad_payment.invalid_fields(), ["payment_method"]);

    let client = s.client().await;
    assert_eq!(client["visit_count"], 0);
    assert_eq!(client["total_spent_cents"], 0);
    let visits = s.app.get("/api/v1/visits?include_voided=true", &s.owner.token).await;
    assert_eq!(visits.json["items"], json!([]));
}

async fn visit_etags_guard_corrections(backend: Backend) {
    let s = salon(backend).await;
    let visit = s
        .record(
            "2026-01-05T10:00:00+08:00",
            json!([{ "description": "x", "amount_cents": 100 }]),
            0,
        )
        .await;
    let path = format!("/api/v1/visits/{}", visit.json["id"].as_str().unwrap());
    let etag = visit.headers["etag"].to_str().unwrap().to_owned();
    let fetched = s.app.get(&path, &s.owner.token).await;
    assert_eq!(fetched.headers["etag"].to_str().unwrap(), etag);
    let ok = s
        .app
        .send(
            s.app
                .client()
                .patch(s.app.url(&path))
                .bearer_auth(&s.owner.token)
                .header("if-match", &etag)
                .json(&json!({ "notes": "补录" })),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let stale = s
        .app
        .send(
            s.app
                .client()
                .patch(s.app.url(&path))
                .bearer_auth(&s.owner.token)
                .header("if-match", &etag)
                .json(&json!({ "discount_cents": 50 })),
        )
        .await;
    stale.problem(412);
    assert_eq!(
        s.client().await["total_spent_cents"],
        100,
        "the stale correction changed nothing"
    );
}

async fn a_double_tap_records_one_visit(backend: Backend) {
    let s = salon(backend).await;
    let body = json!({ "client_id": s.client, "store_id": s.store, "completed_at": "2026-01-05T10:00:00+08:00",
                       "lines": [{ "service_id": s.service }], "payment_method": "cash" });
    let (a, b) = tokio::join!(
        s.app.send(
            s.app
                .client()
                .post(s.app.url("/api/v1/visits"))
                .bearer_auth(&s.owner.token)
                .header("idempotency-key", "k-1")
                .json(&body)
        ),
        s.app.send(
            s.app
                .client()
                .post(s.app.url("/api/v1/visits"))
                .bearer_auth(&s.owner.token)
                .header("idempotency-key", "k-1")
                .json(&body)
        ),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(b.status, 201, "{}", b.text);
    assert_eq!(a.json["id"], b.json["id"]);
    assert_eq!(s.client().await["visit_count"], 1);
}

async fn store_roles_record_and_see_their_store_only(backend: Backend) {
    let s = salon(backend).await;
    let other = s.app.create_store(&s.owner, "徐汇店").await;
    let desk = s.app.create_staff(&s.owner, "front_desk", Some(&s.store)).await;
    let beautician = s.app.create_staff(&s.owner, "beautician", Some(&other)).await;
    let mine = s
        .app
        .post(
            "/api/v1/visits",
            &desk.token,
            &json!({ "client_id": s.client, "staff_id": desk.staff_id, "completed_at": "2026-01-05T10:00:00+08:00",
                     "lines": [{ "service_id": s.service }], "payment_method": "card" }),
        )
        .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(
        mine.json["store_id"],
        s.store.as_str(),
        "the front desk's own store by default"
    );
    let elsewhere = s
        .app
        .post(
            "/api/v1/visits",
            &desk.token,
            &json!({ "client_id": s.client, "store_id": other, "completed_at": "2026-01-05T10:00:00+08:00",
                     "lines": [{ "service_id": s.service }], "payment_method": "card" }),
        )
        .await;
    elsewhere.problem(403);
    let path = format!("/api/v1/visits/{}", mine.json["id"].as_str().unwrap());
    s.app.get(&path, &beautician.token).await.problem(404);
    assert_eq!(
        s.app.get("/api/v1/visits", &beautician.token).await.json["items"],
        json!([])
    );
    assert_eq!(s.app.get(&path, &desk.token).await.status, 200);
    // Corrections are for managers.
    s.app.delete(&path, &desk.token).await.problem(403);
}

both_backends!(
    aggregates_follow_record_edit_and_void,
    a_bad_visit_writes_nothing,
    visit_etags_guard_corrections,
    a_double_tap_records_one_visit,
    store_roles_record_and_see_their_store_only,
);
