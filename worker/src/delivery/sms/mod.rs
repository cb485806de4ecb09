//! SMS through the provider chosen for the tenant.
