//! `GET /api/v1/alerts/ws`: live alerts and unread counts for the caller.
//!
//! Messages (JSON text frames): `{"type": "unread_count", "unread_count": N}`
//! on connect and after every change; `{"type": "alert.created", "alert":
//! {...}}`; `{"type": "alert.updated", "alert": {...}}` after a read or
//! dismiss; `{"type": "alert.updated", "read_all": true, "updated": N}`
//! after read-all; `{"type": "alert.created", "alert": {...}, "woken": true}`
//! when a snoozed alert comes back (a client that knows `alert.created`
//! shows it as it shows a new one). The same alert object as the REST API.
//! `alert.created` carries `"silent": true` while the person is in quiet
//! hours or do-not-disturb (the client shows it without a sound or a
//! banner); each connection keeps the person's quiet hours and reads them
//! again when they change.
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::events::{Change, StaffEvent};
use crate::domain::preferences::Quiet;
use crate::domain::{App, DomainError, alerts, api_keys, auth};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Query, bearer_token};
use crate::http::openapi::ErrorBody;

/// A ping this often keeps proxies from closing an idle connection.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// A client that sends nothing (not even a pong) for this long is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A client that cannot take a message within this time is dropped, so it never holds up anything.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Close code for an expired token (application-defined range 4000–4999).
const CLOSE_TOKEN_EXPIRED: u16 = 4001;
/// Read buffer of a connection. Clients only send pongs and a close frame
/// (the buffer grows for a larger frame). tungstenite's default is 128 KiB,
/// zero-filled before the first read, so each idle connection held 130 KiB
/// of RSS (1.3 GB for 10 000; docs/PERFORMANCE.md).
const READ_BUFFER_BYTES: usize = 1024;
/// The largest message or frame a client may send: a pong echoes a ping's
/// payload (ours are empty; a control frame carries at most 125 bytes), and
/// a close frame its code and reason. tungstenite's defaults (64 MiB
/// messages, 16 MiB frames) let one connection make the server buffer that much.
const MAX_CLIENT_MESSAGE_BYTES: usize = 4096;
/// Close code for a deactivated account.
const CLOSE_ACCESS_REVOKED: u16 = 4003;
/// How often a connection re-checks that its account is still active (a
/// deactivation made on an instance that does not share this one's event
/// bus, or by the CLI on another process, reaches it this way).
const ACCOUNT_RECHECK: Duration = Duration::from_secs(30);

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(connect))
}

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// Opens the caller's live feed. The token comes in the `Authorization`
/// header or, for browsers, as `?token=`; it is checked before the upgrade.
#[utoipa::path(get, path = "/alerts/ws", operation_id = "alerts_websocket", tag = "alerts", params(("token" = Option<String>, Query, description = "Access token, when the Authorization header cannot be set")),
    security(("bearer" = [])), responses(
    (status = 101, description = "Switching to the WebSocket protocol"),
    (status = 400, description = "Not a WebSocket handshake (no `Connection: upgrade`, `Upgrade: websocket`, version 13 and key)", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 426, description = "The connection cannot be upgraded (not HTTP/1.1)", body = ErrorBody),
))]
async fn connect(State(app): State<App>, Query(query): Query<WsQuery>, mut parts: Parts) -> ApiResult<Response> {
    let token = bearer_token(&parts)
        .map(str::to_owned)
        .or(query.token)
        .ok_or_else(|| ApiError::unauthorized("not authenticated"))?;
    if api_keys::is_api_key(&token) {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "an API key has no inbox to follow; use a staff member's token",
        ));
    }
    let verified = app.auth.decode(&token, app.clock.now())?;
    let principal = auth::session_principal(&app, &token, &verified).await?;
    principal.require("alerts.read")?;
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &app)
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES);
    let session = Session { token, verified };
    Ok(upgrade.on_upgrade(move |socket| feed(app, session, socket)))
}

enum Exit {
    ClientLeft,
    Expired,
    Revoked,
    /// Signed out, or ended by a password change (or deactivated, noticed by a re-check).
    Ended,
    Idle,
    Slow,
}

/// The token a connection was opened with, checked again when the person's
/// sessions change.
struct Session {
    token: String,
    verified: auth::Verified,
}

impl Session {
    /// Whether the session ended: only a definite "no" (signed out, ended,
    /// deactivated), not a database hiccup.
    async fn ended(&self, app: &App) -> bool {
        matches!(auth::session_principal(app, &self.token, &self.verified).await, Err(DomainError::Unauthenticated(_)))
    }
}

async fn feed(app: App, session: Session, mut socket: WebSocket) {
    app.metrics.ws_connections.inc();
    run_feed(&app, &session, &mut socket).await;
    app.metrics.ws_connections.dec();
}

async fn run_feed(app: &App, session: &Session, socket: &mut WebSocket) {
    let (me, expires) = (session.verified.staff_id, session.verified.expires_at);
    // Subscribe before the snapshot, so nothing falls between them.
    let mut events = app.events.subscribe();
    let mut quiet = quiet_of(app, me).await;
    let exit = 'conn: {
        if send_unread_count(app, me, socket).await.is_err() {
            break 'conn Exit::Slow;
        }
        let until_expiry = (expires - app.clock.now().timestamp()).max(0) as u64;
        let expiry = tokio::time::sleep(Duration::from_secs(until_expiry));
        tokio::pin!(expiry);
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        let mut last_heard = tokio::time::Instant::now();
        let mut recheck = tokio::time::interval(ACCOUNT_RECHECK);
        recheck.tick().await;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) if event.staff_id == me && matches!(event.change, Change::AccessRevoked) => {
                        break 'conn Exit::Revoked;
                    }
                    Ok(event) if event.staff_id == me && matches!(event.change, Change::SessionsChanged) => {
                        if session.ended(app).await {
                            break 'conn Exit::Ended;
                        }
                    }
                    Ok(event) if event.staff_id == me && matches!(event.change, Change::PreferencesChanged) => {
                        quiet = quiet_of(app, me).await;
                    }
                    Ok(event) if event.concerns(me) => {
                        let silent = quiet.until(app.clock.now()).is_some();
                        if push(app, me, &event, silent, quiet.zone, socket).await.is_err() {
                            break 'conn Exit::Slow;
                        }
                    }
                    Ok(_) => {}
                    // Fell behind: some events were dropped for this connection; resend the truth.
                    Err(RecvError::Lagged(_)) => {
                        if send_unread_count(app, me, socket).await.is_err() {
                            break 'conn Exit::Slow;
                        }
                    }
                    Err(RecvError::Closed) => break 'conn Exit::ClientLeft,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break 'conn Exit::ClientLeft,
                    Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > IDLE_TIMEOUT {
                        break 'conn Exit::Idle;
                    }
                    if send(socket, Message::Ping(Default::default())).await.is_err() {
                        break 'conn Exit::Slow;
                    }
                }
                _ = recheck.tick() => {
                    if session.ended(app).await {
                        break 'conn Exit::Ended;
                    }
                }
                _ = &mut expiry => break 'conn Exit::Expired,
            }
        }
    };
    let close = match exit {
        Exit::Expired => Some((CLOSE_TOKEN_EXPIRED, "token expired")),
        Exit::Revoked => Some((CLOSE_ACCESS_REVOKED, "account deactivated")),
        Exit::Ended => Some((CLOSE_ACCESS_REVOKED, "session ended")),
        Exit::Idle => Some((1001, "idle timeout")),
        Exit::ClientLeft | Exit::Slow => None,
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        let _ = send(socket, Message::Close(Some(frame))).await;
    }
}

/// The person's quiet hours; none when they cannot be read (pushes then make a sound).
async fn quiet_of(app: &App, me: i64) -> Quiet {
    match crate::storage::staff::by_id(&app.db, me).await {
        Ok(Some(row)) => Quiet::of(&row, app.time_zone),
        _ => Quiet::never(app.time_zone),
    }
}

/// Sends one event to the person's socket, its alert read in their `zone`, then the fresh unread count.
async fn push(
    app: &App,
    me: i64,
    event: &StaffEvent,
    silent: bool,
    zone: chrono_tz::Tz,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    let read = |alert: &crate::domain::views::Alert| alert.clone().in_zone(zone);
    let message = match &event.change {
        Change::Created { alert } => Some(json!({"type": "alert.created", "alert": read(alert), "silent": silent})),
        Change::Updated { alert } => Some(json!({"type": "alert.updated", "alert": read(alert)})),
        Change::Woken { alert } => Some(json!({"type": "alert.created", "alert": read(alert), "woken": true})),
        Change::ReadAll { updated } => Some(json!({"type": "alert.updated", "read_all": true, "updated": updated})),
        Change::Resync | Change::AccessRevoked | Change::SessionsChanged | Change::PreferencesChanged => None,
    };
    if let Some(message) = message {
        send(socket, Message::Text(message.to_string().into())).await?;
    }
    send_unread_count(app, me, socket).await
}

async fn send_unread_count(app: &App, me: i64, socket: &mut WebSocket) -> Result<(), ()> {
    // The database is down: skip this snapshot; the next change sends one.
    let Ok(count) = alerts::unread_count(app, me).await else { return Ok(()) };
    let message = json!({"type": "unread_count", "unread_count": count});
    send(socket, Message::Text(message.to_string().into())).await
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
