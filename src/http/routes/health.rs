use axum::routing::get;
use axum::{Json, Router, extract::State};
use serde_json::{Value, json};

use crate::domain::{App, DomainError};
use crate::http::error::ApiResult;
use crate::storage;

pub fn routes() -> Router<App> {
    Router::new().route("/health", get(health)).route("/ready", get(ready))
}

/// Liveness: the process answers.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers too; 503 while it does not.
async fn ready(State(app): State<App>) -> ApiResult<Json<Value>> {
    storage::ping(&app.db).await.map_err(|e| DomainError::Unavailable(e.to_string()))?;
    Ok(Json(json!({"status": "ready"})))
}
