//! salon-crm's care worker. Each pass runs every automation's sweep (which writes outbox rows)
//! and then delivers every message due; `tick` makes one pass at a given instant, `runner::run`
//! keeps making them (apalis) until told to stop.

pub mod care;
pub mod delivery;
pub mod metrics;
pub mod runner;

pub use care::{Care, DeliveryReport, SweepReport};

/// What one full pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TickReport {
    pub sweep: SweepReport,
    pub delivery: DeliveryReport,
}

/// One full pass at `now`: every sweep, then every due delivery.
pub async fn tick(care: &Care, now: chrono::DateTime<chrono::Utc>) -> shared::Result<TickReport> {
    let sweep = care.sweep(now).await?;
    let delivery = care.deliver_due(now).await?;
    Ok(TickReport { sweep, delivery })
}
