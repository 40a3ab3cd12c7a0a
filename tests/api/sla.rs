//! SLA policies on business calendars (SPEC 8): the calendars and policies
//! API, each complaint's clocks (pause, first response, resolution, an
//! explicit deadline, re-targeting, re-projection after an edit), the rules
//! on those clocks, and the list's `sla_state` filter and `sort=sla_due`.
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("timestamp in {v}"))).unwrap().with_timezone(&Utc)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// Moves the service's clock forward to `at` (it only moves forward).
fn clock_to(app: &TestApp, at: DateTime<Utc>) {
    let now = app.app.clock.now();
    assert!(at >= now, "the clock moves forward only: {at} < {now}");
    app.app.clock.advance(at - now);
}

/// Office hours in Berlin: Mon–Fri 09:00–12:00 and 13:00–17:00, New Year's Day off (yearly).
fn office() -> Value {
    let day = json!([["09:00", "12:00"], ["13:00", "17:00"]]);
    json!({
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "weekly_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
        "holidays": [{"date": "2027-01-01", "name": "New Year", "yearly": true}]
    })
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.send(Method::POST, path, Some(token), Some(body)).await
}

/// A policy for `priorities` on `calendar_id` with these targets, first in line.
async fn policy(app: &TestApp, token: &str, calendar_id: &Value, priorities: Value, targets: Value) -> Value {
    let body = json!({"name": format!("p{}", calendar_id), "position": 1, "match": {"priorities": priorities},
                      "calendar_id": calendar_id, "targets": targets});
    let (status, p) = post(app, token, "/api/v1/sla/policies", body).await;
    assert_eq!(status, 201, "{p}");
    p
}

fn metric<'a>(complaint: &'a Value, name: &str) -> &'a Value {
    complaint["sla"]["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["metric"] == name))
        .unwrap_or_else(|| panic!("no {name} metric in {complaint}"))
}

/// Equal to a second or two (a paused clock counts whole seconds).
fn near(got: DateTime<Utc>, want: DateTime<Utc>) {
    assert!((got - want).abs() <= TimeDelta::seconds(2), "{got} is not {want}");
}

async fn calendars_api_validates_previews_and_guards_use(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (_, agent) = app.staff("agent@example.com", "agent").await;

    let (status, list) = app.get("/api/v1/sla/calendars", &admin).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["name"], "24x7");
    assert_eq!(list[0]["time_zone"], "UTC");
    assert_eq!(app.get("/api/v1/sla/calendars", &agent).await.0, 403, "sla.manage only");

    let (status, cal) = post(&app, &admin, "/api/v1/sla/calendars", office()).await;
    assert_eq!(status, 201, "{cal}");
    assert_eq!(cal["weekly_hours"]["mon"], json!([["09:00", "12:00"], ["13:00", "17:00"]]));
    let id = cal["id"].clone();
    assert_eq!(post(&app, &admin, "/api/v1/sla/calendars", office()).await.0, 409, "names are unique");

    for (body, field) in [
        (json!({"name": "x", "time_zone": "Mars/Olympus"}), "time_zone"),
        (json!({"name": "x", "time_zone": "UTC", "weekly_hours": {"mon": [["17:00", "09:00"]]}}), "weekly_hours.mon"),
        (
            json!({"name": "x", "time_zone": "UTC", "weekly_hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}),
            "weekly_hours.mon",
        ),
        (json!({"name": "x", "time_zone": "UTC", "weekly_hours": {"mon": [["25:00", "26:00"]]}}), "weekly_hours.mon"),
        (json!({"name": "x", "time_zone": "UTC", "weekly_hours": {"someday": [["09:00", "12:00"]]}}), "weekly_hours"),
        (json!({"name": "x", "time_zone": "UTC", "holidays": [{"date": "2027-13-01", "name": "h"}]}), "holidays[0]"),
        (
            json!({"name": "x", "time_zone": "UTC", "holidays": [{"date": "2027-01-05", "end_date": "2027-01-01", "name": "h"}]}),
            "holidays[0]",
        ),
        (json!({"name": "", "time_zone": "UTC"}), "name"),
    ] {
        let (status, err) = post(&app, &admin, "/api/v1/sla/calendars", body.clone()).await;
        assert_eq!(status, 422, "{body} -> {err}");
        assert!(err["detail"].as_str().unwrap().starts_with(field), "{body} -> {err}");
    }

    // Friday 2027-01-08 16:50 Berlin (15:50 UTC) + 60 working minutes: 10 today, Monday until 09:50 Berlin.
    let path = format!("/api/v1/sla/calendars/{id}/preview");
    let (status, due) = post(&app, &admin, &path, json!({"start": "2027-01-08T15:50:00Z", "minutes": 60})).await;
    assert_eq!(status, 200, "{due}");
    assert_eq!(ts(&due["due_at"]), utc(2027, 1, 11, 8, 50));
    // After hours (17:20 Berlin): counting starts at Monday's opening.
    let (_, due) = post(&app, &admin, &path, json!({"start": "2027-01-08T16:20:00Z", "minutes": 60})).await;
    assert_eq!(ts(&due["due_at"]), utc(2027, 1, 11, 9, 0));
    // Across lunch: Monday 11:30 + 60 min = 13:30 (Berlin).
    let (_, due) = post(&app, &admin, &path, json!({"start": "2027-01-11T10:30:00Z", "minutes": 60})).await;
    assert_eq!(ts(&due["due_at"]), utc(2027, 1, 11, 12, 30));
    // The yearly holiday: Thursday 2027-12-31 16:30 + 60 min skips Friday 2028-01-01 to Monday 09:30.
    let (_, due) = post(&app, &admin, &path, json!({"start": "2027-12-31T15:30:00Z", "minutes": 60})).await;
    assert_eq!(ts(&due["due_at"]), utc(2028, 1, 3, 8, 30), "{due}");
    for body in [
        json!({"start": "2027-01-08T16:20:00Z", "minutes": -1}),
        json!({"start": "2027-01-08T16:20:00Z", "minutes": 10_000_000}),
    ] {
        assert_eq!(post(&app, &admin, &path, body).await.0, 422);
    }
    assert_eq!(
        post(&app, &admin, "/api/v1/sla/calendars/999/preview", json!({"start": "2027-01-08T16:20:00Z", "minutes": 1}))
            .await
            .0,
        404
    );

    // A calendar in use is a 409; the 24x7 one cannot change or go.
    policy(&app, &admin, &id, json!(["high"]), json!({"resolution_minutes": 240})).await;
    let (status, err) = app.send(Method::DELETE, &format!("/api/v1/sla/calendars/{id}"), Some(&admin), None).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(app.send(Method::DELETE, "/api/v1/sla/calendars/1", Some(&admin), None).await.0, 409);
    let (status, _) = app
        .send(Method::PATCH, "/api/v1/sla/calendars/1", Some(&admin), Some(json!({"time_zone": "Europe/Berlin"})))
        .await;
    assert_eq!(status, 422);
    let (status, renamed) = app
        .send(Method::PATCH, &format!("/api/v1/sla/calendars/{id}"), Some(&admin), Some(json!({"name": "Berlin"})))
        .await;
    assert_eq!(
        (status, renamed["name"].clone(), renamed["time_zone"].clone()),
        (200, json!("Berlin"), json!("Europe/Berlin"))
    );
}

async fn policies_api_validates_and_orders(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (status, list) = app.get("/api/v1/sla/policies", &admin).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!([{"id": 1, "name": "default", "position": 1000,
                "match": {"priorities": ["low", "medium", "high", "critical"]}, "calendar_id": 1,
                "targets": {"first_response_minutes": null, "resolution_minutes": null},
                "pause_statuses": ["pending"]}]),
        "the seeded default: every priority, 24x7, ALERTS_SLA_HOURS"
    );
    for (body, field) in [
        (json!({"name": "x", "match": {"priorities": []}, "targets": {"resolution_minutes": 60}}), "match.priorities"),
        (
            json!({"name": "x", "match": {"priorities": ["urgent"]}, "targets": {"resolution_minutes": 60}}),
            "match.priorities",
        ),
        (json!({"name": "x", "match": {"priorities": ["high"]}, "targets": {}}), "targets.resolution_minutes"),
        (
            json!({"name": "x", "match": {"priorities": ["high"]}, "targets": {"resolution_minutes": 0}}),
            "targets.resolution_minutes",
        ),
        (
            json!({"name": "x", "match": {"priorities": ["high"]}, "targets": {"resolution_minutes": 60, "first_response_minutes": -5}}),
            "targets.first_response_minutes",
        ),
        (
            json!({"name": "x", "match": {"priorities": ["high"]}, "targets": {"resolution_minutes": 60}, "pause_statuses": ["resolved"]}),
            "pause_statuses",
        ),
        (
            json!({"name": "x", "match": {"priorities": ["high"]}, "targets": {"resolution_minutes": 60}, "calendar_id": 99}),
            "calendar_id",
        ),
    ] {
        let (status, err) = post(&app, &admin, "/api/v1/sla/policies", body.clone()).await;
        assert_eq!(status, 422, "{body} -> {err}");
        assert!(err["detail"].as_str().unwrap().starts_with(field), "{body} -> {err}");
    }
    let p = policy(&app, &admin, &json!(1), json!(["critical"]), json!({"resolution_minutes": 30})).await;
    let (_, list) = app.get("/api/v1/sla/policies", &admin).await;
    assert_eq!(list[0]["id"], p["id"], "ascending position: the new one is matched first");
    // The first match wins: a critical complaint gets 30 minutes, a high one the default 24 h.
    let critical = app.complaint(json!({"title": "t", "customer_name": "c", "priority": "critical"})).await;
    assert_eq!(ts(&critical["sla_deadline"]) - ts(&critical["created_at"]), TimeDelta::minutes(30));
    assert_eq!(critical["sla"]["policy"], p["name"]);
    let high = app.complaint(json!({"title": "t", "customer_name": "c", "priority": "high"})).await;
    assert_eq!(ts(&high["sla_deadline"]) - ts(&high["created_at"]), TimeDelta::hours(24));
    assert_eq!((high["sla"]["policy"].clone(), high["sla"]["calendar"].clone()), (json!("default"), json!("24x7")));
    let (status, _) = app.send(Method::DELETE, &format!("/api/v1/sla/policies/{}", p["id"]), Some(&admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&format!("/api/v1/sla/policies/{}", p["id"]), &admin).await.0, 404);
}

async fn business_clock_pauses_meets_and_retargets(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (_, cal) = post(&app, &admin, "/api/v1/sla/calendars", office()).await;
    policy(
        &app,
        &admin,
        &cal["id"],
        json!(["high", "critical"]),
        json!({"first_response_minutes": 60, "resolution_minutes": 240}),
    )
    .await;

    // Friday 2027-01-08 15:50 Berlin: 70 working minutes left this week. (The
    // service's clock moves on by microseconds while the test runs: times are
    // compared to the second.)
    clock_to(&app, utc(2027, 1, 8, 14, 50));
    let c = app.complaint(json!({"title": "Router", "customer_name": "Ada", "priority": "high"})).await;
    let id = c["id"].clone();
    assert_eq!(c["sla"]["calendar"], "Berlin office");
    let first = metric(&c, "first_response");
    assert_eq!(first["state"], "running");
    near(ts(&first["due_at"]), utc(2027, 1, 8, 15, 50));
    assert!((3599..=3600).contains(&first["remaining_business_seconds"].as_i64().unwrap()), "{c}");
    // 240 working minutes: 70 on Friday, 170 on Monday (until 11:50 Berlin).
    near(ts(&c["sla_deadline"]), utc(2027, 1, 11, 10, 50));
    assert_eq!(metric(&c, "resolution")["due_at"], c["sla_deadline"]);

    // A first response at 16:30 meets the first-response target.
    clock_to(&app, utc(2027, 1, 8, 15, 30));
    let c = app.patch_complaint(&id, json!({"first_responded": true})).await;
    near(ts(&c["first_responded_at"]), utc(2027, 1, 8, 15, 30));
    assert_eq!(metric(&c, "first_response")["state"], "met");

    // Saturday: the clock is not counting; what remains is Monday's 170 minutes.
    clock_to(&app, utc(2027, 1, 9, 10, 0));
    let (_, c) = app.get(&format!("/api/v1/complaints/{id}"), &app.admin_token().await).await;
    let resolution = metric(&c, "resolution");
    assert_eq!(resolution["state"], "running");
    assert!((170 * 60 - 1..=170 * 60).contains(&resolution["remaining_business_seconds"].as_i64().unwrap()), "{c}");

    // Monday 10:00 Berlin (130 of 240 minutes used): waiting on the customer pauses it.
    clock_to(&app, utc(2027, 1, 11, 9, 0));
    let c = app.patch_complaint(&id, json!({"status": "pending"})).await;
    let resolution = metric(&c, "resolution");
    assert_eq!(resolution["state"], "paused");
    near(ts(&resolution["paused_since"]), utc(2027, 1, 11, 9, 0));
    let left = resolution["remaining_business_seconds"].as_i64().unwrap();
    assert!((110 * 60..=110 * 60 + 1).contains(&left), "{c}");
    assert_eq!(c["sla_deadline"], Value::Null, "no due time while paused");
    // Resumed on Tuesday 09:00 Berlin: the 110 minutes left count from there.
    clock_to(&app, utc(2027, 1, 12, 8, 0));
    let c = app.patch_complaint(&id, json!({"status": "in_progress"})).await;
    near(ts(&c["sla_deadline"]), utc(2027, 1, 12, 9, 50));
    // A priority change re-targets from the original start: critical has the same policy...
    // ...but the default policy's figures for medium (72 h on 24x7) apply when it falls to medium.
    let c = app.patch_complaint(&id, json!({"priority": "medium"})).await;
    assert_eq!(c["sla"]["policy"], "default");
    assert!(ts(&c["sla_deadline"]) > utc(2027, 1, 12, 10, 0), "{c}");

    // An explicit deadline wins, and is kept across status changes.
    let explicit = utc(2027, 2, 1, 12, 0);
    let c = app.patch_complaint(&id, json!({"sla_deadline": explicit.to_rfc3339(), "priority": "high"})).await;
    assert_eq!(ts(&c["sla_deadline"]), explicit);
    let c = app.patch_complaint(&id, json!({"status": "open"})).await;
    assert_eq!(ts(&c["sla_deadline"]), explicit);

    // Resolving meets the resolution target; first_responded_at must be a sane time.
    let c = app.patch_complaint(&id, json!({"status": "resolved"})).await;
    assert_eq!(metric(&c, "resolution")["state"], "met");
    let path = format!("/api/v1/complaints/{id}");
    let admin = app.admin_token().await;
    for body in [
        json!({"first_responded_at": "2020-01-01T00:00:00Z"}),
        json!({"first_responded_at": "2099-01-01T00:00:00Z"}),
        json!({"first_responded_at": "2027-01-08T15:30:00Z", "first_responded": true}),
    ] {
        let (status, err) = app.send(Method::PATCH, &path, Some(&admin), Some(body.clone())).await;
        assert_eq!(status, 422, "{body} -> {err}");
    }
}

async fn rules_fire_on_working_time_only(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = app.staff("agent@example.com", "agent").await;
    // The agent reads times in Berlin, the calendar's zone (SPEC 10: messages name times in the reader's zone).
    let prefs = json!({"time_zone": "Europe/Berlin"});
    let (status, body) =
        app.send(reqwest::Method::PUT, "/api/v1/me/preferences", Some(&agent_token), Some(prefs)).await;
    assert_eq!(status, 200, "{body}");
    let (_, cal) = post(&app, &admin, "/api/v1/sla/calendars", office()).await;
    policy(&app, &admin, &cal["id"], json!(["high"]), json!({"first_response_minutes": 30, "resolution_minutes": 120}))
        .await;
    for rule in ["first_response_at_risk", "first_response_breached"] {
        let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
        let id = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == rule).unwrap()["id"].clone();
        assert_eq!(app.put(&format!("/api/v1/alerts/rules/{id}/enable"), &admin).await.0, 200);
    }
    convergeai_alerts::domain::sla::reproject(&app.app).await.unwrap();

    // Friday 2027-01-08 16:00 Berlin, 120 working minutes: 60 today, due Monday 10:00.
    // At risk (80 %, 96 minutes) on Monday 09:36.
    clock_to(&app, utc(2027, 1, 8, 15, 0));
    let c = app
        .complaint(
            json!({"title": "Router", "customer_name": "Ada", "priority": "high", "assigned_to_staff_id": agent_id}),
        )
        .await;
    let types = |alerts: Vec<Value>| -> Vec<String> {
        let mut t: Vec<String> = alerts.iter().map(|a| a["alert_type"].as_str().unwrap().to_owned()).collect();
        t.sort();
        t
    };
    assert_eq!(types(app.inbox(agent_id).await), Vec::<String>::new());
    // 16:25 (25 of 30 first-response minutes): at risk.
    clock_to(&app, utc(2027, 1, 8, 15, 25));
    app.check().await;
    assert_eq!(types(app.inbox(agent_id).await), ["first_response_at_risk"]);
    // 16:31: overdue.
    clock_to(&app, utc(2027, 1, 8, 15, 31));
    app.check().await;
    assert_eq!(types(app.inbox(agent_id).await), ["first_response_at_risk", "first_response_breach"]);
    app.patch_complaint(&c["id"], json!({"first_responded": true})).await;

    // Saturday 03:00 and Monday 09:00: the resolution clock stands at 60 minutes, no alert.
    for at in [utc(2027, 1, 9, 2, 0), utc(2027, 1, 11, 8, 0)] {
        clock_to(&app, at);
        app.check().await;
        assert!(!types(app.inbox(agent_id).await).contains(&"sla_at_risk".to_owned()), "nothing at {at}");
    }
    // Monday 09:40: past the at-risk point; 10:01: breached.
    clock_to(&app, utc(2027, 1, 11, 8, 40));
    app.check().await;
    let inbox = app.inbox(agent_id).await;
    let message = |t: &str| -> String {
        let alert = inbox.iter().find(|a| a["alert_type"] == t).unwrap_or_else(|| panic!("no {t} in {inbox:?}"));
        alert["message"].as_str().unwrap().to_owned()
    };
    // In business terms, in the reader's zone (here the calendar's).
    let at_risk = message("sla_at_risk");
    assert!(at_risk.ends_with("is due in 24 min of working time, Mon 11 Jan 2027 10:00 Europe/Berlin."), "{at_risk}");
    let overdue = message("first_response_breach");
    assert!(overdue.contains("it was due Fri 8 Jan 2027 16:30 Europe/Berlin, "), "{overdue}");
    clock_to(&app, utc(2027, 1, 11, 9, 1));
    app.check().await;
    assert!(types(app.inbox(agent_id).await).contains(&"sla_breach".to_owned()));

    // A paused clock raises nothing even past its old due time.
    let c2 = app
        .complaint(
            json!({"title": "Wait", "customer_name": "Bo", "priority": "high", "assigned_to_staff_id": agent_id}),
        )
        .await;
    app.patch_complaint(&c2["id"], json!({"status": "pending", "first_responded": true})).await;
    clock_to(&app, utc(2027, 1, 13, 9, 0));
    app.check().await;
    let about_c2 = app.inbox(agent_id).await.into_iter().filter(|a| a["resource_id"] == c2["id"]).count();
    assert_eq!(about_c2, 0, "no alert for a paused clock");
}

async fn edits_reproject_open_complaints_keeping_used_time(backend: Backend) {
    let app = spawn_app!(backend);
    // Default policy (24x7), medium: 72 h. 10 hours pass, then the target drops to 12 h.
    let c = app.complaint(json!({"title": "t", "customer_name": "c"})).await;
    let created = ts(&c["created_at"]);
    let resolved = app.complaint(json!({"title": "done", "customer_name": "c"})).await;
    app.patch_complaint(&resolved["id"], json!({"status": "resolved"})).await;
    app.app.clock.advance(TimeDelta::hours(10));
    let admin = app.admin_token().await;
    let (status, p) = app
        .send(
            Method::PATCH,
            "/api/v1/sla/policies/1",
            Some(&admin),
            Some(json!({"targets": {"resolution_minutes": 720}})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    convergeai_alerts::domain::sla::reproject(&app.app).await.unwrap();
    let (_, got) = app.get(&format!("/api/v1/complaints/{}", c["id"]), &admin).await;
    assert_eq!(ts(&got["sla_deadline"]), created + TimeDelta::hours(12), "{got}");
    let (_, done) = app.get(&format!("/api/v1/complaints/{}", resolved["id"]), &admin).await;
    assert_eq!(done["sla_deadline"], resolved["sla_deadline"], "a resolved complaint keeps its clock");

    // Onto business hours: 2 h used stay used... the 12 h (10 used) move to a calendar
    // open 09:00–11:00 UTC daily: the 2 h left count from the next opening.
    let (_, cal) = post(
        &app,
        &admin,
        "/api/v1/sla/calendars",
        json!({"name": "mornings", "time_zone": "UTC", "weekly_hours": {
            "mon": [["09:00", "11:00"]], "tue": [["09:00", "11:00"]], "wed": [["09:00", "11:00"]],
            "thu": [["09:00", "11:00"]], "fri": [["09:00", "11:00"]], "sat": [["09:00", "11:00"]], "sun": [["09:00", "11:00"]]}}),
    )
    .await;
    let (status, _) =
        app.send(Method::PATCH, "/api/v1/sla/policies/1", Some(&admin), Some(json!({"calendar_id": cal["id"]}))).await;
    assert_eq!(status, 200);
    let now = app.app.clock.now();
    convergeai_alerts::domain::sla::reproject(&app.app).await.unwrap();
    let (_, got) = app.get(&format!("/api/v1/complaints/{}", c["id"]), &admin).await;
    let due = ts(&got["sla_deadline"]);
    assert_eq!(got["sla"]["calendar"], "mornings");
    assert!(due > now, "{got}");
    let resolution = metric(&got, "resolution");
    assert!(
        (2 * 3600 - 60..=2 * 3600 + 1).contains(&resolution["remaining_business_seconds"].as_i64().unwrap()),
        "{got}"
    );
    assert!(due.format("%H:%M").to_string().as_str() <= "11:00", "due inside the mornings: {due}");
}

async fn list_filters_by_clock_state_and_sorts_by_due(backend: Backend) {
    let app = spawn_app!(backend);
    let breached = app.complaint(json!({"title": "late", "customer_name": "c", "priority": "critical"})).await;
    let soon = app.complaint(json!({"title": "soon", "customer_name": "c", "priority": "high"})).await;
    let later = app.complaint(json!({"title": "later", "customer_name": "c", "priority": "low"})).await;
    let paused = app.complaint(json!({"title": "waiting", "customer_name": "c", "priority": "high"})).await;
    app.patch_complaint(&paused["id"], json!({"status": "pending"})).await;
    app.app.clock.advance(TimeDelta::hours(5));
    let admin = app.admin_token().await;
    convergeai_alerts::domain::sla::reproject(&app.app).await.unwrap();
    let ids = |body: &Value| -> Vec<Value> {
        body["complaints"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect()
    };
    let (_, b) = app.get("/api/v1/complaints?sla_state=breached", &admin).await;
    assert_eq!(ids(&b), [breached["id"].clone()]);
    assert_eq!(b["complaints"][0]["sla"]["metrics"][0]["state"], "breached");
    let (_, p) = app.get("/api/v1/complaints?sla_state=paused", &admin).await;
    assert_eq!(ids(&p), [paused["id"].clone()]);
    let (_, r) = app.get("/api/v1/complaints?sla_state=running&sort=sla_due", &admin).await;
    assert_eq!(ids(&r), [soon["id"].clone(), later["id"].clone()]);
    let (_, all) = app.get("/api/v1/complaints?sort=sla_due", &admin).await;
    assert_eq!(
        ids(&all),
        [breached["id"].clone(), soon["id"].clone(), later["id"].clone(), paused["id"].clone()],
        "no due time last"
    );
    // 20 h into a 24 h window: at risk (the seeded rule's 80 %).
    app.app.clock.advance(TimeDelta::hours(15));
    let admin = app.admin_token().await;
    let (_, a) = app.get("/api/v1/complaints?sla_state=at_risk", &admin).await;
    assert_eq!(ids(&a), [soon["id"].clone()]);
    for query in ["sla_state=late", "sort=priority"] {
        assert_eq!(app.get(&format!("/api/v1/complaints?{query}"), &admin).await.0, 422, "{query}");
    }
}

/// A complaint written straight into the table, as projected clocks leave
/// it (the current settings' revision), assigned to `agent`: `flagged` as
/// written and not yet evaluated, or not.
async fn stored_complaint(app: &TestApp, agent: i64, deadline: DateTime<Utc>, flagged: bool) -> i64 {
    use convergeai_alerts::storage::entities::complaint;
    use sea_orm::ActiveModelTrait;
    use sea_orm::ActiveValue::Set;
    let now = app.app.clock.now();
    let revision = convergeai_alerts::storage::sla::revision(&app.app.db).await.unwrap();
    let row = complaint::ActiveModel {
        title: Set("stored".into()),
        description: Set(String::new()),
        customer_name: Set("c".into()),
        priority: Set("high".into()),
        status: Set("open".into()),
        assigned_to_staff_id: Set(Some(agent)),
        sla_deadline: Set(Some(deadline)),
        created_at: Set(deadline - TimeDelta::hours(24)),
        updated_at: Set(now),
        sla_revision: Set(revision),
        sla_clock_at: Set(Some(deadline - TimeDelta::hours(24))),
        sla_deadline_explicit: Set(true),
        sla_unchecked_since: Set(flagged.then_some(now)),
        ..Default::default()
    };
    row.insert(&app.app.db).await.unwrap().id
}

async fn breach_alerts(app: &TestApp, agent: i64) -> Vec<i64> {
    let mut ids: Vec<i64> = app
        .inbox(agent)
        .await
        .iter()
        .filter(|a| a["alert_type"] == "sla_breach")
        .map(|a| a["resource_id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

async fn scheduled_check_reads_only_what_changed(backend: Backend) {
    use convergeai_alerts::domain::scheduler::{SchedulerConfig, run_job};
    let app = spawn_app!(backend);
    let (agent, _) = app.staff("agent@example.com", "agent").await;
    let config = SchedulerConfig::default();
    let tick = || async { run_job(&app.app, "sla_check", &config).await.unwrap() };
    tick().await; // the first run checks everything and sets the watermark
    let now = app.app.clock.now();

    // Breached long before the watermark and not written since: not read again.
    let untouched = stored_complaint(&app, agent, now - TimeDelta::hours(1), false).await;
    // Its deadline comes after the watermark.
    let comes_due = stored_complaint(&app, agent, now + TimeDelta::minutes(10), false).await;
    // Written, its evaluation cut off: breached.
    let flagged = stored_complaint(&app, agent, now - TimeDelta::hours(2), true).await;
    app.app.clock.advance(TimeDelta::minutes(11));
    tick().await;
    assert_eq!(breach_alerts(&app, agent).await, [comes_due, flagged], "what changed, not what exists");

    // The flag was cleared: written again (a flag), it is read again, and only then.
    use sea_orm::ConnectionTrait;
    let db = &app.app.db;
    let sql = "SELECT COUNT(*) FROM complaints WHERE sla_unchecked_since IS NOT NULL";
    let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 0, "the check marked what it read evaluated");

    // A skipped tick (the instance died): the next one catches up on the moments it missed.
    let missed = stored_complaint(&app, agent, app.app.clock.now() + TimeDelta::minutes(1), false).await;
    app.app.clock.advance(TimeDelta::minutes(20));
    // Racing ticks (two instances): each moment alerts once.
    let other = app.instance().await;
    let (a, b2) = tokio::join!(run_job(&app.app, "sla_check", &config), run_job(&other, "sla_check", &config));
    a.unwrap();
    b2.unwrap();
    assert_eq!(breach_alerts(&app, agent).await, [comes_due, flagged, missed]);

    // A full check still finds the one nobody touched.
    app.check().await;
    let mut all = vec![comes_due, flagged, missed, untouched];
    all.sort();
    assert_eq!(breach_alerts(&app, agent).await, all);
}

async fn deactivating_an_assignee_reroutes_at_the_next_tick(backend: Backend) {
    use convergeai_alerts::domain::scheduler::{SchedulerConfig, run_job};
    let app = spawn_app!(backend);
    let (agent, _) = app.staff("agent@example.com", "agent").await;
    let (supervisor, _) = app.staff("sup@example.com", "supervisor").await;
    let config = SchedulerConfig::default();
    run_job(&app.app, "sla_check", &config).await.unwrap();
    let late = stored_complaint(&app, agent, app.app.clock.now() - TimeDelta::hours(1), true).await;
    app.app.clock.advance(TimeDelta::minutes(2));
    run_job(&app.app, "sla_check", &config).await.unwrap();
    assert_eq!(breach_alerts(&app, agent).await, [late]);
    assert_eq!(breach_alerts(&app, supervisor).await, Vec::<i64>::new(), "an assigned complaint goes to its assignee");
    // Their complaints go where unassigned complaints' alerts go, at the next tick.
    convergeai_alerts::domain::staff::set_active(&app.app, "agent@example.com", false).await.unwrap();
    app.app.clock.advance(TimeDelta::minutes(2));
    run_job(&app.app, "sla_check", &config).await.unwrap();
    assert_eq!(breach_alerts(&app, supervisor).await, [late]);
}

on_all_backends!(
    deactivating_an_assignee_reroutes_at_the_next_tick,
    scheduled_check_reads_only_what_changed,
    calendars_api_validates_previews_and_guards_use,
    policies_api_validates_and_orders,
    business_clock_pauses_meets_and_retargets,
    rules_fire_on_working_time_only,
    edits_reproject_open_complaints_keeping_used_time,
    list_filters_by_clock_state_and_sorts_by_due,
);
