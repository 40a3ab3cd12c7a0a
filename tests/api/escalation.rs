//! Acknowledgement and escalation (SPEC 9): one recipient acknowledges the
//! event for all, live; the complaint's progress resolves it; escalation
//! policies and their steps.
use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, ws_connect, ws_next};
use crate::{on_all_backends, spawn_app};

/// A supervisor with two agents, and the harness's admin.
async fn team(app: &TestApp) -> (i64, i64, i64) {
    let (sup, _) = app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let (b, _) = app.staff_with("b@example.com", "agent", Some("sup@example.com")).await;
    app.admin_token().await;
    (sup, a, b)
}

fn of_type<'a>(inbox: &'a [Value], alert_type: &str) -> &'a Value {
    inbox.iter().find(|a| a["alert_type"] == alert_type).unwrap_or_else(|| panic!("no {alert_type} in {inbox:?}"))
}

/// A complaint assigned to `a` whose deadline passed an hour ago (checked: breach alerts out).
async fn breached(app: &TestApp, a: i64) -> Value {
    let deadline = (app.app.clock.now() + TimeDelta::hours(1)).to_rfc3339();
    let c = app
        .complaint(
            json!({"title": "Router", "customer_name": "Cy", "assigned_to_staff_id": a, "sla_deadline": deadline}),
        )
        .await;
    app.app.clock.advance(TimeDelta::hours(2));
    app.check().await;
    c
}

async fn acknowledging_one_copy_acknowledges_the_event_for_all(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    breached(&app, a).await;
    let mine = of_type(&app.inbox(a).await, "sla_breach").clone();
    let theirs = of_type(&app.inbox(sup).await, "sla_breach").clone();
    assert_eq!((mine["acknowledged_at"].clone(), mine["acknowledged_by"].clone()), (Value::Null, Value::Null));
    assert_eq!(mine["escalation_step"], 0);
    let mut sup_tab = ws_connect(&app.base, &app.token(sup)).await;
    assert_eq!(ws_next(&mut sup_tab, 5).await["type"], "unread_count");

    // Someone else's alert: not found, and nothing changes.
    let path = format!("/api/v1/alerts/{}/acknowledge", theirs["id"]);
    assert_eq!(app.put(&path, &app.token(b)).await.0, 404);
    assert_eq!(app.put(&path, &app.token(a)).await.0, 404, "the assignee's copy is another alert");
    assert_eq!(app.put("/api/v1/alerts/999999/acknowledge", &app.token(a)).await.0, 404);

    let path = format!("/api/v1/alerts/{}/acknowledge", mine["id"]);
    assert_eq!(app.put(&path, &app.token(a)).await.0, 204);
    let pushed = ws_next(&mut sup_tab, 5).await;
    assert_eq!(
        (pushed["type"].clone(), pushed["alert"]["id"].clone(), pushed["alert"]["acknowledged_by"].clone()),
        (json!("alert.updated"), theirs["id"].clone(), json!({"id": a, "full_name": "a"}))
    );
    for (staff, id) in [(a, &mine["id"]), (sup, &theirs["id"])] {
        let (status, alert) = app.get(&format!("/api/v1/alerts/{id}"), &app.token(staff)).await;
        assert_eq!(status, 200, "{alert}");
        assert_eq!(alert["acknowledged_by"], json!({"id": a, "full_name": "a"}));
        assert!(alert["acknowledged_at"].is_string(), "{alert}");
    }
    let (_, sup_copy) = app.get(&format!("/api/v1/alerts/{}", theirs["id"]), &app.token(sup)).await;
    assert_eq!(sup_copy["is_read"], false, "acknowledging marks nothing read for the others");

    // Again, by either: a no-op; the first acknowledgement stays.
    let first_at = sup_copy["acknowledged_at"].clone();
    app.app.clock.advance(TimeDelta::minutes(5));
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", theirs["id"]), &app.token(sup)).await.0, 204);
    assert_eq!(app.put(&path, &app.token(a)).await.0, 204);
    let (_, again) = app.get(&format!("/api/v1/alerts/{}", theirs["id"]), &app.token(sup)).await;
    assert_eq!((again["acknowledged_at"].clone(), again["acknowledged_by"]["id"].clone()), (first_at, json!(a)));

    // The filter.
    let acked = |staff: i64, flag: bool| {
        let app = &app;
        async move {
            let (status, page) = app.get(&format!("/api/v1/alerts?acknowledged={flag}"), &app.token(staff)).await;
            assert_eq!(status, 200, "{page}");
            page["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(acked(sup, true).await, [theirs["id"].as_i64().unwrap()]);
    assert!(acked(sup, false).await.is_empty());
    assert_eq!(app.get("/api/v1/alerts?acknowledged=maybe", &app.token(sup)).await.0, 422);
}

async fn events_of_rules_without_a_policy_begin_at_the_first_acknowledgement(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    // The critical-complaint rule has no escalation policy: its alerts have no event until acknowledged.
    let c = app
        .complaint(json!({"title": "Fire", "customer_name": "Cy", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let mine = of_type(&app.inbox(a).await, "critical_complaint").clone();
    let theirs = of_type(&app.inbox(sup).await, "critical_complaint").clone();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", theirs["id"]), &app.token(sup)).await.0, 204);
    let (_, copy) = app.get(&format!("/api/v1/alerts/{}", mine["id"]), &app.token(a)).await;
    assert_eq!(copy["acknowledged_by"]["id"], sup, "{copy}");
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", mine["id"]), &app.token(a)).await.0, 204);
    let (_, copy) = app.get(&format!("/api/v1/alerts/{}", theirs["id"]), &app.token(sup)).await;
    assert_eq!(copy["acknowledged_by"]["id"], sup, "the first acknowledgement stays");
    // A recipient added later joins the acknowledged event.
    app.patch_complaint(&c["id"], json!({"assigned_to_staff_id": b})).await;
    assert_eq!(of_type(&app.inbox(b).await, "critical_complaint")["acknowledged_by"]["id"], sup);
    let (_, view) = app.get(&format!("/api/v1/alerts/{}/escalation", mine["id"]), &app.token(a)).await;
    assert_eq!((view["policy"].clone(), view["next_step_at"].clone()), (Value::Null, Value::Null), "{view}");
    assert_eq!(view["steps"][0]["alerts"].as_array().map(Vec::len), Some(3), "{view}");
}

async fn a_recipient_added_later_joins_the_acknowledged_event(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, b) = team(&app).await;
    let c = breached(&app, a).await;
    let mine = of_type(&app.inbox(a).await, "sla_breach").clone();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", mine["id"]), &app.token(a)).await.0, 204);
    // Reassigned: b gets the breach now, as part of the same (acknowledged) event.
    app.patch_complaint(&c["id"], json!({"assigned_to_staff_id": b})).await;
    let bs = of_type(&app.inbox(b).await, "sla_breach").clone();
    assert_eq!(bs["acknowledged_by"]["id"], a, "{bs}");
    // Named as on the first copy (the insert takes the name with the event).
    let (_, acked) = app.get(&format!("/api/v1/alerts/{}", mine["id"]), &app.token(a)).await;
    let name = &acked["acknowledged_by"]["full_name"];
    assert!(name.as_str().is_some_and(|n| !n.is_empty()), "{acked}");
    assert_eq!(
        (&bs["acknowledged_by"]["full_name"], &bs["acknowledged_at"]),
        (name, &acked["acknowledged_at"]),
        "{bs}"
    );
}

async fn the_complaint_resolves_its_events(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, _) = team(&app).await;
    let c = breached(&app, a).await;
    let breach = of_type(&app.inbox(a).await, "sla_breach").clone();
    assert_eq!(breach["resolved_at"], Value::Null);
    // A new deadline in the future resolves the breach; it stays in the inbox as history.
    let later = (app.app.clock.now() + TimeDelta::hours(3)).to_rfc3339();
    app.patch_complaint(&c["id"], json!({"sla_deadline": later})).await;
    let now = of_type(&app.inbox(a).await, "sla_breach").clone();
    assert_eq!(now["id"], breach["id"]);
    assert!(now["resolved_at"].is_string(), "{now}");
    assert!(of_type(&app.inbox(sup).await, "sla_breach")["resolved_at"].is_string());

    // Resolving the complaint resolves (and, SPEC 5, expires) its alerts.
    let d = breached(&app, a).await;
    let id = app.inbox(a).await.iter().find(|x| x["resource_id"] == d["id"]).unwrap()["id"].clone();
    app.patch_complaint(&d["id"], json!({"status": "resolved"})).await;
    let (_, alert) = app.get(&format!("/api/v1/alerts/{id}"), &app.token(a)).await;
    assert!(alert["resolved_at"].is_string(), "{alert}");
    assert_eq!(alert["resolved_at"], alert["expires_at"]);
}

async fn a_first_response_resolves_first_response_events(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let admin = app.admin_token().await;
    // The seeded first-response rules, enabled, on a policy with a 30-minute target.
    let body = json!({"name": "fast", "position": 1, "match": {"priorities": ["high"]},
                      "targets": {"first_response_minutes": 30, "resolution_minutes": 600}});
    assert_eq!(app.send(Method::POST, "/api/v1/sla/policies", Some(&admin), Some(body)).await.0, 201);
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    for rule in rules.as_array().unwrap().iter().filter(|r| r["rule_type"] == "first_response") {
        assert_eq!(app.put(&format!("/api/v1/alerts/rules/{}/enable", rule["id"]), &admin).await.0, 200);
    }
    let c = app
        .complaint(json!({"title": "Slow", "customer_name": "Di", "priority": "high", "assigned_to_staff_id": a}))
        .await;
    app.app.clock.advance(TimeDelta::minutes(45));
    app.check().await;
    let late = of_type(&app.inbox(a).await, "first_response_breach").clone();
    assert_eq!(late["resolved_at"], Value::Null);
    app.patch_complaint(&c["id"], json!({"first_responded": true})).await;
    let (_, late) = app.get(&format!("/api/v1/alerts/{}", late["id"]), &app.token(a)).await;
    assert!(late["resolved_at"].is_string(), "{late}");
}

async fn policies_api_validates_and_guards_use(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (_, agent) = app.staff("agent@example.com", "agent").await;
    let (status, list) = app.get("/api/v1/escalation-policies", &admin).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["name"], "breach-default");
    assert_eq!(
        list[0]["steps"][0],
        json!({"after_minutes": 30, "targets": ["assignee_supervisor"], "working_hours_only": false})
    );
    assert_eq!(app.get("/api/v1/escalation-policies", &agent).await.0, 403, "alerts.manage only");
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    let breach = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == "sla_breach_critical").unwrap().clone();
    assert_eq!(breach["alert_config"]["escalation_policy"], "breach-default");

    let post = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.send(Method::POST, "/api/v1/escalation-policies", Some(admin), Some(body)).await }
    };
    for (body, field) in [
        (json!({"name": "x", "steps": []}), "steps"),
        (json!({"name": "x", "steps": [{"after_minutes": -1, "targets": ["assignee"]}]}), "steps[0].after_minutes"),
        (json!({"name": "x", "steps": [{"after_minutes": 5, "targets": ["boss"]}]}), "steps[0].targets"),
        (json!({"name": "x", "steps": [{"after_minutes": 5, "targets": ["staff:nobody"]}]}), "steps[0].targets"),
        (
            json!({"name": "x", "steps": [{"after_minutes": 10, "targets": ["assignee"]}, {"after_minutes": 5, "targets": ["role:admin"]}]}),
            "steps[1].after_minutes",
        ),
        (
            json!({"name": "x", "steps": [{"after_minutes": 5, "targets": ["assignee"]}], "repeat": {"times": 0, "after_minutes": 5}}),
            "repeat",
        ),
        (
            json!({"name": "x", "steps": [{"after_minutes": 5, "targets": ["assignee"]}], "ack_timeout_minutes": 0}),
            "ack_timeout_minutes",
        ),
        (json!({"name": " ", "steps": [{"after_minutes": 5, "targets": ["assignee"]}]}), "name"),
    ] {
        let (status, err) = post(body.clone()).await;
        assert_eq!(status, 422, "{body} → {err}");
        assert!(err["detail"].as_str().unwrap().contains(field), "{body} → {err}");
    }
    let body = json!({"name": "night", "steps": [{"after_minutes": 0, "targets": ["role:supervisor", "staff:agent@example.com"], "working_hours_only": true}],
                      "repeat": {"times": 2, "after_minutes": 15}, "ack_timeout_minutes": 60});
    let (status, created) = post(body.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["repeat"], json!({"times": 2, "after_minutes": 15}));
    assert_eq!(post(body).await.0, 409, "names are unique");
    let path = format!("/api/v1/escalation-policies/{}", created["id"]);
    let (status, changed) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"repeat": null}))).await;
    assert_eq!(
        (status, changed["repeat"].clone(), changed["ack_timeout_minutes"].clone()),
        (200, Value::Null, json!(60))
    );
    let (status, err) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"name": null}))).await;
    assert_eq!(status, 422, "{err}");

    // A rule may only name a policy that exists; a named policy cannot go.
    let rule_path = format!("/api/v1/alerts/rules/{}", breach["id"]);
    let mut config = breach["alert_config"].clone();
    config["escalation_policy"] = json!("nope");
    let (status, err) = app.send(Method::PATCH, &rule_path, Some(&admin), Some(json!({"alert_config": config}))).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["detail"].as_str().unwrap().contains("alert_config.escalation_policy"), "{err}");
    let seeded = format!("/api/v1/escalation-policies/{}", list[0]["id"]);
    let (status, err) = app.send(Method::DELETE, &seeded, Some(&admin), None).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["detail"].as_str().unwrap().contains("sla_breach_critical"), "{err}");
    assert_eq!(app.send(Method::DELETE, &path, Some(&admin), None).await.0, 204);
    assert_eq!(app.get(&path, &admin).await.0, 404);
}

/// Points the breach rule at a new policy with these fields; returns the policy.
async fn breach_policy(app: &TestApp, policy: Value) -> Value {
    let admin = app.admin_token().await;
    let (status, created) = app.send(Method::POST, "/api/v1/escalation-policies", Some(&admin), Some(policy)).await;
    assert_eq!(status, 201, "{created}");
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    let rule = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == "sla_breach_critical").unwrap().clone();
    let mut config = rule["alert_config"].clone();
    config["escalation_policy"] = created["name"].clone();
    let path = format!("/api/v1/alerts/rules/{}", rule["id"]);
    let (status, body) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"alert_config": config}))).await;
    assert_eq!(status, 200, "{body}");
    created
}

async fn tick(app: &TestApp) -> u64 {
    convergeai_alerts::domain::escalation::tick(&app.app).await.expect("escalation tick")
}

/// The breach alerts of `staff` about complaint `c`: (escalation step, acknowledged).
async fn breaches(app: &TestApp, staff: i64, c: &Value) -> Vec<(i64, bool)> {
    app.inbox(staff)
        .await
        .iter()
        .filter(|a| a["alert_type"] == "sla_breach" && a["resource_id"] == c["id"])
        .map(|a| (a["escalation_step"].as_i64().unwrap(), a["acknowledged_at"].is_string()))
        .collect()
}

async fn steps_fire_at_their_times_once_each(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, b) = team(&app).await;
    let admin = app.staff_id("harness-admin@example.com").await;
    breach_policy(
        &app,
        json!({"name": "climb", "steps": [
            {"after_minutes": 10, "targets": ["role:admin"]},
            {"after_minutes": 20, "targets": ["staff:b@example.com", "assignee_supervisor"]}
        ]}),
    )
    .await;
    let c = breached(&app, a).await;
    assert_eq!(breaches(&app, sup, &c).await, [(0, false)], "the rule's own recipients at once");
    app.app.clock.advance(TimeDelta::minutes(9));
    assert_eq!(tick(&app).await, 0, "step 1 is not due yet");
    assert!(breaches(&app, admin, &c).await.is_empty());
    app.app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(tick(&app).await, 1, "step 1: the admin");
    assert_eq!(breaches(&app, admin, &c).await, [(1, false)]);
    assert_eq!(tick(&app).await, 0, "once");
    app.app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(tick(&app).await, 1, "step 2: b; the supervisor had it already");
    assert_eq!(breaches(&app, b, &c).await, [(2, false)]);
    let step2 = app.inbox(b).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    assert_eq!(step2["alert_metadata"]["escalation_step"], 2, "{step2}");
    assert_eq!(step2["title"], format!("SLA breached: Router (#{})", c["id"]), "titles name the complaint's subject");
    assert_eq!(step2["alert_metadata"]["complaint_id"], c["id"], "the rule's metadata kept");
    assert_eq!(breaches(&app, sup, &c).await, [(0, false)], "nobody gets the same event twice");
    // Reading it: the policy it began with, who each step told and when, what comes next.
    let copy = app.inbox(sup).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    let path = format!("/api/v1/alerts/{}/escalation", copy["id"]);
    let (status, view) = app.get(&path, &app.token(sup)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["policy"]["name"], "climb");
    let staff_of = |step: usize| -> Vec<i64> {
        let mut ids: Vec<i64> =
            view["steps"][step]["alerts"].as_array().unwrap().iter().map(|a| a["staff_id"].as_i64().unwrap()).collect();
        ids.sort();
        ids
    };
    assert_eq!(staff_of(0), {
        let mut v = vec![a, sup];
        v.sort();
        v
    });
    assert_eq!(staff_of(1), [admin]);
    assert_eq!(staff_of(2), [b]);
    assert_eq!(view["steps"][2]["after_minutes"], 20);
    assert!(view["steps"][1]["fired_at"].is_string(), "{view}");
    assert_eq!((view["next_step_at"].clone(), view["acknowledged_at"].clone()), (Value::Null, Value::Null));
    assert_eq!(app.get(&path, &app.token(b)).await.0, 404, "another recipient's copy");

    app.app.clock.advance(TimeDelta::hours(5));
    assert_eq!(tick(&app).await, 0, "no step left");
    assert_eq!(app.check().await, 0, "the rule does not alert the step's recipients again");

    // An acknowledged event climbs no further.
    let d = breached(&app, a).await;
    let mine = app.inbox(a).await.into_iter().find(|x| x["resource_id"] == d["id"]).unwrap();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", mine["id"]), &app.token(a)).await.0, 204);
    app.app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(tick(&app).await, 0);
    assert!(breaches(&app, admin, &d).await.is_empty());
    // A resolved one neither.
    let e = breached(&app, a).await;
    app.patch_complaint(&e["id"], json!({"status": "closed"})).await;
    app.app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(tick(&app).await, 0);
}

async fn repeats_and_acknowledgement_timeouts(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let admin = app.staff_id("harness-admin@example.com").await;
    breach_policy(
        &app,
        json!({"name": "nag", "steps": [{"after_minutes": 10, "targets": ["role:admin"]}],
               "repeat": {"times": 1, "after_minutes": 15}, "ack_timeout_minutes": 30}),
    )
    .await;
    let c = breached(&app, a).await;
    app.app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(tick(&app).await, 1);
    // The repeat, 15 minutes on: the step again, nobody twice.
    app.app.clock.advance(TimeDelta::minutes(15));
    assert_eq!(tick(&app).await, 0);
    assert_eq!(breaches(&app, admin, &c).await, [(1, false)]);

    // Acknowledged, then nothing done for 30 minutes: unacknowledged again, from the first step.
    let mine = app.inbox(a).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", mine["id"]), &app.token(a)).await.0, 204);
    assert_eq!(breaches(&app, admin, &c).await, [(1, true)]);
    app.app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(tick(&app).await, 0);
    assert_eq!(breaches(&app, admin, &c).await, [(1, true)]);
    app.app.clock.advance(TimeDelta::minutes(1));
    tick(&app).await;
    assert_eq!(breaches(&app, admin, &c).await, [(1, false)], "the acknowledgement timed out");
    assert_eq!(breaches(&app, a, &c).await, [(0, false)]);
}

async fn racing_ticks_fire_each_step_once(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    for i in 0..3 {
        app.staff(&format!("boss{i}@example.com"), "admin").await;
    }
    breach_policy(&app, json!({"name": "all", "steps": [{"after_minutes": 5, "targets": ["role:admin"]}]})).await;
    let mut complaints = Vec::new();
    for _ in 0..5 {
        complaints.push(breached(&app, a).await);
    }
    app.app.clock.advance(TimeDelta::minutes(5));
    let ticks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.app.clone();
            tokio::spawn(async move { convergeai_alerts::domain::escalation::tick(&app).await })
        })
        .collect();
    let mut created = 0;
    for t in ticks {
        created += t.await.unwrap().expect("tick");
    }
    assert_eq!(created, 5 * 4, "5 events, 4 admins each, once");
    let admin = app.staff_id("boss0@example.com").await;
    for c in &complaints {
        assert_eq!(breaches(&app, admin, c).await, [(1, false)]);
    }
}

async fn working_hours_steps_wait_for_working_time(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, _) = team(&app).await;
    let admin_id = app.staff_id("harness-admin@example.com").await;
    let admin = app.admin_token().await;
    // Working hours 09:00–17:00 UTC on weekdays; the clock starts at a known time.
    let day = json!([["09:00", "17:00"]]);
    let cal = json!({"name": "office", "time_zone": "UTC", "weekly_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}});
    let (status, cal) = app.send(Method::POST, "/api/v1/sla/calendars", Some(&admin), Some(cal)).await;
    assert_eq!(status, 201, "{cal}");
    let body = json!({"name": "office", "position": 1, "match": {"priorities": ["medium"]}, "calendar_id": cal["id"],
                      "targets": {"resolution_minutes": 600}});
    assert_eq!(app.send(Method::POST, "/api/v1/sla/policies", Some(&admin), Some(body)).await.0, 201);
    breach_policy(
        &app,
        json!({"name": "daytime", "steps": [{"after_minutes": 10, "targets": ["role:admin"], "working_hours_only": true}]}),
    )
    .await;
    // Friday 16:00 UTC: the deadline passes at 16:30 (explicit), the step is due at 16:50… then 17:00 closes.
    let friday = chrono::DateTime::parse_from_rfc3339("2027-01-08T16:00:00Z").unwrap().to_utc();
    let now = app.app.clock.now();
    if friday > now {
        app.app.clock.advance(friday - now);
    }
    let deadline = (app.app.clock.now() + TimeDelta::minutes(30)).to_rfc3339();
    let c = app
        .complaint(json!({"title": "Late", "customer_name": "E", "assigned_to_staff_id": a, "sla_deadline": deadline}))
        .await;
    app.app.clock.advance(TimeDelta::minutes(55)); // 16:55: breached at 16:30
    app.check().await;
    app.app.clock.advance(TimeDelta::minutes(10)); // 17:05: the step is due, the office closed
    assert_eq!(tick(&app).await, 0, "it waits for Monday 09:00");
    assert!(breaches(&app, admin_id, &c).await.is_empty());
    app.app.clock.advance(TimeDelta::days(2)); // Sunday 17:05
    assert_eq!(tick(&app).await, 0);
    app.app.clock.advance(TimeDelta::hours(16)); // Monday 09:05
    assert_eq!(tick(&app).await, 1);
    assert_eq!(breaches(&app, admin_id, &c).await, [(1, false)]);
}

on_all_backends!(
    events_of_rules_without_a_policy_begin_at_the_first_acknowledgement,
    stats_give_time_to_acknowledge_and_steps_reached,
    ack_links_work_once_and_only_by_button,
    steps_fire_at_their_times_once_each,
    bulk_inserts_keep_the_statistics,
    repeats_and_acknowledgement_timeouts,
    racing_ticks_fire_each_step_once,
    working_hours_steps_wait_for_working_time,
    acknowledging_one_copy_acknowledges_the_event_for_all,
    a_recipient_added_later_joins_the_acknowledged_event,
    the_complaint_resolves_its_events,
    a_first_response_resolves_first_response_events,
    policies_api_validates_and_guards_use,
);

async fn ack_links_work_once_and_only_by_button(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, _) = team(&app).await;
    let c = breached(&app, a).await;
    let mine = app.inbox(a).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    let id = mine["id"].as_i64().unwrap();
    let links = &app.app.auth.ack_links;
    let token = links.sign(id, a, app.app.clock.now() + TimeDelta::hours(1));
    let page = |method: Method, token: String| {
        let app = &app;
        async move {
            let resp = app.client.request(method, app.url(&format!("/ack/{token}"))).send().await.unwrap();
            let status = resp.status().as_u16();
            let csp = resp.headers().get("content-security-policy").is_some();
            (status, resp.text().await.unwrap(), csp)
        }
    };
    let acknowledged = || async {
        let (_, alert) = app.get(&format!("/api/v1/alerts/{id}"), &app.token(a)).await;
        alert["acknowledged_by"]["id"].as_i64()
    };

    // Following the link (a mail scanner would) shows a button and changes nothing.
    let (status, html, csp) = page(Method::GET, token.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(csp, "the console's security headers");
    assert!(html.contains("<form method=\"post\"") && html.contains("Router"), "{html}");
    assert_eq!(acknowledged().await, None);

    // One character altered, a token for someone else's alert, an expired one: nothing.
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let theirs = app.inbox(sup).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    let not_theirs = links.sign(theirs["id"].as_i64().unwrap(), a, app.app.clock.now() + TimeDelta::hours(1));
    let expired = links.sign(id, a, app.app.clock.now() - TimeDelta::seconds(1));
    for (token, want, words) in [
        (altered, 404, "not valid"),
        (not_theirs, 404, "not valid"),
        (expired, 410, "expired"),
        ("x".repeat(5000), 404, "not valid"),
    ] {
        for method in [Method::GET, Method::POST] {
            let (status, html, _) = page(method.clone(), token.clone()).await;
            assert_eq!(status, want, "{method} {token}: {html}");
            assert!(html.contains(words), "{html}");
        }
    }
    assert_eq!(acknowledged().await, None);

    // The button: acknowledged for every recipient, once.
    let (status, html, _) = page(Method::POST, token.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Acknowledged"), "{html}");
    assert_eq!(acknowledged().await, Some(a));
    let (_, copy) = app.get(&format!("/api/v1/alerts/{}", theirs["id"]), &app.token(sup)).await;
    assert_eq!(copy["acknowledged_by"]["id"], a);
    for method in [Method::GET, Method::POST] {
        let (status, html, _) = page(method, token.clone()).await;
        assert_eq!(status, 410, "{html}");
        assert!(html.contains("used already"), "{html}");
    }
}

async fn stats_give_time_to_acknowledge_and_steps_reached(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, a, _) = team(&app).await;
    let from = app.app.clock.now();
    breach_policy(&app, json!({"name": "up", "steps": [{"after_minutes": 10, "targets": ["role:admin"]}]})).await;
    // Event 1: acknowledged by a 5 minutes after it began; event 2: by sup after 20 minutes, escalated meanwhile.
    let c1 = breached(&app, a).await;
    app.app.clock.advance(TimeDelta::minutes(5));
    let mine = app.inbox(a).await.into_iter().find(|x| x["resource_id"] == c1["id"]).unwrap();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", mine["id"]), &app.token(a)).await.0, 204);
    let c2 = breached(&app, a).await;
    app.app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(tick(&app).await, 1);
    app.app.clock.advance(TimeDelta::minutes(10));
    let theirs = app.inbox(sup).await.into_iter().find(|x| x["resource_id"] == c2["id"]).unwrap();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/acknowledge", theirs["id"]), &app.token(sup)).await.0, 204);

    let admin = app.admin_token().await;
    let to = (app.app.clock.now() + TimeDelta::minutes(1)).to_rfc3339();
    let path =
        format!("/api/v1/alerts/stats?from={}&to={}", from.to_rfc3339().replace('+', "%2B"), to.replace('+', "%2B"));
    let (status, s) = app.get(&path, &admin).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["time_to_acknowledge_seconds"], json!({"p50": 300, "p90": 1200}), "{s}");
    assert_eq!(s["time_to_acknowledge_by_type"]["sla_breach"], json!({"p50": 300, "p90": 1200}));
    assert_eq!(s["events_by_escalation_step"], json!({"1": 1}));
    let staff = |id: i64| s["per_staff"].as_array().unwrap().iter().find(|p| p["staff_id"] == id).cloned().unwrap();
    assert_eq!(
        (staff(a)["acknowledged"].clone(), staff(a)["median_time_to_acknowledge_seconds"].clone()),
        (json!(1), json!(300))
    );
    assert_eq!(
        (staff(sup)["acknowledged"].clone(), staff(sup)["median_time_to_acknowledge_seconds"].clone()),
        (json!(1), json!(1200))
    );
    // An agent sees the events they had a copy of: both (a got both breaches).
    let (_, own) = app.get(&path, &app.token(a)).await;
    assert_eq!(own["time_to_acknowledge_seconds"], json!({"p50": 300, "p90": 1200}), "{own}");
}

/// The alerts a check and an escalation step insert in bulk carry their
/// run's stamp, and on MySQL their statistics are counted by one statement
/// after the insert rather than by the row trigger: the rollups still equal
/// an aggregate of the table (each rule's run and the step counted once,
/// not twice, not never).
async fn bulk_inserts_keep_the_statistics(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, a, b) = team(&app).await;
    breach_policy(&app, json!({"name": "climb", "steps": [{"after_minutes": 10, "targets": ["role:admin"]}]})).await;
    let critical = json!({"title": "Down", "customer_name": "Di", "priority": "critical", "assigned_to_staff_id": b});
    app.complaint(critical).await;
    breached(&app, a).await;
    breached(&app, b).await;
    app.app.clock.advance(TimeDelta::minutes(10));
    assert!(tick(&app).await >= 2, "step 1 of both events");
    let (stored, expected) = (crate::stats::stored_rollups(&app).await, crate::stats::expected_rollups(&app).await);
    assert_eq!(stored, expected);
    let total: i64 = stored.0.values().map(|(n, _, _)| n).sum();
    assert!(total >= 5, "the rule's alerts and the steps' are counted: {stored:?}");
}
