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

both_backends!(worker_ticks_at_an_instant);
