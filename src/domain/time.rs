//! The range of timestamps the service takes from a client. chrono parses
//! years from -262143 to +262142; date arithmetic near those ends panics or
//! stops moving (`succ_opt` at the last date), so every client timestamp is
//! checked against this range where it enters the domain.
use chrono::{DateTime, NaiveDate, Utc};

use super::{DomainError, DomainResult};

/// 1970-01-01T00:00:00Z.
pub const EARLIEST: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

/// 9999-12-31T23:59:59.999999Z: four-digit years, what every backend stores.
pub fn latest() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .map_or(EARLIEST, |t| t.and_utc())
}

/// `value`, or a 422 naming `field` when it lies outside [`EARLIEST`, `latest()`].
pub fn check(field: &str, value: DateTime<Utc>) -> DomainResult<DateTime<Utc>> {
    if value < EARLIEST || value > latest() {
        return Err(DomainError::invalid(field, "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_the_extremes_are_refused() {
        assert!(check("t", EARLIEST).is_ok());
        assert!(check("t", latest()).is_ok());
        assert!(check("t", EARLIEST - chrono::TimeDelta::microseconds(1)).is_err());
        assert!(check("t", latest() + chrono::TimeDelta::microseconds(1)).is_err());
        assert!(check("t", DateTime::<Utc>::MAX_UTC).is_err());
        assert!(check("t", DateTime::<Utc>::MIN_UTC).is_err());
        assert_eq!(latest().to_rfc3339(), "9999-12-31T23:59:59.999999+00:00");
    }
}
