//! The SQL that differs per dialect, each difference in one function. The
//! rest of storage builds portable statements with sea-query.
use sea_orm::DbBackend;

/// `b - a` in seconds (fractional), over two timestamp expressions.
pub fn seconds_between(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        // julianday() is a double: round to the millisecond so 300 s is not 299.9999 s.
        DbBackend::Sqlite => format!("round((julianday({b}) - julianday({a})) * 86400.0, 3)"),
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({b} - {a}))::float8"),
        _ => format!("(TIMESTAMPDIFF(MICROSECOND, {a}, {b}) / 1000000.0)"),
    }
}

/// The `n`th (from 1) bound value inside a custom SQL expression.
pub fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The UTC calendar day (`YYYY-MM-DD`) of a timestamp expression.
pub fn utc_day(backend: DbBackend, ts: &str) -> String {
    match backend {
        // Stored as RFC 3339 UTC text: the day is its first ten characters.
        DbBackend::Sqlite => format!("substr({ts}, 1, 10)"),
        DbBackend::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => format!("DATE_FORMAT({ts}, '%Y-%m-%d')"),
    }
}

/// The largest integer ≤ a non-negative expression.
pub fn floor(backend: DbBackend, x: &str) -> String {
    match backend {
        // CAST truncates on SQLite (and floor() needs an optional extension).
        DbBackend::Sqlite => format!("CAST({x} AS INTEGER)"),
        _ => format!("FLOOR({x})"),
    }
}

/// An integer expression as a 64-bit integer, whatever type the dialect gave
/// it (SUM is DECIMAL on MySQL and NUMERIC on PostgreSQL).
pub fn as_int(backend: DbBackend, x: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("CAST({x} AS INTEGER)"),
        DbBackend::Postgres => format!("CAST({x} AS BIGINT)"),
        _ => format!("CAST({x} AS SIGNED)"),
    }
}

/// Whole hours since the Unix epoch of a (UTC) timestamp expression: the key
/// of the hourly statistics rollups.
pub fn epoch_hour(backend: DbBackend, ts: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("(CAST(strftime('%s', {ts}) AS INTEGER) / 3600)"),
        DbBackend::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {ts}) / 3600) AS BIGINT)"),
        // DATETIME(6) holds UTC: plain arithmetic, no session time zone.
        _ => format!("TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', {ts})"),
    }
}

/// `table alias`, read through `index`: for the statistics scans, where
/// SQLite's statistics otherwise pick a skip scan and a sort over a plain
/// range read in index order. PostgreSQL has no hints and needs none.
pub fn with_index(backend: DbBackend, table: &str, alias: &str, index: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("{table} {alias} INDEXED BY {index}"),
        DbBackend::MySql => format!("{table} {alias} FORCE INDEX ({index})"),
        _ => format!("{table} {alias}"),
    }
}

/// A column the planner must filter on, not seek by (SQLite: unary `+`).
pub fn unindexed(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("+{col}"),
        _ => col.to_owned(),
    }
}
