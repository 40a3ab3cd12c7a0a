//! The engine's hand-tuned, set-based statements: per rule a fixed handful
//! of statements, whatever the number of complaints. Their dialect
//! differences are in `dialect` (date arithmetic and formatting, text
//! concatenation, JSON, fences) and here: the insert's conflict clause
//! ([`on_open_window`]), its lock order ([`lock_order`]), PostgreSQL's
//! insert that counts its matches ([`insert_alerts`]) and MySQL's closing
//! of windows ([`close_windows`]).
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, FromQueryResult, IsolationLevel,
    QueryFilter, QuerySelect, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};

use super::Db;
use super::dialect::{
    as_int, concat, correlated, floor, int_div, json_object, materialized, narrow_index, placeholder, seconds_between,
    share_elapsed, text, timestamp_key, utc_minute, utc_rfc3339,
};
use super::entities::alert;

/// Rows per statement where rows go through Rust (cleanup).
pub const BATCH_ROWS: usize = 1000;

/// Which complaints a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Complaint(i64),
}

/// What a rule looks at.
#[derive(Debug, Clone)]
pub enum Source {
    /// Complaints in `statuses` whose deadline has passed.
    SlaBreached { statuses: Vec<String> },
    /// Complaints in `statuses`, not yet breached, that used `share` (0..1) of their SLA window.
    SlaAtRisk { statuses: Vec<String>, share: f64 },
    /// Complaints in `statuses` of `priority`.
    Priority { priority: String, statuses: Vec<String> },
    /// Staff with more than `threshold` complaints in `statuses` assigned.
    Workload { statuses: Vec<String>, threshold: i64 },
}

/// Who receives an alert: the owner (a complaint's active assignee, or the
/// overloaded staff member), the owner's supervisor, members of roles.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub owner: bool,
    pub owner_supervisor: bool,
    pub roles: Vec<String>,
}

/// One rule's run, as the storage layer needs it.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub rule_id: i64,
    pub rule_name: String,
    pub source: Source,
    pub alert_type: String,
    pub severity: String,
    /// With an active owner.
    pub recipients: Recipients,
    /// Without one (an unassigned complaint, or one whose assignee is inactive).
    pub unassigned_recipients: Recipients,
    pub window: TimeDelta,
    pub expires_after: TimeDelta,
    /// Recipients whose alert is created already dismissed (in-app switched off).
    pub dismissed_for: Vec<i64>,
    /// Outbox channels per recipient (`email`, `sms`, `webhook`).
    pub outbox: HashMap<i64, Vec<&'static str>>,
}

/// What a rule's run did.
pub struct RuleRun {
    /// (resource, recipient) pairs the rule matched, deduplicated or not.
    pub considered: u64,
    /// Alerts created.
    pub created: u64,
    /// Who to tell about them.
    pub announce: Announce,
}

/// The live pushes of a run's new (not dismissed) alerts: each alert when
/// there are few; past [`ANNOUNCE_ROWS`], a resync per recipient (a bulk run
/// would overflow the event channel anyway, and one message per inbox
/// beats thousands).
pub enum Announce {
    Alerts(Vec<alert::Model>),
    Resync(Vec<i64>),
}

/// Up to this many new alerts a run announces one by one.
pub const ANNOUNCE_ROWS: u64 = 1000;

/// A hand-written statement with named values: every `{name}` in the text
/// becomes the dialect's next placeholder (MySQL's and SQLite's `?` are
/// positional, so a value used twice is bound twice).
struct Sql {
    backend: DbBackend,
    values: HashMap<String, Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Self { backend, values: HashMap::new() }
    }

    /// Binds `value` as `{name}`; returns the marker.
    fn bind(&mut self, name: &str, value: impl Into<Value>) -> String {
        self.values.insert(name.to_owned(), value.into());
        format!("{{{name}}}")
    }

    /// `IN (…)` over bound texts; never empty (an empty list matches nothing).
    fn in_list(&mut self, prefix: &str, items: &[String]) -> String {
        if items.is_empty() {
            return "IN (NULL)".to_owned();
        }
        let markers: Vec<String> =
            items.iter().enumerate().map(|(i, item)| self.bind(&format!("{prefix}{i}"), item.clone())).collect();
        format!("IN ({})", markers.join(", "))
    }

    /// The statement, markers replaced by placeholders. A marker left open or
    /// unbound is a bug in this module: an error, not a panic on a request.
    fn statement(&self, sql: &str) -> Result<Statement, DbErr> {
        let mut out = String::with_capacity(sql.len());
        let mut values = Vec::new();
        let mut rest = sql;
        while let Some(open) = rest.find('{') {
            let close =
                open + rest[open..].find('}').ok_or_else(|| DbErr::Custom(format!("unclosed marker in: {sql}")))?;
            let name = &rest[open + 1..close];
            let value = self.values.get(name).ok_or_else(|| DbErr::Custom(format!("unbound {{{name}}} in: {sql}")))?;
            out.push_str(&rest[..open]);
            values.push(value.clone());
            out.push_str(&placeholder(self.backend, values.len()));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Ok(super::dialect::portable(Statement::from_sql_and_values(self.backend, out, values)))
    }
}

/// Integer ids inlined into SQL (they are numbers, nothing to escape).
fn id_list(ids: &[i64]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
}

/// The complaints a complaint source matches (alias `c`).
fn complaint_condition(sql: &mut Sql, source: &Source, scope: Scope) -> String {
    let b = sql.backend;
    let mut cond = match source {
        Source::SlaBreached { statuses } => {
            format!("c.status {} AND c.sla_deadline <= {{now}}", sql.in_list("st", statuses))
        }
        Source::SlaAtRisk { statuses, share } => {
            let share = sql.bind("share", *share);
            format!(
                "c.status {} AND c.sla_deadline > {{now}} AND {}",
                sql.in_list("st", statuses),
                share_elapsed(b, "c.created_at", "c.sla_deadline", "{now}", &share),
            )
        }
        Source::Priority { priority, statuses } => {
            let priority = sql.bind("priority", priority.clone());
            format!("c.priority = {priority} AND c.status {}", sql.in_list("st", statuses))
        }
        Source::Workload { .. } => unreachable!("not a complaint source"),
    };
    if let Scope::Complaint(id) = scope {
        cond.push_str(&format!(" AND c.id = {}", sql.bind("scope", id)));
    }
    cond
}

/// Who receives what an owner's complaint (or workload) raises: (owner,
/// recipient) pairs over active staff, from the staff table alone (small);
/// owner 0 stands for "no active owner".
fn recipient_map(sql: &mut Sql, plan: &RulePlan) -> Option<String> {
    let r = &plan.recipients;
    let mut branches = Vec::new();
    if r.owner {
        branches.push("SELECT a.id AS owner, a.id AS rcp FROM staff a WHERE a.is_active = TRUE".to_owned());
    }
    if r.owner_supervisor {
        branches.push(
            "SELECT a.id, s.id FROM staff a JOIN staff s ON s.id = a.supervisor_id AND s.is_active = TRUE \
             WHERE a.is_active = TRUE"
                .to_owned(),
        );
    }
    if !r.roles.is_empty() {
        let roles = sql.in_list("role", &r.roles);
        branches.push(format!(
            "SELECT a.id, r.id FROM staff a JOIN staff r ON r.is_active = TRUE \
             JOIN roles ro ON ro.id = r.role_id AND ro.name {roles} WHERE a.is_active = TRUE"
        ));
    }
    let unassigned = &plan.unassigned_recipients.roles;
    if !unassigned.is_empty() && !matches!(plan.source, Source::Workload { .. }) {
        let roles = sql.in_list("urole", unassigned);
        branches.push(format!(
            "SELECT 0, r.id FROM staff r JOIN roles ro ON ro.id = r.role_id AND ro.name {roles} \
             WHERE r.is_active = TRUE"
        ));
    }
    (!branches.is_empty()).then(|| branches.join(" UNION "))
}

/// What a rule matches: `FROM … WHERE …` over the matching complaints
/// (alias `c`; or overloaded staff, alias `a`, with their open-complaint
/// count `w.n`), each read once and joined to the [`recipient_map`] (alias
/// `m`) by its active owner; one row per (resource, recipient).
struct Candidates {
    from: String,
    /// The resource id expression.
    rid: &'static str,
    /// What an alert is about; a change starts a new window.
    version: String,
}

/// The rule's [`Candidates`]; `None` when no recipient can be resolved.
fn candidates(sql: &mut Sql, plan: &RulePlan, scope: Scope) -> Option<Candidates> {
    let map = recipient_map(sql, plan)?;
    Some(match &plan.source {
        Source::Workload { statuses, threshold } => {
            let statuses = sql.in_list("st", statuses);
            let threshold = sql.bind("threshold", *threshold);
            // With a complaint scope, only that complaint's assignee is counted.
            let scoped = match scope {
                Scope::All => String::new(),
                Scope::Complaint(id) => format!(
                    " AND o.assigned_to_staff_id IN (SELECT assigned_to_staff_id FROM complaints WHERE id = {})",
                    sql.bind("scope", id)
                ),
            };
            Candidates {
                from: format!(
                    "FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n FROM complaints o \
                     WHERE o.status {statuses} AND o.assigned_to_staff_id IS NOT NULL{scoped} \
                     GROUP BY o.assigned_to_staff_id) w \
                     JOIN staff a ON a.id = w.sid AND a.is_active = TRUE JOIN ({map}) m ON m.owner = a.id \
                     WHERE w.n > {threshold}"
                ),
                rid: "a.id",
                version: "'workload'".to_owned(),
            }
        }
        source => {
            let cond = complaint_condition(sql, source, scope);
            Candidates {
                from: format!(
                    "FROM complaints c LEFT JOIN staff a ON a.id = c.assigned_to_staff_id AND a.is_active = TRUE \
                     JOIN ({map}) m ON m.owner = COALESCE(a.id, 0) WHERE {cond}"
                ),
                rid: "c.id",
                version: complaint_version(sql.backend, "c"),
            }
        }
    })
}

/// A complaint's dedup version: its deadline and priority.
fn complaint_version(b: DbBackend, c: &str) -> String {
    let deadline = timestamp_key(b, &format!("{c}.sla_deadline"));
    concat(b, &[&format!("COALESCE({deadline}, '0')"), "'|'", &format!("{c}.priority")])
}

/// The rule's resource type (a bound marker).
fn resource_type(sql: &mut Sql, plan: &RulePlan) -> String {
    let resource_type = if matches!(plan.source, Source::Workload { .. }) { "staff" } else { "complaint" };
    sql.bind("resource_type", resource_type)
}

/// Which windows of the rule's alert type are over (a filter over
/// `alerts w`): opened before the cutoff, or about a deadline or priority
/// the complaint no longer has. It reads the open alerts of the type only
/// (a range of an index; on MySQL the index holds all it reads, as
/// `idx_complaints_version` holds the complaints' versions).
fn windows_over(sql: &mut Sql, plan: &RulePlan, scope: Scope) -> String {
    let resource_type = resource_type(sql, plan);
    let workload = matches!(plan.source, Source::Workload { .. });
    let current = if workload {
        "'workload'".to_owned()
    } else {
        format!(
            "COALESCE((SELECT {} FROM {} WHERE c.id = w.resource_id), '')",
            complaint_version(sql.backend, "c"),
            narrow_index(sql.backend, "complaints", "c", "idx_complaints_version")
        )
    };
    let scoped = match scope {
        Scope::All => String::new(),
        Scope::Complaint(id) if workload => format!(
            " AND w.resource_id IN (SELECT assigned_to_staff_id FROM complaints WHERE id = {})",
            sql.bind("scope", id)
        ),
        Scope::Complaint(id) => format!(" AND w.resource_id = {}", sql.bind("scope", id)),
    };
    format!(
        "w.dedup_open = 1 AND w.alert_type = {{alert_type}} AND w.resource_type = {resource_type}{scoped} \
         AND (w.created_at < {{cutoff}} OR COALESCE(w.dedup_version, '') <> {current})"
    )
}

/// Closes the windows `over` (a filter over `alerts w`) picks, in `txn`.
/// One `UPDATE` on SQLite and PostgreSQL. MySQL's `UPDATE` does not walk an
/// index whose columns it sets (it reads every row of the table instead),
/// and a multi-table `UPDATE` share-locks what its join reads (two racing
/// checkers then deadlock upgrading those locks): there the windows are
/// picked by a plain (non-locking) `SELECT` of the index alone
/// (`idx_alerts_window`), and closed by id, in id order, in batches.
async fn close_windows(txn: &DatabaseTransaction, sql: &Sql, over: &str) -> Result<(), DbErr> {
    if sql.backend != DbBackend::MySql {
        txn.execute_raw(sql.statement(&format!("UPDATE alerts AS w SET dedup_open = NULL WHERE {over}"))?).await?;
        return Ok(());
    }
    let from = narrow_index(sql.backend, "alerts", "w", "idx_alerts_window");
    let rows =
        txn.query_all_raw(sql.statement(&format!("SELECT w.id FROM {from} WHERE {over} ORDER BY w.id"))?).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
    for batch in ids.chunks(CLOSE_BATCH) {
        if let Some(ids) = id_list(batch) {
            let close = format!("UPDATE alerts SET dedup_open = NULL WHERE id IN ({ids}) AND dedup_open = 1");
            txn.execute_raw(Statement::from_string(sql.backend, close)).await?;
        }
    }
    Ok(())
}

/// Windows closed per statement on MySQL.
const CLOSE_BATCH: usize = 5000;

/// The order the insert takes its keys in: one order for every checker, so
/// that two racing inserts wait on each other instead of deadlocking.
/// SQLite has one writer at a time: no sort.
fn lock_order(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => "",
        _ => " ORDER BY x.rid, x.rcp",
    }
}

/// The insert's conflict clause: a key with an open window already (a racing
/// checker's alert, committed or not) gets nothing. MySQL has no DO NOTHING:
/// an update that changes nothing.
fn on_open_window(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::MySql => "ON DUPLICATE KEY UPDATE dedup_open = alerts.dedup_open",
        _ => "ON CONFLICT (dedup_open, alert_type, resource_type, resource_id, assigned_to_staff_id) DO NOTHING",
    }
}

/// "2 d 3 h", "3 h 20 min", "45 min", "less than a minute", from whole minutes.
fn duration_text(b: DbBackend, minutes: &str) -> String {
    let m = minutes;
    let div = |x: &str, d: &str| int_div(b, x, d);
    let t = |x: &str| text(b, x);
    let (hours, days) = (div(m, "60"), div(m, "1440"));
    let hours_of_day = format!("({hours} % 24)");
    format!(
        "CASE WHEN {m} < 1 THEN 'less than a minute' \
         WHEN {m} < 60 THEN {} \
         WHEN {m} < 1440 AND {m} % 60 = 0 THEN {} \
         WHEN {m} < 1440 THEN {} \
         WHEN {hours_of_day} = 0 THEN {} \
         ELSE {} END",
        concat(b, &[&t(m), "' min'"]),
        concat(b, &[&t(&hours), "' h'"]),
        concat(b, &[&t(&hours), "' h '", &t(&format!("({m} % 60)")), "' min'"]),
        concat(b, &[&t(&days), "' d'"]),
        concat(b, &[&t(&days), "' d '", &t(&hours_of_day), "' h'"]),
    )
}

/// Whole minutes (never below zero) of an integer seconds expression.
fn whole_minutes(b: DbBackend, seconds: &str) -> String {
    int_div(b, &format!("(CASE WHEN {seconds} > 0 THEN {seconds} ELSE 0 END)"), "60")
}

/// The `INSERT INTO alerts … SELECT` of a rule: one alert per candidate
/// whose key has no open window, its title, message and metadata built in
/// SQL, holding the key's window from now on. The inner table `x` computes
/// each number once (behind a [`materialized`] fence: the texts use them
/// many times). The `NOT EXISTS` spares the texts of keys alerted already;
/// the unique index, through [`on_open_window`], is what guarantees one
/// alert per window when checkers race.
fn insert_alerts(sql: &mut Sql, plan: &RulePlan, candidates: &Candidates, bare_into: Option<&str>) -> String {
    let b = sql.backend;
    let resource_type = resource_type(sql, plan);
    let Candidates { from, rid, version } = candidates;
    let not_open = format!(
        "NOT EXISTS (SELECT 1 FROM alerts o WHERE o.dedup_open = 1 AND o.alert_type = {{alert_type}} \
         AND o.resource_type = {resource_type} AND o.resource_id = {rid} AND o.assigned_to_staff_id = m.rcp{})",
        correlated(b)
    );
    let c = |parts: &[&str]| concat(b, parts);
    let rule_id = sql.bind("rule_id", plan.rule_id);
    let rule_name = sql.bind("rule_name", plan.rule_name.clone());
    let (dismissed, dismissed_at) = match id_list(&plan.dismissed_for) {
        Some(ids) => (
            format!("CASE WHEN x.rcp IN ({ids}) THEN TRUE ELSE FALSE END"),
            format!("CASE WHEN x.rcp IN ({ids}) THEN {{now}} END"),
        ),
        None => ("FALSE".to_owned(), "NULL".to_owned()),
    };
    let fence = materialized(b);
    let (columns, title, message, metadata) = match &plan.source {
        Source::Workload { threshold, .. } => {
            let threshold = sql.bind("threshold", *threshold);
            let columns = format!("m.rcp, a.id AS rid, {version} AS ver, a.full_name AS name, w.n");
            let title = c(&["'High workload: '", "x.name"]);
            let message = c(&[
                "x.name",
                "' has '",
                &text(b, "x.n"),
                "' open complaints assigned (threshold '",
                &text(b, &threshold),
                "').'",
            ]);
            let metadata = json_object(
                b,
                &[
                    ("rule_id", rule_id),
                    ("rule_name", rule_name),
                    ("staff_id", "x.rid".into()),
                    ("open_complaints", as_int(b, "x.n")),
                    ("threshold", threshold),
                ],
            );
            (columns, title, message, metadata)
        }
        source => {
            // The numbers of the message, in whole seconds and percent.
            let numbers = match source {
                Source::SlaBreached { .. } => {
                    format!(", {} AS secs", as_int(b, &floor(b, &seconds_between(b, "c.sla_deadline", "{now}"))))
                }
                Source::SlaAtRisk { .. } => {
                    let elapsed = seconds_between(b, "c.created_at", "{now}");
                    let window = seconds_between(b, "c.created_at", "c.sla_deadline");
                    let percent = as_int(
                        b,
                        &floor(b, &format!("(CASE WHEN {window} >= 1 THEN {elapsed} * 100 / {window} ELSE 100 END)")),
                    );
                    let left = as_int(b, &floor(b, &seconds_between(b, "{now}", "c.sla_deadline")));
                    format!(", {left} AS secs, {percent} AS pct")
                }
                _ => String::new(),
            };
            let columns = format!(
                "m.rcp, c.id AS rid, {version} AS ver, c.title, c.customer_name, c.priority, c.status, \
                 {} AS deadline_text, {} AS deadline_json, a.id AS owner, a.full_name AS owner_name{numbers}",
                utc_minute(b, "c.sla_deadline"),
                utc_rfc3339(b, "c.sla_deadline"),
            );
            let who = format!(
                "CASE WHEN x.owner IS NULL THEN 'unassigned' ELSE {} END",
                c(&["'assigned to '", "x.owner_name"])
            );
            let id = text(b, "x.rid");
            let mut metadata = vec![
                ("rule_id", rule_id),
                ("rule_name", rule_name),
                ("complaint_id", "x.rid".to_owned()),
                ("priority", "x.priority".to_owned()),
                ("status", "x.status".to_owned()),
                ("assigned_to_staff_id", "x.owner".to_owned()),
                ("sla_deadline", "x.deadline_json".to_owned()),
            ];
            // `Complaint #7 "Title" (high, assigned to Ann`: how both SLA messages begin.
            let sla_lead =
                ["'Complaint #'", id.as_str(), "' \"'", "x.title", "'\" ('", "x.priority", "', '", who.as_str()];
            let duration = duration_text(b, &whole_minutes(b, "x.secs"));
            let (title, message) = match source {
                Source::SlaBreached { .. } => {
                    metadata.push(("overdue_seconds", "x.secs".to_owned()));
                    (
                        c(&["'SLA breached: complaint #'", &id]),
                        c(&[
                            &sla_lead[..],
                            &["') missed its SLA deadline of '", "x.deadline_text", "' UTC by '", &duration, "'.'"],
                        ]
                        .concat()),
                    )
                }
                Source::SlaAtRisk { .. } => {
                    let percent = "(CASE WHEN x.pct > 100 THEN 100 WHEN x.pct < 0 THEN 0 ELSE x.pct END)";
                    metadata.push(("elapsed_percent", percent.to_owned()));
                    metadata.push(("seconds_left", "x.secs".to_owned()));
                    (
                        c(&["'SLA at risk: complaint #'", &id]),
                        c(&[
                            &sla_lead[..],
                            &[
                                "') has used '",
                                &text(b, percent),
                                "'% of its SLA window: '",
                                &duration,
                                "' left until '",
                                "x.deadline_text",
                                "' UTC.'",
                            ],
                        ]
                        .concat()),
                    )
                }
                _ => {
                    let capitalised = c(&["upper(substr(x.priority, 1, 1))", "substr(x.priority, 2)"]);
                    (
                        c(&[&capitalised, "' complaint #'", &id]),
                        c(&[
                            "'Complaint #'",
                            &id,
                            "' \"'",
                            "x.title",
                            "'\" from '",
                            "x.customer_name",
                            "' has '",
                            "x.priority",
                            "' priority ('",
                            &who,
                            "'); SLA deadline '",
                            &format!("COALESCE({}, 'none')", c(&["x.deadline_text", "' UTC'"])),
                            "'.'",
                        ]),
                    )
                }
            };
            (columns, title, message, json_object(b, &metadata))
        }
    };
    let insert = |table: &str, dedup_columns: &str, dedup_values: &str| {
        format!(
            "INSERT INTO {table} (alert_type, severity, title, message, resource_type, resource_id, \
             assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at\
             {dedup_columns}) \
             SELECT {{alert_type}}, {{severity}}, substr({title}, 1, 255), {message}, {resource_type}, x.rid, x.rcp, \
             FALSE, {dismissed}, {metadata}, {{now}}, {dismissed_at}, {{expires}}{dedup_values}"
        )
    };
    if let Some(table) = bare_into {
        return format!("{} FROM (SELECT {columns} {from} {fence}) x", insert(table, "", ""));
    }
    let insert = insert("alerts", ", dedup_open, dedup_version, check_run", ", 1, x.ver, {stamp}");
    let (order, conflict) = (lock_order(b), on_open_window(b));
    match b {
        // One statement that also counts the matches: the candidates are
        // computed once, each with whether its key is free, and the texts
        // built only for those that are.
        DbBackend::Postgres => format!(
            "WITH x AS MATERIALIZED (SELECT {columns}, {not_open} AS fresh {from}), \
             ins AS ({insert} FROM x WHERE x.fresh{order} {conflict} RETURNING 1) \
             SELECT (SELECT COUNT(*) FROM x), (SELECT COUNT(*) FROM ins)"
        ),
        _ => format!("{insert} FROM (SELECT {columns} {from} AND {not_open} {fence}) x WHERE TRUE{order} {conflict}"),
    }
}

/// A write transaction. SQLite takes the write lock up front so racing
/// writers queue on the busy timeout instead of failing on lock upgrade.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => {
            TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() }
        }
        _ => TransactionOptions {
            isolation_level: Some(IsolationLevel::ReadCommitted),
            access_mode: Some(AccessMode::ReadWrite),
            ..Default::default()
        },
    };
    db.begin_with_options(options).await
}

async fn scalar(db: &impl ConnectionTrait, stmt: Statement) -> Result<i64, DbErr> {
    let row = db.query_one_raw(stmt).await?.ok_or_else(|| DbErr::RecordNotFound("no row".into()))?;
    row.try_get_by_index::<i64>(0)
}

/// The ids of the complaints a complaint source matches at `now` (the rule
/// conditions on their own, for tests).
pub async fn matching_complaints(
    db: &impl ConnectionTrait,
    source: &Source,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<Vec<i64>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.bind("now", now);
    let cond = complaint_condition(&mut sql, source, scope);
    let rows = db.query_all_raw(sql.statement(&format!("SELECT c.id FROM complaints c WHERE {cond}"))?).await?;
    rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect()
}

/// The values every statement of a rule's run may use.
fn run_values(backend: DbBackend, plan: &RulePlan, run_id: &str, now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(backend);
    sql.bind("now", now);
    sql.bind("cutoff", now - plan.window);
    sql.bind("expires", now + plan.expires_after);
    sql.bind("stamp", run_id.to_owned());
    sql.bind("alert_type", plan.alert_type.clone());
    sql.bind("severity", plan.severity.clone());
    sql
}

/// The engine's benchmark ceiling: the rule's alerts, the very rows a first
/// check writes (texts and metadata included), as one bare
/// `INSERT … SELECT` into `table`, with no dedup and no engine around it.
/// `None` when the rule has no recipient.
pub fn bare_insert(
    backend: DbBackend,
    plan: &RulePlan,
    now: DateTime<Utc>,
    table: &str,
) -> Result<Option<Statement>, DbErr> {
    let mut sql = run_values(backend, plan, "bare", now);
    let Some(candidates) = candidates(&mut sql, plan, Scope::All) else { return Ok(None) };
    let insert = insert_alerts(&mut sql, plan, &candidates, Some(table));
    sql.statement(&insert).map(Some)
}

/// Runs one rule, in one transaction: ends the windows that are over, then
/// one `INSERT … SELECT` creates an alert for each (resource, recipient) it
/// matches whose key has no open window, then the alerts' outbox rows.
/// Racing checkers (other tasks, other instances) are serialised by the
/// unique dedup index: exactly one of them creates each alert.
pub async fn run_rule(
    db: &Db,
    plan: &RulePlan,
    run_id: &str,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<RuleRun, DbErr> {
    let backend = db.get_database_backend();
    let timer = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(rule = %plan.rule_name, step, elapsed_ms = timer.elapsed().as_millis() as u64, "engine");
    let mut sql = run_values(backend, plan, run_id, now);
    let Some(candidates) = candidates(&mut sql, plan, scope) else {
        return Ok(RuleRun { considered: 0, created: 0, announce: Announce::Resync(Vec::new()) });
    };
    let over = windows_over(&mut sql, plan, scope);
    let insert = insert_alerts(&mut sql, plan, &candidates, None);

    // The matches are counted for the dedup metric (how many an open window
    // absorbed): by the insert itself on PostgreSQL, elsewhere by a read on
    // another connection, alongside the write.
    let counts_itself = backend == DbBackend::Postgres;
    let count = (!counts_itself).then(|| sql.statement(&format!("SELECT COUNT(*) {}", candidates.from))).transpose()?;
    let count = async {
        match count {
            Some(count) => scalar(db, count).await.map(Some),
            None => Ok(None),
        }
    };
    tracing::trace!(rule = %plan.rule_name, %over, %insert, "engine statements");
    let write = async {
        let txn = begin_write(db).await?;
        close_windows(&txn, &sql, &over).await?;
        lap("closed");
        // This run's alerts are above this id (ids only grow) and carry its stamp.
        let last_id = scalar(&txn, Statement::from_string(backend, "SELECT COALESCE(MAX(id), 0) FROM alerts")).await?;
        let mut sql = Sql { backend, values: sql.values.clone() };
        sql.bind("last_id", last_id);
        let new = "al.id > {last_id} AND al.check_run = {stamp}";
        let (considered, created) = if counts_itself {
            let row = txn.query_one_raw(sql.statement(&insert)?).await?;
            let row = row.ok_or_else(|| DbErr::RecordNotFound("no counts".into()))?;
            (Some(row.try_get_by_index::<i64>(0)?), row.try_get_by_index::<i64>(1)?)
        } else {
            txn.execute_raw(sql.statement(&insert)?).await?;
            // Counted, not taken from the insert: MySQL's row count of an
            // upsert depends on a client flag.
            (None, scalar(&txn, sql.statement(&format!("SELECT COUNT(*) FROM alerts al WHERE {new}"))?).await?)
        };
        lap("inserted");
        let created = u64::try_from(created).unwrap_or_default();
        let mut announce = Announce::Resync(Vec::new());
        if created > 0 {
            insert_outbox(&txn, &mut sql, plan, new).await?;
            lap("outbox");
            announce = if created <= ANNOUNCE_ROWS {
                let q = format!("SELECT al.* FROM alerts al WHERE {new} AND al.is_dismissed = FALSE ORDER BY al.id");
                Announce::Alerts(alert::Model::find_by_statement(sql.statement(&q)?).all(&txn).await?)
            } else {
                // The recipients, but those whose alerts are born dismissed.
                let q = format!("SELECT DISTINCT al.assigned_to_staff_id FROM alerts al WHERE {new}");
                let rows = txn.query_all_raw(sql.statement(&q)?).await?;
                let staff: Vec<i64> = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
                Announce::Resync(staff.into_iter().filter(|id| !plan.dismissed_for.contains(id)).collect())
            };
            lap("read back");
        }
        txn.commit().await?;
        lap("committed");
        Ok::<_, DbErr>((considered, created, announce))
    };
    let (counted, (counted_by_insert, created, announce)) = tokio::try_join!(count, write)?;
    let considered = counted.or(counted_by_insert).and_then(|n| u64::try_from(n).ok()).unwrap_or(created);
    Ok(RuleRun { considered, created, announce })
}

/// The outbox rows of the new alerts (`new`, over `alerts al`), one
/// `INSERT … SELECT` per channel someone subscribed to.
async fn insert_outbox(txn: &DatabaseTransaction, sql: &mut Sql, plan: &RulePlan, new: &str) -> Result<(), DbErr> {
    let mut by_channel: HashMap<&str, Vec<i64>> = HashMap::new();
    for (staff_id, channels) in &plan.outbox {
        for channel in channels {
            by_channel.entry(channel).or_default().push(*staff_id);
        }
    }
    let mut channels: Vec<_> = by_channel.into_iter().collect();
    channels.sort();
    for (channel, mut staff) in channels {
        staff.sort_unstable();
        let Some(staff) = id_list(&staff) else { continue };
        let channel = sql.bind("channel", channel.to_owned());
        let q = format!(
            "INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, \
             created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, {channel}, 'pending', 0, {{now}}, {{now}}, \
             {{now}} FROM alerts al WHERE al.assigned_to_staff_id IN ({staff}) AND {new}"
        );
        txn.execute_raw(sql.statement(&q)?).await?;
    }
    Ok(())
}

/// Ends the live SLA and critical alerts of a complaint that was resolved or
/// closed; returns whose inboxes had one (read first: MariaDB has no
/// `UPDATE … RETURNING`, and an alert raised in between is not one to end).
pub async fn expire_complaint_alerts(
    db: &impl ConnectionTrait,
    complaint_id: i64,
    alert_types: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    use alert::Column as A;
    let live_of_complaint = Condition::all()
        .add(Expr::col(A::ResourceType).eq("complaint"))
        .add(Expr::col(A::ResourceId).eq(complaint_id))
        .add(Expr::col(A::AlertType).is_in(alert_types.iter().copied()))
        .add(Expr::col(A::ExpiresAt).is_null().or(Expr::col(A::ExpiresAt).gt(now)));
    let recipients: Vec<i64> = alert::Entity::find()
        .select_only()
        .column(A::AssignedToStaffId)
        .distinct()
        .filter(live_of_complaint.clone())
        .into_tuple()
        .all(db)
        .await?;
    if recipients.is_empty() {
        return Ok(recipients);
    }
    alert::Entity::update_many().col_expr(A::ExpiresAt, Expr::value(now)).filter(live_of_complaint).exec(db).await?;
    Ok(recipients)
}

/// Takes the lease of `job` for `ttl` if it is free (expired) at `now`.
/// One conditional UPDATE: of several instances asking at once, one gets it.
pub async fn take_lease(
    db: &impl ConnectionTrait,
    job: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<bool, DbErr> {
    let q = Query::update()
        .table("job_leases")
        .value("holder", holder)
        .value("expires_at", now + ttl)
        .and_where(Expr::col("name").eq(job))
        .and_where(Expr::col("expires_at").lte(now))
        .take();
    Ok(db.execute(&q).await?.rows_affected() == 1)
}

/// Gives the lease back early (on shutdown), if this holder still has it.
pub async fn release_lease(
    db: &impl ConnectionTrait,
    job: &str,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let q = Query::update()
        .table("job_leases")
        .value("expires_at", now)
        .and_where(Expr::col("name").eq(job))
        .and_where(Expr::col("holder").eq(holder))
        .take();
    db.execute(&q).await.map(|_| ())
}

/// Deletes up to one batch of alerts dismissed or expired before `before`;
/// returns how many. (MySQL cannot delete from a table it selects from in a
/// subquery, so the ids go through a derived table.)
pub async fn delete_old_alerts_batch(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    use alert::Column as A;
    let old = Expr::col(A::IsDismissed)
        .eq(true)
        .and(Expr::col(A::DismissedAt).lt(before))
        .or(Expr::col(A::ExpiresAt).lt(before));
    let ids = Query::select().column(A::Id).from(alert::Entity).and_where(old).limit(BATCH_ROWS as u64).take();
    let derived = Query::select().column("id").from_subquery(ids, Alias::new("old_ids")).take();
    let q = Query::delete().from_table(alert::Entity).and_where(Expr::col(A::Id).in_subquery(derived)).take();
    Ok(db.execute(&q).await?.rows_affected())
}
