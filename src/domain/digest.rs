//! Digests (SPEC 10): a subscription in `hourly` or `daily` mode gathers its
//! email and SMS into one message per channel per window, sent when the
//! window ends. A window is a local hour of the person's zone, or the day
//! up to their `daily_at`. Its end is what ties the alerts of one window
//! together: every dispatcher computes the same end from the same clock
//! reading's window, and the outbox keeps one summary row per (person,
//! channel, end), so racing dispatchers make one digest.
use chrono::{DateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::vocab::DeliveryMode;
use super::{DomainError, DomainResult};

/// A subscription's digest, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Hourly,
    /// Once a day at this local time.
    Daily(NaiveTime),
}

impl Digest {
    /// The digest of a stored subscription (`None`: instant, or stored invalid by hand).
    pub fn of(mode: &str, daily_at: Option<&str>) -> Option<Digest> {
        match DeliveryMode::from_name(mode)? {
            DeliveryMode::Instant => None,
            DeliveryMode::Hourly => Some(Digest::Hourly),
            DeliveryMode::Daily => Some(Digest::Daily(parse_time(daily_at?)?)),
        }
    }

    /// What `deferred_for` records for the rows this digest carries.
    pub fn name(self) -> &'static str {
        match self {
            Digest::Hourly => DeliveryMode::Hourly.as_str(),
            Digest::Daily(_) => DeliveryMode::Daily.as_str(),
        }
    }

    /// The end of the window that holds `now`, in `zone`: the next local
    /// full hour, or the next `daily_at`, strictly after `now`.
    pub fn window_end(self, zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Digest::Hourly => next_local_hour(zone, now),
            Digest::Daily(at) => next_local_time(zone, now, at),
        }
    }
}

/// Validates a subscription's mode and `daily_at` (`HH:MM`, only with `daily`, which needs it).
pub fn validate(mode: DeliveryMode, daily_at: Option<&str>) -> DomainResult<Option<String>> {
    match (mode, daily_at) {
        (DeliveryMode::Daily, None) => Err(DomainError::invalid(
            "daily_at",
            "is required with delivery_mode daily: the local time, e.g. \"08:30\"",
        )),
        (DeliveryMode::Daily, Some(raw)) => match parse_time(raw) {
            Some(t) => Ok(Some(t.format("%H:%M").to_string())),
            None => {
                Err(DomainError::invalid("daily_at", "must be a local time HH:MM from 00:00 to 23:59, e.g. \"08:30\""))
            }
        },
        (_, Some(_)) => Err(DomainError::invalid("daily_at", "applies only to delivery_mode daily")),
        (_, None) => Ok(None),
    }
}

/// `HH:MM`, two digits each.
fn parse_time(raw: &str) -> Option<NaiveTime> {
    let bytes = raw.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return None;
    }
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

/// The next full hour of `zone`'s clock after `now` (zones half an hour off
/// UTC have theirs at :30 UTC).
fn next_local_hour(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let offset = i64::from(zone.offset_from_utc_datetime(&now.naive_utc()).fix().local_minus_utc());
    let local = now.timestamp() + offset;
    let next = (local.div_euclid(3600) + 1) * 3600 - offset;
    DateTime::from_timestamp(next, 0).unwrap_or(now + TimeDelta::hours(1))
}

/// The next `at` of `zone`'s clock after `now`: the earlier of two in a
/// repeated hour, an hour later in a skipped one.
fn next_local_time(zone: Tz, now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let mut date = now.with_timezone(&zone).date_naive();
    for _ in 0..3 {
        let local = date.and_time(at);
        let candidate = zone
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(local + TimeDelta::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc));
        if let Some(t) = candidate.filter(|t| *t > now) {
            return t;
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    now + TimeDelta::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn hourly_windows_end_at_the_local_full_hour() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(Digest::Hourly.window_end(berlin, utc("2026-12-07T10:15:00Z")), utc("2026-12-07T11:00:00Z"));
        assert_eq!(Digest::Hourly.window_end(berlin, utc("2026-12-07T11:00:00Z")), utc("2026-12-07T12:00:00Z"));
        // +05:30: local hours are at :30 UTC.
        assert_eq!(Digest::Hourly.window_end(kolkata, utc("2026-12-07T10:15:00Z")), utc("2026-12-07T10:30:00Z"));
        assert_eq!(Digest::Hourly.window_end(kolkata, utc("2026-12-07T10:45:00Z")), utc("2026-12-07T11:30:00Z"));
        // Across the spring change (02:00 CET → 03:00 CEST at 01:00 UTC).
        assert_eq!(Digest::Hourly.window_end(berlin, utc("2026-03-29T00:30:00Z")), utc("2026-03-29T01:00:00Z"));
        assert_eq!(Digest::Hourly.window_end(berlin, utc("2026-03-29T01:30:00Z")), utc("2026-03-29T02:00:00Z"));
    }

    #[test]
    fn daily_windows_end_at_the_local_time_across_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let eight = Digest::Daily(NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        // Winter: 08:00 Berlin is 07:00 UTC; before it, today's; after it, tomorrow's.
        assert_eq!(eight.window_end(berlin, utc("2026-12-07T06:59:00Z")), utc("2026-12-07T07:00:00Z"));
        assert_eq!(eight.window_end(berlin, utc("2026-12-07T07:00:00Z")), utc("2026-12-08T07:00:00Z"));
        // The night of the spring change: Sunday's 08:00 is already summer time.
        assert_eq!(eight.window_end(berlin, utc("2026-03-28T22:00:00Z")), utc("2026-03-29T06:00:00Z"));
        // A time the spring change skips (02:30) is an hour later; one the autumn change repeats, the earlier.
        let half_two = Digest::Daily(NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(half_two.window_end(berlin, utc("2026-03-28T23:00:00Z")), utc("2026-03-29T01:30:00Z"));
        assert_eq!(half_two.window_end(berlin, utc("2026-10-24T23:00:00Z")), utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn stored_modes_and_validation() {
        assert_eq!(Digest::of("instant", None), None);
        assert_eq!(Digest::of("hourly", None), Some(Digest::Hourly));
        assert_eq!(Digest::of("daily", Some("07:45")), Some(Digest::Daily(NaiveTime::from_hms_opt(7, 45, 0).unwrap())));
        assert_eq!(Digest::of("daily", None), None, "stored invalid by hand: instant");
        assert_eq!(validate(DeliveryMode::Daily, Some("08:30")).unwrap(), Some("08:30".into()));
        for bad in ["8:30", "24:00", "08:60", "08:30:00", "noon", ""] {
            assert!(validate(DeliveryMode::Daily, Some(bad)).is_err(), "{bad}");
        }
        assert!(validate(DeliveryMode::Daily, None).is_err());
        assert!(validate(DeliveryMode::Hourly, Some("08:30")).is_err());
        assert_eq!(validate(DeliveryMode::Instant, None).unwrap(), None);
    }
}
