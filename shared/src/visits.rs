//! Visits and their lines (消费记录): what a client had done, by whom, in which store, for how
//! much. Every write keeps the client's visit count, first/last visit and total spent right,
//! in the same transaction.

use crate::clients::refresh_aggregates;
use crate::db::schema::{clients, services, staff, visit_lines, visits};
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{parse_amount, ClientId, PaymentMethod, ServiceId, StaffId, StoreId, Text, VisitId};
use crate::error::{Error, FieldError, FieldErrors, Result};
use crate::input::nullable;
use crate::outreach::settings::CareSettings;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::{Auth, Tenant};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Visit {
    pub id: VisitId,
    pub client_id: ClientId,
    pub store_id: StoreId,
    /// The beautician or consultant who served the client.
    pub staff_id: Option<StaffId>,
    pub completed_at: DateTime<Utc>,
    pub lines: Vec<VisitLine>,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub total_cents: i64,
    #[schema(example = "CNY")]
    pub currency: String,
    pub payment_method: PaymentMethod,
    pub notes: Option<String>,
    /// completed, or voided (kept for the record, excluded from every total).
    pub status: String,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    /// When the visit was recorded (it may be recorded after the fact).
    pub recorded_at: DateTime<Utc>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitLine {
    pub service_id: Option<ServiceId>,
    pub description: String,
    pub amount_cents: i64,
}

/// `POST /api/v1/visits`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    pub client_id: String,
    /// Defaults to the recording staff member's store.
    pub store_id: Option<String>,
    pub staff_id: Option<String>,
    /// RFC 3339; may be in the past (history entered later), not in the future.
    #[schema(format = DateTime, example = "2026-11-25T10:30:00+08:00")]
    pub completed_at: String,
    pub lines: Vec<LineInput>,
    /// A discount on the whole visit, in minor units.
    pub discount_cents: Option<i64>,
    pub payment_method: PaymentMethod,
    pub notes: Option<String>,
}

/// One line: a catalog service (its name and price are the defaults) or free text.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub service_id: Option<String>,
    pub description: Option<String>,
    pub amount_cents: Option<i64>,
}

/// `PATCH /api/v1/visits/{id}`: corrections. The client and store of a visit do not change
/// (void it and record it again).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitPatchInput {
    #[serde(default, deserialize_with = "nullable")]
    pub staff_id: Option<Option<String>>,
    /// RFC 3339, not in the future.
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
    pub lines: Option<Vec<LineInput>>,
    pub discount_cents: Option<i64>,
    pub payment_method: Option<PaymentMethod>,
    #[serde(default, deserialize_with = "nullable")]
    pub notes: Option<Option<String>>,
}

struct ParsedLine {
    service_id: Option<ServiceId>,
    description: Option<String>,
    amount_cents: Option<i64>,
}

fn parse_time(raw: &str, now: DateTime<Utc>) -> std::result::Result<DateTime<Utc>, FieldError> {
    let time = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| {
            FieldError::new(
                "invalid_time",
                "must be an RFC 3339 time with its offset, e.g. 2026-11-25T10:30:00+08:00",
            )
        })?
        .with_timezone(&Utc);
    plausible_completion(time, now)
}

/// A visit's completion time, however it was written: not in the future (five minutes of
/// clock skew allowed), not before 2000.
pub(crate) fn plausible_completion(
    time: DateTime<Utc>,
    now: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, FieldError> {
    if time > now + Duration::minutes(5) {
        return Err(FieldError::new(
            "in_the_future",
            "a visit cannot be completed in the future",
        ));
    }
    if time.date_naive() < chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default() {
        return Err(FieldError::new("too_old", "visits before 2000 are not accepted"));
    }
    Ok(time)
}

fn parse_lines(lines: &[LineInput], errors: &mut FieldErrors) -> Vec<ParsedLine> {
    if lines.is_empty() {
        errors.push("lines", "required", "a visit has at least one line");
    }
    if lines.len() > 50 {
        errors.push("lines", "too_many", "at most 50 lines");
    }
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let service_id = errors
                .check(
                    &format!("lines.{index}.service_id"),
                    line.service_id.as_deref().map(ServiceId::parse).transpose(),
                )
                .flatten();
            let description = errors
                .check(
                    &format!("lines.{index}.description"),
                    crate::input::optional_text(line.description.as_deref(), 200),
                )
                .flatten()
                .map(Text::into_inner);
            let amount_cents = errors
                .check(
                    &format!("lines.{index}.amount_cents"),
                    line.amount_cents.map(parse_amount).transpose(),
                )
                .flatten();
            if line.service_id.is_none() && (line.description.is_none() || line.amount_cents.is_none()) {
                errors.push(
                    &format!("lines.{index}"),
                    "incomplete_line",
                    "a line without a service_id needs a description and an amount_cents",
                );
            }
            ParsedLine {
                service_id,
                description,
                amount_cents,
            }
        })
        .collect()
}

/// Fill a line's description and amount from the catalog where not given.
fn resolve_lines(conn: &mut AnyConnection, tenant: &Tenant, lines: Vec<ParsedLine>) -> Result<Vec<VisitLine>> {
    let mut errors = FieldErrors::default();
    let mut resolved = Vec::with_capacity(lines.len());
    for (index, line) in lines.into_iter().enumerate() {
        let catalog = match line.service_id {
            Some(service) => {
                let found: Option<(String, i64)> = services::table
                    .filter(services::tenant_id.eq(tenant.key()))
                    .filter(services::id.eq(service.to_string()))
                    .select((services::name, services::price_cents))
                    .first(conn)
                    .optional()?;
                if found.is_none() {
                    errors.push(
                        &format!("lines.{index}.service_id"),
                        "unknown_service",
                        "no such service",
                    );
                }
                found
            }
            None => None,
        };
        resolved.push(VisitLine {
            service_id: line.service_id,
            description: line
                .description
                .or_else(|| catalog.as_ref().map(|c| c.0.clone()))
                .unwrap_or_default(),
            amount_cents: line.amount_cents.or(catalog.map(|c| c.1)).unwrap_or_default(),
        });
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(Error::Validation(errors))
    }
}

fn totals(lines: &[VisitLine], discount: i64) -> Result<(i64, i64)> {
    let subtotal: i64 = lines.iter().map(|l| l.amount_cents).sum();
    if discount > subtotal {
        return Err(Error::invalid(
            "discount_cents",
            "exceeds_subtotal",
            "the discount is larger than the lines' sum",
        ));
    }
    Ok((subtotal, subtotal - discount))
}

fn check_staff(conn: &mut AnyConnection, tenant: &Tenant, staff_id: Option<StaffId>) -> Result<()> {
    if let Some(member) = staff_id {
        let exists: i64 = staff::table
            .filter(staff::tenant_id.eq(tenant.key()))
            .filter(staff::id.eq(member.to_string()))
            .filter(staff::deleted_at.is_null())
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(Error::invalid("staff_id", "unknown_staff", "no such staff member"));
        }
    }
    Ok(())
}

/// Store roles record and correct visits of their own store only.
fn check_store_reach(auth: &Auth, store: StoreId) -> Result<()> {
    if !auth.actor.is_hq() && auth.actor.store_id != Some(store) {
        return Err(Error::Forbidden("you can only record visits of your own store"));
    }
    Ok(())
}

/// A fully checked new visit, ready to insert (also built by the importer).
pub struct NewVisit {
    pub client_id: ClientId,
    pub store_id: StoreId,
    pub staff_id: Option<StaffId>,
    pub completed_at: DateTime<Utc>,
    pub lines: Vec<VisitLine>,
    pub discount_cents: i64,
    pub payment_method: PaymentMethod,
    pub notes: Option<String>,
    pub source: &'static str,
}

pub fn create(conn: &mut AnyConnection, auth: &Auth, input: VisitInput, now: DateTime<Utc>) -> Result<Visit> {
    let tenant = &auth.tenant;
    let mut errors = FieldErrors::default();
    let client_id = errors.check("client_id", ClientId::parse(&input.client_id));
    let store_id = errors.check("store_id", input.store_id.as_deref().map(StoreId::parse).transpose());
    let staff_id = errors.check("staff_id", input.staff_id.as_deref().map(StaffId::parse).transpose());
    let completed_at = errors.check("completed_at", parse_time(&input.completed_at, now));
    let discount = errors.check("discount_cents", parse_amount(input.discount_cents.unwrap_or(0)));
    let notes = errors.check("notes", crate::input::optional_text(input.notes.as_deref(), 2000));
    let lines = parse_lines(&input.lines, &mut errors);
    let (Some(client_id), Some(store_id), Some(staff_id), Some(completed_at), Some(discount), Some(notes)) =
        (client_id, store_id, staff_id, completed_at, discount, notes)
    else {
        return Err(Error::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let Some(store_id) = store_id.or(auth.actor.store_id) else {
        return Err(Error::invalid("store_id", "required", "which store was the visit in?"));
    };
    check_store_reach(auth, store_id)?;
    if !crate::stores::exists(conn, tenant, store_id)? {
        return Err(Error::invalid("store_id", "unknown_store", "no such store"));
    }
    check_staff(conn, tenant, staff_id)?;
    let lines = resolve_lines(conn, tenant, lines)?;
    insert(
        conn,
        auth,
        NewVisit {
            client_id,
            store_id,
            staff_id,
            completed_at,
            lines,
            discount_cents: discount,
            payment_method: input.payment_method,
            notes: notes.map(Text::into_inner),
            source: "api",
        },
        now,
    )
}

/// Insert a checked visit, add it to the client's aggregates and link the client to the store.
pub fn insert(conn: &mut AnyConnection, auth: &Auth, visit: NewVisit, now: DateTime<Utc>) -> Result<Visit> {
    let tenant = &auth.tenant;
    let client: Option<(Option<String>, Option<NaiveDateTime>)> = clients::table
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(visit.client_id.to_string()))
        .filter(clients::deleted_at.is_null())
        .select((clients::home_store_id, clients::erased_at))
        .first(conn)
        .optional()?;
    let home_store = match client {
        None => return Err(Error::invalid("client_id", "unknown_client", "no such client")),
        Some((_, Some(_))) => {
            return Err(Error::conflict(
                "erased",
                "this client's data was erased; record the visit without them",
            ))
        }
        Some((home_store, None)) => home_store,
    };
    let (subtotal, total) = totals(&visit.lines, visit.discount_cents)?;
    let currency = auth.facts.currency().to_owned();
    let id = VisitId::new();
    let settings = crate::outreach::settings::load(conn, tenant)?.settings;
    diesel::insert_into(visits::table)
        .values(&new_visit_row(
            tenant,
            &id.to_string(),
            &visit,
            (subtotal, total),
            &currency,
            &settings,
            now,
        ))
        .execute(conn)?;
    crate::db::backend::insert_batch(
        conn,
        visit_lines::table,
        line_rows(tenant, &id.to_string(), &visit.lines),
    )?;
    // Taking the client row's lock first: a concurrent visit of the same client waits here,
    // and then sees this one's store link.
    crate::clients::add_visit_to_aggregates(conn, tenant, visit.client_id, visit.completed_at, total, now)?;
    if home_store.as_deref() != Some(visit.store_id.to_string().as_str()) {
        crate::clients::link_store(conn, tenant, visit.client_id, visit.store_id)?;
    }
    Ok(Visit {
        id,
        client_id: visit.client_id,
        store_id: visit.store_id,
        staff_id: visit.staff_id,
        completed_at: from_db_time(to_db_time(visit.completed_at)),
        lines: visit.lines,
        subtotal_cents: subtotal,
        discount_cents: visit.discount_cents,
        total_cents: total,
        currency,
        payment_method: visit.payment_method,
        notes: visit.notes,
        status: "completed".into(),
        voided_at: None,
        void_reason: None,
        recorded_at: from_db_time(to_db_time(now)),
        version: 1,
        updated_at: from_db_time(to_db_time(now)),
    })
}

#[derive(diesel::Insertable)]
#[diesel(table_name = visits, treat_none_as_default_value = false)]
struct NewVisitRow {
    tenant_id: String,
    id: String,
    client_id: String,
    store_id: String,
    staff_id: Option<String>,
    completed_at: NaiveDateTime,
    subtotal_cents: i64,
    discount_cents: i64,
    total_cents: i64,
    currency: String,
    payment_method: &'static str,
    notes: Option<String>,
    status: &'static str,
    source: &'static str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    survey_due_at: Option<NaiveDateTime>,
}

#[derive(diesel::Insertable)]
#[diesel(table_name = visit_lines, treat_none_as_default_value = false)]
struct NewLineRow {
    tenant_id: String,
    visit_id: String,
    line_no: i32,
    service_id: Option<String>,
    description: String,
    amount_cents: i64,
}

/// Insert many checked visits of existing, non-erased clients (an import) with multi-row
/// statements, then bring each affected client's aggregates and store links up to date.
pub(crate) fn insert_many(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    new: Vec<NewVisit>,
    now: DateTime<Utc>,
) -> Result<usize> {
    use crate::db::backend::insert_batch;
    use std::collections::{BTreeMap, BTreeSet};
    let currency: String = crate::db::schema::tenants::table
        .filter(crate::db::schema::tenants::id.eq(tenant.key()))
        .select(crate::db::schema::tenants::currency)
        .first(conn)?;
    let settings = crate::outreach::settings::load(conn, tenant)?.settings;
    let mut visit_rows = Vec::with_capacity(new.len());
    let mut line_batch = Vec::with_capacity(new.len());
    // Per client: count, first, last, total of the new visits.
    let mut per_client: BTreeMap<String, (i64, NaiveDateTime, NaiveDateTime, i64)> = BTreeMap::new();
    let mut links: BTreeSet<(String, String)> = BTreeSet::new();
    for visit in new {
        let (subtotal, total) = totals(&visit.lines, visit.discount_cents)?;
        let id = VisitId::new().to_string();
        let at = to_db_time(visit.completed_at);
        let client = visit.client_id.to_string();
        let entry = per_client.entry(client.clone()).or_insert((0, at, at, 0));
        entry.0 += 1;
        entry.1 = entry.1.min(at);
        entry.2 = entry.2.max(at);
        entry.3 += total;
        links.insert((visit.store_id.to_string(), client.clone()));
        line_batch.extend(line_rows(tenant, &id, &visit.lines));
        visit_rows.push(new_visit_row(
            tenant,
            &id,
            &visit,
            (subtotal, total),
            &currency,
            &settings,
            now,
        ));
    }
    let written = visit_rows.len();
    for chunk in visit_rows.chunks(1500) {
        insert_batch(conn, visits::table, chunk)?;
    }
    for chunk in line_batch.chunks(4000) {
        insert_batch(conn, visit_lines::table, chunk)?;
    }
    // Client rows are locked (updated) before their store links are written, as in `insert`.
    // Imports only add completed visits, so each client's aggregates move by what was added;
    // the UPDATE is relative, so a visit recorded meanwhile is not lost.
    for (client, (count, first, last, total)) in &per_client {
        let current: (Option<NaiveDateTime>, Option<NaiveDateTime>) = clients::table
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::id.eq(client))
            .select((clients::first_visit_at, clients::last_visit_at))
            .first(conn)?;
        diesel::update(clients::table)
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::id.eq(client))
            .set((
                clients::visit_count.eq(clients::visit_count + i32::try_from(*count).unwrap_or(i32::MAX)),
                clients::total_spent_cents.eq(clients::total_spent_cents + *total),
                clients::first_visit_at.eq(Some(current.0.map_or(*first, |f| f.min(*first)))),
                clients::last_visit_at.eq(Some(current.1.map_or(*last, |l| l.max(*last)))),
                clients::version.eq(clients::version + 1),
                clients::updated_at.eq(to_db_time(now)),
            ))
            .execute(conn)?;
    }
    let client_ids: Vec<String> = per_client.keys().cloned().collect();
    crate::outreach::care_state::visits_changed(conn, tenant, &client_ids, now)?;
    for chunk in client_ids.chunks(500) {
        let existing: Vec<(String, String)> = crate::db::schema::client_stores::table
            .filter(crate::db::schema::client_stores::tenant_id.eq(tenant.key()))
            .filter(crate::db::schema::client_stores::client_id.eq_any(chunk))
            .select((
                crate::db::schema::client_stores::store_id,
                crate::db::schema::client_stores::client_id,
            ))
            .load(conn)?;
        for link in existing {
            links.remove(&link);
        }
    }
    for (store, client) in links {
        diesel::insert_into(crate::db::schema::client_stores::table)
            .values((
                crate::db::schema::client_stores::tenant_id.eq(tenant.key()),
                crate::db::schema::client_stores::store_id.eq(store),
                crate::db::schema::client_stores::client_id.eq(client),
            ))
            .execute(conn)?;
    }
    Ok(written)
}

/// The row of a new, completed visit with its computed (subtotal, total).
fn new_visit_row(
    tenant: &Tenant,
    id: &str,
    visit: &NewVisit,
    (subtotal, total): (i64, i64),
    currency: &str,
    survey: &CareSettings,
    now: DateTime<Utc>,
) -> NewVisitRow {
    NewVisitRow {
        tenant_id: tenant.key(),
        id: id.to_owned(),
        client_id: visit.client_id.to_string(),
        store_id: visit.store_id.to_string(),
        staff_id: visit.staff_id.map(|s| s.to_string()),
        completed_at: to_db_time(visit.completed_at),
        subtotal_cents: subtotal,
        discount_cents: visit.discount_cents,
        total_cents: total,
        currency: currency.to_owned(),
        payment_method: visit.payment_method.as_str(),
        notes: visit.notes.clone(),
        status: "completed",
        source: visit.source,
        created_at: to_db_time(now),
        updated_at: to_db_time(now),
        survey_due_at: survey_due(survey, visit.completed_at, now).map(to_db_time),
    }
}

/// When a visit's survey is due: the delay after it was completed, unless surveys are off or the
/// visit is recorded too long after the fact (history typed in from a spreadsheet).
fn survey_due(
    settings: &CareSettings,
    completed_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let lag = recorded_at - completed_at;
    let enabled =
        settings.survey_enabled && lag <= chrono::Duration::days(i64::from(settings.survey_max_record_lag_days));
    enabled.then(|| completed_at + chrono::Duration::hours(i64::from(settings.survey_delay_hours)))
}

/// The rows of a visit's lines, numbered from 1.
fn line_rows(tenant: &Tenant, visit_id: &str, lines: &[VisitLine]) -> Vec<NewLineRow> {
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| NewLineRow {
            tenant_id: tenant.key(),
            visit_id: visit_id.to_owned(),
            line_no: index as i32 + 1,
            service_id: line.service_id.map(|s| s.to_string()),
            description: line.description.clone(),
            amount_cents: line.amount_cents,
        })
        .collect()
}

/// Replace a visit's lines (a correction).
fn replace_lines(conn: &mut AnyConnection, tenant: &Tenant, id: VisitId, lines: &[VisitLine]) -> Result<()> {
    diesel::delete(visit_lines::table)
        .filter(visit_lines::tenant_id.eq(tenant.key()))
        .filter(visit_lines::visit_id.eq(id.to_string()))
        .execute(conn)?;
    crate::db::backend::insert_batch(conn, visit_lines::table, line_rows(tenant, &id.to_string(), lines))?;
    Ok(())
}

type Row = (
    (
        String,
        String,
        String,
        Option<String>,
        NaiveDateTime,
        i64,
        i64,
        i64,
        String,
        String,
    ),
    (
        Option<String>,
        String,
        Option<NaiveDateTime>,
        Option<String>,
        i32,
        NaiveDateTime,
        NaiveDateTime,
    ),
);

#[allow(clippy::type_complexity)]
fn columns() -> (
    (
        visits::id,
        visits::client_id,
        visits::store_id,
        visits::staff_id,
        visits::completed_at,
        visits::subtotal_cents,
        visits::discount_cents,
        visits::total_cents,
        visits::currency,
        visits::payment_method,
    ),
    (
        visits::notes,
        visits::status,
        visits::voided_at,
        visits::void_reason,
        visits::version,
        visits::created_at,
        visits::updated_at,
    ),
) {
    (
        (
            visits::id,
            visits::client_id,
            visits::store_id,
            visits::staff_id,
            visits::completed_at,
            visits::subtotal_cents,
            visits::discount_cents,
            visits::total_cents,
            visits::currency,
            visits::payment_method,
        ),
        (
            visits::notes,
            visits::status,
            visits::voided_at,
            visits::void_reason,
            visits::version,
            visits::created_at,
            visits::updated_at,
        ),
    )
}

/// Rows to visits, loading all their lines in one query.
fn assemble(conn: &mut AnyConnection, tenant: &Tenant, rows: Vec<Row>) -> Result<Vec<Visit>> {
    let ids: Vec<String> = rows.iter().map(|r| r.0 .0.clone()).collect();
    let mut lines: Vec<(String, i32, Option<String>, String, i64)> = visit_lines::table
        .filter(visit_lines::tenant_id.eq(tenant.key()))
        .filter(visit_lines::visit_id.eq_any(&ids))
        .select((
            visit_lines::visit_id,
            visit_lines::line_no,
            visit_lines::service_id,
            visit_lines::description,
            visit_lines::amount_cents,
        ))
        .load(conn)?;
    lines.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    rows.into_iter()
        .map(|(a, b)| {
            let (id, client_id, store_id, staff_id, completed_at, subtotal, discount, total, currency, payment) = a;
            let (notes, status, voided_at, void_reason, version, created_at, updated_at) = b;
            let visit_lines = lines
                .iter()
                .filter(|line| line.0 == id)
                .map(|line| {
                    Ok(VisitLine {
                        service_id: line.2.as_deref().map(ServiceId::from_db).transpose()?,
                        description: line.3.clone(),
                        amount_cents: line.4,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Visit {
                id: VisitId::from_db(&id)?,
                client_id: ClientId::from_db(&client_id)?,
                store_id: StoreId::from_db(&store_id)?,
                staff_id: staff_id.as_deref().map(StaffId::from_db).transpose()?,
                completed_at: from_db_time(completed_at),
                lines: visit_lines,
                subtotal_cents: subtotal,
                discount_cents: discount,
                total_cents: total,
                currency,
                payment_method: PaymentMethod::from_db(&payment)?,
                notes,
                status,
                voided_at: voided_at.map(from_db_time),
                void_reason,
                recorded_at: from_db_time(created_at),
                version,
                updated_at: from_db_time(updated_at),
            })
        })
        .collect()
}

/// One visit, if `auth` may see it (store roles: their store's visits only).
pub fn get(conn: &mut AnyConnection, auth: &Auth, id: VisitId) -> Result<Visit> {
    let mut query = visits::table
        .filter(visits::tenant_id.eq(auth.tenant.key()))
        .filter(visits::id.eq(id.to_string()))
        .select(columns())
        .into_boxed();
    if let Some(store) = store_scope(auth) {
        query = query.filter(visits::store_id.eq(store.to_string()));
    }
    let row = query.first::<Row>(conn).optional()?.ok_or(Error::NotFound)?;
    assemble(conn, &auth.tenant, vec![row])?.pop().ok_or(Error::NotFound)
}

fn store_scope(auth: &Auth) -> Option<StoreId> {
    if auth.actor.is_hq() {
        None
    } else {
        auth.actor.store_id
    }
}

#[derive(Debug, Default, Clone)]
pub struct VisitFilter {
    pub client_id: Option<ClientId>,
    pub store_id: Option<StoreId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub include_voided: bool,
}

/// Newest first.
pub fn list(conn: &mut AnyConnection, auth: &Auth, filter: &VisitFilter, page: &PageRequest) -> Result<Page<Visit>> {
    let mut query = visits::table
        .filter(visits::tenant_id.eq(auth.tenant.key()))
        .select(columns())
        .order(visits::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(visits::id.lt(after.clone()));
    }
    if let Some(store) = store_scope(auth) {
        query = query.filter(visits::store_id.eq(store.to_string()));
    }
    if let Some(store) = filter.store_id {
        query = query.filter(visits::store_id.eq(store.to_string()));
    }
    if let Some(client) = filter.client_id {
        query = query.filter(visits::client_id.eq(client.to_string()));
    }
    if let Some(from) = filter.from {
        query = query.filter(visits::completed_at.ge(to_db_time(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(visits::completed_at.lt(to_db_time(to)));
    }
    if !filter.include_voided {
        query = query.filter(visits::status.eq("completed"));
    }
    let rows = query.load::<Row>(conn)?;
    let visits = assemble(conn, &auth.tenant, rows)?;
    Ok(Page::from_rows(visits, page, |visit| visit.id.to_string()))
}

/// A client's visits in time order (for the timeline and the export), within `auth`'s reach.
pub fn for_client(conn: &mut AnyConnection, auth: &Auth, client: ClientId) -> Result<Vec<Visit>> {
    let mut query = visits::table
        .filter(visits::tenant_id.eq(auth.tenant.key()))
        .filter(visits::client_id.eq(client.to_string()))
        .select(columns())
        .order((visits::completed_at.asc(), visits::id.asc()))
        .into_boxed();
    if let Some(store) = store_scope(auth) {
        query = query.filter(visits::store_id.eq(store.to_string()));
    }
    let rows = query.load::<Row>(conn)?;
    assemble(conn, &auth.tenant, rows)
}

pub fn update(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: VisitId,
    input: VisitPatchInput,
    if_match: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Visit> {
    let tenant = &auth.tenant;
    let current = editable(conn, auth, id, if_match)?;
    if current.status == "voided" {
        return Err(Error::conflict("voided", "a voided visit cannot be changed"));
    }
    let mut errors = FieldErrors::default();
    let staff_id = errors
        .check(
            "staff_id",
            input
                .staff_id
                .map(|s| s.as_deref().map(StaffId::parse).transpose())
                .transpose(),
        )
        .flatten();
    let completed_at = errors
        .check(
            "completed_at",
            input.completed_at.as_deref().map(|t| parse_time(t, now)).transpose(),
        )
        .flatten();
    let discount = errors
        .check("discount_cents", input.discount_cents.map(parse_amount).transpose())
        .flatten();
    let notes = errors
        .check(
            "notes",
            input
                .notes
                .map(|n| crate::input::optional_text(n.as_deref(), 2000))
                .transpose(),
        )
        .flatten();
    let lines = input.lines.as_deref().map(|lines| parse_lines(lines, &mut errors));
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let staff_id = staff_id.unwrap_or(current.staff_id);
    check_staff(conn, tenant, staff_id)?;
    let lines = match lines {
        Some(lines) => resolve_lines(conn, tenant, lines)?,
        None => current.lines.clone(),
    };
    let discount = discount.unwrap_or(current.discount_cents);
    let (subtotal, total) = totals(&lines, discount)?;
    let changed = diesel::update(visits::table)
        .filter(visits::tenant_id.eq(tenant.key()))
        .filter(visits::id.eq(id.to_string()))
        .filter(visits::version.eq(current.version))
        .set((
            visits::staff_id.eq(staff_id.map(|s| s.to_string())),
            visits::completed_at.eq(to_db_time(completed_at.unwrap_or(current.completed_at))),
            visits::subtotal_cents.eq(subtotal),
            visits::discount_cents.eq(discount),
            visits::total_cents.eq(total),
            visits::payment_method.eq(input.payment_method.unwrap_or(current.payment_method).as_str()),
            visits::notes.eq(match notes {
                None => current.notes.clone(),
                Some(notes) => notes.map(Text::into_inner),
            }),
            visits::version.eq(current.version + 1),
            visits::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    replace_lines(conn, tenant, id, &lines)?;
    refresh_aggregates(conn, tenant, current.client_id, now)?;
    get(conn, auth, id)
}

/// The visit as it is, if `auth` may correct it and `if_match` (when given) names this version.
fn editable(conn: &mut AnyConnection, auth: &Auth, id: VisitId, if_match: Option<i32>) -> Result<Visit> {
    let current = get(conn, auth, id)?;
    check_store_reach(auth, current.store_id)?;
    if if_match.is_some_and(|v| v != current.version) {
        return Err(Error::PreconditionFailed);
    }
    Ok(current)
}

/// Void a visit: it stays on record, marked, and leaves every total.
pub fn void(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: VisitId,
    reason: Option<String>,
    if_match: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Visit> {
    let tenant = &auth.tenant;
    let current = editable(conn, auth, id, if_match)?;
    if current.status != "voided" {
        let changed = diesel::update(visits::table)
            .filter(visits::tenant_id.eq(tenant.key()))
            .filter(visits::id.eq(id.to_string()))
            .filter(visits::version.eq(current.version))
            .set((
                visits::status.eq("voided"),
                visits::survey_due_at.eq(None::<NaiveDateTime>),
                visits::voided_at.eq(Some(to_db_time(now))),
                visits::void_reason.eq(reason),
                visits::version.eq(current.version + 1),
                visits::updated_at.eq(to_db_time(now)),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(Error::PreconditionFailed);
        }
        // A voided visit gets no survey: one not yet sent is cancelled with it.
        crate::outreach::outbox::cancel_for_visit(conn, tenant, &id.to_string(), now)?;
        refresh_aggregates(conn, tenant, current.client_id, now)?;
    }
    get(conn, auth, id)
}
