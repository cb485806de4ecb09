//! Rate limits on the doors an attacker knocks on: login and password-reset requests (per
//! account and per client address) and signup (per client address). In memory, per web
//! process (GCRA, `governor`): with N replicas behind a balancer the effective limit is up to N
//! times the setting (the README and the `SalonLoginThrottled` alert say so), which still
//! turns a password-guessing run of thousands per minute into tens. A refused attempt is a 429
//! with `Retry-After`, answered before the password is even looked at, so it tells nothing.
//!
//! Behind a proxy, the client's address is the rightmost address of `X-Forwarded-For` that no
//! trusted proxy added ([`forwarded_client`]); the leftmost is whatever the client wrote.

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

/// The client behind trusted proxies. `peer` is the proxy that connected to us (trusted, since
/// `TRUST_PROXY_HEADERS` is on); each proxy appends the address it was connected from, so the
/// list is read from the right, skipping addresses in `trusted` (proxies further out, such as a
/// CDN), and the first other address is the client's. Everything left of it was written by
/// the client and is ignored. `X-Forwarded-For` is read (all its headers, in order); without
/// it, the `for=` parameters of `Forwarded` (RFC 7239). An entry that is not an address (a
/// proxy's `unknown`, an obfuscated name) stops the walk at the last trusted hop; with no
/// header at all, or every entry trusted, the answer is the nearest address known.
pub fn forwarded_client(
    peer: IpAddr,
    x_forwarded_for: &[&str],
    forwarded: &[&str],
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let hops: Vec<&str> = if !x_forwarded_for.is_empty() {
        x_forwarded_for.iter().flat_map(|value| value.split(',')).collect()
    } else {
        forwarded
            .iter()
            .flat_map(|value| value.split([',', ';']))
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"'))
            })
            .collect()
    };
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match parse_address(hop) {
            Some(address) if trusted.iter().any(|network| network.contains(&address)) => nearest = address,
            Some(address) => return address,
            None => return nearest,
        }
    }
    nearest
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
    fn the_client_is_the_rightmost_untrusted_address() {
        let ip = |text: &str| -> IpAddr { text.parse().unwrap() };
        let peer = ip("10.1.1.1");
        let cdn: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:cd::/48".parse().unwrap()];
        /// X-Forwarded-For values, Forwarded values, trusted ranges, the client.
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [ipnet::IpNet], &'a str);
        let cases: [Case; 10] = [
            // No header: the connection.
            (&[], &[], &[], "10.1.1.1"),
            // The proxy appended the client; whatever the client wrote before it is ignored.
            (&["203.0.113.9"], &[], &[], "203.0.113.9"),
            (&["1.2.3.4, 203.0.113.9"], &[], &[], "203.0.113.9"),
            (&["1.2.3.4", "203.0.113.9"], &[], &[], "203.0.113.9"),
            // A trusted proxy further out is skipped.
            (&["1.2.3.4, 203.0.113.9, 10.2.3.4"], &[], &cdn, "203.0.113.9"),
            (&["1.2.3.4, 203.0.113.9, 10.2.3.4"], &[], &[], "10.2.3.4"),
            // Garbage stops at the last trusted hop; all trusted gives the leftmost.
            (&["1.2.3.4, unknown, 10.2.3.4"], &[], &cdn, "10.2.3.4"),
            (&["10.9.9.9, 10.2.3.4"], &[], &cdn, "10.9.9.9"),
            // Forwarded (RFC 7239) when there is no X-Forwarded-For.
            (
                &[],
                &["for=1.2.3.4, for=\"[2001:db8::1]:4711\";proto=https"],
                &[],
                "2001:db8::1",
            ),
            (&[], &["for=192.0.2.60;proto=http;by=203.0.113.43"], &[], "192.0.2.60"),
        ];
        for (xff, forwarded, trusted, client) in cases {
            assert_eq!(
                forwarded_client(peer, xff, forwarded, trusted),
                ip(client),
                "{xff:?} {forwarded:?} {trusted:?}"
            );
        }
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
