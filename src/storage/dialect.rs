//! The SQL that differs per dialect, each difference in one function. The
//! rest of storage builds portable statements with sea-query.
use sea_orm::{DbBackend, Statement, Value};

/// The statement with its UTC timestamps bound so every backend stores and
/// compares them over the whole accepted range. sqlx binds a UTC chrono
/// value to MySQL as TIMESTAMP, and MariaDB converts such a parameter
/// through TIMESTAMP's range, which ends 2038-01-19 03:14:07 UTC: a later
/// deadline was stored as NULL in its DATETIME column and compared as NULL.
/// On MySQL they are bound as plain DATETIME instead (sessions are UTC).
pub fn portable(mut statement: Statement) -> Statement {
    if statement.db_backend == DbBackend::MySql
        && let Some(values) = statement.values.as_mut()
    {
        for value in &mut values.0 {
            if let Value::ChronoDateTimeUtc(Some(t)) = value {
                *value = Value::ChronoDateTime(Some(t.naive_utc()));
            }
        }
    }
    statement
}

/// `b - a` in seconds (fractional), over two timestamp expressions.
pub fn seconds_between(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        // julianday() is a double: round to the millisecond so 300 s is not 299.9999 s.
        DbBackend::Sqlite => format!("round((julianday({b}) - julianday({a})) * 86400.0, 3)"),
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({b} - {a}))::float8"),
        _ => format!("(TIMESTAMPDIFF(MICROSECOND, {a}, {b}) / 1000000.0)"),
    }
}

/// Whether `share` (0..1) of the window from `start` to `end` has passed at
/// `now` (all timestamp expressions; `now` a constant).
pub fn share_elapsed(backend: DbBackend, start: &str, end: &str, now: &str, share: &str) -> String {
    match backend {
        // Two date parses per row instead of four (SQLite does not reuse
        // julianday(start)): now >= start + share * (end - start), in days,
        // rearranged; 1e-8 days (under a millisecond, julianday's
        // resolution) absorbs the rounding of the doubles.
        DbBackend::Sqlite => {
            format!("julianday({end}) * {share} + julianday({start}) * (1 - {share}) <= julianday({now}) + 1e-8")
        }
        _ => format!("{} >= {share} * {}", seconds_between(backend, start, now), seconds_between(backend, start, end)),
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

/// `table alias`, read through `index` on MySQL: a narrow index that holds
/// what the statement reads (migration `m0008`), which MySQL would otherwise
/// pass over for the primary key and its full rows, or for a full scan when
/// its statistics are stale. The other dialects have no such index.
pub fn narrow_index(backend: DbBackend, table: &str, alias: &str, index: &str) -> String {
    match backend {
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

/// Text concatenation (`||` propagates NULL as MySQL's `CONCAT` does).
pub fn concat(backend: DbBackend, parts: &[&str]) -> String {
    match backend {
        DbBackend::MySql => format!("CONCAT({})", parts.join(", ")),
        _ => format!("({})", parts.join(" || ")),
    }
}

/// A number as text, for [`concat`].
pub fn text(backend: DbBackend, x: &str) -> String {
    match backend {
        DbBackend::MySql => format!("CAST({x} AS CHAR)"),
        _ => format!("CAST({x} AS TEXT)"),
    }
}

/// Integer division of two integer expressions (MySQL's `/` gives a decimal).
pub fn int_div(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        DbBackend::MySql => format!("({a} DIV {b})"),
        _ => format!("({a} / {b})"),
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC), for messages.
pub fn utc_minute(backend: DbBackend, ts: &str) -> String {
    match backend {
        // RFC 3339 UTC text: date, then the time after the `T`.
        DbBackend::Sqlite => format!("(substr({ts}, 1, 10) || ' ' || substr({ts}, 12, 5))"),
        DbBackend::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"),
        _ => format!("DATE_FORMAT({ts}, '%Y-%m-%d %H:%i')"),
    }
}

/// A timestamp as RFC 3339 UTC text (`…Z`), for JSON metadata.
pub fn utc_rfc3339(backend: DbBackend, ts: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("replace({ts}, '+00:00', 'Z')"),
        DbBackend::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"),
        _ => format!("DATE_FORMAT({ts}, '%Y-%m-%dT%H:%i:%s.%fZ')"),
    }
}

/// A text that changes exactly when the timestamp does (a dedup version part).
pub fn timestamp_key(backend: DbBackend, ts: &str) -> String {
    match backend {
        // Every value is written in one RFC 3339 format: the text is the key.
        DbBackend::Sqlite => ts.to_owned(),
        // Microseconds since the epoch, exact (numeric on PostgreSQL ≥ 14).
        DbBackend::Postgres => format!("CAST(CAST(EXTRACT(EPOCH FROM {ts}) * 1000000 AS BIGINT) AS TEXT)"),
        _ => format!("CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {ts}) AS CHAR)"),
    }
}

/// A JSON object from (key, SQL expression) pairs.
pub fn json_object(backend: DbBackend, fields: &[(&str, String)]) -> String {
    let function = match backend {
        DbBackend::Sqlite => "json_object",
        DbBackend::Postgres => "json_build_object",
        _ => "JSON_OBJECT",
    };
    let args: Vec<String> = fields.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
    format!("{function}({})", args.join(", "))
}

/// Ends a derived table's `SELECT` so that it is computed once, not merged
/// into the outer query (which would evaluate its expressions once per use).
pub fn materialized(backend: DbBackend) -> &'static str {
    match backend {
        // A subquery with an OFFSET is neither flattened (SQLite) nor pulled up (PostgreSQL).
        DbBackend::Sqlite => "LIMIT -1 OFFSET 0",
        DbBackend::Postgres => "OFFSET 0",
        // A derived table with a LIMIT is materialised.
        _ => "LIMIT 18446744073709551615",
    }
}

/// Ends an `EXISTS` subquery so that it stays a per-row probe (an index
/// lookup). PostgreSQL would otherwise turn it into a join planned from row
/// estimates that the engine's own bulk inserts have just made stale (a
/// nested loop over every open alert, for each candidate). SQLite and MySQL
/// probe per row as written.
pub fn correlated(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " OFFSET 0",
        _ => "",
    }
}
