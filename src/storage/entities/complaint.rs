use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub description: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub priority: String,
    pub status: String,
    pub assigned_to_staff_id: Option<i64>,
    pub sla_deadline: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The host backend's id for it, when it was synced by that id.
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    /// The host's `updated_at` of the last write it sent.
    pub external_updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub first_responded_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The SLA policy the clock runs under.
    pub sla_policy_id: Option<i64>,
    /// The calendar revision the clock counts on.
    pub sla_calendar_revision_id: Option<i64>,
    /// The SLA settings' revision the due times were projected with.
    pub sla_revision: i64,
    /// `sla_used_seconds` of working time were used before this instant.
    pub sla_clock_at: Option<chrono::DateTime<chrono::Utc>>,
    pub sla_used_seconds: i64,
    /// The clock stopped (a pause status, or resolved) at this instant.
    pub sla_paused_since: Option<chrono::DateTime<chrono::Utc>>,
    pub first_response_due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The client gave `sla_deadline`: it is not projected.
    pub sla_deadline_explicit: bool,
    /// Written at this instant and not evaluated since.
    pub sla_unchecked_since: Option<chrono::DateTime<chrono::Utc>>,
    /// `sla_deadline` in the calendar's zone ("Mon 11 Jan 2027 09:40 Europe/Berlin"), off the 24x7 calendar.
    pub sla_due_text: Option<String>,
    pub first_response_due_text: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
