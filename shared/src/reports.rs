//! What HQ sees of client care: the care report (`GET /api/v1/reports/care`) and the survey
//! list (`GET /api/v1/surveys`).
//!
//! # The care report
//!
//! `from` and `to` are local dates, both included, at most 366 days apart. Each store is
//! reported on its own days: its window is `[from 00:00, to + 1 00:00)` in the store's zone,
//! turned into a UTC interval ([`Window::local_days`]; a midnight that does not exist moves to
//! the first instant after the gap), so every query compares stored UTC times with two bounds
//! and stays indexable. Messages to clients without a home store belong to the tenant as a
//! whole and are reported as `without_store`, on the tenant's zone. `total` adds up the raw
//! counts and sums of every part shown (rates and means are worked out from those sums, never
//! averaged from the parts'). Store roles see their own store's report only. Without a store
//! filter, a store closed before the range began is left out; asked for by id, it is reported.
//!
//! Figure by figure (each part, for its window `W`; `now` is when the report is made):
//! - **surveys.sent**: survey messages with status `sent` whose `sent_at` is in `W` — the
//!   cohort every other survey figure is about.
//! - **surveys.answered**: surveys of that cohort answered (at any time up to `now`);
//!   **response_rate_percent** = answered / sent × 100.
//! - **surveys.mean_scores.{service,technician,environment,result}**: the mean of each rating
//!   over the cohort's answers that rated it; **overall_mean**: the mean of the answers' overall
//!   score (itself the mean of the dimensions a client rated).
//! - **surveys.nps** = (promoters − detractors) / nps_responses × 100, over the cohort's answers
//!   that gave the 0–10 score: promoters 9–10, passives 7–8, detractors 0–6.
//! - **complaints.opened**: complaints whose `opened_at` is in `W`.
//! - **complaints.{callback,solution,follow_up}**: each step is judged once, at the moment its
//!   outcome is known: *on time* when it was recorded at or before its deadline (judged when
//!   recorded); *late* when its deadline passed unmet, or the worker escalated it as missed
//!   (judged at the deadline, or when it was recorded if that came first) — recorded later or
//!   not at all. A step counts in the window holding that moment, so each step counts in
//!   exactly one range. **sla_percent** = on_time / (on_time + late) × 100. **pending**: steps of
//!   the complaints opened in `W`, not recorded, not escalated, whose deadline is still ahead
//!   (not in the SLA yet). The follow-up has a deadline only once the solution is recorded.
//! - **complaints.escalations.level_2 / level_3**: escalation events (`complaint_events` of
//!   kind `escalated`) in `W`, by the level the complaint was raised to.
//! - **complaints.mean_minutes_to_callback**: over complaints opened in `W` whose callback is
//!   recorded, the mean of `callback_at − opened_at`.
//! - **complaints.resolution_satisfaction_mean**: over complaints followed up in `W` whose
//!   client gave a satisfaction (1–5).
//! - **outreach.wake_ups_sent**: wake-up messages with status `sent` whose `sent_at` is in `W`.
//! - **outreach.win_backs**: of those wake-ups, the ones followed by a completed (not voided)
//!   visit of the same client to the same store within `win_back_days` (tenant setting, 30):
//!   `sent_at < completed_at ≤ sent_at + win_back_days`; each wake-up counts at most once.
//!   Without a home store, a visit to any store counts. Wake-ups of the last `win_back_days`
//!   can still be won back after the report is made. **win_back_rate_percent** = win_backs /
//!   wake_ups_sent × 100.
//! - **outreach.birthday_greetings_sent**: birthday messages with status `sent`, `sent_at` in `W`.
//! - **outreach.suppressed**: client messages (birthday, survey, wake-up) with status
//!   `suppressed` decided (`created_at`) in `W`, by reason (a deferral for quiet hours is not a
//!   suppression).
//!
//! Percentages are rounded to one decimal, means and NPS to two and one; a figure over nothing
//! is `null`. Messages are found through the outbox index on `created_at`: a message counts as
//! sent in `W` only if it was decided at most [`SEND_LAG_DAYS`] days before `W` began.
//!
//! No Prometheus gauges are exported from here: the report's figures are per tenant and per
//! store (labels of unbounded cardinality on a shared platform), and a platform-wide gauge such
//! as "complaints overdue" would have to be computed on scrape by the web's `/metrics` handler
//! or per pass by the worker, neither of which this module owns.

use crate::complaints::{escalated_by_complaint, Step};
use crate::db::schema::{complaint_events, complaints, messages, stores, surveys, tenants, visits};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::StoreId;
use crate::error::{FieldError, FieldErrors};
use crate::outreach::rules::local_instant;
use crate::outreach::{MessageKind, MessageStatus, SuppressionReason};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::{Auth, Tenant};
use crate::{Error, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::dsl::{count, count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The longest range a report covers, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;

/// How long before its window a message sent in it may have been decided (quiet hours, retries
/// with backoff and a retry by staff all fit in this).
pub const SEND_LAG_DAYS: i64 = 30;

// ------------------------------------------------------------------------------------------
// The request and the windows
// ------------------------------------------------------------------------------------------

/// A checked `?from=&to=&store_id=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareReportRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub store_id: Option<StoreId>,
}

impl CareReportRequest {
    pub fn parse(from: &str, to: &str, store_id: Option<&str>) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let from = errors.check("from", parse_date(from));
        let to = errors.check("to", parse_date(to));
        let store_id = errors.check("store_id", store_id.map(StoreId::parse).transpose());
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                errors.push("to", "before_from", "`to` must not be before `from`");
            } else if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
                errors.push(
                    "to",
                    "range_too_long",
                    format!("a report covers at most {MAX_RANGE_DAYS} days"),
                );
            }
        }
        errors.finish(|| {
            Some(CareReportRequest {
                from: from?,
                to: to?,
                store_id: store_id?,
            })
        })
    }
}

fn parse_date(raw: &str) -> std::result::Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|date| (2000..=2999).contains(&chrono::Datelike::year(date)))
        .ok_or_else(|| FieldError::new("invalid_date", "must be a date, YYYY-MM-DD"))
}

/// A half-open UTC interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The local days `from..=to` in `zone`: from the first instant of `from` to the first
    /// instant of the day after `to` (23 or 25 hours on a day the clocks change).
    pub fn local_days(zone: Tz, from: NaiveDate, to: NaiveDate) -> Self {
        let after = to.succ_opt().unwrap_or(to);
        Window {
            start: local_instant(zone, from, NaiveTime::MIN),
            end: local_instant(zone, after, NaiveTime::MIN),
        }
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    fn start_db(&self) -> NaiveDateTime {
        to_db_time(self.start)
    }

    fn end_db(&self) -> NaiveDateTime {
        to_db_time(self.end)
    }
}

// ------------------------------------------------------------------------------------------
// The pure arithmetic
// ------------------------------------------------------------------------------------------

fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

/// `part / whole` as a percentage with one decimal; `None` over nothing.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 * 100.0 / whole as f64, 1))
}

/// `sum / count` with `places` decimals; `None` over nothing.
pub fn mean(sum: i64, count: i64, places: i32) -> Option<f64> {
    (count > 0).then(|| round(sum as f64 / count as f64, places))
}

/// Net Promoter Score: % promoters − % detractors, one decimal; `None` without answers.
pub fn net_promoter_score(promoters: i64, passives: i64, detractors: i64) -> Option<f64> {
    let answers = promoters + passives + detractors;
    (answers > 0).then(|| round((promoters - detractors) as f64 * 100.0 / answers as f64, 1))
}

crate::domain::choices::choice!(
    /// Where a 0–10 answer puts the client: 9–10 promoter, 7–8 passive, 0–6 detractor.
    NpsCategory { Promoter = "promoter", Passive = "passive", Detractor = "detractor" }
);

impl NpsCategory {
    pub fn of(score: i32) -> Option<Self> {
        match score {
            9..=10 => Some(NpsCategory::Promoter),
            7..=8 => Some(NpsCategory::Passive),
            0..=6 => Some(NpsCategory::Detractor),
            _ => None,
        }
    }
}

/// How a complaint step fared against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    OnTime,
    Late,
    /// Not recorded, and its deadline is still ahead.
    Pending,
}

/// Judges one step: its outcome and the moment that outcome became known (see the module
/// documentation). `None` when the step has no deadline yet.
pub fn judge_step(
    due: Option<DateTime<Utc>>,
    done: Option<DateTime<Utc>>,
    escalated: bool,
    now: DateTime<Utc>,
) -> Option<(StepOutcome, DateTime<Utc>)> {
    let due = due?;
    Some(match done {
        Some(done) if done <= due && !escalated => (StepOutcome::OnTime, done),
        Some(done) => (StepOutcome::Late, due.min(done)),
        None if escalated || due <= now => (StepOutcome::Late, due),
        None => (StepOutcome::Pending, due),
    })
}

/// Wake-ups (client, sent at) followed by a visit of that client (client, completed at) within
/// `within` after it; each wake-up counts once, however many visits follow.
pub fn count_win_backs(
    wake_ups: &[(String, DateTime<Utc>)],
    visits: &[(String, DateTime<Utc>)],
    within: Duration,
) -> i64 {
    let mut by_client: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    for (client, at) in visits {
        by_client.entry(client.as_str()).or_default().push(*at);
    }
    wake_ups
        .iter()
        .filter(|(client, sent)| {
            by_client
                .get(client.as_str())
                .is_some_and(|visits| visits.iter().any(|at| *sent < *at && *at <= *sent + within))
        })
        .count() as i64
}

/// One step's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct StepTally {
    on_time: i64,
    late: i64,
    pending: i64,
}

/// The raw counts and sums of one part of the report; parts add up into the total.
#[derive(Debug, Clone, Default, PartialEq)]
struct Tally {
    surveys_sent: i64,
    surveys_answered: i64,
    /// service, technician, environment, result
    score_sum: [i64; 4],
    score_count: [i64; 4],
    overall_x100_sum: i64,
    overall_count: i64,
    promoters: i64,
    passives: i64,
    detractors: i64,
    complaints_opened: i64,
    /// callback, solution, follow-up
    steps: [StepTally; 3],
    escalations_to_2: i64,
    escalations_to_3: i64,
    callback_seconds_sum: i64,
    callback_count: i64,
    satisfaction_sum: i64,
    satisfaction_count: i64,
    wake_ups_sent: i64,
    win_backs: i64,
    birthdays_sent: i64,
    suppressed: BTreeMap<String, i64>,
}

impl Tally {
    fn absorb(&mut self, other: &Tally) {
        self.surveys_sent += other.surveys_sent;
        self.surveys_answered += other.surveys_answered;
        for index in 0..4 {
            self.score_sum[index] += other.score_sum[index];
            self.score_count[index] += other.score_count[index];
        }
        self.overall_x100_sum += other.overall_x100_sum;
        self.overall_count += other.overall_count;
        self.promoters += other.promoters;
        self.passives += other.passives;
        self.detractors += other.detractors;
        self.complaints_opened += other.complaints_opened;
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.on_time += theirs.on_time;
            mine.late += theirs.late;
            mine.pending += theirs.pending;
        }
        self.escalations_to_2 += other.escalations_to_2;
        self.escalations_to_3 += other.escalations_to_3;
        self.callback_seconds_sum += other.callback_seconds_sum;
        self.callback_count += other.callback_count;
        self.satisfaction_sum += other.satisfaction_sum;
        self.satisfaction_count += other.satisfaction_count;
        self.wake_ups_sent += other.wake_ups_sent;
        self.win_backs += other.win_backs;
        self.birthdays_sent += other.birthdays_sent;
        for (reason, n) in &other.suppressed {
            *self.suppressed.entry(reason.clone()).or_default() += n;
        }
    }

    fn figures(&self) -> CareFigures {
        let step = |tally: StepTally| StepSla {
            on_time: tally.on_time,
            late: tally.late,
            sla_percent: percent(tally.on_time, tally.on_time + tally.late),
            pending: tally.pending,
        };
        let dimension = |index: usize| mean(self.score_sum[index], self.score_count[index], 2);
        let mut suppressed: BTreeMap<String, i64> = SuppressionReason::ALL
            .iter()
            .filter(|reason| **reason != SuppressionReason::QuietHours)
            .map(|reason| (reason.as_str().to_owned(), 0))
            .collect();
        for (reason, n) in &self.suppressed {
            *suppressed.entry(reason.clone()).or_default() += n;
        }
        CareFigures {
            surveys: SurveyFigures {
                sent: self.surveys_sent,
                answered: self.surveys_answered,
                response_rate_percent: percent(self.surveys_answered, self.surveys_sent),
                mean_scores: DimensionMeans {
                    service: dimension(0),
                    technician: dimension(1),
                    environment: dimension(2),
                    result: dimension(3),
                },
                overall_mean: mean(self.overall_x100_sum, self.overall_count * 100, 2),
                nps: net_promoter_score(self.promoters, self.passives, self.detractors),
                nps_responses: self.promoters + self.passives + self.detractors,
                promoters: self.promoters,
                passives: self.passives,
                detractors: self.detractors,
            },
            complaints: ComplaintFigures {
                opened: self.complaints_opened,
                callback: step(self.steps[0]),
                solution: step(self.steps[1]),
                follow_up: step(self.steps[2]),
                escalations: Escalations {
                    level_2: self.escalations_to_2,
                    level_3: self.escalations_to_3,
                },
                mean_minutes_to_callback: mean(self.callback_seconds_sum, self.callback_count * 60, 1),
                resolution_satisfaction_mean: mean(self.satisfaction_sum, self.satisfaction_count, 2),
                resolution_satisfaction_responses: self.satisfaction_count,
            },
            outreach: OutreachFigures {
                wake_ups_sent: self.wake_ups_sent,
                win_backs: self.win_backs,
                win_back_rate_percent: percent(self.win_backs, self.wake_ups_sent),
                birthday_greetings_sent: self.birthdays_sent,
                suppressed,
            },
        }
    }
}

// ------------------------------------------------------------------------------------------
// What the API shows
// ------------------------------------------------------------------------------------------

/// `GET /api/v1/reports/care`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CareReport {
    /// The first local day reported.
    pub from: NaiveDate,
    /// The last local day reported (included).
    pub to: NaiveDate,
    pub generated_at: DateTime<Utc>,
    /// One part per store (the requested one, or a store role's own).
    pub stores: Vec<StoreCare>,
    /// Messages to clients without a home store, on the tenant's zone (HQ, no store filter).
    pub without_store: Option<StoreCare>,
    /// Every part above added up.
    pub total: CareFigures,
}

/// One store's part (or, with no `store_id`, the tenant's clients without a home store).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoreCare {
    pub store_id: Option<String>,
    pub name: String,
    /// The IANA zone whose local days the window covers.
    pub timezone: String,
    /// The local days as UTC: `[window_start, window_end)`.
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: CareFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CareFigures {
    pub surveys: SurveyFigures,
    pub complaints: ComplaintFigures,
    pub outreach: OutreachFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SurveyFigures {
    /// Survey messages sent in the window (the cohort).
    pub sent: i64,
    /// Of those, answered (by now).
    pub answered: i64,
    pub response_rate_percent: Option<f64>,
    pub mean_scores: DimensionMeans,
    /// The mean of the answers' overall scores (1–5).
    pub overall_mean: Option<f64>,
    /// % promoters − % detractors, −100 to 100.
    pub nps: Option<f64>,
    pub nps_responses: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
}

/// The mean rating (1–5) of each dimension, over the answers that rated it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DimensionMeans {
    pub service: Option<f64>,
    pub technician: Option<f64>,
    pub environment: Option<f64>,
    pub result: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComplaintFigures {
    pub opened: i64,
    pub callback: StepSla,
    pub solution: StepSla,
    pub follow_up: StepSla,
    pub escalations: Escalations,
    pub mean_minutes_to_callback: Option<f64>,
    pub resolution_satisfaction_mean: Option<f64>,
    pub resolution_satisfaction_responses: i64,
}

/// One step against its deadline.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StepSla {
    pub on_time: i64,
    pub late: i64,
    /// on_time / (on_time + late) × 100.
    pub sla_percent: Option<f64>,
    /// Not recorded, deadline still ahead (complaints opened in the window).
    pub pending: i64,
}

/// Escalations in the window, by the level they raised the complaint to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Escalations {
    /// To the HQ manager.
    pub level_2: i64,
    /// To the owner.
    pub level_3: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutreachFigures {
    pub wake_ups_sent: i64,
    /// Wake-ups followed by a visit to the store within `win_back_days`.
    pub win_backs: i64,
    pub win_back_rate_percent: Option<f64>,
    pub birthday_greetings_sent: i64,
    /// Client messages suppressed, by reason.
    pub suppressed: BTreeMap<String, i64>,
}

// ------------------------------------------------------------------------------------------
// The queries
// ------------------------------------------------------------------------------------------

/// Whose messages a part counts.
#[derive(Debug, Clone)]
enum Scope {
    Store(String),
    WithoutStore,
}

/// The care report for `request`, as `auth` may see it, at `now`.
pub fn care_report(
    conn: &mut AnyConnection,
    auth: &Auth,
    request: &CareReportRequest,
    now: DateTime<Utc>,
) -> Result<CareReport> {
    let tenant = &auth.tenant;
    if let Some(store) = request.store_id {
        let known: i64 = stores::table
            .filter(stores::tenant_id.eq(tenant.key()))
            .filter(stores::id.eq(store.to_string()))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(Error::invalid("store_id", "unknown_store", "no such store"));
        }
    }
    let wanted = if auth.actor.is_hq() {
        request.store_id
    } else {
        let own = auth.actor.store_id.ok_or(Error::Forbidden("you work in no store"))?;
        if request.store_id.is_some_and(|store| store != own) {
            return Err(Error::Forbidden("store roles see their own store's report only"));
        }
        Some(own)
    };
    let win_back = Duration::days(i64::from(
        crate::outreach::settings::load(conn, tenant)?.settings.win_back_days,
    ));
    let mut query = stores::table
        .filter(stores::tenant_id.eq(tenant.key()))
        .select((stores::id, stores::name, stores::timezone, stores::deleted_at))
        .order(stores::id.asc())
        .into_boxed();
    if let Some(store) = wanted {
        query = query.filter(stores::id.eq(store.to_string()));
    }
    let rows: Vec<(String, String, String, Option<NaiveDateTime>)> = query.load(conn)?;
    let mut total = Tally::default();
    let mut parts = Vec::new();
    for (id, name, timezone, deleted_at) in rows {
        let window = Window::local_days(zone(&timezone), request.from, request.to);
        // A store closed before the range began has nothing to report (unless asked for).
        if wanted.is_none() && deleted_at.is_some_and(|at| at.and_utc() < window.start) {
            continue;
        }
        let tally = tally(conn, tenant, &Scope::Store(id.clone()), window, win_back, now)?;
        total.absorb(&tally);
        parts.push(StoreCare {
            store_id: Some(id),
            name,
            timezone,
            window_start: window.start,
            window_end: window.end,
            figures: tally.figures(),
        });
    }
    let without_store = if wanted.is_none() {
        let (name, timezone): (String, String) = tenants::table
            .filter(tenants::id.eq(tenant.key()))
            .select((tenants::name, tenants::timezone))
            .first(conn)?;
        let window = Window::local_days(zone(&timezone), request.from, request.to);
        let tally = tally(conn, tenant, &Scope::WithoutStore, window, win_back, now)?;
        total.absorb(&tally);
        Some(StoreCare {
            store_id: None,
            name,
            timezone,
            window_start: window.start,
            window_end: window.end,
            figures: tally.figures(),
        })
    } else {
        None
    };
    Ok(CareReport {
        from: request.from,
        to: request.to,
        generated_at: now,
        stores: parts,
        without_store,
        total: total.figures(),
    })
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

impl Scope {
    /// One filter shape for both scopes, `store_id = $1 OR (store_id IS NULL AND $2)`: the
    /// store to match (none for `WithoutStore`), and whether to match rows without a store.
    fn store_filter(&self) -> (String, bool) {
        match self {
            Scope::Store(store) => (store.clone(), false),
            Scope::WithoutStore => (String::new(), true),
        }
    }
}

/// The query of `$kind` messages sent in `$window` for `$scope`. The `created_at` bounds let the
/// outbox's `(tenant_id, created_at)` index narrow the rows read. A macro rather than a function
/// because the same unboxed query is also used as a subquery, which diesel's boxed queries on a
/// `MultiConnection` cannot be.
macro_rules! sent_messages {
    ($tenant:expr, $scope:expr, $kind:expr, $window:expr) => {{
        let (store, without_store) = $scope.store_filter();
        messages::table
            .filter(messages::tenant_id.eq($tenant.key()))
            .filter(messages::created_at.ge(to_db_time($window.start - Duration::days(SEND_LAG_DAYS))))
            .filter(messages::created_at.lt($window.end_db()))
            .filter(messages::kind.eq($kind.as_str()))
            .filter(messages::status.eq(MessageStatus::Sent.as_str()))
            .filter(messages::sent_at.ge($window.start_db()))
            .filter(messages::sent_at.lt($window.end_db()))
            .filter(
                messages::store_id
                    .eq(store)
                    .or(messages::store_id.is_null().and(without_store.into_sql::<Bool>())),
            )
    }};
}

fn tally(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    scope: &Scope,
    window: Window,
    win_back: Duration,
    now: DateTime<Utc>,
) -> Result<Tally> {
    let mut tally = Tally {
        surveys_sent: sent_messages!(tenant, scope, MessageKind::Survey, window)
            .count()
            .get_result(conn)?,
        birthdays_sent: sent_messages!(tenant, scope, MessageKind::Birthday, window)
            .count()
            .get_result(conn)?,
        ..Tally::default()
    };
    survey_answers(conn, tenant, scope, window, &mut tally)?;
    if let Scope::Store(store) = scope {
        complaint_figures(conn, tenant, store, window, now, &mut tally)?;
    }
    win_backs(conn, tenant, scope, window, win_back, &mut tally)?;
    let (store, without_store) = scope.store_filter();
    let suppressed: Vec<(Option<String>, i64)> = messages::table
        .filter(messages::tenant_id.eq(tenant.key()))
        .filter(messages::created_at.ge(window.start_db()))
        .filter(messages::created_at.lt(window.end_db()))
        .filter(messages::status.eq(MessageStatus::Suppressed.as_str()))
        .filter(messages::kind.eq_any([
            MessageKind::Birthday.as_str(),
            MessageKind::Survey.as_str(),
            MessageKind::WakeUp.as_str(),
        ]))
        .filter(
            messages::store_id
                .eq(store)
                .or(messages::store_id.is_null().and(without_store.into_sql::<Bool>())),
        )
        .group_by(messages::suppression_reason)
        .select((messages::suppression_reason, count_star()))
        .load(conn)?;
    for (reason, n) in suppressed {
        *tally
            .suppressed
            .entry(reason.unwrap_or_else(|| "unknown".into()))
            .or_default() += n;
    }
    Ok(tally)
}

fn survey_answers(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    scope: &Scope,
    window: Window,
    tally: &mut Tally,
) -> Result<()> {
    #[allow(clippy::type_complexity)]
    let sums: (
        i64,
        Option<i64>,
        i64,
        Option<i64>,
        i64,
        Option<i64>,
        i64,
        Option<i64>,
        i64,
        Option<i64>,
        i64,
    ) = surveys::table
        .filter(surveys::tenant_id.eq(tenant.key()))
        .filter(
            surveys::visit_id
                .nullable()
                .eq_any(sent_messages!(tenant, scope, MessageKind::Survey, window).select(messages::visit_id)),
        )
        .select((
            count(surveys::answered_at),
            sum(surveys::score_service),
            count(surveys::score_service),
            sum(surveys::score_technician),
            count(surveys::score_technician),
            sum(surveys::score_environment),
            count(surveys::score_environment),
            sum(surveys::score_result),
            count(surveys::score_result),
            sum(surveys::overall_x100),
            count(surveys::overall_x100),
        ))
        .get_result(conn)?;
    let (
        answered,
        service,
        n_service,
        technician,
        n_technician,
        environment,
        n_environment,
        result,
        n_result,
        overall,
        n_overall,
    ) = sums;
    tally.surveys_answered = answered;
    tally.score_sum = [
        service.unwrap_or(0),
        technician.unwrap_or(0),
        environment.unwrap_or(0),
        result.unwrap_or(0),
    ];
    tally.score_count = [n_service, n_technician, n_environment, n_result];
    tally.overall_x100_sum = overall.unwrap_or(0);
    tally.overall_count = n_overall;
    let nps: Vec<(Option<i32>, i64)> = surveys::table
        .filter(surveys::tenant_id.eq(tenant.key()))
        .filter(
            surveys::visit_id
                .nullable()
                .eq_any(sent_messages!(tenant, scope, MessageKind::Survey, window).select(messages::visit_id)),
        )
        .filter(surveys::nps.is_not_null())
        .group_by(surveys::nps)
        .select((surveys::nps, count_star()))
        .load(conn)?;
    for (score, n) in nps {
        match score.and_then(NpsCategory::of) {
            Some(NpsCategory::Promoter) => tally.promoters += n,
            Some(NpsCategory::Passive) => tally.passives += n,
            Some(NpsCategory::Detractor) => tally.detractors += n,
            None => {}
        }
    }
    Ok(())
}

#[derive(Queryable)]
struct ComplaintTimes {
    id: String,
    opened_at: NaiveDateTime,
    callback_due_at: NaiveDateTime,
    callback_at: Option<NaiveDateTime>,
    solution_due_at: NaiveDateTime,
    solution_at: Option<NaiveDateTime>,
    follow_up_due_at: Option<NaiveDateTime>,
    follow_up_at: Option<NaiveDateTime>,
    resolution_satisfaction: Option<i32>,
}

fn complaint_figures(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    store: &str,
    window: Window,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    let (start, end) = (window.start_db(), window.end_db());
    // Every complaint with an instant in the window: opened, a deadline, a step recorded
    // (complaints are few; the store's complaints opened before the window's end are read).
    let rows: Vec<ComplaintTimes> = complaints::table
        .filter(complaints::tenant_id.eq(tenant.key()))
        .filter(complaints::store_id.eq(store))
        .filter(complaints::opened_at.lt(end))
        .filter(
            complaints::opened_at
                .ge(start)
                .or(complaints::callback_due_at
                    .ge(start)
                    .and(complaints::callback_due_at.lt(end)))
                .or(complaints::solution_due_at
                    .ge(start)
                    .and(complaints::solution_due_at.lt(end)))
                .or(complaints::callback_at.ge(start).and(complaints::callback_at.lt(end)))
                .or(complaints::solution_at.ge(start).and(complaints::solution_at.lt(end)))
                .or(complaints::follow_up_due_at
                    .ge(start)
                    .and(complaints::follow_up_due_at.lt(end)))
                .or(complaints::follow_up_at.ge(start).and(complaints::follow_up_at.lt(end))),
        )
        .select((
            complaints::id,
            complaints::opened_at,
            complaints::callback_due_at,
            complaints::callback_at,
            complaints::solution_due_at,
            complaints::solution_at,
            complaints::follow_up_due_at,
            complaints::follow_up_at,
            complaints::resolution_satisfaction,
        ))
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let escalated = escalated_by_complaint(conn, tenant, &ids)?;
    let utc = |at: NaiveDateTime| at.and_utc();
    for row in &rows {
        let opened_in = window.contains(utc(row.opened_at));
        if opened_in {
            tally.complaints_opened += 1;
            if let Some(callback) = row.callback_at {
                tally.callback_seconds_sum += (utc(callback) - utc(row.opened_at)).num_seconds();
                tally.callback_count += 1;
            }
        }
        let missed = escalated.get(&row.id).map(Vec::as_slice).unwrap_or_default();
        let steps = [
            (Step::Callback, Some(row.callback_due_at), row.callback_at),
            (Step::Solution, Some(row.solution_due_at), row.solution_at),
            (Step::FollowUp, row.follow_up_due_at, row.follow_up_at),
        ];
        for (index, (step, due, done)) in steps.into_iter().enumerate() {
            let judged = judge_step(due.map(utc), done.map(utc), missed.contains(&step), now);
            let counts = &mut tally.steps[index];
            match judged {
                Some((StepOutcome::OnTime, at)) if window.contains(at) => counts.on_time += 1,
                Some((StepOutcome::Late, at)) if window.contains(at) => counts.late += 1,
                Some((StepOutcome::Pending, _)) if opened_in => counts.pending += 1,
                _ => {}
            }
        }
        if let (Some(followed_up), Some(satisfaction)) = (row.follow_up_at, row.resolution_satisfaction) {
            if window.contains(utc(followed_up)) {
                tally.satisfaction_sum += i64::from(satisfaction);
                tally.satisfaction_count += 1;
            }
        }
    }
    let levels: Vec<(i32, i64)> = complaint_events::table
        .filter(complaint_events::tenant_id.eq(tenant.key()))
        .filter(complaint_events::kind.eq("escalated"))
        .filter(complaint_events::at.ge(start))
        .filter(complaint_events::at.lt(end))
        .filter(
            complaint_events::complaint_id.eq_any(
                complaints::table
                    .filter(complaints::tenant_id.eq(tenant.key()))
                    .filter(complaints::store_id.eq(store.to_owned()))
                    .filter(complaints::opened_at.lt(end))
                    .select(complaints::id),
            ),
        )
        .group_by(complaint_events::level)
        .select((complaint_events::level, count_star()))
        .load(conn)?;
    for (level, n) in levels {
        match level {
            2 => tally.escalations_to_2 += n,
            3 => tally.escalations_to_3 += n,
            _ => {}
        }
    }
    Ok(())
}

fn win_backs(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    scope: &Scope,
    window: Window,
    within: Duration,
    tally: &mut Tally,
) -> Result<()> {
    let wake_ups: Vec<(Option<String>, Option<NaiveDateTime>)> =
        sent_messages!(tenant, scope, MessageKind::WakeUp, window)
            .select((messages::client_id, messages::sent_at))
            .load(conn)?;
    let wake_ups: Vec<(String, DateTime<Utc>)> = wake_ups
        .into_iter()
        .filter_map(|(client, sent)| Some((client?, sent?.and_utc())))
        .collect();
    tally.wake_ups_sent = wake_ups.len() as i64;
    if wake_ups.is_empty() {
        return Ok(());
    }
    // Visits to the store (any store, for clients without one) by the clients woken, from the
    // window's start to `within` after its end.
    let (store, any_store) = scope.store_filter();
    let visits: Vec<(String, NaiveDateTime)> = visits::table
        .filter(visits::tenant_id.eq(tenant.key()))
        .filter(visits::status.eq("completed"))
        .filter(visits::completed_at.gt(window.start_db()))
        .filter(visits::completed_at.le(to_db_time(window.end + within)))
        .filter(visits::store_id.eq(store).or(any_store.into_sql::<Bool>()))
        .filter(
            visits::client_id
                .nullable()
                .eq_any(sent_messages!(tenant, scope, MessageKind::WakeUp, window).select(messages::client_id)),
        )
        .select((visits::client_id, visits::completed_at))
        .load(conn)?;
    let visits: Vec<(String, DateTime<Utc>)> = visits.into_iter().map(|(c, at)| (c, at.and_utc())).collect();
    tally.win_backs = count_win_backs(&wake_ups, &visits, within);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The survey list
// ------------------------------------------------------------------------------------------

crate::domain::choices::choice!(
    /// A survey's state: answered; pending (its link still works); expired (unanswered after
    /// its link's last day); cancelled (its visit was voided or the client erased).
    SurveyState { Answered = "answered", Pending = "pending", Expired = "expired", Cancelled = "cancelled" }
);

/// What `GET /api/v1/surveys` filters on; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct SurveyFilter {
    pub store_id: Option<StoreId>,
    pub status: Option<SurveyState>,
    /// Overall score bounds, both included, ×100 (answered surveys only).
    pub min_overall_x100: Option<i32>,
    pub max_overall_x100: Option<i32>,
    /// Made (sent) at or after.
    pub from: Option<DateTime<Utc>>,
    /// Made (sent) before.
    pub to: Option<DateTime<Utc>>,
}

/// An overall-score bound from the query (1–5, to the hundredth), ×100.
pub fn parse_overall(value: f64) -> std::result::Result<i32, FieldError> {
    if value.is_finite() && (1.0..=5.0).contains(&value) {
        Ok((value * 100.0).round() as i32)
    } else {
        Err(FieldError::new("out_of_range", "must be from 1 to 5"))
    }
}

/// The 1–5 ratings of one answer (absent: not rated, or not answered yet).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SurveyScores {
    pub service: Option<i32>,
    pub technician: Option<i32>,
    pub environment: Option<i32>,
    pub result: Option<i32>,
}

/// A survey as HQ sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SurveyView {
    pub id: String,
    pub visit_id: String,
    pub client_id: String,
    pub store_id: String,
    pub locale: String,
    pub status: SurveyState,
    /// When the survey was made (its message decided).
    pub created_at: DateTime<Utc>,
    /// The link's last moment.
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub scores: SurveyScores,
    /// The mean of the rated dimensions, to the hundredth.
    #[schema(example = 4.25)]
    pub overall: Option<f64>,
    /// Likelihood to recommend, 0–10.
    pub nps: Option<i32>,
    pub nps_category: Option<NpsCategory>,
    pub comment: Option<String>,
    /// The complaint the answer opened, if it did.
    pub complaint_id: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = surveys)]
struct SurveyRow {
    id: String,
    visit_id: String,
    client_id: String,
    store_id: String,
    locale: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    answered_at: Option<NaiveDateTime>,
    cancelled_at: Option<NaiveDateTime>,
    score_service: Option<i32>,
    score_technician: Option<i32>,
    score_environment: Option<i32>,
    score_result: Option<i32>,
    nps: Option<i32>,
    comment: Option<String>,
    overall_x100: Option<i32>,
    complaint_id: Option<String>,
}

impl SurveyRow {
    fn view(self, now: DateTime<Utc>) -> SurveyView {
        let expires_at = self.expires_at.and_utc();
        let status = if self.answered_at.is_some() {
            SurveyState::Answered
        } else if self.cancelled_at.is_some() {
            SurveyState::Cancelled
        } else if expires_at <= now {
            SurveyState::Expired
        } else {
            SurveyState::Pending
        };
        SurveyView {
            id: self.id,
            visit_id: self.visit_id,
            client_id: self.client_id,
            store_id: self.store_id,
            locale: self.locale,
            status,
            created_at: self.created_at.and_utc(),
            expires_at,
            answered_at: self.answered_at.map(|at| at.and_utc()),
            scores: SurveyScores {
                service: self.score_service,
                technician: self.score_technician,
                environment: self.score_environment,
                result: self.score_result,
            },
            overall: self.overall_x100.map(|x| f64::from(x) / 100.0),
            nps: self.nps,
            nps_category: self.nps.and_then(NpsCategory::of),
            comment: self.comment,
            complaint_id: self.complaint_id,
        }
    }
}

/// Surveys, newest first (keyset on the id, a UUIDv7), within the caller's reach: HQ and owners
/// see every store's, store roles their own store's only. `now` tells pending from expired.
pub fn list_surveys(
    conn: &mut AnyConnection,
    auth: &Auth,
    filter: &SurveyFilter,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<SurveyView>> {
    let mut query = surveys::table
        .filter(surveys::tenant_id.eq(auth.tenant.key()))
        .select(SurveyRow::as_select())
        .order(surveys::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(surveys::id.lt(after.clone()));
    }
    if !auth.actor.is_hq() {
        let store = auth.actor.store_id.map(|store| store.to_string()).unwrap_or_default();
        query = query.filter(surveys::store_id.eq(store));
    }
    if let Some(store) = filter.store_id {
        query = query.filter(surveys::store_id.eq(store.to_string()));
    }
    let now_db = to_db_time(now);
    query = match filter.status {
        None => query,
        Some(SurveyState::Answered) => query.filter(surveys::answered_at.is_not_null()),
        Some(SurveyState::Cancelled) => query
            .filter(surveys::answered_at.is_null())
            .filter(surveys::cancelled_at.is_not_null()),
        Some(SurveyState::Expired) => query
            .filter(surveys::answered_at.is_null())
            .filter(surveys::cancelled_at.is_null())
            .filter(surveys::expires_at.le(now_db)),
        Some(SurveyState::Pending) => query
            .filter(surveys::answered_at.is_null())
            .filter(surveys::cancelled_at.is_null())
            .filter(surveys::expires_at.gt(now_db)),
    };
    if let Some(min) = filter.min_overall_x100 {
        query = query.filter(surveys::overall_x100.ge(min));
    }
    if let Some(max) = filter.max_overall_x100 {
        query = query.filter(surveys::overall_x100.le(max));
    }
    if let Some(from) = filter.from {
        query = query.filter(surveys::created_at.ge(to_db_time(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(surveys::created_at.lt(to_db_time(to)));
    }
    let rows: Vec<SurveyRow> = query.load(conn)?;
    let items = rows.into_iter().map(|row| row.view(now)).collect();
    Ok(Page::from_rows(items, page, |survey: &SurveyView| survey.id.clone()))
}

/// Every survey of one client, oldest first (their data export). The caller has checked the
/// client is visible.
pub fn surveys_of_client(
    conn: &mut AnyConnection,
    tenant: &crate::tenancy::Tenant,
    client: crate::domain::ClientId,
    now: DateTime<Utc>,
) -> Result<Vec<SurveyView>> {
    let rows: Vec<SurveyRow> = surveys::table
        .filter(surveys::tenant_id.eq(tenant.key()))
        .filter(surveys::client_id.eq(client.to_string()))
        .order(surveys::id.asc())
        .select(SurveyRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|row| row.view(now)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn windows_are_local_days_in_each_zone() {
        let shanghai = Window::local_days(chrono_tz::Asia::Shanghai, date("2026-03-01"), date("2026-03-31"));
        assert_eq!(shanghai.start, at("2026-02-28T16:00:00Z"));
        assert_eq!(shanghai.end, at("2026-03-31T16:00:00Z"));
        // London: GMT until 29 March, BST after; the end is midnight BST.
        let london = Window::local_days(chrono_tz::Europe::London, date("2026-03-01"), date("2026-03-31"));
        assert_eq!(london.start, at("2026-03-01T00:00:00Z"));
        assert_eq!(london.end, at("2026-03-31T23:00:00Z"));
        // The spring-forward day has 23 hours, the fall-back day 25.
        let spring = Window::local_days(chrono_tz::Europe::London, date("2026-03-29"), date("2026-03-29"));
        assert_eq!(spring.end - spring.start, Duration::hours(23));
        let autumn = Window::local_days(chrono_tz::America::New_York, date("2026-11-01"), date("2026-11-01"));
        assert_eq!(autumn.start, at("2026-11-01T04:00:00Z"));
        assert_eq!(autumn.end - autumn.start, Duration::hours(25));
        // An instant belongs to the local day it happened on: 01:00 in Shanghai on 1 April is
        // still 31 March in UTC, and in London.
        assert!(!shanghai.contains(at("2026-03-31T17:00:00Z")));
        assert!(london.contains(at("2026-03-31T17:00:00Z")));
        assert!(shanghai.contains(at("2026-03-31T15:59:59Z")));
    }

    #[test]
    fn a_midnight_that_does_not_exist_starts_the_day_after_the_gap() {
        // Santiago springs forward at 24:00 on the first Saturday of September: 6 September 2026
        // begins at 01:00 local (-03), which is 04:00 UTC.
        let santiago = Window::local_days(chrono_tz::America::Santiago, date("2026-09-06"), date("2026-09-06"));
        assert_eq!(santiago.start, at("2026-09-06T04:00:00Z"));
        assert_eq!(santiago.end - santiago.start, Duration::hours(23));
        // Whatever the zone, consecutive days tile the year with neither gap nor overlap, and each
        // starts on its own date.
        for zone in [
            chrono_tz::America::Santiago,
            chrono_tz::Europe::London,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Shanghai,
            chrono_tz::Australia::Lord_Howe,
        ] {
            let mut day = date("2026-01-01");
            let mut previous_end = None;
            while day.year() == 2026 {
                let window = Window::local_days(zone, day, day);
                assert_eq!(window.start.with_timezone(&zone).date_naive(), day, "{zone} {day}");
                assert!(window.start.with_timezone(&zone).hour() <= 1, "{zone} {day}");
                if let Some(end) = previous_end {
                    assert_eq!(end, window.start, "{zone} {day}");
                }
                previous_end = Some(window.end);
                day = day.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn requests_are_checked() {
        let ok = CareReportRequest::parse("2026-01-01", "2026-12-31", None).unwrap();
        assert_eq!((ok.from, ok.to), (date("2026-01-01"), date("2026-12-31")));
        // 366 days, a leap year's whole: allowed; one more day is not.
        assert!(CareReportRequest::parse("2028-01-01", "2028-12-31", None).is_ok());
        let fields = |result: Result<CareReportRequest>| match result {
            Err(Error::Validation(errors)) => errors.0.iter().map(|e| (e.field.clone(), e.code)).collect::<Vec<_>>(),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(
            fields(CareReportRequest::parse("2026-01-01", "2027-01-02", None)),
            [("to".to_owned(), "range_too_long")]
        );
        assert_eq!(
            fields(CareReportRequest::parse("2026-02-01", "2026-01-31", None)),
            [("to".to_owned(), "before_from")]
        );
        assert_eq!(
            fields(CareReportRequest::parse("2026-13-01", "yesterday", Some("store"))),
            [
                ("from".to_owned(), "invalid_date"),
                ("to".to_owned(), "invalid_date"),
                ("store_id".to_owned(), "invalid_id")
            ]
        );
    }

    #[test]
    fn nps_and_rates() {
        assert_eq!(NpsCategory::of(10), Some(NpsCategory::Promoter));
        assert_eq!(NpsCategory::of(9), Some(NpsCategory::Promoter));
        assert_eq!(NpsCategory::of(8), Some(NpsCategory::Passive));
        assert_eq!(NpsCategory::of(7), Some(NpsCategory::Passive));
        assert_eq!(NpsCategory::of(6), Some(NpsCategory::Detractor));
        assert_eq!(NpsCategory::of(0), Some(NpsCategory::Detractor));
        assert_eq!(NpsCategory::of(11), None);
        // 5 promoters, 3 passives, 2 detractors: 50% − 20% = 30.
        assert_eq!(net_promoter_score(5, 3, 2), Some(30.0));
        assert_eq!(net_promoter_score(0, 0, 3), Some(-100.0));
        assert_eq!(net_promoter_score(1, 1, 1), Some(0.0));
        assert_eq!(net_promoter_score(2, 1, 0), Some(66.7));
        assert_eq!(net_promoter_score(0, 0, 0), None);
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(percent(0, 0), None);
        assert_eq!(mean(9, 2, 2), Some(4.5));
        assert_eq!(mean(0, 0, 2), None);
    }

    #[test]
    fn steps_are_judged_once_when_their_outcome_is_known() {
        let due = at("2026-03-01T10:00:00Z");
        let now = at("2026-03-10T00:00:00Z");
        let early = at("2026-03-01T09:30:00Z");
        let late = at("2026-03-01T12:00:00Z");
        // Recorded in time: on time, judged when recorded.
        assert_eq!(
            judge_step(Some(due), Some(early), false, now),
            Some((StepOutcome::OnTime, early))
        );
        assert_eq!(
            judge_step(Some(due), Some(due), false, now),
            Some((StepOutcome::OnTime, due))
        );
        // Recorded after the deadline: late, judged at the deadline.
        assert_eq!(
            judge_step(Some(due), Some(late), false, now),
            Some((StepOutcome::Late, due))
        );
        // Never recorded: late once the deadline has passed, pending before.
        assert_eq!(judge_step(Some(due), None, false, now), Some((StepOutcome::Late, due)));
        let before = at("2026-03-01T09:00:00Z");
        assert_eq!(
            judge_step(Some(due), None, false, before),
            Some((StepOutcome::Pending, due))
        );
        // The worker escalated it as missed: late, whatever the reader's clock says.
        assert_eq!(
            judge_step(Some(due), None, true, before),
            Some((StepOutcome::Late, due))
        );
        assert_eq!(
            judge_step(Some(due), Some(early), true, now),
            Some((StepOutcome::Late, early))
        );
        // No deadline yet (a follow-up before the solution): nothing to judge.
        assert_eq!(judge_step(None, None, false, now), None);
    }

    #[test]
    fn a_wake_up_is_won_back_once_by_a_visit_within_the_window() {
        let sent = at("2026-03-01T04:00:00Z");
        let within = Duration::days(30);
        let wake_ups = vec![
            ("a".to_owned(), sent),
            ("b".to_owned(), sent),
            ("c".to_owned(), sent),
            ("d".to_owned(), sent),
        ];
        let visits = vec![
            // a: two visits, counted once.
            ("a".to_owned(), sent + Duration::days(3)),
            ("a".to_owned(), sent + Duration::days(10)),
            // b: on the 30th day exactly, in; c: a day late, out.
            ("b".to_owned(), sent + within),
            ("c".to_owned(), sent + within + Duration::days(1)),
            // d: a visit before the wake-up does not win it back.
            ("d".to_owned(), sent - Duration::hours(1)),
            // e got no wake-up.
            ("e".to_owned(), sent + Duration::days(1)),
        ];
        assert_eq!(count_win_backs(&wake_ups, &visits, within), 2);
        assert_eq!(count_win_backs(&[], &visits, within), 0);
    }

    #[test]
    fn parts_add_up_from_their_sums() {
        let mut shanghai = Tally {
            surveys_sent: 3,
            surveys_answered: 1,
            score_sum: [5, 4, 0, 3],
            score_count: [1, 1, 0, 1],
            overall_x100_sum: 400,
            overall_count: 1,
            promoters: 1,
            ..Tally::default()
        };
        shanghai.steps[0] = StepTally {
            on_time: 1,
            late: 1,
            pending: 0,
        };
        shanghai.suppressed.insert("no_consent".into(), 1);
        let london = Tally {
            surveys_sent: 1,
            surveys_answered: 1,
            score_sum: [2, 2, 2, 2],
            score_count: [1, 1, 1, 1],
            overall_x100_sum: 200,
            overall_count: 1,
            detractors: 1,
            wake_ups_sent: 2,
            win_backs: 1,
            ..Tally::default()
        };
        let mut total = Tally::default();
        total.absorb(&shanghai);
        total.absorb(&london);
        let figures = total.figures();
        assert_eq!(figures.surveys.sent, 4);
        assert_eq!(figures.surveys.response_rate_percent, Some(50.0));
        assert_eq!(figures.surveys.mean_scores.service, Some(3.5));
        assert_eq!(figures.surveys.mean_scores.environment, Some(2.0));
        assert_eq!(figures.surveys.overall_mean, Some(3.0));
        assert_eq!(figures.surveys.nps, Some(0.0));
        assert_eq!(figures.complaints.callback.sla_percent, Some(50.0));
        assert_eq!(figures.complaints.solution.sla_percent, None);
        assert_eq!(figures.outreach.win_back_rate_percent, Some(50.0));
        assert_eq!(figures.outreach.suppressed["no_consent"], 1);
        assert_eq!(figures.outreach.suppressed["opted_out"], 0);
        assert!(!figures.outreach.suppressed.contains_key("quiet_hours"));
        // A part over nothing has no rates, not zeros.
        let empty = Tally::default().figures();
        assert_eq!(empty.surveys.response_rate_percent, None);
        assert_eq!(empty.surveys.overall_mean, None);
        assert_eq!(empty.complaints.mean_minutes_to_callback, None);
    }
}
