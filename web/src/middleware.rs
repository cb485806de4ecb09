//! Request-wide concerns: a request id and a log line per request, metrics, and the session
//! lookup that puts an [`Auth`] into the request for the extractors.

use crate::problem::ApiError;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use shared::tenancy::{authenticate as lookup_session, BearerToken};
use shared::Error;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Give every request an id (the caller's `X-Request-Id` when it is sane), log it with the
/// outcome, echo it in the response, and count the request by route template.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %loggable_path(req.path()),
        tenant_id = tracing::field::Empty
    );
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let started = Instant::now();

    let mut response = next.call(req).instrument(span.clone()).await?;

    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = state {
        state.metrics.observe_request(&method, &route, status, elapsed);
    }
    span.in_scope(|| tracing::info!(status, route = %route, elapsed_ms = elapsed * 1000.0, "answered"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// The path for the log: a personal link's token (`/s/TOKEN`, `/u/TOKEN`,
/// `/app/password/TOKEN`, `/api/v1/password_tokens/TOKEN`) is a credential and never reaches a
/// log line.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/s/") {
        "/s/{token}"
    } else if path.starts_with("/u/") {
        "/u/{token}"
    } else if path.starts_with("/app/password/") {
        "/app/password/{token}"
    } else if path.starts_with("/api/v1/password_tokens/") {
        "/api/v1/password_tokens/{token}"
    } else {
        path
    }
}

/// Every request must finish within `REQUEST_TIMEOUT_SECS`, reading its body included: a client
/// that trickles a body (or a request stuck behind a saturated pool) gets a 408 and the
/// connection is closed, instead of holding a worker forever. Bulk transfers (CSV imports,
/// export downloads) get ten times as long.
///
/// It wraps everything else, so a timed-out request is answered by actix from the error (the
/// request itself cannot be kept: routing needs it unshared); it is logged and counted here.
pub async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let path = req.path();
    let bulk = path.starts_with("/api/v1/imports/") || path.ends_with("/download");
    let limit = state.config.request_timeout * if bulk { 10 } else { 1 };
    // Kept for the log line of a timeout (the request moves on); a method is cheap to clone.
    let method = req.method().clone();
    let path = loggable_path(path).to_owned();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, path, limit_secs = limit.as_secs(), "request timed out");
            state
                .metrics
                .observe_request(method.as_str(), "timed_out", 408, limit.as_secs_f64());
            Err(ApiError::RequestTimeout(limit).into())
        }
    }
}

/// Look up the bearer token's session, if the request has one, and attach it. A request
/// without a token passes through (public endpoints, and the extractors answer 401 for the
/// rest); a request with a bad token is refused here.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        match session_of(&req).await {
            Ok(auth) => {
                tracing::Span::current().record("tenant_id", tracing::field::display(auth.tenant.id()));
                req.extensions_mut().insert(auth);
            }
            Err(error) => return Ok(req.error_response(error).map_into_right_body()),
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

async fn session_of(req: &ServiceRequest) -> Result<shared::tenancy::Auth, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .and_then(|t| BearerToken::presented(t.trim()))
        .ok_or(ApiError::Model(Error::Unauthenticated))?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Model(Error::Internal("application state missing".into())))?;
    Ok(session(&state, token).await?)
}

/// The live session behind a token, however it was presented: the API's bearer header and the
/// console's cookie both come here, so expiry, logout, deactivation and revocation act alike.
pub async fn session(state: &AppState, token: BearerToken) -> Result<shared::tenancy::Auth, Error> {
    let now = state.now();
    state.db.read(move |conn| lookup_session(conn, &token, now)).await
}
