//! Personal delivery preferences (SPEC 10): the caller's own at
//! `/me/preferences`, anyone's for `staff.manage` at `/staff/{id}/preferences`.
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::App;
use crate::domain::preferences::{self, Preferences, PreferencesChange};
use crate::http::error::ApiResult;
use crate::http::extract::{AlertsRead, Authorized, Json, Path, StaffManage};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(mine, change_mine)).routes(routes!(of_staff, change_of_staff))
}

/// The caller's time zone, quiet hours, do-not-disturb and what happens to email/SMS in quiet hours.
#[utoipa::path(get, path = "/me/preferences", operation_id = "get_my_preferences", tag = "preferences", security(("bearer" = [])), responses(
    (status = 200, body = Preferences),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn mine(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
) -> ApiResult<axum::Json<Preferences>> {
    Ok(axum::Json(preferences::get(&app, principal.staff_id()?).await?))
}

/// Changes the caller's preferences; fields left out stay.
#[utoipa::path(put, path = "/me/preferences", operation_id = "update_my_preferences", tag = "preferences", request_body = PreferencesChange, security(("bearer" = [])), responses(
    (status = 200, body = Preferences),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 422, description = "Invalid field, naming it", body = ErrorBody),
))]
async fn change_mine(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Json(body): Json<PreferencesChange>,
) -> ApiResult<axum::Json<Preferences>> {
    Ok(axum::Json(preferences::put(&app, principal.staff_id()?, body).await?))
}

/// A staff member's preferences.
#[utoipa::path(get, path = "/staff/{id}/preferences", operation_id = "get_staff_preferences", tag = "staff", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Preferences),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn of_staff(
    _: Authorized<StaffManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Preferences>> {
    Ok(axum::Json(preferences::get(&app, id).await?))
}

/// Changes a staff member's preferences, as they could themselves.
#[utoipa::path(put, path = "/staff/{id}/preferences", operation_id = "update_staff_preferences", tag = "staff", params(("id" = i64, Path)), request_body = PreferencesChange, security(("bearer" = [])), responses(
    (status = 200, body = Preferences),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 422, description = "Invalid field, naming it", body = ErrorBody),
))]
async fn change_of_staff(
    _: Authorized<StaffManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<PreferencesChange>,
) -> ApiResult<axum::Json<Preferences>> {
    Ok(axum::Json(preferences::put(&app, id, body).await?))
}
