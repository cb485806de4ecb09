//! Fake SMS providers (Twilio, Aliyun, Tencent) on loopback: one real HTTP server (actix-web, on
//! its own thread and actix System, so any caller can use it, inside a runtime or not), for the
//! SMS clients in-process and for the `worker` binary as a child process.
//!
//! One base URL serves all three; requests are told apart as the real hosts would be reached:
//! Twilio by its path (`/2010-04-01/Accounts/{sid}/Messages.json`), Aliyun by the
//! `x-acs-action` header, Tencent by `X-TC-Action` (both `POST /`).
//!
//! Like the real providers, the fake checks authentication before anything else:
//! - Twilio: HTTP Basic with the account SID and auth token (or the API key SID and its
//!   secret), the path's account SID, then `To` (E.164), `From` or `MessagingServiceSid`, `Body`:
//!   401/`20003`, 404/`20404`, 400/`21604`, `21211`, `21603`, `21606`, `21705`, `21602` as JSON
//!   `{code, message, more_info, status}`.
//! - Aliyun: recomputes the `ACS3-HMAC-SHA256` signature from the request as received (query
//!   decoded and re-encoded, signed headers' values, body hash) and compares, rejects an unknown
//!   AccessKey, a timestamp more than 15 minutes off (`InvalidTimeStamp.Expired`) and a reused
//!   nonce (`SignatureNonceUsed`), with Aliyun's error JSON (`RequestId, HostId, Code, Message,
//!   Recommend`); business errors are HTTP 200 with a `Code` other than `OK`.
//! - Tencent: recomputes `TC3-HMAC-SHA256` (signed headers as listed, `content-type` and `host`
//!   required), checks `X-TC-Action`, `X-TC-Version`, `X-TC-Region`, `X-TC-Timestamp` (5
//!   minutes), and answers HTTP 200 with `Response.Error` for request errors, `SendStatusSet`
//!   per number otherwise. Its `Content-Type` has no charset.
//!
//! The fake's "approved" Tencent templates (ids from [`TENCENT_TEMPLATE_IDS`]) take 3
//! (`birthday`, `survey`) or 4 (`complaint_alert`, `escalation`, `wake_up`) parameters.
//!
//! Scripted failures ([`FakeSms::fail_next`]) are taken, one per request, by requests to that
//! provider that passed authentication:
//!
//! | [`Failure`] | Twilio | Aliyun | Tencent |
//! |---|---|---|---|
//! | `TooManyRequests` | 429, code 20429 | 429, `Throttling.User` | 429 (from the front, not the API) |
//! | `ServerError` | 500, code 20500 | 503, `ServiceUnavailable` | 502 `Bad Gateway` (from the front) |
//! | `Unavailable` | 503, code 20503 | 503, `ServiceUnavailable` | 503 (from the front) |
//! | `InvalidNumber` | 400, code 21211 | 200, `isv.MOBILE_NUMBER_ILLEGAL` | 200, `InvalidParameterValue.IncorrectPhoneNumber` |
//! | `Throttled` | 400, code 21611 (sender queue full) | 200, `isv.BUSINESS_LIMIT_CONTROL` (per minute) | 200, `LimitExceeded.PhoneNumberThirtySecondLimit` |
//!
//! `TooManyRequests { retry_after_secs: Some(n) }` adds `Retry-After: n`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use chrono::{NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

// Obviously fake credentials, the same in the fake and in the env it hands out.
pub const TWILIO_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const TWILIO_AUTH_TOKEN: &str = "fake-twilio-auth-token";
pub const TWILIO_API_KEY_SID: &str = "SK00000000000000000000000000000001";
pub const TWILIO_API_KEY_SECRET: &str = "fake-twilio-api-key-secret";
pub const TWILIO_FROM: &str = "+15005550006";
pub const TWILIO_MESSAGING_SERVICE_SID: &str = "MG00000000000000000000000000000001";
pub const ALIYUN_ACCESS_KEY_ID: &str = "LTAI-fake-access-key-id";
pub const ALIYUN_ACCESS_KEY_SECRET: &str = "fake-aliyun-access-key-secret";
pub const ALIYUN_SIGN_NAME: &str = "美发沙龙";
pub const ALIYUN_TEMPLATE_CODES: &str =
    "birthday=SMS_1001,survey=SMS_1002,complaint_alert=SMS_1003,escalation=SMS_1004,wake_up=SMS_1005";
pub const TENCENT_SECRET_ID: &str = "AKID-fake-secret-id";
pub const TENCENT_SECRET_KEY: &str = "fake-tencent-secret-key";
pub const TENCENT_SDK_APP_ID: &str = "1400000000";
pub const TENCENT_SIGN_NAME: &str = "美发沙龙";
pub const TENCENT_REGION: &str = "ap-guangzhou";
pub const TENCENT_TEMPLATE_IDS: &str =
    "birthday=100001,survey=100002,complaint_alert=100003,escalation=100004,wake_up=100005";

/// Tencent template id → number of `{n}` placeholders in the "approved" template.
const TENCENT_TEMPLATE_PARAMS: [(&str, usize); 5] = [
    ("100001", 3),
    ("100002", 3),
    ("100003", 4),
    ("100004", 4),
    ("100005", 4),
];
const TENCENT_REGIONS: [&str; 3] = ["ap-guangzhou", "ap-beijing", "ap-nanjing"];

/// One message a fake provider accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// `twilio`, `aliyun` or `tencent`.
    pub provider: String,
    /// The number exactly as the provider received it: E.164 for Twilio and Tencent, the
    /// national digits (mainland China) or international digits without `+` for Aliyun.
    pub to: String,
    /// Twilio's `Body` (the others send a template and parameters).
    pub body: Option<String>,
    /// Aliyun's `TemplateCode` or Tencent's `TemplateId`.
    pub template: Option<String>,
    /// Aliyun: the `TemplateParam` object's entries, sorted by name. Tencent: the
    /// `TemplateParamSet` array as `("1", first)`, `("2", second)`, … (the template's `{1}`,
    /// `{2}` placeholders). Twilio: empty.
    pub params: Vec<(String, String)>,
    /// Aliyun's `OutId` or Tencent's `SessionContext`.
    pub reference: Option<String>,
}

/// A scripted failure, see the table in the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    TooManyRequests {
        retry_after_secs: Option<u64>,
    },
    ServerError,
    /// 503 Service Unavailable (an outage): Twilio code 20503, Aliyun `ServiceUnavailable`,
    /// Tencent's front.
    Unavailable,
    InvalidNumber,
    /// The provider's business throttling code.
    Throttled,
}

#[derive(Default)]
struct State {
    received: Vec<ReceivedSms>,
    requests: usize,
    failures: HashMap<String, VecDeque<Failure>>,
    aliyun_nonces: HashSet<String>,
    /// Providers that are down: every authenticated request fails this way until cleared.
    down: HashMap<String, Failure>,
    /// Twilio's message log (sid, to, body, created), oldest first, for `GET Messages.json`.
    twilio_log: Vec<(String, String, String, chrono::DateTime<Utc>)>,
    /// How long every request waits before it is answered (a slow provider).
    delay: std::time::Duration,
    in_flight: usize,
    max_in_flight: usize,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The three fake providers on one loopback port; stopped on drop.
pub struct FakeSms {
    state: Shared,
    addr: SocketAddr,
    handle: ServerHandle,
}

impl FakeSms {
    pub fn start() -> FakeSms {
        let state: Shared = Arc::default();
        let shared = state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("fake-sms".into())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    let data = web::Data::new(shared);
                    let server =
                        HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(handle)))
                            .workers(1)
                            .disable_signals()
                            .shutdown_timeout(1)
                            .bind(("127.0.0.1", 0));
                    let server = match server {
                        Ok(server) => server,
                        Err(error) => {
                            let _ = tx.send(Err(error.to_string()));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let server = server.run();
                    let _ = tx.send(Ok((addr, server.handle())));
                    let _ = server.await;
                });
            })
            .expect("the fake SMS thread starts");
        let (addr, handle) = rx
            .recv()
            .expect("the fake SMS server reports its address")
            .unwrap_or_else(|error| panic!("the fake SMS server cannot listen: {error}"));
        FakeSms { state, addr, handle }
    }

    /// `http://127.0.0.1:<port>`, the base URL of all three providers.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every variable the worker needs to send through `provider` (`twilio`, `aliyun`,
    /// `tencent`) here, `SMS_PROVIDER` included.
    pub fn env(&self, provider: &str) -> Vec<(String, String)> {
        let base = self.base_url();
        let vars: Vec<(&str, &str)> = match provider {
            "twilio" => vec![
                ("SMS_PROVIDER", "twilio"),
                ("TWILIO_BASE_URL", &base),
                ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID),
                ("TWILIO_AUTH_TOKEN", TWILIO_AUTH_TOKEN),
                ("TWILIO_FROM", TWILIO_FROM),
            ],
            "aliyun" => vec![
                ("SMS_PROVIDER", "aliyun"),
                ("ALIYUN_BASE_URL", &base),
                ("ALIYUN_ACCESS_KEY_ID", ALIYUN_ACCESS_KEY_ID),
                ("ALIYUN_ACCESS_KEY_SECRET", ALIYUN_ACCESS_KEY_SECRET),
                ("ALIYUN_SIGN_NAME", ALIYUN_SIGN_NAME),
                ("ALIYUN_TEMPLATE_CODES", ALIYUN_TEMPLATE_CODES),
            ],
            "tencent" => vec![
                ("SMS_PROVIDER", "tencent"),
                ("TENCENT_BASE_URL", &base),
                ("TENCENT_SECRET_ID", TENCENT_SECRET_ID),
                ("TENCENT_SECRET_KEY", TENCENT_SECRET_KEY),
                ("TENCENT_SDK_APP_ID", TENCENT_SDK_APP_ID),
                ("TENCENT_SIGN_NAME", TENCENT_SIGN_NAME),
                ("TENCENT_REGION", TENCENT_REGION),
                ("TENCENT_TEMPLATE_IDS", TENCENT_TEMPLATE_IDS),
            ],
            other => panic!("the fake has no SMS provider {other:?} (twilio, aliyun or tencent)"),
        };
        vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    /// The accepted messages, in order.
    pub fn received(&self) -> Vec<ReceivedSms> {
        lock(&self.state).received.clone()
    }

    /// Every request seen, accepted or not.
    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    /// Every request from now on waits `delay` before it is handled (a slow provider).
    pub fn set_delay(&self, delay: std::time::Duration) {
        lock(&self.state).delay = delay;
    }

    /// The most requests that were being handled at once.
    pub fn max_in_flight(&self) -> usize {
        lock(&self.state).max_in_flight
    }

    /// Every authenticated request to `provider` fails with `failure` until `set_down(provider,
    /// None)`: an outage.
    pub fn set_down(&self, provider: &str, failure: Option<Failure>) {
        let mut state = lock(&self.state);
        match failure {
            Some(failure) => state.down.insert(provider.to_owned(), failure),
            None => state.down.remove(provider),
        };
    }

    /// The next `times` authenticated requests to `provider` fail with `failure`.
    pub fn fail_next(&self, provider: &str, times: usize, failure: Failure) {
        assert!(
            matches!(provider, "twilio" | "aliyun" | "tencent"),
            "no SMS provider {provider:?}"
        );
        let mut state = lock(&self.state);
        let queue = state.failures.entry(provider.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(failure, times));
    }
}

impl Drop for FakeSms {
    fn drop(&mut self) {
        // Sends the stop command now; the server thread ends on its own.
        drop(self.handle.stop(false));
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Shared>) -> HttpResponse {
    let state: &Shared = &state;
    let delay = {
        let mut state = lock(state);
        state.requests += 1;
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        state.delay
    };
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let response = route(state, &req, &body);
    lock(state).in_flight -= 1;
    response
}

fn route(state: &Shared, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    if req.path().starts_with("/2010-04-01/") {
        twilio(state, req, body)
    } else if req.headers().contains_key("x-acs-action") {
        aliyun(state, req, body)
    } else if req.headers().contains_key("x-tc-action") {
        tencent(state, req, body)
    } else {
        HttpResponse::NotFound()
            .content_type("text/plain")
            .body("no fake SMS provider here")
    }
}

fn next_failure(state: &Shared, provider: &str) -> Option<Failure> {
    let mut state = lock(state);
    if let Some(failure) = state.down.get(provider) {
        return Some(failure.clone());
    }
    state.failures.get_mut(provider).and_then(VecDeque::pop_front)
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn too_many(retry_after_secs: Option<u64>, body: Value) -> HttpResponse {
    let mut response = HttpResponse::TooManyRequests();
    if let Some(secs) = retry_after_secs {
        response.insert_header(("Retry-After", secs.to_string()));
    }
    response.json(body)
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn random_digits(n: usize) -> String {
    let digits = uuid::Uuid::new_v4().as_u128().to_string();
    digits[digits.len().saturating_sub(n)..].to_owned()
}

// ---------------------------------------------------------------- Twilio

fn twilio_error(status: u16, code: u32, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST));
    if status == 401 {
        response.insert_header(("WWW-Authenticate", "Basic realm=\"Twilio API\""));
    }
    response.json(json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    }))
}

fn twilio(state: &Shared, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let authenticated = header(req, "authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .is_some_and(|pair| {
            pair == format!("{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}")
                || pair == format!("{TWILIO_API_KEY_SID}:{TWILIO_API_KEY_SECRET}")
        });
    if !authenticated {
        return twilio_error(401, 20003, "Authenticate");
    }
    let expected = format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json");
    if req.path() == expected && req.method() == actix_web::http::Method::GET {
        return twilio_list(state, req);
    }
    if req.path() != expected || req.method() != actix_web::http::Method::POST {
        return twilio_error(
            404,
            20404,
            &format!("The requested resource {} was not found", req.path()),
        );
    }
    match next_failure(state, "twilio") {
        Some(Failure::TooManyRequests { retry_after_secs }) => {
            return too_many(
                retry_after_secs,
                json!({"code": 20429, "message": "Too Many Requests",
                       "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}),
            )
        }
        Some(Failure::ServerError) => return twilio_error(500, 20500, "Internal Server Error"),
        Some(Failure::Unavailable) => return twilio_error(503, 20503, "Service Unavailable"),
        Some(Failure::InvalidNumber) => return twilio_error(400, 21211, "Invalid 'To' Phone Number"),
        Some(Failure::Throttled) => {
            return twilio_error(
                400,
                21611,
                "This 'From' number has exceeded the maximum number of queued messages",
            )
        }
        None => {}
    }
    let form_type = header(req, "content-type").is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let form: Vec<(String, String)> = if form_type {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let Some(to) = field("To") else {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    };
    if !is_e164(&to) {
        return twilio_error(400, 21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    let (from, service) = (field("From"), field("MessagingServiceSid"));
    match (&from, &service) {
        (None, None) => return twilio_error(400, 21603, "A 'From' phone number is required."),
        (_, Some(sid)) if sid != TWILIO_MESSAGING_SERVICE_SID => {
            return twilio_error(400, 21705, "The Messaging Service Sid is invalid.")
        }
        (Some(number), None) if number != TWILIO_FROM => return twilio_error(
            400,
            21606,
            "The From phone number is not a valid, SMS-capable inbound phone number or short code for your account.",
        ),
        _ => {}
    }
    let Some(text) = field("Body") else {
        return twilio_error(400, 21602, "Message body is required.");
    };
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    {
        let mut state = lock(state);
        state.received.push(ReceivedSms {
            provider: "twilio".into(),
            to: to.clone(),
            body: Some(text.clone()),
            template: None,
            params: Vec::new(),
            reference: None,
        });
        state
            .twilio_log
            .push((sid.clone(), to.clone(), text.clone(), Utc::now()));
    }
    let now = Utc::now().to_rfc2822();
    HttpResponse::Created().json(json!({
        "account_sid": TWILIO_ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": text,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": if service.is_some() { Value::Null } else { json!(from) },
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": segments(&text).to_string(),
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        "status": if service.is_some() { "accepted" } else { "queued" },
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{sid}/Media.json")},
        "to": to,
        "uri": format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{sid}.json"),
    }))
}

/// `GET Messages.json`: the account's messages, newest first, filtered by `To` when given, in
/// pages of `PageSize` (default 50) with `Page` and `next_page_uri`, as Twilio lists them.
fn twilio_list(state: &Shared, req: &HttpRequest) -> HttpResponse {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let size = param("PageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let page = param("Page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let to = param("To");
    let state = lock(state);
    let matching: Vec<_> = state
        .twilio_log
        .iter()
        .rev()
        .filter(|(_, number, _, _)| to.as_ref().is_none_or(|to| to == number))
        .collect();
    let messages: Vec<Value> = matching
        .iter()
        .skip(page * size)
        .take(size)
        .map(|(sid, number, body, created)| {
            json!({
                "sid": sid, "to": number, "from": TWILIO_FROM, "body": body, "status": "sent",
                "date_created": created.to_rfc2822(), "direction": "outbound-api",
                "account_sid": TWILIO_ACCOUNT_SID,
            })
        })
        .collect();
    let base = format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json");
    let page_uri = |page: usize| {
        let mut pairs = vec![
            ("PageSize".to_owned(), size.to_string()),
            ("Page".to_owned(), page.to_string()),
        ];
        if let Some(to) = &to {
            pairs.push(("To".to_owned(), to.clone()));
        }
        format!("{base}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    };
    let next = (matching.len() > (page + 1) * size).then(|| page_uri(page + 1));
    HttpResponse::Ok().json(json!({
        "messages": messages,
        "page": page,
        "page_size": size,
        "first_page_uri": page_uri(0),
        "next_page_uri": next,
        "previous_page_uri": (page > 0).then(|| page_uri(page - 1)),
        "uri": page_uri(page),
        "start": page * size,
        "end": page * size + messages.len().saturating_sub(1),
    }))
}

/// SMS parts: GSM-7 (approximated by printable ASCII) 160 per single message, 153 per part;
/// otherwise UCS-2, 70 and 67.
fn segments(text: &str) -> usize {
    let gsm = text.chars().all(|c| c == '\n' || c == '\r' || (' '..='~').contains(&c));
    let (single, part) = if gsm { (160, 153) } else { (70, 67) };
    let n = text.chars().count();
    if n <= single {
        1
    } else {
        n.div_ceil(part)
    }
}

fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

// ---------------------------------------------------------------- Aliyun

fn aliyun_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)).json(json!({
        "RequestId": request_id(),
        "HostId": "dysmsapi.aliyuncs.com",
        "Code": code,
        "Message": message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi"),
    }))
}

/// A business error: HTTP 200 with a `Code` other than `OK`.
fn aliyun_refusal(code: &str, message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({"RequestId": request_id(), "Code": code, "Message": message}))
}

fn request_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

fn rfc3986(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn aliyun(state: &Shared, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    const REQUIRED: [&str; 6] = [
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-version",
    ];
    let Some((key_id, signed_headers, signature)) = header(req, "authorization").and_then(parse_acs3) else {
        return aliyun_error(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        );
    };
    if key_id != ALIYUN_ACCESS_KEY_ID {
        return aliyun_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    }
    let signed: Vec<&str> = signed_headers.split(';').collect();
    let acs_headers = req
        .headers()
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("x-acs-"));
    if REQUIRED
        .iter()
        .copied()
        .chain(acs_headers)
        .any(|name| !signed.contains(&name))
    {
        return aliyun_error(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        );
    }
    // The canonical request, rebuilt from what arrived.
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut encoded: Vec<(String, String)> = query.iter().map(|(k, v)| (rfc3986(k), rfc3986(v))).collect();
    encoded.sort();
    let canonical_query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut names: Vec<&str> = signed.clone();
    names.sort_unstable();
    let canonical_headers: String = names
        .iter()
        .map(|name| format!("{name}:{}\n", header(req, name).unwrap_or("").trim()))
        .collect();
    let canonical = format!(
        "{}\n{}\n{canonical_query}\n{canonical_headers}\n{}\n{}",
        req.method(),
        req.path(),
        names.join(";"),
        sha256_hex(body)
    );
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
    let expected = hex::encode(hmac_sha256(
        ALIYUN_ACCESS_KEY_SECRET.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    if expected != signature || header(req, "x-acs-content-sha256") != Some(sha256_hex(body).as_str()) {
        return aliyun_error(
            400,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        );
    }
    let date = header(req, "x-acs-date").and_then(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M:%SZ").ok());
    let Some(date) = date else {
        return aliyun_error(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        );
    };
    if (Utc::now().naive_utc() - date).num_seconds().abs() > 15 * 60 {
        return aliyun_error(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        );
    }
    let nonce = header(req, "x-acs-signature-nonce").unwrap_or("").to_owned();
    if !lock(state).aliyun_nonces.insert(nonce) {
        return aliyun_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    }
    if header(req, "x-acs-action") != Some("SendSms") {
        return aliyun_error(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        );
    }
    if header(req, "x-acs-version") != Some("2017-05-25") {
        return aliyun_error(400, "InvalidVersion", "Specified parameter Version is not valid.");
    }
    match next_failure(state, "aliyun") {
        Some(Failure::TooManyRequests { retry_after_secs }) => {
            return too_many(
                retry_after_secs,
                json!({"RequestId": request_id(), "HostId": "dysmsapi.aliyuncs.com", "Code": "Throttling.User",
                       "Message": "Request was denied due to user flow control."}),
            )
        }
        Some(Failure::ServerError | Failure::Unavailable) => {
            return aliyun_error(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            )
        }
        Some(Failure::InvalidNumber) => return aliyun_refusal("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
        Some(Failure::Throttled) => return aliyun_refusal("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"),
        None => {}
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let Some(numbers) = param("PhoneNumbers") else {
        return aliyun_error(400, "MissingPhoneNumbers", "PhoneNumbers is mandatory for this action.");
    };
    let Some(sign_name) = param("SignName") else {
        return aliyun_error(400, "MissingSignName", "SignName is mandatory for this action.");
    };
    let Some(template) = param("TemplateCode") else {
        return aliyun_error(400, "MissingTemplateCode", "TemplateCode is mandatory for this action.");
    };
    if sign_name != ALIYUN_SIGN_NAME {
        return aliyun_refusal("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
    }
    if !ALIYUN_TEMPLATE_CODES
        .split(',')
        .any(|pair| pair.split_once('=').is_some_and(|(_, code)| code == template))
    {
        return aliyun_refusal("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板");
    }
    let params = match param("TemplateParam") {
        None => Vec::new(),
        Some(raw) => match serde_json::from_str::<serde_json::Map<String, Value>>(&raw) {
            Ok(map) if map.values().all(Value::is_string) => map
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            _ => return aliyun_refusal("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"),
        },
    };
    let numbers: Vec<&str> = numbers.split(',').map(str::trim).collect();
    let valid = |n: &str| {
        n.bytes().all(|b| b.is_ascii_digit())
            && ((n.len() == 11 && n.starts_with('1')) || ((8..=15).contains(&n.len()) && !n.starts_with('0')))
    };
    if numbers.len() > 1000 || !numbers.iter().all(|n| valid(n)) {
        return aliyun_refusal("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    }
    let mut state = lock(state);
    for number in numbers {
        state.received.push(ReceivedSms {
            provider: "aliyun".into(),
            to: number.to_owned(),
            body: None,
            template: Some(template.clone()),
            params: params.clone(),
            reference: param("OutId"),
        });
    }
    HttpResponse::Ok().json(json!({
        "Code": "OK",
        "Message": "OK",
        "BizId": format!("{}^0", random_digits(18)),
        "RequestId": request_id(),
    }))
}

/// `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`.
fn parse_acs3(value: &str) -> Option<(&str, &str, &str)> {
    let rest = value.strip_prefix("ACS3-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return None,
        }
    }
    Some((credential?, signed?, signature?))
}

// ---------------------------------------------------------------- Tencent

fn tencent_reply(response: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json!({ "Response": response }).to_string())
}

fn tencent_error(code: &str, message: &str) -> HttpResponse {
    tencent_reply(json!({"Error": {"Code": code, "Message": message}, "RequestId": uuid::Uuid::new_v4().to_string()}))
}

fn tencent(state: &Shared, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let Some((secret_id, scope_date, service, signed_headers, signature)) =
        header(req, "authorization").and_then(parse_tc3)
    else {
        return tencent_error(
            "AuthFailure.InvalidAuthorization",
            "Authorization is not a valid TC3-HMAC-SHA256 header.",
        );
    };
    if secret_id != TENCENT_SECRET_ID {
        return tencent_error("AuthFailure.SecretIdNotFound", "The SecretId is not found.");
    }
    let Some(timestamp) = header(req, "x-tc-timestamp").and_then(|t| t.trim().parse::<i64>().ok()) else {
        return tencent_error(
            "MissingParameter",
            "The request is missing a required parameter `Timestamp`.",
        );
    };
    if (Utc::now().timestamp() - timestamp).abs() > 300 {
        return tencent_error(
            "AuthFailure.SignatureExpire",
            "Signature expired. Timestamp is too far from the server time.",
        );
    }
    let date = chrono::DateTime::from_timestamp(timestamp, 0).map(|t| t.format("%Y-%m-%d").to_string());
    let signed: Vec<&str> = signed_headers.split(';').collect();
    let names_sorted = {
        let mut names = signed.clone();
        names.sort_unstable();
        names == signed
    };
    if date.as_deref() != Some(scope_date)
        || service != "sms"
        || !signed.contains(&"content-type")
        || !signed.contains(&"host")
        || !names_sorted
    {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated.",
        );
    }
    let canonical_headers: String = signed
        .iter()
        .map(|name| {
            format!(
                "{name}:{}\n",
                header(req, name).unwrap_or("").trim().to_ascii_lowercase()
            )
        })
        .collect();
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        req.method(),
        req.path(),
        req.query_string(),
        sha256_hex(body)
    );
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope_date}/{service}/tc3_request\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = hmac_sha256(format!("TC3{TENCENT_SECRET_KEY}").as_bytes(), scope_date.as_bytes());
    let key = hmac_sha256(&key, service.as_bytes());
    let key = hmac_sha256(&key, b"tc3_request");
    if hex::encode(hmac_sha256(&key, string_to_sign.as_bytes())) != signature {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        );
    }
    if header(req, "x-tc-action") != Some("SendSms") {
        return tencent_error("InvalidAction", "The action requested is invalid.");
    }
    if header(req, "x-tc-version") != Some("2021-01-11") {
        return tencent_error("NoSuchVersion", "The requested version does not exist.");
    }
    match header(req, "x-tc-region") {
        None => {
            return tencent_error(
                "MissingParameter",
                "The request is missing a required parameter `Region`.",
            )
        }
        Some(region) if !TENCENT_REGIONS.contains(&region) => {
            return tencent_error("UnsupportedRegion", "The region is not supported by this product.")
        }
        Some(_) => {}
    }
    let json_type =
        header(req, "content-type").is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json_type {
        return tencent_error("InvalidParameter", "Content-Type must be application/json.");
    }
    let failure = next_failure(state, "tencent");
    match failure {
        Some(Failure::TooManyRequests { retry_after_secs }) => {
            return too_many(retry_after_secs, json!({"message": "Too Many Requests"}))
        }
        Some(Failure::ServerError) => {
            return HttpResponse::BadGateway()
                .content_type("text/plain")
                .body("502 Bad Gateway")
        }
        Some(Failure::Unavailable) => {
            return HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("503 Service Temporarily Unavailable")
        }
        _ => {}
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return tencent_error("FailedOperation.JsonParseFail", "The request body is not valid JSON.");
    };
    let text = |name: &str| request.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
    if text("SmsSdkAppId") != TENCENT_SDK_APP_ID {
        return tencent_error(
            "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
            "SmsSdkAppId verification failed.",
        );
    }
    if text("SignName") != TENCENT_SIGN_NAME {
        return tencent_error(
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "The signature is incorrect or unapproved.",
        );
    }
    let template = text("TemplateId");
    let Some(&(_, count)) = TENCENT_TEMPLATE_PARAMS.iter().find(|(id, _)| *id == template) else {
        return tencent_error(
            "FailedOperation.TemplateIncorrectOrUnapproved",
            "The template is incorrect or unapproved.",
        );
    };
    let params: Option<Vec<String>> = match request.get("TemplateParamSet") {
        None => Some(Vec::new()),
        Some(Value::Array(values)) => values.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(_) => None,
    };
    let Some(params) = params else {
        return tencent_error("InvalidParameterValue", "TemplateParamSet must be an array of strings.");
    };
    if params.len() != count {
        return tencent_error(
            "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
            "The template parameters do not match the approved template.",
        );
    }
    let numbers: Option<Vec<String>> = request
        .get("PhoneNumberSet")
        .and_then(Value::as_array)
        .and_then(|values| values.iter().map(|v| v.as_str().map(str::to_owned)).collect());
    let numbers = match numbers {
        Some(numbers) if !numbers.is_empty() => numbers,
        _ => {
            return tencent_error(
                "MissingParameter",
                "The request is missing a required parameter `PhoneNumberSet`.",
            )
        }
    };
    if numbers.len() > 200 {
        return tencent_error(
            "LimitExceeded.PhoneNumberCountLimit",
            "More than 200 numbers in one request.",
        );
    }
    let context = text("SessionContext");
    let mut statuses = Vec::new();
    let mut state = lock(state);
    for number in numbers {
        let mainland = number.len() == 11 && number.starts_with('1') && number.bytes().all(|b| b.is_ascii_digit());
        let refused = match failure {
            Some(Failure::InvalidNumber) => {
                Some(("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number format"))
            }
            Some(Failure::Throttled) => Some((
                "LimitExceeded.PhoneNumberThirtySecondLimit",
                "the number of SMS messages sent from a single mobile number within 30 seconds exceeds the upper limit",
            )),
            _ if !(is_e164(&number) || mainland) => {
                Some(("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number format"))
            }
            _ => None,
        };
        let iso = if number.starts_with("+86") || mainland {
            "CN"
        } else {
            ""
        };
        match refused {
            Some((code, message)) => statuses.push(json!({
                "SerialNo": "", "PhoneNumber": number, "Fee": 0, "SessionContext": context,
                "Code": code, "Message": message, "IsoCode": iso,
            })),
            None => {
                state.received.push(ReceivedSms {
                    provider: "tencent".into(),
                    to: number.clone(),
                    body: None,
                    template: Some(template.clone()),
                    params: params
                        .iter()
                        .enumerate()
                        .map(|(i, v)| ((i + 1).to_string(), v.clone()))
                        .collect(),
                    reference: (!context.is_empty()).then(|| context.clone()),
                });
                statuses.push(json!({
                    "SerialNo": format!("2645:{}", random_digits(20)), "PhoneNumber": number, "Fee": 1,
                    "SessionContext": context, "Code": "Ok", "Message": "send success", "IsoCode": iso,
                }));
            }
        }
    }
    tencent_reply(json!({"SendStatusSet": statuses, "RequestId": uuid::Uuid::new_v4().to_string()}))
}

/// `TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=hex`.
fn parse_tc3(value: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let rest = value.strip_prefix("TC3-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let (id, date, service, terminator) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if terminator != "tc3_request" || scope.next().is_some() {
        return None;
    }
    Some((id, date, service, signed?, signature?))
}
