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
    /// Login and signup rate limits.
    pub limits: Arc<crate::limits::Limits>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The client's address: the connection's, or with `TRUST_PROXY_HEADERS` the one the proxy
    /// names in `Forwarded`/`X-Forwarded-For`. Unknown (a Unix socket) is 0.0.0.0.
    pub fn client_address(&self, req: &actix_web::HttpRequest) -> std::net::IpAddr {
        let unknown = std::net::IpAddr::from([0, 0, 0, 0]);
        if self.config.trust_proxy_headers {
            let info = req.connection_info();
            if let Some(address) = info.realip_remote_addr().and_then(crate::limits::parse_address) {
                return address;
            }
        }
        req.peer_addr().map_or(unknown, |peer| peer.ip())
    }
}
