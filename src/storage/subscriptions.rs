//! `alert_subscriptions`: one row per (staff, alert type).
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use super::entities::alert_subscription::{ActiveModel, Column, Entity, Model};

pub async fn of_staff(db: &impl ConnectionTrait, staff_id: i64) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::StaffId.eq(staff_id)).order_by_asc(Column::AlertType).all(db).await
}

/// Creates or replaces the caller's subscription to `alert_type` in one atomic statement.
pub async fn upsert(
    db: &impl ConnectionTrait,
    staff_id: i64,
    alert_type: &str,
    is_enabled: bool,
    channels: Value,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let row = ActiveModel {
        staff_id: Set(staff_id),
        alert_type: Set(alert_type.to_owned()),
        is_enabled: Set(is_enabled),
        delivery_channels: Set(channels),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::StaffId, Column::AlertType])
                .update_columns([Column::IsEnabled, Column::DeliveryChannels, Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Entity::find()
        .filter(Column::StaffId.eq(staff_id))
        .filter(Column::AlertType.eq(alert_type))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("subscription after upsert".into()))
}

pub async fn delete(db: &impl ConnectionTrait, staff_id: i64, alert_type: &str) -> Result<bool, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::StaffId.eq(staff_id))
        .filter(Column::AlertType.eq(alert_type))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Every subscription to one alert type (the engine routes a whole rule's alerts with one query).
pub async fn of_type(db: &impl ConnectionTrait, alert_type: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::AlertType.eq(alert_type)).all(db).await
}
