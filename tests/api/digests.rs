//! Digests (SPEC 10): a subscription's `delivery_mode`, and the dispatcher
//! gathering email and SMS into one message per channel per window, in the
//! person's zone, leaving out what was acted on, never sending an empty one,
//! and making one digest per (person, channel, window) with racing
//! dispatchers. A dispatcher killed mid-send is in `faults.rs`.
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use convergeai_alerts::domain::digest::Digest;
use reqwest::Method;
use serde_json::{Value, json};

use crate::channels::{Mail, smtp_server};
use crate::harness::{Backend, TestApp};
use crate::preferences::{dispatch, email_channels, outbox, rows_of, subjects};
use crate::{on_all_backends, spawn_app};

async fn subscribe(app: &TestApp, token: &str, alert_type: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/alerts/subscriptions/{alert_type}");
    app.send(Method::PUT, &path, Some(token), Some(body)).await
}

fn body_of(mails: &Arc<Mutex<Vec<Mail>>>, i: usize) -> String {
    mails.lock().unwrap()[i].data.replace("=\r\n", "").replace("\r\n", "\n")
}

/// The mode is stored and shown; every wrong combination is a 422 naming its
/// field; a type the organisation marks urgent cannot be put in a digest.
async fn delivery_modes_and_refusals(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, token) = app.staff("modes@example.com", "agent").await;
    let channels = json!(["in_app", "email"]);
    let (status, body) = subscribe(
        &app,
        &token,
        "sla_at_risk",
        json!({"is_enabled": true,
        "delivery_channels": channels, "delivery_mode": "daily", "daily_at": "08:30"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["delivery_mode"].clone(), body["daily_at"].clone()), (json!("daily"), json!("08:30")));
    let (status, body) =
        subscribe(&app, &token, "high_workload", json!({"is_enabled": true, "delivery_channels": channels})).await;
    assert_eq!((status, body["delivery_mode"].clone(), body["daily_at"].clone()), (200, json!("instant"), Value::Null));
    // Replaced: back to hourly, daily_at gone.
    let (status, body) = subscribe(
        &app,
        &token,
        "sla_at_risk",
        json!({"is_enabled": true,
        "delivery_channels": channels, "delivery_mode": "hourly"}),
    )
    .await;
    assert_eq!((status, body["delivery_mode"].clone(), body["daily_at"].clone()), (200, json!("hourly"), Value::Null));
    let (_, list) = app.get("/api/v1/alerts/subscriptions", &token).await;
    let modes: Vec<(&str, &str)> = list["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["alert_type"].as_str().unwrap(), s["delivery_mode"].as_str().unwrap()))
        .collect();
    assert_eq!(modes, [("high_workload", "instant"), ("sla_at_risk", "hourly")]);

    let refused = [
        ("sla_at_risk", json!({"delivery_mode": "weekly"}), "delivery_mode"),
        ("sla_at_risk", json!({"delivery_mode": "daily"}), "daily_at"),
        ("sla_at_risk", json!({"delivery_mode": "daily", "daily_at": "8:30"}), "daily_at"),
        ("sla_at_risk", json!({"delivery_mode": "daily", "daily_at": "24:00"}), "daily_at"),
        ("sla_at_risk", json!({"delivery_mode": "hourly", "daily_at": "08:30"}), "daily_at"),
        ("sla_at_risk", json!({"delivery_mode": "instant", "daily_at": "08:30"}), "daily_at"),
        // Marked urgent by the seeded rules (bypass_quiet_hours).
        ("sla_breach", json!({"delivery_mode": "hourly"}), "delivery_mode"),
        ("critical_complaint", json!({"delivery_mode": "daily", "daily_at": "09:00"}), "delivery_mode"),
    ];
    for (alert_type, extra, field) in refused {
        let mut body = json!({"is_enabled": true, "delivery_channels": channels});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, answer) = subscribe(&app, &token, alert_type, body.clone()).await;
        assert_eq!(status, 422, "{alert_type} {body} → {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{body}: {detail:?} should name {field}");
    }
    let (_, list) = app.get("/api/v1/alerts/subscriptions", &token).await;
    assert_eq!(list["subscriptions"][1]["delivery_mode"], "hourly", "a refused change changes nothing");
}

/// An hourly digest in a zone half an hour off UTC: email waits for the
/// local full hour, with two dispatchers racing to put it off (one summary
/// row); what was read, dismissed or acknowledged meanwhile is left out;
/// the digest lists the rest grouped by type and complaint; other types go
/// at once.
async fn hourly_digest_in_the_person_zone_leaves_out_what_was_acted_on(backend: Backend) {
    let app = spawn_app!(backend);
    let (smtp, mails) = smtp_server(None);
    let channels = email_channels(&smtp);
    let (id, token) = app.staff("digest@example.com", "agent").await;
    let zone: Tz = "Asia/Kolkata".parse().unwrap();
    assert_eq!(
        app.send(Method::PUT, "/api/v1/me/preferences", Some(&token), Some(json!({"time_zone": zone.name()}))).await.0,
        200
    );
    let email = json!(["in_app", "email"]);
    for (alert_type, mode) in
        [("sla_at_risk", "hourly"), ("high_workload", "hourly"), ("first_response_at_risk", "instant")]
    {
        let body = json!({"is_enabled": true, "delivery_channels": email, "delivery_mode": mode});
        assert_eq!(subscribe(&app, &token, alert_type, body).await.0, 200);
    }
    let gathered = [
        app.alert(id, "sla_at_risk", "warning", 1).await,
        app.alert(id, "sla_at_risk", "warning", 1).await,
        app.alert(id, "sla_at_risk", "warning", 2).await,
        app.alert(id, "high_workload", "warning", 3).await,
        app.alert(id, "high_workload", "warning", 4).await,
        app.alert(id, "high_workload", "warning", 5).await,
    ];
    let instant = app.alert(id, "first_response_at_risk", "warning", 6).await;
    outbox(&app, &gathered, id, "email").await;
    outbox(&app, &[instant], id, "email").await;
    let end = Digest::Hourly.window_end(zone, app.app.clock.now());
    assert_eq!(end.with_timezone(&zone).format("%M:%S").to_string(), "00:00", "a local full hour");
    let apps = [app.app.clone(), app.instance().await];

    dispatch(&apps, &channels, &mails, 1, 10).await;
    assert_eq!(
        subjects(&mails),
        vec!["[WARNING] first_response_at_risk alert".to_owned()],
        "only the instant type goes now"
    );
    let rows = rows_of(&app, id).await;
    let deferred: Vec<_> = rows.iter().filter(|r| r.status == "deferred").collect();
    assert_eq!(deferred.len(), 6, "{rows:?}");
    assert!(
        deferred.iter().all(|r| r.deferred_until == Some(end) && r.deferred_for.as_deref() == Some("hourly")),
        "{rows:?}"
    );
    let summaries: Vec<_> = rows.iter().filter(|r| r.summary_until.is_some()).collect();
    assert_eq!(summaries.len(), 1, "one digest row for the window: {rows:?}");
    assert_eq!((summaries[0].summary_until, summaries[0].next_attempt_at), (Some(end), end));

    // Acted on before the window ends: one read, one dismissed.
    for (verb, alert) in [("read", gathered[1]), ("dismiss", gathered[4])] {
        let (status, body) = app.send(Method::PUT, &format!("/api/v1/alerts/{alert}/{verb}"), Some(&token), None).await;
        assert!(status == 200 || status == 204, "{verb}: {status} {body}");
    }
    app.app.clock.advance(end - app.app.clock.now() - TimeDelta::seconds(30));
    dispatch(&apps, &channels, &mails, 2, 1).await;
    assert_eq!(mails.lock().unwrap().len(), 1, "the window is still open");
    app.app.clock.advance(TimeDelta::minutes(1));
    dispatch(&apps, &channels, &mails, 2, 10).await;
    let got = subjects(&mails);
    assert_eq!(got.len(), 2, "exactly one digest: {got:?}");
    assert_eq!(got[1], "Hourly digest: 4 alerts");
    let body = body_of(&mails, 1);
    for part in [
        "SLA at risk (2)",
        "High workload (2)",
        "Complaint #1",
        "Complaint #2",
        "Complaint #3",
        "Asia/Kolkata",
        "digest",
    ] {
        assert!(body.contains(part), "{part:?} in {body}");
    }
    assert!(!body.contains("Complaint #4"), "the dismissed one is left out: {body}");
    let rows = rows_of(&app, id).await;
    let summary = rows.iter().find(|r| r.summary_until.is_some()).unwrap();
    assert_eq!(summary.status, "sent");
    let by_status = |status: &str| {
        let mut ids: Vec<i64> = rows
            .iter()
            .filter(|r| r.carried_by == Some(summary.id) && r.status == status)
            .map(|r| r.alert_id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(by_status("sent"), vec![gathered[0], gathered[2], gathered[3], gathered[5]]);
    assert_eq!(by_status("skipped"), vec![gathered[1], gathered[4]]);
    // Nothing more goes later, not even after the grace for rows left alone.
    app.app.clock.advance(TimeDelta::hours(2));
    dispatch(&apps, &channels, &mails, 3, 1).await;
    assert_eq!(mails.lock().unwrap().len(), 2);
}

/// A daily digest at 08:00 in Berlin: when everything it would carry was
/// acted on, nothing is sent, and nothing goes on its own later either.
async fn daily_digest_with_nothing_left_is_not_sent(backend: Backend) {
    let app = spawn_app!(backend);
    let (smtp, mails) = smtp_server(None);
    let channels = email_channels(&smtp);
    let (id, token) = app.staff("daily@example.com", "agent").await;
    let zone: Tz = "Europe/Berlin".parse().unwrap();
    let prefs = json!({"time_zone": zone.name()});
    assert_eq!(app.send(Method::PUT, "/api/v1/me/preferences", Some(&token), Some(prefs)).await.0, 200);
    let body = json!({"is_enabled": true, "delivery_channels": ["in_app", "email"], "delivery_mode": "daily", "daily_at": "08:00"});
    assert_eq!(subscribe(&app, &token, "sla_at_risk", body).await.0, 200);
    let alerts = [app.alert(id, "sla_at_risk", "warning", 1).await, app.alert(id, "sla_at_risk", "warning", 2).await];
    outbox(&app, &alerts, id, "email").await;
    let end = Digest::Daily(chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()).window_end(zone, app.app.clock.now());
    assert_eq!(end.with_timezone(&zone).format("%H:%M").to_string(), "08:00");
    let apps = [app.app.clone()];
    dispatch(&apps, &channels, &mails, 1, 1).await;
    assert!(mails.lock().unwrap().is_empty());
    assert!(matches!(app.send(Method::PUT, "/api/v1/alerts/read-all", Some(&token), None).await.0, 200 | 204));
    app.app.clock.advance(end - app.app.clock.now() + TimeDelta::seconds(1));
    dispatch(&apps, &channels, &mails, 1, 3).await;
    app.app.clock.advance(TimeDelta::hours(2));
    dispatch(&apps, &channels, &mails, 1, 1).await;
    assert!(mails.lock().unwrap().is_empty(), "no empty digest: {:?}", subjects(&mails));
    let rows = rows_of(&app, id).await;
    let summary = rows.iter().find(|r| r.summary_until == Some(end)).expect("the digest row");
    assert_eq!(summary.status, "skipped", "{rows:?}");
    assert!(summary.last_error.as_deref().unwrap_or_default().contains("read or acted on"), "{summary:?}");
    let carried: Vec<_> = rows.iter().filter(|r| r.carried_by == Some(summary.id)).collect();
    assert_eq!(carried.len(), 2, "{rows:?}");
    assert!(carried.iter().all(|r| r.status == "skipped" && r.sent_at.is_none()), "{rows:?}");
}

/// A digest whose window ends in the person's quiet hours waits for their
/// end, and goes with what quiet hours held as one message.
async fn digest_ending_in_quiet_hours_waits_for_them(backend: Backend) {
    let app = spawn_app!(backend);
    let (smtp, mails) = smtp_server(None);
    let channels = email_channels(&smtp);
    let (id, token) = app.staff("late@example.com", "agent").await;
    // Quiet from the next full hour (UTC) for two hours.
    let now = app.app.clock.now();
    let end = Digest::Hourly.window_end(Tz::UTC, now);
    let quiet_end = end + TimeDelta::hours(2);
    let day = |t: DateTime<Utc>| {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][chrono::Datelike::weekday(&t).num_days_from_monday() as usize]
    };
    let hhmm = |t: DateTime<Utc>| t.format("%H:%M").to_string();
    let hours = if day(end) == day(quiet_end) {
        json!({day(end): [[hhmm(end), hhmm(quiet_end)]]})
    } else if hhmm(quiet_end) == "00:00" {
        json!({day(end): [[hhmm(end), "24:00"]]})
    } else {
        json!({day(end): [[hhmm(end), "24:00"]], day(quiet_end): [["00:00", hhmm(quiet_end)]]})
    };
    let prefs = json!({"quiet_hours": hours});
    let (status, body) = app.send(Method::PUT, "/api/v1/me/preferences", Some(&token), Some(prefs)).await;
    assert_eq!(status, 200, "{body}");
    let body = json!({"is_enabled": true, "delivery_channels": ["in_app", "email"], "delivery_mode": "hourly"});
    assert_eq!(subscribe(&app, &token, "sla_at_risk", body).await.0, 200);
    let first = app.alert(id, "sla_at_risk", "warning", 1).await;
    outbox(&app, &[first], id, "email").await;
    let apps = [app.app.clone()];
    dispatch(&apps, &channels, &mails, 1, 1).await;
    let rows = rows_of(&app, id).await;
    assert!(rows.iter().any(|r| r.summary_until == Some(quiet_end)), "put off to the end of quiet hours: {rows:?}");
    // In quiet hours now: a workload alert waits for the same end.
    app.app.clock.advance(end - now + TimeDelta::minutes(5));
    let second = app.alert(id, "high_workload", "warning", 2).await;
    outbox(&app, &[second], id, "email").await;
    dispatch(&apps, &channels, &mails, 1, 1).await;
    assert!(mails.lock().unwrap().is_empty());
    app.app.clock.advance(quiet_end - app.app.clock.now() + TimeDelta::seconds(1));
    dispatch(&apps, &channels, &mails, 1, 10).await;
    assert_eq!(subjects(&mails), vec!["2 alerts while you were away".to_owned()], "one message for both");
}

on_all_backends!(
    delivery_modes_and_refusals,
    hourly_digest_in_the_person_zone_leaves_out_what_was_acted_on,
    daily_digest_with_nothing_left_is_not_sent,
    digest_ending_in_quiet_hours_waits_for_them,
);
