//! The console's navigation: one table of screens, each with the action its role must be
//! allowed (the same permission table as the API, `shared::tenancy::permissions`). A link is
//! shown only to roles that may use it; the screen's handler refuses the others anyway
//! (`Console<can::X>` answers 403).
//!
//! To add a screen: add its row here (or set `built: true` on its row), its handlers in
//! `web/src/console/<screen>.rs`, its routes in `console::routes`, its templates in
//! `web/templates/console/`, and its strings in `i18n.rs`.

use serde::Serialize;
use shared::tenancy::{Action, Actor};

pub struct Screen {
    /// Where the link goes; the link is "current" for this path and the paths below it.
    pub href: &'static str,
    /// The label's key in the message catalog (`i18n.rs`).
    pub label: &'static str,
    /// What the role must be allowed; `None`: every signed-in staff member.
    pub action: Option<Action>,
    /// Screens not built yet are left out of the navigation.
    pub built: bool,
    /// The group the link sits in (`daily`, `care`, `admin`).
    pub group: &'static str,
}

/// Every screen of issue 15 (and those of the features that add their own), in menu order.
pub const SCREENS: &[Screen] = &[
    Screen {
        href: "/app/",
        label: "nav.today",
        action: None,
        built: true,
        group: "daily",
    },
    Screen {
        href: "/app/clients",
        label: "nav.clients",
        action: Some(Action::ViewClients),
        built: true,
        group: "daily",
    },
    Screen {
        href: "/app/visits/new",
        label: "nav.record_visit",
        action: Some(Action::RecordVisits),
        built: true,
        group: "daily",
    },
    Screen {
        href: "/app/appointments",
        label: "nav.appointments",
        action: Some(Action::ViewVisits),
        built: false,
        group: "daily",
    },
    Screen {
        href: "/app/complaints",
        label: "nav.complaints",
        action: Some(Action::ViewComplaints),
        built: false,
        group: "care",
    },
    Screen {
        href: "/app/surveys",
        label: "nav.surveys",
        action: Some(Action::ViewComplaints),
        built: false,
        group: "care",
    },
    Screen {
        href: "/app/messages",
        label: "nav.messages",
        action: Some(Action::ViewOutreach),
        built: false,
        group: "care",
    },
    Screen {
        href: "/app/reports/care",
        label: "nav.care_report",
        action: Some(Action::ViewComplaints),
        built: false,
        group: "care",
    },
    Screen {
        href: "/app/settings",
        label: "nav.settings",
        action: Some(Action::ManageOutreach),
        built: false,
        group: "admin",
    },
    Screen {
        href: "/app/staff",
        label: "nav.staff",
        action: Some(Action::ManageStaff),
        built: false,
        group: "admin",
    },
    Screen {
        href: "/app/stores",
        label: "nav.stores",
        action: Some(Action::ManageStores),
        built: false,
        group: "admin",
    },
    Screen {
        href: "/app/imports",
        label: "nav.imports",
        action: Some(Action::ImportData),
        built: false,
        group: "admin",
    },
    Screen {
        href: "/app/exports",
        label: "nav.exports",
        action: Some(Action::RequestBulkExport),
        built: false,
        group: "admin",
    },
    Screen {
        href: "/app/audit",
        label: "nav.audit",
        action: Some(Action::ViewAudit),
        built: false,
        group: "admin",
    },
];

#[derive(Debug, Clone, Serialize)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub group: &'static str,
    /// The first link of its group (after another group's).
    pub group_start: bool,
    pub current: bool,
}

/// The links `actor` may follow, the current one marked.
pub fn links(actor: &Actor, path: &str) -> Vec<NavLink> {
    let path = path.split('?').next().unwrap_or(path);
    let mut previous: Option<&str> = None;
    SCREENS
        .iter()
        .filter(|s| s.built && s.action.is_none_or(|a| actor.may(a)))
        .map(|s| {
            let group_start = previous.is_some_and(|g| g != s.group);
            previous = Some(s.group);
            NavLink {
                href: s.href,
                label: s.label,
                group: s.group,
                group_start,
                current: if s.href == "/app/" {
                    path == "/app/"
                } else {
                    path == s.href || path.starts_with(&format!("{}/", s.href))
                },
            }
        })
        .collect()
}

/// Whether `actor` may see the screen at `href` (for links inside pages).
pub fn may_open(actor: &Actor, href: &str) -> bool {
    SCREENS
        .iter()
        .find(|s| s.href == href)
        .is_some_and(|s| s.built && s.action.is_none_or(|a| actor.may(a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::{Role, StaffId};

    fn actor(role: Role) -> Actor {
        Actor {
            staff_id: StaffId::new(),
            role,
            store_id: None,
        }
    }

    #[test]
    fn each_role_sees_only_what_it_may_use() {
        for role in Role::ALL {
            for link in links(&actor(role), "/app/clients/x") {
                let screen = SCREENS.iter().find(|s| s.href == link.href).unwrap();
                assert!(screen.action.is_none_or(|a| shared::tenancy::role_allows(role, a)));
            }
        }
        let owner: Vec<&str> = links(&actor(Role::Owner), "/").iter().map(|l| l.href).collect();
        assert!(owner.contains(&"/app/clients"));
        let clients = links(&actor(Role::FrontDesk), "/app/clients/123");
        assert!(clients.iter().any(|l| l.href == "/app/clients" && l.current));
        assert!(clients.iter().all(|l| l.href != "/app/" || !l.current));
    }
}
