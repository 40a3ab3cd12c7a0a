//! The delivery outbox.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub alert_id: i64,
    pub staff_id: i64,
    /// `email`, `sms` or `webhook`
    pub channel: String,
    /// `pending`, `sending`, `sent`, `failed` (will retry), `dead` (gave up), `skipped`, or
    /// `deferred` (put off to the end of quiet hours, for a summary to carry)
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub claimed_until: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The end of the quiet hours this row was put off to.
    pub deferred_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Set on a summary row only: the end of the quiet hours whose deferred rows it carries.
    pub summary_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The summary row whose message carried this one.
    pub carried_by: Option<i64>,
    /// Why it was put off: `quiet_hours`, or the digest it waits for (`hourly`, `daily`).
    pub deferred_for: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
