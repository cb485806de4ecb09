//! SMS through the provider chosen for the tenant: Twilio, Aliyun (阿里云短信 Dysmsapi), Tencent
//! Cloud (腾讯云短信), or a directory of files for development and tests.
//!
//! [`SmsGateway::send`] hands one [`SmsMessage`] to one provider and classifies the reply as a
//! [`SendOutcome`]; it never panics and never retries by itself (the outbox does).
//!
//! # Configuration (environment)
//!
//! | Variable | Meaning |
//! |---|---|
//! | `SMS_PROVIDER` | default provider: `twilio`, `aliyun`, `tencent` or `file` (default: `file` when `OUTBOX_DIR` is set, else none) |
//! | `SMS_CONCURRENCY` | requests in flight per provider (default 8) |
//! | `SMS_TIMEOUT_SECS` | whole-request timeout, connect included (default 10) |
//! | `TWILIO_BASE_URL` | default `https://api.twilio.com` |
//! | `TWILIO_ACCOUNT_SID` | `AC…`, always in the request path (required) |
//! | `TWILIO_AUTH_TOKEN` | the account's auth token, or the API key's secret when `TWILIO_API_KEY_SID` is set (required) |
//! | `TWILIO_API_KEY_SID` | optional `SK…`: the Basic auth user instead of the account SID |
//! | `TWILIO_FROM` / `TWILIO_MESSAGING_SERVICE_SID` | the sender, one of them required (`MG…` wins when both are set) |
//! | `ALIYUN_BASE_URL` | default `https://dysmsapi.aliyuncs.com` |
//! | `ALIYUN_ACCESS_KEY_ID`, `ALIYUN_ACCESS_KEY_SECRET` | the RAM AccessKey pair (required) |
//! | `ALIYUN_SIGN_NAME` | the approved signature, without 【】 (required) |
//! | `ALIYUN_TEMPLATE_CODES` | `kind=SMS_…` pairs, comma-separated, e.g. `birthday=SMS_1001,survey=SMS_1002` (required) |
//! | `TENCENT_BASE_URL` | default `https://sms.tencentcloudapi.com` |
//! | `TENCENT_SECRET_ID`, `TENCENT_SECRET_KEY` | the API key pair (required) |
//! | `TENCENT_SDK_APP_ID` | the SMS application's `SmsSdkAppId` (required) |
//! | `TENCENT_SIGN_NAME` | the approved signature (required) |
//! | `TENCENT_REGION` | `X-TC-Region`, default `ap-guangzhou` |
//! | `TENCENT_TEMPLATE_IDS` | `kind=id` pairs like `ALIYUN_TEMPLATE_CODES`, numeric ids (required) |
//! | `OUTBOX_DIR` | the `file` provider's directory |
//!
//! Message kinds (the keys of the template maps) are those of `shared::outreach::MessageKind`:
//! `birthday`, `survey`, `complaint_alert`, `escalation`, `wake_up`. A provider is configured
//! only when all its required variables are set; a partly configured provider (some set, some
//! not) is a configuration problem, reported by [`SmsConfig::from_env`] one line per variable.
//! Empty values count as unset.
//!
//! # Outcome codes
//!
//! [`SendOutcome::code`] is a short label, stable enough for metrics and the outbox row:
//!
//! - `twilio_<code>`, `aliyun_<Code>`, `tencent_<Code>`: the provider's own error code, as it
//!   spelled it (`twilio_21211`, `aliyun_isv.MOBILE_NUMBER_ILLEGAL`,
//!   `tencent_LimitExceeded.PhoneNumberDailyLimit`).
//! - `http_<status>`: an HTTP error without a provider code in the body (a proxy's 502, say).
//! - `connect`, `timeout`, `network`: transport failures (transient). A `timeout` can happen after
//!   the provider accepted the message; the retry may then send it twice.
//! - `bad_response`: a reply that could not be understood (transient).
//! - Refused before any request: `not_configured`, `invalid_number` (not E.164),
//!   `unknown_template` (not a message kind), `no_template_code` (Aliyun) / `no_template_id`
//!   (Tencent) when the kind has no template configured, `invalid_message_id` and `file_io`
//!   (file provider). All permanent except `file_io`.
//!
//! What is transient per provider is decided in the provider modules ([`twilio`], [`aliyun`],
//! [`tencent`]); daily limits are transient with `retry_after` reaching the next midnight in
//! China (UTC+8, plus a minute), when the providers reset their counters.
//!
//! # Idempotency
//!
//! Only the `file` provider is idempotent (one file per message id). Aliyun's `OutId` and
//! Tencent's `SessionContext` carry the message id back in receipts but do not deduplicate.

pub mod aliyun;
pub mod file;
pub mod tencent;
pub mod twilio;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use shared::outreach::MessageKind;
use tokio::sync::Semaphore;

use super::SendOutcome;

/// The SMS providers salon-crm can send through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsProviderKind {
    Twilio,
    Aliyun,
    Tencent,
    File,
}

impl SmsProviderKind {
    pub const ALL: [SmsProviderKind; 4] = [
        SmsProviderKind::Twilio,
        SmsProviderKind::Aliyun,
        SmsProviderKind::Tencent,
        SmsProviderKind::File,
    ];

    /// The name used in `SMS_PROVIDER`, tenant settings and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsProviderKind::Twilio => "twilio",
            SmsProviderKind::Aliyun => "aliyun",
            SmsProviderKind::Tencent => "tencent",
            SmsProviderKind::File => "file",
        }
    }

    /// The inverse of [`as_str`](Self::as_str) (surrounding blanks ignored, case-sensitive).
    pub fn parse(s: &str) -> Option<Self> {
        SmsProviderKind::ALL.into_iter().find(|kind| kind.as_str() == s.trim())
    }

    fn index(self) -> usize {
        match self {
            SmsProviderKind::Twilio => 0,
            SmsProviderKind::Aliyun => 1,
            SmsProviderKind::Tencent => 2,
            SmsProviderKind::File => 3,
        }
    }
}

impl fmt::Display for SmsProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sender of a Twilio message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// `From`: an E.164 number or an alphanumeric sender id.
    From(String),
    /// `MessagingServiceSid` (`MG…`): Twilio picks the number from the service's pool.
    MessagingService(String),
}

#[derive(Clone)]
pub struct TwilioConfig {
    /// Without a trailing slash.
    pub base_url: String,
    pub account_sid: String,
    /// The account's auth token, or the API key's secret when `api_key_sid` is set.
    pub auth_token: String,
    pub api_key_sid: Option<String>,
    pub sender: TwilioSender,
}

#[derive(Clone)]
pub struct AliyunConfig {
    /// Without a trailing slash.
    pub base_url: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub sign_name: String,
    /// Message kind → `TemplateCode`.
    pub template_codes: BTreeMap<String, String>,
}

#[derive(Clone)]
pub struct TencentConfig {
    /// Without a trailing slash.
    pub base_url: String,
    pub secret_id: String,
    pub secret_key: String,
    pub sdk_app_id: String,
    pub sign_name: String,
    pub region: String,
    /// Message kind → `TemplateId`.
    pub template_ids: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct FileConfig {
    pub dir: PathBuf,
}

// Written out so that secrets never reach a log line through `{:?}`.
impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("api_key_sid", &self.api_key_sid)
            .field("sender", &self.sender)
            .finish()
    }
}

impl fmt::Debug for AliyunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunConfig")
            .field("base_url", &self.base_url)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("sign_name", &self.sign_name)
            .field("template_codes", &self.template_codes)
            .finish()
    }
}

impl fmt::Debug for TencentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentConfig")
            .field("base_url", &self.base_url)
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("sign_name", &self.sign_name)
            .field("region", &self.region)
            .field("template_ids", &self.template_ids)
            .finish()
    }
}

/// Which providers are usable, with what, and how hard to push them. See the module docs for
/// the environment variables.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub default_provider: Option<SmsProviderKind>,
    /// Requests in flight per provider.
    pub concurrency: usize,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub twilio: Option<TwilioConfig>,
    pub aliyun: Option<AliyunConfig>,
    pub tencent: Option<TencentConfig>,
    pub file: Option<FileConfig>,
}

pub const DEFAULT_CONCURRENCY: usize = 8;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const TWILIO_DEFAULT_BASE_URL: &str = "https://api.twilio.com";
pub const ALIYUN_DEFAULT_BASE_URL: &str = "https://dysmsapi.aliyuncs.com";
pub const TENCENT_DEFAULT_BASE_URL: &str = "https://sms.tencentcloudapi.com";
pub const TENCENT_DEFAULT_REGION: &str = "ap-guangzhou";

impl Default for SmsConfig {
    /// Nothing configured.
    fn default() -> Self {
        SmsConfig {
            default_provider: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: DEFAULT_TIMEOUT,
            twilio: None,
            aliyun: None,
            tencent: None,
            file: None,
        }
    }
}

impl SmsConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Vec<String>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `get` (tests pass a map). On error, every problem found,
    /// one line per bad variable, each starting with the variable's name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();

        let concurrency = match var("SMS_CONCURRENCY") {
            None => DEFAULT_CONCURRENCY,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "SMS_CONCURRENCY must be a whole number from 1 to 1024, not {raw:?}"
                    ));
                    DEFAULT_CONCURRENCY
                }
            },
        };
        let timeout = match var("SMS_TIMEOUT_SECS") {
            None => DEFAULT_TIMEOUT,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if (1..=600).contains(&n) => Duration::from_secs(n),
                _ => {
                    problems.push(format!(
                        "SMS_TIMEOUT_SECS must be a whole number of seconds from 1 to 600, not {raw:?}"
                    ));
                    DEFAULT_TIMEOUT
                }
            },
        };

        let twilio = twilio_config(&var, &mut problems);
        let aliyun = aliyun_config(&var, &mut problems);
        let tencent = tencent_config(&var, &mut problems);
        let file = var("OUTBOX_DIR").map(|dir| FileConfig {
            dir: PathBuf::from(dir),
        });

        let configured = |kind: SmsProviderKind| match kind {
            SmsProviderKind::Twilio => twilio.is_some(),
            SmsProviderKind::Aliyun => aliyun.is_some(),
            SmsProviderKind::Tencent => tencent.is_some(),
            SmsProviderKind::File => file.is_some(),
        };
        let default_provider = match var("SMS_PROVIDER") {
            None => file.as_ref().map(|_| SmsProviderKind::File),
            Some(raw) => match SmsProviderKind::parse(&raw) {
                None => {
                    problems.push(format!(
                        "SMS_PROVIDER must be twilio, aliyun, tencent or file, not {raw:?}"
                    ));
                    None
                }
                Some(kind) => {
                    if !configured(kind) && !problems.iter().any(|p| p.starts_with(prefix(kind))) {
                        problems.push(format!(
                            "SMS_PROVIDER is {kind} but {kind} is not configured (needs {})",
                            required_variables(kind)
                        ));
                    }
                    Some(kind)
                }
            },
        };

        if problems.is_empty() {
            Ok(SmsConfig {
                default_provider,
                concurrency,
                timeout,
                twilio,
                aliyun,
                tencent,
                file,
            })
        } else {
            Err(problems)
        }
    }

    pub fn is_configured(&self, provider: SmsProviderKind) -> bool {
        match provider {
            SmsProviderKind::Twilio => self.twilio.is_some(),
            SmsProviderKind::Aliyun => self.aliyun.is_some(),
            SmsProviderKind::Tencent => self.tencent.is_some(),
            SmsProviderKind::File => self.file.is_some(),
        }
    }
}

fn prefix(kind: SmsProviderKind) -> &'static str {
    match kind {
        SmsProviderKind::Twilio => "TWILIO_",
        SmsProviderKind::Aliyun => "ALIYUN_",
        SmsProviderKind::Tencent => "TENCENT_",
        SmsProviderKind::File => "OUTBOX_DIR",
    }
}

fn required_variables(kind: SmsProviderKind) -> &'static str {
    match kind {
        SmsProviderKind::Twilio => {
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"
        }
        SmsProviderKind::Aliyun => {
            "ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET, ALIYUN_SIGN_NAME and ALIYUN_TEMPLATE_CODES"
        }
        SmsProviderKind::Tencent => {
            "TENCENT_SECRET_ID, TENCENT_SECRET_KEY, TENCENT_SDK_APP_ID, TENCENT_SIGN_NAME and TENCENT_TEMPLATE_IDS"
        }
        SmsProviderKind::File => "OUTBOX_DIR",
    }
}

/// A provider's required variables, or the problems (one per missing variable) when some but not
/// all of its variables are set. `None` without problems: the provider is simply not used.
fn required(
    provider: &str,
    var: &impl Fn(&str) -> Option<String>,
    names: &[&str],
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let values: Vec<(&str, Option<String>)> = names.iter().map(|name| (*name, var(name))).collect();
    let set: Vec<&str> = values
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| *name)
        .collect();
    if set.is_empty() {
        return None;
    }
    let missing: Vec<&str> = values
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Some(values.into_iter().filter_map(|(_, v)| v).collect());
    }
    for name in missing {
        problems.push(partial(name, provider, &set));
    }
    None
}

fn partial(missing: &str, provider: &str, set: &[&str]) -> String {
    format!(
        "{missing} is not set, but {provider} is partly configured ({} set)",
        set.join(", ")
    )
}

fn base_url(var: &impl Fn(&str) -> Option<String>, name: &str, default: &str, problems: &mut Vec<String>) -> String {
    let Some(raw) = var(name) else {
        return default.to_owned();
    };
    match reqwest::Url::parse(&raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() && url.query().is_none() => {
            raw.trim_end_matches('/').to_owned()
        }
        _ => {
            problems.push(format!("{name} must be an http(s) URL without a query, not {raw:?}"));
            default.to_owned()
        }
    }
}

/// `kind=value,kind=value`: every kind a message kind, every value non-empty (and, when
/// `numeric`, digits only).
fn template_map(name: &str, raw: &str, numeric: bool, problems: &mut Vec<String>) -> Option<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    let mut issues = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((kind, value)) = entry.split_once('=') else {
            issues.push(format!("{entry:?} is not kind=template"));
            continue;
        };
        let (kind, value) = (kind.trim(), value.trim());
        if MessageKind::parse(kind).is_err() {
            let kinds: Vec<&str> = MessageKind::ALL.iter().map(|k| k.as_str()).collect();
            issues.push(format!("{kind:?} is not a message kind ({})", kinds.join(", ")));
        } else if value.is_empty() || (numeric && !value.bytes().all(|b| b.is_ascii_digit())) {
            issues.push(format!(
                "{kind}: {value:?} is not a {}template id",
                if numeric { "numeric " } else { "" }
            ));
        } else if map.insert(kind.to_owned(), value.to_owned()).is_some() {
            issues.push(format!("{kind} is given twice"));
        }
    }
    if map.is_empty() && issues.is_empty() {
        issues.push("names no template".to_owned());
    }
    if issues.is_empty() {
        Some(map)
    } else {
        problems.push(format!("{name}: {}", issues.join("; ")));
        None
    }
}

fn twilio_config(var: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Option<TwilioConfig> {
    let base_url = base_url(var, "TWILIO_BASE_URL", TWILIO_DEFAULT_BASE_URL, problems);
    let names = [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY_SID",
        "TWILIO_FROM",
        "TWILIO_MESSAGING_SERVICE_SID",
    ];
    let [account_sid, auth_token, api_key_sid, from, service] = names.map(var);
    let set: Vec<&str> = names
        .iter()
        .zip([&account_sid, &auth_token, &api_key_sid, &from, &service])
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| *n)
        .collect();
    if set.is_empty() {
        return None;
    }
    let before = problems.len();
    if account_sid.is_none() {
        problems.push(partial("TWILIO_ACCOUNT_SID", "Twilio", &set));
    }
    if auth_token.is_none() {
        problems.push(partial("TWILIO_AUTH_TOKEN", "Twilio", &set));
    }
    if from.is_none() && service.is_none() {
        problems.push(partial("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID", "Twilio", &set));
    }
    if let Some(sid) = &account_sid {
        if !(sid.starts_with("AC") && sid.len() > 2 && sid.bytes().all(|b| b.is_ascii_alphanumeric())) {
            problems.push(format!(
                "TWILIO_ACCOUNT_SID must look like AC followed by letters and digits, not {sid:?}"
            ));
        }
    }
    if let Some(key) = &api_key_sid {
        if !(key.starts_with("SK") && key.len() > 2 && key.bytes().all(|b| b.is_ascii_alphanumeric())) {
            problems.push(format!(
                "TWILIO_API_KEY_SID must look like SK followed by letters and digits, not {key:?}"
            ));
        }
    }
    if problems.len() > before {
        return None;
    }
    let sender = match (service, from) {
        (Some(service), _) => TwilioSender::MessagingService(service),
        (None, from) => TwilioSender::From(from?),
    };
    Some(TwilioConfig {
        base_url,
        account_sid: account_sid?,
        auth_token: auth_token?,
        api_key_sid,
        sender,
    })
}

fn aliyun_config(var: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Option<AliyunConfig> {
    let base_url = base_url(var, "ALIYUN_BASE_URL", ALIYUN_DEFAULT_BASE_URL, problems);
    let names = [
        "ALIYUN_ACCESS_KEY_ID",
        "ALIYUN_ACCESS_KEY_SECRET",
        "ALIYUN_SIGN_NAME",
        "ALIYUN_TEMPLATE_CODES",
    ];
    let values = required("Aliyun", var, &names, problems)?;
    let [access_key_id, access_key_secret, sign_name, codes] = <[String; 4]>::try_from(values).ok()?;
    let template_codes = template_map("ALIYUN_TEMPLATE_CODES", &codes, false, problems)?;
    Some(AliyunConfig {
        base_url,
        access_key_id,
        access_key_secret,
        sign_name,
        template_codes,
    })
}

fn tencent_config(var: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Option<TencentConfig> {
    let base_url = base_url(var, "TENCENT_BASE_URL", TENCENT_DEFAULT_BASE_URL, problems);
    let region = var("TENCENT_REGION").unwrap_or_else(|| TENCENT_DEFAULT_REGION.to_owned());
    let region_ok = region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        problems.push(format!("TENCENT_REGION must look like ap-guangzhou, not {region:?}"));
    }
    let names = [
        "TENCENT_SECRET_ID",
        "TENCENT_SECRET_KEY",
        "TENCENT_SDK_APP_ID",
        "TENCENT_SIGN_NAME",
        "TENCENT_TEMPLATE_IDS",
    ];
    let values = required("Tencent", var, &names, problems)?;
    let [secret_id, secret_key, sdk_app_id, sign_name, ids] = <[String; 5]>::try_from(values).ok()?;
    if !sdk_app_id.bytes().all(|b| b.is_ascii_digit()) {
        problems.push(format!("TENCENT_SDK_APP_ID must be digits, not {sdk_app_id:?}"));
        return None;
    }
    let template_ids = template_map("TENCENT_TEMPLATE_IDS", &ids, true, problems)?;
    region_ok.then_some(TencentConfig {
        base_url,
        secret_id,
        secret_key,
        sdk_app_id,
        sign_name,
        region,
        template_ids,
    })
}

/// How many pages (of 50, newest first) of a number's messages a crash-recovery lookup reads:
/// the interrupted attempt is at most a lease (minutes) old.
const LOOKUP_PAGES: usize = 2;

/// One SMS to hand over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// The outbox row id (uuid text): Aliyun `OutId`, Tencent `SessionContext`, the file's name.
    pub message_id: String,
    /// E.164, e.g. `+8613800138000` or `+447700900123`.
    pub to: String,
    /// The full rendered text (signature, link, opt-out already in it): what Twilio and the file
    /// provider send. Aliyun and Tencent send `template` + `params` instead.
    pub body: String,
    /// The message kind: `birthday`, `survey`, `complaint_alert`, `escalation`, `wake_up`.
    pub template: String,
    /// Placeholder values: `client_name`, `store_name`, `store_phone`, `date`, `link`, `offer`
    /// (some may be absent).
    pub params: BTreeMap<String, String>,
}

/// Sends SMS through the configured providers: one HTTP client (connection pools shared), and
/// per provider a semaphore of `concurrency` permits.
pub struct SmsGateway {
    config: SmsConfig,
    client: reqwest::Client,
    permits: [Semaphore; 4],
}

impl fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SmsGateway {
    pub fn new(config: SmsConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("salon-crm-worker/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|error| {
                tracing::error!(%error, "SMS HTTP client: falling back to the default client");
                reqwest::Client::default()
            });
        let permits = std::array::from_fn(|_| Semaphore::new(config.concurrency.max(1)));
        SmsGateway {
            config,
            client,
            permits,
        }
    }

    /// `SMS_PROVIDER` (or `file` when only `OUTBOX_DIR` is set).
    pub fn default_provider(&self) -> Option<SmsProviderKind> {
        self.config.default_provider
    }

    pub fn is_configured(&self, provider: SmsProviderKind) -> bool {
        self.config.is_configured(provider)
    }

    pub fn config(&self) -> &SmsConfig {
        &self.config
    }

    /// One attempt to hand `message` to `provider`. Never panics; an unconfigured provider is
    /// `Permanent { code: "not_configured" }`.
    pub async fn send(&self, provider: SmsProviderKind, message: &SmsMessage) -> SendOutcome {
        self.send_unless(provider, message, &AtomicBool::new(false)).await
    }

    /// [`Self::send`], unless `stopping` is set by the time the message's turn comes (a free
    /// permit of the provider's concurrency limit): then it is [`SendOutcome::Withheld`].
    pub async fn send_unless(
        &self,
        provider: SmsProviderKind,
        message: &SmsMessage,
        stopping: &AtomicBool,
    ) -> SendOutcome {
        let outcome = self.dispatch(provider, message, stopping).await;
        // Codes only at info/warn: a provider's message can quote the recipient's number.
        let provider_name = provider.as_str();
        match &outcome {
            SendOutcome::Sent { provider_message_id } => {
                let provider_message_id = provider_message_id.as_deref().unwrap_or("");
                tracing::debug!(provider = provider_name, message_id = %message.message_id, provider_message_id, "sms sent");
            }
            SendOutcome::Transient {
                code,
                error,
                retry_after,
            } => {
                let code = code.as_deref().unwrap_or("");
                let retry_after_secs = retry_after.map(|d| d.as_secs());
                tracing::info!(provider = provider_name, message_id = %message.message_id, code, retry_after_secs,
                    "sms not sent, to retry");
                tracing::debug!(provider = provider_name, message_id = %message.message_id, error = %error, "sms error");
            }
            SendOutcome::Permanent { code, error } => {
                let code = code.as_deref().unwrap_or("");
                tracing::warn!(provider = provider_name, message_id = %message.message_id, code, "sms failed");
                tracing::debug!(provider = provider_name, message_id = %message.message_id, error = %error, "sms error");
            }
            SendOutcome::Withheld => {
                tracing::debug!(provider = provider_name, message_id = %message.message_id, "sms withheld: stopping");
            }
        }
        outcome
    }

    /// After a crash: the provider's ids of messages to `to` whose text is `body_pattern` (with
    /// `{token}` for the personal link), newest first, from the provider's own log; `None` when
    /// the provider offers no such log to us. Twilio lists the account's messages; the `file`
    /// provider needs none (it writes one file per message id, so a repeat replaces it);
    /// Aliyun and Tencent are not asked (see the README on crash recovery).
    pub async fn earlier_attempts(
        &self,
        provider: SmsProviderKind,
        to: &str,
        body_pattern: &str,
    ) -> Option<Result<Vec<String>, SendOutcome>> {
        match (provider, &self.config.twilio) {
            (SmsProviderKind::Twilio, Some(config)) => {
                let _permit = self.permits[provider.index()].acquire().await.ok()?;
                Some(twilio::find_sent(&self.client, config, to, body_pattern, LOOKUP_PAGES).await)
            }
            _ => None,
        }
    }

    async fn dispatch(&self, provider: SmsProviderKind, message: &SmsMessage, stopping: &AtomicBool) -> SendOutcome {
        if !self.is_configured(provider) {
            return permanent("not_configured", format!("SMS provider {provider} is not configured"));
        }
        if !is_e164(&message.to) {
            return permanent(
                "invalid_number",
                "the recipient is not an E.164 number (+ and 8 to 15 digits)",
            );
        }
        let Ok(kind) = MessageKind::parse(&message.template) else {
            return permanent(
                "unknown_template",
                format!("{:?} is not a message kind", message.template),
            );
        };
        let _permit = match self.permits[provider.index()].acquire().await {
            Ok(permit) => permit,
            Err(_) => return transient("closed", "the SMS gateway is shutting down", None),
        };
        if stopping.load(Ordering::SeqCst) {
            return SendOutcome::Withheld;
        }
        match provider {
            SmsProviderKind::Twilio => match &self.config.twilio {
                Some(config) => twilio::send(&self.client, config, message).await,
                None => permanent("not_configured", "SMS provider twilio is not configured"),
            },
            SmsProviderKind::Aliyun => match &self.config.aliyun {
                Some(config) => aliyun::send(&self.client, config, message).await,
                None => permanent("not_configured", "SMS provider aliyun is not configured"),
            },
            SmsProviderKind::Tencent => match &self.config.tencent {
                Some(config) => tencent::send(&self.client, config, kind, message).await,
                None => permanent("not_configured", "SMS provider tencent is not configured"),
            },
            SmsProviderKind::File => match &self.config.file {
                Some(config) => file::send(config, message).await,
                None => permanent("not_configured", "SMS provider file is not configured"),
            },
        }
    }
}

// ---- helpers shared by the providers ----

pub(crate) fn permanent(code: impl Into<String>, error: impl Into<String>) -> SendOutcome {
    SendOutcome::Permanent {
        code: Some(code.into()),
        error: error.into(),
    }
}

pub(crate) fn transient(
    code: impl Into<String>,
    error: impl Into<String>,
    retry_after: Option<Duration>,
) -> SendOutcome {
    SendOutcome::Transient {
        code: Some(code.into()),
        error: error.into(),
        retry_after,
    }
}

/// `+` then 8 to 15 digits, the first not 0.
pub(crate) fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length: this arm cannot run.
        Err(_) => Vec::new(),
    }
}

/// RFC 3986 percent-encoding: unreserved characters (`A-Z a-z 0-9 - _ . ~`) kept, every other
/// UTF-8 byte as `%XX` (upper-case hex), so space is `%20`, `*` is `%2A`, `+` is `%2B`.
pub(crate) fn rfc3986_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `host` header value for a URL: host, and the port when it is not the scheme's default.
pub(crate) fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// `Retry-After`: delta-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO))
}

/// Time until the next midnight in China (UTC+8), plus a minute: when Aliyun's and Tencent's
/// daily limits reset.
pub(crate) fn until_china_midnight(now: DateTime<Utc>) -> Duration {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let Some(china) = FixedOffset::east_opt(8 * 3600) else {
        return DAY;
    };
    let local = now.with_timezone(&china);
    let next = local
        .date_naive()
        .succ_opt()
        .and_then(|day| day.and_hms_opt(0, 1, 0))
        .and_then(|t| t.and_local_timezone(china).single());
    match next {
        Some(next) => (next.with_timezone(&Utc) - now).to_std().unwrap_or(DAY),
        None => DAY,
    }
}

/// At most `max` characters (provider messages go into outcome strings, not whole bodies).
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// What came back over HTTP, or the transport failure as an outcome.
pub(crate) struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

pub(crate) async fn exchange(
    provider: SmsProviderKind,
    request: reqwest::RequestBuilder,
) -> Result<Reply, SendOutcome> {
    let response = request.send().await.map_err(|e| transport_error(provider, e))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()));
    let body = response.bytes().await.map_err(|e| transport_error(provider, e))?;
    Ok(Reply {
        status,
        retry_after,
        body: body.to_vec(),
    })
}

fn transport_error(provider: SmsProviderKind, error: reqwest::Error) -> SendOutcome {
    let code = if error.is_connect() {
        "connect"
    } else if error.is_timeout() {
        "timeout"
    } else {
        "network"
    };
    let error = error.without_url();
    let mut text = format!("{provider}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    transient(code, clip(&text, 300), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn provider_names_round_trip() {
        for kind in SmsProviderKind::ALL {
            assert_eq!(SmsProviderKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SmsProviderKind::parse(" tencent "), Some(SmsProviderKind::Tencent));
        assert_eq!(SmsProviderKind::parse("Twilio"), None);
    }

    #[test]
    fn nothing_set_is_nothing_configured() {
        let config = SmsConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.default_provider, None);
        assert_eq!(config.concurrency, 8);
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert!(SmsProviderKind::ALL.iter().all(|k| !config.is_configured(*k)));
    }

    #[test]
    fn outbox_dir_makes_file_the_default() {
        let config = SmsConfig::from_lookup(lookup(&[("OUTBOX_DIR", "/tmp/outbox")])).unwrap();
        assert_eq!(config.default_provider, Some(SmsProviderKind::File));
    }

    #[test]
    fn full_configs_parse() {
        let config = SmsConfig::from_lookup(lookup(&[
            ("SMS_PROVIDER", "tencent"),
            ("SMS_CONCURRENCY", "3"),
            ("SMS_TIMEOUT_SECS", "4"),
            ("TWILIO_ACCOUNT_SID", "AC0123"),
            ("TWILIO_AUTH_TOKEN", "fake-token"),
            ("TWILIO_FROM", "+15005550006"),
            ("TWILIO_BASE_URL", "http://127.0.0.1:9/"),
            ("ALIYUN_ACCESS_KEY_ID", "fake-id"),
            ("ALIYUN_ACCESS_KEY_SECRET", "fake-secret"),
            ("ALIYUN_SIGN_NAME", "测试"),
            ("ALIYUN_TEMPLATE_CODES", "birthday=SMS_1001, survey=SMS_1002"),
            ("TENCENT_SECRET_ID", "fake-id"),
            ("TENCENT_SECRET_KEY", "fake-key"),
            ("TENCENT_SDK_APP_ID", "1400000000"),
            ("TENCENT_SIGN_NAME", "测试"),
            ("TENCENT_TEMPLATE_IDS", "wake_up=100005"),
        ]))
        .unwrap();
        assert_eq!(config.default_provider, Some(SmsProviderKind::Tencent));
        assert_eq!(config.concurrency, 3);
        assert_eq!(config.timeout, Duration::from_secs(4));
        let twilio = config.twilio.as_ref().unwrap();
        assert_eq!(twilio.base_url, "http://127.0.0.1:9");
        assert_eq!(twilio.sender, TwilioSender::From("+15005550006".into()));
        assert_eq!(config.aliyun.as_ref().unwrap().template_codes["survey"], "SMS_1002");
        let tencent = config.tencent.as_ref().unwrap();
        assert_eq!(tencent.region, "ap-guangzhou");
        assert_eq!(tencent.base_url, TENCENT_DEFAULT_BASE_URL);
        assert!(!format!("{config:?}").contains("fake-secret"));
        assert!(!format!("{config:?}").contains("fake-key"));
        assert!(!format!("{config:?}").contains("fake-token"));
    }

    #[test]
    fn partial_and_bad_configs_name_the_variables() {
        let problems = SmsConfig::from_lookup(lookup(&[
            ("SMS_PROVIDER", "carrier-pigeon"),
            ("SMS_CONCURRENCY", "0"),
            ("TWILIO_ACCOUNT_SID", "AC0123"),
            ("ALIYUN_ACCESS_KEY_ID", "fake-id"),
            ("ALIYUN_ACCESS_KEY_SECRET", "fake-secret"),
            ("ALIYUN_SIGN_NAME", "测试"),
            ("ALIYUN_TEMPLATE_CODES", "bday=SMS_1"),
            ("TENCENT_BASE_URL", "ftp://example"),
        ]))
        .unwrap_err();
        let has = |s: &str| problems.iter().any(|p| p.starts_with(s));
        assert!(has("SMS_PROVIDER"), "{problems:?}");
        assert!(has("SMS_CONCURRENCY"), "{problems:?}");
        assert!(has("TWILIO_AUTH_TOKEN"), "{problems:?}");
        assert!(has("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"), "{problems:?}");
        assert!(has("ALIYUN_TEMPLATE_CODES"), "{problems:?}");
        assert!(has("TENCENT_BASE_URL"), "{problems:?}");
        assert!(!problems.iter().any(|p| p.contains("fake-secret")));
    }

    #[test]
    fn sender_only_is_partial() {
        let problems = SmsConfig::from_lookup(lookup(&[("TWILIO_FROM", "+15005550006")])).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("TWILIO_ACCOUNT_SID")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("TWILIO_AUTH_TOKEN")),
            "{problems:?}"
        );
    }

    #[test]
    fn chosen_provider_must_be_configured() {
        let problems = SmsConfig::from_lookup(lookup(&[("SMS_PROVIDER", "aliyun")])).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("ALIYUN_ACCESS_KEY_ID"));
    }

    #[test]
    fn e164() {
        assert!(is_e164("+8613800138000"));
        assert!(is_e164("+447700900123"));
        assert!(!is_e164("13800138000"));
        assert!(!is_e164("+86 138"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+1234567"));
    }

    #[test]
    fn rfc3986() {
        assert_eq!(rfc3986_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(rfc3986_encode("a b*c+d/e=f&g:h"), "a%20b%2Ac%2Bd%2Fe%3Df%26g%3Ah");
        assert_eq!(rfc3986_encode("测"), "%E6%B5%8B");
    }

    #[test]
    fn retry_after_forms() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn china_midnight() {
        // 2024-03-01 15:30 UTC is 23:30 in China: midnight is 30 minutes away (+1 minute).
        let now = Utc.with_ymd_and_hms(2024, 3, 1, 15, 30, 0).unwrap();
        assert_eq!(until_china_midnight(now), Duration::from_secs(31 * 60));
        // 16:30 UTC is 00:30 the next day in China: almost a whole day.
        let now = Utc.with_ymd_and_hms(2024, 3, 1, 16, 30, 0).unwrap();
        assert_eq!(until_china_midnight(now), Duration::from_secs(23 * 3600 + 31 * 60));
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("短信内容", 2), "短信…");
        assert_eq!(clip("ok", 5), "ok");
    }
}
