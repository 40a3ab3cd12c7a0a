//! API keys for services (`staff.manage`).
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::App;
use crate::domain::api_keys::{self, ApiKey, CreatedApiKey};
use crate::http::error::ApiResult;
use crate::http::extract::{Authorized, Json, Path, StaffManage};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    api_keys: Vec<ApiKey>,
}

/// Every key, newest first, revoked ones included (with `revoked_at`); never a secret.
#[utoipa::path(get, path = "/api-keys", operation_id = "list_api_keys", tag = "api-keys", security(("bearer" = [])), responses(
    (status = 200, body = ApiKeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn list(_: Authorized<StaffManage>, State(app): State<App>) -> ApiResult<axum::Json<ApiKeyList>> {
    Ok(axum::Json(ApiKeyList { api_keys: api_keys::list(&app).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Permission names (`complaints.write`, …), none the caller lacks
    #[schema(min_items = 1, max_items = 32)]
    permissions: Vec<String>,
    /// RFC 3339; none: the key does not expire
    expires_at: Option<DateTime<Utc>>,
}

/// Creates a key and shows its secret, this once.
#[utoipa::path(post, path = "/api-keys", operation_id = "create_api_key", tag = "api-keys", request_body = CreateApiKey, security(("bearer" = [])), responses(
    (status = 201, body = CreatedApiKey),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 422, description = "Invalid field, an unknown permission or one the caller lacks", body = ErrorBody),
))]
async fn create(
    Authorized { principal, .. }: Authorized<StaffManage>,
    State(app): State<App>,
    Json(body): Json<CreateApiKey>,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiKey>)> {
    let new = api_keys::NewApiKey { name: body.name, permissions: body.permissions, expires_at: body.expires_at };
    Ok((StatusCode::CREATED, axum::Json(api_keys::create(&app, Some(&principal), new).await?)))
}

/// Revokes a key: every instance refuses it from the next request on.
#[utoipa::path(delete, path = "/api-keys/{id}", operation_id = "revoke_api_key", tag = "api-keys", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Revoked (or revoked already)"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn revoke(_: Authorized<StaffManage>, State(app): State<App>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    api_keys::revoke(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
