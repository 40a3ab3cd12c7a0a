//! Sessions that end before their token expires: tokens signed out one by
//! one, and every token of a staff member issued before a time (a password
//! changed or reset) but one.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::entities::{signed_out_token, staff};

/// Records a token as signed out until it expires; signing out twice is one row.
pub async fn sign_out(
    db: &impl ConnectionTrait,
    token_hash: &str,
    staff_id: i64,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = signed_out_token::ActiveModel {
        token_hash: sea_orm::ActiveValue::Set(token_hash.to_owned()),
        staff_id: sea_orm::ActiveValue::Set(staff_id),
        expires_at: sea_orm::ActiveValue::Set(expires_at),
    };
    signed_out_token::Entity::insert(row)
        // An update that changes nothing: MySQL has no DO NOTHING.
        .on_conflict(
            OnConflict::column(signed_out_token::Column::TokenHash)
                .update_column(signed_out_token::Column::TokenHash)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// The hashes of a staff member's signed-out tokens that have not expired.
pub async fn signed_out_of(db: &impl ConnectionTrait, staff_id: i64, now: DateTime<Utc>) -> Result<Vec<String>, DbErr> {
    signed_out_token::Entity::find()
        .select_only()
        .column(signed_out_token::Column::TokenHash)
        .filter(signed_out_token::Column::StaffId.eq(staff_id))
        .filter(signed_out_token::Column::ExpiresAt.gt(now))
        .into_tuple()
        .all(db)
        .await
}

/// Ends every token of a staff member issued before `after`, but the one
/// hashed `kept` (if any).
pub async fn end_sessions(
    db: &impl ConnectionTrait,
    staff_id: i64,
    after: DateTime<Utc>,
    kept: Option<&str>,
) -> Result<(), DbErr> {
    staff::Entity::update_many()
        .col_expr(staff::Column::SessionsValidAfter, Expr::value(after))
        .col_expr(staff::Column::KeptSession, Expr::value(kept.map(str::to_owned)))
        .filter(staff::Column::Id.eq(staff_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Forgets the signed-out tokens that expired (they are refused as expired now).
pub async fn purge_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let done =
        signed_out_token::Entity::delete_many().filter(signed_out_token::Column::ExpiresAt.lte(now)).exec(db).await?;
    Ok(done.rows_affected)
}
