//! The JSON API under `/api/v1`, one module per resource, plus the route table.

pub mod audit;
pub mod clients;
pub mod complaints;
pub mod exports;
pub mod imports;
pub mod inbound;
pub mod me;
pub mod messages;
pub mod passwords;
pub mod reports;
pub mod services;
pub mod sessions;
pub mod settings;
pub mod signup;
pub mod staff;
pub mod stores;
pub mod support;
pub mod surveys;
pub mod templates;
pub mod visits;

use crate::problem::ApiError;
use actix_web::http::header;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use shared::pagination::PageRequest;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every route of the service. The OpenAPI document is collected from this same table.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(crate::health::healthz)
        .service(crate::health::readyz)
        .service(crate::health::metrics)
        .service(crate::openapi::document)
        .service(crate::openapi::docs_page)
        .service(
            utoipa_actix_web::scope("/api/v1")
                .service(signup::signup)
                .service(sessions::login)
                .service(sessions::logout)
                .service(me::me)
                .service(passwords::change_own)
                .service(passwords::request_reset)
                .service(passwords::set_with_token)
                .service(stores::list)
                .service(stores::create)
                .service(stores::get)
                .service(stores::update)
                .service(stores::delete)
                .service(staff::list)
                .service(staff::create)
                .service(staff::get)
                .service(staff::update)
                .service(staff::delete)
                .service(clients::list)
                .service(clients::create)
                .service(clients::get)
                .service(clients::update)
                .service(clients::delete)
                .service(clients::timeline)
                .service(clients::export)
                .service(clients::erase)
                .service(services::list)
                .service(services::create)
                .service(services::get)
                .service(services::update)
                .service(services::delete)
                .service(visits::list)
                .service(visits::create)
                .service(visits::get)
                .service(visits::update)
                .service(visits::delete)
                .service(visits::void)
                .service(audit::list)
                .service(imports::clients)
                .service(imports::visits)
                .service(exports::list)
                .service(exports::create)
                .service(exports::get)
                .service(exports::approve)
                .service(exports::reject)
                .service(exports::download)
                .service(messages::list)
                .service(messages::get)
                .service(messages::retry)
                .service(messages::cancel)
                .service(settings::get)
                .service(settings::replace)
                .service(complaints::create)
                .service(complaints::get)
                .service(complaints::record_step)
                .service(complaints::update)
                .service(complaints::list)
                .service(surveys::list)
                .service(reports::care)
                .service(inbound::routes())
                .service(templates::list)
                .service(templates::create)
                .service(templates::get)
                .service(templates::update)
                .service(templates::delete),
        );
}

/// `?limit=&cursor=` on every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn page(self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.limit, self.cursor)?)
    }
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

impl<T> From<shared::pagination::Page<T>> for Page<T> {
    fn from(page: shared::pagination::Page<T>) -> Self {
        Page {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// An id from the path. A malformed id names nothing, so it is 404 like an absent one.
pub fn path_id<T>(raw: &str, parse: impl Fn(&str) -> Result<T, shared::FieldError>) -> Result<T, ApiError> {
    parse(raw).map_err(|_| ApiError::NotFound)
}

/// 201 with a `Location` header and the created record.
pub fn created(location: String, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

pub use shared::input::nullable;
