//! Which clients a staff member sees, who may see their sensitive fields, and who may name
//! their consultant.
//!
//! HQ roles and owners see every client of the tenant. Store roles see the clients of their
//! store: those whose home store it is, those who have visited it, and clients of the chain
//! as a whole (no home store). Sensitive fields are for the owner, the manager and
//! beauticians of the client's home store, and the client's consultant, never the front desk.
//!
//! Because the consultant sees the sensitive fields, naming one is guarded the same way on
//! every path (create, `PATCH`, the CSV import): only the owner, an HQ manager (who assigns,
//! and gains nothing by it) and the manager of the client's home store choose the consultant
//! ([`may_assign_consultant`]), and only someone whose role may see sensitive fields can be
//! one ([`may_be_consultant`]). The role is checked before the assignment, so a consultant
//! moved to the front desk loses the access at once.

use super::model::ClientRow;
use crate::db::schema::{client_stores, clients};
use crate::db::AnyConnection;
use crate::domain::{ClientId, Role, StoreId};
use crate::error::{Error, FieldError, Result};
use crate::tenancy::{role_allows, Action, Auth};
use diesel::prelude::*;
use std::collections::HashSet;

/// The client's row if it exists in the tenant, is not deleted, and `auth` may see it;
/// `NotFound` otherwise (another store's client looks absent, like another tenant's).
pub fn visible_client(conn: &mut AnyConnection, auth: &Auth, id: ClientId) -> Result<ClientRow> {
    let row = clients::table
        .filter(clients::tenant_id.eq(auth.tenant.key()))
        .filter(clients::id.eq(id.to_string()))
        .filter(clients::deleted_at.is_null())
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    if visible_ids(conn, auth, std::slice::from_ref(&row))?.contains(&row.id) {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

/// The ids among `rows` that `auth` may see, with one query for all of them: a store role sees
/// chain-wide clients, its store's own, and those linked to its store by a visit.
pub(crate) fn visible_ids(conn: &mut AnyConnection, auth: &Auth, rows: &[ClientRow]) -> Result<HashSet<String>> {
    let Some(store) = auth
        .actor
        .store_id
        .filter(|_| !auth.actor.is_hq())
        .map(|s| s.to_string())
    else {
        return Ok(rows.iter().map(|row| row.id.clone()).collect());
    };
    let mut ids = HashSet::new();
    let mut elsewhere = Vec::new();
    for row in rows {
        match row.home_store_id.as_deref() {
            None => ids.insert(row.id.clone()),
            Some(home) if home == store => ids.insert(row.id.clone()),
            Some(_) => {
                elsewhere.push(row.id.as_str());
                false
            }
        };
    }
    if !elsewhere.is_empty() {
        let linked: Vec<String> = client_stores::table
            .filter(client_stores::tenant_id.eq(auth.tenant.key()))
            .filter(client_stores::store_id.eq(&store))
            .filter(client_stores::client_id.eq_any(elsewhere))
            .select(client_stores::client_id)
            .load(conn)?;
        ids.extend(linked);
    }
    Ok(ids)
}

/// Whether `auth` may read (and write) this client's allergies, medical notes and skin history.
pub fn can_see_sensitive(auth: &Auth, row: &ClientRow) -> bool {
    may_handle_sensitive(auth, row.home_store_id.as_deref(), row.consultant_id.as_deref())
}

pub(crate) fn may_handle_sensitive(auth: &Auth, home_store: Option<&str>, consultant: Option<&str>) -> bool {
    let actor = auth.actor;
    // The role first: an assignment never lends access to a role without it.
    if !actor.may(Action::ViewSensitive) {
        return false;
    }
    if consultant == Some(actor.staff_id.to_string().as_str()) {
        return true;
    }
    actor.is_hq()
        || (actor.store_id.is_some() && home_store.map(str::to_owned) == actor.store_id.map(|s| s.to_string()))
}

/// Whether `auth` may choose the consultant of a client whose home store is `home_store`: the
/// owner, an HQ manager, or the manager of that store.
pub fn may_assign_consultant(auth: &Auth, home_store: Option<StoreId>) -> bool {
    match auth.actor.role {
        Role::Owner | Role::HqManager => true,
        Role::StoreManager => home_store.is_some() && home_store == auth.actor.store_id,
        Role::FrontDesk | Role::Beautician => false,
    }
}

/// Whether a staff member in `role` can be a client's consultant: the consultant sees the
/// sensitive fields, so only a role that may.
pub fn may_be_consultant(role: Role) -> bool {
    role_allows(role, Action::ViewSensitive)
}

/// Why a consultant was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsultantRefusal {
    /// The caller may not choose consultants for this client (403).
    NotYours,
    /// The staff member named does not exist or is inactive (422, `unknown_staff`).
    Unknown,
    /// Their role may not see sensitive fields (422, `not_allowed`).
    RoleNotAllowed,
}

impl ConsultantRefusal {
    const NOT_YOURS: &'static str =
        "only the owner, an HQ manager or the manager of the client's home store assigns a consultant";

    /// The refusal as a field error (an import row's rejection).
    pub fn field_error(&self) -> FieldError {
        match self {
            ConsultantRefusal::NotYours => FieldError::new("forbidden", Self::NOT_YOURS),
            ConsultantRefusal::Unknown => FieldError::new("unknown_staff", "no such active staff member"),
            ConsultantRefusal::RoleNotAllowed => FieldError::new(
                "not_allowed",
                "a consultant sees allergies and medical notes: choose an owner, a store manager or a beautician",
            ),
        }
    }

    /// The refusal as the API answers it: 403, or 422 naming `consultant_id`.
    pub fn into_error(self) -> Error {
        match self {
            ConsultantRefusal::NotYours => Error::Forbidden(Self::NOT_YOURS),
            other => {
                let mut error = other.field_error();
                error.field = "consultant_id".into();
                Error::Validation(crate::FieldErrors(vec![error]))
            }
        }
    }
}

/// The consultant rule for naming a consultant who holds `consultant_role` (`None` when no
/// active staff member has that id) on a client whose home store is (or becomes)
/// `home_store`. Create, `PATCH` and the import all call it.
pub fn check_consultant(
    auth: &Auth,
    home_store: Option<StoreId>,
    consultant_role: Option<Role>,
) -> std::result::Result<(), ConsultantRefusal> {
    if !may_assign_consultant(auth, home_store) {
        return Err(ConsultantRefusal::NotYours);
    }
    match consultant_role {
        None => Err(ConsultantRefusal::Unknown),
        Some(role) if !may_be_consultant(role) => Err(ConsultantRefusal::RoleNotAllowed),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SessionId, StaffId, TenantId};
    use crate::tenancy::{Actor, Tenant, TenantFacts};

    fn auth(role: Role, store: Option<StoreId>) -> Auth {
        Auth {
            tenant: Tenant::for_automation(TenantId::new()),
            actor: Actor {
                staff_id: StaffId::new(),
                role,
                store_id: store,
            },
            session_id: SessionId::new(),
            facts: TenantFacts::from_db(Some("CN"), "CNY"),
        }
    }

    #[test]
    fn who_assigns_a_consultant() {
        let (home, elsewhere) = (StoreId::new(), StoreId::new());
        let cases = [
            (Role::Owner, None, Some(home), true),
            (Role::HqManager, None, Some(home), true),
            (Role::HqManager, None, None, true),
            (Role::StoreManager, Some(home), Some(home), true),
            (Role::StoreManager, Some(elsewhere), Some(home), false),
            (Role::StoreManager, Some(home), None, false),
            (Role::FrontDesk, Some(home), Some(home), false),
            (Role::Beautician, Some(home), Some(home), false),
        ];
        for (role, own_store, client_home, allowed) in cases {
            assert_eq!(
                may_assign_consultant(&auth(role, own_store), client_home),
                allowed,
                "{role:?} at {own_store:?}, client of {client_home:?}"
            );
        }
    }

    #[test]
    fn who_can_be_a_consultant() {
        let allowed: Vec<Role> = Role::ALL.into_iter().filter(|r| may_be_consultant(*r)).collect();
        assert_eq!(allowed, [Role::Owner, Role::StoreManager, Role::Beautician]);
        let hq = auth(Role::HqManager, None);
        assert_eq!(
            check_consultant(&hq, None, Some(Role::FrontDesk)),
            Err(ConsultantRefusal::RoleNotAllowed)
        );
        assert_eq!(
            check_consultant(&hq, None, Some(Role::HqManager)),
            Err(ConsultantRefusal::RoleNotAllowed)
        );
        assert_eq!(check_consultant(&hq, None, None), Err(ConsultantRefusal::Unknown));
        assert_eq!(check_consultant(&hq, None, Some(Role::Beautician)), Ok(()));
        let desk = auth(Role::FrontDesk, Some(StoreId::new()));
        assert_eq!(
            check_consultant(&desk, desk.actor.store_id, Some(Role::Owner)),
            Err(ConsultantRefusal::NotYours),
            "the caller's permission is checked first"
        );
    }

    #[test]
    fn the_role_decides_before_the_assignment() {
        let desk = auth(Role::FrontDesk, Some(StoreId::new()));
        let me = desk.actor.staff_id.to_string();
        assert!(
            !may_handle_sensitive(&desk, None, Some(&me)),
            "a front desk consultant sees nothing"
        );
        let hq = auth(Role::HqManager, None);
        assert!(!may_handle_sensitive(&hq, None, Some(&hq.actor.staff_id.to_string())));
        let far = auth(Role::Beautician, Some(StoreId::new()));
        assert!(may_handle_sensitive(
            &far,
            Some("another store"),
            Some(&far.actor.staff_id.to_string())
        ));
        assert!(!may_handle_sensitive(&far, Some("another store"), None));
    }
}
