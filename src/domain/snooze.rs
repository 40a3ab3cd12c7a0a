//! Snooze (SPEC 10, issue 19): a staff member puts one of their alerts out
//! of the inbox and its unread count until a time, and it comes back unread,
//! pushed live. Snoozing is not acknowledging: the alert's event escalates
//! as before.
//!
//! - The time: `until` (RFC 3339), or a preset: `1h`, `3h`, `tomorrow`
//!   (09:00 tomorrow in the person's zone, `staff.time_zone`, else UTC),
//!   `next_working_day` (the first opening of the complaint's SLA calendar
//!   on a later day than today in the calendar's zone; for an alert about no
//!   complaint, or a complaint on the 24x7 calendar: as `tomorrow`). It must
//!   lie between 1 minute and 30 days ahead (else 422), and is cut to the
//!   alert's expiry (it never sleeps past it).
//! - Only a live alert (not dismissed, not expired) can be snoozed: else 409.
//! - It wakes when its time comes (the `snooze_wake` job, every
//!   `ALERTS_SNOOZE_WAKE_SECONDS`, 15 s by default), early when a newer alert
//!   about the same resource reaches the same person (the same job: the new
//!   alerts since its last run) or when its complaint changes hands (at
//!   once), or when its owner wakes it. Each wake is one transaction that
//!   locks what it wakes, so racing wakes (instances, the owner) wake each
//!   alert once; each woken live alert is published as [`Change::Woken`].

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::ToSchema;

use super::events::{Change, StaffEvent};
use super::views::Alert;
use super::vocab::not_one_of;
use super::{App, DomainError, DomainResult};
use crate::storage::entities::alert;
use crate::storage::migrations::CALENDAR_24X7;
use crate::storage::{self, alerts::Wakes, alerts::Woke};

/// The nearest a snooze may end.
pub const MIN_AHEAD: TimeDelta = TimeDelta::minutes(1);
/// The farthest a snooze may end.
pub const MAX_AHEAD: TimeDelta = TimeDelta::days(30);
/// Alerts one wake transaction takes (SQLite takes four times as many:
/// `storage::alerts::wake`).
pub const BATCH: u64 = 5000;
/// Beyond this many woken alerts in one run, each person gets one resync
/// instead of an event per alert (as the engine announces its alerts).
const ANNOUNCE_ROWS: usize = 1000;
/// New alerts created this little before the last run are looked at again
/// (they may have been committing while it read).
const COMMIT_MARGIN: TimeDelta = TimeDelta::seconds(60);
/// The furthest back the job looks for newer alerts (after an outage).
const LOOKBACK: TimeDelta = TimeDelta::days(1);

/// `PUT /alerts/{id}/snooze`: exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// When it comes back (RFC 3339): between 1 minute and 30 days ahead
    pub until: Option<DateTime<Utc>>,
    /// `1h`, `3h`, `tomorrow` (09:00 in the caller's time zone) or
    /// `next_working_day` (the next day's opening of the complaint's SLA calendar)
    #[schema(example = "tomorrow")]
    pub preset: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    OneHour,
    ThreeHours,
    Tomorrow,
    NextWorkingDay,
}

impl Preset {
    pub const NAMES: [&'static str; 4] = ["1h", "3h", "tomorrow", "next_working_day"];

    pub fn parse(field: &str, raw: &str) -> DomainResult<Preset> {
        match raw {
            "1h" => Ok(Preset::OneHour),
            "3h" => Ok(Preset::ThreeHours),
            "tomorrow" => Ok(Preset::Tomorrow),
            "next_working_day" => Ok(Preset::NextWorkingDay),
            other => Err(not_one_of(field, other, &Self::NAMES)),
        }
    }
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound(format!("alert {id} not found"))
}

/// 409 unless the alert is live at `now`.
fn check_live(alert: &alert::Model, now: DateTime<Utc>) -> DomainResult<()> {
    if alert.is_dismissed {
        return Err(DomainError::Conflict(format!(
            "alert {} is dismissed: only a live alert can be snoozed",
            alert.id
        )));
    }
    if alert.expires_at.is_some_and(|e| e <= now) {
        return Err(DomainError::Conflict(format!("alert {} has expired: only a live alert can be snoozed", alert.id)));
    }
    Ok(())
}

/// Snoozes one of the caller's alerts; returns it with its `snoozed_until`.
pub async fn snooze(app: &App, staff_id: i64, id: i64, request: SnoozeRequest) -> DomainResult<Alert> {
    let now = app.clock.now();
    let alert = storage::alerts::owned(&app.db, staff_id, id).await?.ok_or_else(|| not_found(id))?;
    check_live(&alert, now)?;
    let (field, wanted) = match (request.until, request.preset) {
        (Some(_), Some(_)) => return Err(DomainError::invalid("until", "give either until or preset, not both")),
        (None, None) => {
            return Err(DomainError::invalid(
                "until",
                format!("give until (a time) or preset ({})", Preset::NAMES.join(", ")),
            ));
        }
        (Some(until), None) => ("until", super::time::check("until", until)?),
        (None, Some(raw)) => ("preset", preset_time(app, staff_id, &alert, Preset::parse("preset", &raw)?, now).await?),
    };
    check_ahead(field, wanted, now)?;
    let until = alert.expires_at.map_or(wanted, |expiry| wanted.min(expiry));
    if !storage::alerts::snooze(&app.db, staff_id, id, until, now).await? {
        // Dismissed or expired since it was read.
        let alert = storage::alerts::owned(&app.db, staff_id, id).await?.ok_or_else(|| not_found(id))?;
        check_live(&alert, now)?;
        return Err(DomainError::Conflict(format!("alert {id} changed meanwhile; try again")));
    }
    let alert = super::alerts::get(app, staff_id, id).await?;
    app.events.publish(StaffEvent { staff_id, change: Change::Updated { alert: Box::new(alert.clone()) } });
    Ok(alert)
}

/// 422 unless `at` lies between [`MIN_AHEAD`] and [`MAX_AHEAD`] from `now`.
fn check_ahead(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> DomainResult<()> {
    if at < now + MIN_AHEAD || at > now + MAX_AHEAD {
        return Err(DomainError::invalid(
            field,
            format!("a snooze must end between 1 minute and 30 days from now ({} was asked)", at.to_rfc3339()),
        ));
    }
    Ok(())
}

/// When a preset ends, for this person and alert.
async fn preset_time(
    app: &App,
    staff_id: i64,
    alert: &alert::Model,
    preset: Preset,
    now: DateTime<Utc>,
) -> DomainResult<DateTime<Utc>> {
    match preset {
        Preset::OneHour => Ok(now + TimeDelta::hours(1)),
        Preset::ThreeHours => Ok(now + TimeDelta::hours(3)),
        Preset::Tomorrow => Ok(tomorrow_at_nine(zone_of(app, staff_id).await?, now)),
        Preset::NextWorkingDay => {
            let revision = match (alert.resource_type.as_deref(), alert.resource_id) {
                (Some("complaint"), Some(complaint)) => {
                    storage::complaints::calendar_revisions(&app.db, &[complaint]).await?.first().and_then(|r| r.1)
                }
                _ => None,
            };
            let snapshot = super::sla::snapshot(app).await?;
            match revision.filter(|r| *r != CALENDAR_24X7).and_then(|r| snapshot.revision(Some(r))) {
                Some(calendar) => next_working_day(calendar, now).ok_or_else(|| {
                    DomainError::invalid("preset", "the complaint's calendar has no working time ahead")
                }),
                None => Ok(tomorrow_at_nine(zone_of(app, staff_id).await?, now)),
            }
        }
    }
}

/// The person's time zone (the organisation's when unset or unknown).
async fn zone_of(app: &App, staff_id: i64) -> DomainResult<Tz> {
    let staff = storage::staff::by_id(&app.db, staff_id).await?;
    Ok(staff.map_or(app.time_zone, |s| super::preferences::zone_of(&s, app.time_zone)))
}

/// `time` on `date` in `zone` (the earlier of two in a repeated hour; an
/// hour later in a skipped one).
fn local(zone: Tz, date: chrono::NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let at = date.and_time(time);
    zone.from_local_datetime(&at)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(at + TimeDelta::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

/// 09:00 tomorrow in `zone`.
pub fn tomorrow_at_nine(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    now.with_timezone(&zone)
        .date_naive()
        .succ_opt()
        .and_then(|tomorrow| local(zone, tomorrow, nine))
        .unwrap_or(now + TimeDelta::days(1))
}

/// The first opening of `calendar` on a later day than today (in its zone).
pub fn next_working_day(calendar: &super::calendar::Calendar, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let zone = calendar.time_zone();
    let tomorrow = now.with_timezone(&zone).date_naive().succ_opt()?;
    calendar.next_opening(local(zone, tomorrow, NaiveTime::MIN)?)
}

/// `DELETE /alerts/{id}/snooze`: wakes one of the caller's alerts now
/// (unread); an alert not snoozed is returned as it is.
pub async fn wake_now(app: &App, staff_id: i64, id: i64) -> DomainResult<Alert> {
    let now = app.clock.now();
    let woke = storage::alerts::wake_one(&app.db, staff_id, id, now).await?;
    let alert = super::alerts::get(app, staff_id, id).await?;
    if woke {
        let row = storage::alerts::owned(&app.db, staff_id, id).await?.ok_or_else(|| not_found(id))?;
        let mut told = Announcement::default();
        told.add(Woke { count: 1, alerts: vec![row], owners: Vec::new() }, now);
        told.publish(app);
    }
    Ok(alert)
}

/// The scheduled job: wakes the snoozes that came due, then those a newer
/// alert (created since the last run) supersedes. Returns how many woke.
pub async fn tick(app: &App) -> DomainResult<u64> {
    let now = app.clock.now();
    let since = match storage::leases::watermark(&app.db, JOB).await? {
        Some(last) => (last - COMMIT_MARGIN).max(now - LOOKBACK),
        None => now - LOOKBACK,
    };
    let mut woken = wake_due(app).await?;
    let mut told = Announcement::default();
    let superseded = wake_superseded(app, since, now, &mut told).await;
    told.publish(app);
    woken += superseded?;
    storage::leases::set_watermark(&app.db, JOB, now).await?;
    Ok(woken)
}

async fn wake_superseded(
    app: &App,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    told: &mut Announcement,
) -> DomainResult<u64> {
    let mut woken = 0;
    loop {
        let ids = storage::alerts::superseded(&app.db, since, BATCH).await?;
        if ids.is_empty() {
            return Ok(woken);
        }
        let woke = storage::alerts::wake(&app.db, Wakes::Ids(&ids), now, BATCH, told.room()).await?;
        let n = woke.count;
        woken += n as u64;
        told.add(woke, now);
        // Fewer found than a batch, or none of them ours (a racing run holds them).
        if ids.len() < BATCH as usize || n == 0 {
            return Ok(woken);
        }
    }
}

/// The job's name (its lease and watermark).
pub const JOB: &str = "snooze_wake";

/// Wakes every snooze due now, a batch per transaction. Returns how many woke.
pub async fn wake_due(app: &App) -> DomainResult<u64> {
    let now = app.clock.now();
    let mut told = Announcement::default();
    let woken = async {
        // Most runs wake a few: one batch, whose rows may be pushed one by one.
        let first = storage::alerts::wake(&app.db, Wakes::Due, now, BATCH, told.room()).await?;
        let n = first.count;
        told.add(first, now);
        if n < BATCH as usize {
            return Ok::<_, DomainError>(n as u64);
        }
        // A burst (a full batch is beyond what is pushed one by one, so the rest
        // is told as resyncs): where the database runs transactions side by
        // side, several drain it at once, their locked picks kept apart.
        let workers = storage::alerts::wake_workers(&app.db);
        let drains = (0..workers).map(|_| drain_due(app, now, told.room()));
        let mut woken = n as u64;
        let mut failed = None;
        for (wokes, result) in futures_util::future::join_all(drains).await {
            for woke in wokes {
                woken += woke.count as u64;
                told.add(woke, now);
            }
            if let Err(e) = result {
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(woken), Err)
    }
    .await;
    // What committed is told even if a later batch failed.
    told.publish(app);
    woken
}

/// Wakes due snoozes a batch at a time until none is left (or one fails):
/// what each committed batch woke, and how it ended.
async fn drain_due(app: &App, now: DateTime<Utc>, full_rows: usize) -> (Vec<Woke>, DomainResult<()>) {
    let mut wokes = Vec::new();
    loop {
        match storage::alerts::wake(&app.db, Wakes::Due, now, BATCH, full_rows).await {
            Ok(woke) => {
                let done = woke.count < BATCH as usize;
                wokes.push(woke);
                if done {
                    return (wokes, Ok(()));
                }
            }
            Err(e) => return (wokes, Err(e.into())),
        }
    }
}

/// Wakes every snoozed alert about a complaint (it changed hands).
pub async fn wake_complaint(app: &App, complaint_id: i64) -> DomainResult<u64> {
    let ids = storage::alerts::snoozed_of_complaint(&app.db, complaint_id).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let now = app.clock.now();
    let mut told = Announcement::default();
    let woken = async {
        let mut woken = 0;
        for chunk in ids.chunks(BATCH as usize) {
            let woke = storage::alerts::wake(&app.db, Wakes::Ids(chunk), now, BATCH, told.room()).await?;
            woken += woke.count as u64;
            told.add(woke, now);
        }
        Ok::<_, DomainError>(woken)
    }
    .await;
    told.publish(app);
    woken
}

/// What one wake run tells, after its commits: each woken live alert to its
/// owner's connections on every instance, or beyond [`ANNOUNCE_ROWS`] one
/// resync per owner for the whole run (one per owner per batch made every
/// connection re-count its inbox once per batch). Dismissed or expired
/// alerts only lost their snooze: nobody sees them.
#[derive(Default)]
struct Announcement {
    alerts: Vec<alert::Model>,
    owners: BTreeSet<i64>,
    resync: bool,
}

impl Announcement {
    /// How many woken rows the next batch may read back whole.
    fn room(&self) -> usize {
        if self.resync { 0 } else { ANNOUNCE_ROWS - self.alerts.len() }
    }

    fn add(&mut self, woke: Woke, now: DateTime<Utc>) {
        // Whole rows: the batch fitted in `room`.
        if !self.resync && woke.alerts.len() == woke.count {
            let live = |a: &alert::Model| !a.is_dismissed && a.expires_at.is_none_or(|e| e > now);
            self.alerts.extend(woke.alerts.into_iter().filter(live));
            return;
        }
        // Too many to push one by one: a resync for each owner.
        self.resync = true;
        self.owners.extend(self.alerts.drain(..).map(|a| a.assigned_to_staff_id));
        self.owners.extend(woke.owners);
    }

    fn publish(self, app: &App) {
        for alert in self.alerts {
            let staff_id = alert.assigned_to_staff_id;
            app.events.publish(StaffEvent { staff_id, change: Change::Woken { alert: Box::new(alert.into()) } });
        }
        for staff_id in self.owners {
            app.events.publish(StaffEvent { staff_id, change: Change::Resync });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn tomorrow_is_nine_in_the_persons_zone_across_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(tomorrow_at_nine(berlin, at("2027-01-11T22:30:00Z")), at("2027-01-12T08:00:00Z"));
        // 23:30 UTC is already the 12th in Berlin: tomorrow is the 13th.
        assert_eq!(tomorrow_at_nine(berlin, at("2027-01-11T23:30:00Z")), at("2027-01-13T08:00:00Z"));
        // The night the clocks go forward (28 March 2027): 09:00 CEST is 07:00 UTC.
        assert_eq!(tomorrow_at_nine(berlin, at("2027-03-27T12:00:00Z")), at("2027-03-28T07:00:00Z"));
        assert_eq!(tomorrow_at_nine(Tz::UTC, at("2027-01-11T22:30:00Z")), at("2027-01-12T09:00:00Z"));
    }

    #[test]
    fn presets_parse_by_name_and_others_are_refused() {
        assert_eq!(Preset::parse("preset", "3h").ok(), Some(Preset::ThreeHours));
        let err = Preset::parse("preset", "2h").map_err(|e| e.to_string());
        assert_eq!(err, Err("preset: \"2h\" is not one of 1h, 3h, tomorrow, next_working_day".to_owned()));
    }

    fn row(id: i64, staff: i64, dismissed: bool) -> alert::Model {
        alert::Model {
            id,
            alert_type: "sla_at_risk".into(),
            severity: "warning".into(),
            title: String::new(),
            message: String::new(),
            resource_type: None,
            resource_id: None,
            assigned_to_staff_id: staff,
            is_read: false,
            is_dismissed: dismissed,
            alert_metadata: None,
            created_at: DateTime::UNIX_EPOCH,
            read_at: None,
            dismissed_at: None,
            expires_at: None,
            event_id: None,
            acknowledged_at: None,
            acknowledged_by: None,
            acknowledged_by_name: None,
            resolved_at: None,
            escalation_step: 0,
            ack_link_used_at: None,
            snoozed_until: None,
            snoozed_at: None,
        }
    }

    #[test]
    fn a_run_tells_each_live_alert_or_one_resync_per_owner() {
        let now = at("2027-01-11T10:00:00Z");
        let mut told = Announcement::default();
        told.add(Woke { count: 2, alerts: vec![row(1, 7, false), row(2, 8, true)], owners: Vec::new() }, now);
        assert_eq!((told.alerts.iter().map(|a| a.id).collect::<Vec<_>>(), told.room()), (vec![1], ANNOUNCE_ROWS - 1));
        // A batch too large for whole rows: the run turns to resyncs, the owners of the rows before included.
        told.add(Woke { count: 5000, alerts: Vec::new(), owners: vec![8, 9] }, now);
        told.add(Woke { count: 5000, alerts: Vec::new(), owners: vec![9, 10] }, now);
        assert!(told.alerts.is_empty() && told.resync && told.room() == 0);
        assert_eq!(told.owners.into_iter().collect::<Vec<_>>(), vec![7, 8, 9, 10]);
    }

    #[test]
    fn bounds_are_one_minute_to_thirty_days() {
        let now = at("2027-01-11T10:00:00Z");
        assert!(check_ahead("until", now + TimeDelta::minutes(1), now).is_ok());
        assert!(check_ahead("until", now + TimeDelta::days(30), now).is_ok());
        assert!(check_ahead("until", now + TimeDelta::seconds(59), now).is_err());
        assert!(check_ahead("until", now + TimeDelta::days(30) + TimeDelta::seconds(1), now).is_err());
    }
}
