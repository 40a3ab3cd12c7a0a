//! API keys for services (issue 21, SPEC 12): created by `staff.manage`
//! with permissions no wider than the creator's, shown once, stored as a
//! hash, accepted on every route their permissions allow, refused at once
//! once revoked or expired, on every instance.
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, serve, status_json};
use crate::{on_all_backends, spawn_app};

async fn create_key(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.send(Method::POST, "/api/v1/api-keys", Some(token), Some(body)).await
}

async fn key_with(app: &TestApp, permissions: &[&str]) -> (i64, String) {
    let admin = app.admin_token().await;
    let (status, created) = create_key(app, &admin, json!({"name": "host backend", "permissions": permissions})).await;
    assert_eq!(status, 201, "{created}");
    (created["id"].as_i64().unwrap(), created["key"].as_str().unwrap().to_owned())
}

async fn a_key_is_shown_once_and_stored_as_a_hash(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (status, created) = create_key(
        &app,
        &admin,
        json!({"name": "helpdesk", "permissions": ["complaints.read", "complaints.write"], "expires_at": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("cai_") && key.len() == 47, "{key}");
    assert_eq!(created["permissions"], json!(["complaints.read", "complaints.write"]));
    let (status, list) = app.get("/api/v1/api-keys", &admin).await;
    assert_eq!(status, 200);
    let listed = &list["api_keys"][0];
    assert_eq!((listed["name"].clone(), listed["key_prefix"].as_str().map(str::len)), (json!("helpdesk"), Some(12)));
    assert!(!list.to_string().contains(key) && listed.get("key").is_none(), "the secret is never listed: {list}");
    let rows = convergeai_alerts::storage::api_keys::list(&app.app.db).await.unwrap();
    assert!(rows.iter().all(|r| r.key_hash != key && r.key_hash.len() == 64), "only a hash is stored");

    // Used as a bearer token: last use recorded, with the address.
    let (status, _) = app.get("/api/v1/complaints", key).await;
    assert_eq!(status, 200);
    let (_, list) = app.get("/api/v1/api-keys", &admin).await;
    assert!(list["api_keys"][0]["last_used_at"].is_string(), "{list}");
    assert_eq!(list["api_keys"][0]["last_used_address"], "127.0.0.1");

    for (body, field) in [
        (json!({"name": "", "permissions": ["complaints.read"]}), "name"),
        (json!({"name": "k", "permissions": []}), "permissions"),
        (json!({"name": "k", "permissions": ["root.everything"]}), "permissions"),
        (json!({"name": "k", "permissions": ["complaints.read"], "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
        (
            json!({"name": "k", "permissions": ["complaints.read"], "expires_at": "+262142-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let (status, resp) = create_key(&app, &admin, body).await;
        assert_eq!(status, 422, "{resp}");
        assert!(resp["detail"].as_str().unwrap().starts_with(field), "{resp}");
    }
}

/// What a key may do is its permissions, route by route; it owns no inbox.
async fn a_key_may_do_what_its_permissions_allow(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, writer) = key_with(&app, &["complaints.read", "complaints.write"]).await;
    let (_, manager) = key_with(&app, &["alerts.manage", "alerts.read", "staff.manage"]).await;
    let complaint = json!({"title": "From the host", "customer_name": "Ada", "priority": "critical"});
    #[rustfmt::skip]
    let cases: Vec<(Method, &str, Option<Value>, [u16; 2])> = vec![
        (Method::POST, "/api/v1/complaints", Some(complaint), [201, 403]),
        (Method::GET, "/api/v1/complaints", None, [200, 403]),
        (Method::GET, "/api/v1/alerts/rules", None, [403, 200]),
        (Method::POST, "/api/v1/alerts/check", None, [403, 200]),
        (Method::GET, "/api/v1/alerts/stats", None, [403, 200]),
        (Method::GET, "/api/v1/api-keys", None, [403, 200]),
        // The inbox, subscriptions and identity belong to staff members.
        (Method::GET, "/api/v1/alerts", None, [403, 403]),
        (Method::GET, "/api/v1/alerts/unread/count", None, [403, 403]),
        (Method::PUT, "/api/v1/alerts/read-all", None, [403, 403]),
        (Method::GET, "/api/v1/alerts/subscriptions", None, [403, 403]),
        (Method::GET, "/api/v1/auth/me", None, [403, 403]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in cases {
        for (key, want) in [(&writer, expected[0]), (&manager, expected[1])] {
            let (status, resp) = app.send(method.clone(), path, Some(key), body.clone()).await;
            if status != want {
                failures.push(format!("{method} {path}: {status}, expected {want}: {resp}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The WebSocket is an inbox too.
    let ws = app.client.get(app.url("/api/v1/alerts/ws")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(ws.status(), 403);
    // A key grants no more than its creator holds: one with staff.manage but
    // not complaints.write cannot mint one with complaints.write.
    let (status, resp) =
        create_key(&app, &manager, json!({"name": "wider", "permissions": ["complaints.write"]})).await;
    assert_eq!(status, 422, "{resp}");
    assert!(resp["detail"].as_str().unwrap().contains("wider than the caller"), "{resp}");
    let (status, created) =
        create_key(&app, &manager, json!({"name": "narrower", "permissions": ["alerts.read"]})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["permissions"], json!(["alerts.read"]));
}

/// Revoked or expired: refused at once, here and on another instance (no cache to wait out).
async fn revoked_and_expired_keys_are_refused_at_once(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, key) = key_with(&app, &["complaints.read"]).await;
    let other = serve(app.instance().await).await;
    let on_other = |key: String| {
        let url = format!("{other}/api/v1/complaints");
        async move { status_json(reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap()).await }
    };
    assert_eq!(on_other(key.clone()).await.0, 200);
    let admin = app.admin_token().await;
    let (status, _) = app.send(Method::DELETE, &format!("/api/v1/api-keys/{id}"), Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, resp) = on_other(key.clone()).await;
    assert_eq!((status, resp), (401, json!({"detail": "invalid API key"})));
    assert_eq!(app.get("/api/v1/complaints", &key).await.0, 401);
    // Revoking again is no error; an unknown key is a 404.
    assert_eq!(app.send(Method::DELETE, &format!("/api/v1/api-keys/{id}"), Some(&admin), None).await.0, 204);
    let (_, list) = app.get("/api/v1/api-keys", &admin).await;
    assert!(list["api_keys"][0]["revoked_at"].is_string(), "{list}");

    let in_a_minute = (app.app.clock.now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
    let (status, created) = create_key(
        &app,
        &admin,
        json!({"name": "short", "permissions": ["complaints.read"], "expires_at": in_a_minute}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let short = created["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/complaints", &short).await.0, 200);
    app.app.clock.advance(chrono::TimeDelta::minutes(2));
    assert_eq!(app.get("/api/v1/complaints", &short).await.0, 401);
    // A made-up key of the right shape is refused the same way.
    let forged = format!("cai_{}", "A".repeat(43));
    assert_eq!(app.get("/api/v1/complaints", &forged).await, (401, json!({"detail": "invalid API key"})));
}

on_all_backends!(
    a_key_is_shown_once_and_stored_as_a_hash,
    a_key_may_do_what_its_permissions_allow,
    revoked_and_expired_keys_are_refused_at_once,
);

/// The CLI prints a first key on stdout, and the secret reaches no log.
#[test]
fn the_cli_creates_a_key_and_never_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"))
        .args([
            "api-key",
            "create",
            "--name",
            "host",
            "--permission",
            "complaints.write",
            "--permission",
            "complaints.read",
        ])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("cai_") && key.len() == 47, "{key}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key), "the secret is not in the logs");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"))
        .args(["api-key", "create", "--name", "host", "--permission", "root.everything"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.starts_with("error: permissions: ") && stderr.lines().count() == 1, "{stderr}");
}
