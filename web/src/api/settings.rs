//! `/api/v1/settings`: the tenant's automation rules (hours, caps, thresholds, provider).

use super::support::{if_match, with_etag};
use crate::extract::{can, ApiJson, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use shared::outreach::settings::{self, CareSettings};

/// The rules in force (the defaults for anything never changed), with an `ETag`.
#[utoipa::path(tag = "settings", security(("bearer" = [])), responses((status = 200, body = CareSettings)))]
#[get("/settings")]
pub async fn get(auth: Authorized<can::ViewOutreach>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let current = state.db.read(move |conn| settings::load(conn, &tenant)).await?;
    Ok(with_etag(StatusCode::OK, current.version, &current.settings))
}

/// Replace the rules (fields left out take their defaults). `If-Match` guards against
/// overwriting a colleague's change (412).
#[utoipa::path(
    tag = "settings",
    request_body = CareSettings,
    security(("bearer" = [])),
    responses((status = 200, body = CareSettings), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/settings")]
pub async fn replace(
    auth: Authorized<can::ManageOutreach>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<CareSettings>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let new = body.0;
    new.validate()?;
    let expected = if_match(&req);
    let now = state.now();
    let saved = state
        .db
        .write(move |conn| settings::save(conn, &tenant, &new, expected, now))
        .await?;
    Ok(with_etag(StatusCode::OK, saved.version, &saved.settings))
}
