//! `complaints`: the host data the alerts are about.
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::dialect::{Dialect, portable};
use super::entities::complaint::{ActiveModel, Column, Entity, Model};
use crate::domain::complaints::{ComplaintFilter, SlaFilter};

/// A complaint's SLA clock as the domain projected it (see `domain::sla`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClockColumns {
    pub sla_policy_id: Option<i64>,
    pub sla_calendar_revision_id: Option<i64>,
    pub sla_revision: i64,
    pub sla_clock_at: Option<DateTime<Utc>>,
    pub sla_used_seconds: i64,
    pub sla_paused_since: Option<DateTime<Utc>>,
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// The resolution due time.
    pub sla_deadline: Option<DateTime<Utc>>,
    pub sla_deadline_explicit: bool,
    /// The due times in the calendar's zone (`None` on the 24x7 calendar).
    pub sla_due_text: Option<String>,
    pub first_response_due_text: Option<String>,
}

/// A complaint to write, its values checked by the domain.
#[derive(Clone)]
pub struct NewComplaintRow {
    pub title: String,
    pub description: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub priority: String,
    pub status: String,
    pub assigned_to_staff_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub external_updated_at: Option<DateTime<Utc>>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub clock: ClockColumns,
    /// Written and not yet evaluated by the engine.
    pub unchecked_since: Option<DateTime<Utc>>,
}

/// The columns a change writes; `None` keeps the column.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ComplaintUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub resolved_at: Option<Option<DateTime<Utc>>>,
    pub assigned_to_staff_id: Option<Option<i64>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub customer_name: Option<String>,
    pub customer_email: Option<Option<String>>,
    pub external_updated_at: Option<DateTime<Utc>>,
    pub first_responded_at: Option<Option<DateTime<Utc>>>,
    /// The re-projected clock (its `sla_deadline` included).
    pub clock: Option<ClockColumns>,
    pub unchecked_since: Option<DateTime<Utc>>,
}

fn active_model(new: NewComplaintRow) -> ActiveModel {
    ActiveModel {
        id: NotSet,
        title: Set(new.title),
        description: Set(new.description),
        customer_name: Set(new.customer_name),
        customer_email: Set(new.customer_email),
        priority: Set(new.priority),
        status: Set(new.status),
        assigned_to_staff_id: Set(new.assigned_to_staff_id),
        sla_deadline: Set(new.clock.sla_deadline),
        created_at: Set(new.created_at),
        updated_at: Set(new.updated_at),
        resolved_at: Set(new.resolved_at),
        external_id: Set(new.external_id),
        external_updated_at: Set(new.external_updated_at),
        first_responded_at: Set(new.first_responded_at),
        sla_policy_id: Set(new.clock.sla_policy_id),
        sla_calendar_revision_id: Set(new.clock.sla_calendar_revision_id),
        sla_revision: Set(new.clock.sla_revision),
        sla_clock_at: Set(new.clock.sla_clock_at),
        sla_used_seconds: Set(new.clock.sla_used_seconds),
        sla_paused_since: Set(new.clock.sla_paused_since),
        first_response_due_at: Set(new.clock.first_response_due_at),
        sla_deadline_explicit: Set(new.clock.sla_deadline_explicit),
        sla_unchecked_since: Set(new.unchecked_since),
        sla_due_text: Set(new.clock.sla_due_text),
        first_response_due_text: Set(new.clock.first_response_due_text),
    }
}

/// The clock columns of a stored complaint.
pub fn clock_of(m: &Model) -> ClockColumns {
    ClockColumns {
        sla_policy_id: m.sla_policy_id,
        sla_calendar_revision_id: m.sla_calendar_revision_id,
        sla_revision: m.sla_revision,
        sla_clock_at: m.sla_clock_at,
        sla_used_seconds: m.sla_used_seconds,
        sla_paused_since: m.sla_paused_since,
        first_response_due_at: m.first_response_due_at,
        sla_deadline: m.sla_deadline,
        sla_deadline_explicit: m.sla_deadline_explicit,
        sla_due_text: m.sla_due_text.clone(),
        first_response_due_text: m.first_response_due_text.clone(),
    }
}

pub async fn insert(db: &impl ConnectionTrait, new: NewComplaintRow) -> Result<Model, DbErr> {
    insert_row(db, active_model(new)).await
}

/// Many complaints in one statement (an import's batch).
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<NewComplaintRow>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let dialect = Dialect::of(db)?;
    let insert = Entity::insert_many(rows.into_iter().map(active_model));
    db.execute_raw(portable(insert.build(dialect.backend()))).await.map(|_| ())
}

/// The complaints with these host ids (an import's batch).
///
/// On PostgreSQL the ids are written into the statement, escaped, instead of
/// bound: the same statement with a thousand parameters, run once per batch,
/// gets a generic plan after five runs, and that plan, made from the
/// statistics of a table the import is still filling, scanned the whole
/// table per batch (100 000 lines took 104 s, 3.7 s without it).
pub async fn by_external_ids(db: &impl ConnectionTrait, external_ids: &[String]) -> Result<Vec<Model>, DbErr> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = Entity::find().filter(Column::ExternalId.is_in(external_ids.iter().cloned()));
    match Dialect::of(db)? {
        Dialect::Postgres => {
            let sql = query.into_query().to_string(sea_orm::sea_query::PostgresQueryBuilder);
            Model::find_by_statement(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql)).all(db).await
        }
        Dialect::Sqlite | Dialect::MySql => query.all(db).await,
    }
}

/// Writes `changes` to the complaint `current`; returns it as stored.
pub async fn update(db: &impl ConnectionTrait, current: Model, changes: ComplaintUpdate) -> Result<Model, DbErr> {
    let mut row: ActiveModel = current.into();
    let set = |value: Option<String>, column: &mut sea_orm::ActiveValue<String>| {
        if let Some(v) = value {
            *column = Set(v);
        }
    };
    set(changes.title, &mut row.title);
    set(changes.description, &mut row.description);
    set(changes.priority, &mut row.priority);
    set(changes.status, &mut row.status);
    if let Some(resolved_at) = changes.resolved_at {
        row.resolved_at = Set(resolved_at);
    }
    if let Some(assignee) = changes.assigned_to_staff_id {
        row.assigned_to_staff_id = Set(assignee);
    }
    if let Some(clock) = changes.clock {
        row.sla_deadline = Set(clock.sla_deadline);
        row.sla_policy_id = Set(clock.sla_policy_id);
        row.sla_calendar_revision_id = Set(clock.sla_calendar_revision_id);
        row.sla_revision = Set(clock.sla_revision);
        row.sla_clock_at = Set(clock.sla_clock_at);
        row.sla_used_seconds = Set(clock.sla_used_seconds);
        row.sla_paused_since = Set(clock.sla_paused_since);
        row.first_response_due_at = Set(clock.first_response_due_at);
        row.sla_deadline_explicit = Set(clock.sla_deadline_explicit);
        row.sla_due_text = Set(clock.sla_due_text);
        row.first_response_due_text = Set(clock.first_response_due_text);
    }
    if let Some(at) = changes.first_responded_at {
        row.first_responded_at = Set(at);
    }
    if let Some(at) = changes.unchecked_since {
        row.sla_unchecked_since = Set(Some(at));
    }
    if let Some(at) = changes.updated_at {
        row.updated_at = Set(at);
    }
    set(changes.customer_name, &mut row.customer_name);
    if let Some(email) = changes.customer_email {
        row.customer_email = Set(email);
    }
    if let Some(at) = changes.external_updated_at {
        row.external_updated_at = Set(Some(at));
    }
    update_row(db, row).await
}

/// A complaint's `sla_deadline` may lie years ahead: on MySQL the row is
/// written through [`portable`] so a date past 2038 is not lost.
async fn insert_row(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
    let dialect = Dialect::of(db)?;
    if dialect != Dialect::MySql {
        return row.insert(db).await;
    }
    let done = db.execute_raw(portable(Entity::insert(row).build(dialect.backend()))).await?;
    let id = i64::try_from(done.last_insert_id()).map_err(|e| DbErr::Custom(e.to_string()))?;
    by_id(db, id).await?.ok_or_else(|| DbErr::RecordNotFound(format!("complaint {id} after insert")))
}

async fn update_row(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
    let dialect = Dialect::of(db)?;
    if dialect != Dialect::MySql {
        return row.update(db).await;
    }
    let (ActiveValue::Unchanged(id) | ActiveValue::Set(id)) = row.id.clone() else {
        return Err(DbErr::Custom("updating a complaint without its id".into()));
    };
    db.execute_raw(portable(Entity::update_many().set(row).filter(Column::Id.eq(id)).build(dialect.backend()))).await?;
    by_id(db, id).await?.ok_or_else(|| DbErr::RecordNotFound(format!("complaint {id}")))
}

pub async fn by_external_id(db: &impl ConnectionTrait, external_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::ExternalId.eq(external_id)).one(db).await
}

/// The complaint, locked for this transaction on MySQL and PostgreSQL
/// (SQLite's write transaction already holds the only write lock).
pub async fn by_id_for_update(db: &impl ConnectionTrait, id: i64) -> Result<Option<Model>, DbErr> {
    match Dialect::of(db)? {
        Dialect::Sqlite => Entity::find_by_id(id).one(db).await,
        Dialect::MySql | Dialect::Postgres => Entity::find_by_id(id).lock_exclusive().one(db).await,
    }
}

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// The complaints of `ids` that exist, in no particular order.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Model>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::BATCH_ROWS) {
        out.extend(Entity::find().filter(Column::Id.is_in(chunk.iter().copied())).all(db).await?);
    }
    Ok(out)
}

/// One page, newest first, and the number of matches.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &ComplaintFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Model>, u64), DbErr> {
    let mut query = Entity::find();
    if let Some(s) = &f.status {
        query = query.filter(Column::Status.eq(s.clone()));
    }
    if let Some(p) = &f.priority {
        query = query.filter(Column::Priority.eq(p.clone()));
    }
    if let Some(a) = f.assigned_to_staff_id {
        query = query.filter(Column::AssignedToStaffId.eq(a));
    }
    if let Some(staff) = &f.assignees {
        query = query.filter(Column::AssignedToStaffId.is_in(staff.iter().copied()));
    }
    if f.unassigned {
        query = query.filter(Column::AssignedToStaffId.is_null());
    }
    if let Some(text) = &f.text {
        query = query.filter(super::sql::any_contains(&[Column::Title, Column::CustomerName], text));
    }
    if let Some(state) = f.sla_state {
        let now = f.now.unwrap_or_else(Utc::now);
        let live = Column::Status.is_in(crate::domain::sla::LIVE_STATUSES);
        // 1 when a due time still to be met has passed (a CASE: no NULL to negate).
        let overdue = |flag: i32| {
            let first_overdue =
                Condition::all().add(Column::FirstRespondedAt.is_null()).add(Column::FirstResponseDueAt.lte(now));
            let case = CaseStatement::new().case(Column::SlaDeadline.lte(now), 1).case(first_overdue, 1).finally(0);
            Expr::expr(case).eq(flag)
        };
        let points_due =
            Query::select().column("complaint_id").from("sla_points").and_where(Expr::col("due_at").lte(now)).take();
        let at_risk = Column::Id.in_subquery(points_due);
        let running = Condition::all().add(live).add(Column::SlaPausedSince.is_null());
        query = query.filter(match state {
            SlaFilter::Paused => Condition::all()
                .add(Column::Status.is_in(crate::domain::sla::LIVE_STATUSES))
                .add(Column::SlaPausedSince.is_not_null()),
            SlaFilter::Breached => running.add(overdue(1)),
            SlaFilter::AtRisk => running.add(overdue(0)).add(at_risk),
            SlaFilter::Running => running.add(overdue(0)),
        });
    }
    let total = query.clone().count(db).await?;
    let query = if f.sort_by_due {
        // The sooner of the two due times still to be met; complaints without one last.
        let due = "CASE WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL \
                   AND (sla_deadline IS NULL OR first_response_due_at < sla_deadline) \
                   THEN first_response_due_at ELSE sla_deadline END";
        query
            .order_by_asc(Expr::cust(format!("CASE WHEN ({due}) IS NULL THEN 1 ELSE 0 END")))
            .order_by_asc(Expr::cust(due))
            .order_by_asc(Column::Id)
    } else {
        query.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id)
    };
    let rows = query.offset(offset).limit(limit).all(db).await?;
    Ok((rows, total))
}

/// The clocks' calendar revision of these complaints: (id, revision).
pub async fn calendar_revisions(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<(i64, Option<i64>)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::SlaCalendarRevisionId)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await
}
