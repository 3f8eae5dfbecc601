//! The poller's own metrics, next to the HTTP metrics every service has.

use std::time::Duration;

use common::metrics::register;
use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use crate::backoff::Hold;

/// Provider latency buckets in seconds: from a nearby fake (5 ms) to the longest timeout.
const FETCH_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone)]
pub struct PollerMetrics {
    fetches: IntCounterVec,
    fetch_duration: HistogramVec,
    backed_off: IntGaugeVec,
    failures_in_a_row: IntGaugeVec,
    probes: IntCounterVec,
    ticks: IntCounterVec,
    last_price: Gauge,
    last_sample_time: Gauge,
    redis_write_errors: IntCounter,
    pending_samples: IntGauge,
}

impl PollerMetrics {
    pub fn register(registry: &Registry) -> Self {
        Self {
            fetches: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_fetches_total",
                        "Provider requests by outcome: ok, outlier (valid but outvoted), or the error kind.",
                    ),
                    &["provider", "outcome"],
                ),
            ),
            fetch_duration: register(
                registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "poller_fetch_duration_seconds",
                        "Time for a provider to answer, for answers within the deadline.",
                    )
                    .buckets(FETCH_BUCKETS.to_vec()),
                    &["provider"],
                ),
            ),
            backed_off: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "poller_provider_backed_off",
                        "1 while a provider sits out ticks, by reason: overload (429, 408, 5xx, \
                         timeouts, connection errors, rate-limit bodies) or retry_after (its own \
                         Retry-After).",
                    ),
                    &["provider", "reason"],
                ),
            ),
            failures_in_a_row: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "poller_provider_failures_in_a_row",
                        "Failed attempts in a row, of any kind, backed off or not; 0 once a \
                         provider answers with a price.",
                    ),
                    &["provider"],
                ),
            ),
            probes: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_probes_total",
                        "Backed-off providers asked early because the last tick stored no price.",
                    ),
                    &["provider"],
                ),
            ),
            ticks: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "poller_ticks_total",
                        "Ticks by result: stored, no_valid_answer, no_majority.",
                    ),
                    &["result"],
                ),
            ),
            last_price: register(
                registry,
                Gauge::new(
                    "poller_last_price_usd",
                    "The price of the newest sample written to Redis.",
                ),
            ),
            last_sample_time: register(
                registry,
                Gauge::new(
                    "poller_last_sample_timestamp_seconds",
                    "When the newest sample written to Redis was fetched, in Unix seconds.",
                ),
            ),
            redis_write_errors: register(
                registry,
                IntCounter::new(
                    "poller_redis_write_errors_total",
                    "Failed attempts to write a sample to Redis.",
                ),
            ),
            pending_samples: register(
                registry,
                IntGauge::new(
                    "poller_pending_samples",
                    "Samples waiting for Redis to come back.",
                ),
            ),
        }
    }

    pub fn fetched(&self, provider: &str, outcome: &str) {
        self.fetches.with_label_values(&[provider, outcome]).inc();
    }

    pub fn answered_in(&self, provider: &str, latency: Duration) {
        self.fetch_duration
            .with_label_values(&[provider])
            .observe(latency.as_secs_f64());
    }

    /// Shows `provider`'s series from the start: not backed off, no failures, no probes.
    pub fn provider_asked(&self, provider: &str) {
        self.provider_state(provider, None, 0);
        self.probes.with_label_values(&[provider]);
    }

    /// Where `provider` stands: why it sits out ticks (if it does) and its failures in a row.
    pub fn provider_state(&self, provider: &str, hold: Option<Hold>, failures_in_a_row: u32) {
        for reason in [Hold::Overload, Hold::RetryAfter] {
            self.backed_off
                .with_label_values(&[provider, reason.label()])
                .set(i64::from(hold == Some(reason)));
        }
        self.failures_in_a_row
            .with_label_values(&[provider])
            .set(i64::from(failures_in_a_row));
    }

    pub fn probed(&self, provider: &str) {
        self.probes.with_label_values(&[provider]).inc();
    }

    pub fn ticked(&self, result: &str) {
        self.ticks.with_label_values(&[result]).inc();
    }

    pub fn sample_written(&self, price_usd: f64, fetched_at_ms: i64) {
        self.last_price.set(price_usd);
        self.last_sample_time.set(fetched_at_ms as f64 / 1000.0);
    }

    pub fn redis_write_failed(&self) {
        self.redis_write_errors.inc();
    }

    pub fn set_pending(&self, count: usize) {
        self.pending_samples
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}
