//! Abuse resistance at the edge: login attempts limited per account and per client address,
//! signups per address (429 with `Retry-After`, before any password is checked); slow clients
//! cut off (a trickled request head, a body that never completes); security headers on every
//! answer, HSTS when the service is reached over https.

use e2e::{both_backends, Backend, TestApp};
use serde_json::json;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> e2e::Response {
    app.send(
        app.client()
            .post(app.url("/api/v1/sessions"))
            .header("X-Forwarded-For", address)
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

async fn logins_are_limited_per_account_and_per_address(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("LOGIN_LIMIT_PER_ACCOUNT", "5"),
            ("LOGIN_LIMIT_PER_IP", "8"),
            ("TRUST_PROXY_HEADERS", "true"),
        ],
    )
    .await;
    let owner = app.signup("限流美容").await;
    // Guessing one account's password from many addresses: five tries, then 429 for that
    // account, even with the right password, and without saying whether it was right.
    for n in 0..5 {
        let guess = login_from(&app, &format!("198.51.100.{n}"), &owner.email, "wrong password").await;
        assert_eq!(guess.status, 401, "{}", guess.text);
    }
    let limited = login_from(&app, "198.51.100.9", &owner.email, &owner.password).await;
    let problem = limited.problem(429);
    assert_eq!(problem["code"], "too_many_requests");
    let wait: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    // Another account is not affected.
    let other = app.create_staff(&owner, "hq_manager", None).await;
    assert_eq!(
        login_from(&app, "198.51.100.20", &other.email, &other.password)
            .await
            .status,
        200
    );

    // One address trying many accounts: eight attempts a minute, then 429 for every account
    // from there; another address is not affected.
    for n in 0..8 {
        let attempt = login_from(&app, "203.0.113.5", &format!("nobody{n}@example.com"), "x").await;
        assert_eq!(attempt.status, 401, "{}", attempt.text);
    }
    login_from(&app, "203.0.113.5", &other.email, &other.password)
        .await
        .problem(429);
    assert_eq!(
        login_from(&app, "203.0.113.6", &other.email, &other.password)
            .await
            .status,
        200
    );
}

async fn signups_are_limited_per_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("LOGIN_LIMIT_PER_IP", "3")]).await;
    for n in 0..3 {
        app.signup(&format!("连锁{n}")).await;
    }
    let response = app
        .send(app.client().post(app.url("/api/v1/signup")).json(&json!({
            "tenant_name": "第四家", "owner_name": "店主", "email": "fourth@example.com",
            "password": "a long password", "timezone": "Asia/Shanghai", "locale": "zh-CN",
        })))
        .await;
    response.problem(429);
    // Without TRUST_PROXY_HEADERS a forged X-Forwarded-For changes nothing.
    let forged = app
        .send(
            app.client()
                .post(app.url("/api/v1/signup"))
                .header("X-Forwarded-For", "192.0.2.99")
                .json(&json!({
                    "tenant_name": "第五家", "owner_name": "店主", "email": "fifth@example.com",
                    "password": "a long password", "timezone": "Asia/Shanghai", "locale": "zh-CN",
                })),
        )
        .await;
    forged.problem(429);
}

/// A raw connection to the app, for clients no HTTP library would be.
fn connect(app: &TestApp) -> std::net::TcpStream {
    let address = app.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream
}

fn read_all(stream: &mut std::net::TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

async fn slow_clients_are_cut_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("REQUEST_TIMEOUT_SECS", "2")]).await;
    let app = std::sync::Arc::new(app);

    // A request head trickled in and never finished: 408 and closed within the head timeout.
    let head = app.clone();
    let (answer, took) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(&head);
        let started = Instant::now();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
        let answer = read_all(&mut stream);
        (answer, started.elapsed())
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");

    // A body announced and never sent in full: 408 once REQUEST_TIMEOUT_SECS has passed.
    let body = app.clone();
    let (answer, took) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(&body);
        let started = Instant::now();
        stream
            .write_all(
                b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"email\":",
            )
            .unwrap();
        let answer = read_all(&mut stream);
        (answer, started.elapsed())
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "{took:?}"
    );

    // The service itself is unaffected.
    let health = app.send(app.client().get(app.url("/healthz"))).await;
    assert_eq!(health.status, 200);
}

async fn every_answer_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("PUBLIC_BASE_URL", "https://crm.example.test")]).await;
    let owner = app.signup("安全美容").await;
    for response in [
        app.get("/api/v1/me", &owner.token).await,
        app.get("/api/v1/nothing-here", &owner.token).await,
        app.send(app.client().get(app.url("/healthz"))).await,
    ] {
        let header = |name: &str| response.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert!(
            header("strict-transport-security").starts_with("max-age="),
            "{:?}",
            response.headers
        );
    }
    // Over plain http (a development origin) no HSTS: it would pin what cannot be served.
    let plain = TestApp::spawn(backend).await;
    let response = plain.send(plain.client().get(plain.url("/healthz"))).await;
    assert!(response.headers.get("strict-transport-security").is_none());
}

both_backends!(
    logins_are_limited_per_account_and_per_address,
    signups_are_limited_per_address,
    slow_clients_are_cut_off,
    every_answer_carries_the_security_headers,
);
