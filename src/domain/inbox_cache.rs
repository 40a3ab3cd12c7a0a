//! The head of each staff member's inbox (live and unread counts, and the
//! newest live alerts), kept between requests: the badge poll and the first
//! inbox page are most of the traffic, and each would otherwise count
//! thousands of index entries and fetch the same rows again.
//!
//! A read or dismiss made on this instance adjusts its owner's entry in
//! place (see [`InboxWrite`]); every other event about a staff member drops
//! their entry, this instance's and (through Redis) every other's; the event
//! bus does that as the events go by. An entry is also never used past the
//! earliest expiry among the alerts it counted (expiry needs no write), nor
//! more than `MAX_AGE` after it was counted: that bounds how stale it can be
//! after a write that publishes no event (another process on the database
//! without Redis).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use super::events::StaffEvent;
use super::views::Alert;

pub const MAX_AGE: TimeDelta = TimeDelta::seconds(5);
/// How many of the newest live alerts an entry keeps: the default page.
pub const HEAD_ROWS: u64 = 20;
/// Beyond this many staff members the cache starts afresh rather than grow.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxCounts {
    pub unread: u64,
    pub live: u64,
}

#[derive(Debug, Clone)]
pub struct InboxHead {
    pub counts: InboxCounts,
    /// The newest `HEAD_ROWS` live alerts, newest first, once someone asked.
    pub newest: Option<Arc<[Alert]>>,
    /// `newest` as a JSON array, serialized once.
    pub newest_json: Option<Arc<serde_json::value::RawValue>>,
    /// Not to be used from this time on.
    pub valid_until: DateTime<Utc>,
}

impl InboxHead {
    /// Until when counts taken at `now` stay true without a write.
    pub fn valid_until(now: DateTime<Utc>, earliest_expiry: Option<DateTime<Utc>>) -> DateTime<Utc> {
        earliest_expiry.map_or(now + MAX_AGE, |e| e.min(now + MAX_AGE))
    }

    /// `change` applied; `None` if it cannot be (the counts would go below
    /// zero, which means the entry was wrong: it is dropped instead).
    fn changed(mut self, change: &HeadChange) -> Option<InboxHead> {
        let live_before = self.counts.live;
        self.counts.unread = self.counts.unread.checked_add_signed(change.unread)?;
        self.counts.live = self.counts.live.checked_add_signed(change.live)?;
        let Some(newest) = self.newest.take() else { return Some(self) };
        let at = newest.iter().position(|a| a.id == change.row.alert_id());
        let newest: Option<Arc<[Alert]>> = match (at, change.row) {
            (None, _) => Some(newest),
            (Some(at), RowChange::Read { read_at, .. }) => {
                let mut rows = newest.to_vec();
                rows[at].is_read = true;
                rows[at].read_at = Some(read_at);
                Some(rows.into())
            }
            // The alert after the head's last one is not known.
            (Some(_), RowChange::Removed { .. }) if live_before > newest.len() as u64 => None,
            (Some(at), RowChange::Removed { .. }) => {
                let mut rows = newest.to_vec();
                rows.remove(at);
                Some(rows.into())
            }
        };
        self.newest_json = newest.as_ref().and_then(|rows| serde_json::value::to_raw_value(rows).ok().map(Arc::from));
        self.newest = self.newest_json.as_ref().and(newest);
        Some(self)
    }
}

/// What a write did to one alert of a staff member's inbox, in terms of the
/// cached head: counts to add (negative: taken away) and the row's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadChange {
    pub unread: i64,
    pub live: i64,
    pub row: RowChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowChange {
    /// Marked read at `read_at`.
    Read { alert_id: i64, read_at: DateTime<Utc> },
    /// No longer among the live alerts (dismissed).
    Removed { alert_id: i64 },
}

impl RowChange {
    fn alert_id(&self) -> i64 {
        match *self {
            RowChange::Read { alert_id, .. } | RowChange::Removed { alert_id } => alert_id,
        }
    }
}

/// A cached head and the tick it was counted at.
#[derive(Debug, Clone)]
struct Entry {
    head: InboxHead,
    counted_at: u64,
}

#[derive(Default)]
pub struct InboxCache {
    inner: Mutex<Inner>,
}

/// Ticks order what happened here: lookups, writes and events. What was
/// read across a write's start or end, or an event, may or may not include
/// the write behind it, so it is not stored (see `store`).
#[derive(Default)]
struct Inner {
    entries: HashMap<i64, Entry>,
    tick: u64,
    /// The tick of each staff member's last write start, write end or event.
    touched: HashMap<i64, u64>,
    /// The tick of the last event for everyone (or of forgetting `touched`).
    everyone: u64,
}

impl Inner {
    fn touch(&mut self, staff_id: i64) -> u64 {
        self.tick += 1;
        if self.touched.len() >= MAX_ENTRIES {
            self.forget_all();
        }
        self.touched.insert(staff_id, self.tick);
        self.tick
    }

    fn forget_all(&mut self) {
        self.entries.clear();
        self.touched.clear();
        self.everyone = self.tick;
    }

    fn untouched_since(&self, staff_id: i64, tick: u64) -> bool {
        self.everyone <= tick && self.touched.get(&staff_id).is_none_or(|&t| t <= tick)
    }
}

impl InboxCache {
    /// The valid entry, if any, and the token to hand back to `store` after
    /// reading from the database.
    pub fn lookup(&self, staff_id: i64, now: DateTime<Utc>) -> (Option<InboxHead>, u64) {
        let Ok(mut inner) = self.inner.lock() else { return (None, u64::MAX) };
        inner.tick += 1;
        let head = inner.entries.get(&staff_id).filter(|e| now < e.head.valid_until).map(|e| e.head.clone());
        (head, inner.tick)
    }

    /// Keeps `head`, unless this staff member's inbox was written or had an
    /// event since `token`.
    pub fn store(&self, staff_id: i64, token: u64, head: InboxHead) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if !inner.untouched_since(staff_id, token) {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.forget_all();
            return;
        }
        inner.entries.insert(staff_id, Entry { head, counted_at: token });
    }

    /// Called by the event bus for every event, before anyone hears of it.
    pub fn invalidate(&self, event: &StaffEvent) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if event.staff_id == StaffEvent::EVERYONE {
            inner.tick += 1;
            inner.forget_all();
        } else {
            inner.touch(event.staff_id);
            inner.entries.remove(&event.staff_id);
        }
    }

    /// Starts a write to `staff_id`'s alerts; call before the write's first
    /// statement.
    pub fn begin_write(&self, staff_id: i64) -> InboxWrite<'_> {
        let began = match self.inner.lock() {
            Ok(mut inner) => inner.touch(staff_id),
            Err(_) => u64::MAX,
        };
        InboxWrite { cache: self, staff_id, began, finished: false }
    }

    fn finish_write(&self, staff_id: i64, began: u64, change: Option<&HeadChange>) {
        let Ok(mut inner) = self.inner.lock() else { return };
        // Another write or an event in between: which of them an entry
        // includes is not known.
        let alone = inner.untouched_since(staff_id, began);
        inner.touch(staff_id);
        let Some(change) = change else {
            if !alone {
                inner.entries.remove(&staff_id);
            }
            return;
        };
        let Some(entry) = inner.entries.remove(&staff_id) else { return };
        // Counted before the write began, so without it.
        if alone
            && entry.counted_at < began
            && let Some(head) = entry.head.changed(change)
        {
            inner.entries.insert(staff_id, Entry { head, counted_at: entry.counted_at });
        }
    }
}

/// One write to a staff member's alerts on this instance: started before the
/// write, finished after its commit with what it changed. The cached entry
/// is adjusted when it was counted before the write began and nothing else
/// happened to the inbox meanwhile; otherwise it is dropped, as is the entry
/// of a write that never finished (an error, a dropped request).
pub struct InboxWrite<'a> {
    cache: &'a InboxCache,
    staff_id: i64,
    began: u64,
    finished: bool,
}

impl InboxWrite<'_> {
    pub fn staff_id(&self) -> i64 {
        self.staff_id
    }

    /// Committed: `change` is what it did (`None`: nothing changed).
    pub fn finish(mut self, change: Option<&HeadChange>) {
        self.finished = true;
        self.cache.finish_write(self.staff_id, self.began, change);
    }
}

impl Drop for InboxWrite<'_> {
    fn drop(&mut self) {
        if !self.finished
            && let Ok(mut inner) = self.cache.inner.lock()
        {
            inner.touch(self.staff_id);
            inner.entries.remove(&self.staff_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::Change;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn head(valid_until: DateTime<Utc>) -> InboxHead {
        InboxHead { counts: InboxCounts { unread: 3, live: 7 }, newest: None, newest_json: None, valid_until }
    }

    fn counts(cache: &InboxCache, staff_id: i64, now: DateTime<Utc>) -> Option<InboxCounts> {
        cache.lookup(staff_id, now).0.map(|h| h.counts)
    }

    #[test]
    fn an_entry_lives_until_the_earliest_expiry_or_max_age() {
        assert_eq!(InboxHead::valid_until(at(0), Some(at(2))), at(2));
        assert_eq!(InboxHead::valid_until(at(0), Some(at(60))), at(5));
        assert_eq!(InboxHead::valid_until(at(0), None), at(5));
        let cache = InboxCache::default();
        cache.store(1, cache.lookup(1, at(0)).1, head(at(2)));
        assert!(counts(&cache, 1, at(1)).is_some());
        assert_eq!(counts(&cache, 1, at(2)), None);
    }

    #[test]
    fn an_event_drops_its_staff_members_entry_and_everyone_drops_all() {
        let cache = InboxCache::default();
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        cache.store(2, cache.lookup(2, at(0)).1, head(at(5)));
        cache.invalidate(&StaffEvent { staff_id: 1, change: Change::Resync });
        assert_eq!(counts(&cache, 1, at(1)), None);
        assert!(counts(&cache, 2, at(1)).is_some());
        cache.invalidate(&StaffEvent { staff_id: StaffEvent::EVERYONE, change: Change::Resync });
        assert_eq!(counts(&cache, 2, at(1)), None);
    }

    #[test]
    fn what_was_read_across_an_invalidation_is_not_kept() {
        let cache = InboxCache::default();
        let (_, before) = cache.lookup(1, at(0));
        cache.invalidate(&StaffEvent { staff_id: 2, change: Change::Resync });
        cache.store(1, before, head(at(5)));
        assert!(counts(&cache, 1, at(1)).is_some(), "another's event does not concern this inbox");
        let (_, before) = cache.lookup(3, at(0));
        cache.invalidate(&StaffEvent { staff_id: 3, change: Change::Resync });
        cache.store(3, before, head(at(5)));
        assert_eq!(counts(&cache, 3, at(1)), None);
        let (_, before) = cache.lookup(4, at(0));
        cache.invalidate(&StaffEvent { staff_id: StaffEvent::EVERYONE, change: Change::Resync });
        cache.store(4, before, head(at(5)));
        assert_eq!(counts(&cache, 4, at(1)), None);
    }

    fn read(alert_id: i64) -> HeadChange {
        HeadChange { unread: -1, live: 0, row: RowChange::Read { alert_id, read_at: at(1) } }
    }

    #[test]
    fn a_write_adjusts_an_entry_counted_before_it_began() {
        let cache = InboxCache::default();
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        let write = cache.begin_write(1);
        write.finish(Some(&read(9)));
        assert_eq!(counts(&cache, 1, at(1)), Some(InboxCounts { unread: 2, live: 7 }));
        let write = cache.begin_write(1);
        write.finish(Some(&HeadChange { unread: -1, live: -1, row: RowChange::Removed { alert_id: 9 } }));
        assert_eq!(counts(&cache, 1, at(1)), Some(InboxCounts { unread: 1, live: 6 }));
        // Nothing changed: the entry stays as it was.
        cache.begin_write(1).finish(None);
        assert_eq!(counts(&cache, 1, at(1)), Some(InboxCounts { unread: 1, live: 6 }));
    }

    #[test]
    fn what_may_include_the_write_is_dropped_not_adjusted() {
        let cache = InboxCache::default();
        // Looked up after the write began: its read may have seen the write.
        let write = cache.begin_write(1);
        let (_, token) = cache.lookup(1, at(0));
        cache.store(1, token, head(at(5)));
        assert!(counts(&cache, 1, at(1)).is_some());
        write.finish(Some(&read(9)));
        assert_eq!(counts(&cache, 1, at(1)), None);
        // Read across the write's end: not stored.
        let write = cache.begin_write(1);
        let (_, token) = cache.lookup(1, at(0));
        write.finish(Some(&read(9)));
        cache.store(1, token, head(at(5)));
        assert_eq!(counts(&cache, 1, at(1)), None);
    }

    #[test]
    fn overlapping_writes_events_and_unfinished_writes_drop_the_entry() {
        let cache = InboxCache::default();
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        let first = cache.begin_write(1);
        let second = cache.begin_write(1);
        first.finish(Some(&read(9)));
        assert_eq!(counts(&cache, 1, at(1)), None, "which of the two an entry holds is not known");
        second.finish(Some(&read(8)));
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        let write = cache.begin_write(1);
        cache.invalidate(&StaffEvent { staff_id: 1, change: Change::Resync });
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        write.finish(Some(&read(9)));
        assert_eq!(counts(&cache, 1, at(1)), None);
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        drop(cache.begin_write(1));
        assert_eq!(counts(&cache, 1, at(1)), None, "a write that never finished may have committed");
        // An entry that would count below zero was wrong: dropped.
        cache.store(1, cache.lookup(1, at(0)).1, head(at(5)));
        cache.begin_write(1).finish(Some(&HeadChange {
            unread: -4,
            live: -1,
            row: RowChange::Removed { alert_id: 9 },
        }));
        assert_eq!(counts(&cache, 1, at(1)), None);
    }

    fn alert(id: i64) -> Alert {
        Alert {
            id,
            alert_type: "sla_breach".into(),
            severity: "high".into(),
            title: format!("alert {id}"),
            message: String::new(),
            resource_type: None,
            resource_id: None,
            assigned_to_staff_id: 1,
            is_read: false,
            is_dismissed: false,
            alert_metadata: None,
            created_at: at(0),
            read_at: None,
            dismissed_at: None,
            expires_at: None,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            escalation_step: 0,
            snoozed_until: None,
        }
    }

    fn with_rows(ids: &[i64], live: u64) -> InboxHead {
        let rows: Arc<[Alert]> = ids.iter().map(|&id| alert(id)).collect();
        let json = serde_json::value::to_raw_value(&rows).ok().map(Arc::from);
        InboxHead {
            counts: InboxCounts { unread: live, live },
            newest: Some(rows),
            newest_json: json,
            valid_until: at(5),
        }
    }

    fn rows(cache: &InboxCache, staff_id: i64) -> Option<Vec<(i64, bool)>> {
        let head = cache.lookup(staff_id, at(1)).0?;
        let json: Vec<serde_json::Value> = serde_json::from_str(head.newest_json?.get()).ok()?;
        assert_eq!(json.len(), head.newest.as_ref()?.len(), "the JSON is of the rows");
        Some(head.newest?.iter().map(|a| (a.id, a.is_read)).collect())
    }

    #[test]
    fn the_head_rows_follow_reads_and_dismissals() {
        let cache = InboxCache::default();
        cache.store(1, cache.lookup(1, at(0)).1, with_rows(&[3, 2, 1], 3));
        cache.begin_write(1).finish(Some(&read(2)));
        assert_eq!(rows(&cache, 1), Some(vec![(3, false), (2, true), (1, false)]));
        let dismissed = |id| HeadChange { unread: -1, live: -1, row: RowChange::Removed { alert_id: id } };
        cache.begin_write(1).finish(Some(&dismissed(3)));
        assert_eq!(rows(&cache, 1), Some(vec![(2, true), (1, false)]), "all live alerts were in the head");
        // More live alerts than the head holds: the next one is not known.
        cache.store(2, cache.lookup(2, at(0)).1, with_rows(&[3, 2, 1], 10));
        cache.begin_write(2).finish(Some(&dismissed(2)));
        assert_eq!(rows(&cache, 2), None);
        assert_eq!(counts(&cache, 2, at(1)), Some(InboxCounts { unread: 9, live: 9 }));
        // An alert older than the head: the rows stay.
        cache.store(3, cache.lookup(3, at(0)).1, with_rows(&[3, 2, 1], 10));
        cache.begin_write(3).finish(Some(&dismissed(7)));
        assert_eq!(rows(&cache, 3), Some(vec![(3, false), (2, false), (1, false)]));
    }
}
