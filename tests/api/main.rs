//! End-to-end tests of the HTTP API, each on SQLite and on PostgreSQL.

// A failed unwrap is a failed test, with the line that failed.
#![allow(clippy::unwrap_used)]

mod accounts;
mod bad_input;
mod clients;
mod imports;
mod isolation;
mod lookup;
mod operations;
mod privacy;
mod roles;
mod services;
mod stores;
mod visits;
mod worker;
mod sms_providers;
mod email_delivery;
mod templates;
mod outreach;
