use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// A staff member's role. HQ roles see every store; store roles work in one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    HqManager,
    StoreManager,
    FrontDesk,
    Beautician,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::HqManager,
        Role::StoreManager,
        Role::FrontDesk,
        Role::Beautician,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::HqManager => "hq_manager",
            Role::StoreManager => "store_manager",
            Role::FrontDesk => "front_desk",
            Role::Beautician => "beautician",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "unknown_role",
                    "must be one of: owner, hq_manager, store_manager, front_desk, beautician",
                )
            })
    }

    /// Store roles belong to one store and need it; HQ roles must not have one.
    pub fn works_in_a_store(self) -> bool {
        matches!(self, Role::StoreManager | Role::FrontDesk | Role::Beautician)
    }

    pub fn from_db(text: &str) -> Result<Self, crate::Error> {
        Role::parse(text).map_err(|_| crate::Error::Internal(format!("unknown role {text:?} in the database")))
    }
}
