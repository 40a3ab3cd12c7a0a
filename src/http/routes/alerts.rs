//! The caller's inbox: the seed's endpoints plus filters and read-all.
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::alerts::InboxFilter;
use crate::domain::paging::Paging;
use crate::domain::snooze::SnoozeRequest;
use crate::domain::views::{Alert, Delivery};
use crate::domain::vocab::InboxStatus;
use crate::domain::{App, DomainError, alerts, engine, escalation, snooze};
use crate::http::error::ApiResult;
use crate::http::extract::{AlertsManage, AlertsRead, Authorized, Json, Path, Query};
use crate::http::openapi::{AlertType, ErrorBody, Severity};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(read_all))
        .routes(routes!(get_one))
        .routes(routes!(mark_read))
        .routes(routes!(dismiss))
        .routes(routes!(snooze, wake))
        .routes(routes!(acknowledge))
        .routes(routes!(escalation_of))
        .routes(routes!(check))
        .routes(routes!(deliveries))
        .routes(routes!(stats))
}

/// Filters combine with AND; list-valued ones are comma-separated.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1
    #[param(minimum = 1, maximum = 10_000_000)]
    page: Option<i64>,
    /// Alerts per page, 1 to 100 (default 20)
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<i64>,
    is_read: Option<bool>,
    #[param(value_type = Option<Severity>)]
    severity: Option<String>,
    #[param(value_type = Option<AlertType>)]
    alert_type: Option<String>,
    /// `complaint` or `staff` (any other matches nothing)
    #[param(max_length = 50)]
    resource_type: Option<String>,
    resource_id: Option<i64>,
    /// Acknowledged (by any recipient of the event) or not
    acknowledged: Option<bool>,
    /// `active` (default: not snoozed) or `snoozed` (the snoozed ones, the first to wake first)
    #[param(value_type = Option<InboxStatus>)]
    status: Option<String>,
    /// The original implementation's spelling of `is_read=false`
    unread_only: Option<bool>,
    /// Comma-separated alert types (original implementation)
    alert_types: Option<String>,
    /// Comma-separated severities (original implementation)
    severities: Option<String>,
}

fn split_list(single: Option<String>, many: Option<String>) -> Vec<String> {
    let mut values: Vec<String> =
        many.iter().flat_map(|m| m.split(',')).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
    values.extend(single);
    values
}

impl ListQuery {
    fn into_parts(self) -> ApiResult<(InboxFilter, Paging)> {
        let paging = Paging::new(self.page, self.page_size)?;
        let is_read = match (self.is_read, self.unread_only) {
            (Some(true), Some(true)) => {
                return Err(DomainError::invalid("unread_only", "contradicts is_read=true").into());
            }
            (_, Some(true)) => Some(false),
            (is_read, _) => is_read,
        };
        let snoozed = match self.status.as_deref().map(|raw| InboxStatus::parse("status", raw)).transpose()? {
            Some(InboxStatus::Snoozed) => true,
            Some(InboxStatus::Active) | None => false,
        };
        let filter = InboxFilter {
            is_read,
            severities: split_list(self.severity, self.severities),
            alert_types: split_list(self.alert_type, self.alert_types),
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            acknowledged: self.acknowledged,
            snoozed,
        };
        Ok((filter, paging))
    }
}

/// The caller's live alerts (not dismissed, not expired), newest first.
#[utoipa::path(get, path = "/alerts", operation_id = "list_alerts", tag = "alerts", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = alerts::AlertPage),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn list(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<alerts::AlertPage>> {
    let (filter, paging) = query.into_parts()?;
    let zone = principal.zone(app.time_zone);
    Ok(axum::Json(alerts::list(&app, principal.staff_id()?, zone, filter, paging).await?))
}

#[derive(Serialize, ToSchema)]
pub struct UnreadCount {
    unread_count: u64,
}

/// How many of the caller's live alerts are unread.
#[utoipa::path(get, path = "/alerts/unread/count", operation_id = "unread_count", tag = "alerts", security(("bearer" = [])), responses(
    (status = 200, body = UnreadCount), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn unread_count(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
) -> ApiResult<axum::Json<UnreadCount>> {
    Ok(axum::Json(UnreadCount { unread_count: alerts::unread_count(&app, principal.staff_id()?).await? }))
}

#[derive(Serialize, ToSchema)]
pub struct ReadAll {
    /// How many alerts were marked read.
    updated: u64,
}

/// Marks every live unread alert of the caller read.
#[utoipa::path(put, path = "/alerts/read-all", operation_id = "mark_all_alerts_read", tag = "alerts", security(("bearer" = [])), responses(
    (status = 200, body = ReadAll), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn read_all(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
) -> ApiResult<axum::Json<ReadAll>> {
    Ok(axum::Json(ReadAll { updated: alerts::mark_all_read(&app, principal.staff_id()?).await? }))
}

/// One of the caller's alerts (dismissed and expired ones too).
#[utoipa::path(get, path = "/alerts/{id}", operation_id = "get_alert", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Alert),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 404, description = "No such alert, or not the caller's", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
async fn get_one(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Alert>> {
    Ok(axum::Json(alerts::get(&app, principal.staff_id()?, id).await?.in_zone(principal.zone(app.time_zone))))
}

/// Marks an alert read; the first `read_at` is kept.
#[utoipa::path(put, path = "/alerts/{id}/read", operation_id = "mark_alert_read", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Read"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn mark_read(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    alerts::mark_read(&app, principal.staff_id()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Dismisses an alert: it leaves the inbox; `dismissed_at` is set once.
#[utoipa::path(put, path = "/alerts/{id}/dismiss", operation_id = "dismiss_alert", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Dismissed"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn dismiss(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    alerts::dismiss(&app, principal.staff_id()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Snoozes an alert: out of the inbox and its unread count until `until`
/// or a preset's time (cut to its expiry), then back unread and pushed live.
/// Not an acknowledgement: its escalation goes on.
#[utoipa::path(put, path = "/alerts/{id}/snooze", operation_id = "snooze_alert", tag = "alerts", params(("id" = i64, Path)),
    request_body = SnoozeRequest, security(("bearer" = [])), responses(
    (status = 200, description = "Snoozed (again: the new time)", body = Alert),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, description = "Dismissed or expired", body = ErrorBody),
    (status = 422, description = "Neither or both of until and preset, an unknown preset, or a time not between 1 minute and 30 days ahead", body = ErrorBody),
))]
async fn snooze(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<SnoozeRequest>,
) -> ApiResult<axum::Json<Alert>> {
    let alert = snooze::snooze(&app, principal.staff_id()?, id, body).await?;
    Ok(axum::Json(alert.in_zone(principal.zone(app.time_zone))))
}

/// Wakes a snoozed alert now: back in the inbox, unread. An alert not snoozed is returned as it is.
#[utoipa::path(delete, path = "/alerts/{id}/snooze", operation_id = "wake_alert", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Alert),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn wake(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Alert>> {
    let alert = snooze::wake_now(&app, principal.staff_id()?, id).await?;
    Ok(axum::Json(alert.in_zone(principal.zone(app.time_zone))))
}

/// Acknowledges the alert's event for all its recipients (each of their
/// copies shows who and when, live); again is a no-op. Marks nothing read.
#[utoipa::path(put, path = "/alerts/{id}/acknowledge", operation_id = "acknowledge_alert", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Acknowledged (or already)"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn acknowledge(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let by = escalation::Acknowledger { staff_id: principal.staff_id()?, full_name: &principal.full_name };
    escalation::acknowledge(&app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The escalation of the alert's event: the policy it began with, each
/// step (who, when, each delivery), the next step and when it is due.
#[utoipa::path(get, path = "/alerts/{id}/escalation", operation_id = "alert_escalation", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = escalation::EscalationView),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn escalation_of(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<escalation::EscalationView>> {
    Ok(axum::Json(escalation::view(&app, &principal, id).await?))
}

/// Runs every enabled rule once now and reports how many alerts each created.
#[utoipa::path(post, path = "/alerts/check", operation_id = "check_rules_now", tag = "alerts", security(("bearer" = [])), responses(
    (status = 200, body = engine::CheckReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn check(_: Authorized<AlertsManage>, State(app): State<App>) -> ApiResult<axum::Json<engine::CheckReport>> {
    Ok(axum::Json(engine::check_all(&app).await?))
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryLog {
    alert_id: i64,
    /// One row per outbox channel (`email`, `sms`, `webhook`); in-app delivery is the inbox row itself.
    #[schema(value_type = Vec<Delivery>)]
    deliveries: Vec<Delivery>,
}

/// Each channel's delivery of an alert: status, attempts, last error. For the
/// alert's owner, or anyone with `alerts.manage`.
#[utoipa::path(get, path = "/alerts/{id}/deliveries", operation_id = "alert_deliveries", tag = "alerts", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = DeliveryLog),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn deliveries(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<DeliveryLog>> {
    Ok(axum::Json(DeliveryLog { alert_id: id, deliveries: alerts::deliveries(&app, &principal, id).await? }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// RFC 3339; default `to` minus 30 days
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339; default now
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// IANA zone whose days `per_day` counts; default the caller's (else UTC)
    time_zone: Option<String>,
}

/// Alert statistics over [from, to): everyone's for `alerts.manage`, else the caller's own.
#[utoipa::path(get, path = "/alerts/stats", operation_id = "alert_stats", tag = "alerts", params(StatsQuery), security(("bearer" = [])), responses(
    (status = 200, body = crate::domain::stats::Stats),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn stats(
    Authorized { principal, .. }: Authorized<AlertsRead>,
    State(app): State<App>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<axum::Json<crate::domain::stats::Stats>> {
    Ok(axum::Json(crate::domain::stats::compute(&app, &principal, q.from, q.to, q.time_zone.as_deref()).await?))
}
