//! `GET /api/v1/me`: who the token belongs to, and their tenant.

use crate::extract::Authenticated;
use crate::problem::ApiResult;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use shared::staff::{self, StaffMember};
use shared::tenancy::TenantProfile;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub staff: StaffMember,
    pub tenant: TenantView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    pub id: shared::domain::TenantId,
    pub name: String,
    pub timezone: String,
    pub locale: String,
    pub country: Option<String>,
}

/// The logged-in staff member and their tenant.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
#[get("/me")]
pub async fn me(auth: Authenticated, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let (member, tenant) = state
        .db
        .read(move |conn| {
            let member = staff::get(conn, &auth.tenant, auth.actor.staff_id)?;
            let tenant = TenantProfile::load(conn, &auth.tenant)?;
            Ok((member, tenant))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MeResponse {
        staff: member,
        tenant: TenantView {
            id: tenant.id,
            name: tenant.name,
            timezone: tenant.timezone,
            locale: tenant.locale,
            country: tenant.country,
        },
    }))
}
