//! Delivery: hands one rendered message to a channel (SMTP or an SMS provider's HTTP API) and
//! classifies what came back, so the outbox can record it (sent, retry later, failed).
//!
//! The outbox bookkeeping (claiming, attempts, backoff) lives in `crate::outbox`; this module
//! only talks to the outside world.

pub mod email;
pub mod sms;

use std::time::Duration;

/// What one attempt to hand a message over produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted by the provider (or the SMTP server), with its id when it gives one.
    Sent { provider_message_id: Option<String> },
    /// Worth retrying later: connect errors, timeouts, 429, 5xx, throttling codes, SMTP 4xx.
    /// `retry_after` is the provider's own hint (e.g. HTTP `Retry-After`), when it gave one.
    Transient {
        code: Option<String>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as is: invalid number, recipient unsubscribed at the provider,
    /// SMTP 5xx for the recipient, bad credentials or a rejected signature.
    Permanent { code: Option<String>, error: String },
    /// Not handed over: the worker began stopping while this message waited for its turn
    /// (a free connection to the provider). Nothing was attempted; the message goes back to
    /// the outbox as it was.
    Withheld,
}

impl SendOutcome {
    /// A short, stable label for metrics (`provider errors by code`).
    pub fn code(&self) -> Option<&str> {
        match self {
            SendOutcome::Sent { .. } | SendOutcome::Withheld => None,
            SendOutcome::Transient { code, .. } | SendOutcome::Permanent { code, .. } => code.as_deref(),
        }
    }
}
