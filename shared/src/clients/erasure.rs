//! What erasing a client removes beyond their own row (PIPL/GDPR: the client asked). Every
//! place their name, contact or words were copied to, table by table, in the erasure's
//! transaction; the facts the salon's reports count (that a message went, a survey was
//! answered with these scores, a complaint was handled in time) stay, anonymous.
//!
//! - `messages`: theirs (by `client_id`) and the staff alerts about their complaints lose
//!   recipient, subject, text, placeholder values and last error.
//! - `surveys`: the comment (the scores stay).
//! - `complaints`: the summary; `complaint_events`: the free-text notes (opened, the steps'
//!   notes), not the alerts' and escalations' bookkeeping.
//! - `idempotency_keys`: stored answers about them (whole client records).
//! - `visits`: the free-text notes (amounts stay); `client_search`: the lookup keys (by the
//!   caller, `write::erase`).
//!
//! A test searches every text column of every table for the client's name and phone after
//! erasure (`tests/api/erasure.rs`), so a new copy elsewhere is caught.

use crate::db::schema::{complaint_events, complaints, messages, surveys, visits};
use crate::db::AnyConnection;
use crate::error::Result;
use crate::tenancy::Tenant;
use diesel::prelude::*;

/// What the erased text becomes where a column cannot be empty.
pub const ERASED: &str = "—";

/// The complaint events whose note is free text (a summary, a staff member's note).
const FREE_TEXT_EVENTS: [&str; 4] = ["opened", "callback", "solution", "follow_up"];

/// Removes the copies of the client's data listed in the module docs.
pub(crate) fn erase_copies(conn: &mut AnyConnection, tenant: &Tenant, client_id: &str) -> Result<()> {
    let tenant_id = tenant.key();
    let their_complaints: Vec<String> = complaints::table
        .filter(complaints::tenant_id.eq(&tenant_id))
        .filter(complaints::client_id.eq(client_id))
        .select(complaints::id)
        .load(conn)?;
    let scrub = || {
        (
            messages::recipient.eq(None::<String>),
            messages::subject.eq(None::<String>),
            messages::body.eq(ERASED),
            messages::params.eq("{}"),
            messages::last_error.eq(None::<String>),
        )
    };
    diesel::update(messages::table)
        .filter(messages::tenant_id.eq(&tenant_id))
        .filter(messages::client_id.eq(client_id))
        .set(scrub())
        .execute(conn)?;
    if !their_complaints.is_empty() {
        diesel::update(messages::table)
            .filter(messages::tenant_id.eq(&tenant_id))
            .filter(messages::complaint_id.eq_any(&their_complaints))
            .set(scrub())
            .execute(conn)?;
        diesel::update(complaints::table)
            .filter(complaints::tenant_id.eq(&tenant_id))
            .filter(complaints::id.eq_any(&their_complaints))
            .set(complaints::summary.eq(ERASED))
            .execute(conn)?;
        diesel::update(complaint_events::table)
            .filter(complaint_events::tenant_id.eq(&tenant_id))
            .filter(complaint_events::complaint_id.eq_any(&their_complaints))
            .filter(complaint_events::kind.eq_any(FREE_TEXT_EVENTS))
            .set(complaint_events::note.eq(None::<String>))
            .execute(conn)?;
    }
    diesel::update(surveys::table)
        .filter(surveys::tenant_id.eq(&tenant_id))
        .filter(surveys::client_id.eq(client_id))
        .set(surveys::comment.eq(None::<String>))
        .execute(conn)?;
    diesel::update(visits::table)
        .filter(visits::tenant_id.eq(&tenant_id))
        .filter(visits::client_id.eq(client_id))
        .set(visits::notes.eq(None::<String>))
        .execute(conn)?;
    crate::idempotency::forget_client(conn, tenant, client_id)?;
    Ok(())
}
