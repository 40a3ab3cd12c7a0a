use sea_orm::entity::prelude::*;

/// One rule firing for one resource in one dedup window: what its
/// recipients acknowledge together and what escalates.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rule_id: i64,
    pub alert_type: String,
    pub resource_type: String,
    pub resource_id: i64,
    /// 1 while new recipients' alerts join it; `None` once its window is over.
    pub event_open: Option<i16>,
    pub started_at: DateTimeUtc,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<i64>,
    pub resolved_at: Option<DateTimeUtc>,
    /// The escalation policy as it was when the event began.
    pub policy: Option<Json>,
    /// The next step to fire (1-based), and when; `None` when nothing is due.
    pub next_step: Option<i32>,
    pub next_step_at: Option<DateTimeUtc>,
    /// How many times the steps started over (repeats, acknowledgement timeouts).
    pub cycle: i32,
    /// The escalation run that claimed its due step.
    pub step_run: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
