//! HTTP: routes, extractors and error mapping. Handlers extract, call a
//! service, and map the result; nothing here knows SQL.
pub mod client;
pub mod error;
pub mod extract;
pub mod observe;
pub mod openapi;
mod routes;
mod serve;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::{HeaderValue, Method, header};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::domain::App;
use error::ApiError;

/// Request bodies above this are refused with 413: no endpoint needs more.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The routes and the OpenAPI document that describes exactly them.
pub fn routes() -> (Router<App>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::new()
        .merge(routes::auth::routes())
        .merge(routes::alerts::routes())
        .merge(routes::ws::routes())
        .merge(routes::rules::routes())
        .merge(routes::sla::routes())
        .merge(routes::escalation::routes())
        .merge(routes::subscriptions::routes())
        .merge(routes::complaints::routes())
        .merge(routes::api_keys::routes())
        .merge(routes::staff::routes())
        .merge(routes::preferences::routes())
        .merge(routes::health::routes());
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .merge(routes::health::routes())
        .split_for_parts();
    openapi::finish(&mut doc);
    (router, doc)
}

/// HTTP settings that are not the domain's business.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Origins allowed to call the API from a browser (CORS). Empty: CORS off,
    /// only same-origin pages (the console) can.
    pub cors_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` names the client (load balancers).
    pub trusted_proxies: client::TrustedProxies,
    /// A connection that has not sent a whole request head within this time
    /// (a new one, or an idle keep-alive one) is closed: slowloris holds nothing.
    pub header_read_timeout: Duration,
    /// Open connections at most (WebSockets included); more wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
}

/// `ALERTS_HEADER_READ_TIMEOUT_SECONDS` unless set.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECONDS: u64 = 15;
/// `ALERTS_MAX_CONNECTIONS` unless set.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 25_000;

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            trusted_proxies: client::TrustedProxies::default(),
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECONDS),
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

pub fn router_with(app: App, options: &HttpOptions) -> Router {
    let (routes, api) = routes();
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    routes
        .route("/metrics", axum::routing::get(observe::metrics))
        .merge(routes::console::routes())
        .merge(routes::ack::routes())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized_body))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            use axum::response::IntoResponse;
            tracing::error!("a request handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
        }))
        .layer(axum::middleware::from_fn(time_limit))
        .layer(axum::middleware::from_fn(protective_headers))
        .layer(axum::Extension(std::sync::Arc::new(options.trusted_proxies.clone())))
        .layer(axum::middleware::from_fn_with_state(app.clone(), observe::track))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::map_request(observe::screen_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), observe::RandomRequestId))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings may carry a token (`/alerts/ws?token=`).
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id)),
        )
        .layer(tower::util::option_layer(cors(&options.cors_origins)))
        .with_state(app)
}

/// A request whose response is not ready within [`REQUEST_TIMEOUT`] is
/// answered 503 `{"detail"}` with `Retry-After`, like every other 503 (what
/// the handler was doing is dropped). A WebSocket is not held to it: its
/// response is the upgrade.
async fn time_limit(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the request took too long, try again shortly")
            .into_response(),
    }
}

/// A declared body over the limit is refused at once, before the handler
/// waits for it (the extractors' limit only trips once that many bytes
/// arrived, so a client declaring 100 GB and sending two bytes held the
/// request for the whole time limit). What the client already sent is read
/// and dropped first, briefly and boundedly: closing a socket with unread
/// data resets it, and the client would lose the 413.
async fn refuse_oversized_body(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    const DRAIN_BYTES: usize = 1024 * 1024;
    const DRAIN_PAUSE: Duration = Duration::from_millis(50);
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_none_or(|len| len <= BODY_LIMIT_BYTES as u64) {
        return next.run(request).await;
    }
    let mut body = request.into_body().into_data_stream();
    let mut drained = 0;
    let drain = async {
        while drained < DRAIN_BYTES {
            match tokio::time::timeout(DRAIN_PAUSE, body.next()).await {
                Ok(Some(Ok(chunk))) => drained += chunk.len(),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
    let mut response =
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large (at most 64 KiB)").into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Content-Security-Policy of the interactive API docs (Swagger UI, served
/// from the binary): its own scripts only; it sets inline styles and data: images.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                        frame-ancestors 'none'; form-action 'none'";

/// Every response: `nosniff`. API responses carry personal data: `no-store`
/// (unless the route set its own caching). `/docs`: a CSP and no framing.
/// The console sets its own (routes/console.rs).
async fn protective_headers(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let path = request.uri().path();
    let docs = path == "/docs" || path.starts_with("/docs/");
    let console = path == "/" || path.starts_with("/console/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    if docs {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    } else if !console {
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(app, &HttpOptions::default(), listener, shutdown).await
}

pub async fn serve_with(
    app: App,
    options: &HttpOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::run(router_with(app, options), options, listener, shutdown).await
}
