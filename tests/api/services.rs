//! The service catalog: create, validate, filter, change, remove.

use e2e::{both_backends, Backend, TestApp};
use serde_json::json;

async fn catalog_lifecycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let created = app
        .post(
            "/api/v1/services",
            &owner.token,
            &json!({ "name": "深层补水护理", "category": "面部护理", "duration_minutes": 60, "price_cents": 39800 }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["active"], true, "active unless said otherwise");
    let id = created.json["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/services/{id}");
    app.post(
        "/api/v1/services",
        &owner.token,
        &json!({ "name": "肩颈按摩", "category": "身体护理", "price_cents": 25800 }),
    )
    .await;

    let bad = app
        .post(
            "/api/v1/services",
            &owner.token,
            &json!({ "name": "", "duration_minutes": 0, "price_cents": -1 }),
        )
        .await;
    let mut fields = bad.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["duration_minutes", "name", "price_cents"]);

    let faces = app.get("/api/v1/services?category=面部护理", &owner.token).await;
    assert_eq!(faces.json["items"].as_array().unwrap().len(), 1);
    let patched = app
        .patch(
            &path,
            &owner.token,
            &json!({ "price_cents": 42800, "category": null, "active": false }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["price_cents"], 42800);
    assert_eq!(patched.json["category"], serde_json::Value::Null);
    assert_eq!(patched.json["duration_minutes"], 60);
    let active = app.get("/api/v1/services?active=true", &owner.token).await;
    let names: Vec<&str> = active.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["肩颈按摩"]);

    let store = app.create_store(&owner, "静安店").await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store)).await;
    assert_eq!(
        app.get(&path, &desk.token).await.status,
        200,
        "everyone reads the catalog"
    );
    app.post(
        "/api/v1/services",
        &desk.token,
        &json!({ "name": "x", "price_cents": 1 }),
    )
    .await
    .problem(403);

    assert_eq!(app.delete(&path, &owner.token).await.status, 204);
    app.get(&path, &owner.token).await.problem(404);
}

both_backends!(catalog_lifecycle);
