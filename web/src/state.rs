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

    /// The origin put into links to our pages: `PUBLIC_BASE_URL`, or the one this request
    /// came to (scheme and host as the proxy reports them).
    pub fn public_base_url(&self, req: &actix_web::HttpRequest) -> String {
        match &self.config.public_base_url {
            Some(base) => base.clone(),
            None => {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            }
        }
    }

    /// The client's address: the connection's, or with `TRUST_PROXY_HEADERS` the rightmost
    /// address of `X-Forwarded-For` (or `Forwarded`) that is not a trusted proxy
    /// ([`crate::limits::forwarded_client`]). Unknown (a Unix socket) is 0.0.0.0.
    pub fn client_address(&self, req: &actix_web::HttpRequest) -> std::net::IpAddr {
        let peer = req
            .peer_addr()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |peer| peer.ip());
        if !self.config.trust_proxy_headers {
            return peer;
        }
        let values = |name: &str| -> Vec<&str> {
            req.headers()
                .get_all(name)
                .filter_map(|value| value.to_str().ok())
                .collect()
        };
        crate::limits::forwarded_client(
            peer,
            &values("x-forwarded-for"),
            &values("forwarded"),
            &self.config.trusted_proxies,
        )
    }
}
