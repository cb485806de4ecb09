//! The client archive (客户档案): who the salon's clients are, how to reach them, what they
//! agreed to, and what the salon must know to treat them safely.
//!
//! Every function takes an [`Auth`](crate::tenancy::Auth): the tenant scopes every query, and
//! the staff member's role and store decide which clients they see (`access`) and whether
//! allergies, medical notes and skin history are shown (and audited).

mod access;
mod erasure;
mod input;
mod model;
mod read;
mod rotation;
mod write;

pub(crate) use access::may_handle_sensitive;
pub use access::{
    can_see_sensitive, check_consultant, may_assign_consultant, may_be_consultant, visible_client, ConsultantRefusal,
};
pub use input::{ClientFields, ClientInput, ClientPatch, ClientPatchInput, SensitiveInput};
pub use model::{Client, ClientRow, SensitiveFields};
pub use read::{
    export, get, list, lookup, names, profile, reveal_sensitive, timeline, ClientExport, ClientSort, ListFilter,
    TimelineEntry,
};
pub use rotation::rotate_keys;
pub use write::{add_visit_to_aggregates, create, delete, erase, insert_parsed, refresh_aggregates, update, Crypto};
pub(crate) use write::{insert_many, link_store, new_client_rows, tenant_locale_facts};
