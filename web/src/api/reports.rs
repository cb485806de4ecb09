//! `/api/v1/reports/care`: what HQ sees of client care, per store and in total, over local
//! days (see `shared::reports` for how each figure is computed).

use crate::extract::{can, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use shared::reports::{self, CareReport, CareReportRequest};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CareReportQuery {
    /// The first local day, YYYY-MM-DD (each store's own zone).
    #[param(example = "2026-03-01")]
    pub from: String,
    /// The last local day, included; at most 366 days after `from`.
    #[param(example = "2026-03-31")]
    pub to: String,
    /// One store only (store roles: their own, which is also the default for them).
    pub store_id: Option<String>,
}

/// The care report: surveys (response rate, scores, NPS), complaints (SLA per step,
/// escalations, time to callback), wake-ups and win-backs, birthday greetings and suppressed
/// messages — per store on its local days, and in total.
#[utoipa::path(
    tag = "reports",
    params(CareReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CareReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/reports/care")]
pub async fn care(
    auth: Authorized<can::ViewComplaints>,
    state: web::Data<AppState>,
    query: ApiQuery<CareReportQuery>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let query = query.0;
    let request = CareReportRequest::parse(&query.from, &query.to, query.store_id.as_deref())?;
    let now = state.now();
    let report = state
        .db
        .read(move |conn| reports::care_report(conn, &auth, &request, now))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
