use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Typed ids: a store id cannot be passed where a staff id is expected. UUIDv7, so that
/// new rows land at the end of the primary-key index and ids sort by creation time.
macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(text: &str) -> Result<Self, FieldError> {
                Uuid::parse_str(text)
                    .map(Self)
                    .map_err(|_| FieldError::new("invalid_id", "not a valid id"))
            }

            /// For ids read back from our own database, where a malformed value is a bug.
            pub fn from_db(text: &str) -> Result<Self, crate::Error> {
                Uuid::parse_str(text)
                    .map(Self)
                    .map_err(|_| crate::Error::Internal(format!("malformed {} in the database", stringify!($name))))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

id_type!(
    TenantId,
    StoreId,
    StaffId,
    SessionId,
    ClientId,
    ServiceId,
    VisitId,
    ExportId,
    AuditId,
    MessageId,
    SurveyId,
    ComplaintId
);
