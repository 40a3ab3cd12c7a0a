//! The alert engine: evaluates the enabled rules of `alert_rules` against
//! complaints and staff, resolves recipients, and raises each alert at most
//! once per (alert type, resource, recipient) and window — race-free, through
//! the dedup claim in `storage::engine`.
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use sea_orm::ActiveValue::{NotSet, Set};
use serde::Serialize;
use serde_json::json;

use super::events::{Change, StaffEvent};
use super::rules::{self, AlertConfig, Conditions, RuleSpec};
use super::vocab::OPEN_STATUSES;
use super::{App, DomainResult};
use crate::storage::engine::{self as store, Candidate, ComplaintRow, DedupKey, Scope, StaffRow};
use crate::storage::entities::alert;

/// Alert types that stop being live problems once their complaint is resolved or closed.
pub const COMPLAINT_BOUND_TYPES: [&str; 3] = ["sla_at_risk", "sla_breach", "critical_complaint"];

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

/// Active staff, indexed for recipient resolution.
struct StaffIndex {
    by_id: HashMap<i64, StaffRow>,
    by_role: HashMap<String, Vec<i64>>,
}

impl StaffIndex {
    fn new(rows: Vec<StaffRow>) -> Self {
        let mut by_role: HashMap<String, Vec<i64>> = HashMap::new();
        for s in &rows {
            by_role.entry(s.role.clone()).or_default().push(s.id);
        }
        Self { by_id: rows.into_iter().map(|s| (s.id, s)).collect(), by_role }
    }

    fn name(&self, id: i64) -> Option<&str> {
        self.by_id.get(&id).map(|s| s.full_name.as_str())
    }

    /// Recipients for something "owned" by `owner` (a complaint's assignee, or
    /// the overloaded staff member). Inactive staff are never recipients; with
    /// no active owner, the rule's `unassigned_recipients` are used.
    fn recipients(&self, config: &AlertConfig, owner: Option<i64>) -> Vec<i64> {
        let owner = owner.filter(|id| self.by_id.contains_key(id));
        let specs = if owner.is_some() { &config.recipients } else { &config.unassigned_recipients };
        let mut ids = Vec::new();
        for spec in specs {
            match (spec.as_str(), owner) {
                ("assignee", Some(o)) => ids.push(o),
                ("assignee_supervisor", Some(o)) => ids.extend(
                    self.by_id.get(&o).and_then(|s| s.supervisor_id).filter(|sup| self.by_id.contains_key(sup)),
                ),
                (role, _) => {
                    if let Some(members) = role.strip_prefix("role:").and_then(|r| self.by_role.get(r)) {
                        ids.extend(members);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

fn run_id() -> String {
    let mut rng = rand::rng();
    (0..24).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

/// Runs the enabled rules of the given types once over `scope`.
pub async fn run(app: &App, rule_types: &[&str], scope: Scope) -> DomainResult<CheckReport> {
    let specs: Vec<RuleSpec> = rules::enabled_specs(app)
        .await?
        .into_iter()
        .filter(|s| rule_types.contains(&rule_type(&s.conditions)))
        .collect();
    let mut report = CheckReport { results: Vec::with_capacity(specs.len()), total_created: 0 };
    if specs.is_empty() {
        return Ok(report);
    }
    let staff = StaffIndex::new(store::active_staff(&app.db).await?);
    for spec in &specs {
        let now = app.clock.now();
        let routes = Routes::load(app, &spec.config).await?;
        let mut candidates = candidates(app, spec, &staff, now, scope).await?;
        for c in &mut candidates {
            routes.apply(c, now);
        }
        let window = TimeDelta::hours(spec.config.dedup_window_hours);
        let considered = candidates.len() as u64;
        let created = store::claim_and_insert(&app.db, &run_id(), window, now, candidates).await?;
        let count = created.len() as u64;
        app.metrics.alert_created(&spec.config.alert_type, count);
        app.metrics.dedup_hit(&spec.config.alert_type, considered - count);
        if count > 0 {
            tracing::info!(rule = %spec.rule_name, created = count, "alerts raised");
        }
        announce(app, created);
        report.total_created += count;
        report.results.push(RuleOutcome {
            rule_name: spec.rule_name.clone(),
            rule_type: rule_type(&spec.conditions).to_owned(),
            alerts_created: count,
        });
    }
    Ok(report)
}

/// After commit: live pushes for the inbox alerts, and a nudge to the dispatcher.
fn announce(app: &App, created: Vec<alert::Model>) {
    if created.is_empty() {
        return;
    }
    app.outbox_wakeup.notify_one();
    for alert in created.into_iter().filter(|a| !a.is_dismissed) {
        app.events.publish(StaffEvent {
            staff_id: alert.assigned_to_staff_id,
            change: Change::Created { alert: Box::new(alert) },
        });
    }
}

/// Each recipient's channels for one alert type, from their subscription:
/// none → in-app only; disabled → in-app only; enabled → its channels, with
/// in-app forced on for a mandatory type. An alert whose recipient switched
/// in-app off is still recorded (and sent by the other channels) but created
/// dismissed, so it never shows in their inbox.
struct Routes {
    by_staff: HashMap<i64, (bool, Vec<&'static str>)>,
    mandatory: bool,
}

impl Routes {
    async fn load(app: &App, config: &AlertConfig) -> DomainResult<Routes> {
        let subs = crate::storage::subscriptions::of_type(&app.db, &config.alert_type).await?;
        let by_staff = subs
            .into_iter()
            .filter(|s| s.is_enabled)
            .map(|s| {
                let listed: Vec<&str> =
                    s.delivery_channels.as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
                let in_app = listed.contains(&"in_app");
                let outbox = ["email", "sms", "webhook"].into_iter().filter(|c| listed.contains(c)).collect();
                (s.staff_id, (in_app, outbox))
            })
            .collect();
        Ok(Routes { by_staff, mandatory: config.mandatory })
    }

    fn apply(&self, candidate: &mut Candidate, now: DateTime<Utc>) {
        let Some((in_app, outbox)) = self.by_staff.get(&candidate.key.recipient_staff_id) else { return };
        candidate.outbox_channels = outbox.clone();
        if !in_app && !self.mandatory {
            candidate.alert.is_dismissed = Set(true);
            candidate.alert.dismissed_at = Set(Some(now));
        }
    }
}

/// Every enabled rule, every complaint: the `check` command and endpoint.
pub async fn check_all(app: &App) -> DomainResult<CheckReport> {
    run(app, &["sla", "event", "threshold"], Scope::All).await
}

/// After a complaint was created or changed: alerts about it are raised now,
/// not at the next tick (the event rule above all), and a resolved or closed
/// complaint's live alerts expire.
pub async fn after_complaint_write(app: &App, complaint_id: i64, closed: bool) -> DomainResult<()> {
    if closed {
        let now = app.clock.now();
        for staff_id in store::expire_complaint_alerts(&app.db, complaint_id, &COMPLAINT_BOUND_TYPES, now).await? {
            app.events.publish(StaffEvent { staff_id, change: Change::Resync });
        }
    }
    run(app, &["sla", "event", "threshold"], Scope::Complaint(complaint_id)).await.map(|_| ())
}

fn rule_type(conditions: &Conditions) -> &'static str {
    match conditions {
        Conditions::Sla(_) => "sla",
        Conditions::Event(_) => "event",
        Conditions::Threshold(_) => "threshold",
    }
}

async fn candidates(
    app: &App,
    spec: &RuleSpec,
    staff: &StaffIndex,
    now: DateTime<Utc>,
    scope: Scope,
) -> DomainResult<Vec<Candidate>> {
    let mut out = Vec::new();
    match &spec.conditions {
        Conditions::Sla(c) if c.sla_state == "breached" => {
            for complaint in store::sla_breached(&app.db, &c.statuses, now, scope).await? {
                let deadline = complaint.sla_deadline.unwrap_or(now);
                let late = format_duration(now - deadline);
                let text = |who: &str| {
                    (
                        format!("SLA breached: complaint #{}", complaint.id),
                        format!(
                            "Complaint #{} \"{}\" ({}, {who}) missed its SLA deadline of {} by {late}.",
                            complaint.id,
                            complaint.title,
                            complaint.priority,
                            deadline.format("%Y-%m-%d %H:%M UTC")
                        ),
                    )
                };
                let extra = json!({"overdue_seconds": (now - deadline).num_seconds()});
                complaint_candidates(spec, staff, &complaint, now, text, extra, &mut out);
            }
        }
        Conditions::Sla(c) => {
            let share = c.threshold_percent.unwrap_or(80.0) / 100.0;
            for complaint in store::sla_at_risk(&app.db, &c.statuses, share, now, scope).await? {
                let deadline = complaint.sla_deadline.unwrap_or(now);
                let total = (deadline - complaint.created_at).num_seconds().max(1);
                let used = ((now - complaint.created_at).num_seconds() * 100 / total).clamp(0, 100);
                let left = format_duration(deadline - now);
                let text = |who: &str| {
                    (
                        format!("SLA at risk: complaint #{}", complaint.id),
                        format!(
                            "Complaint #{} \"{}\" ({}, {who}) has used {used}% of its SLA window: {left} left until {}.",
                            complaint.id,
                            complaint.title,
                            complaint.priority,
                            deadline.format("%Y-%m-%d %H:%M UTC")
                        ),
                    )
                };
                let extra = json!({"elapsed_percent": used, "seconds_left": (deadline - now).num_seconds()});
                complaint_candidates(spec, staff, &complaint, now, text, extra, &mut out);
            }
        }
        Conditions::Event(c) => {
            for complaint in store::with_priority(&app.db, &c.priority, &OPEN_STATUSES, scope).await? {
                let deadline =
                    complaint.sla_deadline.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or("none".into());
                let text = |who: &str| {
                    (
                        format!("{} complaint #{}", capitalise(&complaint.priority), complaint.id),
                        format!(
                            "Complaint #{} \"{}\" from {} has {} priority ({who}); SLA deadline {deadline}.",
                            complaint.id, complaint.title, complaint.customer_name, complaint.priority
                        ),
                    )
                };
                complaint_candidates(spec, staff, &complaint, now, text, json!({}), &mut out);
            }
        }
        Conditions::Threshold(c) => {
            for (staff_id, open) in store::overloaded_staff(&app.db, &OPEN_STATUSES, c.threshold, scope).await? {
                let Some(name) = staff.name(staff_id) else { continue }; // inactive: not alerted about
                let title = format!("High workload: {name}");
                let message = format!("{name} has {open} open complaints assigned (threshold {}).", c.threshold);
                let metadata = json!({
                    "rule_id": spec.id, "rule_name": spec.rule_name, "staff_id": staff_id,
                    "open_complaints": open, "threshold": c.threshold,
                });
                for recipient in staff.recipients(&spec.config, Some(staff_id)) {
                    out.push(candidate(
                        spec,
                        "staff",
                        staff_id,
                        recipient,
                        "workload".into(),
                        &title,
                        &message,
                        &metadata,
                        now,
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The alerts one rule raises about one complaint, one per recipient.
fn complaint_candidates(
    spec: &RuleSpec,
    staff: &StaffIndex,
    complaint: &ComplaintRow,
    now: DateTime<Utc>,
    text: impl Fn(&str) -> (String, String),
    extra: serde_json::Value,
    out: &mut Vec<Candidate>,
) {
    let assignee = complaint.assigned_to_staff_id.filter(|id| staff.by_id.contains_key(id));
    let who = match assignee.and_then(|id| staff.name(id)) {
        Some(name) => format!("assigned to {name}"),
        None => "unassigned".to_owned(),
    };
    let (title, message) = text(&who);
    // A new deadline or priority is a new situation: the window starts afresh.
    let version =
        format!("{}|{}", complaint.sla_deadline.map(|d| d.timestamp_micros()).unwrap_or_default(), complaint.priority);
    let mut metadata = json!({
        "rule_id": spec.id, "rule_name": spec.rule_name, "complaint_id": complaint.id,
        "priority": complaint.priority, "status": complaint.status,
        "assigned_to_staff_id": assignee, "sla_deadline": complaint.sla_deadline,
    });
    if let (Some(m), Some(e)) = (metadata.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    for recipient in staff.recipients(&spec.config, assignee) {
        out.push(candidate(
            spec,
            "complaint",
            complaint.id,
            recipient,
            version.clone(),
            &title,
            &message,
            &metadata,
            now,
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn candidate(
    spec: &RuleSpec,
    resource_type: &str,
    resource_id: i64,
    recipient: i64,
    version: String,
    title: &str,
    message: &str,
    metadata: &serde_json::Value,
    now: DateTime<Utc>,
) -> Candidate {
    let config = &spec.config;
    Candidate {
        key: DedupKey {
            alert_type: config.alert_type.clone(),
            resource_type: resource_type.to_owned(),
            resource_id,
            recipient_staff_id: recipient,
        },
        version,
        alert: alert::ActiveModel {
            id: NotSet,
            alert_type: Set(config.alert_type.clone()),
            severity: Set(config.severity.clone()),
            title: Set(truncate(title, 255)),
            message: Set(message.to_owned()),
            resource_type: Set(Some(resource_type.to_owned())),
            resource_id: Set(Some(resource_id)),
            assigned_to_staff_id: Set(recipient),
            is_read: Set(false),
            is_dismissed: Set(false),
            alert_metadata: Set(Some(metadata.clone())),
            created_at: Set(now),
            read_at: Set(None),
            dismissed_at: Set(None),
            expires_at: Set(Some(now + TimeDelta::hours(config.expires_after_hours))),
        },
        outbox_channels: Vec::new(),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// "2 d 3 h", "3 h 20 min", "45 min", "less than a minute".
pub fn format_duration(d: TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, 0) => "less than a minute".to_owned(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// Deletes alerts dismissed or expired more than `retention` ago, in
/// batches, and dedup keys older than any window. Returns alerts deleted.
pub async fn cleanup(app: &App, retention: TimeDelta) -> DomainResult<u64> {
    let now = app.clock.now();
    let before = now - retention;
    let mut deleted = 0;
    loop {
        let n = store::delete_old_alerts_batch(&app.db, before).await?;
        deleted += n;
        if n < store::BATCH_ROWS as u64 {
            break;
        }
    }
    // The longest window is 8 760 h (one year): keys older than that decide nothing.
    store::delete_old_dedup_keys(&app.db, now - TimeDelta::hours(8761)).await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(TimeDelta::seconds(30)), "less than a minute");
        assert_eq!(format_duration(TimeDelta::minutes(45)), "45 min");
        assert_eq!(format_duration(TimeDelta::minutes(200)), "3 h 20 min");
        assert_eq!(format_duration(TimeDelta::hours(5)), "5 h");
        assert_eq!(format_duration(TimeDelta::hours(51)), "2 d 3 h");
        assert_eq!(format_duration(TimeDelta::hours(48)), "2 d");
        assert_eq!(format_duration(TimeDelta::hours(-3)), "less than a minute");
    }
}
