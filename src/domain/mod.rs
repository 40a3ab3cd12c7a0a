//! Services: what the product does, with no HTTP types. Handlers and the CLI
//! call these; they call storage.
pub mod ack_links;
pub mod alerts;
pub mod api_keys;
pub mod auth;
pub mod calendar;
pub mod complaints;
pub mod demo;
pub mod digest;
pub mod engine;
pub mod error;
pub mod escalation;
pub mod events;
pub mod inbox_cache;
pub mod paging;
pub mod preferences;
pub mod rules;
pub mod scheduler;
pub mod sla;
pub mod snooze;
pub mod staff;
pub mod stats;
pub mod subscriptions;
pub mod throttle;
pub mod time;
pub mod views;
pub mod vocab;
pub mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub use error::DomainError;

use crate::storage::Db;

pub type DomainResult<T> = Result<T, DomainError>;

/// The service's one clock: UTC, microsecond precision (what every backend
/// stores), passed into queries as a parameter. Tests move it forward
/// instead of sleeping.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed));
        now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: TimeDelta) {
        self.offset_micros.fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// What every service needs: the database, the clock, the auth keys and the domain settings.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Clock,
    pub auth: Arc<auth::Auth>,
    pub sla: complaints::SlaPolicy,
    /// The organisation's time zone (`ALERTS_TIME_ZONE`): the zone of staff who chose none.
    pub time_zone: chrono_tz::Tz,
    /// Live changes to staff members' alerts (WebSocket push).
    pub events: Arc<events::EventBus>,
    /// Woken when outbox rows were written, so the dispatcher need not wait for its next poll.
    pub outbox_wakeup: Arc<tokio::sync::Notify>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub login_throttle: Arc<throttle::LoginThrottle>,
    /// The SLA settings last read, kept while their revision holds.
    pub sla_settings: Arc<sla::SnapshotCache>,
    /// Which delivery channels the operator configured (`serve` sets it).
    pub channels: Arc<ConfiguredChannels>,
    /// The demo accounts, shown on the sign-in page of `serve --demo` (else none).
    pub demo_accounts: Arc<Vec<demo::DemoAccount>>,
}

/// Which delivery channels are configured on this service (in-app always is).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguredChannels {
    pub email: bool,
    pub sms: bool,
    pub webhook: bool,
    pub slack: bool,
    pub teams: bool,
}

/// One delivery channel and whether it is configured.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChannelStatus {
    /// `in_app`, `email`, `sms` or `webhook` (a person's channels), `slack` or
    /// `teams` (a team's, named by a rule's `alert_config.team_channels`)
    pub channel: &'static str,
    pub configured: bool,
}

impl ConfiguredChannels {
    pub fn statuses(&self) -> Vec<ChannelStatus> {
        [
            ("in_app", true),
            ("email", self.email),
            ("sms", self.sms),
            ("webhook", self.webhook),
            ("slack", self.slack),
            ("teams", self.teams),
        ]
        .into_iter()
        .map(|(channel, configured)| ChannelStatus { channel, configured })
        .collect()
    }
}
