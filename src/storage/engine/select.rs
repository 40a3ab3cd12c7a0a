//! What a rule matches and which of its dedup windows are over.
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement};

use super::{RulePlan, Scope, Source};
use crate::storage::dialect::{Dialect, concat, narrow_index, share_elapsed, timestamp_key};
use crate::storage::sql::{Sql, id_list};

/// The complaints a complaint source matches (alias `c`).
pub(super) fn complaint_condition(sql: &mut Sql, source: &Source, scope: Scope) -> String {
    let b = sql.dialect();
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
                version: complaint_version(sql.dialect(), "c"),
            }
        }
    })
}

/// A complaint's dedup version: its deadline and priority.
fn complaint_version(b: Dialect, c: &str) -> String {
    let deadline = timestamp_key(b, &format!("{c}.sla_deadline"));
    concat(b, &[&format!("COALESCE({deadline}, '0')"), "'|'", &format!("{c}.priority")])
}

/// The rule's resource type (a bound marker).
pub(super) fn resource_type(sql: &mut Sql, plan: &RulePlan) -> String {
    let resource_type = if matches!(plan.source, Source::Workload { .. }) { "staff" } else { "complaint" };
    sql.bind("resource_type", resource_type)
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
            complaint_version(sql.dialect(), "c"),
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
