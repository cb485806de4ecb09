//! Staff accounts and their roles. Who may change whom is decided here, next to the data.

use crate::db::schema::{staff, tenants};
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{EmailAddress, Name, PasswordHash, PhoneText, Role, StaffId, StoreId};
use crate::error::{Error, Result};
use crate::outreach::MessageKind;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::passwords::{self, PasswordState};
use crate::tenancy::{Auth, Tenant};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub id: StaffId,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    /// The store a store role works in; absent for HQ roles.
    pub store_id: Option<StoreId>,
    /// A deactivated member cannot log in and their sessions have ended.
    pub active: bool,
    /// `invited` (no password until they follow their link), `must_change` (an owner set the
    /// first one; they choose their own at first login) or `set`.
    pub password_state: PasswordState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct NewStaff {
    pub name: Name,
    pub email: EmailAddress,
    pub phone: Option<PhoneText>,
    pub role: Role,
    pub store_id: Option<StoreId>,
}

/// How a new member gets their first password. Nobody but the member ever chooses it, except
/// that an owner may set a first one (a salon without email), which the member must replace
/// at first login (`tenancy::passwords`).
#[derive(Debug)]
pub enum InitialPassword {
    /// An invitation by email (to `PUBLIC_BASE_URL`, the origin the page is reached at).
    Invite { public_base_url: String },
    /// Set by an owner (hashed off the database thread); the member chooses their own at first
    /// login.
    SetByOwner(PasswordHash),
    /// The demo chain's accounts (`web demo`): the password printed on the console is theirs to
    /// use at once. No request can produce this: the API only ever asks for the two above.
    Demo(PasswordHash),
}

/// Changes to a staff member; `None` leaves a field as it is. No password: members change
/// their own (`PUT /me/password`) or use a reset link.
#[derive(Debug, Default)]
pub struct StaffPatch {
    pub name: Option<Name>,
    pub email: Option<EmailAddress>,
    pub phone: Option<Option<PhoneText>>,
    pub role: Option<Role>,
    pub store_id: Option<Option<StoreId>>,
    pub active: Option<bool>,
    /// A password was sent: refused (422 `password`) once the member is found and within the
    /// caller's reach, since nobody sets another member's password.
    pub sets_password: bool,
}

/// A row to insert, for signup and for staff created through the API.
pub(crate) struct StaffRow {
    pub id: StaffId,
    pub name: Name,
    pub email: EmailAddress,
    pub phone: Option<PhoneText>,
    pub role: Role,
    pub store_id: Option<StoreId>,
    /// Empty for an invited member: it verifies nothing, so nothing logs in.
    pub password_hash: PasswordHash,
    pub password_must_change: bool,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    bool,
    NaiveDateTime,
    NaiveDateTime,
    String,
    bool,
);

#[allow(clippy::type_complexity)]
fn columns() -> (
    staff::id,
    staff::name,
    staff::email,
    staff::phone,
    staff::role,
    staff::store_id,
    staff::active,
    staff::created_at,
    staff::updated_at,
    staff::password_hash,
    staff::password_must_change,
) {
    (
        staff::id,
        staff::name,
        staff::email,
        staff::phone,
        staff::role,
        staff::store_id,
        staff::active,
        staff::created_at,
        staff::updated_at,
        staff::password_hash,
        staff::password_must_change,
    )
}

fn from_row(row: Row) -> Result<StaffMember> {
    let (id, name, email, phone, role, store_id, active, created_at, updated_at, hash, must_change) = row;
    Ok(StaffMember {
        password_state: PasswordState::of(&hash, must_change),
        id: StaffId::from_db(&id)?,
        name,
        email,
        phone,
        role: Role::from_db(&role)?,
        store_id: store_id.as_deref().map(StoreId::from_db).transpose()?,
        active,
        created_at: from_db_time(created_at),
        updated_at: from_db_time(updated_at),
    })
}

pub(crate) fn insert_row(conn: &mut AnyConnection, tenant: &Tenant, row: StaffRow, now: DateTime<Utc>) -> Result<()> {
    diesel::insert_into(staff::table)
        .values((
            staff::tenant_id.eq(tenant.key()),
            staff::id.eq(row.id.to_string()),
            staff::name.eq(row.name.into_inner()),
            staff::email.eq(row.email.into_inner()),
            staff::phone.eq(row.phone.map(PhoneText::into_inner)),
            staff::role.eq(row.role.as_str()),
            staff::store_id.eq(row.store_id.map(|s| s.to_string())),
            staff::password_hash.eq(row.password_hash.as_str()),
            staff::password_must_change.eq(row.password_must_change),
            staff::active.eq(true),
            staff::created_at.eq(to_db_time(now)),
            staff::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)
        .map_err(|e| {
            if crate::tenancy::signup_email_taken(&e) {
                Error::conflict("email_taken", "a staff account with this email already exists")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Seniority for "who may manage whom": nobody manages a peer or a senior, except owners,
/// who manage everyone including other owners.
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::HqManager => 2,
        Role::StoreManager => 1,
        Role::FrontDesk | Role::Beautician => 0,
    }
}

/// Whether `auth` may create or change a staff member who has (or will have) `role` in
/// `store`. The coarse check (may this role manage staff at all) ran before the handler.
fn authorize(auth: &Auth, role: Role, store: Option<StoreId>) -> Result<()> {
    let actor = auth.actor;
    if actor.role != Role::Owner && rank(role) >= rank(actor.role) {
        return Err(Error::Forbidden("you can only manage staff in roles below your own"));
    }
    if !actor.is_hq() && store != actor.store_id {
        return Err(Error::Forbidden("you can only manage staff of your own store"));
    }
    Ok(())
}

fn check_store(conn: &mut AnyConnection, tenant: &Tenant, role: Role, store: Option<StoreId>) -> Result<()> {
    match (role.works_in_a_store(), store) {
        (true, None) => Err(Error::invalid(
            "store_id",
            "required",
            "a store role needs the store it works in",
        )),
        (false, Some(_)) => Err(Error::invalid(
            "store_id",
            "not_allowed",
            "HQ roles (owner, hq_manager) work across stores and take no store_id",
        )),
        (true, Some(id)) if !crate::stores::exists(conn, tenant, id)? => {
            Err(Error::invalid("store_id", "unknown_store", "no such store"))
        }
        _ => Ok(()),
    }
}

/// Add a member: invited by email, or (owners only) with a first password they must replace.
pub fn create(
    conn: &mut AnyConnection,
    auth: &Auth,
    new: NewStaff,
    password: InitialPassword,
    now: DateTime<Utc>,
) -> Result<StaffMember> {
    authorize(auth, new.role, new.store_id)?;
    if !matches!(password, InitialPassword::Invite { .. }) && auth.actor.role != Role::Owner {
        return Err(Error::Forbidden(
            "only an owner sets a first password; leave `password` out and the member is invited by email",
        ));
    }
    check_store(conn, &auth.tenant, new.role, new.store_id)?;
    let id = StaffId::new();
    let recipient = passwords::Recipient {
        id,
        name: new.name.as_str().to_owned(),
        email: new.email.as_str().to_owned(),
        store_id: new.store_id,
    };
    let (password_hash, password_must_change, invite) = match password {
        InitialPassword::SetByOwner(hash) => (hash, true, None),
        InitialPassword::Demo(hash) => (hash, false, None),
        InitialPassword::Invite { public_base_url } => {
            (PasswordHash::from_db(String::new()), false, Some(public_base_url))
        }
    };
    insert_row(
        conn,
        &auth.tenant,
        StaffRow {
            id,
            name: new.name,
            email: new.email,
            phone: new.phone,
            role: new.role,
            store_id: new.store_id,
            password_hash,
            password_must_change,
        },
        now,
    )?;
    if let Some(base) = invite {
        passwords::queue_mail(conn, &auth.tenant, &recipient, MessageKind::StaffInvitation, &base, now)?;
    }
    get(conn, &auth.tenant, id)
}

pub fn get(conn: &mut AnyConnection, tenant: &Tenant, id: StaffId) -> Result<StaffMember> {
    let row = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::id.eq(id.to_string()))
        .filter(staff::deleted_at.is_null())
        .select(columns())
        .first::<Row>(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    from_row(row)
}

#[derive(Debug, Default, Clone)]
pub struct StaffFilter {
    pub store_id: Option<StoreId>,
    pub role: Option<Role>,
}

pub fn list(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    filter: &StaffFilter,
    page: &PageRequest,
) -> Result<Page<StaffMember>> {
    let mut query = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::deleted_at.is_null())
        .select(columns())
        .order(staff::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(staff::id.gt(after.clone()));
    }
    if let Some(store) = filter.store_id {
        query = query.filter(staff::store_id.eq(store.to_string()));
    }
    if let Some(role) = filter.role {
        query = query.filter(staff::role.eq(role.as_str()));
    }
    let rows = query
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(rows, page, |member| member.id.to_string()))
}

pub fn update(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: StaffId,
    patch: StaffPatch,
    now: DateTime<Utc>,
) -> Result<StaffMember> {
    let tenant = &auth.tenant;
    let current = get(conn, tenant, id)?;
    // Both who they are now and who they would become must be within the actor's reach.
    authorize(auth, current.role, current.store_id)?;
    if patch.sets_password {
        return Err(Error::invalid(
            "password",
            "not_allowed",
            "nobody sets another member's password: they change their own (PUT /api/v1/me/password) \
             or ask for a reset link (POST /api/v1/password_resets)",
        ));
    }
    let role = patch.role.unwrap_or(current.role);
    let store_id = match patch.store_id {
        Some(store) => store,
        // A move to an HQ role leaves the store behind.
        None if !role.works_in_a_store() => None,
        None => current.store_id,
    };
    authorize(auth, role, store_id)?;
    check_store(conn, tenant, role, store_id)?;
    let active = patch.active.unwrap_or(current.active);
    let leaves_owners = current.role == Role::Owner && current.active && (role != Role::Owner || !active);
    if leaves_owners {
        lock_tenant_staff(conn, tenant, now)?;
    }

    diesel::update(staff::table)
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::id.eq(id.to_string()))
        .set((
            staff::name.eq(patch.name.map_or(current.name, Name::into_inner)),
            staff::email.eq(patch.email.map_or(current.email, EmailAddress::into_inner)),
            staff::phone.eq(patch.phone.map_or(current.phone, |p| p.map(PhoneText::into_inner))),
            staff::role.eq(role.as_str()),
            staff::store_id.eq(store_id.map(|s| s.to_string())),
            staff::active.eq(active),
            staff::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)
        .map_err(|e| {
            if crate::tenancy::signup_email_taken(&e) {
                Error::conflict("email_taken", "a staff account with this email already exists")
            } else {
                e.into()
            }
        })?;
    if leaves_owners {
        ensure_an_owner_remains(conn, tenant)?;
    }
    if !active {
        crate::tenancy::revoke_sessions(conn, tenant, id, now)?;
    }
    get(conn, tenant, id)
}

/// Remove a staff member from the team. The row stays (visits and complaints name who did
/// what) but the account is gone: it cannot log in, its sessions end, its email is free.
pub fn delete(conn: &mut AnyConnection, auth: &Auth, id: StaffId, now: DateTime<Utc>) -> Result<()> {
    let tenant = &auth.tenant;
    let current = get(conn, tenant, id)?;
    authorize(auth, current.role, current.store_id)?;
    if current.role == Role::Owner {
        lock_tenant_staff(conn, tenant, now)?;
    }
    diesel::update(staff::table)
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::id.eq(id.to_string()))
        .set((
            staff::active.eq(false),
            staff::deleted_at.eq(Some(to_db_time(now))),
            staff::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    if current.role == Role::Owner {
        ensure_an_owner_remains(conn, tenant)?;
    }
    crate::tenancy::revoke_sessions(conn, tenant, id, now)
}

/// Serialise changes that could remove the last owner: updating the tenant row takes its row
/// lock on PostgreSQL until commit (SQLite write transactions are serial already), so two
/// owners demoting each other at once cannot both succeed.
fn lock_tenant_staff(conn: &mut AnyConnection, tenant: &Tenant, now: DateTime<Utc>) -> Result<()> {
    diesel::update(tenants::table)
        .filter(tenants::id.eq(tenant.key()))
        .set(tenants::updated_at.eq(to_db_time(now)))
        .execute(conn)?;
    Ok(())
}

/// Checked after the change, inside the same transaction, which then rolls back.
fn ensure_an_owner_remains(conn: &mut AnyConnection, tenant: &Tenant) -> Result<()> {
    let owners: i64 = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::role.eq(Role::Owner.as_str()))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    if owners == 0 {
        Err(Error::conflict(
            "last_owner",
            "this is the tenant's last active owner; make someone else owner first",
        ))
    } else {
        Ok(())
    }
}

/// What the console shows of the signed-in staff member and their chain on every page.
#[derive(Debug, Clone, Serialize)]
pub struct OwnProfile {
    pub name: String,
    pub email: String,
    /// The console's language they chose; `None`: the browser's.
    pub locale: Option<crate::domain::Locale>,
    pub tenant_name: String,
    /// The chain's zone (clients without a home store, HQ's "all stores" day).
    pub tenant_timezone: String,
}

/// The signed-in staff member's own profile (one query, joined with their tenant).
pub fn own_profile(conn: &mut AnyConnection, auth: &Auth) -> Result<OwnProfile> {
    let (name, email, locale, tenant_name, tenant_timezone): (String, String, Option<String>, String, String) =
        staff::table
            .inner_join(tenants::table.on(tenants::id.eq(staff::tenant_id)))
            .filter(staff::tenant_id.eq(auth.tenant.key()))
            .filter(staff::id.eq(auth.actor.staff_id.to_string()))
            .select((
                staff::name,
                staff::email,
                staff::locale,
                tenants::name,
                tenants::timezone,
            ))
            .first(conn)
            .optional()?
            .ok_or(Error::Unauthenticated)?;
    Ok(OwnProfile {
        name,
        email,
        locale: locale.as_deref().map(crate::domain::Locale::from_db),
        tenant_name,
        tenant_timezone,
    })
}

/// The signed-in staff member chooses the console's language (`None`: follow the browser).
pub fn set_own_locale(
    conn: &mut AnyConnection,
    auth: &Auth,
    locale: Option<crate::domain::Locale>,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::update(staff::table)
        .filter(staff::tenant_id.eq(auth.tenant.key()))
        .filter(staff::id.eq(auth.actor.staff_id.to_string()))
        .set((
            staff::locale.eq(locale.map(|l| l.as_str().to_owned())),
            staff::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    Ok(())
}
