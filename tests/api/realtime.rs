//! The live feed: WebSocket push of alerts and unread counts, across instances through Redis.
use std::time::Duration;

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Backend, Proxy, TEST_SECRET, redis_url, serve, ws_connect, ws_next, ws_silent};
use crate::{on_all_backends, spawn_app};

async fn snapshot_then_own_alerts_only(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let (b, _) = app.staff("b@example.com", "agent").await;
    app.alert(a, "sla_breach", "critical", 5).await;
    app.alert(a, "sla_at_risk", "warning", 6).await;

    let mut tab1 = ws_connect(&app.base, &app.token(a)).await;
    assert_eq!(ws_next(&mut tab1, 5).await, json!({"type": "unread_count", "unread_count": 2}));
    // Second tab, token in the Authorization header this time.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "{}/api/v1/alerts/ws",
        app.base.replacen("http://", "ws://", 1)
    ))
    .unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", app.token(a)).parse().unwrap());
    let mut tab2 = tokio_tungstenite::connect_async(req).await.unwrap().0;
    assert_eq!(ws_next(&mut tab2, 5).await["unread_count"], 2);
    let mut other = ws_connect(&app.base, &app.token(b)).await;
    assert_eq!(ws_next(&mut other, 5).await, json!({"type": "unread_count", "unread_count": 0}));

    // A critical complaint for A: both of A's tabs hear it, B does not.
    let c = app
        .complaint(json!({"title": "Fire", "customer_name": "x", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    for tab in [&mut tab1, &mut tab2] {
        let created = ws_next(tab, 5).await;
        assert_eq!(created["type"], "alert.created");
        assert_eq!(created["alert"]["resource_id"], c["id"]);
        let (_, rest) = app.get(&format!("/api/v1/alerts/{}", created["alert"]["id"]), &app.token(a)).await;
        assert_eq!(created["alert"], rest, "the same object as the REST API");
        assert_eq!(ws_next(tab, 5).await, json!({"type": "unread_count", "unread_count": 3}));
    }
    ws_silent(&mut other, 300).await;

    // Read, dismiss, read-all: alert.updated and a fresh count, to the owner's tabs.
    let id = app.inbox(a).await[0]["id"].as_i64().unwrap();
    assert_eq!(app.put(&format!("/api/v1/alerts/{id}/read"), &app.token(a)).await.0, 204);
    let updated = ws_next(&mut tab1, 5).await;
    assert_eq!(
        (updated["type"].clone(), updated["alert"]["id"].clone(), updated["alert"]["is_read"].clone()),
        (json!("alert.updated"), json!(id), json!(true))
    );
    assert_eq!(ws_next(&mut tab1, 5).await["unread_count"], 2);
    assert_eq!(app.put(&format!("/api/v1/alerts/{id}/dismiss"), &app.token(a)).await.0, 204);
    assert_eq!(ws_next(&mut tab1, 5).await["alert"]["is_dismissed"], true);
    assert_eq!(ws_next(&mut tab1, 5).await["unread_count"], 2);
    assert_eq!(app.put("/api/v1/alerts/read-all", &app.token(a)).await.0, 200);
    assert_eq!(ws_next(&mut tab1, 5).await, json!({"type": "alert.updated", "read_all": true, "updated": 2}));
    assert_eq!(ws_next(&mut tab1, 5).await, json!({"type": "unread_count", "unread_count": 0}));
    ws_silent(&mut other, 200).await;
}

async fn alerts_from_check_and_scheduler_are_pushed(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let deadline = (app.app.clock.now() + TimeDelta::hours(1)).to_rfc3339();
    app.complaint(json!({"title": "Late", "customer_name": "x", "assigned_to_staff_id": a, "sla_deadline": deadline}))
        .await;
    let mut ws = ws_connect(&app.base, &app.token(a)).await;
    assert_eq!(ws_next(&mut ws, 5).await["unread_count"], 0);
    app.app.clock.advance(TimeDelta::minutes(50));
    app.check().await;
    let created = ws_next(&mut ws, 5).await;
    assert_eq!(
        (created["type"].clone(), created["alert"]["alert_type"].clone()),
        (json!("alert.created"), json!("sla_at_risk"))
    );
    assert_eq!(ws_next(&mut ws, 5).await["unread_count"], 1);

    // The scheduler (on another instance of the same process's bus) raises the breach.
    app.app.clock.advance(TimeDelta::minutes(20));
    let config = convergeai_alerts::domain::scheduler::SchedulerConfig {
        sla_check: Duration::from_millis(200),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut jobs, _) = convergeai_alerts::domain::scheduler::spawn(app.app.clone(), config, stopped);
    let created = ws_next(&mut ws, 5).await;
    assert_eq!(created["alert"]["alert_type"], "sla_breach");
    stop.send(true).unwrap();
    while jobs.join_next().await.is_some() {}
}

async fn bad_tokens_are_refused_before_the_upgrade(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let ws_url = format!("{}/api/v1/alerts/ws", app.base.replacen("http://", "ws://", 1));
    let now = app.app.clock.now().timestamp();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": a.to_string(), "iat": now - 7200, "exp": now - 3600}),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    for url in [ws_url.clone(), format!("{ws_url}?token=garbage"), format!("{ws_url}?token={expired}")] {
        match tokio_tungstenite::connect_async(url.clone()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401, "{url}");
                let body: serde_json::Value =
                    serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
                assert!(body["detail"].is_string(), "{body}");
            }
            other => panic!("{url}: expected a 401 refusal, got {other:?}"),
        }
    }
    // The same refusal as plain HTTP.
    let (status, body) = app.send(Method::GET, "/api/v1/alerts/ws?token=garbage", None, None).await;
    assert_eq!((status, body), (401, json!({"detail": "invalid token"})));
}

async fn an_expiring_token_closes_the_connection(backend: Backend) {
    use futures_util::StreamExt;
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let now = app.app.clock.now().timestamp();
    let short = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": a.to_string(), "iat": now, "exp": now + 2}),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let mut ws = ws_connect(&app.base, &short).await;
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed within the token's life");
    let frame = closed.expect("a close frame with a reason");
    assert_eq!((u16::from(frame.code), frame.reason.as_str()), (4001, "token expired"));
}

/// A client that never reads does not delay one that does.
async fn a_slow_client_does_not_delay_others(backend: Backend) {
    use convergeai_alerts::domain::events::{Change, StaffEvent};
    let app = spawn_app!(backend);
    let (slow, _) = app.staff("slow@example.com", "agent").await;
    let (fast, _) = app.staff("fast@example.com", "agent").await;
    let mut slow_ws = ws_connect(&app.base, &app.token(slow)).await;
    assert_eq!(ws_next(&mut slow_ws, 5).await["type"], "unread_count");
    let mut fast_ws = ws_connect(&app.base, &app.token(fast)).await;
    assert_eq!(ws_next(&mut fast_ws, 5).await["type"], "unread_count");
    let big = app.alert(slow, "sla_breach", "critical", 1).await;
    let mut alert = convergeai_alerts::storage::alerts::by_id(&app.app.db, big).await.unwrap().unwrap();
    alert.message = "x".repeat(64 * 1024);
    // Megabytes for the slow client, which never reads them.
    for _ in 0..200 {
        app.app
            .events
            .publish(StaffEvent { staff_id: slow, change: Change::Updated { alert: Box::new(alert.clone().into()) } });
    }
    let mut fast_alert = alert.clone();
    fast_alert.assigned_to_staff_id = fast;
    fast_alert.message = "hello".into();
    let started = std::time::Instant::now();
    app.app
        .events
        .publish(StaffEvent { staff_id: fast, change: Change::Updated { alert: Box::new(fast_alert.into()) } });
    let got = ws_next(&mut fast_ws, 2).await;
    assert_eq!(got["alert"]["message"], "hello");
    assert!(started.elapsed() < Duration::from_millis(1000), "took {:?}", started.elapsed());
    drop(slow_ws);
}

/// Two instances on one database with Redis: an alert created through A
/// reaches a client on B, also after the Redis link was cut and restored.
async fn alerts_cross_instances_through_redis(backend: Backend) {
    let Some(redis) = redis_url() else {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    };
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let redis = url::Url::parse(&redis).unwrap();
    let proxy = Proxy::start(format!("{}:{}", redis.host_str().unwrap(), redis.port().unwrap_or(6379))).await;
    let via_proxy = format!("redis://127.0.0.1:{}", proxy.port);
    let channel = format!("test-{}", app.db_url().len() as u64 * 7919 + a as u64 + proxy.port as u64);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let instance_a = app.instance().await;
    let instance_b = app.instance().await;
    convergeai_alerts::realtime::connect(&instance_a.events, &via_proxy, &channel, stopped.clone()).unwrap();
    convergeai_alerts::realtime::connect(&instance_b.events, &via_proxy, &channel, stopped.clone()).unwrap();
    let base_a = serve(instance_a).await;
    let base_b = serve(instance_b).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // subscriptions in place

    let mut on_b = ws_connect(&base_b, &app.token(a)).await;
    assert_eq!(ws_next(&mut on_b, 5).await["unread_count"], 0);
    let admin = app.admin_token().await;
    let create =
        |title: &str| json!({"title": title, "customer_name": "x", "priority": "critical", "assigned_to_staff_id": a});
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base_a}/api/v1/complaints"))
        .bearer_auth(&admin)
        .json(&create("one"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created = ws_next(&mut on_b, 5).await;
    assert_eq!(
        (created["type"].clone(), created["alert"]["alert_type"].clone()),
        (json!("alert.created"), json!("critical_complaint"))
    );
    assert_eq!(ws_next(&mut on_b, 5).await["unread_count"], 1);

    // Redis goes away: the REST API keeps working on both instances.
    proxy.stop();
    let resp = client
        .post(format!("{base_a}/api/v1/complaints"))
        .bearer_auth(&admin)
        .json(&create("two"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // It comes back: B's clients get a fresh snapshot (counting what they missed), then live events again.
    proxy.restart().await;
    let snapshot = ws_next(&mut on_b, 15).await;
    assert_eq!(snapshot, json!({"type": "unread_count", "unread_count": 2}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = client
        .post(format!("{base_a}/api/v1/complaints"))
        .bearer_auth(&admin)
        .json(&create("three"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let mut seen = ws_next(&mut on_b, 15).await;
    while seen["type"] == "unread_count" {
        seen = ws_next(&mut on_b, 15).await;
    }
    assert_eq!(seen["type"], "alert.created");
    assert_eq!(ws_next(&mut on_b, 5).await["unread_count"], 3);
}

on_all_backends!(
    snapshot_then_own_alerts_only,
    alerts_from_check_and_scheduler_are_pushed,
    bad_tokens_are_refused_before_the_upgrade,
    an_expiring_token_closes_the_connection,
    a_slow_client_does_not_delay_others,
    alerts_cross_instances_through_redis,
);
