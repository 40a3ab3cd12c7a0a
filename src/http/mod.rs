//! HTTP: routes, extractors and error mapping. Handlers extract, call a
//! service, and map the result; nothing here knows SQL.
pub mod error;
pub mod extract;
mod routes;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

use crate::domain::App;
use error::ApiError;

/// Request bodies above this are refused with 413: no endpoint needs more.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(app: App) -> Router {
    let api = Router::new().merge(routes::auth::routes()).merge(routes::health::routes());
    Router::new()
        .nest("/api/v1", api)
        .merge(routes::health::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .with_state(app)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
}
