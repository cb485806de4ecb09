//! `/api/v1/staff`: staff accounts, their roles and stores.

use super::{created, nullable, path_id, Page, PageQuery};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::domain::{EmailAddress, Name, Password, PasswordHash, PhoneText, Role, StaffId, StoreId};
use shared::staff::{self, InitialPassword, NewStaff, StaffFilter, StaffMember, StaffPatch};
use shared::{Error, FieldErrors};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    #[schema(example = "王芳")]
    pub name: String,
    pub email: String,
    /// Leave out to invite the member by email: they choose their password with the link (72
    /// hours). Owners only: a first password (at least 10 characters) for a salon without
    /// email, which the member must replace at first login.
    pub password: Option<String>,
    pub phone: Option<String>,
    pub role: Role,
    /// Required for store roles (store_manager, front_desk, beautician); absent for HQ roles.
    pub store_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaff {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Refused: nobody sets another member's password (they use `PUT /api/v1/me/password`
    /// or a reset link).
    pub password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub phone: Option<Option<String>>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "nullable")]
    pub store_id: Option<Option<String>>,
    /// `false` deactivates the account: it cannot log in and its sessions end at once.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StaffQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Only staff of this store.
    pub store_id: Option<String>,
    pub role: Option<Role>,
}

async fn hash(password: Password) -> Result<PasswordHash, ApiError> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| ApiError::Model(Error::Internal(e.to_string())))?
        .map_err(ApiError::from)
}

/// List staff, optionally of one store or role.
#[utoipa::path(
    tag = "staff",
    params(StaffQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<StaffMember>), (status = 422, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
#[get("/staff")]
pub async fn list(
    auth: Authorized<can::ViewStaff>,
    state: web::Data<AppState>,
    query: ApiQuery<StaffQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let query = query.0;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    let mut errors = FieldErrors::default();
    let store_id = errors
        .check("store_id", query.store_id.as_deref().map(StoreId::parse).transpose())
        .flatten();
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let filter = StaffFilter {
        store_id,
        role: query.role,
    };
    let members = state
        .db
        .read(move |conn| staff::list(conn, &tenant, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(members)))
}

/// Add a staff member. Without `password` they are invited: an email with a link to choose
/// their password goes out (`password_state: invited`). With one (owners only) they must
/// choose their own at first login (`password_state: must_change`).
#[utoipa::path(
    tag = "staff",
    request_body = CreateStaff,
    security(("bearer" = [])),
    responses(
        (status = 201, body = StaffMember),
        (status = 403, description = "Not allowed, or a password set by someone other than an owner", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[post("/staff")]
pub async fn create(
    auth: Authorized<can::ManageStaff>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<CreateStaff>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", Name::parse(&body.name));
    let email = errors.check("email", EmailAddress::parse(&body.email));
    let password = errors.check("password", body.password.as_deref().map(Password::parse).transpose());
    let phone = errors.check("phone", body.phone.as_deref().map(PhoneText::parse).transpose());
    let store_id = errors.check("store_id", body.store_id.as_deref().map(StoreId::parse).transpose());
    let (Some(name), Some(email), Some(password), Some(phone), Some(store_id)) =
        (name, email, password, phone, store_id)
    else {
        return Err(errors.into());
    };
    let new = NewStaff {
        name,
        email,
        phone,
        role: body.role,
        store_id,
    };
    let initial = match password {
        // Refused before the (slow) hashing when the caller is no owner.
        Some(_) if auth.actor.role != Role::Owner => {
            return Err(Error::Forbidden(
                "only an owner sets a first password; leave `password` out and the member is invited by email",
            )
            .into())
        }
        Some(password) => InitialPassword::SetByOwner(hash(password).await?),
        None => InitialPassword::Invite {
            public_base_url: state.public_base_url(&req),
        },
    };
    let now = state.now();
    let member = state
        .db
        .write(move |conn| staff::create(conn, &auth, new, initial, now))
        .await?;
    Ok(created(format!("/api/v1/staff/{}", member.id), &member))
}

/// One staff member.
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path, description = "Staff id")),
    security(("bearer" = [])),
    responses((status = 200, body = StaffMember), (status = 404, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
#[get("/staff/{id}")]
pub async fn get(
    auth: Authorized<can::ViewStaff>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, StaffId::parse)?;
    let member = state.db.read(move |conn| staff::get(conn, &tenant, id)).await?;
    Ok(HttpResponse::Ok().json(member))
}

/// Change a staff member: name, contact, role and store, or deactivate them. Not their
/// password: nobody sets another member's (422 `password`).
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path, description = "Staff id")),
    request_body = UpdateStaff,
    security(("bearer" = [])),
    responses(
        (status = 200, body = StaffMember),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave the tenant without an owner, or the email is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/staff/{id}")]
pub async fn update(
    auth: Authorized<can::ManageStaff>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<UpdateStaff>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, StaffId::parse)?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let name = errors
        .check("name", body.name.as_deref().map(Name::parse).transpose())
        .flatten();
    let email = errors
        .check("email", body.email.as_deref().map(EmailAddress::parse).transpose())
        .flatten();
    let phone = errors
        .check(
            "phone",
            body.phone
                .map(|p| p.as_deref().map(PhoneText::parse).transpose())
                .transpose(),
        )
        .flatten();
    let store_id = errors
        .check(
            "store_id",
            body.store_id
                .map(|s| s.as_deref().map(StoreId::parse).transpose())
                .transpose(),
        )
        .flatten();
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let patch = StaffPatch {
        name,
        email,
        phone,
        role: body.role,
        store_id,
        active: body.active,
        sets_password: body.password.is_some(),
    };
    let now = state.now();
    let member = state
        .db
        .write(move |conn| staff::update(conn, &auth, id, patch, now))
        .await?;
    Ok(HttpResponse::Ok().json(member))
}

/// Remove a staff member from the team (their history stays; they can no longer log in).
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path, description = "Staff id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/staff/{id}")]
pub async fn delete(
    auth: Authorized<can::ManageStaff>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, StaffId::parse)?;
    let now = state.now();
    state.db.write(move |conn| staff::delete(conn, &auth, id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
