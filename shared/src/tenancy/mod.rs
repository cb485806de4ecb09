//! Tenants (salon chains), signup, sessions and roles: who is asking, and for which tenant.
//!
//! A [`Tenant`] is the proof that a tenant was established from a credential (or, in the
//! worker, from the tenant's own row). Every data-access function takes one and filters by
//! it; there is no lookup of tenant data by id alone.

mod context;
pub mod passwords;
mod permissions;
mod sessions;
mod signup;
mod token;

pub use context::{Actor, Auth, Tenant, TenantFacts};
pub use permissions::{role_allows, Action};
pub(crate) use sessions::revoke_all as revoke_sessions;
pub use sessions::{authenticate, login, logout, LoginAttempt};
pub(crate) use signup::email_taken as signup_email_taken;
pub use signup::{signup, NewSignup, SignupOutcome, TenantProfile};
pub use token::{BearerToken, TokenHash};
