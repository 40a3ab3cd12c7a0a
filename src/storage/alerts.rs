//! `alerts`: the inbox queries. "Live" means undismissed and unexpired at `now`.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::entities::alert::{ActiveModel, Column, Entity, Model};
use crate::domain::alerts::InboxFilter;

fn live(staff_id: i64, now: DateTime<Utc>) -> Condition {
    not_ended(now).add(Column::AssignedToStaffId.eq(staff_id))
}

/// Neither dismissed nor expired at `now`.
fn not_ended(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::IsDismissed.eq(false))
        .add(Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(now)))
}

/// The update that wakes snoozed alerts: no snooze, and unread if still live
/// (`read_at`, the first read, is kept).
fn wake_update(now: DateTime<Utc>) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::SnoozedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::SnoozedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::IsRead, Expr::case(not_ended(now), false).finally(Expr::col(Column::IsRead)).into())
}

/// Not snoozed at `now`: never snoozed, woken, or due (the wake job marks it
/// unread and pushes it within its interval).
fn awake(now: DateTime<Utc>) -> Condition {
    Condition::any().add(Column::SnoozedUntil.is_null()).add(Column::SnoozedUntil.lte(now))
}

fn filtered(staff_id: i64, now: DateTime<Utc>, f: &InboxFilter) -> Condition {
    let mut cond = live(staff_id, now);
    cond = match f.snoozed {
        false => cond.add(awake(now)),
        true => cond.add(Column::SnoozedUntil.gt(now)),
    };
    if let Some(read) = f.is_read {
        cond = cond.add(Column::IsRead.eq(read));
    }
    if !f.severities.is_empty() {
        cond = cond.add(Column::Severity.is_in(f.severities.clone()));
    }
    if !f.alert_types.is_empty() {
        cond = cond.add(Column::AlertType.is_in(f.alert_types.clone()));
    }
    if let Some(t) = &f.resource_type {
        cond = cond.add(Column::ResourceType.eq(t.clone()));
    }
    if let Some(id) = f.resource_id {
        cond = cond.add(Column::ResourceId.eq(id));
    }
    match f.acknowledged {
        Some(true) => cond = cond.add(Column::AcknowledgedAt.is_not_null()),
        Some(false) => cond = cond.add(Column::AcknowledgedAt.is_null()),
        None => {}
    }
    cond
}

/// One page of the inbox, newest first.
pub async fn inbox_rows(
    db: &impl ConnectionTrait,
    staff_id: i64,
    now: DateTime<Utc>,
    filter: &InboxFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let query = Entity::find().filter(filtered(staff_id, now, filter));
    // Snoozed: the first to wake first.
    let query = match filter.snoozed {
        false => query.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id),
        true => query.order_by_asc(Column::SnoozedUntil).order_by_asc(Column::Id),
    };
    query.offset(offset).limit(limit).all(db).await
}

/// One page of the inbox, newest first, and the number of matching alerts.
pub async fn inbox_page(
    db: &impl ConnectionTrait,
    staff_id: i64,
    now: DateTime<Utc>,
    filter: &InboxFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Model>, u64), DbErr> {
    let rows = inbox_rows(db, staff_id, now, filter, offset, limit).await?;
    let total = Entity::find().filter(filtered(staff_id, now, filter)).count(db).await?;
    Ok((rows, total))
}

/// A staff member's live alerts but the snoozed: how many, how many unread,
/// and until when the two counts stay true without a write (the earliest
/// expiry or wake among them).
#[derive(Debug, FromQueryResult)]
pub struct LiveCounts {
    pub live: i64,
    pub unread: i64,
    pub earliest_expiry: Option<DateTime<Utc>>,
}

/// The same figures of the snoozed ones alone, and the first to wake.
#[derive(Debug, FromQueryResult)]
struct SnoozedCounts {
    live: i64,
    unread: i64,
    earliest_wake: Option<DateTime<Utc>>,
}

/// Two reads: every live alert (from the unread badge's covering index), then
/// the snoozed among them (through `idx_alerts_snoozed_staff`, which holds
/// only snoozed alerts), taken out.
pub async fn live_counts(db: &impl ConnectionTrait, staff_id: i64, now: DateTime<Utc>) -> Result<LiveCounts, DbErr> {
    let unread: Expr = Expr::case(Column::IsRead.eq(false), 1).into();
    let counts = Entity::find()
        .select_only()
        .expr_as(Expr::col(Column::Id).count(), "live")
        .expr_as(unread.clone().count(), "unread")
        .expr_as(Expr::col(Column::ExpiresAt).min(), "earliest_expiry")
        .filter(live(staff_id, now))
        .into_model::<LiveCounts>()
        .one(db)
        .await?;
    let counts = counts.unwrap_or(LiveCounts { live: 0, unread: 0, earliest_expiry: None });
    if counts.live == 0 {
        return Ok(counts);
    }
    let snoozed = Entity::find()
        .select_only()
        .expr_as(Expr::col(Column::Id).count(), "live")
        .expr_as(unread.count(), "unread")
        .expr_as(Expr::col(Column::SnoozedUntil).min(), "earliest_wake")
        .filter(live(staff_id, now).add(Column::SnoozedUntil.gt(now)))
        .into_model::<SnoozedCounts>()
        .one(db)
        .await?;
    Ok(match snoozed {
        Some(s) if s.live > 0 => LiveCounts {
            live: counts.live - s.live,
            unread: counts.unread - s.unread,
            earliest_expiry: match (counts.earliest_expiry, s.earliest_wake) {
                (Some(e), Some(w)) => Some(Ord::min(e, w)),
                (e, w) => e.or(w),
            },
        },
        _ => counts,
    })
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::Id.is_in(ids.iter().copied())).all(db).await
}

/// Of the alerts `ids`, those someone already acted on (read, dismissed,
/// acknowledged or resolved): a summary or digest leaves them out.
pub async fn acted_on(db: &impl ConnectionTrait, ids: &[i64]) -> Result<std::collections::HashSet<i64>, DbErr> {
    use sea_orm::QuerySelect;
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let done = sea_orm::Condition::any()
            .add(Column::IsRead.eq(true))
            .add(Column::IsDismissed.eq(true))
            .add(Column::AcknowledgedAt.is_not_null())
            .add(Column::ResolvedAt.is_not_null());
        let found: Vec<i64> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .filter(done)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// The alert if it exists and belongs to `staff_id` (dismissed and expired included).
pub async fn owned(db: &impl ConnectionTrait, staff_id: i64, id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).filter(Column::AssignedToStaffId.eq(staff_id)).one(db).await
}

/// The alerts of complaint `complaint_id` (of one recipient, or of all),
/// newest first, `limit` at most (through `idx_alerts_resource`).
pub async fn of_complaint(
    db: &impl ConnectionTrait,
    complaint_id: i64,
    recipient: Option<i64>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query =
        Entity::find().filter(Column::ResourceType.eq("complaint")).filter(Column::ResourceId.eq(complaint_id));
    if let Some(staff_id) = recipient {
        query = query.filter(Column::AssignedToStaffId.eq(staff_id));
    }
    query.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id).limit(limit).all(db).await
}

/// After a complaint changed hands (to `assignee`, or to no one): its live
/// alerts of `alert_types` (but the new assignee's own) say who has it now —
/// `was` becomes `now_is` in the message's "(high, assigned to Ann)" or
/// "(unassigned)", and the metadata's `assigned_to_staff_id` follows.
/// Returns the alerts it rewrote.
pub async fn reword_assignee(
    db: &impl ConnectionTrait,
    complaint_id: i64,
    alert_types: &[&str],
    assignee: Option<i64>,
    was: &str,
    now_is: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Model>, DbErr> {
    use super::dialect::{Dialect, json_set_int};
    use super::sql::Sql;
    let mut live = live_about_complaint(complaint_id, alert_types, now);
    if let Some(assignee) = assignee {
        live = live.add(Column::AssignedToStaffId.ne(assignee));
    }
    let ids: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(live)
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let Some(ids_text) = super::sql::id_list(&ids) else { return Ok(Vec::new()) };
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let (was, now_is) = (sql.bind("was", format!("{was})")), sql.bind("now_is", format!("{now_is})")));
    let who = sql.bind("assignee", assignee);
    let metadata = json_set_int(dialect, "alert_metadata", "assigned_to_staff_id", &who);
    let update = format!(
        "UPDATE alerts SET message = REPLACE(message, {was}, {now_is}), alert_metadata = {metadata} \
         WHERE id IN ({ids_text}) AND alert_metadata IS NOT NULL"
    );
    db.execute_raw(sql.statement(&update)?).await?;
    by_ids(db, &ids).await
}

/// The live alerts (not expired at `now`) of `alert_types` about complaint `complaint_id`.
pub fn live_about_complaint(complaint_id: i64, alert_types: &[&str], now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Expr::col(Column::ResourceType).eq("complaint"))
        .add(Expr::col(Column::ResourceId).eq(complaint_id))
        .add(Expr::col(Column::AlertType).is_in(alert_types.iter().copied()))
        .add(Expr::col(Column::ExpiresAt).is_null().or(Expr::col(Column::ExpiresAt).gt(now)))
}

/// [`owned`], and whether the alert still holds its dedup window (one read).
pub async fn owned_with_window(
    db: &impl ConnectionTrait,
    staff_id: i64,
    id: i64,
) -> Result<Option<(Model, bool)>, DbErr> {
    use sea_orm::{FromQueryResult, QueryTrait};
    let open = super::dialect::as_int(super::dialect::Dialect::of(db)?, "COALESCE(dedup_open, 0)");
    let query = Entity::find_by_id(id)
        .filter(Column::AssignedToStaffId.eq(staff_id))
        .column_as(Expr::cust(open), "window_open")
        .build(db.get_database_backend());
    let Some(row) = db.query_one_raw(query).await? else { return Ok(None) };
    let open: i64 = row.try_get("", "window_open")?;
    Ok(Some((Model::from_query_result(&row, "")?, open == 1)))
}

/// Runs `update` (built again for each try) and returns how many rows it
/// changed. Racing writes to one inbox may deadlock (MariaDB): the loser
/// runs again.
async fn update_retrying(
    db: &impl ConnectionTrait,
    update: impl Fn() -> sea_orm::UpdateMany<Entity>,
) -> Result<u64, DbErr> {
    super::retrying(|| update().exec(db)).await.map(|result| result.rows_affected)
}

/// Marks read, keeping the first `read_at`. Returns whether a row changed.
pub async fn mark_read(db: &impl ConnectionTrait, staff_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let changed = update_retrying(db, || {
        Entity::update_many()
            .col_expr(Column::IsRead, Expr::value(true))
            .col_expr(Column::ReadAt, Expr::value(now))
            .filter(Column::Id.eq(id))
            .filter(Column::AssignedToStaffId.eq(staff_id))
            .filter(Column::IsRead.eq(false))
    })
    .await?;
    Ok(changed > 0)
}

/// Dismisses once. Returns whether a row changed.
pub async fn dismiss(db: &impl ConnectionTrait, staff_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let changed = update_retrying(db, || {
        Entity::update_many()
            .col_expr(Column::IsDismissed, Expr::value(true))
            .col_expr(Column::DismissedAt, Expr::value(now))
            .col_expr(Column::SnoozedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::SnoozedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(Column::Id.eq(id))
            .filter(Column::AssignedToStaffId.eq(staff_id))
            .filter(Column::IsDismissed.eq(false))
    })
    .await?;
    Ok(changed > 0)
}

/// Marks every live unread alert of `staff_id` read (but the snoozed, which
/// the inbox does not show); returns how many.
pub async fn mark_all_read(db: &impl ConnectionTrait, staff_id: i64, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let changed = update_retrying(db, || {
        Entity::update_many()
            .col_expr(Column::IsRead, Expr::value(true))
            .col_expr(Column::ReadAt, Expr::value(now))
            .filter(live(staff_id, now).add(awake(now)).add(Column::IsRead.eq(false)))
    })
    .await?;
    Ok(changed)
}

/// A new alert row (the engine writes alerts in bulk; this is for single inserts and tests).
pub struct NewAlert {
    pub alert_type: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub assigned_to_staff_id: i64,
    pub alert_metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewAlert) -> Result<Model, DbErr> {
    ActiveModel {
        alert_type: Set(new.alert_type),
        severity: Set(new.severity),
        title: Set(new.title),
        message: Set(new.message),
        resource_type: Set(new.resource_type),
        resource_id: Set(new.resource_id),
        assigned_to_staff_id: Set(new.assigned_to_staff_id),
        is_read: Set(false),
        is_dismissed: Set(false),
        alert_metadata: Set(new.alert_metadata),
        created_at: Set(new.created_at),
        read_at: Set(None),
        dismissed_at: Set(None),
        expires_at: Set(new.expires_at),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Deletes up to one batch of alerts dismissed or expired before `before`;
/// returns how many. (MySQL cannot delete from a table it selects from in a
/// subquery, so the ids go through a derived table.)
pub async fn delete_old_alerts_batch(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    use super::entities::alert::Column as A;
    let old = Expr::col(A::IsDismissed)
        .eq(true)
        .and(Expr::col(A::DismissedAt).lt(before))
        .or(Expr::col(A::ExpiresAt).lt(before));
    let ids = Query::select()
        .column(A::Id)
        .from(super::entities::alert::Entity)
        .and_where(old)
        .limit(super::BATCH_ROWS as u64)
        .take();
    let derived = Query::select().column("id").from_subquery(ids, Alias::new("old_ids")).take();
    let q = Query::delete()
        .from_table(super::entities::alert::Entity)
        .and_where(Expr::col(A::Id).in_subquery(derived))
        .take();
    Ok(db.execute(&q).await?.rows_affected())
}

/// Snoozes one of `staff_id`'s live alerts until `until` (again: a new time).
/// Returns whether a row changed (not: missing, another's, dismissed, expired).
pub async fn snooze(
    db: &impl ConnectionTrait,
    staff_id: i64,
    id: i64,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let changed = update_retrying(db, || {
        Entity::update_many()
            .col_expr(Column::SnoozedUntil, Expr::value(until))
            .col_expr(Column::SnoozedAt, Expr::value(now))
            .filter(live(staff_id, now).add(Column::Id.eq(id)))
    })
    .await?;
    Ok(changed > 0)
}

/// Which snoozed alerts a wake claims.
pub enum Wakes<'a> {
    /// Those whose time came (`snoozed_until <= now`), the first due first.
    Due,
    /// These, if still snoozed (early wakes).
    Ids(&'a [i64]),
}

/// What one wake transaction woke: the rows themselves when there were few
/// enough to push one by one, else only whose live alerts they were.
pub struct Woke {
    /// How many alerts it woke (dismissed and expired ones included).
    pub count: usize,
    /// The woken alerts, when `count` was within the caller's `full_rows`.
    pub alerts: Vec<Model>,
    /// Else the owners of the live ones among them, once each.
    pub owners: Vec<i64>,
}

/// Wakes up to `limit` snoozed alerts in one transaction: they lose their
/// snooze, and the live ones become unread (`read_at`, the first read, is
/// kept). Race-free: the rows are locked as they are chosen (PostgreSQL and
/// MariaDB skip what a racing wake holds; SQLite has one writer, taken up
/// front), so of racing wakes each alert is woken by one. Reads back the
/// woken alerts if there are at most `full_rows` of them, else only their
/// owners: decoding thousands of whole rows nobody is sent cost more than
/// the update (docs/PERFORMANCE.md, "Waking snoozed alerts").
pub async fn wake(
    db: &super::Db,
    which: Wakes<'_>,
    now: DateTime<Utc>,
    limit: u64,
    full_rows: usize,
) -> Result<Woke, DbErr> {
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{LockBehavior, LockType};
    let dialect = super::dialect::Dialect::of(db)?;
    if let (super::dialect::Dialect::Sqlite, Wakes::Due) = (dialect, &which) {
        return wake_due_sqlite(db, now, limit, full_rows).await;
    }
    let timer = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(step, elapsed_ms = timer.elapsed().as_millis() as u64, "snooze wake");
    let txn = super::begin_write(db).await?;
    // The owners come with the pick: the rows are locked until the commit.
    let mut select = Query::select();
    select
        .columns([Column::Id, Column::AssignedToStaffId, Column::IsDismissed, Column::ExpiresAt])
        .from(Entity)
        .limit(limit);
    match which {
        Wakes::Due => select
            .and_where(Expr::col(Column::SnoozedUntil).lte(now))
            .order_by(Column::SnoozedUntil, sea_orm::Order::Asc),
        Wakes::Ids(ids) => select
            .and_where(Expr::col(Column::SnoozedUntil).is_not_null())
            .and_where(Expr::col(Column::Id).is_in(ids.iter().copied())),
    };
    match dialect {
        super::dialect::Dialect::MySql | super::dialect::Dialect::Postgres => {
            select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        super::dialect::Dialect::Sqlite => {}
    }
    let rows = txn.query_all_raw(super::dialect::portable(dialect.backend().build(&select))).await?;
    let (ids, owners) = woken_rows(&rows, now)?;
    let mut woke = Woke { count: ids.len(), alerts: Vec::new(), owners: Vec::new() };
    lap("claim");
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(woke);
    }
    let update = wake_update(now).filter(Column::Id.is_in(ids.iter().copied())).build(dialect.backend());
    txn.execute_raw(super::dialect::portable(update)).await?;
    lap("update");
    if ids.len() <= full_rows {
        woke.alerts = Entity::find().filter(Column::Id.is_in(ids)).order_by_asc(Column::Id).all(&txn).await?;
    } else {
        woke.owners = owners;
    }
    lap("read back");
    txn.commit().await?;
    lap("commit");
    Ok(woke)
}

/// How many wakes of due snoozes may run at once: one on SQLite (one writer);
/// two on MariaDB and PostgreSQL, where `SKIP LOCKED` keeps their batches
/// apart and each server connection runs on a core of its own (100 000 alerts
/// woke in 2.4 s one batch after another; docs/PERFORMANCE.md, "Waking
/// snoozed alerts").
pub fn wake_workers(db: &super::Db) -> usize {
    if super::one_writer(db) { 1 } else { 2 }
}

/// On SQLite a wake of due snoozes takes this many of the caller's batches at
/// once: there its cost is mostly commits, and 100 000 alerts due together
/// woke in 1.1–1.4 s in five transactions (each holding the one writer about
/// 200 ms) against 2.8 s in twenty (docs/PERFORMANCE.md, "Waking snoozed alerts").
const SQLITE_BATCHES_AT_ONCE: u64 = 4;

/// [`wake`] of the due snoozes on SQLite: one `UPDATE … WHERE id IN (the
/// first due) RETURNING` picks, wakes and reports them. Binding the chosen
/// ids back into an `IN` list cost about five times the bare update per row
/// there; SQLite has one writer, so nothing races the pick. (On PostgreSQL
/// the same statement with the pick locked, `FOR UPDATE SKIP LOCKED`, took
/// 5 s a batch of 5 000 against 120 ms for pick, update and read apart.)
async fn wake_due_sqlite(db: &super::Db, now: DateTime<Utc>, limit: u64, full_rows: usize) -> Result<Woke, DbErr> {
    let limit = limit.saturating_mul(SQLITE_BATCHES_AT_ONCE);
    use sea_orm::QueryTrait;
    let timer = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(step, elapsed_ms = timer.elapsed().as_millis() as u64, "snooze wake");
    let txn = super::begin_write(db).await?;
    let due = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::SnoozedUntil).lte(now))
        .order_by(Column::SnoozedUntil, sea_orm::Order::Asc)
        .limit(limit)
        .take();
    let mut update = wake_update(now).filter(Column::Id.in_subquery(due)).into_query();
    update.returning(Query::returning().columns([
        Column::Id,
        Column::AssignedToStaffId,
        Column::IsDismissed,
        Column::ExpiresAt,
    ]));
    let backend = sea_orm::DatabaseBackend::Sqlite;
    let rows = txn.query_all_raw(super::dialect::portable(backend.build(&update))).await?;
    lap("update");
    let (ids, owners) = woken_rows(&rows, now)?;
    let mut woke = Woke { count: ids.len(), alerts: Vec::new(), owners: Vec::new() };
    if !ids.is_empty() && ids.len() <= full_rows {
        woke.alerts = Entity::find().filter(Column::Id.is_in(ids)).order_by_asc(Column::Id).all(&txn).await?;
    } else {
        woke.owners = owners;
    }
    lap("read back");
    txn.commit().await?;
    lap("commit");
    Ok(woke)
}

/// The ids of woken rows (`id`, `assigned_to_staff_id`, `is_dismissed`,
/// `expires_at`) and, once each, the owners of the live ones at `now`.
fn woken_rows(rows: &[sea_orm::QueryResult], now: DateTime<Utc>) -> Result<(Vec<i64>, Vec<i64>), DbErr> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut owners = std::collections::BTreeSet::new();
    for row in rows {
        ids.push(row.try_get::<i64>("", "id")?);
        let expires_at: Option<DateTime<Utc>> = row.try_get("", "expires_at")?;
        if !row.try_get::<bool>("", "is_dismissed")? && expires_at.is_none_or(|t| t > now) {
            owners.insert(row.try_get::<i64>("", "assigned_to_staff_id")?);
        }
    }
    Ok((ids, owners.into_iter().collect()))
}

/// Wakes one of `staff_id`'s snoozed alerts now (unread, if live). Returns
/// whether this call woke it (not: not snoozed, or woken by a racing wake).
pub async fn wake_one(db: &impl ConnectionTrait, staff_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let result = wake_update(now)
        .filter(Column::Id.eq(id))
        .filter(Column::AssignedToStaffId.eq(staff_id))
        .filter(Column::SnoozedUntil.is_not_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Snoozed alerts that a newer alert of the same resource and recipient,
/// created since `since` and after the snooze began, supersedes (at risk →
/// breached): driven by the new alerts (`idx_alerts_created`), each probing
/// its resource's alerts (`idx_alerts_resource`). At most `limit` ids.
pub async fn superseded(db: &impl ConnectionTrait, since: DateTime<Utc>, limit: u64) -> Result<Vec<i64>, DbErr> {
    use super::sql::Sql;
    let mut sql = Sql::new(super::dialect::Dialect::of(db)?);
    let since = sql.bind("since", since);
    let limit = sql.bind("limit", i64::try_from(limit).unwrap_or(i64::MAX));
    let select = format!(
        "SELECT DISTINCT s.id FROM alerts n \
         JOIN alerts s ON s.resource_type = n.resource_type AND s.resource_id = n.resource_id \
         AND s.assigned_to_staff_id = n.assigned_to_staff_id \
         WHERE n.created_at > {since} AND n.resource_id IS NOT NULL \
         AND s.snoozed_until IS NOT NULL AND s.id < n.id AND s.snoozed_at <= n.created_at \
         ORDER BY s.id LIMIT {limit}"
    );
    let rows = db.query_all_raw(sql.statement(&select)?).await?;
    rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect()
}

/// The snoozed alerts about complaint `complaint_id` (every recipient's).
pub async fn snoozed_of_complaint(db: &impl ConnectionTrait, complaint_id: i64) -> Result<Vec<i64>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ResourceType.eq("complaint"))
        .filter(Column::ResourceId.eq(complaint_id))
        .filter(Column::SnoozedUntil.is_not_null())
        .into_tuple()
        .all(db)
        .await
}
