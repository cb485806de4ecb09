//! What the automations remember per client (`client_care`), and the hooks the archive calls
//! when a visit changes a client's history.

use crate::db::schema::client_care;
use crate::db::{to_db_time, AnyConnection};
use crate::tenancy::Tenant;
use crate::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = client_care)]
struct DueRow {
    tenant_id: String,
    client_id: String,
    wake_up_due_at: Option<NaiveDateTime>,
}

/// A visit was recorded, corrected or voided for these clients: the dormancy sweep looks at
/// each again at its next pass (it works out the new spell and its due time from there). One
/// statement per 500 clients, so an import of thousands stays cheap.
pub fn visits_changed(conn: &mut AnyConnection, tenant: &Tenant, clients: &[String], now: DateTime<Utc>) -> Result<()> {
    let due = Some(to_db_time(now));
    for chunk in clients.chunks(500) {
        let rows: Vec<DueRow> = chunk
            .iter()
            .map(|client| DueRow {
                tenant_id: tenant.key(),
                client_id: client.clone(),
                wake_up_due_at: due,
            })
            .collect();
        match conn {
            AnyConnection::Postgresql(pg) => diesel::insert_into(client_care::table)
                .values(&rows)
                .on_conflict((client_care::tenant_id, client_care::client_id))
                .do_update()
                .set(client_care::wake_up_due_at.eq(due))
                .execute(pg)?,
            AnyConnection::Sqlite(sqlite) => {
                // SQLite's upsert cannot follow a multi-row VALUES in diesel; one row at a time
                // inside the caller's transaction is still one fsync.
                let mut written = 0;
                for row in &rows {
                    written += diesel::insert_into(client_care::table)
                        .values(row)
                        .on_conflict((client_care::tenant_id, client_care::client_id))
                        .do_update()
                        .set(client_care::wake_up_due_at.eq(due))
                        .execute(sqlite)?;
                }
                written
            }
        };
    }
    Ok(())
}

/// Makes sure the client's care row exists and, on PostgreSQL, locks it for the rest of the
/// transaction, so two workers deciding marketing for one client take turns (the frequency cap).
pub fn lock(conn: &mut AnyConnection, tenant: &Tenant, client: &str) -> Result<CareRow> {
    let row = DueRow {
        tenant_id: tenant.key(),
        client_id: client.to_owned(),
        wake_up_due_at: None,
    };
    macro_rules! query {
        () => {
            client_care::table
                .filter(client_care::tenant_id.eq(tenant.key()))
                .filter(client_care::client_id.eq(client))
                .select(CareRow::as_select())
        };
    }
    Ok(match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::insert_into(client_care::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(pg)?;
            query!().for_update().first(pg)?
        }
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_into(client_care::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(sqlite)?;
            query!().first(sqlite)?
        }
    })
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = client_care)]
pub struct CareRow {
    pub birthday_year: Option<i32>,
    pub wake_up_due_at: Option<NaiveDateTime>,
    pub spell_visit_at: Option<NaiveDateTime>,
    pub wake_ups_in_spell: i32,
    pub last_marketing_at: Option<NaiveDateTime>,
    pub opted_out_at: Option<NaiveDateTime>,
}

/// The client was erased: nothing more is planned for them.
pub fn forget(conn: &mut AnyConnection, tenant: &Tenant, client: &str) -> Result<()> {
    diesel::update(client_care::table)
        .filter(client_care::tenant_id.eq(tenant.key()))
        .filter(client_care::client_id.eq(client))
        .set(client_care::wake_up_due_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}
