//! Rule administration (alerts.manage).
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::views::Rule;
use crate::domain::{App, rules};
use crate::http::error::ApiResult;
use crate::http::extract::{AlertsManage, Authorized, Json, Path, Query, not_null};
use crate::http::openapi::{ErrorBody, RuleType};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(enable))
        .routes(routes!(disable))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(value_type = Option<RuleType>)]
    rule_type: Option<String>,
    /// Only enabled rules (default false: admins see disabled rules too)
    #[serde(default)]
    enabled_only: bool,
}

/// Every rule, in id order.
#[utoipa::path(get, path = "/alerts/rules", operation_id = "list_rules", tag = "rules", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Rule>),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn list(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Vec<Rule>>> {
    Ok(axum::Json(rules::list(&app, q.rule_type.as_deref(), q.enabled_only).await?))
}

/// A new rule. `conditions` depend on `rule_type`:
/// `sla` `{"sla_state": "at_risk"|"breached", "threshold_percent": 0..100 (at_risk), "statuses": [...]}`,
/// `event` `{"priority": "critical"}`, `threshold` `{"metric": "open_assigned_complaints", "threshold": N}`.
/// `alert_config`: `{"alert_type", "severity", "recipients", "unassigned_recipients", "dedup_window_hours",
/// "expires_after_hours", "mandatory", "escalation_policy", "team_channels": ["slack"|"teams"]}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRule {
    #[schema(min_length = 1, max_length = 100)]
    rule_name: String,
    #[schema(value_type = RuleType)]
    rule_type: String,
    #[serde(default = "enabled")]
    is_enabled: bool,
    #[schema(value_type = Object)]
    conditions: Value,
    #[schema(value_type = Object)]
    alert_config: Value,
}

fn enabled() -> bool {
    true
}

#[utoipa::path(post, path = "/alerts/rules", operation_id = "create_rule", tag = "rules", request_body = CreateRule, security(("bearer" = [])), responses(
    (status = 201, body = Rule),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 409, description = "rule_name taken", body = ErrorBody),
    (status = 422, description = "Invalid conditions or alert_config, naming the field", body = ErrorBody),
))]
async fn create(
    Authorized { principal, .. }: Authorized<AlertsManage>,
    State(app): State<App>,
    Json(body): Json<CreateRule>,
) -> ApiResult<(StatusCode, axum::Json<Rule>)> {
    let new = rules::NewRule {
        rule_name: body.rule_name,
        rule_type: body.rule_type,
        is_enabled: body.is_enabled,
        conditions: body.conditions,
        alert_config: body.alert_config,
    };
    Ok((StatusCode::CREATED, axum::Json(rules::create(&app, principal.staff(), new).await?)))
}

#[utoipa::path(get, path = "/alerts/rules/{id}", operation_id = "get_rule", tag = "rules", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Rule),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn get_one(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Rule>> {
    Ok(axum::Json(rules::get(&app, id).await?))
}

/// Fields left out stay as they are; `rule_type` cannot change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRule {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    rule_name: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    is_enabled: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Option<Object>, nullable = false)]
    conditions: Option<Value>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Option<Object>, nullable = false)]
    alert_config: Option<Value>,
}

#[utoipa::path(patch, path = "/alerts/rules/{id}", operation_id = "update_rule", tag = "rules", params(("id" = i64, Path)), request_body = UpdateRule,
    security(("bearer" = [])), responses(
    (status = 200, body = Rule),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn update(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<UpdateRule>,
) -> ApiResult<axum::Json<Rule>> {
    let changes = rules::RuleChanges {
        rule_name: body.rule_name,
        is_enabled: body.is_enabled,
        conditions: body.conditions,
        alert_config: body.alert_config,
    };
    Ok(axum::Json(rules::update(&app, id, changes).await?))
}

async fn set_enabled(app: &App, id: i64, is_enabled: bool) -> ApiResult<axum::Json<Rule>> {
    let changes = rules::RuleChanges { is_enabled: Some(is_enabled), ..Default::default() };
    Ok(axum::Json(rules::update(app, id, changes).await?))
}

#[utoipa::path(put, path = "/alerts/rules/{id}/enable", operation_id = "enable_rule", tag = "rules", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Rule),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn enable(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Rule>> {
    set_enabled(&app, id, true).await
}

#[utoipa::path(put, path = "/alerts/rules/{id}/disable", operation_id = "disable_rule", tag = "rules", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Rule),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn disable(
    _: Authorized<AlertsManage>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Rule>> {
    set_enabled(&app, id, false).await
}

#[utoipa::path(delete, path = "/alerts/rules/{id}", operation_id = "delete_rule", tag = "rules", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn delete(_: Authorized<AlertsManage>, State(app): State<App>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    rules::delete(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
