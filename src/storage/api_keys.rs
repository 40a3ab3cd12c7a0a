//! API keys: rows keyed by the hash of their secret.
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::entities::api_key::{ActiveModel, Column, Entity, Model};

pub struct NewApiKey {
    pub name: String,
    pub key_prefix: String,
    pub key_hash: String,
    pub permissions: Vec<String>,
    pub created_by_staff_id: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewApiKey) -> Result<Model, DbErr> {
    ActiveModel {
        id: NotSet,
        name: Set(new.name),
        key_prefix: Set(new.key_prefix),
        key_hash: Set(new.key_hash),
        permissions: Set(serde_json::Value::from(new.permissions)),
        created_by_staff_id: Set(new.created_by_staff_id),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        last_used_address: Set(None),
    }
    .insert(db)
    .await
}

/// Every key, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find().order_by_desc(Column::Id).all(db).await
}

pub async fn by_hash(db: &impl ConnectionTrait, key_hash: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::KeyHash.eq(key_hash)).one(db).await
}

/// Revokes a key (the first revocation time is kept); `false` when there is no such key.
pub async fn revoke(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let found = Entity::find_by_id(id).one(db).await?.is_some();
    if found {
        Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .filter(Column::Id.eq(id))
            .filter(Column::RevokedAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(found)
}

/// Records a use, at most once a minute per key (a write per request would
/// cost more than the request).
pub async fn touch(db: &impl ConnectionTrait, id: i64, address: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    let stale =
        Expr::col(Column::LastUsedAt).is_null().or(Expr::col(Column::LastUsedAt).lt(now - TimeDelta::minutes(1)));
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(now))
        .col_expr(Column::LastUsedAddress, Expr::value(address))
        .filter(Column::Id.eq(id))
        .filter(stale)
        .exec(db)
        .await
        .map(|_| ())
}
