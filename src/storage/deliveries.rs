//! The delivery outbox: claiming due rows and recording outcomes.
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Statement};

use super::Db;
use super::begin_write;
use super::dialect::{Dialect, portable};
use super::entities::notification_delivery::{self as delivery, Column as D};

/// Rows due at `now`: new or failed ones whose time has come, and ones whose
/// sender's claim ran out (it crashed mid-send): that is crash recovery.
/// A `deferred` row waits for its summary; if none carried it by its
/// `next_attempt_at` (the end of quiet hours plus [`SUMMARY_GRACE`]), it goes
/// on its own.
fn due(now: DateTime<Utc>) -> sea_orm::sea_query::Condition {
    sea_orm::sea_query::Condition::any()
        .add(Expr::col(D::Status).is_in(["pending", "failed", "deferred"]).and(Expr::col(D::NextAttemptAt).lte(now)))
        .add(Expr::col(D::Status).eq("sending").and(Expr::col(D::ClaimedUntil).lt(now)))
}

/// Claims up to `limit` due deliveries for `claim` and returns them. Several
/// dispatchers never get the same row: PostgreSQL and MariaDB ≥ 10.6 skip
/// rows another transaction has locked (`FOR UPDATE SKIP LOCKED`); SQLite has
/// one writer, taken up front. The claim commits before any network call.
pub async fn claim_due(
    db: &Db,
    now: DateTime<Utc>,
    claim: TimeDelta,
    limit: u64,
) -> Result<Vec<delivery::Model>, DbErr> {
    let dialect = Dialect::of(db)?;
    let txn = begin_write(db).await?;
    let rows = txn.query_all_raw(claim_select(dialect, now, limit)).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.try_get::<i64>("", "id")).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    txn.execute_raw(claim_update(dialect, &ids, now, claim)).await?;
    let claimed = delivery::Entity::find().filter(D::Id.is_in(ids)).order_by_asc(D::Id).all(&txn).await?;
    txn.commit().await?;
    Ok(claimed)
}

/// The due rows to claim, oldest first, locked where the dialect can skip
/// what another dispatcher holds.
pub fn claim_select(dialect: Dialect, now: DateTime<Utc>, limit: u64) -> Statement {
    let mut select = Query::select();
    select
        .column(D::Id)
        .from(delivery::Entity)
        .cond_where(due(now))
        .order_by(D::NextAttemptAt, sea_orm::Order::Asc)
        .limit(limit);
    match dialect {
        Dialect::MySql | Dialect::Postgres => {
            select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        Dialect::Sqlite => {}
    }
    portable(dialect.backend().build(&select))
}

/// Claims the rows `ids` until `now + claim`.
pub fn claim_update(dialect: Dialect, ids: &[i64], now: DateTime<Utc>, claim: TimeDelta) -> Statement {
    let update = delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value("sending"))
        .col_expr(D::ClaimedUntil, Expr::value(now + claim))
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .col_expr(D::UpdatedAt, Expr::value(now))
        .filter(D::Id.is_in(ids.iter().copied()));
    portable(update.build(dialect.backend()))
}

/// How long after the end of quiet hours a deferred row waits for its
/// summary before it is sent on its own: longer than a summary's retries
/// take (8 attempts, about 21 minutes with the default backoff), so only a
/// summary that failed for good, or a row deferred after its summary went,
/// is sent alone.
pub const SUMMARY_GRACE: TimeDelta = TimeDelta::hours(1);

/// A claimed row put off to the end of its recipient's quiet hours or digest window.
#[derive(Debug, Clone)]
pub struct Deferral {
    pub id: i64,
    pub alert_id: i64,
    pub staff_id: i64,
    pub channel: String,
    pub until: DateTime<Utc>,
    /// Carried by one summary (else sent on its own at `until`).
    pub summary: bool,
    /// Why ([`QUIET_HOURS`], or the digest: `hourly`, `daily`): `deferred_for`.
    pub reason: &'static str,
}

/// `deferred_for` of a row put off by quiet hours or do-not-disturb.
pub const QUIET_HOURS: &str = "quiet_hours";

/// Puts claimed rows off to the end of quiet hours or of their digest's
/// window, in one transaction of at most five statements: the rows sent each
/// in turn become `pending` at `until`; the rows for a summary (or digest)
/// become `deferred`, one statement per reason, and each (person, channel,
/// until) gets its summary row unless it has one (a unique index: racing
/// dispatchers create one summary). The claim's attempt is given back.
pub async fn defer(db: &Db, deferrals: &[Deferral], now: DateTime<Utc>) -> Result<(), DbErr> {
    if deferrals.is_empty() {
        return Ok(());
    }
    let dialect = Dialect::of(db)?;
    let txn = begin_write(db).await?;
    for statement in defer_statements(dialect, deferrals, now) {
        txn.execute_raw(statement).await?;
    }
    txn.commit().await
}

pub fn defer_statements(dialect: Dialect, deferrals: &[Deferral], now: DateTime<Utc>) -> Vec<Statement> {
    use sea_orm::sea_query::{CaseStatement, OnConflict};
    use std::collections::BTreeMap;
    let mut statements = Vec::new();
    let mut kinds: Vec<(bool, &str)> = deferrals.iter().map(|d| (d.summary, d.reason)).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for (summary, reason) in kinds {
        // Rows grouped by their new time: one CASE arm per distinct end of quiet hours or window.
        let mut by_until: BTreeMap<DateTime<Utc>, Vec<i64>> = BTreeMap::new();
        for d in deferrals.iter().filter(|d| d.summary == summary && d.reason == reason) {
            by_until.entry(d.until).or_default().push(d.id);
        }
        if by_until.is_empty() {
            continue;
        }
        let ids: Vec<i64> = by_until.values().flatten().copied().collect();
        let (mut next, mut until) = (CaseStatement::new(), CaseStatement::new());
        for (at, group) in &by_until {
            let due = if summary { *at + SUMMARY_GRACE } else { *at };
            next = next.case(Expr::col(D::Id).is_in(group.iter().copied()), Expr::value(due));
            until = until.case(Expr::col(D::Id).is_in(group.iter().copied()), Expr::value(*at));
        }
        let update = delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value(if summary { "deferred" } else { "pending" }))
            .col_expr(D::NextAttemptAt, next.finally(Expr::col(D::NextAttemptAt)).into())
            .col_expr(D::DeferredUntil, until.finally(Expr::col(D::DeferredUntil)).into())
            .col_expr(D::DeferredFor, Expr::value(reason))
            .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::Attempts, Expr::col(D::Attempts).sub(1))
            .col_expr(D::UpdatedAt, Expr::value(now))
            .filter(D::Id.is_in(ids))
            .filter(D::Status.eq("sending"));
        statements.push(portable(update.build(dialect.backend())));
    }
    let mut summaries: BTreeMap<(i64, &str, DateTime<Utc>), (i64, &str)> = BTreeMap::new();
    for d in deferrals.iter().filter(|d| d.summary) {
        summaries.entry((d.staff_id, d.channel.as_str(), d.until)).or_insert((d.alert_id, d.reason));
    }
    if !summaries.is_empty() {
        let mut insert = Query::insert();
        insert.into_table(delivery::Entity).columns([
            D::AlertId,
            D::StaffId,
            D::Channel,
            D::Status,
            D::Attempts,
            D::NextAttemptAt,
            D::SummaryUntil,
            D::DeferredFor,
            D::CreatedAt,
            D::UpdatedAt,
        ]);
        for ((staff_id, channel, until), (alert_id, reason)) in summaries {
            insert.values_panic([
                alert_id.into(),
                staff_id.into(),
                channel.into(),
                "pending".into(),
                0.into(),
                until.into(),
                until.into(),
                reason.into(),
                now.into(),
                now.into(),
            ]);
        }
        insert.on_conflict(
            OnConflict::columns([D::StaffId, D::Channel, D::SummaryUntil]).do_nothing_on([D::Id]).to_owned(),
        );
        statements.push(portable(dialect.backend().build(&insert)));
    }
    statements
}

/// The rows the summary rows `summaries` carry: each one's deferred rows of
/// the same person, channel and end of quiet hours, in id order.
pub async fn carried(db: &impl ConnectionTrait, summaries: &[&delivery::Model]) -> Result<Vec<delivery::Model>, DbErr> {
    use sea_orm::sea_query::Condition;
    let mut out = Vec::new();
    for chunk in summaries.chunks(100) {
        let mut any = Condition::any();
        for s in chunk {
            any = any.add(
                Condition::all()
                    .add(D::StaffId.eq(s.staff_id))
                    .add(D::Channel.eq(s.channel.clone()))
                    .add(D::DeferredUntil.eq(s.summary_until)),
            );
        }
        let rows =
            delivery::Entity::find().filter(D::Status.eq("deferred")).filter(any).order_by_asc(D::Id).all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Settles the deferred rows a summary carried: those it listed are `sent`
/// by it; those it left out (their alert was acted on before it was sent)
/// are `skipped` by it, and are not sent on their own either.
pub async fn settle_carried(
    db: &impl ConnectionTrait,
    summary_id: i64,
    sent: &[i64],
    dropped: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    for (ids, listed) in [(sent, true), (dropped, false)] {
        for chunk in ids.chunks(super::BATCH_ROWS) {
            let update = delivery::Entity::update_many()
                .col_expr(D::CarriedBy, Expr::value(summary_id))
                .col_expr(D::UpdatedAt, Expr::value(now));
            let update = match listed {
                true => update.col_expr(D::Status, Expr::value("sent")).col_expr(D::SentAt, Expr::value(now)),
                false => update
                    .col_expr(D::Status, Expr::value("skipped"))
                    .col_expr(D::LastError, Expr::value("read or acted on before its summary was sent")),
            }
            .filter(D::Id.is_in(chunk.iter().copied()))
            .filter(D::Status.eq("deferred"));
            db.execute_raw(portable(update.build(dialect.backend()))).await?;
        }
    }
    Ok(())
}

/// Marks rows sent, in one statement.
pub async fn mark_sent(db: &impl ConnectionTrait, ids: &[i64], now: DateTime<Utc>) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    db.execute_raw(mark_sent_statement(Dialect::of(db)?, ids, now)).await.map(|_| ())
}

pub fn mark_sent_statement(dialect: Dialect, ids: &[i64], now: DateTime<Utc>) -> Statement {
    let update = delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value("sent"))
        .col_expr(D::SentAt, Expr::value(now))
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LastError, Expr::value(Option::<String>::None))
        .col_expr(D::UpdatedAt, Expr::value(now))
        .filter(D::Id.is_in(ids.iter().copied()))
        .filter(D::Status.eq("sending"));
    portable(update.build(dialect.backend()))
}

/// Records a failed, dead or skipped attempt (`next_attempt_at` only matters for `failed`).
pub async fn mark_outcome(
    db: &impl ConnectionTrait,
    id: i64,
    status: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let statement = mark_outcome_statement(Dialect::of(db)?, id, status, error, next_attempt_at, now);
    db.execute_raw(statement).await.map(|_| ())
}

pub fn mark_outcome_statement(
    dialect: Dialect,
    id: i64,
    status: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Statement {
    let update = delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(status))
        .col_expr(D::LastError, Expr::value(error))
        .col_expr(D::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::UpdatedAt, Expr::value(now))
        .filter(D::Id.eq(id))
        .filter(D::Status.eq("sending"));
    portable(update.build(dialect.backend()))
}

pub async fn of_alert(db: &impl ConnectionTrait, alert_id: i64) -> Result<Vec<delivery::Model>, DbErr> {
    delivery::Entity::find().filter(D::AlertId.eq(alert_id)).order_by_asc(D::Id).all(db).await
}

/// How many rows wait to be sent (for metrics and tests).
pub async fn backlog(db: &Db) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    delivery::Entity::find().filter(D::Status.is_in(["pending", "failed", "sending"])).count(db).await
}

/// Deliveries waiting (pending, failed, being sent) and when the oldest was due.
pub async fn outbox_depth(db: &Db) -> Result<(u64, Option<DateTime<Utc>>), DbErr> {
    let waiting = Expr::col(D::Status).is_in(["pending", "failed", "sending"]);
    let q = Query::select()
        .expr_as(Expr::col(D::Id).count(), sea_orm::sea_query::Alias::new("n"))
        .expr_as(Expr::col(D::NextAttemptAt).min(), sea_orm::sea_query::Alias::new("oldest"))
        .from(delivery::Entity)
        .and_where(waiting)
        .take();
    let row = db.query_one(&q).await?.ok_or_else(|| DbErr::RecordNotFound("outbox depth".into()))?;
    Ok((row.try_get::<i64>("", "n")? as u64, row.try_get::<Option<DateTime<Utc>>>("", "oldest")?))
}

/// The delivery logs of several alerts, oldest first.
pub async fn of_alerts(db: &impl ConnectionTrait, alert_ids: &[i64]) -> Result<Vec<delivery::Model>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::AlertId.is_in(alert_ids.iter().copied()))
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await
}

/// One `INSERT … SELECT` of outbox rows per channel someone subscribed to
/// (`channels`: each recipient's), for the alerts (`al`) matching `which`,
/// due at `{now}` (bound by the caller): the engine's new alerts, an
/// escalation step's, a repeat's reminders.
pub fn outbox_inserts(
    sql: &mut super::sql::Sql,
    channels: &std::collections::HashMap<i64, Vec<&'static str>>,
    which: &str,
) -> Vec<String> {
    let mut by_channel: std::collections::BTreeMap<&'static str, Vec<i64>> = Default::default();
    for (staff_id, list) in channels {
        for channel in list {
            by_channel.entry(channel).or_default().push(*staff_id);
        }
    }
    let mut statements = Vec::with_capacity(by_channel.len());
    for (channel, mut staff) in by_channel {
        staff.sort_unstable();
        let Some(staff) = super::sql::id_list(&staff) else { continue };
        let channel = sql.bind(&format!("channel_{channel}"), channel.to_owned());
        statements.push(format!(
            "INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, \
             created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, {channel}, 'pending', 0, {{now}}, {{now}}, \
             {{now}} FROM alerts al WHERE al.assigned_to_staff_id IN ({staff}) AND {which}"
        ));
    }
    statements
}

/// One `INSERT … SELECT` per team channel (`slack`, `teams`) of the outbox
/// row that posts an alert event there: one row per resource whose new
/// alerts (`which`, over `al`) begin its event, tied to the lowest-id of
/// them (the representative; its recipient fills `staff_id`, its alert the
/// delivery log). An alert "begins" the event when no open alert of its
/// type and resource has a lower id: not one of an earlier run (the event
/// goes on, a new recipient joined it), nor of this run (it is not the
/// lowest). The run's alerts exist once per key (the dedup index), so each
/// event gets one row per channel whatever the number of racing checkers.
pub fn team_inserts(sql: &mut super::sql::Sql, team_channels: &[&'static str], which: &str) -> Vec<String> {
    let probe = super::dialect::correlated(sql.dialect());
    let mut statements = Vec::with_capacity(team_channels.len());
    for team in team_channels {
        let channel = sql.bind(&format!("channel_{team}"), (*team).to_owned());
        statements.push(format!(
            "INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, \
             created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, {channel}, 'pending', 0, {{now}}, {{now}}, \
             {{now}} FROM alerts al WHERE {which} AND NOT EXISTS (SELECT 1 FROM alerts o WHERE o.dedup_open = 1 \
             AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type \
             AND o.resource_id = al.resource_id AND o.id < al.id{probe})"
        ));
    }
    statements
}
