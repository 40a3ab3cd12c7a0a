//! Changes to a staff member's alerts, fanned out to their live connections:
//! in-process through a broadcast channel, and across instances through
//! Redis when configured (see `realtime`).
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::auth::PrincipalCache;
use super::inbox_cache::{HeadChange, InboxCache, InboxWrite};
use super::views::Alert;

/// Something happened to one staff member's alerts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffEvent {
    pub staff_id: i64,
    pub change: Change,
}

impl StaffEvent {
    pub const EVERYONE: i64 = 0;

    pub fn concerns(&self, staff_id: i64) -> bool {
        self.staff_id == staff_id || self.staff_id == Self::EVERYONE
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Created {
        alert: Box<Alert>,
    },
    Updated {
        alert: Box<Alert>,
    },
    ReadAll {
        updated: u64,
    },
    /// A snoozed alert came back (its time came, a newer alert or a
    /// reassignment woke it, or its owner woke it): unread, in the inbox again.
    Woken {
        alert: Box<Alert>,
    },
    /// The counts changed with no alert object to send (alerts expired with
    /// their complaint), or events may have been missed (the cross-instance
    /// link was down): clients should re-read their unread count. `staff_id`
    /// 0 means everyone.
    Resync,
    /// The staff member was deactivated: their live connections close.
    AccessRevoked,
    /// Some of the staff member's sessions ended (signed out, password
    /// changed or reset) or their role changed: every instance drops what it
    /// cached of them, and their live connections check their token again.
    SessionsChanged,
    /// The staff member's time zone, quiet hours or do-not-disturb changed:
    /// their live connections read them again (for `silent` pushes).
    PreferencesChanged,
}

/// Where events are published. The default is in-process only; `realtime`
/// installs a Redis publisher so every instance hears every event.
pub trait Publisher: Send + Sync {
    fn publish(&self, event: &StaffEvent);
}

pub struct EventBus {
    local: broadcast::Sender<Arc<StaffEvent>>,
    remote: std::sync::RwLock<Option<Arc<dyn Publisher>>>,
    /// Every event passes here, local or remote, so the bus keeps the cached
    /// inbox heads honest: it drops an entry before the event is delivered.
    pub inbox_cache: InboxCache,
    /// The same for who a staff member is and which of their sessions hold.
    pub principals: PrincipalCache,
    /// This instance among those sharing events: what it published comes
    /// back through Redis marked with it, and its caches already know.
    pub origin: u64,
}

/// Events a slow subscriber may fall behind by before it is told it lagged.
const LOCAL_CAPACITY: usize = 4096;

impl Default for EventBus {
    fn default() -> Self {
        Self {
            local: broadcast::channel(LOCAL_CAPACITY).0,
            remote: std::sync::RwLock::new(None),
            inbox_cache: InboxCache::default(),
            principals: PrincipalCache::default(),
            origin: rand::random::<u64>() | 1,
        }
    }
}

impl EventBus {
    /// Publishes to every instance (through the remote publisher when there is
    /// one: it echoes back to this instance too), else to this one.
    pub fn publish(&self, event: StaffEvent) {
        // At once here, not only when Redis echoes it back: the caller's next
        // request must not see the count from before its own write.
        self.invalidate(&event);
        self.send(event);
    }

    /// Publishes the event of a committed `write` whose effect on the inbox
    /// is `change`: this instance's cached head is adjusted rather than
    /// dropped (the other instances drop theirs).
    pub fn publish_write(&self, write: InboxWrite<'_>, change: HeadChange, event: StaffEvent) {
        debug_assert_eq!(write.staff_id(), event.staff_id);
        write.finish(Some(&change));
        self.send(event);
    }

    fn send(&self, event: StaffEvent) {
        let remote = self.remote.read().ok().and_then(|r| r.clone());
        match remote {
            Some(remote) => remote.publish(&event),
            None => self.deliver_own(event),
        }
    }

    /// Hands an event to this instance's connections.
    pub fn deliver_local(&self, event: StaffEvent) {
        self.invalidate(&event);
        self.deliver_own(event);
    }

    /// Hands an event this instance published to its connections: its
    /// caches already took it into account when it was published.
    pub fn deliver_own(&self, event: StaffEvent) {
        let _ = self.local.send(Arc::new(event)); // no receivers: nobody is connected
    }

    /// Drops what the caches hold that `event` makes stale.
    fn invalidate(&self, event: &StaffEvent) {
        self.inbox_cache.invalidate(event);
        match event.change {
            // A changed zone is part of who they are (the times they read).
            Change::AccessRevoked | Change::SessionsChanged | Change::PreferencesChanged => {
                self.principals.forget(event.staff_id)
            }
            // Events may have been missed (the cross-instance link was down).
            Change::Resync if event.staff_id == StaffEvent::EVERYONE => self.principals.clear(),
            _ => {}
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StaffEvent>> {
        self.local.subscribe()
    }

    pub fn set_remote(&self, publisher: Arc<dyn Publisher>) {
        if let Ok(mut remote) = self.remote.write() {
            *remote = Some(publisher);
        }
    }
}
