use super::access::{can_see_sensitive, visible_client, visible_ids};
use super::model::{Client, ClientRow, SensitiveFields};
use super::write::tenant_locale_facts;
use crate::audit::{self, AuditAction};
use crate::crypto::Keyring;
use crate::db::schema::{client_search, client_stores, clients};
use crate::db::AnyConnection;
use crate::domain::{ClientId, StoreId};
use crate::error::Result;
use crate::pagination::{Page, PageRequest};
use crate::search::{parse_query, prefix_upper_bound, TermKind};
use crate::tenancy::Auth;
use crate::visits::{self, Visit};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashSet;

/// Sensitive fields for a reader allowed to see them, decrypted, with the read audited.
fn reveal(
    conn: &mut AnyConnection,
    auth: &Auth,
    row: &ClientRow,
    keys: &Keyring,
    now: DateTime<Utc>,
    purpose: &str,
) -> Result<Option<SensitiveFields>> {
    if !can_see_sensitive(auth, row) {
        return Ok(None);
    }
    let fields = row.decrypt_sensitive(keys)?;
    if !fields.is_empty() {
        audit::record(
            conn,
            &auth.tenant,
            Some(auth.actor.staff_id),
            AuditAction::ReadSensitive,
            ("client", Some(row.id.clone())),
            serde_json::json!({ "via": purpose }),
            now,
        )?;
    }
    Ok(Some(fields))
}

/// One client, with sensitive fields when the reader may see them (and the read audited, so
/// call it inside a write transaction).
pub fn get(conn: &mut AnyConnection, auth: &Auth, id: ClientId, keys: &Keyring, now: DateTime<Utc>) -> Result<Client> {
    let row = visible_client(conn, auth, id)?;
    let (_, currency) = tenant_locale_facts(auth);
    let sensitive = reveal(conn, auth, &row, keys, now, "client")?;
    row.view(&currency, sensitive)
}

/// The names of the tenant's clients among `ids` (for lists that show who a complaint or a
/// survey is about; the caller's list is already within the reader's reach).
pub fn names(
    conn: &mut AnyConnection,
    auth: &Auth,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, String)> = clients::table
        .filter(clients::tenant_id.eq(auth.tenant.key()))
        .filter(clients::id.eq_any(ids))
        .select((clients::id, clients::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// One client without sensitive fields (nothing is decrypted or audited), and whether the
/// reader may ask to see them ([`reveal_sensitive`]): the console's client page, where
/// allergies and medical notes stay hidden until someone who treats the client asks.
pub fn profile(conn: &mut AnyConnection, auth: &Auth, id: ClientId) -> Result<(Client, bool)> {
    let row = visible_client(conn, auth, id)?;
    let (_, currency) = tenant_locale_facts(auth);
    let may_reveal = can_see_sensitive(auth, &row);
    Ok((row.view(&currency, None)?, may_reveal))
}

/// The client's sensitive fields, decrypted, with the read written to the audit log (call it
/// inside a write transaction). `Forbidden` for a reader who may not see them (the front desk,
/// another store's staff); `NotFound` for a client they cannot see at all.
pub fn reveal_sensitive(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ClientId,
    keys: &Keyring,
    now: DateTime<Utc>,
    purpose: &str,
) -> Result<SensitiveFields> {
    let row = visible_client(conn, auth, id)?;
    reveal(conn, auth, &row, keys, now, purpose)?.ok_or(crate::error::Error::Forbidden(
        "your role does not allow reading this client's sensitive fields",
    ))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientSort {
    /// Oldest first (the default; ids are time-ordered).
    #[default]
    Created,
    /// By name, then id.
    Name,
}

#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Clients of this store (home store or visited).
    pub store_id: Option<StoreId>,
    pub tag: Option<String>,
    pub marketing_consent: Option<bool>,
}

/// The store a store role is confined to; `None` for HQ roles.
fn store_scope(auth: &Auth) -> Option<String> {
    (!auth.actor.is_hq())
        .then(|| auth.actor.store_id.map(|s| s.to_string()))
        .flatten()
}

/// A page of clients (without sensitive fields).
pub fn list(
    conn: &mut AnyConnection,
    auth: &Auth,
    filter: &ListFilter,
    sort: ClientSort,
    page: &PageRequest,
) -> Result<Page<Client>> {
    let tenant = auth.tenant.key();
    let (_, currency) = tenant_locale_facts(auth);
    let mut query = clients::table
        .filter(clients::tenant_id.eq(&tenant))
        .filter(clients::deleted_at.is_null())
        .select(ClientRow::as_select())
        .limit(page.fetch())
        .into_boxed();
    if let Some(store) = store_scope(auth) {
        let linked = client_stores::table
            .filter(client_stores::tenant_id.eq(tenant.clone()))
            .filter(client_stores::store_id.eq(store.clone()))
            .select(client_stores::client_id);
        query = query.filter(
            clients::home_store_id
                .is_null()
                .or(clients::home_store_id.eq(store))
                .or(clients::id.eq_any(linked)),
        );
    }
    if let Some(store) = filter.store_id {
        let linked = client_stores::table
            .filter(client_stores::tenant_id.eq(tenant.clone()))
            .filter(client_stores::store_id.eq(store.to_string()))
            .select(client_stores::client_id);
        query = query.filter(clients::id.eq_any(linked));
    }
    if let Some(tag) = &filter.tag {
        let pattern = format!("%{}%", serde_json::Value::String(tag.clone()));
        query = query.filter(clients::tags.like(pattern));
    }
    if let Some(consent) = filter.marketing_consent {
        query = query.filter(clients::marketing_consent.eq(consent));
    }
    match sort {
        ClientSort::Created => {
            if let Some(after) = &page.after {
                query = query.filter(clients::id.gt(after.clone()));
            }
            query = query.order(clients::id.asc());
        }
        ClientSort::Name => {
            if let Some((name, id)) = page.after.as_deref().and_then(crate::pagination::decode_cursor) {
                query = query.filter(
                    clients::name
                        .gt(name.clone())
                        .or(clients::name.eq(name).and(clients::id.gt(id))),
                );
            }
            query = query.order((clients::name.asc(), clients::id.asc()));
        }
    }
    let rows = query.load(conn)?;
    let clients = rows
        .iter()
        .map(|row: &ClientRow| row.view(&currency, None))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(clients, page, |client| match sort {
        ClientSort::Created => client.id.to_string(),
        ClientSort::Name => crate::pagination::encode_cursor(&client.name, &client.id.to_string()),
    }))
}

/// Candidates per prefix taken from the lookup index (in term order, so the exact term comes
/// first) before ranking: enough to rank a page, few enough to load quickly.
fn candidate_count(limit: usize) -> i64 {
    i64::try_from(limit.saturating_mul(2).max(20)).unwrap_or(100)
}

/// The front desk's lookup: by name (substring), pinyin, initials, phone prefix or last
/// digits. Index range scans only; ranked with an exact phone first, then exact and leading
/// name matches, then regulars (more visits) before others.
///
/// A store role finds the clients of their store, plus any client of the chain whose full
/// phone number they type (clients are shared by the chain's stores: the front desk must be
/// able to serve a client of another store).
pub fn lookup(conn: &mut AnyConnection, auth: &Auth, q: &str, limit: usize) -> Result<Vec<Client>> {
    let tenant = auth.tenant.key();
    let (country, currency) = tenant_locale_facts(auth);
    let Some(query) = parse_query(q, country.as_deref()) else {
        return Ok(Vec::new());
    };
    let mut candidates: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for (kind, prefix) in &query.prefixes {
        let ids: Vec<String> = client_search::table
            .filter(client_search::tenant_id.eq(&tenant))
            .filter(client_search::kind.eq(kind.as_str()))
            .filter(client_search::term.ge(prefix))
            .filter(client_search::term.lt(prefix_upper_bound(prefix)))
            .order(client_search::term.asc())
            .select(client_search::client_id)
            .limit(candidate_count(limit))
            .load(conn)?;
        for id in ids {
            if seen.insert(id.clone()) {
                candidates.push(id);
            }
        }
    }
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ClientRow> = clients::table
        .filter(clients::tenant_id.eq(&tenant))
        .filter(clients::id.eq_any(&candidates))
        .filter(clients::deleted_at.is_null())
        .select(ClientRow::as_select())
        .load(conn)?;

    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let exact_phone = |row: &ClientRow| {
        let national = row
            .phone
            .clone()
            .map(crate::domain::Phone::from_db)
            .map(|p| p.national_digits());
        match (&query.exact_phone_digits, national) {
            (Some(exact), Some(national)) => *exact == national,
            (None, Some(national)) => digits.len() >= 7 && digits == national,
            _ => false,
        }
    };
    let needle: String = normalize(q);
    let visible = visible_ids(conn, auth, &rows)?;
    let mut ranked: Vec<(u8, &ClientRow)> = Vec::new();
    for row in &rows {
        let exact = exact_phone(row);
        if !exact && !visible.contains(&row.id) {
            continue;
        }
        let name = normalize(&row.name);
        let score = if exact {
            0
        } else if !needle.is_empty() && name == needle {
            1
        } else if !needle.is_empty() && name.starts_with(&needle) {
            2
        } else if query.prefixes.iter().any(|(kind, _)| *kind == TermKind::PhoneNational) {
            3
        } else {
            4
        };
        ranked.push((score, row));
    }
    ranked.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.1.visit_count.cmp(&a.1.visit_count))
            .then(a.1.name.cmp(&b.1.name))
            .then(a.1.id.cmp(&b.1.id))
    });
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, row)| row.view(&currency, None))
        .collect()
}

fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .flat_map(char::to_lowercase)
        .collect()
}

/// What happened with a client, oldest first: visits and the messages the salon sent them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// visit or message.
    pub kind: String,
    pub id: String,
    /// A one-line summary for the front desk.
    pub summary: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

pub fn timeline(conn: &mut AnyConnection, auth: &Auth, id: ClientId) -> Result<Vec<TimelineEntry>> {
    visible_client(conn, auth, id)?;
    let visits = visits::for_client(conn, auth, id)?;
    let mut entries: Vec<TimelineEntry> = visits
        .into_iter()
        .map(|visit| {
            let services: Vec<&str> = visit.lines.iter().map(|l| l.description.as_str()).collect();
            TimelineEntry {
                at: visit.completed_at,
                kind: "visit".into(),
                id: visit.id.to_string(),
                summary: format!(
                    "{} — {} {}.{:02}{}",
                    services.join(", "),
                    visit.currency,
                    visit.total_cents / 100,
                    visit.total_cents % 100,
                    if visit.status == "voided" { " (voided)" } else { "" }
                ),
                detail: serde_json::to_value(&visit).unwrap_or_default(),
            }
        })
        .collect();
    for message in crate::outreach::outbox::for_client(conn, &auth.tenant, id)? {
        entries.push(TimelineEntry {
            at: message.sent_at.unwrap_or(message.created_at),
            kind: "message".into(),
            id: message.id.clone(),
            summary: format!(
                "{} by {}: {}",
                message.kind.as_str(),
                message.channel.as_str(),
                message
                    .suppression_reason
                    .map_or(message.status.as_str(), |reason| reason.as_str())
            ),
            detail: serde_json::to_value(&message).unwrap_or_default(),
        });
    }
    entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    Ok(entries)
}

/// Everything the salon holds about one client, for the client (data access request).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientExport {
    pub exported_at: DateTime<Utc>,
    pub client: Client,
    pub visits: Vec<Visit>,
    /// Every message the salon decided for the client (sent, suppressed or waiting).
    pub messages: Vec<crate::outreach::outbox::MessageView>,
    /// Every survey sent to the client, with their answers and comment.
    pub surveys: Vec<crate::reports::SurveyView>,
    /// Every complaint of the client, with its timeline (steps and notes).
    pub complaints: Vec<crate::complaints::Complaint>,
}

/// Export one client's data, sensitive fields included, audited.
pub fn export(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ClientId,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<ClientExport> {
    let row = visible_client(conn, auth, id)?;
    let (_, currency) = tenant_locale_facts(auth);
    let sensitive = row.decrypt_sensitive(keys)?;
    let visits = visits::for_client(conn, auth, id)?;
    audit::record(
        conn,
        &auth.tenant,
        Some(auth.actor.staff_id),
        AuditAction::ExportClient,
        ("client", Some(id.to_string())),
        serde_json::json!({ "visits": visits.len(), "sensitive_included": !sensitive.is_empty() }),
        now,
    )?;
    Ok(ClientExport {
        exported_at: now,
        client: row.view(&currency, Some(sensitive))?,
        visits,
        messages: crate::outreach::outbox::for_client(conn, &auth.tenant, id)?,
        surveys: crate::reports::surveys_of_client(conn, &auth.tenant, id, now)?,
        complaints: crate::complaints::for_client(conn, auth, id, now)?,
    })
}
