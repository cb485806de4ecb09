//! Extractors that turn a request into typed input, or into a problem+json error naming the
//! field at fault.

use crate::problem::ApiError;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use shared::tenancy::{Action, Auth};
use shared::{Error, FieldErrors};
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// A JSON body, deserialised with the path of any field that does not fit, so that
/// `{"quiet_hours": {"start": 9}}` answers 422 naming `quiet_hours.start`. The second field is
/// a hash of the raw body (for idempotency keys).
pub struct ApiJson<T>(pub T, pub String);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|mime| mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON));
        let body = Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType("application/json"));
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest("the body could not be read".into())
                }
            })?;
            let hash = body_hash(&bytes);
            parse_json(&bytes).map(|value| ApiJson(value, hash))
        })
    }
}

pub fn body_hash(bytes: &[u8]) -> String {
    shared::crypto::sha256_hex(bytes)
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    // Strict: a struct reads a JSON object only, never an array of its fields.
    match serde_path_to_error::deserialize::<_, T>(crate::strict_json::Strict(&mut deserializer)) {
        Ok(value) => match deserializer.end() {
            Ok(()) => Ok(value),
            Err(trailing) => Err(ApiError::MalformedJson(trailing.to_string())),
        },
        Err(error) => {
            let inner = error.inner();
            if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                Err(ApiError::MalformedJson(inner.to_string()))
            } else {
                Err(field_error(
                    error.path().to_string(),
                    &strip_position(&inner.to_string()),
                ))
            }
        }
    }
}

/// Query parameters, with the same field-level errors as bodies.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = form_urlencoded_parse(req.query_string().as_bytes());
        ready(parsed.map(ApiQuery))
    }
}

fn form_urlencoded_parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // No parameter of this API is free text that could need a control character, and some
    // reach the database as they are: PostgreSQL refuses a NUL in text (a 500 before this).
    let mut errors = FieldErrors::default();
    for (name, value) in form_urlencoded::parse(bytes) {
        if value.chars().any(char::is_control) {
            errors.push(&name, "invalid_characters", "must not contain control characters");
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Model(Error::Validation(errors)));
    }
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        field_error(error.path().to_string(), &message)
    })
}

fn field_error(path: String, message: &str) -> ApiError {
    // serde names a missing field in the message, not the path.
    let field = match (path.as_str(), message.strip_prefix("missing field `")) {
        (".", Some(rest)) | ("", Some(rest)) => rest.split('`').next().unwrap_or_default().to_owned(),
        (".", None) => String::new(),
        _ => path,
    };
    let code = if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("unknown field") {
        "unknown_field"
    } else {
        "invalid_type"
    };
    ApiError::Model(Error::Validation(FieldErrors::one(&field, code, message)))
}

/// serde_json appends " at line 1 column 42"; the field path says where already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// The authenticated staff member; 401 when the request carries no valid session (the
/// session itself is looked up by `middleware::authenticate`).
pub struct Authenticated(pub Auth);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Auth>()
                .copied()
                .map(Authenticated)
                .ok_or(ApiError::Model(Error::Unauthenticated)),
        )
    }
}

/// An action a handler needs; see [`can`].
pub trait Permission {
    const ACTION: Action;
}

/// The authenticated staff member, whose role allows `P` (else 403, before the handler
/// body runs). Put it first among a handler's arguments so it is checked before the body.
pub struct Authorized<P>(pub Auth, PhantomData<P>);

impl<P: Permission> FromRequest for Authorized<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = req.extensions().get::<Auth>().copied();
        ready(match auth {
            None => Err(ApiError::Model(Error::Unauthenticated)),
            Some(auth) => auth
                .require(P::ACTION)
                .map(|()| Authorized(auth, PhantomData))
                .map_err(ApiError::from),
        })
    }
}

/// Marker types naming each [`Action`], for `Authorized<can::ManageStores>`.
pub mod can {
    use super::{Action, Permission};

    macro_rules! permissions {
        ($($action:ident),* $(,)?) => {$(
            pub struct $action;
            impl Permission for $action {
                const ACTION: Action = Action::$action;
            }
        )*};
    }

    permissions!(
        ViewStores,
        ManageStores,
        ViewStaff,
        ManageStaff,
        ViewClients,
        ManageClients,
        DeleteClients,
        ExportOrEraseClient,
        ViewServices,
        ManageServices,
        ViewVisits,
        RecordVisits,
        CorrectVisits,
        ImportData,
        RequestBulkExport,
        ApproveBulkExport,
        ViewAudit,
        ViewOutreach,
        ManageOutreach,
        ManageMessages,
        ViewComplaints,
        HandleComplaints,
        OpenComplaints,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        start: String,
    }

    fn field_of(result: Result<Body, ApiError>) -> (String, &'static str) {
        match result {
            Err(ApiError::Model(Error::Validation(errors))) => (errors.0[0].field.clone(), errors.0[0].code),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(parse_json(br#"{"name": 5}"#)), ("name".into(), "invalid_type"));
        assert_eq!(
            field_of(parse_json(br#"{"name": "a", "inner": {"start": 9}}"#)),
            ("inner.start".into(), "invalid_type")
        );
        assert_eq!(field_of(parse_json(br#"{}"#)), ("name".into(), "required"));
        assert_eq!(field_of(parse_json(br#"{"name": "a", "x": 1}"#)).1, "unknown_field");
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Filter {
        action: Option<String>,
        limit: Option<i64>,
    }

    #[test]
    fn control_characters_in_a_query_name_the_parameter() {
        match form_urlencoded_parse::<Filter>(b"limit=5&action=a%00b") {
            Err(ApiError::Model(Error::Validation(errors))) => {
                assert_eq!(
                    (errors.0[0].field.as_str(), errors.0[0].code),
                    ("action", "invalid_characters")
                );
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(form_urlencoded_parse::<Filter>(b"action=read_sensitive&limit=5").is_ok());
    }

    #[test]
    fn broken_json_is_malformed() {
        assert!(matches!(
            parse_json::<Body>(br#"{"name": "#),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"name": "a"} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
