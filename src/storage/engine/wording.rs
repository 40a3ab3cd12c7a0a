//! Every word a user reads of a generated alert: titles, messages, JSON
//! metadata and durations ("2 d 3 h"), built in SQL so a check writes its
//! alerts in one statement.
use super::{RulePlan, SlaMetric, Source};
use crate::storage::dialect::{
    Dialect, as_int, concat, floor, int_div, json_object, seconds_between, text, utc_minute, utc_rfc3339,
};
use crate::storage::sql::Sql;

/// The columns a rule's candidates carry into the insert (alias `x`), and
/// from them the alert's title, message and JSON metadata, built in SQL:
/// every word a user reads of a generated alert is here.
pub(super) struct Texts {
    pub columns: String,
    pub title: String,
    pub message: String,
    pub metadata: String,
}

pub(super) fn texts(sql: &mut Sql, plan: &RulePlan, version: &str) -> Texts {
    let b = sql.dialect();
    let c = |parts: &[&str]| concat(b, parts);
    let rule_id = sql.bind("rule_id", plan.rule_id);
    let rule_name = sql.bind("rule_name", plan.rule_name.clone());
    let (columns, title, message, metadata) = match &plan.source {
        Source::Workload { threshold, .. } => {
            let threshold = sql.bind("threshold", *threshold);
            let columns = format!("m.rcp, a.id AS rid, {version} AS ver, a.full_name AS name, w.n");
            let title = c(&["'High workload: '", "x.name"]);
            let message = c(&[
                "x.name",
                "' has '",
                &text(b, "x.n"),
                "' open complaints assigned (threshold '",
                &text(b, &threshold),
                "').'",
            ]);
            let metadata = json_object(
                b,
                &[
                    ("rule_id", rule_id),
                    ("rule_name", rule_name),
                    ("staff_id", "x.rid".into()),
                    ("open_complaints", as_int(b, "x.n")),
                    ("threshold", threshold),
                ],
            );
            (columns, title, message, metadata)
        }
        source => {
            // The due time the alert is about.
            let due = match source {
                Source::SlaBreached { metric, .. } | Source::SlaAtRisk { metric, .. } => {
                    super::select::due_column(*metric)
                }
                Source::Priority { .. } | Source::Workload { .. } => "c.sla_deadline",
            };
            // The numbers of the message, in whole seconds and percent.
            let numbers = match source {
                Source::SlaBreached { .. } => {
                    format!(", {} AS secs", as_int(b, &floor(b, &seconds_between(b, due, "{now}"))))
                }
                Source::SlaAtRisk { metric: SlaMetric::FirstResponse, .. } => {
                    format!(", {} AS secs", as_int(b, &floor(b, &seconds_between(b, "{now}", due))))
                }
                Source::SlaAtRisk { .. } => {
                    let elapsed = seconds_between(b, "c.created_at", "{now}");
                    let window = seconds_between(b, "c.created_at", "c.sla_deadline");
                    let percent = as_int(
                        b,
                        &floor(b, &format!("(CASE WHEN {window} >= 1 THEN {elapsed} * 100 / {window} ELSE 100 END)")),
                    );
                    let left = as_int(b, &floor(b, &seconds_between(b, "{now}", "c.sla_deadline")));
                    format!(", {left} AS secs, {percent} AS pct")
                }
                _ => String::new(),
            };
            // Off the 24x7 calendar: the due time in the calendar's zone, and
            // for an at-risk point the working time then left (written with the clock).
            let local = match source {
                Source::SlaBreached { metric, .. } | Source::SlaAtRisk { metric, .. } => {
                    format!(", c.{} AS due_local", local_due_column(*metric))
                }
                Source::Priority { .. } | Source::Workload { .. } => String::new(),
            };
            let working_left = match source {
                Source::SlaAtRisk { .. } => format!(
                    ", (SELECT p.working_left FROM sla_points p WHERE p.complaint_id = c.id AND p.rule_id = {rule_id}) \
                     AS working_left"
                ),
                Source::SlaBreached { .. } | Source::Priority { .. } | Source::Workload { .. } => String::new(),
            };
            let columns = format!(
                "m.rcp, c.id AS rid, {version} AS ver, c.title, c.customer_name, c.priority, c.status, \
                 {} AS deadline_text, {} AS deadline_json, a.id AS owner, a.full_name AS owner_name{numbers}\
                 {local}{working_left}",
                utc_minute(b, due),
                utc_rfc3339(b, due),
            );
            let who = format!(
                "CASE WHEN x.owner IS NULL THEN 'unassigned' ELSE {} END",
                c(&["'assigned to '", "x.owner_name"])
            );
            let id = text(b, "x.rid");
            // `Router keeps dropping the connection (#3)`: what a title names, the
            // subject first (cut so the id still fits the 255 characters).
            let subject = c(&["substr(x.title, 1, 200)", "' (#'", &id, "')'"]);
            let mut metadata = vec![
                ("rule_id", rule_id),
                ("rule_name", rule_name),
                ("complaint_id", "x.rid".to_owned()),
                ("priority", "x.priority".to_owned()),
                ("status", "x.status".to_owned()),
                ("assigned_to_staff_id", "x.owner".to_owned()),
                ("sla_deadline", "x.deadline_json".to_owned()),
            ];
            // `Complaint #7 "Title" (high, assigned to Ann`: how both SLA messages begin.
            let sla_lead =
                ["'Complaint #'", id.as_str(), "' \"'", "x.title", "'\" ('", "x.priority", "', '", who.as_str()];
            let duration = duration_text(b, &whole_minutes(b, "x.secs"));
            let working = duration_text(b, &whole_minutes(b, "COALESCE(x.working_left, 0)"));
            // "… UTC" on the 24x7 calendar, the calendar's own zone otherwise.
            let due_text = format!("COALESCE(x.due_local, {})", c(&["x.deadline_text", "' UTC'"]));
            let (title, message) = match source {
                Source::SlaBreached { metric: SlaMetric::FirstResponse, .. } => {
                    metadata.push(("first_response_due_at", "x.deadline_json".to_owned()));
                    metadata.push(("overdue_seconds", "x.secs".to_owned()));
                    (
                        c(&["'First response overdue: '", &subject]),
                        c(&[
                            &sla_lead[..],
                            &["') has had no first response; it was due '", &due_text, "', '", &duration, "' ago.'"],
                        ]
                        .concat()),
                    )
                }
                Source::SlaAtRisk { metric: SlaMetric::FirstResponse, .. } => {
                    metadata.push(("first_response_due_at", "x.deadline_json".to_owned()));
                    metadata.push(("seconds_left", "x.secs".to_owned()));
                    (
                        c(&["'First response at risk: '", &subject]),
                        c(&[
                            &sla_lead[..],
                            &[
                                "') has had no first response; it is due in '",
                                &format!(
                                    "CASE WHEN x.due_local IS NULL THEN {} ELSE {} END",
                                    c(&[&duration, "' (at '", "x.deadline_text", "' UTC).'"]),
                                    c(&[&working, "' of working time, '", "x.due_local", "'.'"])
                                ),
                            ],
                        ]
                        .concat()),
                    )
                }
                Source::SlaBreached { .. } => {
                    metadata.push(("overdue_seconds", "x.secs".to_owned()));
                    (
                        c(&["'SLA breached: '", &subject]),
                        c(&[
                            &sla_lead[..],
                            &["') missed its SLA deadline of '", &due_text, "' by '", &duration, "'.'"],
                        ]
                        .concat()),
                    )
                }
                Source::SlaAtRisk { .. } => {
                    let percent = "(CASE WHEN x.pct > 100 THEN 100 WHEN x.pct < 0 THEN 0 ELSE x.pct END)";
                    metadata.push(("elapsed_percent", percent.to_owned()));
                    metadata.push(("seconds_left", "x.secs".to_owned()));
                    (
                        c(&["'SLA at risk: '", &subject]),
                        c(&[
                            &sla_lead[..],
                            &[&format!(
                                "CASE WHEN x.due_local IS NULL THEN {} ELSE {} END",
                                c(&[
                                    "') has used '",
                                    &text(b, percent),
                                    "'% of its SLA window: '",
                                    &duration,
                                    "' left until '",
                                    "x.deadline_text",
                                    "' UTC.'",
                                ]),
                                c(&["') is due in '", &working, "' of working time, '", "x.due_local", "'.'"])
                            )],
                        ]
                        .concat()),
                    )
                }
                _ => {
                    let capitalised = c(&["upper(substr(x.priority, 1, 1))", "substr(x.priority, 2)"]);
                    (
                        c(&[&capitalised, "' complaint: '", &subject]),
                        c(&[
                            "'Complaint #'",
                            &id,
                            "' \"'",
                            "x.title",
                            "'\" from '",
                            "x.customer_name",
                            "' has '",
                            "x.priority",
                            "' priority ('",
                            &who,
                            "'); SLA deadline '",
                            &format!("COALESCE({}, 'none')", c(&["x.deadline_text", "' UTC'"])),
                            "'.'",
                        ]),
                    )
                }
            };
            (columns, title, message, json_object(b, &metadata))
        }
    };
    Texts { columns, title, message, metadata }
}

/// The column holding a metric's due time in its calendar's zone.
fn local_due_column(metric: SlaMetric) -> &'static str {
    match metric {
        SlaMetric::Resolution => "sla_due_text",
        SlaMetric::FirstResponse => "first_response_due_text",
    }
}

/// "2 d 3 h", "3 h 20 min", "45 min", "less than a minute", from whole minutes.
fn duration_text(b: Dialect, minutes: &str) -> String {
    let m = minutes;
    let div = |x: &str, d: &str| int_div(b, x, d);
    let t = |x: &str| text(b, x);
    let (hours, days) = (div(m, "60"), div(m, "1440"));
    let hours_of_day = format!("({hours} % 24)");
    format!(
        "CASE WHEN {m} < 1 THEN 'less than a minute' \
         WHEN {m} < 60 THEN {} \
         WHEN {m} < 1440 AND {m} % 60 = 0 THEN {} \
         WHEN {m} < 1440 THEN {} \
         WHEN {hours_of_day} = 0 THEN {} \
         ELSE {} END",
        concat(b, &[&t(m), "' min'"]),
        concat(b, &[&t(&hours), "' h'"]),
        concat(b, &[&t(&hours), "' h '", &t(&format!("({m} % 60)")), "' min'"]),
        concat(b, &[&t(&days), "' d'"]),
        concat(b, &[&t(&days), "' d '", &t(&hours_of_day), "' h'"]),
    )
}

/// Whole minutes (never below zero) of an integer seconds expression.
fn whole_minutes(b: Dialect, seconds: &str) -> String {
    int_div(b, &format!("(CASE WHEN {seconds} > 0 THEN {seconds} ELSE 0 END)"), "60")
}
