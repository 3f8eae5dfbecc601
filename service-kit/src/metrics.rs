//! Prometheus metrics: one registry per running service, rendered by `/metrics`.
//!
//! A registry per instance (rather than the crate's global one) lets tests run several
//! services in one process without their counters mixing.

use std::sync::RwLock;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::process_collector::ProcessCollector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
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

    /// The request series of `route` (a template, or [`UNMATCHED_ROUTE`]), for
    /// [`RouteSeries::observe`]: made once per route when the server starts.
    pub fn route(&self, route: &str) -> RouteSeries {
        RouteSeries {
            route: route.to_owned(),
            by_method: std::array::from_fn(|_| RwLock::default()),
            requests: self.requests.clone(),
            latency: self.latency.clone(),
        }
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

/// One route's request series, looked up once each: a request finds its method's slot by
/// position and its status among the few that route has answered, instead of hashing three
/// labels (one of them formatted) into the registry's maps twice.
pub struct RouteSeries {
    route: String,
    /// By position in [`KNOWN_METHODS`], then `other`: the series by status, in order of first use.
    by_method: [RwLock<Vec<Series>>; KNOWN_METHODS.len() + 1],
    requests: IntCounterVec,
    latency: HistogramVec,
}

/// The two series of one route, method and status.
struct Series {
    status: u16,
    requests: IntCounter,
    latency: Histogram,
}

impl RouteSeries {
    /// Counts a request of `method` that this route answered with `status` after `elapsed`.
    pub fn observe(&self, method: &str, status: u16, elapsed: Duration) {
        let known = KNOWN_METHODS.iter().position(|known| *known == method);
        let slot = &self.by_method[known.unwrap_or(KNOWN_METHODS.len())];
        let seconds = elapsed.as_secs_f64();
        {
            let series = slot.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(series) = series.iter().find(|series| series.status == status) {
                series.requests.inc();
                series.latency.observe(seconds);
                return;
            }
        }
        let method = known.map_or("other", |index| KNOWN_METHODS[index]);
        let labels = [self.route.as_str(), method, &status.to_string()];
        let series = Series {
            status,
            requests: self.requests.with_label_values(&labels),
            latency: self.latency.with_label_values(&labels),
        };
        series.requests.inc();
        series.latency.observe(seconds);
        slot.write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(series);
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
        let (root, unmatched) = (metrics.route("/"), metrics.route(UNMATCHED_ROUTE));
        root.observe("GET", 200, Duration::from_millis(3));
        root.observe("GET", 200, Duration::from_millis(3));
        root.observe("HEAD", 200, Duration::from_millis(3));
        root.observe("GET", 503, Duration::from_millis(3));
        unmatched.observe("GET", 404, Duration::from_millis(1));
        let text = metrics.render();
        for series in [
            r#"http_requests_total{method="GET",route="/",status="200"} 2"#,
            r#"http_requests_total{method="HEAD",route="/",status="200"} 1"#,
            r#"http_requests_total{method="GET",route="/",status="503"} 1"#,
            r#"http_request_duration_seconds_count{method="GET",route="/",status="200"} 2"#,
        ] {
            assert!(text.contains(series), "{series} missing from:\n{text}");
        }
        assert!(text.contains(
            r#"http_request_duration_seconds_bucket{method="GET",route="unmatched",status="404",le="0.001"} 1"#
        ));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let metrics = Metrics::new();
        let unmatched = metrics.route(UNMATCHED_ROUTE);
        for method in ["FOO", "BAR123", "get"] {
            unmatched.observe(method, 405, Duration::from_millis(1));
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
