//! SLA policies on business calendars (SPEC 8): their administration, and
//! each complaint's clock. A clock counts working time of its policy's
//! calendar from the complaint's creation, stops while the complaint is in a
//! pause status or resolved, and is projected into wall-clock moments when
//! the complaint is written: the first-response and resolution due times
//! and the points at which each at-risk rule comes due. The engine compares
//! those moments with the time, in SQL; only a write, a settings change
//! (re-projection) or a read (the remaining time) does calendar arithmetic.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{Calendar, CalendarError, HolidaySpec, WeeklyHours};
use super::complaints::SlaPolicy;
use super::rules::{Conditions, RuleSpec};
use super::vocab::{ClockState, ComplaintStatus, Priority, SlaMetric, SlaState, not_one_of};
use super::{App, DomainError, DomainResult, wire};
use crate::storage::complaints::ClockColumns;
use crate::storage::entities::{complaint, sla_calendar, sla_policy};
use crate::storage::{self, migrations::CALENDAR_24X7};

// ---------------------------------------------------------------- wire types

/// A business calendar.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarView {
    pub id: i64,
    pub name: String,
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// `mon`…`sun` → `[["09:00","12:00"],["13:00","17:30"]]`; a missing or empty day is closed.
    #[schema(value_type = Object)]
    pub weekly_hours: WeeklyHours,
    #[schema(value_type = Vec<Object>)]
    pub holidays: Vec<HolidaySpec>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCalendar {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub time_zone: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub weekly_hours: WeeklyHours,
    #[serde(default, deserialize_with = "wire::objects")]
    #[schema(value_type = Vec<Object>)]
    pub holidays: Vec<HolidaySpec>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarChanges {
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(value_type = Option<Object>, nullable = false)]
    pub weekly_hours: Option<WeeklyHours>,
    #[serde(default, deserialize_with = "wire::not_null_objects")]
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub holidays: Option<Vec<HolidaySpec>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub start: DateTime<Utc>,
    /// Working minutes from `start`.
    #[schema(minimum = 0, maximum = 525_600)]
    pub minutes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewAnswer {
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyMatch {
    #[schema(value_type = Vec<Priority>)]
    pub priorities: Vec<String>,
    /// Only complaints in these statuses (any status when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ComplaintStatus>>)]
    pub statuses: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    #[schema(minimum = 1, maximum = 525_600)]
    pub first_response_minutes: Option<i64>,
    /// `null` on the seeded `default` policy: the `ALERTS_SLA_HOURS` figure of the complaint's priority.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 525_600)]
    pub resolution_minutes: Option<i64>,
}

/// An SLA policy: the first one (by ascending position) matching a complaint applies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: i64,
    pub name: String,
    pub position: i32,
    #[serde(rename = "match")]
    pub matches: PolicyMatch,
    pub calendar_id: i64,
    pub targets: Targets,
    #[schema(value_type = Vec<ComplaintStatus>)]
    pub pause_statuses: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Default: 100 (before the seeded `default` at 1000).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub position: Option<i32>,
    #[serde(rename = "match", deserialize_with = "wire::object")]
    pub matches: PolicyMatch,
    /// Default: the `24x7` calendar.
    pub calendar_id: Option<i64>,
    #[serde(deserialize_with = "wire::object")]
    pub targets: Targets,
    /// Default: `["pending"]`.
    #[schema(value_type = Option<Vec<ComplaintStatus>>)]
    pub pause_statuses: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChanges {
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(minimum = 0, maximum = 1_000_000, nullable = false)]
    pub position: Option<i32>,
    #[serde(rename = "match", default, deserialize_with = "wire::not_null_object")]
    #[schema(nullable = false)]
    pub matches: Option<PolicyMatch>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub calendar_id: Option<i64>,
    #[serde(default, deserialize_with = "wire::not_null_object")]
    #[schema(nullable = false)]
    pub targets: Option<Targets>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(value_type = Option<Vec<ComplaintStatus>>, nullable = false)]
    pub pause_statuses: Option<Vec<String>>,
}

/// A complaint's SLA clocks, as every complaint read carries them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SlaView {
    /// The policy's name (`null`: no policy matches, no clock runs).
    pub policy: Option<String>,
    pub calendar: Option<String>,
    pub metrics: Vec<MetricView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MetricView {
    pub metric: SlaMetric,
    pub state: ClockState,
    pub due_at: Option<DateTime<Utc>>,
    /// Working time left (negative: overdue by), on the clock's calendar.
    pub remaining_business_seconds: Option<i64>,
    /// Wall-clock time left until `due_at` (negative: overdue by).
    pub remaining_seconds: Option<i64>,
    pub breached_at: Option<DateTime<Utc>>,
    pub paused_since: Option<DateTime<Utc>>,
}

// ------------------------------------------------------------ the settings

struct PolicyRule {
    id: i64,
    name: String,
    priorities: Vec<Priority>,
    statuses: Option<Vec<ComplaintStatus>>,
    calendar_id: i64,
    first_response: Option<i64>,
    resolution: Option<i64>,
    pause: Vec<ComplaintStatus>,
}

/// An at-risk rule as the clocks see it: which metric, what share of the target.
struct AtRisk {
    rule_id: i64,
    metric: SlaMetric,
    share: f64,
}

/// The SLA settings at one revision: policies in match order, calendars
/// (every revision, parsed), the at-risk rules and the per-priority hours.
pub struct Snapshot {
    pub revision: i64,
    policies: Vec<PolicyRule>,
    /// Calendar id → (name, current revision id).
    calendars: HashMap<i64, (String, i64)>,
    /// Revision id → (calendar id, calendar).
    revisions: HashMap<i64, (i64, Arc<Calendar>)>,
    at_risk: Vec<AtRisk>,
    hours: SlaPolicy,
}

/// The last snapshot this process loaded; reused while the revision holds.
#[derive(Default)]
pub struct SnapshotCache(Mutex<Option<Arc<Snapshot>>>);

fn strings(value: &serde_json::Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

fn calendar_error(e: CalendarError) -> DomainError {
    DomainError::invalid(e.field, e.message)
}

fn parse_stored_calendar(time_zone: &str, weekly: &serde_json::Value, holidays: &serde_json::Value) -> Calendar {
    let weekly: WeeklyHours = serde_json::from_value(weekly.clone()).unwrap_or_default();
    let holidays: Vec<HolidaySpec> = serde_json::from_value(holidays.clone()).unwrap_or_default();
    // Stored definitions were checked when written; one edited by hand into
    // something invalid counts as never open rather than stopping the service.
    Calendar::parse(time_zone, &weekly, &holidays).unwrap_or_else(|e| {
        tracing::error!(field = %e.field, error = %e.message, "invalid stored SLA calendar; treated as closed");
        Calendar::never_open()
    })
}

impl Snapshot {
    async fn load(app: &App) -> DomainResult<Snapshot> {
        let revision = storage::sla::revision(&app.db).await?;
        let policies = storage::sla::policies(&app.db).await?;
        let calendars = storage::sla::calendars(&app.db).await?;
        let revisions = storage::sla::calendar_revisions(&app.db).await?;
        let rules = super::rules::enabled_specs(app).await?;
        Ok(Snapshot {
            revision,
            policies: policies.iter().map(policy_rule).collect(),
            calendars: calendars.into_iter().map(|c| (c.id, (c.name, c.revision_id))).collect(),
            revisions: revisions
                .into_iter()
                .map(|r| {
                    let calendar = parse_stored_calendar(&r.time_zone, &r.weekly_hours, &r.holidays);
                    (r.id, (r.calendar_id, Arc::new(calendar)))
                })
                .collect(),
            at_risk: at_risk_rules(&rules),
            hours: app.sla,
        })
    }

    fn policy_for(&self, priority: Priority, status: ComplaintStatus) -> Option<&PolicyRule> {
        self.policies.iter().find(|p| {
            p.priorities.contains(&priority) && p.statuses.as_ref().is_none_or(|statuses| statuses.contains(&status))
        })
    }

    fn policy(&self, id: Option<i64>) -> Option<&PolicyRule> {
        self.policies.iter().find(|p| Some(p.id) == id)
    }

    /// A calendar's current revision.
    fn current(&self, calendar_id: i64) -> Option<(i64, &Calendar)> {
        let (_, revision) = self.calendars.get(&calendar_id)?;
        self.revisions.get(revision).map(|(_, c)| (*revision, c.as_ref()))
    }

    pub fn revision(&self, id: Option<i64>) -> Option<&Calendar> {
        self.revisions.get(&id?).map(|(_, c)| c.as_ref())
    }

    fn calendar_name(&self, revision_id: Option<i64>) -> Option<String> {
        let (calendar_id, _) = self.revisions.get(&revision_id?)?;
        self.calendars.get(calendar_id).map(|(name, _)| name.clone())
    }

    fn resolution_target(&self, policy: &PolicyRule, priority: Priority) -> i64 {
        policy.resolution.unwrap_or_else(|| self.hours.hours(priority) * 3600)
    }
}

fn policy_rule(p: &sla_policy::Model) -> PolicyRule {
    PolicyRule {
        id: p.id,
        name: p.name.clone(),
        priorities: strings(&p.match_priorities).iter().filter_map(|s| Priority::from_name(s)).collect(),
        statuses: p
            .match_statuses
            .as_ref()
            .map(|s| strings(s).iter().filter_map(|s| ComplaintStatus::from_name(s)).collect()),
        calendar_id: p.calendar_id,
        first_response: p.first_response_minutes.map(|m| m * 60),
        resolution: p.resolution_minutes.map(|m| m * 60),
        pause: strings(&p.pause_statuses).iter().filter_map(|s| ComplaintStatus::from_name(s)).collect(),
    }
}

fn at_risk_rules(rules: &[RuleSpec]) -> Vec<AtRisk> {
    rules
        .iter()
        .filter_map(|r| {
            let (metric, c) = match &r.conditions {
                Conditions::Sla(c) => (SlaMetric::Resolution, c),
                Conditions::FirstResponse(c) => (SlaMetric::FirstResponse, c),
                Conditions::Event(_) | Conditions::Threshold(_) => return None,
            };
            (SlaState::from_name(&c.sla_state) == Some(SlaState::AtRisk)).then(|| AtRisk {
                rule_id: r.id,
                metric,
                share: c.threshold_percent.unwrap_or(80.0) / 100.0,
            })
        })
        .collect()
}

/// The SLA settings now (one small read when nothing changed since the last call).
pub async fn snapshot(app: &App) -> DomainResult<Arc<Snapshot>> {
    let revision = storage::sla::revision(&app.db).await?;
    if let Ok(cached) = app.sla_settings.0.lock()
        && let Some(snapshot) = cached.as_ref().filter(|s| s.revision == revision)
    {
        return Ok(snapshot.clone());
    }
    let snapshot = Arc::new(Snapshot::load(app).await?);
    if let Ok(mut cached) = app.sla_settings.0.lock() {
        *cached = Some(snapshot.clone());
    }
    Ok(snapshot)
}

// -------------------------------------------------------------- the clocks

/// What a complaint's clock depends on, after a write.
pub struct ClockFacts {
    pub status: ComplaintStatus,
    pub priority: Priority,
    pub created_at: DateTime<Utc>,
    pub first_responded_at: Option<DateTime<Utc>>,
    /// A deadline the client gave: it wins for resolution.
    pub explicit_deadline: Option<DateTime<Utc>>,
}

impl ClockFacts {
    /// The facts of a stored complaint. A complaint written before clocks
    /// existed keeps its deadline unless it is exactly the one its priority
    /// gave, so an upgrade moves no deadline a client set.
    pub fn of(m: &complaint::Model, hours: SlaPolicy) -> ClockFacts {
        let priority = Priority::from_name(&m.priority).unwrap_or(Priority::Medium);
        let legacy = m.sla_clock_at.is_none();
        let explicit = m.sla_deadline_explicit
            || (legacy && m.sla_deadline.is_some_and(|d| d != m.created_at + TimeDelta::hours(hours.hours(priority))));
        ClockFacts {
            status: ComplaintStatus::from_name(&m.status).unwrap_or(ComplaintStatus::Open),
            priority,
            created_at: m.created_at,
            first_responded_at: m.first_responded_at,
            explicit_deadline: if explicit { m.sla_deadline } else { None },
        }
    }
}

/// Projects a clock at `now` after a write: time used so far is counted on
/// the calendar revision it ran under and kept; what remains is counted on
/// the policy's calendar now. `before` is the stored clock (`None` for a new
/// complaint). Returns the clock and its at-risk points.
pub fn project(
    snapshot: &Snapshot,
    facts: &ClockFacts,
    before: Option<&ClockColumns>,
    now: DateTime<Utc>,
) -> (ClockColumns, storage::sla::Points) {
    let policy = snapshot.policy_for(facts.priority, facts.status);
    let current = policy.and_then(|p| snapshot.current(p.calendar_id));
    let calendar = current.map(|(_, c)| c);

    // Time used so far, on the hours it ran under.
    let started = before.and_then(|b| b.sla_clock_at.map(|at| (at, b.sla_used_seconds, b.sla_paused_since)));
    let (mut clock_at, mut used, was_paused) = started.unwrap_or((facts.created_at, 0, None));
    let stopped = !facts.status.is_open();
    let paused = !stopped && policy.is_some_and(|p| p.pause.contains(&facts.status));
    let running = !stopped && !paused;
    // A running clock on unchanged hours keeps its start: its due times follow
    // from it exactly. It is counted up to now when it stops or its hours change.
    let counted_revision = before.and_then(|b| b.sla_calendar_revision_id);
    let hours_change = counted_revision.is_some() && counted_revision != current.map(|(id, _)| id);
    if was_paused.is_none() && now > clock_at && (!running || hours_change) {
        let counted_on = snapshot.revision(counted_revision).or(calendar);
        used += counted_on.map_or(0, |c| c.working_seconds_between(clock_at, now));
        clock_at = now;
    }
    let paused_since = if running { None } else { was_paused.or(Some(now)) };
    if running && was_paused.is_some() {
        clock_at = now;
    }

    let existing = before.is_some();
    let due = |target: Option<i64>, before_due: Option<DateTime<Utc>>, met: bool| -> Option<DateTime<Utc>> {
        let target = target?;
        if met && existing {
            return before_due; // as it stood when met
        }
        if used >= target {
            return Some(before_due.filter(|d| *d <= clock_at).unwrap_or(clock_at));
        }
        if paused {
            return None;
        }
        calendar?.add_working_seconds(clock_at, target - used)
    };
    let resolution_target = policy.map(|p| snapshot.resolution_target(p, facts.priority));
    let first_target = policy.and_then(|p| p.first_response);
    let sla_deadline = match facts.explicit_deadline {
        Some(deadline) => Some(deadline),
        None => due(resolution_target, before.and_then(|b| b.sla_deadline), stopped),
    };
    let responded = stopped || facts.first_responded_at.is_some();
    let first_response_due_at = due(first_target, before.and_then(|b| b.first_response_due_at), responded);

    let mut points = Vec::new();
    if running {
        for rule in &snapshot.at_risk {
            let point = match rule.metric {
                SlaMetric::Resolution => match (facts.explicit_deadline, sla_deadline) {
                    // A client's deadline: a share of the wall-clock time to it, as before calendars.
                    (Some(deadline), _) => {
                        let at = wall_share_point(facts.created_at, deadline, rule.share);
                        let left = match calendar {
                            Some(c) => c.working_seconds_between(at, deadline),
                            None => (deadline - at).num_seconds(),
                        };
                        Some((at, left))
                    }
                    (None, Some(_)) => share_point(calendar, resolution_target, rule.share, used, clock_at),
                    (None, None) => None,
                },
                SlaMetric::FirstResponse if !responded && first_response_due_at.is_some() => {
                    share_point(calendar, first_target, rule.share, used, clock_at)
                }
                SlaMetric::FirstResponse => None,
            };
            points.extend(point.map(|(at, left)| (rule.rule_id, at, left)));
        }
    }
    let clock = ClockColumns {
        sla_policy_id: policy.map(|p| p.id),
        sla_calendar_revision_id: current.map(|(id, _)| id),
        sla_revision: snapshot.revision,
        sla_clock_at: Some(clock_at),
        sla_used_seconds: used,
        sla_paused_since: paused_since,
        first_response_due_at,
        sla_deadline,
        sla_deadline_explicit: facts.explicit_deadline.is_some(),
        sla_due_text: local_text(current, sla_deadline),
        first_response_due_text: local_text(current, first_response_due_at),
    };
    (clock, points)
}

/// A due time in the calendar's own zone, "Mon 11 Jan 2027 09:40
/// Europe/Berlin", for the alerts' words; `None` on the 24x7 calendar (its
/// alerts say UTC, as before calendars).
fn local_text(calendar: Option<(i64, &Calendar)>, due: Option<DateTime<Utc>>) -> Option<String> {
    let (_, calendar) = calendar.filter(|(revision, _)| *revision != CALENDAR_24X7)?;
    let zone = calendar.time_zone();
    Some(format!("{} {}", due?.with_timezone(&zone).format("%a %-d %b %Y %H:%M"), zone.name()))
}

/// When `share` (0..1) of the wall-clock time from `start` to `deadline` has
/// passed (a client's deadline: at-risk as before calendars).
pub fn wall_share_point(start: DateTime<Utc>, deadline: DateTime<Utc>, share: f64) -> DateTime<Utc> {
    let span = (deadline - start).num_microseconds().unwrap_or(0) as f64;
    start + TimeDelta::microseconds((span * share).ceil() as i64)
}

/// When `share` of `target` working seconds will have been used, and the
/// working seconds then left.
fn share_point(
    calendar: Option<&Calendar>,
    target: Option<i64>,
    share: f64,
    used: i64,
    clock_at: DateTime<Utc>,
) -> Option<(DateTime<Utc>, i64)> {
    let target = target?;
    let at = (target as f64 * share).ceil() as i64;
    if at <= used {
        Some((clock_at, target - used))
    } else {
        Some((calendar?.add_working_seconds(clock_at, at - used)?, target - at))
    }
}

/// The clocks of a stored complaint at `now`, as reads show them.
pub fn view(snapshot: &Snapshot, m: &complaint::Model, now: DateTime<Utc>) -> SlaView {
    let policy = snapshot.policy(m.sla_policy_id);
    let calendar = snapshot.revision(m.sla_calendar_revision_id);
    let status = ComplaintStatus::from_name(&m.status).unwrap_or(ComplaintStatus::Open);
    let priority = Priority::from_name(&m.priority).unwrap_or(Priority::Medium);
    let resolved_at = (!status.is_open()).then_some(m.resolved_at.unwrap_or(m.updated_at));
    let metric = |metric: SlaMetric, due: Option<DateTime<Utc>>, met_at: Option<DateTime<Utc>>, target: Option<i64>| {
        let mut view = MetricView {
            metric,
            state: ClockState::Running,
            due_at: due,
            remaining_business_seconds: None,
            remaining_seconds: None,
            breached_at: None,
            paused_since: None,
        };
        if let Some(met_at) = met_at {
            match due.filter(|d| *d < met_at) {
                Some(d) => (view.state, view.breached_at) = (ClockState::Breached, Some(d)),
                None => view.state = ClockState::Met,
            }
            return view;
        }
        if let Some(paused) = m.sla_paused_since {
            match due.filter(|d| *d <= paused) {
                Some(d) => (view.state, view.breached_at) = (ClockState::Breached, Some(d)),
                None => (view.state, view.paused_since) = (ClockState::Paused, Some(paused)),
            }
            view.remaining_business_seconds = target
                .filter(|_| !m.sla_deadline_explicit || metric == SlaMetric::FirstResponse)
                .map(|t| t - m.sla_used_seconds);
            return view;
        }
        let Some(due) = due else { return view };
        view.remaining_seconds = Some((due - now).num_seconds());
        if due <= now {
            view.state = ClockState::Breached;
            view.breached_at = Some(due);
            view.remaining_business_seconds = calendar.map(|c| -c.working_seconds_between(due, now));
        } else {
            view.remaining_business_seconds = calendar.map(|c| c.working_seconds_between(now, due));
        }
        view
    };
    let mut metrics = Vec::new();
    let first_target = policy.and_then(|p| p.first_response);
    if first_target.is_some() || m.first_response_due_at.is_some() {
        let met = m.first_responded_at.or(resolved_at);
        metrics.push(metric(SlaMetric::FirstResponse, m.first_response_due_at, met, first_target));
    }
    if policy.is_some() || m.sla_deadline.is_some() {
        let target = policy.map(|p| snapshot.resolution_target(p, priority));
        metrics.push(metric(SlaMetric::Resolution, m.sla_deadline, resolved_at, target));
    }
    SlaView {
        policy: policy.map(|p| p.name.clone()),
        calendar: snapshot.calendar_name(m.sla_calendar_revision_id),
        metrics,
    }
}

/// Complaints still being worked on: their clocks are re-projected (a closed
/// one's clock stopped for good).
pub const LIVE_STATUSES: [&str; 3] =
    [ComplaintStatus::Open.as_str(), ComplaintStatus::InProgress.as_str(), ComplaintStatus::Pending.as_str()];

/// Complaints re-projected per transaction at first; the size then follows
/// the time a batch takes, so each holds the write lock between half and
/// twice [`REPROJECT_BATCH_TIME`]. At twice, a batch still has room below the
/// 100 ms a writer may hold it (at 40 ms, one MariaDB batch in 2 031 took 102 ms:
/// docs/PERFORMANCE.md, "SLA clocks"). Smaller batches do not keep MariaDB's
/// stalls out: at 20 ms, batches of 50 waited 120-140 ms in their update.
pub const REPROJECT_BATCH: u64 = 250;
const REPROJECT_BATCH_RANGE: std::ops::RangeInclusive<u64> = 25..=2000;
const REPROJECT_BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(30);

/// Re-projects every open complaint whose clock was projected with older SLA
/// settings (after a policy, calendar or at-risk rule changed, or written
/// before clocks existed), in batches, each its own transaction (see
/// [`REPROJECT_BATCH`]). Time used stays used; what remains counts on the new hours.
pub async fn reproject(app: &App) -> DomainResult<Reprojection> {
    let snapshot = snapshot(app).await?;
    let mut done = Reprojection::default();
    let mut size = REPROJECT_BATCH;
    let mut times = Vec::new();
    // Revision by revision, each an ordered range of the index; a closed
    // complaint's clock is not re-projected, only marked current.
    while let Some(stale) = storage::sla::oldest_stale_revision(&app.db, snapshot.revision).await? {
        let mut after = 0;
        loop {
            // Racing instances queue on the batch's first row; where they
            // still deadlock (MySQL's gap locks), the loser runs the batch
            // again and skips what the winner rewrote.
            let Some(written) = storage::retrying(|| reproject_batch(app, &snapshot, stale, after, size)).await? else {
                break;
            };
            let took = written.took;
            done.longest_wait = done.longest_wait.max(written.waited);
            after = written.last_id;
            done.complaints += written.live;
            times.push(took);
            let full = written.read == size;
            // Halve after a slow batch, double after a quick one; in between
            // keep the size (a commit's fixed cost, e.g. MariaDB's log
            // flush, does not shrink with the batch).
            if took > REPROJECT_BATCH_TIME * 2 {
                size = (size / 2).max(*REPROJECT_BATCH_RANGE.start());
            } else if took < REPROJECT_BATCH_TIME / 2 {
                size = (size * 2).min(*REPROJECT_BATCH_RANGE.end());
            }
            if !full {
                break;
            }
        }
    }
    times.sort();
    done.batches = times.len() as u64;
    done.median_batch = times.get(times.len() / 2).copied().unwrap_or_default();
    done.p99_batch = times.get(times.len() * 99 / 100).copied().unwrap_or_default();
    done.longest_batch = times.last().copied().unwrap_or_default();
    Ok(done)
}

/// One batch of [`reproject`], in its own transaction: up to `size` clocks
/// of revision `stale` after id `after`, re-projected and written. `None`
/// when there were none left.
async fn reproject_batch(
    app: &App,
    snapshot: &Snapshot,
    stale: i64,
    after: i64,
    size: u64,
) -> Result<Option<BatchWritten>, sea_orm::DbErr> {
    let asked = std::time::Instant::now();
    let now = app.clock.now();
    let txn = storage::begin_write(&app.db).await?;
    // On SQLite the write lock is taken here (waiting for another writer,
    // or a checkpoint that restarts the WAL, is not holding it).
    let started = std::time::Instant::now();
    let batch = storage::sla::clocks_of_revision(&txn, stale, after, size).await?;
    let Some(last) = batch.last() else { return Ok(None) };
    let last_id = last.id;
    let mut clocks = Vec::with_capacity(batch.len());
    let mut points = Vec::with_capacity(batch.len());
    for m in &batch {
        let before = storage::complaints::clock_of(m);
        if !LIVE_STATUSES.contains(&m.status.as_str()) {
            clocks.push((m.id, ClockColumns { sla_revision: snapshot.revision, ..before }));
            continue;
        }
        let facts = ClockFacts::of(m, snapshot.hours);
        let (clock, list) = project(snapshot, &facts, Some(&before), now);
        clocks.push((m.id, clock));
        points.push((m.id, list));
    }
    let read = started.elapsed();
    storage::sla::write_clocks(&txn, &clocks, now).await?;
    let clocks_written = started.elapsed();
    storage::sla::replace_points(&txn, &points).await?;
    let points_written = started.elapsed();
    txn.commit().await?;
    let took = started.elapsed();
    let waited = started - asked;
    tracing::debug!(
        size = batch.len(),
        waited_ms = waited.as_millis() as u64,
        read_ms = read.as_millis() as u64,
        clocks_ms = (clocks_written - read).as_millis() as u64,
        points_ms = (points_written - clocks_written).as_millis() as u64,
        commit_ms = (took - points_written).as_millis() as u64,
        "sla re-projection batch"
    );
    Ok(Some(BatchWritten { last_id, read: batch.len() as u64, live: points.len() as u64, took, waited }))
}

/// What one [`reproject_batch`] did.
struct BatchWritten {
    /// The last complaint it read (the next batch starts after it).
    last_id: i64,
    /// Complaints read, and among them live ones re-projected.
    read: u64,
    live: u64,
    /// From its transaction's start (on SQLite: the write lock taken) to its commit.
    took: std::time::Duration,
    /// Before that start.
    waited: std::time::Duration,
}

/// What a [`reproject`] did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reprojection {
    pub complaints: u64,
    /// Transactions, one per batch.
    pub batches: u64,
    /// How long batches held the write lock (read, project, write, commit).
    pub median_batch: std::time::Duration,
    pub p99_batch: std::time::Duration,
    pub longest_batch: std::time::Duration,
    /// The longest a batch waited for the write lock (SQLite: behind
    /// another writer or a checkpoint), not counted above.
    pub longest_wait: std::time::Duration,
}

/// Starts a re-projection in the background after a settings change; the
/// scheduled check finishes whatever it leaves (e.g. the instance died).
fn reproject_soon(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        match reproject(&app).await {
            Ok(done) if done.complaints > 0 => tracing::info!(complaints = done.complaints, "SLA clocks re-projected"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "re-projecting SLA clocks failed; the next check retries"),
        }
    });
}

/// After an at-risk rule changed (its points move): the settings' revision moves on.
pub async fn rules_changed(app: &App) -> DomainResult<()> {
    storage::sla::bump_revision(&app.db).await?;
    reproject_soon(app);
    Ok(())
}

// ------------------------------------------------------- administration

pub(super) fn check_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters, without control characters"));
    }
    Ok(name.to_owned())
}

pub(super) fn name_taken(kind: &'static str, name: String) -> impl FnOnce(DomainError) -> DomainError {
    move |e| match e {
        DomainError::Conflict(_) => DomainError::Conflict(format!("a {kind} named {name:?} already exists")),
        other => other,
    }
}

fn calendar_view(c: sla_calendar::Model) -> CalendarView {
    CalendarView {
        id: c.id,
        name: c.name,
        time_zone: c.time_zone,
        weekly_hours: serde_json::from_value(c.weekly_hours).unwrap_or_default(),
        holidays: serde_json::from_value(c.holidays).unwrap_or_default(),
    }
}

pub async fn list_calendars(app: &App) -> DomainResult<Vec<CalendarView>> {
    Ok(storage::sla::calendars(&app.db).await?.into_iter().map(calendar_view).collect())
}

async fn calendar_row(app: &App, id: i64) -> DomainResult<sla_calendar::Model> {
    storage::sla::calendar(&app.db, id).await?.ok_or_else(|| DomainError::NotFound(format!("calendar {id} not found")))
}

pub async fn get_calendar(app: &App, id: i64) -> DomainResult<CalendarView> {
    calendar_row(app, id).await.map(calendar_view)
}

fn calendar_definition(
    name: String,
    time_zone: String,
    weekly_hours: WeeklyHours,
    holidays: Vec<HolidaySpec>,
) -> DomainResult<storage::sla::CalendarRow> {
    let name = check_name(&name)?;
    Calendar::parse(&time_zone, &weekly_hours, &holidays).map_err(calendar_error)?;
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| DomainError::Internal(e.to_string()));
    Ok(storage::sla::CalendarRow {
        name,
        time_zone,
        weekly_hours: json(serde_json::to_value(&weekly_hours))?,
        holidays: json(serde_json::to_value(&holidays))?,
    })
}

pub async fn create_calendar(app: &App, new: NewCalendar) -> DomainResult<CalendarView> {
    let row = calendar_definition(new.name, new.time_zone, new.weekly_hours, new.holidays)?;
    let name = row.name.clone();
    let txn = storage::begin_write(&app.db).await?;
    let created = storage::sla::insert_calendar(&txn, row, app.clock.now()).await;
    let created = created.map_err(DomainError::from).map_err(name_taken("calendar", name))?;
    storage::sla::bump_revision(&txn).await?;
    txn.commit().await?;
    Ok(calendar_view(created))
}

pub async fn update_calendar(app: &App, id: i64, changes: CalendarChanges) -> DomainResult<CalendarView> {
    let current = calendar_row(app, id).await?;
    if id == CALENDAR_24X7
        && (changes.weekly_hours.is_some() || changes.holidays.is_some() || changes.time_zone.is_some())
    {
        return Err(DomainError::invalid("weekly_hours", "the 24x7 calendar is always open; create another one"));
    }
    let stored = calendar_view(current.clone());
    let row = calendar_definition(
        changes.name.unwrap_or(stored.name),
        changes.time_zone.unwrap_or(stored.time_zone),
        changes.weekly_hours.unwrap_or(stored.weekly_hours),
        changes.holidays.unwrap_or(stored.holidays),
    )?;
    let name = row.name.clone();
    let txn = storage::begin_write(&app.db).await?;
    let updated = storage::sla::update_calendar(&txn, current, row, app.clock.now()).await;
    let updated = updated.map_err(DomainError::from).map_err(name_taken("calendar", name))?;
    storage::sla::bump_revision(&txn).await?;
    txn.commit().await?;
    reproject_soon(app);
    Ok(calendar_view(updated))
}

pub async fn delete_calendar(app: &App, id: i64) -> DomainResult<()> {
    calendar_row(app, id).await?;
    if id == CALENDAR_24X7 {
        return Err(DomainError::Conflict("the 24x7 calendar cannot be deleted".into()));
    }
    let users = storage::sla::policies_using(&app.db, id).await?;
    if !users.is_empty() {
        return Err(DomainError::Conflict(format!("calendar {id} is used by the policies {}", users.join(", "))));
    }
    storage::sla::delete_calendar(&app.db, id).await?;
    Ok(())
}

/// Longest target or preview: a year of working minutes.
pub const MAX_MINUTES: i64 = 525_600;

pub async fn preview(app: &App, id: i64, request: PreviewRequest) -> DomainResult<PreviewAnswer> {
    let stored = calendar_view(calendar_row(app, id).await?);
    let start = super::time::check("start", request.start)?;
    if !(0..=MAX_MINUTES).contains(&request.minutes) {
        return Err(DomainError::invalid("minutes", format!("must be between 0 and {MAX_MINUTES}")));
    }
    let calendar =
        Calendar::parse(&stored.time_zone, &stored.weekly_hours, &stored.holidays).map_err(calendar_error)?;
    let due_at = calendar
        .add_working_seconds(start, request.minutes * 60)
        .ok_or_else(|| DomainError::invalid("minutes", "the calendar has no working time to count them in"))?;
    Ok(PreviewAnswer { due_at })
}

fn policy_view(p: sla_policy::Model) -> PolicyView {
    PolicyView {
        id: p.id,
        name: p.name,
        position: p.position,
        matches: PolicyMatch {
            priorities: strings(&p.match_priorities),
            statuses: p.match_statuses.as_ref().map(strings),
        },
        calendar_id: p.calendar_id,
        targets: Targets { first_response_minutes: p.first_response_minutes, resolution_minutes: p.resolution_minutes },
        pause_statuses: strings(&p.pause_statuses),
    }
}

pub async fn list_policies(app: &App) -> DomainResult<Vec<PolicyView>> {
    Ok(storage::sla::policies(&app.db).await?.into_iter().map(policy_view).collect())
}

async fn policy_row(app: &App, id: i64) -> DomainResult<sla_policy::Model> {
    storage::sla::policy(&app.db, id).await?.ok_or_else(|| DomainError::NotFound(format!("policy {id} not found")))
}

pub async fn get_policy(app: &App, id: i64) -> DomainResult<PolicyView> {
    policy_row(app, id).await.map(policy_view)
}

fn check_minutes(field: &str, minutes: Option<i64>) -> DomainResult<()> {
    match minutes {
        Some(m) if !(1..=MAX_MINUTES).contains(&m) => {
            Err(DomainError::invalid(field, format!("must be between 1 and {MAX_MINUTES} minutes")))
        }
        _ => Ok(()),
    }
}

fn check_statuses(field: &str, statuses: &[String], open_only: bool) -> DomainResult<()> {
    if statuses.len() > ComplaintStatus::ALL.len() {
        return Err(DomainError::invalid(field, "lists a status twice"));
    }
    for s in statuses {
        let status = ComplaintStatus::parse(field, s)?;
        if open_only && !status.is_open() {
            return Err(not_one_of(field, s, &LIVE_STATUSES));
        }
    }
    Ok(())
}

async fn policy_definition(app: &App, view: PolicyView) -> DomainResult<storage::sla::PolicyRow> {
    let name = check_name(&view.name)?;
    if !(0..=1_000_000).contains(&view.position) {
        return Err(DomainError::invalid("position", "must be between 0 and 1000000"));
    }
    let priorities = &view.matches.priorities;
    if priorities.is_empty() || priorities.len() > Priority::ALL.len() {
        return Err(DomainError::invalid("match.priorities", "must name each priority it matches, at least one"));
    }
    for p in priorities {
        Priority::parse("match.priorities", p)?;
    }
    if let Some(statuses) = &view.matches.statuses {
        if statuses.is_empty() {
            return Err(DomainError::invalid("match.statuses", "must name at least one status, or be left out"));
        }
        check_statuses("match.statuses", statuses, false)?;
    }
    check_minutes("targets.first_response_minutes", view.targets.first_response_minutes)?;
    check_minutes("targets.resolution_minutes", view.targets.resolution_minutes)?;
    check_statuses("pause_statuses", &view.pause_statuses, true)?;
    if storage::sla::calendar(&app.db, view.calendar_id).await?.is_none() {
        return Err(DomainError::invalid("calendar_id", format!("no calendar with id {}", view.calendar_id)));
    }
    let json = |v: &Vec<String>| serde_json::Value::from(v.clone());
    Ok(storage::sla::PolicyRow {
        name,
        position: view.position,
        match_priorities: json(&view.matches.priorities),
        match_statuses: view.matches.statuses.as_ref().map(json),
        calendar_id: view.calendar_id,
        first_response_minutes: view.targets.first_response_minutes,
        resolution_minutes: view.targets.resolution_minutes,
        pause_statuses: json(&view.pause_statuses),
    })
}

pub async fn create_policy(app: &App, new: NewPolicy) -> DomainResult<PolicyView> {
    if new.targets.resolution_minutes.is_none() {
        return Err(DomainError::invalid("targets.resolution_minutes", "is required"));
    }
    let view = PolicyView {
        id: 0,
        name: new.name,
        // Before the seeded default (1000), after the others.
        position: new.position.unwrap_or(100),
        matches: new.matches,
        calendar_id: new.calendar_id.unwrap_or(CALENDAR_24X7),
        targets: new.targets,
        pause_statuses: new.pause_statuses.unwrap_or_else(|| vec![ComplaintStatus::Pending.as_str().to_owned()]),
    };
    let row = policy_definition(app, view).await?;
    let name = row.name.clone();
    let txn = storage::begin_write(&app.db).await?;
    let created = storage::sla::insert_policy(&txn, row, app.clock.now()).await;
    let created = created.map_err(DomainError::from).map_err(name_taken("policy", name))?;
    storage::sla::bump_revision(&txn).await?;
    txn.commit().await?;
    reproject_soon(app);
    Ok(policy_view(created))
}

pub async fn update_policy(app: &App, id: i64, changes: PolicyChanges) -> DomainResult<PolicyView> {
    let current = policy_row(app, id).await?;
    let mut view = policy_view(current.clone());
    view.name = changes.name.unwrap_or(view.name);
    view.position = changes.position.unwrap_or(view.position);
    view.matches = changes.matches.unwrap_or(view.matches);
    view.calendar_id = changes.calendar_id.unwrap_or(view.calendar_id);
    view.targets = changes.targets.unwrap_or(view.targets);
    view.pause_statuses = changes.pause_statuses.unwrap_or(view.pause_statuses);
    let row = policy_definition(app, view).await?;
    let name = row.name.clone();
    let txn = storage::begin_write(&app.db).await?;
    let updated = storage::sla::update_policy(&txn, current, row, app.clock.now()).await;
    let updated = updated.map_err(DomainError::from).map_err(name_taken("policy", name))?;
    storage::sla::bump_revision(&txn).await?;
    txn.commit().await?;
    reproject_soon(app);
    Ok(policy_view(updated))
}

pub async fn delete_policy(app: &App, id: i64) -> DomainResult<()> {
    policy_row(app, id).await?;
    let txn = storage::begin_write(&app.db).await?;
    storage::sla::delete_policy(&txn, id).await?;
    storage::sla::bump_revision(&txn).await?;
    txn.commit().await?;
    reproject_soon(app);
    Ok(())
}
