//! The background task that keeps the [`Snapshot`] in step with Redis: a refresh every
//! [`REFRESH_INTERVAL`] that reads only what changed (see [`crate::sync`]), so requests never
//! wait on Redis and an idle replica costs the same whatever the window's length.
//!
//! It also watches what it reads: stored samples a reader rejects (counted by reason, logged
//! when they appear and when they are gone), and whether the poller keeps the same
//! `AVERAGE_WINDOW` as this api-a (pod A's two containers read it separately; a poller keeping
//! less would make every average cover less than it claims).

use std::time::{Duration, Instant};

use price_store::{Rejection, Store, WriterSettings};
use prometheus::{Gauge, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use service_kit::metrics::register;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    rejected: IntGaugeVec,
    window_mismatch: IntGauge,
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
            rejected: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "price_snapshot_rejected_samples",
                        "Stored samples of the window that api-a does not believe, by reason \
                         (unreadable, implausible, inconsistent): left out of every answer.",
                    ),
                    &["reason"],
                ),
            ),
            window_mismatch: register(
                registry,
                IntGauge::new(
                    "price_window_mismatch",
                    "1 while the poller keeps another AVERAGE_WINDOW than this api-a \
                     averages over (the averages then cover less or more than they claim).",
                ),
            ),
        }
    }

    /// The rejected samples `window` holds, by reason, from `rejected`.
    fn count_rejected(&self, rejected: impl Iterator<Item = Rejection>) -> usize {
        let mut counts = [0i64; REJECTIONS.len()];
        for why in rejected {
            let index = REJECTIONS.iter().position(|r| *r == why).expect("listed");
            counts[index] += 1;
        }
        for (why, count) in REJECTIONS.iter().zip(counts) {
            self.rejected.with_label_values(&[why.label()]).set(count);
        }
        counts.iter().sum::<i64>() as usize
    }
}

/// Every reason a stored sample is rejected.
const REJECTIONS: [Rejection; 3] = [
    Rejection::Unreadable,
    Rejection::Implausible,
    Rejection::Inconsistent,
];

/// What the refresher last said in the log, so that it speaks only when something changes.
#[derive(Default)]
struct Told {
    available: Option<bool>,
    rejected: usize,
    window_mismatch: bool,
}

impl Told {
    /// Logs what changed about the samples read: rejected ones appearing or gone, the poller's
    /// window starting or ceasing to differ from `average_window`.
    fn read(
        &mut self,
        rejected: usize,
        first_rejection: Option<Rejection>,
        settings: Option<&WriterSettings>,
        average_window: Duration,
    ) {
        if rejected > 0 && self.rejected == 0 {
            let why = first_rejection
                .map(|why| why.to_string())
                .unwrap_or_default();
            log::warn!(
                "{rejected} stored samples of the window rejected (the first: {why}): left out \
                 of every answer"
            );
        } else if rejected == 0 && self.rejected > 0 {
            log::info!("no rejected sample left in the window");
        }
        self.rejected = rejected;
        let mismatch = settings.is_some_and(|settings| settings.window() != average_window);
        if mismatch && !self.window_mismatch {
            let kept = settings.map(WriterSettings::window).unwrap_or_default();
            log::warn!(
                "the poller keeps AVERAGE_WINDOW={} but this api-a averages over {}: set the \
                 same value for both containers",
                humantime::format_duration(kept),
                humantime::format_duration(average_window)
            );
        } else if !mismatch && self.window_mismatch {
            log::info!("the poller's AVERAGE_WINDOW matches this api-a's again");
        }
        self.window_mismatch = mismatch;
    }
}

/// Starts refreshing from `store` the samples needed for `average_window`, in a task on `tasks`
/// that runs until `stop` is cancelled (a read in progress is given up then); the receiver
/// always holds the latest outcome.
pub fn spawn(
    tasks: &TaskTracker,
    stop: CancellationToken,
    store: Store,
    average_window: Duration,
    registry: &Registry,
) -> (watch::Receiver<Snapshot>, JoinHandle<()>) {
    let (sender, receiver) = watch::channel(Snapshot::default());
    let metrics = RefreshMetrics::register(registry);
    metrics.count_rejected(std::iter::empty());
    let replica = Replica::new(store, average_window);
    let refreshing = refresh_forever(replica, sender, metrics, average_window);
    let task = tasks.spawn(async move {
        stop.run_until_cancelled(refreshing).await;
    });
    (receiver, task)
}

async fn refresh_forever(
    mut replica: Replica,
    sender: watch::Sender<Snapshot>,
    metrics: RefreshMetrics,
    average_window: Duration,
) {
    let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut told = Told::default();
    loop {
        ticks.tick().await;
        let read_at = Instant::now();
        let outcome = tokio::time::timeout(
            MAX_SNAPSHOT_AGE,
            replica.refresh(&sender, now_ms(), read_at),
        )
        .await
        .unwrap_or_else(|_| Err(price_store::StoreError::TimedOut(MAX_SNAPSHOT_AGE)));
        let changed = told.available.replace(outcome.is_ok()) != Some(outcome.is_ok());
        match outcome {
            Ok(refreshed) => {
                let (held, latest_ms, rejected, first_rejection, settings) = {
                    let snapshot = sender.borrow();
                    let latest_ms = snapshot.latest.as_ref().map(|s| s.fetched_at_ms);
                    let window = &snapshot.window;
                    let rejected = metrics.count_rejected(window.rejected());
                    let first = window.rejected().next();
                    (window.len(), latest_ms, rejected, first, snapshot.settings)
                };
                told.read(rejected, first_rejection, settings.as_ref(), average_window);
                metrics.window_mismatch.set(i64::from(told.window_mismatch));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_refresher_runs_until_cancelled_then_ends_at_once() {
        // Nothing listens there: every read fails, and the refresher keeps trying.
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let redis_url = format!("redis://{}", unused.local_addr().unwrap());
        drop(unused);
        let tasks = TaskTracker::new();
        let stop = CancellationToken::new();
        let store = Store::new(&redis_url, REDIS_TIMEOUT);
        let window = Duration::from_secs(600);
        let (_snapshot, refresher) = spawn(&tasks, stop.clone(), store, window, &Registry::new());
        tasks.close();
        tokio::time::sleep(REFRESH_INTERVAL * 8).await;
        assert!(!refresher.is_finished(), "it refreshes until cancelled");

        stop.cancel();
        tokio::time::timeout(REFRESH_INTERVAL, tasks.wait())
            .await
            .expect("the refresher ends once cancelled, and is awaited");
    }
}
