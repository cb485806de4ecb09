//! The worker binary's skeleton: it migrates, makes a pass for a given instant, and refuses
//! a malformed instant.

use e2e::{both_backends, Backend, TestApp};

async fn worker_ticks_at_an_instant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let migrate = app.worker(&["migrate"]).await;
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let tick = app.worker(&["tick", "--now", "2026-03-01T02:00:00Z"]).await;
    assert!(tick.status.success(), "{}", String::from_utf8_lossy(&tick.stderr));
    let report: serde_json::Value = serde_json::from_slice(&tick.stdout).expect("a JSON report");
    assert_eq!(report["messages_sent"], 0);
    let bad = app.worker(&["tick", "--now", "yesterday"]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--now"));
}

async fn worker_run_stops_cleanly_on_sigterm(backend: Backend) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let app = TestApp::spawn(backend).await;
    let mut worker = app
        .worker_command(&["run"])
        .env("WORKER_INTERVAL_SECS", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start worker run");
    let mut log = BufReader::new(worker.stderr.take().unwrap()).lines();
    // Connected (migrations done) once it says it started.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("worker started") {
                return;
            }
        }
        panic!("worker run exited before starting");
    })
    .await
    .expect("worker run did not start within 30 s");
    let pid = worker.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(15), worker.wait())
        .await
        .expect("worker run did not stop within 15 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "worker run exited with {status}");
    let mut rest = String::new();
    while let Ok(Some(line)) = log.next_line().await {
        rest.push_str(&line);
    }
    assert!(rest.contains("worker stopped"), "{rest}");
}

both_backends!(worker_ticks_at_an_instant, worker_run_stops_cleanly_on_sigterm);
