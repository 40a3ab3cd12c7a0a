//! The web console: its HTTP surface (content types, caching, security
//! headers), and end to end in headless Chromium driven through chromedriver
//! against the real server. SQLite only: the console does not depend on the
//! backend.
//!
//! The browser is driven with the W3C WebDriver protocol over reqwest (a
//! small `Browser` below) rather than fantoccini: fantoccini's rustls
//! connector panics in this workspace because rustls is built with both the
//! `ring` and `aws-lc-rs` providers and none is installed as the default.
//!
//! The browser test needs Chromium and chromedriver (`/usr/bin/chromium`,
//! `chromedriver` on PATH, or the `CHROMIUM` / `CHROMEDRIVER` variables).
//! Without them it is skipped with the reason, or fails when `CI=true`.
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use reqwest::{Method, header};
use serde_json::{Value, json};

use convergeai_alerts::config::{Secret, ServeConfig};

use crate::harness::{Backend, TestApp};

/// How long any one expected change on the page may take.
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_serves_embedded_assets_with_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let get = |path: &str| app.client.get(app.url(path)).send();

    let index = get("/").await.unwrap();
    assert_eq!(index.status(), 200);
    let headers = index.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self' ws: wss:"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    let html = index.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/js/main.js">"#), "{html}");
    assert!(!html.contains("style="), "inline styles would break the CSP");

    for (path, content_type) in [
        ("/console/js/main.js", "text/javascript; charset=utf-8"),
        ("/console/js/sla.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
        ("/console/icon.svg", "image/svg+xml"),
    ] {
        let resp = get(path).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache", "{path}");
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    }

    // The vendored library is versioned by its path: cached for good.
    let uplot = get("/console/vendor/uplot-1.6.32/uPlot.iife.min.js").await.unwrap();
    assert_eq!(uplot.status(), 200);
    assert_eq!(uplot.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let licence = get("/console/vendor/uplot-1.6.32/LICENSE").await.unwrap().text().await.unwrap();
    assert!(licence.contains("MIT License"), "{licence}");

    // Revalidation: the same ETag answers 304 with no body.
    let first = get("/console/js/api.js").await.unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let again = app.client.get(app.url("/console/js/api.js")).header(header::IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(again.bytes().await.unwrap().is_empty());

    // Unknown assets are 404 {"detail"} like the rest of the app, with the same headers.
    for path in ["/console/nope.js", "/console/vendor/", "/console/js/main.js.map"] {
        let resp = get(path).await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({"detail": "Not Found"}), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_end_to_end_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let (agent_id, _) = app.staff("agent@example.com", "agent").await;
    let (_, admin_token) = app.staff("admin@example.com", "admin").await;
    // Email is set up on this server (nothing is sent: the dispatcher is off in tests), so it can be chosen.
    let base = serve_configured(&app, |c| c.delivery.smtp_url = Some(Secret::new("smtp://127.0.0.1:2525"))).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();

    // An agent signs in and sees an empty inbox, the live feed connected.
    browser.goto(&format!("{base}/")).await;
    sign_in(&browser, "agent@example.com").await;
    browser.find("#view-inbox:not([hidden]) #inbox-empty:not([hidden])").await;
    browser.wait_for("the live feed", "document.querySelector('#live-state').dataset.state === 'on'").await;
    assert_eq!(browser.text("#badge-count").await, "0");
    assert_eq!(browser.count("li[data-needs]:not([hidden])").await, 0, "an agent sees no admin pages");

    // A critical complaint for the agent: its alert appears without a reload and the badge goes to 1.
    browser.execute("window.__sameDocument = true").await;
    let complaint = app
        .complaint(json!({
            "title": "Payment taken twice",
            "customer_name": "Dana Smith",
            "priority": "critical",
            "assigned_to_staff_id": agent_id,
        }))
        .await;
    let item = browser.find("#alert-list li.alert.sev-critical.unread").await;
    browser.wait_for("the badge at 1", "document.querySelector('#badge-count').textContent === '1'").await;
    let shown = item.text().await;
    let alert = &app.inbox(agent_id).await[0];
    assert_eq!(alert["resource_id"], complaint["id"]);
    assert!(shown.contains(alert["title"].as_str().unwrap()), "{shown}");
    assert!(shown.contains("Critical") && shown.contains("Unread"), "{shown}");
    assert_eq!(browser.execute("return window.__sameDocument === true").await, json!(true), "the page reloaded");
    browser.screenshot(&shots, "inbox-live-alert.png").await;

    // The inbox at phone width.
    browser.set_window_size(390, 844).await;
    browser.wait_for("a phone-width viewport", "window.innerWidth <= 400").await;
    browser.screenshot(&shots, "inbox-phone.png").await;
    browser.set_window_size(1280, 900).await;
    browser.wait_for("a laptop-width viewport", "window.innerWidth >= 1200").await;

    // Marking it read: the badge drops to 0 and the API agrees.
    browser.click("#alert-list li.alert .do-read").await;
    browser.wait_for("the badge at 0", "document.querySelector('#badge-count').textContent === '0'").await;
    browser.find("#alert-list li.alert:not(.unread)").await;
    assert_eq!(app.inbox(agent_id).await[0]["is_read"], true);

    // Settings: add email to critical-complaint alerts; switching in-app off for SLA breaches is refused (422).
    browser.click("a[data-route=settings]").await;
    let critical = "#view-settings:not([hidden]) form[data-alert-type=critical_complaint]";
    browser.click(&format!("{critical} input[value=email]")).await;
    browser.click(&format!("{critical} button[type=submit]")).await;
    browser
        .wait_for(
            "the saved subscription",
            &format!("document.querySelector('{critical} .form-status').textContent === 'Saved.'"),
        )
        .await;
    let (_, subs) = app.get("/api/v1/alerts/subscriptions", &app.token(agent_id)).await;
    assert_eq!(subs["subscriptions"][0]["delivery_channels"], json!(["in_app", "email"]), "{subs}");
    let breach = "form[data-alert-type=sla_breach]";
    browser.click(&format!("{breach} input[value=in_app]")).await;
    browser.click(&format!("{breach} button[type=submit]")).await;
    browser
        .wait_for(
            "the refusal",
            &format!("document.querySelector('{breach} .form-status.is-error')?.textContent.includes('in_app cannot be switched off')"),
        )
        .await;
    // A daily digest of at-risk alerts at 08:30; a digest of critical complaints (urgent) is refused, in words, at the choice.
    let at_risk = "form[data-alert-type=sla_at_risk]";
    browser.click(&format!("{at_risk} input[value=email]")).await;
    browser.click(&format!("{at_risk} input[name=delivery_mode][value=daily]")).await;
    browser.execute(&format!("document.querySelector('{at_risk} input[name=daily_at]').value = '08:30'")).await;
    browser.click(&format!("{at_risk} button[type=submit]")).await;
    browser
        .wait_for(
            "the saved digest",
            &format!("document.querySelector('{at_risk} .sub-state').textContent.endsWith('daily digest at 08:30')"),
        )
        .await;
    let (_, subs) = app.get("/api/v1/alerts/subscriptions", &app.token(agent_id)).await;
    let saved = subs["subscriptions"].as_array().unwrap().iter().find(|s| s["alert_type"] == "sla_at_risk").cloned();
    assert_eq!(
        saved.map(|s| (s["delivery_mode"].clone(), s["daily_at"].clone())),
        Some((json!("daily"), json!("08:30")))
    );
    browser.click(&format!("{critical} input[name=delivery_mode][value=hourly]")).await;
    browser.click(&format!("{critical} button[type=submit]")).await;
    browser
        .wait_for(
            "the digest refusal",
            "document.querySelector('#digest-error-critical_complaint').textContent.includes('urgent')",
        )
        .await;
    let invalid = browser.execute(&format!("return document.querySelector('{critical} input[name=delivery_mode][value=hourly]').getAttribute('aria-invalid')")).await;
    assert_eq!(invalid, json!("true"));
    // SMS and webhook are not set up here: greyed out, with the reason.
    let sms = browser.find(&format!("{breach} input[value=sms]")).await;
    assert_eq!(sms.property("disabled").await, json!(true));
    let note = browser.text("#channel-note-webhook").await;
    assert_eq!(note, "Webhook is not set up on this server — ask your administrator (ALERTS_WEBHOOK_URL).");
    browser.screenshot(&shots, "settings.png").await;

    // Sign out while the server cannot be reached: the tab forgets the token all the same, and says so.
    let agent_token = browser.execute("return sessionStorage.getItem('convergeai-alerts.token')").await;
    browser
        .execute(
            "window.__realFetch = window.fetch; \
             window.fetch = (url, init) => String(url).endsWith('/auth/logout') \
               ? Promise.reject(new TypeError('Failed to fetch')) : window.__realFetch(url, init);",
        )
        .await;
    browser.click("#sign-out").await;
    browser.find("#view-signin:not([hidden])").await;
    assert_eq!(browser.execute("return sessionStorage.length").await, json!(0), "the token is gone");
    let notice = browser.text("#signin-notice").await;
    assert!(notice.starts_with("You are signed out in this tab. The server could not be told"), "{notice}");
    assert_eq!(app.get("/api/v1/auth/me", agent_token.as_str().unwrap()).await.0, 200, "the server was not told");

    // Sign in as an admin, who sees the rules and analytics pages.
    sign_in(&browser, "admin@example.com").await;
    browser.find("#view-inbox:not([hidden])").await;

    // Disable a rule on the rules page; the API agrees.
    browser.click("a[data-route=rules]").await;
    let toggle = "#view-rules:not([hidden]) [data-rule=sla_at_risk] .rule-enabled";
    assert_eq!(browser.find(toggle).await.property("checked").await, json!(true));
    browser.click(toggle).await;
    browser
        .wait_for(
            "the rule's confirmation",
            "document.querySelector('[data-rule=sla_at_risk] .rule-status').textContent === 'Disabled.'",
        )
        .await;
    let (status, rules) = app.get("/api/v1/alerts/rules", &admin_token).await;
    assert_eq!(status, 200, "{rules}");
    let rule = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == "sla_at_risk").expect("sla_at_risk");
    assert_eq!(rule["is_enabled"], false, "{rule}");

    // An invalid threshold: the server's 422 detail appears next to the field.
    browser.click("[data-rule=sla_at_risk] .rule-edit summary").await;
    let conditions = browser.find("[data-rule=sla_at_risk] textarea[name=conditions]").await;
    conditions.clear().await;
    conditions.send_keys(r#"{"sla_state": "at_risk", "threshold_percent": 150, "statuses": ["open"]}"#).await;
    browser.click("[data-rule=sla_at_risk] form[data-field=conditions] button[type=submit]").await;
    browser
        .wait_for(
            "the field's error",
            "document.querySelector('[data-rule=sla_at_risk] form[data-field=conditions] .field-error')\
             .textContent.startsWith('conditions.threshold_percent: must be above 0 and below 100')",
        )
        .await;
    assert_eq!(conditions.attribute("aria-invalid").await, json!("true"));
    browser.screenshot(&shots, "rules.png").await;

    // Analytics: uPlot draws the charts; the per-staff table names the agent.
    browser.click("a[data-route=analytics]").await;
    for chart in ["#chart-per-day", "#chart-by-type", "#chart-by-severity"] {
        browser.find(&format!("#view-analytics:not([hidden]) {chart} .uplot canvas")).await;
    }
    browser.wait_for("the total", "document.querySelector('#stats-summary dd')?.textContent === '1'").await;
    let (status, stats) = app.get("/api/v1/alerts/stats", &admin_token).await;
    assert_eq!(status, 200, "{stats}");
    let agent_row = stats["per_staff"].as_array().unwrap().iter().find(|s| s["staff_id"] == agent_id).expect("agent");
    let staff = browser.text("#per-staff tbody").await;
    assert!(staff.contains(agent_row["full_name"].as_str().unwrap()), "{staff}");
    browser.screenshot_full_page(&shots, "analytics.png").await;

    // No script errors or Content-Security-Policy violations on the way (the two 422s above were expected).
    browser.assert_no_console_errors(&[422]).await;

    browser.close().await;
}

/// The rule editor: an admin creates a rule by form (a bad value, then a
/// taken name, refused next to the field in words), edits it, deletes it
/// after a confirmation, the API agreeing at each step. Then a demo server's
/// sign-in page lists its accounts, and the top bar names the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_editor_and_demo_sign_in_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    named_staff(&app, "alan@example.com", "admin", "Alan Turing").await;
    let admin = app.admin_token().await;
    let base = serve_configured(&app, |_| {}).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();
    let before = all_rules(&app, &admin).await.len();

    // Not a demo server: no accounts on the sign-in page. The top bar: the name and role, not the email.
    browser.goto(&format!("{base}/")).await;
    sign_in(&browser, "alan@example.com").await;
    assert_eq!(browser.find("#demo-accounts").await.property("hidden").await, json!(true));
    assert_eq!(browser.text("#whoami .who-name").await, "Alan Turing");
    assert_eq!(browser.text("#whoami .who-role").await, "Admin");
    assert!(!browser.text("#whoami").await.contains("alan@example.com"));

    // A seeded rule, in words.
    browser.click("a[data-route=rules]").await;
    let summary = browser.text("#view-rules:not([hidden]) [data-rule=sla_at_risk] .rule-summary").await;
    assert!(summary.contains("of a complaint’s resolution time is used (open and in progress)"), "{summary}");
    assert!(summary.contains("“SLA at risk” alert to the assignee"), "{summary}");

    // New rule, a workload threshold of 2.5: refused here, in words, next to the field.
    browser.click("#rule-new").await;
    let name = browser.find("#rule-new-panel:not([hidden]) #rule-new-rule_name").await;
    name.send_keys("sla_at_risk").await;
    browser.click("#rule-new-rule_type option[value=threshold]").await;
    let threshold = browser.find("#rule-new-threshold").await;
    threshold.clear().await;
    threshold.send_keys("2.5").await;
    browser.click("#rule-new-recipients input[value='role:supervisor']").await;
    let dedup = browser.find("#rule-new-dedup_window_hours").await;
    dedup.clear().await;
    dedup.send_keys("12").await;
    browser.click("#rule-new-panel button[type=submit]").await;
    browser
        .wait_for(
            "the threshold's error",
            "document.querySelector('#rule-new-threshold-error').textContent === \
             'Workload threshold: must be a whole number between 0 and 1\\u00a0000\\u00a0000.'",
        )
        .await;
    assert_eq!(threshold.attribute("aria-invalid").await, json!("true"));
    assert_eq!(browser.execute("return document.activeElement.id").await, json!("rule-new-threshold"));
    browser.screenshot_from(&shots, "rule-editor.png", "#rule-new-panel", 1100.0).await;
    assert_eq!(all_rules(&app, &admin).await.len(), before, "nothing was sent");

    // Corrected; the name is taken: the server's 409, next to the name.
    threshold.clear().await;
    assert_eq!(browser.text("#rule-new-threshold-error").await, "", "the error goes as the field changes");
    threshold.send_keys("12").await;
    browser.click("#rule-new-panel button[type=submit]").await;
    browser
        .wait_for(
            "the name's error",
            "document.querySelector('#rule-new-rule_name-error').textContent === \
             'Name: another rule already has this name; choose another.'",
        )
        .await;
    assert_eq!(name.attribute("aria-invalid").await, json!("true"));

    // Another name: created; the API has what the form said.
    name.clear().await;
    name.send_keys("workload_watch").await;
    browser.click("#rule-new-panel button[type=submit]").await;
    browser
        .wait_for(
            "the created rule",
            "document.querySelector('#rules-status').textContent === 'Created the rule “workload_watch”.'",
        )
        .await;
    let created =
        all_rules(&app, &admin).await.into_iter().find(|r| r["rule_name"] == "workload_watch").expect("created");
    assert_eq!(
        (&created["rule_type"], &created["is_enabled"], &created["conditions"]),
        (&json!("threshold"), &json!(true), &json!({"metric": "open_assigned_complaints", "threshold": 12})),
        "{created}"
    );
    assert_eq!(
        created["alert_config"],
        json!({"alert_type": "high_workload", "severity": "warning", "recipients": ["assignee", "role:supervisor"],
               "unassigned_recipients": ["role:supervisor", "role:admin"], "dedup_window_hours": 12,
               "expires_after_hours": 168, "mandatory": false}),
    );
    let card = "[data-rule=workload_watch]";
    assert!(browser.text(card).await.contains("more than 12 open complaints"));
    browser.execute("window.scrollTo(0, 0)").await;
    browser.screenshot(&shots, "rules-list.png").await;

    // Edited: a higher threshold, critical, mandatory, an expiry over a year refused first.
    browser.click(&format!("{card} .do-edit")).await;
    let threshold = browser.find(&format!("{card} input[name=threshold]")).await;
    threshold.clear().await;
    threshold.send_keys("20").await;
    browser.click(&format!("{card} select[name=severity] option[value=critical]")).await;
    browser.click(&format!("{card} input[name=mandatory]")).await;
    let expiry = browser.find(&format!("{card} input[name=expires_after_hours]")).await;
    expiry.clear().await;
    expiry.send_keys("9000").await;
    browser.click(&format!("{card} button[type=submit]")).await;
    browser
        .wait_for(
            "the expiry's error",
            &format!(
                "document.querySelector('{card} .rule-form [id$=expires_after_hours-error]').textContent === \
                 'Expires after: must be a whole number of hours between 1 and 8\\u00a0760.'"
            ),
        )
        .await;
    expiry.clear().await;
    expiry.send_keys("72").await;
    browser.click(&format!("{card} button[type=submit]")).await;
    browser
        .wait_for(
            "the saved rule",
            &format!(
                "document.querySelector('{card} .rule-status').textContent === 'Saved the rule “workload_watch”.'"
            ),
        )
        .await;
    let (status, edited) = app.get(&format!("/api/v1/alerts/rules/{}", created["id"]), &admin).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["conditions"]["threshold"], 20, "{edited}");
    let config = &edited["alert_config"];
    assert_eq!(
        (&config["severity"], &config["mandatory"], &config["expires_after_hours"]),
        (&json!("critical"), &json!(true), &json!(72))
    );
    assert!(browser.text(card).await.contains("more than 20 open complaints"));

    // Deleted after a confirmation: gone from the page and from the API.
    browser.click(&format!("{card} .do-delete")).await;
    browser.accept_alert().await;
    browser
        .wait_for(
            "the deletion",
            "document.querySelector('#rules-status').textContent === 'Deleted the rule “workload_watch”.' && \
             !document.querySelector('[data-rule=workload_watch]')",
        )
        .await;
    assert_eq!(app.get(&format!("/api/v1/alerts/rules/{}", created["id"]), &admin).await.0, 404);
    assert_eq!(all_rules(&app, &admin).await.len(), before);

    // A demo server: its sign-in page lists the accounts and the password; one fills the form.
    browser.click("#sign-out").await;
    browser.find("#view-signin:not([hidden])").await;
    let mut demo = app.instance().await;
    let accounts = convergeai_alerts::domain::demo::load(&demo).await.unwrap();
    demo.demo_accounts = std::sync::Arc::new(convergeai_alerts::domain::demo::described(&accounts));
    let demo_base = crate::harness::serve(demo).await;
    browser.goto(&format!("{demo_base}/")).await;
    browser.find("#view-signin:not([hidden]) #demo-accounts:not([hidden])").await;
    assert_eq!(browser.text("#demo-password").await, "demo-password");
    assert_eq!(browser.count("#demo-list li").await, 5);
    let listed = browser.text("#demo-list").await;
    for email in ["admin@demo.local", "supervisor@demo.local", "agent1@demo.local", "agent3@demo.local"] {
        assert!(listed.contains(email), "{email} in {listed}");
    }
    let admin_row = browser.text("#demo-list li:first-child").await;
    assert!(admin_row.contains("Admin") && admin_row.contains("Everything: rules"), "{admin_row}");
    browser.screenshot(&shots, "signin-demo.png").await;
    browser.click("#demo-list .demo-use[data-email='supervisor@demo.local']").await;
    assert_eq!(browser.find("#signin-password").await.property("value").await, json!("demo-password"));
    browser.click("#signin-form button[type=submit]").await;
    browser.find("#topbar:not([hidden])").await;
    assert_eq!(browser.text("#whoami .who-name").await, "Sam Supervisor");
    assert_eq!(browser.text("#whoami .who-role").await, "Supervisor");

    // No script errors on the way (the 409 above was expected).
    browser.assert_no_console_errors(&[409]).await;
    browser.close().await;
}

/// The SLA board and its calendar and policy editor, seeded through the API:
/// a Berlin business calendar, a policy on it, complaints whose clocks run,
/// are breached, and are paused; the reader in New York.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_board_end_to_end_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let (agent_id, _) = app.staff("agent@example.com", "agent").await;
    app.staff("supervisor@example.com", "supervisor").await;
    app.staff("admin@example.com", "admin").await;
    let admin = app.admin_token().await;

    // Berlin office hours, and a policy putting medium complaints on them.
    let day = json!([["09:00", "12:00"], ["13:00", "17:00"]]);
    let office = json!({
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "weekly_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
        "holidays": [{"date": "2027-01-01", "name": "New Year", "yearly": true}],
    });
    let (status, office) = app.send(Method::POST, "/api/v1/sla/calendars", Some(&admin), Some(office)).await;
    assert_eq!(status, 201, "{office}");
    let policy = json!({
        "name": "Medium on office hours", "position": 10, "match": {"priorities": ["medium"]},
        "calendar_id": office["id"], "targets": {"first_response_minutes": 960, "resolution_minutes": 2400},
    });
    let (status, policy) = app.send(Method::POST, "/api/v1/sla/policies", Some(&admin), Some(policy)).await;
    assert_eq!(status, 201, "{policy}");

    // Complaints: one whose own deadline is two minutes away, one critical (4 h), one high (24 h), one
    // medium (office hours: at least two working days to a first response), one waiting on the
    // customer, one resolved. Then 3½ hours pass: the first is overdue, the critical one at risk.
    let deadline = (Utc::now() + TimeDelta::minutes(2)).to_rfc3339();
    let assigned = json!({"assigned_to_staff_id": agent_id});
    let overdue = seed(&app, "Refund never arrived", "Dana Smith", "critical", json!({"sla_deadline": deadline})).await;
    let at_risk = seed(&app, "Card declined at checkout", "Lee Wong", "critical", assigned.clone()).await;
    let high = seed(&app, "Router keeps dropping", "Ada Byron", "high", assigned.clone()).await;
    let medium = seed(&app, "Invoice address wrong", "Sam Okafor", "medium", json!({})).await;
    let waiting = seed(&app, "Waiting for photos of the damage", "Kim Lee", "low", assigned).await;
    app.patch_complaint(&waiting, json!({"status": "pending"})).await;
    let resolved = seed(&app, "Password reset", "Bo Chen", "high", json!({})).await;
    app.patch_complaint(&resolved, json!({"status": "resolved"})).await;
    app.app.clock.advance(TimeDelta::minutes(210));
    let admin = app.admin_token().await;
    let ids = |body: &Value| -> Vec<Value> {
        body["complaints"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect()
    };
    let (_, breached) = app.get("/api/v1/complaints?sla_state=breached&sort=sla_due", &admin).await;
    let (_, running) = app.get("/api/v1/complaints?sla_state=running&sort=sla_due", &admin).await;
    assert_eq!(ids(&breached), std::slice::from_ref(&overdue), "{breached}");
    assert_eq!(ids(&running), [at_risk.clone(), high.clone(), medium.clone()], "{running}");

    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();
    // The reader is in New York: times show in their zone, the preview also in the calendar's.
    let zone = json!({"cmd": "Emulation.setTimezoneOverride", "params": {"timezoneId": "America/New_York"}});
    browser.post("/goog/cdp/execute", zone).await;

    // An admin opens the board: soonest due first, the overdue one first and highlighted.
    browser.goto(&app.url("/")).await;
    sign_in(&browser, "admin@example.com").await;
    browser.find("#view-inbox:not([hidden])").await;
    browser.click("a[data-route=sla]").await;
    browser.find("#view-sla:not([hidden]) #sla-board").await;
    let rows = "document.querySelectorAll('#sla-board tbody tr')";
    browser.wait_for("four running clocks", &format!("{rows}.length === 4")).await;
    let order = browser.execute(&format!("return [...{rows}].map((r) => Number(r.dataset.id))")).await;
    assert_eq!(order, json!([overdue, at_risk, high, medium]), "soonest due first");
    let late = browser.find(&format!("#sla-complaint-{overdue}.is-breached")).await.text().await;
    assert!(late.contains("Refund never arrived") && late.contains("Dana Smith"), "{late}");
    let countdown = browser.text(&format!("#sla-complaint-{overdue} .countdown")).await;
    assert!(countdown.starts_with("Overdue by 3 h 2"), "{countdown}");
    let risky = browser.text(&format!("#sla-complaint-{at_risk}")).await;
    assert!(risky.to_lowercase().contains("at risk") && risky.contains(&format!("Staff #{agent_id}")), "{risky}");
    // The countdown ticks every second, without asking the server.
    let before = browser.text(&format!("#sla-complaint-{at_risk} .countdown")).await;
    assert!(before.contains(" min ") && !before.starts_with("Overdue"), "{before}");
    browser
        .wait_for(
            "the countdown to tick",
            &format!("document.querySelector('#sla-complaint-{at_risk} .countdown').textContent !== '{before}'"),
        )
        .await;
    // The medium one runs on office hours: its first response is nearest, in working time too.
    let office_row = browser.text(&format!("#sla-complaint-{medium}")).await;
    assert!(office_row.contains("First response") && office_row.contains("Berlin office"), "{office_row}");
    assert!(browser.text(&format!("#sla-complaint-{medium} .working")).await.contains(" h "), "{office_row}");
    assert_eq!(browser.count(&format!("#sla-complaint-{resolved}, #sla-complaint-{waiting}")).await, 0);
    // The paused one waits apart, with the time it was paused.
    let paused = browser.text(&format!("#sla-waiting-part:not([hidden]) #sla-waiting-{waiting}")).await;
    assert!(paused.contains("Waiting for photos of the damage") && paused.contains("Resolution"), "{paused}");
    browser.find(&format!("#sla-waiting-{waiting} time[datetime]")).await;
    browser.screenshot_from(&shots, "sla-board.png", "body", 1100.0).await;

    // An SLA alert on the live feed reads the board again: a change made meanwhile shows without a reload.
    app.patch_complaint(&high, json!({"status": "in_progress"})).await;
    assert_eq!(browser.text(&format!("#sla-complaint-{high} td:nth-of-type(2)")).await, "Open");
    browser.execute("window.__sameDocument = true").await;
    assert!(app.check().await > 0, "the overdue complaint's breach alert");
    browser
        .wait_for(
            "the board read again",
            &format!("document.querySelector('#sla-complaint-{high} td:nth-of-type(2)').textContent === 'In progress'"),
        )
        .await;
    assert_eq!(browser.execute("return window.__sameDocument === true").await, json!(true), "the page reloaded");

    // Filters: breached only, then at risk only (the paused section goes), then all again.
    browser.click("#sla-filters option[value=breached]").await;
    browser
        .wait_for("the breached one alone", &format!("{rows}.length === 1 && {rows}[0].dataset.id === '{overdue}'"))
        .await;
    assert_eq!(browser.count("#sla-waiting-part[hidden]").await, 1);
    browser.click("#sla-filters option[value=at_risk]").await;
    browser
        .wait_for("the at-risk one alone", &format!("{rows}.length === 1 && {rows}[0].dataset.id === '{at_risk}'"))
        .await;
    browser.click("#sla-filters option[value='']").await;
    browser.wait_for("all four again", &format!("{rows}.length === 4")).await;

    // Calendars and policies (sla.manage): the seeded and the new ones are listed.
    browser.click("#sla-to-settings").await;
    let calendars = browser.text("#sla-settings:not([hidden]) #sla-calendar-list").await;
    assert!(calendars.contains("24x7") && calendars.contains("Berlin office"), "{calendars}");
    let policies = browser.text("#sla-policies tbody").await;
    assert!(policies.contains("Medium on office hours") && policies.contains("default"), "{policies}");

    // A calendar with a period that ends before it starts: the server's 422, in words, next to Monday.
    browser.find("#cal-name").await.send_keys("Support desk").await;
    let zone_field = browser.find("#cal-zone").await;
    zone_field.clear().await;
    zone_field.send_keys("America/New_York").await;
    let monday = browser.find("#cal-day-mon").await;
    monday.clear().await;
    monday.send_keys("17:00-09:00").await;
    browser.click("#sla-calendar-form button[type=submit]").await;
    browser
        .wait_for(
            "Monday's error",
            "document.querySelector('#cal-day-mon-error').textContent === \
             'Monday, period 1: end 09:00 must be after start 17:00.'",
        )
        .await;
    assert_eq!(monday.attribute("aria-invalid").await, json!("true"));
    // Corrected, with a yearly holiday: created, and listed.
    monday.clear().await;
    monday.send_keys("08:00-12:00, 13:00-16:00").await;
    browser.find("#cal-holidays").await.send_keys("2027-07-04 Independence Day yearly").await;
    browser.click("#sla-calendar-form button[type=submit]").await;
    browser
        .wait_for(
            "the new calendar",
            "document.querySelector('#cal-form-status').textContent === 'Created the calendar “Support desk”.'",
        )
        .await;
    browser.find("#sla-calendar-list [data-name='Support desk']").await;
    let (_, list) = app.get("/api/v1/sla/calendars", &admin).await;
    let desk = list.as_array().unwrap().iter().find(|c| c["name"] == "Support desk").expect("Support desk");
    assert_eq!(desk["time_zone"], "America/New_York");
    assert_eq!(desk["weekly_hours"]["mon"], json!([["08:00", "12:00"], ["13:00", "16:00"]]), "{desk}");
    assert_eq!(desk["weekly_hours"]["tue"], json!([["09:00", "17:00"]]), "{desk}");
    assert_eq!(desk["holidays"], json!([{"date": "2027-07-04", "name": "Independence Day", "yearly": true}]));

    // The preview: Friday 2027-01-08 10:50 in New York (16:50 in Berlin) + 60 working minutes on
    // office hours: 10 on Friday, 50 on Monday, due 09:50 in Berlin (03:50 in New York).
    browser.click(&format!("#preview-calendar option[value='{}']", office["id"])).await;
    browser.execute("document.querySelector('#preview-start').value = '2027-01-08T10:50'").await;
    let minutes = browser.find("#preview-minutes").await;
    minutes.clear().await;
    minutes.send_keys("600000").await;
    browser.click("#sla-preview-form button[type=submit]").await;
    browser
        .wait_for(
            "the minutes' error",
            "document.querySelector('#preview-error').textContent === \
             'Working minutes: must be between 0 and 525600.'",
        )
        .await;
    assert_eq!(minutes.attribute("aria-invalid").await, json!("true"));
    minutes.clear().await;
    minutes.send_keys("60").await;
    browser.click("#sla-preview-form button[type=submit]").await;
    browser
        .wait_for(
            "the due time",
            "Date.parse(document.querySelector('#preview-result time')?.dateTime) === \
             Date.parse('2027-01-11T08:50:00Z')",
        )
        .await;
    let due = browser.text("#preview-result").await;
    assert!(due.contains("3:50") && due.contains("9:50") && due.contains("Berlin office (Europe/Berlin)"), "{due}");

    // A policy without priorities is refused next to them; with one it is created; then deleted.
    browser.find("#pol-name").await.send_keys("High on the support desk").await;
    browser.find("#pol-resolution").await.send_keys("480").await;
    browser.click(&format!("#pol-calendar option[value='{}']", desk["id"])).await;
    browser.click("#sla-policy-form button[type=submit]").await;
    browser
        .wait_for(
            "the priorities' error",
            "document.querySelector('#pol-priorities-error').textContent.startsWith('Must name each priority')",
        )
        .await;
    browser.click("#pol-priorities input[value=high]").await;
    browser.click("#sla-policy-form button[type=submit]").await;
    let row = browser.find("#sla-policies tr[data-name='High on the support desk']").await;
    let shown = row.text().await;
    assert!(shown.contains("Support desk") && shown.contains("480 working min"), "{shown}");
    let (_, policies) = app.get("/api/v1/sla/policies", &admin).await;
    assert_eq!(policies[0]["name"], "Medium on office hours", "{policies}");
    assert_eq!(policies[1]["match"]["priorities"], json!(["high"]), "{policies}");
    assert_eq!(policies[1]["pause_statuses"], json!(["pending"]), "{policies}");
    browser.screenshot_from(&shots, "sla-calendars.png", "#sla-settings", 2600.0).await;
    browser.click("#sla-policies tr[data-name='High on the support desk'] .do-delete").await;
    browser.accept_alert().await;
    browser
        .wait_for(
            "the policy gone",
            "!document.querySelector(\"#sla-policies tr[data-name='High on the support desk']\")",
        )
        .await;
    // A calendar a policy uses cannot go: the 409 says which policy.
    browser.click(&format!("#calendar-{} .do-delete", office["id"])).await;
    browser.accept_alert().await;
    browser
        .wait_for(
            "the refusal",
            "document.querySelector('#sla-settings-status.is-error')?.textContent\
             .includes('is used by the policies Medium on office hours')",
        )
        .await;

    // A supervisor sees the board but not the editor.
    browser.click("#sign-out").await;
    sign_in(&browser, "supervisor@example.com").await;
    browser.click("a[data-route=sla]").await;
    browser.wait_for("the board", &format!("{rows}.length === 4")).await;
    assert_eq!(browser.count("#sla-settings[hidden]").await, 1);
    assert_eq!(browser.count("#sla-to-settings[hidden]").await, 1);

    // An agent has no SLA page: no entry in the navigation, and its address leads to the inbox.
    browser.click("#sign-out").await;
    sign_in(&browser, "agent@example.com").await;
    assert_eq!(browser.count("li[hidden]:has(> a[data-route=sla])").await, 1);
    assert_eq!(browser.count("li[data-needs]:not([hidden])").await, 0, "an agent sees no SLA page");
    browser.goto(&app.url("/#/sla")).await;
    browser.wait_for("the inbox", "location.hash === '#/inbox' && !document.querySelector('#view-inbox').hidden").await;

    // No script errors on the way (the 422s and the 409 above were expected).
    browser.assert_no_console_errors(&[409, 422]).await;

    browser.close().await;
}

/// Acknowledging an alert event from the inbox. Ada's complaints breach their
/// deadlines; a policy escalates every breach at once to the supervisors
/// (step 1), so Grace gets a copy of each event. Grace's inbox is open (one
/// tab, New York time) while Ada acknowledges in hers (another tab, its own
/// sign-in, Berlin time): Grace's card follows live. A complaint given a new
/// deadline resolves its alerts, live too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_acknowledgement_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let ada = named_staff(&app, "ada@example.com", "agent", "Ada Lovelace").await;
    let grace = named_staff(&app, "grace@example.com", "supervisor", "Grace Hopper").await;

    // Breaches escalate to every supervisor at once.
    let admin = app.admin_token().await;
    let policy = json!({"name": "supervisors-now", "steps": [{"after_minutes": 0, "targets": ["role:supervisor"]}]});
    let (status, policy) = app.send(Method::POST, "/api/v1/escalation-policies", Some(&admin), Some(policy)).await;
    assert_eq!(status, 201, "{policy}");
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    let rule = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == "sla_breach_critical").expect("rule");
    let mut config = rule["alert_config"].clone();
    config["escalation_policy"] = policy["name"].clone();
    let path = format!("/api/v1/alerts/rules/{}", rule["id"]);
    let (status, body) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"alert_config": config}))).await;
    assert_eq!(status, 200, "{body}");

    // Three of Ada's complaints breach (their deadlines pass as the clock moves 10 s, so the page,
    // on the wall clock, still reads the alerts as just now); the escalation step copies them to Grace.
    let deadline = (app.app.clock.now() + TimeDelta::seconds(5)).to_rfc3339();
    let hers = json!({"assigned_to_staff_id": ada, "sla_deadline": deadline});
    let refund = seed(&app, "Refund never arrived", "Dana Smith", "high", hers.clone()).await;
    let router = seed(&app, "Router keeps dropping", "Lee Wong", "high", hers.clone()).await;
    let declined = seed(&app, "Card declined at checkout", "Sam Okafor", "high", hers).await;
    app.app.clock.advance(TimeDelta::seconds(10));
    assert!(app.check().await >= 3, "the breaches");
    let escalated = convergeai_alerts::domain::escalation::tick(&app.app).await.expect("escalation tick");
    assert_eq!(escalated, 3, "Grace joins each event at step 1");
    let breach = |inbox: &[Value], complaint: &Value| -> Value {
        let found = inbox.iter().find(|a| a["alert_type"] == "sla_breach" && a["resource_id"] == *complaint);
        found.cloned().unwrap_or_else(|| panic!("no breach of {complaint} in {inbox:?}"))
    };
    let (adas, graces) = (app.inbox(ada).await, app.inbox(grace).await);
    assert_eq!(graces.len(), 3, "{graces:?}");
    let (ada_router, grace_router) = (breach(&adas, &router), breach(&graces, &router));
    let (grace_refund, grace_declined) = (breach(&graces, &refund), breach(&graces, &declined));
    assert_eq!((ada_router["escalation_step"].clone(), grace_router["escalation_step"].clone()), (json!(0), json!(1)));
    let router_title = grace_router["title"].as_str().unwrap().to_owned();

    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();

    // Grace, in New York, opens her inbox: three escalated breaches, none acknowledged yet.
    let grace_tab = browser.window_handle().await;
    browser.set_time_zone("America/New_York").await;
    browser.goto(&app.url("/")).await;
    sign_in(&browser, "grace@example.com").await;
    browser.wait_for("the live feed", "document.querySelector('#live-state').dataset.state === 'on'").await;
    browser.wait_for("Grace's three alerts", "document.querySelectorAll('#alert-list li.alert').length === 3").await;
    browser.execute("window.__sameDocument = true").await;
    let grace_card = format!("#alert-{}", grace_router["id"]);
    let shown = browser.text(&grace_card).await;
    assert!(shown.contains("Escalation step 1") && !shown.contains("Acknowledged by"), "{shown}");
    assert!(!shown.to_lowercase().contains("resolved"), "{shown}");
    let button = browser.find(&format!("{grace_card} .do-ack:not([hidden])")).await;
    assert_eq!(button.attribute("aria-label").await, json!(format!("Acknowledge “{router_title}”")));
    assert_eq!(button.text().await, "Acknowledge");

    // The refund gets a new deadline in the future: its event is resolved, and Grace's card says so live.
    let later = (app.app.clock.now() + TimeDelta::hours(3)).to_rfc3339();
    app.patch_complaint(&refund, json!({"sla_deadline": later})).await;
    let refund_card = format!("#alert-{}", grace_refund["id"]);
    browser.find(&format!("{refund_card}.is-resolved .tag.resolved:not([hidden])")).await;
    assert_eq!(browser.count(&format!("{refund_card} .do-ack:not([hidden])")).await, 0, "nothing to acknowledge");
    assert!(browser.text(&refund_card).await.to_lowercase().contains("resolved"));

    // Ada, in Berlin, signs in in another tab (its own session) and acknowledges the router breach.
    browser.new_tab().await;
    browser.set_time_zone("Europe/Berlin").await;
    browser.goto(&app.url("/")).await;
    sign_in(&browser, "ada@example.com").await;
    browser.wait_for("the live feed", "document.querySelector('#live-state').dataset.state === 'on'").await;
    let ada_card = format!("#alert-{}", ada_router["id"]);
    let shown = browser.text(&ada_card).await;
    assert!(!shown.contains("Escalation step"), "her own alert, not escalated: {shown}");
    let ada_refund = format!("#alert-{}", breach(&adas, &refund)["id"]);
    browser.find(&format!("{ada_refund} .tag.resolved:not([hidden])")).await;
    browser.click(&format!("{ada_card} .do-ack")).await;
    let acked_line = |card: &str| format!("document.querySelector('{card} .ack-state:not([hidden])')?.textContent");
    browser
        .wait_for(
            "Ada's acknowledgement on her card",
            &format!("{}?.startsWith('Acknowledged by Ada Lovelace, ')", acked_line(&ada_card)),
        )
        .await;
    assert_eq!(browser.count(&format!("{ada_card} .do-ack:not([hidden])")).await, 0);
    let (_, acked) = app.get(&format!("/api/v1/alerts/{}", ada_router["id"]), &app.token(ada)).await;
    assert_eq!(acked["acknowledged_by"], json!({"id": ada, "full_name": "Ada Lovelace"}), "{acked}");
    let at = chrono::DateTime::parse_from_rfc3339(acked["acknowledged_at"].as_str().unwrap()).unwrap();
    assert_shown_in_zone(&browser, &ada_card, at, chrono_tz::Europe::Berlin).await;

    // Grace's page, never reloaded, shows it too: no button, who and when in her time, still unread for her.
    browser.switch_to(&grace_tab).await;
    browser
        .wait_for(
            "the acknowledgement on Grace's card",
            &format!("{}?.startsWith('Acknowledged by Ada Lovelace, ')", acked_line(&grace_card)),
        )
        .await;
    assert_eq!(browser.count(&format!("{grace_card} .do-ack:not([hidden])")).await, 0);
    assert_eq!(browser.count(&format!("{grace_card}.unread")).await, 1, "acknowledging reads nothing for others");
    assert_shown_in_zone(&browser, &grace_card, at, chrono_tz::America::New_York).await;
    assert_eq!(browser.execute("return window.__sameDocument === true").await, json!(true), "the page reloaded");
    browser.screenshot_full_page(&shots, "inbox-acknowledged.png").await;

    // A failed acknowledgement (the server's 404, stubbed in the page) is shown in words; the button stays.
    let declined_card = format!("#alert-{}", grace_declined["id"]);
    browser
        .execute(
            "const real = window.fetch; window.__realFetch = real; \
             window.fetch = (url, init) => String(url).endsWith('/acknowledge') \
               ? Promise.resolve(new Response(JSON.stringify({detail: 'alert not found'}), \
                   {status: 404, headers: {'Content-Type': 'application/json'}})) \
               : real(url, init);",
        )
        .await;
    browser.click(&format!("{declined_card} .do-ack")).await;
    browser
        .wait_for(
            "the error",
            "document.querySelector('#inbox-status.is-error')?.textContent\
             .startsWith('Could not acknowledge') && \
             document.querySelector('#inbox-status').textContent.endsWith('alert not found')",
        )
        .await;
    browser.find(&format!("{declined_card} .do-ack:not([hidden]):not(:disabled)")).await;
    // Then it works: Grace acknowledges, by keyboard, and Ada's tab follows.
    browser.execute("window.fetch = window.__realFetch").await;
    browser.find(&format!("{declined_card} .do-ack")).await.send_keys("\u{E007}").await;
    browser
        .wait_for(
            "Grace's acknowledgement",
            &format!("{}?.startsWith('Acknowledged by Grace Hopper, ')", acked_line(&declined_card)),
        )
        .await;
    assert_eq!(browser.text("#inbox-status").await, "", "the error is gone");
    browser
        .wait_for("focus kept in the card", &format!("document.activeElement.matches('{declined_card} .do-read')"))
        .await;
    browser.switch_to_other(&grace_tab).await;
    let ada_declined = format!("#alert-{}", breach(&adas, &declined)["id"]);
    browser
        .wait_for(
            "Grace's acknowledgement on Ada's card",
            &format!("{}?.startsWith('Acknowledged by Grace Hopper, ')", acked_line(&ada_declined)),
        )
        .await;

    // No script errors on the way.
    for handle in browser.window_handles().await {
        browser.switch_to(&handle).await;
        browser.assert_no_console_errors(&[]).await;
    }

    browser.close().await;
}

/// The escalation timeline of an alert, and the escalation policy editor.
/// Ada's critical complaint breaches its deadline; a policy on the breach
/// rule tells the admins after 10 minutes, Lin after 30 and the supervisors
/// after 2 hours. Half an hour on, Grace (Ada's supervisor, in New York)
/// opens the breach's timeline: three steps fired, the last one due. Then an
/// admin creates a policy in the editor: a step before the one above it is
/// refused next to its field, in words; corrected, it is saved and listed,
/// edited and deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_timeline_and_policy_editor_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let grace = named_staff(&app, "grace@example.com", "supervisor", "Grace Hopper").await;
    let ada = named_staff_under(&app, "ada@example.com", "agent", "Ada Lovelace", Some("grace@example.com")).await;
    let alan = named_staff(&app, "alan@example.com", "admin", "Alan Turing").await;
    let lin = named_staff(&app, "lin@example.com", "supervisor", "Lin Chen").await;
    let admin = app.admin_token().await;
    let harness_admin = app.staff_id("harness-admin@example.com").await;

    // The breach rule escalates with "breach-climb".
    let policy = json!({"name": "breach-climb", "steps": [
        {"after_minutes": 10, "targets": ["role:admin"]},
        {"after_minutes": 30, "targets": ["staff:lin@example.com"]},
        {"after_minutes": 120, "targets": ["role:supervisor"]},
    ], "ack_timeout_minutes": 60});
    let (status, policy) = app.send(Method::POST, "/api/v1/escalation-policies", Some(&admin), Some(policy)).await;
    assert_eq!(status, 201, "{policy}");
    let (_, rules) = app.get("/api/v1/alerts/rules", &admin).await;
    let rule = rules.as_array().unwrap().iter().find(|r| r["rule_name"] == "sla_breach_critical").expect("rule");
    let mut config = rule["alert_config"].clone();
    config["escalation_policy"] = policy["name"].clone();
    let path = format!("/api/v1/alerts/rules/{}", rule["id"]);
    let (status, body) = app.send(Method::PATCH, &path, Some(&admin), Some(json!({"alert_config": config}))).await;
    assert_eq!(status, 200, "{body}");
    // Grace has SLA breaches emailed too.
    let email = json!({"is_enabled": true, "delivery_channels": ["in_app", "email"]});
    let subscription = "/api/v1/alerts/subscriptions/sla_breach";
    let (status, body) = app.send(Method::PUT, subscription, Some(&app.token(grace)), Some(email)).await;
    assert_eq!(status, 200, "{body}");

    // Ada's critical complaint (Grace is told at once: that alert does not escalate) breaches; 10 and
    // 30 minutes later the policy's first two steps fire.
    let deadline = (app.app.clock.now() + TimeDelta::seconds(5)).to_rfc3339();
    let hers = json!({"assigned_to_staff_id": ada, "sla_deadline": deadline});
    let complaint = seed(&app, "Refund never arrived", "Dana Smith", "critical", hers).await;
    app.app.clock.advance(TimeDelta::seconds(10));
    assert!(app.check().await >= 2, "the breach");
    let tick = || async { convergeai_alerts::domain::escalation::tick(&app.app).await.expect("escalation tick") };
    app.app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(tick().await, 2, "step 1: both admins");
    app.app.clock.advance(TimeDelta::minutes(20));
    assert_eq!(tick().await, 1, "step 2: Lin");
    let of_type = |inbox: &[Value], alert_type: &str| -> Value {
        let found = inbox.iter().find(|a| a["alert_type"] == alert_type && a["resource_id"] == complaint);
        found.cloned().unwrap_or_else(|| panic!("no {alert_type} in {inbox:?}"))
    };
    let graces = app.inbox(grace).await;
    let (breach, critical) = (of_type(&graces, "sla_breach"), of_type(&graces, "critical_complaint"));
    let timeline_path = format!("/api/v1/alerts/{}/escalation", breach["id"]);
    let (status, view) = app.get(&timeline_path, &app.token(grace)).await;
    assert_eq!(status, 200, "{view}");
    let next_at = view["next_step_at"].as_str().expect("a step to come").to_owned();

    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();
    browser.set_time_zone("America/New_York").await;
    browser.goto(&app.url("/")).await;
    sign_in(&browser, "grace@example.com").await;
    let card = format!("#alert-{}", breach["id"]);
    let summary = browser.find(&format!("{card} details.timeline:not([open]) > summary")).await;
    assert_eq!(summary.text().await, "Escalation timeline");
    summary.click().await;

    // The policy, each step with when it fired (or is due), who was told and how.
    let steps = format!("{card} .tl-steps > li");
    browser.wait_for("the steps", &format!("document.querySelectorAll('{steps}').length === 4")).await;
    let states = browser
        .execute(&format!("return [...document.querySelectorAll('{steps}')].map((li) => li.dataset.state)"))
        .await;
    assert_eq!(states, json!(["fired", "fired", "fired", "due"]));
    let policy_line = browser.text(&format!("{card} .tl-policy")).await;
    assert!(
        policy_line.starts_with("Escalation policy breach-climb") && policy_line.contains("lapses after 1 h"),
        "{policy_line}"
    );
    let step = |n: usize| format!("{card} .tl-steps > li[data-step='{n}']");
    let raised = browser.text(&step(0)).await;
    assert!(raised.starts_with("Alert raised\nSent ") || raised.starts_with("Alert raised Sent "), "{raised}");
    assert!(raised.contains("To the rule’s own recipients"), "{raised}");
    let you = browser.text(&format!("{} li[data-staff='{grace}']", step(0))).await;
    assert!(you.starts_with("You") && you.contains("In the app") && you.contains("Email: queued"), "{you}");
    assert!(browser.text(&format!("{} li[data-staff='{ada}']", step(0))).await.starts_with(&format!("Staff #{ada}")));
    let admins = browser.text(&step(1)).await;
    assert!(admins.contains("10 min after the alert: every admin"), "{admins}");
    assert_eq!(
        browser
            .count(&format!("{} li[data-staff='{alan}'], {} li[data-staff='{harness_admin}']", step(1), step(1)))
            .await,
        2
    );
    let second = browser.text(&step(2)).await;
    assert!(
        second.contains("30 min after the alert: lin@example.com") && second.contains(&format!("Staff #{lin}")),
        "{second}"
    );
    let due = browser.text(&step(3)).await;
    assert!(due.contains("Due ") && due.contains("2 h after the alert: every supervisor"), "{due}");
    assert_time_in_zone(&browser, &format!("{} time", step(3)), &next_at, "America/New_York").await;
    let outcome = browser.text(&format!("{card} .tl-outcome")).await;
    assert!(outcome.contains("Not acknowledged yet.") && outcome.contains("Not resolved yet."), "{outcome}");
    browser.screenshot_from(&shots, "escalation-timeline.png", "body", 1080.0).await;

    // Acknowledged from the card, the open timeline follows: step 3 is not reached, the acknowledgement lapses in an hour.
    browser.click(&format!("{card} .do-ack")).await;
    browser
        .wait_for(
            "the acknowledgement in the timeline",
            &format!(
                "document.querySelector('{card} .tl-ack.is-done')?.textContent.startsWith('Acknowledged by you, ')"
            ),
        )
        .await;
    browser
        .wait_for(
            "step 3 not reached",
            &format!("document.querySelector(\"{}\").dataset.state === 'not-reached'", step(3)),
        )
        .await;
    let outcome = browser.text(&format!("{card} .tl-outcome")).await;
    assert!(outcome.contains("If not resolved by ") && outcome.contains("it escalates again"), "{outcome}");

    // An alert without a policy says so, with its own deliveries; a failed read says so in words, and can be retried.
    let plain = format!("#alert-{}", critical["id"]);
    browser
        .execute(
            "window.__realFetch = window.fetch; \
             window.fetch = (url, init) => String(url).endsWith('/escalation') \
               ? Promise.resolve(new Response(JSON.stringify({detail: 'database unavailable'}), \
                   {status: 503, headers: {'Content-Type': 'application/json'}})) \
               : window.__realFetch(url, init);",
        )
        .await;
    browser.click(&format!("{plain} details.timeline > summary")).await;
    browser
        .wait_for(
            "the error in words",
            &format!(
                "document.querySelector('{plain} .timeline-status.is-error')?.textContent === \
                      'Could not load the timeline: database unavailable'"
            ),
        )
        .await;
    browser.execute("window.fetch = window.__realFetch").await;
    browser.click(&format!("{plain} .do-retry")).await;
    browser
        .wait_for(
            "no escalation",
            &format!("document.querySelector('{plain} .tl-policy')?.textContent === 'This alert does not escalate.'"),
        )
        .await;
    assert_eq!(browser.text(&format!("{plain} .timeline-status")).await, "");
    let mine = browser.text(&format!("{plain} .tl-recipients li[data-staff='{grace}']")).await;
    assert!(mine.starts_with("You") && mine.contains("In the app"), "{mine}");

    // A supervisor has no policy editor.
    browser.click("a[data-route=settings]").await;
    browser.find("#view-settings:not([hidden]) form[data-alert-type=sla_breach]").await;
    assert_eq!(browser.count("#esc-settings[hidden]").await, 1);

    // An admin does: the policies with the rules that use them.
    browser.click("#sign-out").await;
    sign_in(&browser, "alan@example.com").await;
    browser.click("a[data-route=settings]").await;
    let climb = browser.text("#esc-settings:not([hidden]) #esc-policies tr[data-name='breach-climb']").await;
    assert!(climb.contains("After 2 h: every supervisor") && climb.contains("sla_breach_critical"), "{climb}");
    assert!(browser.text("#esc-policies tr[data-name='breach-default']").await.contains("No rule"));

    // A new policy whose second step comes before the first: refused next to that step, in words.
    browser.find("#esc-name").await.send_keys("After-hours desk").await;
    let first = browser.find("#esc-step-1-minutes").await;
    first.clear().await;
    first.send_keys("15").await;
    browser.click("#esc-step-1 input[value='role:supervisor']").await;
    browser.click("#esc-add-step").await;
    let second = browser.find("#esc-step-2-minutes").await;
    second.clear().await;
    second.send_keys("5").await;
    browser.click("#esc-step-2 input[value='role:admin']").await;
    browser.find("#esc-step-2-emails").await.send_keys("grace@example.com").await;
    browser.click("#esc-step-2 input[name=working_hours_only]").await;
    browser.find("#esc-repeat-times").await.send_keys("2").await;
    browser.find("#esc-repeat-after").await.send_keys("20").await;
    browser.find("#esc-ack").await.send_keys("60").await;
    browser.click("#esc-submit").await;
    browser
        .wait_for(
            "step 2's error",
            "document.querySelector('#esc-step-2-minutes-error').textContent === \
             'Step 2, minutes after the alert: must not be before the step above it.'",
        )
        .await;
    assert_eq!(second.attribute("aria-invalid").await, json!("true"));
    assert_eq!(browser.execute("return document.activeElement.id").await, json!("esc-step-2-minutes"));

    // Corrected: created, and listed.
    second.clear().await;
    second.send_keys("45").await;
    assert_eq!(browser.text("#esc-step-2-minutes-error").await, "", "the error goes as the field changes");
    browser.click("#esc-submit").await;
    browser
        .wait_for(
            "the new policy",
            "document.querySelector('#esc-form-status').textContent === 'Created the policy “After-hours desk”.'",
        )
        .await;
    let row = browser.text("#esc-policies tr[data-name='After-hours desk']").await;
    for part in [
        "After 15 min: every supervisor",
        "After 45 min: every admin and grace@example.com (in working hours)",
        "2 times, 20 min after the last step",
        "After 1 h",
        "No rule",
    ] {
        assert!(row.contains(part), "{part:?} in {row}");
    }
    let (_, list) = app.get("/api/v1/escalation-policies", &admin).await;
    let desk =
        list.as_array().unwrap().iter().find(|p| p["name"] == "After-hours desk").expect("After-hours desk").clone();
    assert_eq!(
        desk["steps"],
        json!([
            {"after_minutes": 15, "targets": ["role:supervisor"], "working_hours_only": false},
            {"after_minutes": 45, "targets": ["role:admin", "staff:grace@example.com"], "working_hours_only": true},
        ])
    );
    assert_eq!(
        (desk["repeat"].clone(), desk["ack_timeout_minutes"].clone()),
        (json!({"times": 2, "after_minutes": 20}), json!(60))
    );

    // Edited: the form holds the policy; clearing the acknowledgement timeout saves it as none.
    browser.click(&format!("#esc-policy-{} .do-edit", desk["id"])).await;
    browser
        .wait_for(
            "the form to edit",
            "document.querySelector('#esc-form-title').textContent === 'Edit “After-hours desk”'",
        )
        .await;
    assert_eq!(browser.count("#esc-step-list > li").await, 2);
    assert_eq!(browser.find("#esc-step-2-emails").await.property("value").await, json!("grace@example.com"));
    assert_eq!(browser.find("#esc-step-2 input[name=working_hours_only]").await.property("checked").await, json!(true));
    browser.screenshot_from(&shots, "escalation-policies.png", "#esc-settings", 2000.0).await;
    browser.find("#esc-ack").await.clear().await;
    browser.click("#esc-submit").await;
    browser
        .wait_for(
            "the saved policy",
            "document.querySelector('#esc-form-status').textContent === 'Saved the policy “After-hours desk”.'",
        )
        .await;
    let (_, saved) = app.get(&format!("/api/v1/escalation-policies/{}", desk["id"]), &admin).await;
    assert_eq!((saved["ack_timeout_minutes"].clone(), saved["steps"].clone()), (Value::Null, desk["steps"].clone()));
    assert!(browser.text(&format!("#esc-policy-{}", desk["id"])).await.contains("Never"));

    // Deleted; the one the breach rule uses cannot be (the 409, in words).
    browser.click(&format!("#esc-policy-{} .do-delete", desk["id"])).await;
    browser.accept_alert().await;
    browser.wait_for("the policy gone", &format!("!document.querySelector('#esc-policy-{}')", desk["id"])).await;
    browser.click("#esc-policies tr[data-name='breach-climb'] .do-delete").await;
    browser.accept_alert().await;
    browser
        .wait_for(
            "the refusal",
            "document.querySelector('#esc-status.is-error')?.textContent === \
             'Escalation policy \"breach-climb\" is used by rule(s) sla_breach_critical.'",
        )
        .await;

    // No script errors on the way (the 422 and the 409 above were expected).
    browser.assert_no_console_errors(&[409, 422]).await;

    browser.close().await;
}

/// Team administration and the account, as an admin: an agent added (a bad
/// phone number refused next to its field, in words, then fixed), edited (an
/// email already taken refused next to its field), deactivated (their token
/// refused from then on) and reactivated; settings grey out the channels
/// this server has not set up, and SMS without a phone number; the admin's
/// password changed (their other session ends, this one holds); signed out
/// through the button (the token refused afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_administration_and_account_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let alan = named_staff(&app, "alan@example.com", "admin", "Alan Turing").await;
    let grace = named_staff(&app, "grace@example.com", "supervisor", "Grace Hopper").await;
    named_staff_under(&app, "lin@example.com", "agent", "Lin Chen", Some("grace@example.com")).await;
    // SMS is set up on this server (nothing is sent: the dispatcher is off); email and webhook are not.
    let base = serve_configured(&app, |c| c.delivery.sms_url = Some("http://127.0.0.1:9/sms".into())).await;

    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();
    browser.goto(&format!("{base}/")).await;
    sign_in(&browser, "alan@example.com").await;

    // The Team page: everyone, in name order, with their supervisor by name.
    browser.click("li[data-needs='staff.manage']:not([hidden]) a[data-route=team]").await;
    let rows = "document.querySelectorAll('#team-table tbody tr')";
    browser.wait_for("the team", &format!("{rows}.length === 3")).await;
    let emails = browser.execute(&format!("return [...{rows}].map((r) => r.dataset.email)")).await;
    assert_eq!(emails, json!(["alan@example.com", "grace@example.com", "lin@example.com"]));
    assert!(browser.text(&format!("#staff-{alan} th")).await.contains("You"));
    let lin = browser.text("#team-table tr[data-email='lin@example.com']").await;
    for part in ["Lin Chen", "Agent", "Grace Hopper", "Active", "The organisation’s"] {
        assert!(lin.contains(part), "{part:?} in {lin}");
    }
    let admin = app.admin_token().await;

    // Add an agent: a phone number without its country code is refused next to the field, in words.
    browser.click("#team-add").await;
    browser.find("#team-panel:not([hidden]) #team-email").await.send_keys("ada@example.com").await;
    browser.find("#team-name").await.send_keys("Ada Lovelace").await;
    browser.click("#team-role option[value=agent]").await;
    browser.click(&format!("#team-supervisor option[value='{grace}']")).await;
    let phone = browser.find("#team-phone").await;
    phone.send_keys("020 7946 0958").await;
    browser.find("#team-zone").await.send_keys("Europe/London").await;
    browser.find("#team-password").await.send_keys("analytical-engine-1843").await;
    browser.click("#team-submit").await;
    browser
        .wait_for(
            "the phone's error",
            "document.querySelector('#team-phone-error').textContent === \
             'Phone: must be an international number: + and 6 to 15 digits, e.g. +44 20 7946 0958.'",
        )
        .await;
    assert_eq!(phone.attribute("aria-invalid").await, json!("true"));
    assert_eq!(browser.execute("return document.activeElement.id").await, json!("team-phone"));
    assert_eq!(app.get("/api/v1/staff?q=ada", &admin).await.1["total"], 0, "nobody was added");

    // Corrected: added, and listed.
    phone.clear().await;
    phone.send_keys("+44 20 7946 0958").await;
    assert_eq!(browser.text("#team-phone-error").await, "", "the error goes as the field changes");
    browser.click("#team-submit").await;
    browser
        .wait_for(
            "the added agent",
            "document.querySelector('#team-status').textContent.startsWith('Added Ada Lovelace (ada@example.com).')",
        )
        .await;
    let ada = app.staff_id("ada@example.com").await;
    let row = browser.text(&format!("#staff-{ada}")).await;
    for part in ["Ada Lovelace", "ada@example.com", "Agent", "Grace Hopper", "Active", "Europe/London"] {
        assert!(row.contains(part), "{part:?} in {row}");
    }
    let (status, member) = app.get(&format!("/api/v1/staff/{ada}"), &admin).await;
    assert_eq!(status, 200, "{member}");
    assert_eq!(
        member,
        json!({"id": ada, "email": "ada@example.com", "full_name": "Ada Lovelace", "phone": "+442079460958",
               "role": "agent", "supervisor_id": grace, "is_active": true, "time_zone": "Europe/London"})
    );
    // Ada signs in (elsewhere) with the first password.
    let (status, session) = log_in(&app, "ada@example.com", "analytical-engine-1843").await;
    assert_eq!(status, 200, "{session}");
    let ada_token = session["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &ada_token).await, 200);

    // Edit: an email someone else has is refused next to the email field.
    browser.click(&format!("#staff-{ada} .do-edit")).await;
    browser
        .wait_for(
            "the form to edit",
            "document.querySelector('#team-form-title').textContent === 'Edit “Ada Lovelace”'",
        )
        .await;
    assert_eq!(browser.find("#team-phone").await.property("value").await, json!("+442079460958"));
    assert_eq!(browser.find("#team-supervisor").await.property("value").await, json!(grace.to_string()));
    let email = browser.find("#team-email").await;
    email.clear().await;
    email.send_keys("grace@example.com").await;
    let name = browser.find("#team-name").await;
    name.clear().await;
    name.send_keys("Ada King").await;
    browser.click("#team-submit").await;
    browser
        .wait_for(
            "the email's error",
            "document.querySelector('#team-email-error').textContent === \
             'Email: a staff member with this email already exists.'",
        )
        .await;
    assert_eq!(email.attribute("aria-invalid").await, json!("true"));
    browser.screenshot_from(&shots, "team-edit-error.png", "#team-panel", 900.0).await;

    // Corrected, and the time zone cleared (the organisation's from now on): saved.
    email.clear().await;
    email.send_keys("ada.king@example.com").await;
    browser.find("#team-zone").await.clear().await;
    browser.click("#team-submit").await;
    browser
        .wait_for(
            "the saved changes",
            "document.querySelector('#team-form-notice').textContent === 'Saved the changes to Ada King.'",
        )
        .await;
    let (_, member) = app.get(&format!("/api/v1/staff/{ada}"), &admin).await;
    assert_eq!(
        (&member["email"], &member["full_name"], &member["time_zone"], &member["phone"]),
        (&json!("ada.king@example.com"), &json!("Ada King"), &Value::Null, &json!("+442079460958")),
        "{member}"
    );
    assert!(browser.text(&format!("#staff-{ada}")).await.contains("The organisation’s"));

    // Deactivated, after a confirmation: signed out at once, her token refused.
    browser.click("#team-deactivate").await;
    browser.accept_alert().await;
    browser
        .wait_for(
            "the deactivation",
            "document.querySelector('#team-access-status').textContent === \
             'Ada King is deactivated and was signed out on every device.'",
        )
        .await;
    browser.find(&format!("#staff-{ada}.is-inactive .tag.inactive")).await;
    assert_eq!(me(&app, &ada_token).await, 401, "a deactivated agent's token is refused");
    assert_eq!(log_in(&app, "ada.king@example.com", "analytical-engine-1843").await.0, 401);
    browser.screenshot_from(&shots, "team.png", "body", 1100.0).await;

    // Filters: by text, by role and state; nobody matching says what to do next.
    let search = browser.find("#team-filters input[name=q]").await;
    search.send_keys("hopper").await;
    browser
        .wait_for("Grace alone", &format!("{rows}.length === 1 && {rows}[0].dataset.email === 'grace@example.com'"))
        .await;
    search.send_keys("-nobody").await;
    browser.find("#team-empty:not([hidden])").await;
    assert_eq!(
        browser.text("#team-empty-text").await,
        "No one matches these filters. Try another name, or clear the filters."
    );
    browser.click("#team-clear-filters").await;
    browser.wait_for("everyone again", &format!("{rows}.length === 5")).await;
    browser.click("#team-filters select[name=role] option[value=agent]").await;
    browser.click("#team-filters select[name=active] option[value=false]").await;
    browser.wait_for("the inactive agent", &format!("{rows}.length === 1 && {rows}[0].dataset.id === '{ada}'")).await;

    // Reactivated: she can sign in again.
    browser.click("#team-reactivate").await;
    browser.accept_alert().await;
    browser
        .wait_for(
            "the reactivation",
            "document.querySelector('#team-access-status').textContent === 'Ada King is active again and can sign in.'",
        )
        .await;
    assert_eq!(app.get(&format!("/api/v1/staff/{ada}"), &admin).await.1["is_active"], true);
    assert_eq!(log_in(&app, "ada.king@example.com", "analytical-engine-1843").await.0, 200);
    assert_eq!(me(&app, &ada_token).await, 401, "the ended session stays ended");

    // Settings: email and webhook are not set up here; SMS is, but Alan has no phone number.
    browser.click("a[data-route=settings]").await;
    let breach = "#view-settings:not([hidden]) form[data-alert-type=sla_breach]";
    let disabled =
        |channel: &str| format!("document.querySelector('{breach} input[value={channel}]')?.disabled === true");
    browser.wait_for("email greyed out", &disabled("email")).await;
    assert!(browser.text(&format!("{breach} label.is-off:has(input[value=email])")).await.contains("(not set up)"));
    assert_eq!(
        browser.text("#channel-notes:not([hidden]) #channel-note-email").await,
        "Email is not set up on this server — ask your administrator (ALERTS_SMTP_URL)."
    );
    assert_eq!(browser.execute(&format!("return {}", disabled("webhook"))).await, json!(true));
    assert_eq!(browser.execute(&format!("return {}", disabled("sms"))).await, json!(true));
    let sms = browser.text("#channel-note-sms").await;
    assert!(sms.starts_with("Add a phone number to receive SMS: set yours on the Team page."), "{sms}");
    assert_eq!(browser.execute(&format!("return {}", disabled("in_app"))).await, json!(false));
    let profile = browser.text("#account-profile").await;
    assert!(profile.contains("Alan Turing") && profile.contains("None: SMS cannot reach you"), "{profile}");
    // With a phone number (set by an admin), SMS can be chosen.
    let body = json!({"phone": "+1 212 555 0100"});
    let (status, body) = app.send(Method::PATCH, &format!("/api/v1/staff/{alan}"), Some(&admin), Some(body)).await;
    assert_eq!(status, 200, "{body}");
    browser.click("a[data-route=team]").await;
    browser.click("a[data-route=settings]").await;
    browser
        .wait_for(
            "SMS available",
            &format!("document.querySelector('{breach} input[value=sms]')?.disabled === false && !document.querySelector('#channel-note-sms')"),
        )
        .await;

    // Change password: a confirmation that does not match is caught here; a wrong current password by the server.
    let (status, other) = log_in(&app, "alan@example.com", "tulip-ledger-42").await;
    assert_eq!(status, 200, "{other}");
    let other = other["access_token"].as_str().unwrap().to_owned();
    browser.find("#password-current").await.send_keys("not-my-password").await;
    browser.find("#password-new").await.send_keys("difference-engine-1822").await;
    let confirm = browser.find("#password-confirm").await;
    confirm.send_keys("difference-engine-1823").await;
    browser.click("#password-submit").await;
    browser
        .wait_for(
            "the mismatch",
            "document.querySelector('#password-confirm-error').textContent === \
             'Confirm the new password: it does not match the new password.'",
        )
        .await;
    assert_eq!(confirm.attribute("aria-invalid").await, json!("true"));
    confirm.clear().await;
    confirm.send_keys("difference-engine-1822").await;
    browser.click("#password-submit").await;
    browser
        .wait_for(
            "the wrong current password",
            "document.querySelector('#password-current-error').textContent === \
             'Current password: is not your current password.'",
        )
        .await;
    let current = browser.find("#password-current").await;
    current.clear().await;
    current.send_keys("tulip-ledger-42").await;
    browser.click("#password-submit").await;
    browser
        .wait_for(
            "the new password",
            "document.querySelector('#password-status').textContent === \
             'Password changed. Your other sessions were signed out; this one stays signed in.'",
        )
        .await;
    browser.screenshot_from(&shots, "settings-account.png", "#account-settings", 900.0).await;
    assert_eq!(me(&app, &other).await, 401, "the other session ended");
    let token = browser.execute("return sessionStorage.getItem('convergeai-alerts.token')").await;
    let token = token.as_str().expect("the tab's token").to_owned();
    assert_eq!(me(&app, &token).await, 200, "this session holds");
    assert_eq!(log_in(&app, "alan@example.com", "difference-engine-1822").await.0, 200);

    // Signing out through the button: the token is refused from then on.
    browser.click("#sign-out").await;
    browser.find("#view-signin:not([hidden])").await;
    assert_eq!(browser.text("#signin-notice").await, "You are signed out.");
    assert_eq!(browser.execute("return sessionStorage.length").await, json!(0), "the token is gone");
    assert_eq!(me(&app, &token).await, 401, "a signed-out token is refused");

    // A supervisor sees Analytics, scoped to their team (Lin and Ada report to Grace).
    sign_in(&browser, "grace@example.com").await;
    browser.find("li[data-needs='alerts.manage|alerts.team']:not([hidden]) a[data-route=analytics]").await;
    assert_eq!(browser.count("li[data-needs='staff.manage']:not([hidden])").await, 0, "no Team page for a supervisor");
    browser.click("a[data-route=analytics]").await;
    browser
        .wait_for("the team scope", "document.querySelector('#stats-status')?.textContent.startsWith('Your team')")
        .await;

    // No script errors on the way (the 422s, the 409 and the 401s above were expected).
    browser.assert_no_console_errors(&[401, 409, 422]).await;
    browser.close().await;
}

/// Preferences on the Settings page: a zone chosen, a night of quiet hours
/// typed as two periods, do not disturb for an hour, saved; a period that
/// ends before it starts is refused next to its day, in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let lin = named_staff(&app, "lin@example.com", "agent", "Lin Chen").await;
    let base = serve_configured(&app, |_| {}).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();
    browser.goto(&format!("{base}/")).await;
    sign_in(&browser, "lin@example.com").await;
    browser.click("a[data-route=settings]").await;
    browser
        .wait_for(
            "the preferences",
            "document.querySelector('#prefs-dnd-state').textContent === 'Do not disturb is off.'",
        )
        .await;
    browser.click("#prefs-zone option[value='Europe/Berlin']").await;
    browser.find("#prefs-day-mon").await.send_keys("19:00-24:00").await;
    browser.find("#prefs-day-tue").await.send_keys("00:00-08:00").await;
    browser.click("#prefs-dnd input[value='1h']").await;
    browser.click("#prefs-mode input[value=each]").await;
    browser.click("#prefs-submit").await;
    browser.wait_for("saved", "document.querySelector('#prefs-status').textContent === 'Preferences saved.'").await;
    let (status, prefs) = app.get("/api/v1/me/preferences", &app.token(lin)).await;
    assert_eq!(status, 200, "{prefs}");
    assert_eq!(prefs["time_zone"], "Europe/Berlin");
    assert_eq!(prefs["quiet_hours"], json!({"mon": [["19:00", "24:00"]], "tue": [["00:00", "08:00"]]}));
    assert_eq!(prefs["quiet_hours_delivery"], "each");
    assert!(browser.text("#prefs-dnd-state").await.starts_with("Do not disturb is on until"));

    browser.find("#prefs-day-wed").await.send_keys("09:00-08:00").await;
    browser.click("#prefs-submit").await;
    browser
        .wait_for(
            "the refusal",
            "document.querySelector('#prefs-day-wed-error').textContent === \
             'Wednesday, period 1: end 08:00 must be after start 09:00.'",
        )
        .await;
    assert_eq!(browser.find("#prefs-day-wed").await.attribute("aria-invalid").await, json!("true"));
    browser.screenshot_from(&shots, "settings-preferences.png", "#prefs-form", 1100.0).await;
    browser.assert_no_console_errors(&[422]).await;
    browser.close().await;
}

/// The complaints pages. Grace supervises Ada and Bea. Ada's critical
/// complaint raises alerts for Ada and Grace, then breaches its deadline.
/// Grace, in New York, opens the alert in her inbox (its type's icon, a
/// "Reassign" that offers the assignees by name) and follows it to the
/// complaint's page: its fields, its SLA clocks and every alert it raised,
/// Ada's and hers. She reassigns it to Bea and sets it in progress: Bea's
/// inbox, open in a second browser and never reloaded, shows Bea's new
/// alerts as they arrive; Ada's are gone from Ada's inbox. Then the list:
/// every complaint with its assignee's name, a text search, "My team",
/// "Unassigned", and Bea's "Mine".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaints_list_page_and_reassignment_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let grace = named_staff(&app, "grace@example.com", "supervisor", "Grace Hopper").await;
    let ada = named_staff_under(&app, "ada@example.com", "agent", "Ada Lovelace", Some("grace@example.com")).await;
    let bea = named_staff_under(&app, "bea@example.com", "agent", "Bea Okafor", Some("grace@example.com")).await;

    let refund = seed(&app, "Refund never arrived", "Dana Smith", "high", json!({"assigned_to_staff_id": bea})).await;
    let invoice = seed(&app, "Invoice sent to the wrong address", "Lee Wong", "low", json!({})).await;
    // Ada's critical complaint: its alert at once (Ada and her supervisor), its breach 10 s on.
    let deadline = (app.app.clock.now() + TimeDelta::seconds(5)).to_rfc3339();
    let router = seed(
        &app,
        "Router keeps dropping the connection",
        "Sam Okafor",
        "critical",
        json!({"assigned_to_staff_id": ada, "sla_deadline": deadline, "description": "Drops every evening.\nTried two routers."}),
    )
    .await;
    app.app.clock.advance(TimeDelta::seconds(10));
    assert!(app.check().await >= 2, "the breach, for Ada and Grace");
    let about = |inbox: &[Value], complaint: &Value| -> Vec<Value> {
        inbox.iter().filter(|a| a["resource_id"] == *complaint).cloned().collect()
    };
    let adas = about(&app.inbox(ada).await, &router);
    let graces = about(&app.inbox(grace).await, &router);
    assert!(adas.len() >= 2 && graces.len() >= 2, "{adas:?} {graces:?}");
    let grace_critical = graces.iter().find(|a| a["alert_type"] == "critical_complaint").expect("critical alert");
    let card = format!("#alert-{}", grace_critical["id"]);

    let shots = screenshots_dir();
    let browser = Browser::start(&chromium, &chromedriver).await;
    browser.set_time_zone("America/New_York").await;
    browser.goto(&app.url("/")).await;
    sign_in(&browser, "grace@example.com").await;
    browser.wait_for("the live feed", "document.querySelector('#live-state').dataset.state === 'on'").await;

    // The card: the type's icon with its name, the title linking to the complaint, "Reassign" by name.
    browser.find(&format!("{card} .alert-type svg.type-icon[aria-hidden=true]")).await;
    assert_eq!(browser.text(&format!("{card} .alert-type")).await, "Critical complaint");
    let link = browser.find(&format!("{card} .alert-title a")).await;
    assert_eq!(link.attribute("href").await, json!(format!("#/complaints/{router}")));
    assert_eq!(link.text().await, grace_critical["title"].as_str().unwrap());
    browser.click(&format!("{card} .do-reassign")).await;
    let select = format!("{card} form.reassign:not([hidden]) select:not(:disabled)");
    browser.find(&format!("{select} option[value='{bea}']")).await;
    assert_eq!(browser.find(&select).await.property("value").await, json!(ada.to_string()), "Ada's now");
    let names = browser.text(&select).await;
    assert!(names.contains("Bea Okafor") && names.contains("Grace Hopper (you)"), "{names}");
    browser.click(&format!("{card} .do-reassign-cancel")).await;
    browser.find(&format!("{card} form.reassign[hidden]")).await;

    // Bea, in a second browser, has her inbox open: nothing about the router yet.
    let second = Browser::start(&chromium, &chromedriver).await;
    second.goto(&app.url("/")).await;
    sign_in(&second, "bea@example.com").await;
    second.wait_for("Bea's live feed", "document.querySelector('#live-state').dataset.state === 'on'").await;
    second.find("#view-inbox:not([hidden]) #inbox-empty:not([hidden])").await;
    second.execute("window.__sameDocument = true").await;

    // Grace follows the alert to the complaint: its fields, clocks and the alerts it raised, Ada's and hers.
    browser.click(&format!("{card} .alert-title a")).await;
    browser.find("#view-complaint:not([hidden]) #complaint-body:not([hidden])").await;
    assert_eq!(browser.text("#complaint-title").await, "Router keeps dropping the connection");
    let fields = browser.text("#complaint-fields").await;
    assert!(
        fields.contains("Sam Okafor") && fields.contains("Ada Lovelace") && fields.to_lowercase().contains("critical"),
        "{fields}"
    );
    assert!(browser.text("#complaint-description").await.contains("Tried two routers."));
    assert!(browser.count("#complaint-sla .clocks li.clock").await >= 1, "{}", browser.text("#complaint-sla").await);
    browser.find(&format!("#complaint-timeline li.c-event[data-staff='{ada}']")).await;
    let mine = browser.text(&format!("#complaint-timeline li.c-event[data-staff='{grace}']")).await;
    assert!(mine.contains("To You") && mine.contains("In the app"), "{mine}");
    let hers = browser.text(&format!("#complaint-timeline li.c-event[data-staff='{ada}']")).await;
    assert!(hers.contains("To Ada Lovelace") && hers.contains("Not acknowledged"), "{hers}");
    assert_eq!(browser.count("#complaint-timeline li.c-event").await, adas.len() + graces.len());
    let created = grace_critical["created_at"].as_str().unwrap();
    let time = format!("#complaint-alert-{} .c-event-head time", grace_critical["id"]);
    assert_time_in_zone(&browser, &time, created, "America/New_York").await;

    // She gives it to Bea and sets it in progress: a confirmation in words, Bea's alerts in the timeline.
    browser.click(&format!("#complaint-assignee option[value='{bea}']")).await;
    browser.click("#complaint-status-select option[value=in_progress]").await;
    browser.click("#complaint-save").await;
    browser
        .wait_for(
            "the confirmation",
            "document.querySelector('#complaint-form-status.is-ok')?.textContent === \
             'Saved. Assigned to Bea Okafor. Status: In progress.'",
        )
        .await;
    browser.find(&format!("#complaint-timeline li.c-event[data-staff='{bea}']")).await;
    browser.find(&format!("#complaint-timeline li.c-event.is-ended[data-staff='{ada}']")).await;
    assert!(browser.text("#complaint-fields").await.contains("Bea Okafor"));
    browser.screenshot_full_page(&shots, "complaint.png").await;

    // Bea's inbox shows hers without a reload; Ada's inbox no longer has any about it.
    second.find(&format!("#alert-list li.alert.unread[data-complaint='{router}']")).await;
    let beas = about(&app.inbox(bea).await, &router);
    assert!(!beas.is_empty(), "Bea's alerts");
    for alert in &beas {
        second.find(&format!("#alert-{}", alert["id"])).await;
    }
    assert_eq!(second.execute("return window.__sameDocument === true").await, json!(true), "the page reloaded");
    assert_eq!(second.count(".do-reassign").await, 0, "an agent cannot reassign");
    assert!(about(&app.inbox(ada).await, &router).is_empty(), "Ada's alerts about it ended");

    // The list: every complaint with its assignee's name, newest first.
    browser.click("a[data-route=complaints]").await;
    let rows = "#complaints-table tbody tr";
    browser.wait_for("three complaints", &format!("document.querySelectorAll('{rows}').length === 3")).await;
    assert_eq!(browser.text(&format!("#complaint-row-{router} td.assignee")).await, "Bea Okafor");
    assert_eq!(browser.text(&format!("#complaint-row-{invoice} td.assignee")).await, "Unassigned");
    let row = browser.text(&format!("#complaint-row-{router}")).await;
    assert!(
        row.contains("Sam Okafor") && row.contains("In progress") && row.to_lowercase().contains("breached"),
        "{row}"
    );
    browser.screenshot(&shots, "complaints.png").await;
    // A text search on the customer's name.
    browser.find("#complaint-filters input[name=q]").await.send_keys("okafor").await;
    browser.wait_for("one match", &format!("document.querySelectorAll('{rows}').length === 1")).await;
    browser.find(&format!("#complaint-row-{router}")).await;
    browser.find("#complaint-filters input[name=q]").await.clear().await;
    browser.find("#complaint-filters input[name=q]").await.send_keys("zebra").await;
    browser.find("#complaints-empty:not([hidden])").await;
    assert!(browser.text("#complaints-empty-text").await.starts_with("No complaint matches these filters"));
    browser.click("#complaints-clear-filters").await;
    browser.wait_for("all three again", &format!("document.querySelectorAll('{rows}').length === 3")).await;
    browser.click("#complaint-filters select[name=assignee] option[value=team]").await;
    browser.wait_for("her team's two", &format!("document.querySelectorAll('{rows}').length === 2")).await;
    browser.click("#complaint-filters select[name=assignee] option[value=unassigned]").await;
    browser.wait_for("the unassigned one", &format!("document.querySelectorAll('{rows}').length === 1")).await;
    browser.find(&format!("#complaint-row-{invoice}")).await;

    // Bea's "Mine": her two, hers said as "You"; she reads the complaint but cannot change it.
    second.click("a[data-route=complaints]").await;
    second.wait_for("all three", &format!("document.querySelectorAll('{rows}').length === 3")).await;
    second.click("#complaint-filters select[name=assignee] option[value=me]").await;
    second.wait_for("her two", &format!("document.querySelectorAll('{rows}').length === 2")).await;
    second.find(&format!("#complaint-row-{refund}")).await;
    assert_eq!(second.text(&format!("#complaint-row-{router} td.assignee")).await, "You");
    second.click(&format!("#complaint-row-{router} a.c-title")).await;
    second.find("#view-complaint:not([hidden]) #complaint-body:not([hidden])").await;
    second.find(&format!("#complaint-timeline li.c-event[data-staff='{bea}']")).await;
    assert_eq!(second.count("#complaint-form:not([hidden])").await, 0, "no reassigning for agents");
    assert_eq!(second.count(&format!("#complaint-timeline li.c-event[data-staff='{ada}']")).await, 0, "only hers");

    for b in [&browser, &second] {
        b.assert_no_console_errors(&[]).await;
    }
    second.close().await;
    browser.close().await;
}

/// Snooze in the inbox. Ada (an agent in Berlin, her browser too) has two
/// critical complaints' alerts. She snoozes one until tomorrow 09:00 from its
/// card: it leaves the inbox and the unread badge drops. A failed snooze is
/// shown in words. Under "Show: Snoozed" the card says when it comes back, in
/// her zone; "Wake now" brings it back to the inbox, unread, and the badge
/// goes up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snooze_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let ada = named_staff(&app, "ada@example.com", "agent", "Ada Lovelace").await;
    let admin = app.admin_token().await;
    let zone = chrono_tz::Europe::Berlin;
    let body = json!({"time_zone": zone.name()});
    let (status, body) = app.send(Method::PATCH, &format!("/api/v1/staff/{ada}"), Some(&admin), Some(body)).await;
    assert_eq!(status, 200, "{body}");
    let hers = json!({"assigned_to_staff_id": ada});
    let refund = seed(&app, "Refund never arrived", "Dana Smith", "critical", hers.clone()).await;
    let router = seed(&app, "Router keeps dropping", "Lee Wong", "critical", hers).await;
    let inbox = app.inbox(ada).await;
    assert_eq!(inbox.len(), 2, "{inbox:?}");
    let about = |complaint: &Value| -> Value {
        let found = inbox.iter().find(|a| a["resource_id"] == *complaint);
        found.cloned().unwrap_or_else(|| panic!("no alert about {complaint} in {inbox:?}"))
    };
    let (snoozing, staying) = (about(&router), about(&refund));
    let title = snoozing["title"].as_str().unwrap().to_owned();
    let card = format!("#alert-{}", snoozing["id"]);
    let other = format!("#alert-{}", staying["id"]);

    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshots_dir();
    browser.set_time_zone(zone.name()).await;
    browser.goto(&app.url("/")).await;
    sign_in(&browser, "ada@example.com").await;
    browser.wait_for("the live feed", "document.querySelector('#live-state').dataset.state === 'on'").await;
    browser.wait_for("Ada's two alerts", "document.querySelectorAll('#alert-list li.alert.unread').length === 2").await;
    browser.wait_for("the badge at 2", "document.querySelector('#badge-count').textContent === '2'").await;
    browser.execute("window.__sameDocument = true").await;

    // Each card's snooze menu names its alert; nothing is snoozed in the inbox.
    let select = browser.find(&format!("{card} select.do-snooze")).await;
    assert_eq!(select.attribute("aria-label").await, json!(format!("Snooze “{title}”")));
    assert_eq!(browser.count(&format!("{card} .do-wake:not([hidden])")).await, 0);
    assert_eq!(browser.count(&format!("{card} .snooze-state:not([hidden])")).await, 0);

    // A failed snooze (the server's 409, stubbed in the page) is shown in words; the card stays.
    browser
        .execute(
            "const real = window.fetch; window.__realFetch = real; \
             window.fetch = (url, init) => String(url).endsWith('/snooze') \
               ? Promise.resolve(new Response(JSON.stringify({detail: 'alert 1 is dismissed: only a live alert can be snoozed'}), \
                   {status: 409, headers: {'Content-Type': 'application/json'}})) \
               : real(url, init);",
        )
        .await;
    browser.click(&format!("{card} select.do-snooze option[value='3h']")).await;
    browser
        .wait_for(
            "the error",
            &format!(
                "document.querySelector('#inbox-status.is-error')?.textContent === \
                 'Could not snooze “{title}”: alert 1 is dismissed: only a live alert can be snoozed'"
            ),
        )
        .await;
    browser.find(&format!("{card} select.do-snooze:not(:disabled)")).await;
    assert_eq!(select.property("value").await, json!(""), "the menu is back on “Snooze…”");
    assert_eq!(browser.count("#alert-list li.alert").await, 2);
    browser.execute("window.fetch = window.__realFetch").await;

    // By keyboard, an arrow key only chooses (Chromium fires `change` at once): nothing is snoozed
    // until Enter, and Escape puts the menu back.
    select.send_keys("\u{E015}").await;
    let hint = format!("Press Enter to snooze “{title}” for 1 hour, or Escape to cancel.");
    browser.wait_for("the hint", &format!("document.querySelector('#inbox-status').textContent === '{hint}'")).await;
    assert_eq!(select.property("value").await, json!("1h"));
    assert_eq!(app.inbox(ada).await.len(), 2, "nothing snoozed yet");
    select.send_keys("\u{E00C}").await;
    browser.wait_for("the hint gone", "document.querySelector('#inbox-status').textContent === ''").await;
    assert_eq!(select.property("value").await, json!(""));
    assert_eq!(browser.count("#alert-list li.alert").await, 2);

    // Snoozed until tomorrow 09:00 by keyboard (down to the third preset, Enter): it leaves the
    // inbox, focus moves to the other card, the badge drops, the API agrees.
    select.send_keys("\u{E015}\u{E015}\u{E015}").await;
    assert_eq!(select.property("value").await, json!("tomorrow"));
    select.send_keys("\u{E007}").await;
    browser
        .wait_for(
            "the card gone",
            &format!(
                "!document.querySelector('{card}') && document.querySelectorAll('#alert-list li.alert').length === 1"
            ),
        )
        .await;
    browser.wait_for("the badge at 1", "document.querySelector('#badge-count').textContent === '1'").await;
    browser.find(&format!("{other}.unread")).await;
    browser.wait_for("focus on the other card", &format!("document.activeElement.matches('{other} button')")).await;
    let (status, snoozed) = app.get(&format!("/api/v1/alerts/{}", snoozing["id"]), &app.token(ada)).await;
    assert_eq!(status, 200, "{snoozed}");
    let until = snoozed["snoozed_until"].as_str().expect("snoozed_until").to_owned();
    let until_at = chrono::DateTime::parse_from_rfc3339(&until).unwrap().with_timezone(&zone);
    assert_eq!(until_at.format("%H:%M").to_string(), "09:00", "tomorrow 09:00 in Berlin: {until}");
    assert_eq!(until_at.date_naive(), app.app.clock.now().with_timezone(&zone).date_naive().succ_opt().unwrap());
    let said = browser.text("#inbox-status").await;
    assert!(said.starts_with(&format!("Snoozed “{title}” until ")) && said.ends_with("(tomorrow 09:00)."), "{said}");
    assert_eq!(app.inbox(ada).await.len(), 1, "out of the inbox");
    let (_, count) = app.get("/api/v1/alerts/unread/count", &app.token(ada)).await;
    assert_eq!(count["unread_count"], 1, "{count}");

    // Show: Snoozed. Only the snoozed card, when it comes back in Ada's zone, and "Wake now".
    browser.click("#inbox-filters select[name=status] option[value=snoozed]").await;
    browser.find(&format!("{card}.is-snoozed .snooze-state:not([hidden])")).await;
    browser.wait_for("only the snoozed card", "document.querySelectorAll('#alert-list li.alert').length === 1").await;
    assert_eq!(browser.count(&other).await, 0);
    let state = browser.text(&format!("{card} .snooze-state")).await;
    assert!(state.starts_with("Snoozed until "), "{state}");
    assert_time_in_zone(&browser, &format!("{card} time.snooze-time"), &until, zone.name()).await;
    let shown = browser.text(&format!("{card} time.snooze-time")).await;
    assert!(shown.contains("9:00"), "{shown} is not 09:00 in {zone}");
    let wake = browser.find(&format!("{card} .do-wake:not([hidden])")).await;
    assert_eq!(wake.text().await, "Wake now");
    assert_eq!(wake.attribute("aria-label").await, json!(format!("Wake “{title}” now")));
    browser.screenshot(&shots, "snoozed.png").await;

    // Wake now (by keyboard): it leaves the snoozed list, focus stays in the view, and it comes back
    // to the inbox, unread; the badge goes back to 2.
    wake.send_keys("\u{E007}").await;
    browser
        .wait_for(
            "the snoozed list empty",
            &format!(
                "!document.querySelector('{card}') && \
                 document.querySelector('#inbox-empty:not([hidden])')?.textContent === \
                 'No snoozed alerts. Snooze one from its card in the inbox.'"
            ),
        )
        .await;
    browser.wait_for("focus on the heading", "document.activeElement.id === 'inbox-title'").await;
    browser.wait_for("the badge at 2", "document.querySelector('#badge-count').textContent === '2'").await;
    let (_, woken) = app.get(&format!("/api/v1/alerts/{}", snoozing["id"]), &app.token(ada)).await;
    assert_eq!((&woken["snoozed_until"], &woken["is_read"]), (&Value::Null, &json!(false)), "{woken}");
    browser.click("#inbox-filters select[name=status] option[value='']").await;
    browser.find(&format!("{card}.unread:not(.is-snoozed)")).await;
    browser.wait_for("both cards", "document.querySelectorAll('#alert-list li.alert.unread').length === 2").await;
    assert_eq!(browser.text(&format!("{card} .read-state")).await, "Unread");
    assert_eq!(browser.count(&format!("{card} .do-wake:not([hidden])")).await, 0);
    assert_eq!(browser.execute("return window.__sameDocument === true").await, json!(true), "the page reloaded");

    // No script errors on the way (the 409 was the stub's: no request failed).
    browser.assert_no_console_errors(&[]).await;
    browser.close().await;
}

/// Every rule, as the API lists them.
async fn all_rules(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, rules) = app.get("/api/v1/alerts/rules", token).await;
    assert_eq!(status, 200, "{rules}");
    rules.as_array().expect("rules").clone()
}

/// `POST /auth/login`: status and body.
async fn log_in(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password});
    app.send(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

/// The status `GET /auth/me` answers `token`: 200 while it is valid, 401 once refused.
async fn me(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me", token).await.0
}

/// The app served once more on its own port, as `serve` runs it with the
/// settings `configure` makes (which delivery channels are set up, say); its
/// base URL. Same database, clock and event bus as `app`.
async fn serve_configured(app: &TestApp, configure: impl FnOnce(&mut ServeConfig)) -> String {
    let mut config = crate::harness::serve_config();
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = app.app.clone();
    tokio::spawn(async move {
        convergeai_alerts::launch::launch(served, &config, listener, std::future::pending()).await.expect("serve")
    });
    base
}

/// Asserts the `<time>` at `css` is `iso`, shown as the console's date helper shows it in `zone` (the page's zone).
async fn assert_time_in_zone(browser: &Browser, css: &str, iso: &str, zone: &str) {
    let time = format!("document.querySelector(\"{css}\")");
    let check = format!(
        "Intl.DateTimeFormat().resolvedOptions().timeZone === '{zone}' && \
         Date.parse({time}.dateTime) === Date.parse('{iso}') && \
         {time}.textContent === new Intl.DateTimeFormat(undefined, \
           {{dateStyle: 'medium', timeStyle: 'short', timeZone: '{zone}'}}).format(Date.parse('{iso}'))"
    );
    browser.wait_for("the time in the reader's zone", &check).await;
}

/// Asserts the acknowledgement time on `card` reads `at` in `zone`, the page's own time zone.
async fn assert_shown_in_zone(
    browser: &Browser,
    card: &str,
    at: chrono::DateTime<chrono::FixedOffset>,
    zone: chrono_tz::Tz,
) {
    let time = format!("document.querySelector('{card} time.ack-time')");
    let check = format!(
        "Intl.DateTimeFormat().resolvedOptions().timeZone === '{zone}' && \
         Date.parse({time}.dateTime) === Date.parse('{}') && \
         {time}.textContent === new Intl.DateTimeFormat(undefined, \
           {{dateStyle: 'medium', timeStyle: 'short', timeZone: '{zone}'}}).format(Date.parse('{}'))",
        at.to_rfc3339(),
        at.to_rfc3339(),
    );
    browser.wait_for("the time in the reader's zone", &check).await;
    let shown = browser.text(&format!("{card} time.ack-time")).await;
    let local = at.with_timezone(&zone);
    let (twelve, twenty_four) = (local.format("%-I:%M").to_string(), local.format("%H:%M").to_string());
    assert!(shown.contains(&twelve) || shown.contains(&twenty_four), "{shown} is not {local}");
}

/// A complaint created through the API (`extra` adds fields); its id.
async fn seed(app: &TestApp, title: &str, customer: &str, priority: &str, extra: Value) -> Value {
    let mut body = json!({"title": title, "customer_name": customer, "priority": priority});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.complaint(body).await["id"].clone()
}

/// A staff member with a full name (the harness's have none); their id.
async fn named_staff(app: &TestApp, email: &str, role: &str, full_name: &str) -> i64 {
    named_staff_under(app, email, role, full_name, None).await
}

/// A named staff member reporting to the supervisor with the email `supervisor`; their id.
async fn named_staff_under(app: &TestApp, email: &str, role: &str, full_name: &str, supervisor: Option<&str>) -> i64 {
    use convergeai_alerts::domain::staff;
    let input = staff::CreateStaff {
        email: email.into(),
        password: "tulip-ledger-42".into(),
        role: role.into(),
        full_name: Some(full_name.into()),
        phone: None,
        supervisor_email: supervisor.map(Into::into),
    };
    staff::create(&app.app, input).await.expect("create staff").id
}

async fn sign_in(browser: &Browser, email: &str) {
    let field = browser.find("#view-signin:not([hidden]) #signin-email").await;
    field.send_keys(email).await;
    browser.find("#signin-password").await.send_keys("tulip-ledger-42").await;
    browser.click("#signin-form button[type=submit]").await;
    browser.find("#topbar:not([hidden])").await;
    // The top bar names the person; the email is on hover.
    let who = browser.find("#whoami").await.attribute("title").await;
    assert_eq!(who, json!(format!("Signed in as {email}")));
}

/// Chromium and chromedriver, or `None` (with the reason printed) when they are missing and CI is not set.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_tool("CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
    let chromedriver = find_tool("CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some((chromium, chromedriver)),
        (chromium, chromedriver) => {
            let missing: Vec<&str> = [("chromium", chromium.is_none()), ("chromedriver", chromedriver.is_none())]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
            let reason = format!(
                "the browser test needs {} (install it, or point CHROMIUM / CHROMEDRIVER at it)",
                missing.join(" and ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{reason}; CI=true requires it to run");
            }
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// `$env` if set, else the first of `names` on PATH (or in /usr/bin).
fn find_tool(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).collect();
    names.iter().flat_map(|name| dirs.iter().map(move |dir| dir.join(name))).find(|p| p.is_file())
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("create docs/screenshots");
    dir
}

/// chromedriver as the leader of its own process group, so that dropping
/// this (at the end or while a failed test unwinds) ends it and the Chromium
/// it started, then removes the browser profile.
struct Driver {
    child: Child,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The W3C WebDriver key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session in headless Chromium, spoken to over HTTP (W3C WebDriver).
struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    // Dropped last: ends chromedriver and Chromium.
    _driver: Driver,
}

struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl Browser {
    async fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let driver = Driver { child, profile };
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
            tokio::time::sleep(POLL).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {"goog:loggingPrefs": {"browser": "ALL"}, "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", driver.profile.path().display()), "--window-size=1280,900",
            ],
        }}}});
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let resp = http.post(format!("{base}/session")).json(&capabilities).send().await.expect("new session");
        let (status, body) = crate::harness::status_json(resp).await;
        assert_eq!(status, 200, "a WebDriver session in Chromium: {body}");
        let id = body["value"]["sessionId"].as_str().expect("sessionId");
        Browser { http, session: format!("{base}/session/{id}"), _driver: driver }
    }

    /// One WebDriver command; `Err` carries the driver's error and message.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.session));
        if method == reqwest::Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        let value = body["value"].clone();
        if ok { Ok(value) } else { Err(format!("{}: {}", value["error"], value["message"])) }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// Runs `script` (a function body) in the page and returns its result.
    async fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []})).await
    }

    /// The reader's time zone in the current tab (Chromium's DevTools protocol through chromedriver).
    async fn set_time_zone(&self, zone: &str) {
        let params = json!({"cmd": "Emulation.setTimezoneOverride", "params": {"timezoneId": zone}});
        self.post("/goog/cdp/execute", params).await;
    }

    /// The current tab's handle.
    async fn window_handle(&self) -> String {
        let handle = self.command(reqwest::Method::GET, "/window", None).await.expect("window handle");
        handle.as_str().expect("handle").to_owned()
    }

    async fn window_handles(&self) -> Vec<String> {
        let handles = self.command(reqwest::Method::GET, "/window/handles", None).await.expect("window handles");
        handles.as_array().expect("handles").iter().map(|h| h.as_str().unwrap().to_owned()).collect()
    }

    /// Opens a tab and switches to it. Each tab has its own sessionStorage, so its own sign-in.
    async fn new_tab(&self) -> String {
        let tab = self.post("/window/new", json!({"type": "tab"})).await;
        let handle = tab["handle"].as_str().expect("handle").to_owned();
        self.switch_to(&handle).await;
        handle
    }

    async fn switch_to(&self, handle: &str) {
        self.post("/window", json!({"handle": handle})).await;
    }

    /// Switches to the one tab that is not `handle`.
    async fn switch_to_other(&self, handle: &str) {
        let other = self.window_handles().await.into_iter().find(|h| h != handle).expect("another tab");
        self.switch_to(&other).await;
    }

    async fn set_window_size(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height})).await;
    }

    /// The first element matching `css`, waiting for it to appear.
    async fn find(&self, css: &str) -> Element<'_> {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .command(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
                .await;
            match found {
                Ok(value) => return Element { browser: self, id: value[ELEMENT_KEY].as_str().unwrap().to_owned() },
                Err(e) if Instant::now() > deadline => {
                    panic!("no element {css} within {WAIT:?}: {e}\n{}", self.page_text().await)
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// How many elements match `css` now.
    /// No script error or Content-Security-Policy violation in the page's
    /// console, but the failed requests of `expected` statuses (a test's
    /// deliberate 4xx answers).
    async fn assert_no_console_errors(&self, expected: &[u16]) {
        let log = self.post("/se/log", json!({"type": "browser"})).await;
        let errors: Vec<&Value> = log
            .as_array()
            .expect("log entries")
            .iter()
            .filter(|e| {
                let message = e["message"].as_str().unwrap_or_default();
                e["level"] == "SEVERE" && !expected.iter().any(|s| message.contains(&format!("status of {s}")))
            })
            .collect();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }

    async fn count(&self, css: &str) -> usize {
        let found = self.post("/elements", json!({"using": "css selector", "value": css})).await;
        found.as_array().map_or(0, Vec::len)
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await;
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await
    }

    /// Polls the JavaScript expression `condition` until it is true.
    async fn wait_for(&self, what: &str, condition: &str) {
        let script = format!("return Boolean({condition})");
        let deadline = Instant::now() + WAIT;
        while self.execute(&script).await != json!(true) {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what} ({condition})\n{}", self.page_text().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// What the page shows, for failure messages.
    async fn page_text(&self) -> String {
        let text = self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "return location.href + '\\n' + document.body.innerText", "args": []
            })),
        );
        format!("page: {}", text.await.map(|t| t.as_str().unwrap_or_default().to_owned()).unwrap_or_else(|e| e))
    }

    async fn screenshot(&self, dir: &Path, name: &str) {
        use base64::Engine;
        let png = self.command(reqwest::Method::GET, "/screenshot", None).await.expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).expect("base64 PNG");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }

    /// A screenshot of the whole page, beyond the viewport (Chromium's DevTools protocol through chromedriver).
    async fn screenshot_full_page(&self, dir: &Path, name: &str) {
        let size = self.execute("const e = document.documentElement; return [e.scrollWidth, e.scrollHeight]").await;
        self.capture(dir, name, json!({"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1})).await;
    }

    /// A screenshot of the page from just above `css` down, at most `height` pixels, beyond the viewport.
    async fn screenshot_from(&self, dir: &Path, name: &str, css: &str, height: f64) {
        self.find(css).await;
        let script = format!(
            "const e = document.documentElement; \
             const top = Math.max(0, document.querySelector('{css}').getBoundingClientRect().top + scrollY - 16); \
             return [e.scrollWidth, top, e.scrollHeight]"
        );
        let size = self.execute(&script).await;
        let (top, bottom) = (size[1].as_f64().unwrap(), size[2].as_f64().unwrap());
        let clip = json!({"x": 0, "y": top, "width": size[0], "height": height.min(bottom - top), "scale": 1});
        self.capture(dir, name, clip).await;
    }

    async fn capture(&self, dir: &Path, name: &str, clip: Value) {
        use base64::Engine;
        let params = json!({"format": "png", "captureBeyondViewport": true, "clip": clip});
        let shot = self.post("/goog/cdp/execute", json!({"cmd": "Page.captureScreenshot", "params": params})).await;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).expect("base64 PNG");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }

    /// Accepts the `confirm()` the page shows, waiting for it to open.
    async fn accept_alert(&self) {
        let deadline = Instant::now() + WAIT;
        while self.command(reqwest::Method::GET, "/alert/text", None).await.is_err() {
            assert!(Instant::now() < deadline, "no dialog opened within {WAIT:?}");
            tokio::time::sleep(POLL).await;
        }
        self.post("/alert/accept", json!({})).await;
    }

    async fn close(self) {
        let _ = self.command(reqwest::Method::DELETE, "", None).await;
    }
}

impl Element<'_> {
    async fn call(&self, method: reqwest::Method, what: &str, body: Option<Value>) -> Value {
        let path = format!("/element/{}/{what}", self.id);
        self.browser.command(method, &path, body).await.unwrap_or_else(|e| panic!("element {what}: {e}"))
    }

    async fn click(&self) {
        self.call(reqwest::Method::POST, "click", None).await;
    }

    async fn clear(&self) {
        self.call(reqwest::Method::POST, "clear", None).await;
    }

    async fn send_keys(&self, text: &str) {
        self.call(reqwest::Method::POST, "value", Some(json!({"text": text}))).await;
    }

    /// The rendered text (what a user sees).
    async fn text(&self) -> String {
        self.call(reqwest::Method::GET, "text", None).await.as_str().unwrap_or_default().to_owned()
    }

    async fn property(&self, name: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("property/{name}"), None).await
    }

    async fn attribute(&self, name: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("attribute/{name}"), None).await
    }
}
