//! Hardening: faults and several instances, with real peers only.
//!
//! The service runs as real `serve` processes (the binary cargo built for
//! these tests) on a fresh MariaDB or PostgreSQL database per test: one
//! behind a TCP proxy that cuts the database off, two of which one is killed
//! with SIGKILL mid-work, three sharing the work for a minute with Redis and
//! WebSocket clients. A webhook receiver in the test counts what arrives by
//! `webhook-id`. SQLite runs the webhook-outage test only: the others are
//! about a network database and several processes on it.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use chrono::{TimeDelta, Utc};
use convergeai_alerts::delivery::DeliveryConfig;
use convergeai_alerts::delivery::channels::Channels;
use convergeai_alerts::delivery::dispatcher::{self, DispatcherConfig};
use convergeai_alerts::storage::entities::{alert, complaint, notification_delivery};
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::harness::{Backend, Proxy, TEST_SECRET, TestApp, redis_url, ws_connect, ws_next};
use crate::spawn_app;

/// How long the three instances take a stream of complaints in
/// `three_instances_share_the_work`: every scheduled job runs dozens of times
/// on each instance (leases contended each second), claims and the Redis
/// link carry a steady load, and the whole test still ends in about 70 s.
const STREAM: Duration = Duration::from_secs(60);

/// Every alert type, so a subscriber gets a webhook for each of its alerts.
const ALERT_TYPES: [&str; 4] = ["critical_complaint", "sla_breach", "sla_at_risk", "high_workload"];

// ---------------------------------------------------------------------------
// Peers

/// A `serve` process of the binary under test on a random port. Killed when
/// dropped; its log (JSON lines) is printed if the test failed.
struct Server {
    name: String,
    base: String,
    child: Option<std::process::Child>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(name: &str, database_url: &str, env: &[(&str, String)]) -> Server {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ALERTS_") || key == "DATABASE_URL" {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("ALERTS_BIND", "127.0.0.1:0")
            .env("ALERTS_JWT_SECRET", TEST_SECRET)
            .env("ALERTS_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn,sea_orm_migration=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the server binary");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = tokio::sync::oneshot::channel::<String>();
        let lines = logs.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut found = Some(found);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1)
                    && let Some(found) = found.take()
                {
                    let _ =
                        found.send(rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut server = Server { name: name.into(), base: String::new(), child: Some(child), logs };
        match tokio::time::timeout(Duration::from_secs(30), listening).await {
            Ok(Ok(address)) => server.base = format!("http://{address}"),
            _ => panic!("{name} did not start:\n{}", server.log_tail(40)),
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, as a crash would: no shutdown, no lease or claim given back.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_tail(&self, n: usize) -> String {
        let logs = self.logs.lock().unwrap();
        logs[logs.len().saturating_sub(n)..].join("\n")
    }

    /// How many log lines are warnings or errors.
    fn warnings(&self) -> usize {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- log of {} (last lines) ---\n{}", self.name, self.log_tail(30));
        }
    }
}

/// One post as the webhook receiver saw it.
#[derive(Clone, Debug)]
struct Hit {
    /// The `webhook-id` header, or an SMS's `reference`.
    id: String,
    /// An SMS's `message`.
    message: String,
    /// The instance that sent it (each has its own receiver path).
    from: String,
    at: Instant,
}

/// A webhook receiver at `/hook/{instance}`: records each post on arrival,
/// answers 200 after `delay`, and knows which posts are still unanswered.
#[derive(Clone, Default)]
struct Hooks {
    hits: Arc<Mutex<Vec<Hit>>>,
    in_flight: Arc<Mutex<Vec<Hit>>>,
    delay: Duration,
}

impl Hooks {
    /// A receiver on a random port; returns it and its base URL (add `/hook/NAME`).
    async fn start(delay: Duration) -> (Hooks, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hooks = Hooks { delay, ..Default::default() };
        hooks.serve(listener);
        (hooks, base)
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let state = self.clone();
        let router = axum::Router::new().route(
            "/hook/{from}",
            axum::routing::post(move |Path(from): Path<String>, headers: HeaderMap, body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    let sms: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let id = match headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                        Some(id) => id.to_owned(),
                        None => sms["reference"].as_str().unwrap_or_default().to_owned(),
                    };
                    let message = sms["message"].as_str().unwrap_or_default().to_owned();
                    let hit = Hit { id: id.clone(), message, from, at: Instant::now() };
                    state.hits.lock().unwrap().push(hit.clone());
                    state.in_flight.lock().unwrap().push(hit);
                    tokio::time::sleep(state.delay).await;
                    state.in_flight.lock().unwrap().retain(|h| h.id != id);
                    StatusCode::OK
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Posts received, by webhook-id.
    fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for hit in self.hits.lock().unwrap().iter() {
            *counts.entry(hit.id.clone()).or_default() += 1;
        }
        counts
    }
}

// ---------------------------------------------------------------------------
// Fixtures and checks

/// Staff of a test: supervisors with their agents, and who an unassigned
/// complaint alerts (every supervisor and admin).
struct Team {
    supervisors: Vec<i64>,
    agents: Vec<i64>,
    supervisor_of: HashMap<i64, i64>,
    on_call: Vec<i64>,
}

impl Team {
    /// `supervisors` supervisors with `per_supervisor` agents each, all
    /// subscribed to every alert type in-app and by webhook.
    async fn create(app: &TestApp, supervisors: usize, per_supervisor: usize) -> Team {
        let mut team =
            Team { supervisors: Vec::new(), agents: Vec::new(), supervisor_of: HashMap::new(), on_call: Vec::new() };
        for s in 0..supervisors {
            let email = format!("sup{s}@example.com");
            let (sup, _) = app.staff(&email, "supervisor").await;
            team.supervisors.push(sup);
            for a in 0..per_supervisor {
                let (agent, _) = app.staff_with(&format!("agent{s}-{a}@example.com"), "agent", Some(&email)).await;
                team.agents.push(agent);
                team.supervisor_of.insert(agent, sup);
            }
        }
        let admin_token = app.admin_token().await;
        let (_, me) = app.get("/api/v1/auth/me", &admin_token).await;
        team.on_call = team.supervisors.clone();
        team.on_call.push(me["id"].as_i64().expect("admin id"));
        for staff in team.supervisors.iter().chain(&team.agents) {
            subscribe(app, *staff, &ALERT_TYPES).await;
        }
        team
    }

    /// The staff members with a webhook subscription.
    fn subscribed(&self) -> BTreeSet<i64> {
        self.supervisors.iter().chain(&self.agents).copied().collect()
    }

    /// Who a complaint's alerts go to: the assignee and their supervisor, or everyone on call.
    fn recipients(&self, assignee: Option<i64>) -> Vec<i64> {
        match assignee {
            Some(agent) => vec![agent, self.supervisor_of[&agent]],
            None => self.on_call.clone(),
        }
    }
}

async fn subscribe(app: &TestApp, staff: i64, alert_types: &[&str]) {
    for alert_type in alert_types {
        let body = json!({"is_enabled": true, "delivery_channels": ["in_app", "webhook"]});
        let path = format!("/api/v1/alerts/subscriptions/{alert_type}");
        let (status, body) = app.send(Method::PUT, &path, Some(&app.token(staff)), Some(body)).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// Settings of an instance under test: every job each second or so, the
/// dispatcher posting to this instance's path of the receiver, a claim of
/// `claim_seconds`, and room for a loaded test machine (acquire timeout 5 s;
/// a 3 s send timeout, so a slow post under load is not timed out and sent
/// again: that duplicate would be legitimate, but not the one under test).
fn instance_env(name: &str, hooks_base: &str, claim_seconds: u64, job_seconds: u64) -> Vec<(&'static str, String)> {
    vec![
        ("ALERTS_SCHEDULER", "on".into()),
        ("ALERTS_SLA_CHECK_SECONDS", "1".into()),
        ("ALERTS_CRITICAL_CHECK_SECONDS", job_seconds.to_string()),
        ("ALERTS_WORKLOAD_CHECK_SECONDS", job_seconds.to_string()),
        ("ALERTS_CLEANUP_SECONDS", "3600".into()),
        ("ALERTS_DISPATCHER", "on".into()),
        ("ALERTS_WEBHOOK_URL", format!("{hooks_base}/hook/{name}")),
        ("ALERTS_WEBHOOK_SECRET", "test-webhook-secret".into()),
        ("ALERTS_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("ALERTS_DELIVERY_TIMEOUT_SECONDS", "3".into()),
        ("ALERTS_DELIVERY_CLAIM_SECONDS", claim_seconds.to_string()),
        ("ALERTS_DB_ACQUIRE_TIMEOUT_MS", "5000".into()),
    ]
}

/// (alert type, resource type, resource id, recipient): at most one alert each per window.
type AlertKey = (String, Option<String>, Option<i64>, i64);

/// What the database holds at the end of a multi-instance test.
struct Outcome {
    complaints: Vec<complaint::Model>,
    alerts: Vec<alert::Model>,
    webhooks: Vec<notification_delivery::Model>,
}

impl Outcome {
    async fn read(app: &TestApp) -> Outcome {
        let db = &app.app.db;
        let webhooks = notification_delivery::Entity::find().all(db).await.unwrap();
        Outcome {
            complaints: complaint::Entity::find().all(db).await.unwrap(),
            alerts: alert::Entity::find().all(db).await.unwrap(),
            webhooks: webhooks.into_iter().filter(|d| d.channel == "webhook").collect(),
        }
    }

    /// Keys (alert type, resource, recipient) held by more than one alert.
    fn duplicate_alerts(&self) -> Vec<(AlertKey, usize)> {
        let mut keys: BTreeMap<AlertKey, usize> = BTreeMap::new();
        for a in &self.alerts {
            let key = (a.alert_type.clone(), a.resource_type.clone(), a.resource_id, a.assigned_to_staff_id);
            *keys.entry(key).or_default() += 1;
        }
        keys.into_iter().filter(|(_, n)| *n > 1).collect()
    }

    /// (alert type, complaint, recipient) the complaints call for but no alert
    /// holds: every critical complaint's alert, and the breach of every
    /// complaint more than `settle` past its deadline.
    fn missing_alerts(&self, team: &Team, settle: TimeDelta) -> Vec<(&'static str, i64, i64)> {
        let have: BTreeSet<(&str, i64, i64)> = self
            .alerts
            .iter()
            .filter(|a| a.resource_type.as_deref() == Some("complaint"))
            .filter_map(|a| Some((a.alert_type.as_str(), a.resource_id?, a.assigned_to_staff_id)))
            .collect();
        let breached_before = Utc::now() - settle;
        let mut missing = Vec::new();
        for c in &self.complaints {
            let mut types = Vec::new();
            if c.priority == "critical" {
                types.push("critical_complaint");
            }
            if c.sla_deadline.is_some_and(|d| d < breached_before) {
                types.push("sla_breach");
            }
            for alert_type in types {
                for recipient in team.recipients(c.assigned_to_staff_id) {
                    if !have.contains(&(alert_type, c.id, recipient)) {
                        missing.push((alert_type, c.id, recipient));
                    }
                }
            }
        }
        missing
    }

    /// Alerts of webhook subscribers that have no webhook delivery (lost from the outbox).
    fn alerts_without_webhook(&self, team: &Team) -> Vec<i64> {
        let with: BTreeSet<i64> = self.webhooks.iter().map(|d| d.alert_id).collect();
        let subscribed = team.subscribed();
        self.alerts
            .iter()
            .filter(|a| subscribed.contains(&a.assigned_to_staff_id) && !with.contains(&a.id))
            .map(|a| a.id)
            .collect()
    }

    /// The webhook-id of every webhook delivery in the outbox.
    fn webhook_ids(&self) -> BTreeSet<String> {
        self.webhooks.iter().map(|d| format!("msg_{}_{}", d.alert_id, d.id)).collect()
    }

    fn unsent(&self) -> Vec<&notification_delivery::Model> {
        self.webhooks.iter().filter(|d| d.status != "sent").collect()
    }
}

/// Polls `done` every 250 ms until it holds or `limit` passes; returns whether it held.
async fn wait_for<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if done().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The database's host and port, as the proxy's upstream.
fn upstream(url: &url::Url, backend: Backend) -> String {
    let default_port = if backend == Backend::MySql { 3306 } else { 5432 };
    format!("{}:{}", url.host_str().expect("database host"), url.port().unwrap_or(default_port))
}

// ---------------------------------------------------------------------------
// 1. The database cut off under load

/// One request of the load and what it got.
struct Request {
    kind: &'static str,
    started: Instant,
    took: Duration,
    /// 0: no response (connection error or the client's 10 s timeout).
    status: u16,
    body: Value,
    retry_after: bool,
    critical: bool,
}

/// A `serve` process reaches its database through a proxy; under a steady
/// load the proxy stops (every connection cut, new ones refused) for 3 s and
/// comes back. Meanwhile every request is answered within 1 s: a 503 with
/// `{"detail"}` and `Retry-After` when it needs the database (unread counts
/// may come from the 5 s inbox cache), never a hang or a 500. Afterwards the
/// service recovers by itself, every complaint answered 201 is saved, and
/// every critical one has its alert (after a check, which catches up the
/// evaluations cut off between the complaint's commit and its alert).
async fn database_cut_off_fails_fast_and_recovers(backend: Backend) {
    let app = spawn_app!(backend);
    let team = Team::create(&app, 1, 1).await;
    let agent = team.agents[0];
    let (admin, agent_token) = (app.admin_token().await, app.token(agent));
    let direct = url::Url::parse(&app.db_url()).unwrap();
    let proxy = Proxy::start(upstream(&direct, backend)).await;
    let mut via_proxy = direct.clone();
    via_proxy.set_host(Some("127.0.0.1")).unwrap();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    // The default acquire timeout (ALERTS_DB_ACQUIRE_TIMEOUT_MS) is the one under test.
    let off = [("ALERTS_SCHEDULER", "off".to_owned()), ("ALERTS_DISPATCHER", "off".to_owned())];
    let server = Arc::new(Server::start("server", via_proxy.as_str(), &off).await);

    let requests = Arc::new(Mutex::new(Vec::<Request>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut load = tokio::task::JoinSet::new();
    for worker in 0..4usize {
        let (client, server, requests, running) = (client.clone(), server.clone(), requests.clone(), running.clone());
        let (admin, agent_token) = (admin.clone(), agent_token.clone());
        load.spawn(async move {
            let mut n = 0usize;
            while running.load(Ordering::SeqCst) {
                n += 1;
                let critical = n.is_multiple_of(2);
                let kind = ["post", "unread_count", "filtered_list"][(worker + n) % 3];
                let request = match kind {
                    "post" => client.post(server.url("/api/v1/complaints")).bearer_auth(&admin).json(&json!({
                        "title": format!("w{worker}-{n}"), "customer_name": "x",
                        "priority": if critical { "critical" } else { "medium" }, "assigned_to_staff_id": agent,
                    })),
                    "unread_count" => client.get(server.url("/api/v1/alerts/unread/count")).bearer_auth(&agent_token),
                    // A filter: never answered from the inbox cache.
                    _ => {
                        client.get(server.url("/api/v1/alerts?severity=critical&page_size=5")).bearer_auth(&agent_token)
                    }
                };
                let started = Instant::now();
                let (status, retry_after, body) = match request.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let retry_after = resp.headers().contains_key("retry-after");
                        let bytes = resp.bytes().await.unwrap_or_default();
                        let body = serde_json::from_slice(&bytes)
                            .unwrap_or_else(|_| json!({"not_json": String::from_utf8_lossy(&bytes)}));
                        (status, retry_after, body)
                    }
                    Err(e) => (0, false, json!({"error": e.to_string()})),
                };
                let took = started.elapsed();
                requests.lock().unwrap().push(Request { kind, started, took, status, body, retry_after, critical });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cut = Instant::now();
    proxy.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restored = Instant::now();
    proxy.restart().await;
    let recovered =
        wait_for(Duration::from_secs(10), || {
            let requests = requests.clone();
            async move {
                requests.lock().unwrap().iter().any(|r| r.kind == "post" && r.started >= restored && r.status == 201)
            }
        })
        .await;
    let recovered_after = restored.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, Ordering::SeqCst);
    load.join_all().await;
    let requests = std::mem::take(&mut *requests.lock().unwrap());
    assert!(recovered, "no complaint saved within 10 s of the database coming back");

    // Nothing hung, nothing failed as a server error; whatever was cut off or
    // sent meanwhile was answered within 1 s.
    let ended = |r: &Request| r.started + r.took;
    for r in &requests {
        assert!(matches!(r.status, 200 | 201 | 503), "{} got {}: {}", r.kind, r.status, r.body);
        if r.status == 503 {
            assert!(r.body["detail"].is_string() && r.retry_after, "503 without detail or Retry-After: {}", r.body);
        }
        if ended(r) >= cut && r.started <= restored {
            assert!(r.took < Duration::from_secs(1), "{} took {:?} ({} {})", r.kind, r.took, r.status, r.body);
        }
    }
    assert!(requests.iter().filter(|r| ended(r) < cut).all(|r| r.status != 503), "503 before the cut");
    let outage: Vec<&Request> = requests.iter().filter(|r| r.started >= cut && ended(r) <= restored).collect();
    let needing_db: Vec<&&Request> = outage.iter().filter(|r| r.kind != "unread_count").collect();
    assert!(needing_db.len() >= 10, "enough load during the outage ({} requests)", needing_db.len());
    for r in &needing_db {
        assert_eq!(r.status, 503, "{} during the outage: {}", r.kind, r.body);
    }
    let first_503 = requests.iter().filter(|r| r.status == 503).map(|r| ended(r) - cut).min().expect("a 503");
    let slowest_503 = outage.iter().filter(|r| r.status == 503).map(|r| r.took).max().unwrap_or_default();
    let cached_counts = outage.iter().filter(|r| r.kind == "unread_count" && r.status == 200).count();

    // Nothing lost: every 201 is saved; once checked, every critical one has its alert.
    let created: Vec<(i64, bool)> = requests
        .iter()
        .filter(|r| r.kind == "post" && r.status == 201)
        .map(|r| (r.body["id"].as_i64().expect("complaint id"), r.critical))
        .collect();
    let before = Outcome::read(&app).await;
    let saved: BTreeSet<i64> = before.complaints.iter().map(|c| c.id).collect();
    let lost: Vec<i64> = created.iter().map(|(id, _)| *id).filter(|id| !saved.contains(id)).collect();
    assert!(lost.is_empty(), "complaints answered 201 but not saved: {lost:?}");
    let unalerted_before_check = before.missing_alerts(&team, TimeDelta::zero()).len();
    let (status, body) = app.send(Method::POST, "/api/v1/alerts/check", Some(&admin), None).await;
    assert_eq!(status, 200, "{body}");
    let after = Outcome::read(&app).await;
    let missing = after.missing_alerts(&team, TimeDelta::zero());
    assert!(missing.is_empty(), "critical complaints without their alerts after a check: {missing:?}");
    assert!(after.duplicate_alerts().is_empty(), "{:?}", after.duplicate_alerts());
    let posts = created.len();
    eprintln!(
        "{backend:?}: {} requests; outage 3 s: first 503 {:?} after the cut, slowest 503 {:?}, {} requests needing the \
         database all 503, {cached_counts} unread counts from the cache; recovered {:?} after the restart; {posts} \
         complaints saved (+{} answered 503 but committed), {unalerted_before_check} alerts caught up by the check; \
         server warnings {}",
        requests.len(),
        first_503,
        slowest_503,
        needing_db.len(),
        recovered_after,
        saved.len() - posts,
        server.warnings(),
    );
}

// ---------------------------------------------------------------------------
// 2. A webhook receiver down for a while

/// Nothing listens at the webhook address (connection refused) while the
/// dispatcher tries: every delivery fails and is rescheduled, several times.
/// The receiver comes back on the same address: each is then sent, once.
/// (`delivery::dispatcher_sends_retries_and_gives_up` covers a receiver that
/// is up but answers 5xx/4xx, and giving up.)
async fn webhook_receiver_down_then_back(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    subscribe(&app, a, &["critical_complaint"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again at once
    for i in 0..5 {
        app.complaint(
            json!({"title": format!("c{i}"), "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}),
        )
        .await;
    }
    let config = DeliveryConfig {
        webhook_url: Some(format!("http://127.0.0.1:{port}/hook/dispatcher")),
        webhook_secret: Some(convergeai_alerts::config::Secret::new("test-webhook-secret")),
        allow_private_targets: true,
        timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let channels = Arc::new(Channels::new(&config).expect("channels"));
    let dispatcher_config = DispatcherConfig {
        poll: Duration::from_millis(50),
        retry_base: Duration::from_millis(100),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatcher::run(app.app.clone(), channels, dispatcher_config, stopped));

    // Down: each delivery tried and rescheduled at least 3 times (attempts 1, 2, 3, 4).
    let app_ref = &app;
    let retried = wait_for(Duration::from_secs(15), || async move {
        let out = Outcome::read(app_ref).await;
        out.webhooks.len() == 5 && out.webhooks.iter().all(|d| d.status == "failed" && d.attempts >= 4)
    })
    .await;
    let down = Outcome::read(&app).await;
    assert!(retried, "not retried while down: {:?}", down.webhooks);
    let error = down.webhooks[0].last_error.clone().unwrap_or_default();

    // Back on the same address.
    let hooks = Hooks::default();
    hooks.serve(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("rebind the receiver's port"));
    let back = Instant::now();
    let sent =
        wait_for(Duration::from_secs(20), || async move { Outcome::read(app_ref).await.unsent().is_empty() }).await;
    let took = back.elapsed();
    stop.send(true).unwrap();
    task.await.unwrap();
    let out = Outcome::read(&app).await;
    assert!(sent, "not all sent once the receiver was back: {:?}", out.unsent());
    let expected: BTreeMap<String, usize> = out.webhook_ids().into_iter().map(|id| (id, 1)).collect();
    assert_eq!(hooks.counts(), expected, "each delivery received exactly once");
    assert!(out.webhooks.iter().all(|d| d.last_error.is_none() && d.sent_at.is_some()));
    let attempts: Vec<i32> = out.webhooks.iter().map(|d| d.attempts).collect();
    eprintln!(
        "{backend:?}: down: {error:?}; attempts per delivery {attempts:?}; all sent {took:?} after the receiver came back"
    );
}

// ---------------------------------------------------------------------------
// 3. SIGKILL of one of two instances mid-work

/// Two `serve` processes on one database, each with the scheduler (jobs every
/// second) and the dispatcher (claims of 4 s); a slow webhook receiver
/// (300 ms per post). Complaints arrive alternately at both; one instance is
/// killed with SIGKILL while posts of its are in flight (it held their
/// claims) and requests may be on their way to it. Afterwards: no alert
/// twice for one (type, complaint, recipient), every alert the data calls
/// for exists, every delivery reached the receiver, and a delivery received
/// twice is only one the dead instance was sending, sent again once its
/// claim ran out (at least once; the receiver deduplicates by webhook-id).
async fn an_instance_killed_mid_work_loses_nothing(backend: Backend) {
    let app = spawn_app!(backend);
    let team = Team::create(&app, 1, 4).await;
    let (hooks, hooks_base) = Hooks::start(Duration::from_millis(300)).await;
    let db_url = app.db_url();
    let mut a = Server::start("A", &db_url, &instance_env("A", &hooks_base, 4, 1)).await;
    let b = Server::start("B", &db_url, &instance_env("B", &hooks_base, 4, 1)).await;
    let admin = app.admin_token().await;

    let a_dead = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let poster = {
        let (a_base, b_base, a_dead, posted) = (a.base.clone(), b.base.clone(), a_dead.clone(), posted.clone());
        let (agents, admin) = (team.agents.clone(), admin.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            let mut answers = Vec::new();
            for i in 0..48usize {
                let base = if i.is_multiple_of(2) && !a_dead.load(Ordering::SeqCst) { &a_base } else { &b_base };
                let mut body =
                    json!({"title": format!("c{i}"), "customer_name": "x", "assigned_to_staff_id": agents[i % 4]});
                if i.is_multiple_of(3) {
                    body["priority"] = json!("critical");
                } else {
                    body["priority"] = json!("high");
                    body["sla_deadline"] = json!((Utc::now() + TimeDelta::seconds(3 + (i % 4) as i64)).to_rfc3339());
                }
                let answer =
                    client.post(format!("{base}/api/v1/complaints")).bearer_auth(&admin).json(&body).send().await;
                answers.push(answer.map(|r| r.status().as_u16()).map_err(|e| e.to_string()));
                posted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            answers
        })
    };

    // Kill A once half the complaints are in and A has posts in flight.
    // Posts of A the receiver holds for 100 ms more at least: A cannot see them
    // answered (and mark them sent) before the kill lands.
    let in_flight_from_a = || {
        let in_flight = hooks.in_flight.lock().unwrap();
        in_flight
            .iter()
            .filter(|h| h.from == "A" && h.at.elapsed() < Duration::from_millis(200))
            .cloned()
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let interrupted = loop {
        let found = in_flight_from_a();
        if posted.load(Ordering::SeqCst) >= 20 && !found.is_empty() {
            break found;
        }
        assert!(Instant::now() < deadline, "A never had a post in flight (received: {})", hooks.hits().len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    a_dead.store(true, Ordering::SeqCst);
    a.kill();
    let killed_at = Instant::now();
    let answers = poster.await.unwrap();
    let last_deadline = Instant::now() + Duration::from_secs(6);

    // Settle: deadlines passed and checked, outbox drained, every delivery received.
    let (app_ref, team_ref, hooks_ref) = (&app, &team, &hooks);
    let settled = wait_for(Duration::from_secs(45), || async move {
        if Instant::now() < last_deadline + Duration::from_secs(2) {
            return false;
        }
        let out = Outcome::read(app_ref).await;
        let counts = hooks_ref.counts();
        out.unsent().is_empty()
            && out.missing_alerts(team_ref, TimeDelta::seconds(3)).is_empty()
            && out.webhook_ids().iter().all(|id| counts.contains_key(id))
    })
    .await;
    let drained_after = killed_at.elapsed();
    let out = Outcome::read(&app).await;
    let counts = hooks.counts();
    assert!(out.duplicate_alerts().is_empty(), "duplicate alerts: {:?}", out.duplicate_alerts());
    let missing = out.missing_alerts(&team, TimeDelta::seconds(3));
    assert!(missing.is_empty(), "alerts missing: {missing:?}");
    assert!(out.alerts_without_webhook(&team).is_empty(), "alerts without a webhook delivery");
    assert!(settled && out.unsent().is_empty(), "deliveries not sent: {:?}", out.unsent());
    let expected = out.webhook_ids();
    let never: Vec<&String> = expected.iter().filter(|id| !counts.contains_key(*id)).collect();
    assert!(never.is_empty(), "deliveries never received: {never:?}");
    let unknown: Vec<&String> = counts.keys().filter(|id| !expected.contains(*id)).collect();
    assert!(unknown.is_empty(), "received ids the outbox does not hold: {unknown:?}");

    // Duplicates: only what A was sending when it died, sent again by B after the claim ran out.
    let hits = hooks.hits();
    let twice: Vec<&String> = counts.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
    for id in &twice {
        let of: Vec<&Hit> = hits.iter().filter(|h| &h.id == *id).collect();
        assert_eq!(of.len(), 2, "{id} received {} times", of.len());
        assert!(of[0].from == "A" && of[0].at < killed_at && of[1].from == "B", "{id}: {of:?}");
        let claim_ran_out = of[1].at.duration_since(killed_at);
        assert!(claim_ran_out < Duration::from_secs(10), "{id} resent {claim_ran_out:?} after the kill");
    }
    for hit in &interrupted {
        assert_eq!(counts[&hit.id], 2, "{} was in flight from A when it died: sent again", hit.id);
    }
    let refused: Vec<_> = answers.iter().filter(|r| !matches!(r, Ok(201))).collect();
    let per_instance = |name: &str| hits.iter().filter(|h| h.from == name).count();
    eprintln!(
        "{backend:?}: {} complaints ({} posts not answered 201: {refused:?}), {} alerts, {} webhook deliveries; A sent {} \
         and died with {} in flight, B sent {}; {} received twice (the interrupted ones, resent after the 4 s claim); \
         all delivered {drained_after:?} after the kill; warnings: B {}",
        out.complaints.len(),
        refused.len(),
        out.alerts.len(),
        expected.len(),
        per_instance("A"),
        interrupted.len(),
        per_instance("B"),
        twice.len(),
        b.warnings(),
    );
}

/// A digest's window ends while two `serve` processes dispatch; the one
/// that claimed the digest (an SMS, through a slow provider) is killed with
/// SIGKILL mid-send. The digest row is one, the other instance sends it
/// again once the claim runs out, with the same reference (the provider
/// deduplicates by it), and the rows it carries are settled once.
async fn a_digest_killed_mid_send_goes_once_more_with_the_same_reference(backend: Backend) {
    use convergeai_alerts::storage::entities::notification_delivery as delivery;
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set};
    let app = spawn_app!(backend);
    let (hooks, hooks_base) = Hooks::start(Duration::from_millis(1500)).await;
    let (agent, _) = app.staff("digest-kill@example.com", "agent").await;
    let admin = app.admin_token().await;
    let (status, body) = app
        .send(Method::PATCH, &format!("/api/v1/staff/{agent}"), Some(&admin), Some(json!({"phone": "+15550100"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let alerts = [
        app.alert(agent, "sla_at_risk", "warning", 1).await,
        app.alert(agent, "sla_at_risk", "warning", 2).await,
        app.alert(agent, "high_workload", "warning", 3).await,
    ];
    // The outbox as the dispatcher leaves it when it puts the SMS off to the
    // end of an hourly window (see digests.rs): the rows deferred, and the one
    // digest row due at the window's end, three seconds from now.
    let now = Utc::now();
    let end = now + TimeDelta::seconds(3);
    let row = |alert: i64, status: &str, next: chrono::DateTime<Utc>| delivery::ActiveModel {
        alert_id: Set(alert),
        staff_id: Set(agent),
        channel: Set("sms".into()),
        status: Set(status.into()),
        attempts: Set(0),
        next_attempt_at: Set(next),
        deferred_for: Set(Some("hourly".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    for alert in alerts {
        let mut deferred = row(alert, "deferred", end + TimeDelta::hours(1));
        deferred.deferred_until = Set(Some(end));
        deferred.insert(&app.app.db).await.unwrap();
    }
    let mut digest = row(alerts[0], "pending", end);
    digest.summary_until = Set(Some(end));
    let digest = digest.insert(&app.app.db).await.unwrap();
    let reference = format!("delivery-{}", digest.id);

    let db_url = app.db_url();
    let env = |name: &str| {
        let mut env = instance_env(name, &hooks_base, 4, 1);
        env.push(("ALERTS_SMS_URL", format!("{hooks_base}/hook/{name}")));
        env
    };
    let mut a = Server::start("A", &db_url, &env("A")).await;
    let mut b = Server::start("B", &db_url, &env("B")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        if let Some(hit) = hooks.in_flight.lock().unwrap().first().cloned() {
            break hit;
        }
        assert!(Instant::now() < deadline, "the digest was never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let survivor = if first.from == "A" {
        a.kill();
        "B"
    } else {
        b.kill();
        "A"
    };
    let killed_at = Instant::now();
    let (app_ref, hooks_ref) = (&app, &hooks);
    let settled = wait_for(Duration::from_secs(20), || async move {
        let sent = delivery::Entity::find_by_id(digest.id).one(&app_ref.app.db).await.unwrap();
        sent.is_some_and(|d| d.status == "sent") && hooks_ref.hits().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hits = hooks.hits();
    assert!(settled, "the digest was not sent again: {hits:?}");
    assert_eq!(hits.len(), 2, "the interrupted send and one more: {hits:?}");
    assert!(hits.iter().all(|h| h.id == reference), "one digest, one reference: {hits:?}");
    assert_eq!((hits[0].from.as_str(), hits[1].from.as_str()), (first.from.as_str(), survivor));
    assert!(hits[1].message.starts_with("Hourly digest: 3 alerts"), "{:?}", hits[1].message);
    let resent_after = hits[1].at.duration_since(killed_at);
    assert!(resent_after < Duration::from_secs(10), "resent {resent_after:?} after the kill");
    let rows = delivery::Entity::find().filter(delivery::Column::StaffId.eq(agent)).all(&app.app.db).await.unwrap();
    assert_eq!(rows.len(), 4, "no second digest row: {rows:?}");
    let carried = rows.iter().filter(|r| r.carried_by == Some(digest.id) && r.status == "sent").count();
    assert_eq!(carried, 3, "{rows:?}");
    eprintln!(
        "{backend:?}: digest in flight from {} killed; {survivor} sent it again {resent_after:?} later",
        first.from
    );
}

/// Two `serve` processes escalating one backlog: 2 400 breached complaints
/// whose events climb three steps at once (each step adds one person), the
/// escalation job every second on both. A is killed with SIGKILL while it
/// fires a step (its transaction written but not committed); B carries on.
/// Afterwards each event has each step's alert exactly once: no step lost
/// with the dead instance, none fired twice.
async fn an_instance_killed_mid_step_loses_no_step(backend: Backend) {
    const EVENTS: usize = 2400;
    let app = spawn_app!(backend);
    let (agent, _) = app.staff("agent@example.com", "agent").await;
    let mut climbers = Vec::new();
    for k in 1..=3 {
        climbers.push(app.staff(&format!("step{k}@example.com"), "agent").await.0);
    }
    let admin = app.admin_token().await;
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    for rule in rules.as_array().unwrap().iter().filter(|r| r["rule_name"] != "sla_breach_critical") {
        app.put(&format!("/api/v1/alerts/rules/{}/disable", rule["id"]), &admin).await;
    }
    let steps: Vec<Value> =
        (1..=3).map(|k| json!({"after_minutes": 0, "targets": [format!("staff:step{k}@example.com")]})).collect();
    let policy = json!({"name": "climb", "steps": steps});
    let (status, body) = app.send(Method::POST, "/api/v1/escalation-policies", Some(&admin), Some(policy)).await;
    assert_eq!(status, 201, "{body}");
    let rule = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == "sla_breach_critical").unwrap();
    let mut config = rule["alert_config"].clone();
    config["escalation_policy"] = json!("climb");
    let path = format!("/api/v1/alerts/rules/{}", rule["id"]);
    let (status, body) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"alert_config": config}))).await;
    assert_eq!(status, 200, "{body}");
    // The events begin here, their first step due at once.
    app.breached_complaints(EVENTS, "high", &[agent]).await;
    assert_eq!(app.check().await, EVENTS as u64);

    let env = vec![
        ("ALERTS_SCHEDULER", "on".to_owned()),
        ("ALERTS_ESCALATION_SECONDS", "1".to_owned()),
        ("ALERTS_SLA_CHECK_SECONDS", "3600".to_owned()),
        ("ALERTS_DISPATCHER", "off".to_owned()),
        ("ALERTS_DB_ACQUIRE_TIMEOUT_MS", "5000".to_owned()),
        ("RUST_LOG", "info,convergeai_alerts::domain::escalation=debug,sqlx=warn,sea_orm_migration=warn".to_owned()),
    ];
    let db_url = app.db_url();
    let mut a = Server::start("A", &db_url, &env).await;
    let b = Server::start("B", &db_url, &env).await;
    // The moment A begins a step, before it can commit it.
    let firing = |server: &Server| {
        let logs = server.logs.lock().unwrap();
        let last = logs.iter().rev().find(|l| l.contains("escalation step fir"));
        last.is_some_and(|l| l.contains("escalation step firing"))
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    while !firing(&a) {
        assert!(Instant::now() < deadline, "A never fired a step:\n{}", a.log_tail(20));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Its statements under way (a step of 1 000 events takes longer than this).
    tokio::time::sleep(Duration::from_millis(15)).await;
    a.kill();
    let killed_mid_step = firing(&a);

    let db = &app.app.db;
    let count = |sql: &'static str| async move {
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned());
        let row = sea_orm::ConnectionTrait::query_one_raw(db, statement).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    let climbed = wait_for(Duration::from_secs(60), || async {
        count("SELECT COUNT(*) FROM alert_events WHERE next_step IS NOT NULL").await == 0
    })
    .await;
    assert!(climbed, "events still climbing:\n{}", b.log_tail(20));
    let twice = count(
        "SELECT COUNT(*) FROM (SELECT event_id, assigned_to_staff_id FROM alerts \
         GROUP BY event_id, assigned_to_staff_id HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(twice, 0, "someone got an event twice");
    let alerts = alert::Entity::find().all(db).await.unwrap();
    for (k, staff) in climbers.iter().enumerate() {
        let theirs: Vec<_> = alerts.iter().filter(|x| x.assigned_to_staff_id == *staff).collect();
        assert_eq!(theirs.len(), EVENTS, "step {}: one alert per event", k + 1);
        assert!(theirs.iter().all(|x| x.escalation_step == k as i32 + 1), "step {} alerts", k + 1);
    }
    assert_eq!(alerts.len(), EVENTS * 4);
    let fired = |server: &Server| server.logs.lock().unwrap().iter().filter(|l| l.contains("step fired")).count();
    eprintln!(
        "{backend:?}: {EVENTS} events × 3 steps; A fired {} step groups and was killed {} a step; B fired {}; \
         warnings: B {}",
        fired(&a),
        if killed_mid_step { "in the middle of" } else { "between" },
        fired(&b),
        b.warnings(),
    );
    assert!(killed_mid_step, "A was killed between steps, not in one");
}

// ---------------------------------------------------------------------------
// 4. Three instances for a minute

/// What one WebSocket client heard.
#[derive(Default)]
struct Heard {
    /// Ids of `alert.created` about this client's staff member, in arrival order.
    own: Vec<i64>,
    /// `alert.created` about someone else (must stay empty).
    foreign: Vec<Value>,
    closed: Option<String>,
}

/// Three `serve` processes on one database and one Redis channel, all with
/// the scheduler (jobs every 1–3 s) and the dispatcher, for `STREAM`: a
/// complaint every 250 ms, round-robin to the three (critical ones assigned
/// and unassigned, SLAs breaching within seconds, quiet ones), and
/// WebSocket clients of every supervisor and agent spread over the three.
/// At the end: no duplicate alert, every alert the data calls for, each
/// webhook delivery received exactly once, and each client heard every
/// alert of its own exactly once and nobody else's.
async fn three_instances_share_the_work(backend: Backend) {
    let Some(redis) = redis_url() else {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    };
    let app = spawn_app!(backend);
    let team = Team::create(&app, 2, 3).await;
    let (hooks, hooks_base) = Hooks::start(Duration::ZERO).await;
    let channel = format!("faults-{}", app.db_url().rsplit('/').next().unwrap_or("db"));
    let db_url = app.db_url();
    let mut servers = Vec::new();
    for (i, name) in ["A", "B", "C"].into_iter().enumerate() {
        let mut env = instance_env(name, &hooks_base, 10, 1 + i as u64);
        env.push(("ALERTS_REDIS_URL", redis.clone()));
        env.push(("ALERTS_REDIS_CHANNEL", channel.clone()));
        servers.push(Server::start(name, &db_url, &env).await);
    }
    // Every instance subscribed to the channel before anything happens.
    let redis_client = redis::Client::open(redis.as_str()).unwrap();
    let conn = redis_client.get_multiplexed_async_connection().await.unwrap();
    let subscribed = wait_for(Duration::from_secs(10), || {
        let (mut conn, channel) = (conn.clone(), channel.clone());
        async move {
            let reply: (String, i64) =
                redis::cmd("PUBSUB").arg("NUMSUB").arg(&channel).query_async(&mut conn).await.unwrap();
            reply.1 == 3
        }
    })
    .await;
    assert!(subscribed, "the three instances did not all subscribe to {channel}");

    // A client per supervisor and agent, spread over the instances.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut feeds = Vec::new();
    for (i, staff) in team.supervisors.iter().chain(&team.agents).copied().enumerate() {
        let mut ws = ws_connect(&servers[i % 3].base, &app.token(staff)).await;
        assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
        let heard = Arc::new(Mutex::new(Heard::default()));
        let (record, mut stopped) = (heard.clone(), stopped.clone());
        tokio::spawn(async move {
            use futures_util::StreamExt;
            use tokio_tungstenite::tungstenite::Message;
            loop {
                let message = tokio::select! {
                    m = ws.next() => m,
                    _ = stopped.changed() => return,
                };
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => {
                        record.lock().unwrap().closed = Some(format!("{other:?}"));
                        return;
                    }
                };
                let event: Value = serde_json::from_str(&text).unwrap();
                if event["type"] == "alert.created" {
                    let mut heard = record.lock().unwrap();
                    if event["alert"]["assigned_to_staff_id"] == json!(staff) {
                        heard.own.push(event["alert"]["id"].as_i64().unwrap());
                    } else {
                        heard.foreign.push(event);
                    }
                }
            }
        });
        feeds.push((staff, i % 3, heard));
    }

    // The stream.
    let admin = app.admin_token().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let started = Instant::now();
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    let mut i = 0usize;
    while started.elapsed() < STREAM {
        let agent = team.agents[i % team.agents.len()];
        let mut body = json!({"title": format!("c{i}"), "customer_name": "x", "assigned_to_staff_id": agent});
        // No new short deadlines in the last 8 s, so every breach falls inside the stream.
        let short_ok = started.elapsed() + Duration::from_secs(8) < STREAM;
        match i % 6 {
            0 => body["priority"] = json!("critical"),
            1 => {
                body["priority"] = json!("critical");
                body["assigned_to_staff_id"] = Value::Null;
            }
            2 | 3 if short_ok => {
                body["priority"] = json!("high");
                body["sla_deadline"] = json!((Utc::now() + TimeDelta::seconds(2 + (i % 4) as i64)).to_rfc3339());
            }
            4 => body["priority"] = json!("medium"),
            _ => body["priority"] = json!("low"),
        }
        let server = &servers[i % 3];
        let answer = client.post(server.url("/api/v1/complaints")).bearer_auth(&admin).json(&body).send().await;
        let key = match answer {
            Ok(resp) => resp.status().as_u16().to_string(),
            Err(e) => format!("error: {e}"),
        };
        *answers.entry(key).or_default() += 1;
        i += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stream_ended = Instant::now();

    // Settle: every delivery received and every client caught up (or 20 s).
    let (app_ref, team_ref, feeds_ref, hooks_ref) = (&app, &team, &feeds, &hooks);
    let settled = wait_for(Duration::from_secs(20), || {
        let (app, feeds, hooks) = (app_ref, feeds_ref, hooks_ref);
        async move {
            let out = Outcome::read(app).await;
            let counts = hooks.counts();
            let clients_done = feeds.iter().all(|(staff, _, heard)| {
                let want = out.alerts.iter().filter(|a| a.assigned_to_staff_id == *staff).count();
                heard.lock().unwrap().own.len() >= want
            });
            out.unsent().is_empty()
                && out.missing_alerts(team_ref, TimeDelta::seconds(3)).is_empty()
                && out.webhook_ids().iter().all(|id| counts.contains_key(id))
                && clients_done
        }
    })
    .await;
    let settled_after = stream_ended.elapsed();
    stop.send(true).unwrap();
    let out = Outcome::read(&app).await;

    assert_eq!(answers.get("201").copied().unwrap_or(0), i, "every complaint answered 201: {answers:?}");
    assert!(out.duplicate_alerts().is_empty(), "duplicate alerts: {:?}", out.duplicate_alerts());
    let missing = out.missing_alerts(&team, TimeDelta::seconds(3));
    assert!(missing.is_empty(), "alerts missing: {missing:?}");
    assert!(out.alerts_without_webhook(&team).is_empty(), "alerts without a webhook delivery");
    assert!(out.unsent().is_empty(), "deliveries not sent: {:?}", out.unsent());
    let expected: BTreeMap<String, usize> = out.webhook_ids().into_iter().map(|id| (id, 1)).collect();
    let counts = hooks.counts();
    if counts != expected {
        let lost: Vec<&String> = expected.keys().filter(|id| !counts.contains_key(*id)).collect();
        let twice: Vec<(&String, &usize)> = counts.iter().filter(|(_, n)| **n != 1).collect();
        let unknown: Vec<&String> = counts.keys().filter(|id| !expected.contains_key(*id)).collect();
        panic!("deliveries: lost {lost:?}, received more than once {twice:?}, unknown {unknown:?}");
    }
    let mut heard_total = 0;
    for (staff, instance, heard) in &feeds {
        let heard = heard.lock().unwrap();
        assert!(heard.closed.is_none(), "staff {staff}'s feed on instance {instance} ended: {:?}", heard.closed);
        assert!(heard.foreign.is_empty(), "staff {staff} heard others' alerts: {:?}", heard.foreign);
        let mut own = heard.own.clone();
        own.sort_unstable();
        let mut want: Vec<i64> = out.alerts.iter().filter(|a| a.assigned_to_staff_id == *staff).map(|a| a.id).collect();
        want.sort_unstable();
        assert_eq!(own, want, "staff {staff} on instance {instance}: alerts heard (each once) vs in the database");
        heard_total += own.len();
    }
    assert!(settled, "did not settle within 20 s of the stream's end");
    let by_type = |t: &str| out.alerts.iter().filter(|a| a.alert_type == t).count();
    let per_instance: Vec<usize> =
        ["A", "B", "C"].iter().map(|name| hooks.hits().iter().filter(|h| h.from == *name).count()).collect();
    let warnings: Vec<usize> = servers.iter().map(Server::warnings).collect();
    eprintln!(
        "{backend:?}: {STREAM:?} stream: {i} complaints ({answers:?}), {} alerts (critical {}, breach {}, at risk {}, \
         workload {}), 0 duplicates; {} webhook deliveries each received once (sent by A/B/C: {per_instance:?}); {} \
         clients heard {heard_total} alerts, all theirs, each once; settled {settled_after:?} after the stream; \
         warnings per instance {warnings:?}",
        out.alerts.len(),
        by_type("critical_complaint"),
        by_type("sla_breach"),
        by_type("sla_at_risk"),
        by_type("high_workload"),
        expected.len(),
        feeds.len(),
    );
}

/// A claim no longer than a send would let another instance send the same
/// delivery while the first is still at it: `serve` refuses to start.
#[test]
fn a_delivery_claim_shorter_than_a_send_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"))
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("alerts.db").display()))
        .env("ALERTS_BIND", "127.0.0.1:0")
        .env("ALERTS_SCHEDULER", "off")
        .env("ALERTS_DELIVERY_TIMEOUT_SECONDS", "10")
        .env("ALERTS_DELIVERY_CLAIM_SECONDS", "10")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.trim_end().ends_with(
            "error: ALERTS_DELIVERY_CLAIM_SECONDS (10) must be longer than ALERTS_DELIVERY_TIMEOUT_SECONDS (10)"
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------

macro_rules! tests_on {
    ($backend:ident: $($name:ident),* $(,)?) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() { super::$name(crate::harness::Backend::$backend).await })*
    };
}

mod sqlite {
    tests_on!(Sqlite: webhook_receiver_down_then_back, a_digest_killed_mid_send_goes_once_more_with_the_same_reference);
}

mod mysql {
    tests_on!(
        MySql: database_cut_off_fails_fast_and_recovers,
        webhook_receiver_down_then_back,
        an_instance_killed_mid_work_loses_nothing,
        a_digest_killed_mid_send_goes_once_more_with_the_same_reference,
        an_instance_killed_mid_step_loses_no_step,
        three_instances_share_the_work,
    );
}

mod postgres {
    tests_on!(
        Postgres: database_cut_off_fails_fast_and_recovers,
        webhook_receiver_down_then_back,
        an_instance_killed_mid_work_loses_nothing,
        a_digest_killed_mid_send_goes_once_more_with_the_same_reference,
        an_instance_killed_mid_step_loses_no_step,
        three_instances_share_the_work,
    );
}
