//! The caller's subscriptions.
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::views::Subscription;
use crate::domain::{App, subscriptions};
use crate::http::error::ApiResult;
use crate::http::extract::{AlertsRead, Authorized, Json, Path};
use crate::http::openapi::{AlertType, Channel, DeliveryMode, ErrorBody};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(put, delete))
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    #[schema(value_type = Vec<Subscription>)]
    subscriptions: Vec<Subscription>,
}

#[utoipa::path(get, path = "/alerts/subscriptions", operation_id = "list_subscriptions", tag = "subscriptions", security(("bearer" = [])), responses(
    (status = 200, body = SubscriptionList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn list(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
) -> ApiResult<axum::Json<SubscriptionList>> {
    Ok(axum::Json(SubscriptionList { subscriptions: subscriptions::list(&app, principal.staff_id()?).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSubscription {
    is_enabled: bool,
    #[schema(value_type = Vec<Channel>)]
    delivery_channels: Vec<String>,
    /// `instant` (default), `hourly` or `daily` (then `daily_at` is required)
    #[serde(default)]
    #[schema(value_type = Option<DeliveryMode>)]
    delivery_mode: Option<String>,
    /// `HH:MM` in the caller's zone, for `daily`
    #[serde(default)]
    daily_at: Option<String>,
}

/// Creates or replaces the caller's subscription to one alert type.
#[utoipa::path(put, path = "/alerts/subscriptions/{alert_type}", operation_id = "put_subscription", tag = "subscriptions", params(("alert_type" = AlertType, Path)),
    request_body = PutSubscription, security(("bearer" = [])), responses(
    (status = 200, body = Subscription),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 422, description = "Unknown alert type, channel or delivery mode; a digest of an urgent type", body = ErrorBody),
))]
async fn put(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(alert_type): Path<String>,
    Json(body): Json<PutSubscription>,
) -> ApiResult<axum::Json<Subscription>> {
    let change = subscriptions::SubscriptionChange {
        is_enabled: body.is_enabled,
        delivery_channels: body.delivery_channels,
        delivery_mode: body.delivery_mode,
        daily_at: body.daily_at,
    };
    let sub = subscriptions::put(&app, principal.staff_id()?, &alert_type, change).await?;
    Ok(axum::Json(sub))
}

/// Removes the caller's subscription: that alert type goes back to in-app only.
#[utoipa::path(delete, path = "/alerts/subscriptions/{alert_type}", operation_id = "delete_subscription", tag = "subscriptions", params(("alert_type" = AlertType, Path)),
    security(("bearer" = [])), responses(
    (status = 204, description = "Removed"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn delete(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(alert_type): Path<String>,
) -> ApiResult<StatusCode> {
    subscriptions::delete(&app, principal.staff_id()?, &alert_type).await?;
    Ok(StatusCode::NO_CONTENT)
}
