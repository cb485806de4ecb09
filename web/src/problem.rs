//! The one place where errors become `application/problem+json` (RFC 9457).
//!
//! Causes of server-side failures are logged with the request's id, never shown.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use shared::{Error, FieldError, FieldErrors};
use std::fmt;

/// An RFC 9457 problem document, with salon-crm's extensions `code`, `errors` and
/// `existing_id`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URN naming the kind of problem.
    #[schema(example = "urn:salon-crm:problem:validation_failed")]
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The same as the end of `type`, for clients that switch on a short code.
    pub code: String,
    /// For validation errors: every bad field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For conflicts with an existing record: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    /// For a refused import: the rows and why each was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<shared::imports::ImportReport>,
    /// For `password_change_required` (a first login with a password an owner set): the
    /// single-use token for choosing one's own (`PUT /api/v1/password_tokens/{token}`, or the
    /// page `/app/password/{token}`), valid one hour. No session is opened until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_token: Option<String>,
}

/// The web layer's error: a model error, or a problem found while reading the request.
#[derive(Debug)]
pub enum ApiError {
    Model(Error),
    /// The body is not JSON at all.
    MalformedJson(String),
    UnsupportedMediaType(&'static str),
    PayloadTooLarge,
    BadRequest(String),
    NotFound,
    /// The path exists, the method does not: the methods it has.
    MethodNotAllowed(&'static [&'static str]),
    /// A CSV import with rejected rows, nothing written.
    ImportRejected(Box<shared::imports::ImportReport>),
    /// A rate limit is spent (login, signup): try again after this long.
    TooManyRequests(std::time::Duration),
    /// The request did not finish within `REQUEST_TIMEOUT_SECS` (a slow client or a slow body).
    RequestTimeout(std::time::Duration),
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Rejected(report) => ApiError::ImportRejected(report),
            other => ApiError::Model(other),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Model(Error::Validation(errors))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Model(error) => error.fmt(f),
            ApiError::MalformedJson(detail) => write!(f, "malformed JSON: {detail}"),
            ApiError::UnsupportedMediaType(expected) => write!(f, "expected {expected}"),
            ApiError::PayloadTooLarge => f.write_str("payload too large"),
            ApiError::BadRequest(detail) => f.write_str(detail),
            ApiError::NotFound => f.write_str("not found"),
            ApiError::MethodNotAllowed(allowed) => write!(f, "method not allowed; allowed: {}", allowed.join(", ")),
            ApiError::ImportRejected(report) => write!(f, "{} rows rejected", report.rejected.len()),
            ApiError::TooManyRequests(wait) => write!(f, "too many attempts; retry in {}s", retry_secs(*wait)),
            ApiError::RequestTimeout(limit) => write!(f, "the request took longer than {}s", limit.as_secs()),
        }
    }
}

impl ApiError {
    fn problem(&self) -> Problem {
        let (status, code, title, detail, errors, existing_id): (
            StatusCode,
            &str,
            &str,
            String,
            Vec<FieldError>,
            Option<String>,
        ) = match self {
            ApiError::Model(error) => match error {
                Error::Validation(errors) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "Invalid fields",
                    "Some fields are missing or invalid; see `errors`.".into(),
                    errors.0.clone(),
                    None,
                ),
                Error::NotFound => not_found(),
                Error::Conflict {
                    code,
                    message,
                    existing_id,
                } => (
                    StatusCode::CONFLICT,
                    code,
                    "Conflict",
                    message.clone(),
                    vec![],
                    existing_id.clone(),
                ),
                Error::PreconditionFailed => (
                    StatusCode::PRECONDITION_FAILED,
                    "precondition_failed",
                    "Precondition failed",
                    "The record changed since you read it; read it again and retry.".into(),
                    vec![],
                    None,
                ),
                Error::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Unauthenticated",
                    "Missing, invalid or expired credentials.".into(),
                    vec![],
                    None,
                ),
                Error::Forbidden(reason) => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Forbidden",
                    (*reason).to_owned(),
                    vec![],
                    None,
                ),
                Error::PasswordChangeRequired(_) => (
                    StatusCode::FORBIDDEN,
                    "password_change_required",
                    "Choose your own password",
                    "This password was set by an owner: choose your own with `password_token` \
                     (PUT /api/v1/password_tokens/{password_token}), then log in with it."
                        .into(),
                    vec![],
                    None,
                ),
                Error::Gone { code, message } => (StatusCode::GONE, code, "Gone", message.clone(), vec![], None),
                error if error.is_unavailable() => unavailable(),
                Error::Rejected(_) | Error::Unavailable(_) | Error::Database(_) | Error::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal error",
                    "Something went wrong on our side; it has been logged.".into(),
                    vec![],
                    None,
                ),
            },
            ApiError::MalformedJson(detail) => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Malformed JSON",
                format!("The body is not valid JSON: {detail}"),
                vec![],
                None,
            ),
            ApiError::UnsupportedMediaType(expected) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                format!("The body must be sent as {expected}."),
                vec![],
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                "The body is larger than this endpoint accepts.".into(),
                vec![],
                None,
            ),
            ApiError::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Bad request",
                detail.clone(),
                vec![],
                None,
            ),
            ApiError::NotFound => not_found(),
            ApiError::MethodNotAllowed(allowed) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                format!("This path answers {} only; see `Allow`.", allowed.join(", ")),
                vec![],
                None,
            ),
            ApiError::ImportRejected(report) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "import_rejected",
                "Rows rejected",
                format!(
                    "{} of {} rows were rejected, so nothing was imported; fix them (see `report`) \
                     or send ?partial=true to import the others.",
                    report.rejected.len(),
                    report.rows
                ),
                vec![],
                None,
            ),
            ApiError::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many attempts",
                format!("Too many attempts; try again in {} seconds.", retry_secs(*wait)),
                vec![],
                None,
            ),
            ApiError::RequestTimeout(limit) => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                format!("The request did not complete within {} seconds.", limit.as_secs()),
                vec![],
                None,
            ),
        };
        Problem {
            kind: format!("urn:salon-crm:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors,
            existing_id,
            report: match self {
                ApiError::ImportRejected(report) => Some((**report).clone()),
                _ => None,
            },
            password_token: match self {
                ApiError::Model(Error::PasswordChangeRequired(token)) => Some(token.as_str().to_owned()),
                _ => None,
            },
        }
    }
}

type Parts = (
    StatusCode,
    &'static str,
    &'static str,
    String,
    Vec<FieldError>,
    Option<String>,
);

fn not_found() -> Parts {
    (
        StatusCode::NOT_FOUND,
        "not_found",
        "Not found",
        "There is nothing here.".into(),
        vec![],
        None,
    )
}

fn unavailable() -> Parts {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Service unavailable",
        "The database is not reachable right now; retry shortly.".into(),
        vec![],
        None,
    )
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %self, "request failed");
        }
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match status {
            StatusCode::UNAUTHORIZED => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        if let ApiError::TooManyRequests(wait) = self {
            response.insert_header((header::RETRY_AFTER, retry_secs(*wait).to_string()));
        }
        if let ApiError::RequestTimeout(_) = self {
            // The request may be half read: do not keep the connection for another.
            response.insert_header((header::CONNECTION, "close"));
        }
        if let ApiError::MethodNotAllowed(allowed) = self {
            response.insert_header((header::ALLOW, allowed.join(", ")));
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

/// For requests that match no route: 405 with `Allow` when the path is a documented one and
/// only the method is wrong, else 404.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match crate::openapi::allowed_methods(req.path()) {
        Some(allowed) if !allowed.contains(&req.method().as_str()) => Err(ApiError::MethodNotAllowed(allowed)),
        _ => Err(ApiError::NotFound),
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Whole seconds to wait, rounded up, at least 1 (`Retry-After`).
fn retry_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
