//! Aliyun Dysmsapi `SendSms` (version 2017-05-25), signed with V3 `ACS3-HMAC-SHA256`.
//!
//! The request is `POST {base}/?<params>` with an empty body: `PhoneNumbers` (the 11 national
//! digits for +86 numbers, the international digits without `+` for the rest), `SignName`,
//! `TemplateCode` (from `ALIYUN_TEMPLATE_CODES` for the message kind), `TemplateParam` (the
//! params as a JSON object of strings, left out when there are none) and `OutId` (the message
//! id). Signed headers: `host`, `x-acs-action`, `x-acs-content-sha256`, `x-acs-date`,
//! `x-acs-signature-nonce` (a fresh random uuid), `x-acs-version`.
//!
//! Classification (codes `aliyun_<Code>`, else `http_<status>`):
//! - HTTP 200 with `Code: "OK"`: sent, with the `BizId`.
//! - Transient: `isv.BUSINESS_LIMIT_CONTROL` (per-number flow control; `retry_after` 60 s for
//!   the per-minute limit, an hour for the per-hour one, the next China midnight for the daily
//!   one, read from the message), `isv.DAY_LIMIT_CONTROL` (the account's daily quota: it resets at
//!   midnight China time, so transient with `retry_after` until then, rather than losing the
//!   message), `isp.*` system errors (except `isp.RAM_PERMISSION_DENY`), gateway `Throttling*`,
//!   `ServiceUnavailable`, `InternalError`, `SignatureNonceUsed` (a new attempt has a new nonce),
//!   and any 429 or 5xx.
//! - Permanent: everything else, notably `isv.MOBILE_NUMBER_ILLEGAL`,
//!   `isv.TEMPLATE_MISSING_PARAMETERS`, `isv.SMS_SIGNATURE_ILLEGAL`, `isv.AMOUNT_NOT_ENOUGH`,
//!   `SignatureDoesNotMatch`, `InvalidAccessKeyId.NotFound`, `InvalidTimeStamp.Expired` (the
//!   clock is off: a rejected signature, like the other authentication errors).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::AUTHORIZATION;

use super::{
    clip, exchange, host_header, permanent, rfc3986_encode, sha256_hex, transient, until_china_midnight, AliyunConfig,
    Reply, SmsMessage, SmsProviderKind,
};
use crate::delivery::SendOutcome;

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2017-05-25";

pub(crate) async fn send(client: &reqwest::Client, config: &AliyunConfig, message: &SmsMessage) -> SendOutcome {
    let Some(template_code) = config.template_codes.get(&message.template) else {
        return permanent(
            "no_template_code",
            format!(
                "aliyun: ALIYUN_TEMPLATE_CODES has no template for {:?}",
                message.template
            ),
        );
    };
    let phone = phone_number(&message.to);
    let template_param = match serde_json::to_string(&message.params) {
        Ok(json) => json,
        Err(error) => return permanent("encode", format!("aliyun: cannot encode TemplateParam: {error}")),
    };
    let mut params = vec![
        ("PhoneNumbers", phone.as_str()),
        ("SignName", config.sign_name.as_str()),
        ("TemplateCode", template_code.as_str()),
        ("OutId", message.message_id.as_str()),
    ];
    if !message.params.is_empty() {
        params.push(("TemplateParam", template_param.as_str()));
    }
    let query = canonical_query(&params);
    let url = match reqwest::Url::parse(&format!("{}/?{query}", config.base_url)) {
        Ok(url) => url,
        Err(error) => return permanent("not_configured", format!("aliyun: bad ALIYUN_BASE_URL: {error}")),
    };
    let host = host_header(&url);
    let date = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let body_hash = sha256_hex(b"");
    let headers = [
        ("host", host.as_str()),
        ("x-acs-action", ACTION),
        ("x-acs-content-sha256", body_hash.as_str()),
        ("x-acs-date", date.as_str()),
        ("x-acs-signature-nonce", nonce.as_str()),
        ("x-acs-version", VERSION),
    ];
    let (canonical, signed_headers) = canonical_request("POST", url.path(), &query, &headers, &body_hash);
    let authorization = authorization(
        &config.access_key_id,
        &signed_headers,
        &signature(&config.access_key_secret, &canonical),
    );

    let mut request = client.post(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request.header(AUTHORIZATION, authorization);
    match exchange(SmsProviderKind::Aliyun, request).await {
        Ok(reply) => classify(&reply, Utc::now()),
        Err(outcome) => outcome,
    }
}

/// `PhoneNumbers` as Aliyun wants it: `+8613800138000` → `13800138000`, `+447700900123` →
/// `447700900123`.
pub fn phone_number(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    match digits.strip_prefix("86") {
        Some(national) if national.len() == 11 => national.to_owned(),
        _ => digits.to_owned(),
    }
}

/// The canonical query string: names and values RFC 3986-encoded, sorted by name (then value),
/// `name=value` joined by `&`. It is also the query string sent.
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (rfc3986_encode(name), rfc3986_encode(value)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request and the signed-header list: method, URI, canonical query, each header
/// as `lower-case name:trimmed value` sorted by name, a blank line, the names joined by `;`, and
/// the hex SHA-256 of the body.
pub fn canonical_request(
    method: &str,
    uri: &str,
    canonical_query: &str,
    headers: &[(&str, &str)],
    body_sha256: &str,
) -> (String, String) {
    let mut headers: Vec<(String, &str)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!("{method}\n{uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{body_sha256}");
    (canonical, signed_headers)
}

/// `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Hex HMAC-SHA256 of the string to sign, keyed with the AccessKey secret.
pub fn signature(access_key_secret: &str, canonical_request: &str) -> String {
    hex::encode(super::hmac_sha256(
        access_key_secret.as_bytes(),
        string_to_sign(canonical_request).as_bytes(),
    ))
}

pub fn authorization(access_key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// What an Aliyun reply means.
pub(crate) fn classify(reply: &Reply, now: DateTime<Utc>) -> SendOutcome {
    let json: Option<serde_json::Value> = serde_json::from_slice(&reply.body).ok();
    let field = |name: &str| json.as_ref().and_then(|v| v.get(name)).and_then(|v| v.as_str());
    let retryable_status = reply.status == 429 || reply.status >= 500;
    let Some(code) = field("Code") else {
        let code = if reply.status == 200 {
            "bad_response".to_owned()
        } else {
            format!("http_{}", reply.status)
        };
        let error = format!("aliyun: HTTP {} without a Code", reply.status);
        return if retryable_status || reply.status == 200 {
            transient(code, error, reply.retry_after)
        } else {
            permanent(code, error)
        };
    };
    let message = field("Message").unwrap_or("");
    if reply.status == 200 && code == "OK" {
        return SendOutcome::Sent {
            provider_message_id: field("BizId").map(str::to_owned),
        };
    }
    let error = format!("aliyun: {code}: {}", clip(message, 300));
    let label = format!("aliyun_{code}");
    let hint = match code {
        "isv.BUSINESS_LIMIT_CONTROL" => business_limit_wait(message, now),
        "isv.DAY_LIMIT_CONTROL" => Some(until_china_midnight(now)),
        _ => None,
    };
    let retryable = retryable_status
        || matches!(
            code,
            "isv.BUSINESS_LIMIT_CONTROL" | "isv.DAY_LIMIT_CONTROL" | "SignatureNonceUsed" | "InternalError"
        )
        || (code.starts_with("isp.") && code != "isp.RAM_PERMISSION_DENY")
        || code.starts_with("Throttling")
        || code.starts_with("ServiceUnavailable");
    if retryable {
        transient(label, error, reply.retry_after.or(hint))
    } else {
        permanent(label, error)
    }
}

/// `isv.BUSINESS_LIMIT_CONTROL` says which per-number limit tripped: 触发分钟级流控 (minute),
/// 触发小时级流控 (hour), 触发天级流控 (day).
fn business_limit_wait(message: &str, now: DateTime<Utc>) -> Option<Duration> {
    if message.contains("分钟") || message.to_ascii_lowercase().contains("minute") {
        Some(Duration::from_secs(60))
    } else if message.contains("小时") || message.to_ascii_lowercase().contains("hour") {
        Some(Duration::from_secs(3600))
    } else if message.contains("天级") || message.to_ascii_lowercase().contains("day") {
        Some(until_china_midnight(now))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The fixed example of Alibaba Cloud's "V3 request structure and signature" document
    /// (ECS RunInstances), reproduced byte for byte.
    #[test]
    fn published_v3_example() {
        let query = canonical_query(&[
            ("RegionId", "cn-shanghai"),
            ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"),
        ]);
        assert_eq!(
            query,
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
        );
        let body_hash = sha256_hex(b"");
        assert_eq!(
            body_hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let headers = [
            ("x-acs-version", "2014-05-26"),
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-content-sha256", body_hash.as_str()),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ];
        let (canonical, signed) = canonical_request("POST", "/", &query, &headers, &body_hash);
        assert_eq!(
            signed,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        assert_eq!(
            canonical,
            "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
             host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
             x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n\
             x-acs-version:2014-05-26\n\n\
             host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            string_to_sign(&canonical),
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        let signature = signature("YourAccessKeySecret", &canonical);
        assert_eq!(
            signature,
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        assert_eq!(
            authorization("YourAccessKeyId", &signed, &signature),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
             x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn send_sms_query_encoding() {
        let query = canonical_query(&[
            (
                "TemplateParam",
                r#"{"client_name":"王女士","link":"https://x.cn/s?a=1"}"#,
            ),
            ("SignName", "美发 沙龙"),
            ("PhoneNumbers", "13800138000"),
        ]);
        assert_eq!(
            query,
            "PhoneNumbers=13800138000&SignName=%E7%BE%8E%E5%8F%91%20%E6%B2%99%E9%BE%99&TemplateParam=\
             %7B%22client_name%22%3A%22%E7%8E%8B%E5%A5%B3%E5%A3%AB%22%2C%22link%22%3A%22https%3A%2F%2Fx.cn\
             %2Fs%3Fa%3D1%22%7D"
        );
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(phone_number("+8613800138000"), "13800138000");
        assert_eq!(phone_number("+447700900123"), "447700900123");
        assert_eq!(phone_number("+85261234567"), "85261234567");
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn classification() {
        let now = Utc.with_ymd_and_hms(2024, 3, 1, 15, 30, 0).unwrap();
        let ok = r#"{"Code":"OK","Message":"OK","BizId":"900619746936498440^0","RequestId":"F655A8D5"}"#;
        assert_eq!(
            classify(&reply(200, ok), now),
            SendOutcome::Sent {
                provider_message_id: Some("900619746936498440^0".into())
            }
        );
        let limit = r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1","RequestId":"x"}"#;
        assert_eq!(
            classify(&reply(200, limit), now),
            SendOutcome::Transient {
                code: Some("aliyun_isv.BUSINESS_LIMIT_CONTROL".into()),
                error: "aliyun: isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1".into(),
                retry_after: Some(Duration::from_secs(60)),
            }
        );
        let day = r#"{"Code":"isv.DAY_LIMIT_CONTROL","Message":"触发日发送限额"}"#;
        assert!(matches!(
            classify(&reply(200, day), now),
            SendOutcome::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(31 * 60)
        ));
        for transient_code in ["isp.SYSTEM_ERROR", "Throttling.User", "SignatureNonceUsed"] {
            let body = format!(r#"{{"Code":"{transient_code}","Message":"m"}}"#);
            let status = if transient_code.starts_with("isp") { 200 } else { 400 };
            assert!(
                matches!(classify(&reply(status, &body), now), SendOutcome::Transient { .. }),
                "{transient_code}"
            );
        }
        for (status, permanent_code) in [
            (200, "isv.MOBILE_NUMBER_ILLEGAL"),
            (200, "isv.TEMPLATE_MISSING_PARAMETERS"),
            (200, "isv.SMS_SIGNATURE_ILLEGAL"),
            (200, "isv.AMOUNT_NOT_ENOUGH"),
            (400, "SignatureDoesNotMatch"),
            (404, "InvalidAccessKeyId.NotFound"),
            (400, "InvalidTimeStamp.Expired"),
            (200, "isp.RAM_PERMISSION_DENY"),
        ] {
            let body = format!(r#"{{"Code":"{permanent_code}","Message":"m"}}"#);
            let outcome = classify(&reply(status, &body), now);
            assert!(matches!(outcome, SendOutcome::Permanent { .. }), "{permanent_code}");
            assert_eq!(outcome.code(), Some(format!("aliyun_{permanent_code}").as_str()));
        }
        assert_eq!(classify(&reply(502, "<html>"), now).code(), Some("http_502"));
        assert!(matches!(
            classify(&reply(502, "<html>"), now),
            SendOutcome::Transient { .. }
        ));
        assert!(matches!(
            classify(&reply(200, "<html>"), now),
            SendOutcome::Transient { .. }
        ));
        assert!(matches!(
            classify(&reply(403, "<html>"), now),
            SendOutcome::Permanent { .. }
        ));
    }
}
