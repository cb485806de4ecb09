//! `POST /api/v1/inbound/sms/{provider}`: clients' replies to our SMS, pushed by the provider.
//! A reply that is a keyword opts the client out of marketing ("T", "TD", "退订", "STOP",
//! "UNSUBSCRIBE", and Twilio's STOPALL, CANCEL, END, QUIT) or back in ("START", "UNSTOP");
//! anything else is acknowledged and ignored. Which tenants and clients a reply is about is
//! decided in [`shared::outreach::optout`] (every tenant that sent an SMS to that number
//! through that provider recently); a number nobody wrote to is acknowledged and changes
//! nothing.
//!
//! These requests carry no bearer token: each provider is authenticated on its own terms.
//!
//! | Provider | Request | Authentication | Answer |
//! |---|---|---|---|
//! | `twilio` | Twilio's messaging webhook: a form (`From`, `To`, `Body`, `MessageSid`, …) | `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + every POST parameter sorted by name, each name followed by its value)), checked in constant time | `200 text/xml` `<Response/>` (empty TwiML: no auto-reply) |
//! | `aliyun` | SmsUp (上行短信) by HTTP batch push: a JSON array of `{phone_number, content, send_time, dest_code, sequence_id, sign_name?}` | none from Aliyun: a shared secret in the query, `?secret=` | `200` `{"code":0,"msg":"接收成功"}` |
//! | `tencent` | 短信回复回调: a JSON object `{mobile, nationcode, text, sign, time, extend}` (an array of them is accepted too) | none from Tencent: a shared secret in the query, `?secret=` | `200` `{"result":0,"errmsg":"OK"}` |
//!
//! A bad or missing signature or secret, or a provider with nothing configured to check it
//! with, is 403 problem+json; an unknown provider is 404. A database failure is 5xx, so the
//! provider pushes again later (Aliyun retries a few times; every reply is idempotent).
//!
//! # Configuration (environment, read when the routes are built)
//!
//! | Variable | Meaning |
//! |---|---|
//! | `TWILIO_AUTH_TOKEN` | the account's auth token (see the worker's SMS configuration): Twilio signs webhooks with it |
//! | `TWILIO_WEBHOOK_AUTH_TOKEN` | the account's auth token when `TWILIO_AUTH_TOKEN` is an API key's secret (`TWILIO_API_KEY_SID` set), which Twilio does not sign with |
//! | `ALIYUN_INBOUND_SECRET` | the secret in Aliyun's SmsUp push URL, at least 16 characters (e.g. `openssl rand -hex 24`) |
//! | `TENCENT_INBOUND_SECRET` | the secret in Tencent's reply callback URL, likewise |
//!
//! # Setting the providers up
//!
//! - **Twilio**: the sender's (or messaging service's) "A message comes in" webhook is
//!   `PUBLIC_BASE_URL/api/v1/inbound/sms/twilio`, HTTP POST. Twilio signs the URL *it called*;
//!   behind a proxy the app cannot see that URL, so the signature is checked against
//!   `PUBLIC_BASE_URL` + the request's path and query (without `PUBLIC_BASE_URL`, against the
//!   request's own scheme and host). `PUBLIC_BASE_URL` must therefore be exactly the origin
//!   configured at Twilio, and the path must reach the app unchanged. Do not put user:password
//!   in the webhook URL (the app reads `Authorization` as a bearer token and would refuse it).
//! - **Aliyun** (短信服务控制台 → 通用设置 → 上行消息 → HTTP 批量推送): the receiving URL is
//!   `PUBLIC_BASE_URL/api/v1/inbound/sms/aliyun?secret=ALIYUN_INBOUND_SECRET`.
//! - **Tencent** (短信控制台 → 回复回调配置): the callback URL is
//!   `PUBLIC_BASE_URL/api/v1/inbound/sms/tencent?secret=TENCENT_INBOUND_SECRET`.
//!
//! Aliyun and Tencent document no signature on these pushes, so the secret in the URL is the
//! only proof that a request comes from them: use HTTPS, keep the secret out of shared
//! documents, and rotate it (change the variable and the console's URL together) if it leaks.
//! The app's request log records the path, never the query, so the secret does not reach the
//! logs; a proxy in front should be configured not to log query strings for this path.

use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use actix_web::dev::HttpServiceFactory;
use actix_web::{post, web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::domain::Phone;
use shared::outreach::optout::{self, ReplyOutcome};
use std::fmt;
use utoipa_actix_web::OpenApiFactory;
use worker::delivery::sms::SmsConfig;

/// The shortest shared secret accepted for Aliyun and Tencent.
pub const MIN_SECRET_CHARS: usize = 16;

/// The keys inbound requests are checked with. Written out so that none reaches a log line.
#[derive(Clone, Default)]
pub struct InboundConfig {
    twilio_auth_token: Option<String>,
    aliyun_secret: Option<String>,
    tencent_secret: Option<String>,
}

impl fmt::Debug for InboundConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |value: &Option<String>| if value.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("InboundConfig")
            .field("twilio_auth_token", &set(&self.twilio_auth_token))
            .field("aliyun_secret", &set(&self.aliyun_secret))
            .field("tencent_secret", &set(&self.tencent_secret))
            .finish()
    }
}

impl InboundConfig {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables in the module docs through `get`. Problems (a partial Twilio
    /// configuration, a short secret) are logged and leave that provider unconfigured: its
    /// requests are refused rather than accepted unchecked.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let twilio_auth_token = var("TWILIO_WEBHOOK_AUTH_TOKEN").or_else(|| match SmsConfig::from_lookup(&get) {
            // An API key's secret is not what Twilio signs webhooks with.
            Ok(config) => config
                .twilio
                .filter(|twilio| twilio.api_key_sid.is_none())
                .map(|twilio| twilio.auth_token),
            Err(problems) => {
                tracing::warn!(problems = ?problems, "SMS configuration is incomplete; Twilio replies cannot be verified");
                None
            }
        });
        let secret = |name: &str| {
            var(name).filter(|secret| {
                let long_enough = secret.chars().count() >= MIN_SECRET_CHARS;
                if !long_enough {
                    tracing::warn!(
                        variable = name,
                        "shorter than {MIN_SECRET_CHARS} characters: inbound SMS from this provider are refused"
                    );
                }
                long_enough
            })
        };
        InboundConfig {
            twilio_auth_token,
            aliyun_secret: secret("ALIYUN_INBOUND_SECRET"),
            tencent_secret: secret("TENCENT_INBOUND_SECRET"),
        }
    }
}

/// The inbound routes with their configuration, for the `/api/v1` scope.
pub fn routes() -> impl HttpServiceFactory + OpenApiFactory + 'static {
    utoipa_actix_web::scope("/inbound")
        .app_data(web::Data::new(InboundConfig::from_env()))
        .service(sms)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Twilio,
    Aliyun,
    Tencent,
}

impl Provider {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "twilio" => Some(Provider::Twilio),
            "aliyun" => Some(Provider::Aliyun),
            "tencent" => Some(Provider::Tencent),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::Aliyun => "aliyun",
            Provider::Tencent => "tencent",
        }
    }
}

/// Twilio's incoming-message webhook, as a form. Twilio sends more fields (`AccountSid`,
/// `NumMedia`, `FromCountry`, …); all of them are covered by the signature.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TwilioInbound {
    /// The client's number, E.164.
    #[schema(example = "+8613800138001")]
    pub from: String,
    /// Our sender.
    pub to: String,
    #[schema(example = "STOP")]
    pub body: String,
    pub message_sid: Option<String>,
    pub account_sid: Option<String>,
}

/// One reply in Aliyun's SmsUp push (the body is an array of them). `send_time`, `dest_code`,
/// `sequence_id` and `sign_name` are sent too and not needed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AliyunSmsUp {
    /// The client's number: mainland digits without a country code.
    #[schema(example = "13800138001")]
    pub phone_number: String,
    #[schema(example = "退订")]
    pub content: String,
}

/// Tencent's reply callback. `sign`, `time` and `extend` are sent too and not needed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TencentReply {
    #[schema(example = "13800138001")]
    pub mobile: String,
    /// The country calling code, "86" for mainland China.
    #[schema(example = "86")]
    pub nationcode: Option<String>,
    #[schema(example = "TD")]
    pub text: String,
}

/// The JSON bodies: Aliyun's array, or Tencent's object.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ProviderCallback {
    Aliyun(Vec<AliyunSmsUp>),
    Tencent(TencentReply),
}

/// Tencent documents one object per request; an array is accepted as well.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TencentBody {
    One(TencentReply),
    Many(Vec<TencentReply>),
}

/// Receive a client's SMS reply (see the module docs for each provider's format and
/// authentication). Opt-out and opt-in keywords change the client's marketing consent at every
/// tenant that recently texted that number through that provider; other replies and unknown
/// numbers are acknowledged and change nothing.
#[utoipa::path(
    tag = "inbound",
    operation_id = "receive_inbound_sms",
    params(
        ("provider" = String, Path, description = "`twilio`, `aliyun` or `tencent`"),
        ("secret" = Option<String>, Query, description = "Aliyun and Tencent: the shared secret configured in the \
          provider's callback URL (`ALIYUN_INBOUND_SECRET`, `TENCENT_INBOUND_SECRET`). Twilio: not used, \
          requests are signed (`X-Twilio-Signature`)."),
    ),
    request_body(
        description = "Twilio: its webhook form. Aliyun: the SmsUp array. Tencent: the reply object.",
        content(
            (TwilioInbound = "application/x-www-form-urlencoded"),
            (ProviderCallback = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Received. Twilio: empty TwiML `<Response/>` (text/xml); Aliyun: \
          `{\"code\":0,\"msg\":\"接收成功\"}`; Tencent: `{\"result\":0,\"errmsg\":\"OK\"}`."),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Bad or missing signature or secret", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown provider", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sms/{provider}")]
pub async fn sms(
    req: HttpRequest,
    state: web::Data<AppState>,
    config: web::Data<InboundConfig>,
    provider: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let provider = Provider::parse(&provider).ok_or(ApiError::NotFound)?;
    let replies = match provider {
        Provider::Twilio => {
            let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
            let url = signed_url(&req, state.config.public_base_url.as_deref());
            verify_twilio(config.twilio_auth_token.as_deref(), &req, &url, &params)?;
            twilio_replies(&params)
        }
        Provider::Aliyun => {
            check_secret(config.aliyun_secret.as_deref(), &req)?;
            let ups: Vec<AliyunSmsUp> = crate::extract::parse_json(&body)?;
            ups.into_iter()
                .filter_map(|up| Some((national_or_international(&up.phone_number)?, up.content)))
                .collect()
        }
        Provider::Tencent => {
            check_secret(config.tencent_secret.as_deref(), &req)?;
            let replies = match crate::extract::parse_json::<TencentBody>(&body)? {
                TencentBody::One(reply) => vec![reply],
                TencentBody::Many(replies) => replies,
            };
            replies
                .into_iter()
                .filter_map(|reply| Some((tencent_phone(&reply)?, reply.text)))
                .collect()
        }
    };
    // Only keywords touch the database; "谢谢" is acknowledged without a transaction.
    let replies: Vec<(Phone, String)> = replies
        .into_iter()
        .filter(|(_, text)| optout::keyword(text).is_some())
        .collect();
    let count = replies.len();
    if count > 0 {
        let now = state.now();
        let name = provider.as_str();
        let outcome = state
            .db
            .write(move |conn| {
                let mut total = ReplyOutcome::default();
                for (phone, text) in &replies {
                    let outcome = optout::apply_reply(conn, name, phone, text, now)?;
                    total.matched += outcome.matched;
                    total.changed += outcome.changed;
                }
                Ok(total)
            })
            .await?;
        // Counts only: a reply's number and text are personal data.
        tracing::info!(
            provider = name,
            keywords = count,
            matched = outcome.matched,
            changed = outcome.changed,
            "inbound sms"
        );
    }
    Ok(acknowledge(provider))
}

fn acknowledge(provider: Provider) -> HttpResponse {
    match provider {
        Provider::Twilio => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"),
        Provider::Aliyun => HttpResponse::Ok().json(serde_json::json!({ "code": 0, "msg": "接收成功" })),
        Provider::Tencent => HttpResponse::Ok().json(serde_json::json!({ "result": 0, "errmsg": "OK" })),
    }
}

/// The URL Twilio called, as far as the app can know it: `PUBLIC_BASE_URL` (Twilio's view of
/// the app) with the request's path and query.
fn signed_url(req: &HttpRequest, public_base_url: Option<&str>) -> String {
    let path = req.uri().path_and_query().map_or_else(|| req.path(), |pq| pq.as_str());
    match public_base_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!("{}://{}{path}", info.scheme(), info.host())
        }
    }
}

fn forbidden(reason: &'static str) -> ApiError {
    ApiError::Model(shared::Error::Forbidden(reason))
}

/// Twilio's request validation: base64(HMAC-SHA1(auth token, URL + the POST parameters sorted
/// by name, each name immediately followed by its value)).
fn verify_twilio(
    auth_token: Option<&str>,
    req: &HttpRequest,
    url: &str,
    params: &[(String, String)],
) -> Result<(), ApiError> {
    let auth_token = auth_token.ok_or(forbidden("inbound SMS from twilio are not configured on this server"))?;
    let signature = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()
        })
        .ok_or(forbidden("the request has no valid X-Twilio-Signature"))?;
    if twilio_mac(auth_token, url, params).is_some_and(|mac| mac.verify_slice(&signature).is_ok()) {
        Ok(())
    } else {
        Err(forbidden("the request has no valid X-Twilio-Signature"))
    }
}

/// The MAC over `url` and the sorted parameters (`None` only if HMAC refused the key, which it
/// never does: it takes keys of any length).
fn twilio_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Option<Hmac<sha1::Sha1>> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    Some(mac)
}

/// The reply in Twilio's form: `From` and `Body`.
fn twilio_replies(params: &[(String, String)]) -> Vec<(Phone, String)> {
    let field = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match (
        field("From").and_then(|from| Phone::parse(&from, None).ok()),
        field("Body"),
    ) {
        (Some(phone), Some(body)) => vec![(phone, body)],
        _ => Vec::new(),
    }
}

/// Aliyun's up-link numbers are mainland numbers without a country code; one written with
/// its 86 (or +86) is read as well.
fn national_or_international(raw: &str) -> Option<Phone> {
    Phone::parse(raw, Some("CN"))
        .or_else(|_| Phone::parse(&format!("+{}", raw.trim().trim_start_matches('+')), None))
        .ok()
}

fn tencent_phone(reply: &TencentReply) -> Option<Phone> {
    match reply
        .nationcode
        .as_deref()
        .map(str::trim)
        .filter(|code| !code.is_empty())
    {
        Some(code) => Phone::parse(&format!("+{code}{}", reply.mobile.trim()), None).ok(),
        None => national_or_international(&reply.mobile),
    }
}

/// The shared secret in the query (`?secret=`), compared by digest so that the time taken says
/// nothing about how much of it matched.
fn check_secret(expected: Option<&str>, req: &HttpRequest) -> Result<(), ApiError> {
    let expected = expected.ok_or(forbidden(
        "inbound SMS from this provider are not configured on this server",
    ))?;
    let given = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "secret")
        .map(|(_, value)| value.into_owned())
        .ok_or(forbidden("the request has no valid secret"))?;
    if Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes()) {
        Ok(())
    } else {
        Err(forbidden("the request has no valid secret"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn twilio_signature_matches_twilios_documented_example() {
        // The example in Twilio's request-validation docs (and its api-snippets), checked with
        // Python's hmac module too.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mac = twilio_mac("12345", url, &params).unwrap().finalize().into_bytes();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(mac),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn configuration_reads_secrets_and_refuses_short_ones() {
        let vars = [
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001"),
            ("TWILIO_AUTH_TOKEN", "fake-token"),
            ("TWILIO_FROM", "+15005550006"),
            ("ALIYUN_INBOUND_SECRET", "0123456789abcdef0123"),
            ("TENCENT_INBOUND_SECRET", "short"),
        ];
        let config = InboundConfig::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        });
        assert_eq!(config.twilio_auth_token.as_deref(), Some("fake-token"));
        assert_eq!(config.aliyun_secret.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(config.tencent_secret, None);
        assert!(!format!("{config:?}").contains("fake-token"));
    }

    #[test]
    fn an_api_key_secret_is_not_a_webhook_key() {
        let vars = [
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001"),
            ("TWILIO_API_KEY_SID", "SK00000000000000000000000000000001"),
            ("TWILIO_AUTH_TOKEN", "key-secret"),
            ("TWILIO_FROM", "+15005550006"),
        ];
        let lookup = |extra: Option<(&'static str, &'static str)>| {
            move |name: &str| {
                vars.iter()
                    .chain(extra.iter())
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(InboundConfig::from_lookup(lookup(None)).twilio_auth_token, None);
        let config = InboundConfig::from_lookup(lookup(Some(("TWILIO_WEBHOOK_AUTH_TOKEN", "account-token"))));
        assert_eq!(config.twilio_auth_token.as_deref(), Some("account-token"));
    }

    #[test]
    fn provider_numbers() {
        assert_eq!(
            national_or_international("13800138001")
                .map(Phone::into_inner)
                .as_deref(),
            Some("+8613800138001")
        );
        assert_eq!(
            national_or_international("8613800138001")
                .map(Phone::into_inner)
                .as_deref(),
            Some("+8613800138001")
        );
        let reply = TencentReply {
            mobile: "13800138001".into(),
            nationcode: Some("86".into()),
            text: "TD".into(),
        };
        assert_eq!(
            tencent_phone(&reply).map(Phone::into_inner).as_deref(),
            Some("+8613800138001")
        );
        assert!(national_or_international("not a number").is_none());
    }
}
