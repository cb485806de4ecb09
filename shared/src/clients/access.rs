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
    if sees(conn, auth, &row)? {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

pub(crate) fn sees(conn: &mut AnyConnection, auth: &Auth, row: &ClientRow) -> Result<bool> {
    let Some(store) = auth.actor.store_id.filter(|_| !auth.actor.is_hq()) else {
        return Ok(true);
    };
    if row.home_store_id.is_none() || row.home_store_id.as_deref() == Some(store.to_string().as_str()) {
        return Ok(true);
    }
    let linked: i64 = client_stores::table
        .filter(client_stores::tenant_id.eq(auth.tenant.key()))
        .filter(client_stores::store_id.eq(store.to_string()))
        .filter(client_stores::client_id.eq(&row.id))
        .count()
        .get_result(conn)?;
    Ok(linked > 0)
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
