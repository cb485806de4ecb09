//! `worker run`: the care worker's long-running process, on apalis 1.0.
//!
//! Two apalis workers run under one [`Monitor`]:
//! - `sweeps` calls [`Care::sweep`] every `sweep_every` (then records `last_sweep`);
//! - `delivery` calls [`Care::deliver_due`] every `deliver_every`.
//!
//! Due times live in the domain tables (see STACK.md), so apalis stores nothing: each worker
//! consumes an in-process stream of "a pass is due" ticks. apalis 1.0 accepts any
//! `BoxStream<Result<T, E>>` as a backend; ours is a [`tokio::time::Interval`]. We do not use
//! apalis-cron's `CronScheduler`, because:
//! - a cron expression cannot say "every N seconds" for arbitrary N (`*/45` in the seconds
//!   field fires at :00 and :45, and N > 59 needs other fields), and its first tick waits
//!   for the next boundary instead of starting at once;
//! - when a pass outlasts the period, the tick it computed beforehand is in the past by the
//!   time it is polled again and `CronScheduler` answers `Error::OutOfRange`: a backend error,
//!   which ends that apalis worker for good (apalis issue #334, same code in 1.0).
//!
//! The interval ticks at once (the first pass starts right after start-up), and after an
//! overrun it ticks once, immediately, and then every period again (`MissedTickBehavior::Delay`).
//!
//! Each worker has a concurrency limit of 1: while a pass runs, the worker does not poll its
//! tick stream, so a pass never overlaps itself in this process. (Two processes may overlap;
//! every pass is idempotent by design.) A failed pass becomes an apalis `Event::Error`, logged
//! as a warning; a panicking pass is caught by the catch-panic layer and logged the same way.
//! Neither stops the worker: the next tick makes the next pass.
//!
//! On stop, the monitor's shutdown makes both workers stop polling ticks and wait for the pass
//! in progress; [`run`] waits for that at most [`SHUTDOWN_GRACE`], then abandons what is left.

mod http;

use crate::care::Care;
use anyhow::anyhow;
use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{AbortError, BoxDynError, Event, Monitor, WorkerBuilder, WorkerContext};
use futures_util::Stream;
use shared::clock::SharedClock;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// How long a stop waits for the passes in progress before abandoning them. Below the 30 s
/// that Kubernetes and systemd wait before SIGKILL, so the process still exits on its own.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// How often each kind of work runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub sweep_every: Duration,
    pub deliver_every: Duration,
    /// Where to serve `/metrics` (`WORKER_METRICS_BIND`); `None` serves nothing (embedded use).
    pub metrics_bind: Option<String>,
}

/// Runs until `stop` turns true (or its sender is dropped); a pass in progress finishes first.
///
/// With `metrics_bind`, `/metrics` is served from before the first pass until the end, and its
/// address is printed on stdout as `worker metrics on http://ADDR/metrics`. A bind failure is
/// returned at once, before any pass.
pub async fn run(
    care: Arc<Care>,
    clock: SharedClock,
    schedule: Schedule,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let metrics_server = match schedule.metrics_bind.as_deref() {
        Some(bind) => {
            let server = http::MetricsServer::bind(bind, care.metrics.clone())
                .await
                .map_err(|error| anyhow!("cannot serve metrics on WORKER_METRICS_BIND={bind:?}: {error}"))?;
            // Tests and scripts read this exact line (the port may have been 0).
            println!("worker metrics on http://{}/metrics", server.local_addr());
            Some(server.spawn())
        }
        None => None,
    };
    let jobs = vec![
        Job {
            name: "sweeps",
            every: schedule.sweep_every,
            pass: sweep_pass(care.clone(), clock.clone()),
        },
        Job {
            name: "delivery",
            every: schedule.deliver_every,
            pass: delivery_pass(care.clone(), clock),
        },
    ];
    tracing::info!(
        sweep_every_secs = schedule.sweep_every.as_secs_f64(),
        deliver_every_secs = schedule.deliver_every.as_secs_f64(),
        metrics = metrics_server.as_ref().map(|server| server.local_addr().to_string()),
        "worker started"
    );
    // A delivery pass over a long backlog would otherwise run into the grace period and be
    // abandoned with hand-overs cut off: tell it at once, so it stops claiming and releases
    // what has not begun.
    let mut stop_for_care = stop.clone();
    let stop_watch = tokio::spawn(async move {
        stop_requested(&mut stop_for_care).await;
        care.request_stop();
    });
    let outcome = drive(jobs, stop, SHUTDOWN_GRACE).await;
    stop_watch.abort();
    if let Some(server) = metrics_server {
        server.stop().await;
    }
    match &outcome {
        Ok(()) => tracing::info!("worker stopped"),
        Err(error) => tracing::error!(error = %format!("{error:#}"), "worker failed"),
    }
    outcome
}

/// The future of one pass; its error is logged by [`log_event`].
type PassFuture = Pin<Box<dyn Future<Output = Result<(), BoxDynError>> + Send>>;
type PassFn = Arc<dyn Fn() -> PassFuture + Send + Sync>;

/// One apalis worker: a named pass made every `every`.
struct Job {
    name: &'static str,
    every: Duration,
    pass: PassFn,
}

/// The task each tick carries: "make a pass now". The pass reads the time from the clock.
#[derive(Debug, Clone, Copy)]
struct Due;

/// The backend of a [`Job`]'s worker. apalis 1.0 implements `Backend` for exactly this boxed
/// stream type (`BoxStream<'_, Result<T, E>>`), giving each item a random task id.
type Ticks = Pin<Box<dyn Stream<Item = Result<Due, Infallible>> + Send>>;

fn ticks(every: Duration) -> Ticks {
    // `interval` panics on a zero period; the configuration never gives one, tests might.
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(1)));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    Box::pin(futures_util::stream::poll_fn(move |cx| {
        interval.poll_tick(cx).map(|_| Some(Ok(Due)))
    }))
}

fn sweep_pass(care: Arc<Care>, clock: SharedClock) -> PassFn {
    Arc::new(move || {
        let care = care.clone();
        let clock = clock.clone();
        Box::pin(async move {
            let started = Instant::now();
            let report = care.sweep(clock.now()).await?;
            // Wall-clock time, not the injected clock: alerts compare it with Prometheus' time().
            care.metrics.last_sweep.set(unix_now());
            log_pass("sweeps", started, &report, report != Default::default());
            Ok(())
        })
    })
}

fn delivery_pass(care: Arc<Care>, clock: SharedClock) -> PassFn {
    Arc::new(move || {
        let care = care.clone();
        let clock = clock.clone();
        Box::pin(async move {
            let started = Instant::now();
            let report = care.deliver_due(clock.now()).await?;
            log_pass("delivery", started, &report, report != Default::default());
            Ok(())
        })
    })
}

/// A pass that did something is worth an info line; an idle one only a debug line.
fn log_pass(worker: &str, started: Instant, report: &impl std::fmt::Debug, did_work: bool) {
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if did_work {
        tracing::info!(worker, elapsed_ms, ?report, "worker pass done");
    } else {
        tracing::debug!(worker, elapsed_ms, ?report, "worker pass done");
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// Every worker's events: a failed or panicked pass is a warning, and the worker goes on.
fn log_event(worker: &WorkerContext, event: &Event) {
    if let Event::Error(error) = event {
        // The catch-panic layer turns a panic into an `AbortError` holding the panic message.
        if error.downcast_ref::<AbortError>().is_some() {
            tracing::warn!(worker = worker.name(), %error, "worker pass panicked");
        } else {
            tracing::warn!(worker = worker.name(), %error, "worker pass failed");
        }
    }
}

/// Resolves once `stop` is true, or once its sender is gone (nobody is left to say stop).
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Runs `jobs` as apalis workers under one monitor until `stop`; then stops starting passes and
/// waits up to `grace` for those in progress.
async fn drive(jobs: Vec<Job>, mut stop: watch::Receiver<bool>, grace: Duration) -> anyhow::Result<()> {
    let mut monitor = Monitor::new().on_event(log_event);
    for job in jobs {
        // The factory runs once now and again only on a restart (none is configured).
        monitor = monitor.register(move |_restarts| {
            let pass = job.pass.clone();
            WorkerBuilder::new(job.name)
                .backend(ticks(job.every))
                .concurrency(1)
                .catch_panic()
                .build(move |_: Due| pass())
        });
    }
    let control = monitor.context();
    let running = monitor.run();
    tokio::pin!(running);
    tokio::select! {
        ended = &mut running => {
            // Tick streams never end, so the workers only end on their own by failing.
            return Err(match ended {
                Ok(()) => anyhow!("the apalis workers ended without being asked to stop"),
                Err(error) => anyhow!("the apalis workers failed: {error}"),
            });
        }
        () = stop_requested(&mut stop) => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "worker stopping: no new passes; waiting for the passes in progress"
    );
    if let Err(error) = control.shutdown() {
        tracing::warn!(%error, "could not signal the apalis workers to stop");
    }
    match tokio::time::timeout(grace, running).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(anyhow!("the apalis workers failed while stopping: {error}")),
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "worker stop cut short: passes still running after the grace period were abandoned"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A pass taking `length` that counts how many started, ran at once, and finished.
    #[derive(Clone, Default)]
    struct Probe {
        running: Arc<AtomicUsize>,
        most_at_once: Arc<AtomicUsize>,
        started: Arc<AtomicUsize>,
        finished: Arc<AtomicUsize>,
    }

    impl Probe {
        /// `outcome(n)` decides how the n-th pass (from 0) ends: Ok, Err, or a panic.
        fn pass(&self, length: Duration, outcome: fn(usize) -> Result<(), BoxDynError>) -> PassFn {
            let probe = self.clone();
            Arc::new(move || {
                let probe = probe.clone();
                Box::pin(async move {
                    let n = probe.started.fetch_add(1, Ordering::SeqCst);
                    let now = probe.running.fetch_add(1, Ordering::SeqCst) + 1;
                    probe.most_at_once.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(length).await;
                    probe.running.fetch_sub(1, Ordering::SeqCst);
                    let result = outcome(n);
                    probe.finished.fetch_add(1, Ordering::SeqCst);
                    result
                })
            })
        }

        fn started(&self) -> usize {
            self.started.load(Ordering::SeqCst)
        }

        fn running(&self) -> usize {
            self.running.load(Ordering::SeqCst)
        }

        fn finished(&self) -> usize {
            self.finished.load(Ordering::SeqCst)
        }
    }

    fn job(name: &'static str, every: Duration, pass: PassFn) -> Vec<Job> {
        vec![Job { name, every, pass }]
    }

    /// Waits (a generous 10 s on a loaded machine) until `done`.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_first_pass_starts_at_once_not_after_a_period() {
        let probe = Probe::default();
        let jobs = job(
            "hourly",
            Duration::from_secs(3600),
            probe.pass(Duration::ZERO, |_| Ok(())),
        );
        let (stop, stopped) = watch::channel(false);
        let driver = tokio::spawn(drive(jobs, stopped, Duration::from_secs(5)));
        until("the first pass finished", || probe.finished() == 1).await;
        stop.send(true).unwrap();
        driver.await.unwrap().unwrap();
        assert_eq!(probe.started(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pass_longer_than_the_period_never_overlaps_itself() {
        let probe = Probe::default();
        let jobs = job(
            "slow",
            Duration::from_millis(20),
            probe.pass(Duration::from_millis(100), |_| Ok(())),
        );
        let (stop, stopped) = watch::channel(false);
        let driver = tokio::spawn(drive(jobs, stopped, Duration::from_secs(5)));
        until("three passes finished", || probe.finished() >= 3).await;
        stop.send(true).unwrap();
        driver.await.unwrap().unwrap();
        assert_eq!(probe.most_at_once.load(Ordering::SeqCst), 1, "passes ran one at a time");
        assert_eq!(probe.finished(), probe.started(), "the last pass finished");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_and_panicking_passes_do_not_stop_the_worker() {
        let probe = Probe::default();
        let pass = probe.pass(Duration::ZERO, |n| match n {
            0 => Err("the database is away".into()),
            1 => panic!("a bug in a pass"),
            _ => Ok(()),
        });
        let (stop, stopped) = watch::channel(false);
        let driver = tokio::spawn(drive(
            job("flaky", Duration::from_millis(10), pass),
            stopped,
            Duration::from_secs(5),
        ));
        // The panicking pass never counts as finished; the passes after it do.
        until("passes after the failure and the panic finished", || {
            probe.finished() >= 3
        })
        .await;
        stop.send(true).unwrap();
        driver.await.unwrap().unwrap();
        assert!(probe.started() >= 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stop_lets_the_pass_in_progress_finish_and_starts_no_new_one() {
        let probe = Probe::default();
        let jobs = job(
            "long",
            Duration::from_millis(10),
            probe.pass(Duration::from_secs(1), |_| Ok(())),
        );
        let (stop, stopped) = watch::channel(false);
        let driver = tokio::spawn(drive(jobs, stopped, Duration::from_secs(10)));
        until("a pass is running", || probe.running() == 1).await;
        let asked = Instant::now();
        stop.send(true).unwrap();
        driver.await.unwrap().unwrap();
        assert!(
            asked.elapsed() >= Duration::from_millis(500),
            "it waited for the pass in progress"
        );
        assert_eq!(probe.started(), 1, "no pass started after the stop");
        assert_eq!(probe.finished(), 1, "the pass in progress completed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stop_is_cut_short_after_the_grace_period() {
        let probe = Probe::default();
        let jobs = job(
            "stuck",
            Duration::from_secs(1),
            probe.pass(Duration::from_secs(3600), |_| Ok(())),
        );
        let (stop, stopped) = watch::channel(false);
        let driver = tokio::spawn(drive(jobs, stopped, Duration::from_millis(200)));
        until("a pass is running", || probe.running() == 1).await;
        let asked = Instant::now();
        stop.send(true).unwrap();
        driver.await.unwrap().unwrap();
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "the grace period bounds the wait"
        );
        assert_eq!(probe.finished(), 0, "the stuck pass was abandoned");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_workers_run_side_by_side_and_a_dropped_sender_stops_them() {
        let (a, b) = (Probe::default(), Probe::default());
        let every = Duration::from_millis(20);
        let jobs = vec![
            Job {
                name: "a",
                every,
                pass: a.pass(Duration::ZERO, |_| Ok(())),
            },
            Job {
                name: "b",
                every,
                pass: b.pass(Duration::ZERO, |_| Ok(())),
            },
        ];
        let (stop, stopped) = watch::channel(false);
        let driver = tokio::spawn(drive(jobs, stopped, Duration::from_secs(5)));
        until("both workers made passes", || a.finished() >= 2 && b.finished() >= 2).await;
        drop(stop);
        tokio::time::timeout(Duration::from_secs(5), driver)
            .await
            .expect("stopped")
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stop_before_the_start_returns_at_once() {
        let probe = Probe::default();
        let (_stop, stopped) = watch::channel(true);
        let jobs = job(
            "never",
            Duration::from_millis(10),
            probe.pass(Duration::ZERO, |_| Ok(())),
        );
        tokio::time::timeout(Duration::from_secs(5), drive(jobs, stopped, Duration::from_secs(5)))
            .await
            .expect("returns at once")
            .unwrap();
        // At most the pass that raced the stop, and then it finished.
        assert!(probe.started() <= 1);
        assert_eq!(probe.started(), probe.finished());
    }
}
