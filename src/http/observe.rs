//! Request metrics, request ids and the `/metrics` endpoint.
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::domain::App;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::storage;

/// Counts and times every request by its route template (not its raw path,
/// so ids do not explode the label set), method and status. Every label
/// comes from a closed set: a client picks the method and path of its
/// request, and must not be able to grow `/metrics`.
pub async fn track(State(app): State<App>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    app.metrics.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
    app.metrics.request_seconds.get_or_create(&RouteLabels { method, route }).observe(started.elapsed().as_secs_f64());
    response
}

/// The standard methods by name; anything else (`ZZ12345`) is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// `GET /metrics`: Prometheus text format. Serve it on an internal network
/// (or filter it at the load balancer): it carries counts, never secrets.
pub async fn metrics(State(app): State<App>) -> Response {
    if let Ok((depth, oldest)) = storage::deliveries::outbox_depth(&app.db).await {
        app.metrics.outbox_depth.set(depth as i64);
        let age = oldest.map_or(0.0, |t| (app.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0);
        app.metrics.outbox_oldest_seconds.set(age);
    }
    let mut response = app.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// A caller's `x-request-id` is kept (to follow a request through a proxy)
/// only when it is short and of a safe alphabet; any other is dropped and
/// one of ours is made, so a client cannot write into a log line.
pub async fn screen_request_id(mut request: Request) -> Request {
    let safe = |v: &HeaderValue| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    if request.headers().get(REQUEST_ID).is_some_and(|v| !safe(v)) {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

const REQUEST_ID: &str = "x-request-id";

/// Request ids: random, so they cannot collide across instances.
#[derive(Clone, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        use rand::Rng;
        let id: u128 = rand::rng().random();
        HeaderValue::from_str(&format!("{id:032x}")).ok().map(RequestId::new)
    }
}
