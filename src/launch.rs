//! `serve`'s wiring, shared by `main` (through `cli`) and the test harness:
//! the HTTP server, the Redis fan-out, the scheduler and the delivery
//! dispatcher, as the configuration switches them, until `shutdown`.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::delivery::channels::Channels;
use crate::delivery::dispatcher;
use crate::domain::{App, scheduler};
use crate::http;
use crate::realtime;

/// How long the background jobs get to stop once HTTP has drained.
const JOBS_DRAIN: Duration = Duration::from_secs(20);

/// Serves `app` on `listener` until `shutdown` resolves; then HTTP drains,
/// the jobs stop (giving their leases back) and the dispatcher finishes the
/// sends in flight, within a bound.
pub async fn launch(
    app: App,
    config: &ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut app = app;
    app.channels = Arc::new(config.delivery.configured_channels());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(url) = &config.redis_url {
        realtime::connect(&app.events, url.expose(), &config.redis_channel, stopped.clone())?;
    }
    let mut jobs = tokio::task::JoinSet::new();
    if let Some(schedule) = config.scheduler() {
        let (mut scheduled, _) = scheduler::spawn(app.clone(), schedule, stopped.clone());
        jobs.spawn(async move { while scheduled.join_next().await.is_some() {} });
    }
    if config.delivery.dispatcher {
        let channels = Channels::new(&config.delivery.delivery_config())?;
        let dispatch = config.delivery.dispatcher_config()?;
        jobs.spawn(dispatcher::run(app.clone(), Arc::new(channels), dispatch, stopped));
    }
    tracing::info!(
        scheduler = config.scheduler,
        dispatcher = config.delivery.dispatcher,
        "listening on http://{address}"
    );
    let served = http::serve_with(app, &config.http_options(), listener, shutdown).await;
    let _ = stop.send(true);
    let drain = async { while jobs.join_next().await.is_some() {} };
    if tokio::time::timeout(JOBS_DRAIN, drain).await.is_err() {
        tracing::warn!("background jobs did not stop within {JOBS_DRAIN:?}; exiting anyway");
    }
    served.map_err(|e| format!("server error: {e}"))
}
