//! Each staff member's inbox counts (live unread, live total), kept between
//! requests so the badge poll and the first inbox page do not count thousands
//! of index entries every time.
//!
//! An entry is dropped by every event about its staff member, this
//! instance's and (through Redis) every other's; the event bus does that as
//! the events go by. It is also never used past the earliest expiry among the
//! alerts it counted (expiry needs no write), nor more than `MAX_AGE` after it
//! was counted: that bounds how stale a count can be after a write that
//! publishes no event (another process on the database without Redis).
use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::events::StaffEvent;

const MAX_AGE: TimeDelta = TimeDelta::seconds(5);
/// Beyond this many staff members the cache starts afresh rather than grow.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxCounts {
    pub unread: u64,
    pub live: u64,
}

struct Entry {
    counts: InboxCounts,
    valid_until: DateTime<Utc>,
}

#[derive(Default)]
pub struct InboxCountCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, Entry>,
    /// Bumped by every invalidation. A count read while one happened may
    /// predate the write behind it, so it is not stored (see `store`).
    generation: u64,
}

impl InboxCountCache {
    pub fn get(&self, staff_id: i64, now: DateTime<Utc>) -> Option<InboxCounts> {
        let inner = self.inner.lock().ok()?;
        inner.entries.get(&staff_id).filter(|e| now < e.valid_until).map(|e| e.counts)
    }

    /// To be taken before counting, and handed back to `store`.
    pub fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(u64::MAX)
    }

    /// Keeps counts taken at `now`, unless something changed since `generation`.
    pub fn store(
        &self,
        staff_id: i64,
        generation: u64,
        counts: InboxCounts,
        now: DateTime<Utc>,
        earliest_expiry: Option<DateTime<Utc>>,
    ) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        let valid_until = earliest_expiry.map_or(now + MAX_AGE, |e| e.min(now + MAX_AGE));
        inner.entries.insert(staff_id, Entry { counts, valid_until });
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

    const COUNTS: InboxCounts = InboxCounts { unread: 3, live: 7 };

    #[test]
    fn an_entry_lives_until_the_earliest_expiry_or_max_age() {
        let cache = InboxCountCache::default();
        cache.store(1, cache.generation(), COUNTS, at(0), Some(at(2)));
        assert_eq!(cache.get(1, at(1)), Some(COUNTS));
        assert_eq!(cache.get(1, at(2)), None, "an alert it counted expired");
        cache.store(1, cache.generation(), COUNTS, at(0), None);
        assert_eq!(cache.get(1, at(4)), Some(COUNTS));
        assert_eq!(cache.get(1, at(5)), None, "older than MAX_AGE");
    }

    #[test]
    fn an_event_drops_its_staff_members_entry_and_everyone_drops_all() {
        let cache = InboxCountCache::default();
        cache.store(1, cache.generation(), COUNTS, at(0), None);
        cache.store(2, cache.generation(), COUNTS, at(0), None);
        cache.invalidate(&StaffEvent { staff_id: 1, change: Change::Resync });
        assert_eq!(cache.get(1, at(1)), None);
        assert_eq!(cache.get(2, at(1)), Some(COUNTS));
        cache.invalidate(&StaffEvent { staff_id: StaffEvent::EVERYONE, change: Change::Resync });
        assert_eq!(cache.get(2, at(1)), None);
    }

    #[test]
    fn a_count_taken_across_an_invalidation_is_not_kept() {
        let cache = InboxCountCache::default();
        let before = cache.generation();
        cache.invalidate(&StaffEvent { staff_id: 2, change: Change::Resync });
        cache.store(1, before, COUNTS, at(0), None);
        assert_eq!(cache.get(1, at(1)), None);
    }
}
