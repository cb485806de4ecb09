//! `worker run`: passes on a schedule until told to stop. (Interim loop; apalis replaces it.)

use crate::care::Care;
use shared::clock::SharedClock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often each kind of work runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub sweep_every: Duration,
    pub deliver_every: Duration,
    /// Where to serve `/metrics` (`WORKER_METRICS_BIND`); `None` serves nothing (embedded use).
    pub metrics_bind: Option<String>,
}

/// Runs until `stop` turns true; a pass in progress finishes first.
pub async fn run(
    care: Arc<Care>,
    clock: SharedClock,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    tracing::info!(sweep_secs = schedule.sweep_every.as_secs(), "worker started");
    let mut timer = tokio::time::interval(schedule.sweep_every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = timer.tick() => {
                if let Err(error) = crate::tick(&care, clock.now()).await {
                    // A failed pass (database briefly away) is retried on the next one.
                    tracing::warn!(%error, "worker pass failed");
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    tracing::info!("worker stopped");
    Ok(())
}
