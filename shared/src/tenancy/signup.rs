use super::context::{Actor, Auth, Tenant, TenantFacts};
use super::sessions::open_session;
use super::token::BearerToken;
use crate::db::schema::tenants;
use crate::db::{from_db_time, to_db_time, AnyConnection, Db};
use crate::domain::{EmailAddress, Locale, Name, Password, Role, StaffId, TenantId, TimeZone};
use crate::error::{Error, FieldError, FieldErrors, Result};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

/// A salon chain signing up with its first owner, parsed.
#[derive(Debug)]
pub struct NewSignup {
    pub tenant_name: Name,
    pub owner_name: Name,
    pub email: EmailAddress,
    pub password: Password,
    pub timezone: TimeZone,
    pub locale: Locale,
    /// ISO 3166-1 alpha-2; decides how bare local phone numbers are read (CN: 137…).
    pub country: Option<String>,
}

impl NewSignup {
    pub fn parse(
        tenant_name: &str,
        owner_name: &str,
        email: &str,
        password: &str,
        timezone: &str,
        locale: &str,
        country: Option<&str>,
    ) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let tenant_name = errors.check("tenant_name", Name::parse(tenant_name));
        let owner_name = errors.check("owner_name", Name::parse(owner_name));
        let email = errors.check("email", EmailAddress::parse(email));
        let password = errors.check("password", Password::parse(password));
        let timezone = errors.check("timezone", TimeZone::parse(timezone));
        let locale = errors.check("locale", Locale::parse(locale));
        let country = errors.check("country", country.map(parse_country).transpose());
        errors.finish(|| {
            let locale = locale?;
            Some(NewSignup {
                tenant_name: tenant_name?,
                owner_name: owner_name?,
                email: email?,
                password: password?,
                timezone: timezone?,
                // A Chinese-speaking chain is, unless it says otherwise, a chain in China.
                country: country?.or_else(|| (locale == Locale::ZhCn).then(|| "CN".to_owned())),
                locale,
            })
        })
    }
}

fn parse_country(raw: &str) -> std::result::Result<String, FieldError> {
    let code = raw.trim().to_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(FieldError::new(
            "invalid_country",
            "must be an ISO 3166-1 alpha-2 code such as CN",
        ))
    }
}

#[derive(Debug)]
pub struct SignupOutcome {
    pub tenant_id: TenantId,
    pub owner_id: StaffId,
    pub token: BearerToken,
    pub auth: Auth,
}

/// Create the tenant, its owner and the owner's first session in one transaction.
pub async fn signup(db: &Db, new: NewSignup, now: DateTime<Utc>, ttl: Duration) -> Result<SignupOutcome> {
    let password = new.password;
    let hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))??;
    let tenant_id = TenantId::new();
    let owner_id = StaffId::new();
    let tenant = Tenant::from_credential(tenant_id);
    let country = new.country.clone();
    let (token, auth) = db
        .write(move |conn| {
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq(tenant_id.to_string()),
                    tenants::name.eq(new.tenant_name.into_inner()),
                    tenants::timezone.eq(new.timezone.name()),
                    tenants::locale.eq(new.locale.as_str()),
                    tenants::country.eq(country.clone()),
                    tenants::created_at.eq(to_db_time(now)),
                    tenants::updated_at.eq(to_db_time(now)),
                ))
                .execute(conn)?;
            crate::staff::insert_row(
                conn,
                &tenant,
                crate::staff::StaffRow {
                    id: owner_id,
                    name: new.owner_name,
                    email: new.email,
                    phone: None,
                    role: Role::Owner,
                    store_id: None,
                    password_hash: hash,
                    password_must_change: false,
                },
                now,
            )?;
            let owner = Actor {
                staff_id: owner_id,
                role: Role::Owner,
                store_id: None,
            };
            let facts = TenantFacts::from_db(country.as_deref(), "CNY");
            open_session(conn, tenant, owner, facts, now, ttl)
        })
        .await?;
    Ok(SignupOutcome {
        tenant_id,
        owner_id,
        token,
        auth,
    })
}

/// The tenant's own settings as its staff see them.
#[derive(Debug, Clone, Serialize)]
pub struct TenantProfile {
    pub id: TenantId,
    pub name: String,
    pub timezone: String,
    pub locale: String,
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TenantProfile {
    pub fn load(conn: &mut AnyConnection, tenant: &Tenant) -> Result<Self> {
        let (id, name, timezone, locale, country, created_at) = tenants::table
            .filter(tenants::id.eq(tenant.key()))
            .select((
                tenants::id,
                tenants::name,
                tenants::timezone,
                tenants::locale,
                tenants::country,
                tenants::created_at,
            ))
            .first::<(String, String, String, String, Option<String>, chrono::NaiveDateTime)>(conn)
            .optional()?
            .ok_or(Error::NotFound)?;
        Ok(TenantProfile {
            id: TenantId::from_db(&id)?,
            name,
            timezone,
            locale,
            country,
            created_at: from_db_time(created_at),
        })
    }
}

/// Emails are unique among current staff of all tenants (logins are by email alone).
pub(crate) fn email_taken(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name().is_none_or(|name| name.contains("email"))
                || info.message().contains("email")
    )
}
