//! Email (SMTP), SMS (HTTP provider API), signed webhooks, and the team
//! channels' incoming webhooks (Slack, Microsoft Teams; payloads in `team`).
//!
//! [`Channels::new`] checks the configuration and compiles the templates
//! once; [`Channels::send`] makes one attempt at one delivery and says
//! whether trying again can help ([`SendError`]). Nothing here retries: the
//! outbox dispatcher does, so every id a receiver sees (email Message-ID,
//! webhook id, SMS reference) is derived from the outbox row and stays the
//! same across retries.
//!
//! Secrets (SMTP password, SMS token, webhook secret, the Slack and Teams
//! webhook URLs) never appear in errors, logs or `Debug` output; URLs are
//! shown with their password as `***`, the team webhooks as their host only.
use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::json;
use sha2::Sha256;
use url::{Host, Url};

use super::team::{self, TeamPost};
use super::templates::Templates;
use super::{Channel, DeliveryConfig, Notification, SendError, TeamChannel};
use crate::domain::auth::Secret;

/// The longest a TCP connect to an SMS provider or webhook receiver may take
/// (less when the configured timeout is shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `Retry-After` passed on to the dispatcher.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How much of an error response's body is quoted in the reason.
const BODY_SNIPPET_BYTES: usize = 200;

/// The configured delivery channels and the compiled templates.
pub struct Channels {
    templates: Templates,
    email: Option<Email>,
    sms: Option<Sms>,
    webhook: Option<Webhook>,
    slack: Option<TeamHook>,
    teams: Option<TeamHook>,
    http: Http,
}

impl fmt::Debug for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channels")
            .field("email", &self.email.as_ref().map(|e| &e.server))
            .field("sms", &self.sms.as_ref().map(|s| redact(&s.url)))
            .field("webhook", &self.webhook.as_ref().map(|w| redact(&w.url)))
            .field("slack", &self.slack.as_ref().map(|h| redact_path(&h.url)))
            .field("teams", &self.teams.as_ref().map(|h| redact_path(&h.url)))
            .field("allow_private_targets", &self.http.allow_private_targets)
            .field("templates", &self.templates)
            .finish()
    }
}

impl Channels {
    /// Checks the configuration (URLs, sender address, webhook secret),
    /// compiles the templates and builds the clients. A channel without a URL
    /// is off, not an error; the error is one line saying what is wrong.
    pub fn new(config: &DeliveryConfig) -> Result<Self, String> {
        let templates = Templates::load(config.templates_dir.as_deref())?;
        let email = match config.smtp_url.as_ref().filter(|u| !u.expose().trim().is_empty()) {
            Some(url) => Some(Email::new(url, &config.smtp_from, config.timeout)?),
            None => None,
        };
        let sms = match non_empty(&config.sms_url) {
            Some(url) => Some(Sms::new(url, config.sms_token.as_ref())?),
            None => None,
        };
        let webhook = match non_empty(&config.webhook_url) {
            Some(url) => Some(Webhook::new(url, config.webhook_secret.as_ref())?),
            None => None,
        };
        let team_hook = |url: &Option<Secret>, what: &'static str| {
            url.as_ref()
                .map(|u| u.expose().trim())
                .filter(|u| !u.is_empty())
                .map(|u| TeamHook::new(what, u))
                .transpose()
        };
        let slack = team_hook(&config.slack_webhook_url, "Slack webhook")?;
        let teams = team_hook(&config.teams_webhook_url, "Teams webhook")?;
        let http = Http::new(config.timeout, config.allow_private_targets)?;
        Ok(Self { templates, email, sms, webhook, slack, teams, http })
    }

    /// One attempt at posting an alert event to a team channel.
    pub async fn post(&self, channel: TeamChannel, post: &TeamPost) -> Result<(), SendError> {
        let (hook, body) = match channel {
            TeamChannel::Slack => (&self.slack, team::slack_payload(post)),
            TeamChannel::Teams => (&self.teams, team::teams_payload(post)),
        };
        let Some(hook) = hook else {
            return Err(SendError::Skipped(format!("{channel} is not configured (no {channel} webhook URL)")));
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let result = self.http.post(hook.peer, &hook.url, headers, body.to_string().into_bytes()).await;
        if result.is_ok() {
            tracing::debug!(channel = channel.as_str(), delivery_id = post.delivery_id, "team post sent");
        }
        result
    }

    /// One attempt at delivering `notification` over `channel`.
    /// `Channel::InApp` needs no sending (the inbox row is the delivery).
    pub async fn send(&self, channel: Channel, notification: &Notification) -> Result<(), SendError> {
        let result = match channel {
            Channel::InApp => return Ok(()),
            Channel::Email => match &self.email {
                Some(email) => email.send(&self.templates, notification).await,
                None => Err(SendError::Skipped("email is not configured (no SMTP URL)".into())),
            },
            Channel::Sms => match &self.sms {
                Some(sms) => sms.send(&self.http, &self.templates, notification).await,
                None => Err(SendError::Skipped("sms is not configured (no SMS provider URL)".into())),
            },
            Channel::Webhook => match &self.webhook {
                Some(webhook) => webhook.send(&self.http, notification).await,
                None => Err(SendError::Skipped("webhook is not configured (no webhook URL)".into())),
            },
        };
        if result.is_ok() {
            tracing::debug!(channel = channel.as_str(), delivery_id = notification.delivery_id, "notification sent");
        }
        result
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------------------
// Email

/// Email over SMTP. The URL picks the transport security:
/// - `smtp://host:port` — STARTTLS when the server offers it (port 587 by default);
///   plain when the host is loopback (`localhost`, `127.0.0.1`, `::1`);
/// - `smtp://host:port?tls=required` — STARTTLS or fail (587);
/// - `smtp://host:port?tls=opportunistic` — STARTTLS when offered, also on loopback (587);
/// - `smtp://host:port?tls=none` — plain, never TLS (25);
/// - `smtps://host:port` — implicit TLS (465).
///
/// `user:password@` in the URL (percent-encoded) is used for AUTH.
struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of the sender address, the right-hand side of Message-IDs.
    domain: String,
    /// The URL with its password hidden, for `Debug`.
    server: String,
    timeout: Duration,
}

#[derive(Clone, Copy)]
enum SmtpSecurity {
    Plain,
    StartTlsOpportunistic,
    StartTlsRequired,
    Implicit,
}

impl Email {
    fn new(url: &Secret, from: &str, timeout: Duration) -> Result<Self, String> {
        let url = Url::parse(url.expose().trim()).map_err(|e| format!("invalid SMTP URL: {e}"))?;
        let shown = redact(&url);
        let host = match url.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(format!("invalid SMTP URL {shown}: no host")),
        };
        let loopback = match url.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" => tls = Some(value.into_owned()),
                other => return Err(format!("invalid SMTP URL {shown}: unknown parameter {other:?} (only tls)")),
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) if loopback => SmtpSecurity::Plain,
            ("smtp", None | Some("opportunistic")) => SmtpSecurity::StartTlsOpportunistic,
            ("smtp", Some("required")) => SmtpSecurity::StartTlsRequired,
            ("smtp", Some("none")) => SmtpSecurity::Plain,
            ("smtp", Some(other)) => {
                return Err(format!(
                    "invalid SMTP URL {shown}: tls={other} (expected none, opportunistic or required)"
                ));
            }
            ("smtps", None) => SmtpSecurity::Implicit,
            ("smtps", Some(_)) => {
                return Err(format!("invalid SMTP URL {shown}: smtps:// always uses TLS, drop the tls parameter"));
            }
            (scheme, _) => {
                return Err(format!("invalid SMTP URL {shown}: scheme {scheme}:// (expected smtp or smtps)"));
            }
        };
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTlsOpportunistic | SmtpSecurity::StartTlsRequired => 587,
            SmtpSecurity::Implicit => 465,
        });
        let tls_parameters =
            || TlsParameters::new(host.clone()).map_err(|e| format!("SMTP URL {shown}: cannot set up TLS: {e}"));
        let tls = match security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTlsOpportunistic => Tls::Opportunistic(tls_parameters()?),
            SmtpSecurity::StartTlsRequired => Tls::Required(tls_parameters()?),
            SmtpSecurity::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        if !url.username().is_empty() {
            let user = percent_decode(url.username());
            let password = percent_decode(url.password().unwrap_or_default());
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from: Mailbox = from.trim().parse().map_err(|e| format!("invalid email sender address {from:?}: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self { transport: builder.build(), from, domain, server: shown, timeout })
    }

    async fn send(&self, templates: &Templates, notification: &Notification) -> Result<(), SendError> {
        let recipient = &notification.recipient;
        let address = recipient.email.trim();
        if address.is_empty() {
            return Err(SendError::Skipped("recipient has no email address".into()));
        }
        let address: Address = address
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient email {address:?} is not a valid address: {e}")))?;
        let name = Some(recipient.full_name.trim().to_owned()).filter(|n| !n.is_empty());
        let content = templates.email(notification).map_err(SendError::Permanent)?;
        let message_id =
            format!("<alert-{}.delivery-{}@{}>", notification.alert.id, notification.delivery_id, self.domain);
        let builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(content.subject)
            .message_id(Some(message_id));
        let message = match content.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(content.text, html)),
            None => builder.singlepart(SinglePart::plain(content.text)),
        }
        .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(smtp_error(&e)),
            Err(_) => Err(retryable(format!("SMTP server did not finish within {:?}", self.timeout))),
        }
    }
}

/// 5xx replies (and errors of our own making) cannot succeed on a retry;
/// 4xx replies, network errors, timeouts and TLS trouble may.
fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    let reason = format!("SMTP: {}", error_chain(e));
    if e.is_permanent() || e.is_client() { SendError::Permanent(reason) } else { retryable(reason) }
}

/// Decodes `%XX` escapes (URL user info); invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) =
                (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// SMS

/// SMS through an HTTP provider API: one JSON POST per message,
///
/// ```text
/// POST <sms_url>
/// Authorization: Bearer <sms_token>        (omitted when no token is configured)
/// Content-Type: application/json
///
/// {"to": "+15551234567", "message": "[CRITICAL] SLA breached: …", "reference": "delivery-42"}
/// ```
///
/// `to` is the recipient's phone as stored; `message` is the rendered `sms`
/// template (at most 320 characters); `reference` is `delivery-<outbox row
/// id>`, the same on every retry, so the provider can deduplicate.
///
/// Answers: 2xx sent; 429 retry (after `Retry-After`, seconds or an HTTP
/// date); 5xx, connection errors and timeouts retry; any other status is
/// permanent. Redirects are not followed. A recipient without a phone is
/// skipped.
struct Sms {
    url: Url,
    authorization: Option<HeaderValue>,
}

impl Sms {
    fn new(url: &str, token: Option<&Secret>) -> Result<Self, String> {
        let url = http_url("SMS provider URL", url)?;
        let authorization = match token.map(|t| t.expose().trim()).filter(|t| !t.is_empty()) {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| "the SMS token contains characters not allowed in an HTTP header".to_owned())?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(Self { url, authorization })
    }

    async fn send(&self, http: &Http, templates: &Templates, notification: &Notification) -> Result<(), SendError> {
        let Some(phone) = notification.recipient.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
            return Err(SendError::Skipped("recipient has no phone number".into()));
        };
        let message = templates.sms(notification).map_err(SendError::Permanent)?;
        let body = json!({
            "to": phone,
            "message": message,
            "reference": format!("delivery-{}", notification.delivery_id),
        });
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        http.post("SMS provider", &self.url, headers, body.to_string().into_bytes()).await
    }
}

// ---------------------------------------------------------------------------
// Webhook

/// A signed JSON POST of each alert, per the Standard Webhooks spec
/// (<https://www.standardwebhooks.com/>):
///
/// ```text
/// POST <webhook_url>
/// Content-Type: application/json
/// webhook-id: msg_<alert id>_<delivery id>          (the same on every retry)
/// webhook-timestamp: <unix seconds of this attempt>
/// webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
///
/// {"type": "alert.created", "timestamp": "<alert created_at, RFC 3339>",
///  "data": {<the alert as GET /api/v1/alerts/{id} returns it>,
///           "recipient": {"staff_id": 7, "full_name": "…", "email": "…"}}}
/// ```
///
/// The key is the secret's UTF-8 bytes, or, when the secret starts with
/// `whsec_`, the base64-decoded rest (as the spec's secrets look). Answers
/// are classified as for SMS.
struct Webhook {
    url: Url,
    key: SigningKey,
}

/// HMAC key bytes, hidden from `Debug`.
struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl Webhook {
    fn new(url: &str, secret: Option<&Secret>) -> Result<Self, String> {
        let url = http_url("webhook URL", url)?;
        let secret = secret
            .map(|s| s.expose().trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| "a webhook URL is set but no webhook secret: webhooks are always signed".to_owned())?;
        let key = match secret.strip_prefix("whsec_") {
            Some(encoded) => BASE64
                .decode(encoded)
                .map_err(|_| "the webhook secret starts with whsec_ but the rest is not valid base64".to_owned())?,
            None => secret.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err("the webhook secret is empty".into());
        }
        Ok(Self { url, key: SigningKey(key) })
    }

    async fn send(&self, http: &Http, notification: &Notification) -> Result<(), SendError> {
        let alert = &notification.alert;
        let recipient = &notification.recipient;
        let mut data = serde_json::to_value(alert)
            .map_err(|e| SendError::Permanent(format!("cannot serialise alert {}: {e}", alert.id)))?;
        if let Some(object) = data.as_object_mut() {
            object.insert(
                "recipient".into(),
                json!({"staff_id": recipient.staff_id, "full_name": recipient.full_name, "email": recipient.email}),
            );
        }
        let body = json!({
            "type": "alert.created",
            "timestamp": alert.created_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "data": data,
        })
        .to_string();
        let id = format!("msg_{}_{}", alert.id, notification.delivery_id);
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(&self.key.0, &id, timestamp, body.as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("webhook-id", header_value(&id));
        headers.insert("webhook-timestamp", header_value(&timestamp.to_string()));
        headers.insert("webhook-signature", header_value(&format!("v1,{signature}")));
        http.post("webhook receiver", &self.url, headers, body.into_bytes()).await
    }
}

/// Base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}").
fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    BASE64.encode(mac.finalize().into_bytes())
}

/// A header value from text we made (ASCII digits, letters, `_`, `,`, base64).
fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("ASCII header value")
}

// ---------------------------------------------------------------------------
// Team channels

/// A Slack or Teams incoming webhook: a JSON POST of the product's own
/// payload (see `team`). The URL's path (and query) is the credential: it
/// is shown as its host only. Answers are classified as for the webhook
/// (2xx sent; 429, 5xx, timeouts retry; other 4xx permanent, e.g. Slack's
/// 404 `no_service` for a revoked hook). Neither product deduplicates, so a
/// post retried after a lost answer may show twice (at least once).
struct TeamHook {
    url: Url,
    /// "Slack webhook", "Teams webhook": the peer in reasons.
    peer: &'static str,
}

impl TeamHook {
    fn new(peer: &'static str, raw: &str) -> Result<Self, String> {
        // The error must not quote the URL: its path is the secret.
        let url = Url::parse(raw).map_err(|e| format!("invalid {peer} URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(format!("invalid {peer} URL {}: expected http(s)://host/…", redact_path(&url)));
        }
        Ok(Self { url, peer })
    }
}

/// `scheme://host[:port]/***`: a URL whose path is a credential, shown without it.
fn redact_path(url: &Url) -> String {
    format!("{}://{}/***", url.scheme(), host_port(url))
}

// ---------------------------------------------------------------------------
// HTTP (SMS, webhook, team channels)

/// The one HTTP client, with the SSRF guard. With the guard on, the client
/// also resolves names through [`PublicOnlyResolver`], which applies to an
/// HTTP proxy taken from the environment too: such a proxy must be on a
/// public address, or private targets allowed.
struct Http {
    client: reqwest::Client,
    allow_private_targets: bool,
    timeout: Duration,
}

impl Http {
    fn new(timeout: Duration, allow_private_targets: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("convergeai-alerts/", env!("CARGO_PKG_VERSION")));
        if !allow_private_targets {
            // Checks the addresses actually connected to, so a name that
            // resolves differently after the pre-check (DNS rebinding) is still refused.
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder.build().map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))?;
        Ok(Self { client, allow_private_targets, timeout })
    }

    /// POSTs `body` to `url` and classifies the answer, all within the
    /// timeout (name resolution included). `peer` names the other side in
    /// reasons ("SMS provider", "webhook receiver").
    async fn post(&self, peer: &str, url: &Url, headers: HeaderMap, body: Vec<u8>) -> Result<(), SendError> {
        match tokio::time::timeout(self.timeout, self.attempt(peer, url, headers, body)).await {
            Ok(result) => result,
            Err(_) => Err(retryable(format!("{peer} did not answer within {:?}", self.timeout))),
        }
    }

    async fn attempt(&self, peer: &str, url: &Url, headers: HeaderMap, body: Vec<u8>) -> Result<(), SendError> {
        self.check_target(peer, url).await?;
        let response = self.client.post(url.clone()).headers(headers).body(body).send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_timeout() {
                retryable(format!("{peer} did not answer within {:?}", self.timeout))
            } else if e.is_connect() {
                retryable(format!("cannot connect to {peer} {}: {}", host_port(url), error_chain(&e)))
            } else {
                retryable(format!("request to {peer} failed: {}", error_chain(&e)))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = parse_retry_after(response.headers(), chrono::Utc::now());
        let reason = format!("{peer} answered {status}{}", body_snippet(response).await);
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(SendError::Retryable { reason, retry_after })
        } else if status.is_redirection() {
            Err(SendError::Permanent(format!("{reason} (redirects are not followed)")))
        } else {
            Err(SendError::Permanent(reason))
        }
    }

    /// The SSRF guard: unless private targets are allowed, every address the
    /// URL's host resolves to must be a public one.
    async fn check_target(&self, peer: &str, url: &Url) -> Result<(), SendError> {
        if self.allow_private_targets {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let addresses: Vec<IpAddr> = match url.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(name)) => match tokio::net::lookup_host((name, port)).await {
                Ok(addresses) => addresses.map(|a| a.ip()).collect(),
                Err(e) => return Err(retryable(format!("cannot resolve {peer} host {name}: {e}"))),
            },
            None => return Err(SendError::Permanent(format!("{peer} URL has no host"))),
        };
        if addresses.is_empty() {
            return Err(retryable(format!("{peer} host {} resolves to no address", host_port(url))));
        }
        for ip in addresses {
            if let Some(kind) = non_public(ip) {
                let target = match url.host() {
                    Some(Host::Domain(name)) => format!("host {name} resolves to {ip}, a {kind} address"),
                    _ => format!("address {ip} is a {kind} address"),
                };
                return Err(SendError::Permanent(format!(
                    "{peer} {target}: refused (SSRF guard; allow private targets to send there)"
                )));
            }
        }
        Ok(())
    }
}

/// Resolves like the system resolver, but fails when any address is not public.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some((ip, kind)) = addresses.iter().find_map(|a| non_public(a.ip()).map(|kind| (a.ip(), kind))) {
                return Err(format!("{host} resolves to {ip}, a {kind} address (SSRF guard)").into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => non_public_v4(v4),
            None => non_public_v6(ip),
        },
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if a >= 240 {
        Some("reserved")
    } else if (a, b, c) == (192, 0, 0) {
        Some("protocol assignment")
    } else if matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113)) {
        Some("documentation")
    } else {
        None
    }
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 and 6to4 reach IPv4 addresses through a translator, private ones included.
        Some("NAT64")
    } else if first == 0x2002 {
        Some("6to4")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if ip.segments()[..4] == [0x100, 0, 0, 0] {
        Some("discard")
    } else {
        None
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at a day; `None` when absent or unreadable.
fn parse_retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// `": <the start of the body>"` on one line, or nothing when the body is empty or unreadable.
async fn body_snippet(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < BODY_SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_SNIPPET_BYTES)]);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() { String::new() } else { format!(": {text}") }
}

/// An http(s) URL with a host; the error names `what` and shows the URL without its password.
fn http_url(what: &str, raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("invalid {what}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("invalid {what} {}: expected http:// or https://", redact(&url)));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("invalid {what} {}: no host", redact(&url)));
    }
    Ok(url)
}

/// The URL as text with its password replaced by `***`.
fn redact(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

fn host_port(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

fn retryable(reason: String) -> SendError {
    SendError::Retryable { reason, retry_after: None }
}

/// An error and its sources, `": "`-separated, skipping a source already in its parent's text.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "2002:a00:1::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(non_public(ip.parse().unwrap()).is_some(), "{ip} should be refused");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "2001:4860::8888",
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), None, "{ip} should be allowed");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let mut headers = HeaderMap::new();
        assert_eq!(parse_retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 01 Jan 2025 00:01:30 GMT"));
        assert_eq!(parse_retry_after(&headers, now), Some(Duration::from_secs(90)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Tue, 31 Dec 2024 23:00:00 GMT"));
        assert_eq!(parse_retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&headers, now), None);
    }

    #[test]
    fn smtp_url_forms() {
        let timeout = Duration::from_secs(1);
        let email = |url: &str| Email::new(&Secret::new(url), "alerts@localhost", timeout);
        let plain = email("smtp://127.0.0.1:2525").expect("plain on loopback");
        assert_eq!(plain.domain, "localhost", "the default sender works");
        for url in [
            "smtp://mail.example.com",
            "smtp://user:p%40ss@mail.example.com:587?tls=required",
            "smtp://mail.example.com:2525?tls=none",
            "smtp://localhost:2525?tls=opportunistic",
            "smtps://user:pass@mail.example.com",
            "smtp://[::1]:2525",
        ] {
            assert!(email(url).is_ok(), "{url}");
        }
        for url in ["smtps://mail.example.com?tls=none", "smtp://mail.example.com?port=1", "smtp:///nohost"] {
            let e = email(url).err().expect(url);
            assert!(e.starts_with("invalid SMTP URL"), "{url}: {e}");
        }
    }

    #[test]
    fn team_webhook_urls_are_never_shown_whole() {
        let secret = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";
        let hook = TeamHook::new("Slack webhook", secret).expect("valid");
        assert_eq!(redact_path(&hook.url), "https://hooks.slack.com:443/***");
        let config = DeliveryConfig { slack_webhook_url: Some(Secret::new(secret)), ..Default::default() };
        let shown = format!("{:?}", Channels::new(&config).expect("channels"));
        assert!(!shown.contains("XXXX") && shown.contains("hooks.slack.com"), "{shown}");
        let e = TeamHook::new("Teams webhook", "ftp://example.com/secret-path").err().expect("refused");
        assert!(!e.contains("secret-path"), "{e}");
        assert!(TeamHook::new("Teams webhook", "not a url with a secret").is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%2Bw0rd%"), "p@ss+w0rd%");
        assert_eq!(percent_decode("plain+text"), "plain+text");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
