//! Alert statistics: every figure is an aggregate computed by the database,
//! from the rollups that triggers keep (see `rollups`) where a window covers
//! whole hours, and from `alerts` itself for the minutes at its edges and for
//! one staff member's own figures. Latencies come back as histograms (a
//! bounded number of rows whatever the number of alerts).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};

use super::dialect::{Dialect, as_int, epoch_hour, floor, int_div, seconds_between, unindexed, with_index};
use super::sql::{Sql, id_list};

/// Which alerts: created in [from, to), of some staff members (one's own,
/// a team's) or of everyone.
#[derive(Debug, Clone)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `None`: everyone's.
    pub staff: Option<Vec<i64>>,
}

/// ` AND {column} = …` (one staff member) or ` AND {column} IN (…)` (a
/// team) for a window of some staff members; empty for everyone's.
fn staff_filter(sql: &mut Sql, w: &Window, column: &str) -> String {
    match w.staff.as_deref() {
        None => String::new(),
        Some([one]) => format!(" AND {column} = {}", sql.bind("staff", *one)),
        // No one: nothing matches.
        Some(staff) => match id_list(staff) {
            Some(ids) => format!(" AND {column} IN ({ids})"),
            None => " AND 1 = 0".to_owned(),
        },
    }
}

/// The WHERE clause of a window (over `alerts a`), its values bound in `sql`.
fn filter(sql: &mut Sql, w: &Window) -> String {
    let (from, to) = (sql.bind("from", w.from), sql.bind("to", w.to));
    let mut cond = format!("a.created_at >= {from} AND a.created_at < {to}");
    cond.push_str(&staff_filter(sql, w, "a.assigned_to_staff_id"));
    cond
}

/// Rows of (`st`, `n`) as (staff id, count).
async fn pairs(db: &impl ConnectionTrait, statement: Statement) -> Result<Vec<(i64, i64)>, DbErr> {
    db.query_all_raw(statement).await?.iter().map(|r| Ok((r.try_get("", "st")?, r.try_get("", "n")?))).collect()
}

/// One group of a window's alerts: created in one UTC hour, of one type and
/// severity; how many, how many were read, how many dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Hours since the Unix epoch (the service maps them to the reader's days).
    pub hour: i64,
    pub alert_type: String,
    pub severity: String,
    pub alerts: i64,
    pub read: i64,
    pub dismissed: i64,
}

/// Every count of the window in one pass, by (day, type, severity): at most
/// days x types x severities rows, which the service adds up into the totals,
/// the breakdowns and the daily series.
pub async fn groups(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<Group>, DbErr> {
    let rows = db.query_all_raw(groups_statement(Dialect::of(db)?, w)?).await?;
    rows.iter().map(|r| group(r, r.try_get("", "h")?)).collect()
}

pub fn groups_statement(dialect: Dialect, w: &Window) -> Result<Statement, DbErr> {
    let mut sql = Sql::new(dialect);
    let cond = filter(&mut sql, w);
    let b = sql.dialect();
    let hour = epoch_hour(b, "a.created_at");
    // SUM of a CASE is portable; COUNT(*) > 0 in every group, so never NULL.
    let read = as_int(b, "SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END)");
    let dismissed = as_int(b, "SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END)");
    let text = format!(
        "SELECT {hour} AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, {read} AS r, {dismissed} AS x \
         FROM alerts a WHERE {cond} GROUP BY {hour}, a.alert_type, a.severity"
    );
    sql.statement(&text)
}

/// A group from a row with columns t, s, n, r, x (type, severity, alerts,
/// read, dismissed), of the given hour.
fn group(r: &sea_orm::QueryResult, hour: i64) -> Result<Group, DbErr> {
    Ok(Group {
        hour,
        alert_type: r.try_get("", "t")?,
        severity: r.try_get("", "s")?,
        alerts: r.try_get("", "n")?,
        read: r.try_get("", "r")?,
        dismissed: r.try_get("", "x")?,
    })
}

/// The same groups from the hourly rollup, for the whole hours [from_hour,
/// to_hour) (hours since the Unix epoch), one group per stored hour.
pub async fn hourly_groups(db: &impl ConnectionTrait, from_hour: i64, to_hour: i64) -> Result<Vec<Group>, DbErr> {
    db.query_all_raw(hourly_groups_statement(Dialect::of(db)?, from_hour, to_hour)?)
        .await?
        .iter()
        .map(|r| group(r, r.try_get("", "hour")?))
        .collect()
}

pub fn hourly_groups_statement(dialect: Dialect, from_hour: i64, to_hour: i64) -> Result<Statement, DbErr> {
    let mut sql = Sql::new(dialect);
    let (first, last) = (sql.bind("first_hour", from_hour), sql.bind("last_hour", to_hour));
    sql.statement(&format!(
        "SELECT hour, alert_type AS t, severity AS s, alerts_total AS n, alerts_read AS r, alerts_dismissed AS x \
         FROM alert_stats_hourly WHERE hour >= {first} AND hour < {last} AND alerts_total > 0"
    ))
}

/// Which latency: creation to `read_at`, or to `dismissed_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    Read,
    Dismiss,
}

impl Latency {
    fn kind(self) -> &'static str {
        match self {
            Latency::Read => "read",
            Latency::Dismiss => "dismiss",
        }
    }
}

/// The (kind, staff, bucket, created) index of `alert_latencies`.
const BY_STAFF: &str = "idx_alert_latencies_staff";

/// The `alert_latencies` rows of a window, read through `index`: FROM and
/// WHERE, their values bound in `sql`.
fn latencies(sql: &mut Sql, w: &Window, latency: Latency, index: &str) -> String {
    let b = sql.dialect();
    let created = unindexed(b, "l.created_at");
    let (from, to) = (sql.bind("from", w.from), sql.bind("to", w.to));
    // `kind` is one of two constants: inlined, so the planner sees its value.
    let mut text = format!(
        "{} WHERE l.kind = '{}' AND {created} >= {from} AND {created} < {to}",
        with_index(b, "alert_latencies", "l", index),
        latency.kind(),
    );
    text.push_str(&staff_filter(sql, w, "l.staff_id"));
    text
}

/// The latency histogram of a window's alerts: (bucket seconds, count),
/// sorted by bucket. Buckets are exact below 10 min, to 10 s below 10 h, to
/// 5 min below 10 days, to the hour beyond (written by the triggers).
pub async fn latency_histogram(
    db: &impl ConnectionTrait,
    w: &Window,
    latency: Latency,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let rows = db.query_all_raw(latency_histogram_statement(Dialect::of(db)?, w, latency)?).await?;
    rows.iter().map(|r| Ok((r.try_get("", "bucket")?, r.try_get("", "n")?))).collect()
}

pub fn latency_histogram_statement(dialect: Dialect, w: &Window, latency: Latency) -> Result<Statement, DbErr> {
    // With one staff member through the (kind, staff, bucket) index, else the
    // (kind, bucket) one: either way in bucket order, so grouping by bucket
    // streams without a sort.
    let index = if w.staff.is_some() { BY_STAFF } else { "idx_alert_latencies_bucket" };
    let mut sql = Sql::new(dialect);
    let from = latencies(&mut sql, w, latency, index);
    sql.statement(&format!("SELECT l.bucket AS bucket, COUNT(*) AS n FROM {from} GROUP BY l.bucket ORDER BY l.bucket"))
}

/// Each staff member's median time to read in the window (nearest rank, by
/// bucket): (staff id, median seconds). Two steps, both reading the (kind,
/// staff, bucket) index in order and sorting nothing: how many reads each
/// staff member has, then per staff member the bucket at rank ceil(n / 2),
/// found by skipping that many index entries (batches of staff members).
pub async fn median_read_by_staff(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<(i64, i64)>, DbErr> {
    let dialect = Dialect::of(db)?;
    let counts = pairs(db, read_counts_statement(dialect, w)?).await?;
    let mut medians = Vec::with_capacity(counts.len());
    for chunk in counts.chunks(MEDIANS_PER_STATEMENT) {
        for r in db.query_all_raw(medians_statement(dialect, w, chunk)?).await? {
            let median: Option<i64> = r.try_get("", "median")?;
            medians.extend(median.map(|m| Ok::<_, DbErr>((r.try_get("", "st")?, m))).transpose()?);
        }
    }
    Ok(medians)
}

/// How many reads each staff member has in the window: (staff id, reads).
pub fn read_counts_statement(dialect: Dialect, w: &Window) -> Result<Statement, DbErr> {
    let mut sql = Sql::new(dialect);
    let from = latencies(&mut sql, w, Latency::Read, BY_STAFF);
    sql.statement(&format!("SELECT l.staff_id AS st, COUNT(*) AS n FROM {from} GROUP BY l.staff_id"))
}

/// The median read bucket of each (staff id, reads) of `counts`.
pub fn medians_statement(dialect: Dialect, w: &Window, counts: &[(i64, i64)]) -> Result<Statement, DbErr> {
    let created = unindexed(dialect, "l.created_at");
    let table = with_index(dialect, "alert_latencies", "l", BY_STAFF);
    let mut sql = Sql::new(dialect);
    let (from, to) = (sql.bind("from", w.from), sql.bind("to", w.to));
    let mut parts = Vec::with_capacity(counts.len());
    for (i, (staff, n)) in counts.iter().enumerate() {
        let staff = sql.bind(&format!("staff{i}"), *staff);
        let rank = sql.bind(&format!("rank{i}"), (n + 1) / 2 - 1);
        parts.push(format!(
            "SELECT {staff} AS st, (SELECT l.bucket FROM {table} WHERE l.kind = 'read' AND l.staff_id = {staff} \
             AND {created} >= {from} AND {created} < {to} ORDER BY l.bucket LIMIT 1 OFFSET {rank}) AS median"
        ));
    }
    sql.statement(&parts.join(" UNION ALL "))
}

/// Staff members per median statement (5 bound values each).
const MEDIANS_PER_STATEMENT: usize = 100;

/// Alerts per staff member in the window, from `alerts`: (staff id, alerts).
pub async fn staff_counts(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<(i64, i64)>, DbErr> {
    pairs(db, staff_counts_statement(Dialect::of(db)?, w)?).await
}

pub fn staff_counts_statement(dialect: Dialect, w: &Window) -> Result<Statement, DbErr> {
    let mut sql = Sql::new(dialect);
    let cond = filter(&mut sql, w);
    sql.statement(&format!(
        "SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n FROM alerts a WHERE {cond} GROUP BY a.assigned_to_staff_id"
    ))
}

/// Alerts per staff member in the whole hours [from_hour, to_hour), from the rollup.
pub async fn hourly_staff_counts(
    db: &impl ConnectionTrait,
    from_hour: i64,
    to_hour: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    pairs(db, hourly_staff_counts_statement(Dialect::of(db)?, from_hour, to_hour)?).await
}

pub fn hourly_staff_counts_statement(dialect: Dialect, from_hour: i64, to_hour: i64) -> Result<Statement, DbErr> {
    let mut sql = Sql::new(dialect);
    let total = as_int(dialect, "SUM(alerts_total)");
    let (first, last) = (sql.bind("first_hour", from_hour), sql.bind("last_hour", to_hour));
    sql.statement(&format!(
        "SELECT staff_id AS st, {total} AS n FROM alert_stats_staff_hourly WHERE hour >= {first} AND hour < {last} \
         GROUP BY staff_id"
    ))
}

/// Live unread alerts (at `now`) per staff member among the window's alerts,
/// answered from the unread index alone: (staff id, unread).
pub async fn unread_by_staff(
    db: &impl ConnectionTrait,
    w: &Window,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, DbErr> {
    pairs(db, unread_by_staff_statement(Dialect::of(db)?, w, now)?).await
}

pub fn unread_by_staff_statement(dialect: Dialect, w: &Window, now: DateTime<Utc>) -> Result<Statement, DbErr> {
    let mut sql = Sql::new(dialect);
    let cond = filter(&mut sql, w);
    let now_ph = sql.bind("now", now);
    sql.statement(&format!(
        "SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n FROM {} WHERE {cond} \
         AND a.is_read = false AND a.is_dismissed = false AND (a.expires_at IS NULL OR a.expires_at > {now_ph}) \
         GROUP BY a.assigned_to_staff_id",
        with_index(dialect, "alerts", "a", "idx_alerts_unread_window")
    ))
}

/// Acknowledged events of a window (by start) as a histogram per (alert
/// type, who acknowledged, bucket of seconds to acknowledge), buckets as the
/// latency ones: exact below 10 min, to 10 s below 10 h, to 5 min below 10
/// days, to the hour beyond. With a staff member: the events they had an alert of.
pub async fn acknowledgement_histogram(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<AckBucket>, DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let (from, to) = (sql.bind("from", w.from), sql.bind("to", w.to));
    let s = floor(dialect, &seconds_between(dialect, "e.started_at", "e.acknowledged_at"));
    let bucket = |step: i64| format!("{} * {step}", int_div(dialect, &s, &step.to_string()));
    let bucket = format!(
        "CASE WHEN {s} < 600 THEN {s} WHEN {s} < 36000 THEN {} WHEN {s} < 864000 THEN {} ELSE {} END",
        bucket(10),
        bucket(300),
        bucket(3600)
    );
    let mut filter = format!("e.started_at >= {from} AND e.started_at < {to} AND e.acknowledged_at IS NOT NULL");
    if w.staff.is_some() {
        let staff = staff_filter(&mut sql, w, "m.assigned_to_staff_id");
        filter.push_str(&format!(" AND EXISTS (SELECT 1 FROM alerts m WHERE m.event_id = e.id{staff})"));
    }
    let statement = sql.statement(&format!(
        "SELECT x.alert_type AS alert_type, x.staff_id AS staff_id, x.bucket AS bucket, COUNT(*) AS n FROM \
         (SELECT e.alert_type AS alert_type, e.acknowledged_by AS staff_id, {} AS bucket FROM alert_events e \
         WHERE {filter}) x GROUP BY x.alert_type, x.staff_id, x.bucket ORDER BY x.bucket",
        as_int(dialect, &bucket)
    ))?;
    AckBucket::find_by_statement(statement).all(db).await
}

#[derive(Debug, FromQueryResult)]
pub struct AckBucket {
    pub alert_type: String,
    pub staff_id: Option<i64>,
    pub bucket: i64,
    pub n: i64,
}

/// How many events of a window reached each escalation step (step, events),
/// counted from the step's alerts created in the window.
pub async fn events_by_step(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<(i64, i64)>, DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let (from, to) = (sql.bind("from", w.from), sql.bind("to", w.to));
    let mut filter = format!("al.escalation_step > 0 AND al.created_at >= {from} AND al.created_at < {to}");
    if w.staff.is_some() {
        let staff = staff_filter(&mut sql, w, "m.assigned_to_staff_id");
        filter.push_str(&format!(" AND EXISTS (SELECT 1 FROM alerts m WHERE m.event_id = al.event_id{staff})"));
    }
    let statement = sql.statement(&format!(
        "SELECT {} AS step, COUNT(DISTINCT al.event_id) AS n FROM {} WHERE {filter} \
         GROUP BY al.escalation_step ORDER BY al.escalation_step",
        as_int(dialect, "al.escalation_step"),
        // The escalation alerts alone (rare), not every alert of the window.
        with_index(dialect, "alerts", "al", "idx_alerts_escalation_step")
    ))?;
    let rows = db.query_all_raw(statement).await?;
    rows.iter().map(|r| Ok((r.try_get("", "step")?, r.try_get("", "n")?))).collect()
}
