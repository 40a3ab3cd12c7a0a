//! Personal delivery (SPEC 10): preferences, quiet hours and do-not-disturb
//! in the dispatcher (deferral, one summary or each, bypass), and the silent
//! live push.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Datelike, DurationRound, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use convergeai_alerts::delivery::DeliveryConfig;
use convergeai_alerts::delivery::channels::Channels;
use convergeai_alerts::delivery::dispatcher::{self, DispatcherConfig};
use convergeai_alerts::domain::App;
use convergeai_alerts::storage::entities::notification_delivery as delivery;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::channels::{Mail, smtp_server};
use crate::harness::{Backend, TestApp, ws_connect, ws_next};
use crate::{on_all_backends, spawn_app};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Quiet hours from today's local midnight until 06:00 tomorrow (two periods
/// across midnight) in `zone`, and the UTC instant they end.
fn quiet_tonight(zone: Tz, now: DateTime<Utc>) -> (Value, DateTime<Utc>) {
    let local = now.with_timezone(&zone);
    let today = local.weekday().num_days_from_monday() as usize;
    let tomorrow = local.date_naive().succ_opt().unwrap();
    let end = zone.from_local_datetime(&tomorrow.and_hms_opt(6, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc);
    let hours = json!({DAYS[today]: [["00:00", "24:00"]], DAYS[(today + 1) % 7]: [["00:00", "06:00"]]});
    (hours, end)
}

async fn put_prefs(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.send(Method::PUT, "/api/v1/me/preferences", Some(token), Some(body)).await
}

pub(crate) fn email_channels(smtp_url: &str) -> Arc<Channels> {
    let config = DeliveryConfig {
        smtp_url: Some(convergeai_alerts::config::Secret::new(smtp_url)),
        smtp_from: "alerts@example.com".into(),
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    Arc::new(Channels::new(&config).expect("channels"))
}

/// Outbox rows, as the engine writes them, for `alerts` to `staff` on `channel`.
pub(crate) async fn outbox(app: &TestApp, alerts: &[i64], staff: i64, channel: &str) {
    let now = app.app.clock.now();
    for alert in alerts {
        delivery::ActiveModel {
            alert_id: Set(*alert),
            staff_id: Set(staff),
            channel: Set(channel.into()),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.app.db)
        .await
        .expect("outbox row");
    }
}

pub(crate) async fn rows_of(app: &TestApp, staff: i64) -> Vec<delivery::Model> {
    delivery::Entity::find()
        .filter(delivery::Column::StaffId.eq(staff))
        .order_by_asc(delivery::Column::Id)
        .all(&app.app.db)
        .await
        .unwrap()
}

/// Runs a dispatcher on each of `apps` at once until `mails` holds `want`
/// messages (at most `secs`), then a little longer (a duplicate would show).
pub(crate) async fn dispatch(
    apps: &[App],
    channels: &Arc<Channels>,
    mails: &Arc<Mutex<Vec<Mail>>>,
    want: usize,
    secs: u64,
) {
    let config = DispatcherConfig { poll: Duration::from_millis(50), ..Default::default() };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = apps
        .iter()
        .map(|app| tokio::spawn(dispatcher::run(app.clone(), channels.clone(), config.clone(), stopped.clone())))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while mails.lock().unwrap().len() < want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
}

pub(crate) fn subjects(mails: &Arc<Mutex<Vec<Mail>>>) -> Vec<String> {
    mails.lock().unwrap().iter().map(|m| m.header("Subject").unwrap_or_default()).collect()
}

/// GET shows the defaults, PUT changes what it names, and every invalid
/// field is a 422 naming it; admins read and set another's through the staff API.
async fn preferences_get_put_and_refusals(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("pat@example.com", "agent").await;
    let (status, body) = app.get("/api/v1/me/preferences", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"time_zone": "UTC", "time_zone_is_default": true, "quiet_hours": {}, "dnd_until": null,
               "quiet_hours_delivery": "summary"})
    );
    let change = json!({
        "time_zone": "Europe/Berlin",
        "quiet_hours": {"mon": [["19:00", "24:00"]], "tue": [["00:00", "08:00"]], "sat": []},
        "dnd_until": "2020-01-01T00:00:00Z",
        "quiet_hours_delivery": "each",
    });
    let (status, body) = put_prefs(&app, &token, change).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["time_zone"], "Europe/Berlin");
    assert_eq!(body["time_zone_is_default"], false);
    assert_eq!(body["quiet_hours"], json!({"mon": [["19:00", "24:00"]], "tue": [["00:00", "08:00"]]}));
    assert_eq!(body["dnd_until"], "2020-01-01T00:00:00Z", "a past time is kept and means nothing");
    assert_eq!(body["quiet_hours_delivery"], "each");
    // Left out: kept. Null: cleared.
    let (status, body) = put_prefs(&app, &token, json!({"dnd_until": null, "time_zone": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["dnd_until"].clone(), body["time_zone"].clone()), (Value::Null, json!("UTC")));
    assert_eq!(body["quiet_hours_delivery"], "each");

    let far = (app.app.clock.now() + TimeDelta::days(400)).to_rfc3339();
    let whole_week: serde_json::Map<String, Value> =
        DAYS.iter().map(|d| (d.to_string(), json!([["00:00", "24:00"]]))).collect();
    let seven = json!({"mon": [["00:00","01:00"],["02:00","03:00"],["04:00","05:00"],["06:00","07:00"],
                                ["08:00","09:00"],["10:00","11:00"],["12:00","13:00"]]});
    let refused = [
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (json!({"quiet_hours": []}), "quiet_hours"),
        (json!({"quiet_hours": {"monday": []}}), "quiet_hours.monday"),
        (json!({"quiet_hours": {"mon": "19:00-24:00"}}), "quiet_hours.mon"),
        (json!({"quiet_hours": {"mon": [["19:00"]]}}), "quiet_hours.mon[0]"),
        (json!({"quiet_hours": {"mon": [["7:00", "08:00"]]}}), "quiet_hours.mon[0]"),
        (json!({"quiet_hours": {"mon": [["24:00", "24:00"]]}}), "quiet_hours.mon[0]"),
        (json!({"quiet_hours": {"mon": [["08:00", "08:00"]]}}), "quiet_hours.mon[0]"),
        (json!({"quiet_hours": {"mon": [["09:00", "08:00"]]}}), "quiet_hours.mon[0]"),
        (json!({"quiet_hours": {"mon": [["08:00", "10:00"], ["09:00", "11:00"]]}}), "quiet_hours.mon[1]"),
        (json!({"quiet_hours": seven}), "quiet_hours.mon"),
        (json!({"quiet_hours": whole_week}), "quiet_hours"),
        (json!({"dnd_until": far}), "dnd_until"),
        (json!({"dnd_until": "tomorrow"}), "dnd_until"),
        (json!({"quiet_hours_delivery": "digest"}), "quiet_hours_delivery"),
        (json!({"quiet_hours_delivery": null}), "quiet_hours_delivery"),
        (json!({"snooze": true}), "snooze"),
    ];
    for (body, field) in refused {
        let (status, answer) = put_prefs(&app, &token, body.clone()).await;
        assert_eq!(status, 422, "{body} → {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{body}: {detail:?} should name {field}");
    }

    // Admins through the staff API; an agent may not.
    let admin = app.admin_token().await;
    let path = format!("/api/v1/staff/{id}/preferences");
    let (status, body) =
        app.send(Method::PUT, &path, Some(&admin), Some(json!({"quiet_hours_delivery": "summary"}))).await;
    assert_eq!((status, body["quiet_hours_delivery"].clone()), (200, json!("summary")), "{body}");
    assert_eq!(app.get(&path, &admin).await.1["quiet_hours"]["mon"], json!([["19:00", "24:00"]]));
    assert_eq!(app.get(&path, &token).await.0, 403);
    assert_eq!(app.get("/api/v1/staff/999999/preferences", &admin).await.0, 404);
}

/// Email in quiet hours (across midnight, in Berlin) waits for their end and
/// goes as one summary, with two dispatchers racing at both ends; a breach
/// (a rule that bypasses quiet hours) goes at once.
async fn quiet_hours_defer_to_one_summary(backend: Backend) {
    let app = spawn_app!(backend);
    let (smtp, mails) = smtp_server(None);
    let channels = email_channels(&smtp);
    let (id, token) = app.staff("night@example.com", "agent").await;
    let (hours, end) = quiet_tonight(chrono_tz::Europe::Berlin, app.app.clock.now());
    let (status, body) = put_prefs(&app, &token, json!({"time_zone": "Europe/Berlin", "quiet_hours": hours})).await;
    assert_eq!(status, 200, "{body}");
    let quiet = [
        app.alert(id, "sla_at_risk", "warning", 1).await,
        app.alert(id, "sla_at_risk", "warning", 2).await,
        app.alert(id, "high_workload", "warning", 3).await,
    ];
    let urgent = app.alert(id, "sla_breach", "critical", 4).await;
    outbox(&app, &[quiet[0], quiet[1], quiet[2], urgent], id, "email").await;
    let other = app.instance().await;
    let apps = [app.app.clone(), other];

    dispatch(&apps, &channels, &mails, 1, 10).await;
    assert_eq!(subjects(&mails), vec!["[CRITICAL] sla_breach alert".to_owned()], "only the breach goes now");
    let rows = rows_of(&app, id).await;
    let deferred: Vec<_> = rows.iter().filter(|r| r.status == "deferred").collect();
    assert_eq!(deferred.len(), 3, "{rows:?}");
    assert!(deferred.iter().all(|r| r.deferred_until == Some(end) && r.attempts == 0), "{rows:?}");
    let summaries: Vec<_> = rows.iter().filter(|r| r.summary_until.is_some()).collect();
    assert_eq!(summaries.len(), 1, "one summary row: {rows:?}");
    assert_eq!((summaries[0].summary_until, summaries[0].next_attempt_at), (Some(end), end));

    // Still quiet a minute before the end.
    app.app.clock.advance(end - app.app.clock.now() - TimeDelta::minutes(1));
    dispatch(&apps, &channels, &mails, 2, 1).await;
    assert_eq!(mails.lock().unwrap().len(), 1);
    app.app.clock.advance(TimeDelta::minutes(2));
    dispatch(&apps, &channels, &mails, 2, 10).await;
    let got = subjects(&mails);
    assert_eq!(got.len(), 2, "exactly one summary: {got:?}");
    assert_eq!(got[1], "3 alerts while you were away");
    let body = mails.lock().unwrap()[1].data.replace("=\r\n", "").replace("\r\n", "\n");
    for part in ["SLA at risk (2)", "High workload (1)", "Complaint #1", "Europe/Berlin"] {
        assert!(body.contains(part), "{part:?} in {body}");
    }
    let rows = rows_of(&app, id).await;
    let summary = rows.iter().find(|r| r.summary_until.is_some()).unwrap();
    assert_eq!(summary.status, "sent");
    let carried: Vec<_> = rows.iter().filter(|r| r.carried_by == Some(summary.id)).collect();
    assert_eq!(carried.len(), 3, "{rows:?}");
    assert!(carried.iter().all(|r| r.status == "sent" && r.sent_at.is_some()));
}

/// `each`: deferred rows go one by one when quiet hours end.
async fn quiet_hours_each_goes_one_by_one(backend: Backend) {
    let app = spawn_app!(backend);
    let (smtp, mails) = smtp_server(None);
    let channels = email_channels(&smtp);
    let (id, token) = app.staff("each@example.com", "agent").await;
    let (hours, end) = quiet_tonight(Tz::UTC, app.app.clock.now());
    let (status, body) = put_prefs(&app, &token, json!({"quiet_hours": hours, "quiet_hours_delivery": "each"})).await;
    assert_eq!(status, 200, "{body}");
    let alerts = [app.alert(id, "sla_at_risk", "warning", 1).await, app.alert(id, "high_workload", "warning", 2).await];
    outbox(&app, &alerts, id, "email").await;
    let apps = [app.app.clone()];
    dispatch(&apps, &channels, &mails, 1, 1).await;
    assert!(mails.lock().unwrap().is_empty());
    let rows = rows_of(&app, id).await;
    assert!(rows.iter().all(|r| r.status == "pending" && r.next_attempt_at == end && r.summary_until.is_none()));
    app.app.clock.advance(end - app.app.clock.now() + TimeDelta::seconds(1));
    dispatch(&apps, &channels, &mails, 2, 10).await;
    let mut got = subjects(&mails);
    got.sort();
    assert_eq!(got, vec!["[WARNING] high_workload alert".to_owned(), "[WARNING] sla_at_risk alert".to_owned()]);
}

/// A past `dnd_until` changes nothing; a future one defers to its end.
async fn dnd_until_past_is_ignored_and_future_defers(backend: Backend) {
    let app = spawn_app!(backend);
    let (smtp, mails) = smtp_server(None);
    let channels = email_channels(&smtp);
    let (id, token) = app.staff("dnd@example.com", "agent").await;
    let past = (app.app.clock.now() - TimeDelta::hours(1)).to_rfc3339();
    assert_eq!(put_prefs(&app, &token, json!({"dnd_until": past})).await.0, 200);
    let first = app.alert(id, "sla_at_risk", "warning", 1).await;
    outbox(&app, &[first], id, "email").await;
    let apps = [app.app.clone()];
    dispatch(&apps, &channels, &mails, 1, 10).await;
    assert_eq!(mails.lock().unwrap().len(), 1, "sent at once");

    let until = (app.app.clock.now() + TimeDelta::hours(2)).duration_trunc(TimeDelta::seconds(1)).unwrap();
    assert_eq!(put_prefs(&app, &token, json!({"dnd_until": until.to_rfc3339()})).await.0, 200);
    let second = app.alert(id, "high_workload", "warning", 2).await;
    outbox(&app, &[second], id, "email").await;
    dispatch(&apps, &channels, &mails, 2, 1).await;
    assert_eq!(mails.lock().unwrap().len(), 1, "deferred");
    app.app.clock.advance(TimeDelta::hours(2) + TimeDelta::seconds(1));
    dispatch(&apps, &channels, &mails, 2, 10).await;
    assert_eq!(subjects(&mails)[1..], ["1 alert while you were away".to_owned()]);
}

/// The live push of a new alert is silent in quiet hours, and not once they are cleared.
async fn live_push_is_silent_in_quiet_hours(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("live@example.com", "agent").await;
    let mut ws = ws_connect(&app.base, &token).await;
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    let (hours, _) = quiet_tonight(Tz::UTC, app.app.clock.now());
    assert_eq!(put_prefs(&app, &token, json!({"quiet_hours": hours})).await.0, 200);
    let mut created = async |title: &str| {
        app.complaint(
            json!({"title": title, "customer_name": "x", "priority": "critical", "assigned_to_staff_id": id}),
        )
        .await;
        loop {
            let message = ws_next(&mut ws, 5).await;
            if message["type"] == "alert.created" {
                return message;
            }
        }
    };
    assert_eq!(created("Quiet").await["silent"], true);
    assert_eq!(put_prefs(&app, &token, json!({"quiet_hours": null})).await.0, 200);
    assert_eq!(created("Loud").await["silent"], false);
}

/// Alert messages name their due time in the reader's zone, with its name,
/// in the inbox, one alert and the live push; the stored text and the
/// timestamps stay UTC.
async fn alert_messages_are_read_in_the_readers_zone(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("zone@example.com", "agent").await;
    let prefs = json!({"time_zone": "America/New_York"});
    assert_eq!(put_prefs(&app, &token, prefs).await.0, 200);
    let mut ws = ws_connect(&app.base, &token).await;
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    let deadline = Utc.with_ymd_and_hms(2031, 7, 1, 16, 30, 0).unwrap();
    app.complaint(json!({"title": "Zones", "customer_name": "x", "priority": "critical",
                         "assigned_to_staff_id": id, "sla_deadline": deadline.to_rfc3339()}))
        .await;
    let pushed = loop {
        let message = ws_next(&mut ws, 5).await;
        if message["type"] == "alert.created" {
            break message["alert"].clone();
        }
    };
    let local = "Tue 1 Jul 2031 12:30 America/New_York";
    let (_, page) = app.get("/api/v1/alerts", &token).await;
    let listed = page["alerts"][0].clone();
    let (_, one) = app.get(&format!("/api/v1/alerts/{}", listed["id"]), &token).await;
    for (what, alert) in [("pushed", &pushed), ("listed", &listed), ("read", &one)] {
        let message = alert["message"].as_str().unwrap_or_default();
        assert!(message.contains(local) && !message.contains("UTC"), "{what}: {message} {}", alert["alert_metadata"]);
        let due: DateTime<Utc> = alert["alert_metadata"]["sla_deadline"].as_str().unwrap_or_default().parse().unwrap();
        assert_eq!(due, deadline, "{what}: timestamps stay UTC");
    }
    let stored = convergeai_alerts::storage::alerts::by_id(&app.app.db, listed["id"].as_i64().unwrap()).await.unwrap();
    assert!(stored.unwrap().message.contains("2031-07-01 16:30 UTC"), "the stored text is UTC");
    // Back to the organisation's zone (UTC): the message as written.
    assert_eq!(put_prefs(&app, &token, json!({"time_zone": null})).await.0, 200);
    let (_, page) = app.get("/api/v1/alerts", &token).await;
    assert!(page["alerts"][0]["message"].as_str().unwrap_or_default().contains("2031-07-01 16:30 UTC"), "{page}");
}

on_all_backends!(
    alert_messages_are_read_in_the_readers_zone,
    preferences_get_put_and_refusals,
    quiet_hours_defer_to_one_summary,
    quiet_hours_each_goes_one_by_one,
    dnd_until_past_is_ignored_and_future_defers,
    live_push_is_silent_in_quiet_hours,
);

/// Quiet hours across midnight and both daylight-saving changes in Berlin
/// (the domain's arithmetic, no database).
#[test]
fn quiet_hours_end_across_midnight_and_daylight_saving() {
    use convergeai_alerts::domain::preferences::{Quiet, parse_quiet_hours};
    use convergeai_alerts::storage::entities::staff;
    let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
    let person = |hours: Value, dnd: Option<&str>| staff::Model {
        id: 1,
        email: "a@example.com".into(),
        full_name: "A".into(),
        phone: None,
        password_hash: String::new(),
        role_id: 3,
        supervisor_id: None,
        is_active: true,
        created_at: at("2027-01-01T00:00:00Z"),
        updated_at: at("2027-01-01T00:00:00Z"),
        sessions_valid_after: None,
        kept_session: None,
        time_zone: Some("Europe/Berlin".into()),
        quiet_hours: Some(serde_json::to_value(parse_quiet_hours(&hours).unwrap()).unwrap()),
        dnd_until: dnd.map(at),
        quiet_hours_delivery: None,
    };
    let weekend_nights = json!({"fri": [["22:00", "24:00"]], "sat": [["00:00", "08:00"], ["22:00", "24:00"]],
                                "sun": [["00:00", "08:00"]]});
    let q = Quiet::of(&person(weekend_nights.clone(), None), Tz::UTC);
    // Spring forward, Sunday 2027-03-28: 08:00 CEST is 06:00 UTC.
    assert_eq!(q.until(at("2027-03-27T21:30:00Z")), Some(at("2027-03-28T06:00:00Z")));
    assert_eq!(q.until(at("2027-03-28T05:59:00Z")), Some(at("2027-03-28T06:00:00Z")));
    assert_eq!(q.until(at("2027-03-28T06:00:00Z")), None);
    // Fall back, Sunday 2027-10-31: 08:00 CET is 07:00 UTC; the repeated hour is quiet twice.
    assert_eq!(q.until(at("2027-10-31T00:30:00Z")), Some(at("2027-10-31T07:00:00Z")));
    assert_eq!(q.until(at("2027-10-31T06:30:00Z")), Some(at("2027-10-31T07:00:00Z")));
    // Across midnight on an ordinary Friday night (2027-01-08): ends Saturday 08:00 CET.
    assert_eq!(q.until(at("2027-01-08T21:30:00Z")), Some(at("2027-01-09T07:00:00Z")));
    assert_eq!(q.until(at("2027-01-08T20:59:00Z")), None, "21:59 in Berlin is not quiet yet");
    // A past do-not-disturb means nothing; one ending in the night runs on to its end.
    let q = Quiet::of(&person(weekend_nights.clone(), Some("2027-01-01T00:00:00Z")), Tz::UTC);
    assert_eq!(q.until(at("2027-01-08T12:00:00Z")), None);
    let q = Quiet::of(&person(weekend_nights, Some("2027-01-08T22:00:00Z")), Tz::UTC);
    assert_eq!(q.until(at("2027-01-08T12:00:00Z")), Some(at("2027-01-09T07:00:00Z")));
}
