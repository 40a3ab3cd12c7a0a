//! Rule administration and subscriptions.
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::{on_all_backends, spawn_app};

fn workload_rule(name: &str) -> Value {
    json!({
        "rule_name": name,
        "rule_type": "threshold",
        "conditions": {"metric": "open_assigned_complaints", "threshold": 5},
        "alert_config": {"alert_type": "high_workload", "severity": "warning", "recipients": ["assignee", "role:supervisor"]}
    })
}

async fn rules_create_update_enable_disable_delete(backend: Backend) {
    let app = spawn_app!(backend);
    let (admin_id, admin) = app.staff("admin@example.com", "admin").await;
    let (status, rule) =
        app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(workload_rule("busy"))).await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["created_by_staff_id"], admin_id);
    assert_eq!(rule["is_enabled"], true);
    assert_eq!(rule["conditions"]["threshold"], 5);
    let id = rule["id"].as_i64().unwrap();

    let (status, body) =
        app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(workload_rule("busy"))).await;
    assert_eq!((status, body), (409, json!({"detail": "a rule named \"busy\" already exists"})));
    let (status, body) =
        app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(workload_rule("sla_at_risk"))).await;
    assert_eq!(status, 409, "{body}");

    let path = format!("/api/v1/alerts/rules/{id}");
    let (status, updated) = app
        .send(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"conditions": {"metric": "open_assigned_complaints", "threshold": 7}})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["conditions"]["threshold"], 7);
    assert_eq!(updated["rule_name"], "busy");
    let (status, body) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"rule_name": "sla_at_risk"}))).await;
    assert_eq!(status, 409, "{body}");

    let (status, off) = app.put(&format!("{path}/disable"), &admin).await;
    assert_eq!((status, off["is_enabled"].clone()), (200, json!(false)));
    let (_, enabled_only) = app.get("/api/v1/alerts/rules?enabled_only=true", &admin).await;
    assert_eq!(enabled_only.as_array().unwrap().len(), 4);
    let (_, all) = app.get("/api/v1/alerts/rules", &admin).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        7,
        "disabled rules are listed by default (the two first-response rules are seeded disabled)"
    );
    let (_, thresholds) = app.get("/api/v1/alerts/rules?rule_type=threshold", &admin).await;
    assert_eq!(thresholds.as_array().unwrap().len(), 2);
    assert_eq!(app.get("/api/v1/alerts/rules?rule_type=cron", &admin).await.0, 422);
    let (status, on) = app.put(&format!("{path}/enable"), &admin).await;
    assert_eq!((status, on["is_enabled"].clone()), (200, json!(true)));
    assert_eq!(app.get(&path, &admin).await.1["is_enabled"], true);

    assert_eq!(app.send(Method::DELETE, &path, Some(&admin), None).await.0, 204);
    assert_eq!(app.get(&path, &admin).await.0, 404);
    assert_eq!(app.send(Method::DELETE, &path, Some(&admin), None).await.0, 404);
    assert_eq!(app.put("/api/v1/alerts/rules/999/enable", &admin).await.0, 404);
}

async fn rule_validation_names_the_field(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, admin) = app.staff("admin@example.com", "admin").await;
    let sla = |conditions: Value, config: Value| json!({"rule_name": "r", "rule_type": "sla", "conditions": conditions, "alert_config": config});
    let ok_config = json!({"alert_type": "sla_at_risk", "severity": "warning"});
    let cases: Vec<(Value, &str)> = vec![
        (
            sla(json!({"sla_state": "at_risk", "threshold_percent": 80, "colour": "red"}), ok_config.clone()),
            "conditions.colour: unknown field `colour`",
        ),
        (
            sla(json!({"sla_state": "at_risk", "threshold_percent": "80"}), ok_config.clone()),
            "conditions.threshold_percent: invalid type",
        ),
        (
            sla(json!({"sla_state": "at_risk", "threshold_percent": -5}), ok_config.clone()),
            "conditions.threshold_percent: must be above 0",
        ),
        (sla(json!({"sla_state": "at_risk"}), ok_config.clone()), "conditions.threshold_percent: is required"),
        (sla(json!({"sla_state": "late"}), ok_config.clone()), "conditions.sla_state: \"late\" is not one of"),
        (sla(json!({"sla_state": "breached", "statuses": ["resolved"]}), ok_config.clone()), "conditions.statuses"),
        (sla(json!("breached"), ok_config.clone()), "conditions: must be a JSON object"),
        (
            sla(json!({"sla_state": "breached"}), json!({"alert_type": "high_workload", "severity": "warning"})),
            "alert_config.alert_type",
        ),
        (
            sla(json!({"sla_state": "breached"}), json!({"alert_type": "sla_breach", "severity": "loud"})),
            "alert_config.severity",
        ),
        (
            sla(
                json!({"sla_state": "breached"}),
                json!({"alert_type": "sla_breach", "severity": "info", "recipients": ["everyone"]}),
            ),
            "alert_config.recipients",
        ),
        (
            sla(
                json!({"sla_state": "breached"}),
                json!({"alert_type": "sla_breach", "severity": "info", "dedup_window_hours": -1}),
            ),
            "alert_config.dedup_window_hours",
        ),
        (
            sla(json!({"sla_state": "breached"}), json!({"severity": "info"})),
            "alert_config: missing field `alert_type`",
        ),
        (
            json!({"rule_name": "r", "rule_type": "threshold", "conditions": {"metric": "open_assigned_complaints", "threshold": -1}, "alert_config": {"alert_type": "high_workload", "severity": "info"}}),
            "conditions.threshold: must be between 0",
        ),
        (
            json!({"rule_name": "r", "rule_type": "event", "conditions": {"priority": "urgent"}, "alert_config": {"alert_type": "critical_complaint", "severity": "critical"}}),
            "conditions.priority",
        ),
        (json!({"rule_name": "r", "rule_type": "cron", "conditions": {}, "alert_config": {}}), "rule_type"),
        (
            json!({"rule_name": "  ", "rule_type": "event", "conditions": {"priority": "high"}, "alert_config": {"alert_type": "critical_complaint", "severity": "critical"}}),
            "rule_name",
        ),
        (
            json!({"rule_name": "r", "rule_type": "event", "conditions": {"priority": "high"}}),
            "missing field `alert_config`",
        ),
        (
            json!({"rule_name": "r", "rule_type": "event", "conditions": {"priority": "high"}, "alert_config": {"alert_type": "critical_complaint", "severity": "critical"}, "extra": 1}),
            "unknown field `extra`",
        ),
    ];
    for (body, needle) in cases {
        let (status, resp) = app.send(Method::POST, "/api/v1/alerts/rules", Some(&admin), Some(body.clone())).await;
        assert_eq!(status, 422, "{body} -> {resp}");
        let detail = resp["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{detail:?} should contain {needle:?}");
    }
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    assert_eq!(rules.as_array().unwrap().len(), 6, "nothing half-written");
    // An update is validated against the rule's own type.
    let (status, resp) = app
        .send(
            Method::PATCH,
            "/api/v1/alerts/rules/4",
            Some(&admin),
            Some(json!({"conditions": {"metric": "open_assigned_complaints", "threshold": -3}})),
        )
        .await;
    assert_eq!(status, 422, "{resp}");
    assert_eq!(app.get("/api/v1/alerts/rules/4", &admin).await.1["conditions"]["threshold"], 10, "unchanged");
}

async fn subscriptions_upsert_list_delete(backend: Backend) {
    let app = spawn_app!(backend);
    let (me, token) = app.staff("a@example.com", "agent").await;
    let (_, other) = app.staff("b@example.com", "agent").await;
    let path = "/api/v1/alerts/subscriptions/sla_at_risk"; // not mandatory: in_app may be switched off
    let (status, sub) = app
        .send(
            Method::PUT,
            path,
            Some(&token),
            Some(json!({"is_enabled": true, "delivery_channels": ["email", "in_app", "email"]})),
        )
        .await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["staff_id"], me);
    assert_eq!(sub["delivery_channels"], json!(["email", "in_app"]), "channels are de-duplicated, as a JSON array");
    let first_id = sub["id"].clone();

    let (status, sub) = app
        .send(Method::PUT, path, Some(&token), Some(json!({"is_enabled": false, "delivery_channels": ["sms"]})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (sub["id"].clone(), sub["is_enabled"].clone(), sub["delivery_channels"].clone()),
        (first_id, json!(false), json!(["sms"]))
    );

    let (_, list) = app.get("/api/v1/alerts/subscriptions", &token).await;
    assert_eq!(list["subscriptions"].as_array().unwrap().len(), 1, "upsert, not a second row");
    let mut keys: Vec<&str> = list["subscriptions"][0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alert_type",
            "created_at",
            "daily_at",
            "delivery_channels",
            "delivery_mode",
            "id",
            "is_enabled",
            "staff_id",
            "updated_at"
        ]
    );
    assert_eq!(
        app.get("/api/v1/alerts/subscriptions", &other).await.1,
        json!({"subscriptions": []}),
        "only the caller's"
    );

    for (path, body, needle) in [
        (
            "/api/v1/alerts/subscriptions/nope",
            json!({"is_enabled": true, "delivery_channels": ["email"]}),
            "alert_type",
        ),
        (path, json!({"is_enabled": true, "delivery_channels": ["pigeon"]}), "delivery_channels"),
        (path, json!({"is_enabled": "yes", "delivery_channels": []}), "is_enabled"),
        (path, json!({"delivery_channels": []}), "missing field `is_enabled`"),
    ] {
        let (status, resp) = app.send(Method::PUT, path, Some(&token), Some(body)).await;
        assert_eq!(status, 422, "{resp}");
        assert!(resp["detail"].as_str().unwrap().contains(needle), "{resp}");
    }

    assert_eq!(app.send(Method::DELETE, path, Some(&other), None).await.0, 404, "not the other's to delete");
    assert_eq!(app.send(Method::DELETE, path, Some(&token), None).await.0, 204);
    assert_eq!(app.get("/api/v1/alerts/subscriptions", &token).await.1, json!({"subscriptions": []}));
    assert_eq!(app.send(Method::DELETE, path, Some(&token), None).await.0, 404);
    assert_eq!(app.send(Method::DELETE, "/api/v1/alerts/subscriptions/bogus", Some(&token), None).await.0, 422);
}

on_all_backends!(
    rules_create_update_enable_disable_delete,
    rule_validation_names_the_field,
    subscriptions_upsert_list_delete
);
