use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub role_id: i64,
    pub supervisor_id: Option<i64>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Tokens issued before this are ended (password changed or reset), but `kept_session`.
    pub sessions_valid_after: Option<DateTimeUtc>,
    /// The SHA-256 of the one token that survived the last password change (the one that made it).
    pub kept_session: Option<String>,
    /// IANA time zone; none: the organisation's.
    pub time_zone: Option<String>,
    /// Weekly quiet periods in the person's zone, `{"mon": [["19:00", "24:00"]], …}`; none: no quiet hours.
    pub quiet_hours: Option<Json>,
    /// Do not disturb until then (a past time means nothing).
    pub dnd_until: Option<DateTimeUtc>,
    /// What arrives in quiet hours: `summary` (none means this) or `each`.
    pub quiet_hours_delivery: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
