//! The engine's hand-tuned, set-based statements. Their dialect differences
//! are date arithmetic (in `dialect`) and the conditional upsert
//! ([`claim_on_conflict`], here).
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, FromQueryResult, IsolationLevel,
    QueryFilter, QuerySelect, SqliteTransactionMode, StatementBuilder, TransactionOptions, TransactionTrait,
};

use super::Db;
use super::dialect::{placeholder, seconds_between};
use super::entities::{alert, complaint, notification_delivery, role, staff};
use sea_orm::ActiveValue::Set;

/// Statements carry at most this many rows (the bind-parameter limits of the
/// three backends leave room for 1 000 rows of alerts).
pub const BATCH_ROWS: usize = 1000;

/// A complaint as the rules see it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ComplaintRow {
    pub id: i64,
    pub title: String,
    pub customer_name: String,
    pub priority: String,
    pub status: String,
    pub assigned_to_staff_id: Option<i64>,
    pub sla_deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An active staff member, for recipient resolution.
#[derive(Debug, Clone, FromQueryResult)]
pub struct StaffRow {
    pub id: i64,
    pub full_name: String,
    pub supervisor_id: Option<i64>,
    pub role: String,
}

/// Which complaints a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Complaint(i64),
}

fn complaint_columns() -> Vec<complaint::Column> {
    use complaint::Column as C;
    vec![C::Id, C::Title, C::CustomerName, C::Priority, C::Status, C::AssignedToStaffId, C::SlaDeadline, C::CreatedAt]
}

fn scoped(query: &mut sea_orm::sea_query::SelectStatement, scope: Scope) {
    if let Scope::Complaint(id) = scope {
        query.and_where(Expr::col(complaint::Column::Id).eq(id));
    }
}

async fn complaints_where(
    db: &impl ConnectionTrait,
    query: &impl StatementBuilder,
) -> Result<Vec<ComplaintRow>, DbErr> {
    let rows = db.query_all(query).await?;
    rows.iter().map(|r| ComplaintRow::from_query_result(r, "")).collect()
}

/// Open complaints whose deadline has passed at `now`.
pub async fn sla_breached(
    db: &impl ConnectionTrait,
    statuses: &[String],
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<Vec<ComplaintRow>, DbErr> {
    use complaint::Column as C;
    let mut q = Query::select();
    q.columns(complaint_columns())
        .from(complaint::Entity)
        .and_where(Expr::col(C::Status).is_in(statuses.iter().cloned()))
        .and_where(Expr::col(C::SlaDeadline).lte(now));
    scoped(&mut q, scope);
    complaints_where(db, &q).await
}

/// Open complaints not yet breached whose elapsed share of (created_at →
/// sla_deadline) reached `share` (0..1) at `now`.
pub async fn sla_at_risk(
    db: &impl ConnectionTrait,
    statuses: &[String],
    share: f64,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<Vec<ComplaintRow>, DbErr> {
    use complaint::Column as C;
    let backend = db.get_database_backend();
    let elapsed = seconds_between(backend, "created_at", &placeholder(backend, 1));
    let window = seconds_between(backend, "created_at", "sla_deadline");
    let share_ph = placeholder(backend, 2);
    let mut q = Query::select();
    q.columns(complaint_columns())
        .from(complaint::Entity)
        .and_where(Expr::col(C::Status).is_in(statuses.iter().cloned()))
        .and_where(Expr::col(C::SlaDeadline).gt(now))
        .and_where(Expr::cust_with_values(
            format!("{elapsed} >= {share_ph} * {window}"),
            [sea_orm::Value::from(now), sea_orm::Value::from(share)],
        ));
    scoped(&mut q, scope);
    complaints_where(db, &q).await
}

/// Open complaints of `priority`.
pub async fn with_priority(
    db: &impl ConnectionTrait,
    priority: &str,
    statuses: &[&str],
    scope: Scope,
) -> Result<Vec<ComplaintRow>, DbErr> {
    use complaint::Column as C;
    let mut q = Query::select();
    q.columns(complaint_columns())
        .from(complaint::Entity)
        .and_where(Expr::col(C::Priority).eq(priority))
        .and_where(Expr::col(C::Status).is_in(statuses.iter().copied()));
    scoped(&mut q, scope);
    complaints_where(db, &q).await
}

/// (staff id, open assigned complaints) for staff above `threshold`; with a
/// complaint scope, only that complaint's assignee is considered.
pub async fn overloaded_staff(
    db: &impl ConnectionTrait,
    statuses: &[&str],
    threshold: i64,
    scope: Scope,
) -> Result<Vec<(i64, i64)>, DbErr> {
    use complaint::Column as C;
    let count = Expr::col(C::Id).count();
    let mut q = Query::select();
    q.column(C::AssignedToStaffId)
        .expr_as(count.clone(), Alias::new("open_count"))
        .from(complaint::Entity)
        .and_where(Expr::col(C::Status).is_in(statuses.iter().copied()))
        .and_where(Expr::col(C::AssignedToStaffId).is_not_null())
        .group_by_col(C::AssignedToStaffId)
        .and_having(count.gt(threshold));
    if let Scope::Complaint(id) = scope {
        let assignee = Query::select()
            .column(C::AssignedToStaffId)
            .from(complaint::Entity)
            .and_where(Expr::col(C::Id).eq(id))
            .take();
        q.and_where(Expr::col(C::AssignedToStaffId).in_subquery(assignee));
    }
    let rows = db.query_all(&q).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<i64>("", "assigned_to_staff_id")?, r.try_get::<i64>("", "open_count")?)))
        .collect()
}

/// Every active staff member with their role name: recipients are resolved from this.
pub async fn active_staff(db: &impl ConnectionTrait) -> Result<Vec<StaffRow>, DbErr> {
    let q = Query::select()
        .column((staff::Entity, staff::Column::Id))
        .column((staff::Entity, staff::Column::FullName))
        .column((staff::Entity, staff::Column::SupervisorId))
        .expr_as(Expr::col((role::Entity, role::Column::Name)), Alias::new("role"))
        .from(staff::Entity)
        .inner_join(
            role::Entity,
            Expr::col((staff::Entity, staff::Column::RoleId)).equals((role::Entity, role::Column::Id)),
        )
        .and_where(Expr::col((staff::Entity, staff::Column::IsActive)).eq(true))
        .take();
    let rows = db.query_all(&q).await?;
    rows.iter().map(|r| StaffRow::from_query_result(r, "")).collect()
}

/// The dedup key of an alert, with the version of what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    pub alert_type: String,
    pub resource_type: String,
    pub resource_id: i64,
    pub recipient_staff_id: i64,
}

/// An alert the engine wants to raise, if its key is not within its window.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub key: DedupKey,
    pub version: String,
    pub alert: alert::ActiveModel,
    /// Outbox channels (`email`, `sms`, `webhook`) the recipient subscribed to for this alert type.
    pub outbox_channels: Vec<&'static str>,
}

/// The upsert's conflict clause: take the row over (set this run's id, a new
/// window and version) only when its window has passed or its version changed.
fn claim_on_conflict(backend: DbBackend, cutoff: DateTime<Utc>) -> OnConflict {
    let key = ["alert_type", "resource_type", "resource_id", "recipient_staff_id"];
    match backend {
        // No WHERE on MySQL's ON DUPLICATE KEY UPDATE: each column keeps its
        // value unless the condition holds. Assignments run left to right and
        // see earlier new values, so the columns the condition reads come last.
        DbBackend::MySql => {
            let cond = "alert_dedup.window_start < ? OR alert_dedup.version <> VALUES(version)";
            let assign = |col: &str| -> SimpleExpr {
                Expr::cust_with_values(format!("IF({cond}, VALUES({col}), alert_dedup.{col})"), [cutoff])
            };
            OnConflict::columns(key)
                .value("claimed_by", assign("claimed_by"))
                .value("window_start", assign("window_start"))
                .value("version", assign("version"))
                .to_owned()
        }
        _ => OnConflict::columns(key)
            .update_columns(["claimed_by", "window_start", "version"])
            .action_and_where(Expr::cust_with_values(
                format!(
                    "alert_dedup.window_start < {} OR alert_dedup.version <> excluded.version",
                    placeholder(backend, 1)
                ),
                [cutoff],
            ))
            .to_owned(),
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

/// Claims the candidates' dedup keys and inserts an alert, and its outbox
/// rows, for each key this run won, in one transaction per batch: racing
/// checkers (other tasks, other instances) are serialised by the unique key,
/// and exactly one of them creates each alert. Returns the alerts created.
pub async fn claim_and_insert(
    db: &Db,
    run_id: &str,
    window: TimeDelta,
    now: DateTime<Utc>,
    candidates: Vec<Candidate>,
) -> Result<Vec<alert::Model>, DbErr> {
    let mut created = Vec::new();
    let mut remaining = candidates;
    let mut batch_no = 0;
    while !remaining.is_empty() {
        let rest = remaining.split_off(remaining.len().min(BATCH_ROWS));
        let batch = std::mem::replace(&mut remaining, rest);
        let txn = begin_write(db).await?;
        // A stamp per batch: reading back "the keys this run won" then costs
        // one batch, not everything the run claimed so far.
        batch_no += 1;
        let stamp = format!("{run_id}-{batch_no}");
        created.extend(claim_batch(&txn, &stamp, window, now, batch).await?);
        txn.commit().await?;
    }
    Ok(created)
}

async fn claim_batch(
    txn: &DatabaseTransaction,
    run_id: &str,
    window: TimeDelta,
    now: DateTime<Utc>,
    batch: Vec<Candidate>,
) -> Result<Vec<alert::Model>, DbErr> {
    let backend = txn.get_database_backend();
    let mut upsert = Query::insert();
    upsert.into_table("alert_dedup").columns([
        "alert_type",
        "resource_type",
        "resource_id",
        "recipient_staff_id",
        "window_start",
        "version",
        "claimed_by",
    ]);
    for c in &batch {
        upsert.values_panic([
            c.key.alert_type.clone().into(),
            c.key.resource_type.clone().into(),
            c.key.resource_id.into(),
            c.key.recipient_staff_id.into(),
            now.into(),
            c.version.clone().into(),
            run_id.into(),
        ]);
    }
    upsert.on_conflict(claim_on_conflict(backend, now - window));
    txn.execute(&upsert).await?;

    // The keys this run won, in this transaction: only they get an alert.
    let won = Query::select()
        .columns(["alert_type", "resource_type", "resource_id", "recipient_staff_id"])
        .from("alert_dedup")
        .and_where(Expr::col("claimed_by").eq(run_id))
        .take();
    let won: std::collections::HashSet<DedupKey> = txn
        .query_all(&won)
        .await?
        .iter()
        .map(|r| {
            Ok(DedupKey {
                alert_type: r.try_get("", "alert_type")?,
                resource_type: r.try_get("", "resource_type")?,
                resource_id: r.try_get("", "resource_id")?,
                recipient_staff_id: r.try_get("", "recipient_staff_id")?,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    let won: Vec<Candidate> = batch.into_iter().filter(|c| won.contains(&c.key)).collect();
    let Some(first) = won.first() else { return Ok(Vec::new()) };
    let (alert_type, resource_type) = (first.key.alert_type.clone(), first.key.resource_type.clone());
    alert::Entity::insert_many(won.iter().map(|c| c.alert.clone())).exec_without_returning(txn).await?;

    // Read the new rows back (ids included). Only this transaction can have
    // written alerts for these keys at this `now`: it holds their dedup rows.
    let resource_ids: Vec<i64> = won.iter().map(|c| c.key.resource_id).collect();
    let inserted = alert::Entity::find()
        .filter(Expr::col(alert::Column::AlertType).eq(alert_type))
        .filter(Expr::col(alert::Column::ResourceType).eq(resource_type))
        .filter(Expr::col(alert::Column::CreatedAt).eq(now))
        .filter(Expr::col(alert::Column::ResourceId).is_in(resource_ids))
        .all(txn)
        .await?;
    let channels: std::collections::HashMap<(i64, i64), &Vec<&'static str>> =
        won.iter().map(|c| ((c.key.resource_id, c.key.recipient_staff_id), &c.outbox_channels)).collect();
    let mut created = Vec::with_capacity(won.len());
    let mut outbox = Vec::new();
    for alert in inserted {
        let key = (alert.resource_id.unwrap_or_default(), alert.assigned_to_staff_id);
        let Some(channels) = channels.get(&key) else { continue };
        for channel in channels.iter() {
            outbox.push(notification_delivery::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                alert_id: Set(alert.id),
                staff_id: Set(alert.assigned_to_staff_id),
                channel: Set((*channel).to_owned()),
                status: Set("pending".to_owned()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                claimed_until: Set(None),
                last_error: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                sent_at: Set(None),
            });
        }
        created.push(alert);
    }
    for chunk in outbox.chunks(BATCH_ROWS) {
        notification_delivery::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    Ok(created)
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

/// Forgets dedup keys whose window started before `before` (no window is that long).
pub async fn delete_old_dedup_keys(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let q = Query::delete().from_table("alert_dedup").and_where(Expr::col("window_start").lt(before)).take();
    Ok(db.execute(&q).await?.rows_affected())
}
