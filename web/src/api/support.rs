//! Small pieces shared by the resource modules: ETags, idempotent creation.

use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use shared::db::AnyConnection;
use shared::idempotency::{self, IdempotencyKey, StoredResponse};
use shared::tenancy::Tenant;
use shared::{Error, FieldErrors};

/// A record's version as a strong ETag.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` names: `None` when absent or `*`. A value that is not one of our
/// ETags can never match, so it becomes a version that does not exist (412).
pub fn if_match(req: &HttpRequest) -> Option<i32> {
    let value = req.headers().get(header::IF_MATCH)?.to_str().ok()?.trim();
    if value == "*" {
        return None;
    }
    let unquoted = value.trim_start_matches("W/").trim_matches('"');
    Some(unquoted.parse().unwrap_or(-1))
}

/// 200 with the record and its ETag.
pub fn with_etag(status: actix_web::http::StatusCode, version: i32, body: &impl Serialize) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.insert_header((header::ETAG, value));
    }
    response.json(body)
}

/// Run `create` in a transaction, once per `Idempotency-Key`: a retry with the same key and
/// body gets the first answer (status, body and Location) without creating anything.
pub async fn idempotent_create<F>(
    state: &AppState,
    req: &HttpRequest,
    tenant: Tenant,
    body_hash: String,
    create: F,
) -> ApiResult<HttpResponse>
where
    F: Fn(&mut AnyConnection) -> shared::Result<(String, i32, serde_json::Value)> + Send + Sync + Clone + 'static,
{
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(value) => {
            let parsed = value
                .to_str()
                .map_err(|_| shared::FieldError::new("invalid_idempotency_key", "must be ASCII"))
                .and_then(IdempotencyKey::parse);
            match parsed {
                Ok(key) => Some(key),
                Err(error) => {
                    let mut errors = FieldErrors::default();
                    errors.push("Idempotency-Key", error.code, error.message);
                    return Err(errors.into());
                }
            }
        }
    };
    let now = state.now();
    // Twice at most: a concurrent twin that stored the key first makes the first attempt roll
    // back, and the second replays the twin's answer.
    for _ in 0..2 {
        let key = key.clone();
        let hash = body_hash.clone();
        let create = create.clone();
        let outcome = state
            .db
            .write(move |conn| {
                if let Some(key) = &key {
                    if let Some(stored) = idempotency::replay(conn, &tenant, key, &hash)? {
                        return Ok(stored);
                    }
                }
                let (location, version, body) = create(conn)?;
                let stored = StoredResponse {
                    status: 201,
                    body: serde_json::json!({ "location": location, "version": version, "body": body }).to_string(),
                };
                if let Some(key) = &key {
                    idempotency::remember(conn, &tenant, key, &hash, &stored, now)?;
                }
                Ok(stored)
            })
            .await;
        match outcome {
            Ok(stored) => return Ok(replayed(&stored)),
            Err(Error::Conflict {
                code: "idempotency_race",
                ..
            }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::Model(Error::conflict(
        "idempotency_race",
        "the same request is being processed; retry",
    )))
}

fn replayed(stored: &StoredResponse) -> HttpResponse {
    let saved: serde_json::Value = serde_json::from_str(&stored.body).unwrap_or_default();
    let status = actix_web::http::StatusCode::from_u16(stored.status).unwrap_or(actix_web::http::StatusCode::CREATED);
    let mut response = HttpResponse::build(status);
    if let Some(location) = saved["location"].as_str() {
        response.insert_header((header::LOCATION, location.to_owned()));
    }
    if let Some(version) = saved["version"].as_i64() {
        if let Ok(value) = HeaderValue::from_str(&etag(version as i32)) {
            response.insert_header((header::ETAG, value));
        }
    }
    response.json(&saved["body"])
}
