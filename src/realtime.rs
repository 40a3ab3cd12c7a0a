//! Cross-instance fan-out of [`StaffEvent`]s through Redis pub/sub. Every
//! instance publishes each event once to one channel and delivers what it
//! hears to its own connections (its own events included). If Redis drops,
//! events are delivered locally meanwhile, the subscriber reconnects with
//! backoff, and every client gets a fresh unread-count snapshot once the
//! link is back. The REST API never depends on Redis.
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::domain::events::{Change, EventBus, Publisher, StaffEvent};

/// The default pub/sub channel; instances that share it share their events.
pub const DEFAULT_CHANNEL: &str = "convergeai-alerts:events";
/// Events queued for Redis while it is slow; beyond this they go out locally only.
const QUEUE: usize = 10_000;

/// An event on the channel, marked with the instance that published it
/// (instances of an earlier version publish no mark: 0).
#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    #[serde(flatten)]
    event: StaffEvent,
    #[serde(default)]
    origin: u64,
}

struct RedisPublisher {
    queue: mpsc::Sender<StaffEvent>,
    bus: std::sync::Weak<EventBus>,
}

impl Publisher for RedisPublisher {
    fn publish(&self, event: &StaffEvent) {
        if self.queue.try_send(event.clone()).is_err()
            && let Some(bus) = self.bus.upgrade()
        {
            bus.deliver_local(event.clone());
        }
    }
}

/// Connects the bus to Redis: a publisher task and a subscriber task, both
/// reconnecting on their own until `shutdown`.
pub fn connect(bus: &Arc<EventBus>, url: &str, channel: &str, shutdown: watch::Receiver<bool>) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("invalid ALERTS_REDIS_URL: {e}"))?;
    let (queue, pending) = mpsc::channel(QUEUE);
    bus.set_remote(Arc::new(RedisPublisher { queue, bus: Arc::downgrade(bus) }));
    tokio::spawn(publish_loop(client.clone(), channel.to_owned(), bus.clone(), pending, shutdown.clone()));
    tokio::spawn(subscribe_loop(client, channel.to_owned(), bus.clone(), shutdown));
    Ok(())
}

async fn publish_loop(
    client: redis::Client,
    channel: String,
    bus: Arc<EventBus>,
    mut pending: mpsc::Receiver<StaffEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    loop {
        let event = tokio::select! {
            event = pending.recv() => match event { Some(e) => e, None => return },
            _ = shutdown.changed() => return,
        };
        let envelope = Envelope { event, origin: bus.origin };
        let Ok(payload) = serde_json::to_string(&envelope) else { continue };
        let event = envelope.event;
        if conn.is_none() {
            conn = client.get_multiplexed_async_connection().await.ok();
        }
        let published = match conn.as_mut() {
            Some(c) => redis::cmd("PUBLISH").arg(&channel).arg(&payload).query_async::<i64>(c).await.is_ok(),
            None => false,
        };
        if !published {
            conn = None;
            tracing::warn!("redis unavailable: delivering this event on this instance only");
            bus.deliver_local(event);
        }
    }
}

async fn subscribe_loop(
    client: redis::Client,
    channel: String,
    bus: Arc<EventBus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_millis(200);
    let mut was_connected = false;
    loop {
        let subscribed = match client.get_async_pubsub().await {
            Ok(mut pubsub) => pubsub.subscribe(&channel).await.map(|_| pubsub).ok(),
            Err(_) => None,
        };
        match subscribed {
            Some(mut pubsub) => {
                delay = Duration::from_millis(200);
                if was_connected {
                    tracing::info!("redis link restored");
                }
                // Anything published while the link was down was missed: refresh every badge.
                bus.deliver_local(StaffEvent { staff_id: StaffEvent::EVERYONE, change: Change::Resync });
                was_connected = true;
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        message = messages.next() => match message {
                            Some(m) => {
                                let parsed = m.get_payload::<String>().ok().and_then(|p| serde_json::from_str::<Envelope>(&p).ok());
                                match parsed {
                                    Some(Envelope { event, origin }) if origin == bus.origin => bus.deliver_own(event),
                                    Some(Envelope { event, .. }) => bus.deliver_local(event),
                                    None => {}
                                }
                            }
                            None => break,
                        },
                        _ = shutdown.changed() => return,
                    }
                }
                tracing::warn!("redis subscription lost; reconnecting");
            }
            None => tracing::debug!("redis not reachable; retrying in {delay:?}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
