//! Rate limits on the doors an attacker knocks on: login (per account and per client address)
//! and signup (per client address). In memory, per web process (GCRA, `governor`): with N
//! replicas the effective limit is up to N times the setting, which still turns a password-
//! guessing run of thousands per minute into tens. A refused attempt is a 429 with
//! `Retry-After`, answered before the password is even looked at, so it tells nothing.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Limits {
    by_account: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    checks: AtomicU64,
}

/// Forget keys that are back to a full allowance every this many checks, so that a flood of
/// made-up email addresses or addresses cannot grow the maps without bound.
const SWEEP_EVERY: u64 = 4096;

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(per_account_per_minute: u32, per_address_per_minute: u32) -> Self {
        Limits {
            by_account: RateLimiter::keyed(per_minute(per_account_per_minute)),
            by_address: RateLimiter::keyed(per_minute(per_address_per_minute)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// A login attempt for `email` from `address`: `Err(wait)` when either limit is spent.
    pub fn login(&self, address: IpAddr, email: &str) -> Result<(), Duration> {
        self.tidy();
        self.address(address)?;
        let account = shared::domain::EmailAddress::canonical(email);
        self.by_account
            .check_key(&account)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// A signup from `address`.
    pub fn signup(&self, address: IpAddr) -> Result<(), Duration> {
        self.tidy();
        self.address(address)
    }

    fn address(&self, address: IpAddr) -> Result<(), Duration> {
        self.by_address
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn tidy(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.by_account.retain_recent();
            self.by_account.shrink_to_fit();
            self.by_address.retain_recent();
            self.by_address.shrink_to_fit();
        }
    }
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:51234`, `[2001:db8::1]:443`,
/// `2001:db8::1`.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    text.parse::<std::net::SocketAddr>().ok().map(|socket| socket.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_whatever_the_address_and_case() {
        let limits = Limits::new(3, 100);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.login(a, "Li@Example.com").is_ok());
        assert!(limits.login(b, "li@example.com ").is_ok());
        assert!(limits.login(a, "LI@EXAMPLE.COM").is_ok());
        let wait = limits.login(b, "li@example.com").unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another account is not affected.
        assert!(limits.login(a, "wang@example.com").is_ok());
    }

    #[test]
    fn addresses_as_proxies_write_them() {
        assert_eq!(parse_address("203.0.113.7"), "203.0.113.7".parse().ok());
        assert_eq!(parse_address(" 203.0.113.7:51234"), "203.0.113.7".parse().ok());
        assert_eq!(parse_address("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(parse_address("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_address("unknown"), None);
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_signups() {
        let limits = Limits::new(100, 3);
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(limits.login(a, "one@example.com").is_ok());
        assert!(limits.login(a, "two@example.com").is_ok());
        assert!(limits.signup(a).is_ok());
        assert!(limits.signup(a).is_err());
        assert!(limits.login(a, "three@example.com").is_err());
        assert!(limits.signup("192.0.2.8".parse().unwrap()).is_ok());
    }
}
