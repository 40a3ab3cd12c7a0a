//! The contract as a whole: who may call what, bad input never yields a
//! 5xx, and the OpenAPI document lists exactly the routes served.
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

/// Staff of each role, no token, an inactive account, and two API keys: one
/// for a host backend (complaints) and one for an operator's tooling
/// (alerts.manage, alerts.read, staff.manage).
const ROLES: [&str; 7] = ["admin", "supervisor", "agent", "no token", "inactive", "complaints key", "manage key"];

async fn tokens(app: &TestApp) -> Vec<Option<String>> {
    let (_, admin) = app.staff("admin@example.com", "admin").await;
    let (_, sup) = app.staff("sup@example.com", "supervisor").await;
    let (_, agent) = app.staff("agent@example.com", "agent").await;
    let (gone, inactive) = app.staff("gone@example.com", "admin").await;
    use convergeai_alerts::storage::entities::staff;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    staff::ActiveModel { id: Set(gone), is_active: Set(false), ..Default::default() }
        .update(&app.app.db)
        .await
        .unwrap();
    let key = |permissions: Value| {
        let (app, admin) = (app, admin.clone());
        async move {
            let body = json!({"name": "contract", "permissions": permissions});
            let (status, created) = app.send(Method::POST, "/api/v1/api-keys", Some(&admin), Some(body)).await;
            assert_eq!(status, 201, "{created}");
            created["key"].as_str().map(str::to_owned)
        }
    };
    let complaints_key = key(json!(["complaints.read", "complaints.write"])).await;
    let manage_key = key(json!(["alerts.manage", "alerts.read", "staff.manage"])).await;
    vec![Some(admin), Some(sup), Some(agent), None, Some(inactive), complaints_key, manage_key]
}

/// The status of every (endpoint, caller) cell.
async fn role_endpoint_matrix(backend: Backend) {
    let app = spawn_app!(backend);
    let tokens = tokens(&app).await;
    let (_, complaint) = app
        .send(
            Method::POST,
            "/api/v1/complaints",
            tokens[0].as_deref(),
            Some(json!({"title": "t", "customer_name": "c"})),
        )
        .await;
    let complaint = format!("/api/v1/complaints/{}", complaint["id"]);
    let complaint_alerts = format!("{complaint}/alerts");
    let rule_body = |role: &str| {
        json!({"rule_name": format!("r-{role}"), "rule_type": "event", "conditions": {"priority": "high"},
               "alert_config": {"alert_type": "critical_complaint", "severity": "warning"}})
    };
    let sub = json!({"is_enabled": true, "delivery_channels": ["in_app"]});
    let complaint_body = json!({"title": "t", "customer_name": "c"});
    #[rustfmt::skip]
    let matrix: Vec<(Method, String, Option<Value>, [u16; 7])> = vec![
        (Method::GET, "/api/v1/auth/me".into(), None, [200, 200, 200, 401, 401, 403, 403]),
        (Method::GET, "/api/v1/alerts".into(), None, [200, 200, 200, 401, 401, 403, 403]),
        (Method::GET, "/api/v1/alerts/unread/count".into(), None, [200, 200, 200, 401, 401, 403, 403]),
        (Method::GET, "/api/v1/alerts/999999".into(), None, [404, 404, 404, 401, 401, 403, 403]),
        (Method::PUT, "/api/v1/alerts/999999/read".into(), None, [404, 404, 404, 401, 401, 403, 403]),
        (Method::PUT, "/api/v1/alerts/999999/dismiss".into(), None, [404, 404, 404, 401, 401, 403, 403]),
        (Method::PUT, "/api/v1/alerts/999999/snooze".into(), Some(json!({"preset": "1h"})), [404, 404, 404, 401, 401, 403, 403]),
        (Method::DELETE, "/api/v1/alerts/999999/snooze".into(), None, [404, 404, 404, 401, 401, 403, 403]),
        (Method::PUT, "/api/v1/alerts/read-all".into(), None, [200, 200, 200, 401, 401, 403, 403]),
        (Method::GET, "/api/v1/alerts/subscriptions".into(), None, [200, 200, 200, 401, 401, 403, 403]),
        (Method::PUT, "/api/v1/alerts/subscriptions/sla_breach".into(), Some(sub), [200, 200, 200, 401, 401, 403, 403]),
        (Method::DELETE, "/api/v1/alerts/subscriptions/sla_breach".into(), None, [204, 204, 204, 401, 401, 403, 403]),
        (Method::GET, "/api/v1/alerts/rules".into(), None, [200, 403, 403, 401, 401, 403, 200]),
        (Method::POST, "/api/v1/alerts/rules".into(), Some(json!(null)), [201, 403, 403, 401, 401, 403, 201]),
        (Method::GET, "/api/v1/alerts/rules/1".into(), None, [200, 403, 403, 401, 401, 403, 200]),
        (Method::PATCH, "/api/v1/alerts/rules/1".into(), Some(json!({"is_enabled": true})), [200, 403, 403, 401, 401, 403, 200]),
        (Method::PUT, "/api/v1/alerts/rules/1/disable".into(), None, [200, 403, 403, 401, 401, 403, 200]),
        (Method::PUT, "/api/v1/alerts/rules/1/enable".into(), None, [200, 403, 403, 401, 401, 403, 200]),
        (Method::DELETE, "/api/v1/alerts/rules/4".into(), None, [204, 403, 403, 401, 401, 403, 404]),
        (Method::POST, "/api/v1/complaints".into(), Some(complaint_body), [201, 201, 403, 401, 401, 201, 403]),
        (Method::GET, "/api/v1/complaints".into(), None, [200, 200, 200, 401, 401, 200, 403]),
        (Method::GET, complaint.clone(), None, [200, 200, 200, 401, 401, 200, 403]),
        (Method::PATCH, complaint, Some(json!({"status": "in_progress"})), [200, 200, 403, 401, 401, 200, 403]),
        (Method::GET, "/api/v1/api-keys".into(), None, [200, 403, 403, 401, 401, 403, 200]),
        (Method::POST, "/api/v1/api-keys".into(), Some(json!({"name": "k", "permissions": ["complaints.read"]})), [201, 403, 403, 401, 401, 403, 422]),
        (Method::DELETE, "/api/v1/api-keys/999999".into(), None, [404, 403, 403, 401, 401, 403, 404]),
        (Method::GET, "/api/v1/channels".into(), None, [200, 200, 200, 401, 401, 403, 200]),
        (Method::GET, "/api/v1/complaints/assignees".into(), None, [200, 200, 403, 401, 401, 200, 403]),
        (Method::GET, complaint_alerts, None, [200, 200, 200, 401, 401, 403, 403]),
        (Method::GET, "/api/v1/complaints/999999/alerts".into(), None, [404, 404, 404, 401, 401, 404, 403]),
        (Method::GET, "/api/v1/auth/demo-accounts".into(), None, [200, 200, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/staff".into(), None, [200, 403, 403, 401, 401, 403, 200]),
        (Method::POST, "/api/v1/staff".into(), Some(json!("new staff")), [201, 403, 403, 401, 401, 403, 201]),
        (Method::GET, "/api/v1/staff/999999".into(), None, [404, 403, 403, 401, 401, 403, 404]),
        (Method::PATCH, "/api/v1/staff/999999".into(), Some(json!({"full_name": "x"})), [404, 403, 403, 401, 401, 403, 404]),
        (Method::PUT, "/api/v1/auth/password".into(), Some(json!({"current_password": "not it", "new_password": "a new long secret"})), [422, 422, 422, 401, 401, 403, 403]),
        // Last: it ends the callers' sessions.
        (Method::POST, "/api/v1/auth/logout".into(), None, [204, 204, 204, 401, 401, 403, 403]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in matrix {
        for (i, token) in tokens.iter().enumerate() {
            let body = match &body {
                Some(Value::Null) => Some(rule_body(ROLES[i])),
                Some(Value::String(_)) => Some(
                    json!({"email": format!("new{i}@example.com"), "password": "a long first secret", "role": "agent"}),
                ),
                other => other.clone(),
            };
            let (status, resp) = app.send(method.clone(), &path, token.as_deref(), body).await;
            if status != expected[i] {
                failures.push(format!("{method} {path} as {}: {status} (expected {}) {resp}", ROLES[i], expected[i]));
            }
            if status >= 400 {
                assert!(resp["detail"].is_string(), "{method} {path}: error body {resp}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const NASTY: [&str; 6] = [
    "Robert'); DROP TABLE complaints;--",
    "100% _wild_ \\ \"quoted\" `back`",
    "ünïcödé ñ 日本語 עברית",
    "emoji 😀🔥 and ZWJ 👩‍💻",
    "<script>alert(1)</script>",
    "line\nbreak\ttab",
];

/// Strings with SQL metacharacters and unicode are stored and returned byte-identical.
async fn nasty_strings_round_trip(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, admin) = app.staff("admin@example.com", "admin").await;
    for (i, s) in NASTY.iter().enumerate() {
        let body = json!({"title": s, "description": s, "customer_name": s});
        let (status, created) = app.send(Method::POST, "/api/v1/complaints", Some(&admin), Some(body)).await;
        assert_eq!(status, 201, "{s}: {created}");
        let (_, got) = app.get(&format!("/api/v1/complaints/{}", created["id"]), &admin).await;
        for field in ["title", "description", "customer_name"] {
            assert_eq!(got[field], *s, "{field}");
        }
        let rule = json!({"rule_name": format!("{s} {i}"), "rule_type": "event", "conditions": {"priority": "high"},
                          "alert_config": {"alert_type": "critical_complaint", "severity": "info"}});
        let (status, created) = app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(rule)).await;
        assert_eq!(status, 201, "{s}: {created}");
        let (_, got) = app.get(&format!("/api/v1/alerts/rules/{}", created["id"]), &admin).await;
        assert_eq!(got["rule_name"], format!("{s} {i}"));
        // As filters they match nothing and break nothing.
        let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        let (status, body) = app.get(&format!("/api/v1/alerts?resource_type={encoded}"), &admin).await;
        assert_eq!((status, body["total"].clone()), (200, json!(0)), "{s}");
        let (status, _) = app.get(&format!("/api/v1/complaints?status={encoded}"), &admin).await;
        assert_eq!(status, 422);
    }
    // Case matters on every backend (MySQL tables use a binary collation).
    let rule = |name: &str| {
        json!({"rule_name": name, "rule_type": "event", "conditions": {"priority": "high"},
                                    "alert_config": {"alert_type": "critical_complaint", "severity": "info"}})
    };
    assert_eq!(app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(rule("Busy"))).await.0, 201);
    assert_eq!(app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(rule("busy"))).await.0, 201);
}

/// A table of bad inputs: every answer is a 4xx with a detail, never a 5xx.
async fn bad_inputs_are_4xx(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, admin) = app.staff("admin@example.com", "admin").await;
    let huge = "9".repeat(30);
    #[rustfmt::skip]
    let cases: Vec<(Method, String, Option<&str>, u16)> = vec![
        (Method::GET, "/api/v1/alerts?page=0".into(), None, 422),
        (Method::GET, "/api/v1/alerts?page=-1".into(), None, 422),
        (Method::GET, "/api/v1/alerts?page=abc".into(), None, 422),
        (Method::GET, "/api/v1/alerts?page=1.5".into(), None, 422),
        (Method::GET, format!("/api/v1/alerts?page={huge}"), None, 422),
        (Method::GET, "/api/v1/alerts?page=99999999999".into(), None, 422),
        (Method::GET, "/api/v1/alerts?page_size=0".into(), None, 422),
        (Method::GET, "/api/v1/alerts?page_size=101".into(), None, 422),
        (Method::GET, "/api/v1/alerts?resource_id=abc".into(), None, 422),
        (Method::GET, "/api/v1/alerts?resource_type=%00".into(), None, 422),
        (Method::GET, "/api/v1/alerts/abc".into(), None, 422),
        (Method::GET, format!("/api/v1/alerts/{huge}"), None, 422),
        (Method::GET, "/api/v1/alerts/-1".into(), None, 404),
        (Method::GET, "/api/v1/alerts/9223372036854775807".into(), None, 404),
        (Method::PUT, format!("/api/v1/alerts/{huge}/read"), None, 422),
        (Method::PUT, "/api/v1/alerts/1.5/dismiss".into(), None, 422),
        (Method::GET, format!("/api/v1/complaints/{huge}"), None, 422),
        (Method::POST, "/api/v1/complaints".into(), Some("{"), 400),
        (Method::POST, "/api/v1/complaints".into(), Some("[]"), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": 1, "customer_name": "c"}"#), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": "t"}"#), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": "t\u0000", "customer_name": "c"}"#), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": "t", "customer_name": "c", "customer_email": "x"}"#), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": "t", "customer_name": "c", "assigned_to_staff_id": 99999999999999999999}"#), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": "t", "customer_name": "c", "sla_deadline": "2020-13-45"}"#), 422),
        (Method::POST, "/api/v1/complaints".into(), Some(r#"{"title": "t", "customer_name": "c", "priority": null, "x": 1}"#), 422),
        (Method::PATCH, "/api/v1/complaints/1".into(), Some("null"), 422),
        (Method::POST, "/api/v1/alerts/rules".into(), Some(r#"{"rule_name": "\u0000", "rule_type": "event", "conditions": {"priority": "high"}, "alert_config": {"alert_type": "critical_complaint", "severity": "info"}}"#), 422),
        (Method::PUT, "/api/v1/alerts/subscriptions/sla_breach".into(), Some(r#"{"is_enabled": true, "delivery_channels": "email"}"#), 422),
        (Method::PUT, "/api/v1/alerts/subscriptions/%00".into(), Some(r#"{"is_enabled": true, "delivery_channels": []}"#), 422),
        (Method::POST, "/api/v1/auth/login".into(), Some(r#"{"email": "a\u0000@b.c", "password": "x"}"#), 422),
    ];
    for (method, path, body, expected) in cases {
        let mut req = app.client.request(method.clone(), app.url(&path)).bearer_auth(&admin);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_owned());
        }
        let (status, resp) = crate::harness::status_json(req.send().await.unwrap()).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {resp}");
        assert!(resp["detail"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path}: {resp}");
    }
}

on_all_backends!(role_endpoint_matrix, nasty_strings_round_trip, bad_inputs_are_4xx);

/// The OpenAPI document lists every route the router serves, each answered
/// (not 404/405) by the server, and nothing else.
#[tokio::test]
async fn openapi_lists_every_route() {
    let app = crate::harness::TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, doc) = app.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let mut served = vec![
        "GET /health",
        "GET /ready",
        "GET /api/v1/health",
        "GET /api/v1/ready",
        "POST /api/v1/auth/login",
        "GET /api/v1/auth/me",
        "GET /api/v1/alerts",
        "POST /api/v1/alerts/check",
        "GET /api/v1/alerts/stats",
        "GET /api/v1/alerts/ws",
        "GET /api/v1/alerts/{id}/deliveries",
        "GET /api/v1/alerts/unread/count",
        "PUT /api/v1/alerts/read-all",
        "GET /api/v1/alerts/{id}",
        "PUT /api/v1/alerts/{id}/read",
        "PUT /api/v1/alerts/{id}/dismiss",
        "PUT /api/v1/alerts/{id}/acknowledge",
        "PUT /api/v1/alerts/{id}/snooze",
        "DELETE /api/v1/alerts/{id}/snooze",
        "POST /api/v1/auth/logout",
        "GET /api/v1/auth/demo-accounts",
        "PUT /api/v1/auth/password",
        "GET /api/v1/channels",
        "GET /api/v1/staff",
        "POST /api/v1/staff",
        "GET /api/v1/staff/{id}",
        "PATCH /api/v1/staff/{id}",
        "GET /api/v1/staff/{id}/preferences",
        "PUT /api/v1/staff/{id}/preferences",
        "GET /api/v1/me/preferences",
        "PUT /api/v1/me/preferences",
        "GET /api/v1/alerts/{id}/escalation",
        "GET /api/v1/escalation-policies",
        "POST /api/v1/escalation-policies",
        "GET /api/v1/escalation-policies/{id}",
        "PATCH /api/v1/escalation-policies/{id}",
        "DELETE /api/v1/escalation-policies/{id}",
        "GET /api/v1/alerts/rules",
        "POST /api/v1/alerts/rules",
        "GET /api/v1/alerts/rules/{id}",
        "PATCH /api/v1/alerts/rules/{id}",
        "DELETE /api/v1/alerts/rules/{id}",
        "PUT /api/v1/alerts/rules/{id}/enable",
        "PUT /api/v1/alerts/rules/{id}/disable",
        "GET /api/v1/alerts/subscriptions",
        "PUT /api/v1/alerts/subscriptions/{alert_type}",
        "DELETE /api/v1/alerts/subscriptions/{alert_type}",
        "GET /api/v1/complaints",
        "POST /api/v1/complaints",
        "GET /api/v1/complaints/{id}",
        "PATCH /api/v1/complaints/{id}",
        "PUT /api/v1/complaints/by-external-id/{external_id}",
        "GET /api/v1/complaints/{id}/alerts",
        "GET /api/v1/complaints/assignees",
        "GET /api/v1/sla/calendars",
        "POST /api/v1/sla/calendars",
        "GET /api/v1/sla/calendars/{id}",
        "PATCH /api/v1/sla/calendars/{id}",
        "DELETE /api/v1/sla/calendars/{id}",
        "POST /api/v1/sla/calendars/{id}/preview",
        "GET /api/v1/sla/policies",
        "POST /api/v1/sla/policies",
        "GET /api/v1/sla/policies/{id}",
        "PATCH /api/v1/sla/policies/{id}",
        "DELETE /api/v1/sla/policies/{id}",
        "GET /api/v1/api-keys",
        "POST /api/v1/api-keys",
        "DELETE /api/v1/api-keys/{id}",
    ];
    served.sort();
    assert_eq!(documented, served);
    // Every documented operation is routed: without a token it is 401 (or 200 for public ones), never 404/405.
    for op in &documented {
        let (method, path) = op.split_once(' ').unwrap();
        let concrete = path.replace("{id}", "1").replace("{alert_type}", "sla_breach").replace("{external_id}", "x");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, _) = app.send(method, &concrete, None, None).await;
        assert!(![404, 405].contains(&status), "{op} is documented but not served ({status})");
    }
    // Every operation documents its errors and secured ones name the scheme.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = path.ends_with("/health")
                || path.ends_with("/ready")
                || path.ends_with("/login")
                || path.ends_with("/demo-accounts");
            if !public {
                assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
                assert!(op["responses"]["401"].is_object(), "{method} {path} documents 401");
            }
        }
    }
    // The interactive docs are served from the binary.
    let resp = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("swagger"), "Swagger UI page");
    let resp = app.client.get(app.url("/docs/swagger-ui.css")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "assets vendored, no CDN");
}
