use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::{App, auth};
use crate::http::error::ApiResult;
use crate::http::extract::{Authenticated, ClientAddress, Json};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// Exchanges email and password for a bearer token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = auth::AccessToken),
    (status = 401, description = "Wrong email or password, or inactive account", body = ErrorBody),
    (status = 422, description = "Invalid body", body = ErrorBody),
    (status = 429, description = "Too many failed logins for this account or address (see Retry-After)", body = ErrorBody),
    (status = 503, description = "Database unreachable, or the request took over 30 s; retry after `Retry-After`", body = ErrorBody),
))]
async fn login(
    State(app): State<App>,
    ClientAddress(address): ClientAddress,
    Json(body): Json<LoginRequest>,
) -> ApiResult<axum::Json<auth::AccessToken>> {
    Ok(axum::Json(auth::login(&app, &body.email, &body.password, &address).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: i64,
    email: String,
    role: String,
    permissions: Vec<String>,
}

/// The caller's identity and permissions (what a client needs to shape its UI).
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, body = ErrorBody),
    (status = 403, description = "An API key: it acts as no staff member", body = ErrorBody),
))]
async fn me(Authenticated(principal): Authenticated) -> ApiResult<axum::Json<Me>> {
    Ok(axum::Json(Me {
        id: principal.staff_id()?,
        email: principal.email.clone(),
        role: principal.role.clone(),
        permissions: principal.permissions.clone(),
    }))
}
