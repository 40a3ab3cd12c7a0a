//! The `settings` key/value table.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::entities::setting;

/// Stores `value` under `key` unless a value is already there, then returns
/// the stored one: the first writer wins, also when several instances race.
pub async fn get_or_insert(
    db: &impl ConnectionTrait,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let row = setting::ActiveModel { key: Set(key.to_owned()), value: Set(value.to_owned()), updated_at: Set(now) };
    setting::Entity::insert(row).on_conflict_do_nothing_on([setting::Column::Key]).exec_without_returning(db).await?;
    setting::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(|s| s.value)
        .ok_or_else(|| DbErr::RecordNotFound(format!("setting {key}")))
}
