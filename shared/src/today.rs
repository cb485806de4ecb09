//! Today (今日): what a store's front desk and manager, or HQ, need at a glance when the day
//! starts: visits so far and their revenue, open complaints by their next deadline, low scores
//! answered today, birthdays today, failed messages, and clients due for a wake-up this week.
//!
//! Every figure is scoped like the rest of the archive: a store role sees its own store, HQ
//! roles the whole chain or one store they pick. "Today" is the store's local day (the chain's
//! zone for "all stores").

use crate::complaints::{self, ComplaintFilter, ComplaintStatus, ComplaintSummary};
use crate::db::schema::{client_care, clients, messages, visits};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::{ClientId, StoreId};
use crate::error::Result;
use crate::pagination::PageRequest;
use crate::reports::{self, SurveyFilter, SurveyState, SurveyView};
use crate::tenancy::Auth;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

/// An answer at or below this overall score (×100) counts as low (a complaint opens below 4.5).
pub const LOW_SCORE_X100: i32 = 449;
/// How many complaints, low scores and birthdays the screen lists (the counts are exact).
const LISTED: i64 = 20;

/// The first instant of `date` in `tz`, and of the day after: a local day as a UTC window.
/// A midnight that does not exist (a zone that springs forward at 00:00) starts the day at the
/// first instant after the gap.
pub fn day_window(tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |day: NaiveDate| -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        (0..=180)
            .step_by(15)
            .find_map(|minutes| {
                tz.from_local_datetime(&(midnight + Duration::minutes(minutes)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc(), |local| local.with_timezone(&Utc))
    };
    let next = date.succ_opt().unwrap_or(date);
    (start_of(date), start_of(next))
}

/// A client named on the Today screen.
#[derive(Debug, Clone, Serialize)]
pub struct ClientMention {
    pub id: ClientId,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Today {
    /// The local date shown, in the zone used.
    pub date: NaiveDate,
    pub visits: i64,
    /// Completed visits' totals today, in minor units of the tenant's currency.
    pub revenue_cents: i64,
    /// Open and in-progress complaints, the nearest deadline first.
    pub complaints: Vec<ComplaintSummary>,
    pub complaints_open: usize,
    /// Answers at or below [`LOW_SCORE_X100`] answered today, newest first.
    pub low_scores: Vec<SurveyView>,
    pub birthdays: Vec<ClientMention>,
    pub messages_failed: i64,
    /// Clients whose wake-up falls due within the next seven days.
    pub wake_ups_due: i64,
}

/// The figures for `store` (a store role: always its own, whatever is asked; HQ: the store
/// asked for, or the whole chain), on the local day of `tz` that holds `now`.
pub fn today(
    conn: &mut AnyConnection,
    auth: &Auth,
    store: Option<StoreId>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Today> {
    let store = if auth.actor.is_hq() { store } else { auth.actor.store_id };
    let store_key = store.map(|s| s.to_string());
    let tenant = auth.tenant.key();
    let date = now.with_timezone(&tz).date_naive();
    let (start, end) = day_window(tz, date);

    // A day's visits are few (a store serves dozens), so their totals are added up here: one
    // query on the (tenant, completed_at) index, and no NUMERIC sum to map on two backends.
    let mut visit_query = visits::table
        .filter(visits::tenant_id.eq(&tenant))
        .filter(visits::status.eq("completed"))
        .filter(visits::completed_at.ge(to_db_time(start)))
        .filter(visits::completed_at.lt(to_db_time(end)))
        .select(visits::total_cents)
        .into_boxed();
    if let Some(store) = &store_key {
        visit_query = visit_query.filter(visits::store_id.eq(store.clone()));
    }
    let totals: Vec<i64> = visit_query.load(conn)?;
    let visit_count = i64::try_from(totals.len()).unwrap_or(i64::MAX);
    let revenue_cents = totals.iter().sum();

    let mut open: Vec<ComplaintSummary> = Vec::new();
    for status in [ComplaintStatus::Open, ComplaintStatus::InProgress] {
        let filter = ComplaintFilter {
            store_id: store,
            status: Some(status),
            ..ComplaintFilter::default()
        };
        let page = PageRequest {
            limit: 200,
            after: None,
        };
        open.extend(complaints::list(conn, auth, &filter, &page, now)?.items);
    }
    open.sort_by_key(|c| (c.next_deadline_at.is_none(), c.next_deadline_at, c.opened_at));
    let complaints_open = open.len();
    open.truncate(LISTED as usize);

    let surveys = reports::list_surveys(
        conn,
        auth,
        &SurveyFilter {
            store_id: store,
            status: Some(SurveyState::Answered),
            max_overall_x100: Some(LOW_SCORE_X100),
            // Surveys go out a day after the visit and their links last 7 days.
            from: Some(start - Duration::days(10)),
            ..SurveyFilter::default()
        },
        &PageRequest {
            limit: 200,
            after: None,
        },
        now,
    )?;
    let mut low_scores: Vec<SurveyView> = surveys
        .items
        .into_iter()
        .filter(|s| s.answered_at.is_some_and(|at| at >= start && at < end))
        .collect();
    low_scores.truncate(LISTED as usize);

    let local = now.with_timezone(&tz);
    let (month, day) = (chrono::Datelike::month(&local), chrono::Datelike::day(&local));
    let mut birthday_query = clients::table
        .filter(clients::tenant_id.eq(&tenant))
        .filter(clients::deleted_at.is_null())
        .filter(clients::erased_at.is_null())
        .filter(clients::birthday_month.eq(month as i32))
        .filter(clients::birthday_day.eq(day as i32))
        .select((clients::id, clients::name, clients::phone))
        .order(clients::name.asc())
        .limit(LISTED)
        .into_boxed();
    if let Some(store) = &store_key {
        birthday_query = birthday_query.filter(clients::home_store_id.eq(store.clone()));
    }
    let birthdays = birthday_query
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, phone)| {
            Ok(ClientMention {
                id: ClientId::from_db(&id)?,
                name,
                phone,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let mut failed = messages::table
        .filter(messages::tenant_id.eq(&tenant))
        .filter(messages::status.eq("failed"))
        .select(count_star())
        .into_boxed();
    if let Some(store) = &store_key {
        failed = failed.filter(messages::store_id.eq(store.clone()));
    }
    let messages_failed: i64 = failed.first(conn)?;

    let mut due = client_care::table
        .inner_join(
            clients::table.on(clients::tenant_id
                .eq(client_care::tenant_id)
                .and(clients::id.eq(client_care::client_id))),
        )
        .filter(client_care::tenant_id.eq(&tenant))
        .filter(client_care::wake_up_due_at.is_not_null())
        .filter(client_care::wake_up_due_at.lt(to_db_time(now + Duration::days(7))))
        .filter(clients::deleted_at.is_null())
        .select(count_star())
        .into_boxed();
    if let Some(store) = &store_key {
        due = due.filter(clients::home_store_id.eq(store.clone()));
    }
    let wake_ups_due: i64 = due.first(conn)?;

    Ok(Today {
        date,
        visits: visit_count,
        revenue_cents,
        complaints: open,
        complaints_open,
        low_scores,
        birthdays,
        messages_failed,
        wake_ups_due,
    })
}

/// A new chain's first steps, each done or not: the console's first-run checklist.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FirstRun {
    pub stores: bool,
    /// Someone besides the owner who signed up.
    pub staff: bool,
    pub clients: bool,
    pub sms_provider: bool,
    /// The automation rules were saved at least once (reviewed).
    pub settings_saved: bool,
}

impl FirstRun {
    pub fn complete(&self) -> bool {
        self.stores && self.staff && self.clients && self.sms_provider && self.settings_saved
    }
}

pub fn first_run(conn: &mut AnyConnection, auth: &Auth) -> Result<FirstRun> {
    use crate::db::schema::{staff, stores};
    let tenant = auth.tenant.key();
    let store_count: i64 = stores::table
        .filter(stores::tenant_id.eq(&tenant))
        .filter(stores::deleted_at.is_null())
        .select(count_star())
        .first(conn)?;
    let staff_count: i64 = staff::table
        .filter(staff::tenant_id.eq(&tenant))
        .filter(staff::deleted_at.is_null())
        .select(count_star())
        .first(conn)?;
    let any_client: Option<String> = clients::table
        .filter(clients::tenant_id.eq(&tenant))
        .filter(clients::deleted_at.is_null())
        .select(clients::id)
        .first(conn)
        .optional()?;
    let settings = crate::outreach::settings::load(conn, &auth.tenant)?;
    Ok(FirstRun {
        stores: store_count > 0,
        staff: staff_count > 1,
        clients: any_client.is_some(),
        sms_provider: settings.settings.sms_provider.is_some(),
        settings_saved: settings.version > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_as_a_utc_window() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        let (start, end) = day_window(chrono_tz::Asia::Shanghai, date);
        assert_eq!(start.to_rfc3339(), "2026-03-13T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-03-14T16:00:00+00:00");
        // A 23-hour day (New York springs forward on 8 March 2026).
        let (start, end) = day_window(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        );
        assert_eq!(end - start, Duration::hours(23));
        // Midnight does not exist in Santiago on its spring-forward day (6 September 2026):
        // the day starts at 01:00.
        let (start, _) = day_window(
            chrono_tz::America::Santiago,
            NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(),
        );
        assert_eq!(
            start
                .with_timezone(&chrono_tz::America::Santiago)
                .format("%H:%M")
                .to_string(),
            "01:00"
        );
    }
}
