//! Scale-out on one PostgreSQL: two web processes and three `worker run` processes at once.
//! Visits pour in through both web processes, many for the same clients at the same moment;
//! birthdays fall due; the three workers sweep and deliver side by side. Every visit is taken
//! (no deadlock, no error), each client's aggregates add up, every occasion has one message,
//! and the Twilio fake receives each message once.

use crate::crash_recovery::all_messages;
use crate::outreach::{import_birthday_clients, zone_where_it_is, Salon};
use chrono::{Duration as Span, Utc};
use e2e::Backend;
use serde_json::json;
use std::collections::HashSet;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const CLIENTS_WITH_VISITS: usize = 30;
const VISITS_EACH: usize = 10;
const BIRTHDAYS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_web_and_three_workers_share_one_database() {
    // Early afternoon at the store: birthdays are due and surveys go out at once.
    let (zone, today) = zone_where_it_is(13);
    let salon = Arc::new(Salon::new(Backend::Postgres, &zone).await);
    let second = salon.app.replica(&[]).await;
    salon.sms.set_delay(Duration::from_millis(5));
    import_birthday_clients(&salon, BIRTHDAYS, &today.format("%m-%d").to_string()).await;
    let mut clients = Vec::new();
    for n in 0..CLIENTS_WITH_VISITS {
        clients.push(
            salon
                .client(json!({ "name": format!("常客{n}"), "phone": format!("1383333{n:04}") }))
                .await,
        );
    }

    // Three workers, each logging to a buffer the test reads at the end.
    let mut workers = Vec::new();
    let logs = Arc::new(Mutex::new(String::new()));
    for _ in 0..3 {
        let mut worker = salon
            .run_command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = worker.stderr.take().unwrap();
        let logs = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                logs.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        workers.push(worker);
    }

    // 300 visits, 24 at once, alternating between the two web processes; each client's ten
    // visits arrive together (they all lock the same client row).
    let yesterday = Utc::now() - Span::hours(25);
    let bases = Arc::new([salon.app.base.clone(), second.base.clone()]);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (salon, clients, bases) = (salon.clone(), clients.clone(), bases.clone());
        let (next, failures) = (next.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= CLIENTS_WITH_VISITS * VISITS_EACH {
                    return;
                }
                let client = &clients[n / VISITS_EACH];
                let body = json!({
                    "client_id": client, "store_id": salon.store,
                    "completed_at": (yesterday - Span::minutes(n as i64)).to_rfc3339(),
                    "lines": [{ "description": "面部护理", "amount_cents": 29800 }], "payment_method": "alipay",
                });
                let request = salon
                    .app
                    .client()
                    .post(format!("{}/api/v1/visits", bases[n % 2]))
                    .bearer_auth(&salon.owner.token)
                    .json(&body);
                let response = salon.app.send(request).await;
                if response.status != 201 {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("{}: {}", response.status, response.text));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(failures.lock().unwrap().is_empty(), "{:?}", failures.lock().unwrap());
    for client in &clients {
        let record = salon
            .app
            .get(&format!("/api/v1/clients/{client}"), &salon.owner.token)
            .await;
        assert_eq!(record.json["visit_count"], VISITS_EACH, "{}", record.text);
        assert_eq!(
            record.json["total_spent_cents"],
            29800 * VISITS_EACH as i64,
            "{}",
            record.text
        );
    }

    // Every birthday greeting and every visit's survey, sent.
    let expected = BIRTHDAYS + CLIENTS_WITH_VISITS * VISITS_EACH;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sent = all_messages(&salon, "&status=sent").await.len();
        if sent == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{sent} of {expected} sent within 2 minutes\n{}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A little longer: nothing more may arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for worker in &mut workers {
        let pid = worker.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
    }
    for worker in &mut workers {
        let status = tokio::time::timeout(Duration::from_secs(30), worker.wait())
            .await
            .expect("a worker did not stop within 30 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "{status}");
    }

    // One message per occasion, and each reached the provider once.
    let messages = all_messages(&salon, "").await;
    assert_eq!(messages.len(), expected, "one message per occasion");
    assert_eq!(messages.iter().filter(|m| m["kind"] == "birthday").count(), BIRTHDAYS);
    assert_eq!(
        messages.iter().filter(|m| m["kind"] == "survey").count(),
        CLIENTS_WITH_VISITS * VISITS_EACH
    );
    let received = salon.sms.received();
    assert_eq!(received.len(), expected, "sent to the provider once each");
    let bodies: HashSet<_> = received.iter().map(|sms| sms.body.clone()).collect();
    assert_eq!(bodies.len(), expected, "no text twice");
    let ids: HashSet<_> = messages
        .iter()
        .map(|m| m["provider_message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), expected);
    let logs = logs.lock().unwrap();
    assert!(!logs.to_lowercase().contains("deadlock"), "{logs}");
    assert!(!logs.contains("worker pass failed"), "{logs}");
}
