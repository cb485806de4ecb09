//! Twilio Messages API: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded `To`, `From` or `MessagingServiceSid`, `Body`; HTTP Basic auth with the account
//! SID (or an `SK…` API key SID) and its secret.
//!
//! Classification (codes `twilio_<code>` from the error JSON, else `http_<status>`):
//! - 2xx: sent, with the `SM…` sid. A 2xx is never retried, even when its body is unreadable.
//! - 429 / `20429`, 408, 5xx, and `21611` (the sender's queue is full): transient, with
//!   `Retry-After` as `retry_after` when given.
//! - everything else, notably 400 `21211` (invalid To), `21610` (recipient replied STOP),
//!   `21614` (not a mobile number), 401 `20003` (authentication), 404 `20404`: permanent.

use reqwest::header::CONTENT_TYPE;

use super::{clip, exchange, permanent, transient, Reply, SmsMessage, SmsProviderKind, TwilioConfig, TwilioSender};
use crate::delivery::SendOutcome;
use shared::outreach::outbox::TOKEN_MARKER;

pub(crate) async fn send(client: &reqwest::Client, config: &TwilioConfig, message: &SmsMessage) -> SendOutcome {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        config.base_url, config.account_sid
    );
    let sender = match &config.sender {
        TwilioSender::From(from) => ("From", from.as_str()),
        TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
    };
    let form = [("To", message.to.as_str()), sender, ("Body", message.body.as_str())];
    let body = match serde_urlencoded::to_string(form) {
        Ok(body) => body,
        Err(error) => return permanent("encode", format!("twilio: cannot encode the form: {error}")),
    };
    let user = config.api_key_sid.as_deref().unwrap_or(&config.account_sid);
    let request = client
        .post(url)
        .basic_auth(user, Some(&config.auth_token))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    match exchange(SmsProviderKind::Twilio, request).await {
        Ok(reply) => classify(&reply),
        Err(outcome) => outcome,
    }
}

/// Messages to `to` in the account's log (newest first, up to `pages` pages of 50) whose body
/// matches `body_pattern`, where each [`TOKEN_MARKER`] stands for one personal-link token (a new
/// token is made for every attempt, so two attempts of one message differ only there). The
/// sids of the matches, newest first: after a crash, the interrupted attempt is among them
/// if Twilio accepted it. An unreadable or failed reply is `Err` (transient: look again later
/// rather than risk sending twice).
pub(crate) async fn find_sent(
    client: &reqwest::Client,
    config: &TwilioConfig,
    to: &str,
    body_pattern: &str,
    pages: usize,
) -> Result<Vec<String>, SendOutcome> {
    let user = config.api_key_sid.as_deref().unwrap_or(&config.account_sid);
    let mut url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json?{}",
        config.base_url,
        config.account_sid,
        serde_urlencoded::to_string([("To", to), ("PageSize", "50")]).unwrap_or_default()
    );
    let mut found = Vec::new();
    for _ in 0..pages.max(1) {
        let request = client.get(&url).basic_auth(user, Some(&config.auth_token));
        let reply = exchange(SmsProviderKind::Twilio, request).await?;
        if !(200..300).contains(&reply.status) {
            return Err(match classify(&reply) {
                // A refused lookup is no reason to give the message up: try again later.
                SendOutcome::Permanent { code, error } => SendOutcome::Transient {
                    code,
                    error,
                    retry_after: None,
                },
                other => other,
            });
        }
        let page: MessagePage = serde_json::from_slice(&reply.body)
            .map_err(|error| transient("lookup", format!("twilio: unreadable message list: {error}"), None))?;
        found.extend(
            page.messages
                .into_iter()
                .filter(|listed| listed.to == to && body_matches(body_pattern, &listed.body))
                .map(|listed| listed.sid),
        );
        match page.next_page_uri {
            Some(next) if !next.is_empty() => url = format!("{}{next}", config.base_url),
            _ => break,
        }
    }
    Ok(found)
}

#[derive(serde::Deserialize)]
struct MessagePage {
    messages: Vec<ListedMessage>,
    next_page_uri: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListedMessage {
    sid: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    body: String,
}

/// Whether `body` is `pattern` with each [`TOKEN_MARKER`] replaced by a link token (22 URL-safe
/// base64 characters, see `outbox::new_link_token`).
fn body_matches(pattern: &str, body: &str) -> bool {
    let mut parts = pattern.split(TOKEN_MARKER);
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = body.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        let token_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            .count();
        if token_len != TOKEN_LEN {
            return false;
        }
        match rest[TOKEN_LEN..].strip_prefix(part) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The length of a personal-link token: 16 random bytes in unpadded URL-safe base64.
const TOKEN_LEN: usize = 22;

/// What a Twilio reply means.
pub(crate) fn classify(reply: &Reply) -> SendOutcome {
    let json: Option<serde_json::Value> = serde_json::from_slice(&reply.body).ok();
    let field = |name: &str| json.as_ref().and_then(|v| v.get(name));
    if (200..300).contains(&reply.status) {
        let sid = field("sid").and_then(|v| v.as_str()).map(str::to_owned);
        if sid.is_none() {
            tracing::warn!(
                status = reply.status,
                "twilio accepted the message but its reply has no sid"
            );
        }
        return SendOutcome::Sent {
            provider_message_id: sid,
        };
    }
    let number = field("code").and_then(|v| v.as_u64());
    let message = field("message").and_then(|v| v.as_str()).unwrap_or("");
    let code = match number {
        Some(n) => format!("twilio_{n}"),
        None => format!("http_{}", reply.status),
    };
    let error = if message.is_empty() {
        format!("twilio: HTTP {}", reply.status)
    } else {
        format!("twilio: HTTP {}: {}", reply.status, clip(message, 300))
    };
    let retryable = matches!(reply.status, 408 | 429) || reply.status >= 500 || matches!(number, Some(20429 | 21611));
    if retryable {
        transient(code, error, reply.retry_after)
    } else {
        permanent(code, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(status: u16, retry_after: Option<u64>, body: &str) -> Reply {
        Reply {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_body_matches_its_pattern_whatever_the_token() {
        let pattern = "【悦颜】请评价 https://x.test/s/{token} 回T退订";
        assert!(body_matches(
            pattern,
            "【悦颜】请评价 https://x.test/s/AAAAAAAAAAAAAAAAAAAAAA 回T退订"
        ));
        assert!(body_matches(
            pattern,
            "【悦颜】请评价 https://x.test/s/a-b_c-d_e-f_g-h_i-j_kl 回T退订"
        ));
        // Another text, a token of another length, or something after the end: not this message.
        assert!(!body_matches(
            pattern,
            "【悦颜】请评价 https://x.test/s/AAAAAAAAAAAAAAAAAAAAAA 回T退"
        ));
        assert!(!body_matches(
            pattern,
            "【悦颜】请评价 https://x.test/s/AAAAAAAAAAAAAAAAAAAAA 回T退订"
        ));
        assert!(!body_matches(
            pattern,
            "【悦颜】请评价 https://x.test/s/AAAAAAAAAAAAAAAAAAAAAA 回T退订!"
        ));
        assert!(!body_matches(
            pattern,
            "【美丽】请评价 https://x.test/s/AAAAAAAAAAAAAAAAAAAAAA 回T退订"
        ));
        // Without a link the text must be the same.
        assert!(body_matches("生日快乐", "生日快乐"));
        assert!(!body_matches("生日快乐", "生日快乐!"));
    }

    #[test]
    fn created_is_sent_with_the_sid() {
        let body = r#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "num_segments": "1"}"#;
        assert_eq!(
            classify(&reply(201, None, body)),
            SendOutcome::Sent {
                provider_message_id: Some("SM0123456789abcdef0123456789abcdef".into())
            }
        );
        assert_eq!(
            classify(&reply(201, None, "not json")),
            SendOutcome::Sent {
                provider_message_id: None
            }
        );
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        let body = r#"{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}"#;
        assert_eq!(
            classify(&reply(429, Some(7), body)),
            SendOutcome::Transient {
                code: Some("twilio_20429".into()),
                error: "twilio: HTTP 429: Too Many Requests".into(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
        assert_eq!(classify(&reply(503, None, "<html>")).code(), Some("http_503"));
        assert!(matches!(
            classify(&reply(503, None, "<html>")),
            SendOutcome::Transient { .. }
        ));
        assert!(matches!(
            classify(&reply(400, None, r#"{"code": 21611}"#)),
            SendOutcome::Transient { .. }
        ));
    }

    #[test]
    fn client_errors_are_permanent() {
        for (status, code) in [
            (400, 21211),
            (400, 21610),
            (400, 21614),
            (401, 20003),
            (404, 20404),
            (400, 21604),
        ] {
            let body = format!(r#"{{"code": {code}, "message": "no", "more_info": "", "status": {status}}}"#);
            let outcome = classify(&reply(status, None, &body));
            assert!(matches!(outcome, SendOutcome::Permanent { .. }), "{code}: {outcome:?}");
            assert_eq!(outcome.code(), Some(format!("twilio_{code}").as_str()));
        }
        assert_eq!(classify(&reply(403, None, "")).code(), Some("http_403"));
    }
}
