//! The web console: a small single-page app (plain HTML, CSS and ES modules,
//! no build step) whose files are embedded in the binary, so it works offline
//! and ships with the API it talks to. `/` is `index.html`; every other file
//! lives under `/console/…`.
//!
//! Charts come from **uPlot 1.6.32** (MIT, vendored from the npm package
//! `uplot` into `assets/console/vendor/uplot-1.6.32/` with its LICENSE).
//! Chosen because it is small (about 50 KB minified, no dependencies), draws
//! on a canvas, covers what the analytics page needs (time series and bars),
//! and sets styles only through the CSSOM, never with inline `style`
//! attributes or injected `<style>` elements, so it runs under the strict
//! Content-Security-Policy below without `'unsafe-inline'`. Chart.js, the
//! usual alternative, is about four times larger for the same three charts.
//!
//! Caching: the app's own files are `no-cache` with an `ETag` (a new binary's
//! files take effect on the next load; unchanged ones answer 304); the vendor
//! folder carries its version in the path, so it is cached as immutable.
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::domain::App;
use crate::http::error::ApiError;

/// Only this origin, plus WebSocket connections for the live feed.
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";
const REVALIDATE: &str = "no-cache";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=utf-8";

struct Asset {
    /// Path under `/console/`.
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// FNV-1a of the body, computed at compile time.
    hash: u64,
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/console/", $path));
        Asset { path: $path, content_type: $content_type, body: BODY, hash: fnv1a(BODY) }
    }};
}

static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("app.css", CSS),
    asset!("icon.svg", SVG),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/live.js", JS),
    asset!("js/main.js", JS),
    asset!("js/inbox.js", JS),
    asset!("js/settings.js", JS),
    asset!("js/preferences.js", JS),
    asset!("js/rules.js", JS),
    asset!("js/analytics.js", JS),
    asset!("js/sla.js", JS),
    asset!("js/complaints.js", JS),
    asset!("vendor/uplot-1.6.32/uPlot.iife.min.js", JS),
    asset!("vendor/uplot-1.6.32/uPlot.min.css", CSS),
    asset!("vendor/uplot-1.6.32/LICENSE", TEXT),
];

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route(
            "/console/{*path}",
            get(|uri: Uri, headers: HeaderMap| async move {
                serve(uri.path().strip_prefix("/console/").unwrap_or_default(), &headers)
            }),
        )
        .layer(axum::middleware::map_response(security_headers))
}

/// The embedded file at `path`, a 304 when the client's copy is current, or a 404 `{"detail"}`.
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return ApiError::new(StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let etag = format!("\"{:016x}\"", asset.hash);
    let cache = if path.starts_with("vendor/") { IMMUTABLE } else { REVALIDATE };
    let headers = [(header::CACHE_CONTROL, cache.to_owned()), (header::ETAG, etag.clone())];
    if client_has(request, &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
}

/// Whether `If-None-Match` names `etag` (weak or strong) or is `*`.
fn client_has(request: &HeaderMap, etag: &str) -> bool {
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
        },
    )
}

pub(crate) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
