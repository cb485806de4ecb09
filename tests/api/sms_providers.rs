//! The SMS clients (`worker::delivery::sms`) against the fake providers (`e2e::fakes::sms`):
//! real HTTP on loopback, real signatures, no database.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use e2e::fakes::sms::{self, Failure, FakeSms, ReceivedSms};
use worker::delivery::sms::{SmsConfig, SmsGateway, SmsMessage, SmsProviderKind};
use worker::delivery::SendOutcome;

const PROVIDERS: [(&str, SmsProviderKind); 3] = [
    ("twilio", SmsProviderKind::Twilio),
    ("aliyun", SmsProviderKind::Aliyun),
    ("tencent", SmsProviderKind::Tencent),
];

fn config(vars: Vec<(String, String)>) -> SmsConfig {
    let map: HashMap<String, String> = vars.into_iter().collect();
    SmsConfig::from_lookup(|name| map.get(name).cloned()).unwrap()
}

fn gateway(fake: &FakeSms, provider: &str) -> SmsGateway {
    SmsGateway::new(config(fake.env(provider)))
}

/// `fake.env(provider)` with `name` replaced by `value`.
fn env_with(fake: &FakeSms, provider: &str, name: &str, value: &str) -> Vec<(String, String)> {
    let mut vars = fake.env(provider);
    vars.retain(|(k, _)| k != name);
    vars.push((name.to_owned(), value.to_owned()));
    vars
}

fn survey(to: &str) -> SmsMessage {
    SmsMessage {
        message_id: uuid::Uuid::new_v4().to_string(),
        to: to.into(),
        body: "【美发沙龙】王女士，感谢光临静安店，请为本次服务打分：https://s.example.cn/s/abc 回T退订".into(),
        template: "survey".into(),
        params: BTreeMap::from([
            ("client_name".into(), "王女士".into()),
            ("store_name".into(), "静安店".into()),
            ("link".into(), "https://s.example.cn/s/abc?x=1&y=a b".into()),
        ]),
    }
}

fn assert_transient(outcome: &SendOutcome, retry_after: Option<Duration>) {
    match outcome {
        SendOutcome::Transient { retry_after: got, .. } => assert_eq!(*got, retry_after, "{outcome:?}"),
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

fn assert_permanent(outcome: &SendOutcome) {
    assert!(
        matches!(outcome, SendOutcome::Permanent { .. }),
        "expected a permanent failure, got {outcome:?}"
    );
}

#[tokio::test]
async fn twilio_accepts_a_message() {
    let fake = FakeSms::start();
    let gateway = gateway(&fake, "twilio");
    assert_eq!(gateway.default_provider(), Some(SmsProviderKind::Twilio));
    let message = survey("+447700900123");
    let outcome = gateway.send(SmsProviderKind::Twilio, &message).await;
    let SendOutcome::Sent {
        provider_message_id: Some(sid),
    } = outcome
    else {
        panic!("not sent: {outcome:?}");
    };
    assert!(
        sid.starts_with("SM") && sid.len() == 34 && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{sid}"
    );
    assert_eq!(
        fake.received(),
        vec![ReceivedSms {
            provider: "twilio".into(),
            to: "+447700900123".into(),
            body: Some(message.body.clone()),
            template: None,
            params: vec![],
            reference: None,
        }]
    );
}

#[tokio::test]
async fn twilio_with_an_api_key() {
    let fake = FakeSms::start();
    let mut vars = env_with(&fake, "twilio", "TWILIO_AUTH_TOKEN", sms::TWILIO_API_KEY_SECRET);
    vars.push(("TWILIO_API_KEY_SID".into(), sms::TWILIO_API_KEY_SID.into()));
    let gateway = SmsGateway::new(config(vars));
    let outcome = gateway.send(SmsProviderKind::Twilio, &survey("+8613800138000")).await;
    assert!(
        matches!(
            outcome,
            SendOutcome::Sent {
                provider_message_id: Some(_)
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn aliyun_accepts_a_message() {
    let fake = FakeSms::start();
    let gateway = gateway(&fake, "aliyun");
    let message = survey("+8613800138000");
    let outcome = gateway.send(SmsProviderKind::Aliyun, &message).await;
    let SendOutcome::Sent {
        provider_message_id: Some(biz_id),
    } = outcome
    else {
        panic!("not sent: {outcome:?}");
    };
    assert!(biz_id.ends_with("^0"), "{biz_id}");
    assert_eq!(
        fake.received(),
        vec![ReceivedSms {
            provider: "aliyun".into(),
            // Mainland numbers go to Aliyun as the 11 national digits.
            to: "13800138000".into(),
            body: None,
            template: Some("SMS_1002".into()),
            params: vec![
                ("client_name".into(), "王女士".into()),
                ("link".into(), "https://s.example.cn/s/abc?x=1&y=a b".into()),
                ("store_name".into(), "静安店".into()),
            ],
            reference: Some(message.message_id.clone()),
        }]
    );

    // International numbers: the digits without '+'. A second request needs a fresh nonce: the
    // fake refuses a reused one, so this also shows the nonces differ.
    let outcome = gateway.send(SmsProviderKind::Aliyun, &survey("+447700900123")).await;
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(fake.received()[1].to, "447700900123");
}

#[tokio::test]
async fn tencent_accepts_a_message() {
    let fake = FakeSms::start();
    let gateway = gateway(&fake, "tencent");
    let message = survey("+8613800138000");
    let outcome = gateway.send(SmsProviderKind::Tencent, &message).await;
    let SendOutcome::Sent {
        provider_message_id: Some(serial),
    } = outcome
    else {
        panic!("not sent: {outcome:?}");
    };
    assert!(serial.starts_with("2645:"), "{serial}");
    assert_eq!(
        fake.received(),
        vec![ReceivedSms {
            provider: "tencent".into(),
            to: "+8613800138000".into(),
            body: None,
            template: Some("100002".into()),
            // survey: {1} client_name, {2} store_name, {3} link.
            params: vec![
                ("1".into(), "王女士".into()),
                ("2".into(), "静安店".into()),
                ("3".into(), "https://s.example.cn/s/abc?x=1&y=a b".into()),
            ],
            reference: Some(message.message_id.clone()),
        }]
    );

    // wake_up: client_name, store_name, offer, store_phone; an absent one is sent empty.
    let mut wake_up = survey("+8613800138001");
    wake_up.template = "wake_up".into();
    wake_up.params = BTreeMap::from([
        ("client_name".into(), "李先生".into()),
        ("store_name".into(), "静安店".into()),
        ("store_phone".into(), "021-12345678".into()),
    ]);
    let outcome = gateway.send(SmsProviderKind::Tencent, &wake_up).await;
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let params: Vec<String> = fake.received()[1].params.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(params, ["李先生", "静安店", "", "021-12345678"]);
}

#[tokio::test]
async fn too_many_requests_is_transient_with_retry_after() {
    for (name, kind) in PROVIDERS {
        let fake = FakeSms::start();
        fake.fail_next(
            name,
            1,
            Failure::TooManyRequests {
                retry_after_secs: Some(7),
            },
        );
        let outcome = gateway(&fake, name).send(kind, &survey("+8613800138000")).await;
        assert_transient(&outcome, Some(Duration::from_secs(7)));
        assert!(fake.received().is_empty(), "{name}");
        // The script is used up: the next attempt goes through.
        let outcome = gateway(&fake, name).send(kind, &survey("+8613800138000")).await;
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{name}: {outcome:?}");
        assert_eq!(fake.received().len(), 1, "{name}");
        assert_eq!(fake.requests(), 2, "{name}");
    }
}

#[tokio::test]
async fn server_errors_are_transient() {
    for (name, kind) in PROVIDERS {
        let fake = FakeSms::start();
        fake.fail_next(name, 2, Failure::ServerError);
        let gateway = gateway(&fake, name);
        for _ in 0..2 {
            let outcome = gateway.send(kind, &survey("+8613800138000")).await;
            assert_transient(&outcome, None);
        }
        assert!(fake.received().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn invalid_numbers_are_permanent() {
    let expected = [
        ("twilio", "twilio_21211"),
        ("aliyun", "aliyun_isv.MOBILE_NUMBER_ILLEGAL"),
        ("tencent", "tencent_InvalidParameterValue.IncorrectPhoneNumber"),
    ];
    for ((name, kind), (_, code)) in PROVIDERS.into_iter().zip(expected) {
        let fake = FakeSms::start();
        fake.fail_next(name, 1, Failure::InvalidNumber);
        let outcome = gateway(&fake, name).send(kind, &survey("+8613800138000")).await;
        assert_permanent(&outcome);
        assert_eq!(outcome.code(), Some(code), "{name}");
        assert!(fake.received().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn malformed_numbers_never_leave() {
    let fake = FakeSms::start();
    for (name, kind) in PROVIDERS {
        let outcome = gateway(&fake, name).send(kind, &survey("13800138000")).await;
        assert_eq!(outcome.code(), Some("invalid_number"), "{name}");
        assert_permanent(&outcome);
    }
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn provider_throttling_is_transient() {
    let expected = [
        ("twilio_21611", None),
        ("aliyun_isv.BUSINESS_LIMIT_CONTROL", Some(Duration::from_secs(60))),
        (
            "tencent_LimitExceeded.PhoneNumberThirtySecondLimit",
            Some(Duration::from_secs(30)),
        ),
    ];
    for ((name, kind), (code, retry_after)) in PROVIDERS.into_iter().zip(expected) {
        let fake = FakeSms::start();
        fake.fail_next(name, 1, Failure::Throttled);
        let outcome = gateway(&fake, name).send(kind, &survey("+8613800138000")).await;
        assert_transient(&outcome, retry_after);
        assert_eq!(outcome.code(), Some(code), "{name}");
        assert!(fake.received().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn wrong_credentials_are_permanent_and_nothing_is_accepted() {
    let wrong = [
        ("twilio", "TWILIO_AUTH_TOKEN", "twilio_20003"),
        ("aliyun", "ALIYUN_ACCESS_KEY_SECRET", "aliyun_SignatureDoesNotMatch"),
        ("tencent", "TENCENT_SECRET_KEY", "tencent_AuthFailure.SignatureFailure"),
    ];
    for ((name, kind), (_, variable, code)) in PROVIDERS.into_iter().zip(wrong) {
        let fake = FakeSms::start();
        // A scripted failure is not consumed by an unauthenticated request.
        fake.fail_next(name, 1, Failure::ServerError);
        let gateway = SmsGateway::new(config(env_with(&fake, name, variable, "not-the-secret")));
        let outcome = gateway.send(kind, &survey("+8613800138000")).await;
        assert_permanent(&outcome);
        assert_eq!(outcome.code(), Some(code), "{name}");
        assert!(fake.received().is_empty(), "{name}");
        assert_eq!(fake.requests(), 1, "{name}");
    }

    // An unknown key id is refused too.
    let fake = FakeSms::start();
    let gateway = SmsGateway::new(config(env_with(
        &fake,
        "aliyun",
        "ALIYUN_ACCESS_KEY_ID",
        "LTAI-someone-else",
    )));
    let outcome = gateway.send(SmsProviderKind::Aliyun, &survey("+8613800138000")).await;
    assert_eq!(outcome.code(), Some("aliyun_InvalidAccessKeyId.NotFound"));
    assert_permanent(&outcome);
    let gateway = SmsGateway::new(config(env_with(
        &fake,
        "tencent",
        "TENCENT_SECRET_ID",
        "AKID-someone-else",
    )));
    let outcome = gateway.send(SmsProviderKind::Tencent, &survey("+8613800138000")).await;
    assert_eq!(outcome.code(), Some("tencent_AuthFailure.SecretIdNotFound"));
    assert!(fake.received().is_empty());
}

#[tokio::test]
async fn missing_templates_are_permanent_before_any_request() {
    let fake = FakeSms::start();
    let gateway = SmsGateway::new(config(env_with(
        &fake,
        "aliyun",
        "ALIYUN_TEMPLATE_CODES",
        "birthday=SMS_1001",
    )));
    let outcome = gateway.send(SmsProviderKind::Aliyun, &survey("+8613800138000")).await;
    assert_eq!(outcome.code(), Some("no_template_code"));
    let gateway = SmsGateway::new(config(env_with(
        &fake,
        "tencent",
        "TENCENT_TEMPLATE_IDS",
        "birthday=100001",
    )));
    let outcome = gateway.send(SmsProviderKind::Tencent, &survey("+8613800138000")).await;
    assert_eq!(outcome.code(), Some("no_template_id"));
    let mut message = survey("+8613800138000");
    message.template = "newsletter".into();
    let outcome = gateway.send(SmsProviderKind::Tencent, &message).await;
    assert_eq!(outcome.code(), Some("unknown_template"));
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_connect_error() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = FakeSms::start();
    let vars = env_with(&fake, "twilio", "TWILIO_BASE_URL", &format!("http://127.0.0.1:{port}"));
    let outcome = SmsGateway::new(config(vars))
        .send(SmsProviderKind::Twilio, &survey("+8613800138000"))
        .await;
    assert_eq!(outcome.code(), Some("connect"));
    assert_transient(&outcome, None);
}

#[tokio::test]
async fn the_file_provider_writes_one_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("outbox");
    let gateway = SmsGateway::new(config(vec![("OUTBOX_DIR".into(), out.display().to_string())]));
    assert_eq!(gateway.default_provider(), Some(SmsProviderKind::File));
    let first = survey("+8613800138000");
    let second = survey("+8613800138001");
    for message in [&first, &first, &second] {
        let outcome = gateway.send(SmsProviderKind::File, message).await;
        assert_eq!(
            outcome,
            SendOutcome::Sent {
                provider_message_id: Some(message.message_id.clone())
            }
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected = vec![
        format!("{}.txt", first.message_id),
        format!("{}.txt", second.message_id),
    ];
    expected.sort();
    assert_eq!(names, expected);
    let text = std::fs::read_to_string(out.join(format!("{}.txt", first.message_id))).unwrap();
    assert!(text.starts_with("To: +8613800138000\nTemplate: survey\n"), "{text}");
    assert!(text.ends_with(&format!("\n\n{}\n", first.body)), "{text}");
}

#[tokio::test]
async fn an_unconfigured_provider_is_permanent() {
    let fake = FakeSms::start();
    let gateway = gateway(&fake, "twilio");
    for kind in [SmsProviderKind::Aliyun, SmsProviderKind::Tencent, SmsProviderKind::File] {
        assert!(!gateway.is_configured(kind));
        let outcome = gateway.send(kind, &survey("+8613800138000")).await;
        assert_eq!(outcome.code(), Some("not_configured"), "{kind:?}");
        assert_permanent(&outcome);
    }
    assert!(gateway.is_configured(SmsProviderKind::Twilio));
    assert_eq!(fake.requests(), 0);
}

#[test]
fn a_partly_configured_provider_is_a_problem() {
    let fake = FakeSms::start();
    let mut vars: HashMap<String, String> = fake.env("tencent").into_iter().collect();
    vars.remove("TENCENT_SECRET_KEY");
    let problems = SmsConfig::from_lookup(|name| vars.get(name).cloned()).unwrap_err();
    assert!(
        problems.iter().any(|p| p.starts_with("TENCENT_SECRET_KEY")),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 1, "{problems:?}");

    let vars: HashMap<&str, &str> = HashMap::from([("ALIYUN_ACCESS_KEY_ID", "LTAI-fake"), ("SMS_PROVIDER", "aliyun")]);
    let problems = SmsConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string())).unwrap_err();
    for missing in ["ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SIGN_NAME", "ALIYUN_TEMPLATE_CODES"] {
        assert!(
            problems.iter().any(|p| p.starts_with(missing)),
            "{missing}: {problems:?}"
        );
    }
    assert!(!problems.iter().any(|p| p.starts_with("SMS_PROVIDER")), "{problems:?}");
}

#[tokio::test]
async fn concurrent_sends_share_the_gateway_within_its_limit() {
    let fake = FakeSms::start();
    // Slow enough that the ten sends overlap unless the gateway holds them back.
    fake.set_delay(std::time::Duration::from_millis(100));
    let mut vars = fake.env("aliyun");
    vars.push(("SMS_CONCURRENCY".into(), "2".into()));
    let gateway = std::sync::Arc::new(SmsGateway::new(config(vars)));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                gateway
                    .send(SmsProviderKind::Aliyun, &survey(&format!("+86138001380{i:02}")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.unwrap();
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    }
    assert_eq!(fake.received().len(), 10);
    assert_eq!(
        fake.max_in_flight(),
        2,
        "SMS_CONCURRENCY=2 requests at once, and no more"
    );
}

// ---- the fake itself refuses what the real providers refuse (raw HTTP, hand-signed) ----

/// A `SendSms` to the fake Aliyun, signed with the worker's ACS3 functions.
async fn aliyun_raw(fake: &FakeSms, date: &str, nonce: &str) -> (u16, serde_json::Value) {
    use worker::delivery::sms::aliyun;
    let query = aliyun::canonical_query(&[
        ("PhoneNumbers", "13800138000"),
        ("SignName", sms::ALIYUN_SIGN_NAME),
        ("TemplateCode", "SMS_1002"),
        (
            "TemplateParam",
            r#"{"client_name":"王女士","store_name":"静安店","link":"x"}"#,
        ),
    ]);
    let host = fake.base_url().trim_start_matches("http://").to_owned();
    let body_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b""));
    let headers = [
        ("host", host.as_str()),
        ("x-acs-action", "SendSms"),
        ("x-acs-content-sha256", body_hash.as_str()),
        ("x-acs-date", date),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-version", "2017-05-25"),
    ];
    let (canonical, signed) = aliyun::canonical_request("POST", "/", &query, &headers, &body_hash);
    let signature = aliyun::signature(sms::ALIYUN_ACCESS_KEY_SECRET, &canonical);
    let mut request = reqwest::Client::new().post(format!("{}/?{query}", fake.base_url()));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .header(
            "authorization",
            aliyun::authorization(sms::ALIYUN_ACCESS_KEY_ID, &signed, &signature),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn fake_aliyun_refuses_replayed_nonces_and_stale_dates() {
    let fake = FakeSms::start();
    let now = chrono::Utc::now();
    let date = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (status, body) = aliyun_raw(&fake, &date, "nonce-1").await;
    assert_eq!((status, body["Code"].as_str()), (200, Some("OK")), "{body}");
    let (status, body) = aliyun_raw(&fake, &date, "nonce-1").await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureNonceUsed")),
        "{body}"
    );
    let stale = (now - chrono::Duration::minutes(16))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (status, body) = aliyun_raw(&fake, &stale, "nonce-2").await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidTimeStamp.Expired")),
        "{body}"
    );
    let (status, body) = aliyun_raw(
        &fake,
        &(now - chrono::Duration::minutes(14))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        "nonce-3",
    )
    .await;
    assert_eq!((status, body["Code"].as_str()), (200, Some("OK")), "{body}");
    assert_eq!(fake.received().len(), 2);
    assert_eq!(fake.requests(), 4);
}

/// A `SendSms` to the fake Tencent, signed with the worker's TC3 functions.
async fn tencent_raw(fake: &FakeSms, timestamp: i64, region: &str) -> (u16, Option<String>, serde_json::Value) {
    use worker::delivery::sms::tencent;
    let payload = serde_json::json!({
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": sms::TENCENT_SDK_APP_ID,
        "TemplateId": "100002",
        "SignName": sms::TENCENT_SIGN_NAME,
        "TemplateParamSet": ["王女士", "静安店", "x"],
    })
    .to_string();
    let host = fake.base_url().trim_start_matches("http://").to_owned();
    let date = tencent::utc_date(timestamp);
    let canonical = tencent::canonical_request("application/json; charset=utf-8", &host, payload.as_bytes());
    let signature = tencent::signature(
        sms::TENCENT_SECRET_KEY,
        &date,
        "sms",
        &tencent::string_to_sign(timestamp, &date, "sms", &canonical),
    );
    let response = reqwest::Client::new()
        .post(format!("{}/", fake.base_url()))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-tc-action", "SendSms")
        .header("x-tc-version", "2021-01-11")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("x-tc-region", region)
        .header(
            "authorization",
            tencent::authorization(sms::TENCENT_SECRET_ID, &date, "sms", &signature),
        )
        .body(payload)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, response.json().await.unwrap())
}

#[tokio::test]
async fn fake_tencent_checks_time_region_and_answers_200() {
    let fake = FakeSms::start();
    let now = chrono::Utc::now().timestamp();
    let (status, content_type, body) = tencent_raw(&fake, now, "ap-guangzhou").await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body["Response"]["SendStatusSet"][0]["Code"], "Ok", "{body}");
    let (status, _, body) = tencent_raw(&fake, now - 600, "ap-guangzhou").await;
    assert_eq!(
        (status, &body["Response"]["Error"]["Code"]),
        (200, &serde_json::json!("AuthFailure.SignatureExpire"))
    );
    let (status, _, body) = tencent_raw(&fake, now, "ap-mars").await;
    assert_eq!(
        (status, &body["Response"]["Error"]["Code"]),
        (200, &serde_json::json!("UnsupportedRegion"))
    );
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn fake_twilio_checks_auth_and_fields() {
    let fake = FakeSms::start();
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        fake.base_url(),
        sms::TWILIO_ACCOUNT_SID
    );
    let post = |user: &str, secret: &str, form: &[(&str, &str)]| {
        reqwest::Client::new()
            .post(&url)
            .basic_auth(user, Some(secret))
            .form(form)
            .send()
    };
    let code = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body["code"].as_u64().unwrap())
    };
    let (account, token) = (sms::TWILIO_ACCOUNT_SID, sms::TWILIO_AUTH_TOKEN);
    let full = [("To", "+447700900123"), ("From", sms::TWILIO_FROM), ("Body", "hi")];
    assert_eq!(code(post(account, "wrong", &full).await.unwrap()).await, (401, 20003));
    assert_eq!(
        code(post(account, token, &full[1..]).await.unwrap()).await,
        (400, 21604)
    );
    assert_eq!(
        code(
            post(account, token, &[("To", "12345"), full[1], full[2]])
                .await
                .unwrap()
        )
        .await,
        (400, 21211)
    );
    assert_eq!(
        code(post(account, token, &[full[0], full[2]]).await.unwrap()).await,
        (400, 21603)
    );
    assert_eq!(
        code(post(account, token, &full[..2]).await.unwrap()).await,
        (400, 21602)
    );
    let response = post(account, token, &full).await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["num_segments"].as_str()),
        (Some("queued"), Some("1"))
    );
    assert_eq!(fake.received().len(), 1);
    assert_eq!(fake.requests(), 6);
}
