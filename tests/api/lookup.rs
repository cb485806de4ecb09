//! The front desk's lookup: by name, pinyin, initials, phone prefix and last digits.

use e2e::{both_backends, Backend, TestApp};
use serde_json::json;

fn names(response: &e2e::Response) -> Vec<String> {
    response.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", response.text))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_form_of_lookup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    for (name, phone) in [
        ("张三丰", "13712345678"),
        ("张三", "13900001234"),
        ("李四", "13712340000"),
        ("Alice Wong", "+44 7911 120123"),
        ("王小明", "18612345678"),
        ("曾丽", "18600000001"),
    ] {
        let created = app
            .post(
                "/api/v1/clients",
                &owner.token,
                &json!({ "name": name, "phone": phone }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let find = |q: &str| {
        let app = &app;
        let token = owner.token.clone();
        let path = format!("/api/v1/clients?q={}", urlencode(q));
        async move { names(&app.get(&path, &token).await) }
    };
    // Name, any part.
    assert_eq!(find("三丰").await, ["张三丰"]);
    assert_eq!(find("张三").await, ["张三", "张三丰"], "the exact name first");
    assert_eq!(find("wong").await, ["Alice Wong"]);
    // Pinyin and initials.
    assert_eq!(find("zsf").await, ["张三丰"]);
    assert_eq!(find("zhangsanfeng").await, ["张三丰"]);
    assert_eq!(find("sanfeng").await, ["张三丰"]);
    assert_eq!(find("xiaoming").await, ["王小明"]);
    assert_eq!(
        find("hangsan").await,
        Vec::<String>::new(),
        "not from the middle of a syllable"
    );
    // Phone prefix, exact phone first.
    let mut by_prefix = find("1371234").await;
    by_prefix.sort();
    assert_eq!(by_prefix, ["张三丰", "李四"]);
    assert_eq!(find("13712340000").await[0], "李四");
    assert_eq!(find("137 1234 0000").await[0], "李四");
    // Last four digits, as front desks ask.
    assert_eq!(find("5678").await.len(), 2);
    let mut by_suffix = find("1234").await;
    by_suffix.sort();
    assert_eq!(by_suffix, ["张三"], "only numbers ending in 1234");
    assert_eq!(find("0123").await, ["Alice Wong"]);
    // Nothing, and nothing of another tenant.
    assert_eq!(find("不存在").await, Vec::<String>::new());
    let other = app.signup("Other").await;
    let theirs = app.get("/api/v1/clients?q=zsf", &other.token).await;
    assert_eq!(names(&theirs), Vec::<String>::new());
    let limited = app.get("/api/v1/clients?q=1&limit=1", &owner.token).await;
    assert!(names(&limited).len() <= 1);
    let bad_limit = app.get("/api/v1/clients?q=zs&limit=500", &owner.token).await;
    assert_eq!(bad_limit.invalid_fields(), ["limit"]);
}

async fn renamed_clients_are_found_by_their_new_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let created = app
        .post("/api/v1/clients", &owner.token, &json!({ "name": "赵六" }))
        .await;
    let id = created.json["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/clients/{id}"),
        &owner.token,
        &json!({ "name": "钱七", "phone": "13600000007" }),
    )
    .await;
    assert_eq!(
        names(&app.get("/api/v1/clients?q=zl", &owner.token).await),
        Vec::<String>::new()
    );
    assert_eq!(names(&app.get("/api/v1/clients?q=qq", &owner.token).await), ["钱七"]);
    assert_eq!(names(&app.get("/api/v1/clients?q=0007", &owner.token).await), ["钱七"]);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

both_backends!(every_form_of_lookup, renamed_clients_are_found_by_their_new_name);
