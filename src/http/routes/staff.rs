//! Team administration (`staff.manage`): the staff list, accounts added,
//! changed, deactivated; and the delivery channels anyone can ask about.
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::staff::{NewStaffMember, StaffChanges, StaffMember, StaffPage, StaffQuery};
use crate::domain::{App, ChannelStatus, staff};
use crate::http::error::ApiResult;
use crate::http::extract::{AlertsRead, Authorized, Json, Path, Query, StaffManage};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(get, change)).routes(routes!(channels))
}

/// Staff in name order, filtered by role, state, supervisor or text, a page at a time.
#[utoipa::path(get, path = "/staff", operation_id = "list_staff", tag = "staff", params(StaffQuery), security(("bearer" = [])), responses(
    (status = 200, body = StaffPage),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 422, description = "Invalid page, page_size, role or q", body = ErrorBody),
))]
async fn list(
    _: Authorized<StaffManage>,
    State(app): State<App>,
    Query(q): Query<StaffQuery>,
) -> ApiResult<axum::Json<StaffPage>> {
    Ok(axum::Json(staff::list(&app, q).await?))
}

/// A new account with a first password (the password rule applies).
#[utoipa::path(post, path = "/staff", operation_id = "create_staff", tag = "staff", request_body = NewStaffMember, security(("bearer" = [])), responses(
    (status = 201, body = StaffMember),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 409, description = "email taken", body = ErrorBody),
    (status = 422, description = "Invalid field, naming it", body = ErrorBody),
))]
async fn add(
    _: Authorized<StaffManage>,
    State(app): State<App>,
    Json(body): Json<NewStaffMember>,
) -> ApiResult<(StatusCode, axum::Json<StaffMember>)> {
    Ok((StatusCode::CREATED, axum::Json(staff::add(&app, body).await?)))
}

#[utoipa::path(get, path = "/staff/{id}", operation_id = "get_staff", tag = "staff", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = StaffMember),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn get(
    _: Authorized<StaffManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<StaffMember>> {
    Ok(axum::Json(staff::get(&app, id).await?))
}

/// Fields left out stay; `phone`, `supervisor_id` and `time_zone` clear with
/// `null`. `is_active: false` ends the person's sessions at once on every
/// instance, and their complaints' alerts go where unassigned ones go;
/// `password` resets it and ends every session.
#[utoipa::path(patch, path = "/staff/{id}", operation_id = "update_staff", tag = "staff", params(("id" = i64, Path)), request_body = StaffChanges, security(("bearer" = [])), responses(
    (status = 200, body = StaffMember),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, description = "email taken", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
async fn change(
    _: Authorized<StaffManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<StaffChanges>,
) -> ApiResult<axum::Json<StaffMember>> {
    Ok(axum::Json(staff::change(&app, id, body).await?))
}

/// Each delivery channel and whether the operator configured it (no secrets).
#[utoipa::path(get, path = "/channels", operation_id = "list_channels", tag = "staff", security(("bearer" = [])), responses(
    (status = 200, body = Vec<ChannelStatus>),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn channels(_: Authorized<AlertsRead>, State(app): State<App>) -> ApiResult<axum::Json<Vec<ChannelStatus>>> {
    Ok(axum::Json(app.channels.statuses()))
}
