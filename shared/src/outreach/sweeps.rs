//! The four automations, each a pass at an instant that turns what is due into outbox rows.
//! Each reads only rows that are due (indexed due times, or the few birthdays around today),
//! works in short transactions of `batch` rows, and is idempotent: the unique occasion of every
//! message makes a rerun, a crashed pass or a second worker harmless.

use super::care_state::{self, CareRow};
use super::decide::{self, ClientOccasion, FactsCache, SweepContext, Written};
use super::settings::CareSettings;
use super::{rules, MessageKind};
use crate::db::schema::{client_care, clients, stores, surveys, tenant_settings, tenants, visits};
use crate::db::{to_db_time, write_transaction, AnyConnection};
use crate::domain::SurveyId;
use crate::Result;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

/// What a sweep matched and the messages it wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepStats {
    pub matched: usize,
    pub created: Vec<Written>,
    /// The escalation sweep: each missed complaint deadline, as (step, level escalated to).
    pub missed_deadlines: Vec<(&'static str, i32)>,
}

impl SweepStats {
    fn absorb(&mut self, other: SweepStats) {
        self.matched += other.matched;
        self.created.extend(other.created);
        self.missed_deadlines.extend(other.missed_deadlines);
    }
}

/// 生日关怀: clients whose birthday it is in their home store's zone and whose greeting time
/// has come, once per year.
pub fn birthdays(conn: &mut AnyConnection, context: &SweepContext, now: DateTime<Utc>) -> Result<SweepStats> {
    let candidates = due_birthdays(conn, now)?;
    if candidates.is_empty() {
        return Ok(SweepStats::default());
    }
    let mut months: Vec<i32> = candidates.iter().map(|(m, _)| *m as i32).collect();
    let mut days: Vec<i32> = candidates.iter().map(|(_, d)| *d as i32).collect();
    months.sort_unstable();
    months.dedup();
    days.sort_unstable();
    days.dedup();
    // Clients already greeted for the latest year any zone can be in are left out here rather
    // than loaded and skipped: after the greeting time, a sweep reads only who is left to greet.
    let latest_year = (now.date_naive() + Duration::days(1)).year();
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, Option<i32>, Option<i32>, Option<String>, Option<i32>)> = clients::table
        .left_join(
            client_care::table.on(client_care::tenant_id
                .eq(clients::tenant_id)
                .and(client_care::client_id.eq(clients::id))),
        )
        .filter(clients::birthday_month.eq_any(months))
        .filter(clients::birthday_day.eq_any(days))
        .filter(clients::deleted_at.is_null())
        .filter(clients::erased_at.is_null())
        .filter(
            client_care::birthday_year
                .is_null()
                .or(client_care::birthday_year.lt(latest_year)),
        )
        .select((
            clients::tenant_id,
            clients::id,
            clients::birthday_month,
            clients::birthday_day,
            clients::home_store_id,
            client_care::birthday_year.nullable(),
        ))
        // The order the greetings lock their clients in, the same for every worker.
        .order((clients::tenant_id, clients::id))
        .load(conn)?;
    let mut cache = FactsCache::default();
    let mut stats = SweepStats::default();
    let mut due = Vec::new();
    for (tenant_id, client_id, month, day, home_store, greeted) in rows {
        let (Some(month), Some(day)) = (month, day) else {
            continue;
        };
        if !candidates.contains(&(month as u32, day as u32)) {
            continue;
        }
        let facts = cache.tenant(conn, &tenant_id)?;
        if !facts.settings.birthday_enabled {
            continue;
        }
        let store = cache.store(conn, &facts, home_store.as_deref())?;
        let at = facts.settings.birthday_time();
        let Some(year) = rules::birthday_due(store.zone, month as u32, day as u32, at, now) else {
            continue;
        };
        if greeted.is_some_and(|greeted| greeted >= year) {
            continue;
        }
        stats.matched += 1;
        let due_at = rules::local_instant(store.zone, now.with_timezone(&store.zone).date_naive(), at);
        due.push((client_id, facts, store, year, due_at));
    }
    // `batch` greetings per transaction, like the other sweeps: one commit (a WAL flush) per
    // greeting was most of the cost of a busy morning.
    for chunk in due.chunks(context.batch.max(1) as usize) {
        let written = write_transaction(conn, |conn| {
            let mut written = Vec::new();
            for (client_id, facts, store, year, due_at) in chunk {
                let care = care_state::lock(conn, &facts.tenant, client_id)?;
                if care.birthday_year.is_some_and(|greeted| greeted >= *year) {
                    continue; // another worker greeted them meanwhile
                }
                let client = decide::client(conn, &facts.tenant, client_id)?;
                let locale = client.locale.clone().unwrap_or_else(|| facts.locale.clone());
                let result = decide::client_message(
                    conn,
                    context,
                    facts,
                    ClientOccasion {
                        kind: MessageKind::Birthday,
                        occasion: format!("birthday:{client_id}:{year}"),
                        client: &client,
                        store,
                        visit_id: None,
                        date: None,
                        offer: Some(facts.settings.birthday_offer.for_locale(&locale).to_owned()),
                        due_at: *due_at,
                    },
                    now,
                )?;
                diesel::update(client_care::table)
                    .filter(client_care::tenant_id.eq(facts.tenant.key()))
                    .filter(client_care::client_id.eq(client_id))
                    .set(client_care::birthday_year.eq(Some(*year)))
                    .execute(conn)?;
                written.extend(result);
            }
            Ok(written)
        })?;
        stats.created.extend(written);
    }
    Ok(stats)
}

/// The (month, day) pairs whose greeting can be due at `now` for some client: their day in one
/// of the stores' or tenants' zones, from one of the tenants' greeting times on. A few small
/// reads (zones and settings, not clients), so that a sweep before the greeting time reads no
/// client at all, and one after it only the clients whose birthday it is (not three days' worth).
fn due_birthdays(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<Vec<(u32, u32)>> {
    let mut zones: Vec<String> = stores::table.select(stores::timezone).distinct().load(conn)?;
    zones.extend(
        tenants::table
            .select(tenants::timezone)
            .distinct()
            .load::<String>(conn)?,
    );
    zones.sort_unstable();
    zones.dedup();
    // As `FactsCache` reads them: a zone that does not parse is UTC.
    let zones: Vec<Tz> = zones
        .iter()
        .map(|name| name.parse().unwrap_or(chrono_tz::UTC))
        .collect();
    let mut times = vec![CareSettings::default().birthday_time()];
    for json in tenant_settings::table
        .select(tenant_settings::settings)
        .load::<String>(conn)?
    {
        let Ok(settings) = serde_json::from_str::<CareSettings>(&json) else {
            // Every candidate, as before: the sweep reports the unreadable settings when it
            // reaches that tenant's clients.
            return Ok(rules::birthday_candidates(now));
        };
        times.push(settings.birthday_time());
    }
    times.sort_unstable();
    times.dedup();
    Ok(rules::birthdays_due_somewhere(&zones, &times, now))
}

/// 满意度调研: a survey for each completed visit whose survey time has come.
pub fn surveys(conn: &mut AnyConnection, context: &SweepContext, now: DateTime<Utc>) -> Result<SweepStats> {
    let mut cache = FactsCache::default();
    let mut stats = SweepStats::default();
    loop {
        let batch = write_transaction(conn, |conn| {
            macro_rules! due {
                () => {
                    visits::table
                        .filter(visits::survey_due_at.le(to_db_time(now)))
                        .order(visits::survey_due_at.asc())
                        .limit(context.batch)
                        .select((
                            visits::tenant_id,
                            visits::id,
                            visits::client_id,
                            visits::store_id,
                            visits::completed_at,
                            visits::status,
                            visits::survey_due_at,
                        ))
                };
            }
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                String,
                String,
                String,
                String,
                NaiveDateTime,
                String,
                Option<NaiveDateTime>,
            )> = match conn {
                AnyConnection::Postgresql(pg) => due!().for_update().skip_locked().load(pg)?,
                AnyConnection::Sqlite(sqlite) => due!().load(sqlite)?,
            };
            let mut stats = SweepStats {
                matched: rows.len(),
                ..SweepStats::default()
            };
            for (tenant_id, visit_id, client_id, store_id, completed_at, status, due) in &rows {
                let facts = cache.tenant(conn, tenant_id)?;
                diesel::update(visits::table)
                    .filter(visits::tenant_id.eq(tenant_id))
                    .filter(visits::id.eq(visit_id))
                    .set(visits::survey_due_at.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
                if status != "completed" || !facts.settings.survey_enabled {
                    continue;
                }
                let client = decide::client(conn, &facts.tenant, client_id)?;
                let store = cache.store(conn, &facts, Some(store_id))?;
                let locale = client.locale.clone().unwrap_or_else(|| facts.locale.clone());
                let survey_id = SurveyId::new().to_string();
                let expires = now + Duration::days(i64::from(facts.settings.survey_valid_days));
                let inserted = insert_survey(
                    conn,
                    &facts.tenant.key(),
                    &survey_id,
                    visit_id,
                    client_id,
                    store_id,
                    &locale,
                    now,
                    expires,
                )?;
                if !inserted {
                    continue;
                }
                let local_date = completed_at.and_utc().with_timezone(&store.zone).date_naive();
                let date = if locale.starts_with("zh") {
                    local_date.format("%-m月%-d日").to_string()
                } else {
                    local_date.format("%b %-d").to_string()
                };
                let result = decide::client_message(
                    conn,
                    context,
                    &facts,
                    ClientOccasion {
                        kind: MessageKind::Survey,
                        occasion: format!("survey:{visit_id}"),
                        client: &client,
                        store: &store,
                        visit_id: Some(visit_id.clone()),
                        date: Some(date),
                        offer: None,
                        due_at: due.map_or(now, |due| due.and_utc()),
                    },
                    now,
                )?;
                stats.created.extend(result);
            }
            Ok(stats)
        })?;
        let done = batch.matched < context.batch as usize;
        stats.absorb(batch);
        if done {
            return Ok(stats);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_survey(
    conn: &mut AnyConnection,
    tenant_id: &str,
    id: &str,
    visit_id: &str,
    client_id: &str,
    store_id: &str,
    locale: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<bool> {
    let values = (
        surveys::tenant_id.eq(tenant_id),
        surveys::id.eq(id),
        surveys::visit_id.eq(visit_id),
        surveys::client_id.eq(client_id),
        surveys::store_id.eq(store_id),
        surveys::locale.eq(locale),
        surveys::created_at.eq(to_db_time(now)),
        surveys::expires_at.eq(to_db_time(expires)),
    );
    let inserted = match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(surveys::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(pg)?,
        AnyConnection::Sqlite(sqlite) => diesel::insert_into(surveys::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// 唤醒关怀: clients whose dormancy check is due. A client's first look after a visit only
/// works out when they will be dormant; then up to `wake_ups_per_spell` wake-ups, spaced.
pub fn wake_ups(conn: &mut AnyConnection, context: &SweepContext, now: DateTime<Utc>) -> Result<SweepStats> {
    let mut cache = FactsCache::default();
    let mut stats = SweepStats::default();
    loop {
        let batch = write_transaction(conn, |conn| {
            macro_rules! due {
                () => {
                    client_care::table
                        .filter(client_care::wake_up_due_at.le(to_db_time(now)))
                        .order(client_care::wake_up_due_at.asc())
                        .limit(context.batch)
                        .select((client_care::tenant_id, client_care::client_id))
                };
            }
            let rows: Vec<(String, String)> = match conn {
                AnyConnection::Postgresql(pg) => due!().for_update().skip_locked().load(pg)?,
                AnyConnection::Sqlite(sqlite) => due!().load(sqlite)?,
            };
            let mut stats = SweepStats {
                matched: rows.len(),
                ..SweepStats::default()
            };
            for (tenant_id, client_id) in &rows {
                stats
                    .created
                    .extend(wake_up_one(conn, context, &mut cache, tenant_id, client_id, now)?);
            }
            Ok(stats)
        })?;
        let done = batch.matched < context.batch as usize;
        stats.absorb(batch);
        if done {
            return Ok(stats);
        }
    }
}

fn wake_up_one(
    conn: &mut AnyConnection,
    context: &SweepContext,
    cache: &mut FactsCache,
    tenant_id: &str,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Written>> {
    let facts = cache.tenant(conn, tenant_id)?;
    let settings = facts.settings.clone();
    let care: CareRow = care_state::lock(conn, &facts.tenant, client_id)?;
    let client = decide::client(conn, &facts.tenant, client_id)?;
    let set = |conn: &mut AnyConnection, due: Option<DateTime<Utc>>, spell: Option<NaiveDateTime>, count: i32| {
        diesel::update(client_care::table)
            .filter(client_care::tenant_id.eq(tenant_id))
            .filter(client_care::client_id.eq(client_id))
            .set((
                client_care::wake_up_due_at.eq(due.map(to_db_time)),
                client_care::spell_visit_at.eq(spell),
                client_care::wake_ups_in_spell.eq(count),
            ))
            .execute(conn)
    };
    let Some(last_visit) = client
        .last_visit_at
        .filter(|_| client.erased_at.is_none() && client.deleted_at.is_none())
    else {
        set(conn, None, care.spell_visit_at, care.wake_ups_in_spell)?;
        return Ok(None);
    };
    if !settings.wake_up_enabled {
        set(conn, None, care.spell_visit_at, care.wake_ups_in_spell)?;
        return Ok(None);
    }
    // A visit since the spell began ends it: a new one starts from the latest visit.
    let sent_in_spell = if care.spell_visit_at == Some(last_visit) {
        care.wake_ups_in_spell
    } else {
        0
    };
    if sent_in_spell >= settings.wake_ups_per_spell as i32 {
        set(conn, None, Some(last_visit), sent_in_spell)?;
        return Ok(None);
    }
    if sent_in_spell == 0 {
        let history: Vec<NaiveDateTime> = if settings.personal_rhythm {
            visits::table
                .filter(visits::tenant_id.eq(tenant_id))
                .filter(visits::client_id.eq(client_id))
                .filter(visits::status.eq("completed"))
                .select(visits::completed_at)
                .load(conn)?
        } else {
            Vec::new()
        };
        let history: Vec<DateTime<Utc>> = history.into_iter().map(|at| at.and_utc()).collect();
        let threshold = rules::dormant_after(
            settings.dormant_days,
            settings.personal_rhythm,
            settings.rhythm_min_visits,
            &history,
        );
        let dormant_at = last_visit.and_utc() + threshold;
        if now < dormant_at {
            set(conn, Some(dormant_at), Some(last_visit), 0)?;
            return Ok(None);
        }
    }
    let number = sent_in_spell + 1;
    let store = cache.store(conn, &facts, client.home_store_id.as_deref())?;
    let locale = client.locale.clone().unwrap_or_else(|| facts.locale.clone());
    let spell = last_visit.and_utc().format("%Y%m%dT%H%M%SZ");
    let result = decide::client_message(
        conn,
        context,
        &facts,
        ClientOccasion {
            kind: MessageKind::WakeUp,
            occasion: format!("wake_up:{client_id}:{spell}:{number}"),
            client: &client,
            store: &store,
            visit_id: None,
            date: None,
            offer: Some(settings.wake_up_offer.for_locale(&locale).to_owned()),
            due_at: care.wake_up_due_at.map_or(now, |due| due.and_utc()),
        },
        now,
    )?;
    let next = (number < settings.wake_ups_per_spell as i32)
        .then(|| now + Duration::days(i64::from(settings.wake_up_spacing_days)));
    set(conn, next, Some(last_visit), number)?;
    Ok(result)
}

/// 三级响应: complaints whose next step deadline passed unmet escalate one level.
pub fn escalations(conn: &mut AnyConnection, context: &SweepContext, now: DateTime<Utc>) -> Result<SweepStats> {
    let mut cache = FactsCache::default();
    let mut stats = SweepStats::default();
    loop {
        let batch = write_transaction(conn, |conn| {
            let due = crate::complaints::due(conn, now, context.batch)?;
            let mut stats = SweepStats {
                matched: due.len(),
                ..SweepStats::default()
            };
            for (tenant_id, id) in &due {
                let escalated = crate::complaints::escalate_due(conn, &mut cache, tenant_id, id, now)?;
                stats.created.extend(escalated.written);
                stats.missed_deadlines.extend(escalated.missed);
            }
            Ok(stats)
        })?;
        let done = batch.matched < context.batch as usize;
        stats.absorb(batch);
        if done {
            return Ok(stats);
        }
    }
}
