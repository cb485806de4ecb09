//! `/app/` Today: the day at a glance for one store (HQ: all stores or the one picked), and
//! for a new chain the first-run checklist.

use super::format;
use super::frame::{Anyone, Console, ConsoleError};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::domain::StoreId;
use shared::tenancy::Action;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/app/", web::get().to(show));
}

#[derive(Deserialize)]
struct TodayQuery {
    store_id: Option<String>,
}

#[derive(Serialize)]
struct ComplaintRow {
    id: String,
    client_name: String,
    summary: String,
    /// callback, solution, follow_up or done
    step: &'static str,
    overdue: bool,
    /// Time left (or overdue by), written out.
    left: Option<String>,
}

#[derive(Serialize)]
struct ScoreRow {
    client_id: String,
    client_name: String,
    store_id: String,
    overall: String,
    comment: Option<String>,
    answered_at: String,
}

#[derive(Serialize)]
struct ChecklistItem {
    key: &'static str,
    done: bool,
    href: Option<&'static str>,
}

#[derive(Serialize)]
struct TodayPage {
    date_text: String,
    store_name: Option<String>,
    visits: i64,
    revenue_cents: i64,
    complaints: Vec<ComplaintRow>,
    complaints_open: usize,
    complaints_overdue: bool,
    low_scores: Vec<ScoreRow>,
    birthdays: Vec<shared::today::ClientMention>,
    messages_failed: i64,
    wake_ups_due: i64,
    checklist: Option<Vec<ChecklistItem>>,
}

async fn show(console: Console<Anyone>, query: web::Query<TodayQuery>) -> Result<HttpResponse, ConsoleError> {
    let wanted = query
        .store_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| StoreId::parse(s).ok());
    let now = console.state.now();
    let owner_like = console.may(Action::ManageStores);
    let (frame, (today, names, first_run)) = console
        .read(wanted, move |conn, auth, frame| {
            let store = frame.store_id.as_deref().and_then(|s| StoreId::parse(s).ok());
            let today = shared::today::today(conn, auth, store, frame.zone_of(None), now)?;
            let mut ids: Vec<String> = today.complaints.iter().map(|c| c.client_id.clone()).collect();
            ids.extend(today.low_scores.iter().map(|s| s.client_id.clone()));
            let names = shared::clients::names(conn, auth, &ids)?;
            let first_run = if owner_like {
                Some(shared::today::first_run(conn, auth)?)
            } else {
                None
            };
            Ok((today, names, first_run))
        })
        .await?;
    let lang = frame.lang();
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| "—".to_owned());
    let complaints: Vec<ComplaintRow> = today
        .complaints
        .iter()
        .map(|c| {
            let step = if c.callback_at.is_none() {
                "callback"
            } else if c.solution_at.is_none() {
                "solution"
            } else if c.follow_up_at.is_none() {
                "follow_up"
            } else {
                "done"
            };
            let minutes = c.next_deadline_at.map(|at| (at - now).num_minutes());
            ComplaintRow {
                id: c.id.clone(),
                client_name: name_of(&c.client_id),
                summary: c.summary.clone(),
                step,
                overdue: c.overdue || minutes.is_some_and(|m| m < 0),
                left: minutes.map(|m| format::duration(m, lang)),
            }
        })
        .collect();
    let complaints_overdue = complaints.iter().any(|c| c.overdue);
    let low_scores = today
        .low_scores
        .iter()
        .map(|s| ScoreRow {
            client_id: s.client_id.clone(),
            client_name: name_of(&s.client_id),
            store_id: s.store_id.clone(),
            overall: s.overall.map_or_else(String::new, |o| format!("{o:.2}")),
            comment: s.comment.clone(),
            answered_at: s.answered_at.unwrap_or(now).to_rfc3339(),
        })
        .collect();
    let checklist = first_run.filter(|f| !f.complete()).map(|f| {
        vec![
            ChecklistItem {
                key: "add_store",
                done: f.stores,
                href: None,
            },
            ChecklistItem {
                key: "invite_staff",
                done: f.staff,
                href: None,
            },
            ChecklistItem {
                key: "import_clients",
                done: f.clients,
                href: None,
            },
            ChecklistItem {
                key: "sms_provider",
                done: f.sms_provider,
                href: None,
            },
            ChecklistItem {
                key: "review_rules",
                done: f.settings_saved,
                href: None,
            },
        ]
        .into_iter()
        .map(|mut item| {
            // Each step links to its screen once that screen exists.
            let href = match item.key {
                "add_store" => "/app/stores",
                "invite_staff" => "/app/staff",
                "import_clients" => "/app/imports",
                _ => "/app/settings",
            };
            item.href = super::nav::may_open(&console.auth.actor, href).then_some(href);
            item
        })
        .collect()
    });
    let store_name = frame
        .store_id
        .as_ref()
        .and_then(|id| frame.stores.iter().find(|s| &s.id == id))
        .map(|s| s.name.clone());
    let page = TodayPage {
        date_text: format::date(today.date, lang),
        store_name,
        visits: today.visits,
        revenue_cents: today.revenue_cents,
        complaints,
        complaints_open: today.complaints_open,
        complaints_overdue,
        low_scores,
        birthdays: today.birthdays,
        messages_failed: today.messages_failed,
        wake_ups_due: today.wake_ups_due,
        checklist,
    };
    Ok(console.render(&frame, "today.html", page))
}
