use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::{App, auth};
use crate::http::error::ApiResult;
use crate::http::extract::{Authenticated, ClientAddress, Json, bearer_of};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(logout))
        .routes(routes!(password))
        .routes(routes!(demo_accounts))
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
    full_name: String,
    /// Where SMS go; null: SMS cannot reach this person
    phone: Option<String>,
    /// IANA zone; null: the organisation's
    time_zone: Option<String>,
    role: String,
    permissions: Vec<String>,
}

/// The caller's identity, contact details and permissions (what a client needs to shape its UI).
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, body = ErrorBody),
    (status = 403, description = "An API key: it acts as no staff member", body = ErrorBody),
))]
async fn me(State(app): State<App>, Authenticated(principal): Authenticated) -> ApiResult<axum::Json<Me>> {
    let me = crate::domain::staff::get(&app, principal.staff_id()?).await?;
    Ok(axum::Json(Me {
        id: me.id,
        email: me.email,
        full_name: me.full_name,
        phone: me.phone,
        time_zone: me.time_zone,
        role: principal.role.clone(),
        permissions: principal.permissions.clone(),
    }))
}

/// The bearer token of a request that passed [`Authenticated`].
fn caller_token(headers: &HeaderMap) -> ApiResult<&str> {
    bearer_of(headers).ok_or_else(|| crate::http::error::ApiError::unauthorized("not authenticated"))
}

/// Signs out: the token of this request is refused from now on, on every instance.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "Signed out"),
    (status = 401, body = ErrorBody),
    (status = 403, description = "An API key (revoke it instead)", body = ErrorBody),
))]
async fn logout(
    State(app): State<App>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    principal.staff_id()?;
    auth::sign_out(&app, caller_token(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the caller's password; every other session of theirs ends (this one stays).
#[utoipa::path(put, path = "/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChange, responses(
    (status = 204, description = "Changed; the caller's other tokens are refused from now on"),
    (status = 401, body = ErrorBody),
    (status = 403, description = "An API key: it has no password", body = ErrorBody),
    (status = 422, description = "Wrong current password, or a new password that breaks the password rule", body = ErrorBody),
))]
async fn password(
    State(app): State<App>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let me = principal.staff_id()?;
    auth::change_password(&app, me, caller_token(&headers)?, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct DemoAccounts {
    /// The password of every demo account; null on a server that is not a demo
    password: Option<&'static str>,
    /// Empty on a server that is not a demo
    accounts: Vec<crate::domain::demo::DemoAccount>,
}

/// The demo accounts, for the sign-in page of a server started with
/// `serve --demo`; none on any other server.
#[utoipa::path(get, path = "/auth/demo-accounts", tag = "auth", responses(
    (status = 200, body = DemoAccounts),
))]
async fn demo_accounts(State(app): State<App>) -> axum::Json<DemoAccounts> {
    let demo = !app.demo_accounts.is_empty();
    axum::Json(DemoAccounts {
        password: demo.then_some(crate::domain::demo::DEMO_PASSWORD),
        accounts: app.demo_accounts.as_ref().clone(),
    })
}
