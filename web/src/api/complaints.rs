//! `/api/v1/complaints`: 三级响应 from the staff's side — open a complaint (a call, a walk-in),
//! see it with its timeline, record its steps in order.

use super::{created, path_id};
use crate::extract::{can, ApiJson, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use shared::complaints::{self, Complaint, OpenComplaint, Step};
use shared::domain::{ClientId, ComplaintId, StoreId, Text, VisitId};
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
pub struct RecordStep {
    /// callback | solution | follow_up
    pub step: String,
    pub note: Option<String>,
}

/// Open a complaint; the responsible store manager (or the next level up) is alerted at once.
#[utoipa::path(tag = "complaints", request_body = CreateComplaint, security(("bearer" = [])), responses((status = 201, body = Complaint), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/complaints")]
pub async fn create(
    auth: Authorized<can::HandleComplaints>,
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
            complaints::get(conn, &auth, id)
        })
        .await?;
    Ok(created(format!("/api/v1/complaints/{}", complaint.id), &complaint))
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
    let complaint = state.db.read(move |conn| complaints::get(conn, &auth, id)).await?;
    Ok(HttpResponse::Ok().json(complaint))
}

/// Record one step, in order: callback, solution, follow-up (which closes the complaint).
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
    let now = state.now();
    let complaint = state
        .db
        .write(move |conn| {
            // Another tenant's (or store's) complaint is absent, whatever the body says.
            complaints::get(conn, &auth, id)?;
            let (Some(step), Some(note)) = (step, note) else {
                return Err(errors.into_error());
            };
            complaints::record_step(conn, &auth, id, step, note.map(Text::into_inner), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(complaint))
}
