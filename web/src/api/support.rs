//! Small pieces shared by the resource modules: ETags, idempotent creation.

use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::db::AnyConnection;
use shared::idempotency::{self, IdempotencyKey, KeyScope, StoredResponse};
use shared::tenancy::{Auth, Tenant};
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

/// The `Idempotency-Key` header, parsed; absent is `None`, a bad one a 422 naming the header.
pub fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<IdempotencyKey>> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let parsed = value
        .to_str()
        .map_err(|_| shared::FieldError::new("invalid_idempotency_key", "must be ASCII"))
        .and_then(IdempotencyKey::parse);
    match parsed {
        Ok(key) => Ok(Some(key)),
        Err(error) => {
            let mut errors = FieldErrors::default();
            errors.push("Idempotency-Key", error.code, error.message);
            Err(errors.into())
        }
    }
}

/// The client a created record is about, kept with its stored answer so that erasing the
/// client removes the answer: a client's own `id` (`POST /clients`), or a record's `client_id`.
fn subject_client(route: &str, body: &serde_json::Value) -> Option<String> {
    let field = if route.ends_with("/clients") { "id" } else { "client_id" };
    body.get(field).and_then(|id| id.as_str()).map(str::to_owned)
}

/// Run `create` in a transaction, once per `Idempotency-Key` of this staff member on this
/// route: a retry with the same key and body gets the first answer (status, body and
/// Location) without creating anything, for 24 hours (`shared::idempotency`).
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
    // The key's owner and route: the session's member, the route's template.
    let auth: Auth = req
        .extensions()
        .get::<Auth>()
        .copied()
        .filter(|auth| auth.tenant == tenant)
        .ok_or(ApiError::Model(Error::Unauthenticated))?;
    let route = format!(
        "{} {}",
        req.method(),
        req.match_pattern().unwrap_or_else(|| req.path().to_owned())
    );
    let key = idempotency_key(req)?;
    let stored = create_once(state, auth, route, key, body_hash, create).await?;
    Ok(replayed(&stored))
}

/// The core of [`idempotent_create`], shared with the console's forms: `create` runs at most
/// once per key of this member on this route (and body hash); the answer stored with the key
/// is handed back either way. Its body is `{location, version, body}`.
pub async fn create_once<F>(
    state: &AppState,
    auth: Auth,
    route: String,
    key: Option<IdempotencyKey>,
    body_hash: String,
    create: F,
) -> shared::Result<StoredResponse>
where
    F: Fn(&mut AnyConnection) -> shared::Result<(String, i32, serde_json::Value)> + Send + Sync + Clone + 'static,
{
    let now = state.now();
    // Twice at most: a concurrent twin that stored the key first makes the first attempt roll
    // back, and the second replays the twin's answer.
    for _ in 0..2 {
        let key = key.clone();
        let hash = body_hash.clone();
        let create = create.clone();
        let route = route.clone();
        let outcome = state
            .db
            .write(move |conn| {
                let scope = KeyScope {
                    auth: &auth,
                    route: &route,
                };
                if let Some(key) = &key {
                    if let Some(stored) = idempotency::replay(conn, scope, key, &hash, now)? {
                        return Ok(stored);
                    }
                }
                let (location, version, body) = create(conn)?;
                let client = subject_client(&route, &body);
                let stored = StoredResponse {
                    status: 201,
                    body: serde_json::json!({ "location": location, "version": version, "body": body }).to_string(),
                };
                if let Some(key) = &key {
                    idempotency::remember(conn, scope, key, &hash, &stored, client.as_deref(), now)?;
                }
                Ok(stored)
            })
            .await;
        match outcome {
            Err(Error::Conflict {
                code: "idempotency_race",
                ..
            }) => continue,
            other => return other,
        }
    }
    Err(Error::conflict(
        "idempotency_race",
        "the same request is being processed; retry",
    ))
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
