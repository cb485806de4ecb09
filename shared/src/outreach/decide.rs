//! Turning a due occasion into an outbox row: who the message goes to, on which channel, what
//! it says, and whether it may go (consent, contact, cap, quiet hours). Every decision writes a
//! row — a suppressed message is recorded with its reason, never silently dropped.

use super::outbox::{self, NewMessage, TOKEN_MARKER};
use super::rules;
use super::settings::{self, CareSettings};
use super::templates::{self, TemplateVars};
use super::{MessageKind, MessageStatus, SuppressionReason};
use crate::db::schema::{clients, stores, tenants};
use crate::db::AnyConnection;
use crate::domain::{Channel, MessageId, QuietHours};
use crate::tenancy::Tenant;
use crate::{Error, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use std::collections::HashMap;

/// What a sweep needs beyond the database.
#[derive(Debug, Clone)]
pub struct SweepContext {
    /// The origin of survey and unsubscribe links (`PUBLIC_BASE_URL`).
    pub public_base_url: String,
    /// Rows per transaction.
    pub batch: i64,
}

/// A tenant as the automations see it, with its settings.
#[derive(Debug, Clone)]
pub struct TenantFacts {
    pub tenant: Tenant,
    pub name: String,
    pub zone: Tz,
    pub locale: String,
    /// For reading staff phone numbers written without a country code.
    pub country: Option<String>,
    pub settings: CareSettings,
}

/// A store's name, phone, zone and quiet window.
#[derive(Debug, Clone)]
pub struct StoreFacts {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub zone: Tz,
    pub quiet: Option<QuietHours>,
}

/// Tenants and stores read once per pass.
#[derive(Default)]
pub struct FactsCache {
    tenants: HashMap<String, TenantFacts>,
    stores: HashMap<(String, String), StoreFacts>,
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

impl FactsCache {
    pub fn tenant(&mut self, conn: &mut AnyConnection, tenant_id: &str) -> Result<TenantFacts> {
        if let Some(facts) = self.tenants.get(tenant_id) {
            return Ok(facts.clone());
        }
        let (name, timezone, locale, country): (String, String, String, Option<String>) = tenants::table
            .filter(tenants::id.eq(tenant_id))
            .select((tenants::name, tenants::timezone, tenants::locale, tenants::country))
            .first(conn)?;
        let tenant = Tenant::for_automation(crate::domain::TenantId::from_db(tenant_id)?);
        let settings = settings::load(conn, &tenant)?.settings;
        let facts = TenantFacts {
            tenant,
            name,
            zone: zone(&timezone),
            locale,
            country,
            settings,
        };
        self.tenants.insert(tenant_id.to_owned(), facts.clone());
        Ok(facts)
    }

    /// The store, or for a client without a home store the tenant itself (its name and zone).
    pub fn store(
        &mut self,
        conn: &mut AnyConnection,
        tenant: &TenantFacts,
        store_id: Option<&str>,
    ) -> Result<StoreFacts> {
        let tenant_key = tenant.tenant.key();
        let Some(store_id) = store_id else {
            return Ok(StoreFacts {
                id: String::new(),
                name: tenant.name.clone(),
                phone: None,
                zone: tenant.zone,
                quiet: tenant.settings.quiet_hours(),
            });
        };
        let key = (tenant_key.clone(), store_id.to_owned());
        if let Some(store) = self.stores.get(&key) {
            return Ok(store.clone());
        }
        #[allow(clippy::type_complexity)]
        let row: (String, Option<String>, String, Option<String>, Option<String>) = stores::table
            .filter(stores::tenant_id.eq(&tenant_key))
            .filter(stores::id.eq(store_id))
            .select((
                stores::name,
                stores::phone,
                stores::timezone,
                stores::quiet_start,
                stores::quiet_end,
            ))
            .first(conn)?;
        let quiet = match (&row.3, &row.4) {
            (Some(start), Some(end)) => QuietHours::parse(start, end).ok(),
            _ => None,
        }
        .or_else(|| tenant.settings.quiet_hours());
        let store = StoreFacts {
            id: store_id.to_owned(),
            name: row.0,
            phone: row.1,
            zone: zone(&row.2),
            quiet,
        };
        self.stores.insert(key, store.clone());
        Ok(store)
    }
}

/// The client fields a decision needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clients)]
pub struct ClientFacts {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub locale: Option<String>,
    pub preferred_channel: String,
    pub marketing_consent: bool,
    pub home_store_id: Option<String>,
    pub last_visit_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
}

pub fn client(conn: &mut AnyConnection, tenant: &Tenant, client_id: &str) -> Result<ClientFacts> {
    clients::table
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(client_id))
        .select(ClientFacts::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound)
}

/// A message a decision wrote: what the worker's `salon_messages_total` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub id: MessageId,
    pub kind: MessageKind,
    pub channel: Channel,
    pub status: MessageStatus,
}

/// One message to a client about one occasion.
pub struct ClientOccasion<'a> {
    pub kind: MessageKind,
    pub occasion: String,
    pub client: &'a ClientFacts,
    /// The store the message speaks for (the visit's, or the client's home store).
    pub store: &'a StoreFacts,
    pub visit_id: Option<String>,
    pub date: Option<String>,
    pub offer: Option<String>,
    /// When the occasion fell due (for latency; the message may wait for quiet hours to end).
    pub due_at: DateTime<Utc>,
}

/// Decides and writes one client message (in the caller's transaction). `None` when the
/// occasion already had its message.
pub fn client_message(
    conn: &mut AnyConnection,
    context: &SweepContext,
    tenant: &TenantFacts,
    occasion: ClientOccasion<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Written>> {
    let client = occasion.client;
    let kind = occasion.kind;
    let settings = &tenant.settings;
    let care = super::care_state::lock(conn, &tenant.tenant, &client.id)?;

    let preferred = Channel::from_db(&client.preferred_channel).unwrap_or(Channel::Sms);
    let contact = |channel: Channel| match channel {
        Channel::Sms => client.phone.clone(),
        Channel::Email => client.email.clone(),
    };
    let other = if preferred == Channel::Sms {
        Channel::Email
    } else {
        Channel::Sms
    };
    let (channel, recipient) = match (contact(preferred), contact(other)) {
        (Some(address), _) => (preferred, Some(address)),
        (None, Some(address)) => (other, Some(address)),
        (None, None) => (preferred, None),
    };

    let capped = care
        .last_marketing_at
        .is_some_and(|last| now - last.and_utc() < Duration::days(i64::from(settings.marketing_cap_days)));
    let suppression = if client.erased_at.is_some() || client.deleted_at.is_some() {
        Some(SuppressionReason::Erased)
    } else if kind.is_marketing() && care.opted_out_at.is_some() {
        Some(SuppressionReason::OptedOut)
    } else if kind.is_marketing() && !client.marketing_consent {
        Some(SuppressionReason::NoConsent)
    } else if recipient.is_none() {
        Some(SuppressionReason::NoContact)
    } else if kind == MessageKind::WakeUp && capped {
        // The birthday greeting is exempt from the cap (not from consent).
        Some(SuppressionReason::FrequencyCap)
    } else {
        None
    };

    let locale = client.locale.clone().unwrap_or_else(|| tenant.locale.clone());
    let base = &context.public_base_url;
    let link = (kind == MessageKind::Survey).then(|| format!("{base}/s/{TOKEN_MARKER}"));
    let unsubscribe = kind.is_marketing().then(|| format!("{base}/u/{TOKEN_MARKER}"));
    let vars = TemplateVars {
        client_name: client.name.clone(),
        store_name: occasion.store.name.clone(),
        store_phone: occasion.store.phone.clone(),
        salon_name: tenant.name.clone(),
        date: occasion.date.clone(),
        link: link.clone(),
        offer: occasion.offer.clone(),
        staff_name: None,
        complaint_summary: None,
    };
    let signature = settings.sms_signature.clone().unwrap_or_else(|| tenant.name.clone());
    let rendered = templates::render(
        conn,
        &tenant.tenant,
        kind,
        channel,
        &locale,
        &signature,
        unsubscribe.as_deref(),
        &vars,
    )?;

    let send_at = match occasion.store.quiet {
        Some(quiet) => rules::next_allowed(occasion.store.zone, quiet, now),
        None => now,
    };
    // A greeting decided late in the birthday (a sweep back after an outage) that quiet hours
    // would hold until the next morning is not sent at all.
    let suppression = suppression.or_else(|| {
        (kind == MessageKind::Birthday && !rules::same_local_day(occasion.store.zone, send_at, occasion.due_at))
            .then_some(SuppressionReason::DayPassed)
    });
    let (status, reason) = match suppression {
        Some(reason) => (MessageStatus::Suppressed, Some(reason)),
        None if send_at > now => (MessageStatus::Deferred, Some(SuppressionReason::QuietHours)),
        None => (MessageStatus::Pending, None),
    };
    let params = serde_json::json!({
        "client_name": vars.client_name,
        "store_name": vars.store_name,
        "store_phone": vars.store_phone,
        "salon_name": vars.salon_name,
        "date": vars.date,
        "link": link,
        "offer": vars.offer,
    });
    let message = NewMessage {
        kind,
        occasion: occasion.occasion,
        client_id: Some(client.id.clone()),
        staff_id: None,
        store_id: (!occasion.store.id.is_empty()).then(|| occasion.store.id.clone()),
        visit_id: occasion.visit_id,
        complaint_id: None,
        channel,
        recipient,
        locale,
        subject: rendered.subject,
        body: rendered.body,
        params,
        status,
        suppression_reason: reason,
        due_at: occasion.due_at,
        send_at,
    };
    let Some(id) = outbox::insert(conn, &tenant.tenant, &message, now)? else {
        return Ok(None);
    };
    if kind.is_marketing() && status != MessageStatus::Suppressed {
        use crate::db::schema::client_care;
        diesel::update(client_care::table)
            .filter(client_care::tenant_id.eq(tenant.tenant.key()))
            .filter(client_care::client_id.eq(&client.id))
            .set(client_care::last_marketing_at.eq(Some(crate::db::to_db_time(now))))
            .execute(conn)?;
    }
    Ok(Some(Written {
        id,
        kind,
        channel,
        status,
    }))
}

/// A staff member to alert about a complaint.
#[derive(Debug, Clone)]
pub struct StaffRecipient {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// Writes a complaint alert (or escalation) to one staff member: by email, and by SMS when they
/// have a phone. Alerts skip quiet hours and the cap. Returns the messages written.
#[allow(clippy::too_many_arguments)]
pub fn staff_alert(
    conn: &mut AnyConnection,
    tenant: &TenantFacts,
    kind: MessageKind,
    occasion: &str,
    staff: &StaffRecipient,
    store: &StoreFacts,
    complaint_id: &str,
    client_name: &str,
    summary: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Written>> {
    let mut written = Vec::new();
    // Staff phones are kept as typed; SMS providers need E.164.
    let phone = staff
        .phone
        .as_deref()
        .and_then(|raw| crate::domain::Phone::parse(raw, tenant.country.as_deref()).ok())
        .map(crate::domain::Phone::into_inner);
    let channels = [(Channel::Email, Some(staff.email.clone())), (Channel::Sms, phone)];
    for (channel, address) in channels {
        let Some(address) = address else { continue };
        let vars = TemplateVars {
            client_name: client_name.to_owned(),
            store_name: store.name.clone(),
            store_phone: store.phone.clone(),
            salon_name: tenant.name.clone(),
            date: Some(now.with_timezone(&store.zone).format("%Y-%m-%d %H:%M").to_string()),
            link: None,
            offer: None,
            staff_name: Some(staff.name.clone()),
            complaint_summary: Some(summary.to_owned()),
        };
        let signature = tenant
            .settings
            .sms_signature
            .clone()
            .unwrap_or_else(|| tenant.name.clone());
        let rendered = templates::render(
            conn,
            &tenant.tenant,
            kind,
            channel,
            &tenant.locale,
            &signature,
            None,
            &vars,
        )?;
        let message = NewMessage {
            kind,
            occasion: format!("{occasion}:{}:{}", staff.id, channel.as_str()),
            client_id: None,
            staff_id: Some(staff.id.clone()),
            store_id: (!store.id.is_empty()).then(|| store.id.clone()),
            visit_id: None,
            complaint_id: Some(complaint_id.to_owned()),
            channel,
            recipient: Some(address),
            locale: tenant.locale.clone(),
            subject: rendered.subject,
            body: rendered.body,
            params: serde_json::json!({
                "client_name": client_name,
                "store_name": store.name,
                "staff_name": staff.name,
                "complaint_summary": summary,
            }),
            status: MessageStatus::Pending,
            suppression_reason: None,
            due_at: now,
            send_at: now,
        };
        if let Some(id) = outbox::insert(conn, &tenant.tenant, &message, now)? {
            written.push(Written {
                id,
                kind,
                channel,
                status: MessageStatus::Pending,
            });
        }
    }
    Ok(written)
}
