use axum::routing::{get, post};
use axum::{Router, extract::State};
use serde::{Deserialize, Serialize};

use crate::domain::{App, auth};
use crate::http::error::ApiResult;
use crate::http::extract::{Authenticated, Json};

pub fn routes() -> Router<App> {
    Router::new().route("/auth/login", post(login)).route("/auth/me", get(me))
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
}

async fn login(State(app): State<App>, Json(body): Json<LoginRequest>) -> ApiResult<axum::Json<auth::AccessToken>> {
    Ok(axum::Json(auth::login(&app, &body.email, &body.password).await?))
}

#[derive(Serialize)]
struct Me {
    id: i64,
    email: String,
    role: String,
    permissions: Vec<String>,
}

/// The caller's identity and permissions (what a client needs to shape its UI).
async fn me(Authenticated(principal): Authenticated) -> axum::Json<Me> {
    axum::Json(Me {
        id: principal.staff_id,
        email: principal.email.clone(),
        role: principal.role.clone(),
        permissions: principal.permissions.clone(),
    })
}
