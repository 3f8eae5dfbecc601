//! Prometheus metrics: one registry per running service, rendered by `/metrics`.
//!
//! A registry per instance (rather than the crate's global one) lets tests run several
//! services in one process without their counters mixing.

use std::time::Duration;

use prometheus::core::Collector;
use prometheus::process_collector::ProcessCollector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Request latency buckets in seconds: from 100 µs (a cached answer) to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The `route` label of a request that matched no route: one series, however many paths are probed.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Methods with a `method` label of their own; a client can send any token as a method, and every
/// other one shares the label `other`, so that requests cannot create series without bound.
const KNOWN_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let labels = &["route", "method", "status"];
        let requests = register(
            &registry,
            IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests served."),
                labels,
            ),
        );
        let latency = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time from receiving a request to having its response ready.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                labels,
            ),
        );
        // process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds...: what
        // the dashboard's memory panel and an operator's first questions read.
        registry
            .register(Box::new(ProcessCollector::for_self()))
            .expect("the process collector is registered once");
        Self {
            registry,
            requests,
            latency,
        }
    }

    /// Where a service registers its own metrics (see [`register`]).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let method = KNOWN_METHODS
            .iter()
            .find(|known| **known == method)
            .map_or("other", |known| *known);
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Registers the metric that `definition` built and returns it, e.g.
/// `register(registry, IntCounter::new("name_total", "help"))`. A definition is fixed in the code
/// and registered once at start-up, so either failing is a bug: it panics saying so.
pub fn register<M>(registry: &Registry, definition: prometheus::Result<M>) -> M
where
    M: Collector + Clone + 'static,
{
    let metric = definition.expect("metric definitions in the code are valid");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let metrics = Metrics::new();
        metrics.observe_request("/", "GET", 200, Duration::from_millis(3));
        metrics.observe_request("/", "GET", 200, Duration::from_millis(3));
        metrics.observe_request(UNMATCHED_ROUTE, "GET", 404, Duration::from_millis(1));
        let text = metrics.render();
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(
            r#"http_request_duration_seconds_bucket{method="GET",route="unmatched",status="404",le="0.001"} 1"#
        ));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let metrics = Metrics::new();
        for method in ["FOO", "BAR123", "get"] {
            metrics.observe_request(UNMATCHED_ROUTE, method, 405, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(
            text.contains(
                r#"http_requests_total{method="other",route="unmatched",status="405"} 3"#
            ),
            "{text}"
        );
        assert!(!text.contains("FOO"), "{text}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_process_own_resident_memory_and_cpu_are_exported() {
        let text = Metrics::new().render();
        for series in [
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
        ] {
            assert!(text.contains(series), "{series} missing from:\n{text}");
        }
    }
}
