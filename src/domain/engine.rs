//! The alert engine: evaluates the enabled rules of `alert_rules` against
//! complaints and staff, resolves recipients, and raises each alert at most
//! once per (alert type, resource, recipient) and window — race-free, through
//! the dedup claim in `storage::engine`.
use std::collections::HashMap;

use chrono::TimeDelta;
use rand::Rng;
use serde::Serialize;

use super::events::{Change, StaffEvent};
use super::rules::{self, AlertConfig, Conditions, RuleSpec};
use super::vocab::{AlertType, Channel, ComplaintStatus, SlaMetric, SlaState, TeamChannel};
use super::{App, DomainResult};
use crate::storage::engine::{self as store, Scope, Source};

/// Alert types that stop being live problems once their complaint is resolved or closed.
pub const COMPLAINT_BOUND_TYPES: [&str; 5] = [
    AlertType::SlaAtRisk.as_str(),
    AlertType::SlaBreach.as_str(),
    AlertType::CriticalComplaint.as_str(),
    AlertType::FirstResponseAtRisk.as_str(),
    AlertType::FirstResponseBreach.as_str(),
];

/// Every rule type, for a check of everything.
pub const ALL_RULE_TYPES: [&str; 4] = ["sla", "first_response", "event", "threshold"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleOutcome {
    pub rule_name: String,
    pub rule_type: String,
    pub alerts_created: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckReport {
    pub results: Vec<RuleOutcome>,
    pub total_created: u64,
}

/// A random stamp for one run's rows (`check_run`, `step_run`).
pub(super) fn run_id() -> String {
    let mut rng = rand::rng();
    (0..24).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

/// Runs the enabled rules of the given types once over `scope`.
pub async fn run(app: &App, rule_types: &[&str], scope: Scope) -> DomainResult<CheckReport> {
    run_where(app, scope, |spec| rule_types.contains(&rule_type(&spec.conditions))).await
}

/// Runs the enabled rules that `wanted` picks once over `scope`.
async fn run_where(app: &App, scope: Scope, wanted: impl Fn(&RuleSpec) -> bool) -> DomainResult<CheckReport> {
    let planned = planned(app, wanted).await?;
    let mut report = CheckReport { results: Vec::with_capacity(planned.len()), total_created: 0 };
    for (spec, plan) in &planned {
        let run = store::run_rule(&app.db, plan, &run_id(), app.clock.now(), scope).await?;
        let count = record(app, plan, run);
        report.total_created += count;
        report.results.push(RuleOutcome {
            rule_name: spec.rule_name.clone(),
            rule_type: rule_type(&spec.conditions).to_owned(),
            alerts_created: count,
        });
    }
    Ok(report)
}

/// The enabled rules that `wanted` picks, each with what storage runs for it.
async fn planned(app: &App, wanted: impl Fn(&RuleSpec) -> bool) -> DomainResult<Vec<(RuleSpec, store::RulePlan)>> {
    let specs: Vec<RuleSpec> = rules::enabled_specs(app).await?.into_iter().filter(|s| wanted(s)).collect();
    let policies = match specs.iter().any(|s| s.config.escalation_policy.is_some()) {
        true => super::escalation::policies_by_name(app).await?,
        false => HashMap::new(),
    };
    let mut planned = Vec::with_capacity(specs.len());
    for spec in specs {
        let escalation = spec.config.escalation_policy.as_ref().and_then(|name| policies.get(name));
        let plan = plan(&spec, Routes::load(app, &spec.config).await?, escalation);
        planned.push((spec, plan));
    }
    Ok(planned)
}

/// After a rule's run committed: its metrics, its log line, its live
/// pushes. Returns the alerts it created.
fn record(app: &App, plan: &store::RulePlan, run: store::RuleRun) -> u64 {
    app.metrics.alert_created(&plan.alert_type, run.created);
    app.metrics.dedup_hit(&plan.alert_type, run.considered.saturating_sub(run.created));
    if run.created > 0 {
        tracing::info!(rule = %plan.rule_name, created = run.created, "alerts raised");
    }
    announce(app, run.created, run.announce);
    run.created
}

/// After commit: live pushes for the inbox alerts, and a nudge to the dispatcher.
fn announce(app: &App, created: u64, news: store::Announce) {
    if created == 0 {
        return;
    }
    app.outbox_wakeup.notify_one();
    match news {
        store::Announce::Alerts(alerts) => {
            for alert in alerts.into_iter().filter(|a| !a.is_dismissed) {
                app.events.publish(StaffEvent {
                    staff_id: alert.assigned_to_staff_id,
                    change: Change::Created { alert: Box::new(alert.into()) },
                });
            }
        }
        store::Announce::Resync(staff) => {
            for staff_id in staff {
                app.events.publish(StaffEvent { staff_id, change: Change::Resync });
            }
        }
    }
}

/// Each recipient's channels for one alert type, from their subscription:
/// none → in-app only; disabled → in-app only; enabled → its channels, with
/// in-app forced on for a mandatory type. An alert whose recipient switched
/// in-app off is still recorded (and sent by the other channels) but created
/// dismissed, so it never shows in their inbox.
struct Routes {
    dismissed_for: Vec<i64>,
    outbox: HashMap<i64, Vec<&'static str>>,
}

impl Routes {
    async fn load(app: &App, config: &AlertConfig) -> DomainResult<Routes> {
        let subs = crate::storage::subscriptions::of_type(&app.db, &config.alert_type).await?;
        let mut routes = Routes { dismissed_for: Vec::new(), outbox: HashMap::new() };
        for s in subs.into_iter().filter(|s| s.is_enabled) {
            let listed: Vec<&str> =
                s.delivery_channels.as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
            let listed: Vec<Channel> = listed.into_iter().filter_map(Channel::from_name).collect();
            if !listed.contains(&Channel::InApp) && !config.mandatory {
                routes.dismissed_for.push(s.staff_id);
            }
            // In-app delivery is the inbox row itself; the others go through the outbox.
            let outbox: Vec<&'static str> = listed
                .iter()
                .filter(|c| match c {
                    Channel::InApp => false,
                    Channel::Email | Channel::Sms | Channel::Webhook => true,
                })
                .map(|c| c.as_str())
                .collect();
            if !outbox.is_empty() {
                routes.outbox.insert(s.staff_id, outbox);
            }
        }
        Ok(routes)
    }
}

/// Each subscriber's outbox channels for an alert type (the escalation
/// steps' deliveries).
pub async fn outbox_channels(app: &App, alert_type: &str) -> DomainResult<HashMap<i64, Vec<&'static str>>> {
    let config = AlertConfig {
        alert_type: alert_type.to_owned(),
        severity: String::new(),
        recipients: Vec::new(),
        unassigned_recipients: Vec::new(),
        dedup_window_hours: 0,
        expires_after_hours: 0,
        mandatory: true,
        bypass_quiet_hours: false,
        escalation_policy: None,
        team_channels: Vec::new(),
    };
    Ok(Routes::load(app, &config).await?.outbox)
}

/// What the storage layer would run for each enabled rule now (for the
/// engine benchmark's ceiling, which writes the same alerts bare).
#[cfg(feature = "bench")]
pub async fn rule_plans(app: &App) -> DomainResult<Vec<store::RulePlan>> {
    let mut plans = Vec::new();
    for spec in rules::enabled_specs(app).await? {
        plans.push(plan(&spec, Routes::load(app, &spec.config).await?, None));
    }
    Ok(plans)
}

/// Every enabled rule, every complaint: the `check` command and endpoint.
pub async fn check_all(app: &App) -> DomainResult<CheckReport> {
    super::sla::reproject(app).await?;
    run(app, &ALL_RULE_TYPES, Scope::All).await
}

/// What a complaint write was, for the evaluation that follows it.
#[derive(Debug, Clone, Copy)]
pub enum ComplaintWrite {
    /// It created the complaint; `first_point` is its earliest at-risk point.
    Created { first_point: Option<chrono::DateTime<chrono::Utc>> },
    /// It changed the complaint; `closed`: resolved or closed it.
    Changed { closed: bool },
}

/// After a complaint was created or changed: alerts about it are raised now,
/// not at the next tick (the event rule above all), and a resolved or closed
/// complaint's live alerts expire. `written` is the write's stamp: the
/// complaint is marked evaluated unless it was written again since.
pub async fn after_complaint_write(
    app: &App,
    complaint: &crate::storage::entities::complaint::Model,
    write: ComplaintWrite,
    written: chrono::DateTime<chrono::Utc>,
) -> DomainResult<()> {
    let now = app.clock.now();
    match write {
        // A complaint just created has no alert to resolve or expire, no
        // dedup window or event to end: only the rules that can raise an
        // alert for it now run.
        ComplaintWrite::Created { first_point } => {
            let due = [first_point, complaint.sla_deadline, complaint.first_response_due_at];
            let new = NewComplaint {
                status: &complaint.status,
                priority: &complaint.priority,
                assigned: complaint.assigned_to_staff_id.is_some(),
                due_now: due.into_iter().flatten().any(|at| at <= now),
            };
            run_where(app, Scope::Complaint(complaint.id), |spec| may_raise_for_new(spec, &new)).await?;
        }
        ComplaintWrite::Changed { closed } => {
            super::escalation::resolve_for_complaint(app, complaint, now).await?;
            if closed {
                for staff_id in
                    store::expire_complaint_alerts(&app.db, complaint.id, &COMPLAINT_BOUND_TYPES, now).await?
                {
                    app.events.publish(StaffEvent { staff_id, change: Change::Resync });
                }
            }
            run(app, &ALL_RULE_TYPES, Scope::Complaint(complaint.id)).await?;
        }
    }
    crate::storage::sla::mark_checked(&app.db, complaint.id, written).await?;
    Ok(())
}

/// Whether `spec` may raise an alert for a complaint just created (a
/// superset: the rule's own statements decide). `due_now`: an at-risk point
/// or due time of it has come. A later point is the scheduled check's.
fn may_raise_for_new(spec: &RuleSpec, new: &NewComplaint<'_>) -> bool {
    let open = ComplaintStatus::from_name(new.status).is_some_and(|s| s.is_open());
    match &spec.conditions {
        Conditions::Sla(c) | Conditions::FirstResponse(c) => new.due_now && c.statuses.iter().any(|s| s == new.status),
        Conditions::Event(c) => open && c.priority == new.priority,
        Conditions::Threshold(_) => open && new.assigned,
    }
}

/// What the rules need to know of a complaint about to be created.
pub struct NewComplaint<'a> {
    pub status: &'a str,
    pub priority: &'a str,
    pub assigned: bool,
    /// An at-risk point or due time of it has come already.
    pub due_now: bool,
}

/// The runs of the rules that may raise an alert for a complaint about to
/// be created, planned beforehand (reads only), so that the complaint and
/// its evaluation are written in one transaction: [`run_for_new_in`] inside
/// it, [`announce_for_new`] after its commit.
pub async fn plans_for_new(app: &App, new: &NewComplaint<'_>) -> DomainResult<Vec<store::RulePlan>> {
    let planned = planned(app, |spec| may_raise_for_new(spec, new)).await?;
    Ok(planned.into_iter().map(|(_, plan)| plan).collect())
}

/// Runs `plans` over the complaint `complaint_id` just inserted in `txn`.
pub async fn run_for_new_in(
    txn: &sea_orm::DatabaseTransaction,
    plans: &[store::RulePlan],
    complaint_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<store::RuleRun>, sea_orm::DbErr> {
    let run = run_id();
    let mut runs = Vec::with_capacity(plans.len());
    for plan in plans {
        runs.push(store::run_rule_in(txn, plan, &run, now, Scope::Complaint(complaint_id)).await?);
    }
    Ok(runs)
}

/// After the commit of [`run_for_new_in`]'s transaction: metrics, live pushes.
pub fn announce_for_new(app: &App, plans: &[store::RulePlan], runs: Vec<store::RuleRun>) {
    for (plan, run) in plans.iter().zip(runs) {
        record(app, plan, run);
    }
}

/// After a complaint changed hands: the previous assignee's live alerts
/// about it end (it is no longer theirs to act on; the new assignee's come
/// with the evaluation that follows the write), and their inbox is resynced.
/// The other recipients' alerts (a supervisor's) say who has it now.
pub async fn after_reassignment(
    app: &App,
    complaint_id: i64,
    previous: Option<i64>,
    next: Option<i64>,
) -> DomainResult<()> {
    let now = app.clock.now();
    if let Some(previous) = previous {
        let expired =
            store::expire_alerts_of(&app.db, complaint_id, Some(previous), &COMPLAINT_BOUND_TYPES, now).await?;
        for staff_id in expired {
            app.events.publish(StaffEvent { staff_id, change: Change::Resync });
        }
    }
    let ids: Vec<i64> = previous.into_iter().chain(next).collect();
    let names: HashMap<i64, String> = crate::storage::staff::names(&app.db, &ids).await?.into_iter().collect();
    let who = |id: Option<i64>| match id.and_then(|id| names.get(&id)) {
        Some(name) => format!("assigned to {name}"),
        None => "unassigned".to_owned(),
    };
    let (was, now_is) = (who(previous), who(next));
    let reworded = crate::storage::alerts::reword_assignee(
        &app.db,
        complaint_id,
        &COMPLAINT_BOUND_TYPES,
        next,
        &was,
        &now_is,
        now,
    )
    .await?;
    for alert in reworded {
        let staff_id = alert.assigned_to_staff_id;
        app.events.publish(StaffEvent { staff_id, change: Change::Updated { alert: Box::new(alert.into()) } });
    }
    Ok(())
}

fn rule_type(conditions: &Conditions) -> &'static str {
    match conditions {
        Conditions::Sla(_) => "sla",
        Conditions::Event(_) => "event",
        Conditions::Threshold(_) => "threshold",
        Conditions::FirstResponse(_) => "first_response",
    }
}

/// Recipients from a rule's list: `assignee`, `assignee_supervisor`, `role:NAME`.
fn recipients(specs: &[String]) -> store::Recipients {
    let mut r = store::Recipients::default();
    for spec in specs {
        match spec.as_str() {
            "assignee" => r.owner = true,
            "assignee_supervisor" => r.owner_supervisor = true,
            other => r.roles.extend(other.strip_prefix("role:").map(str::to_owned)),
        }
    }
    r
}

/// What the storage layer runs for a rule. The owner is a complaint's active
/// assignee (or the overloaded staff member); without one, the rule's
/// `unassigned_recipients` are told, and inactive staff never are.
fn plan(spec: &RuleSpec, routes: Routes, escalation: Option<&super::escalation::Policy>) -> store::RulePlan {
    let config = &spec.config;
    let source = match &spec.conditions {
        Conditions::Sla(c) | Conditions::FirstResponse(c) => {
            let metric = match &spec.conditions {
                Conditions::FirstResponse(_) => SlaMetric::FirstResponse,
                _ => SlaMetric::Resolution,
            };
            match SlaState::from_name(&c.sla_state) {
                Some(SlaState::Breached) => Source::SlaBreached { statuses: c.statuses.clone(), metric },
                Some(SlaState::AtRisk) | None => Source::SlaAtRisk { statuses: c.statuses.clone(), metric },
            }
        }
        Conditions::Event(c) => {
            Source::Priority { priority: c.priority.clone(), statuses: ComplaintStatus::open_names() }
        }
        Conditions::Threshold(c) => {
            Source::Workload { statuses: ComplaintStatus::open_names(), threshold: c.threshold }
        }
    };
    store::RulePlan {
        rule_id: spec.id,
        rule_name: spec.rule_name.clone(),
        source,
        alert_type: config.alert_type.clone(),
        severity: config.severity.clone(),
        recipients: recipients(&config.recipients),
        unassigned_recipients: recipients(&config.unassigned_recipients),
        window: TimeDelta::hours(config.dedup_window_hours),
        expires_after: TimeDelta::hours(config.expires_after_hours),
        dismissed_for: routes.dismissed_for,
        outbox: routes.outbox,
        team_channels: config
            .team_channels
            .iter()
            .filter_map(|n| TeamChannel::from_name(n))
            .map(TeamChannel::as_str)
            .collect(),
        escalation: escalation.map(super::escalation::Policy::start),
    }
}

/// Deletes alerts dismissed or expired more than `retention` ago, in
/// batches, and dedup keys older than any window. Returns alerts deleted.
pub async fn cleanup(app: &App, retention: TimeDelta) -> DomainResult<u64> {
    let now = app.clock.now();
    let before = now - retention;
    let mut deleted = 0;
    loop {
        let n = crate::storage::alerts::delete_old_alerts_batch(&app.db, before).await?;
        deleted += n;
        if n < crate::storage::BATCH_ROWS as u64 {
            break;
        }
    }
    // Signed-out tokens that expired are refused as expired: their rows can go.
    crate::storage::sessions::purge_expired(&app.db, now).await?;
    Ok(deleted)
}
