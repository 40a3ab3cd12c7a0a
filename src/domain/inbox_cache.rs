//! The head of each staff member's inbox (live and unread counts, and the
//! newest live alerts), kept between requests: the badge poll and the first
//! inbox page are most of the traffic, and each would otherwise count
//! thousands of index entries and fetch the same rows again.
//!
//! An entry is dropped by every event about its staff member, this
//! instance's and (through Redis) every other's; the event bus does that as
//! the events go by. It is also never used past the earliest expiry among the
//! alerts it counted (expiry needs no write), nor more than `MAX_AGE` after it
//! was counted: that bounds how stale it can be after a write that publishes
//! no event (another process on the database without Redis).
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
}

#[derive(Default)]
pub struct InboxCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, InboxHead>,
    /// Bumped by every invalidation. What was read while one happened may
    /// predate the write behind it, so it is not stored (see `store`).
    generation: u64,
}

impl InboxCache {
    /// The valid entry, if any, and the generation to hand back to `store`
    /// after reading from the database.
    pub fn lookup(&self, staff_id: i64, now: DateTime<Utc>) -> (Option<InboxHead>, u64) {
        let Ok(inner) = self.inner.lock() else { return (None, u64::MAX) };
        let head = inner.entries.get(&staff_id).filter(|h| now < h.valid_until).cloned();
        (head, inner.generation)
    }

    /// Keeps `head`, unless something changed since `generation`.
    pub fn store(&self, staff_id: i64, generation: u64, head: InboxHead) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(staff_id, head);
    }

    /// Called by the event bus for every event, before anyone hears of it.
    pub fn invalidate(&self, event: &StaffEvent) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.generation = inner.generation.wrapping_add(1);
        if event.staff_id == StaffEvent::EVERYONE {
            inner.entries.clear();
        } else {
            inner.entries.remove(&event.staff_id);
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
        assert_eq!(counts(&cache, 1, at(1)), None);
    }
}
