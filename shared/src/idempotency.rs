//! Idempotency keys: a client that retries a POST (a double tap, a lost response) with the
//! same `Idempotency-Key` gets the first answer again instead of a second record.

use crate::db::schema::idempotency_keys;
use crate::db::{to_db_time, AnyConnection};
use crate::error::{Error, FieldError, Result};
use crate::tenancy::Tenant;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// A key as sent by the client: 1–200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> std::result::Result<Self, FieldError> {
        let key = raw.trim();
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            ));
        }
        Ok(IdempotencyKey(key.to_owned()))
    }
}

/// A stored answer: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// The answer already given for this key, if any. The same key with a different request body
/// is a client bug, answered 422.
pub fn replay(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    key: &IdempotencyKey,
    request_hash: &str,
) -> Result<Option<StoredResponse>> {
    let stored: Option<(String, i32, String)> = idempotency_keys::table
        .filter(idempotency_keys::tenant_id.eq(tenant.key()))
        .filter(idempotency_keys::key.eq(&key.0))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
        ))
        .first(conn)
        .optional()?;
    match stored {
        None => Ok(None),
        Some((hash, status, body)) if hash == request_hash => Ok(Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(200),
            body,
        })),
        Some(_) => Err(Error::invalid(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        )),
    }
}

/// Remember the answer, in the same transaction as the work it describes. A concurrent
/// request that stored the same key first makes this fail with `idempotency_race`; the caller
/// then replays.
pub fn remember(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    key: &IdempotencyKey,
    request_hash: &str,
    response: &StoredResponse,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::tenant_id.eq(tenant.key()),
            idempotency_keys::key.eq(&key.0),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::status.eq(i32::from(response.status)),
            idempotency_keys::response.eq(&response.body),
            idempotency_keys::created_at.eq(to_db_time(now)),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                Error::conflict("idempotency_race", "the same request is being processed; retry")
            }
            other => other.into(),
        })?;
    Ok(())
}
