//! Privacy: sensitive fields by role, the audit log, one client's export and erasure, and
//! bulk exports that need an owner's approval.

use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::{json, Value};

struct Salon {
    app: TestApp,
    owner: Session,
    store: String,
    client: String,
}

async fn salon(backend: Backend) -> Salon {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "敏感客户", "phone": "13712345678", "home_store_id": store,
                     "allergies": "青霉素", "medical_notes": "高血压", "skin_history": "玫瑰痤疮", "notes": "周末来" }),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let client = client.json["id"].as_str().unwrap().to_owned();
    Salon {
        app,
        owner,
        store,
        client,
    }
}

async fn audit_actions(s: &Salon, action: &str) -> Vec<Value> {
    let log = s
        .app
        .get(&format!("/api/v1/audit?action={action}"), &s.owner.token)
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    log.json["items"].as_array().unwrap().clone()
}

async fn sensitive_fields_by_role_and_every_read_audited(backend: Backend) {
    let s = salon(backend).await;
    let other_store = s.app.create_store(&s.owner, "徐汇店").await;
    let desk = s.app.create_staff(&s.owner, "front_desk", Some(&s.store)).await;
    let beautician = s.app.create_staff(&s.owner, "beautician", Some(&s.store)).await;
    let hq = s.app.create_staff(&s.owner, "hq_manager", None).await;
    let far_beautician = s.app.create_staff(&s.owner, "beautician", Some(&other_store)).await;
    let path = format!("/api/v1/clients/{}", s.client);

    let as_desk = s.app.get(&path, &desk.token).await;
    assert_eq!(as_desk.status, 200);
    assert!(
        as_desk.json.get("sensitive").is_none(),
        "the front desk never sees allergies: {}",
        as_desk.text
    );
    assert!(!as_desk.text.contains("青霉素"));
    assert!(s.app.get(&path, &hq.token).await.json.get("sensitive").is_none());
    let as_beautician = s.app.get(&path, &beautician.token).await;
    assert_eq!(as_beautician.json["sensitive"]["allergies"], "青霉素");
    let as_owner = s.app.get(&path, &s.owner.token).await;
    assert_eq!(as_owner.json["sensitive"]["medical_notes"], "高血压");

    // The front desk cannot write them either.
    let write = s.app.patch(&path, &desk.token, &json!({ "allergies": "none" })).await;
    write.problem(403);
    // A beautician of another store becomes able to, as the assigned consultant.
    s.app
        .patch(
            &path,
            &s.owner.token,
            &json!({ "consultant_id": far_beautician.staff_id }),
        )
        .await;
    s.app
        .post(
            "/api/v1/visits",
            &s.owner.token,
            &json!({ "client_id": s.client, "store_id": other_store, "completed_at": "2026-01-02T10:00:00+08:00",
                     "lines": [{ "description": "x", "amount_cents": 1 }], "payment_method": "cash" }),
        )
        .await;
    let as_consultant = s.app.get(&path, &far_beautician.token).await;
    assert_eq!(
        as_consultant.json["sensitive"]["skin_history"], "玫瑰痤疮",
        "{}",
        as_consultant.text
    );

    let reads = audit_actions(&s, "read_sensitive").await;
    let readers: Vec<&str> = reads.iter().map(|r| r["actor_id"].as_str().unwrap()).collect();
    assert_eq!(reads.len(), 3, "{reads:#?}");
    for reader in [&beautician.staff_id, &s.owner.staff_id, &far_beautician.staff_id] {
        assert!(readers.contains(&reader.as_str()), "{reader} missing from {readers:?}");
    }
    assert!(reads.iter().all(|r| r["subject_id"] == s.client.as_str()));
    // Only owners read the audit log.
    s.app.get("/api/v1/audit", &hq.token).await.problem(403);
}

async fn sensitive_fields_are_not_stored_in_clear(backend: Backend) {
    let s = salon(backend).await;
    let hits = match backend {
        Backend::Sqlite => {
            let path = s.app.database_url.trim_start_matches("sqlite://").to_owned();
            // Everything SQLite has written so far, main file and write-ahead log.
            let mut bytes = std::fs::read(&path).unwrap_or_default();
            bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains("敏感客户"),
                "the check reads the data: the name is there in clear"
            );
            text.contains("青霉素")
        }
        Backend::Postgres => {
            use diesel::prelude::*;
            let mut conn = diesel::PgConnection::establish(&s.app.database_url).unwrap();
            #[derive(QueryableByName)]
            struct Hit {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let named =
                diesel::sql_query("SELECT count(*) AS n FROM clients WHERE name = $1 AND sensitive_enc IS NOT NULL")
                    .bind::<diesel::sql_types::Text, _>("敏感客户")
                    .get_result::<Hit>(&mut conn)
                    .unwrap()
                    .n;
            assert_eq!(named, 1, "the check reads the right row");
            diesel::sql_query(
                "SELECT count(*) AS n FROM clients WHERE sensitive_enc LIKE '%' || $1 || '%' OR notes = $1",
            )
            .bind::<diesel::sql_types::Text, _>("青霉素")
            .get_result::<Hit>(&mut conn)
            .unwrap()
            .n > 0
        }
    };
    assert!(!hits, "allergies found in clear text in the database");
    let fetched = s
        .app
        .get(&format!("/api/v1/clients/{}", s.client), &s.owner.token)
        .await;
    assert_eq!(fetched.json["sensitive"]["allergies"], "青霉素");
}

async fn export_holds_the_clients_data_and_erase_removes_it(backend: Backend) {
    let s = salon(backend).await;
    let visit = s
        .app
        .post(
            "/api/v1/visits",
            &s.owner.token,
            &json!({ "client_id": s.client, "store_id": s.store, "completed_at": "2026-01-02T10:00:00+08:00",
                     "lines": [{ "description": "补水", "amount_cents": 29800 }], "payment_method": "alipay", "notes": "客户说下周再来" }),
        )
        .await;
    assert_eq!(visit.status, 201);
    let export = s
        .app
        .get(&format!("/api/v1/clients/{}/export", s.client), &s.owner.token)
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.json["client"]["name"], "敏感客户");
    assert_eq!(export.json["client"]["phone"], "+8613712345678");
    assert_eq!(export.json["client"]["sensitive"]["allergies"], "青霉素");
    assert_eq!(export.json["visits"][0]["total_cents"], 29800);
    assert!(export.json["messages"].is_array() && export.json["surveys"].is_array());
    assert_eq!(audit_actions(&s, "export_client").await.len(), 1);
    let desk = s.app.create_staff(&s.owner, "front_desk", Some(&s.store)).await;
    s.app
        .get(&format!("/api/v1/clients/{}/export", s.client), &desk.token)
        .await
        .problem(403);

    let erased = s
        .app
        .post(
            &format!("/api/v1/clients/{}/erase", s.client),
            &s.owner.token,
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    assert_eq!(erased.json["erased"], true);
    let after = s
        .app
        .get(&format!("/api/v1/clients/{}", s.client), &s.owner.token)
        .await;
    let text = &after.text;
    for personal in ["敏感客户", "13712345678", "青霉素", "高血压", "周末来"] {
        assert!(!text.contains(personal), "{personal} survived erasure: {text}");
    }
    assert_eq!(
        after.json["sensitive"],
        json!({ "allergies": null, "medical_notes": null, "skin_history": null })
    );
    assert_eq!(after.json["marketing_consent"], false);
    // The amounts stay for the salon's reports, the visit's free text does not.
    assert_eq!(after.json["total_spent_cents"], 29800);
    let visit = s
        .app
        .get(
            &format!("/api/v1/visits/{}", visit.json["id"].as_str().unwrap()),
            &s.owner.token,
        )
        .await;
    assert_eq!(visit.json["total_cents"], 29800);
    assert_eq!(visit.json["notes"], Value::Null);
    assert_eq!(
        s.app.get("/api/v1/clients?q=5678", &s.owner.token).await.json["items"],
        json!([])
    );
    assert_eq!(audit_actions(&s, "erase_client").await.len(), 1);
    // The erased archive can't be edited back.
    s.app
        .patch(
            &format!("/api/v1/clients/{}", s.client),
            &s.owner.token,
            &json!({ "name": "x" }),
        )
        .await
        .problem(409);
}

async fn bulk_export_needs_an_owners_approval(backend: Backend) {
    let s = salon(backend).await;
    let hq = s.app.create_staff(&s.owner, "hq_manager", None).await;
    let desk = s.app.create_staff(&s.owner, "front_desk", Some(&s.store)).await;
    s.app
        .post("/api/v1/exports", &desk.token, &json!({ "purpose": "I want the list" }))
        .await
        .problem(403);
    let no_purpose = s
        .app
        .post("/api/v1/exports", &hq.token, &json!({ "purpose": "" }))
        .await;
    assert_eq!(no_purpose.invalid_fields(), ["purpose"]);

    let request = s
        .app
        .post(
            "/api/v1/exports",
            &hq.token,
            &json!({ "purpose": "年度会员回访名单 (annual member calls)", "store_id": s.store }),
        )
        .await;
    assert_eq!(request.status, 201, "{}", request.text);
    assert_eq!(request.json["status"], "pending");
    let id = request.json["id"].as_str().unwrap();
    let download = format!("/api/v1/exports/{id}/download");
    let refused = s.app.get(&download, &hq.token).await;
    assert_eq!(refused.problem(409)["code"], "export_not_approved");
    // An HQ manager cannot approve their own request; an owner can.
    s.app
        .post(&format!("/api/v1/exports/{id}/approve"), &hq.token, &json!({}))
        .await
        .problem(403);
    let approved = s
        .app
        .post(&format!("/api/v1/exports/{id}/approve"), &s.owner.token, &json!({}))
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["status"], "approved");
    assert_eq!(approved.json["self_approved"], false);
    assert_eq!(approved.json["decided_by"], s.owner.staff_id.as_str());

    let file = s.app.get(&download, &hq.token).await;
    assert_eq!(file.status, 200, "{}", file.text);
    assert!(file.content_type().starts_with("text/csv"));
    assert!(file.text.starts_with("id,name,phone"));
    assert!(file.text.contains("敏感客户") && file.text.contains("+8613712345678"));
    assert!(!file.text.contains("青霉素"), "no sensitive fields in bulk exports");
    assert_eq!(
        s.app.get(&download, &hq.token).await.problem(409)["code"],
        "export_used"
    );

    // An owner approving their own request is recorded as such.
    let own = s
        .app
        .post(
            "/api/v1/exports",
            &s.owner.token,
            &json!({ "purpose": "backup for the accountant" }),
        )
        .await;
    let own_id = own.json["id"].as_str().unwrap();
    let self_approved = s
        .app
        .post(&format!("/api/v1/exports/{own_id}/approve"), &s.owner.token, &json!({}))
        .await;
    assert_eq!(self_approved.json["self_approved"], true);

    let approvals = audit_actions(&s, "bulk_export_approved").await;
    assert_eq!(approvals.len(), 2);
    let downloads = audit_actions(&s, "bulk_export_downloaded").await;
    assert_eq!(downloads.len(), 1);
    assert_eq!(
        downloads[0]["details"]["purpose"],
        "年度会员回访名单 (annual member calls)"
    );
}

async fn keys_rotate_without_losing_sensitive_fields(backend: Backend) {
    let mut s = salon(backend).await;
    let old = s.app.data_keys.clone();
    let new = e2e::test_data_keys();
    // A new key first, the old one kept: old values stay readable, new writes use the new key.
    s.app.restart(&format!("{new},{old}"), &[]).await;
    let path = format!("/api/v1/clients/{}", s.client);
    let session = s.app.login(&s.owner.email, &s.owner.password).await;
    let token = session.json["token"].as_str().unwrap().to_owned();
    assert_eq!(s.app.get(&path, &token).await.json["sensitive"]["allergies"], "青霉素");

    let rotated = s.app.web_command(&["rotate-keys"], &format!("{new},{old}")).await;
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    assert!(
        String::from_utf8_lossy(&rotated.stdout).starts_with("1 values re-encrypted"),
        "{}",
        String::from_utf8_lossy(&rotated.stdout)
    );
    let again = s.app.web_command(&["rotate-keys"], &format!("{new},{old}")).await;
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("0 values"),
        "a second run has nothing to do"
    );

    // The old key can go.
    s.app.restart(&new, &[]).await;
    let fetched = s.app.get(&path, &token).await;
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert_eq!(fetched.json["sensitive"]["medical_notes"], "高血压");
    s.owner.token = token;
}

both_backends!(
    keys_rotate_without_losing_sensitive_fields,
    sensitive_fields_by_role_and_every_read_audited,
    sensitive_fields_are_not_stored_in_clear,
    export_holds_the_clients_data_and_erase_removes_it,
    bulk_export_needs_an_owners_approval,
);
