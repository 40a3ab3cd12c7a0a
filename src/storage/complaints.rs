//! `complaints`: the host data the alerts are about.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::complaint::{ActiveModel, Column, Entity, Model};

#[derive(Debug, Default, Clone)]
pub struct ComplaintFilter {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub assigned_to_staff_id: Option<i64>,
}

pub async fn insert(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
    row.insert(db).await
}

pub async fn update(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
    row.update(db).await
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
