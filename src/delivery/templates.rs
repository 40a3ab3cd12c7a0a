//! Per-channel, per-alert-type message templates (minijinja).
//!
//! Four kinds of template, each with a built-in default compiled into the
//! binary:
//!
//! | kind | used for | built-in |
//! |---|---|---|
//! | `email_subject` | the email's Subject (whitespace collapsed to one line) | `[SEVERITY] title` |
//! | `email_text` | the email's text/plain body | greeting, message, details |
//! | `email_html` | the email's text/html alternative (HTML autoescaped); rendering to nothing but whitespace sends a text-only email | the same as HTML |
//! | `sms` | the SMS text, cut to [`SMS_MAX_CHARS`] characters | `[SEVERITY] title: message` |
//!
//! Any of them can be overridden by a file in the templates folder
//! (`DeliveryConfig::templates_dir`) named `<kind>.<alert_type>.j2` (only
//! that alert type, e.g. `email_subject.sla_breach.j2`) or `<kind>.j2` (every
//! type, e.g. `sms.j2`). For each message the type-specific file wins over
//! the generic file, which wins over the built-in. Files not ending in `.j2`
//! are ignored; a `.j2` file with another kind or an unknown alert type is an
//! error, as is a syntax error, so a typo shows at startup, not at delivery.
//!
//! Every template sees:
//! - `alert`: every field of the alert as the REST API serialises it (`id`,
//!   `alert_type`, `severity`, `title`, `message`, `resource_type`,
//!   `resource_id`, `assigned_to_staff_id`, `alert_metadata`, `created_at`, …);
//! - `recipient`: `staff_id`, `full_name`, `email`, `phone`;
//! - `metadata`: `alert.alert_metadata`, or an empty map when it has none
//!   (e.g. `metadata.complaint_id`, `metadata.sla_deadline`, `metadata.open_complaints`);
//! - `type_label` ("SLA breach"), `severity_label` ("CRITICAL"),
//!   `created_at` and `expires_at` in the recipient's zone, named
//!   ("Mon 7 Dec 09:40 Europe/Berlin"; `alert.created_at` stays UTC RFC 3339),
//!   and `delivery_id`.
//!
//! A quiet-hours summary (one message for what arrived while the recipient
//! was away) is written by [`summary_email`] and [`summary_sms`], not by a
//! template.
//!
//! Undefined names render as nothing (minijinja's lenient mode), so a
//! template that mentions a field some alerts lack still renders.
use std::collections::BTreeSet;
use std::path::Path;

use minijinja::{AutoEscape, Environment};
use serde_json::{Value, json};

use super::{Notification, Summary, SummaryKind};
use crate::domain::vocab::AlertType;

/// The longest SMS text sent, in characters (two concatenated 160-character segments).
pub const SMS_MAX_CHARS: usize = 320;

/// What a template renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EmailSubject,
    EmailText,
    EmailHtml,
    Sms,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::EmailSubject, Kind::EmailText, Kind::EmailHtml, Kind::Sms];

    /// The file-name prefix of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EmailSubject => "email_subject",
            Kind::EmailText => "email_text",
            Kind::EmailHtml => "email_html",
            Kind::Sms => "sms",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn builtin_source(self) -> &'static str {
        match self {
            Kind::EmailSubject => BUILTIN_EMAIL_SUBJECT,
            Kind::EmailText => BUILTIN_EMAIL_TEXT,
            Kind::EmailHtml => BUILTIN_EMAIL_HTML,
            Kind::Sms => BUILTIN_SMS,
        }
    }

    fn builtin_name(self) -> String {
        format!("builtin/{}.j2", self.as_str())
    }
}

const BUILTIN_EMAIL_SUBJECT: &str = "[{{ severity_label }}] {{ alert.title }}";

const BUILTIN_EMAIL_TEXT: &str = "\
Hello {{ recipient.full_name }},

{{ alert.title }}

{{ alert.message }}

Alert:     #{{ alert.id }} {{ type_label }}
Severity:  {{ alert.severity }}
Raised:    {{ created_at }}
{%- if metadata.complaint_id %}
Complaint: #{{ metadata.complaint_id }}{% if metadata.priority %} ({{ metadata.priority }} priority){% endif %}
{%- endif %}
{%- if expires_at %}
Expires:   {{ expires_at }}
{%- endif %}
{%- if ack_url %}

On it? Acknowledge for everyone who got this alert: {{ ack_url }}
{%- endif %}

You receive this email because you subscribed to {{ type_label }} alerts.
-- 
ConvergeAI Alerts
";

const BUILTIN_EMAIL_HTML: &str = r#"<!DOCTYPE html>
<html>
<body style="font-family: sans-serif">
<p>Hello {{ recipient.full_name }},</p>
<p><strong>{{ alert.title }}</strong></p>
<p>{{ alert.message }}</p>
<table>
<tr><td>Alert</td><td>#{{ alert.id }} {{ type_label }}</td></tr>
<tr><td>Severity</td><td>{{ alert.severity }}</td></tr>
<tr><td>Raised</td><td>{{ created_at }}</td></tr>
{%- if metadata.complaint_id %}
<tr><td>Complaint</td><td>#{{ metadata.complaint_id }}{% if metadata.priority %} ({{ metadata.priority }} priority){% endif %}</td></tr>
{%- endif %}
</table>
{%- if ack_url %}
<p><a href="{{ ack_url }}">Acknowledge</a>: tell everyone who got this alert that you are on it.</p>
{%- endif %}
<p style="color: #666">You receive this email because you subscribed to {{ type_label }} alerts.</p>
</body>
</html>
"#;

const BUILTIN_SMS: &str = "[{{ severity_label }}] {{ alert.title }}: {{ alert.message }}";

/// The rendered parts of one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    pub subject: String,
    pub text: String,
    /// `None` when the HTML template rendered to nothing.
    pub html: Option<String>,
}

/// The compiled templates: the built-ins plus any overrides from the templates folder.
pub struct Templates {
    env: Environment<'static>,
    /// File names of the overrides that were loaded, e.g. `sms.sla_breach.j2`.
    overrides: BTreeSet<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("overrides", &self.overrides).finish()
    }
}

impl Templates {
    /// The built-in templates and the overrides in `dir`, all compiled now.
    /// The error is one line naming the folder or file at fault.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            let file = name.strip_prefix("builtin/").unwrap_or(name);
            if file.split('.').next() == Some(Kind::EmailHtml.as_str()) { AutoEscape::Html } else { AutoEscape::None }
        });
        for kind in Kind::ALL {
            env.add_template_owned(kind.builtin_name(), kind.builtin_source())
                .map_err(|e| format!("built-in template {}: {e}", kind.as_str()))?;
        }
        let mut overrides = BTreeSet::new();
        if let Some(dir) = dir {
            let entries =
                std::fs::read_dir(dir).map_err(|e| format!("cannot read templates folder {}: {e}", dir.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("cannot read templates folder {}: {e}", dir.display()))?;
                let path = entry.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
                if !name.ends_with(".j2") || name.starts_with('.') || path.is_dir() {
                    continue;
                }
                check_file_name(&name).map_err(|why| format!("template {}: {why}", path.display()))?;
                let source = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read template {}: {e}", path.display()))?;
                env.add_template_owned(name.clone(), source)
                    .map_err(|e| format!("template {}: {}", path.display(), one_line(&e.to_string())))?;
                overrides.insert(name);
            }
        }
        Ok(Self { env, overrides })
    }

    /// The name of the template used for `kind` and `alert_type`.
    pub fn source_name(&self, kind: Kind, alert_type: &str) -> String {
        let specific = format!("{}.{alert_type}.j2", kind.as_str());
        if self.overrides.contains(&specific) {
            return specific;
        }
        let generic = format!("{}.j2", kind.as_str());
        if self.overrides.contains(&generic) {
            return generic;
        }
        kind.builtin_name()
    }

    /// Renders the template of `kind` for this notification, as is.
    pub fn render(&self, kind: Kind, notification: &Notification) -> Result<String, String> {
        let name = self.source_name(kind, &notification.alert.alert_type);
        let template = self.env.get_template(&name).map_err(|e| format!("template {name}: {e}"))?;
        template.render(context(notification)).map_err(|e| format!("template {name}: {}", one_line(&e.to_string())))
    }

    /// Subject, text body and HTML alternative of the email for this notification.
    pub fn email(&self, notification: &Notification) -> Result<EmailContent, String> {
        if let Some(summary) = &notification.summary {
            return Ok(summary_email(notification, summary));
        }
        let subject = collapse_whitespace(&self.render(Kind::EmailSubject, notification)?);
        let subject = if subject.is_empty() { collapse_whitespace(&notification.alert.title) } else { subject };
        let mut text = self.render(Kind::EmailText, notification)?.trim_end().to_owned();
        text.push('\n');
        let html = self.render(Kind::EmailHtml, notification)?;
        let html = (!html.trim().is_empty()).then_some(html);
        Ok(EmailContent { subject, text, html })
    }

    /// The SMS text for this notification: trimmed, at most [`SMS_MAX_CHARS`] characters.
    pub fn sms(&self, notification: &Notification) -> Result<String, String> {
        if let Some(summary) = &notification.summary {
            return Ok(truncate_chars(&summary_sms(summary), SMS_MAX_CHARS));
        }
        let text = self.render(Kind::Sms, notification)?;
        let text = text.trim();
        if text.is_empty() {
            let name = self.source_name(Kind::Sms, &notification.alert.alert_type);
            return Err(format!("template {name} rendered an empty message"));
        }
        // The acknowledge link goes last and whole; the text gives way to it.
        match &notification.ack_url {
            Some(url) if !text.contains(url.as_str()) && url.chars().count() + 6 < SMS_MAX_CHARS => {
                let room = SMS_MAX_CHARS - url.chars().count() - 6;
                Ok(format!("{} Ack: {url}", truncate_chars(text, room)))
            }
            _ => Ok(truncate_chars(text, SMS_MAX_CHARS)),
        }
    }
}

/// Checks an override's file name: `<kind>.j2` or `<kind>.<alert_type>.j2`.
fn check_file_name(name: &str) -> Result<(), String> {
    let stem = name.strip_suffix(".j2").unwrap_or(name);
    let (kind, alert_type) = match stem.split_once('.') {
        Some((kind, alert_type)) => (kind, Some(alert_type)),
        None => (stem, None),
    };
    if Kind::parse(kind).is_none() {
        let kinds: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(format!("unknown template kind {kind:?}; expected one of {}", kinds.join(", ")));
    }
    if let Some(alert_type) = alert_type
        && AlertType::from_name(alert_type).is_none()
    {
        return Err(format!("unknown alert type {alert_type:?}; expected one of {}", AlertType::NAMES.join(", ")));
    }
    Ok(())
}

/// What every template sees (see the module documentation).
fn context(notification: &Notification) -> Value {
    let alert = &notification.alert;
    json!({
        "alert": alert,
        "recipient": notification.recipient,
        "metadata": alert.alert_metadata.clone().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "type_label": type_label(&alert.alert_type),
        "severity_label": alert.severity.to_uppercase(),
        "created_at": local_time(alert.created_at, &notification.recipient.time_zone),
        "expires_at": alert.expires_at.map(|t| local_time(t, &notification.recipient.time_zone)),
        "delivery_id": notification.delivery_id,
        "ack_url": notification.ack_url,
    })
}

/// The most alerts a summary lists (it counts them all).
pub const SUMMARY_MAX_LISTED: usize = 50;

/// A time as its reader reads it: "Mon 7 Dec 09:40 Europe/Berlin" (UTC for a zone this build does not know).
pub fn local_time(t: chrono::DateTime<chrono::Utc>, zone: &str) -> String {
    let zone = zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::Tz::UTC);
    format!("{} {}", t.with_timezone(&zone).format("%a %-d %b %H:%M"), zone.name())
}

/// "7 alerts while you were away", "Hourly digest: 7 alerts" (one alert: "1 alert").
fn summary_headline(summary: &Summary) -> String {
    let total = summary.total;
    let noun = if total == 1 { "alert" } else { "alerts" };
    match summary.kind {
        SummaryKind::QuietHours => format!("{total} {noun} while you were away"),
        SummaryKind::HourlyDigest => format!("Hourly digest: {total} {noun}"),
        SummaryKind::DailyDigest => format!("Daily digest: {total} {noun}"),
    }
}

/// Why the reader got a summary rather than each alert.
fn summary_footer(kind: SummaryKind) -> &'static str {
    match kind {
        SummaryKind::QuietHours => "They arrived during your quiet hours; urgent alerts still reach you at once.",
        SummaryKind::HourlyDigest | SummaryKind::DailyDigest => {
            "You chose a digest for these alerts in your settings; read or dismissed ones are left out, and urgent alerts still reach you at once."
        }
    }
}

/// One complaint's alerts in a summary (none: alerts about no complaint).
type ByComplaint<'a> = (Option<i64>, Vec<&'a crate::domain::views::Alert>);

/// The summary's alerts grouped by type (in order of first arrival), then by
/// complaint: (type label, [(complaint id or none, alerts)]).
fn summary_groups(summary: &Summary) -> Vec<(String, Vec<ByComplaint<'_>>)> {
    let mut groups: Vec<(String, Vec<ByComplaint<'_>>)> = Vec::new();
    for alert in &summary.alerts {
        let label = type_label(&alert.alert_type);
        let complaint = (alert.resource_type.as_deref() == Some("complaint")).then_some(alert.resource_id).flatten();
        let index = match groups.iter().position(|(l, _)| *l == label) {
            Some(i) => i,
            None => {
                groups.push((label, Vec::new()));
                groups.len() - 1
            }
        };
        let by_complaint = &mut groups[index].1;
        match by_complaint.iter_mut().find(|(c, _)| *c == complaint) {
            Some((_, alerts)) => alerts.push(alert),
            None => by_complaint.push((complaint, vec![alert])),
        }
    }
    groups
}

/// The email of a quiet-hours summary or a digest: the alerts listed, grouped by type and complaint, times in the reader's zone.
pub fn summary_email(notification: &Notification, summary: &Summary) -> EmailContent {
    let zone = &notification.recipient.time_zone;
    let headline = summary_headline(summary);
    let mut text = format!("Hello {},\n\n{headline}:\n", notification.recipient.full_name);
    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n<body style=\"font-family: sans-serif\">\n<p>Hello {},</p>\n<p><strong>{}</strong></p>\n",
        escape(&notification.recipient.full_name),
        escape(&headline)
    );
    for (label, by_complaint) in summary_groups(summary) {
        let count: usize = by_complaint.iter().map(|(_, a)| a.len()).sum();
        text.push_str(&format!("\n{label} ({count})\n"));
        html.push_str(&format!("<h3>{} ({count})</h3>\n<ul>\n", escape(&label)));
        for (complaint, alerts) in by_complaint {
            if let Some(id) = complaint {
                text.push_str(&format!("  Complaint #{id}\n"));
                html.push_str(&format!("<li>Complaint #{id}<ul>\n"));
            }
            for alert in alerts {
                let when = local_time(alert.created_at, zone);
                let indent = if complaint.is_some() { "    " } else { "  " };
                text.push_str(&format!("{indent}- {when}: {}\n", alert.title));
                html.push_str(&format!("<li>{}: {}</li>\n", escape(&when), escape(&alert.title)));
            }
            if complaint.is_some() {
                html.push_str("</ul></li>\n");
            }
        }
        html.push_str("</ul>\n");
    }
    if summary.total > summary.alerts.len() {
        let more = summary.total - summary.alerts.len();
        text.push_str(&format!("\n… and {more} more in your inbox.\n"));
        html.push_str(&format!("<p>… and {more} more in your inbox.</p>\n"));
    }
    let footer = summary_footer(summary.kind);
    text.push_str(&format!("\n{footer}\n-- \nConvergeAI Alerts\n"));
    html.push_str(&format!("<p style=\"color: #666\">{}</p>\n</body>\n</html>\n", escape(footer)));
    EmailContent { subject: headline, text, html: Some(html) }
}

/// The SMS of a quiet-hours summary or a digest: "3 alerts while you were away: 2 SLA breach, 1 SLA at risk".
pub fn summary_sms(summary: &Summary) -> String {
    let counts: Vec<String> = summary_groups(summary)
        .iter()
        .map(|(label, by_complaint)| format!("{} {label}", by_complaint.iter().map(|(_, a)| a.len()).sum::<usize>()))
        .collect();
    format!("{}: {}", summary_headline(summary), counts.join(", "))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A human name for an alert type.
pub fn type_label(alert_type: &str) -> String {
    match AlertType::from_name(alert_type) {
        Some(AlertType::SlaAtRisk) => "SLA at risk".into(),
        Some(AlertType::SlaBreach) => "SLA breach".into(),
        Some(AlertType::CriticalComplaint) => "Critical complaint".into(),
        Some(AlertType::HighWorkload) => "High workload".into(),
        Some(AlertType::FirstResponseAtRisk) => "First response at risk".into(),
        Some(AlertType::FirstResponseBreach) => "First response overdue".into(),
        // A type this version does not know (a newer instance's): its name, readable.
        None => {
            let other = alert_type;
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// minijinja's messages may span lines; the callers want one.
fn one_line(s: &str) -> String {
    collapse_whitespace(s)
}

/// `s` cut to at most `max` characters, ending with `…` when cut.
fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}
