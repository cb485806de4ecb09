//! Signup, login, logout, session expiry and deactivation.

use e2e::{both_backends, Backend, TestApp};
use reqwest::Method;
use serde_json::json;

async fn signup_gives_an_owner_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("美丽人生美容连锁").await;
    let me = app.get("/api/v1/me", &owner.token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["tenant"]["id"], owner.tenant_id.as_str());
    assert_eq!(me.json["tenant"]["name"], "美丽人生美容连锁");
    assert_eq!(me.json["tenant"]["timezone"], "Asia/Shanghai");
    assert_eq!(me.json["tenant"]["country"], "CN", "zh-CN chains default to China");
    assert_eq!(me.json["staff"]["role"], "owner");
    assert_eq!(me.json["staff"]["email"], owner.email.as_str());
    assert!(me.json["staff"].get("password_hash").is_none());

    let login = app.login(&owner.email.to_uppercase(), &owner.password).await;
    assert_eq!(login.status, 200, "emails are case-insensitive: {}", login.text);
    assert_eq!(login.json["tenant_id"], owner.tenant_id.as_str());
    assert_eq!(login.json["role"], "owner");
    let token = login.json["token"].as_str().unwrap();
    assert_ne!(token, owner.token, "every login is a new session");
    assert!(token.len() >= 40, "tokens carry at least 128 random bits");
}

async fn signup_validates_every_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .request(
            Method::POST,
            "/api/v1/signup",
            None,
            Some(&json!({
                "tenant_name": " ",
                "owner_name": "Li",
                "email": "not-an-email",
                "password": "short",
                "timezone": "Asia/Atlantis",
                "locale": "klingon",
            })),
        )
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["email", "locale", "password", "tenant_name", "timezone"]);
    // Nothing was written: the email is still free.
    let retry = app
        .request(
            Method::POST,
            "/api/v1/signup",
            None,
            Some(&json!({
                "tenant_name": "T", "owner_name": "Li", "email": "not-an-email@example.com",
                "password": "long enough password", "timezone": "Europe/London", "locale": "en",
            })),
        )
        .await;
    assert_eq!(retry.status, 201, "{}", retry.text);
}

async fn signup_with_a_taken_email_conflicts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("First chain").await;
    let response = app
        .request(
            Method::POST,
            "/api/v1/signup",
            None,
            Some(&json!({
                "tenant_name": "Second chain", "owner_name": "Li", "email": owner.email,
                "password": "long enough password", "timezone": "Europe/London", "locale": "en",
            })),
        )
        .await;
    assert_eq!(response.problem(409)["code"], "email_taken");
}

async fn wrong_password_and_unknown_email_look_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let wrong_password = app.login(&owner.email, "not the password at all").await;
    let unknown_email = app.login("nobody@example.com", &owner.password).await;
    let malformed = app.login("", "").await;
    for response in [&wrong_password, &unknown_email, &malformed] {
        response.problem(401);
        assert_eq!(response.headers["www-authenticate"], "Bearer");
    }
    assert_eq!(wrong_password.text, unknown_email.text);
    assert_eq!(wrong_password.text, malformed.text);
}

async fn logout_revokes_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let second = app.login(&owner.email, &owner.password).await;
    let second_token = second.json["token"].as_str().unwrap().to_owned();

    let logout = app.delete("/api/v1/sessions/current", &owner.token).await;
    assert_eq!(logout.status, 204, "{}", logout.text);
    app.get("/api/v1/me", &owner.token).await.problem(401);
    // Only that session ended.
    assert_eq!(app.get("/api/v1/me", &second_token).await.status, 200);
}

async fn tokens_expire(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("SESSION_TTL", "2s")]).await;
    let owner = app.signup("Chain").await;
    assert_eq!(app.get("/api/v1/me", &owner.token).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    app.get("/api/v1/me", &owner.token).await.problem(401);
}

async fn garbage_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for token in ["", "abc", "sct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        app.get("/api/v1/stores", token).await.problem(401);
    }
    let basic = app
        .send(
            app.client()
                .get(app.url("/api/v1/stores"))
                .basic_auth("user", Some("pass")),
        )
        .await;
    basic.problem(401);
    let anonymous = app.request(Method::GET, "/api/v1/stores", None, None).await;
    anonymous.problem(401);
}

async fn deactivated_staff_lose_access_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let desk = app.create_staff(&owner, "front_desk", Some(&store)).await;
    assert_eq!(app.get("/api/v1/stores", &desk.token).await.status, 200);

    let deactivate = app
        .patch(
            &format!("/api/v1/staff/{}", desk.staff_id),
            &owner.token,
            &json!({ "active": false }),
        )
        .await;
    assert_eq!(deactivate.status, 200, "{}", deactivate.text);
    assert_eq!(deactivate.json["active"], false);
    app.get("/api/v1/stores", &desk.token).await.problem(401);
    app.login(&desk.email, &desk.password).await.problem(401);

    // Reactivated, they can log in again, but the old session stays ended.
    let reactivate = app
        .patch(
            &format!("/api/v1/staff/{}", desk.staff_id),
            &owner.token,
            &json!({ "active": true }),
        )
        .await;
    assert_eq!(reactivate.status, 200);
    app.get("/api/v1/stores", &desk.token).await.problem(401);
    assert_eq!(app.login(&desk.email, &desk.password).await.status, 200);
}

async fn removed_staff_lose_access_and_free_their_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "静安店").await;
    let beautician = app.create_staff(&owner, "beautician", Some(&store)).await;
    let removed = app
        .delete(&format!("/api/v1/staff/{}", beautician.staff_id), &owner.token)
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    app.get("/api/v1/me", &beautician.token).await.problem(401);
    app.get(&format!("/api/v1/staff/{}", beautician.staff_id), &owner.token)
        .await
        .problem(404);
    let rehired = app
        .post(
            "/api/v1/staff",
            &owner.token,
            &json!({ "name": "Again", "email": beautician.email, "password": e2e_password(), "role": "beautician", "store_id": store }),
        )
        .await;
    assert_eq!(rehired.status, 201, "{}", rehired.text);
}

async fn password_change_ends_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let hq = app.create_staff(&owner, "hq_manager", None).await;
    let other_session = app.login(&hq.email, &hq.password).await.json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&hq.token),
            Some(&json!({ "current_password": hq.password, "new_password": "a brand new password" })),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    app.get("/api/v1/me", &hq.token).await.problem(401);
    app.get("/api/v1/me", &other_session).await.problem(401);
    app.login(&hq.email, &hq.password).await.problem(401);
    assert_eq!(app.login(&hq.email, "a brand new password").await.status, 200);
}

fn e2e_password() -> &'static str {
    "correct horse battery staple"
}

both_backends!(
    signup_gives_an_owner_session,
    signup_validates_every_field,
    signup_with_a_taken_email_conflicts,
    wrong_password_and_unknown_email_look_the_same,
    logout_revokes_the_token,
    tokens_expire,
    garbage_tokens_are_refused,
    deactivated_staff_lose_access_at_once,
    removed_staff_lose_access_and_free_their_email,
    password_change_ends_sessions,
);
