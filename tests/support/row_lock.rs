//! A row held locked from outside the app, on PostgreSQL: to make a race happen every time.
//! A test locks a row, starts the operations that would race, waits until they queue behind
//! the lock (`pg_stat_activity`), acts, then releases it: the interleaving a busy production
//! database produces now and then, produced on purpose. (SQLite serialises writers, so the
//! races these tests are about cannot happen there.)

use diesel::connection::{Connection, SimpleConnection};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `SELECT … FOR UPDATE` on one row, held by a connection of its own until released.
pub struct RowLock {
    release: mpsc::Sender<()>,
    done: Option<std::thread::JoinHandle<()>>,
    database_url: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl RowLock {
    /// Lock the row of `table` whose `id` is `id` (every table here is keyed by id).
    pub fn hold(database_url: &str, table: &str, id: &str) -> RowLock {
        let (locked_tx, locked_rx) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let url = database_url.to_owned();
        let query = format!(
            "SELECT count(*) AS n FROM (SELECT id FROM \"{}\" WHERE id = $1 FOR UPDATE) AS held",
            table.replace('"', "")
        );
        let id = id.to_owned();
        let done = std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&url).expect("connect to PostgreSQL");
            conn.batch_execute("BEGIN").expect("begin");
            let held = diesel::sql_query(query)
                .bind::<diesel::sql_types::Text, _>(&id)
                .get_result::<Count>(&mut conn)
                .expect("lock the row")
                .n;
            locked_tx.send(held).expect("report the lock");
            let _ = release_rx.recv();
            conn.batch_execute("COMMIT").expect("release the lock");
        });
        let held = locked_rx.recv().expect("the lock thread reports");
        assert_eq!(held, 1, "the row to lock exists");
        RowLock {
            release,
            done: Some(done),
            database_url: database_url.to_owned(),
        }
    }

    /// Wait (up to 30 s) until at least `count` sessions of this database wait for a lock.
    pub async fn wait_for_waiters(&self, count: i64) {
        let url = self.database_url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).expect("connect to PostgreSQL");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let waiting = diesel::sql_query(
                    "SELECT count(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .get_result::<Count>(&mut conn)
                .expect("read pg_stat_activity")
                .n;
                if waiting >= count {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "only {waiting} of {count} sessions came to wait for the lock"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .await
        .expect("wait for the lock's waiters");
    }

    /// Commit the locking transaction; the waiters go on.
    pub fn release(mut self) {
        let _ = self.release.send(());
        if let Some(done) = self.done.take() {
            done.join().expect("the lock thread ends");
        }
    }
}

impl Drop for RowLock {
    fn drop(&mut self) {
        let _ = self.release.send(());
    }
}
