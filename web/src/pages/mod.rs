//! The clients' public pages: the survey (`/s/{token}`) and the unsubscribe page
//! (`/u/{token}`). Server-rendered HTML that works without JavaScript, phone first, in the
//! client's locale. Not part of the JSON API (nor of its OpenAPI document).

pub mod html;
pub mod survey;
pub mod unsubscribe;

/// The pages' routes, beside the API's.
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    survey::routes(cfg);
    unsubscribe::routes(cfg);
}
