//! Escalation policies (alerts.manage).
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::escalation::{NewPolicy, Policy, PolicyChanges};
use crate::domain::{App, escalation};
use crate::http::error::ApiResult;
use crate::http::extract::{AlertsManage, Authorized, Json, Path};
use crate::http::openapi::ErrorBody;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_policies, create_policy)).routes(routes!(
        get_policy,
        update_policy,
        delete_policy
    ))
}

/// Every escalation policy, in id order.
#[utoipa::path(get, path = "/escalation-policies", operation_id = "list_escalation_policies", tag = "escalation", security(("bearer" = [])), responses(
    (status = 200, body = Vec<Policy>),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn list_policies(_: Authorized<AlertsManage>, State(app): State<App>) -> ApiResult<axum::Json<Vec<Policy>>> {
    Ok(axum::Json(escalation::list_policies(&app).await?))
}

/// A new policy: ordered steps (`after_minutes` from the event's start,
/// targets, `working_hours_only`), an optional `repeat` and `ack_timeout_minutes`.
#[utoipa::path(post, path = "/escalation-policies", operation_id = "create_escalation_policy", tag = "escalation", request_body = NewPolicy, security(("bearer" = [])), responses(
    (status = 201, body = Policy),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 409, description = "name taken", body = ErrorBody),
    (status = 422, description = "Invalid step, target or timing, naming the field", body = ErrorBody),
))]
async fn create_policy(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Json(body): Json<NewPolicy>,
) -> ApiResult<(StatusCode, axum::Json<Policy>)> {
    Ok((StatusCode::CREATED, axum::Json(escalation::create_policy(&app, body).await?)))
}

#[utoipa::path(get, path = "/escalation-policies/{id}", operation_id = "get_escalation_policy", tag = "escalation", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Policy),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn get_policy(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Policy>> {
    Ok(axum::Json(escalation::get_policy(&app, id).await?))
}

/// Fields left out stay as they are; `repeat` and `ack_timeout_minutes`
/// clear with `null`. Events already climbing keep the policy they began with.
#[utoipa::path(patch, path = "/escalation-policies/{id}", operation_id = "update_escalation_policy", tag = "escalation", params(("id" = i64, Path)), request_body = PolicyChanges, security(("bearer" = [])), responses(
    (status = 200, body = Policy),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, description = "name taken, or renaming a policy rules name", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
async fn update_policy(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<PolicyChanges>,
) -> ApiResult<axum::Json<Policy>> {
    Ok(axum::Json(escalation::update_policy(&app, id, body).await?))
}

/// A policy a rule names cannot be deleted.
#[utoipa::path(delete, path = "/escalation-policies/{id}", operation_id = "delete_escalation_policy", tag = "escalation", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, description = "a rule names it", body = ErrorBody),
))]
async fn delete_policy(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    escalation::delete_policy(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
