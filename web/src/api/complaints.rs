//! `/api/v1/complaints`: 三级响应 from the staff's side — list them (store, status, level,
//! overdue, assignee), open one (a call, a walk-in: the front desk may), see it with its
//! timeline, hand it to someone, record its steps in order.

use super::{created, path_id, Page};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;
use shared::complaints::{
    self, Complaint, ComplaintFilter, ComplaintStatus, ComplaintSummary, OpenComplaint, Satisfaction, Step,
};
use shared::domain::{ClientId, ComplaintId, StaffId, StoreId, Text, VisitId};
use shared::pagination::PageRequest;
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComplaint {
    pub client_id: String,
    /// Defaults to the visit's store, then the client's home store.
    pub store_id: Option<String>,
    pub visit_id: Option<String>,
    #[schema(example = "护理后皮肤发红，电话投诉")]
    pub summary: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeComplaint {
    /// Hand the complaint to this staff member: an active owner or HQ manager, or a manager of
    /// the complaint's store.
    pub assignee_id: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordStep {
    /// callback | solution | follow_up
    #[schema(value_type = String, example = "callback", pattern = "^(callback|solution|follow_up)$")]
    pub step: String,
    pub note: Option<String>,
    /// With `follow_up` only (optional there: a client may decline to rate): the client's
    /// satisfaction with the resolution, 1 (very unhappy) to 5 (very happy).
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub satisfaction: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ComplaintsQuery {
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this store's complaints (store roles only ever see their own store's).
    pub store_id: Option<String>,
    /// open | in_progress | closed
    pub status: Option<String>,
    /// 1 store manager, 2 HQ manager, 3 owner
    pub level: Option<i64>,
    /// `true`: only complaints with a step whose deadline passed unmet; `false`: only the others.
    pub overdue: Option<bool>,
    /// Only the complaints this staff member owns.
    pub assignee_id: Option<String>,
}

/// Complaints, newest first (store roles: their own store's only).
#[utoipa::path(tag = "complaints", params(ComplaintsQuery), security(("bearer" = [])), responses((status = 200, body = Page<ComplaintSummary>), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/complaints")]
pub async fn list(
    auth: Authorized<can::ViewComplaints>,
    state: web::Data<AppState>,
    query: ApiQuery<ComplaintsQuery>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let query = query.0;
    let mut errors = FieldErrors::default();
    let store_id = errors.check("store_id", query.store_id.as_deref().map(StoreId::parse).transpose());
    let status = errors.check(
        "status",
        query.status.as_deref().map(ComplaintStatus::parse).transpose(),
    );
    let level = errors.check("level", query.level.map(complaints::parse_level).transpose());
    let assignee_id = errors.check(
        "assignee_id",
        query.assignee_id.as_deref().map(StaffId::parse).transpose(),
    );
    let (Some(store_id), Some(status), Some(level), Some(assignee_id)) = (store_id, status, level, assignee_id) else {
        return Err(errors.into());
    };
    let page = PageRequest::parse(query.limit, query.cursor)?;
    let filter = ComplaintFilter {
        store_id,
        status,
        level,
        overdue: query.overdue,
        assignee_id,
    };
    let now = state.now();
    let complaints = state
        .db
        .read(move |conn| complaints::list(conn, &auth, &filter, &page, now))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(complaints)))
}

/// Open a complaint; the responsible store manager (or the next level up) is alerted at once and
/// owns it.
#[utoipa::path(tag = "complaints", request_body = CreateComplaint, security(("bearer" = [])), responses((status = 201, body = Complaint), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/complaints")]
pub async fn create(
    auth: Authorized<can::OpenComplaints>,
    state: web::Data<AppState>,
    body: ApiJson<CreateComplaint>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let client_id = errors.check("client_id", ClientId::parse(&body.client_id));
    let store_id = errors.check("store_id", body.store_id.as_deref().map(StoreId::parse).transpose());
    let visit_id = errors.check("visit_id", body.visit_id.as_deref().map(VisitId::parse).transpose());
    let summary = errors.check("summary", Text::parse(&body.summary, 500));
    let (Some(client_id), Some(store_id), Some(visit_id), Some(summary)) = (client_id, store_id, visit_id, summary)
    else {
        return Err(errors.into());
    };
    let input = OpenComplaint {
        client_id,
        store_id,
        visit_id,
        survey_id: None,
        source: "staff",
        summary: summary.into_inner(),
    };
    let now = state.now();
    let complaint = state
        .db
        .write(move |conn| {
            let id = complaints::open(conn, &auth.tenant, Some(&auth.actor), input, now)?;
            complaints::get(conn, &auth, id, now)
        })
        .await?;
    Ok(created(
        format!("/api/v1/complaints/{}", complaint.summary.id),
        &complaint,
    ))
}

/// One complaint with its timeline (store staff: their store's only).
#[utoipa::path(tag = "complaints", params(("id" = String, Path, description = "Complaint id")), security(("bearer" = [])), responses((status = 200, body = Complaint), (status = 404, body = Problem, content_type = "application/problem+json")))]
#[get("/complaints/{id}")]
pub async fn get(
    auth: Authorized<can::ViewComplaints>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ComplaintId::parse)?;
    let now = state.now();
    let complaint = state.db.read(move |conn| complaints::get(conn, &auth, id, now)).await?;
    Ok(HttpResponse::Ok().json(complaint))
}

/// Hand a complaint to someone (an `assigned` event on its timeline).
#[utoipa::path(tag = "complaints", params(("id" = String, Path, description = "Complaint id")), request_body = ChangeComplaint, security(("bearer" = [])), responses((status = 200, body = Complaint), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/complaints/{id}")]
pub async fn update(
    auth: Authorized<can::HandleComplaints>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<ChangeComplaint>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ComplaintId::parse)?;
    let mut errors = FieldErrors::default();
    let Some(assignee) = errors.check("assignee_id", StaffId::parse(&body.0.assignee_id)) else {
        return Err(errors.into());
    };
    let now = state.now();
    let complaint = state
        .db
        .write(move |conn| complaints::assign(conn, &auth, id, assignee, now))
        .await?;
    Ok(HttpResponse::Ok().json(complaint))
}

/// Record one step, in order: callback, solution, follow-up (which closes the complaint, with
/// the client's `satisfaction` with the resolution when they gave it).
#[utoipa::path(tag = "complaints", params(("id" = String, Path, description = "Complaint id")), request_body = RecordStep, security(("bearer" = [])), responses((status = 200, body = Complaint), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/complaints/{id}/steps")]
pub async fn record_step(
    auth: Authorized<can::HandleComplaints>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<RecordStep>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ComplaintId::parse)?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let step = errors.check("step", Step::parse(&body.step));
    let note = errors.check("note", body.note.as_deref().map(|n| Text::parse(n, 1000)).transpose());
    let satisfaction = errors.check("satisfaction", body.satisfaction.map(Satisfaction::parse).transpose());
    if matches!(satisfaction, Some(Some(_))) && step.is_some_and(|step| step != Step::FollowUp) {
        errors.push(
            "satisfaction",
            "follow_up_only",
            "the client's satisfaction is recorded with the follow-up step",
        );
    }
    let now = state.now();
    let complaint = state
        .db
        .write(move |conn| {
            // Another tenant's (or store's) complaint is absent, whatever the body says.
            complaints::get(conn, &auth, id, now)?;
            let (Some(step), Some(note), Some(satisfaction), true) = (step, note, satisfaction, errors.is_empty())
            else {
                return Err(errors.into_error());
            };
            complaints::record_step(conn, &auth, id, step, note.map(Text::into_inner), satisfaction, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(complaint))
}
