use crate::domain::Role;

/// What a staff member may do. Handlers name the action they need; the web layer checks it
/// before the handler body runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ViewStores,
    ManageStores,
    ViewStaff,
    /// Create, change and remove staff (store managers: only in their own store, and only
    /// store roles; see `staff::authorize_change`).
    ManageStaff,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::ViewStores,
        Action::ManageStores,
        Action::ViewStaff,
        Action::ManageStaff,
    ];
}

/// The permission table: every role × action decision in one place.
pub const fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewStores | ViewStaff => true,
        ManageStores => matches!(role, Owner | HqManager),
        ManageStaff => matches!(role, Owner | HqManager | StoreManager),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        use Action::*;
        use Role::*;
        let expected = [
            // role, [ViewStores, ManageStores, ViewStaff, ManageStaff]
            (Owner, [true, true, true, true]),
            (HqManager, [true, true, true, true]),
            (StoreManager, [true, false, true, true]),
            (FrontDesk, [true, false, true, false]),
            (Beautician, [true, false, true, false]),
        ];
        for (role, allowed) in expected {
            for (action, allow) in [ViewStores, ManageStores, ViewStaff, ManageStaff]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(role_allows(role, action), allow, "{role:?} {action:?}");
            }
        }
    }
}
