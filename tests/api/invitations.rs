//! Item 2 of issue 13: staff accounts cannot be taken over by whoever creates them. Staff are
//! invited by email (`POST /staff` without a password) and choose their password on the page
//! the link opens; resets work the same way; an owner may still set a first password (a salon
//! without email), and the member must choose their own before anything else; nobody sets
//! another member's password.

use crate::outreach::Salon;
use chrono::{Duration, Utc};
use e2e::{both_backends, Backend, Response, TestApp};
use serde_json::json;

fn soon() -> String {
    (Utc::now() + Duration::seconds(5)).to_rfc3339()
}

/// The `/app/password/TOKEN` path in a mail's text.
fn password_path(text: &str) -> String {
    let start = text
        .find("/app/password/")
        .unwrap_or_else(|| panic!("no password link in {text}"));
    let path: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/_-".contains(*c))
        .collect();
    assert!(path.len() > "/app/password/".len() + 20, "{text}");
    path
}

async fn page(app: &TestApp, path: &str, language: &str) -> Response {
    app.send(app.client().get(app.url(path)).header("accept-language", language))
        .await
}

async fn post_page(app: &TestApp, path: &str, origin: &str, password: &str, confirm: &str) -> Response {
    let form = [("password", password), ("password_confirm", confirm)];
    app.send(app.client().post(app.url(path)).header("origin", origin).form(&form))
        .await
}

fn assert_html(response: &Response, status: u16) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.content_type(), "text/html; charset=utf-8", "{}", response.text);
    let csp = response
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!response.text.contains("<script"), "{}", response.text);
}

async fn staff_are_invited_by_email_and_choose_their_own_password(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let (app, owner) = (&salon.app, &salon.owner);
    let email = format!("invited-{}@example.com", uuid::Uuid::new_v4().simple());
    let invited = app
        .post(
            "/api/v1/staff",
            &owner.token,
            &json!({ "name": "王芳", "email": email, "role": "front_desk", "store_id": salon.store }),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert_eq!(invited.json["password_state"], "invited", "{}", invited.text);
    // No password yet: nothing logs in.
    app.login(&email, e2e::PASSWORD).await.problem(401);
    app.login(&email, "").await.problem(401);

    // The invitation waits in the outbox with its link's place; the worker sends it by email.
    let outbox = app.get("/api/v1/messages?kind=staff_invitation", &owner.token).await;
    assert_eq!(outbox.json["items"].as_array().unwrap().len(), 1, "{}", outbox.text);
    assert_eq!(outbox.json["items"][0]["recipient"], email.as_str());
    assert!(outbox.text.contains("/app/password/{token}"), "{}", outbox.text);
    let report = salon.tick(&soon()).await;
    assert_eq!(report["delivery"]["sent"], 1, "{report}");
    let mail = salon.smtp.received();
    assert_eq!(mail[0].rcpt_to, vec![email.clone()]);
    let text = mail[0].text().unwrap();
    assert!(text.contains("王芳"), "{text}");
    let path = password_path(&text);
    assert!(text.contains(&format!("{}{path}", app.base)), "{text}");
    let token = path.trim_start_matches("/app/password/");
    assert_eq!(
        app.stored_text_containing(&[token]).await,
        Vec::<String>::new(),
        "the token is stored only as its hash"
    );

    // The page, in the salon's language.
    let shown = page(app, &path, "en").await;
    assert_html(&shown, 200);
    assert!(shown.text.contains("<html lang=\"zh-CN\">"), "{}", shown.text);
    assert!(
        shown.text.contains("王芳") && shown.text.contains("悦颜美容"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("name=\"password\""), "{}", shown.text);
    // A form posted from elsewhere, a short password, two that differ: refused, nothing set.
    assert_html(
        &post_page(
            app,
            &path,
            "https://evil.example",
            "a brand new password",
            "a brand new password",
        )
        .await,
        403,
    );
    assert_html(&post_page(app, &path, &app.base, "short", "short").await, 422);
    let differ = post_page(app, &path, &app.base, "a brand new password", "another new password").await;
    assert_html(&differ, 422);
    app.login(&email, "a brand new password").await.problem(401);

    let set = post_page(app, &path, &app.base, "a brand new password", "a brand new password").await;
    assert_html(&set, 200);
    assert!(set.text.contains("/app/login"), "{}", set.text);
    let login = app.login(&email, "a brand new password").await;
    assert_eq!(login.status, 200, "{}", login.text);
    let me = app.get("/api/v1/me", login.json["token"].as_str().unwrap()).await;
    assert_eq!(me.json["staff"]["password_state"], "set", "{}", me.text);

    // The link works once; an unknown one is a friendly page in the browser's language.
    let used = page(app, &path, "zh-CN").await;
    assert_html(&used, 410);
    assert_html(
        &post_page(app, &path, &app.base, "a third new password", "a third new password").await,
        410,
    );
    app.login(&email, "a third new password").await.problem(401);
    let unknown = page(app, "/app/password/AAAAAAAAAAAAAAAAAAAAAA", "en-GB,en;q=0.8").await;
    assert_html(&unknown, 404);
    assert!(unknown.text.contains("<html lang=\"en\">"), "{}", unknown.text);
}

async fn only_an_owner_sets_a_first_password_and_nobody_sets_anothers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let hq = app.create_staff(&owner, "hq_manager", None).await;
    let new_member = |email: &str, password: Option<&str>| {
        let mut body = json!({ "name": "新员工", "email": email, "role": "front_desk", "store_id": store });
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        body
    };

    // An HQ manager invites; setting a password of their choosing is refused.
    let taken_over = app
        .post(
            "/api/v1/staff",
            &hq.token,
            &new_member("desk1@example.com", Some("chosen by hq 123")),
        )
        .await;
    assert_eq!(taken_over.problem(403)["code"], "forbidden", "{}", taken_over.text);
    app.login("desk1@example.com", "chosen by hq 123").await.problem(401);
    let invited = app
        .post("/api/v1/staff", &hq.token, &new_member("desk1@example.com", None))
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);

    // The owner sets a first password; logging in with it only leads to choosing one's own.
    let created = app
        .post(
            "/api/v1/staff",
            &owner.token,
            &new_member("desk2@example.com", Some("first password 1")),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["password_state"], "must_change");
    let first = app.login("desk2@example.com", "first password 1").await;
    assert_eq!(first.problem(403)["code"], "password_change_required", "{}", first.text);
    assert!(first.json.get("token").is_none(), "no session: {}", first.text);
    let token = first.json["password_token"].as_str().unwrap().to_owned();
    let set_path = format!("/api/v1/password_tokens/{token}");
    let short = app
        .request(
            reqwest::Method::PUT,
            &set_path,
            None,
            Some(&json!({ "password": "short" })),
        )
        .await;
    assert_eq!(short.invalid_fields(), ["password"]);
    let chosen = app
        .request(
            reqwest::Method::PUT,
            &set_path,
            None,
            Some(&json!({ "password": "my own password 2" })),
        )
        .await;
    assert_eq!(chosen.status, 204, "{}", chosen.text);
    app.login("desk2@example.com", "first password 1").await.problem(401);
    let login = app.login("desk2@example.com", "my own password 2").await;
    assert_eq!(login.status, 200, "{}", login.text);
    let member_token = login.json["token"].as_str().unwrap().to_owned();
    let member_id = created.json["id"].as_str().unwrap();
    let reused = app
        .request(
            reqwest::Method::PUT,
            &set_path,
            None,
            Some(&json!({ "password": "someone else 3" })),
        )
        .await;
    assert_eq!(reused.problem(410)["code"], "link_used");

    // Nobody sets another member's password, not even an owner.
    let patched = app
        .patch(
            &format!("/api/v1/staff/{member_id}"),
            &owner.token,
            &json!({ "password": "owner's choice 4" }),
        )
        .await;
    assert_eq!(patched.invalid_fields(), ["password"]);
    app.login("desk2@example.com", "owner's choice 4").await.problem(401);

    // The member changes their own (knowing the current one); their sessions end.
    let other_session = app.login("desk2@example.com", "my own password 2").await.json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&member_token),
            Some(&json!({ "current_password": "not my password", "new_password": "my newer password 5" })),
        )
        .await;
    assert_eq!(wrong.problem(403)["code"], "forbidden");
    let changed = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&member_token),
            Some(&json!({ "current_password": "my own password 2", "new_password": "my newer password 5" })),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    // Every session ends, this one too: log in again with the new password.
    app.get("/api/v1/me", &member_token).await.problem(401);
    app.get("/api/v1/me", &other_session).await.problem(401);
    assert_eq!(app.login("desk2@example.com", "my newer password 5").await.status, 200);
}

async fn password_resets_by_email_answer_alike_for_unknown_addresses(backend: Backend) {
    let mut salon = Salon::new(backend, "Asia/Shanghai").await;
    salon
        .app
        .restart(&salon.app.data_keys.clone(), &[("LOGIN_LIMIT_PER_ACCOUNT", "6")])
        .await;
    let (app, owner) = (&salon.app, &salon.owner);
    let member = app.create_staff(owner, "beautician", Some(&salon.store)).await;
    let reset = |email: &str| {
        let body = json!({ "email": email });
        async move {
            app.request(reqwest::Method::POST, "/api/v1/password_resets", None, Some(&body))
                .await
        }
    };
    let known = reset(&member.email).await;
    let unknown = reset("nobody@example.com").await;
    assert_eq!(known.status, 202, "{}", known.text);
    assert_eq!((unknown.status, &unknown.text), (known.status, &known.text));

    let report = salon.tick(&soon()).await;
    assert_eq!(report["delivery"]["sent"], 1, "one mail, to the member: {report}");
    let mail = salon.smtp.received();
    assert_eq!(mail[0].rcpt_to, vec![member.email.clone()]);
    let path = password_path(&mail[0].text().unwrap());
    let set = post_page(app, &path, &app.base, "after the reset 1", "after the reset 1").await;
    assert_html(&set, 200);
    // Every session of the member ended; only the new password works.
    app.get("/api/v1/me", &member.token).await.problem(401);
    app.login(&member.email, &member.password).await.problem(401);
    assert_eq!(app.login(&member.email, "after the reset 1").await.status, 200);

    // Limited like logins, per address asked about (known or not): the same 429.
    for _ in 0..5 {
        assert_eq!(reset("nobody@example.com").await.status, 202);
    }
    let limited = reset("nobody@example.com").await;
    limited.problem(429);
    assert!(limited.headers.get("retry-after").is_some());
}

both_backends!(
    staff_are_invited_by_email_and_choose_their_own_password,
    only_an_owner_sets_a_first_password_and_nobody_sets_anothers,
    password_resets_by_email_answer_alike_for_unknown_addresses,
);
