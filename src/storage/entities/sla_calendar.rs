use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_calendars")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// An IANA zone name.
    pub time_zone: String,
    /// `{"mon": [["09:00", "17:00"]], …}`
    pub weekly_hours: Json,
    /// `[{"date", "end_date"?, "name", "yearly"}]`
    pub holidays: Json,
    /// The `sla_calendar_revisions` row holding this definition.
    pub revision_id: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
