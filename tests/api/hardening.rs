//! Holes an audit of the archive found (issue 13), each closed and held by a test through the
//! API: who may name a client's consultant (and so unlock their sensitive fields), complaint
//! alerts in the outbox, bulk exports (spreadsheet formulas, one download), idempotency keys,
//! the login limit behind a proxy, and key rotation beside concurrent edits.

use chrono::{Duration, Utc};
use e2e::row_lock::RowLock;
use e2e::{both_backends, Backend, Response, Session, TestApp};
use serde_json::{json, Value};

async fn client(app: &TestApp, by: &Session, body: Value) -> String {
    let response = app.post("/api/v1/clients", &by.token, &body).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json["id"].as_str().unwrap().to_owned()
}

async fn import_clients(app: &TestApp, by: &Session, csv: String) -> Response {
    let request = app
        .client()
        .post(app.url("/api/v1/imports/clients"))
        .bearer_auth(&by.token)
        .header("content-type", "text/csv")
        .body(csv);
    app.send(request).await
}

/// Item 1: nobody unlocks allergies and medical notes by naming themselves (or a front desk,
/// or an HQ manager) the client's consultant, on create, on PATCH or through the import; only
/// the owner, an HQ manager and the home store's manager change the consultant, and a
/// consultant whose role no longer treats clients loses the access.
async fn only_care_roles_name_a_consultant_who_may_see_sensitive_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let other_store = app.create_store(&owner, "徐汇店").await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store)).await;
    let hq = app.create_staff(&owner, "hq_manager", None).await;
    let manager = app.create_staff(&owner, "store_manager", Some(&store)).await;
    let beautician = app.create_staff(&owner, "beautician", Some(&store)).await;
    let far_beautician = app.create_staff(&owner, "beautician", Some(&other_store)).await;
    let id = client(
        &app,
        &owner,
        json!({ "name": "敏感客户", "home_store_id": store, "allergies": "青霉素" }),
    )
    .await;
    let path = format!("/api/v1/clients/{id}");

    // The front desk: not by PATCH, not on create; the allergies stay hidden.
    app.patch(&path, &desk.token, &json!({ "consultant_id": desk.staff_id }))
        .await
        .problem(403);
    let seen = app.get(&path, &desk.token).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert!(!seen.text.contains("青霉素"), "{}", seen.text);
    assert_eq!(seen.json["consultant_id"], Value::Null);
    app.post(
        "/api/v1/clients",
        &desk.token,
        &json!({ "name": "新客", "consultant_id": desk.staff_id, "allergies": "花粉" }),
    )
    .await
    .problem(403);
    // A beautician treats clients but does not assign them.
    app.patch(
        &path,
        &beautician.token,
        &json!({ "consultant_id": beautician.staff_id }),
    )
    .await
    .problem(403);

    // An HQ manager assigns, but only someone whose role may see sensitive fields.
    for (who, label) in [(&hq, "hq_manager"), (&desk, "front_desk")] {
        let refused = app
            .patch(&path, &hq.token, &json!({ "consultant_id": who.staff_id }))
            .await;
        assert_eq!(refused.invalid_fields(), ["consultant_id"], "{label}: {}", refused.text);
    }
    let new_client = app
        .post(
            "/api/v1/clients",
            &hq.token,
            &json!({ "name": "总部客户", "consultant_id": hq.staff_id }),
        )
        .await;
    assert_eq!(new_client.invalid_fields(), ["consultant_id"], "{}", new_client.text);
    // The same rule in the CSV import, row by row.
    let imported = import_clients(
        &app,
        &hq,
        format!(
            "name,home_store_id,consultant_id,allergies\n导入客户,{store},{},花粉\n",
            hq.staff_id
        ),
    )
    .await;
    let report = &imported.problem(422)["report"];
    assert_eq!(report["rejected"][0]["field"], "consultant_id", "{}", imported.text);
    assert_eq!(report["written"], false);

    let assigned = app
        .patch(&path, &hq.token, &json!({ "consultant_id": far_beautician.staff_id }))
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    assert!(!assigned.text.contains("青霉素"), "assignment unlocks nothing for HQ");
    // The home store's manager may reassign, to themselves too.
    let own = app
        .patch(&path, &manager.token, &json!({ "consultant_id": manager.staff_id }))
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    app.patch(
        &path,
        &owner.token,
        &json!({ "consultant_id": far_beautician.staff_id }),
    )
    .await;
    // A visit at the consultant's store makes the client one of that store's too.
    let visit = app
        .post(
            "/api/v1/visits",
            &owner.token,
            &json!({ "client_id": id, "store_id": other_store, "completed_at": "2026-01-02T10:00:00+08:00",
                     "lines": [{ "description": "x", "amount_cents": 1 }], "payment_method": "cash" }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let as_consultant = app.get(&path, &far_beautician.token).await;
    assert_eq!(
        as_consultant.json["sensitive"]["allergies"], "青霉素",
        "{}",
        as_consultant.text
    );

    // The consultant moves to the front desk: the role decides before the assignment does.
    let moved = app
        .patch(
            &format!("/api/v1/staff/{}", far_beautician.staff_id),
            &owner.token,
            &json!({ "role": "front_desk" }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let login = app.login(&far_beautician.email, &far_beautician.password).await;
    let token = login.json["token"].as_str().unwrap_or(&far_beautician.token).to_owned();
    let after = app.get(&path, &token).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert!(!after.text.contains("青霉素"), "{}", after.text);
}

/// Item 3: complaint alerts carry the client's name and what they complained about; roles that
/// may not see complaints do not read them in the outbox either.
async fn complaint_alerts_are_shown_only_to_roles_that_see_complaints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let manager = app.create_staff(&owner, "store_manager", Some(&store)).await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store)).await;
    let beautician = app.create_staff(&owner, "beautician", Some(&store)).await;
    let id = client(&app, &owner, json!({ "name": "投诉客户", "home_store_id": store })).await;
    let complaint = app
        .post(
            "/api/v1/complaints",
            &owner.token,
            &json!({ "client_id": id, "summary": "护理后过敏 marker-7731" }),
        )
        .await;
    assert_eq!(complaint.status, 201, "{}", complaint.text);

    let alerts = app.get("/api/v1/messages?kind=complaint_alert", &manager.token).await;
    let items = alerts.json["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the store manager sees the alert: {}", alerts.text);
    assert!(alerts.text.contains("marker-7731"));
    let alert_id = items[0]["id"].as_str().unwrap();
    for who in [&desk, &beautician] {
        let all = app.get("/api/v1/messages?limit=200", &who.token).await;
        assert_eq!(all.status, 200, "{}", all.text);
        assert!(!all.text.contains("marker-7731"), "{}", all.text);
        assert!(!all.text.contains("complaint_alert"), "{}", all.text);
        let filtered = app.get("/api/v1/messages?kind=complaint_alert", &who.token).await;
        assert_eq!(filtered.json["items"], json!([]), "{}", filtered.text);
        app.get(&format!("/api/v1/messages/{alert_id}"), &who.token)
            .await
            .problem(404);
    }
}

/// Item 6: a name a spreadsheet would run as a formula arrives as text (OWASP: a leading `'`),
/// and an approved export is downloaded once, even by requests racing for it.
async fn bulk_exports_neutralise_formulas_and_go_out_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let names = ["=1+2", "+1+1", "-2-3", "@SUM(1)"];
    for name in names {
        client(&app, &owner, json!({ "name": name, "tags": ["=cmd"] })).await;
    }
    let request = app
        .post(
            "/api/v1/exports",
            &owner.token,
            &json!({ "purpose": "annual member calls" }),
        )
        .await;
    let id = request.json["id"].as_str().unwrap().to_owned();
    let approved = app
        .post(&format!("/api/v1/exports/{id}/approve"), &owner.token, &json!({}))
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);

    // Eight downloads at once. On PostgreSQL the request's row is held meanwhile, so that all
    // of them reach their write together (what a busy database does now and then), then let go.
    let path = format!("/api/v1/exports/{id}/download");
    let lock = (backend == Backend::Postgres).then(|| RowLock::hold(&app.database_url, "export_requests", &id));
    let (downloads, ()) = tokio::join!(
        futures_util::future::join_all((0..8).map(|_| app.get(&path, &owner.token))),
        async {
            if let Some(lock) = lock {
                lock.wait_for_waiters(2).await;
                lock.release();
            }
        }
    );
    let files: Vec<&Response> = downloads.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        files.len(),
        1,
        "one download of an approved export: {:?}",
        downloads.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for refused in downloads.iter().filter(|r| r.status != 200) {
        assert_eq!(refused.problem(409)["code"], "export_used");
    }
    let csv = &files[0].text;
    for name in names {
        assert!(csv.contains(&format!(",'{name},")), "{name} is not neutralised: {csv}");
    }
    for line in csv.lines() {
        for cell in line.split(',') {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?} in {line}"
            );
        }
    }
}

async fn post_with_key(app: &TestApp, by: &Session, path: &str, key: &str, body: &Value) -> Response {
    let request = app
        .client()
        .post(app.url(path))
        .bearer_auth(&by.token)
        .header("idempotency-key", key)
        .json(body);
    app.send(request).await
}

/// Item 7: an `Idempotency-Key` belongs to the staff member and the route that used it (a
/// colleague's retry is not answered with someone else's record), and stored answers (whole
/// client records) are gone after 24 hours: the worker's sweep removes them.
async fn idempotency_keys_belong_to_one_member_and_route_and_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let a = app.create_staff(&owner, "front_desk", Some(&store)).await;
    let b = app.create_staff(&owner, "front_desk", Some(&store)).await;
    let body = json!({ "name": "甲客户" });

    let first = post_with_key(&app, &a, "/api/v1/clients", "key-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let replay = post_with_key(&app, &a, "/api/v1/clients", "key-1", &body).await;
    assert_eq!(replay.json["id"], first.json["id"], "a retry gets the first answer");
    let colleague = post_with_key(&app, &b, "/api/v1/clients", "key-1", &body).await;
    assert_eq!(colleague.status, 201, "{}", colleague.text);
    assert_ne!(
        colleague.json["id"], first.json["id"],
        "another member's key is their own"
    );

    let visit = json!({
        "client_id": first.json["id"], "store_id": store, "completed_at": "2026-01-02T10:00:00+08:00",
        "lines": [{ "description": "补水", "amount_cents": 100 }], "payment_method": "cash",
    });
    let other_route = post_with_key(&app, &a, "/api/v1/visits", "key-1", &visit).await;
    assert_eq!(other_route.status, 201, "{}", other_route.text);

    // A day and an hour later (the worker's sweep at that instant) the key is free again.
    let later = (Utc::now() + Duration::hours(25)).to_rfc3339();
    let tick = app.worker(&["tick", "--now", &later]).await;
    assert!(tick.status.success(), "{}", String::from_utf8_lossy(&tick.stderr));
    let fresh = post_with_key(&app, &a, "/api/v1/clients", "key-1", &body).await;
    assert_eq!(fresh.status, 201, "{}", fresh.text);
    assert_ne!(fresh.json["id"], first.json["id"], "the stored answer expired");
}

async fn login_via(app: &TestApp, forwarded_for: &str, email: &str) -> Response {
    let request = app
        .client()
        .post(app.url("/api/v1/sessions"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": "not the password" }));
    app.send(request).await
}

/// Item 9: behind a proxy, the client's address is the rightmost one the trusted proxies did not
/// add; the leftmost, which the client writes itself, cannot buy a fresh budget.
async fn behind_a_proxy_the_login_limit_counts_the_address_the_proxy_saw(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("TRUST_PROXY_HEADERS", "true"),
            ("TRUSTED_PROXIES", "10.0.0.0/8"),
            ("LOGIN_LIMIT_PER_IP", "3"),
        ],
    )
    .await;
    for n in 1..=3 {
        let forged = format!("198.51.100.{n}, 203.0.113.9, 10.0.0.{n}");
        let attempt = login_via(&app, &forged, &format!("nobody{n}@example.com")).await;
        attempt.problem(401);
    }
    let limited = login_via(&app, "192.0.2.77, 203.0.113.9", "nobody4@example.com").await;
    limited.problem(429);
    assert!(limited.headers.get("retry-after").is_some());
    // Another client behind the same proxy has its own budget.
    login_via(&app, "203.0.113.9, 203.0.113.10", "nobody5@example.com")
        .await
        .problem(401);
}

/// Item 10: `web rotate-keys` re-encrypts row by row while staff keep editing; an edit saved
/// between the rotation's read of a batch and its write of that row is kept (compare-and-swap
/// on the sealed value), never overwritten with the old text. On PostgreSQL a row of the first
/// batch is held, so the rotation stops there after reading the batch, and the edits land in
/// that window every time; SQLite serialises the rotation's batch and the edits.
async fn key_rotation_keeps_edits_made_while_it_runs(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let mut csv = String::from("name,allergies\n");
    for n in 0..600 {
        csv.push_str(&format!("客户{n},原始{n}\n"));
    }
    let imported = import_clients(&app, &owner, csv).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    // In id order, the order the rotation walks (batches of 500).
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(&format!("/api/v1/clients?limit=200{cursor}"), &owner.token)
            .await;
        for item in page.json["items"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 600);

    let old = app.data_keys.clone();
    let keys = format!("{},{old}", e2e::test_data_keys());
    app.restart(&keys, &[]).await;
    let lock = (backend == Backend::Postgres).then(|| RowLock::hold(&app.database_url, "clients", &ids[250]));
    let mut rotation = app
        .web_process(&["rotate-keys"], &keys)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    if let Some(lock) = &lock {
        lock.wait_for_waiters(1).await;
    }
    let edited = &ids[300..320];
    for id in edited {
        let patched = app
            .patch(
                &format!("/api/v1/clients/{id}"),
                &owner.token,
                &json!({ "allergies": format!("改-{id}") }),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
    }
    if let Some(lock) = lock {
        lock.release();
    }
    assert!(rotation.wait().await.unwrap().success(), "rotate-keys failed");

    for id in edited {
        let client = app.get(&format!("/api/v1/clients/{id}"), &owner.token).await;
        assert_eq!(
            client.json["sensitive"]["allergies"],
            format!("改-{id}").as_str(),
            "an edit made during the rotation was lost"
        );
    }
    // The rest was rotated and reads as before, under the new key alone.
    app.restart(&keys[..keys.find(',').unwrap()], &[]).await;
    for (n, id) in [(0, &ids[0]), (250, &ids[250]), (599, &ids[599])] {
        let client = app.get(&format!("/api/v1/clients/{id}"), &owner.token).await;
        assert_eq!(
            client.json["sensitive"]["allergies"],
            format!("原始{n}").as_str(),
            "{}",
            client.text
        );
    }
}

both_backends!(
    only_care_roles_name_a_consultant_who_may_see_sensitive_fields,
    complaint_alerts_are_shown_only_to_roles_that_see_complaints,
    bulk_exports_neutralise_formulas_and_go_out_once,
    idempotency_keys_belong_to_one_member_and_route_and_expire,
    behind_a_proxy_the_login_limit_counts_the_address_the_proxy_saw,
    key_rotation_keeps_edits_made_while_it_runs,
);
