//! Alert statistics: every figure is an aggregate computed by the database.
//! Latencies come back as histograms (a bounded number of rows whatever the
//! number of alerts), from which the service reads percentiles.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use super::dialect::{as_int, floor, placeholder, seconds_between, utc_day};

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
    db.query_all_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await
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
    rows(db, sql, values)
        .await?
        .iter()
        .map(|r| {
            Ok(Group {
                day: r.try_get("", "d")?,
                alert_type: r.try_get("", "t")?,
                severity: r.try_get("", "s")?,
                alerts: r.try_get("", "n")?,
                read: r.try_get("", "r")?,
                dismissed: r.try_get("", "x")?,
            })
        })
        .collect()
}

/// Seconds from creation to `read_at` or `dismissed_at`, bucketed: exact
/// below 10 min, to 10 s below 10 h, to 5 min below 10 days, to the hour
/// beyond. Returns (staff id or 0, bucket seconds, count) sorted by bucket.
pub async fn latency_histogram(
    db: &impl ConnectionTrait,
    w: &Window,
    until: &str,
    per_staff: bool,
) -> Result<Vec<(i64, i64, i64)>, DbErr> {
    debug_assert!(matches!(until, "read_at" | "dismissed_at"));
    let b = db.get_database_backend();
    let (cond, values) = filter(db, w);
    let s = seconds_between(b, "a.created_at", &format!("a.{until}"));
    let bucket = as_int(
        b,
        &format!(
            "CASE WHEN {s} < 600 THEN {f1} WHEN {s} < 36000 THEN {f10} * 10 WHEN {s} < 864000 THEN {f300} * 300 ELSE {f3600} * 3600 END",
            f1 = floor(b, &format!("({s})")),
            f10 = floor(b, &format!("({s}) / 10")),
            f300 = floor(b, &format!("({s}) / 300")),
            f3600 = floor(b, &format!("({s}) / 3600")),
        ),
    );
    // (A literal in GROUP BY would be read as a column position.)
    let (staff, group) = if per_staff {
        ("a.assigned_to_staff_id".to_owned(), format!("a.assigned_to_staff_id, {bucket}"))
    } else {
        (as_int(b, "0"), bucket.clone())
    };
    let sql = format!(
        "SELECT {staff} AS st, {bucket} AS bk, COUNT(*) AS n FROM alerts a \
         WHERE {cond} AND a.{until} IS NOT NULL AND a.{until} >= a.created_at GROUP BY {group} ORDER BY bk"
    );
    rows(db, sql, values)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "st")?, r.try_get("", "bk")?, r.try_get("", "n")?)))
        .collect()
}

/// (staff id, full name, alerts, unread live alerts at `now`), busiest first.
pub async fn per_staff(
    db: &impl ConnectionTrait,
    w: &Window,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, String, i64, i64)>, DbErr> {
    let b = db.get_database_backend();
    // `now` appears in the SELECT list, before the WHERE clause: it binds first.
    let now_ph = placeholder(b, 1);
    let (cond, filter_values) = filter_from(db, w, 2);
    let mut values: Vec<Value> = vec![now.into()];
    values.extend(filter_values);
    let unread = as_int(
        b,
        &format!(
            "COALESCE(SUM(CASE WHEN a.is_read = false AND a.is_dismissed = false \
             AND (a.expires_at IS NULL OR a.expires_at > {now_ph}) THEN 1 ELSE 0 END), 0)"
        ),
    );
    let sql = format!(
        "SELECT a.assigned_to_staff_id AS st, s.full_name AS name, COUNT(*) AS n, \
         {unread} AS u \
         FROM alerts a JOIN staff s ON s.id = a.assigned_to_staff_id WHERE {cond} \
         GROUP BY a.assigned_to_staff_id, s.full_name ORDER BY n DESC, st"
    );
    rows(db, sql, values)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "st")?, r.try_get("", "name")?, r.try_get("", "n")?, r.try_get("", "u")?)))
        .collect()
}
