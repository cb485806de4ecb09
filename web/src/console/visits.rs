//! Record a visit (checkout): `GET /app/visits/new` (first the client, found with the same
//! search as the Clients screen, then the form), `POST /app/visits`.
//!
//! The form records through `shared::visits::create`, like `POST /api/v1/visits`: the client's
//! aggregates change in the same transaction and the survey follows. It carries an
//! idempotency key made when the form was shown, stored like the API's `Idempotency-Key`, so a
//! double click (or a resubmission) records one visit and lands on the same page.

use super::frame::{Console, ConsoleError};
use super::i18n::{self, Lang};
use super::{form_errors, format, FieldMessage};
use crate::extract::can;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use shared::clients::Client;
use shared::domain::{ClientId, PaymentMethod, StoreId};
use shared::idempotency::IdempotencyKey;
use shared::pagination::PageRequest;
use shared::visits::{LineInput, VisitInput};
use std::collections::BTreeMap;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/app/visits/new").route(web::get().to(new_form)))
        .service(web::resource("/app/visits").route(web::post().to(record)));
}

/// Rows of the lines table on a fresh form.
const LINE_ROWS: usize = 3;

#[derive(Deserialize)]
struct NewQuery {
    client_id: Option<String>,
    q: Option<String>,
}

#[derive(Serialize, Default, Clone)]
struct LineRow {
    service_id: String,
    description: String,
    amount: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct Option_ {
    id: String,
    name: String,
    price_cents: i64,
}

#[derive(Serialize)]
struct VisitPage {
    client: Client,
    idempotency_key: String,
    lines: Vec<LineRow>,
    services: Vec<Option_>,
    staff: Vec<Option_>,
    payment_methods: Vec<&'static str>,
    values: BTreeMap<String, String>,
    errors: Vec<FieldMessage>,
    field_errors: BTreeMap<String, String>,
}

/// The catalog, the store's staff and the client, for the form.
fn form_data(
    conn: &mut shared::db::AnyConnection,
    auth: &shared::tenancy::Auth,
    client: ClientId,
) -> shared::Result<(Client, Vec<Option_>, Vec<Option_>)> {
    let (client, _) = shared::clients::profile(conn, auth, client)?;
    let page = PageRequest {
        limit: 200,
        after: None,
    };
    let services = shared::services::list(
        conn,
        &auth.tenant,
        &shared::services::ServiceFilter {
            active: Some(true),
            ..Default::default()
        },
        &page,
    )?
    .items
    .into_iter()
    .map(|s| Option_ {
        id: s.id.to_string(),
        name: s.name,
        price_cents: s.price_cents,
    })
    .collect();
    let filter = shared::staff::StaffFilter {
        store_id: auth.actor.store_id.filter(|_| !auth.actor.is_hq()),
        role: None,
    };
    let staff = shared::staff::list(conn, &auth.tenant, &filter, &page)?
        .items
        .into_iter()
        .filter(|s| s.active)
        .map(|s| Option_ {
            id: s.id.to_string(),
            name: s.name,
            price_cents: 0,
        })
        .collect();
    Ok((client, services, staff))
}

async fn new_form(
    console: Console<can::RecordVisits>,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.into_inner();
    let Some(client) = query.client_id.as_deref().and_then(|id| ClientId::parse(id).ok()) else {
        // No client yet: find them first (each result leads back here with its id).
        return super::clients::search_page(&console, query.q.unwrap_or_default(), true).await;
    };
    let (frame, (client, services, staff)) = console
        .read(None, move |conn, auth, _| form_data(conn, auth, client))
        .await?;
    if client.erased {
        return Err(ConsoleError::NotFound);
    }
    let mut values = BTreeMap::new();
    let store = frame
        .store_id
        .clone()
        .or_else(|| client.home_store_id.map(|s| s.to_string()));
    let zone = frame.zone_of(store.as_deref());
    values.insert(
        "completed_at".into(),
        console
            .state
            .now()
            .with_timezone(&zone)
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
    );
    values.insert("payment_method".into(), PaymentMethod::WechatPay.as_str().into());
    if let Some(store) = store {
        values.insert("store_id".into(), store);
    }
    if !console.auth.actor.is_hq() && console.auth.actor.role == shared::domain::Role::Beautician {
        values.insert("staff_id".into(), console.auth.actor.staff_id.to_string());
    }
    let page = VisitPage {
        client,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        lines: vec![LineRow::default(); LINE_ROWS],
        services,
        staff,
        payment_methods: PaymentMethod::ALL.iter().map(|m| m.as_str()).collect(),
        values,
        errors: Vec::new(),
        field_errors: BTreeMap::new(),
    };
    Ok(console.render(&frame, "visit_new.html", page))
}

/// The rows as shown, the non-blank lines with their row, and the rows whose amount is unreadable.
type Lines = (Vec<LineRow>, Vec<(usize, LineInput)>, Vec<(usize, &'static str)>);

/// The form's lines: (row index, line) for each row that is not blank.
fn lines_of(form: &super::frame::Form) -> Lines {
    let services = form.all("service_id");
    let descriptions = form.all("description");
    let amounts = form.all("amount");
    let rows = services.len().max(descriptions.len()).max(amounts.len()).max(1);
    let mut shown = Vec::new();
    let mut lines = Vec::new();
    let mut bad_amounts = Vec::new();
    for i in 0..rows {
        let get = |v: &Vec<&str>| v.get(i).copied().unwrap_or_default().to_owned();
        let row = LineRow {
            service_id: get(&services),
            description: get(&descriptions),
            amount: get(&amounts),
            error: None,
        };
        if !(row.service_id.is_empty() && row.description.is_empty() && row.amount.is_empty()) {
            let amount_cents = if row.amount.is_empty() {
                None
            } else {
                format::parse_money(&row.amount)
            };
            if !row.amount.is_empty() && amount_cents.is_none() {
                bad_amounts.push((i, "invalid_amount"));
            }
            lines.push((
                i,
                LineInput {
                    service_id: Some(row.service_id.clone()).filter(|s| !s.is_empty()),
                    description: Some(row.description.clone()).filter(|s| !s.is_empty()),
                    amount_cents,
                },
            ));
        }
        shown.push(row);
    }
    (shown, lines, bad_amounts)
}

/// `datetime-local` text in the store's zone as RFC 3339; blank: now.
fn completed_at(text: Option<&str>, zone: chrono_tz::Tz, now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(text) = text else {
        return now.to_rfc3339();
    };
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|local| zone.from_local_datetime(&local).earliest())
        .map_or_else(|| text.to_owned(), |at| at.to_rfc3339())
}

async fn record(console: Console<can::RecordVisits>) -> Result<HttpResponse, ConsoleError> {
    let form = &console.form;
    let client_id = form
        .get("client_id")
        .and_then(|id| ClientId::parse(id).ok())
        .ok_or(ConsoleError::NotFound)?;
    let key = form.get("idempotency_key").and_then(|k| IdempotencyKey::parse(k).ok());
    let (mut rows, lines, bad_amounts) = lines_of(form);
    let store_id = form.get("store_id").map(str::to_owned);
    let now = console.state.now();
    let discount_text = form.get("discount");
    let discount = discount_text.map(format::parse_money);
    let payment = form.get("payment_method").and_then(|m| PaymentMethod::parse(m).ok());
    // The zone of the store the visit is recorded in: the one chosen (HQ), else the actor's.
    let wanted_store = store_id.as_deref().and_then(|s| StoreId::parse(s).ok());
    let (frame, ()) = console.read(wanted_store, |_, _, _| Ok(())).await?;
    let lang = frame.lang();
    let zone = frame.zone_of(store_id.as_deref().or(frame.store_id.as_deref()));

    let mut early = shared::FieldErrors::default();
    for (row, code) in &bad_amounts {
        early.push(&format!("row.{row}"), code, "must be an amount such as 398 or 398.50");
    }
    if matches!(discount, Some(None)) {
        early.push("discount", "invalid_amount", "must be an amount such as 20 or 20.50");
    }
    if payment.is_none() {
        early.push("payment_method", "required", "how was the visit paid?");
    }
    let outcome = if early.is_empty() {
        let input = VisitInput {
            client_id: client_id.to_string(),
            store_id,
            staff_id: form.get("staff_id").map(str::to_owned),
            completed_at: completed_at(form.get("completed_at"), zone, now),
            lines: lines.iter().map(|(_, l)| l.clone()).collect(),
            discount_cents: discount.flatten(),
            payment_method: payment.unwrap_or(PaymentMethod::Other),
            notes: form.get("notes").map(str::to_owned),
        };
        let auth = console.auth;
        let hash = shared::crypto::sha256_hex(
            serde_urlencoded::to_string(form.values().into_iter().collect::<Vec<_>>())
                .unwrap_or_default()
                .as_bytes(),
        );
        crate::api::support::create_once(
            &console.state,
            auth,
            "POST /app/visits".to_owned(),
            key,
            hash,
            move |conn| {
                let visit = shared::visits::create(conn, &auth, input.clone(), now)?;
                Ok((
                    format!("/api/v1/visits/{}", visit.id),
                    visit.version,
                    serde_json::Value::Null,
                ))
            },
        )
        .await
        .map(|_| ())
    } else {
        Err(shared::Error::Validation(early))
    };
    let error = match outcome {
        Ok(()) => return Ok(console.redirect(&format!("/app/clients/{client_id}"), Some("flash.visit_recorded"))),
        Err(error @ (shared::Error::Validation(_) | shared::Error::Conflict { .. })) => error,
        Err(other) => return Err(other.into()),
    };
    // The form again, the staff member's input kept, each error beside its field.
    let (list, mut by_field) = form_errors(&error, lang);
    let mut errors = Vec::new();
    for mut message in list {
        if let Some(row) = line_row(&message.field, &lines) {
            if let Some(line) = rows.get_mut(row) {
                line.error.get_or_insert_with(|| message.message.clone());
            }
            message.label = i18n::text("visit.service", lang).unwrap_or_default().to_owned() + &format!(" {}", row + 1);
            message.field = format!("amount-{row}");
        } else {
            let field = match message.field.as_str() {
                "discount_cents" => "discount".to_owned(),
                "lines" => "service-0".to_owned(),
                other => other.to_owned(),
            };
            if let Some(text) = by_field.remove(&message.field) {
                by_field.insert(field.clone(), text);
            }
            message.label = label(&field, lang);
            message.field = field;
        }
        errors.push(message);
    }
    let (frame, (client, services, staff)) = console
        .read(None, move |conn, auth, _| form_data(conn, auth, client_id))
        .await?;
    let page = VisitPage {
        client,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        lines: rows,
        services,
        staff,
        payment_methods: PaymentMethod::ALL.iter().map(|m| m.as_str()).collect(),
        values: console.form.values(),
        errors,
        field_errors: by_field,
    };
    Ok(console.render_status(StatusCode::UNPROCESSABLE_ENTITY, &frame, "visit_new.html", page))
}

fn label(field: &str, lang: Lang) -> String {
    match field {
        "service-0" => i18n::field_label("lines", lang),
        other => i18n::field_label(other, lang),
    }
}

/// The form row an error of `lines.N…` (the N-th non-blank line) or `row.N` belongs to.
fn line_row(field: &str, lines: &[(usize, LineInput)]) -> Option<usize> {
    if let Some(row) = field.strip_prefix("row.") {
        return row.parse().ok();
    }
    let rest = field.strip_prefix("lines.")?;
    let n: usize = rest.split('.').next()?.parse().ok()?;
    lines.get(n).map(|(row, _)| *row)
}
