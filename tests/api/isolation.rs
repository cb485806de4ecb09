//! The isolation walker: every operation in the OpenAPI document (so a new route is covered
//! the day it is added) is called with tenant B's credential on tenant A's ids. Every answer
//! must be 404 or 403 where an id of A's is in the path, never a success that used A's id in
//! the body, and no answer may contain anything of A's. A's records must be unchanged after.

use e2e::{both_backends, Backend, Session, TestApp};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Tenant A's records, by the collection a path or a `*_id` field names.
struct Victim {
    ids: BTreeMap<&'static str, String>,
    /// Everything of A's that must never appear in B's answers.
    secrets: Vec<String>,
}

async fn victim(app: &TestApp) -> (Session, Victim) {
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let owner = app.signup(&format!("Tenant A {marker}")).await;
    let store = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({ "name": format!("A store {marker}"), "address": format!("A street {marker}") }),
        )
        .await;
    let store_id = store.json["id"].as_str().unwrap().to_owned();
    let desk = app.create_staff(&owner, "front_desk", Some(&store_id)).await;
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({
                "name": format!("A client {marker}"), "phone": "13700001111", "email": format!("a-{marker}@example.com"),
                "home_store_id": store_id, "allergies": format!("A allergy {marker}"), "birthday": "03-08",
            }),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let client_id = client.json["id"].as_str().unwrap().to_owned();
    let service = app
        .post(
            "/api/v1/services",
            &owner.token,
            &json!({ "name": format!("A service {marker}"), "price_cents": 12345 }),
        )
        .await;
    let service_id = service.json["id"].as_str().unwrap().to_owned();
    let visit = app
        .post(
            "/api/v1/visits",
            &owner.token,
            &json!({
                "client_id": client_id, "store_id": store_id, "completed_at": "2026-01-02T03:04:05Z",
                "lines": [{ "service_id": service_id }], "payment_method": "alipay", "notes": format!("A note {marker}"),
            }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let visit_id = visit.json["id"].as_str().unwrap().to_owned();
    let export = app
        .post(
            "/api/v1/exports",
            &owner.token,
            &json!({ "purpose": format!("A purpose {marker}") }),
        )
        .await;
    assert_eq!(export.status, 201, "{}", export.text);
    let export_id = export.json["id"].as_str().unwrap().to_owned();
    // Message templates (tests/api/templates.rs): one of A's own, its text marked.
    let template = app
        .post(
            "/api/v1/templates",
            &owner.token,
            &json!({
                "kind": "birthday", "channel": "sms", "locale": "zh-CN",
                "body": format!("{{{{ client_name }}}} A template {marker}"),
            }),
        )
        .await;
    assert_eq!(template.status, 201, "{}", template.text);
    let template_id = template.json["id"].as_str().unwrap().to_owned();
    // A complaint, which writes alert messages to A's staff at once (the outbox).
    let complaint = app
        .post(
            "/api/v1/complaints",
            &owner.token,
            &json!({ "client_id": client_id, "summary": format!("A complaint {marker}") }),
        )
        .await;
    assert_eq!(complaint.status, 201, "{}", complaint.text);
    let complaint_id = complaint.json["id"].as_str().unwrap().to_owned();
    let messages = app.get("/api/v1/messages", &owner.token).await;
    let message_id = messages.json["items"][0]["id"]
        .as_str()
        .expect("an alert in A's outbox")
        .to_owned();
    let ids = BTreeMap::from([
        ("complaints", complaint_id.clone()),
        ("messages", message_id.clone()),
        ("exports", export_id.clone()),
        ("stores", store_id.clone()),
        ("staff", desk.staff_id.clone()),
        ("clients", client_id.clone()),
        ("services", service_id.clone()),
        ("visits", visit_id.clone()),
        ("templates", template_id.clone()),
    ]);
    let secrets = vec![
        complaint_id,
        message_id,
        template_id,
        export_id,
        client_id,
        service_id,
        visit_id,
        "+8613700001111".to_owned(),
        marker,
        owner.tenant_id.clone(),
        owner.staff_id.clone(),
        owner.email.clone(),
        store_id,
        desk.staff_id.clone(),
        desk.email.clone(),
    ];
    (owner, Victim { ids, secrets })
}

/// The id of A's for a path like `/api/v1/stores/{id}` or a field like `store_id`.
fn id_for(victim: &Victim, collection: &str) -> String {
    let key = match collection {
        "stores" | "store" | "home_store" => "stores",
        "staff" | "consultant" | "assignee" => "staff",
        // `GET /audit?subject_id=`: the record acted on, a client for instance.
        "clients" | "client" | "referrer" | "subject" => "clients",
        "services" | "service" => "services",
        "visits" | "visit" => "visits",
        "exports" | "export" => "exports",
        "templates" | "template" => "templates",
        "complaints" | "complaint" => "complaints",
        "messages" | "message" => "messages",
        other => panic!(
            "the isolation walker has no record of tenant A for `{other}`: create one in `victim()` \
             so the new route is checked"
        ),
    };
    victim.ids[key].clone()
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A body that is valid enough to reach the tenant checks, with A's ids in every `*_id`.
fn sample(document: &Value, schema: &Value, name: &str, victim: &Victim, uses_victim: &mut bool) -> Value {
    let schema = resolve(document, schema);
    if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let chosen = options.iter().find(|o| o["type"] != "null").unwrap_or(&options[0]);
        return sample(document, chosen, name, victim, uses_victim);
    }
    if let Some(id_of) = name.strip_suffix("_id") {
        *uses_victim = true;
        return json!(id_for(victim, id_of));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if let Some(values) = schema["enum"].as_array() {
        let preferred = ["front_desk", "zh-CN"];
        return values
            .iter()
            .find(|v| preferred.contains(&v.as_str().unwrap_or("")))
            .unwrap_or(&values[0])
            .clone();
    }
    if types.contains(&"object") || schema["properties"].is_object() {
        let mut object = Map::new();
        for (property, property_schema) in schema["properties"].as_object().into_iter().flatten() {
            object.insert(
                property.clone(),
                sample(document, property_schema, property, victim, uses_victim),
            );
        }
        return Value::Object(object);
    }
    if types.contains(&"boolean") {
        return json!(true);
    }
    if types.contains(&"integer") || types.contains(&"number") {
        return json!(1);
    }
    if types.contains(&"array") {
        return json!([sample(document, &schema["items"], name, victim, uses_victim)]);
    }
    match name {
        "email" => json!(format!("walker-{}@example.com", uuid::Uuid::new_v4().simple())),
        "password" => json!("walker password 123"),
        "timezone" => json!("Asia/Shanghai"),
        "locale" => json!("zh-CN"),
        "country" => json!("CN"),
        "phone" => json!("021-1234 5678"),
        "start" => json!("21:00"),
        "completed_at" => json!("2026-01-03T10:00:00+08:00"),
        "birthday" => json!("05-20"),
        "end" => json!("09:00"),
        _ => schema.get("example").cloned().unwrap_or(json!("walker")),
    }
}

async fn another_tenant_sees_nothing_of_a(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a_owner, a) = victim(&app).await;
    let b_owner = app.signup("Tenant B").await;
    let before_store = app
        .get(&format!("/api/v1/stores/{}", a.ids["stores"]), &a_owner.token)
        .await;
    let before_staff = app
        .get(&format!("/api/v1/staff/{}", a.ids["staff"]), &a_owner.token)
        .await;

    let document = app.request(Method::GET, "/api/openapi.json", None, None).await.json;
    let mut walked = 0;
    let mut with_victim_ids = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // A fresh session of B's for each call: one of the operations is logout.
            let b = app.login(&b_owner.email, &b_owner.password).await.json["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut uses_victim = false;
            let mut concrete = path.clone();
            let segments: Vec<&str> = path.split('/').collect();
            for (index, segment) in segments.iter().enumerate() {
                // Not a record's id: `/api/v1/inbound/sms/{provider}` names an SMS provider, and
                // its webhooks take no tenant credential at all (tests/api/unsubscribe.rs).
                if *segment == "{provider}" {
                    concrete = concrete.replace(segment, "twilio");
                    continue;
                }
                if segment.starts_with('{') {
                    uses_victim = true;
                    let id = id_for(&a, segments[index - 1]);
                    concrete = concrete.replace(segment, &id);
                }
            }
            let in_path = uses_victim;
            // Filters naming A's records (`?client_id=`) must find nothing of A's.
            let mut query = Vec::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                if parameter["in"] == "query" {
                    if let Some(id_of) = name.strip_suffix("_id") {
                        query.push(format!("{name}={}", id_for(&a, id_of)));
                    }
                }
            }
            if !query.is_empty() {
                concrete = format!("{concrete}?{}", query.join("&"));
            }
            let body = operation["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|schema| sample(&document, &Value::Object(schema.clone()), "", &a, &mut uses_victim));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app.request(method.clone(), &concrete, Some(&b), body.as_ref()).await;
            let call = format!(
                "{method} {concrete} {}",
                body.map(|b| b.to_string()).unwrap_or_default()
            );

            if in_path {
                assert!(
                    response.status == 404 || response.status == 403,
                    "{call} answered {} to another tenant: {}",
                    response.status,
                    response.text
                );
            } else if uses_victim {
                assert!(
                    (400..500).contains(&response.status),
                    "{call} accepted another tenant's id: {} {}",
                    response.status,
                    response.text
                );
            }
            for secret in &a.secrets {
                assert!(
                    !response.text.contains(secret.as_str()),
                    "{call} leaked tenant A's {secret:?}: {}",
                    response.text
                );
            }
            walked += 1;
            with_victim_ids += usize::from(uses_victim);
        }
    }
    assert!(walked >= 18, "the walker saw only {walked} operations");
    assert!(
        with_victim_ids >= 7,
        "only {with_victim_ids} operations carried A's ids"
    );

    // Nothing of A's changed, whatever the answers said.
    let after_store = app
        .get(&format!("/api/v1/stores/{}", a.ids["stores"]), &a_owner.token)
        .await;
    let after_staff = app
        .get(&format!("/api/v1/staff/{}", a.ids["staff"]), &a_owner.token)
        .await;
    assert_eq!(after_store.json, before_store.json);
    assert_eq!(after_staff.json, before_staff.json);
}

both_backends!(another_tenant_sees_nothing_of_a);
