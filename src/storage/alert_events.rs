//! `alert_events`: acknowledging an event for all its recipients, resolving
//! the events of a complaint, and the escalation steps that came due.
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use sea_orm::{FromQueryResult, Statement};
use serde_json::Value;

use super::dialect::{Dialect, materialized};
use super::engine::{on_open_event, on_open_window};
use super::entities::{alert, alert_event, escalation_policy};
use super::sql::{Sql, id_list, scalar};

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<alert_event::Model>, DbErr> {
    alert_event::Entity::find_by_id(id).one(db).await
}

/// Every alert of an event (each recipient's copy), oldest first.
pub async fn alerts_of(db: &impl ConnectionTrait, event_id: i64) -> Result<Vec<alert::Model>, DbErr> {
    alert::Entity::find().filter(alert::Column::EventId.eq(event_id)).order_by_asc(alert::Column::Id).all(db).await
}

/// Who acknowledged, and what the event waits for next.
pub struct Acknowledgement<'a> {
    pub staff_id: i64,
    pub full_name: &'a str,
    pub at: DateTime<Utc>,
    /// The acknowledgement timeout: the steps start over then unless resolved.
    pub next_step_at: Option<DateTime<Utc>>,
}

/// Acknowledges the event for all its recipients, once: the first
/// acknowledgement wins and a later one changes nothing. Returns whether it
/// was this one.
pub async fn acknowledge(db: &impl ConnectionTrait, event_id: i64, ack: &Acknowledgement<'_>) -> Result<bool, DbErr> {
    use alert_event::Column as E;
    let next_step = ack.next_step_at.map(|_| 1);
    let claimed = alert_event::Entity::update_many()
        .col_expr(E::AcknowledgedAt, Expr::value(ack.at))
        .col_expr(E::AcknowledgedBy, Expr::value(ack.staff_id))
        .col_expr(E::NextStep, Expr::value(next_step))
        .col_expr(E::NextStepAt, Expr::value(ack.next_step_at))
        .filter(E::Id.eq(event_id))
        .filter(E::AcknowledgedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(false);
    }
    acknowledge_alerts(db, alert::Column::EventId.eq(event_id), ack).await?;
    Ok(true)
}

/// Acknowledges one alert that has no event (raised before events existed).
pub async fn acknowledge_alone(
    db: &impl ConnectionTrait,
    alert_id: i64,
    ack: &Acknowledgement<'_>,
) -> Result<bool, DbErr> {
    acknowledge_alerts(db, alert::Column::Id.eq(alert_id), ack).await
}

async fn acknowledge_alerts(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
    ack: &Acknowledgement<'_>,
) -> Result<bool, DbErr> {
    use alert::Column as A;
    let updated = alert::Entity::update_many()
        .col_expr(A::AcknowledgedAt, Expr::value(ack.at))
        .col_expr(A::AcknowledgedBy, Expr::value(ack.staff_id))
        .col_expr(A::AcknowledgedByName, Expr::value(ack.full_name))
        .filter(which)
        .filter(A::AcknowledgedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Resolves the unresolved events of `alert_types` about a complaint (they
/// stop escalating) and stamps its alerts of those types (with an event or
/// not); returns those alerts, to push.
pub async fn resolve_for_complaint(
    db: &impl ConnectionTrait,
    complaint_id: i64,
    alert_types: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<alert::Model>, DbErr> {
    use alert::Column as A;
    use alert_event::Column as E;
    let of_complaint = |types: &[&str]| {
        sea_orm::Condition::all()
            .add(A::ResourceType.eq("complaint"))
            .add(A::ResourceId.eq(complaint_id))
            .add(A::AlertType.is_in(types.iter().copied()))
    };
    let stamped = alert::Entity::update_many()
        .col_expr(A::ResolvedAt, Expr::value(now))
        .filter(of_complaint(alert_types))
        .filter(A::ResolvedAt.is_null())
        .exec(db)
        .await?;
    alert_event::Entity::update_many()
        .col_expr(E::ResolvedAt, Expr::value(now))
        .col_expr(E::NextStep, Expr::value(Option::<i32>::None))
        .col_expr(E::NextStepAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(E::ResourceType.eq("complaint"))
        .filter(E::ResourceId.eq(complaint_id))
        .filter(E::AlertType.is_in(alert_types.iter().copied()))
        .filter(E::ResolvedAt.is_null())
        .exec(db)
        .await?;
    if stamped.rows_affected == 0 {
        return Ok(Vec::new());
    }
    alert::Entity::find().filter(of_complaint(alert_types)).filter(A::ResolvedAt.eq(now)).all(db).await
}

// ---------------------------------------------------------------- policies

pub async fn policies(db: &impl ConnectionTrait) -> Result<Vec<escalation_policy::Model>, DbErr> {
    escalation_policy::Entity::find().order_by_asc(escalation_policy::Column::Id).all(db).await
}

pub async fn policy(db: &impl ConnectionTrait, id: i64) -> Result<Option<escalation_policy::Model>, DbErr> {
    escalation_policy::Entity::find_by_id(id).one(db).await
}

pub async fn policy_named(db: &impl ConnectionTrait, name: &str) -> Result<Option<escalation_policy::Model>, DbErr> {
    escalation_policy::Entity::find().filter(escalation_policy::Column::Name.eq(name)).one(db).await
}

/// A policy, checked by the domain.
pub struct PolicyRow {
    pub name: String,
    pub steps: Value,
    pub repeat: Option<Value>,
    pub ack_timeout_minutes: Option<i64>,
}

pub async fn insert_policy(
    db: &impl ConnectionTrait,
    row: PolicyRow,
    now: DateTime<Utc>,
) -> Result<escalation_policy::Model, DbErr> {
    let mut policy = escalation_policy::ActiveModel { id: NotSet, created_at: Set(now), ..Default::default() };
    set_policy(&mut policy, row, now);
    policy.insert(db).await
}

pub async fn update_policy(
    db: &impl ConnectionTrait,
    current: escalation_policy::Model,
    row: PolicyRow,
    now: DateTime<Utc>,
) -> Result<escalation_policy::Model, DbErr> {
    let mut policy = current.into_active_model();
    set_policy(&mut policy, row, now);
    policy.update(db).await
}

fn set_policy(policy: &mut escalation_policy::ActiveModel, row: PolicyRow, now: DateTime<Utc>) {
    policy.name = Set(row.name);
    policy.steps = Set(row.steps);
    policy.repeat_policy = Set(row.repeat);
    policy.ack_timeout_minutes = Set(row.ack_timeout_minutes);
    policy.updated_at = Set(now);
}

pub async fn delete_policy(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(escalation_policy::Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}

// ---------------------------------------------------------------- escalation steps

/// The events whose next step (or acknowledgement timeout) is due, oldest
/// first, at most `limit`: a range of `idx_alert_events_next`, empty when
/// nothing is due, however many events are open.
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Result<Vec<alert_event::Model>, DbErr> {
    alert_event::Entity::find()
        .filter(alert_event::Column::NextStepAt.lte(now))
        .order_by_asc(alert_event::Column::NextStepAt)
        .order_by_asc(alert_event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Where each claimed event goes next.
pub struct Next {
    pub event_id: i64,
    pub next_step: Option<i32>,
    pub next_step_at: Option<DateTime<Utc>>,
    pub cycle: i32,
}

/// Which of a group of due events a run claims: each still at step `step`
/// of cycle `cycle`, due, unresolved, and acknowledged or not as `acknowledged`
/// says. One conditional `UPDATE` moves them on and stamps them with `run`,
/// so of racing runs (ticks, instances) exactly one fires each step; the
/// step's alerts are written in the same transaction. Returns the claimed ids.
pub async fn claim(
    db: &impl ConnectionTrait,
    run: &str,
    group: &StepGroup,
    next: &[Next],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    let ids: Vec<i64> = next.iter().map(|n| n.event_id).collect();
    let Some(id_list) = id_list(&ids) else { return Ok(Vec::new()) };
    let mut sql = Sql::new(Dialect::of(db)?);
    let mut case = |column: &str, values: Vec<sea_orm::Value>| {
        let mut out = format!("{column} = CASE id");
        for (i, (id, value)) in ids.iter().zip(values).enumerate() {
            out.push_str(&format!(" WHEN {id} THEN {}", sql.bind(&format!("{column}{i}"), value)));
        }
        out.push_str(" END");
        out
    };
    let sets = [
        case("next_step", next.iter().map(|n| n.next_step.into()).collect()),
        case("next_step_at", next.iter().map(|n| n.next_step_at.into()).collect()),
        case("cycle", next.iter().map(|n| n.cycle.into()).collect()),
    ];
    let run_marker = sql.bind("run", run.to_owned());
    let (step, cycle, now) = (sql.bind("step", group.step), sql.bind("cycle_now", group.cycle), sql.bind("now", now));
    let acknowledged = if group.acknowledged { "IS NOT NULL" } else { "IS NULL" };
    let update = format!(
        "UPDATE alert_events SET {}, step_run = {run_marker} WHERE id IN ({id_list}) AND next_step = {step} \
         AND cycle = {cycle} AND next_step_at <= {now} AND resolved_at IS NULL AND acknowledged_at {acknowledged}",
        sets.join(", ")
    );
    db.execute_raw(sql.statement(&update)?).await?;
    alert_event::Entity::find()
        .select_only()
        .column(alert_event::Column::Id)
        .filter(alert_event::Column::StepRun.eq(run))
        .into_tuple()
        .all(db)
        .await
}

/// Due events that fire the same way: the same step of the same cycle,
/// acknowledged (an acknowledgement timeout) or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepGroup {
    pub step: i32,
    pub cycle: i32,
    pub acknowledged: bool,
}

/// Whom a step adds (see `domain::escalation::Target`).
#[derive(Debug, Default, Clone)]
pub struct StepTargets {
    pub assignee: bool,
    pub assignee_supervisor: bool,
    pub roles: Vec<String>,
    pub emails: Vec<String>,
}

/// The alerts of a claimed step: one per (event, target) who has none of
/// the event yet and is active, copying the event's first alert (texts,
/// expiry, dedup version) and holding its own dedup window, so neither a
/// rule nor a later step alerts them twice. One `INSERT … SELECT`; returns
/// the new alerts (those of `run` above `last_id`).
pub async fn insert_step_alerts(
    db: &impl ConnectionTrait,
    run: &str,
    step: i32,
    targets: &StepTargets,
    now: DateTime<Utc>,
) -> Result<Vec<alert::Model>, DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let run_marker = sql.bind("run", run.to_owned());
    let claimed = format!("e.step_run = {run_marker}");
    let owner = "CASE WHEN e.resource_type = 'staff' THEN e.resource_id ELSE c.assigned_to_staff_id END";
    let events = "alert_events e LEFT JOIN complaints c ON e.resource_type = 'complaint' AND c.id = e.resource_id";
    let mut branches = Vec::new();
    if targets.assignee {
        branches.push(format!("SELECT e.id AS eid, {owner} AS rcp FROM {events} WHERE {claimed}"));
    }
    if targets.assignee_supervisor {
        branches.push(format!(
            "SELECT e.id AS eid, o.supervisor_id AS rcp FROM {events} JOIN staff o ON o.id = {owner} WHERE {claimed}"
        ));
    }
    if !targets.roles.is_empty() {
        let roles = sql.in_list("role", &targets.roles);
        branches.push(format!(
            "SELECT e.id AS eid, r.id AS rcp FROM alert_events e CROSS JOIN staff r \
             JOIN roles ro ON ro.id = r.role_id AND ro.name {roles} WHERE {claimed}"
        ));
    }
    if !targets.emails.is_empty() {
        let emails = sql.in_list("email", &targets.emails);
        branches.push(format!(
            "SELECT e.id AS eid, r.id AS rcp FROM alert_events e CROSS JOIN staff r WHERE r.email {emails} AND {claimed}"
        ));
    }
    if branches.is_empty() {
        return Ok(Vec::new());
    }
    let last_id =
        scalar(db, Statement::from_string(dialect.backend(), "SELECT COALESCE(MAX(id), 0) FROM alerts")).await?;
    let last_id = sql.bind("last_id", last_id);
    let (now, step) = (sql.bind("now", now), sql.bind("step", step));
    // A bulk insert: its statistics are counted after it on MySQL.
    let stamp = sql.bind("stamp", super::rollups::bulk_stamp(run));
    let fence = materialized(dialect);
    let conflict = on_open_window(dialect);
    // One key order for every run, so racing inserts wait instead of deadlocking (SQLite: one writer).
    let order = match dialect {
        Dialect::Sqlite => "",
        Dialect::MySql | Dialect::Postgres => " ORDER BY x.eid, x.rcp",
    };
    let insert = format!(
        "INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, \
         is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, \
         check_run, event_id, escalation_step) \
         SELECT t.alert_type, t.severity, t.title, t.message, t.resource_type, t.resource_id, x.rcp, FALSE, FALSE, \
         t.alert_metadata, {now}, NULL, t.expires_at, 1, t.dedup_version, {stamp}, x.eid, {step} \
         FROM (SELECT DISTINCT r.eid, r.rcp, (SELECT MIN(f.id) FROM alerts f WHERE f.event_id = r.eid) AS tid \
               FROM ({}) r JOIN staff s ON s.id = r.rcp AND s.is_active = TRUE \
               WHERE NOT EXISTS (SELECT 1 FROM alerts o WHERE o.event_id = r.eid AND o.assigned_to_staff_id = r.rcp) \
               {fence}) x \
         JOIN alerts t ON t.id = x.tid WHERE TRUE{order} {conflict}",
        branches.join(" UNION "),
    );
    db.execute_raw(sql.statement(&insert)?).await?;
    let stamped = format!("al.id > {last_id} AND al.check_run = {stamp}");
    for rollup in super::rollups::counts_of_stamped(dialect, "alerts", &stamped) {
        db.execute_raw(sql.statement(&rollup)?).await?;
    }
    let new = format!("SELECT al.* FROM alerts al WHERE {stamped} ORDER BY al.id");
    alert::Model::find_by_statement(sql.statement(&new)?).all(db).await
}

/// An acknowledged event whose acknowledgement timed out starts over:
/// its acknowledgement is cleared on the event and on every alert of it.
/// Returns those alerts, to push.
pub async fn reopen(db: &impl ConnectionTrait, run: &str) -> Result<Vec<alert::Model>, DbErr> {
    use alert_event::Column as E;
    let events: Vec<i64> =
        alert_event::Entity::find().select_only().column(E::Id).filter(E::StepRun.eq(run)).into_tuple().all(db).await?;
    if events.is_empty() {
        return Ok(Vec::new());
    }
    alert_event::Entity::update_many()
        .col_expr(E::AcknowledgedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(E::AcknowledgedBy, Expr::value(Option::<i64>::None))
        .filter(E::Id.is_in(events.iter().copied()))
        .exec(db)
        .await?;
    use alert::Column as A;
    alert::Entity::update_many()
        .col_expr(A::AcknowledgedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(A::AcknowledgedBy, Expr::value(Option::<i64>::None))
        .col_expr(A::AcknowledgedByName, Expr::value(Option::<String>::None))
        .filter(A::EventId.is_in(events.iter().copied()))
        .exec(db)
        .await?;
    alert::Entity::find().filter(A::EventId.is_in(events)).all(db).await
}

/// Reminders of a repeat cycle: new outbox rows, per the recipients'
/// channels, for the alerts the targets already have of the claimed events.
pub async fn remind(
    db: &impl ConnectionTrait,
    run: &str,
    channels: &std::collections::HashMap<i64, Vec<&'static str>>,
    now: DateTime<Utc>,
) -> Result<Vec<alert::Model>, DbErr> {
    let mut sql = Sql::new(Dialect::of(db)?);
    let run_marker = sql.bind("run", run.to_owned());
    let of_run = format!("al.event_id IN (SELECT e.id FROM alert_events e WHERE e.step_run = {run_marker})");
    outbox_rows(db, &mut sql, &format!("al.is_dismissed = FALSE AND {of_run}"), channels, now).await?;
    let all = format!("SELECT al.* FROM alerts al WHERE {of_run} ORDER BY al.id");
    alert::Model::find_by_statement(sql.statement(&all)?).all(db).await
}

/// The outbox rows of the alerts a step created, per the recipients' channels.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    alerts: &[alert::Model],
    channels: &std::collections::HashMap<i64, Vec<&'static str>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    let Some(ids) = id_list(&ids) else { return Ok(()) };
    let mut sql = Sql::new(Dialect::of(db)?);
    outbox_rows(db, &mut sql, &format!("al.id IN ({ids})"), channels, now).await
}

/// The outbox rows of the alerts (`al`) matching `which`, per the recipients' channels.
async fn outbox_rows(
    db: &impl ConnectionTrait,
    sql: &mut Sql,
    which: &str,
    channels: &std::collections::HashMap<i64, Vec<&'static str>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    sql.bind("now", now);
    for insert in super::deliveries::outbox_inserts(sql, channels, which) {
        db.execute_raw(sql.statement(&insert)?).await?;
    }
    Ok(())
}

/// Uses the recipient's acknowledge link of alert `id`, once: whether this was the first use.
pub async fn use_ack_link(
    db: &impl ConnectionTrait,
    id: i64,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use alert::Column as A;
    let used = alert::Entity::update_many()
        .col_expr(A::AckLinkUsedAt, Expr::value(now))
        .filter(A::Id.eq(id))
        .filter(A::AssignedToStaffId.eq(staff_id))
        .filter(A::AckLinkUsedAt.is_null())
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// The event of an alert that has none yet (its rule does not escalate: its
/// events begin at their first acknowledgement): the open event of its
/// (type, resource), begun now if there is none (racing callers meet on the
/// unique key), with every open alert of that key linked to it. `None` when
/// the alert's own window is over: it is acknowledged alone.
pub async fn event_of(db: &impl ConnectionTrait, alert: &alert::Model) -> Result<Option<i64>, DbErr> {
    let dialect = Dialect::of(db)?;
    let (Some(resource_type), Some(resource_id)) = (&alert.resource_type, alert.resource_id) else { return Ok(None) };
    let mut sql = Sql::new(dialect);
    let id = sql.bind("id", alert.id);
    let open = format!("SELECT COUNT(*) FROM alerts WHERE id = {id} AND dedup_open = 1");
    if scalar(db, sql.statement(&open)?).await? == 0 {
        return Ok(None);
    }
    let key = format!(
        "alert_type = {} AND resource_type = {} AND resource_id = {}",
        sql.bind("alert_type", alert.alert_type.clone()),
        sql.bind("resource_type", resource_type.clone()),
        sql.bind("resource_id", resource_id)
    );
    let rule_id = alert.alert_metadata.as_ref().and_then(|m| m.get("rule_id")).and_then(|r| r.as_i64()).unwrap_or(0);
    let conflict = on_open_event(dialect);
    let begin = format!(
        "INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, cycle) \
         VALUES ({}, {}, {}, {}, 1, {}, 0) {conflict}",
        sql.bind("rule_id", rule_id),
        sql.bind("alert_type", alert.alert_type.clone()),
        sql.bind("resource_type", resource_type.clone()),
        sql.bind("resource_id", resource_id),
        sql.bind("started", alert.created_at),
    );
    db.execute_raw(sql.statement(&begin)?).await?;
    let event =
        scalar(db, sql.statement(&format!("SELECT MIN(id) FROM alert_events WHERE event_open = 1 AND {key}"))?).await?;
    let marker = sql.bind("event", event);
    let link = format!("UPDATE alerts SET event_id = {marker} WHERE {key} AND dedup_open = 1 AND event_id IS NULL");
    db.execute_raw(sql.statement(&link)?).await?;
    Ok(Some(event))
}
