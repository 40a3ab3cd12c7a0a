//! The scheduler inside `serve`: periodic checks and cleanup. With several
//! instances on one database each job runs on one instance per interval: a
//! lease row per job, taken with one conditional UPDATE, expiring on its own
//! if its holder dies.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{App, DomainResult, engine};
use crate::storage::{self, engine::Scope};

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub sla_check: Duration,
    pub critical_check: Duration,
    pub workload_check: Duration,
    pub escalation: Duration,
    /// Wakes the snoozed alerts whose time came, or that a newer alert supersedes.
    pub snooze_wake: Duration,
    pub cleanup: Duration,
    /// Dismissed or expired alerts are deleted this long after.
    pub retention: TimeDelta,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            sla_check: Duration::from_secs(300),
            critical_check: Duration::from_secs(600),
            workload_check: Duration::from_secs(900),
            escalation: Duration::from_secs(30),
            snooze_wake: Duration::from_secs(15),
            cleanup: Duration::from_secs(86_400),
            retention: TimeDelta::days(90),
        }
    }
}

/// How many times each job ran on this instance (for logs, metrics and tests).
#[derive(Debug, Default)]
pub struct JobRuns {
    pub sla_check: AtomicU64,
    pub critical_check: AtomicU64,
    pub workload_check: AtomicU64,
    pub escalation: AtomicU64,
    pub snooze_wake: AtomicU64,
    pub cleanup: AtomicU64,
}

impl JobRuns {
    fn counter(&self, job: &str) -> &AtomicU64 {
        match job {
            "sla_check" => &self.sla_check,
            "critical_check" => &self.critical_check,
            "workload_check" => &self.workload_check,
            "escalation" => &self.escalation,
            "snooze_wake" => &self.snooze_wake,
            _ => &self.cleanup,
        }
    }
}

/// A name for this instance in the lease table: host, process and a random part.
pub fn instance_id() -> String {
    use rand::Rng;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}-{}-{:08x}", std::process::id(), rand::rng().random::<u32>())
}

/// Starts the jobs; they stop when `shutdown` turns true, giving their leases back.
pub fn spawn(app: App, config: SchedulerConfig, shutdown: watch::Receiver<bool>) -> (JoinSet<()>, Arc<JobRuns>) {
    let runs = Arc::new(JobRuns::default());
    let holder = instance_id();
    let mut set = JoinSet::new();
    let jobs = [
        ("sla_check", config.sla_check),
        ("critical_check", config.critical_check),
        ("workload_check", config.workload_check),
        ("escalation", config.escalation),
        ("snooze_wake", config.snooze_wake),
        ("cleanup", config.cleanup),
    ];
    for (job, every) in jobs {
        let (app, runs, holder, config) = (app.clone(), runs.clone(), holder.clone(), config.clone());
        let mut shutdown = shutdown.clone();
        set.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = shutdown.changed() => break,
                }
                // The lease lasts a little less than the interval, so this
                // instance's own next tick finds it free despite timer jitter.
                let ttl = TimeDelta::from_std(every.mul_f64(0.9)).unwrap_or(TimeDelta::seconds(1));
                match storage::leases::take_lease(&app.db, job, &holder, app.clock.now(), ttl).await {
                    Ok(true) => {
                        runs.counter(job).fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = run_job(&app, job, &config).await {
                            tracing::warn!(job, error = %e, "job failed; it runs again next interval");
                        }
                    }
                    Ok(false) => tracing::debug!(job, "another instance holds the lease"),
                    Err(e) => tracing::warn!(job, error = %e, "cannot take the job lease"),
                }
            }
            let _ = storage::leases::release_lease(&app.db, job, &holder, app.clock.now()).await;
        });
    }
    (set, runs)
}

/// One run of a scheduled job.
pub async fn run_job(app: &App, job: &str, config: &SchedulerConfig) -> DomainResult<()> {
    let started = std::time::Instant::now();
    let created = match job {
        // Every rule over the complaints written since (their evaluation after
        // the write may have been cut off), and the SLA moments that came due.
        "sla_check" => {
            super::sla::reproject(app).await?;
            incremental_check(app, job, &engine::ALL_RULE_TYPES, true).await?
        }
        "critical_check" => incremental_check(app, job, &["event"], false).await?,
        "workload_check" => incremental_check(app, job, &["threshold"], false).await?,
        "escalation" => super::escalation::tick(app).await?,
        "snooze_wake" => super::snooze::tick(app).await?,
        _ => {
            let deleted = engine::cleanup(app, config.retention).await?;
            tracing::info!(job, deleted, "cleanup done");
            0
        }
    };
    app.metrics.job(job, started.elapsed().as_secs_f64());
    tracing::debug!(job, created, elapsed_ms = started.elapsed().as_millis() as u64, "job ran");
    Ok(())
}

/// A check that costs what changed: the rules of `rule_types` over what
/// changed since this job's last complete run (its watermark), or over
/// everything when there is none or it is older than [`FULL_CHECK_AFTER`]
/// (a long outage). The watermark moves only once every rule ran, so a
/// failed or skipped run is caught up by the next. `clear`: mark the
/// complaints written before the run (with a margin for writes still
/// committing when it read) evaluated.
async fn incremental_check(app: &App, job: &str, rule_types: &[&str], clear: bool) -> DomainResult<u64> {
    let until = app.clock.now();
    let scope = match storage::leases::watermark(&app.db, job).await? {
        Some(since) if until - since <= FULL_CHECK_AFTER => Scope::Changed { since },
        Some(_) | None => Scope::All,
    };
    let created = engine::run(app, rule_types, scope).await?.total_created;
    if clear {
        storage::sla::clear_unchecked(&app.db, until - COMMIT_MARGIN).await?;
    }
    storage::leases::set_watermark(&app.db, job, until).await?;
    Ok(created)
}

/// A watermark older than this (the jobs did not run for that long): check everything.
pub const FULL_CHECK_AFTER: TimeDelta = TimeDelta::days(1);

/// Complaints written this little before a check are evaluated by the next one too.
const COMMIT_MARGIN: TimeDelta = TimeDelta::seconds(60);
