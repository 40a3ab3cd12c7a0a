//! `complaints`: the host data the alerts are about.
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};

use super::dialect::{Dialect, portable};
use super::entities::complaint::{ActiveModel, Column, Entity, Model};
use crate::domain::complaints::ComplaintFilter;

/// A complaint's `sla_deadline` may lie years ahead: on MySQL the row is
/// written through [`portable`] so a date past 2038 is not lost.
pub async fn insert(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
    let dialect = Dialect::of(db)?;
    if dialect != Dialect::MySql {
        return row.insert(db).await;
    }
    let done = db.execute_raw(portable(Entity::insert(row).build(dialect.backend()))).await?;
    let id = i64::try_from(done.last_insert_id()).map_err(|e| DbErr::Custom(e.to_string()))?;
    by_id(db, id).await?.ok_or_else(|| DbErr::RecordNotFound(format!("complaint {id} after insert")))
}

pub async fn update(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
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
