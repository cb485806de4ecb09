//! The public pages: the clients' survey (`/s/{token}`) and unsubscribe page (`/u/{token}`),
//! and the page where staff choose their password (`/app/password/{token}`). Server-rendered
//! HTML that works without JavaScript, phone first, in the reader's locale. Not part of the
//! JSON API (nor of its OpenAPI document).

pub mod html;
pub mod password;
pub mod survey;
pub mod unsubscribe;

/// The pages' routes, beside the API's.
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    survey::routes(cfg);
    password::routes(cfg);
    unsubscribe::routes(cfg);
}
