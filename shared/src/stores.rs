//! Stores (门店): each with its own time zone, address, phone and quiet hours.

use crate::db::schema::{staff, stores, tenants};
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{Name, PhoneText, QuietHours, StoreId, Text, TimeZone};
use crate::error::{Error, Result};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::Tenant;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Store {
    pub id: StoreId,
    pub name: String,
    /// IANA time zone; the store's automations run on its local time.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// When set, overrides the tenant's quiet hours for this store's clients.
    pub quiet_hours: Option<QuietHoursView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuietHoursView {
    #[schema(example = "21:00")]
    pub start: String,
    #[schema(example = "09:00")]
    pub end: String,
}

#[derive(Debug)]
pub struct NewStore {
    pub name: Name,
    /// `None`: the tenant's time zone.
    pub timezone: Option<TimeZone>,
    pub address: Option<Text>,
    pub phone: Option<PhoneText>,
    pub quiet_hours: Option<QuietHours>,
}

/// Changes to a store; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct StorePatch {
    pub name: Option<Name>,
    pub timezone: Option<TimeZone>,
    pub address: Option<Option<Text>>,
    pub phone: Option<Option<PhoneText>>,
    pub quiet_hours: Option<Option<QuietHours>>,
}

type StoreRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

fn columns() -> (
    stores::id,
    stores::name,
    stores::timezone,
    stores::address,
    stores::phone,
    stores::quiet_start,
    stores::quiet_end,
    stores::created_at,
    stores::updated_at,
) {
    (
        stores::id,
        stores::name,
        stores::timezone,
        stores::address,
        stores::phone,
        stores::quiet_start,
        stores::quiet_end,
        stores::created_at,
        stores::updated_at,
    )
}

fn from_row(row: StoreRow) -> Result<Store> {
    let (id, name, timezone, address, phone, quiet_start, quiet_end, created_at, updated_at) = row;
    Ok(Store {
        id: StoreId::from_db(&id)?,
        name,
        timezone,
        address,
        phone,
        quiet_hours: quiet_start
            .zip(quiet_end)
            .map(|(start, end)| QuietHoursView { start, end }),
        created_at: from_db_time(created_at),
        updated_at: from_db_time(updated_at),
    })
}

pub fn create(conn: &mut AnyConnection, tenant: &Tenant, new: NewStore, now: DateTime<Utc>) -> Result<Store> {
    let id = StoreId::new();
    let timezone = match new.timezone {
        Some(zone) => zone.name().to_owned(),
        None => tenants::table
            .filter(tenants::id.eq(tenant.key()))
            .select(tenants::timezone)
            .first::<String>(conn)?,
    };
    diesel::insert_into(stores::table)
        .values((
            stores::tenant_id.eq(tenant.key()),
            stores::id.eq(id.to_string()),
            stores::name.eq(new.name.into_inner()),
            stores::timezone.eq(timezone),
            stores::address.eq(new.address.map(Text::into_inner)),
            stores::phone.eq(new.phone.map(PhoneText::into_inner)),
            stores::quiet_start.eq(new.quiet_hours.map(|q| q.start_text())),
            stores::quiet_end.eq(new.quiet_hours.map(|q| q.end_text())),
            stores::created_at.eq(to_db_time(now)),
            stores::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    get(conn, tenant, id)
}

pub fn get(conn: &mut AnyConnection, tenant: &Tenant, id: StoreId) -> Result<Store> {
    let row = stores::table
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::id.eq(id.to_string()))
        .filter(stores::deleted_at.is_null())
        .select(columns())
        .first::<StoreRow>(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    from_row(row)
}

/// Whether `id` names a current store of this tenant (for references in other records).
pub fn exists(conn: &mut AnyConnection, tenant: &Tenant, id: StoreId) -> Result<bool> {
    let count: i64 = stores::table
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::id.eq(id.to_string()))
        .filter(stores::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

pub fn list(conn: &mut AnyConnection, tenant: &Tenant, page: &PageRequest) -> Result<Page<Store>> {
    let mut query = stores::table
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::deleted_at.is_null())
        .select(columns())
        .order(stores::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(stores::id.gt(after.clone()));
    }
    let rows = query
        .load::<StoreRow>(conn)?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(rows, page, |store| store.id.to_string()))
}

pub fn update(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    id: StoreId,
    patch: StorePatch,
    now: DateTime<Utc>,
) -> Result<Store> {
    let current = get(conn, tenant, id)?;
    let quiet = match patch.quiet_hours {
        Some(quiet) => quiet.map(|q| (q.start_text(), q.end_text())),
        None => current.quiet_hours.map(|q| (q.start, q.end)),
    };
    diesel::update(stores::table)
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::id.eq(id.to_string()))
        .set((
            stores::name.eq(patch.name.map_or(current.name, Name::into_inner)),
            stores::timezone.eq(patch.timezone.map_or(current.timezone, |z| z.name().to_owned())),
            stores::address.eq(patch.address.map_or(current.address, |a| a.map(Text::into_inner))),
            stores::phone.eq(patch.phone.map_or(current.phone, |p| p.map(PhoneText::into_inner))),
            stores::quiet_start.eq(quiet.as_ref().map(|q| q.0.clone())),
            stores::quiet_end.eq(quiet.map(|q| q.1)),
            stores::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    get(conn, tenant, id)
}

/// Close a store. Its history stays (visits and messages refer to it); a store that still has
/// staff assigned cannot be closed until they are moved or removed.
pub fn delete(conn: &mut AnyConnection, tenant: &Tenant, id: StoreId, now: DateTime<Utc>) -> Result<()> {
    get(conn, tenant, id)?;
    let assigned: i64 = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::store_id.eq(id.to_string()))
        .filter(staff::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    if assigned > 0 {
        return Err(Error::conflict(
            "store_has_staff",
            format!("{assigned} staff member(s) still work in this store; move or remove them first"),
        ));
    }
    diesel::update(stores::table)
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::id.eq(id.to_string()))
        .set(stores::deleted_at.eq(Some(to_db_time(now))))
        .execute(conn)?;
    Ok(())
}
