//! The `INSERT … SELECT` that creates a rule's alerts, with its lock order
//! and conflict clause.
use super::RulePlan;
use super::select::{Candidates, resource_type};
use super::wording::{Texts, texts};
use crate::storage::dialect::{Dialect, correlated, materialized};
use crate::storage::sql::{Sql, id_list};

/// The order the insert takes its keys in: one order for every checker, so
/// that two racing inserts wait on each other instead of deadlocking.
/// SQLite has one writer at a time: no sort.
pub(super) fn lock_order(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "",
        Dialect::MySql | Dialect::Postgres => " ORDER BY x.rid, x.rcp",
    }
}

/// The insert's conflict clause: a key with an open window already (a racing
/// checker's alert, committed or not) gets nothing. MySQL has no DO NOTHING:
/// an update that changes nothing.
pub(crate) fn on_open_window(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => "ON DUPLICATE KEY UPDATE dedup_open = alerts.dedup_open",
        Dialect::Sqlite | Dialect::Postgres => {
            "ON CONFLICT (dedup_open, alert_type, resource_type, resource_id, assigned_to_staff_id) DO NOTHING"
        }
    }
}

/// The `INSERT INTO alerts … SELECT` of a rule: one alert per candidate
/// whose key has no open window, its title, message and metadata built in
/// SQL, holding the key's window from now on. The inner table `x` computes
/// each number once (behind a [`materialized`] fence: the texts use them
/// many times). The `NOT EXISTS` spares the texts of keys alerted already;
/// the unique index, through [`on_open_window`], is what guarantees one
/// alert per window when checkers race.
pub(super) fn insert_alerts(sql: &mut Sql, plan: &RulePlan, candidates: &Candidates) -> String {
    let b = sql.dialect();
    let Candidates { from, .. } = candidates;
    let not_open = key_free(sql, plan, candidates);
    let AlertRows { insert, columns, joins } = alert_rows(sql, plan, candidates, "alerts", true);
    let fence = materialized(b);
    let (order, conflict) = (lock_order(b), on_open_window(b));
    match b {
        // One statement that also counts the matches: the candidates are
        // computed once, each with whether its key is free, and the texts
        // built only for those that are.
        Dialect::Postgres => format!(
            "WITH x AS MATERIALIZED (SELECT {columns}, {not_open} AS fresh {from}), \
             ins AS ({insert} FROM x{joins} WHERE x.fresh{order} {conflict} RETURNING 1) \
             SELECT (SELECT COUNT(*) FROM x), (SELECT COUNT(*) FROM ins)"
        ),
        Dialect::Sqlite | Dialect::MySql => format!(
            "{insert} FROM (SELECT {columns} {from} AND {not_open} {fence}) x{joins} WHERE TRUE{order} {conflict}"
        ),
    }
}

/// A candidate's key has no open window (a filter over the candidates'
/// `FROM`): it would get a new alert.
pub(super) fn key_free(sql: &mut Sql, plan: &RulePlan, candidates: &Candidates) -> String {
    let resource_type = resource_type(sql, plan);
    format!(
        "NOT EXISTS (SELECT 1 FROM alerts o WHERE o.dedup_open = 1 AND o.alert_type = {{alert_type}} \
         AND o.resource_type = {resource_type} AND o.resource_id = {} AND o.assigned_to_staff_id = m.rcp{})",
        candidates.rid,
        correlated(sql.dialect())
    )
}

/// A rule's alerts as `INSERT INTO table (…) SELECT …` up to its `FROM`,
/// over candidate rows `x`: see [`alert_rows`].
pub(super) struct AlertRows {
    pub insert: String,
    /// The select list of `x`.
    pub columns: String,
    /// Joined to `x` after it (`" LEFT JOIN …"`, or empty).
    pub joins: String,
}

/// `INSERT INTO table (…) SELECT …` of a rule's alerts, up to its `FROM`,
/// over candidate rows `x`, the select list `x` needs and what is joined to
/// it. `dedup`: the alerts hold their key's window (the engine's insert);
/// without, the very same rows bare (the benchmark's ceiling).
pub(super) fn alert_rows(
    sql: &mut Sql,
    plan: &RulePlan,
    candidates: &Candidates,
    table: &str,
    dedup: bool,
) -> AlertRows {
    let resource_type = resource_type(sql, plan);
    let (dismissed, dismissed_at) = match id_list(&plan.dismissed_for) {
        Some(ids) => (
            format!("CASE WHEN x.rcp IN ({ids}) THEN TRUE ELSE FALSE END"),
            format!("CASE WHEN x.rcp IN ({ids}) THEN {{now}} END"),
        ),
        None => ("FALSE".to_owned(), "NULL".to_owned()),
    };
    let Texts { columns, title, message, metadata } = texts(sql, plan, &candidates.version);
    // The bare rows carry the stamp too: on MySQL it leaves their
    // statistics' counts to a statement, as the engine's (`bare_counts`).
    let (mut dedup_columns, mut dedup_values) = if dedup {
        (", dedup_open, dedup_version, check_run".to_owned(), ", 1, x.ver, {stamp}".to_owned())
    } else {
        (", check_run".to_owned(), ", {stamp}".to_owned())
    };
    let mut joins = String::new();
    if dedup && plan.escalation.is_some() {
        // The resource's open event, begun before the insert, and its
        // acknowledgement if someone gave it already (a recipient added to
        // an acknowledged event): written here, by one probe of the event's
        // unique key per alert, rather than by later updates of every new
        // alert (0.3 s of a first check at 1 M on PostgreSQL).
        dedup_columns.push_str(", event_id, acknowledged_at, acknowledged_by, acknowledged_by_name");
        dedup_values.push_str(", xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name");
        joins = format!(
            " LEFT JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = {{alert_type}} \
             AND xe.resource_type = {resource_type} AND xe.resource_id = x.rid \
             LEFT JOIN staff xa ON xa.id = xe.acknowledged_by"
        );
    }
    let insert = format!(
        "INSERT INTO {table} (alert_type, severity, title, message, resource_type, resource_id, \
         assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at\
         {dedup_columns}) \
         SELECT {{alert_type}}, {{severity}}, substr({title}, 1, 255), {message}, {resource_type}, x.rid, x.rcp, \
         FALSE, {dismissed}, {metadata}, {{now}}, {dismissed_at}, {{expires}}{dedup_values}"
    );
    AlertRows { insert, columns, joins }
}
