//! SLA calendars (with their revisions), policies, the settings' revision,
//! the at-risk points of each running clock, and the batch writes that
//! re-project open complaints.
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;

use super::complaints::ClockColumns;
use super::dialect::Dialect;
use super::entities::{complaint, sla_calendar, sla_calendar_revision, sla_policy};
use super::sql::{Sql, id_list, scalar};

/// The revision of the SLA settings: it moves on every change of a policy,
/// a calendar or an at-risk rule.
pub async fn revision(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let dialect = Dialect::of(db)?;
    scalar(db, Sql::new(dialect).statement("SELECT revision FROM sla_revision WHERE id = 1")?).await
}

/// Moves the revision on (in the transaction of the change).
pub async fn bump_revision(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    db.execute_raw(Sql::new(dialect).statement("UPDATE sla_revision SET revision = revision + 1 WHERE id = 1")?)
        .await
        .map(|_| ())
}

pub async fn calendars(db: &impl ConnectionTrait) -> Result<Vec<sla_calendar::Model>, DbErr> {
    sla_calendar::Entity::find().order_by_asc(sla_calendar::Column::Id).all(db).await
}

pub async fn calendar(db: &impl ConnectionTrait, id: i64) -> Result<Option<sla_calendar::Model>, DbErr> {
    sla_calendar::Entity::find_by_id(id).one(db).await
}

pub async fn calendar_revisions(db: &impl ConnectionTrait) -> Result<Vec<sla_calendar_revision::Model>, DbErr> {
    sla_calendar_revision::Entity::find().all(db).await
}

/// A calendar's definition, checked by the domain.
pub struct CalendarRow {
    pub name: String,
    pub time_zone: String,
    pub weekly_hours: Value,
    pub holidays: Value,
}

async fn add_revision(
    db: &impl ConnectionTrait,
    calendar_id: i64,
    row: &CalendarRow,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let revision = sla_calendar_revision::ActiveModel {
        id: NotSet,
        calendar_id: Set(calendar_id),
        time_zone: Set(row.time_zone.clone()),
        weekly_hours: Set(row.weekly_hours.clone()),
        holidays: Set(row.holidays.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(revision.id)
}

/// Inserts a calendar and its first revision.
pub async fn insert_calendar(
    db: &impl ConnectionTrait,
    row: CalendarRow,
    now: DateTime<Utc>,
) -> Result<sla_calendar::Model, DbErr> {
    let calendar = sla_calendar::ActiveModel {
        id: NotSet,
        name: Set(row.name.clone()),
        time_zone: Set(row.time_zone.clone()),
        weekly_hours: Set(row.weekly_hours.clone()),
        holidays: Set(row.holidays.clone()),
        revision_id: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let revision_id = add_revision(db, calendar.id, &row, now).await?;
    let mut calendar = calendar.into_active_model();
    calendar.revision_id = Set(revision_id);
    calendar.update(db).await
}

/// Replaces a calendar's definition; the old one stays as a revision.
pub async fn update_calendar(
    db: &impl ConnectionTrait,
    current: sla_calendar::Model,
    row: CalendarRow,
    now: DateTime<Utc>,
) -> Result<sla_calendar::Model, DbErr> {
    let revision_id = add_revision(db, current.id, &row, now).await?;
    let mut calendar = current.into_active_model();
    calendar.name = Set(row.name);
    calendar.time_zone = Set(row.time_zone);
    calendar.weekly_hours = Set(row.weekly_hours);
    calendar.holidays = Set(row.holidays);
    calendar.revision_id = Set(revision_id);
    calendar.updated_at = Set(now);
    calendar.update(db).await
}

/// Deletes a calendar no policy uses (its revisions stay: clocks counted on them).
pub async fn delete_calendar(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(sla_calendar::Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}

/// The names of the policies using a calendar.
pub async fn policies_using(db: &impl ConnectionTrait, calendar_id: i64) -> Result<Vec<String>, DbErr> {
    let rows = sla_policy::Entity::find().filter(sla_policy::Column::CalendarId.eq(calendar_id)).all(db).await?;
    Ok(rows.into_iter().map(|p| p.name).collect())
}

/// Policies in the order they are matched.
pub async fn policies(db: &impl ConnectionTrait) -> Result<Vec<sla_policy::Model>, DbErr> {
    sla_policy::Entity::find()
        .order_by_asc(sla_policy::Column::Position)
        .order_by_asc(sla_policy::Column::Id)
        .all(db)
        .await
}

pub async fn policy(db: &impl ConnectionTrait, id: i64) -> Result<Option<sla_policy::Model>, DbErr> {
    sla_policy::Entity::find_by_id(id).one(db).await
}

/// A policy, checked by the domain.
pub struct PolicyRow {
    pub name: String,
    pub position: i32,
    pub match_priorities: Value,
    pub match_statuses: Option<Value>,
    pub calendar_id: i64,
    pub first_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    pub pause_statuses: Value,
}

pub async fn insert_policy(
    db: &impl ConnectionTrait,
    row: PolicyRow,
    now: DateTime<Utc>,
) -> Result<sla_policy::Model, DbErr> {
    let mut policy = sla_policy::ActiveModel { id: NotSet, created_at: Set(now), ..Default::default() };
    set_policy(&mut policy, row, now);
    policy.insert(db).await
}

pub async fn update_policy(
    db: &impl ConnectionTrait,
    current: sla_policy::Model,
    row: PolicyRow,
    now: DateTime<Utc>,
) -> Result<sla_policy::Model, DbErr> {
    let mut policy = current.into_active_model();
    set_policy(&mut policy, row, now);
    policy.update(db).await
}

fn set_policy(policy: &mut sla_policy::ActiveModel, row: PolicyRow, now: DateTime<Utc>) {
    policy.name = Set(row.name);
    policy.position = Set(row.position);
    policy.match_priorities = Set(row.match_priorities);
    policy.match_statuses = Set(row.match_statuses);
    policy.calendar_id = Set(row.calendar_id);
    policy.first_response_minutes = Set(row.first_response_minutes);
    policy.resolution_minutes = Set(row.resolution_minutes);
    policy.pause_statuses = Set(row.pause_statuses);
    policy.updated_at = Set(now);
}

pub async fn delete_policy(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(sla_policy::Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}

/// One complaint's at-risk points: (rule id, when it comes due, working
/// seconds then left to the due time).
pub type Points = Vec<(i64, DateTime<Utc>, i64)>;

/// Replaces the at-risk points of these complaints (two statements).
pub async fn replace_points(db: &impl ConnectionTrait, points: &[(i64, Points)]) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    let ids: Vec<i64> = points.iter().map(|(id, _)| *id).collect();
    let Some(ids) = id_list(&ids) else { return Ok(()) };
    db.execute_raw(Sql::new(dialect).statement(&format!("DELETE FROM sla_points WHERE complaint_id IN ({ids})"))?)
        .await?;
    insert_points(db, points).await
}

/// Writes the at-risk points of complaints that have none yet (just
/// inserted): one statement.
pub async fn insert_points(db: &impl ConnectionTrait, points: &[(i64, Points)]) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let mut rows = Vec::new();
    for (complaint_id, list) in points {
        for (rule_id, due_at, working_left) in list {
            let at = sql.bind(&format!("d{}", rows.len()), *due_at);
            rows.push(format!("({complaint_id}, {rule_id}, {at}, {working_left})"));
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let insert =
        format!("INSERT INTO sla_points (complaint_id, rule_id, due_at, working_left) VALUES {}", rows.join(", "));
    db.execute_raw(sql.statement(&insert)?).await.map(|_| ())
}

/// The oldest revision complaints were projected with, if older than `revision`.
pub async fn oldest_stale_revision(db: &impl ConnectionTrait, revision: i64) -> Result<Option<i64>, DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let revision = sql.bind("revision", revision);
    let row = db
        .query_one_raw(
            sql.statement(&format!("SELECT MIN(sla_revision) FROM complaints WHERE sla_revision < {revision}"))?,
        )
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<Option<i64>>(0)).transpose()?.flatten())
}

/// Up to `limit` complaints projected with `revision`, by id after `after`
/// (an ordered range of `idx_complaints_sla_revision`), locked in that
/// order for the caller's transaction (MySQL, PostgreSQL; SQLite has one
/// writer). Two instances re-projecting at once then queue on the first
/// row, and the second skips what the first rewrote; unlocked, their
/// updates of the same batch took its rows in plan order and could
/// deadlock (PostgreSQL, two checkers at once).
pub async fn clocks_of_revision(
    db: &impl ConnectionTrait,
    revision: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<complaint::Model>, DbErr> {
    complaint::Entity::find()
        .filter(complaint::Column::SlaRevision.eq(revision))
        .filter(complaint::Column::Id.gt(after))
        .order_by_asc(complaint::Column::SlaRevision)
        .order_by_asc(complaint::Column::Id)
        .limit(limit)
        .lock_exclusive()
        .all(db)
        .await
}

/// Writes the re-projected clocks of several complaints in one statement
/// (a `CASE` per column, portable to the three dialects), and marks them
/// written, so the next check evaluates them.
pub async fn write_clocks(
    db: &impl ConnectionTrait,
    clocks: &[(i64, ClockColumns)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    let ids: Vec<i64> = clocks.iter().map(|(id, _)| *id).collect();
    let Some(id_list) = id_list(&ids) else { return Ok(()) };
    let mut sql = Sql::new(dialect);
    type Get = fn(&ClockColumns) -> sea_orm::Value;
    let columns: [(&str, Get); 11] = [
        ("sla_policy_id", |c| c.sla_policy_id.into()),
        ("sla_calendar_revision_id", |c| c.sla_calendar_revision_id.into()),
        ("sla_revision", |c| c.sla_revision.into()),
        ("sla_clock_at", |c| c.sla_clock_at.into()),
        ("sla_used_seconds", |c| c.sla_used_seconds.into()),
        ("sla_paused_since", |c| c.sla_paused_since.into()),
        ("first_response_due_at", |c| c.first_response_due_at.into()),
        ("sla_deadline", |c| c.sla_deadline.into()),
        ("sla_deadline_explicit", |c| c.sla_deadline_explicit.into()),
        ("sla_due_text", |c| c.sla_due_text.clone().into()),
        ("first_response_due_text", |c| c.first_response_due_text.clone().into()),
    ];
    let mut sets = Vec::with_capacity(columns.len() + 1);
    for (n, (column, get)) in columns.iter().enumerate() {
        let mut case = format!("{column} = CASE id");
        for (i, (id, clock)) in clocks.iter().enumerate() {
            let value = sql.bind(&format!("v{n}_{i}"), get(clock));
            case.push_str(&format!(" WHEN {id} THEN {value}"));
        }
        case.push_str(" END");
        sets.push(case);
    }
    sets.push(format!("sla_unchecked_since = {}", sql.bind("now", now)));
    let update = format!("UPDATE complaints SET {} WHERE id IN ({id_list})", sets.join(", "));
    db.execute_raw(sql.statement(&update)?).await.map(|_| ())
}

/// Marks a complaint evaluated, unless it was written again since `stamp`.
pub async fn mark_checked(db: &impl ConnectionTrait, complaint_id: i64, stamp: DateTime<Utc>) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let stamp = sql.bind("stamp", stamp);
    let id = sql.bind("id", complaint_id);
    let update =
        format!("UPDATE complaints SET sla_unchecked_since = NULL WHERE id = {id} AND sla_unchecked_since = {stamp}");
    db.execute_raw(sql.statement(&update)?).await.map(|_| ())
}

/// Marks evaluated the complaints written at or before `before` (the check
/// that read them has run every rule over them).
pub async fn clear_unchecked(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let before = sql.bind("before", before);
    let update = format!(
        "UPDATE complaints SET sla_unchecked_since = NULL \
         WHERE sla_unchecked_since IS NOT NULL AND sla_unchecked_since <= {before}"
    );
    Ok(db.execute_raw(sql.statement(&update)?).await?.rows_affected())
}

/// Marks the open complaints assigned to `staff_id` written (so the next
/// check evaluates them again): their recipients changed.
pub async fn mark_unchecked_of(db: &impl ConnectionTrait, staff_id: i64, now: DateTime<Utc>) -> Result<(), DbErr> {
    let dialect = Dialect::of(db)?;
    let mut sql = Sql::new(dialect);
    let now = sql.bind("now", now);
    let staff = sql.bind("staff", staff_id);
    let statuses: Vec<String> = crate::domain::sla::LIVE_STATUSES.iter().map(|s| (*s).to_owned()).collect();
    let update = format!(
        "UPDATE complaints SET sla_unchecked_since = {now} WHERE assigned_to_staff_id = {staff} AND status {}",
        sql.in_list("st", &statuses)
    );
    db.execute_raw(sql.statement(&update)?).await.map(|_| ())
}
