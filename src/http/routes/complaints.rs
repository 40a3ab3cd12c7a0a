//! Complaints: the host data alerts are about.
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::paging::Paging;
use crate::domain::views::Complaint;
use crate::domain::{App, complaints};
use crate::http::error::ApiResult;
use crate::http::extract::{Authorized, ComplaintsRead, ComplaintsWrite, Json, Path, Query, not_null};
use crate::http::openapi::{ComplaintStatus, ErrorBody, Priority};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(sync))
        .routes(routes!(alerts_of))
        .routes(routes!(assignees))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComplaint {
    #[schema(min_length = 1, max_length = 255)]
    title: String,
    #[serde(default)]
    #[schema(max_length = 10_000)]
    description: String,
    #[schema(min_length = 1, max_length = 255)]
    customer_name: String,
    #[schema(format = Email)]
    customer_email: Option<String>,
    /// `medium` when absent
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    assigned_to_staff_id: Option<i64>,
    /// RFC 3339; when absent, computed from the priority's SLA length
    sla_deadline: Option<DateTime<Utc>>,
}

/// Creates a complaint (status `open`).
#[utoipa::path(post, path = "/complaints", operation_id = "create_complaint", tag = "complaints", request_body = CreateComplaint, security(("bearer" = [])), responses(
    (status = 201, body = Complaint),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 422, description = "Invalid field, or unknown/inactive assignee", body = ErrorBody),
))]
async fn create(
    _: Authorized<ComplaintsWrite>,
    State(app): State<App>,
    Json(body): Json<CreateComplaint>,
) -> ApiResult<(StatusCode, axum::Json<Complaint>)> {
    let new = complaints::NewComplaint {
        title: body.title,
        description: body.description,
        customer_name: body.customer_name,
        customer_email: body.customer_email,
        priority: body.priority,
        assigned_to_staff_id: body.assigned_to_staff_id,
        sla_deadline: body.sla_deadline,
    };
    Ok((StatusCode::CREATED, axum::Json(complaints::create(&app, new).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1
    #[param(minimum = 1, maximum = 10_000_000)]
    page: Option<i64>,
    /// Complaints per page, 1 to 100 (default 20)
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<i64>,
    #[param(value_type = Option<ComplaintStatus>)]
    status: Option<String>,
    #[param(value_type = Option<Priority>)]
    priority: Option<String>,
    assigned_to_staff_id: Option<i64>,
    /// `me` (the caller's), `team` (theirs and those of the staff they supervise) or `unassigned`
    #[param(value_type = Option<String>, pattern = "^(me|team|unassigned)$")]
    assignee: Option<String>,
    /// Text the title or the customer's name contains (case-insensitive, at most 100 characters)
    q: Option<String>,
    /// Open complaints whose SLA clocks are `at_risk`, `breached`, `paused` or `running`
    #[param(value_type = Option<String>, pattern = "^(at_risk|breached|paused|running)$")]
    sla_state: Option<String>,
    /// `created` (newest first, the default) or `sla_due` (soonest due first)
    #[param(value_type = Option<String>, pattern = "^(created|sla_due)$")]
    sort: Option<String>,
}

/// Complaints, newest first (or soonest due first).
#[utoipa::path(get, path = "/complaints", operation_id = "list_complaints", tag = "complaints", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = complaints::ComplaintPage),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn list(
    Authorized { principal, .. }: Authorized<ComplaintsRead>,
    State(app): State<App>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<complaints::ComplaintPage>> {
    let paging = Paging::new(q.page, q.page_size)?;
    let mut filter = complaints::ComplaintFilter {
        status: q.status,
        priority: q.priority,
        assigned_to_staff_id: q.assigned_to_staff_id,
        sla_state: q.sla_state.as_deref().map(complaints::SlaFilter::parse).transpose()?,
        sort_by_due: complaints::parse_sort(q.sort.as_deref())?,
        ..Default::default()
    };
    complaints::narrow(&app, &principal, &mut filter, q.assignee.as_deref(), q.q.as_deref()).await?;
    Ok(axum::Json(complaints::list(&app, filter, paging).await?))
}

#[utoipa::path(get, path = "/complaints/{id}", operation_id = "get_complaint", tag = "complaints", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Complaint),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn get_one(
    _: Authorized<ComplaintsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Complaint>> {
    Ok(axum::Json(complaints::get(&app, id).await?))
}

/// Fields left out stay as they are; `"assigned_to_staff_id": null` unassigns.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateComplaint {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(min_length = 1, max_length = 255, nullable = false)]
    title: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(max_length = 10_000, nullable = false)]
    description: Option<String>,
    /// `resolved` sets `resolved_at`
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Option<ComplaintStatus>, nullable = false)]
    status: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Option<Priority>, nullable = false)]
    priority: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    assigned_to_staff_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    sla_deadline: Option<DateTime<Utc>>,
    /// RFC 3339, between the complaint's creation and now: meets the first-response target; `null` clears it
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    first_responded_at: Option<Option<DateTime<Utc>>>,
    /// `true`: first responded now (unless it already was); `false`: not yet responded
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    first_responded: Option<bool>,
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/complaints/{id}", operation_id = "update_complaint", tag = "complaints", params(("id" = i64, Path)), request_body = UpdateComplaint,
    security(("bearer" = [])), responses(
    (status = 200, body = Complaint),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn update(
    _: Authorized<ComplaintsWrite>,
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(body): Json<UpdateComplaint>,
) -> ApiResult<axum::Json<Complaint>> {
    let changes = complaints::ComplaintChanges {
        title: body.title,
        description: body.description,
        status: body.status,
        priority: body.priority,
        assigned_to_staff_id: body.assigned_to_staff_id,
        sla_deadline: body.sla_deadline,
        first_responded: match (body.first_responded_at, body.first_responded) {
            (Some(_), Some(_)) => {
                return Err(crate::domain::DomainError::invalid(
                    "first_responded",
                    "give first_responded_at or first_responded, not both",
                )
                .into());
            }
            (Some(at), None) => Some(complaints::FirstResponse::At(at)),
            (None, Some(true)) => Some(complaints::FirstResponse::Now),
            (None, Some(false)) => Some(complaints::FirstResponse::At(None)),
            (None, None) => None,
        },
    };
    Ok(axum::Json(complaints::update(&app, id, changes).await?))
}

/// A complaint as the host backend sends it: the complaint's own fields are
/// replaced (an absent description, email or assignee is cleared); an absent
/// `status` or `sla_deadline` keeps the stored one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncComplaint {
    #[schema(min_length = 1, max_length = 255)]
    title: String,
    #[serde(default)]
    #[schema(max_length = 10_000)]
    description: String,
    #[schema(min_length = 1, max_length = 255)]
    customer_name: String,
    #[schema(format = Email)]
    customer_email: Option<String>,
    /// `medium` when absent
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    /// Kept when absent (`open` for a new complaint)
    #[schema(value_type = Option<ComplaintStatus>)]
    status: Option<String>,
    /// The assignee by our staff id ...
    assigned_to_staff_id: Option<i64>,
    /// ... or by email (not both)
    #[schema(format = Email)]
    assigned_to_email: Option<String>,
    /// RFC 3339, past or future; kept when absent (from the priority for a new complaint)
    sla_deadline: Option<DateTime<Utc>>,
    /// RFC 3339: the host's own last change; a write older than the stored one is ignored (`stale`)
    updated_at: Option<DateTime<Utc>>,
}

/// Creates (201) or updates (200) the complaint the host backend knows as
/// `external_id`. The same request again is `unchanged` and raises no alert;
/// an older `updated_at` than the stored one is `stale` and ignored.
#[utoipa::path(put, path = "/complaints/by-external-id/{external_id}", operation_id = "sync_complaint", tag = "complaints",
    params(("external_id" = String, Path, description = "The host backend's id of the complaint (1 to 255 characters)")),
    request_body = SyncComplaint, security(("bearer" = [])), responses(
    (status = 200, description = "Updated, unchanged or stale (see `outcome`)", body = complaints::Synced),
    (status = 201, description = "Created", body = complaints::Synced),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 422, description = "Invalid field, or unknown/inactive assignee", body = ErrorBody),
))]
async fn sync(
    _: Authorized<ComplaintsWrite>,
    State(app): State<App>,
    Path(external_id): Path<String>,
    Json(body): Json<SyncComplaint>,
) -> ApiResult<(StatusCode, axum::Json<complaints::Synced>)> {
    let input = complaints::ComplaintSync {
        title: body.title,
        description: body.description,
        customer_name: body.customer_name,
        customer_email: body.customer_email,
        priority: body.priority,
        status: body.status,
        assigned_to_staff_id: body.assigned_to_staff_id,
        assigned_to_email: body.assigned_to_email,
        sla_deadline: body.sla_deadline,
        updated_at: body.updated_at,
    };
    let synced = complaints::sync_by_external_id(&app, &external_id, input).await?;
    let status = match synced.outcome {
        complaints::SyncOutcome::Created => StatusCode::CREATED,
        complaints::SyncOutcome::Updated | complaints::SyncOutcome::Unchanged | complaints::SyncOutcome::Stale => {
            StatusCode::OK
        }
    };
    Ok((status, axum::Json(synced)))
}

/// The alerts the complaint raised, newest first (at most 200): who got
/// each, read / dismissed / acknowledged / resolved, and its deliveries.
/// Supervisors and admins see every recipient's, anyone else their own.
#[utoipa::path(get, path = "/complaints/{id}/alerts", operation_id = "complaint_alerts", tag = "complaints", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 200, body = complaints::ComplaintAlerts),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
))]
async fn alerts_of(
    Authorized { principal, .. }: Authorized<ComplaintsRead>,
    State(app): State<App>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<complaints::ComplaintAlerts>> {
    Ok(axum::Json(complaints::alerts_of(&app, &principal, id).await?))
}

/// The active staff a complaint can be assigned to, by name (at most 1 000).
#[utoipa::path(get, path = "/complaints/assignees", operation_id = "complaint_assignees", tag = "complaints", security(("bearer" = [])), responses(
    (status = 200, body = Vec<crate::domain::staff::Assignee>),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
async fn assignees(
    _: Authorized<ComplaintsWrite>,
    State(app): State<App>,
) -> ApiResult<axum::Json<Vec<crate::domain::staff::Assignee>>> {
    Ok(axum::Json(crate::domain::staff::assignees(&app).await?))
}
