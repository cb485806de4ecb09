//! End-to-end tests of the HTTP API, each on SQLite and on PostgreSQL.

// A failed unwrap is a failed test, with the line that failed.
#![allow(clippy::unwrap_used)]

mod accounts;
mod bad_input;
mod clients;
mod email_delivery;
mod imports;
mod isolation;
mod lookup;
mod operations;
mod outreach;
mod survey_page;
mod unsubscribe;
mod care_report;
mod privacy;
mod roles;
mod services;
mod sms_providers;
mod stores;
mod templates;
mod visits;
mod worker;
