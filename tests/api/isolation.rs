//! The isolation walker: every operation in the OpenAPI document (so a new route is covered
//! the day it is added) is called on tenant A's ids, by two kinds of outsider:
//!
//! - **another tenant** (B's owner): every answer must be 404 or 403 where an id of A's is in
//!   the path, never a success that used A's id in the body, and no answer may contain
//!   anything of A's;
//! - **each store role of another store of the same tenant** (front desk, beautician and
//!   manager of store B): store A's clients, visits, complaints, messages and exports are out
//!   of reach (404/403 in the path, nothing in any answer), the chain's shared records (stores,
//!   staff, services, templates) may be read but not changed, and no sensitive field of any
//!   client (store A's, or a chain-wide client B's staff do see) appears anywhere.
//!
//! Bodies are built from the document's schemas with A's ids in every `*_id`; the CSV imports
//! get real files naming A's store, staff, service and client. Before and after, every
//! collection of A's (every list in the document, as A's owner) and A's records are read and
//! compared: nothing may have changed, whatever the answers said.

use e2e::{both_backends, Backend, Response, Session, TestApp};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Tenant A's records, by the collection a path or a `*_id` field names.
struct Victim {
    ids: BTreeMap<&'static str, String>,
    /// Everything of A's that must never appear in another tenant's answers.
    secrets: Vec<String>,
    /// What store A keeps from the chain's other stores (its clients, visits, complaints and
    /// messages), and every sensitive field of every client.
    store_secrets: Vec<String>,
    /// A client of the chain as a whole (no home store), with allergies: store B's staff see
    /// the client, never the allergies.
    chain_client: String,
    /// Store B's staff: front desk, beautician, manager.
    store_b_staff: Vec<(&'static str, Session)>,
}

/// The collections store A keeps to itself (and exports, which are HQ's).
const STORE_SCOPED: [&str; 5] = ["clients", "visits", "complaints", "messages", "exports"];

async fn victim(app: &TestApp) -> (Session, Victim) {
    let marker = uuid::Uuid::new_v4().simple().to_string();
    // Store A's own: never shown to store B's staff.
    let private = uuid::Uuid::new_v4().simple().to_string();
    let owner = app.signup(&format!("Tenant A {marker}")).await;
    let store = app
        .post(
            "/api/v1/stores",
            &owner.token,
            &json!({ "name": format!("A store {marker}"), "address": format!("A street {marker}") }),
        )
        .await;
    let store_id = store.json["id"].as_str().unwrap().to_owned();
    let store_b = app.create_store(&owner, "B store").await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store_id)).await;
    let mut store_b_staff = Vec::new();
    for role in ["front_desk", "beautician", "store_manager"] {
        store_b_staff.push((role, app.create_staff(&owner, role, Some(&store_b)).await));
    }
    let client = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({
                "name": format!("A client {private}"), "phone": "13700001111", "email": format!("a-{private}@example.com"),
                "home_store_id": store_id, "allergies": format!("A allergy {private}"), "birthday": "03-08",
            }),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let client_id = client.json["id"].as_str().unwrap().to_owned();
    let chain = app
        .post(
            "/api/v1/clients",
            &owner.token,
            &json!({ "name": "Chain client", "medical_notes": format!("chain notes {private}") }),
        )
        .await;
    assert_eq!(chain.status, 201, "{}", chain.text);
    let chain_client = chain.json["id"].as_str().unwrap().to_owned();
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
                "lines": [{ "service_id": service_id }], "payment_method": "alipay", "notes": format!("A note {private}"),
            }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let visit_id = visit.json["id"].as_str().unwrap().to_owned();
    let export = app
        .post(
            "/api/v1/exports",
            &owner.token,
            &json!({ "purpose": format!("A purpose {private}") }),
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
    // A complaint at store A, which writes alert messages to A's staff at once (the outbox).
    let complaint = app
        .post(
            "/api/v1/complaints",
            &owner.token,
            &json!({ "client_id": client_id, "summary": format!("A complaint {private}") }),
        )
        .await;
    assert_eq!(complaint.status, 201, "{}", complaint.text);
    let complaint_id = complaint.json["id"].as_str().unwrap().to_owned();
    let messages = app.get("/api/v1/messages?kind=complaint_alert", &owner.token).await;
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
    let store_secrets = vec![
        complaint_id.clone(),
        message_id.clone(),
        export_id.clone(),
        client_id.clone(),
        visit_id.clone(),
        "+8613700001111".to_owned(),
        private.clone(),
    ];
    let mut secrets = vec![
        template_id,
        service_id,
        marker,
        owner.tenant_id.clone(),
        owner.staff_id.clone(),
        owner.email.clone(),
        store_id,
        store_b,
        chain_client.clone(),
        desk.staff_id.clone(),
        desk.email.clone(),
    ];
    secrets.extend(store_secrets.iter().cloned());
    (
        owner,
        Victim {
            ids,
            secrets,
            store_secrets,
            chain_client,
            store_b_staff,
        },
    )
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

/// A real CSV for an import route, naming A's store, staff, service and client.
fn csv_body(path: &str, victim: &Victim) -> String {
    match path {
        "/api/v1/imports/clients" => format!(
            "name,phone,home_store_id,consultant_id,allergies\nWalker client,13700002222,{},{},walker allergy\n",
            victim.ids["stores"], victim.ids["staff"]
        ),
        "/api/v1/imports/visits" => format!(
            "phone,store_id,staff_id,service_id,completed_at,amount_cents,payment_method\n\
             13700001111,{},{},{},2026-01-03T10:00:00+08:00,100,cash\n",
            victim.ids["stores"], victim.ids["staff"], victim.ids["services"]
        ),
        other => panic!("the isolation walker has no CSV for {other}: write one in `csv_body()`"),
    }
}

/// Who walks, and what they must not see or do.
struct Outsider<'a> {
    label: String,
    email: &'a str,
    password: &'a str,
    /// Of tenant A itself (a store role of store B): A's shared records may be read.
    same_tenant: bool,
    secrets: &'a [String],
}

/// Calls every operation of the document as `who`, with A's ids; returns how many operations
/// were called and how many carried A's ids.
async fn walk(app: &TestApp, document: &Value, a: &Victim, who: &Outsider<'_>) -> (usize, usize) {
    let mut walked = 0;
    let mut with_victim_ids = 0;
    let mut session: Option<String> = None;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // A session, again after an operation that may have ended it (logout).
            if session.is_none() {
                let login = app.login(who.email, who.password).await;
                let token = login.json["token"].as_str();
                session = Some(
                    token
                        .unwrap_or_else(|| panic!("{}: {}", who.label, login.text))
                        .to_owned(),
                );
            }
            let token = session.clone().unwrap_or_default();
            let token = token.as_str();
            let mut uses_victim = false;
            let mut path_collection = None;
            let mut concrete = path.clone();
            let segments: Vec<&str> = path.split('/').collect();
            for (index, segment) in segments.iter().enumerate() {
                // Not a record's id: `/api/v1/inbound/sms/{provider}` names an SMS provider (its
                // webhooks take no tenant credential at all, tests/api/unsubscribe.rs), and a
                // password link's token is a credential of its own (tests/api/invitations.rs).
                if *segment == "{provider}" {
                    concrete = concrete.replace(segment, "twilio");
                    continue;
                }
                if *segment == "{token}" {
                    concrete = concrete.replace(segment, "AAAAAAAAAAAAAAAAAAAAAA");
                    continue;
                }
                if segment.starts_with('{') {
                    uses_victim = true;
                    path_collection = Some(segments[index - 1]);
                    let id = id_for(a, segments[index - 1]);
                    concrete = concrete.replace(segment, &id);
                }
            }
            // Filters naming A's records (`?client_id=`) must find nothing of A's.
            let mut query = Vec::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                if parameter["in"] == "query" {
                    if let Some(id_of) = name.strip_suffix("_id") {
                        query.push(format!("{name}={}", id_for(a, id_of)));
                    }
                }
            }
            if !query.is_empty() {
                concrete = format!("{concrete}?{}", query.join("&"));
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let content = &operation["requestBody"]["content"];
            let (response, body_text) = if content["text/csv"].is_object() {
                uses_victim = true;
                let csv = csv_body(path, a);
                let request = app
                    .client()
                    .request(method.clone(), app.url(&concrete))
                    .bearer_auth(token)
                    .header("content-type", "text/csv")
                    .body(csv.clone());
                (app.send(request).await, csv)
            } else {
                let body = content["application/json"]["schema"]
                    .as_object()
                    .map(|schema| sample(document, &Value::Object(schema.clone()), "", a, &mut uses_victim));
                let response = app.request(method.clone(), &concrete, Some(token), body.as_ref()).await;
                (response, body.map(|b| b.to_string()).unwrap_or_default())
            };
            let call = format!("{}: {method} {concrete} {body_text}", who.label);
            judge(&call, &method, path_collection, uses_victim, who, &response);
            if response.status == 401 || path.starts_with("/api/v1/sessions") || path.starts_with("/api/v1/me/") {
                session = None;
            }
            walked += 1;
            with_victim_ids += usize::from(uses_victim);
        }
    }
    (walked, with_victim_ids)
}

/// One answer, by the rules in the module docs.
fn judge(
    call: &str,
    method: &Method,
    path_collection: Option<&str>,
    uses_victim: bool,
    who: &Outsider<'_>,
    response: &Response,
) {
    let shared_read =
        who.same_tenant && *method == Method::GET && path_collection.is_some_and(|c| !STORE_SCOPED.contains(&c));
    if path_collection.is_some() && !shared_read {
        assert!(
            response.status == 404 || response.status == 403,
            "{call} answered {}: {}",
            response.status,
            response.text
        );
    } else if uses_victim && (!who.same_tenant || *method != Method::GET) {
        assert!(
            (400..500).contains(&response.status),
            "{call} accepted the victim's ids: {} {}",
            response.status,
            response.text
        );
    }
    for secret in who.secrets {
        assert!(
            !response.text.contains(secret.as_str()),
            "{call} leaked {secret:?}: {}",
            response.text
        );
    }
}

/// Every collection of A's (each list of the document, every page) and A's own records, as A's
/// owner sees them. The owner's reads of sensitive fields (the records here) are audited: those
/// audit entries are left out of the comparison.
async fn snapshot(app: &TestApp, document: &Value, owner: &Session, a: &Victim) -> BTreeMap<String, Value> {
    let mut seen = BTreeMap::new();
    for (collection, id) in &a.ids {
        let record = app.get(&format!("/api/v1/{collection}/{id}"), &owner.token).await;
        assert_eq!(record.status, 200, "{collection}/{id}: {}", record.text);
        seen.insert(format!("{collection}/{id}"), record.json);
    }
    let chain = app
        .get(&format!("/api/v1/clients/{}", a.chain_client), &owner.token)
        .await;
    seen.insert("clients/chain".into(), chain.json);
    for (path, item) in document["paths"].as_object().unwrap() {
        if path.contains('{') || !path.starts_with("/api/v1/") || item["get"].is_null() {
            continue;
        }
        let takes_limit = item["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "limit");
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let url = if takes_limit {
                format!("{path}?limit=200{cursor}")
            } else {
                path.clone()
            };
            let page = app.get(&url, &owner.token).await;
            if page.status != 200 {
                // Needs parameters the walker does not invent (a report's dates).
                break;
            }
            match page.json["items"].as_array() {
                Some(page_items) if takes_limit => {
                    items.extend(page_items.iter().cloned());
                    match page.json["next_cursor"].as_str() {
                        Some(next) => cursor = format!("&cursor={next}"),
                        None => break,
                    }
                }
                _ => {
                    items.push(page.json);
                    break;
                }
            }
        }
        if path == "/api/v1/audit" {
            // The owner's own reads for this comparison are audited; nothing else may appear.
            items
                .retain(|entry| !(entry["action"] == "read_sensitive" && entry["actor_id"] == owner.staff_id.as_str()));
        }
        seen.insert(path.clone(), Value::Array(items));
    }
    assert!(
        seen.len() >= 20,
        "only {} collections and records read: {:?}",
        seen.len(),
        seen.keys()
    );
    seen
}

async fn outsiders_see_and_change_nothing_of_a(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a_owner, a) = victim(&app).await;
    let b_owner = app.signup("Tenant B").await;
    let document = app.request(Method::GET, "/api/openapi.json", None, None).await.json;
    let before = snapshot(&app, &document, &a_owner, &a).await;

    let (walked, with_victim_ids) = walk(
        &app,
        &document,
        &a,
        &Outsider {
            label: "tenant B".into(),
            email: &b_owner.email,
            password: &b_owner.password,
            same_tenant: false,
            secrets: &a.secrets,
        },
    )
    .await;
    assert!(walked >= 18, "the walker saw only {walked} operations");
    assert!(
        with_victim_ids >= 7,
        "only {with_victim_ids} operations carried A's ids"
    );

    for (role, member) in &a.store_b_staff {
        walk(
            &app,
            &document,
            &a,
            &Outsider {
                label: format!("store B's {role}"),
                email: &member.email,
                password: &member.password,
                same_tenant: true,
                secrets: &a.store_secrets,
            },
        )
        .await;
        // The chain-wide client is theirs to see, never their medical notes.
        let chain = app
            .get(&format!("/api/v1/clients/{}", a.chain_client), &member.token)
            .await;
        assert_eq!(chain.status, 200, "{role}: {}", chain.text);
        assert!(chain.json.get("sensitive").is_none(), "{role}: {}", chain.text);
    }

    // Nothing of A's changed, whatever the answers said.
    let after = snapshot(&app, &document, &a_owner, &a).await;
    for (what, was) in &before {
        assert_eq!(after.get(what), Some(was), "{what} changed");
    }
    assert_eq!(after.len(), before.len());
}

both_backends!(outsiders_see_and_change_nothing_of_a);
