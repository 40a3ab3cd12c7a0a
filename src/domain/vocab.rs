//! The closed vocabularies of SPEC sections 3 and 5, each one enum and its
//! one list of names: serde and the OpenAPI document use these, and text
//! from a client is parsed into them once, at the edge. An unknown value is a
//! 422 naming the field and the allowed values, never a silent default.
use std::fmt;

use super::{DomainError, DomainResult};

macro_rules! vocabulary {
    ($($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        // Every name is its variant in snake_case (a test holds them equal).
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The names, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value named `raw`, if any.
            pub fn from_name(raw: &str) -> Option<Self> {
                match raw {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The value named `raw`, or a 422 naming `field` and the allowed values.
            pub fn parse(field: &str, raw: &str) -> DomainResult<Self> {
                Self::from_name(raw).ok_or_else(|| not_one_of(field, raw, Self::NAMES))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

vocabulary! {
    /// What an alert is about.
    AlertType {
        SlaAtRisk => "sla_at_risk",
        SlaBreach => "sla_breach",
        CriticalComplaint => "critical_complaint",
        HighWorkload => "high_workload",
        FirstResponseAtRisk => "first_response_at_risk",
        FirstResponseBreach => "first_response_breach",
    }
    Severity {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
    }
    /// What a rule watches: SLA deadlines, complaint events, workload thresholds.
    RuleType {
        Sla => "sla",
        Event => "event",
        Threshold => "threshold",
        FirstResponse => "first_response",
    }
    /// How an alert reaches a person.
    Channel {
        InApp => "in_app",
        Email => "email",
        Sms => "sms",
        Webhook => "webhook",
    }
    /// Where a rule's alert events are posted for a whole team (an operator-configured incoming webhook).
    TeamChannel {
        Slack => "slack",
        Teams => "teams",
    }
    Priority {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
    /// `pending`: waiting on the customer (the default policy pauses its clock).
    ComplaintStatus {
        Open => "open",
        InProgress => "in_progress",
        Pending => "pending",
        Resolved => "resolved",
        Closed => "closed",
    }
    Role {
        Admin => "admin",
        Supervisor => "supervisor",
        Agent => "agent",
    }
    /// The state of an SLA a rule watches.
    SlaState {
        AtRisk => "at_risk",
        Breached => "breached",
    }
    /// What an SLA clock measures.
    SlaMetric {
        FirstResponse => "first_response",
        Resolution => "resolution",
    }
    /// Which of one's alerts the inbox lists: the active ones (default), or the snoozed ones.
    InboxStatus {
        Active => "active",
        Snoozed => "snoozed",
    }
    /// When a subscription's email and SMS go out: at once, or gathered into
    /// an hourly or daily digest (SPEC 10).
    DeliveryMode {
        Instant => "instant",
        Hourly => "hourly",
        Daily => "daily",
    }
    /// Where an SLA clock stands.
    ClockState {
        Running => "running",
        Paused => "paused",
        Met => "met",
        Breached => "breached",
    }
}

impl ComplaintStatus {
    /// The statuses of a complaint still being worked on (rules watch these).
    pub const OPEN: [ComplaintStatus; 2] = [ComplaintStatus::Open, ComplaintStatus::InProgress];

    /// The names of [`ComplaintStatus::OPEN`]: what a rule watches unless told otherwise.
    pub fn open_names() -> Vec<String> {
        Self::OPEN.iter().map(|s| s.as_str().to_owned()).collect()
    }

    pub fn is_open(self) -> bool {
        match self {
            ComplaintStatus::Open | ComplaintStatus::InProgress | ComplaintStatus::Pending => true,
            ComplaintStatus::Resolved | ComplaintStatus::Closed => false,
        }
    }
}

impl RuleType {
    /// The alert types a rule of this type may raise.
    pub fn alert_types(self) -> &'static [AlertType] {
        match self {
            RuleType::Sla => &[AlertType::SlaAtRisk, AlertType::SlaBreach],
            RuleType::Event => &[AlertType::CriticalComplaint],
            RuleType::Threshold => &[AlertType::HighWorkload],
            RuleType::FirstResponse => &[AlertType::FirstResponseAtRisk, AlertType::FirstResponseBreach],
        }
    }
}

/// The 422 for a value outside a closed list: it names the field and the allowed values.
pub fn not_one_of(field: &str, raw: &str, allowed: &[&str]) -> DomainError {
    DomainError::invalid(field, format!("{raw:?} is not one of {}", allowed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused_by_field() {
        fn check<T: serde::Serialize + Copy + PartialEq + fmt::Debug>(
            all: &[T],
            name: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for t in all {
                assert_eq!(parse(name(*t)), Some(*t));
                assert_eq!(
                    serde_json::to_value(t).ok(),
                    Some(serde_json::Value::from(name(*t))),
                    "serde says what as_str says"
                );
            }
        }
        check(AlertType::ALL, AlertType::as_str, AlertType::from_name);
        check(Severity::ALL, Severity::as_str, Severity::from_name);
        check(RuleType::ALL, RuleType::as_str, RuleType::from_name);
        check(Channel::ALL, Channel::as_str, Channel::from_name);
        check(TeamChannel::ALL, TeamChannel::as_str, TeamChannel::from_name);
        check(Priority::ALL, Priority::as_str, Priority::from_name);
        check(ComplaintStatus::ALL, ComplaintStatus::as_str, ComplaintStatus::from_name);
        check(Role::ALL, Role::as_str, Role::from_name);
        check(SlaState::ALL, SlaState::as_str, SlaState::from_name);
        check(SlaMetric::ALL, SlaMetric::as_str, SlaMetric::from_name);
        check(ClockState::ALL, ClockState::as_str, ClockState::from_name);
        check(InboxStatus::ALL, InboxStatus::as_str, InboxStatus::from_name);
        let err = Priority::parse("priority", "urgent").map_err(|e| e.to_string());
        assert_eq!(err, Err("priority: \"urgent\" is not one of low, medium, high, critical".to_owned()));
        assert_eq!(ComplaintStatus::OPEN.map(ComplaintStatus::is_open), [true, true]);
    }
}
