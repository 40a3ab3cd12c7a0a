//! Snooze (SPEC 10, issue 19): presets in the person's zone, bounds, the cap
//! at expiry, the inbox and its count without the snoozed, wakes on time,
//! early (a newer alert, a reassignment) and once only, pushed live.
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use convergeai_alerts::domain::snooze;
use convergeai_alerts::storage::alerts::{NewAlert, insert};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, Proxy, TestApp, redis_url, serve, ws_connect, ws_next};
use crate::{on_all_backends, spawn_app};

async fn put_snooze(app: &TestApp, token: &str, id: i64, body: Value) -> (u16, Value) {
    app.send(Method::PUT, &format!("/api/v1/alerts/{id}/snooze"), Some(token), Some(body)).await
}

async fn wake_now(app: &TestApp, token: &str, id: i64) -> (u16, Value) {
    app.send(Method::DELETE, &format!("/api/v1/alerts/{id}/snooze"), Some(token), None).await
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}"))).unwrap().with_timezone(&Utc)
}

fn ids(alerts: &[Value]) -> Vec<i64> {
    alerts.iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

/// An alert about complaint `complaint` for `staff_id`, created now.
async fn complaint_alert(app: &TestApp, staff_id: i64, complaint: i64, alert_type: &str) -> i64 {
    let now = app.app.clock.now();
    let row = NewAlert {
        alert_type: alert_type.into(),
        severity: "warning".into(),
        title: format!("{alert_type} #{complaint}"),
        message: String::new(),
        resource_type: Some("complaint".into()),
        resource_id: Some(complaint),
        assigned_to_staff_id: staff_id,
        alert_metadata: None,
        created_at: now,
        expires_at: Some(now + TimeDelta::days(7)),
    };
    insert(&app.app.db, row).await.unwrap().id
}

async fn unread(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/alerts/unread/count", token).await.1["unread_count"].as_i64().unwrap()
}

async fn snooze_presets_follow_the_persons_zone(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let admin = app.admin_token().await;
    let (status, body) = app
        .send(Method::PATCH, &format!("/api/v1/staff/{me}"), Some(&admin), Some(json!({"time_zone": "Europe/Berlin"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let alert = app.alert(me, "sla_at_risk", "warning", 1).await;
    let now = app.app.clock.now();

    let (status, body) = put_snooze(&app, &token, alert, json!({"preset": "tomorrow"})).await;
    assert_eq!(status, 200, "{body}");
    let berlin = chrono_tz::Europe::Berlin;
    let tomorrow = now.with_timezone(&berlin).date_naive().succ_opt().unwrap();
    let nine = berlin.from_local_datetime(&tomorrow.and_hms_opt(9, 0, 0).unwrap()).earliest().unwrap();
    assert_eq!(time(&body["snoozed_until"]), nine.with_timezone(&Utc), "tomorrow 09:00 Berlin");
    assert_eq!((body["id"].as_i64(), body["is_read"].clone()), (Some(alert), json!(false)));

    for (preset, hours) in [("1h", 1), ("3h", 3)] {
        let (status, body) = put_snooze(&app, &token, alert, json!({"preset": preset})).await;
        assert_eq!(status, 200, "{body}");
        let until = time(&body["snoozed_until"]);
        let wanted = now + TimeDelta::hours(hours);
        assert!(until >= wanted && until < wanted + TimeDelta::seconds(30), "{preset}: {until}");
    }
    // An alert about no calendar's complaint: the next working day is tomorrow 09:00 in the person's zone.
    let (status, body) = put_snooze(&app, &token, alert, json!({"preset": "next_working_day"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(time(&body["snoozed_until"]), nine.with_timezone(&Utc));
}

/// `next_working_day` on a complaint with office hours: Friday afternoon → Monday 09:00 in the calendar's zone.
async fn next_working_day_is_the_complaints_calendar_opening(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, _) = app.staff("a@example.com", "agent").await;
    let admin = app.admin_token().await;
    let day = json!([["09:00", "17:00"]]);
    let calendar = json!({"name": "office", "time_zone": "Europe/Berlin",
        "weekly_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}});
    let (status, cal) = app.send(Method::POST, "/api/v1/sla/calendars", Some(&admin), Some(calendar)).await;
    assert_eq!(status, 201, "{cal}");
    let policy = json!({"name": "office", "position": 1, "match": {"priorities": ["critical"]},
        "calendar_id": cal["id"], "targets": {"resolution_minutes": 6000}});
    let (status, p) = app.send(Method::POST, "/api/v1/sla/policies", Some(&admin), Some(policy)).await;
    assert_eq!(status, 201, "{p}");
    // Friday 4 January 2030, 15:00 UTC (16:00 in Berlin).
    let friday = Utc.with_ymd_and_hms(2030, 1, 4, 15, 0, 0).unwrap();
    app.app.clock.advance(friday - app.app.clock.now());
    let complaint = app
        .complaint(json!({"title": "Fire", "customer_name": "Cy", "priority": "critical", "assigned_to_staff_id": me}))
        .await;
    let inbox = app.inbox(me).await;
    let alert = inbox.iter().find(|a| a["resource_id"] == complaint["id"]).expect("the critical alert");
    let token = app.token(me);
    let (status, body) =
        put_snooze(&app, &token, alert["id"].as_i64().unwrap(), json!({"preset": "next_working_day"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(time(&body["snoozed_until"]), Utc.with_ymd_and_hms(2030, 1, 7, 8, 0, 0).unwrap(), "Monday 09:00 Berlin");
}

async fn snooze_bounds_and_shapes_are_422(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let alert = app.alert(me, "sla_at_risk", "warning", 1).await;
    let now = app.app.clock.now();
    let at = |d: TimeDelta| json!({"until": (now + d).to_rfc3339()});
    for (body, field, says) in [
        (at(TimeDelta::seconds(30)), "until", "between 1 minute and 30 days"),
        (at(TimeDelta::seconds(-600)), "until", "between 1 minute and 30 days"),
        (at(TimeDelta::days(31)), "until", "between 1 minute and 30 days"),
        (json!({"until": (now + TimeDelta::hours(2)).to_rfc3339(), "preset": "1h"}), "until", "not both"),
        (json!({}), "until", "give until"),
        (json!({"preset": "2h"}), "preset", "not one of 1h, 3h, tomorrow, next_working_day"),
        (json!({"until": "tomorrow"}), "until", ""),
        (json!({"preset": "1h", "for": "ever"}), "", ""),
    ] {
        let (status, err) = put_snooze(&app, &token, alert, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {err}");
        let detail = err["detail"].as_str().unwrap();
        assert!(detail.contains(field) && detail.contains(says), "{body} -> {detail}");
    }
    assert_eq!(app.get(&format!("/api/v1/alerts/{alert}"), &token).await.1["snoozed_until"], Value::Null);
    let (status, _) = put_snooze(&app, &token, alert, at(TimeDelta::days(30))).await;
    assert_eq!(status, 200, "30 days is allowed");
}

/// Another's alert is a 404 (as every alert route answers); a dismissed or expired one is a 409.
async fn snooze_is_the_owners_and_only_of_live_alerts(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let (_, other) = app.staff("b@example.com", "agent").await;
    let alert = app.alert(me, "sla_at_risk", "warning", 1).await;
    assert_eq!(put_snooze(&app, &other, alert, json!({"preset": "1h"})).await.0, 404);
    assert_eq!(wake_now(&app, &other, alert).await.0, 404);
    assert_eq!(put_snooze(&app, &token, 999_999, json!({"preset": "1h"})).await.0, 404);
    assert_eq!(app.get(&format!("/api/v1/alerts/{alert}"), &token).await.1["snoozed_until"], Value::Null);

    let expired = app.alert_with(me, "sla_breach", "critical", 2, Some(-1)).await;
    let (status, err) = put_snooze(&app, &token, expired, json!({"preset": "1h"})).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["detail"].as_str().unwrap().contains("expired"), "{err}");
    assert_eq!(app.put(&format!("/api/v1/alerts/{alert}/dismiss"), &token).await.0, 204);
    let (status, err) = put_snooze(&app, &token, alert, json!({"preset": "1h"})).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["detail"].as_str().unwrap().contains("dismissed"), "{err}");
    // Waking an alert that is not snoozed returns it as it is.
    let live = app.alert(me, "sla_at_risk", "warning", 3).await;
    let (status, body) = wake_now(&app, &token, live).await;
    assert_eq!((status, body["id"].as_i64(), body["snoozed_until"].clone()), (200, Some(live), Value::Null));
}

async fn snooze_never_sleeps_past_expiry(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let alert = app.alert_with(me, "sla_at_risk", "warning", 1, Some(30)).await;
    let (status, body) = put_snooze(&app, &token, alert, json!({"preset": "3h"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["snoozed_until"], body["expires_at"], "cut to its expiry");
}

async fn snoozed_alerts_leave_the_inbox_and_its_count(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let a = app.alert(me, "sla_at_risk", "warning", 3).await;
    let b = app.alert(me, "sla_breach", "critical", 2).await;
    let c = app.alert(me, "high_workload", "info", 1).await;
    // The head cache is filled first: the snooze must reach it.
    let (_, before) = app.get("/api/v1/alerts", &token).await;
    assert_eq!((before["total"].clone(), before["unread_count"].clone()), (json!(3), json!(3)));
    assert_eq!(unread(&app, &token).await, 3);

    let (status, body) = put_snooze(&app, &token, b, json!({"preset": "1h"})).await;
    assert_eq!(status, 200, "{body}");
    let (_, after) = app.get("/api/v1/alerts", &token).await;
    assert_eq!(ids(after["alerts"].as_array().unwrap()), vec![c, a]);
    assert_eq!((after["total"].clone(), after["unread_count"].clone()), (json!(2), json!(2)));
    assert_eq!(unread(&app, &token).await, 2);
    let (_, filtered) = app.get("/api/v1/alerts?severity=critical", &token).await;
    assert_eq!(filtered["total"], 0, "filtered lists leave it out too");

    let (status, snoozed) = app.get("/api/v1/alerts?status=snoozed", &token).await;
    assert_eq!(status, 200, "{snoozed}");
    assert_eq!(ids(snoozed["alerts"].as_array().unwrap()), vec![b]);
    assert_eq!(snoozed["total"], 1);
    assert_eq!(snoozed["unread_count"], 2, "the badge's count, whatever the list");
    assert!(snoozed["alerts"][0]["snoozed_until"].is_string());
    let (_, active) = app.get("/api/v1/alerts?status=active", &token).await;
    assert_eq!(active["total"], 2);
    let (status, err) = app.get("/api/v1/alerts?status=sleeping", &token).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["detail"].as_str().unwrap().starts_with("status"), "{err}");

    // Read-all leaves the snoozed alone; waking it brings it back unread.
    assert_eq!(app.put("/api/v1/alerts/read-all", &token).await.1["updated"], 2);
    let (status, body) = wake_now(&app, &token, b).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["snoozed_until"].clone(), body["is_read"].clone()), (Value::Null, json!(false)));
    assert_eq!(unread(&app, &token).await, 1);
    assert_eq!(ids(&app.inbox(me).await), vec![c, b, a]);
}

/// The clock moves past the snooze: the job wakes it unread, and its owner's feed hears so.
async fn snooze_wakes_on_time_unread_and_live(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let alert = app.alert(me, "sla_at_risk", "warning", 1).await;
    assert_eq!(app.put(&format!("/api/v1/alerts/{alert}/read"), &token).await.0, 204);
    // Minutes, not the 1 h preset: past an hour the feed's own token expires
    // and the connection may close before the wake reaches it.
    let until = (app.app.clock.now() + TimeDelta::minutes(2)).to_rfc3339();
    let (status, body) = put_snooze(&app, &token, alert, json!({ "until": until })).await;
    assert_eq!(status, 200, "{body}");
    let mut ws = ws_connect(&app.base, &token).await;
    assert_eq!(ws_next(&mut ws, 5).await["unread_count"], 0);

    assert_eq!(snooze::tick(&app.app).await.unwrap(), 0, "not due yet");
    app.app.clock.advance(TimeDelta::minutes(3));
    assert_eq!(snooze::tick(&app.app).await.unwrap(), 1);
    let pushed = ws_next(&mut ws, 5).await;
    assert_eq!((pushed["type"].clone(), pushed["woken"].clone()), (json!("alert.created"), json!(true)));
    assert_eq!((pushed["alert"]["id"].as_i64(), pushed["alert"]["is_read"].clone()), (Some(alert), json!(false)));
    assert_eq!(pushed["alert"]["snoozed_until"], Value::Null);
    assert_eq!(ws_next(&mut ws, 5).await, json!({"type": "unread_count", "unread_count": 1}));
    let token = app.token(me);
    assert_eq!(unread(&app, &token).await, 1);
    assert_eq!(ids(&app.inbox(me).await), vec![alert]);
    assert_eq!(snooze::tick(&app.app).await.unwrap(), 0, "woken once");
}

/// A newer alert about the same complaint for the same person wakes the snoozed one (at the next
/// tick); one that came before the snooze does not.
async fn snooze_wakes_early_on_a_newer_alert(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let (other, _) = app.staff("b@example.com", "agent").await;
    let at_risk = complaint_alert(&app, me, 41, "sla_at_risk").await;
    let elsewhere = complaint_alert(&app, me, 42, "sla_at_risk").await;
    for id in [at_risk, elsewhere] {
        assert_eq!(put_snooze(&app, &token, id, json!({"preset": "3h"})).await.0, 200);
    }
    app.app.clock.advance(TimeDelta::seconds(1));
    // Someone else's alert, and another complaint's: no wake.
    complaint_alert(&app, other, 41, "sla_breach").await;
    complaint_alert(&app, me, 43, "sla_breach").await;
    assert_eq!(snooze::tick(&app.app).await.unwrap(), 0);
    let breached = complaint_alert(&app, me, 41, "sla_breach").await;
    assert_eq!(snooze::tick(&app.app).await.unwrap(), 1);
    let inbox = ids(&app.inbox(me).await);
    assert!(inbox.contains(&at_risk) && inbox.contains(&breached) && !inbox.contains(&elsewhere), "{inbox:?}");

    // Snoozed again after the newer alert came: it stays snoozed.
    app.app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(put_snooze(&app, &token, at_risk, json!({"preset": "3h"})).await.0, 200);
    assert_eq!(snooze::tick(&app.app).await.unwrap(), 0);
    assert!(!ids(&app.inbox(me).await).contains(&at_risk));
}

/// A complaint that changes hands wakes the snoozed alerts about it (the supervisor's here).
async fn snooze_wakes_early_on_reassignment(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, _) = app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let (b, _) = app.staff_with("b@example.com", "agent", Some("sup@example.com")).await;
    let complaint = app
        .complaint(json!({"title": "Fire", "customer_name": "Cy", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let theirs = app.inbox(sup).await;
    let alert = theirs.iter().find(|x| x["resource_id"] == complaint["id"]).expect("the supervisor's alert");
    let id = alert["id"].as_i64().unwrap();
    let sup_token = app.token(sup);
    assert_eq!(put_snooze(&app, &sup_token, id, json!({"preset": "tomorrow"})).await.0, 200);
    assert!(!ids(&app.inbox(sup).await).contains(&id));
    app.patch_complaint(&complaint["id"], json!({"assigned_to_staff_id": b})).await;
    let (_, now) = app.get(&format!("/api/v1/alerts/{id}"), &sup_token).await;
    assert_eq!((now["snoozed_until"].clone(), now["is_read"].clone()), (Value::Null, json!(false)), "{now}");
    assert!(ids(&app.inbox(sup).await).contains(&id));
}

/// Two instances wake at once: every due alert wakes exactly once.
async fn racing_wakes_wake_each_alert_once(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let mut all = Vec::new();
    for age in 0..120 {
        let id = app.alert(me, "sla_at_risk", "warning", age).await;
        all.push(id);
    }
    let until = (app.app.clock.now() + TimeDelta::minutes(5)).to_rfc3339();
    for id in &all {
        assert_eq!(put_snooze(&app, &token, *id, json!({"until": until})).await.0, 200);
    }
    assert_eq!(unread(&app, &token).await, 0);
    app.app.clock.advance(TimeDelta::minutes(6));
    let (one, two) = (app.instance().await, app.instance().await);
    let (mut feed_one, mut feed_two) = (one.events.subscribe(), two.events.subscribe());
    let (x, y) = tokio::join!(snooze::wake_due(&one), snooze::wake_due(&two));
    assert_eq!(x.unwrap() + y.unwrap(), 120, "each woken once in all");
    let mut pushed = Vec::new();
    for feed in [&mut feed_one, &mut feed_two] {
        while let Ok(event) = feed.try_recv() {
            if let convergeai_alerts::domain::events::Change::Woken { alert } = &event.change {
                pushed.push(alert.id);
            }
        }
    }
    pushed.sort_unstable();
    all.sort_unstable();
    assert_eq!(pushed, all, "each pushed once");
    assert_eq!(unread(&app, &app.token(me)).await, 120);
}

/// Snoozed alerts due in the same minute, `per_staff` for each of `staff`,
/// every fifth of them dismissed; returns how many.
async fn snoozed_burst(app: &TestApp, staff: &[i64], per_staff: usize) -> usize {
    use convergeai_alerts::storage::entities::alert;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let now = app.app.clock.now();
    let rows: Vec<alert::ActiveModel> = (0..staff.len() * per_staff)
        .map(|i| alert::ActiveModel {
            alert_type: Set("sla_at_risk".into()),
            severity: Set("warning".into()),
            title: Set(format!("at risk #{i}")),
            message: Set(String::new()),
            resource_type: Set(Some("complaint".into())),
            resource_id: Set(Some(i as i64)),
            assigned_to_staff_id: Set(staff[i % staff.len()]),
            is_read: Set(true),
            is_dismissed: Set(i % 5 == 0),
            created_at: Set(now - TimeDelta::hours(2)),
            read_at: Set(Some(now - TimeDelta::hours(1))),
            expires_at: Set(Some(now + TimeDelta::days(7))),
            snoozed_at: Set(Some(now - TimeDelta::hours(1))),
            snoozed_until: Set(Some(now + TimeDelta::seconds(30 + (i % 60) as i64))),
            ..Default::default()
        })
        .collect();
    let total = rows.len();
    for chunk in rows.chunks(500) {
        alert::Entity::insert_many(chunk.to_vec()).exec_without_returning(&app.app.db).await.unwrap();
    }
    total
}

/// More due at once than one batch holds (and not a whole number of
/// batches): the run drains them all, each once, and tells each owner of a
/// live one with one resync rather than an event per alert (the first of
/// five agents has only dismissed ones: nothing to tell).
async fn a_burst_of_wakes_drains_in_batches_once_each(backend: Backend) {
    let app = spawn_app!(backend);
    let mut staff = Vec::new();
    for i in 0..5 {
        staff.push(app.staff(&format!("agent{i}@example.com"), "agent").await.0);
    }
    let per_staff = (2 * snooze::BATCH as usize + 700) / 5;
    let total = snoozed_burst(&app, &staff, per_staff).await;
    let mut feed = app.app.events.subscribe();
    app.app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(snooze::wake_due(&app.app).await.unwrap(), total as u64);
    let mut resyncs = Vec::new();
    while let Ok(event) = feed.try_recv() {
        use convergeai_alerts::domain::events::Change;
        assert!(matches!(event.change, Change::Resync), "one resync per owner, not {:?}", event.change);
        resyncs.push(event.staff_id);
    }
    resyncs.sort_unstable();
    assert_eq!(resyncs, staff[1..], "each owner of a live one told once");
    assert_eq!(unread(&app, &app.token(staff[0])).await, 0, "dismissed ones stay out");
    for id in &staff[1..] {
        assert_eq!(unread(&app, &app.token(*id)).await, per_staff as i64, "the live ones wake unread");
    }
    assert_eq!(snooze::wake_due(&app.app).await.unwrap(), 0, "nothing left asleep");
}

/// Two instances drain the same burst at once: each alert wakes once in all.
async fn racing_bursts_wake_each_alert_once(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, _) = app.staff("a@example.com", "agent").await;
    let total = snoozed_burst(&app, &[me], 2 * snooze::BATCH as usize + 300).await;
    app.app.clock.advance(TimeDelta::minutes(2));
    let (one, two) = (app.instance().await, app.instance().await);
    let (x, y) = tokio::join!(snooze::wake_due(&one), snooze::wake_due(&two));
    assert_eq!(x.unwrap() + y.unwrap(), total as u64, "each woken once in all");
    assert_eq!(snooze::wake_due(&app.app).await.unwrap(), 0, "nothing left asleep");
    assert_eq!(unread(&app, &app.token(me)).await, (total - total.div_ceil(5)) as i64);
}

/// The wake on one instance reaches the owner's connection on another through Redis, with a fresh count.
async fn snooze_wake_reaches_another_instance_through_redis(backend: Backend) {
    let Some(redis) = redis_url() else {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    };
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let redis = url::Url::parse(&redis).unwrap();
    let proxy = Proxy::start(format!("{}:{}", redis.host_str().unwrap(), redis.port().unwrap_or(6379))).await;
    let via_proxy = format!("redis://127.0.0.1:{}", proxy.port);
    let channel = format!("test-snooze-{}-{}", me, proxy.port);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let (instance_a, instance_b) = (app.instance().await, app.instance().await);
    convergeai_alerts::realtime::connect(&instance_a.events, &via_proxy, &channel, stopped.clone()).unwrap();
    convergeai_alerts::realtime::connect(&instance_b.events, &via_proxy, &channel, stopped.clone()).unwrap();
    let base_b = serve(instance_b.clone()).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // subscriptions in place

    let alert = app.alert(me, "sla_breach", "critical", 1).await;
    // Minutes, not an hour: the feed's token must outlive the wake.
    let until = (app.app.clock.now() + TimeDelta::minutes(2)).to_rfc3339();
    assert_eq!(put_snooze(&app, &token, alert, json!({ "until": until })).await.0, 200);
    // B's head cache is filled before the wake: the event must clear it there too.
    let client = reqwest::Client::new();
    let (client, count_url) = (&client, &format!("{base_b}/api/v1/alerts/unread/count"));
    let count_on_b = |token: String| async move {
        let resp = client.get(count_url).bearer_auth(token).send().await;
        resp.unwrap().json::<Value>().await.unwrap()["unread_count"].as_i64().unwrap()
    };
    assert_eq!(count_on_b(token.clone()).await, 0);
    let mut on_b = ws_connect(&base_b, &token).await;
    assert_eq!(ws_next(&mut on_b, 5).await["unread_count"], 0);
    app.app.clock.advance(TimeDelta::minutes(3));
    let token = app.token(me);
    assert_eq!(snooze::tick(&instance_a).await.unwrap(), 1);
    let mut seen = ws_next(&mut on_b, 5).await;
    while seen["type"] == "unread_count" {
        seen = ws_next(&mut on_b, 5).await;
    }
    assert_eq!((seen["type"].clone(), seen["woken"].clone()), (json!("alert.created"), json!(true)));
    assert_eq!(seen["alert"]["id"].as_i64(), Some(alert));
    assert_eq!(ws_next(&mut on_b, 5).await["unread_count"], 1);
    assert_eq!(count_on_b(token.clone()).await, 1);
}

on_all_backends!(
    snooze_presets_follow_the_persons_zone,
    next_working_day_is_the_complaints_calendar_opening,
    snooze_bounds_and_shapes_are_422,
    snooze_is_the_owners_and_only_of_live_alerts,
    snooze_never_sleeps_past_expiry,
    snoozed_alerts_leave_the_inbox_and_its_count,
    snooze_wakes_on_time_unread_and_live,
    snooze_wakes_early_on_a_newer_alert,
    snooze_wakes_early_on_reassignment,
    racing_wakes_wake_each_alert_once,
    a_burst_of_wakes_drains_in_batches_once_each,
    racing_bursts_wake_each_alert_once,
    snooze_wake_reaches_another_instance_through_redis,
);
