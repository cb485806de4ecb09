//! `/api/v1/stores`: a chain's stores (门店).

use super::{created, nullable, path_id, Page, PageQuery};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::ApiResult;
use crate::state::AppState;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use shared::domain::{Name, PhoneText, QuietHours, StoreId, Text, TimeZone};
use shared::stores::{self, NewStore, Store, StorePatch};
use shared::{FieldError, FieldErrors};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursInput {
    #[schema(example = "21:00")]
    pub start: String,
    #[schema(example = "09:00")]
    pub end: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStore {
    #[schema(example = "静安店")]
    pub name: String,
    /// IANA time zone; defaults to the tenant's.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: Option<String>,
    pub address: Option<String>,
    #[schema(example = "021-6123 4567")]
    pub phone: Option<String>,
    /// Overrides the tenant's quiet hours for this store.
    pub quiet_hours: Option<QuietHoursInput>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStore {
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub quiet_hours: Option<Option<QuietHoursInput>>,
}

fn quiet_hours(input: &QuietHoursInput) -> Result<QuietHours, FieldError> {
    QuietHours::parse(&input.start, &input.end)
}

fn address(raw: &str) -> Result<Text, FieldError> {
    Text::parse(raw, 300)
}

impl TryFrom<CreateStore> for NewStore {
    type Error = FieldErrors;

    fn try_from(body: CreateStore) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", Name::parse(&body.name));
        let timezone = errors.check("timezone", body.timezone.as_deref().map(TimeZone::parse).transpose());
        let address = errors.check("address", body.address.as_deref().map(address).transpose());
        let phone = errors.check("phone", body.phone.as_deref().map(PhoneText::parse).transpose());
        let quiet = errors.check("quiet_hours", body.quiet_hours.as_ref().map(quiet_hours).transpose());
        match (name, timezone, address, phone, quiet) {
            (Some(name), Some(timezone), Some(address), Some(phone), Some(quiet_hours)) if errors.is_empty() => {
                Ok(NewStore {
                    name,
                    timezone,
                    address,
                    phone,
                    quiet_hours,
                })
            }
            _ => Err(errors),
        }
    }
}

impl TryFrom<UpdateStore> for StorePatch {
    type Error = FieldErrors;

    fn try_from(body: UpdateStore) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let patch = StorePatch {
            name: errors
                .check("name", body.name.as_deref().map(Name::parse).transpose())
                .flatten(),
            timezone: errors
                .check("timezone", body.timezone.as_deref().map(TimeZone::parse).transpose())
                .flatten(),
            address: errors
                .check(
                    "address",
                    body.address.map(|a| a.as_deref().map(address).transpose()).transpose(),
                )
                .flatten(),
            phone: errors
                .check(
                    "phone",
                    body.phone
                        .map(|p| p.as_deref().map(PhoneText::parse).transpose())
                        .transpose(),
                )
                .flatten(),
            quiet_hours: errors
                .check(
                    "quiet_hours",
                    body.quiet_hours
                        .map(|q| q.as_ref().map(quiet_hours).transpose())
                        .transpose(),
                )
                .flatten(),
        };
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }
}

/// List the tenant's stores.
#[utoipa::path(
    tag = "stores",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Store>), (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
#[get("/stores")]
pub async fn list(
    auth: Authorized<can::ViewStores>,
    state: web::Data<AppState>,
    query: ApiQuery<PageQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let page = query.0.page()?;
    let stores = state.db.read(move |conn| stores::list(conn, &tenant, &page)).await?;
    Ok(HttpResponse::Ok().json(Page::from(stores)))
}

/// Open a store.
#[utoipa::path(
    tag = "stores",
    request_body = CreateStore,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Store),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[post("/stores")]
pub async fn create(
    auth: Authorized<can::ManageStores>,
    state: web::Data<AppState>,
    body: ApiJson<CreateStore>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let new = NewStore::try_from(body.0)?;
    let now = state.now();
    let store = state
        .db
        .write(move |conn| stores::create(conn, &tenant, new, now))
        .await?;
    Ok(created(format!("/api/v1/stores/{}", store.id), &store))
}

/// One store.
#[utoipa::path(
    tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    security(("bearer" = [])),
    responses((status = 200, body = Store), (status = 404, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
#[get("/stores/{id}")]
pub async fn get(
    auth: Authorized<can::ViewStores>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, StoreId::parse)?;
    let store = state.db.read(move |conn| stores::get(conn, &tenant, id)).await?;
    Ok(HttpResponse::Ok().json(store))
}

/// Change a store; absent fields stay as they are, `null` clears an optional one.
#[utoipa::path(
    tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    request_body = UpdateStore,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Store),
        (status = 404, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/stores/{id}")]
pub async fn update(
    auth: Authorized<can::ManageStores>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<UpdateStore>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, StoreId::parse)?;
    let patch = StorePatch::try_from(body.0)?;
    let now = state.now();
    let store = state
        .db
        .write(move |conn| stores::update(conn, &tenant, id, patch, now))
        .await?;
    Ok(HttpResponse::Ok().json(store))
}

/// Close a store (its history stays). Refused while staff still work there.
#[utoipa::path(
    tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Closed"),
        (status = 404, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/stores/{id}")]
pub async fn delete(
    auth: Authorized<can::ManageStores>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, StoreId::parse)?;
    let now = state.now();
    state
        .db
        .write(move |conn| stores::delete(conn, &tenant, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
