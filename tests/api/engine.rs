//! The alert engine against the seed's "Alert Generation" criteria, on every backend.
use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

fn types(alerts: &[Value]) -> Vec<&str> {
    let mut t: Vec<&str> = alerts.iter().map(|a| a["alert_type"].as_str().unwrap()).collect();
    t.sort();
    t
}

/// A team: a supervisor with two agents, and an admin (the harness's).
async fn team(app: &TestApp) -> (i64, i64, i64) {
    let (sup, _) = app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let (b, _) = app.staff_with("b@example.com", "agent", Some("sup@example.com")).await;
    app.admin_token().await;
    (sup, a, b)
}

async fn at_risk_then_breached_each_alert_once(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    let deadline = (app.app.clock.now() + TimeDelta::hours(10)).to_rfc3339();
    let c = app.complaint(json!({"title": "Refund", "customer_name": "Cy", "priority": "high", "assigned_to_staff_id": a, "sla_deadline": deadline})).await;
    assert_eq!(app.check().await, 0, "a fresh complaint is fine");

    app.app.clock.advance(TimeDelta::minutes(7 * 60 + 50)); // 78 %
    assert_eq!(app.check().await, 0, "below the 80 % threshold");
    app.app.clock.advance(TimeDelta::minutes(30)); // 83 %
    assert_eq!(app.check().await, 1, "at risk: the assignee is told");
    assert_eq!(app.check().await, 0, "a second check creates nothing");
    let inbox = app.inbox(a).await;
    assert_eq!(types(&inbox), ["sla_at_risk"]);
    let alert = &inbox[0];
    assert_eq!(
        (alert["severity"].clone(), alert["resource_type"].clone(), alert["resource_id"].clone()),
        (json!("warning"), json!("complaint"), c["id"].clone())
    );
    let message = alert["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("#{}", c["id"])) && message.contains("83%") && message.contains("1 h 39 min left")
            || message.contains("1 h 40 min left"),
        "{message}"
    );
    assert_eq!(alert["alert_metadata"]["rule_name"], "sla_at_risk");

    app.app.clock.advance(TimeDelta::hours(2)); // 20 min late
    assert_eq!(app.check().await, 2, "breached: assignee and supervisor");
    assert_eq!(app.check().await, 0);
    assert_eq!(types(&app.inbox(a).await), ["sla_at_risk", "sla_breach"]);
    let sup_inbox = app.inbox(sup).await;
    assert_eq!(types(&sup_inbox), ["sla_breach"]);
    assert_eq!(sup_inbox[0]["severity"], "critical");
    assert!(sup_inbox[0]["message"].as_str().unwrap().contains("by 20 min"), "{}", sup_inbox[0]["message"]);
    assert!(sup_inbox[0]["message"].as_str().unwrap().contains("assigned to a"), "says whose it is");
    assert!(app.inbox(b).await.is_empty(), "agent B never sees agent A's alerts");
}

async fn critical_complaint_alerts_inside_the_request(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    let (sup2, _) = app.staff("sup2@example.com", "supervisor").await;
    let (gone, _) = app.staff("gone@example.com", "supervisor").await;
    {
        use convergeai_alerts::storage::entities::staff;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        staff::ActiveModel { id: Set(gone), is_active: Set(false), ..Default::default() }
            .update(&app.app.db)
            .await
            .unwrap();
    }
    app.complaint(json!({"title": "Fire", "customer_name": "Cy", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    // No check ran: the request itself raised it.
    assert_eq!(types(&app.inbox(a).await), ["critical_complaint"]);
    assert_eq!(types(&app.inbox(sup).await), ["critical_complaint"]);
    assert!(app.inbox(sup2).await.is_empty(), "only the assignee's supervisor");

    // Unassigned: supervisors and admins, never agents or inactive staff.
    let c = app.complaint(json!({"title": "Flood", "customer_name": "Di", "priority": "critical"})).await;
    let admin_id = convergeai_alerts::storage::staff::by_email(&app.app.db, "harness-admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    for who in [sup, sup2, admin_id] {
        assert!(app.inbox(who).await.iter().any(|x| x["resource_id"] == c["id"]), "staff {who} told");
    }
    assert!(!app.inbox(b).await.iter().any(|x| x["resource_id"] == c["id"]));
    let gone_alerts =
        convergeai_alerts::storage::alerts::live_counts(&app.app.db, gone, app.app.clock.now()).await.unwrap().unread;
    assert_eq!(gone_alerts, 0, "inactive staff never receive alerts");
    assert_eq!(app.check().await, 0, "the periodic check finds them already raised");

    // Raised to critical later: alerts at once too.
    let low = app
        .complaint(json!({"title": "Squeak", "customer_name": "Ed", "priority": "low", "assigned_to_staff_id": b}))
        .await;
    assert!(app.inbox(b).await.is_empty());
    app.patch_complaint(&low["id"], json!({"priority": "critical"})).await;
    assert_eq!(types(&app.inbox(b).await), ["critical_complaint"]);
}

async fn missed_critical_complaints_are_caught_by_the_check(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    // Written by another system, straight into the table.
    use convergeai_alerts::storage::entities::complaint;
    use sea_orm::{
        ActiveModelTrait,
        ActiveValue::{NotSet, Set},
    };
    let now = app.app.clock.now();
    complaint::ActiveModel {
        id: NotSet,
        title: Set("Outage".into()),
        description: Set(String::new()),
        customer_name: Set("Fy".into()),
        customer_email: Set(None),
        priority: Set("critical".into()),
        status: Set("open".into()),
        assigned_to_staff_id: Set(Some(a)),
        sla_deadline: Set(Some(now + TimeDelta::hours(4))),
        created_at: Set(now),
        updated_at: Set(now),
        resolved_at: Set(None),
        external_id: Set(None),
        external_updated_at: Set(None),
        ..Default::default()
    }
    .insert(&app.app.db)
    .await
    .unwrap();
    assert!(app.inbox(a).await.is_empty());
    assert_eq!(app.check().await, 2, "assignee and supervisor");
    assert_eq!(types(&app.inbox(a).await), ["critical_complaint"]);
}

/// A complaint of agent `a` with a 1 h SLA, and the clock moved 2 h on:
/// an hour late.
async fn an_hour_late(app: &TestApp, a: i64) -> Value {
    let deadline = (app.app.clock.now() + TimeDelta::hours(1)).to_rfc3339();
    let c = app
        .complaint(json!({"title": "Late", "customer_name": "G", "assigned_to_staff_id": a, "sla_deadline": deadline}))
        .await;
    app.app.clock.advance(TimeDelta::hours(2));
    c
}

async fn dismissed_alerts_still_count_and_windows_restart(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let c = an_hour_late(&app, a).await;
    assert_eq!(app.check().await, 2);
    let alert = app.inbox(a).await[0]["id"].clone();
    let (status, _) = app.put(&format!("/api/v1/alerts/{alert}/dismiss"), &app.token(a)).await;
    assert_eq!(status, 204);
    assert_eq!(app.check().await, 0, "a dismissed alert still counts for its window");

    app.app.clock.advance(TimeDelta::hours(23));
    assert_eq!(app.check().await, 0, "still inside the 24 h window");
    app.app.clock.advance(TimeDelta::hours(2));
    assert_eq!(app.check().await, 2, "a new window, a new reminder");

    // A moved deadline is a new situation: it alerts again at once, inside the window.
    app.app.clock.advance(TimeDelta::hours(1));
    let moved = (app.app.clock.now() + TimeDelta::minutes(30)).to_rfc3339();
    app.patch_complaint(&c["id"], json!({"sla_deadline": moved})).await;
    assert_eq!(types(&app.inbox(a).await), ["sla_at_risk", "sla_breach"], "the new deadline is {moved}, nearly spent");
    app.app.clock.advance(TimeDelta::hours(1));
    assert_eq!(app.check().await, 2, "breached again against the moved deadline");
    // A priority change restarts the window too.
    app.patch_complaint(&c["id"], json!({"priority": "high"})).await;
    assert_eq!(app.check().await, 0, "already raised by the PATCH itself");
    let breaches = app.inbox(a).await.iter().filter(|x| x["alert_type"] == "sla_breach").count();
    assert_eq!(breaches, 3, "one per window or version");
}

/// A database from before `m0007` kept its windows in `alert_dedup`: the
/// migration marks the latest alert of each key as holding the window (with
/// the key's version) and drops the table, so nothing is raised again
/// inside a window, and a changed deadline still starts a new one.
async fn dedup_table_migrates_into_alerts(backend: Backend) {
    use sea_orm::sea_query::{ColumnDef, Index, Table};
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let c = an_hour_late(&app, a).await;
    assert_eq!(app.check().await, 2, "assignee and supervisor");
    app.app.clock.advance(TimeDelta::hours(1));
    assert_eq!(app.check().await, 0);

    // Back to the old layout: the windows in `alert_dedup`, none in `alerts`.
    let db = &app.app.db;
    let b = db.get_database_backend();
    let dedup = Table::create()
        .table("alert_dedup")
        .col(ColumnDef::new("id").big_integer().not_null().primary_key())
        .col(ColumnDef::new("alert_type").string_len(50).not_null())
        .col(ColumnDef::new("resource_type").string_len(50).not_null())
        .col(ColumnDef::new("resource_id").big_integer().not_null())
        .col(ColumnDef::new("recipient_staff_id").big_integer().not_null())
        .col(ColumnDef::new("window_start").timestamp_with_time_zone().not_null())
        .col(ColumnDef::new("version").string_len(100).not_null())
        .col(ColumnDef::new("claimed_by").string_len(40).not_null())
        .take();
    db.execute(&dedup).await.unwrap();
    let run = |sql: &'static str| db.execute_raw(Statement::from_string(b, sql));
    run("INSERT INTO alert_dedup SELECT id, alert_type, resource_type, resource_id, assigned_to_staff_id, \
         created_at, dedup_version, 'old' FROM alerts")
    .await
    .unwrap();
    // A second alert of A's key (as an earlier window leaves): one takes the window.
    let copy = format!(
        "INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, \
         is_read, is_dismissed, created_at) SELECT alert_type, severity, title, message, resource_type, resource_id, \
         assigned_to_staff_id, is_read, is_dismissed, created_at FROM alerts WHERE assigned_to_staff_id = {a}"
    );
    db.execute_raw(Statement::from_string(b, copy)).await.unwrap();
    run("UPDATE alerts SET dedup_open = NULL, dedup_version = NULL, check_run = NULL").await.unwrap();
    db.execute(&Index::drop().name("idx_alerts_dedup").table("alerts").to_owned()).await.unwrap();
    run("DELETE FROM seaql_migrations WHERE version = 'm0007_dedup_in_alerts'").await.unwrap();
    convergeai_alerts::storage::migrate(db).await.unwrap();

    let open = db
        .query_one_raw(Statement::from_string(
            b,
            "SELECT COUNT(*) AS n FROM alerts WHERE dedup_open = 1 AND dedup_version IS NOT NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.try_get::<i64>("", "n").unwrap(), 2, "one open window per key, with its version");
    let schema = sea_orm_migration::SchemaManager::new(db);
    assert!(!schema.has_table("alert_dedup").await.unwrap(), "alert_dedup is dropped");
    assert_eq!(app.check().await, 0, "the migrated windows hold");
    let moved = (app.app.clock.now() + TimeDelta::minutes(30)).to_rfc3339();
    app.patch_complaint(&c["id"], json!({"sla_deadline": moved})).await;
    app.app.clock.advance(TimeDelta::hours(1));
    assert_eq!(app.check().await, 2, "breached against the moved deadline: a new window");
    let breaches = app.inbox(a).await.iter().filter(|x| x["alert_type"] == "sla_breach").count();
    assert_eq!(breaches, 3, "the first window's, its copy, and the moved deadline's");
}

async fn resolving_expires_live_alerts(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, _) = team(&app).await;
    let deadline = (app.app.clock.now() + TimeDelta::hours(1)).to_rfc3339();
    let c = app.complaint(json!({"title": "Late", "customer_name": "G", "assigned_to_staff_id": a, "priority": "critical", "sla_deadline": deadline})).await;
    let other = app
        .complaint(json!({"title": "Other", "customer_name": "H", "assigned_to_staff_id": a, "sla_deadline": deadline}))
        .await;
    app.app.clock.advance(TimeDelta::hours(2));
    app.check().await;
    assert_eq!(app.inbox(a).await.len(), 3, "critical + 2 breaches");
    app.patch_complaint(&c["id"], json!({"status": "resolved"})).await;
    let left = app.inbox(a).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["resource_id"], other["id"]);
    let (_, list) = app.get("/api/v1/alerts", &app.token(a)).await;
    assert_eq!(
        (list["total"].clone(), list["unread_count"].clone(), list["alerts"].as_array().map(Vec::len)),
        (json!(1), json!(1), Some(1)),
        "the first page drops them at once"
    );
    assert_eq!(app.get("/api/v1/alerts/unread/count", &app.token(sup)).await.1["unread_count"], 1);
    assert_eq!(app.check().await, 0, "resolved complaints raise nothing");
}

async fn workload_alert_above_threshold(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    for i in 0..10 {
        app.complaint(json!({"title": format!("c{i}"), "customer_name": "x", "assigned_to_staff_id": a})).await;
    }
    assert_eq!(app.check().await, 0, "10 is not above the threshold of 10");
    let last = app.complaint(json!({"title": "c10", "customer_name": "x", "assigned_to_staff_id": a})).await;
    let inbox = app.inbox(a).await;
    assert_eq!(types(&inbox), ["high_workload"], "raised by the write that crossed the threshold");
    assert_eq!((inbox[0]["resource_type"].clone(), inbox[0]["resource_id"].clone()), (json!("staff"), json!(a)));
    assert!(inbox[0]["message"].as_str().unwrap().contains("11 open complaints"));
    assert_eq!(types(&app.inbox(sup).await), ["high_workload"]);
    assert!(app.inbox(b).await.is_empty());
    assert_eq!(app.check().await, 0);
    // Resolved complaints do not count.
    app.patch_complaint(&last["id"], json!({"status": "resolved"})).await;
    app.app.clock.advance(TimeDelta::hours(25));
    assert_eq!(app.check().await, 0);
}

async fn rules_drive_the_engine(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let admin = app.admin_token().await;
    // Disabled: nothing. Re-enabled with a lower threshold: alerts.
    app.put("/api/v1/alerts/rules/4/disable", &admin).await;
    for i in 0..3 {
        app.complaint(json!({"title": format!("c{i}"), "customer_name": "x", "assigned_to_staff_id": a})).await;
    }
    assert_eq!(app.check().await, 0);
    let body = json!({"is_enabled": true, "conditions": {"metric": "open_assigned_complaints", "threshold": 2},
                      "alert_config": {"alert_type": "high_workload", "severity": "critical", "recipients": ["assignee"], "expires_after_hours": 2}});
    let (status, _) = app.send(reqwest::Method::PATCH, "/api/v1/alerts/rules/4", Some(&admin), Some(body)).await;
    assert_eq!(status, 200);
    let (status, report) = app.send(reqwest::Method::POST, "/api/v1/alerts/check", Some(&admin), None).await;
    assert_eq!(status, 200);
    assert_eq!(report["total_created"], 1);
    let workload =
        report["results"].as_array().unwrap().iter().find(|r| r["rule_name"] == "high_workload_warning").unwrap();
    assert_eq!(workload["alerts_created"], 1);
    let inbox = app.inbox(a).await;
    assert_eq!(inbox[0]["severity"], "critical");
    let (created, expires) = (inbox[0]["created_at"].as_str().unwrap(), inbox[0]["expires_at"].as_str().unwrap());
    let span =
        chrono::DateTime::parse_from_rfc3339(expires).unwrap() - chrono::DateTime::parse_from_rfc3339(created).unwrap();
    assert_eq!(span, TimeDelta::hours(2), "expires_at from the rule");
    app.app.clock.advance(TimeDelta::hours(3));
    assert!(app.inbox(a).await.is_empty(), "expired alerts leave the inbox");
    // The check endpoint is for alerts.manage only.
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/alerts/check", Some(&app.token(a)), None).await.0, 403);
}

/// The durations in messages are built in SQL, per dialect: the same wording everywhere.
async fn messages_say_how_late_in_days_hours_and_minutes(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let now = app.app.clock.now();
    let mut expected = Vec::new();
    for (minutes, late) in [(60, "2 d 4 h"), (280, "2 d."), (2980, "3 h 20 min"), (3120, "1 h.")] {
        let deadline = (now + TimeDelta::minutes(minutes)).to_rfc3339();
        let c = app
            .complaint(
                json!({"title": "Slow", "customer_name": "Jo", "assigned_to_staff_id": a, "sla_deadline": deadline}),
            )
            .await;
        expected.push((c["id"].clone(), late));
    }
    app.app.clock.advance(TimeDelta::hours(53));
    app.check().await;
    let inbox = app.inbox(a).await;
    for (id, late) in expected {
        let breach = inbox
            .iter()
            .find(|x| x["resource_id"] == id && x["alert_type"] == "sla_breach")
            .unwrap_or_else(|| panic!("no breach alert for {id}: {inbox:?}"));
        let message = breach["message"].as_str().unwrap();
        assert!(message.contains(&format!("by {late}")), "{message} should say by {late}");
        assert!(message.contains(&format!("#{id} \"Slow\"")) && message.contains("assigned to a"), "{message}");
        assert_eq!(breach["alert_metadata"]["complaint_id"], id);
    }
}

/// A check that creates more alerts than it announces one by one
/// (`ANNOUNCE_ROWS`) tells each inbox it filled to resync, once: no one
/// else, and not a recipient whose alerts are born dismissed (in-app off).
async fn a_bulk_check_resyncs_exactly_the_inboxes_it_filled(backend: Backend) {
    use convergeai_alerts::domain::events::Change;
    use convergeai_alerts::storage::engine::ANNOUNCE_ROWS;
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    let admin = app.admin_token().await;
    for rule in [1, 2, 4] {
        let (status, body) = app.put(&format!("/api/v1/alerts/rules/{rule}/disable"), &admin).await;
        assert_eq!(status, 200, "{body}");
    }
    let in_app_off = json!({"is_enabled": true, "delivery_channels": ["email"]});
    let path = "/api/v1/alerts/subscriptions/critical_complaint";
    let (status, body) = app.send(reqwest::Method::PUT, path, Some(&app.token(sup)), Some(in_app_off)).await;
    assert_eq!(status, 200, "{body}");
    let complaints = ANNOUNCE_ROWS as usize + 1;
    app.breached_complaints(complaints, "critical", &[a]).await;
    let mut feed = app.app.events.subscribe();
    let created = app.check().await;
    assert!(created > ANNOUNCE_ROWS, "a bulk run: {created} alerts");
    let mut resynced = Vec::new();
    while let Ok(event) = feed.try_recv() {
        match &event.change {
            Change::Resync => resynced.push(event.staff_id),
            Change::Created { .. } => panic!("a bulk run announces no alert one by one"),
            _ => {}
        }
    }
    resynced.sort_unstable();
    assert_eq!(resynced, [a], "the agent's inbox, once; not the supervisor's (in-app off) nor b's ({b}: none)");
    assert_eq!(app.inbox(a).await.len(), 100, "the agent's inbox holds them (first page)");
    assert!(app.inbox(sup).await.is_empty(), "the supervisor's were born dismissed");
}

on_all_backends!(
    a_bulk_check_resyncs_exactly_the_inboxes_it_filled,
    at_risk_then_breached_each_alert_once,
    critical_complaint_alerts_inside_the_request,
    missed_critical_complaints_are_caught_by_the_check,
    dismissed_alerts_still_count_and_windows_restart,
    dedup_table_migrates_into_alerts,
    resolving_expires_live_alerts,
    workload_alert_above_threshold,
    rules_drive_the_engine,
    messages_say_how_late_in_days_hours_and_minutes,
);
