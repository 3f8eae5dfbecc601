//! The background task that keeps the [`Snapshot`] in step with Redis: one pipelined read every
//! [`REFRESH_INTERVAL`], so requests never wait on Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::metrics::register;
use common::samples::{Store, duration_ms};
use prometheus::{Gauge, IntCounter, IntGauge, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::models::now_ms;
use crate::snapshot::{MAX_SNAPSHOT_AGE, Samples, Snapshot};

/// How often Redis is read. Well under [`MAX_SNAPSHOT_AGE`], so one slow or
/// lost read does not make the service answer 503.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(250);

/// The longest one read may take (connection included) before Redis counts as unreachable.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

// The contract: with Redis down or hanging, requests get a 503 within a second. And a read that
// takes up to its timeout still lands before the snapshot it replaces expires.
const _: () = assert!(MAX_SNAPSHOT_AGE.as_millis() <= 1000);
const _: () = assert!(
    REFRESH_INTERVAL.as_millis() + REDIS_TIMEOUT.as_millis() < MAX_SNAPSHOT_AGE.as_millis()
);

/// Samples slightly older than the window are read too, so a small step back of the wall
/// clock between a read and a request cannot drop a sample that is still inside the window.
const READ_MARGIN: Duration = Duration::from_secs(1);

struct RefreshMetrics {
    errors: IntCounter,
    last_success: Gauge,
    samples: IntGauge,
}

impl RefreshMetrics {
    fn register(registry: &Registry) -> Self {
        Self {
            errors: register(
                registry,
                IntCounter::new(
                    "price_snapshot_refresh_errors_total",
                    "Reads of the samples from Redis that failed or timed out.",
                ),
            ),
            last_success: register(
                registry,
                Gauge::new(
                    "price_snapshot_last_success_timestamp_seconds",
                    "Unix time of the last successful read of the samples from Redis.",
                ),
            ),
            samples: register(
                registry,
                IntGauge::new(
                    "price_snapshot_samples",
                    "Samples held in memory for the averaging window.",
                ),
            ),
        }
    }
}

/// Starts refreshing from `store` the samples needed for `average_window`; the receiver always
/// holds the latest outcome.
pub fn spawn(
    store: Store,
    average_window: Duration,
    registry: &Registry,
) -> (watch::Receiver<Snapshot>, JoinHandle<()>) {
    let (sender, receiver) = watch::channel(Snapshot::Unavailable);
    let metrics = RefreshMetrics::register(registry);
    let task = tokio::spawn(refresh_forever(store, average_window, sender, metrics));
    (receiver, task)
}

async fn refresh_forever(
    store: Store,
    average_window: Duration,
    sender: watch::Sender<Snapshot>,
    metrics: RefreshMetrics,
) {
    let lookback_ms = duration_ms(average_window + READ_MARGIN);
    let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether the previous read succeeded, so that only changes are logged.
    let mut was_available = None;
    loop {
        ticks.tick().await;
        let read_at = Instant::now();
        let since_ms = now_ms().saturating_sub(lookback_ms);
        let outcome = store.read_recent(since_ms).await;
        let changed = was_available.replace(outcome.is_ok()) != Some(outcome.is_ok());
        match outcome {
            Ok(recent) => {
                let samples = Samples::new(recent);
                metrics.last_success.set(now_ms() as f64 / 1000.0);
                metrics.samples.set(samples.len() as i64);
                if changed {
                    log::info!("price store available: {} recent samples", samples.len());
                }
                sender.send_replace(Snapshot::Read {
                    read_at,
                    samples: Arc::new(samples),
                });
            }
            Err(err) => {
                metrics.errors.inc();
                if changed {
                    log::warn!("price store unavailable, answering 503 until it is back: {err}");
                }
                sender.send_replace(Snapshot::Unavailable);
            }
        }
    }
}
