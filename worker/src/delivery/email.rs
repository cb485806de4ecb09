//! Email through SMTP (lettre): one pooled connection set per worker, a cap on concurrent
//! hand-overs, and the server's answer classified into a [`SendOutcome`].
//!
//! # Environment
//!
//! | Variable            | Meaning                                                                  |
//! |---------------------|--------------------------------------------------------------------------|
//! | `SMTP_URL`          | Where to hand mail over. Unset (or empty): email is not configured.      |
//! | `MAIL_FROM`         | The sender mailbox, e.g. `Salon CRM <noreply@example.com>`. Required when `SMTP_URL` is set. |
//! | `SMTP_CONCURRENCY`  | Messages handed over at the same time (and pooled connections), 1–100; default 4. |
//! | `SMTP_TIMEOUT_SECS` | Limit for one hand-over, connecting included, 1–600 seconds; default 15. |
//!
//! `SMTP_URL` forms (lettre's `AsyncSmtpTransport::from_url`):
//! - `smtps://user:pass@host:465`: implicit TLS (RFC 8314), the preferred production form;
//! - `smtp://user:pass@host:587?tls=required`: STARTTLS, refusing to continue without it;
//! - `smtp://host:port`: plain text, only sensible on loopback or a development relay.
//!
//! User and password are percent-decoded; a path (`smtp://host:25/client.example.com`) sets the
//! name sent in EHLO. A password over a connection that may stay unencrypted (plain `smtp://`
//! without `tls=required`, or `tls=opportunistic`) to anything but loopback is refused.
//! The URL carries a secret: it is never logged, and `Debug` prints it with the password masked.
//!
//! # What goes out
//!
//! `multipart/alternative` with a `text/plain` and a `text/html` part (the HTML is derived from
//! the text, escaped, when the caller gives none), UTF-8 throughout (lettre picks 7bit,
//! quoted-printable or base64 per part and RFC 2047 encoded words for headers, so the message
//! itself is ASCII), `Date`, `Message-ID: <{outbox id}@{domain of MAIL_FROM}>`, `From` with the
//! salon's name, `To` with the client's name, `Content-Language` when given, and for marketing
//! mail `List-Unsubscribe: <https://…>` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
//! (RFC 8058).
//!
//! # Classification
//!
//! - SMTP 4xx (421, 450, 451, 452, …) → [`SendOutcome::Transient`] with code `smtp_4xx`;
//! - SMTP 5xx (550, 553, 535 bad credentials, …) → [`SendOutcome::Permanent`] with `smtp_5xx`;
//! - connection refused / unreachable → Transient `connect`; no answer in time → Transient
//!   `timeout`; TLS handshake failure → Transient `tls`; connection lost mid-conversation →
//!   Transient `network`;
//! - lettre refusing on its own (no usable AUTH mechanism, STARTTLS missing although required,
//!   a UTF-8 address the server cannot take) → Permanent `smtp_client`;
//! - a recipient address lettre cannot parse → Permanent `invalid_address`; an unsubscribe link
//!   that is not a plain https URL → Permanent `invalid_unsubscribe`.
//!
//! # Runtime
//!
//! The lettre transport (and its pool's housekeeping task) is created on the first send, on the
//! Tokio runtime that send runs on; use one `Mailer` from one runtime. [`Mailer::new`] itself
//! does no I/O and may be called anywhere.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Semaphore;

use super::SendOutcome;

const DEFAULT_CONCURRENCY: usize = 4;
const MAX_CONCURRENCY: usize = 100;
const DEFAULT_TIMEOUT_SECS: u64 = 15;
const MAX_TIMEOUT_SECS: u64 = 600;
/// Headers are limited to 998 characters a line (RFC 5322); a URL is never folded.
const MAX_UNSUBSCRIBE_URL_LEN: usize = 900;

/// Where and as whom to send, read from the environment.
#[derive(Clone)]
pub struct EmailConfig {
    smtp_url: String,
    mail_from: Mailbox,
    concurrency: usize,
    timeout: Duration,
}

impl EmailConfig {
    /// Read the configuration from the process environment (see the module documentation).
    ///
    /// `Ok(None)` when `SMTP_URL` is unset or empty (email is not configured); `Err` lists every
    /// problem found, one sentence each, none of them containing the password.
    pub fn from_env() -> Result<Option<Self>, Vec<String>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`EmailConfig::from_env`], reading variables through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Vec<String>> {
        let Some(smtp_url) = get("SMTP_URL")
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
        else {
            return Ok(None);
        };
        let mut problems = Vec::new();

        match AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp_url) {
            Ok(_) => {
                let parts = UrlParts::parse(&smtp_url);
                if parts.has_password && !parts.always_encrypted() && !parts.is_loopback() {
                    problems.push(
                        "SMTP_URL would send the SMTP password unencrypted to a non-loopback host; use \
                         smtps://host:465 (implicit TLS) or smtp://host:587?tls=required (STARTTLS)"
                            .to_owned(),
                    );
                }
            }
            Err(err) => problems.push(format!(
                "SMTP_URL is not a usable SMTP URL (smtps://user:pass@host:465, \
                 smtp://user:pass@host:587?tls=required or smtp://host:port): {err}"
            )),
        }

        let mail_from = match get("MAIL_FROM")
            .map(|from| from.trim().to_owned())
            .filter(|from| !from.is_empty())
        {
            None => {
                problems.push(
                    "MAIL_FROM is required when SMTP_URL is set (e.g. `Salon CRM <noreply@example.com>`)".to_owned(),
                );
                None
            }
            Some(from) => match Mailbox::from_str(&from) {
                Ok(mailbox) => Some(mailbox),
                Err(err) => {
                    problems.push(format!(
                        "MAIL_FROM is not a valid mailbox ({err}); expected e.g. `Salon CRM <noreply@example.com>`"
                    ));
                    None
                }
            },
        };

        let concurrency = match get("SMTP_CONCURRENCY")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            None => DEFAULT_CONCURRENCY,
            Some(value) => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "SMTP_CONCURRENCY must be a whole number from 1 to {MAX_CONCURRENCY}, not `{value}`"
                    ));
                    DEFAULT_CONCURRENCY
                }
            },
        };

        let timeout_secs = match get("SMTP_TIMEOUT_SECS")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            None => DEFAULT_TIMEOUT_SECS,
            Some(value) => match value.parse::<u64>() {
                Ok(n) if (1..=MAX_TIMEOUT_SECS).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "SMTP_TIMEOUT_SECS must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}, not `{value}`"
                    ));
                    DEFAULT_TIMEOUT_SECS
                }
            },
        };

        match mail_from {
            Some(mail_from) if problems.is_empty() => Ok(Some(EmailConfig {
                smtp_url,
                mail_from,
                concurrency,
                timeout: Duration::from_secs(timeout_secs),
            })),
            _ => Err(problems),
        }
    }

    /// How many messages are handed over at the same time.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The limit for one hand-over, connecting included.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The sender mailbox (`MAIL_FROM`), as written in the `From` header.
    pub fn mail_from(&self) -> String {
        self.mail_from.to_string()
    }
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("smtp_url", &redact_url(&self.smtp_url))
            .field("mail_from", &self.mail_from.to_string())
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One email, rendered, ready to hand over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailMessage {
    /// The outbox row id (uuid text); becomes `Message-ID: <{id}@{domain of MAIL_FROM}>`.
    pub message_id: String,
    /// The recipient's address.
    pub to: String,
    pub to_name: Option<String>,
    /// Display name for `From` (the salon's name); the address is always `MAIL_FROM`'s.
    pub from_name: Option<String>,
    pub subject: String,
    /// The plain text body.
    pub text: String,
    /// The HTML body; when `None`, an escaped HTML version of `text` is derived.
    pub html: Option<String>,
    /// Language tag, e.g. `zh-CN` or `en`: `Content-Language` and the HTML `lang` attribute.
    pub lang: Option<String>,
    /// An https unsubscribe URL: when set, `List-Unsubscribe: <url>` and
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` are added (marketing mail).
    pub list_unsubscribe: Option<String>,
}

/// Hands email to the configured SMTP server.
pub struct Mailer {
    builder: AsyncSmtpTransportBuilder,
    from: Mailbox,
    message_id_domain: String,
    timeout: Duration,
    permits: Semaphore,
    live: Mutex<Option<Live>>,
    generations: AtomicU64,
    description: String,
}

/// The transport in use, with the runtime it was created on.
struct Live {
    generation: u64,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Live {
    fn drop(&mut self) {
        // lettre's pool spawns its clean-up on drop, which needs a runtime context: give it the
        // one the transport was made on, wherever the Mailer happens to be dropped.
        if let Some(transport) = self.transport.take() {
            let _entered = self.runtime.enter();
            drop(transport);
        }
    }
}

impl Mailer {
    /// Prepare a mailer (no connection is made until the first send).
    pub fn new(config: EmailConfig) -> Result<Self, String> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .map_err(|err| format!("SMTP_URL is not a usable SMTP URL: {err}"))?;
        let pool_size = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
        let builder = builder.timeout(Some(config.timeout)).pool_config(
            PoolConfig::new()
                .max_size(pool_size)
                .idle_timeout(Duration::from_secs(60)),
        );

        let parts = UrlParts::parse(&config.smtp_url);
        if !parts.always_encrypted() && !parts.is_loopback() {
            tracing::warn!(
                smtp_url = %redact_url(&config.smtp_url),
                "SMTP to a non-loopback host without required TLS: mail may travel unencrypted"
            );
        }

        let message_id_domain = message_id_domain(config.mail_from.email.domain());
        Ok(Mailer {
            builder,
            message_id_domain,
            timeout: config.timeout,
            permits: Semaphore::new(config.concurrency),
            live: Mutex::new(None),
            generations: AtomicU64::new(0),
            description: format!("{:?}", config),
            from: config.mail_from,
        })
    }

    /// Hand one message over. Never panics; every failure is classified.
    pub async fn send(&self, message: &EmailMessage) -> SendOutcome {
        self.send_unless(message, &std::sync::atomic::AtomicBool::new(false))
            .await
    }

    /// [`Self::send`], unless `stopping` is set by the time the message's turn comes (a free
    /// permit of `SMTP_CONCURRENCY`): then it is [`SendOutcome::Withheld`].
    pub async fn send_unless(&self, message: &EmailMessage, stopping: &std::sync::atomic::AtomicBool) -> SendOutcome {
        let (email, message_id) = match self.build(message) {
            Ok(built) => built,
            Err(outcome) => return outcome,
        };
        let Ok(_permit) = self.permits.acquire().await else {
            return SendOutcome::Transient {
                code: Some("shutdown".to_owned()),
                error: "the mailer is shutting down".to_owned(),
                retry_after: None,
            };
        };
        if stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return SendOutcome::Withheld;
        }
        let Some((transport, generation)) = self.transport() else {
            return SendOutcome::Transient {
                code: Some("no_runtime".to_owned()),
                error: "Mailer::send must run on a Tokio runtime".to_owned(),
                retry_after: None,
            };
        };

        // If this hand-over is cut short (our timeout, or the caller dropping the future), the
        // pooled connection may be left mid-conversation and would be parked as if healthy:
        // throw the whole pool away instead.
        let mut reset = ResetOnDrop {
            mailer: self,
            generation,
            armed: true,
        };
        let result = tokio::time::timeout(self.timeout, transport.send(email)).await;
        match result {
            Ok(Ok(response)) => {
                reset.armed = false;
                tracing::debug!(
                    message_id = %message_id,
                    reply = response.first_line().unwrap_or(""),
                    "email accepted by the SMTP server"
                );
                SendOutcome::Sent {
                    provider_message_id: Some(message_id),
                }
            }
            Ok(Err(err)) => {
                reset.armed = false;
                let outcome = classify(&err);
                tracing::debug!(message_id = %message_id, code = outcome.code(), error = %err, "email not accepted");
                outcome
            }
            Err(_elapsed) => SendOutcome::Transient {
                code: Some("timeout".to_owned()),
                error: format!("the SMTP server did not finish within {}s", self.timeout.as_secs()),
                retry_after: None,
            },
        }
    }

    /// The message as lettre will send it, and its `Message-ID`.
    fn build(&self, message: &EmailMessage) -> Result<(Message, String), SendOutcome> {
        let to_address = Address::from_str(message.to.trim()).map_err(|err| SendOutcome::Permanent {
            code: Some("invalid_address".to_owned()),
            error: format!("the recipient address cannot be used: {err}"),
        })?;
        let to = Mailbox::new(clean_name(message.to_name.as_deref()), to_address);
        let from = Mailbox::new(
            clean_name(message.from_name.as_deref()).or_else(|| self.from.name.clone()),
            self.from.email.clone(),
        );
        let message_id = format!(
            "<{}@{}>",
            message_id_local_part(&message.message_id),
            self.message_id_domain
        );
        let subject = single_line(&message.subject);
        let lang = message
            .lang
            .as_deref()
            .map(str::trim)
            .filter(|lang| is_language_tag(lang));

        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(subject.clone())
            .date_now()
            .message_id(Some(message_id.clone()));
        if let Some(lang) = lang {
            builder = builder.header(ContentLanguage(lang.to_owned()));
        }
        if let Some(url) = &message.list_unsubscribe {
            let url = url.trim();
            if !is_unsubscribe_url(url) {
                return Err(SendOutcome::Permanent {
                    code: Some("invalid_unsubscribe".to_owned()),
                    error: "the unsubscribe link must be a plain https URL".to_owned(),
                });
            }
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }

        let html = match &message.html {
            Some(html) => html.clone(),
            None => html_from_text(&message.text, lang, &subject),
        };
        let email = builder
            .multipart(MultiPart::alternative_plain_html(message.text.clone(), html))
            .map_err(|err| SendOutcome::Permanent {
                code: Some("invalid_message".to_owned()),
                error: format!("the message cannot be built: {err}"),
            })?;
        Ok((email, message_id))
    }

    /// The transport (built on first use, on the current runtime) and its generation.
    fn transport(&self) -> Option<(AsyncSmtpTransport<Tokio1Executor>, u64)> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(Live {
            transport: Some(transport),
            generation,
            ..
        }) = live.as_ref()
        {
            return Some((transport.clone(), *generation));
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let transport = self.builder.clone().build::<Tokio1Executor>();
        *live = Some(Live {
            generation,
            transport: Some(transport.clone()),
            runtime,
        });
        Some((transport, generation))
    }

    /// Drop the transport of `generation` (and with it every pooled connection); the next send
    /// builds a fresh one.
    fn reset(&self, generation: u64) {
        let old = {
            let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
            match live.as_ref() {
                Some(current) if current.generation == generation => live.take(),
                _ => None,
            }
        };
        if old.is_some() {
            tracing::debug!("SMTP hand-over cut short; discarding the pooled connections");
        }
        drop(old);
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("config", &self.description)
            .finish_non_exhaustive()
    }
}

struct ResetOnDrop<'a> {
    mailer: &'a Mailer,
    generation: u64,
    armed: bool,
}

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.mailer.reset(self.generation);
        }
    }
}

/// What lettre's error means for the outbox.
fn classify(err: &lettre::transport::smtp::Error) -> SendOutcome {
    let error = err.to_string();
    if let Some(status) = err.status() {
        let code = Some(format!("smtp_{}", u16::from(status)));
        return if err.is_permanent() {
            SendOutcome::Permanent { code, error }
        } else {
            SendOutcome::Transient {
                code,
                error,
                retry_after: None,
            }
        };
    }
    if err.is_client() {
        return SendOutcome::Permanent {
            code: Some("smtp_client".to_owned()),
            error,
        };
    }
    let code = if err.is_timeout() {
        "timeout"
    } else if err.is_tls() {
        "tls"
    } else if err.is_transport_shutdown() {
        "shutdown"
    } else if error.starts_with("Connection error") {
        // lettre has no public `is_connection`; its Display names the kind.
        "connect"
    } else {
        "network"
    };
    SendOutcome::Transient {
        code: Some(code.to_owned()),
        error,
        retry_after: None,
    }
}

// ---- headers lettre does not define --------------------------------------------------------

#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

// ---- small helpers -------------------------------------------------------------------------

/// Control characters (CR/LF above all) become spaces: a header is one line.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn clean_name(name: Option<&str>) -> Option<String> {
    name.map(single_line).filter(|name| !name.is_empty())
}

/// The outbox id reduced to characters safe in a Message-ID; a fresh uuid if nothing is left.
fn message_id_local_part(id: &str) -> String {
    let local: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if local.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        local
    }
}

/// The right-hand side of Message-IDs: MAIL_FROM's domain when it is plain ASCII.
fn message_id_domain(domain: &str) -> String {
    let ascii = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '[' | ']' | ':'));
    if ascii {
        domain.to_owned()
    } else {
        "salon-crm.invalid".to_owned()
    }
}

/// A BCP 47-shaped tag: letters, digits and hyphens, at most 35 characters.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 35
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !tag.starts_with('-')
}

/// An https URL with a host, printable ASCII only, nothing that would end the `<…>`.
fn is_unsubscribe_url(url: &str) -> bool {
    let Some(rest) = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
    else {
        return false;
    };
    url.len() <= MAX_UNSUBSCRIBE_URL_LEN
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '[')
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"'))
}

/// Enough of an SMTP URL to judge how safe it is, without the `url` crate.
struct UrlParts {
    scheme: String,
    host: String,
    has_password: bool,
    tls: Option<String>,
}

impl UrlParts {
    fn parse(url: &str) -> Self {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let host = if let Some(bracketed) = hostport.strip_prefix('[') {
            bracketed.split(']').next().unwrap_or("")
        } else {
            hostport.split(':').next().unwrap_or("")
        };
        let query = rest
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(""))
            .unwrap_or("");
        let tls = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "tls")
            .map(|(_, v)| v.to_owned());
        UrlParts {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            has_password: userinfo.is_some_and(|u| u.contains(':')),
            tls,
        }
    }

    /// Implicit TLS, or STARTTLS that must succeed.
    fn always_encrypted(&self) -> bool {
        self.scheme == "smtps" || self.tls.as_deref() == Some("required")
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.ends_with(".localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// The URL with its password replaced by `***`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable>".to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{hostport}{tail}")
        }
        None => url.to_owned(),
    }
}

// ---- text → HTML ---------------------------------------------------------------------------

/// A simple HTML version of a plain text body: escaped, blank lines separate paragraphs, line
/// breaks become `<br>`, http(s) links become clickable.
fn html_from_text(text: &str, lang: Option<&str>, title: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut html = String::with_capacity(text.len() * 2 + 256);
    html.push_str("<!DOCTYPE html>\n<html");
    if let Some(lang) = lang.filter(|lang| is_language_tag(lang)) {
        html.push_str(" lang=\"");
        html.push_str(lang);
        html.push('"');
    }
    html.push_str(">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    push_escaped(&mut html, title);
    html.push_str("</title>\n</head>\n<body style=\"font-family: sans-serif; line-height: 1.5;\">\n");

    let mut paragraph: Vec<&str> = Vec::new();
    for line in text.split('\n').chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !paragraph.is_empty() {
                html.push_str("<p>");
                for (i, line) in paragraph.iter().enumerate() {
                    if i > 0 {
                        html.push_str("<br>\n");
                    }
                    push_linkified(&mut html, line.trim_end());
                }
                html.push_str("</p>\n");
                paragraph.clear();
            }
        } else {
            paragraph.push(line);
        }
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Escape `line`, turning every http(s) URL in it into a link.
fn push_linkified(out: &mut String, line: &str) {
    let mut rest = line;
    while let Some((start, scheme_len)) = find_url_start(rest) {
        push_escaped(out, &rest[..start]);
        let candidate = &rest[start..];
        let len = url_len(candidate, scheme_len);
        if len == 0 {
            push_escaped(out, &candidate[..scheme_len]);
            rest = &candidate[scheme_len..];
            continue;
        }
        let url = &candidate[..len];
        out.push_str("<a href=\"");
        push_escaped(out, url);
        out.push_str("\">");
        push_escaped(out, url);
        out.push_str("</a>");
        rest = &candidate[len..];
    }
    push_escaped(out, rest);
}

/// The byte offset of the first `http://` or `https://` (any case), and the scheme's length.
fn find_url_start(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let http = lower.find("http://").map(|i| (i, 7));
    let https = lower.find("https://").map(|i| (i, 8));
    match (http, https) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// How many bytes of `text` (which starts with a scheme of `scheme_len` bytes) form the URL;
/// 0 when no host follows the scheme. Stops at whitespace, non-ASCII (Chinese text often runs
/// straight on after a link) and characters URLs do not contain; trailing punctuation and
/// unbalanced closing brackets are left out.
fn url_len(text: &str, scheme_len: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = scheme_len;
    while end < bytes.len() && is_url_byte(bytes[end]) {
        end += 1;
    }
    loop {
        if end <= scheme_len {
            return 0;
        }
        let url = &text[..end];
        let last = bytes[end - 1];
        let unbalanced =
            |open: char, close: char| last == close as u8 && url.matches(close).count() > url.matches(open).count();
        if matches!(last, b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'*')
            || unbalanced('(', ')')
            || unbalanced('[', ']')
        {
            end -= 1;
        } else {
            break;
        }
    }
    let first = bytes[scheme_len];
    if first.is_ascii_alphanumeric() || first == b'[' {
        end
    } else {
        0
    }
}

fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn config() -> EmailConfig {
        EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("MAIL_FROM", "Salon CRM <noreply@example.com>"),
        ]))
        .unwrap()
        .unwrap()
    }

    fn message() -> EmailMessage {
        EmailMessage {
            message_id: "0190a7e4-5a5e-7bb2-a3c1-2f4f1e0d9c11".to_owned(),
            to: "lin@example.org".to_owned(),
            to_name: Some("林小姐".to_owned()),
            from_name: Some("悦己美发".to_owned()),
            subject: "生日快乐".to_owned(),
            text: "祝您生日快乐！\n\n详情 https://example.com/a?b=1&c=2。".to_owned(),
            html: None,
            lang: Some("zh-CN".to_owned()),
            list_unsubscribe: None,
        }
    }

    fn formatted(message: &EmailMessage) -> String {
        let mailer = Mailer::new(config()).unwrap();
        let (email, _) = mailer.build(message).unwrap();
        String::from_utf8(email.formatted()).unwrap()
    }

    #[test]
    fn html_escapes_markup() {
        let html = html_from_text("<script>alert('x')</script> & \"more\"", None, "a <b> title");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<title>a &lt;b&gt; title</title>"), "{html}");
    }

    #[test]
    fn html_paragraphs_and_line_breaks() {
        let html = html_from_text("one\r\ntwo\n\n\n three \n", Some("en"), "");
        assert!(html.contains("<p>one<br>\ntwo</p>\n<p> three</p>\n"), "{html}");
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert_eq!(html.matches("<p>").count(), 2);
    }

    #[test]
    fn html_without_lang_or_with_a_bad_one_has_no_attribute() {
        assert!(html_from_text("x", None, "").contains("<html>\n"));
        assert!(html_from_text("x", Some("en\" onload=\"x"), "").contains("<html>\n"));
    }

    #[test]
    fn html_links_are_clickable_and_escaped() {
        let html = html_from_text("Book: https://example.com/a?b=1&c=2.", None, "");
        assert!(
            html.contains("Book: <a href=\"https://example.com/a?b=1&amp;c=2\">https://example.com/a?b=1&amp;c=2</a>."),
            "{html}"
        );
    }

    #[test]
    fn html_links_next_to_chinese_and_in_brackets() {
        let html = html_from_text("点击https://example.com/s/abc进入（或http://x.cn/y）", None, "");
        assert!(
            html.contains("点击<a href=\"https://example.com/s/abc\">https://example.com/s/abc</a>进入"),
            "{html}"
        );
        assert!(
            html.contains("（或<a href=\"http://x.cn/y\">http://x.cn/y</a>）"),
            "{html}"
        );

        let html = html_from_text(
            "(see https://en.wikipedia.org/wiki/Foo_(bar)) and (https://a.example/b)",
            None,
            "",
        );
        assert!(
            html.contains("<a href=\"https://en.wikipedia.org/wiki/Foo_(bar)\">"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://a.example/b\">https://a.example/b</a>)"),
            "{html}"
        );
    }

    #[test]
    fn html_links_cannot_break_out_of_the_attribute() {
        let html = html_from_text("https://evil.example/\"onmouseover=\"x <b>", None, "");
        assert!(
            html.contains("<a href=\"https://evil.example/\">https://evil.example/</a>&quot;onmouseover"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn html_bare_scheme_is_not_a_link() {
        let html = html_from_text("http:// and https://", None, "");
        assert!(!html.contains("<a "), "{html}");
        assert!(html.contains("<p>http:// and https://</p>"), "{html}");
    }

    #[test]
    fn config_unset_is_none() {
        assert!(EmailConfig::from_lookup(lookup(&[])).unwrap().is_none());
        assert!(
            EmailConfig::from_lookup(lookup(&[("SMTP_URL", "  "), ("MAIL_FROM", "x")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn config_defaults_and_values() {
        let config = config();
        assert_eq!(config.concurrency(), 4);
        assert_eq!(config.timeout(), Duration::from_secs(15));
        assert_eq!(config.mail_from(), "Salon CRM <noreply@example.com>");

        let config = EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", "smtps://user:s3cret@smtp.example.com:465"),
            ("MAIL_FROM", "noreply@example.com"),
            ("SMTP_CONCURRENCY", "8"),
            ("SMTP_TIMEOUT_SECS", "30"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.concurrency(), 8);
        assert_eq!(config.timeout(), Duration::from_secs(30));
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("smtps://user:***@smtp.example.com:465"), "{debug}");
        assert!(!format!("{:?}", Mailer::new(config).unwrap()).contains("s3cret"));
    }

    #[test]
    fn config_problems_are_all_listed() {
        let problems = EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", "smtp://127.0.0.1:25"),
            ("SMTP_CONCURRENCY", "0"),
            ("SMTP_TIMEOUT_SECS", "soon"),
        ]))
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("MAIL_FROM"), "{problems:?}");
        assert!(problems[1].contains("SMTP_CONCURRENCY"), "{problems:?}");
        assert!(problems[2].contains("SMTP_TIMEOUT_SECS"), "{problems:?}");

        let problems = EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", "http://smtp.example.com"),
            ("MAIL_FROM", "not an address"),
        ]))
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("SMTP_URL"), "{problems:?}");
        assert!(problems[1].contains("MAIL_FROM"), "{problems:?}");
    }

    #[test]
    fn config_refuses_passwords_in_the_clear() {
        for url in [
            "smtp://user:s3cret@smtp.example.com:587",
            "smtp://user:s3cret@smtp.example.com:587?tls=opportunistic",
        ] {
            let problems =
                EmailConfig::from_lookup(lookup(&[("SMTP_URL", url), ("MAIL_FROM", "a@example.com")])).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(!problems[0].contains("s3cret"), "{problems:?}");
        }
        for url in [
            "smtp://user:s3cret@smtp.example.com:587?tls=required",
            "smtps://user:s3cret@smtp.example.com",
            "smtp://user:s3cret@127.0.0.1:2525",
            "smtp://user:s3cret@localhost:2525",
            "smtp://smtp.example.com:25",
        ] {
            let config = EmailConfig::from_lookup(lookup(&[("SMTP_URL", url), ("MAIL_FROM", "a@example.com")]));
            assert!(matches!(config, Ok(Some(_))), "{url}: {config:?}");
        }
    }

    #[test]
    fn message_headers() {
        let raw = formatted(&message());
        assert!(
            raw.contains("Message-ID: <0190a7e4-5a5e-7bb2-a3c1-2f4f1e0d9c11@example.com>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("\r\nDate: "), "{raw}");
        assert!(raw.contains("Content-Language: zh-CN\r\n"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("<noreply@example.com>"), "{raw}");
        assert!(raw.contains("<lin@example.org>"), "{raw}");
        assert!(!raw.contains("List-Unsubscribe"), "{raw}");
        assert!(raw.is_ascii(), "lettre encodes everything: {raw}");
    }

    #[test]
    fn message_unsubscribe_headers() {
        let raw = formatted(&EmailMessage {
            list_unsubscribe: Some("https://crm.example.com/u/abc?t=1".to_owned()),
            ..message()
        });
        assert!(
            raw.contains("List-Unsubscribe: <https://crm.example.com/u/abc?t=1>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
    }

    #[test]
    fn message_header_injection_is_neutralised() {
        let raw = formatted(&EmailMessage {
            subject: "Hi\r\nBcc: victim@example.net".to_owned(),
            to_name: Some("X\r\nBcc: victim@example.net".to_owned()),
            message_id: "a>b\r\nX: y".to_owned(),
            ..message()
        });
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(raw.contains("Message-ID: <abXy@example.com>\r\n"), "{raw}");
    }

    #[test]
    fn message_bad_inputs_are_permanent() {
        let mailer = Mailer::new(config()).unwrap();
        let err = mailer
            .build(&EmailMessage {
                to: "not an address".to_owned(),
                ..message()
            })
            .unwrap_err();
        assert_eq!(err.code(), Some("invalid_address"));
        assert!(matches!(err, SendOutcome::Permanent { .. }));

        for url in [
            "http://x.example/u",
            "javascript:alert(1)",
            "https://x.example/u> <evil",
            "https://",
            "",
        ] {
            let err = mailer
                .build(&EmailMessage {
                    list_unsubscribe: Some(url.to_owned()),
                    ..message()
                })
                .unwrap_err();
            assert_eq!(err.code(), Some("invalid_unsubscribe"), "{url}");
        }
    }

    #[test]
    fn message_id_falls_back_to_a_uuid() {
        let mailer = Mailer::new(config()).unwrap();
        let (_, id) = mailer
            .build(&EmailMessage {
                message_id: "<>".to_owned(),
                ..message()
            })
            .unwrap();
        assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
        assert_eq!(id.len(), "<@example.com>".len() + 36, "{id}");
    }

    #[test]
    fn url_redaction() {
        assert_eq!(
            redact_url("smtp://u:p%40ss@h:587?tls=required"),
            "smtp://u:***@h:587?tls=required"
        );
        assert_eq!(redact_url("smtp://h:25"), "smtp://h:25");
        assert_eq!(redact_url("garbage"), "<unparsable>");
    }

    #[tokio::test]
    async fn refused_connection_is_transient() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let config = EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
            ("MAIL_FROM", "noreply@example.com"),
        ]))
        .unwrap()
        .unwrap();
        let outcome = Mailer::new(config).unwrap().send(&message()).await;
        assert!(matches!(outcome, SendOutcome::Transient { .. }), "{outcome:?}");
        assert_eq!(outcome.code(), Some("connect"), "{outcome:?}");
    }

    /// A server that accepts and then says nothing: the whole hand-over is bounded by
    /// SMTP_TIMEOUT_SECS, and the pool is thrown away so no half-used connection is reused.
    #[tokio::test]
    async fn silent_server_times_out_and_resets_the_pool() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        let config = EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
            ("MAIL_FROM", "noreply@example.com"),
            ("SMTP_TIMEOUT_SECS", "1"),
        ]))
        .unwrap()
        .unwrap();
        let mailer = Mailer::new(config).unwrap();
        let started = std::time::Instant::now();
        let outcome = mailer.send(&message()).await;
        assert_eq!(outcome.code(), Some("timeout"), "{outcome:?}");
        assert!(matches!(outcome, SendOutcome::Transient { .. }));
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(mailer.live.lock().unwrap().is_none(), "the transport was discarded");

        // The next send builds a new transport (a new generation).
        let _ = mailer.send(&message()).await;
        assert!(mailer.generations.load(Ordering::Relaxed) >= 2);
        held.abort();
    }

    /// lettre's pool spawns on drop; dropping a used Mailer outside any runtime (or after its
    /// runtime is gone) must not panic.
    #[test]
    fn dropping_a_used_mailer_outside_a_runtime_does_not_panic() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let config = EmailConfig::from_lookup(lookup(&[
            ("SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
            ("MAIL_FROM", "noreply@example.com"),
        ]))
        .unwrap()
        .unwrap();

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mailer = Mailer::new(config.clone()).unwrap();
        runtime.block_on(mailer.send(&message()));
        drop(mailer); // runtime alive, but not entered
        drop(runtime);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mailer = Mailer::new(config).unwrap();
        runtime.block_on(mailer.send(&message()));
        drop(runtime);
        drop(mailer); // runtime gone
    }
}
