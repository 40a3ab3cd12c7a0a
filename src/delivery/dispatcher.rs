//! The outbox dispatcher inside `serve`: claims due deliveries, sends them
//! concurrently through the channels, and records each outcome. At least
//! once: a crash mid-send leaves the row claimed until its claim runs out,
//! then it is sent again with the same id, so receivers can deduplicate.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use rand::Rng;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::channels::Channels;
use super::{Channel, Notification, Recipient, SendError};
use crate::domain::App;
use crate::storage::{self, entities::notification_delivery as delivery};

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How often to look for due rows when nothing woke the dispatcher.
    pub poll: Duration,
    /// Rows claimed per round.
    pub batch: u64,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Attempts before a delivery is `dead`.
    pub max_attempts: i32,
    /// First retry delay; doubles each attempt (with ±20 % jitter), at most an hour.
    pub retry_base: Duration,
    /// How long a claim protects a row being sent; after it, the row is claimable again.
    pub claim: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            batch: 200,
            concurrency: 32,
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            claim: Duration::from_secs(120),
        }
    }
}

/// Runs until `shutdown` turns true; then stops claiming and returns once
/// the sends in flight have finished (each is bounded by the channel timeout).
pub async fn run(app: App, channels: Arc<Channels>, config: DispatcherConfig, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claim = TimeDelta::from_std(config.claim).unwrap_or(TimeDelta::minutes(2));
        match storage::deliveries::claim_due(&app.db, app.clock.now(), claim, config.batch).await {
            Ok(rows) if !rows.is_empty() => {
                let full = rows.len() as u64 == config.batch;
                if let Err(e) = send_batch(&app, &channels, &config, rows).await {
                    tracing::warn!(error = %e, "recording delivery outcomes failed; the claims will expire and retry");
                }
                if full {
                    continue; // more may be due right now
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot claim deliveries"),
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll) => {}
            _ = app.outbox_wakeup.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Sends one claimed batch and records the outcomes (sent rows in one statement).
async fn send_batch(
    app: &App,
    channels: &Arc<Channels>,
    config: &DispatcherConfig,
    rows: Vec<delivery::Model>,
) -> Result<(), sea_orm::DbErr> {
    let alert_ids: Vec<i64> = rows.iter().map(|r| r.alert_id).collect();
    let staff_ids: Vec<i64> = rows.iter().map(|r| r.staff_id).collect();
    let alerts: HashMap<i64, _> =
        storage::alerts::by_ids(&app.db, &alert_ids).await?.into_iter().map(|a| (a.id, a)).collect();
    let staff: HashMap<i64, _> =
        storage::staff::by_ids(&app.db, &staff_ids).await?.into_iter().map(|s| (s.id, s)).collect();

    let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut sends = JoinSet::new();
    for row in rows {
        let (Some(alert), Some(person)) = (alerts.get(&row.alert_id), staff.get(&row.staff_id)) else {
            continue; // deleted meanwhile: the row went with it (cascade)
        };
        let notification = Notification {
            delivery_id: row.id,
            alert: alert.clone(),
            recipient: Recipient {
                staff_id: person.id,
                full_name: person.full_name.clone(),
                email: person.email.clone(),
                phone: person.phone.clone(),
            },
        };
        let (channels, limit) = (channels.clone(), limit.clone());
        sends.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let outcome = match Channel::parse(&row.channel) {
                Some(channel) => channels.send(channel, &notification).await,
                None => Err(SendError::Permanent(format!("unknown channel {:?}", row.channel))),
            };
            (row, outcome)
        });
    }

    let now = app.clock.now();
    let mut sent = Vec::new();
    while let Some(joined) = sends.join_next().await {
        let Ok((row, outcome)) = joined else { continue };
        let (status, error, next) = match outcome {
            Ok(()) => {
                app.metrics.delivery(&row.channel, "sent");
                sent.push(row.id);
                continue;
            }
            Err(SendError::Skipped(reason)) => {
                tracing::info!(delivery = row.id, channel = %row.channel, %reason, "delivery skipped");
                ("skipped", reason, now)
            }
            Err(SendError::Permanent(reason)) => {
                tracing::warn!(delivery = row.id, channel = %row.channel, %reason, "delivery failed for good");
                ("dead", reason, now)
            }
            Err(SendError::Retryable { reason, retry_after }) if row.attempts < config.max_attempts => {
                let delay = backoff(config.retry_base, row.attempts, retry_after);
                tracing::info!(delivery = row.id, channel = %row.channel, %reason, retry_in_s = delay.num_seconds(), "delivery will be retried");
                ("failed", reason, now + delay)
            }
            Err(SendError::Retryable { reason, .. }) => {
                tracing::warn!(delivery = row.id, channel = %row.channel, %reason, attempts = row.attempts, "delivery gave up");
                ("dead", format!("{reason} (after {} attempts)", row.attempts), now)
            }
        };
        app.metrics.delivery(&row.channel, status);
        storage::deliveries::mark_outcome(&app.db, row.id, status, &error, next, now).await?;
    }
    storage::deliveries::mark_sent(&app.db, &sent, now).await
}

/// Exponential backoff with ±20 % jitter, at least what the peer asked for, at most an hour.
fn backoff(base: Duration, attempts: i32, retry_after: Option<Duration>) -> TimeDelta {
    let exp = base.as_secs_f64() * 2f64.powi(attempts.saturating_sub(1).clamp(0, 20));
    let jittered = exp * rand::rng().random_range(0.8..1.2);
    let wanted = retry_after.map_or(0.0, |d| d.as_secs_f64());
    let secs = jittered.max(wanted).min(3600.0);
    TimeDelta::milliseconds((secs * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_respects_retry_after() {
        let base = Duration::from_secs(5);
        for (attempt, nominal) in [(1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0)] {
            let got = backoff(base, attempt, None).num_milliseconds() as f64 / 1000.0;
            assert!(got >= nominal * 0.8 && got <= nominal * 1.2, "attempt {attempt}: {got}");
        }
        assert_eq!(backoff(base, 30, None), TimeDelta::hours(1), "capped");
        assert!(backoff(base, 1, Some(Duration::from_secs(60))) >= TimeDelta::seconds(60), "Retry-After wins");
    }
}
