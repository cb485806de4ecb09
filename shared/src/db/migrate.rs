use super::DatabaseUrl;
use crate::error::{Error, Result};
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// One migration set per backend, same names and order, embedded in every binary.
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// An arbitrary constant naming salon-crm's migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK: i64 = 0x5a10_c12a;

/// Apply pending migrations; returns how many ran. Safe to call from several processes at
/// once: on PostgreSQL they queue on an advisory lock, on SQLite on the database lock.
pub fn run_migrations(url: &DatabaseUrl) -> Result<usize> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| Error::Internal(format!("migration failed: {e}"));
    match url {
        DatabaseUrl::Postgres(url) => {
            let mut conn = PgConnection::establish(url).map_err(|e| Error::Unavailable(e.to_string()))?;
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(&mut conn)?;
            let applied = conn.run_pending_migrations(POSTGRES).map(|v| v.len()).map_err(failed);
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(&mut conn)?;
            applied
        }
        DatabaseUrl::Sqlite(path) => {
            super::conn::create_parent_dir(path)?;
            let mut conn = SqliteConnection::establish(&path.display().to_string())
                .map_err(|e| Error::Unavailable(e.to_string()))?;
            conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
            conn.run_pending_migrations(SQLITE).map(|v| v.len()).map_err(failed)
        }
    }
}

/// The schema versions this binary can migrate to, oldest first, as diesel records them in
/// `__diesel_schema_migrations` (the folder name's date and number, e.g. "20261201000007").
pub fn known_schema_versions(postgres: bool) -> Vec<String> {
    let names = if postgres {
        MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
            .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
    } else {
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
            .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
    };
    let mut names: Vec<String> = names.unwrap_or_default();
    names.sort();
    names
}
