use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::{App, DomainError};
use crate::http::error::ApiResult;
use crate::storage;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "Alive", body = Object, example = json!({"status": "ok"}))))]
async fn health() -> axum::Json<Value> {
    axum::Json(json!({"status": "ok"}))
}

/// Readiness: the database answers too; 503 while it does not.
#[utoipa::path(get, path = "/ready", tag = "health", responses(
    (status = 200, description = "Ready", body = Object, example = json!({"status": "ready"})),
    (status = 503, description = "Database unreachable", body = crate::http::openapi::ErrorBody),
))]
async fn ready(State(app): State<App>) -> ApiResult<axum::Json<Value>> {
    storage::ping(&app.db).await.map_err(|e| DomainError::Unavailable(e.to_string()))?;
    Ok(axum::Json(json!({"status": "ready"})))
}
