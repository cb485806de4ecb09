//! salon-crm's model, shared by the web service and the worker: domain types parsed at the
//! edge, the database (both backends), tenant-scoped data access and configuration.
//!
//! Every function that reads or writes tenant data takes a [`tenancy::Tenant`], which only
//! the authentication code (from a credential) and the worker (from a tenant row) can make.

pub mod audit;
pub mod clients;
pub mod clock;
pub mod complaints;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod exports;
pub mod files;
pub mod idempotency;
pub mod import;
pub mod imports;
pub mod input;
pub mod loadgen;
pub mod outreach;
pub mod pagination;
pub mod process;
pub mod reports;
pub mod search;
pub mod services;
pub mod staff;
pub mod stores;
pub mod surveys;
pub mod tenancy;
pub mod today;
pub mod visits;

pub use error::{Error, FieldError, FieldErrors, Result};
