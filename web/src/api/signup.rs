//! `POST /api/v1/signup`: a salon chain subscribes, with its first owner.

use crate::extract::ApiJson;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::domain::{StaffId, TenantId};
use shared::tenancy::{self, NewSignup};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(example = "美丽人生美容连锁")]
    pub tenant_name: String,
    #[schema(example = "张丽")]
    pub owner_name: String,
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// The chain's default IANA time zone (stores may have their own).
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    #[schema(example = "zh-CN")]
    pub locale: String,
    /// ISO 3166-1 alpha-2; defaults to CN for zh-CN chains.
    #[schema(example = "CN")]
    pub country: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignupResponse {
    pub tenant_id: TenantId,
    pub owner_id: StaffId,
    /// A bearer token for the owner, shown only this once.
    pub token: String,
}

/// Sign a salon chain up: creates the tenant, its owner and the owner's session at once.
#[utoipa::path(
    tag = "accounts",
    request_body = SignupRequest,
    responses(
        (status = 201, body = SignupResponse),
        (status = 409, description = "The email already has an account", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many signups from this address (`LOGIN_LIMIT_PER_IP` a minute)", body = crate::problem::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/signup")]
pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<SignupRequest>,
) -> ApiResult<HttpResponse> {
    state
        .limits
        .signup(state.client_address(&req))
        .map_err(ApiError::TooManyRequests)?;
    let body = body.0;
    let new = NewSignup::parse(
        &body.tenant_name,
        &body.owner_name,
        &body.email,
        &body.password,
        &body.timezone,
        &body.locale,
        body.country.as_deref(),
    )?;
    let outcome = tenancy::signup(&state.db, new, state.now(), state.config.session_ttl).await?;
    Ok(HttpResponse::Created().json(SignupResponse {
        tenant_id: outcome.tenant_id,
        owner_id: outcome.owner_id,
        token: outcome.token.into_inner(),
    }))
}
