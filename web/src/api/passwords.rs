//! Staff passwords, chosen by the member only (`shared::tenancy::passwords`): a reset link by
//! email, setting a password with a link's (or a first login's) token, and changing one's own.

use crate::extract::{ApiJson, Authenticated};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use actix_web::{post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::domain::{EmailAddress, Password};
use shared::tenancy::passwords::{self, Lookup};
use shared::{Error, FieldErrors};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetAccepted {
    pub message: &'static str,
}

/// Ask for a password reset link by email. The answer is the same whether or not the address
/// is an account's; an account gets a mail with a link valid one hour. Limited like logins
/// (per address asked about and per client address): beyond that 429 with `Retry-After`.
#[utoipa::path(
    tag = "accounts",
    request_body = ResetRequest,
    responses(
        (status = 202, body = ResetAccepted),
        (status = 429, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/password_resets")]
pub async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<ResetRequest>,
) -> ApiResult<HttpResponse> {
    let email = body.0.email;
    state
        .limits
        .login(state.client_address(&req), &email)
        .map_err(ApiError::TooManyRequests)?;
    // A malformed address is no account's: the same answer.
    if let Ok(email) = EmailAddress::parse(&email) {
        let base = state.public_base_url(&req);
        let now = state.now();
        state
            .db
            .write(move |conn| passwords::request_reset(conn, &email, &base, now))
            .await?;
    }
    Ok(HttpResponse::Accepted().json(ResetAccepted {
        message: "If the address belongs to an account, a link to choose a new password is on its way.",
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// At least 10 characters.
    pub password: String,
}

/// Why a link's token no longer sets a password, as the API answers it.
pub fn closed(lookup: &Lookup) -> Error {
    match lookup {
        Lookup::Used(_) => Error::Gone {
            code: "link_used",
            message: "this link was used already; ask for a new one".into(),
        },
        Lookup::Expired(_) => Error::Gone {
            code: "link_expired",
            message: "this link has expired; ask for a new one".into(),
        },
        Lookup::Unknown | Lookup::Open(_) => Error::NotFound,
    }
}

/// Choose a password with the token of an invitation or reset link, or the one a first login
/// with an owner-set password answered with. Single use: every session of the member ends.
/// 404 unknown, 410 used (`link_used`) or expired (`link_expired`).
#[utoipa::path(
    tag = "accounts",
    params(("token" = String, Path, description = "The link's token")),
    request_body = SetPassword,
    responses(
        (status = 204, description = "The password is set; log in with it"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/password_tokens/{token}")]
pub async fn set_with_token(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: ApiJson<SetPassword>,
) -> ApiResult<HttpResponse> {
    let password = Password::parse(&body.0.password).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.check("password", Err::<(), _>(e));
        ApiError::from(errors)
    })?;
    let now = state.now();
    match passwords::set_with_token(&state.db, token.into_inner(), password, now).await? {
        Lookup::Open(_) => Ok(HttpResponse::NoContent().finish()),
        other => Err(closed(&other).into()),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

/// Change one's own password, giving the current one. Every session ends, this one too: log
/// in again with the new password. A wrong current password is 403 (limited like logins).
#[utoipa::path(
    tag = "accounts",
    request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; every session ended"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[put("/me/password")]
pub async fn change_own(
    auth: Authenticated,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<ChangePassword>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let new = errors.check("new_password", Password::parse(&body.new_password));
    let Some(new) = new else {
        return Err(errors.into());
    };
    // Guessing the current password with a stolen session is limited like a login.
    state
        .limits
        .login(state.client_address(&req), &format!("staff:{}", auth.actor.staff_id))
        .map_err(ApiError::TooManyRequests)?;
    let current = Password::attempt(&body.current_password);
    passwords::change_own(&state.db, &auth, current, new, state.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
