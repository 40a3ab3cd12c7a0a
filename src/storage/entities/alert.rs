use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub alert_type: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub assigned_to_staff_id: i64,
    pub is_read: bool,
    pub is_dismissed: bool,
    pub alert_metadata: Option<Json>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub dismissed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its event: one rule firing for one resource in one window (`alert_events`).
    pub event_id: Option<i64>,
    /// The event's acknowledgement, on every recipient's copy.
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_by_name: Option<String>,
    /// When the event's complaint stopped needing it (resolved, answered, given time).
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 0: the rule's own recipients; n: added by escalation step n.
    pub escalation_step: i32,
    /// When the recipient's one-tap acknowledge link was used (it works once).
    pub ack_link_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Out of the inbox and its counts until then (SPEC 10); the wake job clears it.
    pub snoozed_until: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was snoozed: a newer alert of the same complaint and person wakes it early.
    pub snoozed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
