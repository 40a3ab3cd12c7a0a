//! Acknowledgement and escalation (SPEC 9). An alert event is one rule
//! firing for one resource in one dedup window, with one alert per
//! recipient: acknowledging any copy acknowledges it for all, and the
//! complaint's own progress resolves it.
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::{Change, StaffEvent};
use super::views::Alert;
use super::vocab::{AlertType, ComplaintStatus, Role};
use super::{App, DomainError, DomainResult, wire};
use crate::storage::alert_events::{Next, StepGroup, StepTargets};
use crate::storage::engine::EscalationStart;
use crate::storage::entities::{alert, alert_event, complaint, escalation_policy};
use crate::storage::{self};

/// Who acknowledges: a staff member, by name as their copies will show it.
pub struct Acknowledger<'a> {
    pub staff_id: i64,
    pub full_name: &'a str,
}

/// Acknowledges the event of the caller's alert `id` for all its
/// recipients; a second acknowledgement (by anyone) is a no-op. Every
/// recipient's connections get the updated alert.
pub async fn acknowledge(app: &App, by: &Acknowledger<'_>, id: i64) -> DomainResult<()> {
    let staff_id = by.staff_id;
    let (alert, window_open) = storage::alerts::owned_with_window(&app.db, staff_id, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("alert {id} not found")))?;
    if alert.acknowledged_at.is_some() {
        return Ok(());
    }
    let now = app.clock.now();
    let event_id = match alert.event_id {
        Some(id) => Some(id),
        // An alert whose window is over begins no event: it is acknowledged alone.
        None if window_open => storage::alert_events::event_of(&app.db, &alert).await?,
        None => None,
    };
    let Some(event_id) = event_id else {
        let ack =
            storage::alert_events::Acknowledgement { staff_id, full_name: by.full_name, at: now, next_step_at: None };
        if storage::alert_events::acknowledge_alone(&app.db, id, &ack).await? {
            // The row as it is now, without reading it back: the update set exactly these.
            let mut alert = alert;
            alert.acknowledged_at = Some(now);
            alert.acknowledged_by = Some(staff_id);
            alert.acknowledged_by_name = Some(by.full_name.to_owned());
            push_updated(app, vec![alert]);
        }
        return Ok(());
    };
    let event = storage::alert_events::by_id(&app.db, event_id).await?;
    let timeout = event.as_ref().and_then(|e| ack_timeout(e.policy.as_ref())).filter(|_| {
        // A resolved event does not start over.
        event.as_ref().is_some_and(|e| e.resolved_at.is_none())
    });
    let ack = storage::alert_events::Acknowledgement {
        staff_id,
        full_name: by.full_name,
        at: now,
        next_step_at: timeout.map(|t| now + t),
    };
    let first = storage::retrying(|| async {
        let txn = storage::begin_write(&app.db).await?;
        let first = storage::alert_events::acknowledge(&txn, event_id, &ack).await?;
        txn.commit().await?;
        Ok(first)
    })
    .await?;
    if first {
        push_updated(app, storage::alert_events::alerts_of(&app.db, event_id).await?);
    }
    Ok(())
}

/// The acknowledgement timeout of an event's policy snapshot.
fn ack_timeout(policy: Option<&serde_json::Value>) -> Option<chrono::TimeDelta> {
    let minutes = policy?.get("ack_timeout_minutes")?.as_i64()?;
    (minutes > 0).then(|| chrono::TimeDelta::minutes(minutes))
}

/// After a complaint write: resolves the events it no longer needs — all of
/// them once it is resolved or closed, first-response ones once it was
/// answered, breaches once its deadline lies in the future again — and
/// pushes their alerts to their recipients.
pub async fn resolve_for_complaint(app: &App, complaint: &complaint::Model, now: DateTime<Utc>) -> DomainResult<()> {
    let status = ComplaintStatus::from_name(&complaint.status);
    let mut types: Vec<&str> = Vec::new();
    if status.is_some_and(|s| !s.is_open()) {
        types.extend(super::engine::COMPLAINT_BOUND_TYPES);
    } else {
        if complaint.first_responded_at.is_some() {
            types.extend([AlertType::FirstResponseAtRisk.as_str(), AlertType::FirstResponseBreach.as_str()]);
        }
        if complaint.sla_deadline.is_some_and(|due| due > now) {
            types.push(AlertType::SlaBreach.as_str());
        }
    }
    if types.is_empty() {
        return Ok(());
    }
    let resolved = storage::alert_events::resolve_for_complaint(&app.db, complaint.id, &types, now).await?;
    push_updated(app, resolved);
    Ok(())
}

/// `alert.updated` to each alert's recipient.
fn push_updated(app: &App, alerts: Vec<alert::Model>) {
    for alert in alerts {
        let staff_id = alert.assigned_to_staff_id;
        app.events.publish(StaffEvent { staff_id, change: Change::Updated { alert: Box::new(Alert::from(alert)) } });
    }
}

// ---------------------------------------------------------------- policies

/// One step: `after_minutes` from the event's start, whom it adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[schema(minimum = 0, maximum = 43_200)]
    pub after_minutes: i64,
    /// `assignee`, `assignee_supervisor`, `role:NAME` or `staff:EMAIL`.
    pub targets: Vec<String>,
    /// The step waits for working time of the complaint's calendar.
    #[serde(default)]
    pub working_hours_only: bool,
}

/// The steps again, `times` times, `after_minutes` after the last one, for
/// an event still not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    #[schema(minimum = 1, maximum = 10)]
    pub times: i64,
    #[schema(minimum = 1, maximum = 43_200)]
    pub after_minutes: i64,
}

/// An escalation policy (also the snapshot an event keeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub id: i64,
    pub name: String,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub repeat: Option<Repeat>,
    /// After this long acknowledged but unresolved, the event starts over from its first step.
    #[serde(default)]
    pub ack_timeout_minutes: Option<i64>,
}

impl Policy {
    /// What an event that begins now keeps of it.
    pub fn start(&self) -> EscalationStart {
        let first = self.steps.first().map_or(0, |s| s.after_minutes);
        EscalationStart {
            policy: serde_json::to_value(self).unwrap_or_default(),
            first_step_after: TimeDelta::minutes(first),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(deserialize_with = "wire::objects")]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub repeat: Option<Repeat>,
    #[serde(default)]
    pub ack_timeout_minutes: Option<i64>,
}

/// A change: absent keeps a field; `repeat` and `ack_timeout_minutes` clear with `null`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChanges {
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "wire::not_null_objects")]
    #[schema(nullable = false)]
    pub steps: Option<Vec<Step>>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<Repeat>)]
    pub repeat: Option<Option<Repeat>>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<i64>)]
    pub ack_timeout_minutes: Option<Option<i64>>,
}

pub const MAX_STEPS: usize = 10;
pub const MAX_TARGETS: usize = 20;
/// 30 days.
const MAX_MINUTES: i64 = 43_200;

fn check_policy(policy: &Policy) -> DomainResult<()> {
    if policy.steps.is_empty() || policy.steps.len() > MAX_STEPS {
        return Err(DomainError::invalid("steps", format!("must have 1 to {MAX_STEPS} steps")));
    }
    let mut previous = 0;
    for (i, step) in policy.steps.iter().enumerate() {
        let field = |f: &str| format!("steps[{i}].{f}");
        if !(0..=MAX_MINUTES).contains(&step.after_minutes) {
            return Err(DomainError::invalid(field("after_minutes"), format!("must be between 0 and {MAX_MINUTES}")));
        }
        if step.after_minutes < previous {
            return Err(DomainError::invalid(field("after_minutes"), "must not be before the step above it"));
        }
        previous = step.after_minutes;
        if step.targets.is_empty() || step.targets.len() > MAX_TARGETS {
            return Err(DomainError::invalid(field("targets"), format!("must name 1 to {MAX_TARGETS} targets")));
        }
        for target in &step.targets {
            if Target::parse(target).is_none() {
                return Err(DomainError::invalid(
                    field("targets"),
                    format!(
                        "{:?} is not a target; use assignee, assignee_supervisor, role:admin|supervisor|agent or staff:EMAIL",
                        target.chars().take(100).collect::<String>()
                    ),
                ));
            }
        }
    }
    if let Some(r) = policy.repeat
        && (!(1..=10).contains(&r.times) || !(1..=MAX_MINUTES).contains(&r.after_minutes))
    {
        return Err(DomainError::invalid(
            "repeat",
            format!("times must be between 1 and 10, after_minutes between 1 and {MAX_MINUTES}"),
        ));
    }
    if let Some(m) = policy.ack_timeout_minutes
        && !(1..=MAX_MINUTES).contains(&m)
    {
        return Err(DomainError::invalid("ack_timeout_minutes", format!("must be between 1 and {MAX_MINUTES}")));
    }
    Ok(())
}

/// Whom a step adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Assignee,
    AssigneeSupervisor,
    Role(Role),
    Staff(String),
}

impl Target {
    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "assignee" => Some(Target::Assignee),
            "assignee_supervisor" => Some(Target::AssigneeSupervisor),
            _ => {
                if let Some(role) = s.strip_prefix("role:") {
                    return Role::from_name(role).map(Target::Role);
                }
                let email = s.strip_prefix("staff:")?;
                let ok = email.len() <= 254 && email.contains('@') && !email.chars().any(char::is_whitespace);
                ok.then(|| Target::Staff(email.to_owned()))
            }
        }
    }
}

fn policy_view(m: escalation_policy::Model) -> Policy {
    Policy {
        id: m.id,
        name: m.name,
        steps: serde_json::from_value(m.steps).unwrap_or_default(),
        repeat: m.repeat_policy.and_then(|r| serde_json::from_value(r).ok()),
        ack_timeout_minutes: m.ack_timeout_minutes,
    }
}

pub async fn list_policies(app: &App) -> DomainResult<Vec<Policy>> {
    Ok(storage::alert_events::policies(&app.db).await?.into_iter().map(policy_view).collect())
}

/// The policies by name (the engine's look-up).
pub async fn policies_by_name(app: &App) -> DomainResult<HashMap<String, Policy>> {
    Ok(list_policies(app).await?.into_iter().map(|p| (p.name.clone(), p)).collect())
}

/// A rule may only name a policy that exists.
pub async fn check_policy_named(app: &App, name: Option<&str>) -> DomainResult<()> {
    let Some(name) = name else { return Ok(()) };
    match storage::alert_events::policy_named(&app.db, name).await? {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid(
            "alert_config.escalation_policy",
            format!("no escalation policy named {:?}", name.chars().take(100).collect::<String>()),
        )),
    }
}

async fn policy_row(app: &App, id: i64) -> DomainResult<escalation_policy::Model> {
    storage::alert_events::policy(&app.db, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("escalation policy {id} not found")))
}

pub async fn get_policy(app: &App, id: i64) -> DomainResult<Policy> {
    policy_row(app, id).await.map(policy_view)
}

fn policy_columns(policy: &Policy) -> storage::alert_events::PolicyRow {
    storage::alert_events::PolicyRow {
        name: policy.name.clone(),
        steps: serde_json::to_value(&policy.steps).unwrap_or_default(),
        repeat: policy.repeat.and_then(|r| serde_json::to_value(r).ok()),
        ack_timeout_minutes: policy.ack_timeout_minutes,
    }
}

pub async fn create_policy(app: &App, new: NewPolicy) -> DomainResult<Policy> {
    let name = super::sla::check_name(&new.name)?;
    let policy =
        Policy { id: 0, name, steps: new.steps, repeat: new.repeat, ack_timeout_minutes: new.ack_timeout_minutes };
    check_policy(&policy)?;
    let created = storage::alert_events::insert_policy(&app.db, policy_columns(&policy), app.clock.now())
        .await
        .map_err(DomainError::from)
        .map_err(super::sla::name_taken("escalation policy", policy.name.clone()))?;
    Ok(policy_view(created))
}

/// Events that began under the old definition keep it.
pub async fn update_policy(app: &App, id: i64, changes: PolicyChanges) -> DomainResult<Policy> {
    let current = policy_row(app, id).await?;
    let mut policy = policy_view(current.clone());
    if let Some(name) = changes.name {
        policy.name = super::sla::check_name(&name)?;
    }
    policy.steps = changes.steps.unwrap_or(policy.steps);
    policy.repeat = changes.repeat.unwrap_or(policy.repeat);
    policy.ack_timeout_minutes = changes.ack_timeout_minutes.unwrap_or(policy.ack_timeout_minutes);
    check_policy(&policy)?;
    let renamed = (policy.name != current.name).then(|| current.name.clone());
    if let Some(old) = &renamed
        && !rules_naming(app, old).await?.is_empty()
    {
        return Err(DomainError::Conflict(format!(
            "rules name this policy {old:?}: point them at another policy before renaming it"
        )));
    }
    let updated = storage::alert_events::update_policy(&app.db, current, policy_columns(&policy), app.clock.now())
        .await
        .map_err(DomainError::from)
        .map_err(super::sla::name_taken("escalation policy", policy.name.clone()))?;
    Ok(policy_view(updated))
}

/// A policy a rule names cannot be deleted (409 naming the rules).
pub async fn delete_policy(app: &App, id: i64) -> DomainResult<()> {
    let current = policy_row(app, id).await?;
    let rules = rules_naming(app, &current.name).await?;
    if !rules.is_empty() {
        return Err(DomainError::Conflict(format!(
            "escalation policy {:?} is used by rule(s) {}",
            current.name,
            rules.join(", ")
        )));
    }
    storage::alert_events::delete_policy(&app.db, id).await?;
    Ok(())
}

async fn rules_naming(app: &App, policy: &str) -> DomainResult<Vec<String>> {
    let rules = storage::rules::list(&app.db, None, false).await?;
    Ok(rules
        .into_iter()
        .filter(|r| r.alert_config.get("escalation_policy").and_then(|p| p.as_str()) == Some(policy))
        .map(|r| r.rule_name)
        .collect())
}

// ---------------------------------------------------------------- the escalation job

/// Due events one tick handles at most (the rest are due at the next).
const TICK_EVENTS: u64 = 1000;

/// One run of the escalation job: each event whose next step (or
/// acknowledgement timeout) came due moves on, in groups that fire the same
/// way, each group in one transaction of a fixed handful of statements. Its
/// cost follows the steps that came due: an index range empty when none is.
/// Returns the alerts created.
pub async fn tick(app: &App) -> DomainResult<u64> {
    let now = app.clock.now();
    let due = storage::alert_events::due(&app.db, now, TICK_EVENTS).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut groups: HashMap<(StepGroup, String, String), Vec<alert_event::Model>> = HashMap::new();
    for event in due {
        let group = StepGroup {
            step: event.next_step.unwrap_or(0),
            cycle: event.cycle,
            acknowledged: event.acknowledged_at.is_some(),
        };
        let policy = event.policy.as_ref().map(|p| p.to_string()).unwrap_or_default();
        groups.entry((group, policy, event.alert_type.clone())).or_default().push(event);
    }
    let mut created = 0;
    for ((group, policy, alert_type), events) in groups {
        let policy: Option<Policy> = serde_json::from_str(&policy).ok();
        created += fire(app, &group, policy.as_ref(), &alert_type, events, now).await?;
    }
    Ok(created)
}

/// Moves one group of due events on; returns the alerts created.
async fn fire(
    app: &App,
    group: &StepGroup,
    policy: Option<&Policy>,
    alert_type: &str,
    events: Vec<alert_event::Model>,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let run = super::engine::run_id();
    let step = usize::try_from(group.step).ok().and_then(|k| k.checked_sub(1));
    let (Some(policy), Some(step)) = (policy, step.filter(|k| policy.is_some_and(|p| *k < p.steps.len()))) else {
        // Nothing left to do (an unreadable snapshot): the event stops escalating.
        let next: Vec<Next> = events
            .iter()
            .map(|e| Next { event_id: e.id, next_step: None, next_step_at: None, cycle: e.cycle })
            .collect();
        storage::alert_events::claim(&app.db, &run, group, &next, now).await?;
        return Ok(0);
    };
    if group.acknowledged {
        // The acknowledgement timed out: unacknowledged again, from the first step.
        let first = TimeDelta::minutes(policy.steps[0].after_minutes);
        let next: Vec<Next> = events
            .iter()
            .map(|e| Next { event_id: e.id, next_step: Some(1), next_step_at: Some(now + first), cycle: e.cycle + 1 })
            .collect();
        let reopened = storage::retrying(|| async {
            let txn = storage::begin_write(&app.db).await?;
            storage::alert_events::claim(&txn, &run, group, &next, now).await?;
            let reopened = storage::alert_events::reopen(&txn, &run).await?;
            txn.commit().await?;
            Ok(reopened)
        })
        .await?;
        push_updated(app, reopened);
        return Ok(0);
    }
    let this = &policy.steps[step];
    let (ready, waiting) = working_time(app, this, events, now).await?;
    if !waiting.is_empty() {
        // Outside the complaint's working hours: the step waits for the next opening.
        let next: Vec<Next> = waiting
            .iter()
            .map(|(e, at)| Next { event_id: e.id, next_step: e.next_step, next_step_at: *at, cycle: e.cycle })
            .collect();
        storage::alert_events::claim(&app.db, &super::engine::run_id(), group, &next, now).await?;
    }
    if ready.is_empty() {
        return Ok(0);
    }
    let next: Vec<Next> = ready.iter().map(|e| after_step(policy, step, e)).collect();
    let targets = step_targets(&this.targets);
    let channels = super::engine::outbox_channels(app, alert_type).await?;
    let step_no = i32::try_from(step + 1).unwrap_or(i32::MAX);
    tracing::debug!(step = step_no, events = next.len(), "escalation step firing");
    // A racing rule run may deadlock with the claim: the loser runs again.
    let (claimed, new, reminded) = storage::retrying(|| async {
        let txn = storage::begin_write(&app.db).await?;
        let claimed = storage::alert_events::claim(&txn, &run, group, &next, now).await?;
        if claimed.is_empty() {
            txn.commit().await?;
            return Ok((claimed, Vec::new(), Vec::new()));
        }
        let new = storage::alert_events::insert_step_alerts(&txn, &run, step_no, &targets, now).await?;
        storage::alert_events::enqueue(&txn, &new, &channels, now).await?;
        let reminded = match group.cycle > 0 {
            true => storage::alert_events::remind(&txn, &run, &channels, now).await?,
            false => Vec::new(),
        };
        txn.commit().await?;
        Ok((claimed, new, reminded))
    })
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let created = new.len() as u64;
    if created > 0 || !reminded.is_empty() {
        app.outbox_wakeup.notify_one();
    }
    app.metrics.alert_created(alert_type, created);
    for alert in new.into_iter().filter(|a| !a.is_dismissed) {
        let staff_id = alert.assigned_to_staff_id;
        app.events.publish(StaffEvent { staff_id, change: Change::Created { alert: Box::new(Alert::from(alert)) } });
    }
    push_updated(app, reminded);
    tracing::info!(step = step_no, events = claimed.len(), created, "escalation step fired");
    Ok(created)
}

/// Where an event goes after firing `step` (0-based): the next step, at its
/// offset from this one; after the last, the steps again if the policy
/// repeats and repeats are left; else nowhere.
fn after_step(policy: &Policy, step: usize, e: &alert_event::Model) -> Next {
    let at = e.next_step_at.unwrap_or(e.started_at);
    let this = policy.steps[step].after_minutes;
    match policy.steps.get(step + 1) {
        Some(next) => Next {
            event_id: e.id,
            next_step: i32::try_from(step + 2).ok(),
            next_step_at: Some(at + TimeDelta::minutes(next.after_minutes - this)),
            cycle: e.cycle,
        },
        None => match policy.repeat {
            Some(r) if i64::from(e.cycle) < r.times => Next {
                event_id: e.id,
                next_step: Some(1),
                next_step_at: Some(at + TimeDelta::minutes(r.after_minutes)),
                cycle: e.cycle + 1,
            },
            _ => Next { event_id: e.id, next_step: None, next_step_at: None, cycle: e.cycle },
        },
    }
}

type Waiting = Vec<(alert_event::Model, Option<DateTime<Utc>>)>;

/// For a `working_hours_only` step: the events whose complaint's calendar
/// is open now, and the others with their calendar's next opening.
async fn working_time(
    app: &App,
    step: &Step,
    events: Vec<alert_event::Model>,
    now: DateTime<Utc>,
) -> DomainResult<(Vec<alert_event::Model>, Waiting)> {
    if !step.working_hours_only {
        return Ok((events, Vec::new()));
    }
    let ids: Vec<i64> = events.iter().filter(|e| e.resource_type == "complaint").map(|e| e.resource_id).collect();
    let revisions: HashMap<i64, Option<i64>> =
        storage::complaints::calendar_revisions(&app.db, &ids).await?.into_iter().collect();
    let snapshot = super::sla::snapshot(app).await?;
    let (mut ready, mut waiting) = (Vec::new(), Vec::new());
    for event in events {
        let calendar = revisions.get(&event.resource_id).and_then(|r| snapshot.revision(*r));
        match calendar.map(|c| c.next_opening(now)) {
            // No calendar (a staff resource, the 24x7 one) or open now.
            None => ready.push(event),
            Some(Some(open)) if open <= now => ready.push(event),
            Some(opening) => waiting.push((event, opening)),
        }
    }
    Ok((ready, waiting))
}

fn step_targets(targets: &[String]) -> StepTargets {
    let mut out = StepTargets::default();
    for target in targets.iter().filter_map(|t| Target::parse(t)) {
        match target {
            Target::Assignee => out.assignee = true,
            Target::AssigneeSupervisor => out.assignee_supervisor = true,
            Target::Role(role) => out.roles.push(role.as_str().to_owned()),
            Target::Staff(email) => out.emails.push(email),
        }
    }
    out
}

// ---------------------------------------------------------------- reading it

/// An event's escalation as one of its recipients sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationView {
    /// The policy as it was when the event began (none: the rule does not escalate).
    pub policy: Option<Policy>,
    /// Step 0 is the rule's own recipients; then the policy's steps, fired or not.
    pub steps: Vec<StepView>,
    pub next_step_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<super::views::StaffRef>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    pub step: i32,
    pub after_minutes: i64,
    pub targets: Vec<String>,
    /// When its alerts were created (none: not fired, or it added nobody new).
    pub fired_at: Option<DateTime<Utc>>,
    pub alerts: Vec<StepAlert>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepAlert {
    pub alert_id: i64,
    pub staff_id: i64,
    pub deliveries: Vec<super::views::Delivery>,
}

/// The escalation of the caller's alert `id` (anyone's for `alerts.manage`).
pub async fn view(app: &App, caller: &super::auth::Principal, id: i64) -> DomainResult<EscalationView> {
    let alert = match caller.can("alerts.manage") {
        true => storage::alerts::by_id(&app.db, id).await?,
        false => storage::alerts::owned(&app.db, caller.staff_id()?, id).await?,
    }
    .ok_or_else(|| DomainError::NotFound(format!("alert {id} not found")))?;
    let event = match alert.event_id {
        Some(event_id) => storage::alert_events::by_id(&app.db, event_id).await?,
        None => None,
    };
    let alerts = match &event {
        Some(e) => storage::alert_events::alerts_of(&app.db, e.id).await?,
        None => vec![alert.clone()],
    };
    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    let mut deliveries: HashMap<i64, Vec<super::views::Delivery>> = HashMap::new();
    for d in storage::deliveries::of_alerts(&app.db, &ids).await? {
        deliveries.entry(d.alert_id).or_default().push(d.into());
    }
    let policy: Option<Policy> =
        event.as_ref().and_then(|e| e.policy.clone()).and_then(|p| serde_json::from_value(p).ok());
    let mut steps =
        vec![StepView { step: 0, after_minutes: 0, targets: Vec::new(), fired_at: None, alerts: Vec::new() }];
    for (i, s) in policy.iter().flat_map(|p| p.steps.iter()).enumerate() {
        steps.push(StepView {
            step: i32::try_from(i + 1).unwrap_or(i32::MAX),
            after_minutes: s.after_minutes,
            targets: s.targets.clone(),
            fired_at: None,
            alerts: Vec::new(),
        });
    }
    for a in &alerts {
        let Some(step) = steps.iter_mut().find(|s| s.step == a.escalation_step) else { continue };
        step.fired_at = Some(step.fired_at.map_or(a.created_at, |t| t.min(a.created_at)));
        step.alerts.push(StepAlert {
            alert_id: a.id,
            staff_id: a.assigned_to_staff_id,
            deliveries: deliveries.remove(&a.id).unwrap_or_default(),
        });
    }
    let shown = Alert::from(alert);
    Ok(EscalationView {
        policy,
        steps,
        next_step_at: event.as_ref().and_then(|e| e.next_step_at),
        acknowledged_at: shown.acknowledged_at,
        acknowledged_by: shown.acknowledged_by,
        resolved_at: shown.resolved_at,
    })
}

// ---------------------------------------------------------------- one-tap links

/// What an acknowledge link leads to.
#[derive(Debug)]
pub enum LinkState {
    /// Valid and unused: the page offers the button (the alert as it is now).
    Ready(Box<Alert>),
    /// Just acknowledged through it.
    Done(Box<Alert>),
    AlreadyUsed,
    Expired,
    Invalid,
}

/// The link's page (`GET /ack/{token}`): changes nothing, so a mail
/// scanner that follows links acknowledges nothing.
pub async fn link_page(app: &App, token: &str) -> DomainResult<LinkState> {
    let (id, staff_id) = match app.auth.ack_links.verify(token, app.clock.now()) {
        Ok(named) => named,
        Err(super::ack_links::LinkError::Expired) => return Ok(LinkState::Expired),
        Err(super::ack_links::LinkError::Invalid) => return Ok(LinkState::Invalid),
    };
    Ok(match storage::alerts::owned(&app.db, staff_id, id).await? {
        None => LinkState::Invalid,
        Some(a) if a.ack_link_used_at.is_some() => LinkState::AlreadyUsed,
        Some(a) => LinkState::Ready(Box::new(Alert::from(a))),
    })
}

/// The link's button (`POST /ack/{token}`): acknowledges as its recipient, once.
pub async fn acknowledge_by_link(app: &App, token: &str) -> DomainResult<LinkState> {
    let (id, staff_id) = match link_page(app, token).await? {
        LinkState::Ready(alert) => (alert.id, alert.assigned_to_staff_id),
        other => return Ok(other),
    };
    let Some(me) = storage::staff::by_id(&app.db, staff_id).await?.filter(|s| s.is_active) else {
        return Ok(LinkState::Invalid);
    };
    if !storage::alert_events::use_ack_link(&app.db, id, staff_id, app.clock.now()).await? {
        return Ok(LinkState::AlreadyUsed);
    }
    acknowledge(app, &Acknowledger { staff_id, full_name: &me.full_name }, id).await?;
    let alert = storage::alerts::owned(&app.db, staff_id, id).await?.map(Alert::from);
    Ok(alert.map_or(LinkState::Invalid, |a| LinkState::Done(Box::new(a))))
}
