//! Login, tokens, permissions and the error contract of the HTTP layer.
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, Proxy, TEST_SECRET, TestApp, status_json};
use crate::{on_all_backends, spawn_app};

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn health_and_ready_answer(backend: Backend) {
    let app = spawn_app!(backend);
    for path in ["/health", "/api/v1/health"] {
        let (status, body) = app.send(Method::GET, path, None, None).await;
        assert_eq!((status, body), (200, json!({"status": "ok"})));
    }
    for path in ["/ready", "/api/v1/ready"] {
        let (status, body) = app.send(Method::GET, path, None, None).await;
        assert_eq!((status, body), (200, json!({"status": "ready"})));
    }
}

async fn login_issues_a_token_that_authenticates(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, _) = app.staff("Agent@Example.com", "agent").await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "agent@example.com", "password": "tulip-ledger-42"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();

    // Claims: sub, iat, exp = iat + ttl, signed HS256.
    let mut parts = token.split('.');
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap(),
    )
    .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);

    let (status, me) = app.get("/api/v1/auth/me", token).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "agent@example.com");
    assert_eq!(me["role"], "agent");
    assert_eq!(me["permissions"].as_array().unwrap().len(), 2);
}

async fn login_refuses_wrong_password_unknown_email_and_inactive_staff(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    for body in [
        json!({"email": "a@example.com", "password": "wrong-password"}),
        json!({"email": "nobody@example.com", "password": "tulip-ledger-42"}),
    ] {
        let (status, resp) = app.send(Method::POST, "/api/v1/auth/login", None, Some(body)).await;
        assert_eq!((status, resp), (401, json!({"detail": "incorrect email or password"})));
    }

    deactivate(&app, id).await;
    // A deactivated account gets the answer of a wrong password, whatever the
    // password: the answer must not confirm that the password was right.
    for password in ["tulip-ledger-42", "wrong-password"] {
        let body = json!({"email": "a@example.com", "password": password});
        let (status, resp) = app.send(Method::POST, "/api/v1/auth/login", None, Some(body)).await;
        assert_eq!((status, resp), (401, json!({"detail": "incorrect email or password"})), "{password}");
    }
    // A token issued before deactivation no longer works either.
    let (status, resp) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!((status, resp), (401, json!({"detail": "staff account is inactive"})));
}

async fn deactivate(app: &TestApp, id: i64) {
    use convergeai_alerts::storage::entities::staff;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    staff::ActiveModel { id: Set(id), is_active: Set(false), ..Default::default() }.update(&app.app.db).await.unwrap();
}

async fn bad_tokens_are_refused(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, _) = app.staff("a@example.com", "agent").await;
    let now = app.app.clock.now().timestamp();
    let sub = id.to_string();
    let expired = hs256(TEST_SECRET, &json!({"sub": sub, "iat": now - 7200, "exp": now - 3600}));
    let wrong_secret =
        hs256("another-secret-another-secret-another", &json!({"sub": sub, "iat": now, "exp": now + 60}));
    let alg_none =
        format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&json!({"sub": sub, "exp": now + 60})));
    let no_exp = hs256(TEST_SECRET, &json!({"sub": sub, "iat": now}));
    let unknown_staff = hs256(TEST_SECRET, &json!({"sub": "99999", "iat": now, "exp": now + 60}));
    for (name, token, detail) in [
        ("expired", expired.as_str(), "token expired"),
        ("wrong secret", wrong_secret.as_str(), "invalid token"),
        ("alg none", alg_none.as_str(), "invalid token"),
        ("no exp", no_exp.as_str(), "invalid token"),
        ("garbage", "not-a-jwt", "invalid token"),
        ("unknown staff", unknown_staff.as_str(), "unknown staff member"),
    ] {
        let resp = app.client.get(app.url("/api/v1/auth/me")).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{name}");
        let (status, body) = status_json(resp).await;
        assert_eq!((status, body), (401, json!({"detail": detail})), "{name}");
    }
    let (status, body) = app.send(Method::GET, "/api/v1/auth/me", None, None).await;
    assert_eq!((status, body), (401, json!({"detail": "not authenticated"})));
    let resp = app.client.get(app.url("/api/v1/auth/me")).header("Authorization", "Basic abc").send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

async fn rejected_requests_get_json_details(backend: Backend) {
    let app = spawn_app!(backend);
    let login = app.url("/api/v1/auth/login");
    let post = |body: String, content_type: &'static str| {
        app.client.post(login.clone()).header("content-type", content_type).body(body).send()
    };
    let cases: Vec<(String, &str, u16, &str)> = vec![
        ("{not json".into(), "application/json", 400, "malformed JSON"),
        (r#"{"email": 5, "password": "x"}"#.into(), "application/json", 422, "invalid type"),
        (r#"{"email": "a@b.c"}"#.into(), "application/json", 422, "missing field `password`"),
        (r#"{"email": "a@b.c", "password": "x"}"#.into(), "text/plain", 415, "Content-Type: application/json"),
        (format!(r#"{{"email": "{}", "password": "x"}}"#, "a".repeat(100_000)), "application/json", 413, "too large"),
    ];
    for (body, content_type, expected, needle) in cases {
        let (status, resp) = status_json(post(body, content_type).await.unwrap()).await;
        assert_eq!(status, expected, "{resp}");
        let detail = resp["detail"].as_str().unwrap_or_else(|| panic!("detail in {resp}"));
        assert!(detail.contains(needle), "{detail:?} should mention {needle:?}");
    }
    let (status, body) = app.send(Method::GET, "/api/v1/nope", None, None).await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let (status, body) = app.send(Method::DELETE, "/api/v1/auth/login", None, None).await;
    assert_eq!((status, body), (405, json!({"detail": "Method Not Allowed"})));
}

on_all_backends!(
    health_and_ready_answer,
    login_issues_a_token_that_authenticates,
    login_refuses_wrong_password_unknown_email_and_inactive_staff,
    bad_tokens_are_refused,
    rejected_requests_get_json_details,
);

/// The database vanishing (a cut connection) gives 503s, not 500s or a dead
/// process, and the service recovers by itself when it is back.
async fn database_outage_gives_503_and_recovers(backend: Backend) {
    if backend == Backend::Sqlite {
        return; // an embedded file cannot become unreachable
    }
    let Some(db) = crate::harness::TestDb::create(backend).await else { return };
    let mut url = url::Url::parse(&db.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port_or_known_default().unwrap());
    let proxy = Proxy::start(upstream).await;
    url.set_port(Some(proxy.port)).unwrap();
    let app = convergeai_alerts::cli::open(&crate::harness::common_config(url.as_str())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let created = convergeai_alerts::domain::staff::create(
        &app,
        convergeai_alerts::domain::staff::CreateStaff {
            email: "a@example.com".into(),
            password: "tulip-ledger-42".into(),
            role: "agent".into(),
            full_name: None,
            phone: None,
            supervisor_email: None,
        },
    )
    .await
    .unwrap();
    let token = app.auth.issue(created.id, app.clock.now()).unwrap().access_token;
    tokio::spawn(convergeai_alerts::http::serve(app, listener, std::future::pending()));
    let client = reqwest::Client::new();

    proxy.stop();
    let (status, body) = status_json(client.get(format!("{base}/ready")).send().await.unwrap()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("database unavailable"));
    let login = json!({"email": "a@example.com", "password": "tulip-ledger-42"});
    let (status, _) =
        status_json(client.post(format!("{base}/api/v1/auth/login")).json(&login).send().await.unwrap()).await;
    assert_eq!(status, 503);
    let (status, _) = status_json(client.get(format!("{base}/health")).send().await.unwrap()).await;
    assert_eq!(status, 200, "the process stays up");

    proxy.restart().await;
    let mut ready = false;
    for _ in 0..50 {
        let resp = client.get(format!("{base}/ready")).send().await.unwrap();
        if resp.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the database is back");
    let resp = client.get(format!("{base}/api/v1/auth/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

mod outage {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        database_outage_gives_503_and_recovers(Backend::MySql).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        database_outage_gives_503_and_recovers(Backend::Postgres).await
    }
}
