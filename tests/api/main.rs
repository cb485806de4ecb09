//! End-to-end tests of the HTTP API, each on SQLite and on PostgreSQL.

// A failed unwrap is a failed test, with the line that failed.
#![allow(clippy::unwrap_used)]

mod abuse;
mod accounts;
mod backup;
mod bad_input;
mod browser;
mod care_report;
mod clients;
mod console;
mod crash_recovery;
mod drills;
mod email_delivery;
mod erasure;
mod hardening;
mod imports;
mod invitations;
mod isolation;
mod lookup;
mod operations;
mod outreach;
mod privacy;
mod roles;
mod scale_out;
mod scenario;
mod services;
mod sms_providers;
mod stores;
mod survey_page;
mod templates;
mod unsubscribe;
mod visits;
mod worker;
