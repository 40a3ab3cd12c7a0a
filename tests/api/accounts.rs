//! Accounts that can be signed out for real, and team administration (SPEC 11):
//! sign-out, password change and reset, the staff API, deactivation, and
//! revocation reaching another instance at once.
use std::time::Duration;

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, redis_url, ws_closed, ws_connect, ws_next};
use crate::{on_all_backends, spawn_app};

const PASSWORD: &str = "tulip-ledger-42";

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password});
    app.send(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

async fn session(app: &TestApp, email: &str) -> String {
    let (status, body) = login(app, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> (u16, Value) {
    app.get("/api/v1/auth/me", token).await
}

/// Signing out ends that session (its live connection too), not the person's others.
async fn sign_out_ends_that_session_only(backend: Backend) {
    let app = spawn_app!(backend);
    app.staff("a@example.com", "agent").await;
    let (laptop, phone) = (session(&app, "a@example.com").await, session(&app, "a@example.com").await);
    let mut ws = ws_connect(&app.base, &laptop).await;
    // Its first message: the connection listens for changes from here on.
    assert_eq!(ws_next(&mut ws, 5).await["type"], "unread_count");
    let mut other_ws = ws_connect(&app.base, &phone).await;
    assert_eq!(ws_next(&mut other_ws, 5).await["type"], "unread_count");
    let (status, body) = app.send(Method::POST, "/api/v1/auth/logout", Some(&laptop), None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = me(&app, &laptop).await;
    assert_eq!(status, 401);
    assert!(body["detail"].as_str().unwrap().contains("session has ended"), "{body}");
    assert_eq!(ws_closed(ws).await, (4003, "session ended".to_owned()));
    assert_eq!(me(&app, &phone).await.0, 200, "the other session holds");
    crate::harness::ws_silent(&mut other_ws, 300).await;
    let (status, _) = app.send(Method::POST, "/api/v1/auth/logout", Some(&laptop), None).await;
    assert_eq!(status, 401, "signed out already");
    assert_eq!(app.get("/api/v1/alerts", &laptop).await.0, 401);
}

/// A password change needs the current one, follows the password rule, keeps
/// the session that made it and ends every other; an admin's reset ends all.
async fn password_change_and_reset_end_sessions(backend: Backend) {
    let app = spawn_app!(backend);
    let (id, _) = app.staff("a@example.com", "agent").await;
    let (mine, other) = (session(&app, "a@example.com").await, session(&app, "a@example.com").await);
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = app
        .send(Method::PUT, "/api/v1/auth/password", Some(&mine), Some(change("wrong one", "a brand new secret")))
        .await;
    assert_eq!(status, 422);
    assert!(body["detail"].as_str().unwrap().contains("current_password"), "{body}");
    let (status, body) =
        app.send(Method::PUT, "/api/v1/auth/password", Some(&mine), Some(change(PASSWORD, "short"))).await;
    assert_eq!(status, 422);
    assert!(body["detail"].as_str().unwrap().contains("new_password"), "{body}");
    assert_eq!(me(&app, &other).await.0, 200, "nothing changed yet");

    let (status, body) =
        app.send(Method::PUT, "/api/v1/auth/password", Some(&mine), Some(change(PASSWORD, "a brand new secret"))).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(me(&app, &mine).await.0, 200, "the session that changed it holds");
    assert_eq!(me(&app, &other).await.0, 401, "every other one ended");
    assert_eq!(login(&app, "a@example.com", PASSWORD).await.0, 401, "the old password is gone");
    let (status, fresh) = login(&app, "a@example.com", "a brand new secret").await;
    assert_eq!(status, 200);
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &fresh).await.0, 200, "a session begun after the change");

    let admin = app.admin_token().await;
    let reset = json!({"password": "set by the admin"});
    let (status, body) = app.send(Method::PATCH, &format!("/api/v1/staff/{id}"), Some(&admin), Some(reset)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((me(&app, &mine).await.0, me(&app, &fresh).await.0), (401, 401), "a reset ends them all");
    assert_eq!(login(&app, "a@example.com", "set by the admin").await.0, 200);
}

/// The staff API: add, list with filters, read, change, clear; field errors
/// in words; passwords never shown; `staff.manage` only.
async fn staff_api_adds_lists_and_changes_accounts(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (sup, _) = app.staff("sup@example.com", "supervisor").await;
    let add = |body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move { app.send(Method::POST, "/api/v1/staff", Some(&admin), Some(body)).await }
    };
    let new = json!({"email": "Ada@Example.com", "password": "a long first secret", "role": "agent",
                     "full_name": "Ada Lovelace", "phone": "+44 20 7946 0958", "supervisor_id": sup,
                     "time_zone": "Europe/London"});
    let (status, ada) = add(new.clone()).await;
    assert_eq!(status, 201, "{ada}");
    assert_eq!(
        (&ada["email"], &ada["role"], &ada["phone"], &ada["supervisor_id"], &ada["time_zone"], &ada["is_active"]),
        (
            &json!("ada@example.com"),
            &json!("agent"),
            &json!("+442079460958"),
            &json!(sup),
            &json!("Europe/London"),
            &json!(true)
        )
    );
    assert!(ada.get("password").is_none() && ada.get("password_hash").is_none(), "{ada}");
    assert_eq!(add(new).await.0, 409, "the email is taken");
    for (field, body) in [
        ("role", json!({"email": "x@example.com", "password": "a long first secret", "role": "boss"})),
        ("password", json!({"email": "x@example.com", "password": "12345678", "role": "agent"})),
        (
            "time_zone",
            json!({"email": "x@example.com", "password": "a long first secret", "role": "agent", "time_zone": "Mars/Olympus"}),
        ),
        (
            "phone",
            json!({"email": "x@example.com", "password": "a long first secret", "role": "agent", "phone": "call me"}),
        ),
        (
            "supervisor_id",
            json!({"email": "x@example.com", "password": "a long first secret", "role": "agent", "supervisor_id": 999999}),
        ),
        ("email", json!({"email": "not an address", "password": "a long first secret", "role": "agent"})),
    ] {
        let (status, body) = add(body).await;
        assert_eq!(status, 422, "{field}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(field), "{field}: {body}");
    }
    let (status, body) =
        add(json!({"email": "x@example.com", "password": "a long first secret", "role": "agent", "salary": 1})).await;
    assert_eq!(status, 422, "unknown field: {body}");

    let id = ada["id"].as_i64().unwrap();
    let path = format!("/api/v1/staff/{id}");
    let (status, got) = app.get(&path, &admin).await;
    assert_eq!((status, &got), (200, &ada));
    let (_, page) = app.get("/api/v1/staff?role=agent&q=lovelace", &admin).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["staff"][0]["id"], id);
    let (_, page) = app.get(&format!("/api/v1/staff?supervisor_id={sup}"), &admin).await;
    assert_eq!(page["total"], 1, "{page}");
    let (_, page) = app.get("/api/v1/staff?q=100%25", &admin).await;
    assert_eq!(page["total"], 0, "a % is a literal: {page}");
    assert_eq!(app.get("/api/v1/staff?page_size=1000", &admin).await.0, 422);
    assert_eq!(app.get(&format!("/api/v1/staff?q={}", "x".repeat(101)), &admin).await.0, 422);

    let patch = |body: Value| {
        let (app, admin, path) = (&app, admin.clone(), path.clone());
        async move { app.send(Method::PATCH, &path, Some(&admin), Some(body)).await }
    };
    let (status, changed) =
        patch(json!({"full_name": "Ada King", "role": "supervisor", "phone": null, "time_zone": null})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["full_name"], &changed["role"], &changed["phone"], &changed["time_zone"]),
        (&json!("Ada King"), &json!("supervisor"), &Value::Null, &Value::Null)
    );
    let (status, body) = patch(json!({"supervisor_id": id})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("themselves"), "{body}");
    assert_eq!(patch(json!({"email": "sup@example.com"})).await.0, 409);
    assert_eq!(patch(json!({"full_name": null})).await.0, 422, "a name cannot be cleared");
    assert_eq!(patch(json!({"full_name": ""})).await.0, 422);
    let agent = app.staff("agent@example.com", "agent").await.1;
    assert_eq!(app.get("/api/v1/staff", &agent).await.0, 403);
}

/// Deactivating through the API ends the person's sessions at once, and the
/// alerts of their complaints go where unassigned complaints' alerts go.
async fn deactivation_ends_sessions_and_reroutes_alerts(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let (sup, _) = app.staff("sup@example.com", "supervisor").await;
    let (a, _) = app.staff_with("a@example.com", "agent", Some("sup@example.com")).await;
    let token = session(&app, "a@example.com").await;
    let deadline = (app.app.clock.now() + TimeDelta::minutes(30)).to_rfc3339();
    app.complaint(
        json!({"title": "Router", "customer_name": "Cy", "assigned_to_staff_id": a, "sla_deadline": deadline}),
    )
    .await;
    let (status, body) =
        app.send(Method::PATCH, &format!("/api/v1/staff/{a}"), Some(&admin), Some(json!({"is_active": false}))).await;
    assert_eq!((status, &body["is_active"]), (200, &json!(false)), "{body}");
    assert_eq!(me(&app, &token).await.0, 401, "refused at once");
    assert_eq!(login(&app, "a@example.com", PASSWORD).await.0, 401);
    let on = json!({"is_active": true});
    assert_eq!(app.send(Method::PATCH, &format!("/api/v1/staff/{a}"), Some(&admin), Some(on)).await.0, 200);
    assert_eq!(me(&app, &token).await.0, 401, "ended, not only refused while inactive: reactivating starts afresh");
    assert_eq!(login(&app, "a@example.com", PASSWORD).await.0, 200);
    let off = json!({"is_active": false});
    assert_eq!(app.send(Method::PATCH, &format!("/api/v1/staff/{a}"), Some(&admin), Some(off)).await.0, 200);
    app.app.clock.advance(TimeDelta::hours(1));
    app.check().await;
    use convergeai_alerts::storage::entities::alert;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let of_a = alert::Entity::find().filter(alert::Column::AssignedToStaffId.eq(a)).all(&app.app.db).await.unwrap();
    assert!(of_a.iter().all(|x| x.alert_type != "sla_breach"), "not to the inactive assignee");
    let breach = app.inbox(sup).await.iter().filter(|x| x["alert_type"] == "sla_breach").count();
    assert_eq!(breach, 1, "to the supervisors, as for an unassigned complaint");
}

/// The service keeps an active admin: the last one can be neither
/// deactivated nor demoted, also when two admins demote each other at once.
async fn the_last_admin_stays(backend: Backend) {
    let app = spawn_app!(backend);
    let admin = app.admin_token().await;
    let me = app.staff_id("harness-admin@example.com").await;
    let path = format!("/api/v1/staff/{me}");
    for change in [json!({"is_active": false}), json!({"role": "supervisor"})] {
        let (status, body) = app.send(Method::PATCH, &path, Some(&admin), Some(change)).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("last active admin"), "{body}");
    }
    assert_eq!(me_status(&app, &admin).await, 200, "still signed in, still an admin");
    let by_cli = convergeai_alerts::domain::staff::set_active(&app.app, "harness-admin@example.com", false).await;
    assert!(
        matches!(by_cli, Err(convergeai_alerts::domain::DomainError::Conflict(_))),
        "the command line keeps the last admin too: {by_cli:?}"
    );
    // Two admins demote each other at once: one of them stays.
    let (other, other_token) = app.staff("other-admin@example.com", "admin").await;
    let demote = |token: String, id: i64| {
        let (client, url) = (app.client.clone(), app.url(&format!("/api/v1/staff/{id}")));
        async move {
            let body = json!({"role": "agent"});
            client.patch(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
        }
    };
    let (a, b) = tokio::join!(demote(admin.clone(), other), demote(other_token, me));
    // The other is refused: 409 when both ran at once, or 403 when it came
    // second and its caller was no longer an admin.
    let refused = |s: u16| s == 409 || s == 403;
    assert!((a == 200 && refused(b)) || (b == 200 && refused(a)), "exactly one demotion went through: {a}, {b}");
    let (_, admins) =
        app.get("/api/v1/staff?role=admin&active=true", &app.token(if a == 200 { me } else { other })).await;
    assert_eq!(admins["total"], 1, "{admins}");
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    me(app, token).await.0
}

/// Delivery channels and whether they are configured, without secrets.
async fn channels_say_what_is_configured(backend: Backend) {
    let app = spawn_app!(backend);
    let (_, agent) = app.staff("a@example.com", "agent").await;
    let (status, channels) = app.get("/api/v1/channels", &agent).await;
    assert_eq!(status, 200, "{channels}");
    let names: Vec<&str> = channels.as_array().unwrap().iter().map(|c| c["channel"].as_str().unwrap()).collect();
    assert_eq!(names, ["in_app", "email", "sms", "webhook", "slack", "teams"]);
    assert_eq!(channels[0]["configured"], true);
    for c in channels.as_array().unwrap() {
        assert_eq!(c.as_object().unwrap().len(), 2, "channel and configured only: {c}");
    }
}

on_all_backends!(
    sign_out_ends_that_session_only,
    password_change_and_reset_end_sessions,
    staff_api_adds_lists_and_changes_accounts,
    deactivation_ends_sessions_and_reroutes_alerts,
    the_last_admin_stays,
    channels_say_what_is_configured,
);

/// Two instances sharing events through Redis: a session ended on one is
/// refused on the other at once (not after its principal cache's 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_another_instance_at_once() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let Some(redis) = redis_url() else {
        eprintln!("skipped: needs TEST_REDIS_URL (required when CI=true)");
        return;
    };
    let (a, _) = app.staff("a@example.com", "agent").await;
    let channel = format!("test-sessions-{a}-{}", app.db_url().len() * 7919 + app.base.len());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let (one, two) = (app.instance().await, app.instance().await);
    convergeai_alerts::realtime::connect(&one.events, &redis, &channel, stopped.clone()).unwrap();
    convergeai_alerts::realtime::connect(&two.events, &redis, &channel, stopped.clone()).unwrap();
    let (base_one, base_two) = (crate::harness::serve(one).await, crate::harness::serve(two).await);
    tokio::time::sleep(Duration::from_millis(300)).await; // subscriptions in place
    let client = reqwest::Client::new();
    let call = |base: &str, method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = client.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let me_on_two = |token: String| call(&base_two, Method::GET, "/api/v1/auth/me", &token, None);
    // Refused on two once the event crossed Redis: milliseconds, far below the cache's 10 s.
    let refused_on_two = |token: String| {
        let me_on_two = &me_on_two;
        async move {
            let start = std::time::Instant::now();
            while me_on_two(token.clone()).await != 401 {
                assert!(start.elapsed() < Duration::from_secs(2), "still accepted on the other instance after 2 s");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            start.elapsed()
        }
    };

    // Signed out on one: refused on two, whose cache knew the token as good.
    let laptop = session(&app, "a@example.com").await;
    assert_eq!(me_on_two(laptop.clone()).await, 200);
    assert_eq!(call(&base_one, Method::POST, "/api/v1/auth/logout", &laptop, None).await, 204);
    let signed_out = refused_on_two(laptop).await;

    // A password changed on one: the other sessions refused on two.
    let (mine, other) = (session(&app, "a@example.com").await, session(&app, "a@example.com").await);
    assert_eq!(me_on_two(other.clone()).await, 200);
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new secret"});
    assert_eq!(call(&base_one, Method::PUT, "/api/v1/auth/password", &mine, Some(change)).await, 204);
    let changed = refused_on_two(other).await;
    assert_eq!(me_on_two(mine.clone()).await, 200);

    // Deactivated on one: refused on two.
    let admin = app.admin_token().await;
    let off = json!({"is_active": false});
    assert_eq!(call(&base_one, Method::PATCH, &format!("/api/v1/staff/{a}"), &admin, Some(off)).await, 200);
    let deactivated = refused_on_two(mine).await;
    eprintln!(
        "refused on the other instance after: sign-out {signed_out:?}, password change {changed:?}, deactivation {deactivated:?}"
    );
}

/// A demo server lists its accounts for the sign-in page; any other says it is not one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_servers_list_their_accounts() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, body) = app.send(Method::GET, "/api/v1/auth/demo-accounts", None, None).await;
    assert_eq!((status, body), (200, json!({"password": null, "accounts": []})), "not a demo server");
    let mut demo = app.instance().await;
    let accounts = convergeai_alerts::domain::demo::load(&demo).await.unwrap();
    demo.demo_accounts = std::sync::Arc::new(convergeai_alerts::domain::demo::described(&accounts));
    let base = crate::harness::serve(demo).await;
    let listed: Value = reqwest::get(format!("{base}/api/v1/auth/demo-accounts")).await.unwrap().json().await.unwrap();
    assert_eq!(listed["password"], "demo-password");
    let roles: Vec<&str> = listed["accounts"].as_array().unwrap().iter().map(|a| a["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["admin", "supervisor", "agent", "agent", "agent"]);
    let email = listed["accounts"][1]["email"].as_str().unwrap();
    assert_eq!(login(&app, email, "demo-password").await.0, 200, "the listed account signs in");
}
