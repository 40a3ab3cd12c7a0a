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
fn due(now: DateTime<Utc>) -> sea_orm::sea_query::Condition {
    sea_orm::sea_query::Condition::any()
        .add(Expr::col(D::Status).is_in(["pending", "failed"]).and(Expr::col(D::NextAttemptAt).lte(now)))
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
