//! Configuration: defaults in code, then the environment, then flags (clap
//! gives a flag precedence over its variable). Secrets are wrapped in
//! [`Secret`] and never printed.
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::delivery::DeliveryConfig;
use crate::delivery::dispatcher::DispatcherConfig;
pub use crate::domain::auth::Secret;
use crate::domain::complaints::SlaPolicy;
use crate::domain::scheduler::SchedulerConfig;
use crate::http::HttpOptions;
use crate::http::client::TrustedProxies;
use crate::storage::DbOptions;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://convergeai-alerts.db";

/// Settings every command shares.
#[derive(Args, Debug, Clone)]
pub struct CommonConfig {
    /// Database: sqlite://PATH, mysql://USER:PASS@HOST/DB or postgres://USER:PASS@HOST/DB
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,

    /// HS256 signing secret for access tokens; when unset, one is generated once and kept in the database
    #[arg(long, global = true, env = "ALERTS_JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<Secret>,

    /// Access-token lifetime in seconds
    #[arg(long, global = true, env = "ALERTS_TOKEN_TTL_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(i64).range(60..=31_536_000))]
    pub token_ttl_seconds: i64,

    /// SLA length per priority when a complaint comes without a deadline
    #[arg(long, global = true, env = "ALERTS_SLA_HOURS", default_value = "critical=4,high=24,medium=72,low=168")]
    pub sla_hours: SlaPolicy,

    /// The organisation's IANA time zone: the zone of staff who chose none
    #[arg(long, global = true, env = "ALERTS_TIME_ZONE", default_value = "UTC", value_parser = parse_time_zone)]
    pub time_zone: chrono_tz::Tz,
}

/// Settings of `serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on
    #[arg(long, env = "ALERTS_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Also load sample staff and complaints in every SLA state (idempotent)
    #[arg(long)]
    pub demo: bool,

    /// Run the periodic checks and cleanup in this instance
    #[arg(long, env = "ALERTS_SCHEDULER", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set)]
    pub scheduler: bool,

    /// Seconds between SLA checks
    #[arg(long, env = "ALERTS_SLA_CHECK_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub sla_check_seconds: u64,

    /// Seconds between critical-complaint checks
    #[arg(long, env = "ALERTS_CRITICAL_CHECK_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub critical_check_seconds: u64,

    /// Seconds between workload checks
    #[arg(long, env = "ALERTS_WORKLOAD_CHECK_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub workload_check_seconds: u64,

    /// Seconds between escalation ticks (the steps that came due)
    #[arg(long, env = "ALERTS_ESCALATION_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub escalation_seconds: u64,

    /// Seconds between wakes of snoozed alerts (how late a snooze may end, at most)
    #[arg(long, env = "ALERTS_SNOOZE_WAKE_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub snooze_wake_seconds: u64,

    /// Seconds between cleanups
    #[arg(long, env = "ALERTS_CLEANUP_SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub cleanup_seconds: u64,

    /// Days dismissed or expired alerts are kept before cleanup deletes them
    #[arg(long, env = "ALERTS_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub retention_days: i64,

    /// Redis for cross-instance real-time fan-out (redis://host:6379); unset: in-process only
    #[arg(long, env = "ALERTS_REDIS_URL", hide_env_values = true, value_parser = parse_any_secret)]
    pub redis_url: Option<Secret>,

    /// Redis pub/sub channel; instances sharing it share their events
    #[arg(long, env = "ALERTS_REDIS_CHANNEL", default_value = crate::realtime::DEFAULT_CHANNEL)]
    pub redis_channel: String,

    /// Milliseconds a request waits for a database connection (or for a new
    /// one to open) before it is answered 503: a database that is down or
    /// cut off fails fast instead of holding requests
    #[arg(long, env = "ALERTS_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub db_acquire_timeout_ms: u64,

    /// Browser origins allowed to call the API (CORS), comma-separated; unset: CORS off
    #[arg(long, env = "ALERTS_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Load balancers and proxies (comma-separated CIDRs or addresses) whose
    /// `X-Forwarded-For` names the client; from any other peer the header is
    /// ignored. Unset: the TCP peer is the client
    #[arg(long, env = "ALERTS_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Seconds a connection may take to send a request's head (a new
    /// connection, or an idle keep-alive one) before it is closed
    #[arg(long, env = "ALERTS_HEADER_READ_TIMEOUT_SECONDS", default_value_t = crate::http::DEFAULT_HEADER_READ_TIMEOUT_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_seconds: u64,

    /// Open connections at most, WebSockets included; more wait in the listen backlog
    #[arg(long, env = "ALERTS_MAX_CONNECTIONS", default_value_t = crate::http::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// How notifications leave the service (SPEC section 7); an unset channel is off.
#[derive(Args, Debug, Clone)]
pub struct DeliveryArgs {
    /// Send queued email/SMS/webhook deliveries from this instance
    #[arg(long, env = "ALERTS_DISPATCHER", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set)]
    pub dispatcher: bool,

    /// SMTP server: smtp://user:pass@host:587 (STARTTLS), smtps://…:465 (TLS), smtp://127.0.0.1:2525 (plain)
    #[arg(long, env = "ALERTS_SMTP_URL", hide_env_values = true, value_parser = parse_any_secret)]
    pub smtp_url: Option<Secret>,

    /// Sender address of alert emails
    #[arg(long, env = "ALERTS_SMTP_FROM", default_value = "alerts@localhost")]
    pub smtp_from: String,

    /// SMS provider endpoint (JSON POST with a bearer token)
    #[arg(long, env = "ALERTS_SMS_URL")]
    pub sms_url: Option<String>,

    /// SMS provider bearer token
    #[arg(long, env = "ALERTS_SMS_TOKEN", hide_env_values = true, value_parser = parse_any_secret)]
    pub sms_token: Option<Secret>,

    /// The service's address as recipients reach it, e.g. `https://alerts.example.com`:
    /// emails and SMS then carry a one-tap acknowledge link
    #[arg(long, env = "ALERTS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Webhook receiving a signed JSON POST of each alert
    #[arg(long, env = "ALERTS_WEBHOOK_URL")]
    pub webhook_url: Option<String>,

    /// Webhook signing secret (Standard Webhooks; `whsec_…` base64 or plain text)
    #[arg(long, env = "ALERTS_WEBHOOK_SECRET", hide_env_values = true, value_parser = parse_any_secret)]
    pub webhook_secret: Option<Secret>,

    /// Slack incoming webhook (https://hooks.slack.com/services/…) that rules
    /// with `alert_config.team_channels: ["slack"]` post their alert events to;
    /// the URL is a credential and never shown
    #[arg(long, env = "ALERTS_SLACK_WEBHOOK_URL", hide_env_values = true, value_parser = parse_any_secret)]
    pub slack_webhook_url: Option<Secret>,

    /// Microsoft Teams incoming webhook (or Workflows "post to a channel" URL)
    /// that rules with `alert_config.team_channels: ["teams"]` post their alert
    /// events to; the URL is a credential and never shown
    #[arg(long, env = "ALERTS_TEAMS_WEBHOOK_URL", hide_env_values = true, value_parser = parse_any_secret)]
    pub teams_webhook_url: Option<Secret>,

    /// Allow the webhook, SMS, Slack and Teams targets configured here on loopback and
    /// private networks: the operator's own targets are trusted (an
    /// integration on the same network is the common case); `false` turns the
    /// SSRF guard on for them too
    #[arg(long, env = "ALERTS_ALLOW_PRIVATE_TARGETS", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub allow_private_targets: bool,

    /// Folder of template files overriding the built-in email/SMS texts
    #[arg(long, env = "ALERTS_TEMPLATES_DIR")]
    pub templates_dir: Option<std::path::PathBuf>,

    /// Timeout of every outgoing network call, in seconds
    #[arg(long, env = "ALERTS_DELIVERY_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub delivery_timeout_seconds: u64,

    /// Seconds a claimed delivery stays reserved for the instance sending it;
    /// if that instance dies mid-send, another one sends it again after this
    /// (longer than the delivery timeout)
    #[arg(long, env = "ALERTS_DELIVERY_CLAIM_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(2..=86_400))]
    pub delivery_claim_seconds: u64,
}

impl DeliveryArgs {
    /// The dispatcher's settings; a claim must outlast a send, or a slow send
    /// would be claimed and sent again by another instance while in flight.
    pub fn dispatcher_config(&self) -> Result<DispatcherConfig, String> {
        if self.delivery_claim_seconds <= self.delivery_timeout_seconds {
            return Err(format!(
                "ALERTS_DELIVERY_CLAIM_SECONDS ({}) must be longer than ALERTS_DELIVERY_TIMEOUT_SECONDS ({})",
                self.delivery_claim_seconds, self.delivery_timeout_seconds
            ));
        }
        let public_url = match &self.public_url {
            Some(url) => Some(parse_public_url(url)?),
            None => None,
        };
        Ok(DispatcherConfig {
            claim: Duration::from_secs(self.delivery_claim_seconds),
            public_url,
            ..Default::default()
        })
    }

    /// Which channels have a target to send to (an empty value is unset, as for the dispatcher).
    pub fn configured_channels(&self) -> crate::domain::ConfiguredChannels {
        let set = |url: Option<&str>| url.is_some_and(|u| !u.trim().is_empty());
        crate::domain::ConfiguredChannels {
            email: set(self.smtp_url.as_ref().map(|s| s.expose())),
            sms: set(self.sms_url.as_deref()),
            webhook: set(self.webhook_url.as_deref()),
            slack: set(self.slack_webhook_url.as_ref().map(|s| s.expose())),
            teams: set(self.teams_webhook_url.as_ref().map(|s| s.expose())),
        }
    }

    pub fn delivery_config(&self) -> DeliveryConfig {
        DeliveryConfig {
            smtp_url: self.smtp_url.clone(),
            smtp_from: self.smtp_from.clone(),
            sms_url: self.sms_url.clone(),
            sms_token: self.sms_token.clone(),
            webhook_url: self.webhook_url.clone(),
            webhook_secret: self.webhook_secret.clone(),
            slack_webhook_url: self.slack_webhook_url.clone(),
            teams_webhook_url: self.teams_webhook_url.clone(),
            allow_private_targets: self.allow_private_targets,
            templates_dir: self.templates_dir.clone(),
            timeout: Duration::from_secs(self.delivery_timeout_seconds),
        }
    }
}

/// An IANA zone name (`Europe/Berlin`, `UTC`).
fn parse_time_zone(raw: &str) -> Result<chrono_tz::Tz, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("ALERTS_TIME_ZONE must be an IANA time zone such as Europe/Berlin (got {raw:?})"))
}

/// `on` or `off`, read once into a boolean.
fn parse_switch(raw: &str) -> Result<bool, String> {
    match raw {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("{other:?} is not one of on, off")),
    }
}

fn parse_any_secret(raw: &str) -> Result<Secret, String> {
    Ok(Secret::new(raw))
}

/// `serve`'s settings on their own, for [`ServeConfig::from_env`].
#[derive(clap::Parser)]
struct ServeOnly {
    #[command(flatten)]
    serve: ServeConfig,
}

impl ServeConfig {
    /// The settings `serve` would run with given no flags: the environment's,
    /// else the defaults (the test harness starts the service this way).
    pub fn from_env() -> Result<Self, String> {
        use clap::Parser;
        ServeOnly::try_parse_from(["serve"]).map(|s| s.serve).map_err(|e| e.to_string())
    }

    pub fn http_options(&self) -> HttpOptions {
        HttpOptions {
            cors_origins: self.cors_origins.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }

    /// The pool of `serve`.
    pub fn db_options(&self) -> DbOptions {
        DbOptions { acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms), ..Default::default() }
    }

    pub fn scheduler(&self) -> Option<SchedulerConfig> {
        self.scheduler.then(|| SchedulerConfig {
            sla_check: Duration::from_secs(self.sla_check_seconds),
            critical_check: Duration::from_secs(self.critical_check_seconds),
            workload_check: Duration::from_secs(self.workload_check_seconds),
            escalation: Duration::from_secs(self.escalation_seconds),
            snooze_wake: Duration::from_secs(self.snooze_wake_seconds),
            cleanup: Duration::from_secs(self.cleanup_seconds),
            retention: chrono::TimeDelta::days(self.retention_days),
        })
    }
}

/// An `http(s)://host[:port][/path]` address, without a trailing slash.
fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && url.len() <= 200
                && !url.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') =>
        {
            Ok(url.to_owned())
        }
        _ => Err(format!(
            "ALERTS_PUBLIC_URL must be an http(s) address such as https://alerts.example.com (got {raw:?})"
        )),
    }
}

fn parse_secret(raw: &str) -> Result<Secret, String> {
    if raw.len() < 32 {
        return Err("must be at least 32 characters".into());
    }
    Ok(Secret::new(raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Delivery {
        #[command(flatten)]
        args: DeliveryArgs,
    }

    #[test]
    fn operator_targets_are_trusted_unless_the_guard_is_asked_for() {
        let parse = |args: &[&str]| Delivery::try_parse_from(args).expect("parses").args.allow_private_targets;
        if std::env::var_os("ALERTS_ALLOW_PRIVATE_TARGETS").is_none() {
            assert!(parse(&["t"]), "trusted by default");
        }
        assert!(!parse(&["t", "--allow-private-targets", "false"]));
    }

    #[test]
    fn configured_channels_ignore_empty_values() {
        let mut args = Delivery::try_parse_from(["t"]).expect("parses").args;
        args.smtp_url = Some(Secret::new("smtp://127.0.0.1:2525"));
        args.sms_url = Some("  ".into());
        args.webhook_url = None;
        args.slack_webhook_url = Some(Secret::new("https://hooks.slack.com/services/T/B/X"));
        args.teams_webhook_url = Some(Secret::new(""));
        let configured = args.configured_channels();
        assert!(configured.email && !configured.sms && !configured.webhook);
        assert!(configured.slack && !configured.teams);
    }
}
