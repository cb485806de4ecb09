//! The outbox: one row per message, written in the transaction that decided it, unique per
//! occasion. Delivery claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
//! `BEGIN IMMEDIATE` serialises writers), holds them under a lease while sending, and records
//! the outcome only if it still holds the claim (the attempt number is the fencing token).

use super::{MessageKind, MessageStatus, SuppressionReason};
use crate::db::schema::{link_tokens, messages};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::{Channel, ClientId, MessageId};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::{Actor, Tenant};
use crate::{Error, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

/// Where the personal link's token goes in a stored body; the token itself is made when the
/// message is handed over, so no usable link is ever stored.
pub const TOKEN_MARKER: &str = "{token}";

/// A message decided by an automation (or an alert), ready to be written.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: MessageKind,
    /// Unique per tenant: `birthday:CLIENT:YEAR`, `survey:VISIT`, `wake_up:CLIENT:SPELL:N`, …
    pub occasion: String,
    pub client_id: Option<String>,
    pub staff_id: Option<String>,
    pub store_id: Option<String>,
    pub visit_id: Option<String>,
    pub complaint_id: Option<String>,
    pub channel: Channel,
    pub recipient: Option<String>,
    pub locale: String,
    pub subject: Option<String>,
    pub body: String,
    pub params: serde_json::Value,
    pub status: MessageStatus,
    pub suppression_reason: Option<SuppressionReason>,
    /// When it was due (its occasion's time) and when it may first go (after quiet hours).
    pub due_at: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = messages)]
struct InsertRow<'a> {
    tenant_id: String,
    id: String,
    kind: &'a str,
    occasion: &'a str,
    client_id: Option<&'a str>,
    staff_id: Option<&'a str>,
    store_id: Option<&'a str>,
    visit_id: Option<&'a str>,
    complaint_id: Option<&'a str>,
    channel: &'a str,
    recipient: Option<&'a str>,
    locale: &'a str,
    subject: Option<&'a str>,
    body: &'a str,
    params: String,
    status: &'a str,
    suppression_reason: Option<&'a str>,
    attempts: i32,
    due_at: NaiveDateTime,
    next_attempt_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Writes the message unless its occasion already has one (then `None`: a rerun, a second
/// worker or a retry of the same decision changes nothing).
pub fn insert(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    message: &NewMessage,
    now: DateTime<Utc>,
) -> Result<Option<MessageId>> {
    let id = MessageId::new();
    let waiting = matches!(message.status, MessageStatus::Pending | MessageStatus::Deferred);
    let row = InsertRow {
        tenant_id: tenant.key(),
        id: id.to_string(),
        kind: message.kind.as_str(),
        occasion: &message.occasion,
        client_id: message.client_id.as_deref(),
        staff_id: message.staff_id.as_deref(),
        store_id: message.store_id.as_deref(),
        visit_id: message.visit_id.as_deref(),
        complaint_id: message.complaint_id.as_deref(),
        channel: message.channel.as_str(),
        recipient: message.recipient.as_deref(),
        locale: &message.locale,
        subject: message.subject.as_deref(),
        body: &message.body,
        params: message.params.to_string(),
        status: message.status.as_str(),
        suppression_reason: message.suppression_reason.map(SuppressionReason::as_str),
        attempts: 0,
        due_at: to_db_time(message.due_at),
        next_attempt_at: waiting.then(|| to_db_time(message.send_at)),
        created_at: to_db_time(now),
        updated_at: to_db_time(now),
    };
    let inserted = match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(messages::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        AnyConnection::Sqlite(sqlite) => diesel::insert_into(messages::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok((inserted == 1).then_some(id))
}

/// A message as staff see it in `GET /api/v1/messages`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub kind: MessageKind,
    pub occasion: String,
    pub client_id: Option<String>,
    pub staff_id: Option<String>,
    pub store_id: Option<String>,
    pub visit_id: Option<String>,
    pub complaint_id: Option<String>,
    pub channel: Channel,
    pub recipient: Option<String>,
    pub locale: String,
    pub subject: Option<String>,
    /// The rendered text; a personal link shows as `{token}` (the token is never stored).
    pub body: String,
    pub status: MessageStatus,
    pub suppression_reason: Option<SuppressionReason>,
    pub attempts: i32,
    pub due_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = messages)]
struct Row {
    id: String,
    kind: String,
    occasion: String,
    client_id: Option<String>,
    staff_id: Option<String>,
    store_id: Option<String>,
    visit_id: Option<String>,
    complaint_id: Option<String>,
    channel: String,
    recipient: Option<String>,
    locale: String,
    subject: Option<String>,
    body: String,
    status: String,
    suppression_reason: Option<String>,
    attempts: i32,
    due_at: NaiveDateTime,
    next_attempt_at: Option<NaiveDateTime>,
    provider: Option<String>,
    provider_message_id: Option<String>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    sent_at: Option<NaiveDateTime>,
}

fn utc(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

impl TryFrom<Row> for MessageView {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self> {
        Ok(MessageView {
            kind: MessageKind::from_db(&row.kind)?,
            channel: Channel::from_db(&row.channel)?,
            status: MessageStatus::from_db(&row.status)?,
            suppression_reason: row
                .suppression_reason
                .as_deref()
                .map(SuppressionReason::from_db)
                .transpose()?,
            id: row.id,
            occasion: row.occasion,
            client_id: row.client_id,
            staff_id: row.staff_id,
            store_id: row.store_id,
            visit_id: row.visit_id,
            complaint_id: row.complaint_id,
            recipient: row.recipient,
            locale: row.locale,
            subject: row.subject,
            body: row.body,
            attempts: row.attempts,
            due_at: utc(row.due_at),
            next_attempt_at: row.next_attempt_at.map(utc),
            provider: row.provider,
            provider_message_id: row.provider_message_id,
            last_error: row.last_error,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            sent_at: row.sent_at.map(utc),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub kind: Option<MessageKind>,
    pub status: Option<MessageStatus>,
    pub client_id: Option<ClientId>,
}

/// Newest first. A store role sees its own store's messages only; complaint alerts and account
/// messages only those whose role may read them ([`MessageKind::readable_by`]).
pub fn list(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    actor: &Actor,
    filter: &MessageFilter,
    page: &PageRequest,
) -> Result<Page<MessageView>> {
    let mut query = messages::table
        .filter(messages::tenant_id.eq(tenant.key()))
        .select(Row::as_select())
        .order(messages::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(messages::id.lt(after.clone()));
    }
    if !actor.is_hq() {
        let store = actor.store_id.map(|store| store.to_string()).unwrap_or_default();
        query = query.filter(messages::store_id.eq(store));
    }
    let readable: Vec<&str> = MessageKind::ALL
        .iter()
        .filter(|kind| kind.readable_by(actor))
        .map(|kind| kind.as_str())
        .collect();
    if readable.len() < MessageKind::ALL.len() {
        query = query.filter(messages::kind.eq_any(readable));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(messages::kind.eq(kind.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(messages::status.eq(status.as_str()));
    }
    if let Some(client) = filter.client_id {
        query = query.filter(messages::client_id.eq(client.to_string()));
    }
    let rows = query
        .load::<Row>(conn)?
        .into_iter()
        .map(MessageView::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(rows, page, |message| message.id.clone()))
}

/// Every message to one client, oldest first (their timeline and their data export). The
/// caller has checked the client is visible.
pub fn for_client(conn: &mut AnyConnection, tenant: &Tenant, client: ClientId) -> Result<Vec<MessageView>> {
    messages::table
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::client_id.eq(client.to_string()))
        .order(messages::id.asc())
        .limit(5000)
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(MessageView::try_from)
        .collect()
}

pub fn get(conn: &mut AnyConnection, tenant: &Tenant, actor: &Actor, id: MessageId) -> Result<MessageView> {
    let row = messages::table
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::id.eq(id.to_string()))
        .select(Row::as_select())
        .first::<Row>(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    let view = MessageView::try_from(row)?;
    let in_reach = actor.is_hq()
        || actor
            .store_id
            .is_some_and(|store| view.store_id.as_deref() == Some(store.to_string().as_str()));
    let visible = in_reach && view.kind.readable_by(actor);
    if visible {
        Ok(view)
    } else {
        Err(Error::NotFound)
    }
}

/// Staff retry a failed message: it goes again at once, with a fresh count of attempts.
pub fn retry(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    actor: &Actor,
    id: MessageId,
    now: DateTime<Utc>,
) -> Result<MessageView> {
    let current = get(conn, tenant, actor, id)?;
    if current.status != MessageStatus::Failed {
        return Err(Error::conflict(
            "not_failed",
            format!(
                "only a failed message can be retried; this one is {}",
                current.status.as_str()
            ),
        ));
    }
    diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::id.eq(id.to_string()))
        .filter(messages::status.eq(MessageStatus::Failed.as_str()))
        .set((
            messages::status.eq(MessageStatus::Pending.as_str()),
            messages::attempts.eq(0),
            messages::next_attempt_at.eq(Some(to_db_time(now))),
            messages::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    get(conn, tenant, actor, id)
}

/// Staff cancel a message that has not gone (pending, deferred or failed).
pub fn cancel(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    actor: &Actor,
    id: MessageId,
    now: DateTime<Utc>,
) -> Result<MessageView> {
    let current = get(conn, tenant, actor, id)?;
    let cancellable = [MessageStatus::Pending, MessageStatus::Deferred, MessageStatus::Failed];
    if !cancellable.contains(&current.status) {
        return Err(Error::conflict(
            "not_cancellable",
            format!("a {} message cannot be cancelled", current.status.as_str()),
        ));
    }
    let changed = diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::id.eq(id.to_string()))
        .filter(messages::status.eq_any(cancellable.map(MessageStatus::as_str)))
        .set((
            messages::status.eq(MessageStatus::Cancelled.as_str()),
            messages::next_attempt_at.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    if changed == 0 {
        // A worker claimed it between our read and our write.
        return Err(Error::conflict("not_cancellable", "the message is being sent"));
    }
    get(conn, tenant, actor, id)
}

/// Cancels a client's messages that have not gone, e.g. when the client is erased
/// (`reason` erased) or opts out (marketing only, `opted_out`). Returns how many.
pub fn suppress_waiting(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    client: ClientId,
    marketing_only: bool,
    reason: SuppressionReason,
    now: DateTime<Utc>,
) -> Result<usize> {
    let waiting = [
        MessageStatus::Pending.as_str(),
        MessageStatus::Deferred.as_str(),
        MessageStatus::Failed.as_str(),
    ];
    let mut update = diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::client_id.eq(client.to_string()))
        .filter(messages::status.eq_any(waiting))
        .into_boxed();
    if marketing_only {
        update = update.filter(messages::kind.eq_any([MessageKind::Birthday.as_str(), MessageKind::WakeUp.as_str()]));
    }
    Ok(update
        .set((
            messages::status.eq(MessageStatus::Suppressed.as_str()),
            messages::suppression_reason.eq(Some(reason.as_str())),
            messages::next_attempt_at.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?)
}

/// Cancels the survey message of a voided visit if it has not gone.
pub fn cancel_for_visit(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    visit_id: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    Ok(diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::visit_id.eq(visit_id))
        .filter(messages::kind.eq(MessageKind::Survey.as_str()))
        .filter(messages::status.eq_any([
            MessageStatus::Pending.as_str(),
            MessageStatus::Deferred.as_str(),
            MessageStatus::Failed.as_str(),
        ]))
        .set((
            messages::status.eq(MessageStatus::Cancelled.as_str()),
            messages::next_attempt_at.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?)
}

// ---- Delivery (the worker) ----

/// A message claimed for sending by one worker until `lease_until`.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub tenant_id: String,
    pub id: String,
    pub kind: MessageKind,
    pub client_id: Option<String>,
    pub store_id: Option<String>,
    pub visit_id: Option<String>,
    pub channel: Channel,
    pub recipient: Option<String>,
    pub locale: String,
    pub subject: Option<String>,
    pub body: String,
    pub params: serde_json::Value,
    /// The attempt this claim is (1 for the first): the fencing token for recording.
    pub attempt: i32,
    pub due_at: DateTime<Utc>,
    /// A previous worker held it and its lease ran out (crashed mid-send, probably).
    pub recovered: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = messages)]
struct ClaimRow {
    tenant_id: String,
    id: String,
    kind: String,
    client_id: Option<String>,
    store_id: Option<String>,
    visit_id: Option<String>,
    channel: String,
    recipient: Option<String>,
    locale: String,
    subject: Option<String>,
    body: String,
    params: String,
    status: String,
    attempts: i32,
    due_at: NaiveDateTime,
}

const WAITING: [&str; 3] = ["pending", "deferred", "sending"];

/// Claims up to `limit` due messages (oldest due first) for `lease`. Rows another worker holds
/// are skipped, not waited for; a `sending` row whose lease ran out is due again.
pub fn claim_due(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64, lease: Duration) -> Result<Vec<Claimed>> {
    crate::db::write_transaction(conn, |conn| {
        let now_db = to_db_time(now);
        macro_rules! due {
            () => {
                messages::table
                    .filter(messages::next_attempt_at.le(now_db))
                    .filter(messages::status.eq_any(WAITING))
                    .order(messages::next_attempt_at.asc())
                    .limit(limit)
                    .select(ClaimRow::as_select())
            };
        }
        let rows: Vec<ClaimRow> = match conn {
            AnyConnection::Postgresql(pg) => due!().for_update().skip_locked().load(pg)?,
            // BEGIN IMMEDIATE already holds SQLite's single write lock.
            AnyConnection::Sqlite(sqlite) => due!().load(sqlite)?,
        };
        let until = to_db_time(now + lease);
        if !rows.is_empty() {
            // One statement for the batch (one round trip, not one per message). Message ids
            // are random UUIDs, unique across tenants, so the two lists select exactly the
            // claimed rows; they are locked (or SQLite's write lock is held), so `attempts + 1`
            // is each row's attempts as read plus one.
            let tenants: Vec<&str> = rows.iter().map(|row| row.tenant_id.as_str()).collect();
            let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
            diesel::update(messages::table)
                .filter(messages::tenant_id.eq_any(tenants))
                .filter(messages::id.eq_any(ids))
                .set((
                    messages::status.eq(MessageStatus::Sending.as_str()),
                    messages::attempts.eq(messages::attempts + 1),
                    messages::next_attempt_at.eq(Some(until)),
                    messages::updated_at.eq(now_db),
                ))
                .execute(conn)?;
        }
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            claimed.push(Claimed {
                kind: MessageKind::from_db(&row.kind)?,
                channel: Channel::from_db(&row.channel)?,
                params: serde_json::from_str(&row.params).unwrap_or(serde_json::Value::Null),
                recovered: row.status == MessageStatus::Sending.as_str(),
                attempt: row.attempts + 1,
                due_at: utc(row.due_at),
                tenant_id: row.tenant_id,
                id: row.id,
                client_id: row.client_id,
                store_id: row.store_id,
                visit_id: row.visit_id,
                recipient: row.recipient,
                locale: row.locale,
                subject: row.subject,
                body: row.body,
            });
        }
        Ok(claimed)
    })
}

/// A fresh personal link token (128 random bits, URL-safe) and the hash that is stored.
pub fn new_link_token() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = link_token_hash(&token);
    (token, hash)
}

/// How a link token is looked up (the survey and unsubscribe pages hash what they are given).
pub fn link_token_hash(token: &str) -> String {
    crate::crypto::sha256_hex(token.as_bytes())
}

/// Records a link token before its message is handed over, so every link that reaches a
/// client resolves (a crash after this leaves an unused row, never a dead link).
pub fn store_link_token(
    conn: &mut AnyConnection,
    claimed: &Claimed,
    purpose: &str,
    subject_id: &str,
    token_hash: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(link_tokens::table)
        .values((
            link_tokens::token_hash.eq(token_hash),
            link_tokens::tenant_id.eq(&claimed.tenant_id),
            link_tokens::purpose.eq(purpose),
            link_tokens::subject_id.eq(subject_id),
            link_tokens::message_id.eq(&claimed.id),
            link_tokens::created_at.eq(to_db_time(now)),
            link_tokens::expires_at.eq(expires_at.map(to_db_time)),
        ))
        .execute(conn)?;
    Ok(())
}

/// What became of one claimed message.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        provider: String,
        provider_message_id: Option<String>,
    },
    /// Try again at `at` (after backoff, or the morning after quiet hours).
    RetryAt {
        at: DateTime<Utc>,
        error: String,
        provider: Option<String>,
        quiet_hours: bool,
    },
    Failed {
        error: String,
        provider: Option<String>,
    },
    /// Decided at send time not to send (consent withdrawn, client erased since).
    Suppressed {
        reason: SuppressionReason,
    },
    /// Never handed over (the worker is stopping): due again at `at`, the claim's attempt not
    /// counted, so that the next worker sends it at once instead of after the lease.
    Released {
        at: DateTime<Utc>,
    },
}

/// Records the outcome if this worker still holds the claim; `false` when it lost it (its
/// lease ran out and another worker took the message over).
pub fn record(conn: &mut AnyConnection, claimed: &Claimed, outcome: &Outcome, now: DateTime<Utc>) -> Result<bool> {
    let target = messages::table
        .filter(messages::tenant_id.eq(&claimed.tenant_id))
        .filter(messages::id.eq(&claimed.id))
        .filter(messages::status.eq(MessageStatus::Sending.as_str()))
        .filter(messages::attempts.eq(claimed.attempt));
    let now_db = to_db_time(now);
    let changed = match outcome {
        Outcome::Sent {
            provider,
            provider_message_id,
        } => diesel::update(target)
            .set((
                messages::status.eq(MessageStatus::Sent.as_str()),
                messages::suppression_reason.eq(None::<String>),
                messages::next_attempt_at.eq(None::<NaiveDateTime>),
                messages::provider.eq(Some(provider)),
                messages::provider_message_id.eq(provider_message_id.as_deref()),
                messages::sent_at.eq(Some(now_db)),
                messages::updated_at.eq(now_db),
            ))
            .execute(conn)?,
        Outcome::RetryAt {
            at,
            error,
            provider,
            quiet_hours,
        } => {
            let (status, reason) = if *quiet_hours {
                (MessageStatus::Deferred, Some(SuppressionReason::QuietHours.as_str()))
            } else {
                (MessageStatus::Pending, None)
            };
            // Waiting for quiet hours to end is not an attempt.
            let attempts = if *quiet_hours {
                claimed.attempt - 1
            } else {
                claimed.attempt
            };
            diesel::update(target)
                .set((
                    messages::status.eq(status.as_str()),
                    messages::suppression_reason.eq(reason),
                    messages::attempts.eq(attempts),
                    messages::next_attempt_at.eq(Some(to_db_time(*at))),
                    messages::provider.eq(provider.as_deref()),
                    messages::last_error.eq((!error.is_empty()).then_some(error.as_str())),
                    messages::updated_at.eq(now_db),
                ))
                .execute(conn)?
        }
        Outcome::Failed { error, provider } => diesel::update(target)
            .set((
                messages::status.eq(MessageStatus::Failed.as_str()),
                messages::next_attempt_at.eq(None::<NaiveDateTime>),
                messages::provider.eq(provider.as_deref()),
                messages::last_error.eq(Some(error.as_str())),
                messages::updated_at.eq(now_db),
            ))
            .execute(conn)?,
        Outcome::Suppressed { reason } => diesel::update(target)
            .set((
                messages::status.eq(MessageStatus::Suppressed.as_str()),
                messages::suppression_reason.eq(Some(reason.as_str())),
                messages::next_attempt_at.eq(None::<NaiveDateTime>),
                messages::updated_at.eq(now_db),
            ))
            .execute(conn)?,
        Outcome::Released { at } => diesel::update(target)
            .set((
                messages::status.eq(MessageStatus::Pending.as_str()),
                messages::suppression_reason.eq(None::<String>),
                messages::attempts.eq(claimed.attempt - 1),
                messages::next_attempt_at.eq(Some(to_db_time(*at))),
                messages::updated_at.eq(now_db),
            ))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Which of `ids` (a provider's message ids) are already recorded on some message: after a crash,
/// an id found in the provider's log but recorded nowhere is the interrupted attempt's.
pub fn recorded_provider_ids(conn: &mut AnyConnection, provider: &str, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let recorded: Vec<Option<String>> = messages::table
        .filter(messages::provider.eq(provider))
        .filter(messages::provider_message_id.eq_any(ids))
        .select(messages::provider_message_id)
        .load(conn)?;
    Ok(recorded.into_iter().flatten().collect())
}

/// Backlog for the gauges: rows waiting by status, and the age of the oldest one due.
pub fn backlog(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<(Vec<(String, i64)>, f64)> {
    let counts: Vec<(String, i64)> = messages::table
        .filter(messages::next_attempt_at.is_not_null())
        .group_by(messages::status)
        .select((messages::status, diesel::dsl::count_star()))
        .load(conn)?;
    let oldest: Option<NaiveDateTime> = messages::table
        .filter(messages::next_attempt_at.le(to_db_time(now)))
        .filter(messages::status.eq_any(WAITING))
        .select(diesel::dsl::min(messages::due_at))
        .first(conn)?;
    let age = oldest.map_or(0.0, |due| (now - utc(due)).num_milliseconds().max(0) as f64 / 1000.0);
    Ok((counts, age))
}
