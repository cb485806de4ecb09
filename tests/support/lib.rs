//! The end-to-end harness: every test gets a fresh database (a new SQLite file, or a new
//! PostgreSQL database cloned from a migrated template) and the real `web` binary listening
//! on a free port. The worker is driven the same way, through the real `worker` binary.
//!
//! PostgreSQL comes from `TEST_POSTGRES_URL` (an admin URL; `scripts/test` starts a
//! throwaway cluster and sets it), defaulting to the local server on 5432.

mod app;
mod binaries;
pub mod cluster;
pub mod console;
pub mod database_text;
pub mod fakes;
mod postgres;
pub mod row_lock;

pub use app::{test_data_keys, Replica, Response, Session, TestApp, FIRST_PASSWORD, PASSWORD};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run each named `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}
