//! 满意度调研 from the client's side: the survey behind a personal link (`/s/TOKEN`), its
//! answer, and what an answer does.
//!
//! A client rates up to four dimensions 1–5 (service, technician, environment, result), may
//! say how likely they are to recommend the salon (NPS, 0–10) and may leave a comment.
//!
//! Decisions:
//! - Every question is optional except that at least one dimension must be rated: a client who
//!   skips a question still has their ratings recorded (a low rating must never be lost because
//!   NPS was left out). NPS figures count only the clients who answered it.
//! - The overall score is the mean of the answered dimensions, stored ×100 as an integer,
//!   rounded half up. The complaint rule compares the *exact* mean with the tenant's threshold
//!   (in hundredths), so rounding never decides whether a complaint opens.
//! - A complaint opens when the mean is below `complaint_threshold` or any rating is at or
//!   below `complaint_dimension_floor`; it opens in the answer's transaction, at most once per
//!   survey (the answer is recorded by a conditional update: only the transaction that turns
//!   `answered_at` from NULL opens it, on both backends).
//! - A survey answers only once; a second submission changes nothing.
//! - The link acts for the tenant it belongs to ([`Tenant::for_automation`]); an unknown token
//!   and a malformed one look the same.

use crate::complaints::{self, OpenComplaint};
use crate::db::schema::{clients, link_tokens, staff, stores, surveys, tenants, visit_lines, visits};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::{ClientId, ComplaintId, Locale, TenantId, TimeZone, VisitId};
use crate::error::{FieldError, FieldErrors};
use crate::outreach::outbox::link_token_hash;
use crate::outreach::settings;
use crate::tenancy::Tenant;
use crate::Result;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

/// The longest comment a client may leave, in characters.
pub const COMMENT_MAX: usize = 1000;

/// The rated dimensions, in the order the page asks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Service,
    Technician,
    Environment,
    Result,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::Service,
        Dimension::Technician,
        Dimension::Environment,
        Dimension::Result,
    ];

    /// The form field's name (and the field named in validation errors).
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Service => "service",
            Dimension::Technician => "technician",
            Dimension::Environment => "environment",
            Dimension::Result => "result",
        }
    }

    fn index(self) -> usize {
        match self {
            Dimension::Service => 0,
            Dimension::Technician => 1,
            Dimension::Environment => 2,
            Dimension::Result => 3,
        }
    }
}

/// A 1–5 rating of one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    pub fn new(value: u8) -> Option<Self> {
        (1..=5).contains(&value).then_some(Rating(value))
    }

    /// A form value: `Ok(None)` when empty (not answered).
    pub fn parse(raw: &str) -> std::result::Result<Option<Self>, FieldError> {
        parse_number(raw, 1, 5, "invalid_rating", "must be a whole number from 1 to 5").map(|v| v.map(Rating))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// Likelihood to recommend, 0–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Nps(u8);

/// The NPS groups: promoters 9–10, passives 7–8, detractors 0–6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NpsCategory {
    Promoter,
    Passive,
    Detractor,
}

impl Nps {
    pub fn new(value: u8) -> Option<Self> {
        (value <= 10).then_some(Nps(value))
    }

    /// A form value: `Ok(None)` when empty (not answered).
    pub fn parse(raw: &str) -> std::result::Result<Option<Self>, FieldError> {
        parse_number(raw, 0, 10, "invalid_nps", "must be a whole number from 0 to 10").map(|v| v.map(Nps))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn category(self) -> NpsCategory {
        match self.0 {
            9..=10 => NpsCategory::Promoter,
            7..=8 => NpsCategory::Passive,
            _ => NpsCategory::Detractor,
        }
    }
}

fn parse_number(
    raw: &str,
    low: u8,
    high: u8,
    code: &'static str,
    message: &str,
) -> std::result::Result<Option<u8>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u8>() {
        Ok(value) if (low..=high).contains(&value) => Ok(Some(value)),
        _ => Err(FieldError::new(code, message)),
    }
}

/// The form as posted: raw text per field, `None` when the field was not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerForm {
    pub service: Option<String>,
    pub technician: Option<String>,
    pub environment: Option<String>,
    pub result: Option<String>,
    pub nps: Option<String>,
    pub comment: Option<String>,
}

impl AnswerForm {
    /// Reads the form's fields from `application/x-www-form-urlencoded` pairs. Unknown fields
    /// are ignored; of a repeated field the first counts.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut form = AnswerForm::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "service" => &mut form.service,
                "technician" => &mut form.technician,
                "environment" => &mut form.environment,
                "result" => &mut form.result,
                "nps" => &mut form.nps,
                "comment" => &mut form.comment,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        form
    }

    pub fn rating(&self, dimension: Dimension) -> Option<&str> {
        match dimension {
            Dimension::Service => self.service.as_deref(),
            Dimension::Technician => self.technician.as_deref(),
            Dimension::Environment => self.environment.as_deref(),
            Dimension::Result => self.result.as_deref(),
        }
    }
}

/// A valid answer: at least one rating, NPS optional, a comment of at most [`COMMENT_MAX`]
/// characters (trimmed, line breaks normalised, no other control characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    ratings: [Option<Rating>; 4],
    nps: Option<Nps>,
    comment: Option<String>,
}

impl Answer {
    /// Every bad field at once. Fields: the dimensions' names, `nps`, `comment`, and `ratings`
    /// (code `required`) when no dimension is rated.
    pub fn parse(form: &AnswerForm) -> std::result::Result<Answer, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut ratings = [None; 4];
        for dimension in Dimension::ALL {
            let parsed = Rating::parse(form.rating(dimension).unwrap_or_default());
            ratings[dimension.index()] = errors.check(dimension.as_str(), parsed).flatten();
        }
        let nps = errors
            .check("nps", Nps::parse(form.nps.as_deref().unwrap_or_default()))
            .flatten();
        let comment = errors
            .check("comment", parse_comment(form.comment.as_deref().unwrap_or_default()))
            .flatten();
        let all_ratings_valid = !errors
            .0
            .iter()
            .any(|e| Dimension::ALL.iter().any(|d| d.as_str() == e.field));
        if all_ratings_valid && ratings.iter().all(Option::is_none) {
            errors.push(
                "ratings",
                "required",
                "rate at least one of service, technician, environment, result",
            );
        }
        if errors.is_empty() {
            Ok(Answer { ratings, nps, comment })
        } else {
            Err(errors)
        }
    }

    pub fn rating(&self, dimension: Dimension) -> Option<Rating> {
        self.ratings[dimension.index()]
    }

    pub fn nps(&self) -> Option<Nps> {
        self.nps
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    fn answered(&self) -> impl Iterator<Item = (Dimension, Rating)> + '_ {
        Dimension::ALL
            .into_iter()
            .filter_map(|dimension| self.rating(dimension).map(|rating| (dimension, rating)))
    }

    /// The overall score: the mean of the answered dimensions ×100, rounded half up.
    pub fn overall_x100(&self) -> i32 {
        let values: Vec<u8> = self.answered().map(|(_, rating)| rating.get()).collect();
        mean_x100(&values)
    }

    /// Whether this answer opens a complaint: the exact mean below `threshold` (compared in
    /// hundredths), or any rating at or below `floor`.
    pub fn needs_complaint(&self, threshold: f64, floor: u32) -> bool {
        let (sum, count) = self.answered().fold((0i64, 0i64), |(sum, count), (_, r)| {
            (sum + i64::from(r.get()), count + 1)
        });
        if count == 0 {
            return false;
        }
        // `threshold` is validated to 0–5; in hundredths it is a small integer.
        let threshold_x100 = (threshold * 100.0).round() as i64;
        let below = sum * 100 < threshold_x100 * count;
        below || self.answered().any(|(_, rating)| u32::from(rating.get()) <= floor)
    }
}

fn parse_comment(raw: &str) -> std::result::Result<Option<String>, FieldError> {
    // Browsers send a textarea's line breaks as CR LF.
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > COMMENT_MAX {
        return Err(FieldError::new(
            "too_long",
            format!("must be at most {COMMENT_MAX} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// The mean of `values` ×100, rounded half up (0 for none).
pub fn mean_x100(values: &[u8]) -> i32 {
    let count = values.len() as i64;
    if count == 0 {
        return 0;
    }
    let sum: i64 = values.iter().map(|v| i64::from(*v)).sum();
    // round(100·sum/count) = floor((200·sum + count) / (2·count)) for non-negative values.
    let x100 = (200 * sum + count) / (2 * count);
    i32::try_from(x100).unwrap_or(i32::MAX)
}

/// `450` → "4.5", `433` → "4.33", `400` → "4".
pub fn format_x100(x100: i32) -> String {
    let whole = x100 / 100;
    let cents = x100 % 100;
    match cents {
        0 => whole.to_string(),
        c if c % 10 == 0 => format!("{whole}.{}", c / 10),
        c => format!("{whole}.{c:02}"),
    }
}

/// The complaint's summary, in the salon's language: the scores and the start of the comment.
pub fn complaint_summary(answer: &Answer, salon_locale: Locale) -> String {
    const EXCERPT: usize = 80;
    let overall = format_x100(answer.overall_x100());
    let zh = salon_locale == Locale::ZhCn;
    let name = |dimension: Dimension| match (dimension, zh) {
        (Dimension::Service, true) => "服务",
        (Dimension::Technician, true) => "技师",
        (Dimension::Environment, true) => "环境",
        (Dimension::Result, true) => "效果",
        (dimension, false) => dimension.as_str(),
    };
    let scores: Vec<String> = answer
        .answered()
        .map(|(dimension, rating)| format!("{} {}", name(dimension), rating.get()))
        .collect();
    let mut summary = if zh {
        format!("满意度 {overall}/5：{}", scores.join("、"))
    } else {
        format!("Satisfaction {overall}/5: {}", scores.join(", "))
    };
    if let Some(nps) = answer.nps() {
        summary.push_str(&if zh {
            format!("；推荐意愿 {}/10", nps.get())
        } else {
            format!("; likely to recommend {}/10", nps.get())
        });
    }
    if let Some(comment) = answer.comment() {
        let flat = comment.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut excerpt: String = flat.chars().take(EXCERPT).collect();
        if flat.chars().count() > EXCERPT {
            excerpt.push('…');
        }
        summary.push_str(&if zh {
            format!("；留言：{excerpt}")
        } else {
            format!("; comment: {excerpt}")
        });
    }
    summary
}

// ---- The survey behind a link ---------------------------------------------------------------

/// What the survey page shows about the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyView {
    /// The salon chain (the tenant's name).
    pub salon: String,
    pub store: String,
    /// The visit's date in the store's zone.
    pub visit_date: NaiveDate,
    /// The visit's lines, in order.
    pub services: Vec<String>,
    /// The staff member the visit names, if any.
    pub technician: Option<String>,
    /// The survey's locale (the client's, else the salon's); others read English.
    pub locale: Locale,
}

/// Where a link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Waiting for an answer.
    Open(Box<SurveyView>),
    /// Answered already.
    Answered(Box<SurveyView>),
    /// The link's time is over (7 days by default).
    Expired { locale: Locale, salon: String },
    /// Withdrawn: the visit was voided, the survey cancelled, or the client erased.
    Unavailable { locale: Locale, salon: String },
    /// No such link.
    NotFound,
}

/// What became of a submitted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// Recorded now.
    Recorded(Box<Recorded>),
    /// The survey was answered before; nothing changed.
    AlreadyAnswered(Box<SurveyView>),
    /// The link does not lead to an open survey (expired, unavailable, unknown).
    NotOpen(Lookup),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub survey: SurveyView,
    pub overall_x100: i32,
    pub nps_category: Option<NpsCategory>,
    /// The complaint the answer opened, if it was low.
    pub complaint_id: Option<ComplaintId>,
}

/// A survey found by its token, with the ids an answer needs.
struct Located {
    tenant_id: String,
    survey_id: String,
    client_id: String,
    visit_id: String,
    salon_locale: Locale,
    lookup: Lookup,
}

/// Tokens are 22 URL-safe base64 characters; anything far from that is not worth a query.
fn plausible(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The survey a link leads to, as of `now`.
pub fn find(conn: &mut AnyConnection, token: &str, now: DateTime<Utc>) -> Result<Lookup> {
    Ok(locate(conn, token, now)?.map_or(Lookup::NotFound, |located| located.lookup))
}

#[derive(Queryable)]
struct SurveyRow {
    visit_id: String,
    client_id: String,
    store_id: String,
    locale: String,
    expires_at: NaiveDateTime,
    answered_at: Option<NaiveDateTime>,
    cancelled_at: Option<NaiveDateTime>,
}

fn locate(conn: &mut AnyConnection, token: &str, now: DateTime<Utc>) -> Result<Option<Located>> {
    if !plausible(token) {
        return Ok(None);
    }
    let link: Option<(String, String, Option<NaiveDateTime>)> = link_tokens::table
        .filter(link_tokens::token_hash.eq(link_token_hash(token)))
        .filter(link_tokens::purpose.eq("survey"))
        .select((link_tokens::tenant_id, link_tokens::subject_id, link_tokens::expires_at))
        .first(conn)
        .optional()?;
    let Some((tenant_id, survey_id, link_expires)) = link else {
        return Ok(None);
    };
    let survey: Option<SurveyRow> = surveys::table
        .filter(surveys::tenant_id.eq(&tenant_id))
        .filter(surveys::id.eq(&survey_id))
        .select((
            surveys::visit_id,
            surveys::client_id,
            surveys::store_id,
            surveys::locale,
            surveys::expires_at,
            surveys::answered_at,
            surveys::cancelled_at,
        ))
        .first(conn)
        .optional()?;
    let Some(survey) = survey else {
        return Ok(None);
    };
    let (salon, salon_zone, salon_locale): (String, String, String) = tenants::table
        .filter(tenants::id.eq(&tenant_id))
        .select((tenants::name, tenants::timezone, tenants::locale))
        .first(conn)?;
    let locale = Locale::from_db(&survey.locale);
    let visit: Option<(NaiveDateTime, String, Option<String>)> = visits::table
        .filter(visits::tenant_id.eq(&tenant_id))
        .filter(visits::id.eq(&survey.visit_id))
        .select((visits::completed_at, visits::status, visits::staff_id))
        .first(conn)
        .optional()?;
    let client_gone: bool = clients::table
        .filter(clients::tenant_id.eq(&tenant_id))
        .filter(clients::id.eq(&survey.client_id))
        .select(clients::erased_at.is_not_null().or(clients::deleted_at.is_not_null()))
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(true);
    let located = |lookup| Located {
        tenant_id: tenant_id.clone(),
        survey_id: survey_id.clone(),
        client_id: survey.client_id.clone(),
        visit_id: survey.visit_id.clone(),
        salon_locale: Locale::from_db(&salon_locale),
        lookup,
    };
    let visit = match visit {
        Some((completed_at, status, staff_id)) if status == "completed" => (completed_at, staff_id),
        _ => return Ok(Some(located(Lookup::Unavailable { locale, salon }))),
    };
    if survey.cancelled_at.is_some() || client_gone {
        return Ok(Some(located(Lookup::Unavailable { locale, salon })));
    }

    let (store, store_zone): (String, String) = stores::table
        .filter(stores::tenant_id.eq(&tenant_id))
        .filter(stores::id.eq(&survey.store_id))
        .select((stores::name, stores::timezone))
        .first(conn)?;
    let zone = TimeZone::parse(&store_zone)
        .or_else(|_| TimeZone::parse(&salon_zone))
        .map_or(chrono_tz::UTC, TimeZone::tz);
    let services: Vec<String> = visit_lines::table
        .filter(visit_lines::tenant_id.eq(&tenant_id))
        .filter(visit_lines::visit_id.eq(&survey.visit_id))
        .order(visit_lines::line_no.asc())
        .select(visit_lines::description)
        .load(conn)?;
    let technician: Option<String> = match &visit.1 {
        Some(staff_id) => staff::table
            .filter(staff::tenant_id.eq(&tenant_id))
            .filter(staff::id.eq(staff_id))
            .select(staff::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let view = Box::new(SurveyView {
        salon: salon.clone(),
        store,
        visit_date: visit.0.and_utc().with_timezone(&zone).date_naive(),
        services,
        technician,
        locale,
    });
    let now = to_db_time(now);
    let expired = survey.expires_at <= now || link_expires.is_some_and(|at| at <= now);
    let lookup = if survey.answered_at.is_some() {
        Lookup::Answered(view)
    } else if expired {
        Lookup::Expired { locale, salon }
    } else {
        Lookup::Open(view)
    };
    Ok(Some(located(lookup)))
}

/// Records `answer` for the survey behind `token` and, if it is low, opens one complaint
/// (alerting the store's manager) — all in the caller's write transaction ([`crate::db::Db::write`]).
/// Only the first answer counts: a second submission, even a concurrent one, changes nothing.
pub fn answer(conn: &mut AnyConnection, token: &str, answer: &Answer, now: DateTime<Utc>) -> Result<Submission> {
    let Some(located) = locate(conn, token, now)? else {
        return Ok(Submission::NotOpen(Lookup::NotFound));
    };
    let view = match located.lookup {
        Lookup::Open(view) => view,
        Lookup::Answered(view) => return Ok(Submission::AlreadyAnswered(view)),
        other => return Ok(Submission::NotOpen(other)),
    };
    let tenant = Tenant::for_automation(TenantId::from_db(&located.tenant_id)?);
    let settings = settings::load(conn, &tenant)?.settings;
    let overall_x100 = answer.overall_x100();
    let score = |dimension| answer.rating(dimension).map(|r| i32::from(r.get()));
    // The answer is recorded only by the transaction that finds the survey unanswered: on
    // PostgreSQL a concurrent second update waits for the first to commit and then matches no
    // row; on SQLite `BEGIN IMMEDIATE` has already serialised the two.
    let recorded = diesel::update(surveys::table)
        .filter(surveys::tenant_id.eq(&located.tenant_id))
        .filter(surveys::id.eq(&located.survey_id))
        .filter(surveys::answered_at.is_null())
        .filter(surveys::cancelled_at.is_null())
        .filter(surveys::expires_at.gt(to_db_time(now)))
        .set((
            surveys::answered_at.eq(Some(to_db_time(now))),
            surveys::score_service.eq(score(Dimension::Service)),
            surveys::score_technician.eq(score(Dimension::Technician)),
            surveys::score_environment.eq(score(Dimension::Environment)),
            surveys::score_result.eq(score(Dimension::Result)),
            surveys::nps.eq(answer.nps().map(|n| i32::from(n.get()))),
            surveys::comment.eq(answer.comment()),
            surveys::overall_x100.eq(Some(overall_x100)),
        ))
        .execute(conn)?;
    if recorded == 0 {
        // Someone else's submission won (or the survey closed at this very moment).
        return Ok(match locate(conn, token, now)?.map(|l| l.lookup) {
            Some(Lookup::Answered(view)) | Some(Lookup::Open(view)) => Submission::AlreadyAnswered(view),
            Some(other) => Submission::NotOpen(other),
            None => Submission::NotOpen(Lookup::NotFound),
        });
    }
    let complaint_id = if answer.needs_complaint(settings.complaint_threshold, settings.complaint_dimension_floor) {
        let input = OpenComplaint {
            client_id: ClientId::from_db(&located.client_id)?,
            // The visit's store (the survey's): named through the visit, so that a store
            // closed since the visit still gets its complaint.
            store_id: None,
            visit_id: Some(VisitId::from_db(&located.visit_id)?),
            survey_id: Some(located.survey_id.clone()),
            source: "survey",
            summary: complaint_summary(answer, located.salon_locale),
        };
        let id = complaints::open(conn, &tenant, None, input, now)?;
        diesel::update(surveys::table)
            .filter(surveys::tenant_id.eq(&located.tenant_id))
            .filter(surveys::id.eq(&located.survey_id))
            .set(surveys::complaint_id.eq(Some(id.to_string())))
            .execute(conn)?;
        Some(id)
    } else {
        None
    };
    Ok(Submission::Recorded(Box::new(Recorded {
        survey: *view,
        overall_x100,
        nps_category: answer.nps().map(Nps::category),
        complaint_id,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(service: &str, technician: &str, environment: &str, result: &str) -> AnswerForm {
        let some = |v: &str| Some(v.to_owned());
        AnswerForm {
            service: some(service),
            technician: some(technician),
            environment: some(environment),
            result: some(result),
            nps: None,
            comment: None,
        }
    }

    fn answer(service: &str, technician: &str, environment: &str, result: &str) -> Answer {
        Answer::parse(&form(service, technician, environment, result)).unwrap()
    }

    fn fields(errors: &FieldErrors) -> Vec<(&str, &str)> {
        errors.0.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn overall_is_the_mean_of_the_answered_dimensions() {
        assert_eq!(answer("5", "5", "5", "5").overall_x100(), 500);
        assert_eq!(answer("5", "4", "", "").overall_x100(), 450);
        assert_eq!(answer("", "", "3", "").overall_x100(), 300);
        assert_eq!(answer("4", "5", "4", "4").overall_x100(), 425);
        // Unanswered dimensions are not zeros.
        assert_eq!(answer("2", "", "", "3").overall_x100(), 250);
    }

    #[test]
    fn overall_rounds_half_up() {
        assert_eq!(answer("2", "2", "3", "").overall_x100(), 233); // 2.333…
        assert_eq!(answer("5", "5", "4", "").overall_x100(), 467); // 4.666…
        assert_eq!(mean_x100(&[1, 1, 1, 1, 1, 1, 1, 2]), 113); // 1.125 → 1.13
        assert_eq!(mean_x100(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]), 113); // 1.125
        assert_eq!(mean_x100(&[]), 0);
    }

    #[test]
    fn overall_formats_without_trailing_zeros() {
        assert_eq!(format_x100(450), "4.5");
        assert_eq!(format_x100(433), "4.33");
        assert_eq!(format_x100(400), "4");
        assert_eq!(format_x100(205), "2.05");
    }

    #[test]
    fn nps_categories() {
        let category = |v| Nps::new(v).unwrap().category();
        for v in 0..=6 {
            assert_eq!(category(v), NpsCategory::Detractor, "{v}");
        }
        assert_eq!(category(7), NpsCategory::Passive);
        assert_eq!(category(8), NpsCategory::Passive);
        assert_eq!(category(9), NpsCategory::Promoter);
        assert_eq!(category(10), NpsCategory::Promoter);
        assert!(Nps::new(11).is_none());
    }

    #[test]
    fn complaint_below_the_threshold_or_at_the_floor() {
        let (threshold, floor) = (4.5, 2);
        // Exactly the threshold is not below it.
        assert!(!answer("5", "4", "", "").needs_complaint(threshold, floor));
        assert!(!answer("5", "5", "5", "5").needs_complaint(threshold, floor));
        assert!(answer("4", "4", "5", "4").needs_complaint(threshold, floor)); // 4.25
        assert!(!answer("4", "5", "", "").needs_complaint(threshold, floor)); // 4.5
                                                                              // The exact mean decides, not its rounding: 4.666… is below 4.67 though it shows as 4.67.
        assert!(answer("5", "5", "4", "").needs_complaint(4.67, 0));
        assert!(!answer("5", "5", "4", "").needs_complaint(4.66, 0));
        // One rating at the floor opens a complaint even with a high mean.
        assert!(answer("5", "5", "5", "2").needs_complaint(4.0, floor));
        assert!(!answer("5", "5", "5", "3").needs_complaint(4.0, floor));
        // A floor of 0 never triggers; a threshold of 0 never does either.
        assert!(!answer("1", "", "", "").needs_complaint(0.0, 0));
        assert!(answer("1", "", "", "").needs_complaint(0.0, 1));
    }

    #[test]
    fn at_least_one_rating_is_required() {
        let errors = Answer::parse(&AnswerForm::default()).unwrap_err();
        assert_eq!(fields(&errors), [("ratings", "required")]);
        // NPS and a comment alone are not an answer.
        let only_nps = AnswerForm {
            nps: Some("9".into()),
            comment: Some("很好".into()),
            ..AnswerForm::default()
        };
        assert_eq!(
            fields(&Answer::parse(&only_nps).unwrap_err()),
            [("ratings", "required")]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = AnswerForm {
            service: Some("9".into()),
            technician: Some("0".into()),
            environment: Some("abc".into()),
            result: Some("4".into()),
            nps: Some("11".into()),
            comment: Some("好".repeat(COMMENT_MAX + 1)),
        };
        let errors = Answer::parse(&bad).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("service", "invalid_rating"),
                ("technician", "invalid_rating"),
                ("environment", "invalid_rating"),
                ("nps", "invalid_nps"),
                ("comment", "too_long"),
            ]
        );
        // A bad rating is not reported as "no rating" as well.
        let one_bad = AnswerForm {
            service: Some("6".into()),
            ..AnswerForm::default()
        };
        assert_eq!(
            fields(&Answer::parse(&one_bad).unwrap_err()),
            [("service", "invalid_rating")]
        );
    }

    #[test]
    fn comments_are_trimmed_and_bounded() {
        let with = |comment: &str| AnswerForm {
            service: Some("5".into()),
            comment: Some(comment.to_owned()),
            ..AnswerForm::default()
        };
        assert_eq!(Answer::parse(&with("  ")).unwrap().comment(), None);
        assert_eq!(
            Answer::parse(&with(" 第一行\r\n第二行 ")).unwrap().comment(),
            Some("第一行\n第二行")
        );
        assert!(Answer::parse(&with(&"好".repeat(COMMENT_MAX))).is_ok());
        assert_eq!(
            fields(&Answer::parse(&with("a\u{7}b")).unwrap_err()),
            [("comment", "invalid_characters")]
        );
    }

    #[test]
    fn nps_is_optional_and_bounded() {
        let mut form = form("5", "", "", "");
        assert_eq!(Answer::parse(&form).unwrap().nps(), None);
        form.nps = Some("0".into());
        assert_eq!(Answer::parse(&form).unwrap().nps().map(Nps::get), Some(0));
        form.nps = Some("10".into());
        assert_eq!(Answer::parse(&form).unwrap().nps().map(Nps::get), Some(10));
        form.nps = Some("-1".into());
        assert!(Answer::parse(&form).is_err());
    }

    #[test]
    fn form_pairs_take_the_first_of_a_repeated_field() {
        let form = AnswerForm::from_pairs([
            ("service".to_owned(), "2".to_owned()),
            ("service".to_owned(), "5".to_owned()),
            ("other".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(form.service.as_deref(), Some("2"));
        assert_eq!(form.technician, None);
    }

    #[test]
    fn the_summary_names_the_scores_and_the_comment() {
        let low = Answer::parse(&AnswerForm {
            service: Some("2".into()),
            technician: Some("3".into()),
            nps: Some("3".into()),
            comment: Some("等了很久\n技师态度一般".into()),
            ..AnswerForm::default()
        })
        .unwrap();
        assert_eq!(
            complaint_summary(&low, Locale::ZhCn),
            "满意度 2.5/5：服务 2、技师 3；推荐意愿 3/10；留言：等了很久 技师态度一般"
        );
        assert_eq!(
            complaint_summary(&low, Locale::En),
            "Satisfaction 2.5/5: service 2, technician 3; likely to recommend 3/10; comment: 等了很久 技师态度一般"
        );
        let long = Answer::parse(&AnswerForm {
            service: Some("1".into()),
            comment: Some("长".repeat(300)),
            ..AnswerForm::default()
        })
        .unwrap();
        let summary = complaint_summary(&long, Locale::ZhCn);
        assert!(summary.ends_with('…'));
        assert!(summary.chars().count() < 120);
    }

    #[test]
    fn implausible_tokens_need_no_query() {
        assert!(plausible("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(plausible("abc-DEF_0123456789xyzQ"));
        assert!(!plausible("short"));
        assert!(!plausible("has space in it........"));
        assert!(!plausible(&"a".repeat(65)));
    }
}
