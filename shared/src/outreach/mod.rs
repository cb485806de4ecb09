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
    /// surveys are service messages about a visit; alerts and escalations go to staff.
    MessageKind {
        Birthday = "birthday",
        Survey = "survey",
        ComplaintAlert = "complaint_alert",
        Escalation = "escalation",
        WakeUp = "wake_up",
    }
);

impl MessageKind {
    /// Marketing needs the client's consent, carries a way out and counts against the cap.
    pub fn is_marketing(self) -> bool {
        matches!(self, MessageKind::Birthday | MessageKind::WakeUp)
    }

    /// Messages to staff: exempt from quiet hours and the frequency cap.
    pub fn is_staff_alert(self) -> bool {
        matches!(self, MessageKind::ComplaintAlert | MessageKind::Escalation)
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
