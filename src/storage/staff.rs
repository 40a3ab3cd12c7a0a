//! Staff, roles and permissions.
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use super::entities::{permission, role, role_permission, staff};

pub struct NewStaff {
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub role_id: i64,
    pub supervisor_id: Option<i64>,
    pub is_active: bool,
    pub time_zone: Option<String>,
    pub now: chrono::DateTime<chrono::Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewStaff) -> Result<staff::Model, DbErr> {
    staff::ActiveModel {
        email: Set(new.email),
        full_name: Set(new.full_name),
        phone: Set(new.phone),
        password_hash: Set(new.password_hash),
        role_id: Set(new.role_id),
        supervisor_id: Set(new.supervisor_id),
        is_active: Set(new.is_active),
        time_zone: Set(new.time_zone),
        created_at: Set(new.now),
        updated_at: Set(new.now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<staff::Model>, DbErr> {
    staff::Entity::find().filter(staff::Column::Email.eq(email)).one(db).await
}

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<staff::Model>, DbErr> {
    staff::Entity::find_by_id(id).one(db).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<staff::Model>, DbErr> {
    staff::Entity::find().filter(staff::Column::Id.is_in(ids.iter().copied())).all(db).await
}

pub async fn role_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find().filter(role::Column::Name.eq(name)).one(db).await
}

pub async fn role_name(db: &impl ConnectionTrait, role_id: i64) -> Result<Option<String>, DbErr> {
    Ok(role::Entity::find_by_id(role_id).one(db).await?.map(|r| r.name))
}

/// The names of the permissions granted to a role, in one query.
/// (id, email) of every active staff member.
pub async fn active_emails(db: &impl ConnectionTrait) -> Result<Vec<(i64, String)>, DbErr> {
    staff::Entity::find()
        .select_only()
        .column(staff::Column::Id)
        .column(staff::Column::Email)
        .filter(staff::Column::IsActive.eq(true))
        .into_tuple()
        .all(db)
        .await
}

/// Every permission's name.
pub async fn permission_names(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    permission::Entity::find().select_only().column(permission::Column::Name).into_tuple().all(db).await
}

pub async fn permissions_of_role(db: &impl ConnectionTrait, role_id: i64) -> Result<Vec<String>, DbErr> {
    let granted = Query::select()
        .column(role_permission::Column::PermissionId)
        .from(role_permission::Entity)
        .and_where(role_permission::Column::RoleId.eq(role_id))
        .take();
    let names: Vec<String> = permission::Entity::find()
        .select_only()
        .column(permission::Column::Name)
        .filter(permission::Column::Id.in_subquery(granted))
        .into_tuple()
        .all(db)
        .await?;
    Ok(names)
}

/// Which staff a list shows.
#[derive(Debug, Default)]
pub struct StaffFilter {
    pub role_id: Option<i64>,
    pub active: Option<bool>,
    /// Lower-case text the name or email contains.
    pub text: Option<String>,
    pub supervisor_id: Option<i64>,
}

/// One page of staff in name order (then id), and how many match.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &StaffFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<staff::Model>, u64), DbErr> {
    use sea_orm::{PaginatorTrait, QueryOrder};
    let mut query = staff::Entity::find();
    if let Some(role_id) = filter.role_id {
        query = query.filter(staff::Column::RoleId.eq(role_id));
    }
    if let Some(active) = filter.active {
        query = query.filter(staff::Column::IsActive.eq(active));
    }
    if let Some(supervisor) = filter.supervisor_id {
        query = query.filter(staff::Column::SupervisorId.eq(supervisor));
    }
    if let Some(text) = &filter.text {
        query = query.filter(super::sql::any_contains(&[staff::Column::FullName, staff::Column::Email], text));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(staff::Column::FullName)
        .order_by_asc(staff::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Every role's name by id.
pub async fn role_names(db: &impl ConnectionTrait) -> Result<std::collections::HashMap<i64, String>, DbErr> {
    Ok(role::Entity::find().all(db).await?.into_iter().map(|r| (r.id, r.name)).collect())
}

/// The columns a change sets (`None`: kept).
#[derive(Debug, Default)]
pub struct Changes {
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub role_id: Option<i64>,
    pub supervisor_id: Option<Option<i64>>,
    pub is_active: Option<bool>,
    pub time_zone: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub quiet_hours: Option<Option<serde_json::Value>>,
    pub dnd_until: Option<Option<chrono::DateTime<chrono::Utc>>>,
    pub quiet_hours_delivery: Option<Option<String>>,
}

/// Applies `changes` to staff member `id` in one statement.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    changes: Changes,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    let mut update = staff::Entity::update_many().col_expr(staff::Column::UpdatedAt, Expr::value(now));
    if let Some(v) = changes.email {
        update = update.col_expr(staff::Column::Email, Expr::value(v));
    }
    if let Some(v) = changes.full_name {
        update = update.col_expr(staff::Column::FullName, Expr::value(v));
    }
    if let Some(v) = changes.phone {
        update = update.col_expr(staff::Column::Phone, Expr::value(v));
    }
    if let Some(v) = changes.role_id {
        update = update.col_expr(staff::Column::RoleId, Expr::value(v));
    }
    if let Some(v) = changes.supervisor_id {
        update = update.col_expr(staff::Column::SupervisorId, Expr::value(v));
    }
    if let Some(v) = changes.is_active {
        update = update.col_expr(staff::Column::IsActive, Expr::value(v));
    }
    if let Some(v) = changes.time_zone {
        update = update.col_expr(staff::Column::TimeZone, Expr::value(v));
    }
    if let Some(v) = changes.password_hash {
        update = update.col_expr(staff::Column::PasswordHash, Expr::value(v));
    }
    if let Some(v) = changes.quiet_hours {
        update = update.col_expr(staff::Column::QuietHours, Expr::value(v));
    }
    if let Some(v) = changes.dnd_until {
        update = update.col_expr(staff::Column::DndUntil, Expr::value(v));
    }
    if let Some(v) = changes.quiet_hours_delivery {
        update = update.col_expr(staff::Column::QuietHoursDelivery, Expr::value(v));
    }
    update.filter(staff::Column::Id.eq(id)).exec(db).await.map(|_| ())
}

/// The ids of the staff `supervisor` supervises (active or not: their alerts still count).
pub async fn supervised_by(db: &impl ConnectionTrait, supervisor: i64) -> Result<Vec<i64>, DbErr> {
    staff::Entity::find()
        .select_only()
        .column(staff::Column::Id)
        .filter(staff::Column::SupervisorId.eq(supervisor))
        .into_tuple()
        .all(db)
        .await
}

/// The ids of the active staff of a role, locked for this transaction on
/// MySQL and PostgreSQL in id order (SQLite's write transaction holds the
/// only write lock already).
pub async fn active_with_role_for_update(db: &impl ConnectionTrait, role_id: i64) -> Result<Vec<i64>, DbErr> {
    use sea_orm::QueryOrder;
    let query = staff::Entity::find()
        .filter(staff::Column::RoleId.eq(role_id))
        .filter(staff::Column::IsActive.eq(true))
        .order_by_asc(staff::Column::Id);
    let rows = match super::dialect::Dialect::of(db)? {
        super::dialect::Dialect::Sqlite => query.all(db).await?,
        super::dialect::Dialect::MySql | super::dialect::Dialect::Postgres => query.lock_exclusive().all(db).await?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// (id, full name) of the given staff members.
pub async fn names(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<(i64, String)>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<(i64, String)> = staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .column(staff::Column::FullName)
            .filter(staff::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}
