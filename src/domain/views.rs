//! What a client sees of each row: the API's (and the live feed's) output
//! types, apart from the tables, each with `From<Model>`. A column can
//! change without changing the API; a field of the API is chosen here.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::vocab::{AlertType, Channel, ComplaintStatus, DeliveryMode, Priority, RuleType, Severity};
use crate::storage::entities::{alert, alert_rule, alert_subscription, complaint, notification_delivery};

/// One alert in a staff member's inbox (REST and WebSocket alike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    #[schema(value_type = AlertType)]
    pub alert_type: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    pub title: String,
    pub message: String,
    /// `complaint` or `staff`
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub assigned_to_staff_id: i64,
    pub is_read: bool,
    pub is_dismissed: bool,
    #[schema(value_type = Option<Object>)]
    pub alert_metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When one of the event's recipients acknowledged it (on every recipient's copy).
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<StaffRef>,
    /// When the event stopped needing anyone: its complaint resolved or closed,
    /// answered (first response), or given a deadline in the future.
    pub resolved_at: Option<DateTime<Utc>>,
    /// 0: the rule's own recipients; n: added by escalation step n.
    pub escalation_step: i32,
    /// Snoozed: out of the inbox and its unread count until then; null when not snoozed.
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl Alert {
    /// The alert as a reader in `zone` reads it: the due times its message
    /// names (written in UTC, or in the SLA calendar's zone) in `zone`, with
    /// the zone's name. The timestamps stay UTC (SPEC 10).
    pub fn in_zone(mut self, zone: chrono_tz::Tz) -> Alert {
        if let Some(message) = times_in_zone(&self.message, self.alert_metadata.as_ref(), zone) {
            self.message = message;
        }
        self
    }
}

/// `message` with the due times of `metadata` (`sla_deadline`,
/// `first_response_due_at`) rewritten from how the engine wrote them
/// ("2026-12-07 09:40 UTC", or the calendar's "Mon 7 Dec 2026 10:40
/// Europe/Berlin") into `zone` ("Mon 7 Dec 2026 04:40 America/New_York");
/// `None` when nothing changes.
pub fn times_in_zone(message: &str, metadata: Option<&Value>, zone: chrono_tz::Tz) -> Option<String> {
    use chrono_tz::Tz;
    let metadata = metadata?;
    let local = |t: DateTime<Utc>, z: Tz| format!("{} {}", t.with_timezone(&z).format("%a %-d %b %Y %H:%M"), z.name());
    // The zones the message names (a calendar's), besides UTC; a message names one at most, in practice.
    let zones: Vec<Tz> = message
        .split_whitespace()
        .filter(|word| word.contains('/'))
        .filter_map(|word| word.trim_end_matches(['.', ',', ';', ')', '\'', '"']).parse::<Tz>().ok())
        .filter(|z| *z != zone)
        .take(2)
        .collect();
    let mut out = message.to_owned();
    for key in ["sla_deadline", "first_response_due_at"] {
        let Some(due) = metadata.get(key).and_then(Value::as_str).and_then(|t| t.parse::<DateTime<Utc>>().ok()) else {
            continue;
        };
        let reader = if zone == Tz::UTC { due.format("%Y-%m-%d %H:%M UTC").to_string() } else { local(due, zone) };
        let utc = due.format("%Y-%m-%d %H:%M UTC").to_string();
        if utc != reader {
            out = out.replace(&utc, &reader);
        }
        for written in &zones {
            out = out.replace(&local(due, *written), &reader);
        }
    }
    (out != message).then_some(out)
}

/// A staff member named in another row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffRef {
    pub id: i64,
    pub full_name: String,
}

impl From<alert::Model> for Alert {
    fn from(m: alert::Model) -> Self {
        // An escalation's alert says so in its metadata too (what webhook
        // and template readers look at), from the one column that holds it.
        let mut alert_metadata = m.alert_metadata;
        if m.escalation_step > 0 {
            match &mut alert_metadata {
                Some(Value::Object(fields)) => {
                    fields.insert("escalation_step".into(), m.escalation_step.into());
                }
                None => alert_metadata = Some(serde_json::json!({"escalation_step": m.escalation_step})),
                Some(_) => {}
            }
        }
        Self {
            id: m.id,
            alert_type: m.alert_type,
            severity: m.severity,
            title: m.title,
            message: m.message,
            resource_type: m.resource_type,
            resource_id: m.resource_id,
            assigned_to_staff_id: m.assigned_to_staff_id,
            is_read: m.is_read,
            is_dismissed: m.is_dismissed,
            alert_metadata,
            created_at: m.created_at,
            read_at: m.read_at,
            dismissed_at: m.dismissed_at,
            expires_at: m.expires_at,
            acknowledged_at: m.acknowledged_at,
            acknowledged_by: m
                .acknowledged_by
                .map(|id| StaffRef { id, full_name: m.acknowledged_by_name.unwrap_or_default() }),
            resolved_at: m.resolved_at,
            escalation_step: m.escalation_step,
            snoozed_until: m.snoozed_until,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Complaint {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    #[schema(value_type = Priority)]
    pub priority: String,
    #[schema(value_type = ComplaintStatus)]
    pub status: String,
    pub assigned_to_staff_id: Option<i64>,
    pub sla_deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The host backend's id, for a complaint synced by it
    pub external_id: Option<String>,
    /// When it was first answered (meets the first-response target)
    pub first_responded_at: Option<DateTime<Utc>>,
    /// Its SLA clocks now
    pub sla: super::sla::SlaView,
    /// Who it is assigned to, by name (null when unassigned)
    pub assignee: Option<StaffRef>,
}

impl Complaint {
    /// The row and its clocks (see `complaints::present`).
    pub fn with_sla(m: complaint::Model, sla: super::sla::SlaView) -> Self {
        Self {
            id: m.id,
            title: m.title,
            description: m.description,
            customer_name: m.customer_name,
            customer_email: m.customer_email,
            priority: m.priority,
            status: m.status,
            assigned_to_staff_id: m.assigned_to_staff_id,
            sla_deadline: m.sla_deadline,
            created_at: m.created_at,
            updated_at: m.updated_at,
            resolved_at: m.resolved_at,
            external_id: m.external_id,
            first_responded_at: m.first_responded_at,
            sla,
            assignee: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = AlertRule)]
pub struct Rule {
    pub id: i64,
    pub rule_name: String,
    #[schema(value_type = RuleType)]
    pub rule_type: String,
    pub is_enabled: bool,
    #[schema(value_type = Object)]
    pub conditions: Value,
    #[schema(value_type = Object)]
    pub alert_config: Value,
    pub created_by_staff_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<alert_rule::Model> for Rule {
    fn from(m: alert_rule::Model) -> Self {
        Self {
            id: m.id,
            rule_name: m.rule_name,
            rule_type: m.rule_type,
            is_enabled: m.is_enabled,
            conditions: m.conditions,
            alert_config: m.alert_config,
            created_by_staff_id: m.created_by_staff_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = AlertSubscription)]
pub struct Subscription {
    pub id: i64,
    pub staff_id: i64,
    #[schema(value_type = AlertType)]
    pub alert_type: String,
    pub is_enabled: bool,
    #[schema(value_type = Vec<Channel>)]
    pub delivery_channels: Value,
    /// When email and SMS go: at once, or in an hourly or daily digest
    #[schema(value_type = DeliveryMode)]
    pub delivery_mode: String,
    /// The local time (`HH:MM`, the person's zone) of a daily digest
    pub daily_at: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<alert_subscription::Model> for Subscription {
    fn from(m: alert_subscription::Model) -> Self {
        Self {
            id: m.id,
            staff_id: m.staff_id,
            alert_type: m.alert_type,
            is_enabled: m.is_enabled,
            delivery_channels: m.delivery_channels,
            delivery_mode: m.delivery_mode,
            daily_at: m.daily_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// One channel's delivery of an alert (the outbox row, without its claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = NotificationDelivery)]
pub struct Delivery {
    pub id: i64,
    pub alert_id: i64,
    pub staff_id: i64,
    /// `email`, `sms` or `webhook`
    pub channel: String,
    /// `pending`, `sending`, `sent`, `failed` (will retry), `dead` (gave up), `skipped`, or
    /// `deferred` (waiting for the end of the recipient's quiet hours, for their summary)
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<notification_delivery::Model> for Delivery {
    fn from(m: notification_delivery::Model) -> Self {
        Self {
            id: m.id,
            alert_id: m.alert_id,
            staff_id: m.staff_id,
            channel: m.channel,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            created_at: m.created_at,
            updated_at: m.updated_at,
            sent_at: m.sent_at,
        }
    }
}

/// `Vec<Model>` to `Vec<View>`.
pub fn all<M, V: From<M>>(rows: Vec<M>) -> Vec<V> {
    rows.into_iter().map(V::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn due_times_in_a_message_are_read_in_the_readers_zone() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let new_york: chrono_tz::Tz = "America/New_York".parse().unwrap();
        let meta = json!({"sla_deadline": "2026-12-07T09:40:00Z"});
        let utc =
            "Complaint #7 \"Router\" (high, unassigned) missed its SLA deadline of 2026-12-07 09:40 UTC by 5 min.";
        assert_eq!(
            times_in_zone(utc, Some(&meta), berlin).as_deref(),
            Some(
                "Complaint #7 \"Router\" (high, unassigned) missed its SLA deadline of Mon 7 Dec 2026 10:40 Europe/Berlin by 5 min."
            )
        );
        assert_eq!(times_in_zone(utc, Some(&meta), chrono_tz::Tz::UTC), None, "a UTC reader reads it as written");
        // Written in the calendar's zone: read in the reader's.
        let calendar =
            "Complaint #7 (high, unassigned) is due in 1 h 20 min of working time, Mon 7 Dec 2026 10:40 Europe/Berlin.";
        assert_eq!(
            times_in_zone(calendar, Some(&meta), new_york).as_deref(),
            Some(
                "Complaint #7 (high, unassigned) is due in 1 h 20 min of working time, Mon 7 Dec 2026 04:40 America/New_York."
            )
        );
        assert_eq!(times_in_zone(calendar, Some(&meta), berlin), None, "the reader's own zone");
        assert_eq!(times_in_zone("No times here.", Some(&json!({})), berlin), None);
        assert_eq!(times_in_zone(utc, None, berlin), None);
    }
}
