//! `/api/v1/visits`: visits and their lines (消费记录).

use super::support::{idempotent_create, if_match, with_etag};
use super::{path_id, Page};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::domain::{ClientId, StoreId, Text, VisitId};
use shared::pagination::PageRequest;
use shared::visits::{self, Visit, VisitFilter, VisitInput, VisitPatchInput};
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VisitsQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub client_id: Option<String>,
    pub store_id: Option<String>,
    /// Completed at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Completed before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Include voided visits (default false).
    pub include_voided: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    /// Why the visit is voided (kept on the record), up to 500 characters.
    pub reason: Option<String>,
}

/// Visits, newest first. Store roles see their store's.
#[utoipa::path(tag = "visits", params(VisitsQuery), security(("bearer" = [])), responses((status = 200, body = Page<Visit>), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/visits")]
pub async fn list(
    auth: Authorized<can::ViewVisits>,
    state: web::Data<AppState>,
    query: ApiQuery<VisitsQuery>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let query = query.0;
    let mut errors = FieldErrors::default();
    let client_id = errors.check("client_id", query.client_id.as_deref().map(ClientId::parse).transpose());
    let store_id = errors.check("store_id", query.store_id.as_deref().map(StoreId::parse).transpose());
    let (Some(client_id), Some(store_id)) = (client_id, store_id) else {
        return Err(errors.into());
    };
    let page = PageRequest::parse(query.limit, query.cursor)?;
    let filter = VisitFilter {
        client_id,
        store_id,
        from: query.from,
        to: query.to,
        include_voided: query.include_voided.unwrap_or(false),
    };
    let visits = state
        .db
        .read(move |conn| visits::list(conn, &auth, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(visits)))
}

/// Record a visit; the client's visit count, last visit and total spent change with it. Send
/// an `Idempotency-Key` header so that a double tap records one visit.
#[utoipa::path(
    tag = "visits",
    request_body = VisitInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first answer")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Visit, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/visits")]
pub async fn create(
    auth: Authorized<can::RecordVisits>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<VisitInput>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let input = body.0;
    let now = state.now();
    idempotent_create(&state, &req, auth.tenant, body.1, move |conn| {
        let visit = visits::create(conn, &auth, input.clone(), now)?;
        Ok((
            format!("/api/v1/visits/{}", visit.id),
            visit.version,
            serde_json::to_value(&visit).unwrap_or_default(),
        ))
    })
    .await
}

/// One visit.
#[utoipa::path(
    tag = "visits",
    params(("id" = String, Path, description = "Visit id")),
    security(("bearer" = [])),
    responses((status = 200, body = Visit, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/visits/{id}")]
pub async fn get(
    auth: Authorized<can::ViewVisits>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, VisitId::parse)?;
    let visit = state.db.read(move |conn| visits::get(conn, &auth, id)).await?;
    Ok(with_etag(StatusCode::OK, visit.version, &visit))
}

/// Correct a visit (lines, discount, payment, staff, time, notes); `If-Match` guards against
/// overwriting someone else's correction.
#[utoipa::path(
    tag = "visits",
    params(("id" = String, Path, description = "Visit id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = VisitPatchInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Visit, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/visits/{id}")]
pub async fn update(
    auth: Authorized<can::CorrectVisits>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<VisitPatchInput>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, VisitId::parse)?;
    let expected = if_match(&req);
    let now = state.now();
    let input = body.0;
    let visit = state
        .db
        .write(move |conn| visits::update(conn, &auth, id, input, expected, now))
        .await?;
    Ok(with_etag(StatusCode::OK, visit.version, &visit))
}

/// Void a visit: it stays on record, out of every total.
#[utoipa::path(
    tag = "visits",
    params(("id" = String, Path, description = "Visit id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Visit),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/visits/{id}")]
pub async fn delete(
    auth: Authorized<can::CorrectVisits>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    void_visit(auth, state, req, id, None).await
}

/// Void a visit, with a reason.
#[utoipa::path(
    tag = "visits",
    params(("id" = String, Path, description = "Visit id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = VoidRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Visit),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/visits/{id}/void")]
pub async fn void(
    auth: Authorized<can::CorrectVisits>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<VoidRequest>,
) -> ApiResult<HttpResponse> {
    // Checked like every free text (length, no control characters: PostgreSQL refuses a NUL,
    // which was a 500); blank is no reason.
    let reason = body
        .0
        .reason
        .map(|raw| Text::parse(&raw, 500))
        .transpose()
        .map_err(|mut error| {
            error.field = "reason".to_owned();
            FieldErrors(vec![error])
        })?
        .map(Text::into_inner)
        .filter(|reason| !reason.is_empty());
    void_visit(auth, state, req, id, reason).await
}

async fn void_visit(
    auth: Authorized<can::CorrectVisits>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    reason: Option<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, VisitId::parse)?;
    let expected = if_match(&req);
    let now = state.now();
    let visit = state
        .db
        .write(move |conn| visits::void(conn, &auth, id, reason, expected, now))
        .await?;
    Ok(with_etag(StatusCode::OK, visit.version, &visit))
}
