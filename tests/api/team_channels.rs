//! Team channels (Slack, Microsoft Teams): a rule's `alert_config.team_channels`,
//! one outbox row per alert event and channel (also with racing checkers),
//! and the posts a local HTTP server receives, checked against recorded
//! example payloads of each product's format (`tests/fixtures/`).
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convergeai_alerts::delivery::DeliveryConfig;
use convergeai_alerts::delivery::channels::Channels;
use convergeai_alerts::delivery::dispatcher::{self, DispatcherConfig};
use convergeai_alerts::domain::App;
use convergeai_alerts::storage;
use convergeai_alerts::storage::entities::notification_delivery as delivery;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

const PUBLIC_URL: &str = "https://alerts.example.com";

/// A local server playing Slack and Teams: records each JSON body by path.
#[derive(Clone, Default)]
struct Hooks {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Hooks {
    async fn start() -> (Hooks, String) {
        let hooks = Hooks::default();
        let state = hooks.clone();
        let router = axum::Router::new().route(
            "/{*path}",
            axum::routing::post(move |uri: axum::http::Uri, body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    state.posts.lock().unwrap().push((uri.path().to_owned(), value));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (hooks, base)
    }

    fn posted_to(&self, path: &str) -> Vec<Value> {
        self.posts.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, v)| v.clone()).collect()
    }
}

/// Slack and Teams at the local server (a loopback target: the operator's, trusted).
fn channels(base: &str) -> Arc<Channels> {
    let config = DeliveryConfig {
        slack_webhook_url: Some(convergeai_alerts::config::Secret::new(format!("{base}/services/T0/B0/secret"))),
        teams_webhook_url: Some(convergeai_alerts::config::Secret::new(format!("{base}/webhookb2/secret"))),
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    Arc::new(Channels::new(&config).expect("channels"))
}

async fn drain(app: &App, channels: Arc<Channels>) {
    let config = DispatcherConfig {
        poll: Duration::from_millis(50),
        retry_base: Duration::from_millis(20),
        public_url: Some(PUBLIC_URL.to_owned()),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatcher::run(app.clone(), channels, config, stopped));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while storage::deliveries::backlog(&app.db).await.unwrap() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture is JSON")
}

/// Whether `ours` has the structure of `example`: objects with the same keys,
/// each value of the same structure; arrays whose every element has the
/// structure of some element of the example's, and the other way round (so
/// every kind of block the example shows is sent); scalars of the same JSON type.
fn same_shape(ours: &Value, example: &Value, path: &str, errors: &mut Vec<String>) {
    match (ours, example) {
        (Value::Object(a), Value::Object(b)) => {
            let (ka, kb): (BTreeSet<_>, BTreeSet<_>) = (a.keys().collect(), b.keys().collect());
            if ka != kb {
                errors.push(format!("{path}: keys {ka:?}, the example has {kb:?}"));
                return;
            }
            for (k, v) in a {
                same_shape(v, &b[k], &format!("{path}.{k}"), errors);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let fits = |x: &Value, y: &Value| {
                let mut e = Vec::new();
                same_shape(x, y, "", &mut e);
                e.is_empty()
            };
            for (i, x) in a.iter().enumerate() {
                if !b.iter().any(|y| fits(x, y)) {
                    errors.push(format!("{path}[{i}]: {x} has the structure of no element of the example's"));
                }
            }
            for (i, y) in b.iter().enumerate() {
                if !a.iter().any(|x| fits(x, y)) {
                    errors.push(format!("{path}: nothing like the example's element {i} ({y})"));
                }
            }
        }
        (a, b) => {
            let kind = |v: &Value| match v {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            if kind(a) != kind(b) {
                errors.push(format!("{path}: {} where the example has {}", kind(a), kind(b)));
            }
        }
    }
}

fn assert_same_shape(ours: &Value, example: &Value) {
    let mut errors = Vec::new();
    same_shape(ours, example, "$", &mut errors);
    assert!(errors.is_empty(), "{}\nsent: {ours:#}", errors.join("\n"));
}

/// The seeded rule named `name`.
async fn rule(app: &TestApp, admin: &str, name: &str) -> Value {
    let (status, rules) = app.get("/api/v1/alerts/rules", admin).await;
    assert_eq!(status, 200, "{rules}");
    rules.as_array().unwrap().iter().find(|r| r["rule_name"] == name).cloned().expect("seeded rule")
}

/// PATCHes the rule's `alert_config` with `changes` merged in.
async fn configure(app: &TestApp, admin: &str, rule: &Value, changes: Value) -> (u16, Value) {
    let mut config = rule["alert_config"].clone();
    for (k, v) in changes.as_object().unwrap() {
        config[k] = v.clone();
    }
    let path = format!("/api/v1/alerts/rules/{}", rule["id"]);
    app.send(Method::PATCH, &path, Some(admin), Some(json!({ "alert_config": config }))).await
}

async fn team_rows(app: &App) -> Vec<delivery::Model> {
    delivery::Entity::find().filter(delivery::Column::Channel.is_in(["slack", "teams"])).all(&app.db).await.unwrap()
}

/// `team_channels` names known team channels, once each; anything else is a
/// 422 naming the field; the list of channels says which are configured.
async fn team_channel_rule_config_is_validated(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let critical = rule(&app, &admin, "critical_complaint_created").await;
    for bad in [json!(["discord"]), json!(["slack", "slack"]), json!("slack"), json!([1])] {
        let (status, body) = configure(&app, &admin, &critical, json!({ "team_channels": bad })).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body["detail"].as_str().unwrap().starts_with("alert_config.team_channels"), "{body}");
    }
    let (status, body) = configure(&app, &admin, &critical, json!({"team_channels": ["slack", "teams"]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alert_config"]["team_channels"], json!(["slack", "teams"]));
    let (_, agent) = app.staff("a@example.com", "agent").await;
    assert_eq!(configure(&app, &agent, &critical, json!({"team_channels": []})).await.0, 403);
    // Nothing is posted to a team by default.
    let breach = rule(&app, &admin, "sla_breach_critical").await;
    assert!(breach["alert_config"].get("team_channels").is_none(), "{breach}");
    let (status, list) = app.get("/api/v1/channels", &agent).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["channel"].as_str().unwrap()).collect();
    assert_eq!(names, ["in_app", "email", "sms", "webhook", "slack", "teams"]);
}

/// A critical complaint alerts its assignee and their supervisor (one event,
/// two alerts): Slack and Teams each get one post, in their own format, with
/// the complaint, its SLA clock and the acknowledge link (the rule escalates).
/// A check that finds the window open, and a new recipient joining the
/// event, post nothing more.
async fn team_channels_post_once_per_event_in_each_format(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let critical = rule(&app, &admin, "critical_complaint_created").await;
    let changes = json!({"team_channels": ["slack", "teams"], "escalation_policy": "breach-default"});
    assert_eq!(configure(&app, &admin, &critical, changes).await.0, 200);
    app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let (b, _) = app.staff("b@example.com", "agent").await;
    let c = app
        .complaint(json!({"title": "Refund <not> received", "customer_name": "c", "priority": "critical",
            "assigned_to_staff_id": a}))
        .await;
    let alerts = storage::alerts::of_complaint(&app.app.db, c["id"].as_i64().unwrap(), None, 100).await.unwrap();
    assert_eq!(alerts.len(), 2, "assignee and supervisor");
    let rows = team_rows(&app.app).await;
    let channels_of: Vec<&str> = rows.iter().map(|r| r.channel.as_str()).collect();
    assert_eq!(channels_of.len(), 2, "one row per team channel: {channels_of:?}");
    assert!(channels_of.contains(&"slack") && channels_of.contains(&"teams"));
    let first = alerts.iter().map(|a| a.id).min().unwrap();
    assert!(rows.iter().all(|r| r.alert_id == first), "tied to the event's first alert");

    assert_eq!(app.check().await, 0, "the window is open");
    // Reassigned: the new assignee's alert joins the event; no second post.
    let (status, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/complaints/{}", c["id"]),
            Some(&admin),
            Some(json!({"assigned_to_staff_id": b})),
        )
        .await;
    assert_eq!(status, 200);
    let alerts = storage::alerts::of_complaint(&app.app.db, c["id"].as_i64().unwrap(), None, 100).await.unwrap();
    assert_eq!(alerts.len(), 3, "the new assignee was alerted");
    assert_eq!(team_rows(&app.app).await.len(), 2, "still one post per channel");

    let (hooks, base) = Hooks::start().await;
    drain(&app.app, channels(&base)).await;
    let rows = team_rows(&app.app).await;
    assert!(rows.iter().all(|r| r.status == "sent" && r.attempts == 1), "{rows:?}");

    let slack = hooks.posted_to("/services/T0/B0/secret");
    let teams = hooks.posted_to("/webhookb2/secret");
    assert_eq!((slack.len(), teams.len()), (1, 1));
    let (slack, teams) = (&slack[0], &teams[0]);
    assert_same_shape(slack, &fixture("slack_example.json"));
    assert_same_shape(teams, &fixture("teams_example.json"));

    let id = c["id"].as_i64().unwrap();
    let slack_text = slack.to_string();
    assert!(slack_text.contains(&format!("#{id} Refund &lt;not&gt; received")), "escaped for mrkdwn: {slack_text}");
    assert!(slack["text"].as_str().unwrap().starts_with("[CRITICAL] "), "{slack}");
    let fields: Vec<&str> =
        slack["blocks"][1]["fields"].as_array().unwrap().iter().map(|f| f["text"].as_str().unwrap()).collect();
    assert_eq!(fields[0], "*Severity*\nCritical");
    assert_eq!(fields[2], "*Priority*\ncritical (open)");
    assert_eq!(fields[3], "*Assignee*\nb", "the assignee now");
    assert!(fields[4].starts_with("*SLA (resolution)*\ndue "), "{fields:?}");
    let button = &slack["blocks"][3]["elements"][0];
    assert!(button["url"].as_str().unwrap().starts_with(&format!("{PUBLIC_URL}/ack/{first}.")), "{button}");

    let card = &teams["attachments"][0]["content"];
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["color"], "Attention");
    let facts = card["body"][2]["facts"].as_array().unwrap();
    assert_eq!(facts[1], json!({"title": "Complaint", "value": format!("#{id} Refund <not> received")}));
    assert_eq!(card["actions"][0]["url"], button["url"], "the same acknowledge link");
    // The link acknowledges the event for everyone.
    let link = button["url"].as_str().unwrap().replace(PUBLIC_URL, &app.base);
    let resp = app.client.post(&link).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let alerts = storage::alerts::of_complaint(&app.app.db, id, None, 100).await.unwrap();
    assert!(alerts.iter().all(|a| a.acknowledged_at.is_some()), "{alerts:?}");
}

/// A rule without escalation posts without a link; an unconfigured team
/// channel is skipped with its reason, like any other channel.
async fn team_posts_without_escalation_or_configuration(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let critical = rule(&app, &admin, "critical_complaint_created").await;
    assert_eq!(configure(&app, &admin, &critical, json!({"team_channels": ["slack", "teams"]})).await.0, 200);
    let (a, _) = app.staff("a@example.com", "agent").await;
    app.complaint(json!({"title": "t", "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a})).await;
    let (hooks, base) = Hooks::start().await;
    let only_slack = DeliveryConfig {
        slack_webhook_url: Some(convergeai_alerts::config::Secret::new(format!("{base}/services/T0/B0/secret"))),
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    drain(&app.app, Arc::new(Channels::new(&only_slack).unwrap())).await;
    let slack = hooks.posted_to("/services/T0/B0/secret");
    assert_eq!(slack.len(), 1);
    let kinds: Vec<&str> = slack[0]["blocks"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["header", "section", "context"], "no acknowledge button without escalation");
    let rows = team_rows(&app.app).await;
    let teams = rows.iter().find(|r| r.channel == "teams").unwrap();
    assert_eq!(teams.status, "skipped");
    assert!(teams.last_error.as_deref().unwrap_or_default().contains("not configured"), "{teams:?}");
}

/// Two instances checking the same new events at once: one row per event
/// and channel, whoever wins each key.
async fn racing_checkers_post_each_event_once(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let critical = rule(&app, &admin, "critical_complaint_created").await;
    assert_eq!(configure(&app, &admin, &critical, json!({"team_channels": ["slack", "teams"]})).await.0, 200);
    assert_eq!(app.put(&format!("/api/v1/alerts/rules/{}/disable", critical["id"]), &admin).await.0, 200);
    app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    for i in 0..30 {
        app.complaint(
            json!({"title": format!("c{i}"), "customer_name": "c", "priority": "critical", "assigned_to_staff_id": a}),
        )
        .await;
    }
    assert_eq!(app.put(&format!("/api/v1/alerts/rules/{}/enable", critical["id"]), &admin).await.0, 200);
    let (first, second) = (app.instance().await, app.instance().await);
    let (x, y) = tokio::join!(
        convergeai_alerts::domain::engine::check_all(&first),
        convergeai_alerts::domain::engine::check_all(&second)
    );
    assert_eq!(x.unwrap().total_created + y.unwrap().total_created, 60, "two alerts per complaint, once");
    let rows = team_rows(&app.app).await;
    for channel in ["slack", "teams"] {
        let mut alerts: Vec<i64> = rows.iter().filter(|r| r.channel == channel).map(|r| r.alert_id).collect();
        assert_eq!(alerts.len(), 30, "{channel}: one row per event");
        alerts.sort_unstable();
        alerts.dedup();
        assert_eq!(alerts.len(), 30);
    }
}

on_all_backends!(
    team_channel_rule_config_is_validated,
    team_channels_post_once_per_event_in_each_format,
    team_posts_without_escalation_or_configuration,
    racing_checkers_post_each_event_once,
);
