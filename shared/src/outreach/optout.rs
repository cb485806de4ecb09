//! Opting out of marketing (and back in): by the unsubscribe link (`/u/TOKEN`), by the mail
//! client's one-click POST (RFC 8058), or by an SMS reply ("T", "TD", "退订", "STOP", …).
//!
//! An opt-out is recorded twice, on purpose: `clients.marketing_consent` turns false (with
//! `consent_changed_at` and `consent_source`, as staff see it on the client), and
//! `client_care.opted_out_at`/`opt_out_source` are set, which the automations
//! ([`super::decide`]) and delivery ([`super::handover`]) read to suppress every later marketing
//! message with reason `opted_out`. Messages already waiting (pending, deferred, failed) are
//! suppressed in the same transaction, and an audit entry (`consent_changed`) is written.
//!
//! Decisions:
//! - **Idempotent; the first opt-out is kept.** `opted_out_at` and `opt_out_source` are set once,
//!   at the first opt-out, and never overwritten by a repeat (a second tap, a second reply, a
//!   mail client's retry): that first moment is when the client said no. A repeat changes
//!   nothing and writes no audit entry. (If staff had turned consent back on in the meantime, a
//!   repeat turns it off again, with that time and source.)
//! - **Opting back in** ("START"/"UNSTOP" by SMS) applies only to a client whose opt-out came
//!   by SMS through the same provider (the same sending number): it clears `opted_out_at`,
//!   turns consent back on with the time and source, and is audited. It does not grant consent
//!   to a client who never gave it, and it never reverses a "no" given on the unsubscribe page,
//!   by one-click, or consent withdrawn by staff: START at one salon's sender is not a yes to a
//!   salon she left by its link. So that a later link opt-out is not lost behind an earlier SMS
//!   one, a repeat opt-out by link or one-click replaces an SMS `opt_out_source` (the first
//!   moment, `opted_out_at`, stays).
//! - **Sources** are short strings: `link` (the page's button), `one_click` (RFC 8058 POST),
//!   `sms:twilio`, `sms:aliyun`, `sms:tencent`.
//! - **Which clients an SMS reply is about.** A reply arrives on the platform's sender for one
//!   provider; the tenant is not in it. The reply is applied at every tenant that *sent* an SMS
//!   to that number through that provider within [`REPLY_WINDOW_DAYS`] (the outbox's `sent`
//!   rows), to the client the message was for, provided that client still has that number and
//!   is not deleted or erased. Clients belong to one tenant each, but a sender number is shared:
//!   from the client's side every tenant's SMS comes from the same sender, so "STOP" means all of
//!   them (Twilio itself blocks that sender for the number after STOP). The window (a year of
//!   birthday greetings and a month) keeps a reassigned number from opting out the previous
//!   holder at a salon that has not written to it for longer. A number that no tenant wrote to
//!   through that provider is ignored.

use super::{care_state, outbox, SuppressionReason};
use crate::audit::{self, AuditAction};
use crate::db::schema::{client_care, clients, link_tokens, messages, tenants};
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{Channel, ClientId, Locale, Phone, TenantId};
use crate::outreach::outbox::link_token_hash;
use crate::tenancy::Tenant;
use crate::{Error, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

/// How far back an SMS reply is matched with the messages sent to that number.
pub const REPLY_WINDOW_DAYS: i64 = 400;

/// The `link_tokens.purpose` of unsubscribe links.
pub const PURPOSE: &str = "unsubscribe";

/// What an opt-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptedOut {
    /// Whether anything changed (false for a repeat).
    pub changed: bool,
    /// When the client first opted out.
    pub opted_out_at: DateTime<Utc>,
    /// Waiting marketing messages suppressed now.
    pub suppressed: usize,
}

/// Opts `client_id` out of marketing at `tenant`, in the caller's transaction. Idempotent: see
/// the module docs. An unknown, deleted or erased client is `NotFound`.
pub fn opt_out(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    client_id: ClientId,
    source: &str,
    now: DateTime<Utc>,
) -> Result<OptedOut> {
    let client = client_id.to_string();
    ensure_present(conn, tenant, &client)?;
    let now_db = to_db_time(now);
    // The client row first, then its care row: the order visit writes take them in.
    let consent_withdrawn = diesel::update(clients::table)
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(&client))
        .filter(clients::marketing_consent.eq(true))
        .set((
            clients::marketing_consent.eq(false),
            clients::consent_changed_at.eq(Some(now_db)),
            clients::consent_source.eq(Some(source)),
            clients::version.eq(clients::version + 1),
            clients::updated_at.eq(now_db),
        ))
        .execute(conn)?
        == 1;
    let care = care_state::lock(conn, tenant, &client)?;
    let (first_time, opted_out_at) = match care.opted_out_at {
        Some(at) => {
            if !is_sms(source) && opt_out_source(conn, tenant, &client)?.as_deref().is_some_and(is_sms) {
                diesel::update(client_care::table)
                    .filter(client_care::tenant_id.eq(tenant.key()))
                    .filter(client_care::client_id.eq(&client))
                    .set(client_care::opt_out_source.eq(Some(source)))
                    .execute(conn)?;
            }
            (false, from_db_time(at))
        }
        None => {
            diesel::update(client_care::table)
                .filter(client_care::tenant_id.eq(tenant.key()))
                .filter(client_care::client_id.eq(&client))
                .set((
                    client_care::opted_out_at.eq(Some(now_db)),
                    client_care::opt_out_source.eq(Some(source)),
                ))
                .execute(conn)?;
            (true, now)
        }
    };
    let suppressed = outbox::suppress_waiting(conn, tenant, client_id, true, SuppressionReason::OptedOut, now)?;
    let changed = consent_withdrawn || first_time;
    if changed {
        audit::record(
            conn,
            tenant,
            None,
            AuditAction::ConsentChanged,
            ("client", Some(client)),
            serde_json::json!({
                "marketing_consent": false,
                "opted_out": true,
                "source": source,
                "suppressed_messages": suppressed,
            }),
            now,
        )?;
    }
    Ok(OptedOut {
        changed,
        opted_out_at,
        suppressed,
    })
}

/// Opts a client who opted out by `source` (an SMS reply through one provider) back in
/// (consent on again, `opted_out_at` cleared), in the caller's transaction. `false` when the
/// client had not opted out, or had by another way (nothing changes).
pub fn opt_in(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    client_id: ClientId,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let client = client_id.to_string();
    ensure_present(conn, tenant, &client)?;
    let opted_out: Option<(Option<NaiveDateTime>, Option<String>)> = client_care::table
        .filter(client_care::tenant_id.eq(tenant.key()))
        .filter(client_care::client_id.eq(&client))
        .select((client_care::opted_out_at, client_care::opt_out_source))
        .first(conn)
        .optional()?;
    // Only an opt-out that came the same way (the same provider's sender) is undone.
    if !matches!(opted_out, Some((Some(_), Some(ref given))) if given == source) {
        return Ok(false);
    }
    let now_db = to_db_time(now);
    diesel::update(clients::table)
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(&client))
        .set((
            clients::marketing_consent.eq(true),
            clients::consent_changed_at.eq(Some(now_db)),
            clients::consent_source.eq(Some(source)),
            clients::version.eq(clients::version + 1),
            clients::updated_at.eq(now_db),
        ))
        .execute(conn)?;
    diesel::update(client_care::table)
        .filter(client_care::tenant_id.eq(tenant.key()))
        .filter(client_care::client_id.eq(&client))
        .set((
            client_care::opted_out_at.eq(None::<NaiveDateTime>),
            client_care::opt_out_source.eq(None::<String>),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        tenant,
        None,
        AuditAction::ConsentChanged,
        ("client", Some(client)),
        serde_json::json!({ "marketing_consent": true, "opted_out": false, "source": source }),
        now,
    )?;
    Ok(true)
}

/// An opt-out source that is an SMS reply (`sms:PROVIDER`).
fn is_sms(source: &str) -> bool {
    source.starts_with("sms:")
}

fn opt_out_source(conn: &mut AnyConnection, tenant: &Tenant, client: &str) -> Result<Option<String>> {
    Ok(client_care::table
        .filter(client_care::tenant_id.eq(tenant.key()))
        .filter(client_care::client_id.eq(client))
        .select(client_care::opt_out_source)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The client must exist and not be deleted or erased.
fn ensure_present(conn: &mut AnyConnection, tenant: &Tenant, client: &str) -> Result<()> {
    let gone: bool = clients::table
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(client))
        .select(clients::erased_at.is_not_null().or(clients::deleted_at.is_not_null()))
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(true);
    if gone {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}

/// The client an unsubscribe link names, with what its page shows.
#[derive(Debug, Clone)]
pub struct UnsubscribeLink {
    /// The tenant the link belongs to ([`Tenant::for_automation`]: the token is the credential).
    pub tenant: Tenant,
    pub client_id: ClientId,
    /// The salon chain's name.
    pub salon: String,
    /// The client's language, else the salon's.
    pub locale: Locale,
    /// Whether the client has already opted out.
    pub opted_out: bool,
}

/// The client behind an unsubscribe token, or `None` for an unknown or malformed token and for
/// a client who was deleted or erased since (the page cannot tell these apart, nor can anyone
/// probing it).
pub fn find_by_token(conn: &mut AnyConnection, token: &str) -> Result<Option<UnsubscribeLink>> {
    if !plausible(token) {
        return Ok(None);
    }
    let link: Option<(String, String)> = link_tokens::table
        .filter(link_tokens::token_hash.eq(link_token_hash(token)))
        .filter(link_tokens::purpose.eq(PURPOSE))
        .select((link_tokens::tenant_id, link_tokens::subject_id))
        .first(conn)
        .optional()?;
    let Some((tenant_id, client)) = link else {
        return Ok(None);
    };
    let tenant = Tenant::for_automation(TenantId::from_db(&tenant_id)?);
    let client_id = ClientId::from_db(&client)?;
    #[allow(clippy::type_complexity)]
    let row: Option<(Option<String>, Option<NaiveDateTime>, Option<NaiveDateTime>)> = clients::table
        .filter(clients::tenant_id.eq(&tenant_id))
        .filter(clients::id.eq(&client))
        .select((clients::locale, clients::erased_at, clients::deleted_at))
        .first(conn)
        .optional()?;
    let client_locale = match row {
        Some((locale, None, None)) => locale,
        _ => return Ok(None),
    };
    let (salon, salon_locale): (String, String) = tenants::table
        .filter(tenants::id.eq(&tenant_id))
        .select((tenants::name, tenants::locale))
        .first(conn)?;
    let opted_out = client_care::table
        .filter(client_care::tenant_id.eq(&tenant_id))
        .filter(client_care::client_id.eq(&client))
        .select(client_care::opted_out_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .is_some();
    let locale = client_locale
        .as_deref()
        .and_then(|tag| Locale::parse(tag).ok())
        .unwrap_or_else(|| Locale::from_db(&salon_locale));
    Ok(Some(UnsubscribeLink {
        tenant,
        client_id,
        salon,
        locale,
        opted_out,
    }))
}

/// Tokens are 22 URL-safe base64 characters; anything far from that is not worth a query.
fn plausible(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A client an SMS reply from a number is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub tenant: Tenant,
    pub client_id: ClientId,
}

/// The clients a reply from `phone` through `provider` (`twilio`, `aliyun`, `tencent`) is
/// about, by the rule in the module docs. Empty for a number no tenant wrote to.
pub fn find_by_phone(
    conn: &mut AnyConnection,
    provider: &str,
    phone: &Phone,
    now: DateTime<Utc>,
) -> Result<Vec<Recipient>> {
    let since = to_db_time(now - Duration::days(REPLY_WINDOW_DAYS));
    let sent: Vec<(String, Option<String>)> = messages::table
        .filter(messages::channel.eq(Channel::Sms.as_str()))
        .filter(messages::recipient.eq(phone.as_str()))
        .filter(messages::provider.eq(provider))
        .filter(messages::sent_at.ge(since))
        .filter(messages::client_id.is_not_null())
        .select((messages::tenant_id, messages::client_id))
        .distinct()
        .limit(1000)
        .load(conn)?;
    let mut found = Vec::new();
    for (tenant_id, client) in sent {
        let Some(client) = client else { continue };
        let still_theirs = clients::table
            .filter(clients::tenant_id.eq(&tenant_id))
            .filter(clients::id.eq(&client))
            .filter(clients::phone.eq(phone.as_str()))
            .filter(clients::erased_at.is_null())
            .filter(clients::deleted_at.is_null())
            .select(clients::id)
            .first::<String>(conn)
            .optional()?
            .is_some();
        if still_theirs {
            let recipient = Recipient {
                tenant: Tenant::for_automation(TenantId::from_db(&tenant_id)?),
                client_id: ClientId::from_db(&client)?,
            };
            if !found.contains(&recipient) {
                found.push(recipient);
            }
        }
    }
    Ok(found)
}

/// What an SMS reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
}

/// Replies that opt out: the Chinese carriers' convention (T, TD, 退订) and the words Twilio
/// treats as opt-out.
const OPT_OUT_WORDS: [&str; 9] = [
    "T",
    "TD",
    "退订",
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
];
const OPT_IN_WORDS: [&str; 2] = ["START", "UNSTOP"];

/// The keyword a reply is, if it is one: the whole reply, trimmed, case-insensitive, with
/// full-width letters (from a Chinese input method) read as their ASCII forms. Anything else
/// (a question, a thank-you) is not a keyword and changes nothing.
pub fn keyword(reply: &str) -> Option<Keyword> {
    let text: String = reply
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_uppercase();
    if OPT_OUT_WORDS.contains(&text.as_str()) {
        Some(Keyword::OptOut)
    } else if OPT_IN_WORDS.contains(&text.as_str()) {
        Some(Keyword::OptIn)
    } else {
        None
    }
}

/// What one reply changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// Clients the reply was matched with.
    pub matched: usize,
    /// Of those, clients whose consent changed.
    pub changed: usize,
}

/// Applies one SMS reply (in the caller's transaction): finds the clients it is about and opts
/// each out (or back in), with source `sms:PROVIDER`. A reply that is not a keyword, or from a
/// number nobody wrote to, changes nothing.
pub fn apply_reply(
    conn: &mut AnyConnection,
    provider: &str,
    phone: &Phone,
    reply: &str,
    now: DateTime<Utc>,
) -> Result<ReplyOutcome> {
    let Some(keyword) = keyword(reply) else {
        return Ok(ReplyOutcome::default());
    };
    let source = format!("sms:{provider}");
    let recipients = find_by_phone(conn, provider, phone, now)?;
    let mut outcome = ReplyOutcome {
        matched: recipients.len(),
        changed: 0,
    };
    for recipient in recipients {
        let changed = match keyword {
            Keyword::OptOut => opt_out(conn, &recipient.tenant, recipient.client_id, &source, now)?.changed,
            Keyword::OptIn => opt_in(conn, &recipient.tenant, recipient.client_id, &source, now)?,
        };
        outcome.changed += usize::from(changed);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::{keyword, plausible, Keyword};

    #[test]
    fn opt_out_keywords() {
        for reply in [
            "T",
            "t",
            " td ",
            "TD",
            "退订",
            " 退订\n",
            "STOP",
            "stop",
            "Stop",
            "STOPALL",
            "unsubscribe",
            "CANCEL",
            "end",
            "QUIT",
            "Ｔ",
            "ＴＤ",
            "ｓｔｏｐ",
            "\u{3000}T\u{3000}",
        ] {
            assert_eq!(keyword(reply), Some(Keyword::OptOut), "{reply:?}");
        }
    }

    #[test]
    fn opt_in_keywords() {
        for reply in ["START", "start", " Unstop "] {
            assert_eq!(keyword(reply), Some(Keyword::OptIn), "{reply:?}");
        }
    }

    #[test]
    fn other_replies_are_not_keywords() {
        for reply in [
            "",
            "   ",
            "谢谢",
            "please stop",
            "STOP!",
            "T退订",
            "退订谢谢",
            "STARTED",
            "what time do you open?",
            "TT",
        ] {
            assert_eq!(keyword(reply), None, "{reply:?}");
        }
    }

    #[test]
    fn implausible_tokens_are_not_looked_up() {
        assert!(plausible("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(plausible("abc-DEF_0123456789xyzw"));
        assert!(!plausible("short"));
        assert!(!plausible("AAAAAAAAAAAAAAAA/AAAAA"));
        assert!(!plausible(&"A".repeat(65)));
    }
}
