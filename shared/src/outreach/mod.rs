//! Outreach: the messages salon-crm sends on a salon's behalf, and the rules every one obeys.
//!
//! - [`settings`]: each tenant's automation rules (hours, caps, thresholds, provider).
//! - [`templates`]: what a message says, per kind, channel and locale.
//! - [`rules`]: consent, quiet hours, frequency cap, local-time arithmetic (pure, unit-tested).
//! - [`outbox`]: the message rows (written in the same transaction as the decision), their
//!   claiming and delivery bookkeeping.
//! - [`sweeps`]: the four automations, each a pass that turns due facts into outbox rows.

pub mod care_state;
pub mod decide;
pub mod handover;
pub mod optout;
pub mod outbox;
pub mod rules;
pub mod settings;
pub mod sweeps;
pub mod templates;

use crate::domain::Channel;

crate::domain::choices::choice!(
    /// Why a message exists. Birthday greetings and wake-ups are marketing (consent needed);
    /// surveys are service messages about a visit; alerts and escalations go to staff; so do
    /// the account messages (an invitation to choose a password, a password reset link).
    MessageKind {
        Birthday = "birthday",
        Survey = "survey",
        ComplaintAlert = "complaint_alert",
        Escalation = "escalation",
        WakeUp = "wake_up",
        StaffInvitation = "staff_invitation",
        PasswordReset = "password_reset",
    }
);

impl MessageKind {
    /// Marketing needs the client's consent, carries a way out and counts against the cap.
    pub fn is_marketing(self) -> bool {
        matches!(self, MessageKind::Birthday | MessageKind::WakeUp)
    }

    /// Messages to staff: exempt from consent, quiet hours and the frequency cap.
    pub fn is_staff_alert(self) -> bool {
        matches!(
            self,
            MessageKind::ComplaintAlert
                | MessageKind::Escalation
                | MessageKind::StaffInvitation
                | MessageKind::PasswordReset
        )
    }

    /// About a complaint: the client's name and what they said (readable by roles that may see
    /// complaints only).
    pub fn is_complaint_alert(self) -> bool {
        matches!(self, MessageKind::ComplaintAlert | MessageKind::Escalation)
    }

    /// A staff member's account (invitation, password reset): the platform's text with a
    /// password link, not a salon's template; email only.
    pub fn is_account(self) -> bool {
        matches!(self, MessageKind::StaffInvitation | MessageKind::PasswordReset)
    }

    /// The kinds salons write templates for.
    pub fn templated() -> impl Iterator<Item = MessageKind> {
        Self::ALL.iter().copied().filter(|kind| !kind.is_account())
    }

    /// Whether `actor` may read messages of this kind in the outbox: complaint alerts only
    /// with the right to see complaints, account messages only with the right to manage staff.
    pub fn readable_by(self, actor: &crate::tenancy::Actor) -> bool {
        use crate::tenancy::Action;
        if self.is_complaint_alert() {
            actor.may(Action::ViewComplaints)
        } else if self.is_account() {
            actor.may(Action::ManageStaff)
        } else {
            true
        }
    }
}

crate::domain::choices::choice!(
    /// Where a message is in its life. `pending`/`deferred` wait for their `next_attempt_at`,
    /// `sending` is claimed by a worker; the rest are final (a failed one can be retried).
    MessageStatus {
        Pending = "pending",
        Deferred = "deferred",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Suppressed = "suppressed",
        Cancelled = "cancelled",
    }
);

crate::domain::choices::choice!(
    /// Why a message was not sent (or, for `quiet_hours`, not yet). `day_passed`: the
    /// occasion's day ended before the message could go (a birthday greeting goes on the
    /// birthday or not at all: not the morning after quiet hours, not after an outage).
    SuppressionReason {
        NoConsent = "no_consent",
        OptedOut = "opted_out",
        NoContact = "no_contact",
        FrequencyCap = "frequency_cap",
        QuietHours = "quiet_hours",
        Erased = "erased",
        DayPassed = "day_passed",
    }
);

/// Both channels, for iterating over templates.
pub const CHANNELS: [Channel; 2] = [Channel::Sms, Channel::Email];

#[cfg(test)]
mod tests {
    use super::MessageKind;
    use crate::domain::{Role, StaffId, StoreId};
    use crate::tenancy::Actor;

    #[test]
    fn who_reads_which_messages() {
        let actor = |role| Actor {
            staff_id: StaffId::new(),
            role,
            store_id: Some(StoreId::new()).filter(|_| role != Role::Owner && role != Role::HqManager),
        };
        for (role, alerts, accounts) in [
            (Role::Owner, true, true),
            (Role::HqManager, true, true),
            (Role::StoreManager, true, true),
            (Role::FrontDesk, false, false),
            (Role::Beautician, false, false),
        ] {
            let who = actor(role);
            assert_eq!(MessageKind::ComplaintAlert.readable_by(&who), alerts, "{role:?}");
            assert_eq!(MessageKind::Escalation.readable_by(&who), alerts, "{role:?}");
            assert_eq!(MessageKind::StaffInvitation.readable_by(&who), accounts, "{role:?}");
            assert_eq!(MessageKind::PasswordReset.readable_by(&who), accounts, "{role:?}");
            assert!(MessageKind::Survey.readable_by(&who) && MessageKind::Birthday.readable_by(&who));
        }
        assert_eq!(MessageKind::templated().count(), 5);
    }
}
