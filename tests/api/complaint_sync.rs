//! Complaints by the host's own id (issue 21, SPEC 12):
//! `PUT /complaints/by-external-id/{external_id}` creates (201) or updates
//! (200), is idempotent under retries and racing requests, and ignores a
//! write older than the stored one.
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

async fn sync(app: &TestApp, token: &str, external_id: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/complaints/by-external-id/{external_id}");
    app.send(Method::PUT, &path, Some(token), Some(body)).await
}

/// Alerts about one complaint, per recipient.
/// A complaint without its clocks' remaining times (they move with the clock).
fn without_clock(complaint: &Value) -> Value {
    let mut c = complaint.clone();
    for m in c["sla"]["metrics"].as_array_mut().into_iter().flatten() {
        m["remaining_seconds"] = Value::Null;
        m["remaining_business_seconds"] = Value::Null;
    }
    c
}

async fn alerts_of(app: &TestApp, complaint_id: i64) -> Vec<(i64, i64)> {
    use convergeai_alerts::storage::entities::alert;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = alert::Entity::find()
        .filter(alert::Column::ResourceType.eq("complaint"))
        .filter(alert::Column::ResourceId.eq(complaint_id))
        .all(&app.app.db)
        .await
        .unwrap();
    let mut per: std::collections::BTreeMap<i64, i64> = Default::default();
    for r in rows {
        *per.entry(r.assigned_to_staff_id).or_default() += 1;
    }
    per.into_iter().collect()
}

async fn create_update_retry_and_stale_writes(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    app.staff("agent@example.com", "agent").await;
    let body = json!({"title": "Payment taken twice", "customer_name": "Ada", "priority": "critical",
                      "assigned_to_email": "agent@example.com", "updated_at": "2026-12-01T10:00:00Z"});
    let (status, created) = sync(&app, &admin, "HD-1001", body.clone()).await;
    assert_eq!((status, created["outcome"].clone()), (201, json!("created")), "{created}");
    let complaint = &created["complaint"];
    assert_eq!(complaint["external_id"], "HD-1001");
    assert_eq!(complaint["status"], "open");
    let id = complaint["id"].as_i64().unwrap();
    let alerts = alerts_of(&app, id).await;
    assert!(
        !alerts.is_empty() && alerts.iter().all(|(_, n)| *n == 1),
        "a critical complaint alerts at once: {alerts:?}"
    );

    // A retry changes nothing and raises nothing.
    let (status, again) = sync(&app, &admin, "HD-1001", body.clone()).await;
    assert_eq!((status, again["outcome"].clone()), (200, json!("unchanged")), "{again}");
    assert_eq!(without_clock(&again["complaint"]), without_clock(&created["complaint"]));
    assert_eq!(alerts_of(&app, id).await, alerts);

    // A newer change is written; the fields left out are cleared or kept.
    let newer = json!({"title": "Payment taken twice (refund asked)", "customer_name": "Ada", "priority": "high",
                       "status": "in_progress", "updated_at": "2026-12-01T11:00:00Z"});
    let (status, updated) = sync(&app, &admin, "HD-1001", newer).await;
    assert_eq!((status, updated["outcome"].clone()), (200, json!("updated")), "{updated}");
    let c = &updated["complaint"];
    assert_eq!(
        (c["title"].clone(), c["priority"].clone(), c["status"].clone()),
        (json!("Payment taken twice (refund asked)"), json!("high"), json!("in_progress"))
    );
    assert_eq!(c["assigned_to_staff_id"], Value::Null, "an absent assignee is unassigned");
    // No deadline of the host's: the clock's, re-targeted from the creation for the new priority (high: 24 h).
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(at(&c["sla_deadline"]), at(&complaint["created_at"]) + chrono::TimeDelta::hours(24), "{c}");
    assert_eq!(c["id"], id, "the same complaint");

    // An out-of-order retry of the first write is ignored and says so.
    let (status, stale) = sync(&app, &admin, "HD-1001", body).await;
    assert_eq!((status, stale["outcome"].clone()), (200, json!("stale")), "{stale}");
    assert_eq!(stale["complaint"]["title"], "Payment taken twice (refund asked)");

    // Closing through the sync resolves it.
    let closed =
        json!({"title": "t", "customer_name": "Ada", "status": "resolved", "updated_at": "2026-12-01T12:00:00Z"});
    let (status, resolved) = sync(&app, &admin, "HD-1001", closed).await;
    assert_eq!(status, 200, "{resolved}");
    assert!(resolved["complaint"]["resolved_at"].is_string(), "{resolved}");

    // The listing shows the host's id; bad input is a 422 naming the field.
    let (_, got) = app.get(&format!("/api/v1/complaints/{id}"), &admin).await;
    assert_eq!(got["external_id"], "HD-1001");
    for (external_id, body, field) in [
        (
            "HD-2",
            json!({"title": "t", "customer_name": "c", "assigned_to_staff_id": 1, "assigned_to_email": "a@b.c"}),
            "assigned_to_email",
        ),
        (
            "HD-2",
            json!({"title": "t", "customer_name": "c", "assigned_to_email": "ghost@example.com"}),
            "assigned_to_email",
        ),
        (
            "HD-2",
            json!({"title": "t", "customer_name": "c", "sla_deadline": "+262142-01-01T00:00:00Z"}),
            "sla_deadline",
        ),
        ("HD-2", json!({"title": "t", "customer_name": "c", "priority": "urgent"}), "priority"),
        (&"x".repeat(256), json!({"title": "t", "customer_name": "c"}), "external_id"),
    ] {
        let (status, resp) = sync(&app, &admin, external_id, body).await;
        assert_eq!(status, 422, "{resp}");
        assert!(resp["detail"].as_str().unwrap().starts_with(field), "{resp}");
    }
    // A past deadline is the host's truth (an overdue complaint), not an error.
    let overdue = json!({"title": "Late", "customer_name": "c", "sla_deadline": "2026-01-01T00:00:00Z"});
    assert_eq!(sync(&app, &admin, "HD-3", overdue).await.0, 201);
}

/// Eight identical requests at once: one complaint, one 201, one set of alerts.
async fn racing_identical_syncs_create_one_complaint(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (agent, _) = app.staff("agent@example.com", "agent").await;
    let body = json!({"title": "Router down", "customer_name": "Grace", "priority": "critical", "assigned_to_staff_id": agent});
    let mut racing = Vec::new();
    for _ in 0..8 {
        let (client, url, token, body) =
            (app.client.clone(), app.url("/api/v1/complaints/by-external-id/HD-RACE"), admin.clone(), body.clone());
        racing.push(tokio::spawn(async move {
            crate::harness::status_json(client.put(url).bearer_auth(token).json(&body).send().await.unwrap()).await
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for r in racing {
        let (status, resp) = r.await.unwrap();
        assert!(status == 200 || status == 201, "{status} {resp}");
        created += usize::from(status == 201);
        ids.insert(resp["complaint"]["id"].as_i64().unwrap());
    }
    assert_eq!((created, ids.len()), (1, 1), "one creation, one complaint");
    let alerts = alerts_of(&app, *ids.first().unwrap()).await;
    assert!(!alerts.is_empty() && alerts.iter().all(|(_, n)| *n == 1), "one alert per recipient: {alerts:?}");
}

/// The host's service key syncs; a read-only key may not.
async fn an_api_key_syncs_complaints(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let key = |permissions: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = json!({"name": "host", "permissions": permissions});
            let (status, created) = app.send(Method::POST, "/api/v1/api-keys", Some(&admin), Some(body)).await;
            assert_eq!(status, 201, "{created}");
            created["key"].as_str().unwrap().to_owned()
        }
    };
    let writer = key(json!(["complaints.write"])).await;
    let reader = key(json!(["complaints.read"])).await;
    let body = json!({"title": "From the host", "customer_name": "Ada"});
    assert_eq!(sync(&app, &writer, "HD-9", body.clone()).await.0, 201);
    assert_eq!(sync(&app, &reader, "HD-9", body).await.0, 403);
}

on_all_backends!(
    create_update_retry_and_stale_writes,
    racing_identical_syncs_create_one_complaint,
    an_api_key_syncs_complaints,
);
