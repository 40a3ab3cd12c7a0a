//! Alert analytics (`GET /alerts/stats`): counts, a per-day series, read and
//! dismiss rates, time to read and dismiss, per-staff figures. `alerts.manage`
//! sees everyone, `alerts.team` (supervisors) their team; others see their
//! own figures only.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Principal;
use super::vocab::{AlertType, Severity};
use super::{App, DomainError, DomainResult};
use crate::storage::stats::{self as store, Latency, Window};
use sea_orm::DbErr;

/// The longest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 366;

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The IANA zone whose days `per_day` counts.
    pub time_zone: String,
    /// `all` for `alerts.manage`; `team` for `alerts.team` (a supervisor:
    /// the staff they supervise, and themselves); else `own`.
    pub scope: &'static str,
    pub total: i64,
    pub by_type: BTreeMap<String, i64>,
    pub by_severity: BTreeMap<String, i64>,
    /// One entry per day of the range in `time_zone`, zeros included.
    pub per_day: Vec<DayCount>,
    /// Share of the alerts that were read / dismissed (0 when there are none).
    pub read_rate: f64,
    pub dismiss_rate: f64,
    pub time_to_read_seconds: Percentiles,
    pub time_to_dismiss_seconds: Percentiles,
    /// From an event's start to its acknowledgement (events started in the window).
    pub time_to_acknowledge_seconds: Percentiles,
    /// The same per alert type (types with acknowledged events).
    pub time_to_acknowledge_by_type: BTreeMap<String, Percentiles>,
    /// How many events reached each escalation step (`"1"`, `"2"`, …).
    pub events_by_escalation_step: BTreeMap<String, i64>,
    pub per_staff: Vec<StaffStats>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD` in the stats' `time_zone`
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
    /// Events they acknowledged, and their median time to do it.
    pub acknowledged: i64,
    pub median_time_to_acknowledge_seconds: Option<i64>,
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

/// The window's counts by (day, type, severity) and per staff member. Whole
/// hours come from the rollups (a few thousand rows however many alerts),
/// the minutes at either edge from `alerts`. One staff member's own figures
/// come from `alerts` alone: their index bounds them to their own alerts.
async fn counts(db: &crate::storage::Db, w: &Window) -> Result<(Vec<store::Group>, BTreeMap<i64, i64>), DbErr> {
    let mut groups = Vec::new();
    let mut staff: BTreeMap<i64, i64> = BTreeMap::new();
    let mut add = |g: Vec<store::Group>, s: Vec<(i64, i64)>, groups: &mut Vec<store::Group>| {
        groups.extend(g);
        for (id, n) in s {
            *staff.entry(id).or_default() += n;
        }
    };
    match whole_hours(w) {
        Some((first, last)) => {
            let edge = |from: DateTime<Utc>, to: DateTime<Utc>| Window { from, to, staff: w.staff.clone() };
            let hour = |h: i64| DateTime::<Utc>::UNIX_EPOCH + TimeDelta::hours(h);
            let (head, tail) = (edge(w.from, hour(first)), edge(hour(last), w.to));
            let (hourly, hourly_staff, head_groups, head_staff, tail_groups, tail_staff) = tokio::try_join!(
                store::hourly_groups(db, first, last),
                store::hourly_staff_counts(db, first, last),
                store::groups(db, &head),
                store::staff_counts(db, &head),
                store::groups(db, &tail),
                store::staff_counts(db, &tail),
            )?;
            add(hourly, hourly_staff, &mut groups);
            add(head_groups, head_staff, &mut groups);
            add(tail_groups, tail_staff, &mut groups);
        }
        None => {
            let (g, s) = tokio::try_join!(store::groups(db, w), store::staff_counts(db, w))?;
            add(g, s, &mut groups);
        }
    }
    Ok((groups, staff))
}

/// The whole hours [first, last) inside an everyone-window (hours since the
/// Unix epoch), if there is at least one.
fn whole_hours(w: &Window) -> Option<(i64, i64)> {
    if w.staff.is_some() {
        return None;
    }
    let from_secs = w.from.timestamp() + i64::from(w.from.timestamp_subsec_nanos() > 0);
    let first = (from_secs + 3599).div_euclid(3600);
    let last = w.to.timestamp().div_euclid(3600);
    (first < last).then_some((first, last))
}

pub async fn compute(
    app: &App,
    caller: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    time_zone: Option<&str>,
) -> DomainResult<Stats> {
    let now = app.clock.now();
    // The reader's days: the zone asked for, else theirs, else the organisation's.
    let zone = match time_zone {
        Some(zone) => super::staff::check_time_zone("time_zone", zone)?,
        None => match caller.staff() {
            Some(id) => crate::storage::staff::by_id(&app.db, id).await?.and_then(|s| s.time_zone).unwrap_or_default(),
            None => String::new(),
        },
    };
    let zone: Tz = zone.parse().unwrap_or(app.time_zone);
    // Checked before any arithmetic: near chrono's ends it panics or stops moving.
    let to = super::time::check("to", to.unwrap_or(now))?;
    let from = match from {
        Some(from) => super::time::check("from", from)?,
        None => to.checked_sub_signed(TimeDelta::days(30)).unwrap_or(super::time::EARLIEST),
    };
    if from >= to {
        return Err(DomainError::invalid("from", "must be before to"));
    }
    if to - from > TimeDelta::days(MAX_RANGE_DAYS) {
        return Err(DomainError::invalid("to", format!("the range may span at most {MAX_RANGE_DAYS} days")));
    }
    let (scope, staff) = if caller.can("alerts.manage") {
        ("all", None)
    } else if caller.can("alerts.team") {
        ("team", Some(super::staff::team_of(app, caller.staff_id()?).await?))
    } else {
        ("own", Some(vec![caller.staff_id()?]))
    };
    let w = Window { from, to, staff };
    let db = &app.db;

    // Independent statements, each on its own pooled connection: they run at
    // once (SQLite in WAL mode reads concurrently too).
    let (counts, read_histogram, dismiss_histogram, medians, unread, acks, steps) = tokio::try_join!(
        counts(db, &w),
        store::latency_histogram(db, &w, Latency::Read),
        store::latency_histogram(db, &w, Latency::Dismiss),
        store::median_read_by_staff(db, &w),
        store::unread_by_staff(db, &w, now),
        store::acknowledgement_histogram(db, &w),
        store::events_by_step(db, &w),
    )?;
    let acks = Acknowledgements::of(&acks);
    let (groups, staff_alerts) = counts;
    let mut staff_ids: Vec<i64> = staff_alerts.keys().copied().collect();
    staff_ids.sort_unstable();
    let names: HashMap<i64, String> = crate::storage::staff::names(db, &staff_ids).await?.into_iter().collect();

    let zeros = |names: &[&str]| names.iter().map(|n| ((*n).to_owned(), 0)).collect::<BTreeMap<String, i64>>();
    let mut by_type = zeros(AlertType::NAMES);
    let mut by_severity = zeros(Severity::NAMES);
    let mut days = empty_days(from, to, zone);
    let (mut total, mut read, mut dismissed) = (0, 0, 0);
    for g in groups {
        total += g.alerts;
        read += g.read;
        dismissed += g.dismissed;
        *by_type.entry(g.alert_type).or_default() += g.alerts;
        if let Some(d) = days.get_mut(&local_day(g.hour, zone)) {
            d.total += g.alerts;
            match Severity::from_name(&g.severity) {
                Some(Severity::Info) => d.info += g.alerts,
                Some(Severity::Warning) => d.warning += g.alerts,
                Some(Severity::Critical) => d.critical += g.alerts,
                // Counted in `total` and `by_severity` under its own name, but no column of the series.
                None => {}
            }
        }
        *by_severity.entry(g.severity).or_default() += g.alerts;
    }

    let time_to_read = percentiles(&read_histogram);
    let time_to_dismiss = percentiles(&dismiss_histogram);
    let medians: HashMap<i64, i64> = medians.into_iter().collect();
    let unread: HashMap<i64, i64> = unread.into_iter().collect();
    let mut per_staff: Vec<StaffStats> = staff_alerts
        .into_iter()
        .filter(|(_, alerts)| *alerts > 0)
        .map(|(staff_id, alerts)| StaffStats {
            staff_id,
            full_name: names.get(&staff_id).cloned().unwrap_or_default(),
            alerts,
            unread: unread.get(&staff_id).copied().unwrap_or(0),
            median_time_to_read_seconds: medians.get(&staff_id).copied(),
            acknowledged: acks.by_staff.get(&staff_id).map_or(0, |h| h.iter().map(|(_, n)| n).sum()),
            median_time_to_acknowledge_seconds: acks.by_staff.get(&staff_id).and_then(|h| percentile(h, 0.5)),
        })
        .collect();
    // Busiest first.
    per_staff.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.staff_id.cmp(&b.staff_id)));

    let rate = |part: i64| if total == 0 { 0.0 } else { part as f64 / total as f64 };
    Ok(Stats {
        from,
        to,
        time_zone: zone.name().to_owned(),
        scope,
        total,
        by_type,
        by_severity,
        per_day: days.into_values().collect(),
        read_rate: rate(read),
        dismiss_rate: rate(dismissed),
        time_to_read_seconds: time_to_read,
        time_to_dismiss_seconds: time_to_dismiss,
        time_to_acknowledge_seconds: percentiles(&acks.all),
        time_to_acknowledge_by_type: acks.by_type.iter().map(|(t, h)| (t.clone(), percentiles(h))).collect(),
        events_by_escalation_step: steps.into_iter().map(|(step, n)| (step.to_string(), n)).collect(),
        per_staff,
    })
}

/// The acknowledgement histogram, overall, per type and per acknowledger,
/// each sorted by bucket (the rows come sorted by bucket).
struct Acknowledgements {
    all: Vec<(i64, i64)>,
    by_type: BTreeMap<String, Vec<(i64, i64)>>,
    by_staff: HashMap<i64, Vec<(i64, i64)>>,
}

impl Acknowledgements {
    fn of(rows: &[store::AckBucket]) -> Self {
        let mut all: Vec<(i64, i64)> = Vec::new();
        let mut by_type: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        let mut by_staff: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        let add = |h: &mut Vec<(i64, i64)>, bucket: i64, n: i64| match h.last_mut() {
            Some((b, count)) if *b == bucket => *count += n,
            _ => h.push((bucket, n)),
        };
        for r in rows {
            add(&mut all, r.bucket, r.n);
            add(by_type.entry(r.alert_type.clone()).or_default(), r.bucket, r.n);
            if let Some(staff) = r.staff_id {
                add(by_staff.entry(staff).or_default(), r.bucket, r.n);
            }
        }
        Self { all, by_type, by_staff }
    }
}

/// One zeroed entry per UTC day of [from, to). The loop counts its steps,
/// so it ends whatever the dates (the range was checked, but a loop on a
/// request path must not depend on that).
/// The reader's day (`YYYY-MM-DD` in `zone`) of an hour since the Unix
/// epoch: the day its start falls on (a zone off by half an hour counts the
/// hour to the day it begins in).
fn local_day(hour: i64, zone: Tz) -> String {
    let start =
        DateTime::<Utc>::UNIX_EPOCH.checked_add_signed(TimeDelta::hours(hour)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    start.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

fn empty_days(from: DateTime<Utc>, to: DateTime<Utc>, zone: Tz) -> BTreeMap<String, DayCount> {
    let last = to.checked_sub_signed(TimeDelta::microseconds(1)).unwrap_or(to).with_timezone(&zone).date_naive();
    let mut days = BTreeMap::new();
    let mut day = Some(from.with_timezone(&zone).date_naive());
    for _ in 0..=MAX_RANGE_DAYS {
        let Some(d) = day.filter(|d| *d <= last) else { break };
        let date = d.format("%Y-%m-%d").to_string();
        days.insert(date.clone(), DayCount { date, total: 0, info: 0, warning: 0, critical: 0 });
        day = d.succ_opt();
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_series_ends_at_chronos_last_date() {
        let to = DateTime::<Utc>::MAX_UTC;
        let days = empty_days(to - TimeDelta::days(3), to, Tz::UTC);
        assert_eq!(days.len(), 4);
        let days = empty_days(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, Tz::UTC);
        assert_eq!(days.len(), MAX_RANGE_DAYS as usize + 1, "bounded however wide the range");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let h = [(60, 1), (120, 1), (180, 1), (240, 1), (300, 1), (600, 1), (900, 1), (1200, 1), (3000, 1), (7200, 1)];
        assert_eq!(percentiles(&h), Percentiles { p50: Some(300), p90: Some(3000) });
        assert_eq!(percentiles(&[]), Percentiles { p50: None, p90: None });
        assert_eq!(percentiles(&[(5, 1)]), Percentiles { p50: Some(5), p90: Some(5) });
        assert_eq!(percentiles(&[(10, 9), (99, 1)]), Percentiles { p50: Some(10), p90: Some(10) });
    }
}
