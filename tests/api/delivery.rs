//! The delivery outbox: routing by subscription, the dispatcher against a
//! real local webhook receiver, retries, crash recovery and racing dispatchers.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use chrono::TimeDelta;
use convergeai_alerts::delivery::DeliveryConfig;
use convergeai_alerts::delivery::channels::Channels;
use convergeai_alerts::delivery::dispatcher::{self, DispatcherConfig};
use convergeai_alerts::domain::App;
use convergeai_alerts::storage;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

/// A webhook receiver that records each post's `webhook-id`; answers with
/// `statuses` in turn (then 200), each after `delay`.
#[derive(Clone, Default)]
struct Receiver {
    ids: Arc<Mutex<Vec<String>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    delay: Duration,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(statuses: Vec<u16>, delay: Duration) -> (Receiver, String) {
        let receiver = Receiver { statuses: Arc::new(Mutex::new(statuses)), delay, ..Default::default() };
        let state = receiver.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap| {
                let state = state.clone();
                async move {
                    state.hits.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(state.delay).await;
                    let next = {
                        let mut statuses = state.statuses.lock().unwrap();
                        if statuses.is_empty() { 200 } else { statuses.remove(0) }
                    };
                    if next == 200 {
                        let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                        state.ids.lock().unwrap().push(id);
                    }
                    StatusCode::from_u16(next).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (receiver, url)
    }

    fn received(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }
}

fn channels(webhook_url: &str) -> Arc<Channels> {
    let config = DeliveryConfig {
        webhook_url: Some(webhook_url.to_owned()),
        webhook_secret: Some(convergeai_alerts::config::Secret::new("test-webhook-secret")),
        allow_private_targets: true,
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    Arc::new(Channels::new(&config).expect("channels"))
}

fn fast_config() -> DispatcherConfig {
    DispatcherConfig { poll: Duration::from_millis(50), retry_base: Duration::from_millis(20), ..Default::default() }
}

/// Runs a dispatcher until the outbox is empty (or `secs` pass); returns its stop handle.
async fn drain(app: &App, channels: Arc<Channels>, config: DispatcherConfig, secs: u64) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatcher::run(app.clone(), channels, config, stopped));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while storage::deliveries::backlog(&app.db).await.unwrap() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
}

async fn subscribe(app: &TestApp, staff: i64, alert_type: &str, enabled: bool, channels: Value) -> (u16, Value) {
    let body = json!({"is_enabled": enabled, "delivery_channels": channels});
    app.send(Method::PUT, &format!("/api/v1/alerts/subscriptions/{alert_type}"), Some(&app.token(staff)), Some(body))
        .await
}

async fn deliveries_of(app: &TestApp, staff: i64, alert: &Value) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/alerts/{}/deliveries", alert["id"]), &app.token(staff)).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

async fn alert_for(app: &TestApp, staff: i64, complaint: &Value) -> Value {
    use convergeai_alerts::storage::entities::alert;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let found = alert::Entity::find()
        .filter(alert::Column::AssignedToStaffId.eq(staff))
        .filter(alert::Column::ResourceId.eq(complaint["id"].as_i64().unwrap()))
        .one(&app.app.db)
        .await
        .unwrap()
        .expect("an alert");
    serde_json::to_value(convergeai_alerts::domain::views::Alert::from(found)).unwrap()
}

/// No subscription: in-app only. Disabled: in-app only. Enabled: its channels.
/// Without in_app: recorded and sent, but never in the inbox.
async fn subscriptions_route_each_alert(backend: Backend) {
    let app = spawn_app!(backend);
    let mut staff = Vec::new();
    for name in ["none", "disabled", "email_webhook", "webhook_only"] {
        staff.push(app.staff(&format!("{name}@example.com"), "agent").await.0);
    }
    assert_eq!(subscribe(&app, staff[1], "critical_complaint", false, json!(["email"])).await.0, 200);
    assert_eq!(
        subscribe(&app, staff[2], "critical_complaint", true, json!(["in_app", "email", "webhook"])).await.0,
        200
    );
    assert_eq!(subscribe(&app, staff[3], "critical_complaint", true, json!(["webhook"])).await.0, 200);
    let expected: [&[&str]; 4] = [&[], &[], &["email", "webhook"], &["webhook"]];
    for (who, channels) in staff.iter().zip(expected) {
        let c = app
            .complaint(json!({"title": "t", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": who}))
            .await;
        let alert = alert_for(&app, *who, &c).await;
        let rows = deliveries_of(&app, *who, &alert).await;
        let got: Vec<&str> = rows.iter().map(|r| r["channel"].as_str().unwrap()).collect();
        assert_eq!(got, channels, "staff {who}");
        assert!(rows.iter().all(|r| r["status"] == "pending" && r["attempts"] == 0));
        let in_inbox = app.inbox(*who).await.iter().any(|a| a["id"] == alert["id"]);
        assert_eq!(in_inbox, *who != staff[3], "in_app switched off only for the webhook-only subscriber");
    }
    // The log is the owner's, or an admin's; another agent gets 404.
    let c = app
        .complaint(
            json!({"title": "t", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": staff[2]}),
        )
        .await;
    let alert = alert_for(&app, staff[2], &c).await;
    let path = format!("/api/v1/alerts/{}/deliveries", alert["id"]);
    assert_eq!(app.get(&path, &app.token(staff[0])).await.0, 404);
    let (status, log) = app.get(&path, &app.admin_token().await).await;
    assert_eq!((status, log["alert_id"].clone()), (200, alert["id"].clone()));
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 2);
}

async fn mandatory_in_app_cannot_be_switched_off(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let (status, body) = subscribe(&app, a, "sla_breach", true, json!(["email"])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["detail"],
        "delivery_channels: in_app cannot be switched off for sla_breach: a rule marks it mandatory"
    );
    assert_eq!(subscribe(&app, a, "sla_breach", true, json!(["in_app", "email"])).await.0, 200);
    assert_eq!(subscribe(&app, a, "sla_at_risk", true, json!(["email"])).await.0, 200, "not mandatory");
    // Once no enabled rule says so, it can be switched off.
    app.put("/api/v1/alerts/rules/1/disable", &app.admin_token().await).await;
    assert_eq!(subscribe(&app, a, "sla_breach", true, json!(["email"])).await.0, 200);
}

async fn dispatcher_sends_retries_and_gives_up(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    subscribe(&app, a, "critical_complaint", true, json!(["in_app", "webhook", "email"])).await;
    // Two failures, then success.
    let (receiver, url) = Receiver::start(vec![500, 503], Duration::ZERO).await;
    let c = app
        .complaint(json!({"title": "t", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let alert = alert_for(&app, a, &c).await;
    drain(&app.app, channels(&url), fast_config(), 10).await;
    let rows = deliveries_of(&app, a, &alert).await;
    let webhook = rows.iter().find(|r| r["channel"] == "webhook").unwrap();
    assert_eq!((webhook["status"].clone(), webhook["attempts"].clone()), (json!("sent"), json!(3)), "{webhook}");
    assert!(webhook["sent_at"].is_string());
    assert_eq!(receiver.received().len(), 1);
    let email = rows.iter().find(|r| r["channel"] == "email").unwrap();
    assert_eq!(email["status"], "skipped", "email is not configured: {email}");
    assert!(email["last_error"].as_str().unwrap().contains("not configured"), "{email}");

    // A 4xx other than 429 is not retried.
    let (receiver, url) = Receiver::start(vec![400], Duration::ZERO).await;
    let c = app
        .complaint(json!({"title": "u", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let alert = alert_for(&app, a, &c).await;
    drain(&app.app, channels(&url), fast_config(), 10).await;
    let webhook = deliveries_of(&app, a, &alert).await.into_iter().find(|r| r["channel"] == "webhook").unwrap();
    assert_eq!((webhook["status"].clone(), webhook["attempts"].clone()), (json!("dead"), json!(1)), "{webhook}");
    assert!(receiver.received().is_empty());

    // Always failing: retried up to the maximum, then dead.
    let (receiver, url) = Receiver::start(vec![500; 10], Duration::ZERO).await;
    let c = app
        .complaint(json!({"title": "v", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let alert = alert_for(&app, a, &c).await;
    drain(&app.app, channels(&url), DispatcherConfig { max_attempts: 3, ..fast_config() }, 10).await;
    let webhook = deliveries_of(&app, a, &alert).await.into_iter().find(|r| r["channel"] == "webhook").unwrap();
    assert_eq!((webhook["status"].clone(), webhook["attempts"].clone()), (json!("dead"), json!(3)), "{webhook}");
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 3);
}

/// A dispatcher killed mid-batch leaves its rows claimed; once the claims run
/// out a new one sends them: every delivery arrives, with its stable id.
async fn a_crashed_dispatcher_loses_nothing(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    subscribe(&app, a, "critical_complaint", true, json!(["in_app", "webhook"])).await;
    for i in 0..20 {
        app.complaint(
            json!({"title": format!("c{i}"), "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}),
        )
        .await;
    }
    let (receiver, url) = Receiver::start(Vec::new(), Duration::from_millis(300)).await;
    let config = DispatcherConfig { claim: Duration::from_secs(30), concurrency: 4, ..fast_config() };
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let crashing = tokio::spawn(dispatcher::run(app.app.clone(), channels(&url), config.clone(), stopped));
    tokio::time::sleep(Duration::from_millis(450)).await;
    crashing.abort(); // mid-batch: some posts done, some in flight, some not started
    let _ = crashing.await;
    let before = receiver.received().len();
    assert!(before < 20, "the crash happened mid-batch ({before} sent)");
    // A restarted dispatcher sees the rows still claimed, until the claims expire.
    app.app.clock.advance(TimeDelta::seconds(31));
    drain(&app.app, channels(&url), config, 20).await;
    let received = receiver.received();
    let mut unique = received.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20, "every delivery arrived (deduplicated by webhook-id)");
    assert!(received.len() >= 20, "at least once");
    assert_eq!(storage::deliveries::backlog(&app.app.db).await.unwrap(), 0);
}

/// Two dispatchers on one database never send the same delivery twice.
async fn racing_dispatchers_send_each_delivery_once(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    subscribe(&app, a, "critical_complaint", true, json!(["in_app", "webhook"])).await;
    let admin = app.admin_token().await;
    // 1 000 deliveries: 500 alerts × 2 webhook rows (a second row per alert inserted directly).
    for i in 0..500 {
        let body =
            json!({"title": format!("c{i}"), "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a});
        let (status, _) = app.send(Method::POST, "/api/v1/complaints", Some(&admin), Some(body)).await;
        assert_eq!(status, 201);
    }
    let db = &app.app.db;
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(
        "INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) \
         SELECT alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at FROM notification_deliveries",
    )
    .await
    .unwrap();
    assert_eq!(storage::deliveries::backlog(db).await.unwrap(), 1000);
    let (receiver, url) = Receiver::start(Vec::new(), Duration::ZERO).await;
    let first = app.instance().await;
    let second = app.instance().await;
    let config = DispatcherConfig { batch: 50, ..fast_config() };
    tokio::join!(drain(&first, channels(&url), config.clone(), 60), drain(&second, channels(&url), config, 60));
    let received = receiver.received();
    let mut unique = received.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((received.len(), unique.len()), (1000, 1000), "each delivery sent exactly once");
}

on_all_backends!(
    subscriptions_route_each_alert,
    mandatory_in_app_cannot_be_switched_off,
    dispatcher_sends_retries_and_gives_up,
    a_crashed_dispatcher_loses_nothing,
    racing_dispatchers_send_each_delivery_once,
);

/// On shutdown the dispatcher stops claiming, finishes the sends in flight and returns.
async fn shutdown_finishes_sends_in_flight(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    subscribe(&app, a, "critical_complaint", true, json!(["in_app", "webhook"])).await;
    for i in 0..3 {
        app.complaint(
            json!({"title": format!("c{i}"), "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}),
        )
        .await;
    }
    let (receiver, url) = Receiver::start(Vec::new(), Duration::from_millis(800)).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = DispatcherConfig { batch: 2, ..fast_config() };
    let task = tokio::spawn(dispatcher::run(app.app.clone(), channels(&url), config, stopped));
    while receiver.hits.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops within the bound").unwrap();
    assert_eq!(receiver.received().len(), 2, "the two sends in flight completed");
    assert_eq!(storage::deliveries::backlog(&app.app.db).await.unwrap(), 1, "the third was never claimed");
}

mod shutdown {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::shutdown_finishes_sends_in_flight(crate::harness::Backend::Sqlite).await
    }
}
