//! 三级响应: complaints and their three steps. A complaint opens at level 1 (the store manager)
//! with deadlines for each step — callback within an hour, a solution within 24 hours, a
//! follow-up 7 days after the solution. Each deadline that passes unmet escalates one level
//! (store manager → HQ manager → owner; a level with nobody in it passes to the next), and every
//! alert, escalation and step is kept on the complaint's timeline.
//!
//! HQ and owners see every complaint of the tenant; store roles see their own store's
//! ([`visible`], [`list`]). A step is *overdue* while it is not recorded and its deadline has
//! passed — or the worker has already escalated it as missed (the escalation is the record that
//! the deadline passed unmet, whatever the clock of the reader says).

use crate::db::schema::{clients, complaint_events, complaints, staff};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::{ClientId, ComplaintId, StaffId, StoreId, VisitId};
use crate::error::FieldError;
use crate::outreach::decide::{self, FactsCache, StaffRecipient, StoreFacts, TenantFacts, Written};
use crate::outreach::MessageKind;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::{Actor, Auth, Tenant};
use crate::{Error, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

crate::domain::choices::choice!(
    /// The three steps of the response, in order.
    Step { Callback = "callback", Solution = "solution", FollowUp = "follow_up" }
);

crate::domain::choices::choice!(
    /// Where a complaint is: opened, at least its callback recorded, or closed by the follow-up.
    ComplaintStatus { Open = "open", InProgress = "in_progress", Closed = "closed" }
);

/// The client's satisfaction with how their complaint was resolved, 1 (very unhappy) to 5 (very
/// happy), asked at the follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Satisfaction(i32);

impl Satisfaction {
    pub fn parse(value: i64) -> std::result::Result<Self, FieldError> {
        match i32::try_from(value) {
            Ok(value) if (1..=5).contains(&value) => Ok(Satisfaction(value)),
            _ => Err(FieldError::new("out_of_range", "must be from 1 to 5")),
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A complaint's escalation level, 1 (store manager) to 3 (owner).
pub fn parse_level(value: i64) -> std::result::Result<i32, FieldError> {
    match i32::try_from(value) {
        Ok(level) if (1..=3).contains(&level) => Ok(level),
        _ => Err(FieldError::new("out_of_range", "must be 1, 2 or 3")),
    }
}

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

/// A complaint as lists show it (without its timeline).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintSummary {
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
    /// The staff member who owns the complaint now: the responsible person at its level when it
    /// opened or escalated, or whoever it was handed to (`PATCH`). None when nobody could be.
    pub assignee_id: Option<String>,
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
    /// The client's satisfaction with the resolution (1–5), asked at the follow-up.
    pub resolution_satisfaction: Option<i32>,
    /// Open, with a step whose deadline passed unmet (or that was escalated as missed).
    pub overdue: bool,
}

/// One complaint with its timeline: every alert, escalation and step, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Complaint {
    #[serde(flatten)]
    pub summary: ComplaintSummary,
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
    resolution_satisfaction: Option<i32>,
    assignee_id: Option<String>,
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

    /// Open, with a step not recorded whose deadline has passed at `now` or that the worker
    /// escalated as missed.
    fn overdue(&self, escalated: &[Step], now: DateTime<Utc>) -> bool {
        self.closed_at.is_none()
            && self
                .steps()
                .into_iter()
                .any(|(step, due, done)| !done && due.is_some_and(|due| utc(due) <= now || escalated.contains(&step)))
    }

    fn summary(self, escalated: &[Step], now: DateTime<Utc>) -> ComplaintSummary {
        let overdue = self.overdue(escalated, now);
        ComplaintSummary {
            id: self.id,
            client_id: self.client_id,
            store_id: self.store_id,
            visit_id: self.visit_id,
            survey_id: self.survey_id,
            source: self.source,
            summary: self.summary,
            status: self.status,
            level: self.level,
            assignee_id: self.assignee_id,
            opened_at: utc(self.opened_at),
            callback_due_at: utc(self.callback_due_at),
            callback_at: self.callback_at.map(utc),
            solution_due_at: utc(self.solution_due_at),
            solution_at: self.solution_at.map(utc),
            follow_up_due_at: self.follow_up_due_at.map(utc),
            follow_up_at: self.follow_up_at.map(utc),
            closed_at: self.closed_at.map(utc),
            next_deadline_at: self.next_deadline_at.map(utc),
            resolution_satisfaction: self.resolution_satisfaction,
            overdue,
        }
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
                complaints::status.eq(ComplaintStatus::Open.as_str()),
                complaints::level.eq(level),
            ),
            (
                complaints::opened_by.eq(opened_by.map(|a| a.staff_id.to_string())),
                complaints::opened_at.eq(to_db_time(now)),
                complaints::callback_due_at.eq(to_db_time(callback_due)),
                complaints::solution_due_at.eq(to_db_time(solution_due)),
                complaints::next_deadline_at.eq(Some(to_db_time(callback_due))),
                complaints::updated_at.eq(to_db_time(now)),
                complaints::assignee_id.eq(people.first().map(|person| person.id.as_str())),
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

/// What escalating one complaint did: the messages written, and each missed step with the level
/// it escalated to.
#[derive(Debug, Default)]
pub struct Escalated {
    pub written: Vec<Written>,
    pub missed: Vec<(&'static str, i32)>,
}

/// The escalation sweep's work on one complaint whose next deadline has passed: one level up
/// per missed step, alerts to the new level, the next deadline to watch.
pub fn escalate_due(
    conn: &mut AnyConnection,
    cache: &mut FactsCache,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Escalated> {
    let facts = cache.tenant(conn, tenant_id)?;
    let tenant = facts.tenant;
    let mut row = load(conn, &tenant, id)?;
    let store = cache.store(conn, &facts, Some(&row.store_id))?;
    let mut escalated = escalated_steps(conn, &tenant, id)?;
    let mut written = Vec::new();
    let mut missed = Vec::new();
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
        // The new level's first responsible person owns it now; nobody there keeps the last.
        if let Some(person) = people.first() {
            row.assignee_id = Some(person.id.clone());
        }
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
        missed.push((step.as_str(), level));
        escalated.push(step);
    }
    diesel::update(complaints::table)
        .filter(complaints::tenant_id.eq(tenant.key()))
        .filter(complaints::id.eq(id))
        .set((
            complaints::level.eq(row.level),
            complaints::assignee_id.eq(&row.assignee_id),
            complaints::next_deadline_at.eq(row.next_deadline(&escalated)),
            complaints::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    Ok(Escalated { written, missed })
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
/// closes the complaint, with the client's satisfaction with the resolution when they gave it.
#[allow(clippy::too_many_arguments)] // the step, its note and the follow-up's satisfaction
/// Hands an open complaint to `assignee`: an active staff member who can handle complaints and
/// reach its store (its own manager, or HQ and owners). Noted on the timeline as `assigned`
/// (the staff id is the new assignee's; the note, who handed it over).
pub fn assign(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ComplaintId,
    assignee: StaffId,
    now: DateTime<Utc>,
) -> Result<Complaint> {
    let tenant = &auth.tenant;
    let row = visible(conn, auth, &id.to_string())?;
    if row.closed_at.is_some() {
        return Err(Error::conflict(
            "complaint_closed",
            "a closed complaint keeps its assignee",
        ));
    }
    let candidate: Option<(String, Option<String>)> = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::id.eq(assignee.to_string()))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .select((staff::role, staff::store_id))
        .first(conn)
        .optional()?;
    let able = candidate.is_some_and(|(role, store)| match crate::domain::Role::parse(&role) {
        Ok(role) if !role.works_in_a_store() => {
            crate::tenancy::role_allows(role, crate::tenancy::Action::HandleComplaints)
        }
        Ok(role) => {
            crate::tenancy::role_allows(role, crate::tenancy::Action::HandleComplaints)
                && store.as_deref() == Some(row.store_id.as_str())
        }
        Err(_) => false,
    });
    if !able {
        return Err(Error::invalid(
            "assignee_id",
            "cannot_handle",
            "no active staff member who handles this store's complaints",
        ));
    }
    diesel::update(complaints::table)
        .filter(complaints::tenant_id.eq(tenant.key()))
        .filter(complaints::id.eq(&row.id))
        .set((
            complaints::assignee_id.eq(assignee.to_string()),
            complaints::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    event(
        conn,
        tenant,
        &row.id,
        "assigned",
        row.level,
        Some(&assignee.to_string()),
        Some(&auth.actor.staff_id.to_string()),
        now,
    )?;
    get(conn, auth, id, now)
}

pub fn record_step(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ComplaintId,
    step: Step,
    note: Option<String>,
    satisfaction: Option<Satisfaction>,
    now: DateTime<Utc>,
) -> Result<Complaint> {
    let tenant = &auth.tenant;
    let row = visible(conn, auth, &id.to_string())?;
    if satisfaction.is_some() && step != Step::FollowUp {
        return Err(Error::invalid(
            "satisfaction",
            "follow_up_only",
            "the client's satisfaction is recorded with the follow-up step",
        ));
    }
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
            updated.resolution_satisfaction = satisfaction.map(Satisfaction::get);
        }
    }
    let status = if updated.closed_at.is_some() {
        ComplaintStatus::Closed
    } else {
        ComplaintStatus::InProgress
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
            complaints::resolution_satisfaction.eq(updated.resolution_satisfaction),
            complaints::status.eq(status.as_str()),
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
    get(conn, auth, id, now)
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

/// One complaint with its timeline; `now` decides whether it is overdue.
pub fn get(conn: &mut AnyConnection, auth: &Auth, id: ComplaintId, now: DateTime<Utc>) -> Result<Complaint> {
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
    let escalated: Vec<Step> = events
        .iter()
        .filter(|(_, kind, ..)| kind == "escalated")
        .filter_map(|(.., note)| note.as_deref().and_then(|note| Step::parse(note).ok()))
        .collect();
    Ok(Complaint {
        summary: row.summary(&escalated, now),
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
    })
}

/// Every complaint of one client with its timeline, oldest first (their data export). The
/// caller has checked the client is visible.
pub fn for_client(
    conn: &mut AnyConnection,
    auth: &Auth,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<Vec<Complaint>> {
    let ids: Vec<String> = complaints::table
        .filter(complaints::tenant_id.eq(auth.tenant.key()))
        .filter(complaints::client_id.eq(client.to_string()))
        .order(complaints::id.asc())
        .select(complaints::id)
        .load(conn)?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        match get(conn, auth, ComplaintId::from_db(&id)?, now) {
            Ok(complaint) => found.push(complaint),
            // Another store's, for a store role (exports are HQ's; kept for safety).
            Err(Error::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(found)
}

/// What `GET /api/v1/complaints` filters on; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    pub store_id: Option<StoreId>,
    pub status: Option<ComplaintStatus>,
    /// 1 store manager, 2 HQ manager, 3 owner.
    pub level: Option<i32>,
    /// `true`: only overdue complaints; `false`: only those that are not.
    pub overdue: Option<bool>,
    /// Only those this staff member owns.
    pub assignee_id: Option<StaffId>,
}

/// Complaints, newest first (keyset on the id, a UUIDv7), within the caller's reach: HQ and
/// owners see every store's, store roles their own store's only.
pub fn list(
    conn: &mut AnyConnection,
    auth: &Auth,
    filter: &ComplaintFilter,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<ComplaintSummary>> {
    let tenant = auth.tenant.key();
    let mut query = complaints::table
        .filter(complaints::tenant_id.eq(tenant.clone()))
        .select(Row::as_select())
        .order(complaints::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(complaints::id.lt(after.clone()));
    }
    if !auth.actor.is_hq() {
        let store = auth.actor.store_id.map(|store| store.to_string()).unwrap_or_default();
        query = query.filter(complaints::store_id.eq(store));
    }
    if let Some(store) = filter.store_id {
        query = query.filter(complaints::store_id.eq(store.to_string()));
    }
    if let Some(status) = filter.status {
        query = query.filter(complaints::status.eq(status.as_str()));
    }
    if let Some(level) = filter.level {
        query = query.filter(complaints::level.eq(level));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(complaints::assignee_id.eq(assignee.to_string()));
    }
    if let Some(wanted) = filter.overdue {
        // The ids of the tenant's complaints escalated for missing `step` (escalations are few).
        let escalated = |step: Step| {
            complaint_events::table
                .filter(complaint_events::tenant_id.eq(tenant.clone()))
                .filter(complaint_events::kind.eq("escalated"))
                .filter(complaint_events::note.eq(step.as_str()))
                .select(complaint_events::complaint_id)
        };
        let now = to_db_time(now);
        // `Row::overdue` in SQL. Each part is true or false, never NULL (the follow-up's
        // deadline is tested for NULL first), so its negation is exact too.
        let overdue = complaints::closed_at.is_null().and(
            complaints::callback_at
                .is_null()
                .and(
                    complaints::callback_due_at
                        .le(now)
                        .or(complaints::id.eq_any(escalated(Step::Callback))),
                )
                .or(complaints::solution_at.is_null().and(
                    complaints::solution_due_at
                        .le(now)
                        .or(complaints::id.eq_any(escalated(Step::Solution))),
                ))
                .or(complaints::follow_up_at
                    .is_null()
                    .and(complaints::follow_up_due_at.is_not_null())
                    .and(
                        complaints::follow_up_due_at
                            .le(now)
                            .or(complaints::id.eq_any(escalated(Step::FollowUp))),
                    )),
        );
        query = if wanted {
            query.filter(overdue)
        } else {
            query.filter(diesel::dsl::not(overdue))
        };
    }
    let rows: Vec<Row> = query.load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let escalated = escalated_by_complaint(conn, &auth.tenant, &ids)?;
    let items = rows
        .into_iter()
        .map(|row| {
            let steps = escalated.get(&row.id).map(Vec::as_slice).unwrap_or_default();
            row.summary(steps, now)
        })
        .collect();
    Ok(Page::from_rows(items, page, |complaint| complaint.id.clone()))
}

/// The steps each of `ids` was escalated for (read in chunks, to stay within bind limits).
pub(crate) fn escalated_by_complaint(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    ids: &[&str],
) -> Result<HashMap<String, Vec<Step>>> {
    let mut escalated: HashMap<String, Vec<Step>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, Option<String>)> = complaint_events::table
            .filter(complaint_events::tenant_id.eq(tenant.key()))
            .filter(complaint_events::kind.eq("escalated"))
            .filter(complaint_events::complaint_id.eq_any(chunk))
            .select((complaint_events::complaint_id, complaint_events::note))
            .load(conn)?;
        for (id, note) in rows {
            if let Some(step) = note.as_deref().and_then(|note| Step::parse(note).ok()) {
                escalated.entry(id).or_default().push(step);
            }
        }
    }
    Ok(escalated)
}

/// Open complaints by level, across all tenants (the worker's `salon_complaints_open` gauge:
/// complaints piling up at the owner's level is what an operator wants paged on).
pub fn open_by_level(conn: &mut AnyConnection) -> Result<Vec<(i32, i64)>> {
    Ok(complaints::table
        .filter(complaints::closed_at.is_null())
        .group_by(complaints::level)
        .select((complaints::level, diesel::dsl::count_star()))
        .load(conn)?)
}
