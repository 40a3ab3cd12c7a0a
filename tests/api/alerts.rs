//! The inbox endpoints of the seed, plus filters and read-all.
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::{on_all_backends, spawn_app};

fn ids(body: &Value) -> Vec<i64> {
    body["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

/// The seed's example responses A–D, exactly.
async fn seed_examples_a_to_d(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, agent) = app.staff("agent@example.com", "agent").await;
    let (_, admin) = app.staff("admin@example.com", "admin").await;

    let (status, body) = app.get("/api/v1/alerts", &agent).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"alerts": [], "total": 0, "page": 1, "page_size": 20, "total_pages": 0, "unread_count": 0})
    );

    let (status, body) = app.get("/api/v1/alerts/unread/count", &agent).await;
    assert_eq!((status, body), (200, json!({"unread_count": 0})));

    let (status, body) = app.get("/api/v1/alerts/rules", &admin).await;
    assert_eq!(status, 200);
    let rules = body.as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["rule_name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "sla_breach_critical",
            "sla_at_risk",
            "critical_complaint_created",
            "high_workload_warning",
            "first_response_at_risk",
            "first_response_breached"
        ]
    );
    let types: Vec<&str> = rules.iter().map(|r| r["rule_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["sla", "sla", "event", "threshold", "first_response", "first_response"]);
    let enabled: Vec<bool> = rules.iter().map(|r| r["is_enabled"].as_bool().unwrap()).collect();
    assert_eq!(enabled, [true, true, true, true, false, false], "the first-response rules are seeded disabled");
    for rule in rules {
        let mut keys: Vec<&str> = rule.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "alert_config",
                "conditions",
                "created_at",
                "created_by_staff_id",
                "id",
                "is_enabled",
                "rule_name",
                "rule_type",
                "updated_at"
            ]
        );
        assert!(rule["conditions"].is_object() && rule["alert_config"].is_object(), "JSON, not strings");
        assert_eq!(rule["created_by_staff_id"], Value::Null);
        chrono::DateTime::parse_from_rfc3339(rule["created_at"].as_str().unwrap()).expect("RFC 3339");
    }

    let (status, body) = app.get("/api/v1/alerts/subscriptions", &agent).await;
    assert_eq!((status, body), (200, json!({"subscriptions": []})));
}

async fn alert_object_carries_every_column(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    let alert = app.alert(id, "sla_breach", "critical", 5).await;
    let (status, body) = app.get(&format!("/api/v1/alerts/{alert}"), &token).await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "acknowledged_at",
            "acknowledged_by",
            "alert_metadata",
            "alert_type",
            "assigned_to_staff_id",
            "created_at",
            "dismissed_at",
            "escalation_step",
            "expires_at",
            "id",
            "is_dismissed",
            "is_read",
            "message",
            "read_at",
            "resolved_at",
            "resource_id",
            "resource_type",
            "severity",
            "snoozed_until",
            "title"
        ]
    );
    assert_eq!(body["alert_metadata"], json!({"age": 5}), "metadata is JSON, not a string");
    assert_eq!(body["assigned_to_staff_id"], id);
    assert_eq!((body["is_read"].clone(), body["read_at"].clone()), (json!(false), Value::Null));
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'), "UTC RFC 3339: {}", body["created_at"]);
}

async fn list_pages_newest_first_and_hides_dismissed_and_expired(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    // 25 live alerts, ages 1..=25 minutes: newest is age 1.
    let mut live = Vec::new();
    for age in 1..=25 {
        live.push(app.alert(id, "sla_at_risk", "warning", age).await);
    }
    let expired = app.alert_with(id, "sla_breach", "critical", 0, Some(-1)).await;
    let dismissed = app.alert(id, "sla_breach", "critical", 0).await;
    assert_eq!(app.put(&format!("/api/v1/alerts/{dismissed}/dismiss"), &token).await.0, 204);
    let never_expires = app.alert_with(id, "high_workload", "info", 30, None).await;

    let (status, page1) = app.get("/api/v1/alerts?page=1&page_size=10", &token).await;
    assert_eq!(status, 200);
    assert_eq!((page1["total"].clone(), page1["total_pages"].clone()), (json!(26), json!(3)));
    assert_eq!((page1["page"].clone(), page1["page_size"].clone()), (json!(1), json!(10)));
    assert_eq!(page1["unread_count"], 26);
    assert_eq!(ids(&page1), live[0..10].to_vec(), "newest first");
    let (_, page3) = app.get("/api/v1/alerts?page=3&page_size=10", &token).await;
    let mut tail = live[20..25].to_vec();
    tail.push(never_expires);
    assert_eq!(ids(&page3), tail);
    let (_, page4) = app.get("/api/v1/alerts?page=4&page_size=10", &token).await;
    assert_eq!((ids(&page4).len(), page4["total"].clone()), (0, json!(26)), "past the end: empty page, same total");
    let (_, default) = app.get("/api/v1/alerts", &token).await;
    assert_eq!((default["page_size"].clone(), ids(&default).len()), (json!(20), 20));
    let all: Vec<i64> =
        [ids(&page1), ids(&app.get("/api/v1/alerts?page=2&page_size=10", &token).await.1), ids(&page3)].concat();
    assert!(!all.contains(&expired) && !all.contains(&dismissed));

    // Expiry is judged at the service's now: once time passes a week, the 7-day alerts are gone.
    app.app.clock.advance(chrono::TimeDelta::days(8));
    let token = app.app.auth.issue(id, app.app.clock.now()).unwrap().access_token;
    let (_, later) = app.get("/api/v1/alerts", &token).await;
    assert_eq!((ids(&later), later["unread_count"].clone()), (vec![never_expires], json!(1)));
    // Dismissed and expired alerts stay readable by id for their owner.
    assert_eq!(app.get(&format!("/api/v1/alerts/{expired}"), &token).await.0, 200);
    assert_eq!(app.get(&format!("/api/v1/alerts/{dismissed}"), &token).await.1["is_dismissed"], true);
}

async fn equal_timestamps_order_by_id(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    let first = app.alert(id, "sla_breach", "critical", 3).await;
    let second = app.alert(id, "sla_breach", "critical", 3).await;
    let (_, body) = app.get("/api/v1/alerts", &token).await;
    assert_eq!(ids(&body), [second, first]);
}

async fn each_filter_narrows_the_list(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    let breach = app.alert(id, "sla_breach", "critical", 1).await;
    let risk = app.alert(id, "sla_at_risk", "warning", 2).await;
    let workload = app.alert(id, "high_workload", "info", 3).await;
    assert_eq!(app.put(&format!("/api/v1/alerts/{risk}/read"), &token).await.0, 204);
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("is_read=true", vec![risk]),
        ("is_read=false", vec![breach, workload]),
        ("unread_only=true", vec![breach, workload]),
        ("severity=critical", vec![breach]),
        ("severities=critical,info", vec![breach, workload]),
        ("alert_type=high_workload", vec![workload]),
        ("alert_types=sla_breach,sla_at_risk", vec![breach, risk]),
        ("resource_type=complaint", vec![breach, risk, workload]),
        ("resource_type=staff", vec![]),
        ("resource_id=2", vec![risk]),
        ("severity=critical&is_read=true", vec![]),
    ];
    for (query, expected) in cases {
        let (status, body) = app.get(&format!("/api/v1/alerts?{query}"), &token).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
        assert_eq!(body["total"], expected.len(), "{query}");
        assert_eq!(body["unread_count"], 2, "{query}: unread_count is the caller's, unfiltered");
    }
    for query in [
        "severity=urgent",
        "alert_type=nope",
        "alert_types=sla_breach,nope",
        "is_read=maybe",
        "resource_id=x",
        "unread_only=true&is_read=true",
    ] {
        let (status, body) = app.get(&format!("/api/v1/alerts?{query}"), &token).await;
        assert_eq!(status, 422, "{query}: {body}");
    }
}

async fn read_dismiss_and_read_all_move_the_unread_count(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    let a = app.alert(id, "sla_breach", "critical", 1).await;
    let b = app.alert(id, "sla_at_risk", "warning", 2).await;
    let c = app.alert(id, "high_workload", "info", 3).await;
    let d = app.alert(id, "high_workload", "info", 4).await;
    assert_eq!(unread(&app, &token).await, 4);

    let (status, body) = app.put(&format!("/api/v1/alerts/{a}/read"), &token).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(unread(&app, &token).await, 3);
    let (_, first) = app.get(&format!("/api/v1/alerts/{a}"), &token).await;
    assert_eq!(first["is_read"], true);
    let first_read_at = first["read_at"].as_str().unwrap().to_owned();
    app.app.clock.advance(chrono::TimeDelta::minutes(5));
    assert_eq!(app.put(&format!("/api/v1/alerts/{a}/read"), &token).await.0, 204, "reading twice is fine");
    let (_, again) = app.get(&format!("/api/v1/alerts/{a}"), &token).await;
    assert_eq!(again["read_at"], first_read_at.as_str(), "the first read time is kept");

    let (status, _) = app.put(&format!("/api/v1/alerts/{b}/dismiss"), &token).await;
    assert_eq!(status, 204);
    assert_eq!(unread(&app, &token).await, 2, "a dismissed unread alert no longer counts");
    let (_, dismissed) = app.get(&format!("/api/v1/alerts/{b}"), &token).await;
    let dismissed_at = dismissed["dismissed_at"].as_str().unwrap().to_owned();
    app.app.clock.advance(chrono::TimeDelta::minutes(5));
    assert_eq!(app.put(&format!("/api/v1/alerts/{b}/dismiss"), &token).await.0, 204);
    assert_eq!(app.get(&format!("/api/v1/alerts/{b}"), &token).await.1["dismissed_at"], dismissed_at.as_str());

    let (status, body) = app.put("/api/v1/alerts/read-all", &token).await;
    assert_eq!((status, body), (200, json!({"updated": 2})));
    assert_eq!(unread(&app, &token).await, 0);
    for x in [c, d] {
        assert_eq!(app.get(&format!("/api/v1/alerts/{x}"), &token).await.1["is_read"], true);
    }
    assert_eq!(
        app.get(&format!("/api/v1/alerts/{b}"), &token).await.1["is_read"],
        false,
        "read-all leaves dismissed alerts alone"
    );
    assert_eq!(app.put("/api/v1/alerts/read-all", &token).await.1, json!({"updated": 0}));
}

/// `total`, `unread_count` and the number of alerts of the first inbox page.
async fn counts(app: &crate::harness::TestApp, token: &str) -> (i64, i64, usize) {
    let (_, body) = app.get("/api/v1/alerts", token).await;
    (body["total"].as_i64().unwrap(), body["unread_count"].as_i64().unwrap(), ids(&body).len())
}

async fn unread(app: &crate::harness::TestApp, token: &str) -> i64 {
    app.get("/api/v1/alerts/unread/count", token).await.1["unread_count"].as_i64().unwrap()
}

/// The inbox head is cached between requests (see `domain::inbox_cache`): an
/// expiry shows without any write, and a write that publishes no event
/// (another process on the database, without Redis) within five seconds.
async fn cached_counts_follow_expiry_and_outside_writes(backend: Backend) {
    use convergeai_alerts::storage::alerts::{NewAlert, insert};
    let app = spawn_app!(backend);
    let (id, token) = app.staff("a@example.com", "agent").await;
    let now = app.app.clock.now();
    let soon = NewAlert {
        alert_type: "sla_at_risk".into(),
        severity: "warning".into(),
        title: "soon over".into(),
        message: "expires in 2 s".into(),
        resource_type: None,
        resource_id: None,
        assigned_to_staff_id: id,
        alert_metadata: None,
        created_at: now,
        expires_at: Some(now + chrono::TimeDelta::seconds(2)),
    };
    insert(&app.app.db, soon).await.unwrap();
    app.alert(id, "sla_breach", "critical", 5).await;
    assert_eq!(counts(&app, &token).await, (2, 2, 2));
    assert_eq!(unread(&app, &token).await, 2);

    app.app.clock.advance(chrono::TimeDelta::seconds(3));
    assert_eq!(counts(&app, &token).await, (1, 1, 1), "the expired alert left the page with no write");
    assert_eq!(unread(&app, &token).await, 1);

    app.alert(id, "high_workload", "info", 1).await; // straight into the table: no event
    app.app.clock.advance(chrono::TimeDelta::seconds(6));
    assert_eq!(counts(&app, &token).await, (2, 2, 2), "an outside write shows within five seconds");
    assert_eq!(unread(&app, &token).await, 2);
}

/// Another staff member's alert is "not found" on every route, and is left untouched.
async fn foreign_alerts_are_404_everywhere(backend: Backend) {
    let app = spawn_app!(backend);
    let (owner, owner_token) = app.staff("owner@example.com", "agent").await;
    let (_, other) = app.staff("other@example.com", "agent").await;
    let (_, admin) = app.staff("admin@example.com", "admin").await;
    let alert = app.alert(owner, "sla_breach", "critical", 1).await;
    for token in [&other, &admin] {
        let (status, body) = app.get(&format!("/api/v1/alerts/{alert}"), token).await;
        assert_eq!((status, body), (404, json!({"detail": format!("alert {alert} not found")})));
        assert_eq!(app.put(&format!("/api/v1/alerts/{alert}/read"), token).await.0, 404);
        assert_eq!(app.put(&format!("/api/v1/alerts/{alert}/dismiss"), token).await.0, 404);
        let (_, list) = app.get("/api/v1/alerts", token).await;
        assert_eq!(list["total"], 0);
        assert_eq!(app.get("/api/v1/alerts/unread/count", token).await.1["unread_count"], 0);
        assert_eq!(app.put("/api/v1/alerts/read-all", token).await.1["updated"], 0);
    }
    let (_, mine) = app.get(&format!("/api/v1/alerts/{alert}"), &owner_token).await;
    assert_eq!((mine["is_read"].clone(), mine["is_dismissed"].clone()), (json!(false), json!(false)));
    // A missing id looks the same as a foreign one.
    assert_eq!(app.get("/api/v1/alerts/999999", &other).await.0, 404);
    assert_eq!(app.put("/api/v1/alerts/999999/read", &other).await.0, 404);
}

on_all_backends!(
    seed_examples_a_to_d,
    alert_object_carries_every_column,
    list_pages_newest_first_and_hides_dismissed_and_expired,
    equal_timestamps_order_by_id,
    each_filter_narrows_the_list,
    read_dismiss_and_read_all_move_the_unread_count,
    cached_counts_follow_expiry_and_outside_writes,
    foreign_alerts_are_404_everywhere,
);
