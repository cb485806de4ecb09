//! `/api/v1/exports`: bulk exports of the client archive, each approved by an owner first.

use super::{created, path_id, Page};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use shared::domain::{ExportId, StoreId, Text};
use shared::exports::{self, ExportRequest};
use shared::pagination::PageRequest;
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExport {
    /// What the data is for, e.g. "annual membership mailing via our print shop".
    pub purpose: String,
    /// Only this store's clients; absent for the whole chain.
    pub store_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportsQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Export requests, newest first.
#[utoipa::path(tag = "exports", params(ExportsQuery), security(("bearer" = [])), responses((status = 200, body = Page<ExportRequest>)))]
#[get("/exports")]
pub async fn list(
    auth: Authorized<can::RequestBulkExport>,
    state: web::Data<AppState>,
    query: ApiQuery<ExportsQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let page = PageRequest::parse(query.0.limit, query.0.cursor)?;
    let requests = state.db.read(move |conn| exports::list(conn, &tenant, &page)).await?;
    Ok(HttpResponse::Ok().json(Page::from(requests)))
}

/// Ask for a bulk export, with its purpose and scope.
#[utoipa::path(
    tag = "exports",
    request_body = NewExport,
    security(("bearer" = [])),
    responses((status = 201, body = ExportRequest), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/exports")]
pub async fn create(
    auth: Authorized<can::RequestBulkExport>,
    state: web::Data<AppState>,
    body: ApiJson<NewExport>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let purpose = errors.check("purpose", Text::parse(&body.purpose, 500));
    let store = errors.check("store_id", body.store_id.as_deref().map(StoreId::parse).transpose());
    let (Some(purpose), Some(store)) = (purpose, store) else {
        return Err(errors.into());
    };
    let now = state.now();
    let request = state
        .db
        .write(move |conn| exports::request(conn, &auth, purpose, store, now))
        .await?;
    Ok(created(format!("/api/v1/exports/{}", request.id), &request))
}

/// One export request.
#[utoipa::path(
    tag = "exports",
    params(("id" = String, Path, description = "Export request id")),
    security(("bearer" = [])),
    responses((status = 200, body = ExportRequest), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/exports/{id}")]
pub async fn get(
    auth: Authorized<can::RequestBulkExport>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, ExportId::parse)?;
    let request = state.db.read(move |conn| exports::get(conn, &tenant, id)).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Approve a pending export (owners; approving your own request is allowed and recorded).
#[utoipa::path(
    tag = "exports",
    params(("id" = String, Path, description = "Export request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExportRequest),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/exports/{id}/approve")]
pub async fn approve(
    auth: Authorized<can::ApproveBulkExport>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    settle(auth, state, id, true).await
}

/// Reject a pending export.
#[utoipa::path(
    tag = "exports",
    params(("id" = String, Path, description = "Export request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExportRequest),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/exports/{id}/reject")]
pub async fn reject(
    auth: Authorized<can::ApproveBulkExport>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    settle(auth, state, id, false).await
}

async fn settle(
    auth: Authorized<can::ApproveBulkExport>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    approved: bool,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ExportId::parse)?;
    let now = state.now();
    let request = state
        .db
        .write(move |conn| exports::decide(conn, &auth, id, approved, now))
        .await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The approved export as CSV, once (no sensitive fields).
#[utoipa::path(
    tag = "exports",
    params(("id" = String, Path, description = "Export request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "CSV of the clients in scope", content_type = "text/csv"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved, expired or already downloaded", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/exports/{id}/download")]
pub async fn download(
    auth: Authorized<can::RequestBulkExport>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ExportId::parse)?;
    let now = state.now();
    let (_, csv) = state
        .db
        .write(move |conn| exports::download(conn, &auth, id, now))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"clients-{id}.csv\""),
        ))
        .body(csv))
}
