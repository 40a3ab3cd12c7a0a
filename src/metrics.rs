//! Prometheus metrics (`GET /metrics`, text format): requests, alerts,
//! deliveries, the outbox, WebSocket connections and jobs.
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabels {
    pub alert_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub alerts_created: Family<TypeLabels, Counter>,
    pub dedup_hits: Family<TypeLabels, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub outbox_depth: Gauge,
    pub outbox_oldest_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub ws_connections: Gauge<i64, AtomicI64>,
    pub job_runs: Family<JobLabels, Counter>,
    pub job_seconds: Family<JobLabels, Histogram>,
}

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn job_latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 4.0, 10))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("convergeai_alerts");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        let alerts_created = Family::<TypeLabels, Counter>::default();
        let dedup_hits = Family::<TypeLabels, Counter>::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let outbox_depth = Gauge::default();
        let outbox_oldest_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let ws_connections = Gauge::<i64, AtomicI64>::default();
        let job_runs = Family::<JobLabels, Counter>::default();
        let job_seconds = Family::<JobLabels, Histogram>::new_with_constructor(job_latency as fn() -> Histogram);
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", request_seconds.clone());
        registry.register("alerts_created", "Alerts created, by type", alerts_created.clone());
        registry.register("dedup_hits", "Alert candidates suppressed by the dedup window, by type", dedup_hits.clone());
        registry.register("deliveries", "Delivery attempts' outcomes, by channel and status", deliveries.clone());
        registry.register("outbox_depth", "Deliveries waiting to be sent", outbox_depth.clone());
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest delivery waiting",
            outbox_oldest_seconds.clone(),
        );
        registry.register(
            "websocket_connections",
            "Open WebSocket connections on this instance",
            ws_connections.clone(),
        );
        registry.register("job_runs", "Scheduler job runs on this instance", job_runs.clone());
        registry.register("job_duration_seconds", "Scheduler job durations", job_seconds.clone());
        Self {
            registry,
            requests,
            request_seconds,
            alerts_created,
            dedup_hits,
            deliveries,
            outbox_depth,
            outbox_oldest_seconds,
            ws_connections,
            job_runs,
            job_seconds,
        }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn alert_created(&self, alert_type: &str, n: u64) {
        self.alerts_created.get_or_create(&TypeLabels { alert_type: alert_type.to_owned() }).inc_by(n);
    }

    pub fn dedup_hit(&self, alert_type: &str, n: u64) {
        self.dedup_hits.get_or_create(&TypeLabels { alert_type: alert_type.to_owned() }).inc_by(n);
    }

    pub fn delivery(&self, channel: &str, status: &str) {
        self.deliveries.get_or_create(&DeliveryLabels { channel: channel.to_owned(), status: status.to_owned() }).inc();
    }

    pub fn job(&self, job: &str, seconds: f64) {
        let labels = JobLabels { job: job.to_owned() };
        self.job_runs.get_or_create(&labels).inc();
        self.job_seconds.get_or_create(&labels).observe(seconds);
    }
}
