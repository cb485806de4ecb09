//! The one error type of the model. The web crate maps it to problem+json in one place.

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that cannot become a domain value; every bad field is listed.
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    /// Absent, soft-deleted, or belonging to another tenant: all look the same.
    #[error("not found")]
    NotFound,
    /// The request is valid but contradicts the current state (a duplicate, the last owner…).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        /// The id of the record the request collided with, when naming it helps the caller.
        existing_id: Option<String>,
    },
    /// An `If-Match` that no longer matches the record.
    #[error("the record was changed by someone else")]
    PreconditionFailed,
    #[error("missing, invalid or expired credentials")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    /// The password is right but an owner set it: the member chooses their own first, with
    /// this token (no session is opened).
    #[error("the member must choose their own password first")]
    PasswordChangeRequired(crate::tenancy::passwords::PasswordToken),
    /// A link that worked once and no longer does (used, expired).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// The database could not be reached in time (pool exhausted, server down).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
    /// An all-or-nothing import with rejected rows: the transaction rolls back and the caller
    /// gets the report.
    #[error("{} rows rejected", .0.rejected.len())]
    Rejected(Box<crate::imports::ImportReport>),
}

impl Error {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
            existing_id: None,
        }
    }

    /// The database is down or unreachable, as opposed to a bug: worth a 503 and a retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_)
                | Error::Database(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    _
                ))
        )
    }

    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Error::Validation(FieldErrors::one(field, code, message))
    }
}

/// One invalid field: where (a JSON pointer-like dotted path), a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn one(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.push(field, code, message);
        errors
    }

    pub fn push(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        });
    }

    /// Parse one field, remembering its error and going on, so that a request reports every
    /// bad field at once rather than one per round trip.
    pub fn check<T>(&mut self, field: &str, parsed: std::result::Result<T, FieldError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(mut error) => {
                error.field = field.to_owned();
                self.0.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The collected errors as a 422.
    pub fn into_error(self) -> Error {
        Error::Validation(self)
    }

    /// `Ok(value)` when no field failed, the collected errors otherwise.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T> {
        if self.0.is_empty() {
            value().ok_or_else(|| Error::Internal("a parsed field went missing".into()))
        } else {
            Err(Error::Validation(self))
        }
    }
}

impl FieldError {
    /// An error for a field whose name the caller fills in ([`FieldErrors::check`]).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: String::new(),
            code,
            message: message.into(),
        }
    }
}
