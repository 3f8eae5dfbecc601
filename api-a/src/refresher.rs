//! The background task that keeps the [`Snapshot`] in step with Redis: a refresh every
//! [`REFRESH_INTERVAL`] that reads only what changed (see [`crate::sync`]), so requests never
//! wait on Redis and an idle replica costs the same whatever the window's length.

use std::time::{Duration, Instant};

use common::metrics::register;
use common::samples::Store;
use prometheus::{Gauge, IntCounter, IntGauge, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::models::now_ms;
use crate::snapshot::{MAX_SNAPSHOT_AGE, Snapshot};
use crate::sync::{Refreshed, Replica};

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

struct RefreshMetrics {
    errors: IntCounter,
    full_reads: IntCounter,
    last_success: Gauge,
    latest_sample: Gauge,
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
            full_reads: register(
                registry,
                IntCounter::new(
                    "price_snapshot_full_reads_total",
                    "Refreshes that read the whole window again (at start-up, or after Redis \
                     lost or rewrote samples) instead of only what changed.",
                ),
            ),
            last_success: register(
                registry,
                Gauge::new(
                    "price_snapshot_last_success_timestamp_seconds",
                    "Unix time of the last successful read of the samples from Redis.",
                ),
            ),
            latest_sample: register(
                registry,
                Gauge::new(
                    "price_latest_sample_timestamp_seconds",
                    "When the newest sample in Redis was fetched, in Unix seconds (0: none yet).",
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
    let (sender, receiver) = watch::channel(Snapshot::default());
    let metrics = RefreshMetrics::register(registry);
    let replica = Replica::new(store, average_window);
    let task = tokio::spawn(refresh_forever(replica, sender, metrics));
    (receiver, task)
}

async fn refresh_forever(
    mut replica: Replica,
    sender: watch::Sender<Snapshot>,
    metrics: RefreshMetrics,
) {
    let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether the previous refresh succeeded, so that only changes are logged.
    let mut was_available = None;
    loop {
        ticks.tick().await;
        let read_at = Instant::now();
        let outcome = tokio::time::timeout(
            MAX_SNAPSHOT_AGE,
            replica.refresh(&sender, now_ms(), read_at),
        )
        .await
        .unwrap_or_else(|_| Err(common::samples::StoreError::TimedOut(MAX_SNAPSHOT_AGE)));
        let changed = was_available.replace(outcome.is_ok()) != Some(outcome.is_ok());
        match outcome {
            Ok(refreshed) => {
                let (held, latest_ms) = {
                    let snapshot = sender.borrow();
                    let latest_ms = snapshot.latest.as_ref().map(|s| s.fetched_at_ms);
                    (snapshot.window.len(), latest_ms)
                };
                metrics.last_success.set(now_ms() as f64 / 1000.0);
                metrics
                    .latest_sample
                    .set(latest_ms.map_or(0.0, |ms| ms as f64 / 1000.0));
                metrics.samples.set(held as i64);
                if refreshed == Refreshed::Fully {
                    metrics.full_reads.inc();
                }
                if changed {
                    log::info!("price store available: {held} samples in the window");
                }
            }
            Err(err) => {
                metrics.errors.inc();
                if changed {
                    log::warn!("price store unavailable, answering 503 until it is back: {err}");
                }
                // Answer 503 at once; what is held stays, to continue from once Redis is back.
                sender.send_modify(|snapshot| snapshot.read_at = None);
            }
        }
    }
}
