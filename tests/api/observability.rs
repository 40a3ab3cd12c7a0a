//! Metrics, request ids, login throttling and structured logs.
use reqwest::Method;
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

/// On every backend: the dedup count comes from a separate read on SQLite
/// and MySQL, from the insert itself on PostgreSQL.
async fn metrics_count_requests_alerts_and_deliveries(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let body = json!({"is_enabled": true, "delivery_channels": ["in_app", "webhook"]});
    app.send(Method::PUT, "/api/v1/alerts/subscriptions/critical_complaint", Some(&app.token(a)), Some(body)).await;
    app.complaint(json!({"title": "t", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a})).await;
    app.check().await; // all deduplicated
    for _ in 0..3 {
        app.get("/api/v1/alerts/7", &app.token(a)).await;
    }
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().contains("openmetrics-text"));
    let text = resp.text().await.unwrap();
    for needle in [
        r#"convergeai_alerts_http_requests_total{method="GET",route="/api/v1/alerts/{id}",status="404"} 3"#,
        r#"convergeai_alerts_alerts_created_total{alert_type="critical_complaint"} 1"#,
        r#"convergeai_alerts_dedup_hits_total{alert_type="critical_complaint"} 1"#,
        "convergeai_alerts_outbox_depth 1",
        "convergeai_alerts_http_request_duration_seconds_bucket",
        "convergeai_alerts_websocket_connections 0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains("password") && !text.contains("token="), "no secrets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let resp = app.client.get(app.url("/health")).send().await.unwrap();
        ids.push(resp.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids[0].len(), 32);
    let resp = app.client.get(app.url("/health")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123", "a caller's id is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_throttled() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.staff("a@example.com", "agent").await;
    let login = |password: &str| json!({"email": "a@example.com", "password": password});
    for _ in 0..10 {
        let (status, _) = app.send(Method::POST, "/api/v1/auth/login", None, Some(login("wrong-password"))).await;
        assert_eq!(status, 401);
    }
    let resp = app.client.post(app.url("/api/v1/auth/login")).json(&login("tulip-ledger-42")).send().await.unwrap();
    assert_eq!(resp.status(), 429, "even the right password waits once the account is throttled");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("too many failed logins"));
    // Another account from the same address is not locked out by 10 failures.
    app.staff("b@example.com", "agent").await;
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "b@example.com", "password": "tulip-ledger-42"})),
        )
        .await;
    assert_eq!(status, 200);
}

#[test]
fn json_logs_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("log.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"))
        .args(["staff", "create", "--email", "x@example.com", "--role", "agent", "--password", "hunter2hunter2"])
        .env("DATABASE_URL", &url)
        .env("ALERTS_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "some logs at debug level");
    for line in &lines {
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed["level"].is_string() && parsed["timestamp"].is_string(), "{line}");
    }
    assert!(!stderr.contains("hunter2"), "the password never reaches the logs");
}

/// CORS is off by default; a configured origin (and only it) is allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_unless_configured() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let preflight = |base: String, origin: &'static str| {
        let client = reqwest::Client::new();
        async move {
            client
                .request(Method::OPTIONS, format!("{base}/api/v1/alerts"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap()
        }
    };
    let resp = preflight(app.base.clone(), "https://ops.example.com").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none(), "off by default");

    let options = convergeai_alerts::http::HttpOptions {
        cors_origins: vec!["https://ops.example.com".into()],
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = app.app.clone();
    tokio::spawn(async move {
        convergeai_alerts::http::serve_with(served, &options, listener, std::future::pending()).await
    });
    let resp = preflight(base.clone(), "https://ops.example.com").await;
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://ops.example.com");
    let resp = preflight(base, "https://evil.example.com").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

on_all_backends!(metrics_count_requests_alerts_and_deliveries);
