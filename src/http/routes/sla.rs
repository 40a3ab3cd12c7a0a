//! SLA calendars and policies (sla.manage).
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::sla::{
    CalendarChanges, CalendarView, NewCalendar, NewPolicy, PolicyChanges, PolicyView, PreviewAnswer, PreviewRequest,
};
use crate::domain::{App, sla};
use crate::http::error::ApiResult;
use crate::http::extract::{Authorized, Json, Path, SlaManage};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars, create_calendar))
        .routes(routes!(get_calendar, update_calendar, delete_calendar))
        .routes(routes!(preview))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(get_policy, update_policy, delete_policy))
}

/// Every calendar, in id order (`24x7` first).
#[utoipa::path(get, path = "/sla/calendars", operation_id = "list_sla_calendars", tag = "sla", security(("bearer" = [])), responses(
    (status = 200, body = Vec<CalendarView>),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn list_calendars(_: Authorized<SlaManage>, State(app): State<App>) -> ApiResult<axum::Json<Vec<CalendarView>>> {
    Ok(axum::Json(sla::list_calendars(&app).await?))
}

/// A new business calendar: an IANA time zone, weekly working periods, holidays.
#[utoipa::path(post, path = "/sla/calendars", operation_id = "create_sla_calendar", tag = "sla", request_body = NewCalendar, security(("bearer" = [])), responses(
    (status = 201, body = CalendarView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 409, description = "name taken", body = ErrorBody),
    (status = 422, description = "Invalid zone, period or holiday, naming the field", body = ErrorBody),
))]
async fn create_calendar(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Json(body): Json<NewCalendar>,
) -> ApiResult<(StatusCode, axum::Json<CalendarView>)> {
    Ok((StatusCode::CREATED, axum::Json(sla::create_calendar(&app, body).await?)))
}

#[utoipa::path(get, path = "/sla/calendars/{id}", operation_id = "get_sla_calendar", tag = "sla", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CalendarView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn get_calendar(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<CalendarView>> {
    Ok(axum::Json(sla::get_calendar(&app, id).await?))
}

/// Fields left out stay as they are. Open complaints counting on this
/// calendar are re-projected: time used stays used, what remains counts on
/// the new hours.
#[utoipa::path(patch, path = "/sla/calendars/{id}", operation_id = "update_sla_calendar", tag = "sla", params(("id" = i64, Path)), request_body = CalendarChanges,
    security(("bearer" = [])), responses(
    (status = 200, body = CalendarView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn update_calendar(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<CalendarChanges>,
) -> ApiResult<axum::Json<CalendarView>> {
    Ok(axum::Json(sla::update_calendar(&app, id, body).await?))
}

#[utoipa::path(delete, path = "/sla/calendars/{id}", operation_id = "delete_sla_calendar", tag = "sla", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, description = "A policy uses it, or it is the 24x7 calendar", body = ErrorBody),
))]
async fn delete_calendar(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    sla::delete_calendar(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// When `minutes` of working time, counted from `start`, run out on this calendar.
#[utoipa::path(post, path = "/sla/calendars/{id}/preview", operation_id = "preview_sla_calendar", tag = "sla", params(("id" = i64, Path)), request_body = PreviewRequest,
    security(("bearer" = [])), responses(
    (status = 200, body = PreviewAnswer),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn preview(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<PreviewRequest>,
) -> ApiResult<axum::Json<PreviewAnswer>> {
    Ok(axum::Json(sla::preview(&app, id, body).await?))
}

/// Every policy, in the order they are matched (ascending position).
#[utoipa::path(get, path = "/sla/policies", operation_id = "list_sla_policies", tag = "sla", security(("bearer" = [])), responses(
    (status = 200, body = Vec<PolicyView>),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn list_policies(_: Authorized<SlaManage>, State(app): State<App>) -> ApiResult<axum::Json<Vec<PolicyView>>> {
    Ok(axum::Json(sla::list_policies(&app).await?))
}

/// A new policy; open complaints it now matches are re-projected.
#[utoipa::path(post, path = "/sla/policies", operation_id = "create_sla_policy", tag = "sla", request_body = NewPolicy, security(("bearer" = [])), responses(
    (status = 201, body = PolicyView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 409, description = "name taken", body = ErrorBody),
    (status = 422, description = "Invalid field, naming it", body = ErrorBody),
))]
async fn create_policy(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Json(body): Json<NewPolicy>,
) -> ApiResult<(StatusCode, axum::Json<PolicyView>)> {
    Ok((StatusCode::CREATED, axum::Json(sla::create_policy(&app, body).await?)))
}

#[utoipa::path(get, path = "/sla/policies/{id}", operation_id = "get_sla_policy", tag = "sla", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = PolicyView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn get_policy(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<PolicyView>> {
    Ok(axum::Json(sla::get_policy(&app, id).await?))
}

/// Fields left out stay as they are; open complaints are re-projected.
#[utoipa::path(patch, path = "/sla/policies/{id}", operation_id = "update_sla_policy", tag = "sla", params(("id" = i64, Path)), request_body = PolicyChanges,
    security(("bearer" = [])), responses(
    (status = 200, body = PolicyView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn update_policy(
    _: Authorized<SlaManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<PolicyChanges>,
) -> ApiResult<axum::Json<PolicyView>> {
    Ok(axum::Json(sla::update_policy(&app, id, body).await?))
}

#[utoipa::path(delete, path = "/sla/policies/{id}", operation_id = "delete_sla_policy", tag = "sla", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn delete_policy(_: Authorized<SlaManage>, State(app): State<App>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    sla::delete_policy(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
