//! Login throttling: failed attempts are counted per account and per client
//! address in a fixed window; past the limit, login answers 429 with the
//! seconds until the window ends. Per instance (behind a load balancer the
//! effective limit is the sum over instances, still bounded).
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginThrottle {
    window: Duration,
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Duration::from_secs(300), 10, 50)
    }
}

impl LoginThrottle {
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self { window, per_account, per_address, failures: Mutex::new(HashMap::new()) }
    }

    fn keys(email: &str, address: &str) -> [(String, bool); 2] {
        [(format!("account:{}", email.trim().to_lowercase()), true), (format!("address:{address}"), false)]
    }

    /// `Some(seconds to wait)` when either key is over its limit.
    pub fn check(&self, email: &str, address: &str) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        Self::keys(email, address)
            .iter()
            .filter_map(|(key, account)| {
                let (start, count) = failures.get(key)?;
                let limit = if *account { self.per_account } else { self.per_address };
                let left = self.window.checked_sub(start.elapsed())?;
                (*count >= limit).then(|| left.as_secs().max(1))
            })
            .max()
    }

    pub fn failed(&self, email: &str, address: &str) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() > 100_000 {
            failures.retain(|_, (start, _)| start.elapsed() < self.window);
        }
        for (key, _) in Self::keys(email, address) {
            let entry = failures.entry(key).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= self.window {
                *entry = (Instant::now(), 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub fn succeeded(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("account:{}", email.trim().to_lowercase()));
        }
    }
}
