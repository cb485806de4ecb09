//! Prometheus metrics of the web process, exported as text on `/metrics`.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use shared::db::PoolState;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    db_pool: IntGaugeVec,
}

impl Metrics {
    pub fn new(backend: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "salon_http_requests_total",
                "HTTP requests answered, by route template and status.",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "salon_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let db_pool = IntGaugeVec::new(
            Opts::new(
                "salon_db_pool_connections",
                "Database pool connections by state (idle, in_use, max).",
            ),
            &["state"],
        )?;
        let build_info = GaugeVec::new(
            Opts::new("salon_build_info", "Always 1; labels name the running build."),
            &["version", "component", "database"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), "web", backend])
            .set(1.0);

        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(db_pool.clone()))?;
        registry.register(Box::new(build_info))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            db_pool,
        })
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_duration.with_label_values(&[method, route]).observe(seconds);
    }

    /// The text exposition, with the pool gauges read at scrape time.
    pub fn render(&self, pool: PoolState) -> String {
        self.db_pool.with_label_values(&["max"]).set(i64::from(pool.max));
        self.db_pool.with_label_values(&["idle"]).set(i64::from(pool.idle));
        self.db_pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool.open.saturating_sub(pool.idle)));
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
