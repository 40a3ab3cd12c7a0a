//! Golden SQL: every statement the engine, the outbox, the stats and the
//! rollups run, rendered per dialect into `tests/sql/<dialect>/`. The test
//! fails when what the code renders differs from the files, so a reviewer
//! sees each backend's whole SQL in the diff of any change to it. After a
//! deliberate change: `UPDATE_GOLDEN_SQL=1 cargo nextest run golden` rewrites
//! the files (then read their diff).
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};
use convergeai_alerts::storage::dialect::Dialect;
use convergeai_alerts::storage::engine::SlaMetric::{FirstResponse, Resolution};
use convergeai_alerts::storage::engine::{EscalationStart, Recipients, RulePlan, RuleStatements, Scope, Source};
use convergeai_alerts::storage::stats::{self, Latency, Window};
use convergeai_alerts::storage::{deliveries, rollups};
use sea_orm::Statement;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z").map(|t| t.to_utc()).unwrap_or_default()
}

fn plan(name: &str, source: Source, alert_type: &str) -> RulePlan {
    RulePlan {
        rule_id: 1,
        rule_name: name.to_owned(),
        source,
        alert_type: alert_type.to_owned(),
        severity: "warning".to_owned(),
        recipients: Recipients { owner: true, owner_supervisor: true, roles: vec!["admin".to_owned()] },
        unassigned_recipients: Recipients {
            owner: false,
            owner_supervisor: false,
            roles: vec!["supervisor".to_owned()],
        },
        window: TimeDelta::hours(24),
        expires_after: TimeDelta::hours(168),
        dismissed_for: vec![3],
        outbox: HashMap::from([(1, vec!["email", "sms"]), (2, vec!["webhook"])]),
        team_channels: Vec::new(),
        escalation: Some(EscalationStart {
            policy: serde_json::json!({"id": 1, "name": "breach-default"}),
            first_step_after: TimeDelta::minutes(30),
        }),
    }
}

fn plans() -> Vec<(&'static str, RulePlan)> {
    let statuses = || vec!["open".to_owned(), "in_progress".to_owned()];
    vec![
        (
            "sla_breached",
            plan("SLA breached", Source::SlaBreached { statuses: statuses(), metric: Resolution }, "sla_breach"),
        ),
        (
            "sla_at_risk",
            plan("SLA at risk", Source::SlaAtRisk { statuses: statuses(), metric: Resolution }, "sla_at_risk"),
        ),
        (
            "first_response_breached",
            plan(
                "First response overdue",
                Source::SlaBreached { statuses: statuses(), metric: FirstResponse },
                "first_response_breach",
            ),
        ),
        (
            "first_response_at_risk",
            plan(
                "First response at risk",
                Source::SlaAtRisk { statuses: statuses(), metric: FirstResponse },
                "first_response_at_risk",
            ),
        ),
        (
            "critical",
            RulePlan {
                // Posted to both team channels, once per event.
                team_channels: vec!["slack", "teams"],
                ..plan(
                    "Critical complaint",
                    Source::Priority { priority: "critical".to_owned(), statuses: statuses() },
                    "critical_complaint",
                )
            },
        ),
        ("workload", plan("High workload", Source::Workload { statuses: statuses(), threshold: 10 }, "high_workload")),
    ]
}

/// Readable text: each top-level clause on a line of its own.
fn layout(sql: &str) -> String {
    let mut out = sql.to_owned();
    for keyword in [
        " FROM ",
        " WHERE ",
        " GROUP BY ",
        " ORDER BY ",
        " UNION ALL ",
        " UNION ",
        " JOIN ",
        " ON CONFLICT ",
        " ON DUPLICATE ",
    ] {
        out = out.replace(keyword, &format!("\n  {}", keyword.trim_start()));
    }
    out
}

fn section(out: &mut String, name: &str, statement: &Statement) {
    let values = statement.values.as_ref().map(|v| v.0.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>());
    let _ = writeln!(out, "-- {name}");
    if let Some(values) = values.filter(|v| !v.is_empty()) {
        let _ = writeln!(out, "-- values: {}", values.join(", "));
    }
    let _ = writeln!(out, "{};\n", layout(&statement.sql));
}

fn raw(dialect: Dialect, sql: &str) -> Statement {
    Statement::from_string(dialect.backend(), sql.to_owned())
}

/// Every rendered file of one dialect: (file name, text).
fn render(dialect: Dialect) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (name, plan) in plans() {
        let since = Scope::Changed { since: now() - TimeDelta::minutes(5) };
        for (scope_name, scope) in [("all", Scope::All), ("one", Scope::Complaint(7)), ("changed", since)] {
            let statements = RuleStatements::build(dialect, &plan, "run-1", now(), scope).expect("recipients");
            let mut out = format!("-- The engine's statements for one {name} rule, scope {scope_name}.\n\n");
            for (step, statement) in statements.render(0, &[101, 102]).expect("render") {
                section(&mut out, &step, &statement);
            }
            files.push((format!("engine_{name}_{scope_name}.sql"), out));
        }
    }

    let window = |staff_id: Option<i64>| Window {
        from: now() - TimeDelta::days(30),
        to: now(),
        staff: staff_id.map(|id| vec![id]),
    };
    let mut out = String::from("-- The statistics' statements (GET /alerts/stats).\n\n");
    let hours = (490_000, 490_720);
    let rendered: Vec<(&str, Result<Statement, sea_orm::DbErr>)> = vec![
        ("groups (everyone)", stats::groups_statement(dialect, &window(None))),
        ("groups (one staff member)", stats::groups_statement(dialect, &window(Some(5)))),
        ("hourly groups", stats::hourly_groups_statement(dialect, hours.0, hours.1)),
        (
            "latency histogram (read, everyone)",
            stats::latency_histogram_statement(dialect, &window(None), Latency::Read),
        ),
        (
            "latency histogram (dismiss, one staff member)",
            stats::latency_histogram_statement(dialect, &window(Some(5)), Latency::Dismiss),
        ),
        ("read counts by staff", stats::read_counts_statement(dialect, &window(None))),
        ("medians", stats::medians_statement(dialect, &window(None), &[(5, 9), (6, 2)])),
        ("staff counts", stats::staff_counts_statement(dialect, &window(None))),
        ("hourly staff counts", stats::hourly_staff_counts_statement(dialect, hours.0, hours.1)),
        ("unread by staff", stats::unread_by_staff_statement(dialect, &window(None), now())),
    ];
    for (name, statement) in rendered {
        section(&mut out, name, &statement.expect("stats statement"));
    }
    files.push(("stats.sql".to_owned(), out));

    let mut out = String::from("-- The delivery outbox: claiming due rows and recording outcomes.\n\n");
    section(&mut out, "claim: pick", &deliveries::claim_select(dialect, now(), 50));
    section(&mut out, "claim: mark", &deliveries::claim_update(dialect, &[1, 2, 3], now(), TimeDelta::minutes(2)));
    section(&mut out, "sent", &deliveries::mark_sent_statement(dialect, &[1, 2], now()));
    let retry = now() + TimeDelta::seconds(30);
    section(&mut out, "outcome", &deliveries::mark_outcome_statement(dialect, 3, "failed", "HTTP 503", retry, now()));
    let morning = now() + TimeDelta::hours(20);
    let deferral = |id: i64, staff_id: i64, until: DateTime<Utc>, summary: bool, reason| deliveries::Deferral {
        id,
        alert_id: id * 10,
        staff_id,
        channel: "email".into(),
        until,
        summary,
        reason,
    };
    let quiet = deliveries::QUIET_HOURS;
    let deferrals = [
        deferral(4, 1, morning, true, quiet),
        deferral(5, 1, morning, true, quiet),
        deferral(6, 2, morning + TimeDelta::hours(1), true, quiet),
        deferral(7, 3, morning, false, quiet),
        deferral(8, 4, now() + TimeDelta::minutes(30), true, "hourly"),
    ];
    for (i, statement) in deliveries::defer_statements(dialect, &deferrals, now()).iter().enumerate() {
        section(&mut out, &format!("quiet hours and digests: defer {}", i + 1), statement);
    }
    files.push(("outbox.sql".to_owned(), out));

    let mut out =
        String::from("-- The statistics rollups: triggers on alerts, and the backfill of an upgraded database.\n\n");
    for (i, trigger) in rollups::triggers(dialect).iter().enumerate() {
        section(&mut out, &format!("trigger {}", i + 1), &raw(dialect, trigger));
    }
    for (i, statement) in rollups::backfill(dialect).iter().enumerate() {
        section(&mut out, &format!("backfill {}", i + 1), &raw(dialect, statement));
    }
    files.push(("rollups.sql".to_owned(), out));
    files
}

#[test]
fn every_statement_matches_its_golden_file() {
    let update = std::env::var("UPDATE_GOLDEN_SQL").is_ok_and(|v| v == "1");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut differ = Vec::new();
    for dialect in Dialect::ALL {
        let dir = root.join(dialect.name());
        let rendered = render(dialect);
        if update {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create tests/sql");
        }
        let mut expected: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned())).collect())
            .unwrap_or_default();
        expected.sort();
        let mut names: Vec<String> = rendered.iter().map(|(name, _)| name.clone()).collect();
        names.sort();
        if !update && expected != names {
            differ.push(format!("{}: files {expected:?}, rendered {names:?}", dialect.name()));
        }
        for (name, text) in rendered {
            let path = dir.join(&name);
            if update {
                std::fs::write(&path, &text).expect("write golden file");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                differ.push(path.display().to_string());
            }
        }
    }
    assert!(
        differ.is_empty(),
        "the SQL differs from tests/sql (UPDATE_GOLDEN_SQL=1 rewrites the files; review their diff):\n{}",
        differ.join("\n")
    );
}
