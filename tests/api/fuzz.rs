//! The HTTP API fuzzed from its own OpenAPI document with schemathesis
//! (issue 8): every operation, authenticated as an admin (so every operation
//! is authorized), over data like the demo's (staff of each role, complaints
//! of each priority, read, dismissed and live alerts, deliveries), against
//! the real server on SQLite.
//!
//! What schemathesis checks on every response:
//! - `not_a_server_error`: no 5xx;
//! - `status_code_conformance`: the status is one the operation documents;
//! - `content_type_conformance`, `response_schema_conformance`,
//!   `response_headers_conformance`: the body and headers are the documented ones;
//! - `ignored_auth`: without the token (or with a wrong one) a secured
//!   operation is refused; `missing_required_header`;
//! - `unsupported_method`, `allow_header_conformance`: other methods get 405 with `Allow`;
//! - `use_after_free`, `ensure_resource_availability` (stateful sequences):
//!   what was deleted is gone, what was created can be read back;
//! - `negative_data_rejection`: a request the schema forbids (a value outside
//!   a vocabulary, a page size of 0, a missing field) is a 4xx.
//!
//! `date-time` values come from `fuzz_hooks.py`: the extremes a parser takes
//! and date arithmetic does not, besides ordinary instants of every year.
//!
//! Left out: `positive_data_acceptance`, because the document cannot say
//! everything the server checks, so a request the schema allows may still be
//! a 422: an `sla_deadline` in the past, a timestamp outside 1970..9999, a `from`..`to` range over 366 days,
//! a rule's `conditions` that do not fit its `rule_type`, an assignee id that
//! is not an active staff member, `unread_only=true` with `is_read=true`, a
//! subscription that turns off in-app delivery a rule makes mandatory, a
//! login with an unknown email, a WebSocket request without the handshake
//! headers.
//!
//! schemathesis comes from PyPI: `.ci/run` installs it in a venv and exports
//! `SCHEMATHESIS`. Found as `$SCHEMATHESIS`, else `schemathesis` on PATH,
//! else in the venv `.ci/run` makes. Without it the test is skipped with the
//! reason, or fails when `CI=true`.
//!
//! Knobs: `FUZZ_MAX_EXAMPLES` (per operation and phase, default 100),
//! `FUZZ_SEED` (default: random, printed, so a failure can be replayed),
//! `FUZZ_BACKEND` (`sqlite`; `mysql` or `postgres` with `TEST_MYSQL_URL` / `TEST_POSTGRES_URL`),
//! `FUZZ_CHECKS` (schemathesis' `--checks`, default the list above).
use std::path::PathBuf;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance,ignored_auth,\
                      missing_required_header,unsupported_method,allow_header_conformance,\
                      use_after_free,ensure_resource_availability,negative_data_rejection";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let Some(tool) = schemathesis() else { return };
    // SQLite by default; FUZZ_BACKEND=mysql or postgres fuzzes over that backend (TEST_*_URL).
    let backend = match std::env::var("FUZZ_BACKEND").as_deref() {
        Ok("mysql" | "mariadb") => Backend::MySql,
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let app = TestApp::spawn(backend).await.unwrap_or_else(|| panic!("{backend:?} is not configured"));
    let admin = demo_data(&app).await;

    let max_examples = std::env::var("FUZZ_MAX_EXAMPLES").unwrap_or_else(|_| "100".into());
    let seed = std::env::var("FUZZ_SEED").unwrap_or_else(|_| {
        use rand::Rng;
        rand::rng().random_range(0..1_000_000_000u64).to_string()
    });
    // Its working directory is a temp dir: schemathesis and hypothesis keep
    // their example databases and replay files there.
    let work = tempfile::tempdir().expect("work dir");
    // A body over 64 KiB is rejected with 413 before it is parsed (documented
    // on every operation with a body): a rejection too, which schemathesis'
    // default list for negative_data_rejection lacks.
    let config = work.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        "[checks.negative_data_rejection]\nexpected-statuses = \
         [\"400\", \"401\", \"403\", \"404\", \"405\", \"406\", \"409\", \"413\", \"415\", \"422\", \"428\", \"429\", \"5xx\"]\n",
    )
    .expect("write schemathesis.toml");
    let mut command = Command::new(&tool);
    command
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        // Format-aware strategies: extreme `date-time` values (issue 15).
        .env("SCHEMATHESIS_HOOKS", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fuzz_hooks.py"))
        .arg("--config-file")
        .arg(&config)
        .args(["run", &app.url("/openapi.json"), "--no-color"])
        .args(["--header", &format!("Authorization: Bearer {admin}")])
        .args(["--checks", &std::env::var("FUZZ_CHECKS").unwrap_or_else(|_| CHECKS.into())])
        .args(["--max-examples", &max_examples, "--seed", &seed])
        .args(["--workers", "1", "--request-timeout", "10", "--generation-database", "none"])
        .args(["--output-truncate", "true"]);
    eprintln!("fuzz: {} (FUZZ_SEED={seed} FUZZ_MAX_EXAMPLES={max_examples})", tool.display());
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    eprintln!("fuzz: schemathesis ran {:.0?} and exited with {}", started.elapsed(), output.status);
    // The warnings and the summary (operations, phases, test cases) are worth seeing even when it passes.
    let tail = report.find("WARNINGS").or_else(|| report.find("SUMMARY"));
    let summary = tail.map_or(report.as_str(), |at| &report[at..]);
    eprintln!("{summary}");
    if !output.status.success() {
        // Generated bodies can be 100 KB on one line: keep the start of each line.
        let shown: Vec<String> = report
            .lines()
            .map(|line| match line.char_indices().nth(1_000) {
                Some((cut, _)) => format!("{}… ({} bytes)", &line[..cut], line.len()),
                None => line.to_owned(),
            })
            .collect();
        panic!(
            "schemathesis found failures (replay with FUZZ_SEED={seed} FUZZ_MAX_EXAMPLES={max_examples}):\n{}",
            shown.join("\n")
        );
    }
    let count = |label: &str| {
        let at = report.find(label).unwrap_or_else(|| panic!("no {label:?} in the report:\n{report}")) + label.len();
        report[at..].split_whitespace().next().unwrap_or_default().to_owned()
    };
    let (selected, tested) = (count("Selected:"), count("Tested:"));
    let total = selected.split('/').nth(1).unwrap_or_default();
    assert_eq!(tested, total, "every operation should have been tested ({selected} selected):\n{report}");
}

/// The document itself, without the tool: unique operation ids (a client
/// generator needs them), and every operation documents the error statuses
/// its extractors and the service can produce, each with the `{"detail"}` body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_error_status() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let (status, doc) = app.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let error_body = json!({"$ref": "#/components/schemas/ErrorBody"});
    let mut ids = std::collections::BTreeMap::new();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let name = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name} has no operationId"));
            if let Some(other) = ids.insert(id.to_owned(), name.clone()) {
                panic!("operationId {id:?} of {name} is also that of {other}");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut expected: Vec<&str> = Vec::new();
            if op.get("security").is_some() {
                expected.extend(["401", "503"]);
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if params.iter().any(|p| p["in"] == "path") {
                expected.extend(["404", "422"]);
            }
            if params.iter().any(|p| p["in"] == "query") {
                expected.push("422");
            }
            if path.ends_with("/ws") {
                expected.extend(["400", "426"]);
            }
            for status in expected {
                let response = &op["responses"][status];
                if response.is_null() {
                    missing.push(format!("{name}: {status}"));
                } else {
                    assert_eq!(response["content"]["application/json"]["schema"], error_body, "{name} {status}");
                }
            }
            for (status, header) in [("401", "WWW-Authenticate"), ("429", "Retry-After"), ("503", "Retry-After")] {
                let response = &op["responses"][status];
                if !response.is_null() {
                    assert!(response["headers"][header].is_object(), "{name} {status} documents {header}");
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented error statuses:\n{}", missing.join("\n"));
    // The vocabularies the document names are the ones the service checks.
    use convergeai_alerts::domain::vocab;
    for (name, values) in [
        ("AlertType", vocab::AlertType::NAMES),
        ("Severity", vocab::Severity::NAMES),
        ("RuleType", vocab::RuleType::NAMES),
        ("Channel", vocab::Channel::NAMES),
        ("Priority", vocab::Priority::NAMES),
        ("ComplaintStatus", vocab::ComplaintStatus::NAMES),
    ] {
        assert_eq!(doc["components"]["schemas"][name]["enum"], json!(values), "{name}");
    }
    // Every reference resolves.
    fn refs<'v>(value: &'v Value, found: &mut Vec<&'v str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for target in found {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("external reference {target}"));
        assert!(doc.pointer(pointer).is_some(), "dangling reference {target}");
    }
}

/// Staff of each role, complaints of each priority (critical ones alert in
/// the request), alerts for the admin (live, read, dismissed, expired), a
/// subscription with email so there are delivery rows, then a rule check.
/// Returns the admin's token.
async fn demo_data(app: &TestApp) -> String {
    let (admin_id, admin) = app.staff("admin@example.com", "admin").await;
    let (sup_id, _) = app.staff("supervisor@example.com", "supervisor").await;
    let (agent_id, agent) = app.staff_with("agent@example.com", "agent", Some("supervisor@example.com")).await;
    let sub = json!({"is_enabled": true, "delivery_channels": ["in_app", "email"]});
    for token in [&admin, &agent] {
        let (status, body) = app
            .send(Method::PUT, "/api/v1/alerts/subscriptions/critical_complaint", Some(token), Some(sub.clone()))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let hour = chrono::TimeDelta::hours(1);
    let now = app.app.clock.now();
    for (i, (priority, assignee)) in [
        ("critical", Some(admin_id)),
        ("critical", Some(agent_id)),
        ("high", Some(agent_id)),
        ("medium", Some(sup_id)),
        ("low", None),
        ("critical", None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = json!({
            "title": format!("Complaint {i}"),
            "description": "Payment taken twice",
            "customer_name": "Dana Smith",
            "customer_email": "dana@example.com",
            "priority": priority,
            "sla_deadline": (now + hour * (i as i32 + 1)).to_rfc3339(),
        });
        if let Some(id) = assignee {
            body["assigned_to_staff_id"] = json!(id);
        }
        app.complaint(body).await;
    }
    for (i, (alert_type, severity)) in [
        ("sla_at_risk", "warning"),
        ("sla_breach", "critical"),
        ("critical_complaint", "critical"),
        ("high_workload", "info"),
    ]
    .into_iter()
    .enumerate()
    {
        for age in 0..5 {
            app.alert(admin_id, alert_type, severity, (i * 10 + age) as i64).await;
        }
    }
    app.alert_with(admin_id, "sla_breach", "warning", 300, Some(-5)).await;
    app.alert_with(admin_id, "sla_at_risk", "info", 400, None).await;
    let inbox = app.inbox(admin_id).await;
    let ids: Vec<&Value> = inbox.iter().map(|a| &a["id"]).collect();
    assert!(ids.len() >= 20, "{inbox:?}");
    for id in &ids[..3] {
        assert_eq!(app.put(&format!("/api/v1/alerts/{id}/read"), &admin).await.0, 204);
    }
    for id in &ids[3..5] {
        assert_eq!(app.put(&format!("/api/v1/alerts/{id}/dismiss"), &admin).await.0, 204);
    }
    app.check().await;
    admin
}

/// `$SCHEMATHESIS`, else `schemathesis` on PATH, else the venv
/// `.ci/run` makes; `None` (with the reason printed) when missing and CI is not set.
fn schemathesis() -> Option<PathBuf> {
    let found = match std::env::var_os("SCHEMATHESIS") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let on_path = std::env::split_paths(&path).map(|dir| dir.join("schemathesis")).find(|p| p.is_file());
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
            let venv = cache.map(|c| c.join("convergeai-alerts/venv/bin/schemathesis")).filter(|p| p.is_file());
            on_path.or(venv)
        }
    };
    if found.is_none() {
        let reason = "the fuzz test needs schemathesis (`bash .ci/run` installs it in a venv; or \
                      `pip install schemathesis` and put it on PATH, or point SCHEMATHESIS at it)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{reason}; CI=true requires it to run");
        }
        eprintln!("skipped: {reason}");
    }
    found
}
