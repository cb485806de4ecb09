//! salon-crm's web service: the JSON API under `/api/v1`, the clients' public pages, and the
//! operator surface (`/healthz`, `/readyz`, `/metrics`, `/api/openapi.json`).
//!
//! Handlers are thin: extract and parse, call `shared`, map the result. Errors become
//! problem+json in exactly one place, [`problem`].

pub mod api;
pub mod assets;
pub mod console;
pub mod demo;
pub mod extract;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod problem;
pub mod startup;
pub mod state;
pub mod strict_json;
