//! salon-crm's care worker. Each pass ("tick") runs every automation's sweep and every due
//! delivery for one instant; `run` repeats passes until told to stop.
//!
//! The automations themselves (birthday greetings, surveys, complaint escalation, dormant
//! wake-ups) and delivery are not built yet: a tick connects and reports an empty pass.

use shared::clock::SharedClock;
use shared::db::Db;
use std::time::Duration;
use tokio::sync::watch;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub messages_created: usize,
    pub messages_sent: usize,
}

/// One full pass at `now`.
pub async fn tick(db: &Db, now: chrono::DateTime<chrono::Utc>) -> shared::Result<TickReport> {
    db.ping().await?;
    tracing::debug!(%now, "tick: no automations are configured yet");
    Ok(TickReport::default())
}

/// Pass after pass, every `interval`, until `stop` turns true. A pass in progress finishes.
pub async fn run(
    db: Db,
    clock: SharedClock,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    tracing::info!(interval_secs = interval.as_secs(), "worker started");
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = timer.tick() => {
                if let Err(error) = tick(&db, clock.now()).await {
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
