//! The client archive: create, validate, read, change with ETags, remove; duplicates; the
//! per-store view.

use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::{json, Value};

async fn chain(app: &TestApp) -> (Session, String) {
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    (owner, store)
}

async fn a_client_with_everything(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, store) = chain(&app).await;
    let consultant = app.create_staff(&owner, "beautician", Some(&store)).await;
    let referrer = app
        .post("/api/v1/clients", &owner.token, &json!({ "name": "李四" }))
        .await;
    let created = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({
                "name": "张三丰", "phone": "137 1234 5678", "email": "Zhang@Example.com", "gender": "female",
                "birthday": "1990-02-29".replace("1990", "1992"), "locale": "zh-CN", "preferred_channel": "sms",
                "marketing_consent": true, "consent_source": "paper form", "home_store_id": store,
                "consultant_id": consultant.staff_id, "source": "referral", "referrer_id": referrer.json["id"],
                "tags": ["VIP", "敏感肌", "VIP"], "skin_type": "混合性", "allergies": "果酸", "medical_notes": "孕期",
                "skin_history": "2025 激光", "preferences": "安静的房间", "notes": "喜欢周末",
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let client = &created.json;
    let id = client["id"].as_str().unwrap();
    assert_eq!(created.headers["location"], format!("/api/v1/clients/{id}").as_str());
    assert_eq!(created.headers["etag"], format!("\"{}\"", client["version"]).as_str());
    assert_eq!(
        client["phone"], "+8613712345678",
        "a bare Chinese mobile is read as +86 for a CN tenant"
    );
    assert_eq!(client["email"], "zhang@example.com");
    assert_eq!(client["birthday"], "1992-02-29");
    assert_eq!(client["tags"], json!(["VIP", "敏感肌"]));
    assert_eq!(client["marketing_consent"], true);
    assert_eq!(client["consent_source"], "paper form");
    assert!(client["consent_changed_at"].is_string());
    assert_eq!(client["visit_count"], 0);
    assert_eq!(client["total_spent_cents"], 0);
    assert_eq!(client["currency"], "CNY");
    assert!(client.get("sensitive").is_none(), "writes do not echo sensitive fields");

    let fetched = app.get(&format!("/api/v1/clients/{id}"), &owner.token).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(
        fetched.json["sensitive"],
        json!({ "allergies": "果酸", "medical_notes": "孕期", "skin_history": "2025 激光" })
    );
}

async fn validation_names_every_bad_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = chain(&app).await;
    let response = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({
                "name": "", "phone": "12345", "email": "nope", "birthday": "02-30",
                "locale": "fr", "home_store_id": "not-an-id", "tags": ["x".repeat(40)],
            }),
        )
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["birthday", "email", "home_store_id", "locale", "name", "phone", "tags"]
    );
    let wrong_type = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "A", "marketing_consent": "yes" }),
        )
        .await;
    assert_eq!(wrong_type.invalid_fields(), ["marketing_consent"]);
    let unknown_store = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "A", "home_store_id": "01900000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_eq!(unknown_store.invalid_fields(), ["home_store_id"]);
    let list = app.get("/api/v1/clients", &owner.token).await;
    assert_eq!(list.json["items"], json!([]), "nothing was written");
}

async fn a_phone_belongs_to_one_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = chain(&app).await;
    let first = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "王五", "phone": "+86 137 0000 0001" }),
        )
        .await;
    let duplicate = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "Someone else", "phone": "13700000001" }),
        )
        .await;
    let problem = duplicate.problem(409);
    assert_eq!(problem["code"], "duplicate_phone");
    assert_eq!(problem["existing_id"], first.json["id"]);
    // Another tenant may have a client with the same number.
    let other = app.signup("Other chain").await;
    let elsewhere = app
        .post(
            "/api/v1/clients",
            &other.token,
            &json!({ "name": "王五", "phone": "13700000001" }),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
    // Changing another client's phone to a taken one conflicts too.
    let second = app
        .post("/api/v1/clients", &owner.token, &json!({ "name": "赵六" }))
        .await;
    let taken = app
        .patch(
            &format!("/api/v1/clients/{}", second.json["id"].as_str().unwrap()),
            &owner.token,
            &json!({ "phone": "13700000001" }),
        )
        .await;
    assert_eq!(taken.problem(409)["existing_id"], first.json["id"]);
}

async fn stale_if_match_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = chain(&app).await;
    let created = app.post("/api/v1/clients", &owner.token, &json!({ "name": "A" })).await;
    let path = format!("/api/v1/clients/{}", created.json["id"].as_str().unwrap());
    let etag = created.headers["etag"].to_str().unwrap().to_owned();

    let first = app
        .send(
            app.client()
                .patch(app.url(&path))
                .bearer_auth(&owner.token)
                .header("if-match", &etag)
                .json(&json!({ "notes": "first edit" })),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_ne!(first.headers["etag"].to_str().unwrap(), etag);
    let stale = app
        .send(
            app.client()
                .patch(app.url(&path))
                .bearer_auth(&owner.token)
                .header("if-match", &etag)
                .json(&json!({ "notes": "second edit, based on an old read" })),
        )
        .await;
    stale.problem(412);
    let now = app.get(&path, &owner.token).await;
    assert_eq!(now.json["notes"], "first edit");
    // Without If-Match the change goes through.
    let blind = app.patch(&path, &owner.token, &json!({ "notes": "blind" })).await;
    assert_eq!(blind.status, 200);
    let garbage = app
        .send(
            app.client()
                .delete(app.url(&path))
                .bearer_auth(&owner.token)
                .header("if-match", "\"nonsense\""),
        )
        .await;
    garbage.problem(412);
}

async fn patch_clears_with_null_and_keeps_the_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = chain(&app).await;
    let created = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "A", "email": "a@example.com", "birthday": "03-08", "notes": "x" }),
        )
        .await;
    let path = format!("/api/v1/clients/{}", created.json["id"].as_str().unwrap());
    let patched = app
        .patch(
            &path,
            &owner.token,
            &json!({ "email": null, "marketing_consent": true }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["email"], Value::Null);
    assert_eq!(patched.json["birthday"], "03-08");
    assert_eq!(patched.json["notes"], "x");
    assert_eq!(patched.json["marketing_consent"], true);
    assert!(patched.json["consent_source"].as_str().unwrap().starts_with("staff:"));
    let withdrawn = app
        .patch(
            &path,
            &owner.token,
            &json!({ "marketing_consent": false, "consent_source": "phone call" }),
        )
        .await;
    assert_eq!(withdrawn.json["marketing_consent"], false);
    assert_eq!(withdrawn.json["consent_source"], "phone call");
}

async fn deleted_clients_disappear_but_keep_visits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, store) = chain(&app).await;
    let created = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "A", "phone": "13700000002" }),
        )
        .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let visit = app
        .post(
            "/api/v1/visits",
            &owner.token,
            &json!({ "client_id": id, "store_id": store, "completed_at": "2026-01-02T10:00:00+08:00",
                     "lines": [{ "description": "修眉", "amount_cents": 5000 }], "payment_method": "cash" }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let removed = app.delete(&format!("/api/v1/clients/{id}"), &owner.token).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    app.get(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .problem(404);
    assert_eq!(
        app.get("/api/v1/clients?q=13700000002", &owner.token).await.json["items"],
        json!([])
    );
    let visit_path = format!("/api/v1/visits/{}", visit.json["id"].as_str().unwrap());
    assert_eq!(app.get(&visit_path, &owner.token).await.status, 200, "the visit stays");
    // The number is free for a new client.
    let again = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "B", "phone": "13700000002" }),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
}

async fn store_roles_see_their_stores_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, store_a) = chain(&app).await;
    let store_b = app.create_store(&owner, "徐汇店").await;
    let desk_b = app.create_staff(&owner, "front_desk", Some(&store_b)).await;
    let of_a = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "静安的客户", "phone": "13700000003", "home_store_id": store_a }),
        )
        .await;
    let a_id = of_a.json["id"].as_str().unwrap().to_owned();
    let chain_wide = app
        .post("/api/v1/clients", &owner.token, &json!({ "name": "总部客户" }))
        .await;
    assert_eq!(chain_wide.status, 201, "{}", chain_wide.text);
    let mine = app
        .post("/api/v1/clients", &desk_b.token, &json!({ "name": "徐汇的客户" }))
        .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(
        mine.json["home_store_id"],
        store_b.as_str(),
        "a store role's client joins their store"
    );

    let listed = app.get("/api/v1/clients", &desk_b.token).await;
    let names: Vec<&str> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["总部客户", "徐汇的客户"]);
    app.get(&format!("/api/v1/clients/{a_id}"), &desk_b.token)
        .await
        .problem(404);
    assert_eq!(
        app.get("/api/v1/clients?q=静安", &desk_b.token).await.json["items"],
        json!([])
    );
    // The full number finds a client of another store: the chain's clients are shared.
    let by_phone = app.get("/api/v1/clients?q=13700000003", &desk_b.token).await;
    assert_eq!(by_phone.json["items"][0]["id"], a_id.as_str());
    // Once she visits store B she is B's client too.
    let visit = app
        .post(
            "/api/v1/visits",
            &desk_b.token,
            &json!({ "client_id": a_id, "completed_at": "2026-01-02T10:00:00+08:00",
                     "lines": [{ "description": "洗护", "amount_cents": 8000 }], "payment_method": "wechat_pay" }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    assert_eq!(visit.json["store_id"], store_b.as_str());
    assert_eq!(
        app.get(&format!("/api/v1/clients/{a_id}"), &desk_b.token).await.status,
        200
    );
    let by_name = app.get("/api/v1/clients?q=静安", &desk_b.token).await;
    assert_eq!(
        by_name.json["items"][0]["id"],
        a_id.as_str(),
        "and the lookup finds her by name"
    );
    // HQ sees everyone.
    let all = app.get("/api/v1/clients", &owner.token).await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 3);
    // A store role cannot place a client in another store.
    let misplaced = app
        .post(
            "/api/v1/clients",
            &desk_b.token,
            &json!({ "name": "X", "home_store_id": store_a }),
        )
        .await;
    misplaced.problem(403);
}

async fn clients_page_by_cursor_in_both_orders(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = chain(&app).await;
    for name in ["Carol", "alice", "Bob", "Dave", "Erin"] {
        app.post("/api/v1/clients", &owner.token, &json!({ "name": name }))
            .await;
    }
    for (sort, expected) in [
        ("created", vec!["Carol", "alice", "Bob", "Dave", "Erin"]),
        ("name", vec!["Bob", "Carol", "Dave", "Erin", "alice"]),
    ] {
        let mut names = Vec::new();
        let mut path = format!("/api/v1/clients?limit=2&sort={sort}");
        loop {
            let page = app.get(&path, &owner.token).await;
            assert_eq!(page.status, 200, "{}", page.text);
            names.extend(
                page.json["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["name"].as_str().unwrap().to_owned()),
            );
            match page.json["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/clients?limit=2&sort={sort}&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(names, expected, "sort={sort}");
    }
}

async fn a_double_tap_creates_one_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = chain(&app).await;
    let body = json!({ "name": "双击", "phone": "13700000009" });
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(
            app.send(
                app.client()
                    .post(app.url("/api/v1/clients"))
                    .bearer_auth(&owner.token)
                    .header("idempotency-key", "tap-123")
                    .json(&body),
            )
            .await,
        );
    }
    assert_eq!(answers[0].status, 201, "{}", answers[0].text);
    assert_eq!(
        answers[1].status, 201,
        "the retry gets the first answer: {}",
        answers[1].text
    );
    assert_eq!(answers[0].json["id"], answers[1].json["id"]);
    assert_eq!(answers[0].headers["location"], answers[1].headers["location"]);
    let other_body = app
        .send(
            app.client()
                .post(app.url("/api/v1/clients"))
                .bearer_auth(&owner.token)
                .header("idempotency-key", "tap-123")
                .json(&json!({ "name": "Different" })),
        )
        .await;
    other_body.problem(422);
    assert_eq!(
        app.get("/api/v1/clients", &owner.token).await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

both_backends!(
    a_client_with_everything,
    validation_names_every_bad_field,
    a_phone_belongs_to_one_client,
    stale_if_match_is_refused,
    patch_clears_with_null_and_keeps_the_rest,
    deleted_clients_disappear_but_keep_visits,
    store_roles_see_their_stores_clients,
    clients_page_by_cursor_in_both_orders,
    a_double_tap_creates_one_client,
);
