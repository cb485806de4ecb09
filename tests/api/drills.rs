//! Failure drills, as an operator would run them, through the real binaries and real servers:
//!
//! - the worker SIGKILLed at random moments, 20 times, while 2,000 messages are due: none lost,
//!   none sent twice, counted at the Twilio fake;
//! - the SMTP server down and the SMS provider answering 503 for a while: everything is
//!   delivered once they are back, once;
//! - a burst of ten times the usual visits: no errors, and the surveys they cause drain;
//! - PostgreSQL restarted under write load (a cluster of the test's own, fsync on): every write
//!   that was acknowledged is there afterwards, and the web process recovers without a restart.

use crate::crash_recovery::all_messages;
use crate::outreach::{assert_each_once, import_birthday_clients, zone_where_it_is, Salon};
use chrono::{Duration as Span, Utc};
use e2e::cluster::Cluster;
use e2e::fakes::sms::Failure;
use e2e::{both_backends, Backend, TestApp};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small seeded generator (xorshift64*): the drill's random moments, repeatable from the seed
/// it prints.
struct Random(u64);

impl Random {
    fn seeded() -> Random {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |since| since.as_nanos() as u64)
            | 1;
        eprintln!("drill seed: {seed}");
        Random(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

async fn a_worker_killed_twenty_times_loses_and_repeats_nothing(backend: Backend) {
    const MESSAGES: usize = 2_000;
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    // Each hand-over takes a while at the provider, so that kills find sends in flight.
    salon.sms.set_delay(Duration::from_millis(50));
    import_birthday_clients(&salon, MESSAGES, "12-12").await;
    // Greetings at 08:00, decided at 08:30 (quiet hours): 2,000 messages due at 09:00.
    salon.put_settings(json!({ "birthday_time": "08:00" })).await;
    let report = salon.tick("2026-12-12T00:30:00Z").await;
    assert_eq!(report["sweep"]["messages_created"], MESSAGES, "{report}");
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-12T01:00:00Z").unwrap();
    let mut random = Random::seeded();
    let mut killed_running = 0;
    for round in 0..20 {
        // Each restart comes after the previous claims' lease (5 minutes) has run out.
        let now = (start + Span::minutes(6 * round)).to_rfc3339();
        let mut child = salon.spawn_tick(&now);
        tokio::time::sleep(Duration::from_millis(100 + random.below(900))).await;
        if child.try_wait().unwrap().is_none() {
            child.start_kill().unwrap(); // SIGKILL, wherever it is: sweeping, claiming, sending
            killed_running += 1;
        }
        let _ = child.wait().await;
    }
    let sent_before = salon.sms.received().len();
    assert!(
        killed_running >= 15,
        "only {killed_running} of 20 kills found the worker running"
    );
    assert!(
        sent_before > 0 && sent_before < MESSAGES,
        "the kills must land while messages go out ({sent_before} sent)"
    );

    let report = salon.tick(&(start + Span::minutes(6 * 21)).to_rfc3339()).await;
    assert_eq!(report["delivery"]["failed"], 0, "{report}");
    assert_each_once(salon.sms.received().into_iter().map(|sms| sms.to).collect(), MESSAGES);
    let messages = all_messages(&salon, "").await;
    assert_eq!(messages.len(), MESSAGES, "one message per client");
    assert!(messages.iter().all(|m| m["status"] == "sent"), "all sent");
    eprintln!("{killed_running} kills mid-run; {sent_before} sent before the last restart");
}

async fn an_smtp_and_sms_outage_delays_but_loses_nothing(backend: Backend) {
    let salon = Salon::new(backend, "Asia/Shanghai").await;
    let mut csv = String::from("name,phone,email,preferred_channel,birthday,marketing_consent,home_store_id\n");
    for n in 0..20 {
        csv.push_str(&format!("短信{n},1371111{n:04},,sms,05-05,yes,{}\n", salon.store));
        csv.push_str(&format!(
            "邮件{n},,mail{n}@example.com,email,05-05,yes,{}\n",
            salon.store
        ));
    }
    salon.import_clients(csv).await;
    salon.smtp.set_down(true);
    salon.sms.set_down("twilio", Some(Failure::Unavailable));

    // 10:00 and 10:15 in Shanghai: both down; every message waits for its next attempt.
    let report = salon.tick("2026-05-05T02:00:00Z").await;
    assert_eq!(report["delivery"]["retrying"], 40, "{report}");
    salon.tick("2026-05-05T02:15:00Z").await;
    assert!(salon.smtp.received().is_empty() && salon.sms.received().is_empty());
    let waiting = all_messages(&salon, "&status=pending").await;
    assert_eq!(waiting.len(), 40);
    assert!(
        waiting
            .iter()
            .all(|m| m["last_error"].as_str().is_some_and(|e| !e.is_empty())),
        "each keeps its last error"
    );

    // Back at 10:30; by 12:00 every retry has come round.
    salon.smtp.set_down(false);
    salon.sms.set_down("twilio", None);
    for at in ["2026-05-05T02:30:00Z", "2026-05-05T03:00:00Z", "2026-05-05T04:00:00Z"] {
        salon.tick(at).await;
    }
    assert_each_once(salon.sms.received().into_iter().map(|sms| sms.to).collect(), 20);
    assert_each_once(
        salon
            .smtp
            .received()
            .into_iter()
            .flat_map(|mail| mail.rcpt_to)
            .collect(),
        20,
    );
    let messages = all_messages(&salon, "").await;
    assert_eq!(messages.len(), 40);
    assert!(messages.iter().all(|m| m["status"] == "sent"), "{messages:?}");
    assert!(messages.iter().all(|m| m["attempts"].as_i64() >= Some(2)));
}

/// `POST /visits` for `client`, completed `hours_ago`; the status.
async fn record_visit(app: &TestApp, token: &str, client: &str, store: &str, completed: chrono::DateTime<Utc>) -> u16 {
    let response = app
        .post(
            "/api/v1/visits",
            token,
            &json!({
                "client_id": client, "store_id": store, "completed_at": completed.to_rfc3339(),
                "lines": [{ "description": "面部护理", "amount_cents": 29800 }], "payment_method": "card",
            }),
        )
        .await;
    response.status
}

async fn a_burst_of_visits_is_taken_and_its_surveys_drain(backend: Backend) {
    // Early afternoon at the store: the surveys go out as soon as they are due.
    let (zone, _) = zone_where_it_is(13);
    let salon = Arc::new(Salon::new(backend, &zone).await);
    let mut clients = Vec::new();
    for n in 0..20 {
        clients.push(
            salon
                .client(json!({ "name": format!("客户{n}"), "phone": format!("1372222{n:04}") }))
                .await,
        );
    }
    // The usual pace: 20 visits one after the other; then ten times that, 32 at once.
    let yesterday = Utc::now() - Span::hours(25);
    for (n, client) in clients.iter().enumerate() {
        let status = record_visit(
            &salon.app,
            &salon.owner.token,
            client,
            &salon.store,
            yesterday - Span::minutes(n as i64),
        )
        .await;
        assert_eq!(status, 201);
    }
    let started = Instant::now();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (salon, clients, failures, next) = (salon.clone(), clients.clone(), failures.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= 200 {
                    return;
                }
                let client = &clients[n % clients.len()];
                let completed = yesterday - Span::minutes(30 + n as i64);
                let status = record_visit(&salon.app, &salon.owner.token, client, &salon.store, completed).await;
                if status != 201 {
                    failures.lock().unwrap().push(status);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let burst = started.elapsed();
    assert!(failures.lock().unwrap().is_empty(), "{:?}", failures.lock().unwrap());
    for client in &clients {
        let record = salon
            .app
            .get(&format!("/api/v1/clients/{client}"), &salon.owner.token)
            .await;
        assert_eq!(record.json["visit_count"], 11, "{}", record.text);
    }
    // The 220 surveys they cause: decided and sent, and nothing left waiting.
    let report = salon.tick(&(Utc::now() + Span::minutes(1)).to_rfc3339()).await;
    assert_eq!(report["sweep"]["messages_created"], 220, "{report}");
    assert_eq!(report["delivery"]["sent"], 220, "{report}");
    for status in ["pending", "deferred", "sending"] {
        assert!(
            all_messages(&salon, &format!("&status={status}")).await.is_empty(),
            "{status}"
        );
    }
    assert_eq!(salon.sms.received().len(), 220);
    eprintln!("burst: 200 visits, 32 at once, in {burst:?}");
}

async fn postgres_restarted_under_write_load_keeps_every_acknowledged_write(_backend: Backend) {
    let cluster = Arc::new(Cluster::start(&[]));
    cluster.create_database("salon");
    let app = Arc::new(TestApp::spawn_on(Backend::Postgres, cluster.url("salon"), &[]).await);
    let owner = app.signup("重启演练").await;
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let restarted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let after_restart = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (app, token) = (app.clone(), owner.token.clone());
        let (acknowledged, refused) = (acknowledged.clone(), refused.clone());
        let (restarted, after_restart) = (restarted.clone(), after_restart.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let name = format!("写入{writer}-{n}");
                let body = json!({ "name": name, "phone": format!("139{writer}{n:07}") });
                let request = app
                    .client()
                    .post(app.url("/api/v1/clients"))
                    .bearer_auth(&token)
                    .json(&body);
                match request.send().await {
                    Ok(response) if response.status() == 201 => {
                        let created: Value = response.json().await.unwrap_or(Value::Null);
                        if let Some(id) = created["id"].as_str() {
                            acknowledged.lock().unwrap().push((id.to_owned(), name));
                            if restarted.load(Ordering::SeqCst) {
                                after_restart.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    // Refused while the database is away (503 with Retry-After), or cut off.
                    _ => {
                        refused.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = acknowledged.lock().unwrap().len();
    let server = cluster.clone();
    tokio::task::spawn_blocking(move || server.restart()).await.unwrap();
    restarted.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(before > 0, "no write before the restart");
    assert!(
        after_restart.load(Ordering::SeqCst) > 0,
        "no write acknowledged after the restart: the web process did not recover on its own"
    );
    for (id, name) in &acknowledged {
        let client = app.get(&format!("/api/v1/clients/{id}"), &owner.token).await;
        assert_eq!(client.status, 200, "acknowledged client {id} is gone: {}", client.text);
        assert_eq!(client.json["name"], name.as_str());
    }
    let ready = app.send(app.client().get(app.url("/readyz"))).await;
    assert_eq!(ready.status, 200);
    eprintln!(
        "restart drill: {} writes acknowledged ({before} before the restart, {} after), {} refused or cut off",
        acknowledged.len(),
        after_restart.load(Ordering::SeqCst),
        refused.load(Ordering::SeqCst)
    );
}

both_backends!(
    a_worker_killed_twenty_times_loses_and_repeats_nothing,
    an_smtp_and_sms_outage_delays_but_loses_nothing,
    a_burst_of_visits_is_taken_and_its_surveys_drain,
);

mod postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_restarted_under_write_load_keeps_every_acknowledged_write() {
        super::postgres_restarted_under_write_load_keeps_every_acknowledged_write(e2e::Backend::Postgres).await
    }
}
