//! `worker`: salon-crm's care worker. `worker run` works until SIGTERM; `worker tick --now T`
//! makes one pass as of instant T and exits; `worker migrate` applies migrations.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use shared::clock::{Clock, FixedClock, SharedClock, SystemClock};
use shared::config::Config;
use shared::db::{run_migrations, Db};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "worker",
    version,
    about = "salon-crm care worker (configured by environment variables; see README)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run until SIGTERM or Ctrl-C, making a pass every WORKER_INTERVAL_SECS.
    Run,
    /// Make one full pass as of the given instant, then exit.
    Tick {
        /// The instant, RFC 3339 (e.g. 2026-03-01T02:00:00Z); defaults to now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
    /// Apply pending database migrations, then exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    shared::process::init_logs(config.log_format);
    let url = config.database_url.clone();
    if let Command::Migrate = cli.command {
        let applied = tokio::task::spawn_blocking(move || run_migrations(&url)).await??;
        tracing::info!(applied, "migrations applied");
        return Ok(());
    }
    let pool_size = config.db_pool_size;
    let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool_size))
        .await?
        .with_context(|| format!("cannot open the database {:?}", config.database_url))?;
    match cli.command {
        Command::Tick { now } => {
            let clock = now.map_or_else(|| SystemClock.now(), |now| FixedClock(now).now());
            let report = worker::tick(&db, clock).await?;
            println!("{}", serde_like_report(&report));
            Ok(())
        }
        Command::Run => {
            let clock: SharedClock = Arc::new(SystemClock);
            let (stop, stopped) = watch::channel(false);
            tokio::spawn(async move {
                shared::process::shutdown_signal().await;
                tracing::info!("shutting down: finishing the pass in progress");
                let _ = stop.send(true);
            });
            worker::run(db, clock, config.worker_interval, stopped).await
        }
        Command::Migrate => Ok(()),
    }
}

fn serde_like_report(report: &worker::TickReport) -> String {
    format!(
        "{{\"messages_created\":{},\"messages_sent\":{}}}",
        report.messages_created, report.messages_sent
    )
}
