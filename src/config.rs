//! Configuration: defaults in code, then the environment, then flags (clap
//! gives a flag precedence over its variable). Secrets are wrapped in
//! [`Secret`] and never printed.
use std::net::SocketAddr;

use clap::Args;

pub use crate::domain::auth::Secret;
use crate::domain::complaints::SlaPolicy;

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
}

/// Settings of `serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on
    #[arg(long, env = "ALERTS_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
}

fn parse_secret(raw: &str) -> Result<Secret, String> {
    if raw.len() < 32 {
        return Err("must be at least 32 characters".into());
    }
    Ok(Secret::new(raw))
}
