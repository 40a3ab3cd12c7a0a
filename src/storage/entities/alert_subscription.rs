use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub staff_id: i64,
    pub alert_type: String,
    pub is_enabled: bool,
    pub delivery_channels: Json,
    /// `instant`, `hourly` or `daily` (email and SMS; in-app is always instant)
    pub delivery_mode: String,
    /// `HH:MM` in the person's zone, for `daily`
    pub daily_at: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
