//! Delivery channels against real peers: an SMTP server (mailin-embedded) in
//! this process, and local axum servers playing the SMS provider and the
//! webhook receiver. No database: these run once, not per backend. Every
//! peer listens on its own 127.0.0.1:0 port, so the tests run in parallel.
use std::net::TcpListener as StdTcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{TimeZone, Utc};
use convergeai_alerts::config::Secret;
use convergeai_alerts::delivery::channels::Channels;
use convergeai_alerts::delivery::templates::{SMS_MAX_CHARS, Templates};
use convergeai_alerts::delivery::{Channel, DeliveryConfig, Notification, Recipient, SendError};
use convergeai_alerts::storage::entities::alert;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

// ---------------------------------------------------------------------------
// Fixtures

fn sample_alert(id: i64, alert_type: &str, title: &str) -> alert::Model {
    alert::Model {
        id,
        alert_type: alert_type.into(),
        severity: "critical".into(),
        title: title.into(),
        message: format!("Complaint #{id} \"Refund\" (high, assigned to Ada) missed its SLA deadline by 2h."),
        resource_type: Some("complaint".into()),
        resource_id: Some(id),
        assigned_to_staff_id: 7,
        is_read: false,
        is_dismissed: false,
        alert_metadata: Some(json!({"complaint_id": id, "priority": "high", "rule_id": 2})),
        created_at: Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap() + chrono::TimeDelta::microseconds(123_456),
        read_at: None,
        dismissed_at: None,
        expires_at: None,
        event_id: None,
        acknowledged_at: None,
        acknowledged_by: None,
        acknowledged_by_name: None,
        resolved_at: None,
        escalation_step: 0,
        ack_link_used_at: None,
        snoozed_until: None,
        snoozed_at: None,
    }
}

fn ada(phone: Option<&str>) -> Recipient {
    Recipient {
        staff_id: 7,
        full_name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        phone: phone.map(Into::into),
        time_zone: "UTC".into(),
    }
}

fn notification(delivery_id: i64, alert: alert::Model, recipient: Recipient) -> Notification {
    Notification { delivery_id, alert: alert.into(), recipient, ack_url: None, summary: None }
}

fn breach(delivery_id: i64) -> Notification {
    notification(delivery_id, sample_alert(42, "sla_breach", "SLA breached: complaint #42"), ada(Some("+15551234567")))
}

/// Nothing configured, private targets allowed (the peers are on loopback), a 5 s timeout.
fn base_config() -> DeliveryConfig {
    DeliveryConfig {
        smtp_from: "ConvergeAI Alerts <alerts@example.com>".into(),
        allow_private_targets: true,
        timeout: Duration::from_secs(5),
        ..DeliveryConfig::default()
    }
}

fn channels(config: &DeliveryConfig) -> Channels {
    Channels::new(config).expect("valid delivery config")
}

/// The error of `Channels::new` for a configuration that must be refused.
fn config_error(config: &DeliveryConfig) -> String {
    Channels::new(config).expect_err("the configuration is refused")
}

fn assert_retryable(result: Result<(), SendError>) -> (String, Option<Duration>) {
    match result {
        Err(SendError::Retryable { reason, retry_after }) => (reason, retry_after),
        other => panic!("expected Retryable, got {other:?}"),
    }
}

fn assert_permanent(result: Result<(), SendError>) -> String {
    match result {
        Err(SendError::Permanent(reason)) => reason,
        other => panic!("expected Permanent, got {other:?}"),
    }
}

fn assert_skipped(result: Result<(), SendError>) -> String {
    match result {
        Err(SendError::Skipped(reason)) => reason,
        other => panic!("expected Skipped, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// SMTP peer: mailin-embedded on a thread of its own

#[derive(Debug, Clone)]
pub(crate) struct Mail {
    pub(crate) envelope_to: Vec<String>,
    pub(crate) data: String,
}

impl Mail {
    /// A header's value, unfolded; `None` when absent.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let text = self.data.replace("\r\n", "\n");
        let head = text.split("\n\n").next().unwrap_or_default().replace("\n ", " ").replace("\n\t", " ");
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }
}

#[derive(Clone)]
struct SmtpHandler {
    /// Reply to RCPT TO with this code instead of 250.
    rcpt_reply: Option<u16>,
    mails: Arc<Mutex<Vec<Mail>>>,
    envelope_to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for SmtpHandler {
    fn rcpt(&mut self, _to: &str) -> mailin_embedded::Response {
        match self.rcpt_reply {
            Some(code) => mailin_embedded::Response::custom(code, format!("test server says {code}")),
            None => mailin_embedded::response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> mailin_embedded::Response {
        self.envelope_to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let mail =
            Mail { envelope_to: self.envelope_to.clone(), data: String::from_utf8_lossy(&self.data).into_owned() };
        self.mails.lock().unwrap().push(mail);
        mailin_embedded::response::OK
    }
}

/// An SMTP server on 127.0.0.1:0; returns its `smtp://` URL and the mails it accepted.
pub(crate) fn smtp_server(rcpt_reply: Option<u16>) -> (String, Arc<Mutex<Vec<Mail>>>) {
    let mails = Arc::new(Mutex::new(Vec::new()));
    let handler = SmtpHandler { rcpt_reply, mails: mails.clone(), envelope_to: Vec::new(), data: Vec::new() };
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind SMTP port");
    let addr = listener.local_addr().unwrap();
    let mut server = mailin_embedded::Server::new(handler);
    server.with_name("mx.test").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (format!("smtp://{addr}"), mails)
}

fn email_config(smtp_url: &str) -> DeliveryConfig {
    DeliveryConfig { smtp_url: Some(Secret::new(smtp_url)), ..base_config() }
}

// ---------------------------------------------------------------------------
// HTTP peer: an axum server that records what it is sent

#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    /// 429 with this `Retry-After`.
    RateLimited(&'static str),
    /// 200, after this long.
    Slow(Duration),
}

#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

struct HttpPeer {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl HttpPeer {
    async fn start(reply: Reply) -> HttpPeer {
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().route("/hook", post(record)).with_state((reply, received.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind HTTP port");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        HttpPeer { url: format!("http://{addr}/hook"), received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State((reply, received)): State<(Reply, Arc<Mutex<Vec<Received>>>)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    received.lock().unwrap().push(Received { headers, body });
    match reply {
        Reply::Status(code) => (StatusCode::from_u16(code).unwrap(), format!("test peer says {code}")).into_response(),
        Reply::RateLimited(after) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", after)], "slow down").into_response()
        }
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            StatusCode::OK.into_response()
        }
    }
}

fn sms_config(url: &str) -> DeliveryConfig {
    DeliveryConfig { sms_url: Some(url.into()), sms_token: Some(Secret::new("sms-token-do-not-leak")), ..base_config() }
}

const WEBHOOK_KEY: &[u8] = b"\x00\x01 a key of raw bytes \xfe\xff";

fn webhook_config(url: &str, secret: &str) -> DeliveryConfig {
    DeliveryConfig { webhook_url: Some(url.into()), webhook_secret: Some(Secret::new(secret)), ..base_config() }
}

/// Verifies a Standard Webhooks signature independently of the code under test.
fn assert_signed(request: &Received, key: &[u8]) {
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    assert_eq!(request.header("webhook-signature"), expected, "signature");
    let sent_at: i64 = timestamp.parse().expect("unix seconds");
    assert!((Utc::now().timestamp() - sent_at).abs() <= 60, "timestamp {sent_at} is now");
}

// ---------------------------------------------------------------------------
// Email

#[tokio::test]
async fn email_reaches_smtp_server_with_stable_message_id() {
    let (url, store) = smtp_server(None);
    let channels = channels(&email_config(&url));
    let n = breach(7);

    channels.send(Channel::Email, &n).await.expect("first send");
    channels.send(Channel::Email, &n).await.expect("retry of the same delivery");
    channels.send(Channel::Email, &breach(8)).await.expect("another delivery");

    let mails = store.lock().unwrap().clone();
    assert_eq!(mails.len(), 3);
    for mail in &mails {
        assert!(mail.envelope_to.iter().any(|t| t.contains("ada@example.com")), "envelope: {:?}", mail.envelope_to);
        assert!(mail.header("To").unwrap().contains("ada@example.com"), "To: {:?}", mail.header("To"));
        assert!(mail.header("From").unwrap().contains("alerts@example.com"));
        assert_eq!(mail.header("Subject").unwrap(), "[CRITICAL] SLA breached: complaint #42");
        assert!(mail.data.contains("SLA breached: complaint #42"), "body mentions the title:\n{}", mail.data);
        assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"), "text with an HTML alternative");
    }
    let ids: Vec<_> = mails.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids[0], "<alert-42.delivery-7@example.com>");
    assert_eq!(ids[1], ids[0], "a retry keeps the Message-ID");
    assert_eq!(ids[2], "<alert-42.delivery-8@example.com>");
}

#[tokio::test]
async fn email_rejected_mailbox_is_permanent() {
    let (url, store) = smtp_server(Some(550));
    let reason = assert_permanent(channels(&email_config(&url)).send(Channel::Email, &breach(1)).await);
    assert!(reason.contains("550"), "{reason}");
    assert!(store.lock().unwrap().is_empty());
}

#[tokio::test]
async fn email_temporary_rejection_is_retryable() {
    let (url, _) = smtp_server(Some(451));
    let (reason, _) = assert_retryable(channels(&email_config(&url)).send(Channel::Email, &breach(1)).await);
    assert!(reason.contains("451"), "{reason}");
}

#[tokio::test]
async fn email_unreachable_server_is_retryable() {
    let port = StdTcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again at once
    let config = email_config(&format!("smtp://127.0.0.1:{port}"));
    assert_retryable(channels(&config).send(Channel::Email, &breach(1)).await);
}

#[tokio::test]
async fn email_without_address_is_skipped() {
    let (url, store) = smtp_server(None);
    let mut n = breach(1);
    n.recipient.email = String::new();
    let reason = assert_skipped(channels(&email_config(&url)).send(Channel::Email, &n).await);
    assert!(reason.contains("email"), "{reason}");
    assert!(store.lock().unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// SMS

#[tokio::test]
async fn sms_is_posted_with_token_and_stable_reference() {
    let peer = HttpPeer::start(Reply::Status(200)).await;
    let channels = channels(&sms_config(&peer.url));
    channels.send(Channel::Sms, &breach(9)).await.expect("sent");
    channels.send(Channel::Sms, &breach(9)).await.expect("retry sent");

    let received = peer.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(request.header("authorization"), "Bearer sms-token-do-not-leak");
        assert!(request.header("content-type").starts_with("application/json"));
        let body = request.json();
        assert_eq!(body["to"], "+15551234567");
        assert_eq!(body["reference"], "delivery-9");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("SLA breached: complaint #42"), "{message}");
        assert!(message.chars().count() <= SMS_MAX_CHARS);
        assert_eq!(body.as_object().unwrap().len(), 3, "exactly to, message, reference: {body}");
    }
}

#[tokio::test]
async fn sms_server_error_is_retryable() {
    let peer = HttpPeer::start(Reply::Status(500)).await;
    let (reason, retry_after) = assert_retryable(channels(&sms_config(&peer.url)).send(Channel::Sms, &breach(1)).await);
    assert!(reason.contains("500"), "{reason}");
    assert_eq!(retry_after, None);
}

#[tokio::test]
async fn sms_rate_limit_is_retryable_after_retry_after() {
    let peer = HttpPeer::start(Reply::RateLimited("7")).await;
    let (reason, retry_after) = assert_retryable(channels(&sms_config(&peer.url)).send(Channel::Sms, &breach(1)).await);
    assert!(reason.contains("429"), "{reason}");
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn sms_bad_request_is_permanent() {
    let peer = HttpPeer::start(Reply::Status(400)).await;
    let reason = assert_permanent(channels(&sms_config(&peer.url)).send(Channel::Sms, &breach(1)).await);
    assert!(reason.contains("400") && reason.contains("test peer says 400"), "{reason}");
}

#[tokio::test]
async fn sms_slow_provider_times_out_as_retryable() {
    let peer = HttpPeer::start(Reply::Slow(Duration::from_secs(30))).await;
    let config = DeliveryConfig { timeout: Duration::from_millis(500), ..sms_config(&peer.url) };
    let channels = channels(&config);
    let started = Instant::now();
    let (reason, _) = assert_retryable(channels.send(Channel::Sms, &breach(1)).await);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(3), "returned after {took:?}");
    assert!(reason.contains("500ms"), "{reason}");
}

#[tokio::test]
async fn sms_without_phone_is_skipped() {
    let peer = HttpPeer::start(Reply::Status(200)).await;
    let n = notification(1, sample_alert(1, "sla_breach", "SLA breached: complaint #1"), ada(None));
    let reason = assert_skipped(channels(&sms_config(&peer.url)).send(Channel::Sms, &n).await);
    assert!(reason.contains("phone"), "{reason}");
    assert!(peer.received().is_empty());
}

#[tokio::test]
async fn sms_text_is_cut_to_320_characters() {
    let peer = HttpPeer::start(Reply::Status(200)).await;
    let mut n = breach(1);
    n.alert.message = "very long message ".repeat(50);
    channels(&sms_config(&peer.url)).send(Channel::Sms, &n).await.expect("sent");
    let body = peer.received()[0].json();
    let message = body["message"].as_str().unwrap();
    assert_eq!(message.chars().count(), SMS_MAX_CHARS);
    assert!(message.ends_with('…'), "{message}");
}

// ---------------------------------------------------------------------------
// Webhook

#[tokio::test]
async fn webhook_is_signed_per_standard_webhooks_with_stable_id() {
    let peer = HttpPeer::start(Reply::Status(204)).await;
    let secret = format!("whsec_{}", BASE64.encode(WEBHOOK_KEY));
    let channels = channels(&webhook_config(&peer.url, &secret));
    let n = breach(11);
    channels.send(Channel::Webhook, &n).await.expect("sent");
    channels.send(Channel::Webhook, &n).await.expect("retry sent");

    let received = peer.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_signed(request, WEBHOOK_KEY);
        assert_eq!(request.header("webhook-id"), "msg_42_11", "the same id on every retry");
        assert!(request.header("content-type").starts_with("application/json"));
        let body = request.json();
        assert_eq!(body["type"], "alert.created");
        let timestamp = body["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(), "RFC 3339: {timestamp}");

        let mut expected = serde_json::to_value(&n.alert).unwrap();
        expected["recipient"] = json!({"staff_id": 7, "full_name": "Ada Lovelace", "email": "ada@example.com"});
        assert_eq!(body["data"], expected, "the alert as the REST API shows it, plus the recipient");
    }
}

#[tokio::test]
async fn webhook_plain_secret_signs_with_its_bytes() {
    let peer = HttpPeer::start(Reply::Status(200)).await;
    let secret = "a plain secret, not whsec_";
    channels(&webhook_config(&peer.url, secret)).send(Channel::Webhook, &breach(3)).await.expect("sent");
    assert_signed(&peer.received()[0], secret.as_bytes());
}

#[tokio::test]
async fn webhook_statuses_are_classified() {
    let secret = "webhook-secret";
    let peer = HttpPeer::start(Reply::Status(503)).await;
    assert_retryable(channels(&webhook_config(&peer.url, secret)).send(Channel::Webhook, &breach(1)).await);
    let peer = HttpPeer::start(Reply::RateLimited("3")).await;
    let (_, retry_after) =
        assert_retryable(channels(&webhook_config(&peer.url, secret)).send(Channel::Webhook, &breach(1)).await);
    assert_eq!(retry_after, Some(Duration::from_secs(3)));
    let peer = HttpPeer::start(Reply::Status(410)).await;
    assert_permanent(channels(&webhook_config(&peer.url, secret)).send(Channel::Webhook, &breach(1)).await);
    let peer = HttpPeer::start(Reply::Status(302)).await;
    assert_permanent(channels(&webhook_config(&peer.url, secret)).send(Channel::Webhook, &breach(1)).await);
}

// ---------------------------------------------------------------------------
// Configuration and the SSRF guard

#[tokio::test]
async fn unconfigured_channels_are_skipped_and_in_app_sends_nothing() {
    let channels = channels(&base_config());
    let n = breach(1);
    for channel in [Channel::Email, Channel::Sms, Channel::Webhook] {
        let reason = assert_skipped(channels.send(channel, &n).await);
        assert!(reason.contains("not configured"), "{reason}");
    }
    assert_eq!(channels.send(Channel::InApp, &n).await, Ok(()));
}

#[tokio::test]
async fn ssrf_guard_refuses_private_targets_unless_allowed() {
    let sms = HttpPeer::start(Reply::Status(200)).await;
    let hook = HttpPeer::start(Reply::Status(200)).await;
    // The webhook by name, to go through DNS resolution.
    let hook_by_name = hook.url.replace("127.0.0.1", "localhost");
    let config = DeliveryConfig {
        sms_url: Some(sms.url.clone()),
        sms_token: Some(Secret::new("sms-token-do-not-leak")),
        webhook_url: Some(hook_by_name),
        webhook_secret: Some(Secret::new("webhook-secret")),
        allow_private_targets: false,
        ..base_config()
    };

    let guarded = channels(&config);
    let reason = assert_permanent(guarded.send(Channel::Sms, &breach(1)).await);
    assert!(reason.contains("127.0.0.1") && reason.contains("loopback"), "{reason}");
    let reason = assert_permanent(guarded.send(Channel::Webhook, &breach(1)).await);
    assert!(reason.contains("localhost") && reason.contains("loopback"), "{reason}");
    assert!(sms.received().is_empty() && hook.received().is_empty(), "nothing reached the peers");

    let open = channels(&DeliveryConfig { allow_private_targets: true, ..config });
    open.send(Channel::Sms, &breach(1)).await.expect("SMS allowed");
    open.send(Channel::Webhook, &breach(1)).await.expect("webhook allowed");
    assert_eq!((sms.received().len(), hook.received().len()), (1, 1));
}

#[test]
fn bad_configuration_is_a_clear_error_without_secrets() {
    let error = |config: DeliveryConfig| config_error(&config);
    let e = error(email_config("smtp://mailer:hunter2@mail.example.com:587?tls=sometimes"));
    assert!(e.contains("tls=sometimes") && e.contains("***") && !e.contains("hunter2"), "{e}");
    let e = error(email_config("ftp://mail.example.com"));
    assert!(e.contains("ftp"), "{e}");
    let e = error(email_config("not a url at all hunter2"));
    assert!(e.contains("SMTP URL") && !e.contains("hunter2"), "{e}");
    let e = error(DeliveryConfig { smtp_from: "not an address".into(), ..email_config("smtp://127.0.0.1:2525") });
    assert!(e.contains("sender"), "{e}");
    let e = error(sms_config("ftp://sms.example.com/send"));
    assert!(e.contains("SMS provider URL"), "{e}");
    let e = error(DeliveryConfig { webhook_url: Some("https://hooks.example.com/x".into()), ..base_config() });
    assert!(e.contains("secret"), "{e}");
    let e = error(webhook_config("https://hooks.example.com/x", "whsec_!!not base64!!"));
    assert!(e.contains("whsec_") && !e.contains("!!not base64!!"), "{e}");

    let config = DeliveryConfig {
        smtp_url: Some(Secret::new("smtp://mailer:hunter2@mail.example.com:587")),
        webhook_secret: Some(Secret::new("webhook-secret-do-not-leak")),
        webhook_url: Some("https://hooks.example.com/x".into()),
        ..sms_config("https://sms.example.com/send")
    };
    let shown = format!("{:?}", channels(&config));
    for secret in ["hunter2", "sms-token-do-not-leak", "webhook-secret-do-not-leak"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("mail.example.com"), "{shown}");
}

// ---------------------------------------------------------------------------
// Templates

#[tokio::test]
async fn template_overrides_win_over_builtins_type_specific_first() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("email_subject.sla_breach.j2", "Breach! {{ alert.title }} for {{ recipient.full_name }}");
    write("email_subject.j2", "Generic: {{ type_label }} #{{ metadata.complaint_id }}");
    write("sms.j2", "{{ severity_label }} {{ alert.alert_type }} ref {{ delivery_id }}");
    write("README.txt", "not a template: ignored");

    let (url, store) = smtp_server(None);
    let peer = HttpPeer::start(Reply::Status(200)).await;
    let config = DeliveryConfig {
        templates_dir: Some(dir.path().to_owned()),
        smtp_url: email_config(&url).smtp_url,
        ..sms_config(&peer.url)
    };
    let channels = channels(&config);
    let critical =
        notification(5, sample_alert(43, "critical_complaint", "Critical complaint #43"), ada(Some("+1555")));
    channels.send(Channel::Email, &breach(4)).await.expect("breach email");
    channels.send(Channel::Email, &critical).await.expect("critical email");
    channels.send(Channel::Sms, &critical).await.expect("sms");

    let mails = store.lock().unwrap().clone();
    assert_eq!(mails[0].header("Subject").unwrap(), "Breach! SLA breached: complaint #42 for Ada Lovelace");
    assert_eq!(mails[1].header("Subject").unwrap(), "Generic: Critical complaint #43");
    assert!(mails[1].data.contains("Critical complaint #43"), "built-in body still used");
    assert_eq!(peer.received()[0].json()["message"], "CRITICAL critical_complaint ref 5");
}

#[test]
fn broken_or_misnamed_template_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("email_text.sla_breach.j2"), "Hello {{ recipient.full_name ").unwrap();
    let config = DeliveryConfig { templates_dir: Some(dir.path().to_owned()), ..base_config() };
    let e = config_error(&config);
    assert!(e.contains("email_text.sla_breach.j2") && !e.contains('\n'), "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("emial_subject.j2"), "Hi").unwrap();
    let e = config_error(&DeliveryConfig { templates_dir: Some(dir.path().to_owned()), ..base_config() });
    assert!(e.contains("emial_subject.j2"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sms.sla_braech.j2"), "Hi").unwrap();
    let e = config_error(&DeliveryConfig { templates_dir: Some(dir.path().to_owned()), ..base_config() });
    assert!(e.contains("sms.sla_braech.j2"), "{e}");

    let missing = dir.path().join("missing");
    let e = config_error(&DeliveryConfig { templates_dir: Some(missing), ..base_config() });
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn builtin_templates_escape_html_only_in_the_html_part() {
    let templates = Templates::load(None).unwrap();
    let n = notification(1, sample_alert(44, "high_workload", "Load <b>&</b> more"), ada(None));
    let email = templates.email(&n).unwrap();
    assert_eq!(email.subject, "[CRITICAL] Load <b>&</b> more");
    assert!(email.text.contains("Load <b>&</b> more"), "{}", email.text);
    let html = email.html.expect("an HTML alternative");
    assert!(html.contains("Load &lt;b&gt;&amp;&lt;") && !html.contains("<b>&</b>"), "{html}");
    assert!(templates.sms(&n).unwrap().contains("Load <b>&</b> more"));
}

#[test]
fn builtin_templates_carry_the_acknowledge_link_whole() {
    let templates = Templates::load(None).unwrap();
    let url = "https://alerts.example.com/ack/42.7.1893456000.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJlLWFiY2RlZmdo";
    let without = breach(1);
    assert!(!templates.email(&without).unwrap().text.contains("/ack/"));
    assert!(!templates.sms(&without).unwrap().contains("/ack/"));
    let long = "x".repeat(400);
    let mut n = notification(2, sample_alert(42, "sla_breach", &long), ada(Some("+15551234567")));
    n.ack_url = Some(url.to_owned());
    let email = templates.email(&n).unwrap();
    assert!(email.text.contains(&format!("Acknowledge for everyone who got this alert: {url}")), "{}", email.text);
    // HTML-escaped in the attribute (`/` as `&#x2f;`), which a mail client reads back as the URL.
    let html = email.html.unwrap();
    let token = url.rsplit('/').next().unwrap();
    assert!(html.contains(&format!("{token}\">Acknowledge</a>")), "{html}");
    let sms = templates.sms(&n).unwrap();
    assert!(sms.ends_with(&format!(" Ack: {url}")), "{sms}");
    assert!(sms.chars().count() <= 320, "{}", sms.chars().count());
}
