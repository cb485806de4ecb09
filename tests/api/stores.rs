//! Stores: create, read, list page by page, change, close.

use e2e::{both_backends, Backend, TestApp};
use serde_json::json;

async fn store_lifecycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let created = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({
                "name": "  Covent Garden  ",
                "timezone": "Europe/London",
                "address": "1 Long Acre, London",
                "phone": "+44 20 7946 0000",
                "quiet_hours": { "start": "20:00", "end": "08:30" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], format!("/api/v1/stores/{id}").as_str());
    assert_eq!(created.json["name"], "Covent Garden", "names are trimmed");
    assert_eq!(created.json["timezone"], "Europe/London");
    assert_eq!(created.json["quiet_hours"], json!({ "start": "20:00", "end": "08:30" }));

    let path = format!("/api/v1/stores/{id}");
    let fetched = app.get(&path, &owner.token).await;
    assert_eq!(fetched.json, created.json);

    // Absent fields stay, null clears.
    let patched = app
        .patch(
            &path,
            &owner.token,
            &json!({ "name": "Covent Garden Flagship", "quiet_hours": null }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["name"], "Covent Garden Flagship");
    assert_eq!(patched.json["address"], "1 Long Acre, London");
    assert_eq!(patched.json["quiet_hours"], serde_json::Value::Null);
    let bad_zone = app.patch(&path, &owner.token, &json!({ "timezone": "London" })).await;
    assert_eq!(bad_zone.invalid_fields(), ["timezone"]);

    let closed = app.delete(&path, &owner.token).await;
    assert_eq!(closed.status, 204, "{}", closed.text);
    app.get(&path, &owner.token).await.problem(404);
    app.patch(&path, &owner.token, &json!({ "name": "x" }))
        .await
        .problem(404);
    app.delete(&path, &owner.token).await.problem(404);
    let list = app.get("/api/v1/stores", &owner.token).await;
    assert_eq!(list.json["items"], json!([]));
}

async fn stores_page_by_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.create_store(&owner, &format!("Store {n}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/stores?limit=2&cursor={c}"),
            None => "/api/v1/stores?limit=2".to_owned(),
        };
        let page = app.get(&path, &owner.token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.json["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created, "every store once, in creation order");
    let too_many = app.get("/api/v1/stores?limit=1000", &owner.token).await;
    assert_eq!(too_many.invalid_fields(), ["limit"]);
    let bad_cursor = app.get("/api/v1/stores?cursor=zzz", &owner.token).await;
    assert_eq!(bad_cursor.invalid_fields(), ["cursor"]);
}

async fn a_store_with_staff_cannot_close(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store)).await;
    let refused = app.delete(&format!("/api/v1/stores/{store}"), &owner.token).await;
    assert_eq!(refused.problem(409)["code"], "store_has_staff");
    app.delete(&format!("/api/v1/staff/{}", desk.staff_id), &owner.token)
        .await;
    assert_eq!(
        app.delete(&format!("/api/v1/stores/{store}"), &owner.token)
            .await
            .status,
        204
    );
}

async fn staff_list_filters_by_store_and_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let a = app.create_store(&owner, "A").await;
    let b = app.create_store(&owner, "B").await;
    let in_a = app.create_staff(&owner, "beautician", Some(&a)).await;
    app.create_staff(&owner, "front_desk", Some(&b)).await;
    let list = app.get(&format!("/api/v1/staff?store_id={a}"), &owner.token).await;
    let ids: Vec<_> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, [json!(in_a.staff_id)]);
    let owners = app.get("/api/v1/staff?role=owner", &owner.token).await;
    assert_eq!(owners.json["items"].as_array().unwrap().len(), 1);
    let bad = app.get("/api/v1/staff?role=janitor", &owner.token).await;
    assert_eq!(bad.invalid_fields(), ["role"]);
}

both_backends!(
    store_lifecycle,
    stores_page_by_cursor,
    a_store_with_staff_cannot_close,
    staff_list_filters_by_store_and_role,
);
