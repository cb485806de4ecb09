use crate::error::{Error, Result};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One connection type for both backends. Most queries are written once against it; the few
/// that differ match on the variant (see `backend` modules).
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// `DATABASE_URL`, parsed: `sqlite://PATH` or `postgres://…` / `postgresql://…`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    // The PostgreSQL URL may carry a password: show only its scheme.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(_) => f.write_str("postgres://…"),
        }
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> std::result::Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/salon-crm.db".into());
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else {
            Err("DATABASE_URL must start with sqlite:// or postgres://".into())
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    fn connection_string(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => path.display().to_string(),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

/// Per-connection settings: SQLite gets WAL (readers never block the writer), a busy timeout
/// (writers queue instead of failing), and enforced foreign keys.
#[derive(Debug)]
struct ConnectionSetup;

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut AnyConnection) -> std::result::Result<(), diesel::r2d2::Error> {
        match conn {
            AnyConnection::Sqlite(sqlite) => sqlite
                .batch_execute(SQLITE_PRAGMAS)
                .map_err(diesel::r2d2::Error::QueryError),
            // Every session speaks UTC so that nothing depends on the server's zone.
            AnyConnection::Postgresql(pg) => pg
                .batch_execute("SET TIME ZONE 'UTC'")
                .map_err(diesel::r2d2::Error::QueryError),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// The pool, and the two ways in: [`Db::read`] and [`Db::write`]. Both run the closure on
/// tokio's blocking threads, because diesel is synchronous.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<AnyConnection>>,
    url: DatabaseUrl,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Db {
    /// Connect (creating the SQLite file and its folder if needed) and run pending migrations.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self> {
        if let DatabaseUrl::Sqlite(path) = url {
            create_parent_dir(path)?;
        }
        super::run_migrations(url)?;
        Self::connect_without_migrating(url, pool_size)
    }

    pub fn connect_without_migrating(url: &DatabaseUrl, pool_size: u32) -> Result<Self> {
        let manager = ConnectionManager::<AnyConnection>::new(url.connection_string());
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(ConnectionSetup))
            .build(manager)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(Db { pool, url: url.clone() })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            max: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Run `f` with a connection, outside any explicit transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| Error::Unavailable(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Run `f` in one transaction: all of it commits, or none of it. On SQLite the
    /// transaction takes the write lock at its start (`BEGIN IMMEDIATE`), so two writers
    /// queue on the busy timeout instead of one failing when it upgrades a read lock.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    {
        self.read(move |conn| write_transaction(conn, f)).await
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.read(|conn| {
            conn.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
    }
}

/// [`Db::write`]'s transaction, for code that already holds a connection.
pub fn write_transaction<T, F>(conn: &mut AnyConnection, f: F) -> Result<T>
where
    F: FnOnce(&mut AnyConnection) -> Result<T>,
{
    match conn {
        AnyConnection::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?,
        AnyConnection::Postgresql(pg) => {
            <AnsiTransactionManager as TransactionManager<diesel::PgConnection>>::begin_transaction(pg)?
        }
    }
    match f(conn) {
        Ok(value) => {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // The caller's error is the one worth reporting; a failed rollback is logged.
            if let Err(rollback) = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

/// Creates the folder an SQLite database file goes in (the first start, or `migrate` on a fresh
/// machine).
pub(crate) fn create_parent_dir(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| Error::Unavailable(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}
