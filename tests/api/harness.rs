//! Test harness: a fresh database per test on each backend, and the real
//! server on 127.0.0.1:0.
//!
//! SQLite always runs. MariaDB and PostgreSQL run when `TEST_MYSQL_URL` /
//! `TEST_POSTGRES_URL` are set; with `CI=true` a missing URL fails the test
//! instead, so CI cannot pass with a backend silently skipped.
use std::sync::Arc;

use convergeai_alerts::config::{CommonConfig, Secret, ServeConfig};
use convergeai_alerts::domain::{App, staff};
use serde_json::Value;
use tokio::net::TcpListener;

#[path = "../support/scratch_db.rs"]
mod scratch_db;
use scratch_db::ScratchDb;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
    Postgres,
}

impl Backend {
    fn env_var(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::MySql => Some("TEST_MYSQL_URL"),
            Backend::Postgres => Some("TEST_POSTGRES_URL"),
        }
    }

    /// The server URL this backend's tests use, or `None` when they are skipped here.
    fn admin_url(self) -> Option<String> {
        let var = self.env_var()?;
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{var} must be set when CI=true"),
            _ => None,
        }
    }
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub url: String,
    scratch: ScratchDb,
}

impl TestDb {
    /// `None` when the backend is not configured here (and CI is not set).
    pub async fn create(backend: Backend) -> Option<TestDb> {
        let server_url = match backend {
            Backend::Sqlite => "sqlite:".to_owned(),
            Backend::MySql | Backend::Postgres => backend.admin_url()?,
        };
        let scratch = ScratchDb::create(&server_url, "t").await.unwrap_or_else(|e| panic!("test database: {e}"));
        Some(TestDb { url: scratch.url.clone(), scratch })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Err(e) = self.scratch.remove_blocking() {
            eprintln!("warning: test database {} not removed: {e}", self.url);
        }
    }
}

pub const TEST_SECRET: &str = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz";

pub fn common_config(url: &str) -> CommonConfig {
    CommonConfig {
        database_url: url.to_owned(),
        jwt_secret: Some(Secret::new(TEST_SECRET)),
        token_ttl_seconds: 3600,
        sla_hours: Default::default(),
        time_zone: chrono_tz::Tz::UTC,
    }
}

/// The real server on a random port over a fresh database.
pub struct TestApp {
    pub base: String,
    pub app: App,
    pub client: reqwest::Client,
    /// Dropped (with its database) when the test ends.
    _db: Arc<TestDb>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        // Service logs (warnings and errors) show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
        let db = TestDb::create(backend).await?;
        let app = convergeai_alerts::cli::open(&common_config(&db.url)).await.expect("open app");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server_app = app.clone();
        tokio::spawn(async move {
            convergeai_alerts::launch::launch(server_app, &serve_config(), listener, std::future::pending())
                .await
                .expect("serve");
        });
        Some(TestApp { base, app, client: reqwest::Client::new(), _db: Arc::new(db) })
    }

    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a staff member through the service and returns (id, token).
    pub async fn staff(&self, email: &str, role: &str) -> (i64, String) {
        self.staff_with(email, role, None).await
    }

    pub async fn staff_with(&self, email: &str, role: &str, supervisor: Option<&str>) -> (i64, String) {
        let created = staff::create(
            &self.app,
            staff::CreateStaff {
                email: email.into(),
                password: "tulip-ledger-42".into(),
                role: role.into(),
                full_name: None,
                phone: None,
                supervisor_email: supervisor.map(Into::into),
            },
        )
        .await
        .expect("create staff");
        let token = self.app.auth.issue(created.id, self.app.clock.now()).expect("token").access_token;
        (created.id, token)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request");
        status_json(resp).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        status_json(req.send().await.expect("request")).await
    }
}

/// Status and JSON body (`Value::Null` for an empty body).
pub async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON body ({status}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

/// Runs an `async fn(Backend)` test once per backend, as three tests that nextest runs in parallel.
#[macro_export]
macro_rules! on_all_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::harness::Backend::Sqlite).await })*
        }
        mod mysql {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::harness::Backend::MySql).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::harness::Backend::Postgres).await })*
        }
    };
}

/// `let Some(app) = spawn!(backend)`: the app, or return when the backend is not configured here.
#[macro_export]
macro_rules! spawn_app {
    ($backend:expr) => {
        match $crate::harness::TestApp::spawn($backend).await {
            Some(app) => app,
            None => {
                eprintln!("skipped: {:?} is not configured (set TEST_MYSQL_URL / TEST_POSTGRES_URL)", $backend);
                return;
            }
        }
    };
}

/// A TCP forwarder between the app and its database, so a test can cut the
/// database off (as a crash or network partition would) and bring it back.
pub struct Proxy {
    pub port: u16,
    upstream: String,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Proxy {
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let proxy = Proxy { port, upstream, task: std::sync::Mutex::new(None) };
        proxy.run(listener);
        proxy
    }

    fn run(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        *self.task.lock().expect("lock") = Some(task);
    }

    /// Closes the listener and every forwarded connection.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().expect("lock").take() {
            task.abort();
        }
    }

    pub async fn restart(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("rebind proxy");
        self.run(listener);
    }
}

impl TestApp {
    /// Inserts an alert for `staff_id` created `age_minutes` ago (the engine's work, done directly).
    pub async fn alert(&self, staff_id: i64, alert_type: &str, severity: &str, age_minutes: i64) -> i64 {
        self.alert_with(staff_id, alert_type, severity, age_minutes, Some(7 * 24 * 60)).await
    }

    /// As [`alert`], with the expiry in minutes from now (negative: already expired; `None`: never).
    pub async fn alert_with(
        &self,
        staff_id: i64,
        alert_type: &str,
        severity: &str,
        age_minutes: i64,
        expires_in_minutes: Option<i64>,
    ) -> i64 {
        use convergeai_alerts::storage::alerts::{NewAlert, insert};
        let now = self.app.clock.now();
        let created_at = now - chrono::TimeDelta::minutes(age_minutes);
        let row = NewAlert {
            alert_type: alert_type.into(),
            severity: severity.into(),
            title: format!("{alert_type} alert"),
            message: format!("{severity} {alert_type}"),
            resource_type: Some("complaint".into()),
            resource_id: Some(age_minutes),
            assigned_to_staff_id: staff_id,
            alert_metadata: Some(serde_json::json!({"age": age_minutes})),
            created_at,
            expires_at: expires_in_minutes.map(|m| now + chrono::TimeDelta::minutes(m)),
        };
        insert(&self.app.db, row).await.expect("insert alert").id
    }

    pub async fn put(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(token), None).await
    }
}

impl TestApp {
    /// A fresh token at the service's current time (after the clock moved).
    pub fn token(&self, staff_id: i64) -> String {
        self.app.auth.issue(staff_id, self.app.clock.now()).expect("token").access_token
    }

    /// The caller's live alerts, newest first.
    pub async fn inbox(&self, staff_id: i64) -> Vec<Value> {
        let (status, body) = self.get("/api/v1/alerts?page_size=100", &self.token(staff_id)).await;
        assert_eq!(status, 200, "{body}");
        body["alerts"].as_array().expect("alerts").clone()
    }

    /// `n` open complaints of `priority`, breached an hour ago, assigned
    /// round-robin to `assignees`, written straight to the database (no rule runs).
    pub async fn breached_complaints(&self, n: usize, priority: &str, assignees: &[i64]) {
        use convergeai_alerts::storage::entities::complaint;
        use sea_orm::ActiveValue::{NotSet, Set};
        use sea_orm::EntityTrait;
        let now = self.app.clock.now();
        let rows: Vec<complaint::ActiveModel> = (0..n)
            .map(|i| complaint::ActiveModel {
                id: NotSet,
                title: Set(format!("c{i}")),
                description: Set(String::new()),
                customer_name: Set("x".into()),
                customer_email: Set(None),
                priority: Set(priority.into()),
                status: Set("open".into()),
                assigned_to_staff_id: Set(Some(assignees[i % assignees.len()])),
                sla_deadline: Set(Some(now - chrono::TimeDelta::hours(1))),
                created_at: Set(now - chrono::TimeDelta::hours(30)),
                updated_at: Set(now),
                resolved_at: Set(None),
                external_id: Set(None),
                external_updated_at: Set(None),
                ..Default::default()
            })
            .collect();
        // In chunks: SQLite takes at most 32 766 bound values per statement.
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(1000).collect();
            complaint::Entity::insert_many(chunk).exec_without_returning(&self.app.db).await.expect("insert");
        }
    }

    pub async fn check(&self) -> u64 {
        convergeai_alerts::domain::engine::check_all(&self.app).await.expect("check").total_created
    }

    /// Creates a complaint through the API as an admin.
    pub async fn complaint(&self, body: Value) -> Value {
        let admin = self.admin_token().await;
        let (status, created) = self.send(reqwest::Method::POST, "/api/v1/complaints", Some(&admin), Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    pub async fn patch_complaint(&self, id: &Value, body: Value) -> Value {
        let admin = self.admin_token().await;
        let path = format!("/api/v1/complaints/{id}");
        let (status, updated) = self.send(reqwest::Method::PATCH, &path, Some(&admin), Some(body)).await;
        assert_eq!(status, 200, "{updated}");
        updated
    }

    /// The id of the staff member with this email.
    pub async fn staff_id(&self, email: &str) -> i64 {
        convergeai_alerts::storage::staff::by_email(&self.app.db, email).await.unwrap().expect("staff").id
    }

    /// A token of the harness's own admin (created on first use).
    pub async fn admin_token(&self) -> String {
        let id =
            match convergeai_alerts::storage::staff::by_email(&self.app.db, "harness-admin@example.com").await.unwrap()
            {
                Some(s) => s.id,
                None => self.staff("harness-admin@example.com", "admin").await.0,
            };
        self.token(id)
    }
}

/// Redis for the cross-instance tests: `TEST_REDIS_URL`, required when `CI=true`.
pub fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("TEST_REDIS_URL must be set when CI=true"),
        _ => None,
    }
}

/// What `serve` runs with here: the defaults, without the scheduler, the
/// dispatcher or Redis (tests drive those themselves).
pub fn serve_config() -> ServeConfig {
    let mut config = ServeConfig::from_env().expect("serve settings");
    config.scheduler = false;
    config.delivery.dispatcher = false;
    config.redis_url = None;
    config
}

/// Serves `app` on a random port, as `serve` does; returns its base URL.
pub async fn serve(app: App) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        convergeai_alerts::launch::launch(app, &serve_config(), listener, std::future::pending()).await
    });
    base
}

impl TestApp {
    /// Another instance: its own pool and event bus on the same database, sharing the clock.
    pub async fn instance(&self) -> App {
        let mut other = convergeai_alerts::cli::open(&common_config(&self.db_url())).await.expect("open");
        other.clock = self.app.clock.clone();
        other
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the live feed of `base` with the token in the query string.
pub async fn ws_connect(base: &str, token: &str) -> Ws {
    let url = format!("{}/api/v1/alerts/ws?token={token}", base.replacen("http://", "ws://", 1));
    tokio_tungstenite::connect_async(url).await.expect("websocket connect").0
}

/// The next JSON text message, skipping pings; panics after `secs`.
pub async fn ws_next(ws: &mut Ws, secs: u64) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("frame");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Asserts nothing but pings arrives within `millis`.
pub async fn ws_silent(ws: &mut Ws, millis: u64) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(millis);
    while let Ok(msg) = tokio::time::timeout_at(deadline, ws.next()).await {
        match msg {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected silence, got {other:?}"),
        }
    }
}

/// The close frame a live connection ends with, within 5 s: (code, reason).
pub async fn ws_closed(mut ws: Ws) -> (u16, String) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    });
    let frame = frame.await.expect("closed in time").expect("with a code");
    (u16::from(frame.code), frame.reason.to_string())
}
