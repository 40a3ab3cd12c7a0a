//! Job leases: which instance runs a scheduled job this interval. One
//! conditional `UPDATE` takes a lease, so of several instances asking at
//! once exactly one gets it; a dead holder's lease expires by itself.
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// Takes the lease of `job` for `ttl` if it is free (expired) at `now`.
/// One conditional UPDATE: of several instances asking at once, one gets it.
pub async fn take_lease(
    db: &impl ConnectionTrait,
    job: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<bool, DbErr> {
    let q = Query::update()
        .table("job_leases")
        .value("holder", holder)
        .value("expires_at", now + ttl)
        .and_where(Expr::col("name").eq(job))
        .and_where(Expr::col("expires_at").lte(now))
        .take();
    Ok(db.execute(&q).await?.rows_affected() == 1)
}

/// Gives the lease back early (on shutdown), if this holder still has it.
pub async fn release_lease(
    db: &impl ConnectionTrait,
    job: &str,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let q = Query::update()
        .table("job_leases")
        .value("expires_at", now)
        .and_where(Expr::col("name").eq(job))
        .and_where(Expr::col("holder").eq(holder))
        .take();
    db.execute(&q).await.map(|_| ())
}

/// Up to when `job` last checked everything (its incremental checks start there).
pub async fn watermark(db: &impl ConnectionTrait, job: &str) -> Result<Option<DateTime<Utc>>, DbErr> {
    let q = Query::select().column("checked_until").from("job_leases").and_where(Expr::col("name").eq(job)).take();
    match db.query_one(&q).await? {
        Some(row) => row.try_get::<Option<DateTime<Utc>>>("", "checked_until"),
        None => Ok(None),
    }
}

/// Records that `job` checked everything up to `until`.
pub async fn set_watermark(db: &impl ConnectionTrait, job: &str, until: DateTime<Utc>) -> Result<(), DbErr> {
    let q =
        Query::update().table("job_leases").value("checked_until", until).and_where(Expr::col("name").eq(job)).take();
    db.execute(&q).await.map(|_| ())
}
