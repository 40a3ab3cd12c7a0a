//! `alert_subscriptions`: one row per (staff, alert type).
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use super::entities::alert_subscription::{ActiveModel, Column, Entity, Model};

pub async fn of_staff(db: &impl ConnectionTrait, staff_id: i64) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::StaffId.eq(staff_id)).order_by_asc(Column::AlertType).all(db).await
}

/// What a subscription says, validated.
#[derive(Debug, Clone)]
pub struct Row {
    pub is_enabled: bool,
    pub channels: Value,
    pub delivery_mode: &'static str,
    pub daily_at: Option<String>,
}

/// Creates or replaces the caller's subscription to `alert_type` in one atomic statement.
pub async fn upsert(
    db: &impl ConnectionTrait,
    staff_id: i64,
    alert_type: &str,
    subscription: Row,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let row = ActiveModel {
        staff_id: Set(staff_id),
        alert_type: Set(alert_type.to_owned()),
        is_enabled: Set(subscription.is_enabled),
        delivery_channels: Set(subscription.channels),
        delivery_mode: Set(subscription.delivery_mode.to_owned()),
        daily_at: Set(subscription.daily_at),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::StaffId, Column::AlertType])
                .update_columns([
                    Column::IsEnabled,
                    Column::DeliveryChannels,
                    Column::DeliveryMode,
                    Column::DailyAt,
                    Column::UpdatedAt,
                ])
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

/// The digest subscriptions (not `instant`) of the people `staff_ids`: the
/// dispatcher's one read per claim of what to gather instead of send.
pub async fn digests_of(db: &impl ConnectionTrait, staff_ids: &[i64]) -> Result<Vec<Model>, DbErr> {
    if staff_ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::StaffId.is_in(staff_ids.iter().copied()))
        .filter(Column::DeliveryMode.ne("instant"))
        .all(db)
        .await
}
