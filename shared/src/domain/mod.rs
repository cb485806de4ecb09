//! Values that cannot hold invalid data. Each is parsed once, at the edge, and carried as is.

mod birthday;
pub(crate) mod choices;
mod email;
mod ids;
mod locale;
mod money;
mod password;
mod phone;
mod quiet_hours;
mod role;
mod text;
mod timezone;

pub use birthday::Birthday;
pub use choices::{Channel, Gender, PaymentMethod};
pub use email::EmailAddress;
pub use ids::{
    AuditId, ClientId, ComplaintId, ExportId, MessageId, ServiceId, SessionId, StaffId, StoreId, SurveyId, TenantId,
    VisitId,
};
pub use locale::Locale;
pub use money::parse_amount;
pub use password::{Password, PasswordHash};
pub use phone::Phone;
pub use quiet_hours::QuietHours;
pub use role::Role;
pub use text::{Name, PhoneText, Text};
pub use timezone::TimeZone;
