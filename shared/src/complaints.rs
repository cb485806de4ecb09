//! 三级响应: complaints and their three steps. A complaint opens at level 1 (the store manager)
//! with deadlines for each step — callback within an hour, a solution within 24 hours, a
//! follow-up 7 days after the solution. Each deadline that passes unmet escalates one level
//! (store manager → HQ manager → owner; a level with nobody in it passes to the next), and every
//! alert, escalation and step is kept on the complaint's timeline.

use crate::db::schema::{clients, complaint_events, complaints, staff};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::{ClientId, ComplaintId, StoreId, VisitId};
use crate::outreach::decide::{self, FactsCache, StaffRecipient, StoreFacts, TenantFacts, Written};
use crate::outreach::MessageKind;
use crate::tenancy::{Actor, Auth, Tenant};
use crate::{Error, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

crate::domain::choices::choice!(
    /// The three steps of the response, in order.
    Step { Callback = "callback", Solution = "solution", FollowUp = "follow_up" }
);

/// How a complaint came to be.
#[derive(Debug, Clone)]
pub struct OpenComplaint {
    pub client_id: ClientId,
    /// The store responsible; defaults to the visit's store, then the client's home store.
    pub store_id: Option<StoreId>,
    pub visit_id: Option<VisitId>,
    pub survey_id: Option<String>,
    /// `survey` (a low answer) or `staff` (a call, a walk-in).
    pub source: &'static str,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintEvent {
    pub at: DateTime<Utc>,
    /// opened, alert, escalated, callback, solution, follow_up
    pub kind: String,
    pub level: i32,
    pub staff_id: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Complaint {
    pub id: String,
    pub client_id: String,
    pub store_id: String,
    pub visit_id: Option<String>,
    pub survey_id: Option<String>,
    pub source: String,
    pub summary: String,
    /// open, in_progress, closed
    pub status: String,
    /// 1 store manager, 2 HQ manager, 3 owner
    pub level: i32,
    pub opened_at: DateTime<Utc>,
    pub callback_due_at: DateTime<Utc>,
    pub callback_at: Option<DateTime<Utc>>,
    pub solution_due_at: DateTime<Utc>,
    pub solution_at: Option<DateTime<Utc>>,
    pub follow_up_due_at: Option<DateTime<Utc>>,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The next deadline the escalation sweep watches (none once every step is done or escalated).
    pub next_deadline_at: Option<DateTime<Utc>>,
    pub timeline: Vec<ComplaintEvent>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = complaints)]
struct Row {
    tenant_id: String,
    id: String,
    client_id: String,
    store_id: String,
    visit_id: Option<String>,
    survey_id: Option<String>,
    source: String,
    summary: String,
    status: String,
    level: i32,
    opened_at: NaiveDateTime,
    callback_due_at: NaiveDateTime,
    callback_at: Option<NaiveDateTime>,
    solution_due_at: NaiveDateTime,
    solution_at: Option<NaiveDateTime>,
    follow_up_due_at: Option<NaiveDateTime>,
    follow_up_at: Option<NaiveDateTime>,
    next_deadline_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
}

impl Row {
    /// Each step with its deadline (if it has one yet) and whether it was done.
    fn steps(&self) -> [(Step, Option<NaiveDateTime>, bool); 3] {
        [
            (Step::Callback, Some(self.callback_due_at), self.callback_at.is_some()),
            (Step::Solution, Some(self.solution_due_at), self.solution_at.is_some()),
            (Step::FollowUp, self.follow_up_due_at, self.follow_up_at.is_some()),
        ]
    }

    /// The earliest deadline of a step not done and not yet escalated.
    fn next_deadline(&self, escalated: &[Step]) -> Option<NaiveDateTime> {
        if self.closed_at.is_some() {
            return None;
        }
        self.steps()
            .into_iter()
            .filter(|(step, _, done)| !done && !escalated.contains(step))
            .filter_map(|(_, due, _)| due)
            .min()
    }
}

fn utc(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

const ROLES_BY_LEVEL: [&str; 3] = ["store_manager", "hq_manager", "owner"];

/// The people at `level` or, when nobody holds it, the next level up that has someone.
fn responsible(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    store_id: &str,
    level: i32,
) -> Result<(i32, Vec<StaffRecipient>)> {
    for level in level.clamp(1, 3)..=3 {
        let role = ROLES_BY_LEVEL[(level - 1) as usize];
        let mut query = staff::table
            .filter(staff::tenant_id.eq(tenant.key()))
            .filter(staff::role.eq(role))
            .filter(staff::active.eq(true))
            .filter(staff::deleted_at.is_null())
            .select((staff::id, staff::name, staff::email, staff::phone))
            .order(staff::id.asc())
            .into_boxed();
        if level == 1 {
            query = query.filter(staff::store_id.eq(store_id));
        }
        let people: Vec<(String, String, String, Option<String>)> = query.load(conn)?;
        if !people.is_empty() {
            let people = people
                .into_iter()
                .map(|(id, name, email, phone)| StaffRecipient { id, name, email, phone })
                .collect();
            return Ok((level, people));
        }
    }
    Ok((3, Vec::new()))
}

#[allow(clippy::too_many_arguments)] // one timeline row: every column is an argument
fn event(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    complaint: &str,
    kind: &str,
    level: i32,
    staff_id: Option<&str>,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(complaint_events::table)
        .values((
            complaint_events::tenant_id.eq(tenant.key()),
            complaint_events::id.eq(uuid::Uuid::now_v7().to_string()),
            complaint_events::complaint_id.eq(complaint),
            complaint_events::at.eq(to_db_time(at)),
            complaint_events::kind.eq(kind),
            complaint_events::level.eq(level),
            complaint_events::staff_id.eq(staff_id),
            complaint_events::note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

/// Alerts everyone at the level (email, and SMS when they have a phone) and notes each alert on
/// the timeline.
#[allow(clippy::too_many_arguments)]
fn alert(
    conn: &mut AnyConnection,
    facts: &TenantFacts,
    store: &StoreFacts,
    row: &Row,
    kind: MessageKind,
    occasion: &str,
    level: i32,
    people: &[StaffRecipient],
    now: DateTime<Utc>,
) -> Result<Vec<Written>> {
    let client_name: String = clients::table
        .filter(clients::tenant_id.eq(&row.tenant_id))
        .filter(clients::id.eq(&row.client_id))
        .select(clients::name)
        .first(conn)?;
    let mut written = Vec::new();
    for person in people {
        let messages = decide::staff_alert(
            conn,
            facts,
            kind,
            occasion,
            person,
            store,
            &row.id,
            &client_name,
            &row.summary,
            now,
        )?;
        if !messages.is_empty() {
            event(
                conn,
                &facts.tenant,
                &row.id,
                "alert",
                level,
                Some(&person.id),
                Some(kind.as_str()),
                now,
            )?;
        }
        written.extend(messages);
    }
    Ok(written)
}

/// Opens a complaint and alerts the responsible level at once, in one transaction.
pub fn open(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    opened_by: Option<&Actor>,
    input: OpenComplaint,
    now: DateTime<Utc>,
) -> Result<ComplaintId> {
    let client = decide::client(conn, tenant, &input.client_id.to_string())
        .map_err(|_| Error::invalid("client_id", "unknown_client", "no such client"))?;
    let visit_store: Option<String> = match input.visit_id {
        Some(visit) => Some(
            crate::db::schema::visits::table
                .filter(crate::db::schema::visits::tenant_id.eq(tenant.key()))
                .filter(crate::db::schema::visits::id.eq(visit.to_string()))
                .filter(crate::db::schema::visits::client_id.eq(&client.id))
                .select(crate::db::schema::visits::store_id)
                .first(conn)
                .optional()?
                .ok_or_else(|| Error::invalid("visit_id", "unknown_visit", "no such visit of this client"))?,
        ),
        None => None,
    };
    let store_id = match input.store_id {
        Some(store) => {
            if !crate::stores::exists(conn, tenant, store)? {
                return Err(Error::invalid("store_id", "unknown_store", "no such store"));
            }
            store.to_string()
        }
        None => visit_store.or_else(|| client.home_store_id.clone()).ok_or_else(|| {
            Error::invalid(
                "store_id",
                "required",
                "the client has no home store: name the store responsible",
            )
        })?,
    };
    if let Some(actor) = opened_by {
        if !actor.is_hq() && actor.store_id.map(|s| s.to_string()) != Some(store_id.clone()) {
            return Err(Error::invalid(
                "store_id",
                "other_store",
                "store staff open complaints for their own store",
            ));
        }
    }
    let mut cache = FactsCache::default();
    let facts = cache.tenant(conn, &tenant.key())?;
    let store = cache.store(conn, &facts, Some(&store_id))?;
    let settings = &facts.settings;
    let id = ComplaintId::new();
    let callback_due = now + Duration::minutes(i64::from(settings.callback_minutes));
    let solution_due = now + Duration::hours(i64::from(settings.solution_hours));
    let (level, people) = responsible(conn, tenant, &store_id, 1)?;
    diesel::insert_into(complaints::table)
        .values((
            (
                complaints::tenant_id.eq(tenant.key()),
                complaints::id.eq(id.to_string()),
                complaints::client_id.eq(&client.id),
                complaints::store_id.eq(&store_id),
                complaints::visit_id.eq(input.visit_id.map(|v| v.to_string())),
                complaints::survey_id.eq(input.survey_id.as_deref()),
                complaints::source.eq(input.source),
                complaints::summary.eq(&input.summary),
                complaints::status.eq("open"),
                complaints::level.eq(level),
            ),
            (
                complaints::opened_by.eq(opened_by.map(|a| a.staff_id.to_string())),
                complaints::opened_at.eq(to_db_time(now)),
                complaints::callback_due_at.eq(to_db_time(callback_due)),
                complaints::solution_due_at.eq(to_db_time(solution_due)),
                complaints::next_deadline_at.eq(Some(to_db_time(callback_due))),
                complaints::updated_at.eq(to_db_time(now)),
            ),
        ))
        .execute(conn)?;
    event(
        conn,
        tenant,
        &id.to_string(),
        "opened",
        level,
        opened_by.map(|a| a.staff_id.to_string()).as_deref(),
        Some(&input.summary),
        now,
    )?;
    let row = load(conn, tenant, &id.to_string())?;
    let occasion = format!("complaint_alert:{id}:{level}");
    alert(
        conn,
        &facts,
        &store,
        &row,
        MessageKind::ComplaintAlert,
        &occasion,
        level,
        &people,
        now,
    )?;
    Ok(id)
}

fn load(conn: &mut AnyConnection, tenant: &Tenant, id: &str) -> Result<Row> {
    complaints::table
        .filter(complaints::tenant_id.eq(tenant.key()))
        .filter(complaints::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound)
}

fn escalated_steps(conn: &mut AnyConnection, tenant: &Tenant, id: &str) -> Result<Vec<Step>> {
    let notes: Vec<Option<String>> = complaint_events::table
        .filter(complaint_events::tenant_id.eq(tenant.key()))
        .filter(complaint_events::complaint_id.eq(id))
        .filter(complaint_events::kind.eq("escalated"))
        .select(complaint_events::note)
        .load(conn)?;
    Ok(notes
        .into_iter()
        .flatten()
        .filter_map(|note| Step::parse(&note).ok())
        .collect())
}

/// The escalation sweep's work on one complaint whose next deadline has passed: one level up
/// per missed step, alerts to the new level, the next deadline to watch. Returns messages written.
pub fn escalate_due(
    conn: &mut AnyConnection,
    cache: &mut FactsCache,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Written>> {
    let facts = cache.tenant(conn, tenant_id)?;
    let tenant = facts.tenant;
    let mut row = load(conn, &tenant, id)?;
    let store = cache.store(conn, &facts, Some(&row.store_id))?;
    let mut escalated = escalated_steps(conn, &tenant, id)?;
    let mut written = Vec::new();
    while let Some(deadline) = row.next_deadline(&escalated).filter(|d| utc(*d) <= now) {
        let Some((step, _, _)) = row
            .steps()
            .into_iter()
            .find(|(step, due, done)| !done && !escalated.contains(step) && *due == Some(deadline))
        else {
            break;
        };
        let (level, people) = responsible(conn, &tenant, &row.store_id, (row.level + 1).min(3))?;
        event(conn, &tenant, id, "escalated", level, None, Some(step.as_str()), now)?;
        row.level = level;
        let occasion = format!("escalation:{id}:{}", step.as_str());
        written.extend(alert(
            conn,
            &facts,
            &store,
            &row,
            MessageKind::Escalation,
            &occasion,
            level,
            &people,
            now,
        )?);
        escalated.push(step);
    }
    diesel::update(complaints::table)
        .filter(complaints::tenant_id.eq(tenant.key()))
        .filter(complaints::id.eq(id))
        .set((
            complaints::level.eq(row.level),
            complaints::next_deadline_at.eq(row.next_deadline(&escalated)),
            complaints::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    Ok(written)
}

/// Complaints whose next deadline has passed, oldest first (the escalation sweep's input).
pub fn due(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<(String, String)>> {
    macro_rules! query {
        () => {
            complaints::table
                .filter(complaints::next_deadline_at.le(to_db_time(now)))
                .order(complaints::next_deadline_at.asc())
                .limit(limit)
                .select((complaints::tenant_id, complaints::id))
        };
    }
    Ok(match conn {
        AnyConnection::Postgresql(pg) => query!().for_update().skip_locked().load(pg)?,
        AnyConnection::Sqlite(sqlite) => query!().load(sqlite)?,
    })
}

/// Records one step, in order (a step before its predecessor is a conflict). The follow-up
/// closes the complaint.
pub fn record_step(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ComplaintId,
    step: Step,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<Complaint> {
    let tenant = &auth.tenant;
    let row = visible(conn, auth, &id.to_string())?;
    let done = |step: Step| row.steps().into_iter().any(|(s, _, d)| s == step && d);
    let predecessor = match step {
        Step::Callback => None,
        Step::Solution => Some(Step::Callback),
        Step::FollowUp => Some(Step::Solution),
    };
    if done(step) {
        return Err(Error::conflict(
            "step_recorded",
            format!("the {} step is already recorded", step.as_str()),
        ));
    }
    if let Some(before) = predecessor.filter(|before| !done(*before)) {
        return Err(Error::conflict(
            "step_out_of_order",
            format!("record the {} step before the {} step", before.as_str(), step.as_str()),
        ));
    }
    let settings = crate::outreach::settings::load(conn, tenant)?.settings;
    let at = Some(to_db_time(now));
    let mut updated = row.clone();
    match step {
        Step::Callback => updated.callback_at = at,
        Step::Solution => {
            updated.solution_at = at;
            updated.follow_up_due_at = Some(to_db_time(now + Duration::days(i64::from(settings.follow_up_days))));
        }
        Step::FollowUp => {
            updated.follow_up_at = at;
            updated.closed_at = at;
        }
    }
    let status = if updated.closed_at.is_some() {
        "closed"
    } else {
        "in_progress"
    };
    let escalated = escalated_steps(conn, tenant, &row.id)?;
    diesel::update(complaints::table)
        .filter(complaints::tenant_id.eq(tenant.key()))
        .filter(complaints::id.eq(&row.id))
        .set((
            complaints::callback_at.eq(updated.callback_at),
            complaints::solution_at.eq(updated.solution_at),
            complaints::follow_up_due_at.eq(updated.follow_up_due_at),
            complaints::follow_up_at.eq(updated.follow_up_at),
            complaints::closed_at.eq(updated.closed_at),
            complaints::status.eq(status),
            complaints::next_deadline_at.eq(updated.next_deadline(&escalated)),
            complaints::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    let staff_id = auth.actor.staff_id.to_string();
    event(
        conn,
        tenant,
        &row.id,
        step.as_str(),
        row.level,
        Some(&staff_id),
        note.as_deref(),
        now,
    )?;
    get(conn, auth, id)
}

/// The complaint, if the caller may see it: HQ and owners see all; store staff their store's.
fn visible(conn: &mut AnyConnection, auth: &Auth, id: &str) -> Result<Row> {
    let row = load(conn, &auth.tenant, id)?;
    if auth.actor.is_hq()
        || auth
            .actor
            .store_id
            .is_some_and(|store| store.to_string() == row.store_id)
    {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

pub fn get(conn: &mut AnyConnection, auth: &Auth, id: ComplaintId) -> Result<Complaint> {
    let row = visible(conn, auth, &id.to_string())?;
    type EventRow = (NaiveDateTime, String, i32, Option<String>, Option<String>);
    let events: Vec<EventRow> = complaint_events::table
        .filter(complaint_events::tenant_id.eq(auth.tenant.key()))
        .filter(complaint_events::complaint_id.eq(&row.id))
        .order((complaint_events::at.asc(), complaint_events::id.asc()))
        .select((
            complaint_events::at,
            complaint_events::kind,
            complaint_events::level,
            complaint_events::staff_id,
            complaint_events::note,
        ))
        .load(conn)?;
    Ok(Complaint {
        timeline: events
            .into_iter()
            .map(|(at, kind, level, staff_id, note)| ComplaintEvent {
                at: utc(at),
                kind,
                level,
                staff_id,
                note,
            })
            .collect(),
        id: row.id,
        client_id: row.client_id,
        store_id: row.store_id,
        visit_id: row.visit_id,
        survey_id: row.survey_id,
        source: row.source,
        summary: row.summary,
        status: row.status,
        level: row.level,
        opened_at: utc(row.opened_at),
        callback_due_at: utc(row.callback_due_at),
        callback_at: row.callback_at.map(utc),
        solution_due_at: utc(row.solution_due_at),
        solution_at: row.solution_at.map(utc),
        follow_up_due_at: row.follow_up_due_at.map(utc),
        follow_up_at: row.follow_up_at.map(utc),
        closed_at: row.closed_at.map(utc),
        next_deadline_at: row.next_deadline_at.map(utc),
    })
}
