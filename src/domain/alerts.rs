//! A staff member's inbox: list, count, read, dismiss. Every operation is
//! scoped to the caller; another's alert is "not found", never "forbidden".
use std::sync::Arc;

use chrono_tz::Tz;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::auth::Principal;
use super::events::{Change, StaffEvent};
use super::inbox_cache::{HEAD_ROWS, HeadChange, InboxCounts, InboxHead, RowChange};
use super::paging::Paging;
use super::views::{self, Alert, Delivery};
use super::vocab::{AlertType, Severity};
use super::{App, DomainError, DomainResult};
use crate::storage;

/// Which of one staff member's live alerts to show (storage translates it
/// into SQL).
#[derive(Debug, Default, Clone)]
pub struct InboxFilter {
    pub is_read: Option<bool>,
    pub severities: Vec<String>,
    pub alert_types: Vec<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub acknowledged: Option<bool>,
    /// The snoozed alerts instead of the others (`status=snoozed`).
    pub snoozed: bool,
}

impl InboxFilter {
    /// No filter: every live alert.
    pub fn is_empty(&self) -> bool {
        self.is_read.is_none()
            && self.severities.is_empty()
            && self.alert_types.is_empty()
            && self.resource_type.is_none()
            && self.resource_id.is_none()
            && self.acknowledged.is_none()
            && !self.snoozed
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertPage {
    #[schema(value_type = Vec<Alert>)]
    pub alerts: PageAlerts,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub total_pages: u64,
    pub unread_count: u64,
}

/// A page's alerts: rows, or the cached inbox head's rows serialized once
/// for every request that shows exactly them (the default first page).
#[derive(Debug, Clone)]
pub enum PageAlerts {
    Rows(Vec<Alert>),
    Serialized(Arc<RawValue>),
}

impl Serialize for PageAlerts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PageAlerts::Rows(rows) => rows.serialize(serializer),
            PageAlerts::Serialized(json) => json.serialize(serializer),
        }
    }
}

/// Checks filter values against the vocabularies, so a typo is a 422, not an empty list.
pub fn validate_filter(filter: &InboxFilter) -> DomainResult<()> {
    for s in &filter.severities {
        Severity::parse("severity", s)?;
    }
    for t in &filter.alert_types {
        AlertType::parse("alert_type", t)?;
    }
    if let Some(t) = &filter.resource_type
        && (t.chars().count() > 50 || t.contains('\0'))
    {
        return Err(DomainError::invalid("resource_type", "must be at most 50 characters, without NUL"));
    }
    Ok(())
}

/// A page of the caller's inbox, read in `zone` (the times alert messages name).
pub async fn list(app: &App, staff_id: i64, zone: Tz, filter: InboxFilter, paging: Paging) -> DomainResult<AlertPage> {
    validate_filter(&filter)?;
    let now = app.clock.now();
    let (offset, size) = (paging.offset(), paging.page_size);
    let within_head = filter.is_empty() && offset.saturating_add(size) <= HEAD_ROWS;
    let head = head(app, staff_id, zone, within_head).await?;
    let (alerts, total) = match (&head.newest, &head.newest_json) {
        (Some(newest), Some(json)) if within_head && offset == 0 && size as usize >= newest.len() => {
            (PageAlerts::Serialized(json.clone()), head.counts.live)
        }
        (Some(newest), _) if within_head => {
            let (from, to) = (offset as usize, (offset + size) as usize);
            let rows = newest.get(from..to.min(newest.len())).unwrap_or_default().to_vec();
            (PageAlerts::Rows(rows), head.counts.live)
        }
        _ if filter.is_empty() => {
            let rows = storage::alerts::inbox_rows(&app.db, staff_id, now, &filter, offset, size).await?;
            (PageAlerts::Rows(in_zone(rows, zone)), head.counts.live)
        }
        _ => {
            let (rows, total) = storage::alerts::inbox_page(&app.db, staff_id, now, &filter, offset, size).await?;
            (PageAlerts::Rows(in_zone(rows, zone)), total)
        }
    };
    Ok(AlertPage {
        alerts,
        total,
        page: paging.page,
        page_size: paging.page_size,
        total_pages: paging.total_pages(total),
        unread_count: head.counts.unread,
    })
}

/// Rows as views read in `zone`.
fn in_zone(rows: Vec<storage::entities::alert::Model>, zone: Tz) -> Vec<Alert> {
    rows.into_iter().map(|row| Alert::from(row).in_zone(zone)).collect()
}

pub async fn unread_count(app: &App, staff_id: i64) -> DomainResult<u64> {
    Ok(head(app, staff_id, app.time_zone, false).await?.counts.unread)
}

/// The caller's counts (and, `with_rows`, newest alerts), from the cache
/// when it has them, else from the database into the cache.
/// The cached head of `staff_id`'s inbox (its rows read in `zone`: the
/// owner's, the only reader; a change of zone is an event that drops it).
async fn head(app: &App, staff_id: i64, zone: Tz, with_rows: bool) -> DomainResult<InboxHead> {
    let cache = &app.events.inbox_cache;
    let now = app.clock.now();
    let (cached, generation) = cache.lookup(staff_id, now);
    let (counts, valid_until) = match cached {
        Some(head) if head.newest.is_some() || !with_rows => return Ok(head),
        Some(head) => (head.counts, head.valid_until),
        None => {
            let live = storage::alerts::live_counts(&app.db, staff_id, now).await?;
            let counts = InboxCounts { unread: live.unread.max(0) as u64, live: live.live.max(0) as u64 };
            (counts, InboxHead::valid_until(now, live.earliest_expiry))
        }
    };
    let (newest, newest_json) = if with_rows {
        let all = InboxFilter::default();
        let rows = in_zone(storage::alerts::inbox_rows(&app.db, staff_id, now, &all, 0, HEAD_ROWS).await?, zone);
        let json = serde_json::value::to_raw_value(&rows).ok().map(Arc::from);
        (Some(rows.into()), json)
    } else {
        (None, None)
    };
    let head = InboxHead { counts, newest, newest_json, valid_until };
    cache.store(staff_id, generation, head.clone());
    Ok(head)
}

pub async fn get(app: &App, staff_id: i64, id: i64) -> DomainResult<Alert> {
    storage::alerts::owned(&app.db, staff_id, id).await?.map(Alert::from).ok_or_else(|| not_found(id))
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound(format!("alert {id} not found"))
}

/// Marks read; the first read time is kept when it is read again.
pub async fn mark_read(app: &App, staff_id: i64, id: i64) -> DomainResult<()> {
    let now = app.clock.now();
    let write = app.events.inbox_cache.begin_write(staff_id);
    let changed = storage::alerts::mark_read(&app.db, staff_id, id, now).await?;
    let alert = get(app, staff_id, id).await?;
    if !changed {
        write.finish(None);
        return Ok(());
    }
    let change = HeadChange {
        unread: -i64::from(counted(&alert, now)),
        live: 0,
        row: RowChange::Read { alert_id: id, read_at: alert.read_at.unwrap_or(now) },
    };
    app.events.publish_write(
        write,
        change,
        StaffEvent { staff_id, change: Change::Updated { alert: Box::new(alert) } },
    );
    Ok(())
}

/// Dismisses; `dismissed_at` is set once. A snoozed alert dismissed stays
/// out of the inbox, no longer snoozed.
pub async fn dismiss(app: &App, staff_id: i64, id: i64) -> DomainResult<()> {
    let now = app.clock.now();
    let write = app.events.inbox_cache.begin_write(staff_id);
    let before = get(app, staff_id, id).await?;
    if !storage::alerts::dismiss(&app.db, staff_id, id, now).await? {
        write.finish(None);
        return Ok(());
    }
    let was_counted = counted(&before, now);
    let change = HeadChange {
        unread: -i64::from(was_counted && !before.is_read),
        live: -i64::from(was_counted),
        row: RowChange::Removed { alert_id: id },
    };
    let alert = Alert { is_dismissed: true, dismissed_at: Some(now), snoozed_until: None, ..before };
    app.events.publish_write(
        write,
        change,
        StaffEvent { staff_id, change: Change::Updated { alert: Box::new(alert) } },
    );
    Ok(())
}

/// Whether the inbox counts `alert` at `now`: live (not dismissed, not
/// expired) and not snoozed (as `storage::alerts::live_counts` counts).
fn counted(alert: &Alert, now: chrono::DateTime<chrono::Utc>) -> bool {
    !alert.is_dismissed
        && alert.expires_at.is_none_or(|e| e > now)
        && alert.snoozed_until.is_none_or(|until| until <= now)
}

/// Marks every live unread alert of the caller read; returns how many changed.
pub async fn mark_all_read(app: &App, staff_id: i64) -> DomainResult<u64> {
    let updated = storage::alerts::mark_all_read(&app.db, staff_id, app.clock.now()).await?;
    if updated > 0 {
        app.events.publish(StaffEvent { staff_id, change: Change::ReadAll { updated } });
    }
    Ok(updated)
}

/// The delivery log of one alert: its owner's, or anyone's for `alerts.manage`.
pub async fn deliveries(app: &App, caller: &Principal, id: i64) -> DomainResult<Vec<Delivery>> {
    let visible = if caller.can("alerts.manage") {
        storage::alerts::by_id(&app.db, id).await?.is_some()
    } else {
        storage::alerts::owned(&app.db, caller.staff_id()?, id).await?.is_some()
    };
    if !visible {
        return Err(not_found(id));
    }
    Ok(views::all(storage::deliveries::of_alert(&app.db, id).await?))
}
