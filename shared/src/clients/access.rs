//! Which clients a staff member sees, and who may see their sensitive fields.
//!
//! HQ roles and owners see every client of the tenant. Store roles see the clients of their
//! store: those whose home store it is, those who have visited it, and clients of the chain
//! as a whole (no home store). Sensitive fields are for the owner, the manager and
//! beauticians of the client's home store, and the client's consultant, never the front desk.

use super::model::ClientRow;
use crate::db::schema::{client_stores, clients};
use crate::db::AnyConnection;
use crate::domain::ClientId;
use crate::error::{Error, Result};
use crate::tenancy::{Action, Auth};
use diesel::prelude::*;
use std::collections::HashSet;

/// The client's row if it exists in the tenant, is not deleted, and `auth` may see it;
/// `NotFound` otherwise (another store's client looks absent, like another tenant's).
pub fn visible_client(conn: &mut AnyConnection, auth: &Auth, id: ClientId) -> Result<ClientRow> {
    let row = clients::table
        .filter(clients::tenant_id.eq(auth.tenant.key()))
        .filter(clients::id.eq(id.to_string()))
        .filter(clients::deleted_at.is_null())
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    if visible_ids(conn, auth, std::slice::from_ref(&row))?.contains(&row.id) {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

/// The ids among `rows` that `auth` may see, with one query for all of them: a store role sees
/// chain-wide clients, its store's own, and those linked to its store by a visit.
pub(crate) fn visible_ids(conn: &mut AnyConnection, auth: &Auth, rows: &[ClientRow]) -> Result<HashSet<String>> {
    let Some(store) = auth
        .actor
        .store_id
        .filter(|_| !auth.actor.is_hq())
        .map(|s| s.to_string())
    else {
        return Ok(rows.iter().map(|row| row.id.clone()).collect());
    };
    let mut ids = HashSet::new();
    let mut elsewhere = Vec::new();
    for row in rows {
        match row.home_store_id.as_deref() {
            None => ids.insert(row.id.clone()),
            Some(home) if home == store => ids.insert(row.id.clone()),
            Some(_) => {
                elsewhere.push(row.id.as_str());
                false
            }
        };
    }
    if !elsewhere.is_empty() {
        let linked: Vec<String> = client_stores::table
            .filter(client_stores::tenant_id.eq(auth.tenant.key()))
            .filter(client_stores::store_id.eq(&store))
            .filter(client_stores::client_id.eq_any(elsewhere))
            .select(client_stores::client_id)
            .load(conn)?;
        ids.extend(linked);
    }
    Ok(ids)
}

/// Whether `auth` may read (and write) this client's allergies, medical notes and skin history.
pub fn can_see_sensitive(auth: &Auth, row: &ClientRow) -> bool {
    may_handle_sensitive(auth, row.home_store_id.as_deref(), row.consultant_id.as_deref())
}

pub(crate) fn may_handle_sensitive(auth: &Auth, home_store: Option<&str>, consultant: Option<&str>) -> bool {
    let actor = auth.actor;
    if consultant == Some(actor.staff_id.to_string().as_str()) {
        return true;
    }
    if !actor.may(Action::ViewSensitive) {
        return false;
    }
    actor.is_hq()
        || (actor.store_id.is_some() && home_store.map(str::to_owned) == actor.store_id.map(|s| s.to_string()))
}
