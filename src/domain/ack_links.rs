//! One-tap acknowledge links for email and SMS (SPEC 9): `/ack/{token}`,
//! the token bound to one recipient's alert and signed with a key derived
//! from the service secret for this use only (so a sign-in token is never an
//! ack token, nor the reverse), expiring with the alert. Single use is kept
//! by the alert row (`ack_link_used_at`), not by the token.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::auth::Secret;

/// Longer than any token this service signs: refused before any work.
pub const MAX_TOKEN_CHARS: usize = 200;
/// How long a link to an alert that never expires stays good.
pub const DEFAULT_LIFETIME: TimeDelta = TimeDelta::days(7);

pub struct AckLinks {
    key: [u8; 32],
}

/// Why a link does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not signed by this service, altered, or malformed.
    Invalid,
    Expired,
}

impl AckLinks {
    pub fn new(secret: &Secret) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"convergeai-alerts ack link v1");
        Self { key: mac.finalize().into_bytes().into() }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(payload.as_bytes());
        mac
    }

    /// `alert.staff.expiry.signature`: digits, dots and base64url, safe in a URL path.
    pub fn sign(&self, alert_id: i64, staff_id: i64, expires: DateTime<Utc>) -> String {
        let payload = format!("{alert_id}.{staff_id}.{}", expires.timestamp());
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The (alert, recipient) a token names, if this service signed it and it has not expired.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<(i64, i64), LinkError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(LinkError::Invalid);
        }
        let (payload, signature) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| LinkError::Invalid)?;
        // Constant-time comparison.
        self.mac(payload).verify_slice(&signature).map_err(|_| LinkError::Invalid)?;
        let mut parts = payload.split('.').map(str::parse::<i64>);
        let (Some(Ok(alert)), Some(Ok(staff)), Some(Ok(expires)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        if expires <= now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok((alert, staff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> AckLinks {
        AckLinks::new(&Secret::new("a-test-secret-of-at-least-32-characters!"))
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let now = Utc::now();
        let token = links().sign(42, 7, now + TimeDelta::hours(1));
        assert_eq!(links().verify(&token, now), Ok((42, 7)));
        assert_eq!(links().verify(&token, now + TimeDelta::hours(2)), Err(LinkError::Expired));
    }

    #[test]
    fn any_change_or_another_key_is_refused() {
        let now = Utc::now();
        let token = links().sign(42, 7, now + TimeDelta::hours(1));
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
            let altered = String::from_utf8(bytes).unwrap();
            assert_eq!(links().verify(&altered, now), Err(LinkError::Invalid), "{altered}");
        }
        let other = AckLinks::new(&Secret::new("another-secret-of-at-least-32-characters"));
        assert_eq!(other.verify(&token, now), Err(LinkError::Invalid));
        assert_eq!(links().verify("", now), Err(LinkError::Invalid));
        assert_eq!(links().verify(&"1.".repeat(150), now), Err(LinkError::Invalid));
    }
}
