//! Values that cannot hold invalid data. Each is parsed once, at the edge, and carried as is.

mod email;
mod ids;
mod locale;
mod password;
mod quiet_hours;
mod role;
mod text;
mod timezone;

pub use email::EmailAddress;
pub use ids::{SessionId, StaffId, StoreId, TenantId};
pub use locale::Locale;
pub use password::{Password, PasswordHash};
pub use quiet_hours::QuietHours;
pub use role::Role;
pub use text::{Name, PhoneText, Text};
pub use timezone::TimeZone;
