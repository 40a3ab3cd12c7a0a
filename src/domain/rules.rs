//! Alert rules: typed, validated `conditions` and `alert_config`, and their
//! administration. The engine reads rules through [`RuleSpec`].
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::views::{self, Rule};
use super::vocab::{AlertType, ComplaintStatus, Priority, Role, RuleType, Severity, SlaState, TeamChannel, not_one_of};
use super::{App, DomainError, DomainResult};
use crate::storage::{self, entities::alert_rule};

/// `conditions` of an `sla` (resolution) or `first_response` rule.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlaConditions {
    /// `at_risk`: the working time used reached `threshold_percent` of the target; `breached`: the due time passed.
    pub sla_state: String,
    #[serde(default)]
    pub threshold_percent: Option<f64>,
    /// Complaint statuses the rule watches (default: open, in_progress).
    #[serde(default = "default_statuses")]
    pub statuses: Vec<String>,
}

/// `conditions` of an `event` rule: complaints created with, or raised to, `priority`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventConditions {
    pub priority: String,
}

/// `conditions` of a `threshold` rule: a staff member's open assigned complaints above `threshold`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConditions {
    pub metric: String,
    pub threshold: i64,
}

/// `alert_config` of every rule: what alert to raise, for whom, how often.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub alert_type: String,
    pub severity: String,
    /// `assignee`, `assignee_supervisor`, or `role:<admin|supervisor|agent>`.
    #[serde(default = "default_recipients")]
    pub recipients: Vec<String>,
    /// Who is told when the complaint has no assignee.
    #[serde(default = "default_unassigned_recipients")]
    pub unassigned_recipients: Vec<String>,
    #[serde(default = "default_window_hours")]
    pub dedup_window_hours: i64,
    #[serde(default = "default_expiry_hours")]
    pub expires_after_hours: i64,
    /// In-app delivery of this alert type cannot be switched off.
    #[serde(default)]
    pub mandatory: bool,
    /// Email and SMS of this alert type reach people in their quiet hours and do-not-disturb.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bypass_quiet_hours: bool,
    /// The name of the escalation policy its events climb (none: they do not escalate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<String>,
    /// Team channels (`slack`, `teams`) each alert event is posted to, once
    /// per event, whoever its recipients are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_channels: Vec<String>,
}

/// The one metric a threshold rule counts.
const WORKLOAD_METRIC: &str = "open_assigned_complaints";

fn default_statuses() -> Vec<String> {
    ComplaintStatus::open_names()
}
fn default_recipients() -> Vec<String> {
    vec!["assignee".into()]
}
fn default_unassigned_recipients() -> Vec<String> {
    vec!["role:supervisor".into(), "role:admin".into()]
}
fn default_window_hours() -> i64 {
    24
}
fn default_expiry_hours() -> i64 {
    168
}

/// A rule's conditions, by rule type.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditions {
    Sla(SlaConditions),
    /// The same conditions, on the first-response clock.
    FirstResponse(SlaConditions),
    Event(EventConditions),
    Threshold(ThresholdConditions),
}

/// A rule as the engine uses it: validated, typed.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub id: i64,
    pub rule_name: String,
    pub conditions: Conditions,
    pub config: AlertConfig,
}

fn parse<T: DeserializeOwned>(field: &str, value: &Value) -> DomainResult<T> {
    if !value.is_object() {
        return Err(DomainError::invalid(field, "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." {
            DomainError::invalid(field, inner)
        } else {
            DomainError::invalid(format!("{field}.{path}"), inner)
        }
    })
}

fn check_range(field: &str, value: i64, min: i64, max: i64) -> DomainResult<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(DomainError::invalid(field, format!("must be between {min} and {max}, got {value}")))
    }
}

fn check_recipients(field: &str, recipients: &[String]) -> DomainResult<()> {
    for r in recipients {
        let ok = match r.strip_prefix("role:") {
            Some(role) => Role::from_name(role).is_some(),
            None => r == "assignee" || r == "assignee_supervisor",
        };
        if !ok {
            return Err(DomainError::invalid(
                field,
                format!("{r:?} is not a recipient; use assignee, assignee_supervisor or role:admin|supervisor|agent"),
            ));
        }
    }
    Ok(())
}

/// Validates `conditions` and `alert_config` for `rule_type`, naming the
/// offending field (`conditions.threshold`, `alert_config.severity`, …).
pub fn validate(rule_type: &str, conditions: &Value, alert_config: &Value) -> DomainResult<(Conditions, AlertConfig)> {
    let rule_type = RuleType::parse("rule_type", rule_type)?;
    let parsed = match rule_type {
        RuleType::Sla | RuleType::FirstResponse => {
            let c: SlaConditions = parse("conditions", conditions)?;
            let state = SlaState::parse("conditions.sla_state", &c.sla_state)?;
            match (state, c.threshold_percent) {
                (SlaState::AtRisk, None) => {
                    return Err(DomainError::invalid("conditions.threshold_percent", "is required for at_risk"));
                }
                (SlaState::AtRisk, Some(p)) if !(p > 0.0 && p < 100.0) => {
                    return Err(DomainError::invalid(
                        "conditions.threshold_percent",
                        format!("must be above 0 and below 100, got {p}"),
                    ));
                }
                (SlaState::Breached, Some(_)) => {
                    return Err(DomainError::invalid("conditions.threshold_percent", "only applies to at_risk"));
                }
                (SlaState::AtRisk, Some(_)) | (SlaState::Breached, None) => {}
            }
            if c.statuses.is_empty() {
                return Err(DomainError::invalid("conditions.statuses", "must name at least one status"));
            }
            for s in &c.statuses {
                if !ComplaintStatus::from_name(s).is_some_and(ComplaintStatus::is_open) {
                    let open: Vec<&str> = ComplaintStatus::OPEN.iter().map(|s| s.as_str()).collect();
                    return Err(not_one_of("conditions.statuses", s, &open));
                }
            }
            match rule_type {
                RuleType::FirstResponse => Conditions::FirstResponse(c),
                _ => Conditions::Sla(c),
            }
        }
        RuleType::Event => {
            let c: EventConditions = parse("conditions", conditions)?;
            Priority::parse("conditions.priority", &c.priority)?;
            Conditions::Event(c)
        }
        RuleType::Threshold => {
            let c: ThresholdConditions = parse("conditions", conditions)?;
            if c.metric != WORKLOAD_METRIC {
                return Err(not_one_of("conditions.metric", &c.metric, &[WORKLOAD_METRIC]));
            }
            check_range("conditions.threshold", c.threshold, 0, 1_000_000)?;
            Conditions::Threshold(c)
        }
    };
    let config: AlertConfig = parse("alert_config", alert_config)?;
    let expected = rule_type.alert_types();
    if !AlertType::from_name(&config.alert_type).is_some_and(|t| expected.contains(&t)) {
        let names: Vec<&str> = expected.iter().map(|t| t.as_str()).collect();
        return Err(not_one_of("alert_config.alert_type", &config.alert_type, &names));
    }
    Severity::parse("alert_config.severity", &config.severity)?;
    check_recipients("alert_config.recipients", &config.recipients)?;
    check_recipients("alert_config.unassigned_recipients", &config.unassigned_recipients)?;
    if config.recipients.is_empty() {
        return Err(DomainError::invalid("alert_config.recipients", "must name at least one recipient"));
    }
    for (i, name) in config.team_channels.iter().enumerate() {
        TeamChannel::parse("alert_config.team_channels", name)?;
        if config.team_channels[..i].contains(name) {
            return Err(DomainError::invalid("alert_config.team_channels", format!("names {name:?} twice")));
        }
    }
    check_range("alert_config.dedup_window_hours", config.dedup_window_hours, 1, 8760)?;
    check_range("alert_config.expires_after_hours", config.expires_after_hours, 1, 8760)?;
    Ok((parsed, config))
}

impl RuleSpec {
    pub fn from_model(rule: &alert_rule::Model) -> DomainResult<RuleSpec> {
        let (conditions, config) = validate(&rule.rule_type, &rule.conditions, &rule.alert_config)
            .map_err(|e| DomainError::Internal(format!("rule {} is invalid: {e}", rule.rule_name)))?;
        Ok(RuleSpec { id: rule.id, rule_name: rule.rule_name.clone(), conditions, config })
    }
}

pub struct NewRule {
    pub rule_name: String,
    pub rule_type: String,
    pub is_enabled: bool,
    pub conditions: Value,
    pub alert_config: Value,
}

#[derive(Default)]
pub struct RuleChanges {
    pub rule_name: Option<String>,
    pub is_enabled: Option<bool>,
    pub conditions: Option<Value>,
    pub alert_config: Option<Value>,
}

fn check_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.contains('\0') {
        return Err(DomainError::invalid("rule_name", "must be 1 to 100 characters, without NUL"));
    }
    Ok(name.to_owned())
}

fn name_taken(name: &str) -> impl FnOnce(DomainError) -> DomainError + '_ {
    move |e| match e {
        DomainError::Conflict(_) => DomainError::Conflict(format!("a rule named {name:?} already exists")),
        other => other,
    }
}

pub async fn list(app: &App, rule_type: Option<&str>, enabled_only: bool) -> DomainResult<Vec<Rule>> {
    if let Some(t) = rule_type {
        RuleType::parse("rule_type", t)?;
    }
    Ok(views::all(storage::rules::list(&app.db, rule_type, enabled_only).await?))
}

pub async fn get(app: &App, id: i64) -> DomainResult<Rule> {
    row(app, id).await.map(Rule::from)
}

async fn row(app: &App, id: i64) -> DomainResult<alert_rule::Model> {
    storage::rules::by_id(&app.db, id).await?.ok_or_else(|| DomainError::NotFound(format!("rule {id} not found")))
}

pub async fn create(app: &App, by_staff: Option<i64>, new: NewRule) -> DomainResult<Rule> {
    let name = check_name(&new.rule_name)?;
    let (_, config) = validate(&new.rule_type, &new.conditions, &new.alert_config)?;
    super::escalation::check_policy_named(app, config.escalation_policy.as_deref()).await?;
    let row = storage::rules::NewRuleRow {
        rule_name: name.clone(),
        rule_type: new.rule_type,
        is_enabled: new.is_enabled,
        conditions: new.conditions,
        alert_config: new.alert_config,
        created_by_staff_id: by_staff,
        now: app.clock.now(),
    };
    let created = storage::rules::insert(&app.db, row).await.map_err(DomainError::from).map_err(name_taken(&name))?;
    clocks_follow(app, &created).await?;
    Ok(Rule::from(created))
}

/// An SLA rule's at-risk points live on every running clock: a change re-projects them.
async fn clocks_follow(app: &App, rule: &alert_rule::Model) -> DomainResult<()> {
    match RuleType::from_name(&rule.rule_type) {
        Some(RuleType::Sla | RuleType::FirstResponse) => super::sla::rules_changed(app).await,
        Some(RuleType::Event | RuleType::Threshold) | None => Ok(()),
    }
}

pub async fn update(app: &App, id: i64, changes: RuleChanges) -> DomainResult<Rule> {
    let current = row(app, id).await?;
    let name = changes.rule_name.as_deref().map(check_name).transpose()?;
    let conditions = changes.conditions.unwrap_or(current.conditions.clone());
    let alert_config = changes.alert_config.unwrap_or(current.alert_config.clone());
    let (_, config) = validate(&current.rule_type, &conditions, &alert_config)?;
    super::escalation::check_policy_named(app, config.escalation_policy.as_deref()).await?;
    let updated = storage::rules::update(
        &app.db,
        current,
        name.clone(),
        changes.is_enabled,
        conditions,
        alert_config,
        app.clock.now(),
    )
    .await
    .map_err(DomainError::from)
    .map_err(name_taken(name.as_deref().unwrap_or_default()))?;
    clocks_follow(app, &updated).await?;
    Ok(Rule::from(updated))
}

pub async fn delete(app: &App, id: i64) -> DomainResult<()> {
    let rule = row(app, id).await?;
    if storage::rules::delete(&app.db, id).await? {
        clocks_follow(app, &rule).await
    } else {
        Err(DomainError::NotFound(format!("rule {id} not found")))
    }
}

/// The enabled rules, validated, for the engine. A rule stored invalid
/// (written by hand into the table) is skipped with an error logged.
pub async fn enabled_specs(app: &App) -> DomainResult<Vec<RuleSpec>> {
    let rules = storage::rules::list(&app.db, None, true).await?;
    Ok(rules
        .iter()
        .filter_map(|r| match RuleSpec::from_model(r) {
            Ok(spec) => Some(spec),
            Err(e) => {
                tracing::error!(rule = %r.rule_name, error = %e, "skipping invalid rule");
                None
            }
        })
        .collect())
}
