//! The backup drill: a chain with stores, staff, clients with sensitive fields, visits, a
//! complaint and messages sent by the worker; `web backup` while the service runs; the
//! database destroyed; `web restore`; the service started again on it and every record read
//! back through the API, field by field. And what a restore refuses: another backend's file,
//! a damaged or truncated one, something else entirely, a newer schema, a database in use —
//! each leaving the database as it was.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the API shows of the chain, by path (clients with their ETag).
type Snapshot = BTreeMap<String, Value>;

async fn snapshot(app: &TestApp, token: &str, clients: &[String]) -> Snapshot {
    let mut paths: Vec<String> = [
        "/api/v1/me",
        "/api/v1/stores",
        "/api/v1/staff",
        "/api/v1/services",
        "/api/v1/clients",
        "/api/v1/visits",
        "/api/v1/messages",
        "/api/v1/complaints",
        "/api/v1/surveys",
        "/api/v1/settings",
        "/api/v1/templates",
        "/api/v1/reports/care?from=2026-01-01&to=2026-12-31",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for client in clients {
        paths.push(format!("/api/v1/clients/{client}"));
        paths.push(format!("/api/v1/clients/{client}/timeline"));
    }
    let mut shown = Snapshot::new();
    for path in paths {
        let response = app.get(&path, token).await;
        assert_eq!(response.status, 200, "GET {path}: {}", response.text);
        let mut body = response.json;
        // The care report says when it was made.
        if let Some(report) = body.as_object_mut() {
            report.remove("generated_at");
        }
        if let Some(etag) = response.headers.get("etag") {
            body = json!({ "etag": etag.to_str().unwrap(), "body": body });
        }
        shown.insert(path, body);
    }
    shown
}

fn assert_same(before: &Snapshot, after: &Snapshot) {
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (path, was) in before {
        assert_eq!(was, &after[path], "GET {path} differs after the restore");
    }
}

/// The audit log: what was there before must be there after, unchanged (reading sensitive
/// fields adds entries, so the log grows with every snapshot).
async fn audit(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/v1/audit?limit=200", token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json["items"].as_array().unwrap().clone()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path_text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `web backup --to` a file in `dir`; its path.
async fn backup(app: &TestApp, dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(name);
    let output = app
        .web_command(&["backup", "--to", path_text(&file)], &app.data_keys)
        .await;
    assert!(output.status.success(), "web backup failed: {}", stderr(&output));
    let said = stdout(&output);
    assert!(said.contains("backup written to"), "{said}");
    assert!(
        said.contains("NOT in the backup") && said.contains("DATA_KEYS"),
        "the operator is told to keep the keys: {said}"
    );
    file
}

/// 12:00 in Shanghai on the last day it was noon there more than two hours ago.
fn noon_in_shanghai_before(now: DateTime<Utc>) -> DateTime<Utc> {
    let shanghai = chrono_tz::Asia::Shanghai;
    let local = (now - Duration::hours(2)).with_timezone(&shanghai);
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    let mut day = local.date_naive();
    if local.time() < noon {
        day = day.pred_opt().unwrap();
    }
    day.and_time(noon)
        .and_local_timezone(shanghai)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

struct Chain {
    store: String,
    owner: Session,
    staff: Vec<Session>,
    clients: Vec<String>,
    sensitive: String,
}

/// A chain with something in every table that matters.
async fn populate(app: &TestApp, outbox: &Path) -> Chain {
    let owner = app.signup("美丽人生美容连锁").await;
    let jingan = app.create_store(&owner, "静安店").await;
    let xuhui = app.create_store(&owner, "徐汇店").await;
    let manager = app.create_staff(&owner, "store_manager", Some(&jingan)).await;
    let desk = app.create_staff(&owner, "front_desk", Some(&jingan)).await;
    let beautician = app.create_staff(&owner, "beautician", Some(&jingan)).await;
    let far_beautician = app.create_staff(&owner, "beautician", Some(&xuhui)).await;
    let service = app.create_service(&owner, "深层补水护理", 39800).await;

    let mut clients = Vec::new();
    for body in [
        json!({ "name": "敏感客户", "phone": "13712345678", "home_store_id": jingan, "birthday": "1990-03-14",
                "marketing_consent": true, "preferred_channel": "sms", "locale": "zh-CN",
                "allergies": "青霉素", "medical_notes": "高血压", "skin_history": "玫瑰痤疮", "notes": "周末来",
                "consultant_id": beautician.staff_id }),
        json!({ "name": "Emma Hall", "email": "emma@example.com", "phone": "13800138001", "home_store_id": xuhui,
                "preferred_channel": "sms", "locale": "en", "allergies": "latex" }),
        json!({ "name": "王芳", "phone": "13900139002" }),
    ] {
        let created = app.post("/api/v1/clients", &owner.token, &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        clients.push(created.json["id"].as_str().unwrap().to_owned());
    }

    // Visits: one with a catalog service and a discount, and a survey due from the second.
    let completed = noon_in_shanghai_before(Utc::now());
    for (client, store, staff, at, lines) in [
        (
            &clients[0],
            &jingan,
            &beautician,
            "2026-02-10T14:30:00+08:00".to_owned(),
            json!([{ "service_id": service }, { "description": "肩颈舒缓按摩", "amount_cents": 19800 }]),
        ),
        (
            &clients[1],
            &xuhui,
            &far_beautician,
            completed.to_rfc3339(),
            json!([{ "description": "Hydrating facial", "amount_cents": 45000 }]),
        ),
    ] {
        let visit = app
            .post(
                "/api/v1/visits",
                &owner.token,
                &json!({ "client_id": client, "store_id": store, "staff_id": staff.staff_id,
                         "completed_at": at, "lines": lines, "discount_cents": 5000,
                         "payment_method": "wechat_pay" }),
            )
            .await;
        assert_eq!(visit.status, 201, "{}", visit.text);
    }

    // A walk-in complaint, with its first step.
    let complaint = app
        .post(
            "/api/v1/complaints",
            &desk.token,
            &json!({ "client_id": clients[0], "summary": "预约被取消，等了四十分钟" }),
        )
        .await;
    assert_eq!(complaint.status, 201, "{}", complaint.text);
    let complaint = complaint.json["id"].as_str().unwrap();
    let step = app
        .post(
            &format!("/api/v1/complaints/{complaint}/steps"),
            &manager.token,
            &json!({ "step": "callback", "note": "已回电致歉" }),
        )
        .await;
    assert_eq!(step.status, 200, "{}", step.text);

    // Messages: the birthday greeting (10:00 in Shanghai) and the survey 24 hours after the
    // visit, sent by the real worker to SMS files.
    for now in [
        "2026-03-14T02:00:00Z".to_owned(),
        (completed + Duration::hours(24)).to_rfc3339(),
    ] {
        let tick = app
            .worker_command(&["tick", "--now", &now])
            .env("OUTBOX_DIR", outbox)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run worker tick");
        assert!(tick.status.success(), "worker tick: {}", stderr(&tick));
        let report: Value = serde_json::from_slice(&tick.stdout).unwrap();
        assert!(report["delivery"]["sent"].as_u64() >= Some(1), "{report}");
    }

    Chain {
        store: jingan,
        owner,
        staff: vec![manager, desk, beautician, far_beautician],
        clients,
        sensitive: "青霉素".into(),
    }
}

async fn backup_destroy_restore_drill(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let chain = populate(&app, &dir.path().join("outbox")).await;
    let token = chain.owner.token.clone();
    let before = snapshot(&app, &token, &chain.clients).await;
    let audit_before = audit(&app, &token).await;

    // What the snapshot holds, so that "the same" means something.
    let client = &before[&format!("/api/v1/clients/{}", chain.clients[0])]["body"];
    assert_eq!(client["sensitive"]["allergies"], "青霉素", "{client}");
    assert_eq!(client["visit_count"], 1, "{client}");
    let messages = before["/api/v1/messages"]["items"].as_array().unwrap();
    assert!(
        messages.iter().filter(|m| m["status"] == "sent").count() >= 2,
        "{messages:?}"
    );
    assert_eq!(before["/api/v1/visits"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(before["/api/v1/complaints"]["items"].as_array().unwrap().len(), 1);

    // Online: the service keeps running while the copy is taken.
    let file = backup(&app, dir.path(), "salon.backup").await;
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"salon-crm backup 1\n"));
    let key = app.data_keys.split(':').nth(1).unwrap();
    assert!(
        !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
        "the data key is not in the backup"
    );
    let plain = chain.sensitive.as_bytes();
    assert!(
        !bytes.windows(plain.len()).any(|w| w == plain),
        "sensitive fields stay encrypted in the backup"
    );
    let check = app
        .web_command(&["restore", "--check", "--from", path_text(&file)], &app.data_keys)
        .await;
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains("the backup is sound"), "{}", stdout(&check));

    // Lost: the service on the destroyed database knows nobody.
    app.stop().await;
    app.destroy_database().await;
    app.restart(&app.data_keys.clone(), &[]).await;
    app.login(&chain.owner.email, &chain.owner.password).await.problem(401);
    app.get("/api/v1/clients", &token).await.problem(401);
    app.stop().await;

    let restored = app
        .web_command(&["restore", "--from", path_text(&file)], &app.data_keys)
        .await;
    assert!(restored.status.success(), "web restore failed: {}", stderr(&restored));
    let said = stdout(&restored);
    assert!(said.starts_with("restored "), "{said}");
    assert!(said.contains("2 value(s)"), "two clients' sealed fields: {said}");
    assert!(!said.contains("WARNING"), "the keys are configured: {said}");
    app.restart(&app.data_keys.clone(), &[]).await;

    // Everything as it was: the session still valid, every record, every field.
    let after = snapshot(&app, &token, &chain.clients).await;
    assert_same(&before, &after);
    let audit_after = audit(&app, &token).await;
    for entry in &audit_before {
        assert!(audit_after.contains(entry), "audit entry lost or changed: {entry}");
    }
    // Every staff member logs in with their password.
    for who in std::iter::once(&chain.owner).chain(&chain.staff) {
        let login = app.login(&who.email, &who.password).await;
        assert_eq!(login.status, 200, "{} cannot log in: {}", who.email, login.text);
    }
    // And it works on: a new visit updates the restored aggregates.
    let more = app
        .post(
            "/api/v1/visits",
            &token,
            &json!({ "client_id": chain.clients[2], "store_id": chain.store,
                     "completed_at": "2026-11-30T11:00:00+08:00",
                     "lines": [{ "description": "修眉", "amount_cents": 8800 }], "payment_method": "cash" }),
        )
        .await;
    assert_eq!(more.status, 201, "{}", more.text);
    let third = app.get(&format!("/api/v1/clients/{}", chain.clients[2]), &token).await;
    assert_eq!(third.json["visit_count"], 1, "{}", third.text);
    assert_eq!(third.json["total_spent_cents"], 8800, "{}", third.text);
}

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

/// The two header lines and the payload.
fn split(bytes: &[u8]) -> (Vec<u8>, Value, Vec<u8>) {
    let first = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    let second = first + bytes[first..].iter().position(|b| *b == b'\n').unwrap() + 1;
    (
        bytes[..first].to_vec(),
        serde_json::from_slice(&bytes[first..second]).unwrap(),
        bytes[second..].to_vec(),
    )
}

fn join(magic: &[u8], manifest: &Value, payload: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(manifest.to_string().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(payload);
    bytes
}

async fn restore_refuses_what_it_cannot_restore(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "敏感客户", "phone": "13712345678", "home_store_id": store, "allergies": "青霉素" }),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let clients = vec![client.json["id"].as_str().unwrap().to_owned()];
    let good = backup(&app, dir.path(), "good.backup").await;
    let before = snapshot(&app, &owner.token, &clients).await;

    let elsewhere = TestApp::spawn(other(backend)).await;
    elsewhere.signup("Another chain").await;
    let foreign = backup(&elsewhere, dir.path(), "other-backend.backup").await;

    let bytes = std::fs::read(&good).unwrap();
    let (magic, manifest, payload) = split(&bytes);
    let write = |name: &str, content: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let mut flipped = payload.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    let mut newer = manifest.clone();
    newer["schema_version"] = json!("99991231000000");
    newer["salon_crm_version"] = json!("9.0.0");
    let cases = [
        (foreign, "backup, but DATABASE_URL is a"),
        (
            write("flipped.backup", &join(&magic, &manifest, &flipped)),
            "does not match the checksum",
        ),
        (write("truncated.backup", &bytes[..bytes.len() - 100]), "truncated"),
        (write("text.backup", b"not a backup at all\n"), "not a salon-crm backup"),
        (write("newer.backup", &join(&magic, &newer, &payload)), "does not know"),
        (write("plain.backup", &payload), "plain"),
        // The good file, but the service holds the database.
        (
            good.clone(),
            match backend {
                Backend::Sqlite => "in use by another process",
                Backend::Postgres => "other session(s) are connected",
            },
        ),
    ];
    for (file, expected) in cases {
        let output = app
            .web_command(&["restore", "--from", path_text(&file)], &app.data_keys)
            .await;
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{}: refused: {message}", file.display());
        assert!(message.contains(expected), "{}: {message}", file.display());
        assert!(message.contains("Nothing was changed"), "{message}");
    }

    // The database as it was, and no restore leftovers beside it.
    assert_same(&before, &snapshot(&app, &owner.token, &clients).await);
    if backend == Backend::Sqlite {
        let db = Path::new(app.database_url.trim_start_matches("sqlite://"));
        let leftovers: Vec<String> = std::fs::read_dir(db.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

both_backends!(backup_destroy_restore_drill, restore_refuses_what_it_cannot_restore,);
