//! Login throttling that slows guessing without locking owners out.
//!
//! Failed logins are counted in a fixed window under three keys:
//! - (account, address): past `per_pair`, that address may not try that
//!   account again until the window ends (429). The owner, from their own
//!   address, is not affected;
//! - address (an IPv6 client by its /64): past `per_address` failures, over
//!   any accounts, that address is refused (429). Only failures count, so a
//!   busy office behind one NAT is not blocked by its own sign-ins;
//! - account, over all addresses: past `per_pair`, every attempt at the
//!   account is answered after `account_delay`, right or wrong, which makes a
//!   spread-out guess slow while the owner still gets in.
//!
//! Per instance: behind a load balancer the effective limits are the sums
//! over instances, still bounded. The client address is the TCP peer, or
//! the forwarded one when the peer is a trusted proxy (`ALERTS_TRUSTED_PROXIES`).
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept at most: past this, expired entries are dropped, then arbitrary
/// ones, so a flood of addresses cannot grow memory.
const MAX_KEYS: usize = 100_000;

pub struct LoginThrottle {
    window: Duration,
    per_pair: u32,
    per_address: u32,
    account_delay: Duration,
    failures: Mutex<HashMap<Key, (Instant, u32)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, String),
    Address(String),
    Account(String),
}

/// What to do with a login attempt before checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Go,
    /// Answer only after this long (the account is under a spread-out attack).
    Slow(Duration),
    /// Refuse: 429 with this many seconds to wait.
    Refuse(u64),
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Duration::from_secs(300), 10, 50, Duration::from_secs(1))
    }
}

fn account(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An IPv6 host usually owns its whole /64: count it as one address.
fn address(raw: &str) -> String {
    match raw.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => raw.to_owned(),
    }
}

impl LoginThrottle {
    pub fn new(window: Duration, per_pair: u32, per_address: u32, account_delay: Duration) -> Self {
        Self { window, per_pair, per_address, account_delay, failures: Mutex::new(HashMap::new()) }
    }

    fn count(&self, failures: &HashMap<Key, (Instant, u32)>, key: &Key) -> Option<(u32, Duration)> {
        let (start, count) = failures.get(key)?;
        let left = self.window.checked_sub(start.elapsed())?;
        Some((*count, left))
    }

    pub fn check(&self, email: &str, client: &str) -> Verdict {
        let Ok(failures) = self.failures.lock() else { return Verdict::Go };
        let (account, address) = (account(email), address(client));
        let refusals =
            [(Key::Pair(account.clone(), address.clone()), self.per_pair), (Key::Address(address), self.per_address)];
        let wait = refusals
            .iter()
            .filter_map(|(key, limit)| self.count(&failures, key).filter(|(n, _)| n >= limit))
            .map(|(_, left)| left.as_secs().max(1))
            .max();
        if let Some(wait) = wait {
            return Verdict::Refuse(wait);
        }
        match self.count(&failures, &Key::Account(account)) {
            Some((n, _)) if n >= self.per_pair => Verdict::Slow(self.account_delay),
            _ => Verdict::Go,
        }
    }

    pub fn failed(&self, email: &str, client: &str) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, (start, _)| start.elapsed() < self.window);
            while failures.len() >= MAX_KEYS - 3 {
                let Some(any) = failures.keys().next().cloned() else { break };
                failures.remove(&any);
            }
        }
        let (account, address) = (account(email), address(client));
        for key in [Key::Pair(account.clone(), address.clone()), Key::Address(address), Key::Account(account)] {
            let entry = failures.entry(key).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= self.window {
                *entry = (Instant::now(), 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }

    /// A successful login clears that address's count for the account (not
    /// the address's own count, nor the account-wide one).
    pub fn succeeded(&self, email: &str, client: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&Key::Pair(account(email), address(client)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(Duration::from_secs(300), 3, 5, Duration::from_millis(10))
    }

    #[test]
    fn an_attacker_is_refused_and_the_owner_is_only_slowed() {
        let t = throttle();
        for _ in 0..3 {
            t.failed("Owner@Example.com", "203.0.113.9");
        }
        assert!(matches!(t.check("owner@example.com", "203.0.113.9"), Verdict::Refuse(1..=300)));
        assert_eq!(t.check("owner@example.com", "198.51.100.2"), Verdict::Slow(Duration::from_millis(10)));
        assert_eq!(t.check("other@example.com", "203.0.113.9"), Verdict::Go);
        t.failed("other@example.com", "203.0.113.9");
        t.failed("third@example.com", "203.0.113.9");
        assert!(matches!(t.check("fourth@example.com", "203.0.113.9"), Verdict::Refuse(_)), "address limit");
        assert_eq!(t.check("fourth@example.com", "198.51.100.2"), Verdict::Go);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let t = throttle();
        for i in 0..5 {
            t.failed(&format!("u{i}@example.com"), &format!("2001:db8:1:2::{i}"));
        }
        assert!(matches!(t.check("x@example.com", "2001:db8:1:2:ffff::1"), Verdict::Refuse(_)));
        assert_eq!(t.check("x@example.com", "2001:db8:1:3::1"), Verdict::Go);
    }

    #[test]
    fn memory_is_bounded() {
        let t = throttle();
        for i in 0..(MAX_KEYS as u32 / 3 + 10) {
            t.failed(&format!("u{i}@example.com"), &std::net::Ipv4Addr::from(i).to_string());
        }
        assert!(t.failures.lock().map(|f| f.len()).unwrap_or(usize::MAX) <= MAX_KEYS);
    }
}
