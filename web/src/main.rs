//! `web`: the salon-crm web service. `web` (or `web serve`) runs it, `web migrate` applies
//! migrations and exits, `web demo` runs it on a fresh demo database.

use anyhow::Context;
use clap::{Parser, Subcommand};
use shared::clock::{SharedClock, SystemClock};
use shared::config::Config;
use shared::db::{run_migrations, DatabaseUrl, Db};
use std::sync::Arc;
use tokio::sync::watch;
use web::startup::Application;
use worker::runner::Schedule;
use worker::Care;

#[derive(Parser)]
#[command(
    name = "web",
    version,
    about = "salon-crm web service (configured by environment variables; see README)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and pages (the default). With SQLite the worker runs in-process too.
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Serve a fresh demo database (a chain, two stores, staff of every role) and print how
    /// to log in. Uses its own SQLite file, recreated on each start.
    Demo {
        #[arg(long, default_value = "data/demo.db")]
        db: std::path::PathBuf,
    },
    /// Write a consistent copy of the whole database to one file, while the service runs
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump). The data keys are not in it: back them up
    /// separately. Exit 0 done, 1 failed, 3 refused.
    Backup {
        /// The backup file to write, e.g. backups/salon-crm-2026-12-01.backup.
        #[arg(long)]
        to: std::path::PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the database with a backup made by `web backup`, after checking it (checksum,
    /// backend, schema). Stop the web service and workers first. Exit 0 done, 1 failed (the
    /// database was not changed), 3 refused (nothing was changed).
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// Only check the file (and a trial read of its data); change nothing.
        #[arg(long)]
        check: bool,
        /// PostgreSQL: restore although other sessions are connected to the database.
        #[arg(long)]
        force: bool,
    },
    /// Re-encrypt clients' sensitive fields under the first key of DATA_KEYS (after a new key
    /// was put first); then the old keys can be removed.
    RotateKeys,
    /// Generate load-test data into DATABASE_URL: tenants with two stores each, clients and
    /// visits, written through the import path. Writes the load script's fixtures (tokens,
    /// queries, client ids) to --fixtures.
    SeedLoad {
        #[arg(long, default_value_t = 100)]
        tenants: u32,
        /// Clients in all, spread evenly over the tenants.
        #[arg(long, default_value_t = 100_000)]
        clients: u32,
        /// Visits in all, spread evenly over the clients.
        #[arg(long, default_value_t = 1_000_000)]
        visits: u32,
        #[arg(long, default_value = "bench/out/fixtures.tsv")]
        fixtures: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::from_env()?;
    shared::process::init_logs(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let url = config.database_url.clone();
            let applied = tokio::task::spawn_blocking(move || run_migrations(&url)).await??;
            tracing::info!(applied, "migrations applied");
            Ok(())
        }
        Command::Serve => serve(config, None).await,
        Command::RotateKeys => {
            let url = config.database_url.clone();
            let pool = config.db_pool_size;
            let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool)).await??;
            let keys = Arc::new(config.keyring()?);
            let rotated = shared::clients::rotate_keys(&db, keys.clone()).await?;
            println!("{rotated} values re-encrypted under key {}", keys.current_key_id());
            Ok(())
        }
        Command::Backup { to, force } => {
            let run = move || shared::db::backup::backup(&config, &to, force);
            finish(tokio::task::spawn_blocking(run).await?)
        }
        Command::Restore { from, check, force } => {
            let options = shared::db::backup::RestoreOptions {
                check_only: check,
                force,
            };
            let run = move || shared::db::backup::restore(&config, &from, options);
            finish(tokio::task::spawn_blocking(run).await?)
        }
        Command::SeedLoad {
            tenants,
            clients,
            visits,
            fixtures,
        } => web::demo::seed_load(&config, tenants, clients, visits, &fixtures).await,
        Command::Demo { db } => {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = db.clone().into_os_string();
                path.push(suffix);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
            config.database_url = DatabaseUrl::Sqlite(db);
            config.embedded_worker = true;
            serve(config, Some(Demo)).await
        }
    }
}

/// A backup command's report on stdout, or its error on stderr and its exit code (1 failed,
/// 3 refused).
fn finish<T: std::fmt::Display>(result: Result<T, shared::db::backup::BackupError>) -> anyhow::Result<()> {
    match result {
        Ok(report) => {
            println!("{report}");
            Ok(())
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(error.exit_code())
        }
    }
}

struct Demo;

async fn serve(config: Config, demo: Option<Demo>) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    let url = config.database_url.clone();
    let pool_size = config.db_pool_size;
    let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool_size))
        .await?
        .with_context(|| format!("cannot open the database {:?}", config.database_url))?;
    let demo_data = match demo {
        Some(Demo) => {
            let keys = Arc::new(config.keyring()?);
            Some(web::demo::seed(&db, &keys, clock.now()).await?)
        }
        None => None,
    };

    let demo_outbox = demo_data.as_ref().map(|_| match &config.database_url {
        DatabaseUrl::Sqlite(path) => path.with_file_name("outbox"),
        DatabaseUrl::Postgres(_) => std::path::PathBuf::from("data/outbox"),
    });
    let embedded_worker = config
        .embedded_worker
        .then(|| Care::from_config(&config, db.clone()))
        .transpose()?
        .map(|care| match &demo_outbox {
            Some(dir) => care.with_development_outbox(dir.clone()),
            None => care,
        });
    let schedule = Schedule {
        sweep_every: config.worker_interval,
        deliver_every: config.worker_interval,
        metrics_bind: None,
    };
    let app = Application::build(config, db.clone(), clock.clone())?;
    let base = format!("http://127.0.0.1:{}", app.port());
    // Tests and scripts wait for this exact line on stdout.
    println!("salon-crm listening on {base}");
    if let Some(demo) = demo_data {
        print_demo(&base, &demo);
        if let Some(dir) = &demo_outbox {
            println!(
                "  The care worker runs in this process; SMS it sends are written to {}/",
                dir.display()
            );
            println!("  (set SMTP_URL and MAIL_FROM for email, SMS_PROVIDER for a real SMS provider).");
            println!();
        }
    }

    let (stop_worker, stopped) = watch::channel(false);
    let worker = embedded_worker.map(|care| {
        tracing::info!("running the worker in this process (embedded database)");
        tokio::spawn(worker::runner::run(Arc::new(care), clock.clone(), schedule, stopped))
    });

    let server = app.server();
    let handle = server.handle();
    tokio::spawn(async move {
        shared::process::shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        handle.stop(true).await;
    });
    server.await?;
    let _ = stop_worker.send(true);
    if let Some(worker) = worker {
        worker.await??;
    }
    Ok(())
}

fn print_demo(base: &str, demo: &web::demo::DemoData) {
    println!();
    println!("  Demo salon chain ready. The staff console: {base}/app/");
    println!(
        "  Log in with any of these accounts; every one's password is {}",
        demo.password
    );
    for login in &demo.logins {
        println!("    {:<14} {}", login.role.as_str(), login.email);
    }
    println!();
    println!("  API docs: {base}/api/docs");
    println!("  Try: curl -s {base}/api/v1/sessions -H 'content-type: application/json' \\");
    println!(
        "         -d '{{\"email\":\"owner@demo.salon-crm.test\",\"password\":\"{}\"}}'",
        demo.password
    );
    println!();
}
