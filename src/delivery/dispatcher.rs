//! The outbox dispatcher inside `serve`: claims due deliveries, sends them
//! concurrently through the channels, and records each outcome. At least
//! once: a crash mid-send leaves the row claimed until its claim runs out,
//! then it is sent again with the same id, so receivers can deduplicate.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::channels::Channels;
use super::team::TeamPost;
use super::{Channel, Notification, Recipient, SendError, Summary, SummaryKind, TeamChannel, templates};
use crate::domain::App;
use crate::domain::digest::Digest;
use crate::domain::preferences::{Quiet, QuietDelivery};
use crate::domain::views::Alert;
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
    /// After a claim that found fewer rows than it asked for, the next one
    /// waits at least this long, even when woken: rows written meanwhile are
    /// claimed together, in fewer write transactions (on SQLite these queue
    /// with the writes that create alerts).
    pub coalesce: Duration,
    /// The service's address as recipients reach it (`ALERTS_PUBLIC_URL`),
    /// for the acknowledge links in emails and SMS; none: no links.
    pub public_url: Option<String>,
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
            coalesce: Duration::from_millis(20),
            public_url: None,
        }
    }
}

/// How long a recorded outcome may wait to be written with others.
const FLUSH_AFTER: Duration = Duration::from_millis(50);

/// Runs until `shutdown` turns true; then stops claiming and returns once
/// the sends in flight have finished (each is bounded by the channel timeout).
///
/// Claims and sends overlap: at most `batch` claimed rows are outstanding
/// (queued for a permit or being sent, `concurrency` at once), and once half
/// of them are done the next claim tops them up. So a slow receiver holds
/// only its own sends, never the rest of a batch. Once the due rows are
/// drained, a wakeup (new rows) or the poll claims again, `coalesce` after
/// the last claim at the earliest. Outcomes are written
/// together: `sent` rows in one statement, just before each claim, when half a
/// batch has piled up, when nothing is left in flight, or `FLUSH_AFTER` at the latest.
pub async fn run(app: App, channels: Arc<Channels>, config: DispatcherConfig, mut shutdown: watch::Receiver<bool>) {
    let claim = TimeDelta::from_std(config.claim).unwrap_or(TimeDelta::minutes(2));
    let batch = config.batch.max(1);
    let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut sends = JoinSet::new();
    let mut outcomes = Outcomes::default();
    // Look for due rows now (at start, after a full claim, when woken or at the poll).
    let mut look = true;
    let mut next_poll = Instant::now() + config.poll;
    let mut claim_after = Instant::now();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let outstanding = sends.len() as u64;
        let room = look && outstanding <= batch / 2;
        if room && Instant::now() >= claim_after {
            outcomes.flush(&app).await;
            let wanted = batch - outstanding;
            match storage::deliveries::claim_due(&app.db, app.clock.now(), claim, wanted).await {
                Ok(rows) => {
                    look = rows.len() as u64 == wanted; // full: more may be due right now
                    if let Err(e) =
                        start_sends(&app, &channels, &limit, &mut sends, rows, config.public_url.as_deref()).await
                    {
                        tracing::warn!(error = %e, "cannot read the claimed deliveries; their claims will expire and retry");
                        look = false;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim deliveries");
                    look = false;
                }
            }
            if !look {
                next_poll = Instant::now() + config.poll;
                claim_after = Instant::now() + config.coalesce;
            }
            continue;
        }
        let flush_at = outcomes.since.map(|t| t + FLUSH_AFTER);
        tokio::select! {
            Some(joined) = sends.join_next(), if !sends.is_empty() => {
                outcomes.add(&app, &config, joined);
                while let Some(joined) = sends.try_join_next() {
                    outcomes.add(&app, &config, joined);
                }
                if sends.is_empty() || outcomes.len() as u64 >= batch / 2 {
                    outcomes.flush(&app).await;
                }
            }
            _ = tokio::time::sleep_until(flush_at.unwrap_or(next_poll)), if flush_at.is_some() => {
                outcomes.flush(&app).await;
            }
            _ = tokio::time::sleep_until(claim_after), if room => {}
            _ = tokio::time::sleep_until(next_poll), if !look => look = true,
            _ = app.outbox_wakeup.notified(), if !look => look = true,
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break; // the sender is gone: nobody can stop this loop any more
                }
            }
        }
    }
    while let Some(joined) = sends.join_next().await {
        outcomes.add(&app, &config, joined);
    }
    outcomes.flush(&app).await;
}

/// A finished send: its row, the outcome, and for a summary the rows it carried.
type Sent = (delivery::Model, Result<(), SendError>, CarriedIds);

/// The deferred rows a summary row carries: those it lists, and those it
/// leaves out because their alert was acted on meanwhile.
#[derive(Default)]
struct Carried<'a> {
    kept: Vec<&'a delivery::Model>,
    dropped: Vec<i64>,
}

/// [`Carried`] by id, for recording the outcome.
#[derive(Debug, Default)]
struct CarriedIds {
    sent: Vec<i64>,
    dropped: Vec<i64>,
}

impl CarriedIds {
    fn is_empty(&self) -> bool {
        self.sent.is_empty() && self.dropped.is_empty()
    }
}

/// Reads the claimed rows' alerts and recipients (and, for team posts,
/// their complaints), puts off what reaches someone in their quiet hours
/// (see [`quiet_hours`]), and starts a send for each of the others; a send
/// waits for one of the `limit` permits.
async fn start_sends(
    app: &App,
    channels: &Arc<Channels>,
    limit: &Arc<Semaphore>,
    sends: &mut JoinSet<Sent>,
    rows: Vec<delivery::Model>,
    public_url: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = app.clock.now();
    let staff_ids: Vec<i64> = rows.iter().map(|r| r.staff_id).collect();
    let staff: HashMap<i64, _> =
        storage::staff::by_ids(&app.db, &staff_ids).await?.into_iter().map(|s| (s.id, s)).collect();
    let quiet: HashMap<i64, Quiet> = staff.iter().map(|(id, s)| (*id, Quiet::of(s, app.time_zone))).collect();
    // Summaries carry the rows deferred for them.
    let summaries: Vec<&delivery::Model> = rows.iter().filter(|r| r.summary_until.is_some()).collect();
    let carried =
        if summaries.is_empty() { Vec::new() } else { storage::deliveries::carried(&app.db, &summaries).await? };
    // What was read, dismissed, acknowledged or resolved meanwhile is left out.
    let carried_alerts: Vec<i64> = carried.iter().map(|r| r.alert_id).collect();
    let acted_on = storage::alerts::acted_on(&app.db, &carried_alerts).await?;
    let mut alert_ids: Vec<i64> = rows.iter().map(|r| r.alert_id).collect();
    let mut carried_by: HashMap<i64, Carried> = HashMap::new();
    for row in &carried {
        let Some(summary) = summaries
            .iter()
            .find(|s| s.staff_id == row.staff_id && s.channel == row.channel && s.summary_until == row.deferred_until)
        else {
            continue;
        };
        let entry = carried_by.entry(summary.id).or_default();
        if acted_on.contains(&row.alert_id) {
            entry.dropped.push(row.id);
            continue;
        }
        if entry.kept.len() < templates::SUMMARY_MAX_LISTED {
            alert_ids.push(row.alert_id);
        }
        entry.kept.push(row);
    }
    alert_ids.sort_unstable();
    alert_ids.dedup();
    let alerts: HashMap<i64, _> =
        storage::alerts::by_ids(&app.db, &alert_ids).await?.into_iter().map(|a| (a.id, a)).collect();
    let rows = put_off(app, rows, &alerts, &quiet, now).await?;
    let team_alerts: Vec<&storage::entities::alert::Model> = rows
        .iter()
        .filter(|r| TeamChannel::from_name(&r.channel).is_some())
        .filter_map(|r| alerts.get(&r.alert_id))
        .collect();
    let complaints = super::team::complaints(app, &team_alerts).await?;
    for row in rows {
        let (Some(alert), Some(person)) = (alerts.get(&row.alert_id), staff.get(&row.staff_id)) else {
            continue; // deleted meanwhile: the row went with it (cascade)
        };
        let zone = quiet.get(&person.id).map_or(app.time_zone, |q| q.zone);
        let mut carried_ids = CarriedIds::default();
        let summary = match row.summary_until {
            Some(_) => {
                let Carried { kept, dropped } = carried_by.remove(&row.id).unwrap_or_default();
                carried_ids = CarriedIds { sent: kept.iter().map(|r| r.id).collect(), dropped };
                let listed: Vec<Alert> = kept
                    .iter()
                    .take(templates::SUMMARY_MAX_LISTED)
                    .filter_map(|r| alerts.get(&r.alert_id))
                    .map(|a| a.clone().into())
                    .collect();
                let kind = SummaryKind::of(kept.iter().map(|r| r.deferred_for.as_deref()));
                Some(Summary { kind, alerts: listed, total: kept.len() })
            }
            None => None,
        };
        let live = summary.is_none() && alert.acknowledged_at.is_none() && alert.resolved_at.is_none();
        let ack_url = public_url.filter(|_| live).map(|base| {
            let expires = alert.expires_at.unwrap_or(alert.created_at + crate::domain::ack_links::DEFAULT_LIFETIME);
            format!("{base}/ack/{}", app.auth.ack_links.sign(alert.id, person.id, expires))
        });
        let nothing_to_summarise = summary.as_ref().is_some_and(|s| s.total == 0);
        let message = match TeamChannel::from_name(&row.channel) {
            Some(team) => Message::Team(
                team,
                TeamPost {
                    delivery_id: row.id,
                    // The link is the event's: only a rule that escalates has one to offer.
                    ack_url: ack_url.filter(|_| alert.event_id.is_some()),
                    complaint: alert
                        .resource_id
                        .and_then(|id| complaints.get(&id))
                        .cloned()
                        .filter(|_| alert.resource_type.as_deref() == Some("complaint")),
                    // A team reads times in the organisation's zone.
                    alert: Alert::from(alert.clone()).in_zone(app.time_zone),
                },
            ),
            None => Message::Person(
                Channel::from_name(&row.channel),
                Notification {
                    delivery_id: row.id,
                    ack_url,
                    alert: Alert::from(alert.clone()).in_zone(zone),
                    recipient: Recipient {
                        staff_id: person.id,
                        full_name: person.full_name.clone(),
                        email: person.email.clone(),
                        phone: person.phone.clone(),
                        time_zone: zone.name().to_owned(),
                    },
                    summary,
                },
            ),
        };
        let (channels, limit) = (channels.clone(), limit.clone());
        sends.spawn(async move {
            if nothing_to_summarise {
                let reason = if carried_ids.dropped.is_empty() {
                    "nothing left to summarise: every deferred alert went on its own"
                } else {
                    "nothing left to summarise: every alert was read or acted on before it was due"
                };
                return (row, Err(SendError::Skipped(reason.to_owned())), carried_ids);
            }
            let _permit = limit.acquire_owned().await;
            let outcome = match message {
                Message::Person(Some(channel), notification) => channels.send(channel, &notification).await,
                Message::Team(team, post) => channels.post(team, &post).await,
                Message::Person(None, _) => Err(SendError::Permanent(format!("unknown channel {:?}", row.channel))),
            };
            (row, outcome, carried_ids)
        });
    }
    Ok(())
}

/// What one outbox row sends: a person's notification, or a team post.
enum Message {
    Person(Option<Channel>, Notification),
    Team(TeamChannel, TeamPost),
}

/// Quiet hours and digests (SPEC 10): of the claimed rows, the email and
/// SMS of an alert type no rule marks `bypass_quiet_hours` are put off
/// instead of sent (in one transaction: [`storage::deliveries::defer`]):
/// - when the person takes that type in an hourly or daily digest, to the
///   end of the digest's window (or, if that falls in their quiet hours, to
///   the end of those), for the one digest of that window and channel;
/// - else, when the person is in quiet hours or do-not-disturb, to their
///   end: for one summary per channel, or each in turn, as they chose.
///
/// Returns the rows to send now. Decided here, when a row is due, rather
/// than when the engine writes it: the engine's set-based inserts stay as
/// they are, and a preference changed meanwhile counts.
async fn put_off(
    app: &App,
    rows: Vec<delivery::Model>,
    alerts: &HashMap<i64, crate::storage::entities::alert::Model>,
    quiet: &HashMap<i64, Quiet>,
    now: DateTime<Utc>,
) -> Result<Vec<delivery::Model>, sea_orm::DbErr> {
    let personal = |row: &delivery::Model| {
        matches!(Channel::from_name(&row.channel), Some(Channel::Email | Channel::Sms)) && row.summary_until.is_none()
    };
    let mut people: Vec<i64> = rows.iter().filter(|r| personal(r)).map(|r| r.staff_id).collect();
    if people.is_empty() {
        return Ok(rows);
    }
    people.sort_unstable();
    people.dedup();
    let digests: HashMap<(i64, String), Digest> = storage::subscriptions::digests_of(&app.db, &people)
        .await?
        .into_iter()
        .filter_map(|s| Some(((s.staff_id, s.alert_type), Digest::of(&s.delivery_mode, s.daily_at.as_deref())?)))
        .collect();
    let put_off_until = |row: &delivery::Model| -> Option<(DateTime<Utc>, bool, &'static str)> {
        if !personal(row) {
            return None;
        }
        let person = quiet.get(&row.staff_id)?;
        let alert_type = alerts.get(&row.alert_id).map(|a| a.alert_type.clone())?;
        if let Some(digest) = digests.get(&(row.staff_id, alert_type)) {
            let end = digest.window_end(person.zone, now);
            return Some((person.until(end).unwrap_or(end), true, digest.name()));
        }
        let until = person.until(now)?;
        Some((until, person.delivery == QuietDelivery::Summary, storage::deliveries::QUIET_HOURS))
    };
    let put_off: Vec<_> = rows.iter().map(put_off_until).collect();
    if put_off.iter().all(Option::is_none) {
        return Ok(rows);
    }
    let bypass: std::collections::HashSet<String> = crate::domain::rules::enabled_specs(app)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?
        .into_iter()
        .filter(|r| r.config.bypass_quiet_hours)
        .map(|r| r.config.alert_type)
        .collect();
    let mut send = Vec::with_capacity(rows.len());
    let mut deferrals = Vec::new();
    for (row, until) in rows.into_iter().zip(put_off) {
        let urgent = alerts.get(&row.alert_id).is_some_and(|a| bypass.contains(&a.alert_type));
        match until.filter(|_| !urgent) {
            Some((until, summary, reason)) => deferrals.push(storage::deliveries::Deferral {
                id: row.id,
                alert_id: row.alert_id,
                staff_id: row.staff_id,
                channel: row.channel.clone(),
                until,
                summary,
                reason,
            }),
            None => send.push(row),
        }
    }
    storage::deliveries::defer(&app.db, &deferrals, now).await?;
    for d in &deferrals {
        app.metrics.delivery(&d.channel, "deferred");
    }
    Ok(send)
}

/// Outcomes not yet written.
#[derive(Default)]
struct Outcomes {
    sent: Vec<i64>,
    /// (summary row id, the rows it carried) of the summaries sent or skipped.
    carried: Vec<(i64, CarriedIds)>,
    /// (row id, status, error, next attempt) of the rows not sent.
    others: Vec<(i64, &'static str, String, DateTime<Utc>)>,
    /// When the oldest of them came in.
    since: Option<Instant>,
}

impl Outcomes {
    fn len(&self) -> usize {
        self.sent.len() + self.others.len()
    }

    /// Classifies one finished send (a send task that panicked keeps its claim, which expires and retries).
    fn add(&mut self, app: &App, config: &DispatcherConfig, joined: Result<Sent, tokio::task::JoinError>) {
        let Ok((row, outcome, carried)) = joined else { return };
        self.since.get_or_insert_with(Instant::now);
        let now = app.clock.now();
        let (status, error, next) = match outcome {
            Ok(()) => {
                app.metrics.delivery(&row.channel, "sent");
                self.sent.push(row.id);
                if !carried.is_empty() {
                    self.carried.push((row.id, carried));
                }
                return;
            }
            Err(SendError::Skipped(reason)) => {
                tracing::info!(delivery = row.id, channel = %row.channel, %reason, "delivery skipped");
                // A summary with nothing left to list still settles the rows it left out.
                if !carried.dropped.is_empty() {
                    self.carried.push((row.id, CarriedIds { sent: Vec::new(), dropped: carried.dropped }));
                }
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
        self.others.push((row.id, status, error, next));
    }

    /// Writes the outcomes (sent rows in one statement). On a database error
    /// they are dropped: the rows' claims expire and they are sent again.
    async fn flush(&mut self, app: &App) {
        if self.since.take().is_none() {
            return;
        }
        let now = app.clock.now();
        let others = std::mem::take(&mut self.others);
        let sent = std::mem::take(&mut self.sent);
        let carried = std::mem::take(&mut self.carried);
        // One transaction: a summary and the rows it carried (or left out) are settled together or not at all.
        let written = async {
            let txn = storage::begin_write(&app.db).await?;
            for (id, status, error, next) in &others {
                storage::deliveries::mark_outcome(&txn, *id, status, error, *next, now).await?;
            }
            storage::deliveries::mark_sent(&txn, &sent, now).await?;
            for (summary, ids) in &carried {
                storage::deliveries::settle_carried(&txn, *summary, &ids.sent, &ids.dropped, now).await?;
            }
            txn.commit().await
        };
        if let Err(e) = written.await {
            tracing::warn!(error = %e, "recording delivery outcomes failed; the claims will expire and retry");
        }
    }
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
