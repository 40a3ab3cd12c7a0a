//! Alert analytics (`GET /alerts/stats`): counts, a per-day series, read and
//! dismiss rates, time to read and dismiss, per-staff figures. `alerts.manage`
//! sees everyone; others see their own figures only.
use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Principal;
use super::vocab;
use super::{App, DomainError, DomainResult};
use crate::storage::stats::{self as store, Window};

/// The longest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 366;

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `all` for `alerts.manage`, else `own`.
    pub scope: &'static str,
    pub total: i64,
    pub by_type: BTreeMap<String, i64>,
    pub by_severity: BTreeMap<String, i64>,
    /// One entry per UTC day of the range, zeros included.
    pub per_day: Vec<DayCount>,
    /// Share of the alerts that were read / dismissed (0 when there are none).
    pub read_rate: f64,
    pub dismiss_rate: f64,
    pub time_to_read_seconds: Percentiles,
    pub time_to_dismiss_seconds: Percentiles,
    pub per_staff: Vec<StaffStats>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC)
    pub date: String,
    pub total: i64,
    pub info: i64,
    pub warning: i64,
    pub critical: i64,
}

/// Nearest-rank percentiles (null without data), exact below 10 minutes and
/// to 10 s, 5 min and 1 h in longer ranges.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct Percentiles {
    pub p50: Option<i64>,
    pub p90: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffStats {
    pub staff_id: i64,
    pub full_name: String,
    pub alerts: i64,
    pub unread: i64,
    pub median_time_to_read_seconds: Option<i64>,
}

/// Nearest-rank percentile `p` (0..1] of a histogram sorted by value.
fn percentile(histogram: &[(i64, i64)], p: f64) -> Option<i64> {
    let n: i64 = histogram.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let rank = ((p * n as f64).ceil() as i64).max(1);
    let mut seen = 0;
    for (value, count) in histogram {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.last().map(|(v, _)| *v)
}

fn percentiles(histogram: &[(i64, i64)]) -> Percentiles {
    Percentiles { p50: percentile(histogram, 0.5), p90: percentile(histogram, 0.9) }
}

pub async fn compute(
    app: &App,
    caller: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> DomainResult<Stats> {
    let now = app.clock.now();
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - TimeDelta::days(30));
    if from >= to {
        return Err(DomainError::invalid("from", "must be before to"));
    }
    if to - from > TimeDelta::days(MAX_RANGE_DAYS) {
        return Err(DomainError::invalid("to", format!("the range may span at most {MAX_RANGE_DAYS} days")));
    }
    let everyone = caller.can("alerts.manage");
    let w = Window { from, to, staff_id: (!everyone).then_some(caller.staff_id) };
    let db = &app.db;

    // Independent statements, each on its own pooled connection: they run at
    // once (SQLite in WAL mode reads concurrently too).
    let (groups, read_histogram, dismiss_histogram, staff_rows) = tokio::try_join!(
        store::groups(db, &w),
        store::latency_histogram(db, &w, "read_at", true),
        store::latency_histogram(db, &w, "dismissed_at", false),
        store::per_staff(db, &w, now),
    )?;

    let zeros = |names: &[&str]| names.iter().map(|n| ((*n).to_owned(), 0)).collect::<BTreeMap<String, i64>>();
    let mut by_type = zeros(&vocab::ALERT_TYPES);
    let mut by_severity = zeros(&vocab::SEVERITIES);
    let mut days: BTreeMap<String, DayCount> = BTreeMap::new();
    let mut day = from.date_naive();
    while day <= (to - TimeDelta::microseconds(1)).date_naive() {
        let date = day.format("%Y-%m-%d").to_string();
        days.insert(date.clone(), DayCount { date, total: 0, info: 0, warning: 0, critical: 0 });
        day = day.succ_opt().unwrap_or(day);
        if days.len() > MAX_RANGE_DAYS as usize + 1 {
            break;
        }
    }
    let (mut total, mut read, mut dismissed) = (0, 0, 0);
    for g in groups {
        total += g.alerts;
        read += g.read;
        dismissed += g.dismissed;
        *by_type.entry(g.alert_type).or_default() += g.alerts;
        if let Some(d) = days.get_mut(&g.day) {
            d.total += g.alerts;
            match g.severity.as_str() {
                "info" => d.info += g.alerts,
                "warning" => d.warning += g.alerts,
                _ => d.critical += g.alerts,
            }
        }
        *by_severity.entry(g.severity).or_default() += g.alerts;
    }

    // Everyone's time to read is the sum of the per-staff histograms.
    let mut read_by_staff: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    let mut read_overall: BTreeMap<i64, i64> = BTreeMap::new();
    for (staff, bucket, n) in read_histogram {
        read_by_staff.entry(staff).or_default().push((bucket, n));
        *read_overall.entry(bucket).or_default() += n;
    }
    let time_to_read = percentiles(&read_overall.into_iter().collect::<Vec<_>>());
    let time_to_dismiss = percentiles(&dismiss_histogram.into_iter().map(|(_, b, n)| (b, n)).collect::<Vec<_>>());
    let per_staff = staff_rows
        .into_iter()
        .map(|(staff_id, full_name, alerts, unread)| StaffStats {
            staff_id,
            full_name,
            alerts,
            unread,
            median_time_to_read_seconds: read_by_staff.get(&staff_id).and_then(|h| percentile(h, 0.5)),
        })
        .collect();

    let rate = |part: i64| if total == 0 { 0.0 } else { part as f64 / total as f64 };
    Ok(Stats {
        from,
        to,
        scope: if everyone { "all" } else { "own" },
        total,
        by_type,
        by_severity,
        per_day: days.into_values().collect(),
        read_rate: rate(read),
        dismiss_rate: rate(dismissed),
        time_to_read_seconds: time_to_read,
        time_to_dismiss_seconds: time_to_dismiss,
        per_staff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let h = [(60, 1), (120, 1), (180, 1), (240, 1), (300, 1), (600, 1), (900, 1), (1200, 1), (3000, 1), (7200, 1)];
        assert_eq!(percentiles(&h), Percentiles { p50: Some(300), p90: Some(3000) });
        assert_eq!(percentiles(&[]), Percentiles { p50: None, p90: None });
        assert_eq!(percentiles(&[(5, 1)]), Percentiles { p50: Some(5), p90: Some(5) });
        assert_eq!(percentiles(&[(10, 9), (99, 1)]), Percentiles { p50: Some(10), p90: Some(10) });
    }
}
