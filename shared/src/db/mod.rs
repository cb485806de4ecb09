//! The database: one schema, two backends (PostgreSQL in production, SQLite embedded), a
//! connection pool, and the only place where diesel runs (off the async executor).

pub mod backend;
pub mod backup;
mod conn;
mod migrate;
pub mod schema;

pub use conn::{write_transaction, AnyConnection, DatabaseUrl, Db, PoolState};
pub use migrate::{known_schema_versions, run_migrations};

use chrono::{DateTime, NaiveDateTime, Utc};

/// Times are stored as UTC in a plain TIMESTAMP column on both backends, to the microsecond
/// (PostgreSQL's precision; SQLite would keep nanoseconds, and the two must agree).
pub fn to_db_time(time: DateTime<Utc>) -> NaiveDateTime {
    use chrono::Timelike;
    let naive = time.naive_utc();
    naive.with_nanosecond(naive.nanosecond() / 1000 * 1000).unwrap_or(naive)
}

pub fn from_db_time(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}
