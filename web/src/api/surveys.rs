//! `/api/v1/surveys`: satisfaction surveys as HQ sees them — answered and pending, with their
//! scores, NPS category and the complaint an answer opened.

use super::Page;
use crate::extract::{can, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::domain::StoreId;
use shared::pagination::PageRequest;
use shared::reports::{self, SurveyFilter, SurveyState, SurveyView};
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SurveysQuery {
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this store's surveys (store roles only ever see their own store's).
    pub store_id: Option<String>,
    /// answered | pending | expired | cancelled
    #[param(value_type = Option<SurveyState>)]
    pub status: Option<String>,
    /// Overall score at least (1–5; answered surveys only).
    #[param(example = 1.0)]
    pub min_overall: Option<f64>,
    /// Overall score at most (1–5; answered surveys only).
    #[param(example = 4.49)]
    pub max_overall: Option<f64>,
    /// Made (sent) at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Made (sent) before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// Surveys, newest first (store roles: their own store's only).
#[utoipa::path(tag = "surveys", params(SurveysQuery), security(("bearer" = [])), responses((status = 200, body = Page<SurveyView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/surveys")]
pub async fn list(
    auth: Authorized<can::ViewComplaints>,
    state: web::Data<AppState>,
    query: ApiQuery<SurveysQuery>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let query = query.0;
    let mut errors = FieldErrors::default();
    let store_id = errors.check("store_id", query.store_id.as_deref().map(StoreId::parse).transpose());
    let status = errors.check("status", query.status.as_deref().map(SurveyState::parse).transpose());
    let min = errors.check("min_overall", query.min_overall.map(reports::parse_overall).transpose());
    let max = errors.check("max_overall", query.max_overall.map(reports::parse_overall).transpose());
    if let (Some(Some(min)), Some(Some(max))) = (min, max) {
        if max < min {
            errors.push("max_overall", "below_min", "must not be below min_overall");
        }
    }
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to < from {
            errors.push("to", "before_from", "`to` must not be before `from`");
        }
    }
    let (Some(store_id), Some(status), Some(min), Some(max), true) = (store_id, status, min, max, errors.is_empty())
    else {
        return Err(errors.into());
    };
    let page = PageRequest::parse(query.limit, query.cursor)?;
    let filter = SurveyFilter {
        store_id,
        status,
        min_overall_x100: min,
        max_overall_x100: max,
        from: query.from,
        to: query.to,
    };
    let now = state.now();
    let surveys = state
        .db
        .read(move |conn| reports::list_surveys(conn, &auth, &filter, &page, now))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(surveys)))
}
