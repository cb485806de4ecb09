//! The worker binary: it migrates, makes a pass for a given instant, and refuses a malformed
//! instant; `worker run` serves its metrics, stops cleanly on SIGTERM, and refuses a bad
//! WORKER_METRICS_BIND at start.

use crate::outreach::{import_birthday_clients, zone_where_it_is, Salon};
use e2e::fakes::sms::Failure;
use e2e::{both_backends, Backend, TestApp};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

async fn worker_ticks_at_an_instant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let migrate = app.worker(&["migrate"]).await;
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let tick = app.worker(&["tick", "--now", "2026-03-01T02:00:00Z"]).await;
    assert!(tick.status.success(), "{}", String::from_utf8_lossy(&tick.stderr));
    let report: serde_json::Value = serde_json::from_slice(&tick.stdout).expect("a JSON report");
    assert_eq!(report["sweep"]["messages_created"], 0, "{report}");
    assert_eq!(report["delivery"]["sent"], 0, "{report}");
    let bad = app.worker(&["tick", "--now", "yesterday"]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--now"));
}

async fn worker_run_stops_cleanly_on_sigterm(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut worker = app
        .worker_command(&["run"])
        .env("WORKER_INTERVAL_SECS", "1")
        // Not the default port: both backends' tests run at once.
        .env("WORKER_METRICS_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start worker run");
    let mut log = BufReader::new(worker.stderr.take().unwrap()).lines();
    // Connected (migrations done) once it says it started.
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("worker started") {
                return;
            }
        }
        panic!("worker run exited before starting");
    })
    .await
    .expect("worker run did not start within 30 s");
    terminate(&mut worker).await;
    let mut rest = String::new();
    while let Ok(Some(line)) = log.next_line().await {
        rest.push_str(&line);
    }
    assert!(rest.contains("worker stopped"), "{rest}");
}

async fn worker_run_serves_metrics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut worker = app
        .worker_command(&["run"])
        .env("WORKER_INTERVAL_SECS", "1")
        .env("WORKER_METRICS_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start worker run");
    // Keep reading stderr so the worker never blocks on a full pipe; keep it for the end.
    let stderr = worker.stderr.take().unwrap();
    let log = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut all = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Held to the end: the worker's stdout stays open.
    let mut stdout = BufReader::new(worker.stdout.take().unwrap()).lines();
    let url = metrics_url(&mut stdout).await;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{url}"
    );
    assert!(!url.starts_with("http://127.0.0.1:0/"), "the actual port, not 0: {url}");

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // The first pass starts at once; its sweep is recorded when it completes.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let response = client.get(&url).send().await.expect("GET /metrics");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        let last_sweep = sample(&text, "salon_worker_last_sweep_timestamp_seconds")
            .unwrap_or_else(|| panic!("no last-sweep gauge:\n{text}"));
        if last_sweep > 0.0 {
            break text;
        }
        if Instant::now() >= deadline {
            let log = stop_and_log(worker, log).await;
            panic!("no completed sweep within 20 s:\n{text}\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let last_sweep = sample(&text, "salon_worker_last_sweep_timestamp_seconds").unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - last_sweep).abs() < 120.0,
        "a Unix time of now: {last_sweep} vs {now}"
    );
    promtool_check(&text);

    let base = url.strip_suffix("/metrics").unwrap();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let nothing = client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(nothing.status(), 404);

    terminate(&mut worker).await;
    let log = log.await.unwrap();
    assert!(log.contains("worker stopped"), "{log}");
    assert!(
        client.get(&url).send().await.is_err(),
        "the metrics port is closed after the stop"
    );
    drop(stdout);
}

async fn worker_metrics_count_what_it_sends(backend: Backend) {
    // Early afternoon at the store: the day's birthdays are due now.
    let (zone, today) = zone_where_it_is(13);
    let salon = Salon::new(backend, &zone).await;
    import_birthday_clients(&salon, 3, &today.format("%m-%d").to_string()).await;
    salon.sms.fail_next(
        "twilio",
        1,
        Failure::TooManyRequests {
            retry_after_secs: Some(1),
        },
    );
    let mut worker = salon
        .run_command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start worker run");
    let mut stdout = BufReader::new(worker.stdout.take().unwrap()).lines();
    let url = metrics_url(&mut stdout).await;
    let sent = [("kind", "birthday"), ("channel", "sms"), ("status", "sent")];
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        if labelled(&text, "salon_messages_total", &sent) == Some(3.0) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "three greetings not sent within 30 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let birthday = [("kind", "birthday"), ("channel", "sms")];
    assert_eq!(
        labelled(&text, "salon_message_delivery_seconds_count", &birthday),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        labelled(
            &text,
            "salon_provider_errors_total",
            &[("provider", "twilio"), ("code", "twilio_20429")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        labelled(&text, "salon_sweep_matched_rows_total", &[("sweep", "birthday")]) >= Some(3.0),
        "{text}"
    );
    assert!(
        labelled(&text, "salon_sweep_duration_seconds_count", &[("sweep", "wake_up")]) >= Some(1.0),
        "{text}"
    );
    assert!(
        labelled(&text, "salon_outbox_backlog", &[("status", "sending")]).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "salon_outbox_oldest_pending_age_seconds").is_some(),
        "{text}"
    );
    assert_eq!(
        labelled(&text, "salon_complaints_open", &[("level", "1")]),
        Some(0.0),
        "{text}"
    );
    let database = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(
        labelled(
            &text,
            "salon_build_info",
            &[("component", "worker"), ("database", database)]
        ),
        Some(1.0),
        "{text}"
    );
    promtool_check(&text);
    terminate(&mut worker).await;
}

async fn worker_run_refuses_a_bad_metrics_bind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Already in use (a listening socket: SO_REUSEADDR does not let a second one bind).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for bind in ["nonsense", taken.as_str()] {
        let output = tokio::time::timeout(
            Duration::from_secs(30),
            app.worker_command(&["run"])
                .env("WORKER_INTERVAL_SECS", "1")
                .env("WORKER_METRICS_BIND", bind)
                .output(),
        )
        .await
        .expect("worker run with a bad WORKER_METRICS_BIND did not exit within 30 s")
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{bind}: {stderr}");
        assert!(stderr.contains("WORKER_METRICS_BIND"), "{bind}: {stderr}");
        assert!(stderr.contains(bind), "{bind}: {stderr}");
        assert!(!stderr.contains("worker started"), "it fails before any pass: {stderr}");
    }
}

both_backends!(
    worker_ticks_at_an_instant,
    worker_run_stops_cleanly_on_sigterm,
    worker_run_serves_metrics,
    worker_run_refuses_a_bad_metrics_bind,
    worker_metrics_count_what_it_sends,
);

/// SIGTERM, then expect a clean exit within 15 s.
async fn terminate(worker: &mut Child) {
    let pid = worker.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(15), worker.wait())
        .await
        .expect("worker run did not stop within 15 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "worker run exited with {status}");
}

/// Kill the worker and return what it logged (for a failure message).
async fn stop_and_log(mut worker: Child, log: tokio::task::JoinHandle<String>) -> String {
    let _ = worker.kill().await;
    log.await.unwrap_or_default()
}

/// The `/metrics` URL `worker run` prints on stdout once it serves it.
async fn metrics_url(stdout: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("worker metrics on ") {
                return url.trim().to_owned();
            }
        }
        panic!("worker run exited before serving metrics");
    })
    .await
    .expect("worker run did not serve metrics within 30 s")
}

/// The value of the sample of `name` carrying (at least) these labels.
fn labelled(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix('{')?;
        let (set, value) = rest.split_once("} ")?;
        labels
            .iter()
            .all(|(key, wanted)| set.split(',').any(|pair| pair == format!("{key}=\"{wanted}\"")))
            .then(|| value.trim().parse().ok())?
    })
}

/// The value of an unlabelled sample in Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn promtool_check(text: &str) {
    match (std::env::var("PROMTOOL"), std::env::var("PROMTOOL_SKIP_REASON")) {
        (Ok(promtool), _) => {
            let mut child = std::process::Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run promtool");
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
                "promtool check metrics complained:\n{}{}\n{text}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        (Err(_), Ok(reason)) => eprintln!("SKIPPED promtool check metrics: {reason}"),
        (Err(_), Err(_)) => panic!("set PROMTOOL (scripts/test does) or PROMTOOL_SKIP_REASON"),
    }
}
