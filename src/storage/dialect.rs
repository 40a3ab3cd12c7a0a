//! The SQL that differs per dialect, each difference in one function that
//! names every dialect (no catch-all arm: a new dialect, or a branch one of
//! them forgot, is a compile error). The rest of storage builds portable
//! statements with sea-query.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

/// The three SQL dialects the service runs on, decided once from the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    MySql,
    Postgres,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres];

    /// The dialect of a connection (or transaction). sea-orm's backend enum is
    /// open-ended; the service connects only to these three (`validate_url`).
    pub fn of(db: &impl ConnectionTrait) -> Result<Dialect, DbErr> {
        Dialect::try_from(db.get_database_backend())
    }

    pub fn backend(self) -> DbBackend {
        match self {
            Dialect::Sqlite => DbBackend::Sqlite,
            Dialect::MySql => DbBackend::MySql,
            Dialect::Postgres => DbBackend::Postgres,
        }
    }

    /// Lower-case name, as in `tests/sql/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::MySql => "mysql",
            Dialect::Postgres => "postgres",
        }
    }
}

impl TryFrom<DbBackend> for Dialect {
    type Error = DbErr;

    fn try_from(backend: DbBackend) -> Result<Self, DbErr> {
        match backend {
            DbBackend::Sqlite => Ok(Dialect::Sqlite),
            DbBackend::MySql => Ok(Dialect::MySql),
            DbBackend::Postgres => Ok(Dialect::Postgres),
            other => Err(DbErr::Custom(format!("unsupported database backend {other:?}"))),
        }
    }
}

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
pub fn seconds_between(dialect: Dialect, a: &str, b: &str) -> String {
    match dialect {
        // julianday() is a double: round to the millisecond so 300 s is not 299.9999 s.
        Dialect::Sqlite => format!("round((julianday({b}) - julianday({a})) * 86400.0, 3)"),
        Dialect::Postgres => format!("EXTRACT(EPOCH FROM ({b} - {a}))::float8"),
        Dialect::MySql => format!("(TIMESTAMPDIFF(MICROSECOND, {a}, {b}) / 1000000.0)"),
    }
}

/// The `n`th (from 1) bound value inside a custom SQL expression.
pub fn placeholder(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("${n}"),
        Dialect::Sqlite | Dialect::MySql => "?".to_owned(),
    }
}

/// The UTC calendar day (`YYYY-MM-DD`) of a timestamp expression.
pub fn utc_day(dialect: Dialect, ts: &str) -> String {
    match dialect {
        // Stored as RFC 3339 UTC text: the day is its first ten characters.
        Dialect::Sqlite => format!("substr({ts}, 1, 10)"),
        Dialect::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        Dialect::MySql => format!("DATE_FORMAT({ts}, '%Y-%m-%d')"),
    }
}

/// The largest integer ≤ a non-negative expression.
pub fn floor(dialect: Dialect, x: &str) -> String {
    match dialect {
        // CAST truncates on SQLite (and floor() needs an optional extension).
        Dialect::Sqlite => format!("CAST({x} AS INTEGER)"),
        Dialect::MySql | Dialect::Postgres => format!("FLOOR({x})"),
    }
}

/// An integer expression as a 64-bit integer, whatever type the dialect gave
/// it (SUM is DECIMAL on MySQL and NUMERIC on PostgreSQL).
pub fn as_int(dialect: Dialect, x: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("CAST({x} AS INTEGER)"),
        Dialect::Postgres => format!("CAST({x} AS BIGINT)"),
        Dialect::MySql => format!("CAST({x} AS SIGNED)"),
    }
}

/// Whole hours since the Unix epoch of a (UTC) timestamp expression: the key
/// of the hourly statistics rollups.
pub fn epoch_hour(dialect: Dialect, ts: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("(CAST(strftime('%s', {ts}) AS INTEGER) / 3600)"),
        Dialect::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {ts}) / 3600) AS BIGINT)"),
        // DATETIME(6) holds UTC: plain arithmetic, no session time zone.
        Dialect::MySql => format!("TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', {ts})"),
    }
}

/// `table alias`, read through `index`: for the statistics scans, where
/// SQLite's statistics otherwise pick a skip scan and a sort over a plain
/// range read in index order. PostgreSQL has no hints and needs none.
pub fn with_index(dialect: Dialect, table: &str, alias: &str, index: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("{table} {alias} INDEXED BY {index}"),
        Dialect::MySql => format!("{table} {alias} FORCE INDEX ({index})"),
        Dialect::Postgres => format!("{table} {alias}"),
    }
}

/// `table alias`, read through `index` on SQLite, whose planner without
/// statistics prefers three equalities of another index to a range of this
/// one (an idle tick read every open window of a type, 121 ms at 100 k).
pub fn sqlite_index(dialect: Dialect, table: &str, alias: &str, index: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("{table} {alias} INDEXED BY {index}"),
        Dialect::MySql | Dialect::Postgres => format!("{table} {alias}"),
    }
}

/// `table alias`, read through `index` on MySQL: a narrow index that holds
/// what the statement reads (migration `m0008`), which MySQL would otherwise
/// pass over for the primary key and its full rows, or for a full scan when
/// its statistics are stale. The other dialects have no such index.
pub fn narrow_index(dialect: Dialect, table: &str, alias: &str, index: &str) -> String {
    match dialect {
        Dialect::MySql => format!("{table} {alias} FORCE INDEX ({index})"),
        Dialect::Sqlite | Dialect::Postgres => format!("{table} {alias}"),
    }
}

/// A column the planner must filter on, not seek by (SQLite: unary `+`).
pub fn unindexed(dialect: Dialect, col: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("+{col}"),
        Dialect::MySql | Dialect::Postgres => col.to_owned(),
    }
}

/// Text concatenation (`||` propagates NULL as MySQL's `CONCAT` does).
pub fn concat(dialect: Dialect, parts: &[&str]) -> String {
    match dialect {
        Dialect::MySql => format!("CONCAT({})", parts.join(", ")),
        Dialect::Sqlite | Dialect::Postgres => format!("({})", parts.join(" || ")),
    }
}

/// A number as text, for [`concat`].
pub fn text(dialect: Dialect, x: &str) -> String {
    match dialect {
        Dialect::MySql => format!("CAST({x} AS CHAR)"),
        Dialect::Sqlite | Dialect::Postgres => format!("CAST({x} AS TEXT)"),
    }
}

/// Integer division of two integer expressions (MySQL's `/` gives a decimal).
pub fn int_div(dialect: Dialect, a: &str, b: &str) -> String {
    match dialect {
        Dialect::MySql => format!("({a} DIV {b})"),
        Dialect::Sqlite | Dialect::Postgres => format!("({a} / {b})"),
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC), for messages.
pub fn utc_minute(dialect: Dialect, ts: &str) -> String {
    match dialect {
        // RFC 3339 UTC text: date, then the time after the `T`.
        Dialect::Sqlite => format!("(substr({ts}, 1, 10) || ' ' || substr({ts}, 12, 5))"),
        Dialect::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"),
        Dialect::MySql => format!("DATE_FORMAT({ts}, '%Y-%m-%d %H:%i')"),
    }
}

/// A timestamp as RFC 3339 UTC text (`…Z`), for JSON metadata.
pub fn utc_rfc3339(dialect: Dialect, ts: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("replace({ts}, '+00:00', 'Z')"),
        Dialect::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"),
        Dialect::MySql => format!("DATE_FORMAT({ts}, '%Y-%m-%dT%H:%i:%s.%fZ')"),
    }
}

/// A text that changes exactly when the timestamp does (a dedup version part).
pub fn timestamp_key(dialect: Dialect, ts: &str) -> String {
    match dialect {
        // Every value is written in one RFC 3339 format: the text is the key.
        Dialect::Sqlite => ts.to_owned(),
        // Microseconds since the epoch, exact (numeric on PostgreSQL ≥ 14).
        Dialect::Postgres => format!("CAST(CAST(EXTRACT(EPOCH FROM {ts}) * 1000000 AS BIGINT) AS TEXT)"),
        Dialect::MySql => format!("CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {ts}) AS CHAR)"),
    }
}

/// A JSON object from (key, SQL expression) pairs.
pub fn json_object(dialect: Dialect, fields: &[(&str, String)]) -> String {
    let function = match dialect {
        Dialect::Sqlite => "json_object",
        Dialect::Postgres => "json_build_object",
        Dialect::MySql => "JSON_OBJECT",
    };
    let args: Vec<String> = fields.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
    format!("{function}({})", args.join(", "))
}

/// `json` (a JSON column) with `key` set to the integer expression `value`
/// (JSON null when it is NULL).
pub fn json_set_int(dialect: Dialect, json: &str, key: &str, value: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_set({json}, '$.{key}', {value})"),
        Dialect::MySql => format!("JSON_SET({json}, '$.{key}', {value})"),
        // `json` columns: through jsonb, whose jsonb_set is strict (a NULL value would null the whole).
        Dialect::Postgres => format!(
            "CAST(jsonb_set(CAST({json} AS jsonb), ARRAY['{key}'], COALESCE(to_jsonb(CAST({value} AS BIGINT)), 'null'::jsonb)) AS json)"
        ),
    }
}

/// Ends a derived table's `SELECT` so that it is computed once, not merged
/// into the outer query (which would evaluate its expressions once per use).
pub fn materialized(dialect: Dialect) -> &'static str {
    match dialect {
        // A subquery with an OFFSET is neither flattened (SQLite) nor pulled up (PostgreSQL).
        Dialect::Sqlite => "LIMIT -1 OFFSET 0",
        Dialect::Postgres => "OFFSET 0",
        // A derived table with a LIMIT is materialised.
        Dialect::MySql => "LIMIT 18446744073709551615",
    }
}

/// Ends an `EXISTS` subquery so that it stays a per-row probe (an index
/// lookup). PostgreSQL would otherwise turn it into a join planned from row
/// estimates that the engine's own bulk inserts have just made stale (a
/// nested loop over every open alert, for each candidate). SQLite and MySQL
/// probe per row as written.
pub fn correlated(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => " OFFSET 0",
        Dialect::Sqlite | Dialect::MySql => "",
    }
}
