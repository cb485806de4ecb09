//! `GET /api/v1/audit`: who read sensitive data, exported, erased or approved what.

use super::Page;
use crate::extract::{can, ApiQuery, Authorized};
use crate::problem::ApiResult;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use shared::audit::{self, AuditEntry, AuditFilter};
use shared::pagination::PageRequest;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// e.g. read_sensitive, export_client, erase_client, bulk_export_downloaded.
    pub action: Option<String>,
    /// The record acted on (a client id, an export id…).
    pub subject_id: Option<String>,
}

/// The audit log, newest first (owners only).
#[utoipa::path(tag = "audit", params(AuditQuery), security(("bearer" = [])), responses((status = 200, body = Page<AuditEntry>)))]
#[get("/audit")]
pub async fn list(
    auth: Authorized<can::ViewAudit>,
    state: web::Data<AppState>,
    query: ApiQuery<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let query = query.0;
    let page = PageRequest::parse(query.limit, query.cursor)?;
    let filter = AuditFilter {
        action: query.action,
        subject_id: query.subject_id,
    };
    let entries = state
        .db
        .read(move |conn| audit::list(conn, &tenant, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(entries)))
}
