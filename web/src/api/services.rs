//! `/api/v1/services`: the service catalog.

use super::{created, nullable, path_id, Page};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use shared::domain::{parse_amount, Name, ServiceId, Text};
use shared::pagination::PageRequest;
use shared::services::{self, parse_duration_minutes, NewService, Service, ServiceFilter, ServicePatch};
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    #[schema(example = "深层补水护理")]
    pub name: String,
    #[schema(example = "面部护理")]
    pub category: Option<String>,
    #[schema(example = 60)]
    pub duration_minutes: Option<i32>,
    /// List price in minor units (分).
    #[schema(example = 39800)]
    pub price_cents: i64,
    /// Defaults to true.
    pub active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub duration_minutes: Option<Option<i32>>,
    pub price_cents: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServicesQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub active: Option<bool>,
    pub category: Option<String>,
}

fn category(raw: &str) -> Result<Text, shared::FieldError> {
    Text::parse(raw, 50)
}

/// The catalog.
#[utoipa::path(tag = "services", params(ServicesQuery), security(("bearer" = [])), responses((status = 200, body = Page<Service>)))]
#[get("/services")]
pub async fn list(
    auth: Authorized<can::ViewServices>,
    state: web::Data<AppState>,
    query: ApiQuery<ServicesQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let query = query.0;
    let page = PageRequest::parse(query.limit, query.cursor)?;
    let filter = ServiceFilter {
        active: query.active,
        category: query.category,
    };
    let services = state
        .db
        .read(move |conn| services::list(conn, &tenant, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(services)))
}

/// Add a service.
#[utoipa::path(
    tag = "services",
    request_body = CreateService,
    security(("bearer" = [])),
    responses((status = 201, body = Service), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/services")]
pub async fn create(
    auth: Authorized<can::ManageServices>,
    state: web::Data<AppState>,
    body: ApiJson<CreateService>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", Name::parse(&body.name));
    let category = errors.check("category", body.category.as_deref().map(category).transpose());
    let duration = errors.check(
        "duration_minutes",
        body.duration_minutes.map(parse_duration_minutes).transpose(),
    );
    let price = errors.check("price_cents", parse_amount(body.price_cents));
    let (Some(name), Some(category), Some(duration_minutes), Some(price_cents)) = (name, category, duration, price)
    else {
        return Err(errors.into());
    };
    let new = NewService {
        name,
        category,
        duration_minutes,
        price_cents,
        active: body.active.unwrap_or(true),
    };
    let now = state.now();
    let service = state
        .db
        .write(move |conn| services::create(conn, &tenant, new, now))
        .await?;
    Ok(created(format!("/api/v1/services/{}", service.id), &service))
}

/// One service.
#[utoipa::path(
    tag = "services",
    params(("id" = String, Path, description = "Service id")),
    security(("bearer" = [])),
    responses((status = 200, body = Service), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/services/{id}")]
pub async fn get(
    auth: Authorized<can::ViewServices>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, ServiceId::parse)?;
    let service = state.db.read(move |conn| services::get(conn, &tenant, id)).await?;
    Ok(HttpResponse::Ok().json(service))
}

/// Change a service (past visits keep what they were charged).
#[utoipa::path(
    tag = "services",
    params(("id" = String, Path, description = "Service id")),
    request_body = UpdateService,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Service),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/services/{id}")]
pub async fn update(
    auth: Authorized<can::ManageServices>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<UpdateService>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, ServiceId::parse)?;
    let body = body.0;
    let mut errors = FieldErrors::default();
    let patch = ServicePatch {
        name: errors
            .check("name", body.name.as_deref().map(Name::parse).transpose())
            .flatten(),
        category: errors
            .check(
                "category",
                body.category
                    .map(|c| c.as_deref().map(category).transpose())
                    .transpose(),
            )
            .flatten(),
        duration_minutes: errors
            .check(
                "duration_minutes",
                body.duration_minutes
                    .map(|d| d.map(parse_duration_minutes).transpose())
                    .transpose(),
            )
            .flatten(),
        price_cents: errors
            .check("price_cents", body.price_cents.map(parse_amount).transpose())
            .flatten(),
        active: body.active,
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let now = state.now();
    let service = state
        .db
        .write(move |conn| services::update(conn, &tenant, id, patch, now))
        .await?;
    Ok(HttpResponse::Ok().json(service))
}

/// Remove a service from the catalog.
#[utoipa::path(
    tag = "services",
    params(("id" = String, Path, description = "Service id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/services/{id}")]
pub async fn delete(
    auth: Authorized<can::ManageServices>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, ServiceId::parse)?;
    let now = state.now();
    state
        .db
        .write(move |conn| services::delete(conn, &tenant, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
