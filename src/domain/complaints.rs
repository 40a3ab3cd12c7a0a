//! Complaints: the host data the alerts are about. Creating or changing one
//! may raise alerts at once (see the engine).
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::paging::Paging;
use super::staff::parse_email;
use super::views::{self, Complaint};
use super::vocab::{ComplaintStatus, Priority};
use super::{App, DomainError, DomainResult};
use crate::storage::{self, entities::complaint};

/// Default SLA length per priority, used when a complaint comes without a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub critical_hours: i64,
    pub high_hours: i64,
    pub medium_hours: i64,
    pub low_hours: i64,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self { critical_hours: 4, high_hours: 24, medium_hours: 72, low_hours: 168 }
    }
}

impl SlaPolicy {
    pub fn hours(&self, priority: Priority) -> i64 {
        match priority {
            Priority::Critical => self.critical_hours,
            Priority::High => self.high_hours,
            Priority::Medium => self.medium_hours,
            Priority::Low => self.low_hours,
        }
    }
}

/// `critical=4,high=24,medium=72,low=168`; priorities left out keep their default.
impl FromStr for SlaPolicy {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let mut policy = SlaPolicy::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (priority, hours) =
                part.split_once('=').ok_or_else(|| format!("expected PRIORITY=HOURS, got {part:?}"))?;
            let hours: i64 =
                hours.trim().parse().map_err(|_| format!("hours for {priority} must be a whole number"))?;
            if !(1..=8760).contains(&hours) {
                return Err(format!("hours for {priority} must be between 1 and 8760"));
            }
            let slot = match Priority::from_name(priority.trim()) {
                Some(Priority::Critical) => &mut policy.critical_hours,
                Some(Priority::High) => &mut policy.high_hours,
                Some(Priority::Medium) => &mut policy.medium_hours,
                Some(Priority::Low) => &mut policy.low_hours,
                None => {
                    return Err(format!(
                        "unknown priority {:?}; expected one of {}",
                        priority.trim(),
                        Priority::NAMES.join(", ")
                    ));
                }
            };
            *slot = hours;
        }
        Ok(policy)
    }
}

/// Which complaints to list (storage translates it into SQL).
#[derive(Debug, Default, Clone)]
pub struct ComplaintFilter {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub assigned_to_staff_id: Option<i64>,
}

pub struct NewComplaint {
    pub title: String,
    pub description: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub priority: Option<String>,
    pub assigned_to_staff_id: Option<i64>,
    pub sla_deadline: Option<DateTime<Utc>>,
}

/// Changes to a complaint; `assigned_to_staff_id: Some(None)` unassigns.
#[derive(Default)]
pub struct ComplaintChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub assigned_to_staff_id: Option<Option<i64>>,
    pub sla_deadline: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintPage {
    pub complaints: Vec<Complaint>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub total_pages: u64,
}

fn text(field: &str, value: &str, max_chars: usize, required: bool) -> DomainResult<String> {
    let trimmed = value.trim();
    if trimmed.contains('\0') {
        return Err(DomainError::invalid(field, "must not contain NUL characters"));
    }
    if required && trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(DomainError::invalid(field, format!("must be at most {max_chars} characters")));
    }
    Ok(trimmed.to_owned())
}

fn future_deadline(deadline: DateTime<Utc>, now: DateTime<Utc>) -> DomainResult<DateTime<Utc>> {
    let deadline = super::time::check("sla_deadline", deadline)?;
    if deadline <= now {
        return Err(DomainError::invalid("sla_deadline", "must be in the future"));
    }
    Ok(deadline)
}

/// The assignee must be an active staff member.
async fn check_assignee(app: &App, staff_id: i64) -> DomainResult<i64> {
    match storage::staff::by_id(&app.db, staff_id).await? {
        Some(s) if s.is_active => Ok(staff_id),
        _ => Err(DomainError::invalid("assigned_to_staff_id", format!("no active staff member with id {staff_id}"))),
    }
}

pub async fn create(app: &App, new: NewComplaint) -> DomainResult<Complaint> {
    let now = app.clock.now();
    let priority = match new.priority {
        Some(p) => Priority::parse("priority", &p)?,
        None => Priority::Medium,
    };
    let customer_email = new.customer_email.map(|e| parse_email("customer_email", &e)).transpose()?;
    let assignee = match new.assigned_to_staff_id {
        Some(id) => Some(check_assignee(app, id).await?),
        None => None,
    };
    let sla_deadline = match new.sla_deadline {
        Some(d) => future_deadline(d, now)?,
        None => now + TimeDelta::hours(app.sla.hours(priority)),
    };
    let row = storage::complaints::NewComplaintRow {
        title: text("title", &new.title, 255, true)?,
        description: text("description", &new.description, 10_000, false)?,
        customer_name: text("customer_name", &new.customer_name, 255, true)?,
        customer_email,
        priority: priority.as_str().to_owned(),
        status: ComplaintStatus::Open.as_str().to_owned(),
        assigned_to_staff_id: assignee,
        sla_deadline: Some(sla_deadline),
        created_at: now,
        updated_at: now,
        resolved_at: None,
    };
    let complaint = storage::complaints::insert(&app.db, row).await?;
    raise_alerts_now(app, &complaint, false).await;
    Ok(complaint.into())
}

/// Evaluates the rules for this one complaint right after it was written, so
/// a critical complaint alerts inside the request that created it. The
/// complaint is already saved: if this fails, the periodic check catches up,
/// and the caller still gets their complaint (a retry would duplicate it).
async fn raise_alerts_now(app: &App, complaint: &complaint::Model, closed: bool) {
    if let Err(e) = super::engine::after_complaint_write(app, complaint.id, closed).await {
        tracing::warn!(complaint = complaint.id, error = %e, "immediate alert evaluation failed; the periodic check will retry");
    }
}

pub async fn get(app: &App, id: i64) -> DomainResult<Complaint> {
    row(app, id).await.map(Complaint::from)
}

async fn row(app: &App, id: i64) -> DomainResult<complaint::Model> {
    storage::complaints::by_id(&app.db, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("complaint {id} not found")))
}

pub async fn list(app: &App, filter: ComplaintFilter, paging: Paging) -> DomainResult<ComplaintPage> {
    if let Some(s) = &filter.status {
        ComplaintStatus::parse("status", s)?;
    }
    if let Some(p) = &filter.priority {
        Priority::parse("priority", p)?;
    }
    let (complaints, total) = storage::complaints::page(&app.db, &filter, paging.offset(), paging.page_size).await?;
    Ok(ComplaintPage {
        complaints: views::all(complaints),
        total,
        page: paging.page,
        page_size: paging.page_size,
        total_pages: paging.total_pages(total),
    })
}

pub async fn update(app: &App, id: i64, changes: ComplaintChanges) -> DomainResult<Complaint> {
    let now = app.clock.now();
    let current = row(app, id).await?;
    let mut row = storage::complaints::ComplaintUpdate { updated_at: Some(now), ..Default::default() };
    if let Some(title) = changes.title {
        row.title = Some(text("title", &title, 255, true)?);
    }
    if let Some(description) = changes.description {
        row.description = Some(text("description", &description, 10_000, false)?);
    }
    if let Some(priority) = changes.priority {
        row.priority = Some(Priority::parse("priority", &priority)?.as_str().to_owned());
    }
    if let Some(status) = changes.status {
        let status = ComplaintStatus::parse("status", &status)?;
        let closing = !status.is_open();
        row.resolved_at = Some(match (closing, current.resolved_at) {
            (true, Some(at)) => Some(at),
            (true, None) => Some(now),
            (false, _) => None,
        });
        row.status = Some(status.as_str().to_owned());
    }
    if let Some(assignee) = changes.assigned_to_staff_id {
        row.assigned_to_staff_id = Some(match assignee {
            Some(staff_id) => Some(check_assignee(app, staff_id).await?),
            None => None,
        });
    }
    if let Some(deadline) = changes.sla_deadline {
        row.sla_deadline = Some(future_deadline(deadline, now)?);
    }
    let resolved_before = current.resolved_at.is_some();
    let updated = storage::complaints::update(&app.db, current, row).await?;
    let closed = ComplaintStatus::from_name(&updated.status).is_some_and(|s| !s.is_open()) && !resolved_before;
    raise_alerts_now(app, &updated, closed).await;
    Ok(updated.into())
}
