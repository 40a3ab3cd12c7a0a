use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// First match by ascending position wins.
    pub position: i32,
    pub match_priorities: Json,
    /// `None`: any status.
    pub match_statuses: Option<Json>,
    pub calendar_id: i64,
    pub first_response_minutes: Option<i64>,
    /// `None`: the `ALERTS_SLA_HOURS` figure of the complaint's priority.
    pub resolution_minutes: Option<i64>,
    pub pause_statuses: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
