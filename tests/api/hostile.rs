//! Availability under hostile clients (issue 15): no request can pin a
//! worker, grow memory or lock people out. Each finding of the issue is one
//! test here; each failed on the `main` before the fix.
//!
//! These are about the HTTP edge, not storage: they run on SQLite, except
//! the input bounds, which reach the database and run on every backend.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Backend, TestApp, redis_url, ws_connect, ws_next};
use crate::spawn_app;
use convergeai_alerts::http::{HttpOptions, serve_with};

/// Serves the test's app again with other HTTP options; returns the base URL.
async fn serve_with_options(app: &TestApp, options: HttpOptions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = app.app.clone();
    tokio::spawn(async move { serve_with(served, &options, listener, std::future::pending()).await });
    base
}

fn addr(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Finding 1 and 2: a `to` at chrono's last date looped forever (pinning a
/// worker each), one at its first date panicked. While several are in
/// flight `/health` answers within a second, and each is a 422 naming `to`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_stats_ranges_are_refused_and_health_keeps_answering() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, token) = app.staff("agent@example.com", "agent").await;
    let queries = [
        "to=%2B262142-12-31T23:59:59Z",
        "to=-262143-01-01T00:00:00Z",
        "from=-262143-01-01T00:00:00Z&to=%2B262142-12-31T23:59:59Z",
        "to=%2B262142-12-31T23:59:59Z",
        "from=%2B262142-12-31T00:00:00Z",
    ];
    let mut in_flight = Vec::new();
    for q in queries {
        let (client, url, token) = (app.client.clone(), app.url(&format!("/api/v1/alerts/stats?{q}")), token.clone());
        in_flight.push(tokio::spawn(async move {
            crate::harness::status_json(client.get(url).bearer_auth(token).send().await.unwrap()).await
        }));
    }
    let health = tokio::time::timeout(Duration::from_secs(1), app.client.get(app.url("/health")).send()).await;
    assert_eq!(health.expect("/health within 1 s").unwrap().status(), 200);
    for (q, request) in queries.iter().zip(in_flight) {
        let (status, body) = tokio::time::timeout(Duration::from_secs(1), request).await.expect("answered").unwrap();
        assert_eq!(status, 422, "{q}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.starts_with("to:") || detail.starts_with("from:"), "{q}: {detail}");
        assert!(detail.contains("1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"), "{detail}");
    }
    // The edges of the range itself are fine.
    let (status, body) =
        app.get("/api/v1/alerts/stats?from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z", &token).await;
    assert_eq!((status, body["per_day"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
    let (status, body) = app.get("/api/v1/alerts/stats?to=9999-12-31T23:59:59Z", &token).await;
    assert_eq!((status, body["per_day"].as_array().map(Vec::len)), (200, Some(31)), "{body}");
}

/// Finding 3: the raw method was a metric label, so `/metrics` grew with
/// every invented method. Now unknown methods are one label, `other`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_methods_do_not_grow_the_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let size = |app: &TestApp| {
        let (client, url) = (app.client.clone(), app.url("/metrics"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let long = "Z".repeat(5_000);
    let invent = |prefix: &'static str, from: usize, to: usize| {
        let (client, base, long) = (app.client.clone(), app.base.clone(), long.clone());
        async move {
            for i in from..to {
                let method = Method::from_bytes(format!("{prefix}{i}{long}").as_bytes()).unwrap();
                let _ = client.request(method.clone(), format!("{base}/x{i}")).send().await.unwrap();
                let _ = client.request(method, format!("{base}/api/v1/alerts")).send().await.unwrap();
            }
        }
    };
    invent("ZZ", 0, 20).await;
    size(&app).await; // `GET /metrics` itself is counted from the second read on
    let first = size(&app).await;
    invent("QQ", 20, 60).await;
    let second = size(&app).await;
    assert!(!second.contains("ZZ") && !second.contains("QQ"), "no invented method is a label");
    assert!(second.contains(r#"method="other""#), "{second}");
    // Only counters moved (a digit or two each): the label sets are the same.
    assert!(second.len() < first.len() + 200, "grew from {} to {} bytes", first.len(), second.len());
}

async fn login(base: &str, forwarded_for: &str, email: &str, password: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    crate::harness::status_json(response).await
}

/// Finding 4: ten wrong passwords locked the owner out, and behind a load
/// balancer everyone shared one address. Now an attacker's address is
/// refused for that account, the owner (from their own address) gets in, and
/// the address comes from `X-Forwarded-For` when the peer is a trusted proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_slow_attackers_without_locking_out_owners() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.staff("owner@example.com", "agent").await;
    app.staff("colleague@example.com", "agent").await;
    let behind_proxy = serve_with_options(
        &app,
        HttpOptions { trusted_proxies: "127.0.0.1/32".parse().unwrap(), ..Default::default() },
    )
    .await;
    let attacker = "203.0.113.9";
    for _ in 0..10 {
        assert_eq!(login(&behind_proxy, attacker, "owner@example.com", "guess-guess-1").await.0, 401);
    }
    let (status, body) = login(&behind_proxy, attacker, "owner@example.com", "tulip-ledger-42").await;
    assert_eq!(status, 429, "the attacker's address may not try this account again: {body}");
    let started = std::time::Instant::now();
    let (status, body) = login(&behind_proxy, "198.51.100.2", "owner@example.com", "tulip-ledger-42").await;
    assert_eq!(status, 200, "the owner, from their own address, gets in: {body}");
    assert!(started.elapsed() >= Duration::from_millis(900), "but slowly, while the account is under attack");
    assert_eq!(login(&behind_proxy, "198.51.100.3", "colleague@example.com", "tulip-ledger-42").await.0, 200);

    // 50 failures from one address over many accounts: that address is
    // refused for every account; other addresses are not.
    for i in 0..40 {
        assert_eq!(login(&behind_proxy, attacker, &format!("nobody{i}@example.com"), "guess-guess-1").await.0, 401);
    }
    assert_eq!(login(&behind_proxy, attacker, "colleague@example.com", "tulip-ledger-42").await.0, 429);
    assert_eq!(login(&behind_proxy, "198.51.100.4", "colleague@example.com", "tulip-ledger-42").await.0, 200);

    // Without a trusted proxy the header is ignored: a client cannot pick a
    // fresh address for each guess.
    for i in 0..10 {
        assert_eq!(login(&app.base, &format!("192.0.2.{i}"), "colleague@example.com", "guess-guess-1").await.0, 401);
    }
    assert_eq!(login(&app.base, "192.0.2.200", "colleague@example.com", "tulip-ledger-42").await.0, 429);
}

/// Finding 5: a half-sent request head held its socket for good. Now the
/// connection is closed after the header-read timeout; and connections over
/// the cap wait for a slot instead of being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_surplus_connections_hold_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let base = serve_with_options(
        &app,
        HttpOptions { header_read_timeout: Duration::from_secs(1), max_connections: 2, ..Default::default() },
    )
    .await;
    let closed_within = |mut stream: TcpStream, secs: u64| async move {
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(secs), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue, // a 408 may come first
                }
            }
        });
        read.await.is_ok()
    };
    let mut half_sent = TcpStream::connect(addr(&base)).await.unwrap();
    half_sent.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let silent = TcpStream::connect(addr(&base)).await.unwrap();
    // Both slots are taken: a third connection is accepted by the kernel but not served yet.
    let third = tokio::spawn({
        let url = format!("{base}/health");
        async move { reqwest::get(url).await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "over the cap: waits for a slot");
    assert!(closed_within(half_sent, 3).await, "a half-sent head is cut off");
    assert!(closed_within(silent, 3).await, "so is a connection that sends nothing");
    let status = tokio::time::timeout(Duration::from_secs(3), third).await.expect("served once a slot frees");
    assert_eq!(status.unwrap().unwrap(), 200);
}

/// Finding 6: the WebSocket took client messages up to 64 MiB; clients only
/// send pongs. A large message now ends the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_refuses_large_client_messages() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (a, _) = app.staff("a@example.com", "agent").await;
    let mut ws = ws_connect(&app.base, &app.token(a)).await;
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    ws.send(Message::Pong(vec![7u8; 100].into())).await.unwrap();
    ws.send(Message::Text("x".repeat(64 * 1024).into())).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            }
        }
    });
    assert!(ended.await.is_ok(), "the connection ends");
}

/// Finding 7: a client's `x-request-id` reached the logs verbatim. Only a
/// short id of a safe alphabet is kept; anything else is replaced by ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_safe_request_ids_are_kept() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let id_for = |sent: &str| {
        let request = app.client.get(app.url("/health")).header("x-request-id", sent);
        async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned() }
    };
    assert_eq!(id_for("trace-01HZX.abc:42").await, "trace-01HZX.abc:42");
    for forged in ["a\" level=ERROR msg=\"forged", &"x".repeat(65), "id with spaces", "ünïcode"] {
        let id = id_for(forged).await;
        assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{forged:?} became {id:?}");
    }
}

/// Finding 8: personal data went out cacheable and sniffable; `/docs` had no
/// CSP or frame protection. The console keeps its own policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_protective_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, token) = app.staff("a@example.com", "agent").await;
    for path in ["/api/v1/alerts", "/api/v1/auth/me", "/api/v1/alerts/missing-route"] {
        let resp = app.client.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    let resp = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"email": "x@y.z", "password": "p"})).send();
    assert_eq!(resp.await.unwrap().headers()["cache-control"], "no-store");
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let csp = docs.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    let console = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(console.headers()["cache-control"], "no-cache", "the console's own caching");
}

/// Finding 9, over HTTP: a body declared far over the limit is a 413 at
/// once, not a 30 s wait for bytes that never come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_oversized_body_is_refused_at_once() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = app.admin_token().await;
    let mut stream = TcpStream::connect(addr(&app.base)).await.unwrap();
    let head = format!(
        "POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{{}}"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut answer)).await.expect("at once").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#"{"detail":"request body too large"#), "{answer}");
}

/// Finding 9, the input bounds: far-future deadlines and `null` for a field
/// that cannot be cleared are 422s naming the field, and change nothing.
async fn out_of_range_and_null_inputs_are_refused(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let body = |deadline: &str| json!({"title": "t", "customer_name": "c", "sla_deadline": deadline});
    for deadline in ["+262142-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z"] {
        let (status, resp) = app.send(Method::POST, "/api/v1/complaints", Some(&admin), Some(body(deadline))).await;
        assert_eq!(status, 422, "{deadline}: {resp}");
        assert!(resp["detail"].as_str().unwrap().contains("sla_deadline"), "{resp}");
    }
    // Past 2038 too: MariaDB turned such a deadline into NULL when it was bound as TIMESTAMP.
    for deadline in ["2038-01-19T03:14:08Z", "2100-01-01T00:00:00Z"] {
        let created = app.complaint(body(deadline)).await;
        assert_eq!(created["sla_deadline"], deadline, "{created}");
        let (_, read) = app.get(&format!("/api/v1/complaints/{}", created["id"]), &admin).await;
        assert_eq!(read["sla_deadline"], deadline, "{read}");
    }
    let created = app.complaint(body("9999-12-31T23:59:59Z")).await;
    assert_eq!(created["sla_deadline"], "9999-12-31T23:59:59Z", "{created}");
    let path = format!("/api/v1/complaints/{}", created["id"]);
    for field in ["title", "description", "status", "priority", "sla_deadline"] {
        let (status, resp) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({ field: null }))).await;
        assert_eq!(status, 422, "{field}: {resp}");
        assert!(resp["detail"].as_str().unwrap().starts_with(&format!("invalid request body: {field}:")), "{resp}");
    }
    let (status, resp) =
        app.send(Method::PATCH, &path, Some(&admin), Some(json!({"sla_deadline": "+262142-01-01T00:00:00Z"}))).await;
    assert_eq!(status, 422, "{resp}");
    let (_, after) = app.get(&path, &admin).await;
    assert_eq!((after["title"].clone(), after["sla_deadline"].clone()), (json!("t"), json!("9999-12-31T23:59:59Z")));
    let (status, resp) =
        app.send(Method::PATCH, "/api/v1/alerts/rules/1", Some(&admin), Some(json!({"rule_name": null}))).await;
    assert_eq!(status, 422, "{resp}");
}

/// Finding 10: a deactivated person's WebSocket stayed open until the token
/// expired. Deactivation closes it at once, on this instance and, through
/// Redis, on the others.
async fn deactivation_closes_live_connections(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let mut ws = ws_connect(&app.base, &app.token(a)).await;
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    convergeai_alerts::domain::staff::set_active(&app.app, "a@example.com", false).await.unwrap();
    assert_eq!(crate::harness::ws_closed(ws).await, (4003, "account deactivated".to_owned()));
    let (status, _) = app.get("/api/v1/auth/me", &app.token(a)).await;
    assert_eq!(status, 401, "the token is refused at once too");

    let Some(redis) = redis_url() else {
        eprintln!("the cross-instance half needs TEST_REDIS_URL");
        return;
    };
    convergeai_alerts::domain::staff::set_active(&app.app, "a@example.com", true).await.unwrap();
    let channel = format!("test-revoke-{a}-{}", app.base.len() * 31 + app.db_url().len());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let (one, two) = (app.instance().await, app.instance().await);
    convergeai_alerts::realtime::connect(&one.events, &redis, &channel, stopped.clone()).unwrap();
    convergeai_alerts::realtime::connect(&two.events, &redis, &channel, stopped.clone()).unwrap();
    let base_two = crate::harness::serve(two).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // subscriptions in place
    let mut ws = ws_connect(&base_two, &app.token(a)).await;
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    convergeai_alerts::domain::staff::set_active(&one, "a@example.com", false).await.unwrap();
    assert_eq!(crate::harness::ws_closed(ws).await.0, 4003, "closed on the other instance");
}

crate::on_all_backends!(out_of_range_and_null_inputs_are_refused, deactivation_closes_live_connections);

/// Counts panics anywhere in this test process (a handler's panic would be
/// caught and answered 500, but must not happen at all).
static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Every query, path and body parameter that is a timestamp, a page, a size,
/// an id or a count, on every route that takes one, with the extremes (the
/// type's min and max, ±1 around each bound, far past, far future, chrono's
/// ends): no 5xx, no answer slower than a second, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_values_on_every_route() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        previous(info);
    }));
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.admin_token().await;
    let complaint = app.complaint(json!({"title": "t", "customer_name": "c"})).await;
    let numbers = [
        "-9223372036854775809",
        "-9223372036854775808",
        "-1",
        "0",
        "1",
        "2",
        "23",
        "24",
        "99",
        "100",
        "101",
        "8760",
        "8761",
        "1000000",
        "1000001",
        "9999999",
        "10000000",
        "10000001",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
        "1e308",
        "-1e308",
        "0.5",
    ];
    let timestamps = [
        "-262143-01-01T00:00:00Z",
        "+262142-12-31T23:59:59Z",
        "+262142-12-31T23:59:59.999999999Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:00:00.000001Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T23:59:59-00:01",
        "10000-01-01T00:00:00Z",
    ];
    let id = complaint["id"].to_string();
    let admin_id = app.staff_id("harness-admin@example.com").await;
    let alert = app.alert(admin_id, "sla_at_risk", "warning", 1).await;
    // (method, path with {n} / {t}, JSON body with {n} / {t}); one placeholder kind per template.
    let number_routes: Vec<(Method, String, Option<String>)> = vec![
        (Method::GET, "/api/v1/alerts?page={n}".into(), None),
        (Method::GET, "/api/v1/alerts?page_size={n}".into(), None),
        (Method::GET, "/api/v1/alerts?resource_id={n}".into(), None),
        (Method::GET, "/api/v1/alerts/{n}".into(), None),
        (Method::PUT, "/api/v1/alerts/{n}/read".into(), None),
        (Method::PUT, "/api/v1/alerts/{n}/dismiss".into(), None),
        (Method::PUT, "/api/v1/alerts/{n}/snooze".into(), Some(r#"{"preset":"1h"}"#.into())),
        (Method::DELETE, "/api/v1/alerts/{n}/snooze".into(), None),
        (Method::GET, "/api/v1/alerts/{n}/deliveries".into(), None),
        (Method::GET, "/api/v1/alerts/rules/{n}".into(), None),
        (Method::PUT, "/api/v1/alerts/rules/{n}/enable".into(), None),
        (Method::GET, "/api/v1/complaints?page={n}".into(), None),
        (Method::GET, "/api/v1/complaints?page_size={n}".into(), None),
        (Method::GET, "/api/v1/complaints?assigned_to_staff_id={n}".into(), None),
        (Method::GET, "/api/v1/complaints/{n}".into(), None),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title":"t","customer_name":"c","assigned_to_staff_id":{n}}"#.into())),
        (Method::PATCH, format!("/api/v1/complaints/{id}"), Some(r#"{"assigned_to_staff_id":{n}}"#.into())),
        (Method::POST, "/api/v1/alerts/rules".into(), Some(
            r#"{"rule_name":"r{n}","rule_type":"threshold","conditions":{"metric":"open_assigned_complaints","threshold":{n}},"alert_config":{"alert_type":"high_workload","severity":"info"}}"#.into())),
        (Method::POST, "/api/v1/alerts/rules".into(), Some(
            r#"{"rule_name":"s{n}","rule_type":"sla","conditions":{"sla_state":"at_risk","threshold_percent":{n}},"alert_config":{"alert_type":"sla_at_risk","severity":"warning"}}"#.into())),
        (Method::PATCH, "/api/v1/alerts/rules/1".into(), Some(
            r#"{"alert_config":{"alert_type":"sla_at_risk","severity":"warning","dedup_window_hours":{n},"expires_after_hours":{n}}}"#.into())),
    ];
    let timestamp_routes: Vec<(Method, String, Option<String>)> = vec![
        (Method::GET, "/api/v1/alerts/stats?to={t}".into(), None),
        (Method::GET, "/api/v1/alerts/stats?from={t}".into(), None),
        (Method::GET, "/api/v1/alerts/stats?from={t}&to={t}".into(), None),
        (
            Method::POST,
            "/api/v1/complaints".into(),
            Some(r#"{"title":"t","customer_name":"c","sla_deadline":"{t}"}"#.into()),
        ),
        (Method::PATCH, format!("/api/v1/complaints/{id}"), Some(r#"{"sla_deadline":"{t}"}"#.into())),
        (Method::PUT, format!("/api/v1/alerts/{alert}/snooze"), Some(r#"{"until":"{t}"}"#.into())),
    ];
    let mut cases = Vec::new();
    for (routes, marker, values) in [(&number_routes, "{n}", &numbers[..]), (&timestamp_routes, "{t}", &timestamps[..])]
    {
        for (method, path, body) in routes.iter() {
            for value in values {
                let in_path = value.replace('+', "%2B");
                cases.push((
                    method.clone(),
                    path.replace(marker, &in_path),
                    body.as_ref().map(|b| b.replace(marker, value)),
                ));
            }
        }
    }
    let mut failures = Vec::new();
    for (method, path, body) in &cases {
        let mut request = app.client.request(method.clone(), app.url(path)).bearer_auth(&admin);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.clone());
        }
        match tokio::time::timeout(Duration::from_secs(1), request.send()).await {
            Err(_) => failures.push(format!("{method} {path} {body:?}: no answer within 1 s")),
            Ok(Err(e)) => failures.push(format!("{method} {path} {body:?}: {e}")),
            Ok(Ok(resp)) if resp.status().is_server_error() => {
                failures.push(format!("{method} {path} {body:?}: {}", resp.status()))
            }
            Ok(Ok(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert_eq!(PANICS.load(std::sync::atomic::Ordering::SeqCst), 0, "a panic was logged");
    let health = tokio::time::timeout(Duration::from_secs(1), app.client.get(app.url("/health")).send()).await;
    assert_eq!(health.expect("still answering").unwrap().status(), 200);
}
