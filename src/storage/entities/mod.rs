//! sea-orm entities: one module per table, names as in the seed.
pub mod alert;
pub mod alert_event;
pub mod alert_rule;
pub mod alert_subscription;
pub mod api_key;
pub mod complaint;
pub mod escalation_policy;
pub mod notification_delivery;
pub mod permission;
pub mod role;
pub mod role_permission;
pub mod setting;
pub mod signed_out_token;
pub mod sla_calendar;
pub mod sla_calendar_revision;
pub mod sla_policy;
pub mod staff;
