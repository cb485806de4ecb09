//! Passwords staff choose themselves. Nobody sets another member's password:
//!
//! - **Invitations.** `POST /staff` without a password makes an invited member (no password,
//!   no login) and writes an invitation email to the outbox; the worker sends it like a staff
//!   alert (no consent, quiet hours or cap) with a link `PUBLIC_BASE_URL/app/password/TOKEN`
//!   valid [`INVITATION_VALID_FOR`].
//! - **Resets.** Anyone may ask for a reset link for an email address
//!   ([`request_reset`]); the answer is the same whether or not it is an account's, and only
//!   an account gets a mail, valid [`RESET_VALID_FOR`].
//! - **First login.** Only an owner may set a member's first password (a salon without email);
//!   logging in with it opens no session but answers `password_change_required` with a token
//!   ([`first_login_token`], valid [`FIRST_LOGIN_VALID_FOR`]) for choosing one's own.
//!
//! A token is 128 random bits, shown once (in the mail, or to whoever logged in); only its
//! SHA-256 is stored, and the mail's token is made at hand-over, so the outbox never holds a
//! usable link. [`redeem`] uses a token once: it sets the password, closes every other open
//! link of the member, and ends all their sessions. The console and the page
//! (`/app/password/{token}`) both call [`find`] and [`set_with_token`].

use super::context::Tenant;
use crate::db::schema::{messages, password_tokens, staff, tenants};
use crate::db::{to_db_time, AnyConnection, Db};
use crate::domain::{EmailAddress, Locale, Password, PasswordHash, StaffId, StoreId, TenantId};
use crate::error::{Error, Result};
use crate::outreach::outbox::{self, NewMessage, TOKEN_MARKER};
use crate::outreach::templates::{self, TemplateVars};
use crate::outreach::{MessageKind, MessageStatus};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::fmt;

/// How long an invitation link works.
pub const INVITATION_VALID_FOR: Duration = Duration::hours(72);
/// How long a reset link works.
pub const RESET_VALID_FOR: Duration = Duration::hours(1);
/// How long the token a first login hands out works.
pub const FIRST_LOGIN_VALID_FOR: Duration = Duration::hours(1);

/// Where the page lives: `{base}/app/password/{token}`.
pub const PAGE_PATH: &str = "/app/password/";

/// A password token as handed out once (in a mail or a login's answer). Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordToken(String);

impl PasswordToken {
    fn generate() -> Self {
        let (token, _) = outbox::new_link_token();
        PasswordToken(token)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hash(token: &str) -> String {
        crate::crypto::sha256_hex(token.as_bytes())
    }
}

impl fmt::Debug for PasswordToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordToken(…)")
    }
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
    FirstLogin,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
            Purpose::FirstLogin => "first_login",
        }
    }

    fn from_db(text: &str) -> Result<Self> {
        match text {
            "invitation" => Ok(Purpose::Invitation),
            "reset" => Ok(Purpose::Reset),
            "first_login" => Ok(Purpose::FirstLogin),
            other => Err(Error::Internal(format!("unknown password token purpose {other:?}"))),
        }
    }

    /// How long a token for this purpose works.
    pub fn valid_for(self) -> Duration {
        match self {
            Purpose::Invitation => INVITATION_VALID_FOR,
            Purpose::Reset => RESET_VALID_FOR,
            Purpose::FirstLogin => FIRST_LOGIN_VALID_FOR,
        }
    }

    fn of_message(kind: MessageKind) -> Option<Self> {
        match kind {
            MessageKind::StaffInvitation => Some(Purpose::Invitation),
            MessageKind::PasswordReset => Some(Purpose::Reset),
            _ => None,
        }
    }
}

/// A token's state at `now`: used once is used for good; past its expiry (the instant itself
/// included) it is expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Open,
    Used,
    Expired,
}

pub fn token_state(used_at: Option<DateTime<Utc>>, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> TokenState {
    if used_at.is_some() {
        TokenState::Used
    } else if now >= expires_at {
        TokenState::Expired
    } else {
        TokenState::Open
    }
}

/// Who a link is for, as the page greets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub staff_name: String,
    /// The salon chain's name.
    pub salon: String,
    /// The salon's language (staff have none of their own).
    pub locale: Locale,
    pub purpose: Purpose,
}

/// What a link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Open(LinkView),
    Used(LinkView),
    Expired(LinkView),
    /// Unknown, malformed, or its member is gone (removed, deactivated).
    Unknown,
}

struct Found {
    tenant_id: String,
    id: String,
    staff_id: String,
    state: TokenState,
    view: LinkView,
}

/// Tokens are 22 URL-safe base64 characters; anything far from that is not worth a query.
fn plausible(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn load(conn: &mut AnyConnection, token: &str, now: DateTime<Utc>) -> Result<Option<Found>> {
    if !plausible(token) {
        return Ok(None);
    }
    type Row = (String, String, String, String, Option<NaiveDateTime>, NaiveDateTime);
    let row: Option<Row> = password_tokens::table
        .filter(password_tokens::token_hash.eq(PasswordToken::hash(token)))
        .select((
            password_tokens::tenant_id,
            password_tokens::id,
            password_tokens::staff_id,
            password_tokens::purpose,
            password_tokens::used_at,
            password_tokens::expires_at,
        ))
        .first(conn)
        .optional()?;
    let Some((tenant_id, id, staff_id, purpose, used_at, expires_at)) = row else {
        return Ok(None);
    };
    let member: Option<(String, bool, Option<NaiveDateTime>)> = staff::table
        .filter(staff::tenant_id.eq(&tenant_id))
        .filter(staff::id.eq(&staff_id))
        .select((staff::name, staff::active, staff::deleted_at))
        .first(conn)
        .optional()?;
    let Some((staff_name, true, None)) = member else {
        return Ok(None);
    };
    let (salon, locale): (String, String) = tenants::table
        .filter(tenants::id.eq(&tenant_id))
        .select((tenants::name, tenants::locale))
        .first(conn)?;
    Ok(Some(Found {
        state: token_state(used_at.map(|t| t.and_utc()), expires_at.and_utc(), now),
        view: LinkView {
            staff_name,
            salon,
            locale: Locale::from_db(&locale),
            purpose: Purpose::from_db(&purpose)?,
        },
        tenant_id,
        id,
        staff_id,
    }))
}

/// What the link `token` leads to at `now`.
pub fn find(conn: &mut AnyConnection, token: &str, now: DateTime<Utc>) -> Result<Lookup> {
    Ok(match load(conn, token, now)? {
        None => Lookup::Unknown,
        Some(found) => match found.state {
            TokenState::Open => Lookup::Open(found.view),
            TokenState::Used => Lookup::Used(found.view),
            TokenState::Expired => Lookup::Expired(found.view),
        },
    })
}

/// Use `token` once: the member's password becomes `hash`, every open token of theirs is
/// closed, and all their sessions end. Anything but an open link changes nothing and says why.
pub fn redeem(conn: &mut AnyConnection, token: &str, hash: &PasswordHash, now: DateTime<Utc>) -> Result<Lookup> {
    let Some(found) = load(conn, token, now)? else {
        return Ok(Lookup::Unknown);
    };
    match found.state {
        TokenState::Used => return Ok(Lookup::Used(found.view)),
        TokenState::Expired => return Ok(Lookup::Expired(found.view)),
        TokenState::Open => {}
    }
    // This token first, only if still unused: of two requests racing with one link, one wins.
    let taken = diesel::update(password_tokens::table)
        .filter(password_tokens::tenant_id.eq(&found.tenant_id))
        .filter(password_tokens::id.eq(&found.id))
        .filter(password_tokens::used_at.is_null())
        .set(password_tokens::used_at.eq(Some(to_db_time(now))))
        .execute(conn)?;
    if taken == 0 {
        return Ok(Lookup::Used(found.view));
    }
    diesel::update(password_tokens::table)
        .filter(password_tokens::tenant_id.eq(&found.tenant_id))
        .filter(password_tokens::staff_id.eq(&found.staff_id))
        .filter(password_tokens::used_at.is_null())
        .set(password_tokens::used_at.eq(Some(to_db_time(now))))
        .execute(conn)?;
    diesel::update(staff::table)
        .filter(staff::tenant_id.eq(&found.tenant_id))
        .filter(staff::id.eq(&found.staff_id))
        .set((
            staff::password_hash.eq(hash.as_str()),
            staff::password_must_change.eq(false),
            staff::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    let tenant = Tenant::from_credential(TenantId::from_db(&found.tenant_id)?);
    super::revoke_sessions(conn, &tenant, StaffId::from_db(&found.staff_id)?, now)?;
    Ok(Lookup::Open(found.view))
}

/// The page's and the API's whole step: check the link, hash the password off the async
/// threads (only for a link that works), and redeem it. `Lookup::Open` means it is set.
pub async fn set_with_token(db: &Db, token: String, password: Password, now: DateTime<Utc>) -> Result<Lookup> {
    let check = token.clone();
    let lookup = db.read(move |conn| find(conn, &check, now)).await?;
    if !matches!(lookup, Lookup::Open(_)) {
        return Ok(lookup);
    }
    let hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))??;
    db.write(move |conn| redeem(conn, &token, &hash, now)).await
}

fn insert_token(
    conn: &mut AnyConnection,
    tenant_id: &str,
    staff_id: &str,
    purpose: Purpose,
    message_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PasswordToken> {
    let token = PasswordToken::generate();
    diesel::insert_into(password_tokens::table)
        .values((
            password_tokens::tenant_id.eq(tenant_id),
            password_tokens::id.eq(uuid::Uuid::now_v7().to_string()),
            password_tokens::staff_id.eq(staff_id),
            password_tokens::purpose.eq(purpose.as_str()),
            password_tokens::token_hash.eq(PasswordToken::hash(token.as_str())),
            password_tokens::message_id.eq(message_id),
            password_tokens::created_at.eq(to_db_time(now)),
            password_tokens::expires_at.eq(to_db_time(now + purpose.valid_for())),
        ))
        .execute(conn)?;
    Ok(token)
}

/// A first login with an owner-set password: the token for choosing one's own (the login
/// itself opens no session).
pub(crate) fn first_login_token(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    staff_id: StaffId,
    now: DateTime<Utc>,
) -> Result<PasswordToken> {
    insert_token(
        conn,
        &tenant.key(),
        &staff_id.to_string(),
        Purpose::FirstLogin,
        None,
        now,
    )
}

/// The token of an invitation or reset message, made just before the worker hands it over
/// (so the stored text only ever holds `{token}`). `None` for other kinds of message.
pub fn token_for_message(
    conn: &mut AnyConnection,
    tenant_id: &str,
    message_id: &str,
    kind: MessageKind,
    now: DateTime<Utc>,
) -> Result<Option<PasswordToken>> {
    let Some(purpose) = Purpose::of_message(kind) else {
        return Ok(None);
    };
    let member: Option<Option<String>> = messages::table
        .filter(messages::tenant_id.eq(tenant_id))
        .filter(messages::id.eq(message_id))
        .select(messages::staff_id)
        .first(conn)
        .optional()?;
    let Some(Some(staff_id)) = member else {
        return Ok(None);
    };
    insert_token(conn, tenant_id, &staff_id, purpose, Some(message_id), now).map(Some)
}

/// A member to write to: who they are and where their mail goes.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    pub id: StaffId,
    pub name: String,
    pub email: String,
    pub store_id: Option<StoreId>,
}

/// Writes an invitation or reset email for `member` to the outbox, due at once; its link is
/// `{base}/app/password/{token}`, the token made at hand-over.
pub(crate) fn queue_mail(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    member: &Recipient,
    kind: MessageKind,
    public_base_url: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (salon, locale): (String, String) = tenants::table
        .filter(tenants::id.eq(tenant.key()))
        .select((tenants::name, tenants::locale))
        .first(conn)?;
    let locale = Locale::from_db(&locale);
    let link = format!("{}{PAGE_PATH}{TOKEN_MARKER}", public_base_url.trim_end_matches('/'));
    let vars = TemplateVars {
        salon_name: salon.clone(),
        link: Some(link.clone()),
        staff_name: Some(member.name.clone()),
        ..TemplateVars::default()
    };
    let source = templates::builtin(kind, crate::domain::Channel::Email, locale).into();
    let rendered = templates::render_with(&source, kind, crate::domain::Channel::Email, locale, "", None, &vars)?;
    let message = NewMessage {
        kind,
        occasion: format!("{}:{}:{}", kind.as_str(), member.id, uuid::Uuid::now_v7()),
        client_id: None,
        staff_id: Some(member.id.to_string()),
        store_id: member.store_id.map(|s| s.to_string()),
        visit_id: None,
        complaint_id: None,
        channel: crate::domain::Channel::Email,
        recipient: Some(member.email.clone()),
        locale: locale.as_str().to_owned(),
        subject: rendered.subject,
        body: rendered.body,
        params: serde_json::json!({ "staff_name": member.name, "salon_name": salon, "link": link }),
        status: MessageStatus::Pending,
        suppression_reason: None,
        due_at: now,
        send_at: now,
    };
    outbox::insert(conn, tenant, &message, now)?;
    Ok(())
}

/// Someone asks for a reset link for `email`. An active account gets one by mail; for any
/// other address nothing happens, and the caller answers the same either way.
pub fn request_reset(
    conn: &mut AnyConnection,
    email: &EmailAddress,
    public_base_url: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    type Row = (String, String, String, String, Option<String>);
    let member: Option<Row> = staff::table
        .filter(staff::email.eq(email.as_str()))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .select((staff::tenant_id, staff::id, staff::name, staff::email, staff::store_id))
        .first(conn)
        .optional()?;
    let Some((tenant_id, id, name, email, store_id)) = member else {
        return Ok(());
    };
    let tenant = Tenant::from_credential(TenantId::from_db(&tenant_id)?);
    let recipient = Recipient {
        id: StaffId::from_db(&id)?,
        name,
        email,
        store_id: store_id.as_deref().map(StoreId::from_db).transpose()?,
    };
    queue_mail(
        conn,
        &tenant,
        &recipient,
        MessageKind::PasswordReset,
        public_base_url,
        now,
    )
}

/// What a member's password is like, as staff lists show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// Chosen by the member.
    Set,
    /// Invited: no password until they follow the link.
    Invited,
    /// Set by an owner: the member chooses their own at first login.
    MustChange,
}

impl PasswordState {
    pub(crate) fn of(hash: &str, must_change: bool) -> Self {
        if hash.is_empty() {
            PasswordState::Invited
        } else if must_change {
            PasswordState::MustChange
        } else {
            PasswordState::Set
        }
    }
}

/// A member changes their own password, knowing the current one: every session of theirs
/// ends (log in again with the new one). A wrong current password is `Forbidden`.
pub async fn change_own(
    db: &Db,
    auth: &super::Auth,
    current: Password,
    new: Password,
    now: DateTime<Utc>,
) -> Result<()> {
    let (tenant, staff_id) = (auth.tenant, auth.actor.staff_id);
    let stored: String = db
        .read(move |conn| {
            Ok(staff::table
                .filter(staff::tenant_id.eq(tenant.key()))
                .filter(staff::id.eq(staff_id.to_string()))
                .select(staff::password_hash)
                .first(conn)?)
        })
        .await?;
    let checked = stored.clone();
    let hash = tokio::task::spawn_blocking(move || {
        if PasswordHash::from_db(checked).verify(&current) {
            new.hash().map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))??
    .ok_or(Error::Forbidden("the current password is not right"))?;
    db.write(move |conn| {
        // Only over the password that was checked (a concurrent change wins, this one fails).
        let changed = diesel::update(staff::table)
            .filter(staff::tenant_id.eq(tenant.key()))
            .filter(staff::id.eq(staff_id.to_string()))
            .filter(staff::password_hash.eq(&stored))
            .set((
                staff::password_hash.eq(hash.as_str()),
                staff::password_must_change.eq(false),
                staff::updated_at.eq(to_db_time(now)),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(Error::conflict(
                "password_changed",
                "the password was just changed; try again",
            ));
        }
        super::revoke_sessions(conn, &tenant, staff_id, now)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_once_and_until_it_expires() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let expires = now + RESET_VALID_FOR;
        assert_eq!(token_state(None, expires, now), TokenState::Open);
        assert_eq!(
            token_state(None, expires, expires - Duration::seconds(1)),
            TokenState::Open
        );
        assert_eq!(token_state(None, expires, expires), TokenState::Expired);
        assert_eq!(
            token_state(None, expires, expires + Duration::days(1)),
            TokenState::Expired
        );
        assert_eq!(token_state(Some(now), expires, now), TokenState::Used);
        assert_eq!(
            token_state(Some(now), expires, expires),
            TokenState::Used,
            "used says more than expired"
        );
    }

    #[test]
    fn validity_by_purpose() {
        assert_eq!(Purpose::Invitation.valid_for(), Duration::hours(72));
        assert_eq!(Purpose::Reset.valid_for(), Duration::hours(1));
        assert_eq!(Purpose::FirstLogin.valid_for(), Duration::hours(1));
        for purpose in [Purpose::Invitation, Purpose::Reset, Purpose::FirstLogin] {
            assert_eq!(Purpose::from_db(purpose.as_str()).unwrap(), purpose);
        }
        assert_eq!(Purpose::of_message(MessageKind::Survey), None);
    }

    #[test]
    fn tokens_are_long_random_and_never_shown_in_debug() {
        let (a, b) = (PasswordToken::generate(), PasswordToken::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22, "128 bits in URL-safe base64");
        assert!(plausible(a.as_str()));
        assert_eq!(format!("{a:?}"), "PasswordToken(…)");
        assert_eq!(PasswordToken::hash(a.as_str()).len(), 64);
        assert!(!plausible("short") && !plausible("AAAAAAAAAAAAAAAA/AAAAA"));
    }

    #[test]
    fn password_states() {
        assert_eq!(PasswordState::of("", false), PasswordState::Invited);
        assert_eq!(PasswordState::of("", true), PasswordState::Invited);
        assert_eq!(PasswordState::of("$argon2id$…", true), PasswordState::MustChange);
        assert_eq!(PasswordState::of("$argon2id$…", false), PasswordState::Set);
    }
}
