//! The closed vocabularies of SPEC sections 3 and 5.

pub const ALERT_TYPES: [&str; 4] = ["sla_at_risk", "sla_breach", "critical_complaint", "high_workload"];
pub const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];
pub const RULE_TYPES: [&str; 3] = ["sla", "event", "threshold"];
pub const CHANNELS: [&str; 4] = ["in_app", "email", "sms", "webhook"];
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "critical"];
pub const STATUSES: [&str; 4] = ["open", "in_progress", "resolved", "closed"];
pub const OPEN_STATUSES: [&str; 2] = ["open", "in_progress"];
pub const ROLES: [&str; 3] = ["admin", "supervisor", "agent"];

/// `value` if it is one of `allowed`, else a 422 naming `field` and the choices.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> super::DomainResult<String> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(super::DomainError::invalid(field, format!("{value:?} is not one of {}", allowed.join(", "))))
    }
}
