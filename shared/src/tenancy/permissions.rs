use crate::domain::Role;

/// What a staff member may do. Handlers name the action they need; the web layer checks it
/// before the handler body runs. Rules that depend on the record (which store, whose client)
/// are checked beside the data, in the domain modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ViewStores,
    ManageStores,
    ViewStaff,
    /// Create, change and remove staff (store managers: only in their own store, and only
    /// store roles; see `staff::authorize`).
    ManageStaff,
    ViewClients,
    /// Create and change clients' archives.
    ManageClients,
    /// See and write allergies, medical notes and skin history (for the client's own store, or
    /// as the client's consultant; see `clients::access`).
    ViewSensitive,
    /// Remove a client from the archive (soft delete).
    DeleteClients,
    /// Hand a client their own data, or erase it, on their request.
    ExportOrEraseClient,
    ViewServices,
    ManageServices,
    ViewVisits,
    RecordVisits,
    /// Correct or void a recorded visit.
    CorrectVisits,
    ImportData,
    RequestBulkExport,
    ApproveBulkExport,
    ViewAudit,
    /// See templates, settings and the outbox.
    ViewOutreach,
    /// Edit message templates and the automations' settings.
    ManageOutreach,
    /// Retry or cancel an outbox message.
    ManageMessages,
    /// See complaints (store roles: their own store's only; see `complaints`).
    ViewComplaints,
    /// Record a complaint's steps and hand it to someone.
    HandleComplaints,
    /// Open a complaint (a call, a walk-in): whoever meets the client first, the front desk too.
    OpenComplaints,
}

impl Action {
    pub const ALL: [Action; 24] = [
        Action::ViewStores,
        Action::ManageStores,
        Action::ViewStaff,
        Action::ManageStaff,
        Action::ViewClients,
        Action::ManageClients,
        Action::ViewSensitive,
        Action::DeleteClients,
        Action::ExportOrEraseClient,
        Action::ViewServices,
        Action::ManageServices,
        Action::ViewVisits,
        Action::RecordVisits,
        Action::CorrectVisits,
        Action::ImportData,
        Action::RequestBulkExport,
        Action::ApproveBulkExport,
        Action::ViewAudit,
        Action::ViewOutreach,
        Action::ManageOutreach,
        Action::ManageMessages,
        Action::ViewComplaints,
        Action::HandleComplaints,
        Action::OpenComplaints,
    ];
}

/// The permission table: every role × action decision in one place.
pub const fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewStores | ViewStaff | ViewClients | ManageClients | ViewServices | ViewVisits | RecordVisits
        | ViewOutreach => true,
        ManageStores | ManageServices | RequestBulkExport | ExportOrEraseClient | ManageOutreach => {
            matches!(role, Owner | HqManager)
        }
        ManageStaff | DeleteClients | CorrectVisits | ImportData | ManageMessages | ViewComplaints
        | HandleComplaints => matches!(role, Owner | HqManager | StoreManager),
        // The seed: sensitive fields only for those who treat the client, never the front desk.
        ViewSensitive => matches!(role, Owner | StoreManager | Beautician),
        ApproveBulkExport | ViewAudit => matches!(role, Owner),
        OpenComplaints => matches!(role, Owner | HqManager | StoreManager | FrontDesk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        use Action::*;
        use Role::*;
        let only = |roles: &[Role]| Role::ALL.map(|r| roles.contains(&r));
        let everyone = [true; 5];
        let expected: [(Action, [bool; 5]); 24] = [
            (ViewStores, everyone),
            (ManageStores, only(&[Owner, HqManager])),
            (ViewStaff, everyone),
            (ManageStaff, only(&[Owner, HqManager, StoreManager])),
            (ViewClients, everyone),
            (ManageClients, everyone),
            (ViewSensitive, only(&[Owner, StoreManager, Beautician])),
            (DeleteClients, only(&[Owner, HqManager, StoreManager])),
            (ExportOrEraseClient, only(&[Owner, HqManager])),
            (ViewServices, everyone),
            (ManageServices, only(&[Owner, HqManager])),
            (ViewVisits, everyone),
            (RecordVisits, everyone),
            (CorrectVisits, only(&[Owner, HqManager, StoreManager])),
            (ImportData, only(&[Owner, HqManager, StoreManager])),
            (RequestBulkExport, only(&[Owner, HqManager])),
            (ApproveBulkExport, only(&[Owner])),
            (ViewAudit, only(&[Owner])),
            (ViewOutreach, everyone),
            (ManageOutreach, only(&[Owner, HqManager])),
            (ManageMessages, only(&[Owner, HqManager, StoreManager])),
            (ViewComplaints, only(&[Owner, HqManager, StoreManager])),
            (HandleComplaints, only(&[Owner, HqManager, StoreManager])),
            (OpenComplaints, only(&[Owner, HqManager, StoreManager, FrontDesk])),
        ];
        assert_eq!(expected.map(|(a, _)| a), Action::ALL);
        for (action, allowed) in expected {
            for (role, allow) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(role_allows(role, action), allow, "{role:?} {action:?}");
            }
        }
    }
}
