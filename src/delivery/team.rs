//! Team channels: what an alert event looks like when it is posted to a
//! Slack or Microsoft Teams channel through the incoming webhook the
//! operator configured (`ALERTS_SLACK_WEBHOOK_URL`, `ALERTS_TEAMS_WEBHOOK_URL`).
//!
//! A rule names its team channels in `alert_config.team_channels`; the
//! engine writes one outbox row per (event, channel) (see
//! `storage::deliveries::team_inserts`), and the dispatcher turns the row
//! into a [`TeamPost`] and sends it through `Channels::post`, with the
//! retries and the delivery log of every other channel.
//!
//! Each product gets its own format:
//! - Slack: Block Kit, `{"text": fallback, "blocks": [header, section
//!   (the message, and fields), context, actions (the acknowledge button)]}`
//!   (<https://api.slack.com/messaging/webhooks>, <https://api.slack.com/reference/block-kit/blocks>);
//! - Teams: an Adaptive Card 1.4 in the incoming-webhook envelope,
//!   `{"type": "message", "attachments": [{"contentType":
//!   "application/vnd.microsoft.card.adaptive", "contentUrl": null,
//!   "content": {"type": "AdaptiveCard", …}}]}`
//!   (<https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>).
//!
//! Both carry the alert's title and severity, the complaint (id, title,
//! priority, assignee), the state of its SLA clock at the time of sending,
//! and, for a rule that escalates, the one-tap acknowledge link.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::templates::type_label;
use crate::domain::App;
use crate::domain::views::Alert;
use crate::domain::vocab::{AlertType, ClockState, Severity, SlaMetric};
use crate::storage::{self, entities::alert};

/// Slack's limits: a header's text, a section's text, a field's text.
const SLACK_HEADER_CHARS: usize = 150;
const SLACK_TEXT_CHARS: usize = 3000;
const SLACK_FIELD_CHARS: usize = 2000;

/// One post of one alert event to one team channel.
#[derive(Debug, Clone)]
pub struct TeamPost {
    /// The outbox row's id (the same on every retry).
    pub delivery_id: i64,
    /// The alert the event's row is tied to: the first of the event's alerts.
    pub alert: Alert,
    /// What the alert is about, read when the post is sent (none: a workload alert, or the complaint is gone).
    pub complaint: Option<ComplaintBrief>,
    /// The acknowledge link, for an event of a rule with an escalation policy
    /// that nobody acknowledged yet, when the service knows its public address.
    pub ack_url: Option<String>,
}

/// A complaint as a team post shows it.
#[derive(Debug, Clone)]
pub struct ComplaintBrief {
    pub id: i64,
    pub title: String,
    pub priority: String,
    pub status: String,
    /// The assignee's name; none: unassigned.
    pub assignee: Option<String>,
    /// Its SLA clocks (first response, resolution); a post shows the one its alert is about.
    pub clocks: Vec<SlaClock>,
}

/// Where an SLA clock stands when the post is sent.
#[derive(Debug, Clone)]
pub struct SlaClock {
    pub metric: SlaMetric,
    pub state: ClockState,
    pub due_at: Option<DateTime<Utc>>,
    /// The due time in the calendar's zone ("Mon 11 Jan 2027 09:40 Europe/Berlin"), off the 24x7 calendar.
    pub due_text: Option<String>,
    /// Wall-clock time left until `due_at` (negative: overdue by).
    pub remaining_seconds: Option<i64>,
    pub paused_since: Option<DateTime<Utc>>,
}

/// The complaints the team posts of `alerts` are about, as they are now
/// (by complaint id): title, priority, assignee, and their SLA clocks read
/// with the SLA settings, as every complaint read shows them.
/// Three reads a batch, whatever its size; none without team posts.
pub(super) async fn complaints(
    app: &App,
    alerts: &[&alert::Model],
) -> Result<HashMap<i64, ComplaintBrief>, sea_orm::DbErr> {
    let mut ids: Vec<i64> = alerts
        .iter()
        .filter(|a| a.resource_type.as_deref() == Some("complaint"))
        .filter_map(|a| a.resource_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = storage::complaints::by_ids(&app.db, &ids).await?;
    let assignees: Vec<i64> = rows.iter().filter_map(|c| c.assigned_to_staff_id).collect();
    let names: HashMap<i64, String> = storage::staff::names(&app.db, &assignees).await?.into_iter().collect();
    // Without the settings (a read that failed) the post still goes, without its clock.
    let snapshot = match crate::domain::sla::snapshot(app).await {
        Ok(snapshot) => Some(snapshot),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the SLA settings; team posts go without their clock");
            None
        }
    };
    let now = app.clock.now();
    let mut out = HashMap::with_capacity(rows.len());
    for c in rows {
        let view = snapshot.as_ref().map(|s| crate::domain::sla::view(s, &c, now));
        let clocks = view
            .into_iter()
            .flat_map(|v| v.metrics)
            .map(|m| SlaClock {
                metric: m.metric,
                state: m.state,
                due_at: m.due_at,
                due_text: match m.metric {
                    SlaMetric::Resolution => c.sla_due_text.clone(),
                    SlaMetric::FirstResponse => c.first_response_due_text.clone(),
                },
                remaining_seconds: m.remaining_seconds,
                paused_since: m.paused_since,
            })
            .collect();
        let brief = ComplaintBrief {
            id: c.id,
            assignee: c.assigned_to_staff_id.and_then(|id| names.get(&id).cloned()),
            title: c.title,
            priority: c.priority,
            status: c.status,
            clocks,
        };
        out.insert(brief.id, brief);
    }
    Ok(out)
}

/// The texts both formats show, built once.
struct Texts {
    severity: &'static str,
    title: String,
    message: String,
    /// (label, value) pairs: severity, complaint, priority, assignee, SLA.
    facts: Vec<(String, String)>,
    /// "SLA breach · alert #42 · raised 2025-03-04 05:06 UTC"
    context: String,
}

fn texts(post: &TeamPost) -> Texts {
    let alert = &post.alert;
    let severity = match Severity::from_name(&alert.severity) {
        Some(Severity::Critical) => "Critical",
        Some(Severity::Warning) => "Warning",
        Some(Severity::Info) | None => "Info",
    };
    let mut facts = vec![("Severity".to_owned(), severity.to_owned())];
    match &post.complaint {
        Some(c) => {
            facts.push(("Complaint".to_owned(), format!("#{} {}", c.id, c.title)));
            facts.push(("Priority".to_owned(), format!("{} ({})", c.priority, c.status.replace('_', " "))));
            facts.push(("Assignee".to_owned(), c.assignee.clone().unwrap_or_else(|| "unassigned".to_owned())));
            let metric = match AlertType::from_name(&alert.alert_type) {
                Some(AlertType::FirstResponseAtRisk | AlertType::FirstResponseBreach) => SlaMetric::FirstResponse,
                _ => SlaMetric::Resolution,
            };
            if let Some(clock) = c.clocks.iter().find(|k| k.metric == metric) {
                facts.push((clock_label(clock.metric).to_owned(), clock_text(clock)));
            }
        }
        None => {
            if let (Some(kind), Some(id)) = (alert.resource_type.as_deref(), alert.resource_id) {
                facts.push(("About".to_owned(), format!("{kind} #{id}")));
            }
        }
    }
    let context = format!(
        "{} · alert #{} · raised {}",
        type_label(&alert.alert_type),
        alert.id,
        alert.created_at.format("%Y-%m-%d %H:%M UTC")
    );
    Texts { severity, title: alert.title.clone(), message: alert.message.clone(), facts, context }
}

fn clock_label(metric: SlaMetric) -> &'static str {
    match metric {
        SlaMetric::Resolution => "SLA (resolution)",
        SlaMetric::FirstResponse => "SLA (first response)",
    }
}

/// "due Mon 11 Jan 2027 09:40 Europe/Berlin (in 2 h 5 min)", "overdue by 3 h (due 2025-03-04 05:06 UTC)", …
fn clock_text(clock: &SlaClock) -> String {
    let due = clock
        .due_text
        .clone()
        .or_else(|| clock.due_at.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()))
        .unwrap_or_else(|| "no due time".to_owned());
    match (clock.state, clock.remaining_seconds) {
        (ClockState::Running, Some(left)) => format!("due {due} (in {})", duration_text(left)),
        (ClockState::Running, None) => format!("running, due {due}"),
        (ClockState::Breached, Some(left)) if left <= 0 => {
            format!("OVERDUE by {} (due {due})", duration_text(-left))
        }
        (ClockState::Breached, _) => format!("breached (due {due})"),
        (ClockState::Paused, _) => match clock.paused_since {
            Some(since) => format!("paused since {}", since.format("%Y-%m-%d %H:%M UTC")),
            None => "paused".to_owned(),
        },
        (ClockState::Met, _) => "met".to_owned(),
    }
}

/// "less than a minute", "45 min", "2 h 5 min", "3 d 4 h".
fn duration_text(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
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

/// Slack Block Kit: a header, the message with the facts as fields, a
/// context line, and an acknowledge button when there is a link.
pub fn slack_payload(post: &TeamPost) -> Value {
    let t = texts(post);
    let emoji = match t.severity {
        "Critical" => ":rotating_light:",
        "Warning" => ":warning:",
        _ => ":information_source:",
    };
    let fields: Vec<Value> = t
        .facts
        .iter()
        .map(|(label, value)| {
            let text = format!("*{}*\n{}", slack_escape(label), slack_escape(value));
            json!({"type": "mrkdwn", "text": truncate_chars(&text, SLACK_FIELD_CHARS)})
        })
        .collect();
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate_chars(&format!("{emoji} {}", t.title), SLACK_HEADER_CHARS), "emoji": true},
        }),
        json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate_chars(&slack_escape(&t.message), SLACK_TEXT_CHARS)},
            "fields": fields,
        }),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(&t.context)}]}),
    ];
    if let Some(url) = &post.ack_url {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "action_id": "acknowledge",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge", "emoji": false},
                "url": url,
            }],
        }));
    }
    json!({"text": format!("[{}] {}", t.severity.to_uppercase(), t.title), "blocks": blocks})
}

/// Microsoft Teams: an Adaptive Card (1.4) in the incoming-webhook envelope:
/// the title in the severity's colour, the message, the facts, a context
/// line, and an acknowledge action when there is a link.
pub fn teams_payload(post: &TeamPost) -> Value {
    let t = texts(post);
    let color = match t.severity {
        "Critical" => "Attention",
        "Warning" => "Warning",
        _ => "Accent",
    };
    let facts: Vec<Value> = t.facts.iter().map(|(label, value)| json!({"title": label, "value": value})).collect();
    let actions: Vec<Value> =
        post.ack_url.iter().map(|url| json!({"type": "Action.OpenUrl", "title": "Acknowledge", "url": url})).collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": t.title, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
                    {"type": "TextBlock", "text": t.message, "wrap": true},
                    {"type": "FactSet", "facts": facts},
                    {"type": "TextBlock", "text": t.context, "isSubtle": true, "size": "Small", "wrap": true},
                ],
                "actions": actions,
            },
        }],
    })
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped (else `<…>` is a link or a mention).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `s` cut to at most `max` characters, ending with `…` when cut.
fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_alert_texts() {
        assert_eq!(duration_text(30), "less than a minute");
        assert_eq!(duration_text(45 * 60), "45 min");
        assert_eq!(duration_text(2 * 3600), "2 h");
        assert_eq!(duration_text(2 * 3600 + 5 * 60), "2 h 5 min");
        assert_eq!(duration_text(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        assert_eq!(duration_text(-5), "less than a minute");
    }

    #[test]
    fn clocks_say_due_overdue_paused_or_met() {
        let due = DateTime::parse_from_rfc3339("2025-03-04T05:06:00Z").map(|d| d.to_utc()).unwrap_or_default();
        let clock = |state, left| SlaClock {
            metric: SlaMetric::Resolution,
            state,
            due_at: Some(due),
            due_text: None,
            remaining_seconds: left,
            paused_since: None,
        };
        assert_eq!(clock_text(&clock(ClockState::Running, Some(7500))), "due 2025-03-04 05:06 UTC (in 2 h 5 min)");
        assert_eq!(clock_text(&clock(ClockState::Breached, Some(-3600))), "OVERDUE by 1 h (due 2025-03-04 05:06 UTC)");
        assert_eq!(clock_text(&clock(ClockState::Met, None)), "met");
        let local = SlaClock {
            due_text: Some("Tue 4 Mar 2025 06:06 Europe/Berlin".into()),
            ..clock(ClockState::Running, Some(60))
        };
        assert_eq!(clock_text(&local), "due Tue 4 Mar 2025 06:06 Europe/Berlin (in 1 min)");
    }

    #[test]
    fn slack_text_is_escaped_and_cut() {
        assert_eq!(slack_escape("<@here> & co"), "&lt;@here&gt; &amp; co");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
    }
}
