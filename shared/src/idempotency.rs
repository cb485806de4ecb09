//! Idempotency keys: a client that retries a POST (a double tap, a lost response) with the
//! same `Idempotency-Key` gets the first answer again instead of a second record.
//!
//! A key is the sender's own: it is scoped to the tenant, the staff member and the route, so a
//! colleague's request with the same key (or the same key on another route) is a new request,
//! never someone else's stored answer. Stored answers hold whole records (a client's), so they
//! are kept [`RETENTION`] only: an older one is ignored (and removed) when read, the worker's
//! sweep deletes them all ([`sweep_expired`]), and erasing a client removes the answers about
//! them ([`forget_client`]).

use crate::db::schema::idempotency_keys;
use crate::db::{to_db_time, AnyConnection};
use crate::error::{Error, FieldError, Result};
use crate::tenancy::Auth;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

/// How long a stored answer is kept (and replayed).
pub const RETENTION: Duration = Duration::hours(24);

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

/// Whose key, on which route (`POST /api/v1/clients`): the scope a key is unique in.
#[derive(Debug, Clone, Copy)]
pub struct KeyScope<'a> {
    pub auth: &'a Auth,
    pub route: &'a str,
}

/// A stored answer: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// The answer already given for this key in its scope, if any and not older than
/// [`RETENTION`] (an older one is removed, and the request is new). The same key with a
/// different request body is a client bug, answered 422.
pub fn replay(
    conn: &mut AnyConnection,
    scope: KeyScope<'_>,
    key: &IdempotencyKey,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredResponse>> {
    let tenant = scope.auth.tenant.key();
    let staff = scope.auth.actor.staff_id.to_string();
    let stored: Option<(String, i32, String, chrono::NaiveDateTime)> = idempotency_keys::table
        .filter(idempotency_keys::tenant_id.eq(&tenant))
        .filter(idempotency_keys::staff_id.eq(&staff))
        .filter(idempotency_keys::route.eq(scope.route))
        .filter(idempotency_keys::key.eq(&key.0))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
            idempotency_keys::created_at,
        ))
        .first(conn)
        .optional()?;
    match stored {
        None => Ok(None),
        Some((.., created_at)) if created_at <= to_db_time(now - RETENTION) => {
            diesel::delete(idempotency_keys::table)
                .filter(idempotency_keys::tenant_id.eq(&tenant))
                .filter(idempotency_keys::staff_id.eq(&staff))
                .filter(idempotency_keys::route.eq(scope.route))
                .filter(idempotency_keys::key.eq(&key.0))
                .execute(conn)?;
            Ok(None)
        }
        Some((hash, status, body, _)) if hash == request_hash => Ok(Some(StoredResponse {
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

/// Remember the answer, in the same transaction as the work it describes, with the client it
/// is about (if any). A concurrent request that stored the same key first makes this fail
/// with `idempotency_race`; the caller then replays.
pub fn remember(
    conn: &mut AnyConnection,
    scope: KeyScope<'_>,
    key: &IdempotencyKey,
    request_hash: &str,
    response: &StoredResponse,
    client_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::tenant_id.eq(scope.auth.tenant.key()),
            idempotency_keys::staff_id.eq(scope.auth.actor.staff_id.to_string()),
            idempotency_keys::route.eq(scope.route),
            idempotency_keys::key.eq(&key.0),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::status.eq(i32::from(response.status)),
            idempotency_keys::response.eq(&response.body),
            idempotency_keys::client_id.eq(client_id),
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

/// Remove the stored answers about a client (erasure). Returns how many.
pub fn forget_client(conn: &mut AnyConnection, tenant: &crate::tenancy::Tenant, client_id: &str) -> Result<usize> {
    Ok(diesel::delete(idempotency_keys::table)
        .filter(idempotency_keys::tenant_id.eq(tenant.key()))
        .filter(idempotency_keys::client_id.eq(client_id))
        .execute(conn)?)
}

/// The worker's sweep: delete every stored answer older than [`RETENTION`] (indexed by
/// `created_at`). Returns how many.
pub fn sweep_expired(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::delete(idempotency_keys::table)
        .filter(idempotency_keys::created_at.le(to_db_time(now - RETENTION)))
        .execute(conn)?)
}
