//! Tencent Cloud SMS `SendSms` (API 3.0, version 2021-01-11), signed with `TC3-HMAC-SHA256`.
//!
//! `POST {base}/` with JSON `{PhoneNumberSet: [to], SmsSdkAppId, TemplateId, SignName,
//! TemplateParamSet, SessionContext: message_id}` and the headers `X-TC-Action: SendSms`,
//! `X-TC-Version`, `X-TC-Timestamp`, `X-TC-Region`, `Content-Type: application/json`, `Host`,
//! `Authorization` (signed headers `content-type;host`, service `sms`).
//!
//! # Template parameters
//!
//! A Tencent template has numbered placeholders `{1}`, `{2}`, …; `TemplateParamSet` fills them in
//! this fixed order per message kind (see [`param_names`]), and the templates registered with
//! Tencent must use the same order:
//!
//! | kind | `{1}` | `{2}` | `{3}` | `{4}` |
//! |---|---|---|---|---|
//! | `birthday` | client_name | store_name | offer | |
//! | `survey` | client_name | store_name | link | |
//! | `complaint_alert` | client_name | store_name | date | link |
//! | `escalation` | client_name | store_name | date | link |
//! | `wake_up` | client_name | store_name | offer | store_phone |
//!
//! An absent parameter is sent as an empty string, so the count always matches the template.
//!
//! # Classification
//!
//! Tencent answers HTTP 200 to everything it handles. Codes are `tencent_<Code>`.
//! - `Response.Error`: `RequestLimitExceeded*`, `InternalError*` transient; everything else
//!   (notably `AuthFailure.*`, the clock being off included) permanent.
//! - `Response.SendStatusSet[0].Code`: `Ok` → sent with the `SerialNo`;
//!   `LimitExceeded.PhoneNumberThirtySecondLimit` (`retry_after` 30 s), `…OneHourLimit` (an
//!   hour), `…PhoneNumberDailyLimit`, `…PhoneNumberSameContentDailyLimit` and the application's
//!   daily limits `LimitExceeded.App*DailyLimit` (the next China midnight), `InternalError*`:
//!   transient; everything else (`InvalidParameterValue.IncorrectPhoneNumber`,
//!   `FailedOperation.PhoneNumberInBlacklist`, …) permanent.
//! - Any other HTTP status comes from something in front of the API: 408, 429 (with
//!   `Retry-After`) and 5xx transient (`http_<status>`), the rest permanent.
//!
//! The reply's `Content-Type` is not looked at (with or without a charset, the body is JSON).

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use shared::outreach::MessageKind;

use super::{
    clip, exchange, host_header, permanent, sha256_hex, transient, until_china_midnight, Reply, SmsMessage,
    SmsProviderKind, TencentConfig,
};
use crate::delivery::SendOutcome;

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2021-01-11";
pub const SERVICE: &str = "sms";
const CONTENT_TYPE_JSON: &str = "application/json";

/// The order of `TemplateParamSet` for a message kind (the table in the module docs).
pub fn param_names(kind: MessageKind) -> &'static [&'static str] {
    match kind {
        MessageKind::Birthday => &["client_name", "store_name", "offer"],
        MessageKind::Survey => &["client_name", "store_name", "link"],
        MessageKind::ComplaintAlert => &["client_name", "store_name", "date", "link"],
        MessageKind::Escalation => &["client_name", "store_name", "date", "link"],
        MessageKind::WakeUp => &["client_name", "store_name", "offer", "store_phone"],
        // Account messages go by email; an SMS template would take the same first two.
        MessageKind::StaffInvitation | MessageKind::PasswordReset => &["client_name", "store_name", "link"],
    }
}

pub(crate) async fn send(
    client: &reqwest::Client,
    config: &TencentConfig,
    kind: MessageKind,
    message: &SmsMessage,
) -> SendOutcome {
    let Some(template_id) = config.template_ids.get(kind.as_str()) else {
        return permanent(
            "no_template_id",
            format!("tencent: TENCENT_TEMPLATE_IDS has no template for {kind:?}"),
        );
    };
    let params: Vec<&str> = param_names(kind)
        .iter()
        .map(|name| message.params.get(*name).map_or("", String::as_str))
        .collect();
    let payload = serde_json::json!({
        "PhoneNumberSet": [message.to],
        "SmsSdkAppId": config.sdk_app_id,
        "TemplateId": template_id,
        "SignName": config.sign_name,
        "TemplateParamSet": params,
        "SessionContext": message.message_id,
    });
    let payload = match serde_json::to_vec(&payload) {
        Ok(payload) => payload,
        Err(error) => return permanent("encode", format!("tencent: cannot encode the request: {error}")),
    };
    let url = match reqwest::Url::parse(&format!("{}/", config.base_url)) {
        Ok(url) => url,
        Err(error) => return permanent("not_configured", format!("tencent: bad TENCENT_BASE_URL: {error}")),
    };
    let host = host_header(&url);
    let timestamp = Utc::now().timestamp();
    let date = utc_date(timestamp);
    let canonical = canonical_request(CONTENT_TYPE_JSON, &host, &payload);
    let to_sign = string_to_sign(timestamp, &date, SERVICE, &canonical);
    let signature = signature(&config.secret_key, &date, SERVICE, &to_sign);
    let request = client
        .post(url)
        .header(HOST, &host)
        .header(CONTENT_TYPE, CONTENT_TYPE_JSON)
        .header("X-TC-Action", ACTION)
        .header("X-TC-Version", VERSION)
        .header("X-TC-Timestamp", timestamp.to_string())
        .header("X-TC-Region", &config.region)
        .header(
            AUTHORIZATION,
            authorization(&config.secret_id, &date, SERVICE, &signature),
        )
        .body(payload);
    match exchange(SmsProviderKind::Tencent, request).await {
        Ok(reply) => classify(&reply, Utc::now()),
        Err(outcome) => outcome,
    }
}

/// The UTC date (`YYYY-MM-DD`) of a unix timestamp: the `Date` of the credential scope.
pub fn utc_date(timestamp: i64) -> String {
    match Utc.timestamp_opt(timestamp, 0).single() {
        Some(at) => at.format("%Y-%m-%d").to_string(),
        None => String::new(),
    }
}

/// `POST\n/\n\ncontent-type:CT\nhost:HOST\n\ncontent-type;host\n` + hex SHA-256 of the payload.
pub fn canonical_request(content_type: &str, host: &str, payload: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        content_type.trim().to_ascii_lowercase(),
        host.trim().to_ascii_lowercase(),
        sha256_hex(payload)
    )
}

/// `TC3-HMAC-SHA256\nTIMESTAMP\nDATE/SERVICE/tc3_request\n` + hex SHA-256 of the canonical
/// request.
pub fn string_to_sign(timestamp: i64, date: &str, service: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Hex HMAC-SHA256 of the string to sign with the derived key: HMAC chain `"TC3" + SecretKey` →
/// DATE → SERVICE → `"tc3_request"`.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    use super::hmac_sha256;
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()))
}

pub fn authorization(secret_id: &str, date: &str, service: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders=content-type;host, \
         Signature={signature}"
    )
}

/// What a Tencent reply means.
pub(crate) fn classify(reply: &Reply, now: DateTime<Utc>) -> SendOutcome {
    if reply.status != 200 {
        let code = format!("http_{}", reply.status);
        let error = format!("tencent: HTTP {}", reply.status);
        return if matches!(reply.status, 408 | 429) || reply.status >= 500 {
            transient(code, error, reply.retry_after)
        } else {
            permanent(code, error)
        };
    }
    let json: Option<serde_json::Value> = serde_json::from_slice(&reply.body).ok();
    let Some(response) = json.as_ref().and_then(|v| v.get("Response")) else {
        return transient("bad_response", "tencent: a reply without Response", reply.retry_after);
    };
    let text = |v: &serde_json::Value, name: &str| v.get(name).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    if let Some(error) = response.get("Error") {
        let code = text(error, "Code");
        let message = format!("tencent: {code}: {}", clip(&text(error, "Message"), 300));
        return if code.starts_with("RequestLimitExceeded") || code.starts_with("InternalError") {
            transient(format!("tencent_{code}"), message, reply.retry_after)
        } else {
            permanent(format!("tencent_{code}"), message)
        };
    }
    let Some(status) = response.get("SendStatusSet").and_then(|v| v.get(0)) else {
        return transient(
            "bad_response",
            "tencent: a reply without SendStatusSet",
            reply.retry_after,
        );
    };
    let code = text(status, "Code");
    if code == "Ok" {
        let serial = text(status, "SerialNo");
        return SendOutcome::Sent {
            provider_message_id: (!serial.is_empty()).then_some(serial),
        };
    }
    let message = format!("tencent: {code}: {}", clip(&text(status, "Message"), 300));
    let wait = match code.as_str() {
        "LimitExceeded.PhoneNumberThirtySecondLimit" => Some(Duration::from_secs(30)),
        "LimitExceeded.PhoneNumberOneHourLimit" => Some(Duration::from_secs(3600)),
        "LimitExceeded.PhoneNumberDailyLimit"
        | "LimitExceeded.PhoneNumberSameContentDailyLimit"
        | "LimitExceeded.DailyLimit" => Some(until_china_midnight(now)),
        c if c.starts_with("LimitExceeded.App") && c.ends_with("DailyLimit") => Some(until_china_midnight(now)),
        _ => None,
    };
    if wait.is_some() || code.starts_with("InternalError") {
        transient(format!("tencent_{code}"), message, reply.retry_after.or(wait))
    } else {
        permanent(format!("tencent_{code}"), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Tencent Cloud's "Signature v3" document (CVM DescribeInstances at
    /// 1551113065 with the documented example key), reproduced byte for byte.
    #[test]
    fn published_tc3_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            sha256_hex(payload.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let canonical = canonical_request(
            "application/json; charset=utf-8",
            "cvm.tencentcloudapi.com",
            payload.as_bytes(),
        );
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
             content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let date = utc_date(1_551_113_065);
        assert_eq!(date, "2019-02-25");
        let to_sign = string_to_sign(1_551_113_065, &date, "cvm", &canonical);
        assert_eq!(
            to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        let signature = signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", &date, "cvm", &to_sign);
        assert_eq!(
            signature,
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        assert_eq!(
            authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", &date, "cvm", &signature),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn every_kind_has_an_order() {
        for kind in MessageKind::ALL {
            let names = param_names(*kind);
            assert_eq!(&names[..2], &["client_name", "store_name"]);
        }
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn status_set(code: &str) -> String {
        format!(
            r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"2645:1","PhoneNumber":"+8613800138000","Fee":1,
            "SessionContext":"m","Code":"{code}","Message":"m","IsoCode":"CN"}}],"RequestId":"r"}}}}"#
        )
    }

    #[test]
    fn classification() {
        let now = Utc.with_ymd_and_hms(2024, 3, 1, 15, 30, 0).unwrap();
        assert_eq!(
            classify(&reply(200, &status_set("Ok")), now),
            SendOutcome::Sent {
                provider_message_id: Some("2645:1".into())
            }
        );
        let wait = |code: &str| match classify(&reply(200, &status_set(code)), now) {
            SendOutcome::Transient { retry_after, .. } => retry_after,
            other => panic!("{code}: {other:?}"),
        };
        assert_eq!(
            wait("LimitExceeded.PhoneNumberThirtySecondLimit"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            wait("LimitExceeded.PhoneNumberOneHourLimit"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            wait("LimitExceeded.PhoneNumberDailyLimit"),
            Some(Duration::from_secs(31 * 60))
        );
        assert_eq!(
            wait("LimitExceeded.AppCountryOrRegionDailyLimit"),
            Some(Duration::from_secs(31 * 60))
        );
        assert_eq!(wait("InternalError.Timeout"), None);
        for code in [
            "InvalidParameterValue.IncorrectPhoneNumber",
            "FailedOperation.PhoneNumberInBlacklist",
            "LimitExceeded.PhoneNumberCountLimit",
        ] {
            let outcome = classify(&reply(200, &status_set(code)), now);
            assert!(matches!(outcome, SendOutcome::Permanent { .. }), "{code}");
            assert_eq!(outcome.code(), Some(format!("tencent_{code}").as_str()));
        }
        let error =
            |code: &str| format!(r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"m"}},"RequestId":"r"}}}}"#);
        assert!(matches!(
            classify(&reply(200, &error("RequestLimitExceeded")), now),
            SendOutcome::Transient { .. }
        ));
        assert!(matches!(
            classify(&reply(200, &error("InternalError")), now),
            SendOutcome::Transient { .. }
        ));
        for code in [
            "AuthFailure.SignatureFailure",
            "AuthFailure.SignatureExpire",
            "AuthFailure.SecretIdNotFound",
        ] {
            let outcome = classify(&reply(200, &error(code)), now);
            assert!(matches!(outcome, SendOutcome::Permanent { .. }), "{code}");
        }
        assert!(matches!(
            classify(&reply(502, "Bad Gateway"), now),
            SendOutcome::Transient { .. }
        ));
        assert_eq!(classify(&reply(502, "Bad Gateway"), now).code(), Some("http_502"));
        assert!(matches!(
            classify(&reply(200, "{}"), now),
            SendOutcome::Transient { .. }
        ));
    }
}
