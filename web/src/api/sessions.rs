//! `/api/v1/sessions`: log in and out.

use crate::extract::{ApiJson, Authenticated};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{delete, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::{Password, Role, StaffId, TenantId};
use shared::tenancy::{self, LoginAttempt};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub tenant_id: TenantId,
    pub staff_id: StaffId,
    pub role: Role,
}

/// Log in with email and password. Any failure is the same 401. Attempts are limited per
/// account and per client address (`LOGIN_LIMIT_PER_ACCOUNT`, `LOGIN_LIMIT_PER_IP` a minute):
/// beyond them 429 with `Retry-After`, before the password is checked. The right password of a
/// member whose first password an owner set opens no session: 403 `password_change_required`
/// with a `password_token` for choosing their own (`PUT /api/v1/password_tokens/{token}`).
#[utoipa::path(
    tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`password_change_required`: choose your own password with `password_token` first", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, body = crate::problem::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/sessions")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> ApiResult<HttpResponse> {
    state
        .limits
        .login(state.client_address(&req), &body.0.email)
        .map_err(ApiError::TooManyRequests)?;
    let attempt = LoginAttempt {
        email: body.0.email,
        password: Password::attempt(&body.0.password),
    };
    let now = state.now();
    let ttl = state.config.session_ttl;
    let (token, auth) = tenancy::login(&state.db, attempt, now, ttl).await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: token.into_inner(),
        expires_at: now + ttl,
        tenant_id: auth.tenant.id(),
        staff_id: auth.actor.staff_id,
        role: auth.actor.role,
    }))
}

/// Log out: the token used for this request stops working.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
#[delete("/sessions/current")]
pub async fn logout(auth: Authenticated, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let now = state.now();
    state.db.write(move |conn| tenancy::logout(conn, &auth, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
