use super::context::{Actor, Auth, Tenant, TenantFacts};
use super::token::BearerToken;
use crate::db::schema::{sessions, staff, tenants};
use crate::db::{to_db_time, AnyConnection, Db};
use crate::domain::{EmailAddress, Password, PasswordHash, Role, SessionId, StaffId, StoreId, TenantId};
use crate::error::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

/// What someone typed into the login form. Not validated beyond presence: a malformed email
/// or a short password is simply a failed login, answered like any other.
#[derive(Debug)]
pub struct LoginAttempt {
    pub email: String,
    pub password: Password,
}

/// Check the password and open a session. Unknown email, wrong password and a deactivated
/// account all give the same `Unauthenticated`, in about the same time.
pub async fn login(db: &Db, attempt: LoginAttempt, now: DateTime<Utc>, ttl: Duration) -> Result<(BearerToken, Auth)> {
    let email = EmailAddress::parse(&attempt.email).ok();
    let account = match email {
        Some(email) => db.read(move |conn| find_login(conn, &email)).await?,
        None => None,
    };
    let password = attempt.password;
    let account = tokio::task::spawn_blocking(move || match account {
        Some(account) if account.hash.verify(&password) => Some(account),
        Some(_) => None,
        None => {
            PasswordHash::verify_against_nothing(&password);
            None
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("password check failed: {e}")))?
    .ok_or(Error::Unauthenticated)?;

    if account.must_change {
        // An owner set this password: no session, only the way to choose one's own.
        let token = db
            .write(move |conn| super::passwords::first_login_token(conn, &account.tenant, account.actor.staff_id, now))
            .await?;
        return Err(Error::PasswordChangeRequired(token));
    }
    db.write(move |conn| open_session(conn, account.tenant, account.actor, account.facts, now, ttl))
        .await
}

struct LoginAccount {
    tenant: Tenant,
    actor: Actor,
    facts: TenantFacts,
    hash: PasswordHash,
    must_change: bool,
}

fn find_login(conn: &mut AnyConnection, email: &EmailAddress) -> Result<Option<LoginAccount>> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        String,
        bool,
    );
    let row: Option<Row> = staff::table
        .inner_join(tenants::table.on(tenants::id.eq(staff::tenant_id)))
        .filter(staff::email.eq(email.as_str()))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .select((
            staff::tenant_id,
            staff::id,
            staff::role,
            staff::store_id,
            staff::password_hash,
            tenants::country,
            tenants::currency,
            staff::password_must_change,
        ))
        .first(conn)
        .optional()?;
    row.map(
        |(tenant_id, staff_id, role, store_id, hash, country, currency, must_change)| {
            Ok(LoginAccount {
                tenant: Tenant::from_credential(TenantId::from_db(&tenant_id)?),
                actor: actor_from_row(&staff_id, &role, store_id.as_deref())?,
                facts: TenantFacts::from_db(country.as_deref(), &currency),
                hash: PasswordHash::from_db(hash),
                must_change,
            })
        },
    )
    .transpose()
}

/// Write a new session row and hand back the only copy of its token.
pub(crate) fn open_session(
    conn: &mut AnyConnection,
    tenant: Tenant,
    actor: Actor,
    facts: TenantFacts,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<(BearerToken, Auth)> {
    let token = BearerToken::generate();
    let session_id = SessionId::new();
    diesel::insert_into(sessions::table)
        .values((
            sessions::tenant_id.eq(tenant.key()),
            sessions::id.eq(session_id.to_string()),
            sessions::staff_id.eq(actor.staff_id.to_string()),
            sessions::token_hash.eq(token.hash().as_str().to_owned()),
            sessions::created_at.eq(to_db_time(now)),
            sessions::expires_at.eq(to_db_time(now + ttl)),
        ))
        .execute(conn)?;
    Ok((
        token,
        Auth {
            tenant,
            actor,
            session_id,
            facts,
        },
    ))
}

/// The session behind a bearer token, if it is live: not expired, not revoked, and its staff
/// member still active. Checked on every request, so deactivation takes effect at once.
pub fn authenticate(conn: &mut AnyConnection, token: &BearerToken, now: DateTime<Utc>) -> Result<Auth> {
    type Row = (String, String, String, String, Option<String>, Option<String>, String);
    let row: Option<Row> = sessions::table
        .inner_join(
            staff::table.on(staff::tenant_id
                .eq(sessions::tenant_id)
                .and(staff::id.eq(sessions::staff_id))),
        )
        .inner_join(tenants::table.on(tenants::id.eq(sessions::tenant_id)))
        .filter(sessions::token_hash.eq(token.hash().as_str()))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(to_db_time(now)))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .select((
            sessions::tenant_id,
            sessions::id,
            staff::id,
            staff::role,
            staff::store_id,
            tenants::country,
            tenants::currency,
        ))
        .first(conn)
        .optional()?;
    let (tenant_id, session_id, staff_id, role, store_id, country, currency) = row.ok_or(Error::Unauthenticated)?;
    Ok(Auth {
        tenant: Tenant::from_credential(TenantId::from_db(&tenant_id)?),
        actor: actor_from_row(&staff_id, &role, store_id.as_deref())?,
        session_id: SessionId::from_db(&session_id)?,
        facts: TenantFacts::from_db(country.as_deref(), &currency),
    })
}

/// Revoke the session the request came with.
pub fn logout(conn: &mut AnyConnection, auth: &Auth, now: DateTime<Utc>) -> Result<()> {
    diesel::update(sessions::table)
        .filter(sessions::tenant_id.eq(auth.tenant.key()))
        .filter(sessions::id.eq(auth.session_id.to_string()))
        .set(sessions::revoked_at.eq(Some(to_db_time(now))))
        .execute(conn)?;
    Ok(())
}

/// End every live session of one staff member (deactivation, removal, password change).
pub(crate) fn revoke_all(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    staff_id: StaffId,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::update(sessions::table)
        .filter(sessions::tenant_id.eq(tenant.key()))
        .filter(sessions::staff_id.eq(staff_id.to_string()))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(Some(to_db_time(now))))
        .execute(conn)?;
    Ok(())
}

fn actor_from_row(staff_id: &str, role: &str, store_id: Option<&str>) -> Result<Actor> {
    Ok(Actor {
        staff_id: StaffId::from_db(staff_id)?,
        role: Role::from_db(role)?,
        store_id: store_id.map(StoreId::from_db).transpose()?,
    })
}
