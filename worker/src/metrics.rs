//! The worker's Prometheus metrics, served on `WORKER_METRICS_BIND` at `/metrics`.
//!
//! One registry per process (not the global default) so the embedded worker inside `web`
//! can be registered beside the web metrics without name clashes.

use prometheus::{
    exponential_buckets, Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct WorkerMetrics {
    pub registry: Registry,
    /// Messages by kind, channel and the status they reached (created as pending/suppressed/…,
    /// then sent/failed/cancelled).
    pub messages: IntCounterVec,
    /// From the moment a message was due to the provider accepting it.
    pub delivery_latency: HistogramVec,
    /// Errors answered by providers (and SMTP), by provider and code.
    pub provider_errors: IntCounterVec,
    pub sweep_duration: HistogramVec,
    /// Rows each sweep matched (its work, not the tenant's size).
    pub sweep_matched: IntCounterVec,
    /// Outbox rows waiting, by status (pending, deferred, sending).
    pub backlog: GaugeVec,
    /// Age in seconds of the oldest message due and not yet sent (0 when none).
    pub oldest_pending_age: Gauge,
    /// Unix time of the last completed pass of all sweeps: an alert fires when it stops moving.
    pub last_sweep: Gauge,
    /// Open complaints by escalation level (1 store manager, 2 HQ, 3 owner), all tenants.
    pub complaints_open: GaugeVec,
    /// Complaint step deadlines missed (each escalates once), by step and the level reached.
    pub deadlines_missed: IntCounterVec,
    /// Always 1, labelled with the version and database (`database` set by [`Self::set_database`]).
    build_info: GaugeVec,
}

impl WorkerMetrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let messages = IntCounterVec::new(
            Opts::new(
                "salon_messages_total",
                "Outbox messages by kind, channel and status reached",
            ),
            &["kind", "channel", "status"],
        )
        .expect("valid metric");
        let delivery_latency = HistogramVec::new(
            HistogramOpts::new(
                "salon_message_delivery_seconds",
                "Seconds from a message being due to the provider accepting it",
            )
            .buckets(exponential_buckets(0.05, 4.0, 10).expect("valid buckets")),
            &["kind", "channel"],
        )
        .expect("valid metric");
        let provider_errors = IntCounterVec::new(
            Opts::new(
                "salon_provider_errors_total",
                "Errors answered by SMS providers and SMTP, by code",
            ),
            &["provider", "code"],
        )
        .expect("valid metric");
        let sweep_duration = HistogramVec::new(
            HistogramOpts::new("salon_sweep_duration_seconds", "Duration of one automation sweep")
                .buckets(exponential_buckets(0.001, 4.0, 9).expect("valid buckets")),
            &["sweep"],
        )
        .expect("valid metric");
        let sweep_matched = IntCounterVec::new(
            Opts::new("salon_sweep_matched_rows_total", "Rows an automation sweep matched"),
            &["sweep"],
        )
        .expect("valid metric");
        let backlog = GaugeVec::new(
            Opts::new("salon_outbox_backlog", "Outbox messages not yet finished, by status"),
            &["status"],
        )
        .expect("valid metric");
        let oldest_pending_age = Gauge::new(
            "salon_outbox_oldest_pending_age_seconds",
            "Age of the oldest due message not yet sent",
        )
        .expect("valid metric");
        let last_sweep = Gauge::new(
            "salon_worker_last_sweep_timestamp_seconds",
            "Unix time of the last completed pass of every sweep",
        )
        .expect("valid metric");
        let complaints_open = GaugeVec::new(
            Opts::new(
                "salon_complaints_open",
                "Open complaints by escalation level, all tenants",
            ),
            &["level"],
        )
        .expect("valid metric");
        let deadlines_missed = IntCounterVec::new(
            Opts::new(
                "salon_complaint_deadlines_missed_total",
                "Complaint step deadlines missed (callback, solution, follow_up), by the level escalated to",
            ),
            &["step", "level"],
        )
        .expect("valid metric");
        let build_info = GaugeVec::new(
            Opts::new("salon_build_info", "Always 1; labels name the running build."),
            &["version", "component", "database"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(complaints_open.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(deadlines_missed.clone()),
            Box::new(build_info.clone()),
            Box::new(messages.clone()),
            Box::new(delivery_latency.clone()),
            Box::new(provider_errors.clone()),
            Box::new(sweep_duration.clone()),
            Box::new(sweep_matched.clone()),
            Box::new(backlog.clone()),
            Box::new(oldest_pending_age.clone()),
            Box::new(last_sweep.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        WorkerMetrics {
            registry,
            messages,
            delivery_latency,
            provider_errors,
            sweep_duration,
            sweep_matched,
            backlog,
            oldest_pending_age,
            last_sweep,
            complaints_open,
            deadlines_missed,
            build_info,
        }
    }

    /// The Prometheus text exposition of every worker metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding our own registry into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl WorkerMetrics {
    /// Names the database backend in `salon_build_info` (`postgres` or `sqlite`).
    pub fn set_database(&self, backend: &str) {
        self.build_info.reset();
        self.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), "worker", backend])
            .set(1.0);
    }
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self::new()
    }
}
