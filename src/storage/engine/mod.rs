//! The engine's hand-tuned, set-based statements: per rule a fixed handful
//! of statements, whatever the number of complaints. The rooms:
//! - here: the plan of a rule's run, [`run_rule`] (one transaction: close
//!   the windows that are over, insert the new alerts, their outbox rows,
//!   read them back) and the outbox insert;
//! - `select`: which complaints or staff a rule matches, who receives what
//!   (the recipient map), and which dedup windows are over (and closing them,
//!   MySQL's way included);
//! - `insert`: the `INSERT … SELECT` with its lock order and conflict clause;
//! - `wording`: titles, messages, metadata and durations, in SQL.
//!
//! The dialect differences are in `dialect` and named in these files:
//! [`insert::on_open_window`], [`insert::lock_order`], PostgreSQL's insert
//! that counts its matches and MySQL's [`select::close_windows`].
mod insert;
mod select;
mod wording;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement,
};

use super::dialect::{Dialect, correlated, materialized};
use super::entities::alert;
use super::sql::{Sql, id_list, scalar};
use super::{Db, begin_write, retrying};
pub use crate::domain::vocab::SlaMetric;
pub(crate) use insert::on_open_window;
use insert::{insert_alerts, key_free};
use select::{Candidates, candidates, close_windows, complaint_condition, resource_table, windows_over};

/// Which complaints a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Complaint(i64),
    /// What changed since the last check at `since`: complaints written and
    /// not yet evaluated, due times and at-risk points that came after
    /// `since`, and windows that are over; nothing else is read.
    Changed {
        since: DateTime<Utc>,
    },
}

/// What a rule looks at.
#[derive(Debug, Clone)]
pub enum Source {
    /// Complaints in `statuses`, their clock running, whose `metric` is overdue.
    SlaBreached { statuses: Vec<String>, metric: SlaMetric },
    /// Complaints in `statuses`, their clock running, `metric` not yet
    /// overdue, whose at-risk point of this rule (`sla_points`) has come.
    SlaAtRisk { statuses: Vec<String>, metric: SlaMetric },
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
    /// Team channels (`slack`, `teams`) each new event is posted to, once.
    pub team_channels: Vec<&'static str>,
    /// The rule's escalation policy, kept by each event it begins.
    pub escalation: Option<EscalationStart>,
}

/// An event's escalation from its start: the policy as it is now, and when
/// its first step comes due.
#[derive(Debug, Clone)]
pub struct EscalationStart {
    pub policy: serde_json::Value,
    pub first_step_after: TimeDelta,
}

/// What a rule's run did.
#[derive(Default)]
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

impl Default for Announce {
    fn default() -> Self {
        Announce::Resync(Vec::new())
    }
}

/// Up to this many new alerts a run announces one by one.
pub const ANNOUNCE_ROWS: u64 = 1000;

/// The ids of the complaints a complaint source matches at `now` (the rule
/// conditions on their own, for tests).
pub async fn matching_complaints(
    db: &impl ConnectionTrait,
    source: &Source,
    rule_id: i64,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<Vec<i64>, DbErr> {
    let mut sql = Sql::new(Dialect::of(db)?);
    sql.bind("now", now);
    let cond = complaint_condition(&mut sql, source, rule_id, scope);
    let rows = db.query_all_raw(sql.statement(&format!("SELECT c.id FROM complaints c WHERE {cond}"))?).await?;
    rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect()
}

/// The values every statement of a rule's run may use.
fn run_values(dialect: Dialect, plan: &RulePlan, run_id: &str, now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(dialect);
    sql.bind("now", now);
    sql.bind("cutoff", now - plan.window);
    sql.bind("expires", now + plan.expires_after);
    sql.bind("stamp", run_id.to_owned());
    sql.bind("alert_type", plan.alert_type.clone());
    sql.bind("severity", plan.severity.clone());
    sql
}

/// The engine's benchmark ceiling (`examples/engine_bench`, feature
/// `bench`): the rule's alerts, the very rows a first check writes (texts
/// and metadata included), as one bare `INSERT … SELECT` into `table`, with
/// no dedup and no engine around it. `None` when the rule has no recipient.
#[cfg(feature = "bench")]
pub fn bare_insert(
    dialect: Dialect,
    plan: &RulePlan,
    now: DateTime<Utc>,
    table: &str,
) -> Result<Option<Statement>, DbErr> {
    let mut sql = run_values(dialect, plan, &super::rollups::bulk_stamp(BARE_RUN), now);
    let Some(candidates) = candidates(&mut sql, plan, Scope::All) else { return Ok(None) };
    let insert::AlertRows { insert, columns, .. } = insert::alert_rows(&mut sql, plan, &candidates, table, false);
    let fence = materialized(dialect);
    sql.statement(&format!("{insert} FROM (SELECT {columns} {} {fence}) x", candidates.from)).map(Some)
}

/// After a [`bare_insert`] into `table` (whose ids are above `last_id`),
/// the statistics' counts its rows left to a statement, as the engine's
/// runs do (MySQL: [`super::rollups::counts_of_stamped`]); none elsewhere.
#[cfg(feature = "bench")]
pub fn bare_counts(dialect: Dialect, table: &str, last_id: i64) -> Result<Vec<Statement>, DbErr> {
    let mut sql = Sql::new(dialect);
    sql.bind("last_id", last_id);
    sql.bind("stamp", super::rollups::bulk_stamp(BARE_RUN));
    super::rollups::counts_of_stamped(dialect, table, NEW).iter().map(|s| sql.statement(s)).collect()
}

/// The run of a [`bare_insert`]'s rows, stamped as a check's bulk run.
#[cfg(feature = "bench")]
const BARE_RUN: &str = "bare";

/// Every statement of one rule's run, built before any of them runs (the
/// golden SQL test renders them per dialect: `tests/sql/`). `{last_id}` is
/// bound at run time: this run's alerts are above it and carry its stamp.
#[derive(Debug, Clone)]
pub struct RuleStatements {
    sql: Sql,
    /// Closes the windows that are over (SQLite, PostgreSQL), or picks them
    /// for closing by id (MySQL: see [`select::close_windows`]).
    pub close: String,
    /// Creates the alerts; on PostgreSQL it also answers (matches, created).
    pub insert: String,
    /// Counts the matches, alongside the write, where the insert does not.
    pub count: Option<String>,
    /// Counts this run's alerts, where the insert does not.
    pub created: Option<String>,
    /// Before the insert, for a rule with an escalation policy on MySQL and
    /// PostgreSQL: reads the resources with a key free, once (see
    /// [`event_statements`]).
    pub event_resources: Option<String>,
    /// Then, per batch of those resources ([`RESOURCES`] replaced by their
    /// ids; on SQLite, by the subquery that finds them): ends their open
    /// events whose every window is over (when [`OPEN_EVENTS`] finds one of
    /// the type open) ...
    pub end_events: Option<String>,
    /// ... and begins one for each that has none open; the insert then
    /// writes each new alert's `event_id`.
    pub begin_events: Option<String>,
    /// For a rule without an escalation policy (whose events are begun by
    /// the first acknowledgement: `alert_events::event_of`), this run's
    /// alerts into their events: ends the open events of the same resources
    /// whose every window is over; links each new alert to its resource's
    /// open event, if any, taking its acknowledgement if someone gave it
    /// already. A rule with one has nothing to do here: the insert did it.
    pub events: Vec<String>,
    /// The outbox rows of this run's alerts, one statement per channel; then
    /// one per team channel, a row per event this run began
    /// ([`super::deliveries::team_inserts`]).
    pub outbox: Vec<String>,
    /// On MySQL, the statistics' counts of this run's alerts, which the row
    /// trigger leaves to one statement per rollup
    /// ([`super::rollups::counts_of_stamped`]); empty elsewhere.
    pub rollups: Vec<String>,
    /// This run's alerts that are not born dismissed, to announce.
    pub new_alerts: String,
    /// Their recipients, when there are too many alerts to announce each
    /// ([`NEW_RECIPIENTS`]).
    pub new_recipients: String,
}

/// This run's alerts (over `alerts al`).
const NEW: &str = "al.id > {last_id} AND al.check_run = {stamp}";

/// The recipients of this run's alerts that are not born dismissed.
/// SQLite: per staff member, one probe of their inbox (`idx_alerts_inbox`:
/// undismissed, created at the run's `now`, then the run's own stamp), not
/// a pass over every new alert (a `SELECT DISTINCT` over them took
/// 0.3-0.7 s a rule at a first check of 1 M). MySQL and PostgreSQL keep the
/// pass over the new alerts by id: PostgreSQL took 176-186 ms for the probe
/// at a due tick of 2 720 alerts, with or without `last_id`, against a few
/// ms for the pass.
const NEW_RECIPIENTS: &str = "SELECT s.id FROM staff s WHERE EXISTS (SELECT 1 FROM alerts al \
     WHERE al.assigned_to_staff_id = s.id AND al.is_dismissed = FALSE AND al.created_at = {now} \
     AND al.check_run = {stamp})";

/// Where [`RuleStatements::begin_events`] and [`RuleStatements::end_events`] take a batch of resource ids (not
/// a `{marker}`: the ids are inlined; left in, it is a syntax error).
pub const RESOURCES: &str = "<resources>";

/// Resources per statement that ends or begins events.
const EVENT_BATCH: usize = 5000;

impl RuleStatements {
    /// `None` when the rule has no recipient to resolve.
    pub fn build(dialect: Dialect, plan: &RulePlan, run_id: &str, now: DateTime<Utc>, scope: Scope) -> Option<Self> {
        // A check's run may write thousands of alerts: on MySQL their
        // statistics are counted after the insert, by statement.
        let bulk = !matches!(scope, Scope::Complaint(_));
        let stamp = if bulk { super::rollups::bulk_stamp(run_id) } else { run_id.to_owned() };
        let mut sql = run_values(dialect, plan, &stamp, now);
        if let Scope::Changed { since } = scope {
            // Windows opened from here on have ended since `since`.
            sql.bind("ended_since", since - plan.window);
        }
        let candidates = candidates(&mut sql, plan, scope)?;
        let over = windows_over(&mut sql, plan, scope);
        let close = select::close_statement(dialect, &over);
        let insert = insert_alerts(&mut sql, plan, &candidates);
        // The matches are counted for the dedup metric (how many an open
        // window absorbed): by the insert itself on PostgreSQL, elsewhere by
        // a read on another connection. The alerts created are counted, not
        // taken from the insert: MySQL's row count of an upsert depends on a
        // client flag.
        let counts_itself = dialect == Dialect::Postgres;
        let count = (!counts_itself).then(|| format!("SELECT COUNT(*) {}", candidates.from));
        let created = (!counts_itself).then(|| format!("SELECT COUNT(*) FROM alerts al WHERE {NEW}"));
        let mut outbox = super::deliveries::outbox_inserts(&mut sql, &plan.outbox, NEW);
        outbox.extend(super::deliveries::team_inserts(&mut sql, &plan.team_channels, NEW));
        let EventStatements { resources: event_resources, end: end_events, begin: begin_events, after: events } =
            event_statements(&mut sql, plan, &candidates, now);
        Some(Self {
            sql,
            close,
            event_resources,
            end_events,
            begin_events,
            insert,
            count,
            created,
            events,
            outbox,
            rollups: match bulk {
                true => super::rollups::counts_of_stamped(dialect, "alerts", NEW),
                false => Vec::new(),
            },
            new_alerts: format!("SELECT al.* FROM alerts al WHERE {NEW} AND al.is_dismissed = FALSE ORDER BY al.id"),
            new_recipients: match dialect {
                Dialect::Sqlite => NEW_RECIPIENTS.to_owned(),
                Dialect::MySql | Dialect::Postgres => {
                    format!(
                        "SELECT DISTINCT al.assigned_to_staff_id FROM alerts al WHERE {NEW} AND al.is_dismissed = FALSE"
                    )
                }
            },
        })
    }

    /// Each statement by name, its markers replaced, with `last_id` bound
    /// and `resources` as the batch of [`Self::begin_events`] and [`Self::end_events`].
    pub fn render(&self, last_id: i64, resources: &[i64]) -> Result<Vec<(String, Statement)>, DbErr> {
        let mut sql = self.sql.clone();
        sql.bind("last_id", last_id);
        let mut out = vec![("close".to_owned(), sql.statement(&self.close)?)];
        if let Some(statement) = &self.event_resources {
            out.push(("event_resources".to_owned(), sql.statement(statement)?));
        }
        out.push(("open_events".to_owned(), sql.statement(OPEN_EVENTS)?));
        let ids = id_list(resources).unwrap_or_else(|| "NULL".to_owned());
        for (name, statement) in [("end_events", &self.end_events), ("begin_events", &self.begin_events)] {
            if let Some(statement) = statement {
                out.push((name.to_owned(), sql.statement(&statement.replace(RESOURCES, &ids))?));
            }
        }
        out.push(("insert".to_owned(), sql.statement(&self.insert)?));
        if let Some(count) = &self.count {
            out.push(("count".to_owned(), sql.statement(count)?));
        }
        if let Some(created) = &self.created {
            out.push(("created".to_owned(), sql.statement(created)?));
        }
        for (i, statement) in self.events.iter().enumerate() {
            out.push((format!("events{i}"), sql.statement(statement)?));
        }
        for (i, outbox) in self.outbox.iter().enumerate() {
            out.push((format!("outbox{i}"), sql.statement(outbox)?));
        }
        for (i, rollup) in self.rollups.iter().enumerate() {
            out.push((format!("rollup{i}"), sql.statement(rollup)?));
        }
        out.push(("new_alerts".to_owned(), sql.statement(&self.new_alerts)?));
        out.push(("new_recipients".to_owned(), sql.statement(&self.new_recipients)?));
        Ok(out)
    }
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
    let dialect = Dialect::of(db)?;
    let Some(statements) = RuleStatements::build(dialect, plan, run_id, now, scope) else {
        return Ok(RuleRun::default());
    };
    let count = statements.count.as_ref().map(|count| statements.sql.statement(count)).transpose()?;
    let count = async {
        match count {
            Some(count) => scalar(db, count).await.map(Some),
            None => Ok(None),
        }
    };
    // Racing runs may still deadlock (MySQL's duplicate-key locks of many
    // racing inserts, PostgreSQL's updates ordered by plans made from
    // different statistics): the loser runs again, deduplicated by the winner.
    let write = retrying(|| async {
        let txn = begin_write(db).await?;
        if dialect == Dialect::Postgres && scope == Scope::All {
            // A full check keeps and sorts its candidates with their texts
            // (~15 MB per 25 000 alerts): in memory rather than temporary
            // files, up to a bound the few full checks can afford.
            txn.execute_unprepared("SET LOCAL work_mem = '128MB'").await?;
        }
        let written = write_rule(&txn, dialect, plan, &statements).await?;
        txn.commit().await?;
        tracing::debug!(rule = %plan.rule_name, "engine: committed");
        Ok::<_, DbErr>(written)
    });
    let (counted, (counted_by_insert, created, announce)) = tokio::try_join!(count, write)?;
    Ok(RuleRun { considered: considered(counted, counted_by_insert, created), created, announce })
}

/// The candidates a run considered: as the count statement or the insert
/// counted them, else (neither counts) those it created.
fn considered(counted: Option<i64>, counted_by_insert: Option<i64>, created: u64) -> u64 {
    counted.or(counted_by_insert).and_then(|n| u64::try_from(n).ok()).unwrap_or(created)
}

/// Runs one rule inside the caller's transaction (a complaint written and
/// evaluated in one): the same statements as [`run_rule`], one after another.
pub async fn run_rule_in(
    txn: &DatabaseTransaction,
    plan: &RulePlan,
    run_id: &str,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<RuleRun, DbErr> {
    let dialect = Dialect::of(txn)?;
    let Some(statements) = RuleStatements::build(dialect, plan, run_id, now, scope) else {
        return Ok(RuleRun::default());
    };
    let (counted_by_insert, created, announce) = write_rule(txn, dialect, plan, &statements).await?;
    let counted = match &statements.count {
        Some(count) => Some(scalar(txn, statements.sql.statement(count)?).await?),
        None => None,
    };
    Ok(RuleRun { considered: considered(counted, counted_by_insert, created), created, announce })
}

/// The write of one rule's run in `txn`: windows closed, events begun, the
/// alerts, their events and outbox rows. Returns the candidates the insert
/// counted (when it counts them), the alerts created and their announcement.
async fn write_rule(
    txn: &DatabaseTransaction,
    dialect: Dialect,
    plan: &RulePlan,
    statements: &RuleStatements,
) -> Result<(Option<i64>, u64, Announce), DbErr> {
    let timer = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(rule = %plan.rule_name, step, elapsed_ms = timer.elapsed().as_millis() as u64, "engine");
    let RuleStatements {
        sql,
        close,
        event_resources,
        end_events,
        begin_events,
        insert,
        created,
        events,
        outbox,
        rollups,
        new_alerts,
        new_recipients,
        ..
    } = statements;
    tracing::trace!(rule = %plan.rule_name, %close, %insert, "engine statements");
    serialise_runs(txn, dialect, plan.rule_id).await?;
    close_windows(txn, sql, close).await?;
    lap("closed");
    let last_id =
        scalar(txn, Statement::from_string(dialect.backend(), "SELECT COALESCE(MAX(id), 0) FROM alerts")).await?;
    let mut sql = sql.clone();
    sql.bind("last_id", last_id);
    // Probed right before the statements it spares, in the same transaction:
    // an event an acknowledgement opens after the probe is one the
    // statements could as well have missed (it commits while they run).
    let any_open = || {
        let probe = sql.statement(OPEN_EVENTS);
        async move { Ok::<_, DbErr>(txn.query_one_raw(probe?).await?.is_some()) }
    };
    // MySQL and PostgreSQL: the resources read once, then ended and begun by
    // batches of ids. Runs of the rule take turns (serialise_runs), so no
    // other run changes which keys are free in between. SQLite (or a rule
    // that begins no events): `None`, the statements find them by subquery.
    let ids = match event_resources {
        Some(resources) => {
            let rows = txn.query_all_raw(sql.statement(resources)?).await?;
            let mut ids: Vec<i64> = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
            // Batches in key order, as the statements take their keys.
            ids.sort_unstable();
            lap("event resources");
            Some(ids)
        }
        None => None,
    };
    // Not probed when no resource was read (a complaint write's run mostly
    // has none).
    let end_events = match end_events {
        Some(end) if ids.as_ref().is_none_or(|ids| !ids.is_empty()) && any_open().await? => Some(end),
        _ => None,
    };
    let before: Vec<&String> = end_events.into_iter().chain(begin_events).collect();
    match ids {
        Some(ids) => {
            for batch in ids.chunks(EVENT_BATCH) {
                let Some(batch) = id_list(batch) else { continue };
                for statement in &before {
                    txn.execute_raw(sql.statement(&statement.replace(RESOURCES, &batch))?).await?;
                }
            }
        }
        None => {
            for statement in before {
                txn.execute_raw(sql.statement(statement)?).await?;
            }
        }
    }
    lap("events begun");
    let (considered, created) = match created {
        None => {
            let row = txn.query_one_raw(sql.statement(insert)?).await?;
            let row = row.ok_or_else(|| DbErr::RecordNotFound("no counts".into()))?;
            (Some(row.try_get_by_index::<i64>(0)?), row.try_get_by_index::<i64>(1)?)
        }
        Some(created) => {
            txn.execute_raw(sql.statement(insert)?).await?;
            (None, scalar(txn, sql.statement(created)?).await?)
        }
    };
    lap("inserted");
    let created = u64::try_from(created).unwrap_or_default();
    let mut announce = Announce::Resync(Vec::new());
    if created > 0 {
        for statement in rollups {
            txn.execute_raw(sql.statement(statement)?).await?;
        }
        lap("counted");
        if !events.is_empty() && any_open().await? {
            for statement in events {
                txn.execute_raw(sql.statement(statement)?).await?;
            }
        }
        lap("events");
        for statement in outbox {
            txn.execute_raw(sql.statement(statement)?).await?;
        }
        lap("outbox");
        announce = if created <= ANNOUNCE_ROWS {
            Announce::Alerts(alert::Model::find_by_statement(sql.statement(new_alerts)?).all(txn).await?)
        } else {
            let rows = txn.query_all_raw(sql.statement(new_recipients)?).await?;
            let staff: Vec<i64> = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
            Announce::Resync(staff)
        };
        lap("read back");
    }
    Ok((considered, created, announce))
}

/// Racing runs of one rule (other tasks, other instances) take turns: the
/// rule's row is locked first. Each run's statements lock windows, events
/// and keys in plan order, which two runs at once could take crosswise (a
/// deadlock of two checkers ending the same thousands of events); the one
/// that waits then finds the other's alerts and creates none. SQLite has
/// one writer already.
async fn serialise_runs(txn: &DatabaseTransaction, dialect: Dialect, rule_id: i64) -> Result<(), DbErr> {
    let lock = match dialect {
        Dialect::Sqlite => return Ok(()),
        Dialect::MySql => "SELECT id FROM alert_rules WHERE id = ? FOR UPDATE",
        Dialect::Postgres => "SELECT id FROM alert_rules WHERE id = $1 FOR UPDATE",
    };
    txn.query_all_raw(Statement::from_sql_and_values(dialect.backend(), lock, [rule_id.into()])).await?;
    Ok(())
}

/// The conflict clause of a new event: a key with an open event already
/// (a racing run's, committed or not) gets nothing; MySQL has no DO NOTHING.
pub(crate) fn on_open_event(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => "ON DUPLICATE KEY UPDATE event_open = alert_events.event_open",
        Dialect::Sqlite | Dialect::Postgres => {
            "ON CONFLICT (event_open, alert_type, resource_type, resource_id) DO NOTHING"
        }
    }
}

/// The statements of [`RuleStatements::event_resources`],
/// [`RuleStatements::begin_events`] and [`RuleStatements::events`]. The
/// unique key of the open events serialises racing checkers as the alerts'
/// dedup key does.
///
/// A rule with an escalation policy begins its events before the insert,
/// for the resources with a key free, and the insert writes each alert's
/// `event_id` and the event's acknowledgement, if any (linking afterwards
/// rewrote every escalating alert once more: 1.75× the bare insert on
/// SQLite, 2.5× on PostgreSQL, a first check at 1 M). A rule without one
/// has events only where someone acknowledged: its new alerts are linked
/// afterwards, which rewrites only those few.
fn event_statements(sql: &mut Sql, plan: &RulePlan, candidates: &Candidates, now: DateTime<Utc>) -> EventStatements {
    let dialect = sql.dialect();
    // Each `EXISTS` a probe per new alert: PostgreSQL, planning with statistics
    // from before this run's events, made a semi-join of one a scan per alert.
    let probe = correlated(dialect);
    // An event's alerts by `idx_alerts_event` alone: with statistics from
    // before the run's events, PostgreSQL intersected it with every open
    // window of `idx_alerts_dedup` for each event (the COALESCE keeps that
    // index out).
    // Joined to the resources (`n`), the probe also names `n`, or PostgreSQL
    // runs it for every open event of the type while scanning them.
    let over = |joined: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM alerts o WHERE o.event_id = ev.id{joined} AND COALESCE(o.dedup_open, 0) = 1{probe})"
        )
    };
    let Some(start) = &plan.escalation else {
        // A new alert that joins an event takes its acknowledgement, when
        // someone gave it already (rare: a recipient added to an event, e.g.
        // after a reassignment).
        let acked = "SELECT e.acknowledged_at, e.acknowledged_by FROM alert_events e WHERE e.id = al.event_id";
        let link_acknowledged = format!(
            "UPDATE alerts AS al SET acknowledged_at = (SELECT e.acknowledged_at FROM alert_events e WHERE e.id = al.event_id), \
             acknowledged_by = (SELECT e.acknowledged_by FROM alert_events e WHERE e.id = al.event_id), \
             acknowledged_by_name = (SELECT s.full_name FROM alert_events e JOIN staff s ON s.id = e.acknowledged_by \
             WHERE e.id = al.event_id) \
             WHERE {NEW} AND EXISTS ({acked} AND e.acknowledged_at IS NOT NULL{probe})"
        );
        // After the insert: the resources of this run's alerts.
        // Not `SELECT DISTINCT … FROM (resources)`: MariaDB 10.11 fails the
        // second run of a prepared multi-table `UPDATE` over that nesting
        // ("Unknown column 'm.rcp'").
        let distinct = format!("SELECT DISTINCT al.resource_id AS rid FROM alerts al WHERE {NEW}");
        let end = match dialect {
            // MySQL runs an `IN (subquery)` of a single-table `UPDATE` once per
            // row of the table (every open event of the type: 47 s a due tick at
            // 1 M); a join to the derived table reads the resources once, and
            // from them (`STRAIGHT_JOIN`) probes the events' unique key: joined
            // the other way, MariaDB scanned every open event of the type.
            Dialect::MySql => format!(
                "UPDATE ({distinct}) n STRAIGHT_JOIN alert_events ev ON ev.event_open = 1 \
                 AND ev.alert_type = {{alert_type}} AND ev.resource_type = {{resource_type}} AND ev.resource_id = n.rid \
                 SET ev.event_open = NULL, ev.next_step = NULL, ev.next_step_at = NULL WHERE {over}",
                over = over(" AND o.resource_id = n.rid")
            ),
            // PostgreSQL made the `IN (subquery)` a subplan run for every open
            // event of the type (minutes at 100 000 open events): the resources
            // are a derived table behind a fence, read once and joined.
            Dialect::Postgres => format!(
                "UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL \
                 FROM ({distinct} {fence}) n WHERE ev.resource_id = n.rid \
                 AND ev.event_open = 1 AND ev.alert_type = {{alert_type}} AND ev.resource_type = {{resource_type}} \
                 AND {over}",
                fence = materialized(dialect),
                over = over(" AND o.resource_id = n.rid")
            ),
            Dialect::Sqlite => format!(
                "UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL \
                 WHERE ev.event_open = 1 AND ev.alert_type = {{alert_type}} AND ev.resource_type = {{resource_type}} \
                 AND ev.resource_id IN (SELECT al.resource_id FROM alerts al WHERE {NEW}) AND {over}",
                over = over("")
            ),
        };
        // A new alert joins its resource's open event: a probe of the event's
        // unique key per new alert (a join let SQLite walk every open event).
        let open_event = "FROM alert_events e WHERE e.event_open = 1 AND e.alert_type = al.alert_type \
             AND e.resource_type = al.resource_type AND e.resource_id = al.resource_id";
        let link = format!(
            "UPDATE alerts AS al SET event_id = (SELECT e.id {open_event}) WHERE {NEW} AND EXISTS (SELECT 1 {open_event}{probe})"
        );
        return EventStatements { resources: None, end: None, begin: None, after: vec![end, link, link_acknowledged] };
    };
    // Before the insert: the resources with a key free.
    let Candidates { from, rid, .. } = candidates;
    let free = key_free(sql, plan, candidates);
    let resources = format!("{rid} AS rid {from} AND {free}");
    // By ids, the events' unique key is probed per resource (no subquery for
    // MySQL to run per event, nor for PostgreSQL to plan as a subplan); the
    // probe names the resource for the reason above.
    let end = format!(
        "UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL \
         WHERE ev.event_open = 1 AND ev.alert_type = {{alert_type}} AND ev.resource_type = {{resource_type}} \
         AND ev.resource_id IN ({RESOURCES}) AND {over}",
        over = over(" AND o.resource_id = ev.resource_id")
    );
    let rule_id = sql.bind("rule_id", plan.rule_id);
    let due = sql.bind("first_step_at", now + start.first_step_after);
    let policy = sql.bind("policy", start.policy.clone());
    // PostgreSQL reads the bound JSON as text.
    let policy = match dialect {
        Dialect::Postgres => format!("CAST({policy} AS json)"),
        Dialect::Sqlite | Dialect::MySql => policy,
    };
    let conflict = on_open_event(dialect);
    // In key order, as the alerts' insert: racing checkers wait, not deadlock.
    let order = match dialect {
        Dialect::Sqlite => "",
        Dialect::MySql | Dialect::Postgres => " ORDER BY r.id",
    };
    // The resources' own table is the row source of the ids (by primary key).
    let begin = format!(
        "INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, \
         policy, next_step, next_step_at, cycle) \
         SELECT {rule_id}, {{alert_type}}, {{resource_type}}, r.id, 1, {{now}}, {policy}, 1, {due}, 0 \
         FROM {table} r WHERE r.id IN ({RESOURCES}){order} {conflict}",
        table = resource_table(plan)
    );
    match dialect {
        // MySQL and PostgreSQL read the resources once, then end and begin by
        // batches of ids: each statement re-evaluated the candidates before
        // (on MariaDB, 20-35 ms of a due tick). SQLite runs in-process, where
        // rows read through the driver cost more than the second pass: its
        // ids are the subquery itself (whose end is not even run when the
        // type has no open event, as at a first check).
        Dialect::Sqlite => {
            let [end, begin] = [end, begin].map(|s| s.replace(RESOURCES, &format!("SELECT {resources}")));
            EventStatements { resources: None, end: Some(end), begin: Some(begin), after: Vec::new() }
        }
        Dialect::MySql | Dialect::Postgres => EventStatements {
            resources: Some(format!("SELECT DISTINCT {resources}")),
            end: Some(end),
            begin: Some(begin),
            after: Vec::new(),
        },
    }
}

/// A run's event statements: the resources read before its insert, the
/// statements that end and begin events before it (over batches of those),
/// and those after it.
struct EventStatements {
    resources: Option<String>,
    end: Option<String>,
    begin: Option<String>,
    after: Vec<String>,
}

/// Whether an event of the rule's type is open (a probe of the prefix of
/// the events' unique key): [`RuleStatements::end_events`] and
/// [`RuleStatements::events`] have work only then. Most often none is (no
/// one acknowledged, or a first check), and the probe spares a pass over
/// the run's alerts or resources per statement (0.3-0.4 s a rule at a
/// first check of 1 M on PostgreSQL).
const OPEN_EVENTS: &str = "SELECT 1 FROM alert_events e WHERE e.event_open = 1 AND e.alert_type = {alert_type} LIMIT 1";

/// Ends the live SLA and critical alerts of a complaint that was resolved or
/// closed; returns whose inboxes had one (read first: MariaDB has no
/// `UPDATE … RETURNING`, and an alert raised in between is not one to end).
pub async fn expire_complaint_alerts(
    db: &impl ConnectionTrait,
    complaint_id: i64,
    alert_types: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    expire_alerts_of(db, complaint_id, None, alert_types, now).await
}

/// [`expire_complaint_alerts`], of one recipient only (`recipient`), or of all (`None`).
pub async fn expire_alerts_of(
    db: &impl ConnectionTrait,
    complaint_id: i64,
    recipient: Option<i64>,
    alert_types: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    use alert::Column as A;
    let mut live_of_complaint = super::alerts::live_about_complaint(complaint_id, alert_types, now);
    if let Some(staff_id) = recipient {
        live_of_complaint = live_of_complaint.add(Expr::col(A::AssignedToStaffId).eq(staff_id));
    }
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
