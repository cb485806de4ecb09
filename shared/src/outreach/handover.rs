//! The moment before a claimed message is handed to a channel: check again what may have
//! changed since it was decided (quiet hours for a retry, consent, erasure), and make its
//! personal link. Run in one short transaction per claimed batch.

use super::decide::FactsCache;
use super::outbox::{self, Claimed, Outcome, TOKEN_MARKER};
use super::{rules, MessageKind, SuppressionReason};
use crate::db::schema::{client_care, clients, surveys};
use crate::db::{write_transaction, AnyConnection};
use crate::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

/// A claimed message ready to go, with what delivery needs to know about its tenant.
#[derive(Debug, Clone)]
pub struct Ready {
    pub claimed: Claimed,
    /// Subject and body with the personal link in place.
    pub subject: Option<String>,
    pub body: String,
    /// Placeholder values, `link` included (template-based SMS providers send these).
    pub params: serde_json::Value,
    /// The unsubscribe URL of a marketing message (email `List-Unsubscribe`).
    pub unsubscribe_url: Option<String>,
    pub salon_name: String,
    /// The tenant's SMS provider setting (`None`: the platform default).
    pub sms_provider: Option<String>,
    pub max_attempts: u32,
    pub retry_base_seconds: u32,
    /// Where a client message's retry must respect quiet hours.
    pub quiet: Option<(Tz, crate::domain::QuietHours)>,
}

/// Each claimed message either ready to send or already decided (deferred, suppressed).
pub enum Handover {
    Ready(Box<Ready>),
    Decided(Box<(Claimed, Outcome)>),
}

/// Prepares a claimed batch: one transaction for all of it. `cache` holds the tenants and stores
/// already read in this delivery pass (a fresh cache per batch would read most of them again
/// for every batch when the batch spans many tenants).
pub fn prepare(
    conn: &mut AnyConnection,
    public_base_url: &str,
    cache: &mut FactsCache,
    batch: Vec<Claimed>,
    now: DateTime<Utc>,
) -> Result<Vec<Handover>> {
    write_transaction(conn, |conn| {
        let mut prepared = Vec::with_capacity(batch.len());
        for claimed in batch {
            prepared.push(prepare_one(conn, cache, public_base_url, claimed, now)?);
        }
        Ok(prepared)
    })
}

fn prepare_one(
    conn: &mut AnyConnection,
    cache: &mut FactsCache,
    base: &str,
    claimed: Claimed,
    now: DateTime<Utc>,
) -> Result<Handover> {
    let facts = cache.tenant(conn, &claimed.tenant_id)?;
    let store = cache.store(conn, &facts, claimed.store_id.as_deref())?;
    let quiet = store.quiet.map(|quiet| (store.zone, quiet));
    let for_client = !claimed.kind.is_staff_alert();
    if claimed.kind == MessageKind::Birthday {
        // A greeting that could not go on the birthday (retries, quiet hours) does not go later.
        let allowed = quiet.map_or(now, |(zone, window)| rules::next_allowed(zone, window, now));
        if !rules::same_local_day(store.zone, allowed, claimed.due_at) {
            let outcome = Outcome::Suppressed {
                reason: SuppressionReason::DayPassed,
            };
            return Ok(Handover::Decided(Box::new((claimed, outcome))));
        }
    }
    if let (true, Some((zone, window))) = (for_client, quiet) {
        let allowed = rules::next_allowed(zone, window, now);
        if allowed > now {
            let outcome = Outcome::RetryAt {
                at: allowed,
                error: String::new(),
                provider: None,
                quiet_hours: true,
            };
            return Ok(Handover::Decided(Box::new((claimed, outcome))));
        }
    }
    if let Some(client_id) = claimed.client_id.as_deref().filter(|_| for_client) {
        let (consent, erased, deleted, opted_out): (
            bool,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        ) = clients::table
            .left_join(
                client_care::table.on(client_care::tenant_id
                    .eq(clients::tenant_id)
                    .and(client_care::client_id.eq(clients::id))),
            )
            .filter(clients::tenant_id.eq(&claimed.tenant_id))
            .filter(clients::id.eq(client_id))
            .select((
                clients::marketing_consent,
                clients::erased_at,
                clients::deleted_at,
                client_care::opted_out_at.nullable(),
            ))
            .first(conn)?;
        let reason = if erased.is_some() || deleted.is_some() {
            Some(SuppressionReason::Erased)
        } else if claimed.kind.is_marketing() && opted_out.is_some() {
            Some(SuppressionReason::OptedOut)
        } else if claimed.kind.is_marketing() && !consent {
            Some(SuppressionReason::NoConsent)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok(Handover::Decided(Box::new((claimed, Outcome::Suppressed { reason }))));
        }
    }

    let mut params = claimed.params.clone();
    let mut body = claimed.body.clone();
    let mut subject = claimed.subject.clone();
    let mut unsubscribe_url = None;
    let needs_token = body.contains(TOKEN_MARKER) || subject.as_deref().is_some_and(|s| s.contains(TOKEN_MARKER));
    let link = match (claimed.kind, claimed.client_id.as_deref()) {
        (MessageKind::Survey, Some(_)) => {
            let survey: Option<(String, NaiveDateTime)> = surveys::table
                .filter(surveys::tenant_id.eq(&claimed.tenant_id))
                .filter(surveys::visit_id.eq(visit_of(&claimed)))
                .select((surveys::id, surveys::expires_at))
                .first(conn)
                .optional()?;
            match survey {
                Some((survey_id, expires)) => {
                    let (token, hash) = outbox::new_link_token();
                    outbox::store_link_token(
                        conn,
                        &claimed,
                        "survey",
                        &survey_id,
                        &hash,
                        Some(expires.and_utc()),
                        now,
                    )?;
                    Some(format!("{base}/s/{token}"))
                }
                None => None,
            }
        }
        // An invitation or reset: the member's password link, made now (tenancy::passwords).
        (kind, _) if kind.is_account() => {
            crate::tenancy::passwords::token_for_message(conn, &claimed.tenant_id, &claimed.id, kind, now)?
                .map(|token| format!("{base}{}{}", crate::tenancy::passwords::PAGE_PATH, token.as_str()))
        }
        (kind, Some(client_id)) if kind.is_marketing() => {
            let (token, hash) = outbox::new_link_token();
            outbox::store_link_token(conn, &claimed, "unsubscribe", client_id, &hash, None, now)?;
            let url = format!("{base}/u/{token}");
            unsubscribe_url = Some(url.clone());
            Some(url)
        }
        _ => None,
    };
    if needs_token {
        let Some(link) = &link else {
            let error = "the message's link has nothing to point to (its survey is gone)".to_owned();
            return Ok(Handover::Decided(Box::new((
                claimed,
                Outcome::Failed { error, provider: None },
            ))));
        };
        // The stored text holds `BASE/s/{token}`; the link made here is `BASE/s/TOKEN`.
        let token = link.rsplit('/').next().unwrap_or_default();
        body = body.replace(TOKEN_MARKER, token);
        subject = subject.map(|s| s.replace(TOKEN_MARKER, token));
        if let Some(map) = params.as_object_mut() {
            map.insert("link".into(), serde_json::Value::String(link.clone()));
        }
    }
    Ok(Handover::Ready(Box::new(Ready {
        subject,
        body,
        params,
        unsubscribe_url,
        salon_name: facts.name.clone(),
        sms_provider: facts.settings.sms_provider.clone(),
        max_attempts: facts.settings.max_attempts,
        retry_base_seconds: facts.settings.retry_base_seconds,
        quiet: quiet.filter(|_| for_client),
        claimed,
    })))
}

fn visit_of(claimed: &Claimed) -> String {
    claimed.visit_id.clone().unwrap_or_default()
}

/// Records a batch of outcomes in one transaction; returns how many this worker still held.
pub fn record_all(conn: &mut AnyConnection, outcomes: &[(Claimed, Outcome)], now: DateTime<Utc>) -> Result<usize> {
    write_transaction(conn, |conn| {
        let mut held = 0;
        for (claimed, outcome) in outcomes {
            if outbox::record(conn, claimed, outcome, now)? {
                held += 1;
            } else {
                tracing::warn!(message_id = %claimed.id, "lost the claim before recording (lease ran out)");
            }
        }
        Ok(held)
    })
}
