//! Fresh PostgreSQL databases for tests: one migrated template per migration set, cloned per
//! test (much faster than migrating each database).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::hash::{Hash, Hasher};
use std::path::Path;

pub fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `postgres://…/postgres` with another database name.
pub fn url_for(database: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (admin.clone(), String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("TEST_POSTGRES_URL has a database path");
    format!("{server}/{database}{query}")
}

fn connect() -> PgConnection {
    PgConnection::establish(&admin_url()).unwrap_or_else(|e| {
        panic!("cannot reach PostgreSQL at TEST_POSTGRES_URL ({e}); run the tests with scripts/test, which starts one")
    })
}

/// A name that changes whenever a migration does, so a stale template is never used.
fn template_name() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in entries {
        path.to_string_lossy().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    format!("salon_template_{:016x}", hasher.finish())
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Identifiers cannot be bound as parameters; ours are generated, but quote them anyway.
fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Create a fresh, migrated database and return its name.
pub fn create_database() -> String {
    let mut admin = connect();
    let template = template_name();
    let name = format!("salon_test_{}", uuid::Uuid::new_v4().simple());
    // Test processes run in parallel: one at a time builds the template or clones it
    // (cloning needs the template to have no other connections).
    admin
        .batch_execute("SELECT pg_advisory_lock(5107)")
        .expect("advisory lock");
    let exists: i64 = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&template)
        .get_result::<Count>(&mut admin)
        .expect("query pg_database")
        .n;
    if exists == 0 {
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quoted(&template)))
            .expect("create template");
        let status = std::process::Command::new(super::binaries::path("web"))
            .arg("migrate")
            .env("DATABASE_URL", url_for(&template))
            .env("RUST_LOG", "warn")
            .status()
            .expect("run web migrate");
        assert!(status.success(), "migrating the template database failed");
    }
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quoted(&name),
            quoted(&template)
        ))
        .expect("clone the template database");
    admin
        .batch_execute("SELECT pg_advisory_unlock(5107)")
        .expect("advisory unlock");
    name
}

pub fn drop_database(name: &str) {
    if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(name)));
    }
}

/// Drop `name` and create it again, empty (not from the template): a lost database.
pub fn recreate_empty(name: &str) {
    let mut admin = connect();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(name)))
        .expect("drop the database");
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quoted(name)))
        .expect("create the database");
}

/// Wait (up to 10 s) until no client is connected to `name`: a killed process's sessions
/// end a moment after it does.
pub fn wait_until_unused(name: &str) {
    let mut admin = connect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let sessions = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Count>(&mut admin)
        .expect("query pg_stat_activity")
        .n;
        if sessions == 0 || std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
