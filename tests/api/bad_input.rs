//! Bad input answers problem+json 4xx naming what is wrong, and writes nothing.

use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::json;

async fn store_count(app: &TestApp, owner: &Session) -> usize {
    app.get("/api/v1/stores", &owner.token).await.json["items"]
        .as_array()
        .map_or(0, Vec::len)
}

fn raw_post(app: &TestApp, owner: &Session, path: &str) -> reqwest::RequestBuilder {
    app.client().post(app.url(path)).bearer_auth(&owner.token)
}

async fn malformed_json_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    for body in [r#"{"name": "#, "not json", r#"{"name": "A"} {"name": "B"}"#, ""] {
        let response = app
            .send(
                raw_post(&app, &owner, "/api/v1/stores")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(response.problem(400)["code"], "malformed_json", "{body:?}");
    }
    assert_eq!(store_count(&app, &owner).await, 0);
}

async fn wrong_types_and_unknown_fields_name_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let wrong_type = app.post("/api/v1/stores", &owner.token, &json!({ "name": 42 })).await;
    assert_eq!(wrong_type.invalid_fields(), ["name"]);
    assert_eq!(wrong_type.json["errors"][0]["code"], "invalid_type");
    let nested = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({ "name": "A", "quiet_hours": { "start": "21:00", "end": 9 } }),
        )
        .await;
    assert_eq!(nested.invalid_fields(), ["quiet_hours.end"]);
    let unknown = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({ "name": "A", "tenant_id": owner.tenant_id }),
        )
        .await;
    assert_eq!(unknown.json["errors"][0]["code"], "unknown_field", "{}", unknown.text);
    unknown.problem(422);
    let missing = app.post("/api/v1/stores", &owner.token, &json!({})).await;
    assert_eq!(missing.invalid_fields(), ["name"]);
    assert_eq!(missing.json["errors"][0]["code"], "required");
    let bad_query = app.get("/api/v1/stores?limit=many", &owner.token).await;
    assert_eq!(bad_query.invalid_fields(), ["limit"]);
    let unknown_query = app.get("/api/v1/stores?sort=name", &owner.token).await;
    unknown_query.problem(422);
    assert_eq!(store_count(&app, &owner).await, 0);
}

async fn invalid_values_list_every_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let response = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({ "name": "", "timezone": "Mars/Olympus_Mons", "phone": "call me", "quiet_hours": { "start": "25:00", "end": "09:00" } }),
        )
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["name", "phone", "quiet_hours", "timezone"]);
    assert_eq!(store_count(&app, &owner).await, 0);
}

async fn huge_bodies_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let ten_megabytes = format!(r#"{{"name": "{}"}}"#, "x".repeat(10 * 1024 * 1024));
    let response = app
        .send(
            raw_post(&app, &owner, "/api/v1/stores")
                .header("content-type", "application/json")
                .body(ten_megabytes),
        )
        .await;
    assert_eq!(response.problem(413)["code"], "payload_too_large");
    assert_eq!(store_count(&app, &owner).await, 0);
}

async fn wrong_content_type_is_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let form = app
        .send(raw_post(&app, &owner, "/api/v1/stores").form(&[("name", "A")]))
        .await;
    assert_eq!(form.problem(415)["code"], "unsupported_media_type");
    let none = app
        .send(raw_post(&app, &owner, "/api/v1/stores").body(r#"{"name":"A"}"#))
        .await;
    none.problem(415);
    assert_eq!(store_count(&app, &owner).await, 0);
}

async fn unknown_routes_and_ids_are_404_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    app.get("/api/v1/nothing-here", &owner.token).await.problem(404);
    app.get("/no/such/page", &owner.token).await.problem(404);
    app.get("/api/v1/stores/not-an-id", &owner.token).await.problem(404);
    app.get("/api/v1/stores/01900000-0000-7000-8000-000000000000", &owner.token)
        .await
        .problem(404);
    let wrong_method = app
        .request(reqwest::Method::PUT, "/api/v1/stores", Some(&owner.token), None)
        .await;
    assert!(wrong_method.status == 404 || wrong_method.status == 405);
    assert_eq!(wrong_method.content_type(), "application/problem+json");
}

async fn arrays_are_not_objects(backend: Backend) {
    // serde reads a struct from an array of its fields in order; the API takes objects only.
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let path = format!("/api/v1/stores/{store}");
    let renamed = app.patch(&path, &owner.token, &json!(["New name"])).await;
    assert_eq!(renamed.json["errors"][0]["code"], "invalid_type", "{}", renamed.text);
    renamed.problem(422);
    app.patch(&path, &owner.token, &json!([null, null])).await.problem(422);
    assert_eq!(app.get(&path, &owner.token).await.json["name"], "静安店");
    let nested = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({ "name": "A", "quiet_hours": ["21:00", "09:00"] }),
        )
        .await;
    assert_eq!(nested.invalid_fields(), ["quiet_hours"]);
    assert_eq!(store_count(&app, &owner).await, 1);
}

async fn a_known_path_with_another_method_is_405_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    for (method, path, allow) in [
        (reqwest::Method::PUT, "/api/v1/stores", "GET, POST"),
        (reqwest::Method::TRACE, "/healthz", "GET"),
        (
            reqwest::Method::GET,
            "/api/v1/stores/01900000-0000-7000-8000-000000000000/nothing",
            "",
        ),
        (reqwest::Method::POST, "/api/v1/me", "GET"),
    ] {
        let response = app.request(method.clone(), path, Some(&owner.token), None).await;
        if allow.is_empty() {
            response.problem(404);
            continue;
        }
        assert_eq!(response.problem(405)["code"], "method_not_allowed", "{method} {path}");
        let allowed = response.headers.get("allow").and_then(|v| v.to_str().ok());
        assert_eq!(allowed, Some(allow), "{method} {path}");
    }
}

async fn control_characters_in_query_filters_name_the_parameter(backend: Backend) {
    // Filters compared as they are in SQL: PostgreSQL refuses a NUL in text, which was a 500.
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    for (path, field) in [
        ("/api/v1/audit?action=read%00sensitive", "action"),
        ("/api/v1/audit?subject_id=a%00b", "subject_id"),
        ("/api/v1/services?category=%E9%9D%A2%00", "category"),
        ("/api/v1/clients?q=%E5%BC%A0%00&limit=5", "q"),
    ] {
        let response = app.get(path, &owner.token).await;
        assert_eq!(response.invalid_fields(), [field], "{path}");
        assert_eq!(response.json["errors"][0]["code"], "invalid_characters", "{path}");
    }
    assert_eq!(
        app.get("/api/v1/audit?action=read_sensitive", &owner.token)
            .await
            .status,
        200
    );
}

async fn control_characters_in_free_text_name_the_field(backend: Backend) {
    // Tags and a void's reason skipped the free-text checks; on PostgreSQL a NUL in the reason
    // was a 500, and tags kept control characters no filter could then name.
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let tagged = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "张三", "tags": ["vip\u{0}"] }),
        )
        .await;
    assert_eq!(tagged.invalid_fields(), ["tags"]);
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "张三", "tags": ["vip"] }),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let store = app.create_store(&owner, "静安店").await;
    let visit = app
        .post(
            "/api/v1/visits",
            &owner.token,
            &json!({
                "client_id": client.json["id"], "store_id": store, "payment_method": "cash",
                "completed_at": "2026-01-10T10:30:00+08:00",
                "lines": [{ "description": "护理", "amount_cents": 10000 }],
            }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let void = format!("/api/v1/visits/{}/void", visit.json["id"].as_str().unwrap());
    let refused = app.post(&void, &owner.token, &json!({ "reason": "a\u{0}b" })).await;
    assert_eq!(refused.invalid_fields(), ["reason"]);
    let voided = app.post(&void, &owner.token, &json!({ "reason": "  录错了  " })).await;
    assert_eq!(voided.json["void_reason"], "录错了", "{}", voided.text);
}

async fn a_birthday_with_wide_characters_is_422_not_500(backend: Backend) {
    // The birthday parser sliced by bytes: ten bytes with a four-byte character across the
    // year's end panicked (a 500).
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let birthday = "\u{0}\u{60dad}.<îg";
    let created = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "张三", "birthday": birthday }),
        )
        .await;
    assert_eq!(created.invalid_fields(), ["birthday"]);
    let client = app
        .post("/api/v1/clients", &owner.token, &json!({ "name": "张三" }))
        .await;
    let path = format!("/api/v1/clients/{}", client.json["id"].as_str().unwrap());
    for birthday in [birthday, "199九-03-08", "1990三-08"] {
        let patched = app.patch(&path, &owner.token, &json!({ "birthday": birthday })).await;
        assert_eq!(patched.invalid_fields(), ["birthday"], "{birthday:?}");
    }
}

both_backends!(
    malformed_json_is_400,
    wrong_types_and_unknown_fields_name_the_field,
    invalid_values_list_every_field,
    huge_bodies_are_refused,
    wrong_content_type_is_415,
    unknown_routes_and_ids_are_404_problems,
    arrays_are_not_objects,
    a_known_path_with_another_method_is_405_with_allow,
    control_characters_in_query_filters_name_the_parameter,
    control_characters_in_free_text_name_the_field,
    a_birthday_with_wide_characters_is_422_not_500,
);
