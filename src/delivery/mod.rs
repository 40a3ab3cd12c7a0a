//! Notification delivery: the outbox dispatcher and the channels (email,
//! SMS, signed webhook; Slack and Teams for a whole team) it sends through.
//! In-app delivery is the inbox row itself (and its live push); it never
//! goes through the outbox.
pub mod channels;
pub mod dispatcher;
pub mod team;
pub mod templates;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::domain::auth::Secret;
use crate::domain::views::Alert;

pub use crate::domain::vocab::{Channel, TeamChannel};

/// Who a notification is for.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub staff_id: i64,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The IANA zone the recipient reads times in (theirs, else the organisation's).
    pub time_zone: String,
}

/// One delivery of one alert to one recipient over one channel.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The outbox row's id: stable across retries, so the webhook id and the
    /// email Message-ID are too, and receivers can deduplicate.
    pub delivery_id: i64,
    pub alert: Alert,
    pub recipient: Recipient,
    /// The recipient's one-tap acknowledge link (`/ack/{token}`), when the
    /// service knows its public address and the alert is not acknowledged yet.
    pub ack_url: Option<String>,
    /// Set when this delivery is the one message of a quiet-hours summary or
    /// a digest (then `alert` is its first alert).
    pub summary: Option<Summary>,
}

/// What arrived for one person on one channel during their quiet hours, or
/// in a digest's window, and was not acted on before it was sent.
#[derive(Debug, Clone)]
pub struct Summary {
    pub kind: SummaryKind,
    /// The alerts listed, oldest first (at most [`templates::SUMMARY_MAX_LISTED`]).
    pub alerts: Vec<Alert>,
    /// How many alerts it carries (the list may be shorter).
    pub total: usize,
}

/// Why a summary gathers its alerts (the rows' `deferred_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryKind {
    /// Quiet hours or do-not-disturb (also a summary that carries both those and a digest's).
    QuietHours,
    HourlyDigest,
    DailyDigest,
}

impl SummaryKind {
    /// The kind of a summary carrying rows deferred for `reasons`: a digest
    /// when every row waited for the same digest.
    pub fn of<'a>(mut reasons: impl Iterator<Item = Option<&'a str>>) -> SummaryKind {
        let kind = |reason: Option<&str>| match reason {
            Some("hourly") => SummaryKind::HourlyDigest,
            Some("daily") => SummaryKind::DailyDigest,
            _ => SummaryKind::QuietHours,
        };
        let Some(first) = reasons.next().map(kind) else { return SummaryKind::QuietHours };
        if reasons.all(|r| kind(r) == first) { first } else { SummaryKind::QuietHours }
    }
}

/// Why a send did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (connection error, timeout, 5xx, 429).
    #[error("{reason}")]
    Retryable { reason: String, retry_after: Option<Duration> },
    /// Trying again cannot help (4xx other than 429, rejected address, bad template).
    #[error("{0}")]
    Permanent(String),
    /// Not attempted: the channel is not configured or the recipient has no address/phone.
    #[error("{0}")]
    Skipped(String),
}

/// How the channels are reached (SPEC section 7). `None` switches a channel off.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// `smtp://user:pass@host:587` (STARTTLS when offered), `smtps://…:465` (TLS),
    /// `smtp://host:2525?tls=none` or `…?tls=required`.
    pub smtp_url: Option<Secret>,
    pub smtp_from: String,
    pub sms_url: Option<String>,
    pub sms_token: Option<Secret>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<Secret>,
    /// Slack incoming webhook (`https://hooks.slack.com/services/…`): its
    /// path is the credential, so the whole URL is a secret.
    pub slack_webhook_url: Option<Secret>,
    /// Microsoft Teams incoming webhook (or Workflows URL), a secret as Slack's.
    pub teams_webhook_url: Option<Secret>,
    /// Allow webhook/SMS/Slack/Teams targets on loopback and private networks
    /// (SSRF guard off): true for targets the operator configured, the only kind there is.
    pub allow_private_targets: bool,
    /// A folder of template files overriding the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// Timeout of every network call.
    pub timeout: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_from: "alerts@localhost".into(),
            sms_url: None,
            sms_token: None,
            webhook_url: None,
            webhook_secret: None,
            slack_webhook_url: None,
            teams_webhook_url: None,
            // The operator's own targets are trusted (SPEC 11).
            allow_private_targets: true,
            templates_dir: None,
            timeout: Duration::from_secs(10),
        }
    }
}
