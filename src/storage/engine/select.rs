//! What a rule matches and which of its dedup windows are over.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement};

use super::{RulePlan, Scope, SlaMetric, Source};
use crate::storage::dialect::{Dialect, concat, narrow_index, sqlite_index, timestamp_key};
use crate::storage::sql::{Sql, id_list};

/// The complaints a complaint source matches (alias `c`).
pub(super) fn complaint_condition(sql: &mut Sql, source: &Source, rule_id: i64, scope: Scope) -> String {
    let mut cond = match source {
        Source::SlaBreached { statuses, metric } => {
            format!(
                "c.status {} AND c.sla_paused_since IS NULL AND {} <= {{now}}{}",
                sql.in_list("st", statuses),
                due_column(*metric),
                unmet(*metric)
            )
        }
        Source::SlaAtRisk { statuses, metric } => {
            let rule_id = sql.bind("rule_id", rule_id);
            // Over every complaint, the points that came are read once; over
            // a few (one complaint, or what changed), each is probed by key.
            let point_came = match scope {
                Scope::All => format!(
                    "c.id IN (SELECT p.complaint_id FROM sla_points p WHERE p.rule_id = {rule_id} AND p.due_at <= {{now}})"
                ),
                Scope::Complaint(_) | Scope::Changed { .. } => format!(
                    "EXISTS (SELECT 1 FROM sla_points p WHERE p.complaint_id = c.id AND p.rule_id = {rule_id} \
                     AND p.due_at <= {{now}})"
                ),
            };
            format!(
                "c.status {} AND c.sla_paused_since IS NULL AND {} > {{now}}{} AND {point_came}",
                sql.in_list("st", statuses),
                due_column(*metric),
                unmet(*metric)
            )
        }
        Source::Priority { priority, statuses } => {
            let priority = sql.bind("priority", priority.clone());
            format!("c.priority = {priority} AND c.status {}", sql.in_list("st", statuses))
        }
        Source::Workload { .. } => unreachable!("not a complaint source"),
    };
    match scope {
        Scope::All => {}
        Scope::Complaint(id) => cond.push_str(&format!(" AND c.id = {}", sql.bind("scope", id))),
        Scope::Changed { since } => {
            cond.push_str(&format!(" AND c.id IN ({})", changed_complaints(sql, source, rule_id, since)))
        }
    }
    cond
}

/// The complaints a complaint rule must look at again since `since`: those
/// written and not yet evaluated, those whose watched due time or at-risk
/// point came in (`since`, now], and those whose window of this rule is over
/// by time. Each branch is a range of an index.
fn changed_complaints(sql: &mut Sql, source: &Source, rule_id: i64, since: DateTime<Utc>) -> String {
    let since = sql.bind("since", since);
    let mut branches = vec![UNCHECKED.to_owned()];
    match source {
        Source::SlaAtRisk { .. } => {
            let rule_id = sql.bind("rule_id", rule_id);
            branches.push(format!(
                "SELECT complaint_id FROM sla_points WHERE rule_id = {rule_id} AND due_at > {since} AND due_at <= {{now}}"
            ));
        }
        Source::SlaBreached { metric: SlaMetric::Resolution, statuses } => {
            // A range of `idx_complaints_status_deadline` per status.
            branches.push(format!(
                "SELECT id FROM complaints WHERE status {} AND sla_deadline > {since} AND sla_deadline <= {{now}}",
                sql.in_list("st", statuses)
            ));
        }
        Source::SlaBreached { metric: SlaMetric::FirstResponse, .. } => {
            branches.push(format!(
                "SELECT id FROM complaints WHERE first_response_due_at > {since} AND first_response_due_at <= {{now}}"
            ));
        }
        Source::Priority { .. } | Source::Workload { .. } => {}
    }
    branches.push(windows_ended(sql, "complaint"));
    materialized_ids(&branches.join(" UNION "))
}

/// A `UNION` of id lists as a derived table, read once: MySQL runs
/// `IN (SELECT … UNION SELECT …)` as a dependent subquery for every row of
/// the outer scan (a UNION cannot be a semi-join), but materialises a
/// derived table (10 s an idle tick at 1 M complaints on MariaDB before).
fn materialized_ids(union: &str) -> String {
    format!("SELECT ch.id FROM ({union}) ch")
}

/// Complaints written and not yet evaluated.
const UNCHECKED: &str = "SELECT id FROM complaints WHERE sla_unchecked_since IS NOT NULL";

/// Open windows of the rule's alert type whose time ran out since the last
/// check: opened in [`{ended_since}`, `{cutoff}`), the watermark and now
/// less the window (a slice of `idx_alerts_created`, which leads with the
/// time so that no dedup probe ever takes it for the dedup index).
fn windows_ended(sql: &mut Sql, resource_type: &str) -> String {
    let resource_type = sql.bind("resource_type", resource_type);
    let alerts = sqlite_index(sql.dialect(), "alerts", "e", "idx_alerts_created");
    format!(
        "SELECT e.resource_id FROM {alerts} WHERE e.created_at >= {{ended_since}} AND e.created_at < {{cutoff}} \
         AND e.alert_type = {{alert_type}} AND e.dedup_open = 1 AND e.resource_type = {resource_type}"
    )
}

/// The due time of a metric's clock (alias `c`).
pub(super) fn due_column(metric: SlaMetric) -> &'static str {
    match metric {
        SlaMetric::Resolution => "c.sla_deadline",
        SlaMetric::FirstResponse => "c.first_response_due_at",
    }
}

/// The metric's target is not met yet (a resolved complaint is out by its status).
fn unmet(metric: SlaMetric) -> &'static str {
    match metric {
        SlaMetric::Resolution => "",
        SlaMetric::FirstResponse => " AND c.first_responded_at IS NULL",
    }
}

/// The due time a source's alerts are about: a first-response rule's own.
fn source_due(source: &Source) -> &'static str {
    match source {
        Source::SlaBreached { metric: SlaMetric::FirstResponse, .. }
        | Source::SlaAtRisk { metric: SlaMetric::FirstResponse, .. } => "first_response_due_at",
        Source::SlaBreached { .. } | Source::SlaAtRisk { .. } | Source::Priority { .. } | Source::Workload { .. } => {
            "sla_deadline"
        }
    }
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
pub(super) struct Candidates {
    pub from: String,
    /// The resource id expression.
    pub rid: &'static str,
    /// What an alert is about; a change starts a new window.
    pub version: String,
}

/// The rule's [`Candidates`]; `None` when no recipient can be resolved.
pub(super) fn candidates(sql: &mut Sql, plan: &RulePlan, scope: Scope) -> Option<Candidates> {
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
                Scope::Changed { .. } => {
                    format!(" AND o.assigned_to_staff_id IN ({})", changed_staff(sql))
                }
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
            let cond = complaint_condition(sql, source, plan.rule_id, scope);
            Candidates {
                from: format!(
                    "FROM complaints c LEFT JOIN staff a ON a.id = c.assigned_to_staff_id AND a.is_active = TRUE \
                     JOIN ({map}) m ON m.owner = COALESCE(a.id, 0) WHERE {cond}"
                ),
                rid: "c.id",
                version: complaint_version(sql.dialect(), "c", source_due(source)),
            }
        }
    })
}

/// The staff whose workload must be looked at again: the assignees of
/// complaints written and not yet evaluated, and those whose workload window
/// is over by time.
fn changed_staff(sql: &mut Sql) -> String {
    materialized_ids(&format!(
        "SELECT assigned_to_staff_id AS id FROM complaints WHERE sla_unchecked_since IS NOT NULL \
         UNION {}",
        windows_ended(sql, "staff")
    ))
}

/// A complaint's dedup version: the due time the rule watches and its priority.
fn complaint_version(b: Dialect, c: &str, due: &str) -> String {
    let deadline = timestamp_key(b, &format!("{c}.{due}"));
    concat(b, &[&format!("COALESCE({deadline}, '0')"), "'|'", &format!("{c}.priority")])
}

/// The rule's resource type (a bound marker).
pub(super) fn resource_type(sql: &mut Sql, plan: &RulePlan) -> String {
    let resource_type = if matches!(plan.source, Source::Workload { .. }) { "staff" } else { "complaint" };
    sql.bind("resource_type", resource_type)
}

/// The table of the rule's resources (see [`resource_type`]).
pub(super) fn resource_table(plan: &RulePlan) -> &'static str {
    if matches!(plan.source, Source::Workload { .. }) { "staff" } else { "complaints" }
}

/// Which windows of the rule's alert type are over (a filter over
/// `alerts w`): opened before the cutoff, or about a deadline or priority
/// the complaint no longer has. It reads the open alerts of the type only
/// (a range of an index; on MySQL the index holds all it reads, as
/// `idx_complaints_version` holds the complaints' versions).
pub(super) fn windows_over(sql: &mut Sql, plan: &RulePlan, scope: Scope) -> String {
    let resource_type = resource_type(sql, plan);
    let workload = matches!(plan.source, Source::Workload { .. });
    let current = if workload {
        "'workload'".to_owned()
    } else {
        format!(
            "COALESCE((SELECT {} FROM {} WHERE c.id = w.resource_id), '')",
            complaint_version(sql.dialect(), "c", source_due(&plan.source)),
            narrow_index(sql.dialect(), "complaints", "c", "idx_complaints_version")
        )
    };
    let scoped = match scope {
        Scope::All => String::new(),
        Scope::Complaint(id) if workload => format!(
            " AND w.resource_id IN (SELECT assigned_to_staff_id FROM complaints WHERE id = {})",
            sql.bind("scope", id)
        ),
        Scope::Complaint(id) => format!(" AND w.resource_id = {}", sql.bind("scope", id)),
        Scope::Changed { .. } if workload => format!(" AND w.resource_id IN ({})", changed_staff(sql)),
        Scope::Changed { since } => {
            format!(" AND w.resource_id IN ({})", changed_complaints(sql, &plan.source, plan.rule_id, since))
        }
    };
    format!(
        "w.dedup_open = 1 AND w.alert_type = {{alert_type}} AND w.resource_type = {resource_type}{scoped} \
         AND (w.created_at < {{cutoff}} OR COALESCE(w.dedup_version, '') <> {current})"
    )
}

/// The statement that closes the windows `over` (a filter over `alerts w`)
/// picks: one `UPDATE` on SQLite and PostgreSQL. MySQL's `UPDATE` does not
/// walk an index whose columns it sets (it reads every row of the table
/// instead), and a multi-table `UPDATE` share-locks what its join reads (two
/// racing checkers then deadlock upgrading those locks): there the windows
/// are picked by a plain (non-locking) `SELECT` of the index alone
/// (`idx_alerts_window`), and [`close_windows`] closes them by id.
pub(super) fn close_statement(dialect: Dialect, over: &str) -> String {
    match dialect {
        Dialect::Sqlite | Dialect::Postgres => format!("UPDATE alerts AS w SET dedup_open = NULL WHERE {over}"),
        Dialect::MySql => {
            format!(
                "SELECT w.id FROM {} WHERE {over} ORDER BY w.id",
                narrow_index(dialect, "alerts", "w", "idx_alerts_window")
            )
        }
    }
}

/// Runs a [`close_statement`] in `txn`; on MySQL, closes the picked windows
/// by id, in id order, in batches.
pub(super) async fn close_windows(txn: &DatabaseTransaction, sql: &Sql, close: &str) -> Result<(), DbErr> {
    let statement = sql.statement(close)?;
    match sql.dialect() {
        Dialect::Sqlite | Dialect::Postgres => {
            txn.execute_raw(statement).await?;
        }
        Dialect::MySql => {
            let rows = txn.query_all_raw(statement).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
            for batch in ids.chunks(CLOSE_BATCH) {
                if let Some(ids) = id_list(batch) {
                    let close = format!("UPDATE alerts SET dedup_open = NULL WHERE id IN ({ids}) AND dedup_open = 1");
                    txn.execute_raw(Statement::from_string(sql.dialect().backend(), close)).await?;
                }
            }
        }
    }
    Ok(())
}

/// Windows closed per statement on MySQL.
const CLOSE_BATCH: usize = 5000;
