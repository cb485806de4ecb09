//! The care worker's two kinds of work, each one idempotent pass at an instant:
//! `sweep` runs every automation (birthday, survey, complaint escalation, dormant wake-up) and
//! writes outbox rows; `deliver_due` claims due outbox rows and hands them to a channel.
//! `worker tick --now T` calls both once; `worker run` has apalis call them on schedules.

use crate::delivery::email::{EmailConfig, EmailMessage, Mailer};
use crate::delivery::sms::{SmsConfig, SmsGateway, SmsMessage, SmsProviderKind};
use crate::delivery::SendOutcome;
use crate::metrics::WorkerMetrics;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use rand::Rng;
use shared::db::Db;
use shared::domain::Channel;
use shared::outreach::decide::{FactsCache, SweepContext, Written};
use shared::outreach::handover::{self, Handover, Ready};
use shared::outreach::outbox::{self, Outcome};
use shared::outreach::{rules, sweeps, MessageStatus};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What one sweep pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub messages_created: usize,
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Claimed but not handed over because the worker was stopping: due again at once.
    pub released: usize,
}

/// Messages claimed per round trip, and how long a claim holds before another worker may
/// take the message over (longer than any provider's timeout).
const CLAIM_BATCH: i64 = 200;
const LEASE_SECONDS: i64 = 300;
/// Messages in flight at once within a pass (each channel also has its own limit).
const IN_FLIGHT: usize = 64;
/// Claimed batches in progress at once within a pass.
const LANES: usize = 2;
/// At most this many outcomes per recording transaction.
const RECORD_CHUNK: usize = 32;
/// How long a delivery pass keeps the tenants and stores it read.
const FACTS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Everything a pass needs; cheap to share behind an `Arc`.
pub struct Care {
    pub db: Db,
    pub metrics: WorkerMetrics,
    context: SweepContext,
    sms: SmsGateway,
    mailer: Option<Mailer>,
    /// Set once the worker begins stopping (SIGTERM): see [`Care::request_stop`].
    stopping: AtomicBool,
}

impl Care {
    /// The worker's channels from the environment (see README: SMTP_URL, MAIL_FROM,
    /// SMS_PROVIDER, …), over an open database.
    pub fn from_config(config: &shared::config::Config, db: Db) -> anyhow::Result<Self> {
        let mut problems = Vec::new();
        let sms = SmsConfig::from_env()
            .map_err(|mut found| problems.append(&mut found))
            .ok();
        let email = EmailConfig::from_env().unwrap_or_else(|mut found| {
            problems.append(&mut found);
            None
        });
        let Some(sms) = sms.filter(|_| problems.is_empty()) else {
            anyhow::bail!("invalid configuration:\n  {}", problems.join("\n  "));
        };
        let mailer = email
            .map(Mailer::new)
            .transpose()
            .map_err(|problem| anyhow::anyhow!(problem))?;
        let public_base_url = config
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.bind.trim_end_matches('/')));
        let metrics = WorkerMetrics::new();
        metrics.set_database(db.url().backend_name());
        Ok(Care {
            db,
            metrics,
            context: SweepContext {
                public_base_url,
                batch: 500,
            },
            sms: SmsGateway::new(sms),
            mailer,
            stopping: AtomicBool::new(false),
        })
    }

    /// For `web demo`: with no SMS provider configured, SMS are written as files under `dir`
    /// (the `file` provider) instead of failing.
    pub fn with_development_outbox(mut self, dir: std::path::PathBuf) -> Self {
        if self.sms.default_provider().is_none() {
            let mut config = self.sms.config().clone();
            config.file = Some(crate::delivery::sms::FileConfig { dir });
            config.default_provider = Some(SmsProviderKind::File);
            self.sms = SmsGateway::new(config);
        }
        self
    }

    /// One pass of every automation's sweep at `now`.
    pub async fn sweep(&self, now: DateTime<Utc>) -> shared::Result<SweepReport> {
        type Sweep =
            fn(&mut shared::db::AnyConnection, &SweepContext, DateTime<Utc>) -> shared::Result<sweeps::SweepStats>;
        let all: [(&str, Sweep); 4] = [
            ("birthday", sweeps::birthdays),
            ("survey", sweeps::surveys),
            ("escalation", sweeps::escalations),
            ("wake_up", sweeps::wake_ups),
        ];
        let mut report = SweepReport::default();
        for (name, sweep) in all {
            let started = Instant::now();
            let context = self.context.clone();
            let stats = self.db.read(move |conn| sweep(conn, &context, now)).await?;
            self.metrics
                .sweep_duration
                .with_label_values(&[name])
                .observe(started.elapsed().as_secs_f64());
            self.metrics
                .sweep_matched
                .with_label_values(&[name])
                .inc_by(stats.matched as u64);
            for (step, level) in &stats.missed_deadlines {
                self.metrics
                    .deadlines_missed
                    .with_label_values(&[*step, level.to_string().as_str()])
                    .inc();
            }
            for Written {
                kind, channel, status, ..
            } in &stats.created
            {
                self.metrics
                    .messages
                    .with_label_values(&[kind.as_str(), channel.as_str(), status.as_str()])
                    .inc();
            }
            if !stats.created.is_empty() {
                tracing::info!(
                    sweep = name,
                    matched = stats.matched,
                    created = stats.created.len(),
                    "sweep wrote messages"
                );
            }
            report.messages_created += stats.created.len();
        }
        // Stored idempotent answers (whole client records) live 24 hours.
        let expired = self
            .db
            .write(move |conn| shared::idempotency::sweep_expired(conn, now))
            .await?;
        if expired > 0 {
            tracing::info!(expired, "idempotency answers removed");
        }
        self.metrics.last_sweep.set(Utc::now().timestamp() as f64);
        Ok(report)
    }

    /// The worker is stopping (SIGTERM): a delivery pass in progress claims no further batch,
    /// and releases the claimed messages that have not begun their hand-over (due again at
    /// once, for whichever worker runs next); hand-overs already under way finish and are
    /// recorded. So a stop neither cuts a send off (which could send it twice once its lease
    /// ran out) nor waits for a whole backlog.
    pub fn request_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Claims and delivers every message due at `now`, batch after batch until none is left
    /// (or until [`Care::request_stop`]). [`LANES`] batches are in progress at once, so that one
    /// batch's database round trips (claim, prepare, record) overlap another's hand-overs;
    /// claims skip rows another lane (or worker) holds, so the lanes never share a message.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> shared::Result<DeliveryReport> {
        let lanes = futures_util::future::join_all((0..LANES).map(|_| self.deliver_lane(now))).await;
        let mut report = DeliveryReport::default();
        for lane in lanes {
            let lane = lane?;
            report.sent += lane.sent;
            report.retrying += lane.retrying;
            report.failed += lane.failed;
            report.released += lane.released;
        }
        self.update_backlog(now).await;
        Ok(report)
    }

    /// One lane of [`Self::deliver_due`]: claim a batch, prepare it, hand it over, record the
    /// outcomes; again until nothing is due.
    async fn deliver_lane(&self, now: DateTime<Utc>) -> shared::Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        // Tenants and stores are read once per lane, not once per claimed batch (a batch spans
        // many tenants); read again after a minute, so that a long pass sees changed settings.
        let mut cache = FactsCache::default();
        let mut cache_since = Instant::now();
        loop {
            if self.stopping() {
                break;
            }
            if cache_since.elapsed() > FACTS_MAX_AGE {
                cache = FactsCache::default();
                cache_since = Instant::now();
            }
            let claimed = self
                .db
                .read(move |conn| outbox::claim_due(conn, now, CLAIM_BATCH, chrono::Duration::seconds(LEASE_SECONDS)))
                .await?;
            let count = claimed.len();
            if count == 0 {
                break;
            }
            let base = self.context.public_base_url.clone();
            let (prepared, kept) = self
                .db
                .read(move |conn| {
                    let prepared = handover::prepare(conn, &base, &mut cache, claimed, now)?;
                    Ok((prepared, cache))
                })
                .await?;
            cache = kept;
            // Outcomes are recorded as they arrive, a few at a time, not once per batch: if the
            // worker dies, only the messages whose answer was not yet written can go again.
            let mut outcomes = stream::iter(prepared)
                .map(|handover| async move {
                    match handover {
                        Handover::Decided(decided) => *decided,
                        Handover::Ready(ready) => {
                            let outcome = self.hand_over(&ready, now).await;
                            (ready.claimed, outcome)
                        }
                    }
                })
                .buffer_unordered(IN_FLIGHT / LANES)
                .ready_chunks(RECORD_CHUNK);
            while let Some(chunk) = outcomes.next().await {
                for (claimed, outcome) in &chunk {
                    self.count(claimed, outcome, now, &mut report);
                }
                self.db
                    .read(move |conn| handover::record_all(conn, &chunk, now))
                    .await?;
            }
            if count < CLAIM_BATCH as usize {
                break;
            }
        }
        Ok(report)
    }

    async fn hand_over(&self, ready: &Ready, now: DateTime<Utc>) -> Outcome {
        let claimed = &ready.claimed;
        let Some(recipient) = claimed.recipient.clone() else {
            return Outcome::Failed {
                error: "no recipient".into(),
                provider: None,
            };
        };
        let (provider, result) = match claimed.channel {
            Channel::Email => {
                let Some(mailer) = &self.mailer else {
                    return Outcome::Failed {
                        error: "email is not configured (SMTP_URL)".into(),
                        provider: None,
                    };
                };
                let message = EmailMessage {
                    message_id: claimed.id.clone(),
                    to: recipient,
                    to_name: ready
                        .params
                        .get("staff_name")
                        .or_else(|| ready.params.get("client_name"))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    from_name: Some(ready.salon_name.clone()),
                    subject: ready.subject.clone().unwrap_or_default(),
                    text: ready.body.clone(),
                    html: None,
                    lang: Some(claimed.locale.clone()),
                    // RFC 8058 one-click needs https; a plain-http development origin keeps the link in the text.
                    list_unsubscribe: ready.unsubscribe_url.clone().filter(|url| url.starts_with("https://")),
                };
                ("smtp".to_owned(), mailer.send_unless(&message, &self.stopping).await)
            }
            Channel::Sms => {
                let provider = ready
                    .sms_provider
                    .as_deref()
                    .and_then(SmsProviderKind::parse)
                    .or(self.sms.default_provider());
                let Some(provider) = provider else {
                    return Outcome::Failed {
                        error: "no SMS provider is configured (SMS_PROVIDER)".into(),
                        provider: None,
                    };
                };
                let params: BTreeMap<String, String> = ready
                    .params
                    .as_object()
                    .map(|map| {
                        map.iter()
                            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                let message = SmsMessage {
                    message_id: claimed.id.clone(),
                    to: recipient,
                    body: ready.body.clone(),
                    template: claimed.kind.as_str().to_owned(),
                    params,
                };
                let result = match self.interrupted_attempt(provider, claimed, &message.to).await {
                    Some(outcome) => outcome,
                    None => self.sms.send_unless(provider, &message, &self.stopping).await,
                };
                (provider.as_str().to_owned(), result)
            }
        };
        if let Some(code) = result.code() {
            self.metrics.provider_errors.with_label_values(&[&provider, code]).inc();
        }
        match result {
            SendOutcome::Withheld => Outcome::Released { at: now },
            SendOutcome::Sent { provider_message_id } => Outcome::Sent {
                provider,
                provider_message_id,
            },
            SendOutcome::Permanent { code, error } => Outcome::Failed {
                error: describe(code, error),
                provider: Some(provider),
            },
            SendOutcome::Transient {
                code,
                error,
                retry_after,
            } => {
                let error = describe(code, error);
                if claimed.attempt >= ready.max_attempts as i32 {
                    return Outcome::Failed {
                        error,
                        provider: Some(provider),
                    };
                }
                let hint = retry_after.and_then(|after| chrono::Duration::from_std(after).ok());
                let jitter = rand::thread_rng().gen::<f64>();
                let mut at = now + rules::retry_delay(ready.retry_base_seconds, claimed.attempt as u32, jitter, hint);
                if let Some((zone, quiet)) = ready.quiet {
                    at = rules::next_allowed(zone, quiet, at);
                }
                Outcome::RetryAt {
                    at,
                    error,
                    provider: Some(provider),
                    quiet_hours: false,
                }
            }
        }
    }

    /// A message taken over after a crash (its lease ran out while `sending`): did the
    /// interrupted attempt reach the provider? Where the provider keeps a log we can read
    /// (Twilio), a message there with this text, to this number, whose id no message of ours
    /// has recorded, is that attempt: it is recorded as sent and not sent again. `None`: send
    /// (nothing found, or the provider cannot tell); `Some(Transient)`: look again later.
    async fn interrupted_attempt(
        &self,
        provider: SmsProviderKind,
        claimed: &outbox::Claimed,
        to: &str,
    ) -> Option<SendOutcome> {
        if !claimed.recovered {
            return None;
        }
        let candidates = match self.sms.earlier_attempts(provider, to, &claimed.body).await? {
            Ok(candidates) if candidates.is_empty() => return None,
            Ok(candidates) => candidates,
            Err(outcome) => return Some(outcome),
        };
        let name = provider.as_str().to_owned();
        let ids = candidates.clone();
        let recorded = match self
            .db
            .read(move |conn| outbox::recorded_provider_ids(conn, &name, &ids))
            .await
        {
            Ok(recorded) => recorded,
            Err(error) => {
                return Some(SendOutcome::Transient {
                    code: Some("lookup".into()),
                    error: format!("cannot check the provider ids already recorded: {error}"),
                    retry_after: None,
                })
            }
        };
        let earlier = candidates.into_iter().find(|id| !recorded.contains(id))?;
        tracing::info!(message_id = %claimed.id, provider = provider.as_str(), provider_message_id = %earlier,
            "the interrupted attempt had reached the provider: recorded as sent, not sent again");
        Some(SendOutcome::Sent {
            provider_message_id: Some(earlier),
        })
    }

    fn count(&self, claimed: &outbox::Claimed, outcome: &Outcome, now: DateTime<Utc>, report: &mut DeliveryReport) {
        let status = match outcome {
            Outcome::Sent { .. } => {
                report.sent += 1;
                let latency = now.signed_duration_since(claimed.due_at).num_milliseconds().max(0) as f64 / 1000.0;
                self.metrics
                    .delivery_latency
                    .with_label_values(&[claimed.kind.as_str(), claimed.channel.as_str()])
                    .observe(latency);
                MessageStatus::Sent
            }
            Outcome::RetryAt { quiet_hours: true, .. } => MessageStatus::Deferred,
            Outcome::RetryAt { .. } => {
                report.retrying += 1;
                MessageStatus::Pending
            }
            Outcome::Failed { .. } => {
                report.failed += 1;
                MessageStatus::Failed
            }
            Outcome::Suppressed { .. } => MessageStatus::Suppressed,
            Outcome::Released { .. } => {
                report.released += 1;
                MessageStatus::Pending
            }
        };
        if status != MessageStatus::Pending {
            self.metrics
                .messages
                .with_label_values(&[claimed.kind.as_str(), claimed.channel.as_str(), status.as_str()])
                .inc();
        }
        if claimed.recovered {
            tracing::warn!(message_id = %claimed.id, "took over a message whose previous send was interrupted");
        }
    }

    async fn update_backlog(&self, now: DateTime<Utc>) {
        match self.db.read(move |conn| outbox::backlog(conn, now)).await {
            Ok((counts, oldest)) => {
                for status in ["pending", "deferred", "sending"] {
                    let count = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
                    self.metrics.backlog.with_label_values(&[status]).set(count as f64);
                }
                self.metrics.oldest_pending_age.set(oldest);
            }
            Err(error) => tracing::warn!(%error, "could not read the outbox backlog"),
        }
        match self.db.read(shared::complaints::open_by_level).await {
            Ok(levels) => {
                for level in 1..=3 {
                    let count = levels.iter().find(|(l, _)| *l == level).map_or(0, |(_, n)| *n);
                    self.metrics
                        .complaints_open
                        .with_label_values(&[&level.to_string()])
                        .set(count as f64);
                }
            }
            Err(error) => tracing::warn!(%error, "could not count open complaints"),
        }
    }
}

fn describe(code: Option<String>, error: String) -> String {
    match code {
        Some(code) => format!("{code}: {error}"),
        None => error,
    }
}
