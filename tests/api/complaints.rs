//! The complaints API.
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::{on_all_backends, spawn_app};

fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("timestamp in {v}"))).unwrap().with_timezone(&Utc)
}

async fn create_computes_the_deadline_from_priority(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, sup) = app.staff("sup@example.com", "supervisor").await;
    for (priority, hours) in [("critical", 4), ("high", 24), ("medium", 72), ("low", 168)] {
        let body = json!({"title": "Broken", "customer_name": "Ann", "priority": priority});
        let (status, c) = app.send(Method::POST, "/api/v1/complaints", Some(&sup), Some(body)).await;
        assert_eq!(status, 201, "{c}");
        assert_eq!((c["status"].clone(), c["priority"].clone()), (json!("open"), json!(priority)));
        assert_eq!(ts(&c["sla_deadline"]) - ts(&c["created_at"]), TimeDelta::hours(hours), "{priority}");
    }
    let (_, c) = app
        .send(Method::POST, "/api/v1/complaints", Some(&sup), Some(json!({"title": "t", "customer_name": "c"})))
        .await;
    assert_eq!(c["priority"], "medium", "default priority");
    let deadline = (app.app.clock.now() + TimeDelta::hours(2)).to_rfc3339();
    let (status, c) = app
        .send(
            Method::POST,
            "/api/v1/complaints",
            Some(&sup),
            Some(json!({"title": "t", "customer_name": "c", "sla_deadline": deadline})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(ts(&c["sla_deadline"]), ts(&json!(deadline)), "a given deadline is kept");
    let (status, got) = app.get(&format!("/api/v1/complaints/{}", c["id"]), &sup).await;
    assert_eq!((status, got), (200, c));
}

async fn assignee_must_be_active_staff(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, sup) = app.staff("sup@example.com", "supervisor").await;
    let (agent, _) = app.staff("agent@example.com", "agent").await;
    let (gone, _) = app.staff("gone@example.com", "agent").await;
    {
        use convergeai_alerts::storage::entities::staff;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        staff::ActiveModel { id: Set(gone), is_active: Set(false), ..Default::default() }
            .update(&app.app.db)
            .await
            .unwrap();
    }
    let create = |assignee: i64| json!({"title": "t", "customer_name": "c", "assigned_to_staff_id": assignee});
    let (status, c) = app.send(Method::POST, "/api/v1/complaints", Some(&sup), Some(create(agent))).await;
    assert_eq!((status, c["assigned_to_staff_id"].clone()), (201, json!(agent)));
    for bad in [gone, 999_999] {
        let (status, body) = app.send(Method::POST, "/api/v1/complaints", Some(&sup), Some(create(bad))).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["detail"].as_str().unwrap().starts_with("assigned_to_staff_id:"), "{body}");
    }
    let path = format!("/api/v1/complaints/{}", c["id"]);
    let (status, body) = app.send(Method::PATCH, &path, Some(&sup), Some(json!({"assigned_to_staff_id": gone}))).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.send(Method::PATCH, &path, Some(&sup), Some(json!({"assigned_to_staff_id": null}))).await;
    assert_eq!((status, body["assigned_to_staff_id"].clone()), (200, Value::Null), "null unassigns");
    let (_, list) = app.get("/api/v1/complaints", &sup).await;
    assert_eq!(list["total"], 1, "the refused creations wrote nothing");
}

async fn patch_status_priority_deadline(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, sup) = app.staff("sup@example.com", "supervisor").await;
    let (_, c) = app
        .send(Method::POST, "/api/v1/complaints", Some(&sup), Some(json!({"title": "t", "customer_name": "c"})))
        .await;
    let path = format!("/api/v1/complaints/{}", c["id"]);

    let (status, p) =
        app.send(Method::PATCH, &path, Some(&sup), Some(json!({"status": "in_progress", "priority": "high"}))).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["status"].clone(), p["priority"].clone(), p["resolved_at"].clone()),
        (json!("in_progress"), json!("high"), Value::Null)
    );
    // A priority change re-targets from the original start: high is 24 h on the default policy.
    assert_eq!(ts(&p["sla_deadline"]), ts(&c["created_at"]) + TimeDelta::hours(24), "{p}");

    app.app.clock.advance(TimeDelta::minutes(3));
    let (_, resolved) = app.send(Method::PATCH, &path, Some(&sup), Some(json!({"status": "resolved"}))).await;
    assert_eq!(ts(&resolved["resolved_at"]), ts(&resolved["updated_at"]), "resolving sets resolved_at");
    let (_, closed) = app.send(Method::PATCH, &path, Some(&sup), Some(json!({"status": "closed"}))).await;
    assert_eq!(closed["resolved_at"], resolved["resolved_at"], "closing keeps the resolution time");
    let (_, reopened) = app.send(Method::PATCH, &path, Some(&sup), Some(json!({"status": "open"}))).await;
    assert_eq!(reopened["resolved_at"], Value::Null);

    let new_deadline = (app.app.clock.now() + TimeDelta::hours(1)).to_rfc3339();
    let (_, moved) = app.send(Method::PATCH, &path, Some(&sup), Some(json!({"sla_deadline": new_deadline}))).await;
    assert_eq!(ts(&moved["sla_deadline"]), ts(&json!(new_deadline)));
    let past = (app.app.clock.now() - TimeDelta::hours(1)).to_rfc3339();
    for (body, needle) in [
        (json!({"sla_deadline": past}), "sla_deadline: must be in the future"),
        (json!({"sla_deadline": "tomorrow"}), "sla_deadline"),
        (json!({"status": "done"}), "status"),
        (json!({"priority": "urgent"}), "priority"),
        (json!({"title": ""}), "title: must not be empty"),
        (json!({"colour": "red"}), "unknown field `colour`"),
    ] {
        let (status, resp) = app.send(Method::PATCH, &path, Some(&sup), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {resp}");
        assert!(resp["detail"].as_str().unwrap().contains(needle), "{resp}");
    }
    assert_eq!(
        app.send(Method::PATCH, "/api/v1/complaints/424242", Some(&sup), Some(json!({"status": "open"}))).await.0,
        404
    );
    assert_eq!(app.get("/api/v1/complaints/424242", &sup).await.0, 404);
}

async fn list_filters_and_pages(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, sup) = app.staff("sup@example.com", "supervisor").await;
    let (agent, agent_token) = app.staff("agent@example.com", "agent").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let priority = if i % 2 == 0 { "high" } else { "low" };
        let mut body = json!({"title": format!("c{i}"), "customer_name": "c", "priority": priority});
        if i < 3 {
            body["assigned_to_staff_id"] = json!(agent);
        }
        let (_, c) = app.send(Method::POST, "/api/v1/complaints", Some(&sup), Some(body)).await;
        ids.push(c["id"].as_i64().unwrap());
        app.app.clock.advance(TimeDelta::seconds(1));
    }
    app.send(Method::PATCH, &format!("/api/v1/complaints/{}", ids[0]), Some(&sup), Some(json!({"status": "resolved"})))
        .await;
    let count = |body: &Value| body["complaints"].as_array().unwrap().len();
    let (_, page) = app.get("/api/v1/complaints?page=2&page_size=3", &agent_token).await;
    assert_eq!((page["total"].clone(), page["total_pages"].clone(), count(&page)), (json!(7), json!(3), 3));
    assert_eq!(page["complaints"][0]["id"], ids[3], "newest first");
    for (query, expected) in [
        ("priority=high", 4),
        ("priority=low", 3),
        ("status=resolved", 1),
        ("status=open", 6),
        (&format!("assigned_to_staff_id={agent}") as &str, 3),
        (&format!("assigned_to_staff_id={agent}&status=open"), 2),
    ] {
        let (status, body) = app.get(&format!("/api/v1/complaints?{query}"), &sup).await;
        assert_eq!((status, body["total"].clone()), (200, json!(expected)), "{query}");
    }
    for query in ["status=done", "priority=x", "page=0", "page_size=101", "assigned_to_staff_id=me"] {
        assert_eq!(app.get(&format!("/api/v1/complaints?{query}"), &sup).await.0, 422, "{query}");
    }
}

/// Reassigning: the new assignee's alerts at once, the previous assignee's
/// live alerts about it gone from their inbox, the supervisor's kept.
async fn reassigning_moves_the_alerts(backend: Backend) {
    let app = spawn_app!(backend);
    app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let (b, _) = app.staff_with("b@example.com", "agent", Some("sup@example.com")).await;
    let sup = app.staff_id("sup@example.com").await;
    let c = app
        .complaint(json!({"title": "Router", "customer_name": "Cy", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let about = |inbox: Vec<Value>| inbox.iter().filter(|x| x["resource_id"] == c["id"]).count();
    assert_eq!((about(app.inbox(a).await), about(app.inbox(b).await)), (1, 0));
    app.patch_complaint(&c["id"], json!({"assigned_to_staff_id": b})).await;
    assert_eq!(about(app.inbox(b).await), 1, "the new assignee's alert at once");
    assert_eq!(about(app.inbox(a).await), 0, "the previous assignee's alert ended");
    assert_eq!(about(app.inbox(sup).await), 1, "the supervisor keeps theirs (no second one)");
    let of_sup = app.inbox(sup).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    let message = of_sup["message"].as_str().unwrap();
    assert!(message.contains("(assigned to b)") && !message.contains("assigned to a"), "{message}");
    assert_eq!(of_sup["alert_metadata"]["assigned_to_staff_id"], b, "{of_sup}");

    // Unassigned, then assigned: the on-call's alerts stop saying "unassigned".
    let d = app.complaint(json!({"title": "Modem", "customer_name": "Di", "priority": "critical"})).await;
    let of_d = |inbox: Vec<Value>| inbox.into_iter().find(|x| x["resource_id"] == d["id"]).unwrap();
    assert!(of_d(app.inbox(sup).await)["message"].as_str().unwrap().contains("(unassigned)"));
    app.patch_complaint(&d["id"], json!({"assigned_to_staff_id": a})).await;
    let reworded = of_d(app.inbox(sup).await);
    assert!(reworded["message"].as_str().unwrap().contains("(assigned to a)"), "{reworded}");
    assert_eq!(reworded["alert_metadata"]["assigned_to_staff_id"], a);
    app.patch_complaint(&d["id"], json!({"assigned_to_staff_id": null})).await;
    assert!(of_d(app.inbox(sup).await)["message"].as_str().unwrap().contains("(unassigned)"), "and back");
}

/// `assignee=me|team|unassigned` and `q` (title or customer, literal text).
async fn list_by_assignee_and_text(backend: Backend) {
    let app = spawn_app!(backend);
    let (sup, sup_token) = app.staff("sup@example.com", "supervisor").await;
    let (a, a_token) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let (b, _) = app.staff("b@example.com", "agent").await;
    for (title, customer, assignee) in [
        ("Router keeps dropping", "Cy Twombly", Some(a)),
        ("Charged twice", "Ada 100% Lovelace", Some(b)),
        ("Lost parcel", "Grace", Some(sup)),
        ("No invoice", "Linus", None),
    ] {
        app.complaint(json!({"title": title, "customer_name": customer, "assigned_to_staff_id": assignee})).await;
    }
    let titles = |page: &Value| -> Vec<String> {
        let mut t: Vec<String> =
            page["complaints"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect();
        t.sort();
        t
    };
    let (_, mine) = app.get("/api/v1/complaints?assignee=me", &a_token).await;
    assert_eq!(titles(&mine), ["Router keeps dropping"]);
    assert_eq!(mine["complaints"][0]["assignee"], json!({"id": a, "full_name": "a"}), "named for anyone who reads it");
    let (_, team) = app.get("/api/v1/complaints?assignee=team", &sup_token).await;
    assert_eq!(titles(&team), ["Lost parcel", "Router keeps dropping"], "the supervisor's and their agent's");
    let (_, nobody) = app.get("/api/v1/complaints?assignee=unassigned", &sup_token).await;
    assert_eq!(titles(&nobody), ["No invoice"]);
    let (_, found) = app.get("/api/v1/complaints?q=ROUTER", &sup_token).await;
    assert_eq!(titles(&found), ["Router keeps dropping"], "case-insensitive, on the title");
    let (_, found) = app.get("/api/v1/complaints?q=100%25", &sup_token).await;
    assert_eq!(titles(&found), ["Charged twice"], "on the customer, % taken literally");
    let (_, found) = app.get("/api/v1/complaints?q=_", &sup_token).await;
    assert_eq!(found["total"], 0, "_ taken literally");
    let (status, body) = app.get("/api/v1/complaints?assignee=everyone", &sup_token).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("assignee"), "{body}");
    assert_eq!(app.get(&format!("/api/v1/complaints?q={}", "x".repeat(101)), &sup_token).await.0, 422);
}

/// A complaint's alerts: who got each and what they did; a supervisor sees
/// every recipient's, an agent their own.
async fn complaint_alerts_timeline(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, sup_token) = app.staff("sup@example.com", "supervisor").await;
    let (a, a_token) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let c = app
        .complaint(json!({"title": "Router", "customer_name": "Cy", "priority": "critical", "assigned_to_staff_id": a}))
        .await;
    let mine = app.inbox(a).await.into_iter().find(|x| x["resource_id"] == c["id"]).unwrap();
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/read", mine["id"]), &a_token).await.0, 204);
    let path = format!("/api/v1/complaints/{}/alerts", c["id"]);
    let (status, all) = app.get(&path, &sup_token).await;
    assert_eq!(status, 200, "{all}");
    let alerts = all["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2, "the assignee's and the supervisor's: {all}");
    let of_a = alerts.iter().find(|x| x["recipient"]["id"] == a).unwrap();
    assert_eq!(of_a["recipient"]["full_name"], "a");
    assert!(of_a["read_at"].is_string() && of_a["acknowledged_at"].is_null(), "{of_a}");
    assert!(of_a["deliveries"].is_array() && of_a["title"].as_str().unwrap().contains("Router"), "{of_a}");
    assert_eq!(all["truncated"], false);
    let (_, own) = app.get(&path, &a_token).await;
    assert_eq!(own["alerts"].as_array().unwrap().len(), 1, "an agent sees their own only: {own}");
    assert_eq!(app.get("/api/v1/complaints/999999/alerts", &sup_token).await.0, 404);
}

on_all_backends!(
    list_by_assignee_and_text,
    complaint_alerts_timeline,
    reassigning_moves_the_alerts,
    create_computes_the_deadline_from_priority,
    assignee_must_be_active_staff,
    patch_status_priority_deadline,
    list_filters_and_pages,
);
