use super::permissions::{role_allows, Action};
use crate::domain::{Role, SessionId, StaffId, StoreId, TenantId};
use crate::error::{Error, Result};

/// The tenant a request or a job acts for. Its constructors are deliberately few: the
/// session lookup (from a bearer token), signup, and [`Tenant::for_automation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant {
    id: TenantId,
}

impl Tenant {
    pub(crate) fn from_credential(id: TenantId) -> Self {
        Tenant { id }
    }

    /// For the worker, which acts for each tenant in turn from the tenant's own row.
    pub fn for_automation(id: TenantId) -> Self {
        Tenant { id }
    }

    pub fn id(&self) -> TenantId {
        self.id
    }

    /// The id as stored in `tenant_id` columns.
    pub fn key(&self) -> String {
        self.id.to_string()
    }
}

/// The staff member behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub staff_id: StaffId,
    pub role: Role,
    /// The store a store role works in; `None` for HQ roles.
    pub store_id: Option<StoreId>,
}

impl Actor {
    pub fn may(&self, action: Action) -> bool {
        role_allows(self.role, action)
    }

    /// Whether this staff member sees everything of the tenant rather than one store.
    pub fn is_hq(&self) -> bool {
        !self.role.works_in_a_store()
    }
}

/// An authenticated request: the tenant, the staff member and the session they used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth {
    pub tenant: Tenant,
    pub actor: Actor,
    pub session_id: SessionId,
    /// Read with the session, so handlers need no query for them.
    pub facts: TenantFacts,
}

/// The tenant's country (how national phone numbers are read) and currency (of every amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantFacts {
    country: Option<[u8; 2]>,
    currency: [u8; 3],
}

impl TenantFacts {
    pub fn from_db(country: Option<&str>, currency: &str) -> Self {
        let country = country
            .and_then(|c| <[u8; 2]>::try_from(c.as_bytes()).ok())
            .filter(|c| c.is_ascii());
        let currency = <[u8; 3]>::try_from(currency.as_bytes())
            .ok()
            .filter(|c| c.is_ascii())
            .unwrap_or(*b"CNY");
        TenantFacts { country, currency }
    }

    pub fn country(&self) -> Option<&str> {
        self.country.as_ref().and_then(|c| std::str::from_utf8(c).ok())
    }

    pub fn currency(&self) -> &str {
        std::str::from_utf8(&self.currency).unwrap_or("CNY")
    }
}

impl Auth {
    /// 403 unless the actor's role allows `action` (the table in `permissions.rs`).
    pub fn require(&self, action: Action) -> Result<()> {
        if self.actor.may(action) {
            Ok(())
        } else {
            Err(Error::Forbidden("your role does not allow this action"))
        }
    }
}
