//! CSV imports: all or nothing with a report of each bad row, partial on request, GB18030 as
//! Excel in China saves it, visits matched to clients by phone.

use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::json;

async fn post_csv(app: &TestApp, owner: &Session, path: &str, content_type: &str, body: Vec<u8>) -> e2e::Response {
    app.send(
        app.client()
            .post(app.url(path))
            .bearer_auth(&owner.token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn client_count(app: &TestApp, owner: &Session) -> usize {
    app.get("/api/v1/clients?limit=200", &owner.token).await.json["items"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn a_file_with_a_bad_row_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let csv = "name,phone,birthday,marketing_consent\n\
               张三,13700000001,03-08,是\n\
               李四,not-a-phone,04-01,no\n\
               \n\
               王五,13700000003,02-30,yes\n\
               赵六,13700000001,,\n";
    let response = post_csv(
        &app,
        &owner,
        "/api/v1/imports/clients",
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    let problem = response.problem(422);
    assert_eq!(problem["code"], "import_rejected");
    let report = &problem["report"];
    assert_eq!(report["rows"], 4);
    assert_eq!(report["written"], false);
    let rejected: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rejected,
        [(3, "phone"), (5, "birthday"), (6, "phone")],
        "{}",
        response.text
    );
    assert_eq!(client_count(&app, &owner).await, 0, "nothing was written");

    // With ?partial=true the good rows go in.
    let partial = post_csv(
        &app,
        &owner,
        "/api/v1/imports/clients?partial=true",
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(partial.status, 200, "{}", partial.text);
    assert_eq!(partial.json["accepted"], 1);
    assert_eq!(partial.json["written"], true);
    let found = app.get("/api/v1/clients?q=13700000001", &owner.token).await;
    assert_eq!(found.json["items"][0]["name"], "张三");
    assert_eq!(found.json["items"][0]["marketing_consent"], true);
    assert_eq!(found.json["items"][0]["consent_source"], "import");
    assert_eq!(found.json["items"][0]["birthday"], "03-08");
}

async fn a_bad_row_after_thousands_of_good_ones_still_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    // More rows than one write batch (2,000), the bad one last.
    let mut csv = String::from("name,phone\n");
    for n in 0..4500 {
        csv.push_str(&format!("客户{n},1370{n:07}\n"));
    }
    csv.push_str("坏行,12\n");
    let refused = post_csv(
        &app,
        &owner,
        "/api/v1/imports/clients",
        "text/csv",
        csv.clone().into_bytes(),
    )
    .await;
    let report = &refused.problem(422)["report"];
    assert_eq!(report["rows"], 4501);
    assert_eq!(report["rejected"][0]["line"], 4502);
    assert_eq!(
        client_count(&app, &owner).await,
        0,
        "the batches written before the bad row were rolled back"
    );
    let partial = post_csv(
        &app,
        &owner,
        "/api/v1/imports/clients?partial=true",
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(partial.json["accepted"], 4500, "{}", partial.text);
    let found = app.get("/api/v1/clients?q=13700004499", &owner.token).await;
    assert_eq!(found.json["items"][0]["name"], "客户4499");
}

async fn header_problems_are_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let missing = post_csv(
        &app,
        &owner,
        "/api/v1/imports/clients",
        "text/csv",
        b"phone\n13700000001\n".to_vec(),
    )
    .await;
    assert_eq!(missing.invalid_fields(), ["file"]);
    assert!(missing.text.contains("name"), "{}", missing.text);
    let unknown = post_csv(
        &app,
        &owner,
        "/api/v1/imports/clients",
        "text/csv",
        b"name,favourite_colour\nA,red\n".to_vec(),
    )
    .await;
    assert!(unknown.problem(422)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("favourite_colour"));
    let json_body = app
        .post("/api/v1/imports/clients", &owner.token, &json!({ "name": "A" }))
        .await;
    json_body.problem(415);
}

async fn gb18030_files_from_excel_import(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let text = "name,phone,tags,notes\n张三丰,13712345678,VIP;敏感肌,喜欢安静\n李小龙,13712340000,新客,\n";
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test file really is GB18030, not UTF-8"
    );
    for content_type in ["text/csv", "text/csv; charset=GB18030"] {
        let app_owner = if content_type == "text/csv" {
            owner.clone()
        } else {
            app.signup("Second").await
        };
        let response = post_csv(
            &app,
            &app_owner,
            "/api/v1/imports/clients",
            content_type,
            bytes.to_vec(),
        )
        .await;
        assert_eq!(response.status, 200, "{content_type}: {}", response.text);
        assert_eq!(response.json["accepted"], 2);
        let found = app.get("/api/v1/clients?q=zsf", &app_owner.token).await;
        assert_eq!(found.json["items"][0]["name"], "张三丰");
        assert_eq!(found.json["items"][0]["tags"], json!(["VIP", "敏感肌"]));
        assert_eq!(found.json["items"][0]["notes"], "喜欢安静");
    }
    // A UTF-8 file with a byte-order mark, as Excel's "CSV UTF-8" saves it.
    let third = app.signup("Third").await;
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice("name,phone\n王五,13700000005\n".as_bytes());
    let response = post_csv(&app, &third, "/api/v1/imports/clients", "text/csv", bom).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.get("/api/v1/clients?q=ww", &third.token).await.json["items"][0]["name"],
        "王五"
    );
}

async fn visits_import_by_phone_and_update_aggregates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "张三", "phone": "13700000001" }),
        )
        .await;
    let client_id = client.json["id"].as_str().unwrap();
    let good = format!(
        "phone,store_id,completed_at,description,amount_cents,payment_method\n\
         13700000001,{store},2025-06-01 14:30,补水,29800,wechat_pay\n\
         +86 137 0000 0001,{store},2025-09-01T10:00:00+08:00,眼部,12000,cash\n"
    );
    let bad = format!("{good}13799999999,{store},2025-09-02 10:00,x,100,cash\n");
    let refused = post_csv(&app, &owner, "/api/v1/imports/visits", "text/csv", bad.into_bytes()).await;
    let report = &refused.problem(422)["report"];
    assert_eq!(report["rejected"][0]["line"], 4);
    assert_eq!(report["rejected"][0]["code"], "unknown_client");
    let untouched = app.get(&format!("/api/v1/clients/{client_id}"), &owner.token).await;
    assert_eq!(untouched.json["visit_count"], 0);

    let imported = post_csv(&app, &owner, "/api/v1/imports/visits", "text/csv", good.into_bytes()).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.json["accepted"], 2);
    let client = app.get(&format!("/api/v1/clients/{client_id}"), &owner.token).await;
    assert_eq!(client.json["visit_count"], 2);
    assert_eq!(client.json["total_spent_cents"], 41800);
    assert_eq!(
        client.json["first_visit_at"], "2025-06-01T06:30:00Z",
        "spreadsheet times are the store's local time"
    );
    assert_eq!(client.json["last_visit_at"], "2025-09-01T02:00:00Z");
    let visits = app
        .get(&format!("/api/v1/visits?client_id={client_id}"), &owner.token)
        .await;
    assert_eq!(visits.json["items"].as_array().unwrap().len(), 2);
}

both_backends!(
    a_file_with_a_bad_row_writes_nothing,
    a_bad_row_after_thousands_of_good_ones_still_writes_nothing,
    header_problems_are_reported,
    gb18030_files_from_excel_import,
    visits_import_by_phone_and_update_aggregates,
);
