//! The staff console (`/app/`) over HTTP, as a browser uses it: the session cookie and its
//! flags, CSRF (no token or a foreign `Origin` → 403, nothing written), a logged-out, expired
//! or deactivated staff member's cookie refused, what each role is offered and refused, no page
//! showing another tenant's or another store's data, and the front desk's path: search,
//! the client's page, a visit recorded once however often the form is sent, an edit that
//! collides with another.

use e2e::console::{input_value, no_redirects, set_cookie, ConsoleUser};
use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::json;

both_backends!(
    login_sets_the_session_cookie_and_logout_ends_it,
    csrf_guards_every_console_post,
    a_revoked_or_deactivated_session_is_refused,
    roles_see_only_what_they_may_use,
    pages_keep_tenants_and_stores_apart,
    the_front_desk_finds_a_client_and_records_a_visit,
    a_chain_signs_up_in_the_console,
    a_first_password_set_by_the_owner_leads_to_the_password_page,
);

/// A chain with two stores, a client in each, and a front desk in store one.
struct Chain {
    app: TestApp,
    owner: Session,
    store_one: String,
    store_two: String,
    client_one: String,
    client_two: String,
}

async fn chain(backend: Backend, env: &[(&str, &str)]) -> Chain {
    let app = TestApp::spawn_with(backend, env).await;
    let owner = app.signup("美丽人生").await;
    let store_one = app.create_store(&owner, "静安店").await;
    let store_two = app.create_store(&owner, "徐汇店").await;
    let client = |name: &'static str, phone: &'static str, store: String| {
        let app = &app;
        let owner = &owner;
        async move {
            let response = app
                .post(
                    "/api/v1/clients",
                    &owner.token,
                    &json!({ "name": name, "phone": phone, "home_store_id": store, "allergies": "果酸过敏",
                              "marketing_consent": true, "consent_source": "paper form" }),
                )
                .await;
            assert_eq!(response.status, 201, "{}", response.text);
            response.json["id"].as_str().unwrap().to_owned()
        }
    };
    let client_one = client("张三丰", "13712345678", store_one.clone()).await;
    let client_two = client("李小龙", "13912345670", store_two.clone()).await;
    Chain {
        app,
        owner,
        store_one,
        store_two,
        client_one,
        client_two,
    }
}

async fn login_sets_the_session_cookie_and_logout_ends_it(backend: Backend) {
    let chain = chain(backend, &[("PUBLIC_BASE_URL", "https://crm.example.test")]).await;
    let app = &chain.app;
    let desk = app
        .create_staff(&chain.owner, "front_desk", Some(&chain.store_one))
        .await;

    // `/` leads to the console, which sends a visitor without a session to log in.
    let client = no_redirects();
    let root = app.send(client.get(app.url("/"))).await;
    assert_eq!(
        (root.status, root.headers["location"].to_str().unwrap()),
        (303, "/app/")
    );
    let today = app.send(client.get(app.url("/app/"))).await;
    assert_eq!(
        (today.status, today.headers["location"].to_str().unwrap()),
        (303, "/app/login")
    );
    let deep = app.send(client.get(app.url("/app/clients?q=zsf"))).await;
    assert_eq!(deep.headers["location"], "/app/login?next=%2Fapp%2Fclients%3Fq%3Dzsf");

    // A wrong password: the form again, 401, no session cookie.
    let form = app.send(client.get(app.url("/app/login"))).await;
    let form_cookie = set_cookie(&form, "salon_form")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let form_token = input_value(&form.text, "csrf").unwrap();
    let wrong = app
        .send(
            client
                .post(app.url("/app/login"))
                .header("cookie", &form_cookie)
                .header("origin", &app.base)
                .form(&[
                    ("csrf", form_token.as_str()),
                    ("email", desk.email.as_str()),
                    ("password", "not it"),
                ]),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert!(set_cookie(&wrong, "salon_session").is_none());
    assert!(wrong.text.contains("Email or password is wrong"), "{}", wrong.text);

    // The login form's post needs its token and our origin.
    let no_token = app
        .send(
            client
                .post(app.url("/app/login"))
                .header("cookie", &form_cookie)
                .header("origin", &app.base)
                .form(&[("email", desk.email.as_str()), ("password", desk.password.as_str())]),
        )
        .await;
    assert_eq!(no_token.status, 403);
    let foreign = app
        .send(
            client
                .post(app.url("/app/login"))
                .header("cookie", &form_cookie)
                .header("origin", "https://evil.example")
                .form(&[
                    ("csrf", form_token.as_str()),
                    ("email", desk.email.as_str()),
                    ("password", desk.password.as_str()),
                ]),
        )
        .await;
    assert_eq!(foreign.status, 403);

    // The right password: 303 to the console with the session cookie, its flags as promised
    // (Secure: PUBLIC_BASE_URL is https).
    let user = ConsoleUser::log_in(app, &desk.email, &desk.password).await;
    let form = app.send(client.get(app.url("/app/login"))).await;
    let form_cookie = set_cookie(&form, "salon_form")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let form_token = input_value(&form.text, "csrf").unwrap();
    let ok = app
        .send(
            client
                .post(app.url("/app/login"))
                .header("cookie", &form_cookie)
                .header("origin", &app.base)
                .form(&[
                    ("csrf", form_token.as_str()),
                    ("email", desk.email.as_str()),
                    ("password", desk.password.as_str()),
                    ("next", "/app/clients"),
                ]),
        )
        .await;
    assert_eq!(
        (ok.status, ok.headers["location"].to_str().unwrap()),
        (303, "/app/clients")
    );
    let cookie = set_cookie(&ok, "salon_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }

    // The page: strict CSP, not cached, not framed.
    let page = user.get("/app/").await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(page.headers["cache-control"], "no-store");

    // The cookie's token is the API's session token: the same session.
    let me = app.get("/api/v1/me", &user.token).await;
    assert_eq!(me.status, 200, "{}", me.text);

    // Logging out needs the page's token too; then the cookie and the token are dead.
    let refused = user.post_raw("/app/logout", &[], Some(&app.base)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.get("/api/v1/me", &user.token).await.status, 200);
    let out = user.post("/app/logout", &[]).await;
    assert_eq!(
        (out.status, out.headers["location"].to_str().unwrap()),
        (303, "/app/login")
    );
    assert!(set_cookie(&out, "salon_session").unwrap().contains("Max-Age=0"));
    let after = user.get("/app/").await;
    assert_eq!(
        (after.status, after.headers["location"].to_str().unwrap()),
        (303, "/app/login")
    );
    assert_eq!(app.get("/api/v1/me", &user.token).await.status, 401);
}

async fn csrf_guards_every_console_post(backend: Backend) {
    let chain = chain(backend, &[]).await;
    let app = &chain.app;
    let user = ConsoleUser::with_token(app, &chain.owner.token).await;
    let visit_form = user
        .get(&format!("/app/visits/new?client_id={}", chain.client_one))
        .await;
    let key = input_value(&visit_form.text, "idempotency_key").unwrap();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/app/clients".into(), vec![("name", "王五")]),
        (
            format!("/app/clients/{}", chain.client_one),
            vec![("name", "张三"), ("version", "1")],
        ),
        (format!("/app/clients/{}/sensitive", chain.client_one), vec![]),
        (
            "/app/visits".into(),
            vec![
                ("client_id", chain.client_one.as_str()),
                ("idempotency_key", key.as_str()),
                ("description", "护理"),
                ("amount", "100"),
                ("payment_method", "cash"),
            ],
        ),
        ("/app/locale".into(), vec![("locale", "en")]),
        ("/app/logout".into(), vec![]),
    ];
    for (path, fields) in &posts {
        // No token (the form without it, and no header).
        let none = user.post_raw(path, fields, Some(&app.base)).await;
        assert_eq!(none.status, 403, "{path} without a token: {}", none.text);
        // A wrong token.
        let mut wrong = fields.clone();
        wrong.push(("csrf", "00000000000000000000000000000000"));
        assert_eq!(user.post_raw(path, &wrong, Some(&app.base)).await.status, 403, "{path}");
        // The right token from a foreign page, or from a page that says nothing of its origin.
        let mut right = fields.clone();
        right.push(("csrf", user.csrf.as_str()));
        assert_eq!(
            user.post_raw(path, &right, Some("https://evil.example")).await.status,
            403,
            "{path}"
        );
        assert_eq!(user.post_raw(path, &right, Some("null")).await.status, 403, "{path}");
        assert_eq!(user.post_raw(path, &right, None).await.status, 403, "{path}");
    }
    // htmx sends the token in a header instead.
    let htmx = app
        .send(
            no_redirects()
                .post(app.url(&format!("/app/clients/{}/sensitive", chain.client_one)))
                .header("cookie", format!("salon_session={}", user.token))
                .header("origin", &app.base)
                .header("hx-request", "true")
                .header("x-csrf-token", &user.csrf),
        )
        .await;
    assert_eq!(htmx.status, 200, "{}", htmx.text);
    assert!(
        htmx.text.contains("果酸过敏") && !htmx.text.contains("<html"),
        "{}",
        htmx.text
    );

    // Nothing the refused posts carried was written: no client 王五, no visit, the session alive.
    let clients = app.get("/api/v1/clients?q=王五", &chain.owner.token).await;
    assert_eq!(clients.json["items"].as_array().unwrap().len(), 0, "{}", clients.text);
    let visits = app.get("/api/v1/visits", &chain.owner.token).await;
    assert_eq!(visits.json["items"].as_array().unwrap().len(), 0, "{}", visits.text);
    assert_eq!(app.get("/api/v1/me", &chain.owner.token).await.status, 200);
    // The one read that went through is in the audit log, with the console as its way.
    let audit = app.get("/api/v1/audit?action=read_sensitive", &chain.owner.token).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(audit.text.contains("console"), "{}", audit.text);
}

async fn a_revoked_or_deactivated_session_is_refused(backend: Backend) {
    let chain = chain(backend, &[]).await;
    let app = &chain.app;
    // Deactivated by the owner: the cookie stops working at once.
    let desk = app
        .create_staff(&chain.owner, "front_desk", Some(&chain.store_one))
        .await;
    let user = ConsoleUser::with_token(app, &desk.token).await;
    let change = app
        .patch(
            &format!("/api/v1/staff/{}", desk.staff_id),
            &chain.owner.token,
            &json!({ "active": false }),
        )
        .await;
    assert_eq!(change.status, 200, "{}", change.text);
    let page = user.get("/app/clients").await;
    assert_eq!(
        (page.status, page.headers["location"].to_str().unwrap()),
        (303, "/app/login?next=%2Fapp%2Fclients")
    );
    assert!(set_cookie(&page, "salon_session").unwrap().contains("Max-Age=0"));
    // htmx is told to go to the login page instead.
    let partial = user.htmx_get("/app/clients?q=zsf").await;
    assert_eq!(partial.status, 401);
    assert!(partial.headers["hx-redirect"]
        .to_str()
        .unwrap()
        .starts_with("/app/login"));
    let post = user.post("/app/clients", &[("name", "王五")]).await;
    assert_eq!(post.status, 303);
    // Logged out through the API: the same session, so the cookie is dead too.
    let beautician = app
        .create_staff(&chain.owner, "beautician", Some(&chain.store_one))
        .await;
    let user = ConsoleUser::with_token(app, &beautician.token).await;
    assert_eq!(
        app.delete("/api/v1/sessions/current", &beautician.token).await.status,
        204
    );
    assert_eq!(user.get("/app/").await.status, 303);
    // A token that never existed.
    let forged = ConsoleUserless::get(app, "/app/", "sct_forgedforgedforgedforgedforgedforgedforged").await;
    assert_eq!(forged, 303);
}

/// A request with a cookie that no login set.
struct ConsoleUserless;
impl ConsoleUserless {
    async fn get(app: &TestApp, path: &str, token: &str) -> u16 {
        app.send(
            no_redirects()
                .get(app.url(path))
                .header("cookie", format!("salon_session={token}")),
        )
        .await
        .status
    }
}

async fn roles_see_only_what_they_may_use(backend: Backend) {
    let chain = chain(backend, &[]).await;
    let app = &chain.app;
    let client_page = format!("/app/clients/{}", chain.client_one);
    for (role, store, sees_sensitive, hq) in [
        ("owner", None, true, true),
        ("hq_manager", None, false, true),
        ("store_manager", Some(chain.store_one.as_str()), true, false),
        ("front_desk", Some(chain.store_one.as_str()), false, false),
        ("beautician", Some(chain.store_one.as_str()), true, false),
    ] {
        let session = if role == "owner" {
            chain.owner.clone()
        } else {
            app.create_staff(&chain.owner, role, store).await
        };
        let user = ConsoleUser::with_token(app, &session.token).await;
        let today = user.get("/app/").await;
        assert_eq!(today.status, 200, "{role}: {}", today.text);
        // Every screen built so far is for every role; the navigation shows them and nothing
        // that is not built yet.
        for href in ["href=\"/app/clients\"", "href=\"/app/visits/new\""] {
            assert!(today.text.contains(href), "{role} lacks {href}");
        }
        for href in ["/app/audit", "/app/settings", "/app/complaints"] {
            assert!(
                !today.text.contains(&format!("href=\"{href}\"")),
                "{role} is offered {href}"
            );
        }
        // HQ picks a store on Today; a store role works in theirs.
        assert_eq!(today.text.contains("name=\"store_id\""), hq, "{role}'s store picker");
        // The sensitive fields: the action only for roles that may, and refused to the others.
        let page = user.get(&client_page).await;
        assert_eq!(page.status, 200, "{role}: {}", page.text);
        assert!(!page.text.contains("果酸过敏"), "{role} sees allergies before asking");
        assert_eq!(
            page.text.contains("id=\"show-sensitive\""),
            sees_sensitive,
            "{role}'s show action"
        );
        let reveal = user.post(&format!("{client_page}/sensitive"), &[]).await;
        if sees_sensitive {
            assert_eq!(reveal.status, 200, "{role}: {}", reveal.text);
            assert!(reveal.text.contains("果酸过敏"), "{role}");
        } else {
            assert_eq!(reveal.status, 403, "{role}: {}", reveal.text);
            assert!(!reveal.text.contains("果酸过敏"), "{role}");
        }
    }
    // Screens not built yet are absent (404), for every role.
    let owner = ConsoleUser::with_token(app, &chain.owner.token).await;
    assert_eq!(owner.get("/app/audit").await.status, 404);
}

async fn pages_keep_tenants_and_stores_apart(backend: Backend) {
    let chain = chain(backend, &[]).await;
    let app = &chain.app;
    // Another chain, with a client whose name matches ours.
    let other = app.signup("别家美容").await;
    let other_store = app.create_store(&other, "别家店").await;
    let theirs = app
        .post(
            "/api/v1/clients",
            &other.token,
            &json!({ "name": "张三丰别家", "phone": "13812349999", "home_store_id": other_store }),
        )
        .await;
    assert_eq!(theirs.status, 201);
    let their_client = theirs.json["id"].as_str().unwrap().to_owned();

    let owner = ConsoleUser::with_token(app, &chain.owner.token).await;
    for path in [
        format!("/app/clients/{their_client}"),
        format!("/app/clients/{their_client}/edit"),
        format!("/app/visits/new?client_id={their_client}"),
    ] {
        let page = owner.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.text);
        assert!(!page.text.contains("张三丰别家"), "{path}");
    }
    let reveal = owner.post(&format!("/app/clients/{their_client}/sensitive"), &[]).await;
    assert_eq!(reveal.status, 404);
    let edit = owner
        .post(
            &format!("/app/clients/{their_client}"),
            &[("name", "改名"), ("version", "1")],
        )
        .await;
    assert_eq!(edit.status, 404);
    let search = owner.get("/app/clients?q=zsf").await;
    assert!(
        search.text.contains("张三丰") && !search.text.contains("张三丰别家"),
        "{}",
        search.text
    );
    let listing = owner.get("/app/clients").await;
    assert!(!listing.text.contains("张三丰别家"));

    // A store role: the other store's client is absent, in search and by id, and Today counts
    // their own store only.
    let manager = app
        .create_staff(&chain.owner, "store_manager", Some(&chain.store_one))
        .await;
    let manager = ConsoleUser::with_token(app, &manager.token).await;
    let page = manager.get(&format!("/app/clients/{}", chain.client_two)).await;
    assert_eq!(page.status, 404);
    let search = manager.get("/app/clients?q=lxl").await;
    assert!(!search.text.contains("李小龙"), "{}", search.text);
    let visit = app
        .post(
            "/api/v1/visits",
            &chain.owner.token,
            &json!({ "client_id": chain.client_two, "store_id": chain.store_two, "completed_at": chrono::Utc::now().to_rfc3339(),
                      "lines": [{ "description": "护理", "amount_cents": 99_900 }], "payment_method": "cash" }),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.text);
    let today = manager.get("/app/").await;
    assert!(
        !today.text.contains("¥999.00"),
        "store one's Today shows store two's revenue"
    );
    // Even asking for store two's day gives their own.
    let asked = manager.get(&format!("/app/?store_id={}", chain.store_two)).await;
    assert!(
        !asked.text.contains("¥999.00") && !asked.text.contains("徐汇店"),
        "{}",
        asked.text
    );
    // HQ sees it, in all stores and in store two.
    for path in ["/app/".to_owned(), format!("/app/?store_id={}", chain.store_two)] {
        assert!(owner.get(&path).await.text.contains("¥999.00"), "{path}");
    }
    assert!(!owner
        .get(&format!("/app/?store_id={}", chain.store_one))
        .await
        .text
        .contains("¥999.00"));
}

async fn the_front_desk_finds_a_client_and_records_a_visit(backend: Backend) {
    let chain = chain(backend, &[]).await;
    let app = &chain.app;
    let service = app.create_service(&chain.owner, "深层补水护理", 39_800).await;
    let desk = app
        .create_staff(&chain.owner, "front_desk", Some(&chain.store_one))
        .await;
    let user = ConsoleUser::log_in(app, &desk.email, &desk.password).await;

    // Search as you type: htmx gets the results alone; without htmx the whole page.
    for q in ["zsf", "张三", "1371234", "5678"] {
        let partial = user.htmx_get(&format!("/app/clients?q={q}")).await;
        assert_eq!(partial.status, 200, "{q}");
        assert!(partial.text.contains("张三丰"), "{q}: {}", partial.text);
        assert!(!partial.text.contains("<html"), "{q}: a fragment, not a page");
    }
    let page = user.get("/app/clients?q=zsf").await;
    assert!(page.text.contains("<html") && page.text.contains("张三丰"));
    let none = user.htmx_get("/app/clients?q=nobody").await;
    assert!(none.text.contains("No client matches"), "{}", none.text);

    // The client's page: profile, consent with its source, no visits yet.
    let client_page = format!("/app/clients/{}", chain.client_one);
    let page = user.get(&client_page).await;
    assert!(
        page.text.contains("paper form") && page.text.contains("Agreed to marketing messages"),
        "{}",
        page.text
    );

    // Record a visit: the catalog service at its price, a free line, a discount; the form sent
    // twice (a double click) records one visit.
    let form = user
        .get(&format!("/app/visits/new?client_id={}", chain.client_one))
        .await;
    assert_eq!(form.status, 200, "{}", form.text);
    let key = input_value(&form.text, "idempotency_key").unwrap();
    let fields = [
        ("client_id", chain.client_one.as_str()),
        ("idempotency_key", key.as_str()),
        ("service_id", service.as_str()),
        ("description", ""),
        ("amount", ""),
        ("service_id", ""),
        ("description", "眉形修整"),
        ("amount", "58"),
        ("service_id", ""),
        ("description", ""),
        ("amount", ""),
        ("discount", "20.50"),
        ("payment_method", "wechat_pay"),
        ("completed_at", ""),
    ];
    for _ in 0..2 {
        let done = user.post("/app/visits", &fields).await;
        assert_eq!(
            (done.status, done.headers["location"].to_str().unwrap()),
            (303, client_page.as_str()),
            "{}",
            done.text
        );
        // The next page says so (a one-shot cookie).
        assert!(set_cookie(&done, "salon_flash")
            .unwrap()
            .starts_with("salon_flash=flash.visit_recorded;"));
    }
    let client = app
        .get(&format!("/api/v1/clients/{}", chain.client_one), &chain.owner.token)
        .await;
    assert_eq!(client.json["visit_count"], 1, "{}", client.text);
    assert_eq!(client.json["total_spent_cents"], 39_800 + 5_800 - 2_050);
    let page = user.get(&client_page).await;
    assert!(page.text.contains("深层补水护理、眉形修整 · ¥435.50"), "{}", page.text);

    // A bad amount: the form again (422) with the line's error and the input kept.
    let form = user
        .get(&format!("/app/visits/new?client_id={}", chain.client_one))
        .await;
    let key = input_value(&form.text, "idempotency_key").unwrap();
    let bad = user
        .post(
            "/app/visits",
            &[
                ("client_id", chain.client_one.as_str()),
                ("idempotency_key", key.as_str()),
                ("service_id", ""),
                ("description", "护理"),
                ("amount", "12.345"),
                ("payment_method", "cash"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.text.contains("value=\"12.345\"") && bad.text.contains("398 or 398.50"),
        "{}",
        bad.text
    );
    assert_eq!(
        app.get(&format!("/api/v1/clients/{}", chain.client_one), &chain.owner.token)
            .await
            .json["visit_count"],
        1
    );

    // New client: a bad phone is shown on its field; a good one lands on the client's page.
    let bad = user.post("/app/clients", &[("name", "王五"), ("phone", "12")]).await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("id=\"e-phone\""), "{}", bad.text);
    let made = user
        .post(
            "/app/clients",
            &[("name", "王五"), ("phone", "13612340000"), ("tags", "VIP, 敏感肌")],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text);
    let location = made.headers["location"].to_str().unwrap().to_owned();
    let page = user.get(&location).await;
    assert!(
        page.text.contains("王五") && page.text.contains("敏感肌"),
        "{}",
        page.text
    );

    // Edit: someone else saves first; the form comes back with a friendly message and the
    // staff member's input, and saving again works.
    let edit = user.get(&format!("{client_page}/edit")).await;
    let version = input_value(&edit.text, "version").unwrap();
    let meanwhile = app
        .patch(
            &format!("/api/v1/clients/{}", chain.client_one),
            &chain.owner.token,
            &json!({ "notes": "喜欢安静" }),
        )
        .await;
    assert_eq!(meanwhile.status, 200);
    let stale = user
        .post(
            &client_page,
            &[("name", "张三丰"), ("version", version.as_str()), ("notes", "下午来")],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert!(
        stale.text.contains("changed meanwhile") && stale.text.contains("下午来"),
        "{}",
        stale.text
    );
    let fresh = input_value(&stale.text, "version").unwrap();
    assert_ne!(fresh, version);
    let saved = user
        .post(
            &client_page,
            &[("name", "张三丰"), ("version", fresh.as_str()), ("notes", "下午来")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let after = app
        .get(&format!("/api/v1/clients/{}", chain.client_one), &chain.owner.token)
        .await;
    assert_eq!(after.json["notes"], "下午来");
}

async fn a_chain_signs_up_in_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = no_redirects();
    let form = app
        .send(
            client
                .get(app.url("/app/signup"))
                .header("accept-language", "zh-CN,zh;q=0.9"),
        )
        .await;
    assert_eq!(form.status, 200);
    assert!(form.text.contains("注册您的美容院"), "{}", form.text);
    let cookie = set_cookie(&form, "salon_form")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = input_value(&form.text, "csrf").unwrap();
    let signup = |fields: Vec<(&'static str, String)>| {
        let mut all = vec![("csrf", token.clone())];
        all.extend(fields);
        client
            .post(app.url("/app/signup"))
            .header("cookie", &cookie)
            .header("origin", &app.base)
            .form(&all)
    };
    // A short password and a bad email: both named on the form, in Chinese.
    let bad = app
        .send(signup(vec![
            ("tenant_name", "悦颜美容".into()),
            ("owner_name", "张丽".into()),
            ("email", "not-an-email".into()),
            ("password", "short".into()),
            ("timezone", "Asia/Shanghai".into()),
            ("locale", "zh-CN".into()),
        ]))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.text.contains("id=\"e-email\"") && bad.text.contains("id=\"e-password\""),
        "{}",
        bad.text
    );
    assert!(!bad.text.contains("value=\"short\""), "the password is not sent back");
    let email = format!("li-{}@example.com", uuid::Uuid::new_v4().simple());
    let ok = app
        .send(signup(vec![
            ("tenant_name", "悦颜美容".into()),
            ("owner_name", "张丽".into()),
            ("email", email.clone()),
            ("password", "a long password".into()),
            ("timezone", "Asia/Shanghai".into()),
            ("locale", "zh-CN".into()),
        ]))
        .await;
    assert_eq!(
        (ok.status, ok.headers["location"].to_str().unwrap()),
        (303, "/app/"),
        "{}",
        ok.text
    );
    let token = set_cookie(&ok, "salon_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("salon_session=")
        .to_owned();
    let owner = ConsoleUser::with_token(&app, &token).await;
    let today = owner.get("/app/").await;
    assert!(
        today.text.contains("开始使用") && today.text.contains("添加第一家门店"),
        "{}",
        today.text
    );
    // The owner's language is chosen in the console and kept with their account.
    let switched = owner.post("/app/locale", &[("locale", "en"), ("back", "/app/")]).await;
    assert_eq!(switched.status, 303);
    let today = owner.get("/app/").await;
    assert!(
        today.text.contains("Getting started") && today.text.contains("<html lang=\"en\">"),
        "{}",
        today.text
    );
    // And the API knows the same account.
    assert_eq!(app.login(&email, "a long password").await.status, 200);
}

/// `/api/docs` and the console's assets come from this server: a pinned renderer at a
/// fingerprinted URL, a CSP without other origins, immutable caching, gzip. (The backend does
/// not matter here: SQLite only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_and_assets_come_from_this_server() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = no_redirects();
    let docs = app.send(client.get(app.url("/api/docs"))).await;
    assert_eq!(docs.status, 200);
    assert!(
        !docs.text.contains("https://") && !docs.text.contains("http://"),
        "{}",
        docs.text
    );
    let csp = docs.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("https:") && !csp.contains("unsafe-eval"), "{csp}");
    let script = docs
        .text
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        script.starts_with("/assets/api-reference.") && script.ends_with(".js"),
        "{script}"
    );

    // The console's page names its assets by content hash; each is served for a year, gzipped.
    let login = app.send(client.get(app.url("/app/login"))).await;
    let css = login.text.replace("&#x2f;", "/");
    let css = css
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    for path in [script.as_str(), css.as_str()] {
        let asset = app
            .send(client.get(app.url(path)).header("accept-encoding", "gzip"))
            .await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(
            asset.headers["cache-control"], "public, max-age=31536000, immutable",
            "{path}"
        );
        assert_eq!(asset.headers["content-encoding"], "gzip", "{path}");
    }
    // Another hash of the same name is not served.
    let stale = app
        .send(client.get(app.url("/assets/console.0000000000000000.css")))
        .await;
    assert_eq!(stale.status, 404);
    // The first load of a screen (Today) with everything it loads, uncompressed, is well under
    // the 150 KB budget (compressed it is a third of that).
    let owner = app.signup("美丽人生").await;
    let user = ConsoleUser::with_token(&app, &owner.token).await;
    let today = user.get("/app/").await;
    let mut total = today.text.len();
    for attribute in ["href=\"/assets/", "src=\"/assets/"] {
        for part in today.text.split(attribute).skip(1) {
            let path = format!("/assets/{}", part.split('"').next().unwrap());
            let asset = app.send(client.get(app.url(&path))).await;
            assert_eq!(asset.status, 200, "{path}");
            total += asset.text.len();
        }
    }
    assert!(
        total > 50 * 1024 && total < 150 * 1024,
        "first load of Today: {total} bytes"
    );
}

/// A member whose first password an owner set logs in at the console: no session yet, but the
/// page where they choose their own; with it chosen, the console lets them in.
async fn a_first_password_set_by_the_owner_leads_to_the_password_page(backend: Backend) {
    let chain = chain(backend, &[]).await;
    let app = &chain.app;
    let email = format!("new-{}@example.com", uuid::Uuid::new_v4().simple());
    let created = app
        .post(
            "/api/v1/staff",
            &chain.owner.token,
            &serde_json::json!({ "name": "新前台", "email": email, "password": e2e::FIRST_PASSWORD,
                                 "role": "front_desk", "store_id": chain.store_one }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);

    let client = no_redirects();
    let form = app.send(client.get(app.url("/app/login"))).await;
    let form_cookie = set_cookie(&form, "salon_form")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let form_token = input_value(&form.text, "csrf").unwrap();
    let first = app
        .send(
            client
                .post(app.url("/app/login"))
                .header("cookie", &form_cookie)
                .header("origin", &app.base)
                .form(&[
                    ("csrf", form_token.as_str()),
                    ("email", email.as_str()),
                    ("password", e2e::FIRST_PASSWORD),
                ]),
        )
        .await;
    assert_eq!(first.status, 303, "{}", first.text);
    assert!(
        set_cookie(&first, "salon_session").is_none(),
        "no session before a password of their own"
    );
    let page = first.headers["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/app/password/"), "{page}");
    let shown = app.send(client.get(app.url(&page))).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown.text.contains("<form"), "{}", shown.text);

    // The token the page carries is the one the API takes; chosen, the console lets them in.
    let token = page.trim_start_matches("/app/password/");
    let chosen = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/password_tokens/{token}"),
            None,
            Some(&serde_json::json!({ "password": e2e::PASSWORD })),
        )
        .await;
    assert_eq!(chosen.status, 204, "{}", chosen.text);
    let user = ConsoleUser::log_in(app, &email, e2e::PASSWORD).await;
    assert_eq!(user.get("/app/").await.status, 200);
}
