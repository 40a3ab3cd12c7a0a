//! `complaints`: the host data the alerts are about.
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::dialect::{Dialect, portable};
use super::entities::complaint::{ActiveModel, Column, Entity, Model};
use crate::domain::complaints::ComplaintFilter;

/// A complaint to write, its values checked by the domain.
pub struct NewComplaintRow {
    pub title: String,
    pub description: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub priority: String,
    pub status: String,
    pub assigned_to_staff_id: Option<i64>,
    pub sla_deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub external_updated_at: Option<DateTime<Utc>>,
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
    pub sla_deadline: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub customer_name: Option<String>,
    pub customer_email: Option<Option<String>>,
    pub external_updated_at: Option<DateTime<Utc>>,
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
        sla_deadline: Set(new.sla_deadline),
        created_at: Set(new.created_at),
        updated_at: Set(new.updated_at),
        resolved_at: Set(new.resolved_at),
        external_id: Set(new.external_id),
        external_updated_at: Set(new.external_updated_at),
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
    if let Some(deadline) = changes.sla_deadline {
        row.sla_deadline = Set(Some(deadline));
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

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
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
    let total = query.clone().count(db).await?;
    let rows =
        query.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id).offset(offset).limit(limit).all(db).await?;
    Ok((rows, total))
}
