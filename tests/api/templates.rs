//! Message templates: the built-in set, a tenant's own replacing one, checks on save, roles,
//! changes with ETags, deletion bringing the built-in back, and isolation between tenants.

use e2e::{both_backends, Backend, Response, Session, TestApp};
use serde_json::{json, Value};

const KINDS: [&str; 5] = ["birthday", "survey", "complaint_alert", "escalation", "wake_up"];

async fn list(app: &TestApp, who: &Session, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/v1/templates{query}"), &who.token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json["items"].as_array().unwrap().clone()
}

fn find<'a>(items: &'a [Value], kind: &str, channel: &str, locale: &str) -> &'a Value {
    let matching: Vec<&Value> = items
        .iter()
        .filter(|t| t["kind"] == kind && t["channel"] == channel && t["locale"] == locale)
        .collect();
    assert_eq!(matching.len(), 1, "{kind} {channel} {locale} in {items:?}");
    matching[0]
}

/// The first field error of a 422, as (field, code, message).
fn field_error(response: &Response) -> (String, String, String) {
    let error = &response.problem(422)["errors"][0];
    (
        error["field"].as_str().unwrap_or_default().to_owned(),
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn builtins_for_every_kind_channel_and_locale(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("悦颜美容").await;
    let items = list(&app, &owner, "").await;
    assert_eq!(items.len(), 20, "5 kinds × 2 channels × 2 locales");
    for kind in KINDS {
        for channel in ["sms", "email"] {
            for locale in ["zh-CN", "en"] {
                let template = find(&items, kind, channel, locale);
                assert_eq!(template["builtin"], true, "{template}");
                assert_eq!(template["id"], Value::Null);
                assert!(
                    template["body"].as_str().unwrap().contains("{{ client_name }}"),
                    "{template}"
                );
                assert!(!template["placeholders"].as_array().unwrap().is_empty(), "{template}");
                if channel == "sms" {
                    assert_eq!(template["subject"], Value::Null);
                    let length = &template["length"];
                    let segments = length["segments"].as_u64().unwrap();
                    assert!((1..=2).contains(&segments), "{template}");
                    assert!(length["characters"].as_u64().unwrap() > 0);
                    let expected = if locale == "en" { "gsm7" } else { "ucs2" };
                    assert_eq!(length["encoding"], expected, "{template}");
                } else {
                    assert!(template["subject"].is_string(), "{template}");
                    assert_eq!(template["length"], Value::Null);
                }
            }
        }
    }
    let birthday = find(&items, "birthday", "sms", "zh-CN");
    assert!(birthday["placeholders"].as_array().unwrap().contains(&json!("offer")));
    let survey = find(&items, "survey", "email", "en");
    assert!(survey["placeholders"].as_array().unwrap().contains(&json!("link")));

    let filtered = list(&app, &owner, "?kind=survey&channel=sms").await;
    assert_eq!(filtered.len(), 2);
    assert_eq!(list(&app, &owner, "?locale=en").await.len(), 10);
    let bad = app
        .get("/api/v1/templates?locale=fr&kind=newsletter", &owner.token)
        .await;
    let mut fields = bad.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["kind", "locale"]);
}

async fn a_custom_template_replaces_the_builtin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("悦颜美容").await;
    let before = list(&app, &owner, "?kind=birthday&channel=sms&locale=zh-CN").await;
    let builtin_body = before[0]["body"].as_str().unwrap().to_owned();

    // 54 characters of text, two placeholders: with the signature, the sample values and the
    // opt-out footer (a marketing message) it needs a second UCS-2 part.
    let body = "{{ client_name }}，生日快乐！本月到{{ store_name }}可领取生日礼一份，另有会员专享折扣与精美小礼品，\
                欢迎您随时预约到店体验我们的新品护理项目。";
    let created = app
        .post(
            "/api/v1/templates",
            &owner.token,
            &json!({ "kind": "birthday", "channel": "sms", "locale": "zh-CN", "body": body }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.headers["location"].to_str().unwrap(),
        format!("/api/v1/templates/{id}")
    );
    assert_eq!(created.headers["etag"].to_str().unwrap(), "\"1\"");
    assert_eq!(created.json["builtin"], false);
    assert_eq!(created.json["version"], 1);
    assert_eq!(created.json["body"], body);
    assert_eq!(created.json["placeholders"], json!(["client_name", "store_name"]));
    assert_eq!(created.json["length"]["encoding"], "ucs2");
    assert_eq!(created.json["length"]["segments"], 2, "{}", created.text);

    let after = list(&app, &owner, "").await;
    assert_eq!(after.len(), 20);
    let mine = find(&after, "birthday", "sms", "zh-CN");
    assert_eq!(mine["id"], id.as_str());
    assert_eq!(mine["builtin"], false);
    assert_ne!(mine["body"], builtin_body.as_str());
    assert_eq!(mine["length"], created.json["length"]);
    // The other locale and channel keep their built-ins.
    assert_eq!(find(&after, "birthday", "sms", "en")["builtin"], true);
    assert_eq!(find(&after, "birthday", "email", "zh-CN")["builtin"], true);

    let read = app.get(&format!("/api/v1/templates/{id}"), &owner.token).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json, created.json);

    // An email template needs its subject.
    let email = app
        .post(
            "/api/v1/templates",
            &owner.token,
            &json!({
                "kind": "wake_up", "channel": "email", "locale": "en",
                "subject": "We miss you, {{ client_name }}",
                "body": "Dear {{ client_name }},\n\n{% if offer %}{{ offer }} is waiting for you.{% endif %}",
            }),
        )
        .await;
    assert_eq!(email.status, 201, "{}", email.text);
    assert_eq!(email.json["subject"], "We miss you, {{ client_name }}");
    assert_eq!(email.json["placeholders"], json!(["client_name", "offer"]));
    assert_eq!(email.json["length"], Value::Null);

    // A second one for the same kind, channel and locale is a conflict naming the first.
    let twin = app
        .post(
            "/api/v1/templates",
            &owner.token,
            &json!({ "kind": "birthday", "channel": "sms", "locale": "zh-CN", "body": "{{ client_name }}生日快乐" }),
        )
        .await;
    let problem = twin.problem(409);
    assert_eq!(problem["code"], "template_exists");
    assert_eq!(problem["existing_id"], id.as_str());
}

async fn bad_templates_are_refused_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Glow").await;
    let post = |body: Value| {
        let app = &app;
        let token = owner.token.clone();
        async move { app.post("/api/v1/templates", &token, &body).await }
    };

    let unknown = post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "Hi {{ client_name }}, use {{ coupon_code }}" })).await;
    let (field, code, message) = field_error(&unknown);
    assert_eq!((field.as_str(), code.as_str()), ("body", "unknown_placeholder"));
    assert!(message.contains("coupon_code"), "{message}");

    // Invisible characters: a NUL (which PostgreSQL refuses to store) anywhere, a line break in
    // a subject; a body keeps its line breaks.
    for (subject, body, bad) in [
        ("Hello\u{0}", "Hi {{ client_name }}", "subject"),
        ("Hello\nthere", "Hi {{ client_name }}", "subject"),
        ("Hello", "Hi {{ client_name }}\u{0}", "body"),
    ] {
        let refused =
            post(json!({ "kind": "wake_up", "channel": "email", "locale": "en", "subject": subject, "body": body }))
                .await;
        let (field, code, _) = field_error(&refused);
        assert_eq!(
            (field.as_str(), code.as_str()),
            (bad, "invalid_characters"),
            "{subject:?} {body:?}"
        );
    }
    let lines = post(json!({ "kind": "wake_up", "channel": "email", "locale": "en", "subject": "Hello", "body": "Hi {{ client_name }},\n\n\tsee you soon" })).await;
    assert_eq!(lines.status, 201, "{}", lines.text);
    let id = lines.json["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/templates/{id}"), &owner.token)
            .await
            .status,
        204
    );

    let in_subject = post(json!({ "kind": "birthday", "channel": "email", "locale": "en", "subject": "For {{ nickname }}", "body": "Hi {{ client_name }}" })).await;
    let (field, _, message) = field_error(&in_subject);
    assert_eq!(field, "subject");
    assert!(message.contains("nickname"), "{message}");

    let staff_only =
        post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "{{ complaint_summary }}" })).await;
    assert_eq!(field_error(&staff_only).0, "body");
    let staff = post(json!({ "kind": "escalation", "channel": "sms", "locale": "en", "body": "{{ staff_name }}: {{ client_name }} {{ complaint_summary }}" })).await;
    assert_eq!(staff.status, 201, "{}", staff.text);

    let syntax =
        post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "Hi {{ client_name " })).await;
    let (field, code, _) = field_error(&syntax);
    assert_eq!((field.as_str(), code.as_str()), ("body", "template_syntax"));
    let unclosed_if =
        post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "{% if offer %}{{ offer }}" }))
            .await;
    assert_eq!(field_error(&unclosed_if).0, "body");
    let filter =
        post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "{{ client_name | upper }}" }))
            .await;
    assert_eq!(field_error(&filter).1, "unsupported_syntax");

    let subject_on_sms = post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "subject": "Hi", "body": "Hi {{ client_name }}" })).await;
    assert_eq!(subject_on_sms.invalid_fields(), ["subject"]);
    let no_subject =
        post(json!({ "kind": "birthday", "channel": "email", "locale": "en", "body": "Hi {{ client_name }}" })).await;
    assert_eq!(no_subject.invalid_fields(), ["subject"]);
    let empty = post(json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "  " })).await;
    assert_eq!(field_error(&empty).0, "body");
    let long = post(
        json!({ "kind": "birthday", "channel": "email", "locale": "en", "subject": "Hi", "body": "a".repeat(2001) }),
    )
    .await;
    let (field, code, _) = field_error(&long);
    assert_eq!((field.as_str(), code.as_str()), ("body", "too_long"));
    let no_link = post(
        json!({ "kind": "survey", "channel": "sms", "locale": "zh-CN", "body": "{{ client_name }}，请评价本次服务" }),
    )
    .await;
    let (field, code, _) = field_error(&no_link);
    assert_eq!((field.as_str(), code.as_str()), ("body", "link_required"));
    let mut fields = post(json!({ "kind": "newsletter", "channel": "sms", "locale": "en", "body": "x" }))
        .await
        .invalid_fields();
    fields.sort();
    assert_eq!(fields, ["kind"]);
    let mut fields =
        post(json!({ "kind": "birthday", "channel": "fax", "locale": "fr", "subject": "x", "body": "{{ x }}" }))
            .await
            .invalid_fields();
    fields.sort();
    assert_eq!(fields, ["channel"], "the body's shape is checked first");
    let mut fields =
        post(json!({ "kind": "birthday", "channel": "sms", "locale": "fr", "subject": "x", "body": "{{ x }}" }))
            .await
            .invalid_fields();
    fields.sort();
    assert_eq!(fields, ["body", "locale", "subject"], "every bad field at once");

    // Nothing was saved by the refused requests.
    let saved: Vec<Value> = list(&app, &owner, "")
        .await
        .into_iter()
        .filter(|t| t["builtin"] == false)
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
}

async fn the_front_desk_reads_but_does_not_write(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("悦颜美容").await;
    let store = app.create_store(&owner, "静安店").await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store)).await;
    let manager = app.create_staff(&owner, "hq_manager", None).await;

    assert_eq!(list(&app, &desk, "").await.len(), 20);
    let body = json!({ "kind": "wake_up", "channel": "sms", "locale": "zh-CN", "body": "{{ client_name }}，好久不见" });
    app.post("/api/v1/templates", &desk.token, &body).await.problem(403);
    let created = app.post("/api/v1/templates", &manager.token, &body).await;
    assert_eq!(created.status, 201, "an HQ manager edits templates: {}", created.text);
    let path = format!("/api/v1/templates/{}", created.json["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &desk.token).await.status, 200);
    app.patch(&path, &desk.token, &json!({ "body": "x {{ client_name }}" }))
        .await
        .problem(403);
    app.delete(&path, &desk.token).await.problem(403);
    assert_eq!(app.get(&path, &owner.token).await.json["version"], 1, "unchanged");
}

async fn change_and_delete_bring_the_builtin_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Glow").await;
    let created = app
        .post(
            "/api/v1/templates",
            &owner.token,
            &json!({ "kind": "survey", "channel": "email", "locale": "en", "subject": "Your visit", "body": "Rate us: {{ link }}" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/api/v1/templates/{}", created.json["id"].as_str().unwrap());

    let patched = app
        .patch(
            &path,
            &owner.token,
            &json!({ "body": "Hi {{ client_name }}, rate your visit: {{ link }}" }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["version"], 2);
    assert_eq!(patched.json["subject"], "Your visit", "absent fields stay");
    assert_eq!(patched.json["placeholders"], json!(["client_name", "link"]));
    assert_eq!(patched.headers["etag"].to_str().unwrap(), "\"2\"");

    // A stale ETag is refused; the current one works.
    let with_etag = |etag: &str, body: Value| {
        app.client()
            .patch(app.url(&path))
            .bearer_auth(&owner.token)
            .header("If-Match", etag)
            .json(&body)
    };
    let stale = app.send(with_etag("\"1\"", json!({ "subject": "Old" }))).await;
    stale.problem(412);
    let fresh = app
        .send(with_etag("\"2\"", json!({ "subject": "How was {{ store_name }}?" })))
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(fresh.json["version"], 3);

    // The same checks as on creation.
    let bad = app
        .patch(&path, &owner.token, &json!({ "body": "{{ vip_level }} {{ link }}" }))
        .await;
    let (field, _, message) = field_error(&bad);
    assert_eq!(field, "body");
    assert!(message.contains("vip_level"), "{message}");
    let no_link = app.patch(&path, &owner.token, &json!({ "body": "Rate us" })).await;
    assert_eq!(no_link.invalid_fields(), ["body"]);
    let cleared = app.patch(&path, &owner.token, &json!({ "subject": null })).await;
    assert_eq!(cleared.invalid_fields(), ["subject"], "an email keeps its subject");
    assert_eq!(
        app.get(&path, &owner.token).await.json["version"],
        3,
        "refused changes wrote nothing"
    );

    assert_eq!(app.delete(&path, &owner.token).await.status, 204);
    app.get(&path, &owner.token).await.problem(404);
    app.delete(&path, &owner.token).await.problem(404);
    let items = list(&app, &owner, "?kind=survey&channel=email&locale=en").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["builtin"], true, "the built-in applies again");
    assert_eq!(items[0]["id"], Value::Null);

    // And a new one can be saved again.
    let again = app
        .post(
            "/api/v1/templates",
            &owner.token,
            &json!({ "kind": "survey", "channel": "email", "locale": "en", "subject": "Your visit", "body": "{{ link }}" }),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
}

async fn another_tenants_template_is_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.signup("Chain A").await;
    let b = app.signup("Chain B").await;
    let created = app
        .post(
            "/api/v1/templates",
            &a.token,
            &json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "Happy birthday {{ client_name }} from A" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/api/v1/templates/{}", created.json["id"].as_str().unwrap());
    app.get(&path, &b.token).await.problem(404);
    app.patch(&path, &b.token, &json!({ "body": "{{ client_name }} hacked" }))
        .await
        .problem(404);
    app.delete(&path, &b.token).await.problem(404);
    app.get("/api/v1/templates/not-an-id", &b.token).await.problem(404);
    // B sees its own (built-in) set, and may save the same kind/channel/locale.
    let mine = list(&app, &b, "?kind=birthday&channel=sms&locale=en").await;
    assert_eq!(mine[0]["builtin"], true);
    let own = app
        .post(
            "/api/v1/templates",
            &b.token,
            &json!({ "kind": "birthday", "channel": "sms", "locale": "en", "body": "Happy birthday {{ client_name }} from B" }),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.text);
    // A's is untouched.
    let read = app.get(&path, &a.token).await;
    assert_eq!(read.json["body"], "Happy birthday {{ client_name }} from A");
    assert_eq!(read.json["version"], 1);
}

both_backends!(
    builtins_for_every_kind_channel_and_locale,
    a_custom_template_replaces_the_builtin,
    bad_templates_are_refused_naming_the_field,
    the_front_desk_reads_but_does_not_write,
    change_and_delete_bring_the_builtin_back,
    another_tenants_template_is_not_found,
);
