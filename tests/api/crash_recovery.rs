//! A worker that dies or is stopped in the middle of a delivery: nothing is lost and nothing goes
//! twice, counted at the Twilio fake.
//!
//! - SIGKILL at several moments of a batch, each restart after the claims' lease ran out: the
//!   interrupted attempts that reached Twilio are found in its message log (the fake keeps one,
//!   as Twilio does) and recorded, not sent again; the others are sent.
//! - SIGTERM to `worker run` during a long batch: the hand-overs under way finish and are
//!   recorded, the rest is released at once for the next worker, and none is left `sending`.

use crate::outreach::{assert_each_once, import_birthday_clients, zone_where_it_is, Salon};
use chrono::{Duration as Span, Utc};
use e2e::{both_backends, Backend};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Every message of the outbox matching `query` (all pages).
pub(crate) async fn all_messages(salon: &Salon, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let response = salon
            .app
            .get(
                &format!("/api/v1/messages?limit=200{query}{cursor}"),
                &salon.owner.token,
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        all.extend(response.json["items"].as_array().unwrap().iter().cloned());
        match response.json["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return all,
        }
    }
}

/// Waits until the fake has accepted `count` messages, or `child` exits; `true` if it is still
/// running (the moment to kill it mid-batch).
async fn running_when_received(salon: &Salon, child: &mut tokio::process::Child, count: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if salon.sms.received().len() >= count {
            return true;
        }
        assert!(Instant::now() < deadline, "the worker sent too little within 2 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    // Slow enough that every kill finds hand-overs in flight at the provider.
    salon.sms.set_delay(Duration::from_millis(15));
    import_birthday_clients(&salon, 300, "12-12").await;
    // 10:00 in Shanghai, then restarts 6 minutes apart: each after the claims' 5-minute lease.
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-12T02:00:00Z").unwrap();
    let mut killed_mid_batch = 0;
    let mut left_sending = 0;
    for round in 0..4 {
        let now = (start + Span::minutes(6 * round)).to_rfc3339();
        let mut child = salon.spawn_tick(&now);
        let target = salon.sms.received().len() + 25;
        if running_when_received(&salon, &mut child, target).await {
            child.start_kill().unwrap(); // SIGKILL
            killed_mid_batch += 1;
        }
        let _ = child.wait().await;
        left_sending = left_sending.max(all_messages(&salon, "&status=sending").await.len());
    }
    assert!(killed_mid_batch >= 3, "only {killed_mid_batch} kills landed mid-batch");
    assert!(
        left_sending > 0,
        "no kill left a message `sending`: the test did not test recovery"
    );

    let now = (start + Span::minutes(30)).to_rfc3339();
    let report = salon.tick(&now).await;
    assert_eq!(report["delivery"]["failed"], 0, "{report}");
    assert_each_once(salon.sms.received().into_iter().map(|sms| sms.to).collect(), 300);
    assert_eq!(all_messages(&salon, "&status=sent").await.len(), 300);
    assert_eq!(all_messages(&salon, "").await.len(), 300, "one message per client");
    // And the provider's ids recorded are the ones it gave, each once.
    let mut ids: Vec<String> = all_messages(&salon, "&status=sent")
        .await
        .iter()
        .map(|message| message["provider_message_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 300);
}

async fn a_stopped_worker_finishes_its_sends_and_leaves_nothing_sending(backend: Backend) {
    // Early afternoon: the day's birthdays are due (10:00 has passed), quiet hours are far.
    let (zone, today) = zone_where_it_is(13);
    let salon = Salon::new(backend, &zone).await;
    salon.sms.set_delay(Duration::from_millis(250));
    import_birthday_clients(&salon, 40, &today.format("%m-%d").to_string()).await;
    let mut worker = salon
        .run_command()
        .env("SMS_CONCURRENCY", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        running_when_received(&salon, &mut worker, 4).await,
        "worker run exited on its own"
    );
    let pid = worker.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(Duration::from_secs(20), worker.wait())
        .await
        .expect("worker run did not stop within 20 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "worker run exited with {status}");

    let received = salon.sms.received().len();
    assert!(
        received < 40,
        "the stop came after the whole batch had gone ({received})"
    );
    assert!(all_messages(&salon, "&status=sending").await.is_empty(), "left sending");
    assert_eq!(
        all_messages(&salon, "&status=sent").await.len(),
        received,
        "every send that began was recorded"
    );
    assert_eq!(all_messages(&salon, "&status=pending").await.len(), 40 - received);

    // The next worker sends the rest at once, each message once.
    let report = salon.tick(&Utc::now().to_rfc3339()).await;
    assert_eq!(report["delivery"]["sent"], 40 - received, "{report}");
    assert_each_once(salon.sms.received().into_iter().map(|sms| sms.to).collect(), 40);
}

both_backends!(
    a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice,
    a_stopped_worker_finishes_its_sends_and_leaves_nothing_sending,
);
