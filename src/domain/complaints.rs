//! Complaints: the host data the alerts are about. Creating or changing one
//! may raise alerts at once (see the engine).
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::engine::ComplaintWrite;
use super::paging::Paging;
use super::sla::{self, ClockFacts, Snapshot};
use super::staff::parse_email;
use super::views::Complaint;
use super::vocab::{ComplaintStatus, Priority};
use super::{App, DomainError, DomainResult};
use crate::storage::{self, complaints::ClockColumns, entities::complaint};

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
    /// Assigned to one of these staff members (a caller's own, their team's).
    pub assignees: Option<Vec<i64>>,
    /// Unassigned only.
    pub unassigned: bool,
    /// Lower-case text the title or the customer's name contains.
    pub text: Option<String>,
    /// Open complaints whose clocks are in this state (`at_risk`, `breached`, `paused`, `running`).
    pub sla_state: Option<SlaFilter>,
    /// Soonest due first (instead of newest first).
    pub sort_by_due: bool,
    /// The time `sla_state` is judged at.
    pub now: Option<DateTime<Utc>>,
}

/// The clock states `GET /complaints` filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    AtRisk,
    Breached,
    Paused,
    Running,
}

impl SlaFilter {
    pub const NAMES: [&'static str; 4] = ["at_risk", "breached", "paused", "running"];

    pub fn parse(raw: &str) -> DomainResult<SlaFilter> {
        match raw {
            "at_risk" => Ok(SlaFilter::AtRisk),
            "breached" => Ok(SlaFilter::Breached),
            "paused" => Ok(SlaFilter::Paused),
            "running" => Ok(SlaFilter::Running),
            other => Err(super::vocab::not_one_of("sla_state", other, &Self::NAMES)),
        }
    }
}

/// `sort` of `GET /complaints`.
pub fn parse_sort(raw: Option<&str>) -> DomainResult<bool> {
    match raw {
        None | Some("created") => Ok(false),
        Some("sla_due") => Ok(true),
        Some(other) => Err(super::vocab::not_one_of("sort", other, &["created", "sla_due"])),
    }
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
    pub first_responded: Option<FirstResponse>,
}

/// A first response a PATCH records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstResponse {
    /// Now, unless one is already recorded.
    Now,
    /// At this time (`None`: not yet responded).
    At(Option<DateTime<Utc>>),
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
    active_assignee(app, staff_id).await.map(|s| s.id)
}

/// [`check_assignee`], with the name a new complaint shows.
async fn active_assignee(app: &App, staff_id: i64) -> DomainResult<super::views::StaffRef> {
    match storage::staff::by_id(&app.db, staff_id).await? {
        Some(s) if s.is_active => Ok(super::views::StaffRef { id: s.id, full_name: s.full_name }),
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
        Some(id) => Some(active_assignee(app, id).await?),
        None => None,
    };
    let explicit_deadline = new.sla_deadline.map(|d| future_deadline(d, now)).transpose()?;
    let row = storage::complaints::NewComplaintRow {
        title: text("title", &new.title, 255, true)?,
        description: text("description", &new.description, 10_000, false)?,
        customer_name: text("customer_name", &new.customer_name, 255, true)?,
        customer_email,
        priority: priority.as_str().to_owned(),
        status: ComplaintStatus::Open.as_str().to_owned(),
        assigned_to_staff_id: assignee.as_ref().map(|a| a.id),
        created_at: now,
        updated_at: now,
        resolved_at: None,
        external_id: None,
        external_updated_at: None,
        first_responded_at: None,
        clock: ClockColumns::default(),
        unchecked_since: None,
    };
    let snapshot = sla::snapshot(app).await?;
    let complaint = if storage::one_writer(&app.db) {
        insert_evaluated(app, &snapshot, row, explicit_deadline).await?
    } else {
        let (complaint, first_point) = insert_with_clock(app, &snapshot, row, explicit_deadline).await?;
        raise_alerts_now(app, &complaint, ComplaintWrite::Created { first_point }).await;
        complaint
    };
    // The assignee's name as read before the insert: a saved complaint is
    // answered 201 even if the database went away just after (a 503 would
    // have its client send it again), and without a second wait for it.
    let mut created = present(&snapshot, complaint, app.clock.now());
    created.assignee = assignee;
    Ok(created)
}

/// Fills in the assignees' names of `complaints` (one query for them all).
async fn name_assignees(app: &App, complaints: &mut [Complaint]) -> DomainResult<()> {
    let mut ids: Vec<i64> = complaints.iter().filter_map(|c| c.assigned_to_staff_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let names: std::collections::HashMap<i64, String> =
        storage::staff::names(&app.db, &ids).await?.into_iter().collect();
    for c in complaints {
        c.assignee = c
            .assigned_to_staff_id
            .map(|id| super::views::StaffRef { id, full_name: names.get(&id).cloned().unwrap_or_default() });
    }
    Ok(())
}

/// [`present`], with the assignee's name.
async fn present_named(app: &App, snapshot: &Snapshot, m: complaint::Model) -> DomainResult<Complaint> {
    let mut complaint = present(snapshot, m, app.clock.now());
    name_assignees(app, std::slice::from_mut(&mut complaint)).await?;
    Ok(complaint)
}

/// A complaint as clients see it: its row and its clocks at `now`.
pub fn present(snapshot: &Snapshot, m: complaint::Model, now: DateTime<Utc>) -> Complaint {
    let clocks = sla::view(snapshot, &m, now);
    Complaint::with_sla(m, clocks)
}

/// Inserts a complaint with its clock projected and its at-risk points, in
/// one transaction, marked for evaluation. Returns it with its earliest
/// at-risk point.
async fn insert_with_clock(
    app: &App,
    snapshot: &Snapshot,
    mut row: storage::complaints::NewComplaintRow,
    explicit_deadline: Option<DateTime<Utc>>,
) -> DomainResult<(complaint::Model, Option<DateTime<Utc>>)> {
    let facts = new_facts(&row, explicit_deadline)?;
    let (clock, points) = sla::project(snapshot, &facts, None, row.created_at);
    row.clock = clock;
    row.unchecked_since = Some(row.created_at);
    let txn = storage::begin_write(&app.db).await?;
    let inserted = storage::complaints::insert(&txn, row).await?;
    let first_point = points.iter().map(|(_, at, _)| *at).min();
    storage::sla::insert_points(&txn, &[(inserted.id, points)]).await?;
    txn.commit().await?;
    Ok((inserted, first_point))
}

/// Inserts a complaint with its clock projected and its at-risk points, and
/// runs the rules that may raise an alert for it now, all in one
/// transaction: the complaint is never committed without its evaluation
/// (a crash between the two used to leave it to the next tick), and the
/// write takes the write lock once. Where writers take turns anyway
/// (SQLite); on the server databases the rules' runs lock their rule while
/// they run, and holding that lock across the insert made racing creates
/// of several instances wait seconds for each other (issue 22): there the
/// complaint is evaluated right after its commit, marked unchecked until
/// then so that the next tick covers a crash in between.
async fn insert_evaluated(
    app: &App,
    snapshot: &Snapshot,
    mut row: storage::complaints::NewComplaintRow,
    explicit_deadline: Option<DateTime<Utc>>,
) -> DomainResult<complaint::Model> {
    let facts = new_facts(&row, explicit_deadline)?;
    let now = row.created_at;
    let (clock, points) = sla::project(snapshot, &facts, None, now);
    let due = points.iter().map(|(_, at, _)| *at).chain(clock.sla_deadline).chain(clock.first_response_due_at);
    let new = super::engine::NewComplaint {
        status: &row.status,
        priority: &row.priority,
        assigned: row.assigned_to_staff_id.is_some(),
        due_now: due.into_iter().any(|at| at <= now),
    };
    let plans = super::engine::plans_for_new(app, &new).await?;
    row.clock = clock;
    row.unchecked_since = None;
    let (inserted, runs) = storage::retrying(|| async {
        let txn = storage::begin_write(&app.db).await?;
        let inserted = storage::complaints::insert(&txn, row.clone()).await?;
        storage::sla::insert_points(&txn, &[(inserted.id, points.clone())]).await?;
        let runs = super::engine::run_for_new_in(&txn, &plans, inserted.id, now).await?;
        txn.commit().await?;
        Ok((inserted, runs))
    })
    .await?;
    super::engine::announce_for_new(app, &plans, runs);
    Ok(inserted)
}

/// What a new complaint's clock depends on.
fn new_facts(
    row: &storage::complaints::NewComplaintRow,
    explicit_deadline: Option<DateTime<Utc>>,
) -> DomainResult<ClockFacts> {
    Ok(ClockFacts {
        status: ComplaintStatus::parse("status", &row.status)?,
        priority: Priority::parse("priority", &row.priority)?,
        created_at: row.created_at,
        first_responded_at: row.first_responded_at,
        explicit_deadline,
    })
}

/// What a complaint's clock depends on once `change` is written.
fn facts_after(
    current: &complaint::Model,
    change: &storage::complaints::ComplaintUpdate,
    explicit_deadline: Option<DateTime<Utc>>,
    hours: SlaPolicy,
) -> DomainResult<ClockFacts> {
    let stored = ClockFacts::of(current, hours);
    let pick = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.to_owned());
    Ok(ClockFacts {
        status: ComplaintStatus::parse("status", &pick(&change.status, &current.status))?,
        priority: Priority::parse("priority", &pick(&change.priority, &current.priority))?,
        created_at: current.created_at,
        first_responded_at: change.first_responded_at.unwrap_or(current.first_responded_at),
        explicit_deadline: explicit_deadline.or(stored.explicit_deadline),
    })
}

/// Writes `change` to the complaint `id` with its clock re-projected and its
/// at-risk points, in one transaction (the row locked on the server
/// databases, so racing writes re-project in turn), marked for evaluation.
/// `explicit_deadline`: `Some` when this write sets the deadline.
async fn update_with_clock(
    app: &App,
    snapshot: &Snapshot,
    id: i64,
    mut change: storage::complaints::ComplaintUpdate,
    explicit_deadline: Option<DateTime<Utc>>,
) -> DomainResult<complaint::Model> {
    let now = app.clock.now();
    let txn = storage::begin_write(&app.db).await?;
    let current = storage::complaints::by_id_for_update(&txn, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("complaint {id} not found")))?;
    let facts = facts_after(&current, &change, explicit_deadline, app.sla)?;
    let (clock, points) = sla::project(snapshot, &facts, Some(&storage::complaints::clock_of(&current)), now);
    change.clock = Some(clock);
    change.unchecked_since = Some(now);
    let updated = storage::complaints::update(&txn, current, change).await?;
    storage::sla::replace_points(&txn, &[(updated.id, points)]).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Evaluates the rules for this one complaint right after it was written, so
/// a critical complaint alerts inside the request that created it. The
/// complaint is already saved: if this fails, the periodic check catches up,
/// and the caller still gets their complaint (a retry would duplicate it).
async fn raise_alerts_now(app: &App, complaint: &complaint::Model, write: ComplaintWrite) {
    let written = complaint.sla_unchecked_since.unwrap_or(complaint.updated_at);
    if let Err(e) = super::engine::after_complaint_write(app, complaint, write, written).await {
        tracing::warn!(complaint = complaint.id, error = %e, "immediate alert evaluation failed; the periodic check will retry");
    }
}

pub async fn get(app: &App, id: i64) -> DomainResult<Complaint> {
    let complaint = row(app, id).await?;
    let snapshot = sla::snapshot(app).await?;
    present_named(app, &snapshot, complaint).await
}

async fn row(app: &App, id: i64) -> DomainResult<complaint::Model> {
    storage::complaints::by_id(&app.db, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("complaint {id} not found")))
}

/// Narrows `filter` to the complaints of the caller (`me`), of their team
/// (`team`: theirs and those of the staff they supervise) or to the
/// unassigned ones (`unassigned`), and to those whose title or customer
/// contains `text`.
pub async fn narrow(
    app: &App,
    caller: &super::auth::Principal,
    filter: &mut ComplaintFilter,
    assignee: Option<&str>,
    text: Option<&str>,
) -> DomainResult<()> {
    match assignee {
        None => {}
        Some("me") => filter.assignees = Some(vec![caller.staff_id()?]),
        Some("team") => filter.assignees = Some(super::staff::team_of(app, caller.staff_id()?).await?),
        Some("unassigned") => filter.unassigned = true,
        Some(other) => {
            return Err(DomainError::invalid("assignee", format!("{other:?} is not one of me, team, unassigned")));
        }
    }
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        if text.chars().count() > 100 {
            return Err(DomainError::invalid("q", "must be at most 100 characters"));
        }
        filter.text = Some(text.to_lowercase());
    }
    Ok(())
}

pub async fn list(app: &App, mut filter: ComplaintFilter, paging: Paging) -> DomainResult<ComplaintPage> {
    let now = app.clock.now();
    filter.now = Some(now);
    if let Some(s) = &filter.status {
        ComplaintStatus::parse("status", s)?;
    }
    if let Some(p) = &filter.priority {
        Priority::parse("priority", p)?;
    }
    let (complaints, total) = storage::complaints::page(&app.db, &filter, paging.offset(), paging.page_size).await?;
    let snapshot = sla::snapshot(app).await?;
    let mut complaints: Vec<Complaint> = complaints.into_iter().map(|c| present(&snapshot, c, now)).collect();
    name_assignees(app, &mut complaints).await?;
    Ok(ComplaintPage {
        complaints,
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
        row.resolved_at = Some(resolved_at(status, current.resolved_at, now));
        row.status = Some(status.as_str().to_owned());
    }
    if let Some(assignee) = changes.assigned_to_staff_id {
        row.assigned_to_staff_id = Some(match assignee {
            Some(staff_id) => Some(check_assignee(app, staff_id).await?),
            None => None,
        });
    }
    let explicit_deadline = changes.sla_deadline.map(|d| future_deadline(d, now)).transpose()?;
    let responded = match changes.first_responded {
        Some(FirstResponse::Now) => Some(current.first_responded_at.or(Some(now))),
        Some(FirstResponse::At(at)) => Some(at),
        None => None,
    };
    if let Some(responded) = responded {
        if let Some(at) = responded {
            let at = super::time::check("first_responded_at", at)?;
            if at < current.created_at || at > now {
                return Err(DomainError::invalid(
                    "first_responded_at",
                    "must lie between the complaint's creation and now",
                ));
            }
        }
        row.first_responded_at = Some(responded);
    }
    let resolved_before = current.resolved_at.is_some();
    let snapshot = sla::snapshot(app).await?;
    let updated = update_with_clock(app, &snapshot, id, row, explicit_deadline).await?;
    after_update(app, current.assigned_to_staff_id, &updated, resolved_before).await;
    present_named(app, &snapshot, updated).await
}

/// The effects of an update once it is written: when it changed hands, a
/// previous assignee's live alerts about it end and the others' say who has
/// it now; then the rules are evaluated
/// (the new assignee's alerts at once). Best effort, like the evaluation:
/// the write stands, and the periodic check catches up.
async fn after_update(app: &App, previous: Option<i64>, updated: &complaint::Model, resolved_before: bool) {
    if previous != updated.assigned_to_staff_id
        && let Err(e) = super::engine::after_reassignment(app, updated.id, previous, updated.assigned_to_staff_id).await
    {
        tracing::warn!(complaint = updated.id, error = %e, "could not move the alerts to the new assignee");
    }
    // Whoever snoozed an alert about it should hear that it changed hands.
    if previous != updated.assigned_to_staff_id
        && let Err(e) = super::snooze::wake_complaint(app, updated.id).await
    {
        tracing::warn!(complaint = updated.id, error = %e, "could not wake the complaint's snoozed alerts");
    }
    raise_alerts_now(app, updated, ComplaintWrite::Changed { closed: just_closed(updated, resolved_before) }).await;
}

/// When a complaint moving to `status` was resolved: the first time is kept;
/// reopening clears it.
fn resolved_at(status: ComplaintStatus, before: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if status.is_open() { None } else { before.or(Some(now)) }
}

/// Whether this write closed the complaint (its live alerts then expire).
fn just_closed(updated: &complaint::Model, resolved_before: bool) -> bool {
    ComplaintStatus::from_name(&updated.status).is_some_and(|s| !s.is_open()) && !resolved_before
}

/// A complaint as the host backend sends it
/// (`PUT /complaints/by-external-id/{external_id}`): the complaint's own
/// fields are replaced (an absent description, email or assignee is
/// cleared); an absent `status` or `sla_deadline` keeps the stored one (a new
/// complaint is `open`, its deadline from its priority).
pub struct ComplaintSync {
    pub title: String,
    pub description: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub assigned_to_staff_id: Option<i64>,
    pub assigned_to_email: Option<String>,
    pub sla_deadline: Option<DateTime<Utc>>,
    /// The host's own `updated_at`: a write older than the stored one is ignored.
    pub updated_at: Option<DateTime<Utc>>,
}

/// What a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    Created,
    Updated,
    /// The complaint already was as sent: nothing written, no alert raised.
    Unchanged,
    /// The host's `updated_at` is older than the one stored: ignored.
    Stale,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Synced {
    pub outcome: SyncOutcome,
    pub complaint: Complaint,
}

/// The sync's values, checked.
struct Wanted {
    title: String,
    description: String,
    customer_name: String,
    customer_email: Option<String>,
    priority: Priority,
    status: Option<ComplaintStatus>,
    assignee: Option<i64>,
    sla_deadline: Option<DateTime<Utc>>,
    host_updated_at: Option<DateTime<Utc>>,
}

/// The assignee a sync names: by staff id or by email, not both.
enum AssigneeRef {
    None,
    Id(i64),
    Email(String),
}

fn assignee_ref(id: Option<i64>, email: Option<&str>) -> DomainResult<AssigneeRef> {
    match (id, email) {
        (Some(_), Some(_)) => {
            Err(DomainError::invalid("assigned_to_email", "give the assignee by staff id or by email, not both"))
        }
        (Some(id), None) => Ok(AssigneeRef::Id(id)),
        (None, Some(email)) => Ok(AssigneeRef::Email(parse_email("assigned_to_email", email)?)),
        (None, None) => Ok(AssigneeRef::None),
    }
}

fn no_assignee(reference: &AssigneeRef) -> DomainError {
    match reference {
        AssigneeRef::Email(email) => {
            DomainError::invalid("assigned_to_email", format!("no active staff member {email}"))
        }
        AssigneeRef::Id(id) => {
            DomainError::invalid("assigned_to_staff_id", format!("no active staff member with id {id}"))
        }
        AssigneeRef::None => DomainError::invalid("assigned_to_staff_id", "no assignee"),
    }
}

async fn wanted(app: &App, input: ComplaintSync) -> DomainResult<Wanted> {
    let reference = assignee_ref(input.assigned_to_staff_id, input.assigned_to_email.as_deref())?;
    let assignee = match &reference {
        AssigneeRef::None => None,
        AssigneeRef::Id(id) => Some(check_assignee(app, *id).await?),
        AssigneeRef::Email(email) => match storage::staff::by_email(&app.db, email).await? {
            Some(s) if s.is_active => Some(s.id),
            _ => return Err(no_assignee(&reference)),
        },
    };
    wanted_with(input, assignee)
}

fn wanted_with(input: ComplaintSync, assignee: Option<i64>) -> DomainResult<Wanted> {
    Ok(Wanted {
        title: text("title", &input.title, 255, true)?,
        description: text("description", &input.description, 10_000, false)?,
        customer_name: text("customer_name", &input.customer_name, 255, true)?,
        customer_email: input.customer_email.map(|e| parse_email("customer_email", &e)).transpose()?,
        priority: input.priority.map_or(Ok(Priority::Medium), |p| Priority::parse("priority", &p))?,
        status: input.status.map(|s| ComplaintStatus::parse("status", &s)).transpose()?,
        assignee,
        // The host's complaint may be overdue already: a past deadline is its truth.
        sla_deadline: input.sla_deadline.map(|d| super::time::check("sla_deadline", d)).transpose()?,
        host_updated_at: input.updated_at.map(|t| super::time::check("updated_at", t)).transpose()?,
    })
}

fn check_external_id(external_id: &str) -> DomainResult<()> {
    if external_id.is_empty() || external_id.chars().count() > 255 || external_id.chars().any(char::is_control) {
        return Err(DomainError::invalid("external_id", "must be 1 to 255 characters, without control characters"));
    }
    Ok(())
}

/// Creates or updates the complaint the host knows as `external_id`.
/// Idempotent: the same request again changes nothing and raises no alert;
/// racing identical requests create one complaint (the unique index decides,
/// the losers find it and compare).
pub async fn sync_by_external_id(app: &App, external_id: &str, input: ComplaintSync) -> DomainResult<Synced> {
    let mut synced = sync(app, external_id, input).await?;
    name_assignees(app, std::slice::from_mut(&mut synced.complaint)).await?;
    Ok(synced)
}

async fn sync(app: &App, external_id: &str, input: ComplaintSync) -> DomainResult<Synced> {
    check_external_id(external_id)?;
    let wanted = wanted(app, input).await?;
    let now = app.clock.now();
    let snapshot = sla::snapshot(app).await?;
    let show = |m: complaint::Model| present(&snapshot, m, now);
    let existing = match storage::complaints::by_external_id(&app.db, external_id).await? {
        Some(existing) => existing,
        None => {
            let row = new_row(external_id, &wanted, now);
            match insert_with_clock(app, &snapshot, row, wanted.sla_deadline).await {
                Ok((created, first_point)) => {
                    raise_alerts_now(app, &created, ComplaintWrite::Created { first_point }).await;
                    return Ok(Synced { outcome: SyncOutcome::Created, complaint: show(created) });
                }
                // A racing request created it first: compare with what it wrote.
                Err(DomainError::Conflict(_)) => storage::complaints::by_external_id(&app.db, external_id)
                    .await?
                    .ok_or_else(|| DomainError::Conflict(format!("complaint {external_id} is being written")))?,
                Err(other) => return Err(other),
            }
        }
    };
    match change_for(&existing, &wanted, now) {
        Change::Stale => Ok(Synced { outcome: SyncOutcome::Stale, complaint: show(existing) }),
        Change::None => Ok(Synced { outcome: SyncOutcome::Unchanged, complaint: show(existing) }),
        Change::Stamp(stamp) => {
            // Nothing to see, but later retries must compare with this time.
            let stamped = storage::complaints::update(&app.db, existing, stamp).await?;
            Ok(Synced { outcome: SyncOutcome::Unchanged, complaint: show(stamped) })
        }
        Change::Content(change) => {
            let resolved_before = existing.resolved_at.is_some();
            let deadline = wanted.sla_deadline.filter(|d| existing.sla_deadline != Some(*d));
            let previous = existing.assigned_to_staff_id;
            let updated = update_with_clock(app, &snapshot, existing.id, change, deadline).await?;
            after_update(app, previous, &updated, resolved_before).await;
            Ok(Synced { outcome: SyncOutcome::Updated, complaint: show(updated) })
        }
    }
}

/// What syncing `wanted` onto `existing` writes.
enum Change {
    /// The host sent an older write than the stored one.
    Stale,
    /// Nothing.
    None,
    /// Only the host's newer `updated_at` (so later retries compare with it).
    Stamp(storage::complaints::ComplaintUpdate),
    /// The complaint changed.
    Content(storage::complaints::ComplaintUpdate),
}

fn change_for(existing: &complaint::Model, wanted: &Wanted, now: DateTime<Utc>) -> Change {
    if let (Some(sent), Some(stored)) = (wanted.host_updated_at, existing.external_updated_at)
        && sent < stored
    {
        return Change::Stale;
    }
    let mut change = storage::complaints::ComplaintUpdate::default();
    let differs = |new: &str, old: &str| (new != old).then(|| new.to_owned());
    change.title = differs(&wanted.title, &existing.title);
    change.description = differs(&wanted.description, &existing.description);
    change.customer_name = differs(&wanted.customer_name, &existing.customer_name);
    change.priority = differs(wanted.priority.as_str(), &existing.priority);
    if wanted.customer_email != existing.customer_email {
        change.customer_email = Some(wanted.customer_email.clone());
    }
    if wanted.assignee != existing.assigned_to_staff_id {
        change.assigned_to_staff_id = Some(wanted.assignee);
    }
    let new_deadline = wanted.sla_deadline.filter(|d| existing.sla_deadline != Some(*d));
    if let Some(status) = wanted.status.filter(|s| s.as_str() != existing.status) {
        change.status = Some(status.as_str().to_owned());
        change.resolved_at = Some(resolved_at(status, existing.resolved_at, now));
    }
    let content_changed = change != storage::complaints::ComplaintUpdate::default() || new_deadline.is_some();
    let newer_host_time = wanted.host_updated_at.filter(|t| existing.external_updated_at != Some(*t));
    if !content_changed {
        return match newer_host_time {
            Some(at) => Change::Stamp(storage::complaints::ComplaintUpdate {
                external_updated_at: Some(at),
                ..Default::default()
            }),
            None => Change::None,
        };
    }
    change.updated_at = Some(now);
    change.external_updated_at = newer_host_time;
    Change::Content(change)
}

/// A new complaint from a sync (its clock is projected when it is written).
fn new_row(external_id: &str, wanted: &Wanted, now: DateTime<Utc>) -> storage::complaints::NewComplaintRow {
    let status = wanted.status.unwrap_or(ComplaintStatus::Open);
    storage::complaints::NewComplaintRow {
        title: wanted.title.clone(),
        description: wanted.description.clone(),
        customer_name: wanted.customer_name.clone(),
        customer_email: wanted.customer_email.clone(),
        priority: wanted.priority.as_str().to_owned(),
        status: status.as_str().to_owned(),
        assigned_to_staff_id: wanted.assignee,
        created_at: now,
        updated_at: now,
        resolved_at: resolved_at(status, None, now),
        external_id: Some(external_id.to_owned()),
        external_updated_at: wanted.host_updated_at,
        first_responded_at: None,
        clock: ClockColumns::default(),
        unchecked_since: None,
    }
}

/// One line of an import, parsed: its number, the host's id, the complaint.
pub struct ImportLine {
    pub line: usize,
    pub external_id: String,
    pub complaint: ComplaintSync,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub lines: usize,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub stale: u64,
    /// (line number, why), in line order.
    pub rejected: Vec<(usize, String)>,
}

/// Lines per batch: one read of the batch's existing complaints, one insert
/// of its new ones, one transaction.
pub const IMPORT_BATCH: usize = 1000;

/// Upserts a host's complaints by their ids, in batches, as the sync does
/// one by one, but raising no alert: the next check raises them all at once.
/// A line that cannot be taken is reported with its number and reason, and
/// never stops the rest. `dry_run` validates and classifies, writing nothing.
pub async fn import(
    app: &App,
    lines: impl IntoIterator<Item = Result<ImportLine, (usize, String)>>,
    dry_run: bool,
    mut progress: impl FnMut(&ImportReport),
) -> DomainResult<ImportReport> {
    let staff = storage::staff::active_emails(&app.db).await?;
    let active: std::collections::HashSet<i64> = staff.iter().map(|(id, _)| *id).collect();
    let by_email: std::collections::HashMap<String, i64> = staff.into_iter().map(|(id, e)| (e, id)).collect();
    let mut report = ImportReport::default();
    let mut batch: Vec<(usize, String, Wanted)> = Vec::with_capacity(IMPORT_BATCH);
    for item in lines {
        report.lines += 1;
        let parsed = item.and_then(|line| {
            let number = line.line;
            let checked = check_external_id(&line.external_id).and_then(|()| {
                let reference =
                    assignee_ref(line.complaint.assigned_to_staff_id, line.complaint.assigned_to_email.as_deref())?;
                let assignee = match &reference {
                    AssigneeRef::None => None,
                    AssigneeRef::Id(id) => Some(active.get(id).copied().ok_or_else(|| no_assignee(&reference))?),
                    AssigneeRef::Email(email) => Some(*by_email.get(email).ok_or_else(|| no_assignee(&reference))?),
                };
                wanted_with(line.complaint, assignee)
            });
            checked.map(|wanted| (number, line.external_id, wanted)).map_err(|e| (number, e.to_string()))
        });
        match parsed {
            Ok(entry) => {
                // The same id twice in a batch: the first is written before the second is compared.
                if batch.iter().any(|(_, id, _)| *id == entry.1) {
                    import_batch(app, &mut batch, dry_run, &mut report).await;
                    progress(&report);
                }
                batch.push(entry);
            }
            Err(rejected) => report.rejected.push(rejected),
        }
        if batch.len() >= IMPORT_BATCH {
            import_batch(app, &mut batch, dry_run, &mut report).await;
            progress(&report);
        }
    }
    import_batch(app, &mut batch, dry_run, &mut report).await;
    progress(&report);
    report.rejected.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// Writes one batch (emptying it) and counts what it did; a batch the
/// database refuses is reported line by line, and the import goes on.
async fn import_batch(app: &App, batch: &mut Vec<(usize, String, Wanted)>, dry_run: bool, report: &mut ImportReport) {
    if batch.is_empty() {
        return;
    }
    let entries = std::mem::take(batch);
    let mut counts = ImportReport::default();
    let written: DomainResult<()> = async {
        let now = app.clock.now();
        let ids: Vec<String> = entries.iter().map(|(_, id, _)| id.clone()).collect();
        let mut existing: std::collections::HashMap<String, complaint::Model> =
            storage::complaints::by_external_ids(&app.db, &ids)
                .await?
                .into_iter()
                .filter_map(|c| Some((c.external_id.clone()?, c)))
                .collect();
        let snapshot = sla::snapshot(app).await?;
        let mut new_rows = Vec::new();
        let mut changes = Vec::new();
        let mut points = Vec::new();
        for (_, external_id, wanted) in &entries {
            match existing.remove(external_id) {
                None => {
                    counts.created += 1;
                    let mut row = new_row(external_id, wanted, now);
                    let (clock, _) = sla::project(&snapshot, &new_facts(&row, wanted.sla_deadline)?, None, now);
                    // Revision 0: the next check's re-projection writes its at-risk points (its id is not known here).
                    row.clock = ClockColumns { sla_revision: 0, ..clock };
                    row.unchecked_since = Some(now);
                    new_rows.push(row);
                }
                Some(current) => match change_for(&current, wanted, now) {
                    Change::Stale => counts.stale += 1,
                    Change::None => counts.unchanged += 1,
                    Change::Stamp(stamp) => {
                        counts.unchanged += 1;
                        changes.push((current, stamp));
                    }
                    Change::Content(mut change) => {
                        counts.updated += 1;
                        let deadline = wanted.sla_deadline.filter(|d| current.sla_deadline != Some(*d));
                        let facts = facts_after(&current, &change, deadline, app.sla)?;
                        let before = storage::complaints::clock_of(&current);
                        let (clock, list) = sla::project(&snapshot, &facts, Some(&before), now);
                        change.clock = Some(clock);
                        change.unchecked_since = Some(now);
                        points.push((current.id, list));
                        changes.push((current, change));
                    }
                },
            }
        }
        if dry_run {
            return Ok(());
        }
        let txn = storage::begin_write(&app.db).await?;
        storage::complaints::insert_many(&txn, new_rows).await?;
        for (current, change) in changes {
            storage::complaints::update(&txn, current, change).await?;
        }
        storage::sla::replace_points(&txn, &points).await?;
        txn.commit().await?;
        Ok(())
    }
    .await;
    match written {
        Ok(()) => {
            report.created += counts.created;
            report.updated += counts.updated;
            report.unchanged += counts.unchanged;
            report.stale += counts.stale;
        }
        Err(e) => {
            let why = format!("not written: {e}");
            report.rejected.extend(entries.iter().map(|(line, _, _)| (*line, why.clone())));
        }
    }
}

// ---------------------------------------------------------------- a complaint's alerts

/// The alerts a complaint raised, newest first: who got each, what they did
/// with it, how it was delivered.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ComplaintAlerts {
    pub complaint_id: i64,
    pub alerts: Vec<TimelineAlert>,
    /// More alerts than [`TIMELINE_ALERTS`] exist: the oldest are left out.
    pub truncated: bool,
}

/// One alert of a complaint's timeline.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TimelineAlert {
    pub id: i64,
    pub alert_type: String,
    pub severity: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub recipient: super::views::StaffRef,
    /// 0: the rule's own recipients; n: added by escalation step n.
    pub escalation_step: i32,
    pub read_at: Option<DateTime<Utc>>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<super::views::StaffRef>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub deliveries: Vec<DeliveryState>,
}

/// Where one delivery of an alert stands.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryState {
    pub channel: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The most alerts a timeline shows.
pub const TIMELINE_ALERTS: u64 = 200;

/// The alerts complaint `id` raised. Supervisors and admins (`alerts.team`,
/// `alerts.manage`) see every recipient's; anyone else their own only.
pub async fn alerts_of(app: &App, caller: &super::auth::Principal, id: i64) -> DomainResult<ComplaintAlerts> {
    row(app, id).await?;
    let recipient = match caller.can("alerts.manage") || caller.can("alerts.team") {
        true => None,
        false => Some(caller.staff_id()?),
    };
    let mut alerts = storage::alerts::of_complaint(&app.db, id, recipient, TIMELINE_ALERTS + 1).await?;
    let truncated = alerts.len() as u64 > TIMELINE_ALERTS;
    alerts.truncate(TIMELINE_ALERTS as usize);
    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    let mut staff: Vec<i64> = alerts.iter().map(|a| a.assigned_to_staff_id).collect();
    staff.sort_unstable();
    staff.dedup();
    let (names, deliveries) =
        tokio::try_join!(storage::staff::names(&app.db, &staff), storage::deliveries::of_alerts(&app.db, &ids))?;
    let names: std::collections::HashMap<i64, String> = names.into_iter().collect();
    let mut by_alert: std::collections::HashMap<i64, Vec<DeliveryState>> = std::collections::HashMap::new();
    for d in deliveries {
        let state =
            DeliveryState { channel: d.channel, status: d.status, attempts: d.attempts, last_error: d.last_error };
        by_alert.entry(d.alert_id).or_default().push(state);
    }
    let alerts = alerts
        .into_iter()
        .map(|a| TimelineAlert {
            id: a.id,
            recipient: super::views::StaffRef {
                id: a.assigned_to_staff_id,
                full_name: names.get(&a.assigned_to_staff_id).cloned().unwrap_or_default(),
            },
            deliveries: by_alert.remove(&a.id).unwrap_or_default(),
            alert_type: a.alert_type,
            severity: a.severity,
            title: a.title,
            created_at: a.created_at,
            escalation_step: a.escalation_step,
            read_at: a.read_at,
            dismissed_at: a.dismissed_at,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a
                .acknowledged_by
                .map(|id| super::views::StaffRef { id, full_name: a.acknowledged_by_name.unwrap_or_default() }),
            resolved_at: a.resolved_at,
            expires_at: a.expires_at,
        })
        .collect();
    Ok(ComplaintAlerts { complaint_id: id, alerts, truncated })
}
