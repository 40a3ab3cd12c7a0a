//! `/ack/{token}`: the one-tap acknowledge link of email and SMS. `GET`
//! shows a small page whose button posts the acknowledgement (a link
//! scanner's `GET` changes nothing); `POST` acknowledges, once. An invalid,
//! expired or used link says so in words.
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::domain::App;
use crate::domain::escalation::{self, LinkState};
use crate::http::error::ApiError;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/ack/{token}", get(page).post(acknowledge))
        .layer(axum::middleware::map_response(super::console::security_headers))
}

async fn page(State(app): State<App>, Path(token): Path<String>) -> Result<Response, ApiError> {
    Ok(render(&token, escalation::link_page(&app, &token).await?))
}

async fn acknowledge(State(app): State<App>, Path(token): Path<String>) -> Result<Response, ApiError> {
    Ok(render(&token, escalation::acknowledge_by_link(&app, &token).await?))
}

fn render(token: &str, state: LinkState) -> Response {
    let (status, heading, body) = match state {
        LinkState::Ready(alert) => {
            let done = alert.acknowledged_by.as_ref().map(|by| {
                format!("<p>{} acknowledged it already; you can still confirm you saw it.</p>", escape(&by.full_name))
            });
            let form = format!(
                "<form method=\"post\" action=\"/ack/{}\"><button class=\"primary\" type=\"submit\">Acknowledge</button></form>",
                escape(token)
            );
            (
                StatusCode::OK,
                "Acknowledge this alert?",
                format!("{}{}{form}", alert_lines(&alert), done.unwrap_or_default()),
            )
        }
        LinkState::Done(alert) => (
            StatusCode::OK,
            "Acknowledged",
            format!("{}<p>Everyone who got this alert sees that you are on it.</p>", alert_lines(&alert)),
        ),
        LinkState::AlreadyUsed => (
            StatusCode::GONE,
            "This link was used already",
            "<p>Each acknowledge link works once. Open the console to see the alert.</p>".to_owned(),
        ),
        LinkState::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "<p>It lasted as long as its alert. Open the console to see your current alerts.</p>".to_owned(),
        ),
        LinkState::Invalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "<p>Check that it was copied whole, or open the console.</p>".to_owned(),
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{heading} · ConvergeAI Alerts</title>\
         <link rel=\"stylesheet\" href=\"/console/app.css\"></head>\
         <body><main class=\"ack-page\"><h1>{heading}</h1>{body}<p><a href=\"/\">Open the console</a></p></main></body></html>"
    );
    (status, [(axum::http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn alert_lines(alert: &crate::domain::views::Alert) -> String {
    format!("<p><strong>{}</strong></p><p>{}</p>", escape(&alert.title), escape(&alert.message))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
