use crate::metrics::Metrics;
use shared::clock::SharedClock;
use shared::config::Config;
use shared::db::Db;
use std::sync::Arc;

/// What every handler can reach: the database, the clock, configuration and metrics.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    /// The OpenAPI document, generated once from the route table at start.
    pub openapi_json: Arc<String>,
    /// Keys for clients' sensitive fields.
    pub keys: Arc<shared::crypto::Keyring>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
