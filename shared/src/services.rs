//! The service catalog (服务项目): what a salon sells, with duration and list price.

use crate::db::schema::services;
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{Name, ServiceId, Text};
use crate::error::{Error, Result};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::Tenant;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub category: Option<String>,
    pub duration_minutes: Option<i32>,
    /// List price in minor units (分) of the tenant's currency.
    pub price_cents: i64,
    /// Inactive services stay on past visits but are not offered for new ones.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct NewService {
    pub name: Name,
    pub category: Option<Text>,
    pub duration_minutes: Option<i32>,
    pub price_cents: i64,
    pub active: bool,
}

#[derive(Debug, Default)]
pub struct ServicePatch {
    pub name: Option<Name>,
    pub category: Option<Option<Text>>,
    pub duration_minutes: Option<Option<i32>>,
    pub price_cents: Option<i64>,
    pub active: Option<bool>,
}

/// 1 minute to 12 hours.
pub fn parse_duration_minutes(minutes: i32) -> std::result::Result<i32, crate::FieldError> {
    if (1..=720).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(crate::FieldError::new(
            "out_of_range",
            "must be between 1 and 720 minutes",
        ))
    }
}

type Row = (
    String,
    String,
    Option<String>,
    Option<i32>,
    i64,
    bool,
    NaiveDateTime,
    NaiveDateTime,
);

fn columns() -> (
    services::id,
    services::name,
    services::category,
    services::duration_minutes,
    services::price_cents,
    services::active,
    services::created_at,
    services::updated_at,
) {
    (
        services::id,
        services::name,
        services::category,
        services::duration_minutes,
        services::price_cents,
        services::active,
        services::created_at,
        services::updated_at,
    )
}

fn from_row(row: Row) -> Result<Service> {
    let (id, name, category, duration_minutes, price_cents, active, created_at, updated_at) = row;
    Ok(Service {
        id: ServiceId::from_db(&id)?,
        name,
        category,
        duration_minutes,
        price_cents,
        active,
        created_at: from_db_time(created_at),
        updated_at: from_db_time(updated_at),
    })
}

pub fn create(conn: &mut AnyConnection, tenant: &Tenant, new: NewService, now: DateTime<Utc>) -> Result<Service> {
    let id = ServiceId::new();
    diesel::insert_into(services::table)
        .values((
            services::tenant_id.eq(tenant.key()),
            services::id.eq(id.to_string()),
            services::name.eq(new.name.into_inner()),
            services::category.eq(new.category.map(Text::into_inner)),
            services::duration_minutes.eq(new.duration_minutes),
            services::price_cents.eq(new.price_cents),
            services::active.eq(new.active),
            services::created_at.eq(to_db_time(now)),
            services::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    get(conn, tenant, id)
}

pub fn get(conn: &mut AnyConnection, tenant: &Tenant, id: ServiceId) -> Result<Service> {
    let row = services::table
        .filter(services::tenant_id.eq(tenant.key()))
        .filter(services::id.eq(id.to_string()))
        .filter(services::deleted_at.is_null())
        .select(columns())
        .first::<Row>(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    from_row(row)
}

#[derive(Debug, Default, Clone)]
pub struct ServiceFilter {
    pub active: Option<bool>,
    pub category: Option<String>,
}

pub fn list(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    filter: &ServiceFilter,
    page: &PageRequest,
) -> Result<Page<Service>> {
    let mut query = services::table
        .filter(services::tenant_id.eq(tenant.key()))
        .filter(services::deleted_at.is_null())
        .select(columns())
        .order(services::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(services::id.gt(after.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(services::active.eq(active));
    }
    if let Some(category) = &filter.category {
        query = query.filter(services::category.eq(category.clone()));
    }
    let rows = query
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(rows, page, |service| service.id.to_string()))
}

pub fn update(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    id: ServiceId,
    patch: ServicePatch,
    now: DateTime<Utc>,
) -> Result<Service> {
    let current = get(conn, tenant, id)?;
    diesel::update(services::table)
        .filter(services::tenant_id.eq(tenant.key()))
        .filter(services::id.eq(id.to_string()))
        .set((
            services::name.eq(patch.name.map_or(current.name, Name::into_inner)),
            services::category.eq(patch.category.map_or(current.category, |c| c.map(Text::into_inner))),
            services::duration_minutes.eq(patch.duration_minutes.unwrap_or(current.duration_minutes)),
            services::price_cents.eq(patch.price_cents.unwrap_or(current.price_cents)),
            services::active.eq(patch.active.unwrap_or(current.active)),
            services::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    get(conn, tenant, id)
}

/// Remove from the catalog; past visits keep their lines.
pub fn delete(conn: &mut AnyConnection, tenant: &Tenant, id: ServiceId, now: DateTime<Utc>) -> Result<()> {
    get(conn, tenant, id)?;
    diesel::update(services::table)
        .filter(services::tenant_id.eq(tenant.key()))
        .filter(services::id.eq(id.to_string()))
        .set((
            services::deleted_at.eq(Some(to_db_time(now))),
            services::active.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}
