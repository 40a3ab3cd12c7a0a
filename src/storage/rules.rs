//! `alert_rules`.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::Value;

use super::entities::alert_rule::{ActiveModel, Column, Entity, Model};

pub async fn list(db: &impl ConnectionTrait, rule_type: Option<&str>, enabled_only: bool) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().order_by_asc(Column::Id);
    if let Some(t) = rule_type {
        query = query.filter(Column::RuleType.eq(t));
    }
    if enabled_only {
        query = query.filter(Column::IsEnabled.eq(true));
    }
    query.all(db).await
}

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub struct NewRuleRow {
    pub rule_name: String,
    pub rule_type: String,
    pub is_enabled: bool,
    pub conditions: Value,
    pub alert_config: Value,
    pub created_by_staff_id: Option<i64>,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, row: NewRuleRow) -> Result<Model, DbErr> {
    ActiveModel {
        rule_name: Set(row.rule_name),
        rule_type: Set(row.rule_type),
        is_enabled: Set(row.is_enabled),
        conditions: Set(row.conditions),
        alert_config: Set(row.alert_config),
        created_by_staff_id: Set(row.created_by_staff_id),
        created_at: Set(row.now),
        updated_at: Set(row.now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn update(
    db: &impl ConnectionTrait,
    current: Model,
    rule_name: Option<String>,
    is_enabled: Option<bool>,
    conditions: Value,
    alert_config: Value,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut row = current.into_active_model();
    if let Some(name) = rule_name {
        row.rule_name = Set(name);
    }
    if let Some(enabled) = is_enabled {
        row.is_enabled = Set(enabled);
    }
    row.conditions = Set(conditions);
    row.alert_config = Set(alert_config);
    row.updated_at = Set(now);
    row.update(db).await
}

/// Whether a row was deleted.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}
