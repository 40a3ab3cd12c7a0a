//! HTTP: routes, extractors and error mapping. Handlers extract, call a
//! service, and map the result; nothing here knows SQL.
pub mod error;
pub mod extract;
pub mod observe;
pub mod openapi;
mod routes;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::{HeaderValue, Method, header};
use tokio::net::TcpListener;
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
        .merge(routes::subscriptions::routes())
        .merge(routes::complaints::routes())
        .merge(routes::health::routes());
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .merge(routes::health::routes())
        .split_for_parts();
    openapi::finish(&mut doc);
    (router, doc)
}

/// HTTP settings that are not the domain's business.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Origins allowed to call the API from a browser (CORS). Empty: CORS off,
    /// only same-origin pages (the console) can.
    pub cors_origins: Vec<String>,
}

pub fn router(app: App) -> Router {
    router_with(app, &HttpOptions::default())
}

pub fn router_with(app: App, options: &HttpOptions) -> Router {
    let (routes, api) = routes();
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    routes
        .route("/metrics", axum::routing::get(observe::metrics))
        .merge(routes::console::routes())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(time_limit))
        .layer(axum::middleware::from_fn_with_state(app.clone(), observe::track))
        .layer(
            tower::ServiceBuilder::new()
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
    axum::serve(listener, router_with(app, options).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
