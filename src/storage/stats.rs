//! Alert statistics: every figure is an aggregate computed by the database,
//! from the rollups that triggers keep (see `rollups`) where a window covers
//! whole hours, and from `alerts` itself for the minutes at its edges and for
//! one staff member's own figures. Latencies come back as histograms (a
//! bounded number of rows whatever the number of alerts).
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use super::dialect::{as_int, placeholder, portable, unindexed, utc_day, with_index};

/// Which alerts: created in [from, to), of one staff member or of everyone.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub staff_id: Option<i64>,
}

/// The WHERE clause of a window and its values, its placeholders numbered
/// from 1. (With `?` placeholders the values bind in the order they appear in
/// the SQL: the WHERE clause must hold the first ones.)
fn filter(db: &impl ConnectionTrait, w: &Window) -> (String, Vec<Value>) {
    filter_from(db, w, 1)
}

fn filter_from(db: &impl ConnectionTrait, w: &Window, first: usize) -> (String, Vec<Value>) {
    let b = db.get_database_backend();
    let mut sql = format!("a.created_at >= {} AND a.created_at < {}", placeholder(b, first), placeholder(b, first + 1));
    let mut values: Vec<Value> = vec![w.from.into(), w.to.into()];
    if let Some(staff) = w.staff_id {
        sql.push_str(&format!(" AND a.assigned_to_staff_id = {}", placeholder(b, first + 2)));
        values.push(staff.into());
    }
    (sql, values)
}

async fn rows(db: &impl ConnectionTrait, sql: String, values: Vec<Value>) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    db.query_all_raw(portable(Statement::from_sql_and_values(db.get_database_backend(), sql, values))).await
}

/// One group of a window's alerts: created on one UTC day, of one type and
/// severity; how many, how many were read, how many dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub day: String,
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
    let (cond, values) = filter(db, w);
    let b = db.get_database_backend();
    let day = utc_day(b, "a.created_at");
    // SUM of a CASE is portable; COUNT(*) > 0 in every group, so never NULL.
    let read = as_int(b, "SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END)");
    let dismissed = as_int(b, "SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END)");
    let sql = format!(
        "SELECT {day} AS d, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, {read} AS r, {dismissed} AS x \
         FROM alerts a WHERE {cond} GROUP BY {day}, a.alert_type, a.severity"
    );
    rows(db, sql, values).await?.iter().map(|r| group(r, r.try_get("", "d")?)).collect()
}

/// A group from a row with columns t, s, n, r, x (type, severity, alerts,
/// read, dismissed), of the given day.
fn group(r: &sea_orm::QueryResult, day: String) -> Result<Group, DbErr> {
    Ok(Group {
        day,
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
    let b = db.get_database_backend();
    let sql = format!(
        "SELECT hour, alert_type AS t, severity AS s, alerts_total AS n, alerts_read AS r, alerts_dismissed AS x \
         FROM alert_stats_hourly \
         WHERE hour >= {} AND hour < {} AND alerts_total > 0",
        placeholder(b, 1),
        placeholder(b, 2)
    );
    rows(db, sql, vec![from_hour.into(), to_hour.into()])
        .await?
        .iter()
        .map(|r| {
            let hour: i64 = r.try_get("", "hour")?;
            let day = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::hours(hour);
            group(r, day.format("%Y-%m-%d").to_string())
        })
        .collect()
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
/// WHERE, and their values.
fn latencies(db: &impl ConnectionTrait, w: &Window, latency: Latency, index: &str) -> (String, Vec<Value>) {
    let b = db.get_database_backend();
    let created = unindexed(b, "l.created_at");
    // `kind` is one of two constants: inlined, so the planner sees its value.
    let mut sql = format!(
        "{} WHERE l.kind = '{}' AND {created} >= {} AND {created} < {}",
        with_index(b, "alert_latencies", "l", index),
        latency.kind(),
        placeholder(b, 1),
        placeholder(b, 2)
    );
    let mut values: Vec<Value> = vec![w.from.into(), w.to.into()];
    if let Some(staff) = w.staff_id {
        sql.push_str(&format!(" AND l.staff_id = {}", placeholder(b, 3)));
        values.push(staff.into());
    }
    (sql, values)
}

/// The latency histogram of a window's alerts: (bucket seconds, count),
/// sorted by bucket. Buckets are exact below 10 min, to 10 s below 10 h, to
/// 5 min below 10 days, to the hour beyond (written by the triggers).
pub async fn latency_histogram(
    db: &impl ConnectionTrait,
    w: &Window,
    latency: Latency,
) -> Result<Vec<(i64, i64)>, DbErr> {
    // With one staff member through the (kind, staff, bucket) index, else the
    // (kind, bucket) one: either way in bucket order, so grouping by bucket
    // streams without a sort.
    let index = if w.staff_id.is_some() { BY_STAFF } else { "idx_alert_latencies_bucket" };
    let (from, values) = latencies(db, w, latency, index);
    let sql = format!("SELECT l.bucket AS bucket, COUNT(*) AS n FROM {from} GROUP BY l.bucket ORDER BY l.bucket");
    rows(db, sql, values).await?.iter().map(|r| Ok((r.try_get("", "bucket")?, r.try_get("", "n")?))).collect()
}

/// Each staff member's median time to read in the window (nearest rank, by
/// bucket): (staff id, median seconds). Two steps, both reading the (kind,
/// staff, bucket) index in order and sorting nothing: how many reads each
/// staff member has, then per staff member the bucket at rank ceil(n / 2),
/// found by skipping that many index entries (batches of staff members).
pub async fn median_read_by_staff(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<(i64, i64)>, DbErr> {
    let b = db.get_database_backend();
    let created = unindexed(b, "l.created_at");
    let table = with_index(b, "alert_latencies", "l", BY_STAFF);
    let (from, values) = latencies(db, w, Latency::Read, BY_STAFF);
    let sql = format!("SELECT l.staff_id AS st, COUNT(*) AS n FROM {from} GROUP BY l.staff_id");
    let counts: Vec<(i64, i64)> = rows(db, sql, values)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "st")?, r.try_get("", "n")?)))
        .collect::<Result<_, DbErr>>()?;

    let mut medians = Vec::with_capacity(counts.len());
    for chunk in counts.chunks(MEDIANS_PER_STATEMENT) {
        let mut parts = Vec::with_capacity(chunk.len());
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for (staff, n) in chunk {
            let p = |k: usize| placeholder(b, values.len() + k);
            parts.push(format!(
                "SELECT {} AS st, (SELECT l.bucket FROM {table} WHERE l.kind = 'read' AND l.staff_id = {} \
                 AND {created} >= {} AND {created} < {} ORDER BY l.bucket LIMIT 1 OFFSET {}) AS median",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            ));
            values.extend([(*staff).into(), (*staff).into(), w.from.into(), w.to.into()]);
            values.push(((n + 1) / 2 - 1).into());
        }
        let sql = parts.join(" UNION ALL ");
        for r in rows(db, sql, values).await? {
            let median: Option<i64> = r.try_get("", "median")?;
            medians.extend(median.map(|m| Ok::<_, DbErr>((r.try_get("", "st")?, m))).transpose()?);
        }
    }
    Ok(medians)
}

/// Staff members per median statement (5 bound values each).
const MEDIANS_PER_STATEMENT: usize = 100;

/// Alerts per staff member in the window, from `alerts`: (staff id, alerts).
pub async fn staff_counts(db: &impl ConnectionTrait, w: &Window) -> Result<Vec<(i64, i64)>, DbErr> {
    let (cond, values) = filter(db, w);
    let sql = format!(
        "SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n FROM alerts a WHERE {cond} GROUP BY a.assigned_to_staff_id"
    );
    rows(db, sql, values).await?.iter().map(|r| Ok((r.try_get("", "st")?, r.try_get("", "n")?))).collect()
}

/// Alerts per staff member in the whole hours [from_hour, to_hour), from the rollup.
pub async fn hourly_staff_counts(
    db: &impl ConnectionTrait,
    from_hour: i64,
    to_hour: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let b = db.get_database_backend();
    let total = as_int(b, "SUM(alerts_total)");
    let sql = format!(
        "SELECT staff_id, {total} AS n FROM alert_stats_staff_hourly WHERE hour >= {} AND hour < {} \
         GROUP BY staff_id",
        placeholder(b, 1),
        placeholder(b, 2)
    );
    rows(db, sql, vec![from_hour.into(), to_hour.into()])
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "staff_id")?, r.try_get("", "n")?)))
        .collect()
}

/// Live unread alerts (at `now`) per staff member among the window's alerts,
/// answered from the unread index alone: (staff id, unread).
pub async fn unread_by_staff(
    db: &impl ConnectionTrait,
    w: &Window,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let b = db.get_database_backend();
    let (cond, mut values) = filter(db, w);
    let now_ph = placeholder(b, values.len() + 1);
    values.push(now.into());
    let sql = format!(
        "SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n FROM {} WHERE {cond} \
         AND a.is_read = false AND a.is_dismissed = false AND (a.expires_at IS NULL OR a.expires_at > {now_ph}) \
         GROUP BY a.assigned_to_staff_id",
        with_index(b, "alerts", "a", "idx_alerts_unread_window")
    );
    rows(db, sql, values).await?.iter().map(|r| Ok((r.try_get("", "st")?, r.try_get("", "n")?))).collect()
}

/// (id, full name) of the given staff members.
pub async fn staff_names(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<(i64, String)>, DbErr> {
    use super::entities::staff;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::engine::BATCH_ROWS) {
        let rows: Vec<(i64, String)> = staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .column(staff::Column::FullName)
            .filter(staff::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}
