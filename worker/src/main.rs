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
use worker::runner::Schedule;
use worker::Care;

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
            let now = now.map_or_else(|| SystemClock.now(), |now| FixedClock(now).now());
            let care = Care::from_config(&config, db)?;
            let report = worker::tick(&care, now).await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Run => {
            let clock: SharedClock = Arc::new(SystemClock);
            let care = Arc::new(Care::from_config(&config, db)?);
            let (stop, stopped) = watch::channel(false);
            // Poll once here so the SIGTERM/Ctrl-C handlers are installed before the worker
            // says it started, not whenever the spawned task first runs: until then SIGTERM
            // would kill the process outright.
            let mut signal = Box::pin(shared::process::shutdown_signal());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let signalled = std::future::Future::poll(signal.as_mut(), &mut cx).is_ready();
            tokio::spawn(async move {
                if !signalled {
                    signal.await;
                }
                tracing::info!("shutting down: finishing the passes in progress");
                let _ = stop.send(true);
            });
            let schedule = Schedule {
                sweep_every: config.worker_interval,
                deliver_every: config.worker_interval,
                metrics_bind: Some(config.worker_metrics_bind.clone()),
            };
            worker::runner::run(care, clock, schedule, stopped).await
        }
        Command::Migrate => Ok(()),
    }
}
