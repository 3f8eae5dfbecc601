//! Service A's poller: every `POLL_INTERVAL` it asks several public exchanges for the BTC/USD
//! price, combines their answers robustly and writes one sample into the pod-local Redis, where
//! api-a reads it. It serves only `/healthz`, `/readyz` and `/metrics`.
//!
//! The pieces, in the order a tick uses them: [`schedule`] (when), [`backoff`] (who is asked),
//! [`fetch`] and [`providers`] (asking and parsing), [`decision`] (one price from many, or
//! none), [`store`] (into Redis, in its own task).

pub mod backoff;
mod config;
pub mod decision;
pub mod fetch;
mod metrics;
mod poll;
pub mod providers;
pub mod schedule;
mod store;

use price_store::{Sample, Store, WriterSettings};
use service_kit::health::Health;
use service_kit::http::{Endpoints, no_routes};
use service_kit::metrics::Metrics;
use service_kit::server::{Ops, serve};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Config, ProviderConfig};

use crate::metrics::PollerMetrics;
use crate::poll::PricePoller;
use crate::schedule::{Heartbeat, Schedule};
use crate::store::{REDIS_TIMEOUT, SampleWriter};

/// Samples waiting for the Redis writer task to pick them up; it drains them every time it
/// runs, so this only fills if that task is stuck.
const SAMPLE_QUEUE: usize = 64;

/// Polls until `stop` is cancelled, serving the operational routes on `listener`; then the tick
/// loop stops at once and the server drains.
pub async fn run(config: Config, listener: TcpListener, stop: CancellationToken) {
    let metrics = Metrics::new();
    let poller_metrics = PollerMetrics::register(metrics.registry());
    // Three intervals of silence is a stuck loop, not a slow exchange (a tick never lasts
    // longer than the fetch timeout).
    let heartbeat = Heartbeat::new(config.poll_interval * 3);
    let (samples, queued_samples) = mpsc::channel(SAMPLE_QUEUE);
    let health = health(heartbeat.clone(), samples.downgrade());
    let tasks = TaskTracker::new();
    // The writer's own token, not a child of `stop`: it must outlive the tick loop to write what
    // that queued last.
    let stop_writing = CancellationToken::new();
    let writing = start_writing(
        &tasks,
        &config,
        queued_samples,
        poller_metrics.clone(),
        stop_writing.clone(),
    );
    let poller = PricePoller::new(
        config.providers.clone(),
        config.poll_interval,
        config.fetch_timeout,
        samples,
        poller_metrics,
        heartbeat,
    );
    let polling = start_polling(&tasks, poller, &config, stop.child_token());
    let ops = Ops {
        health,
        metrics,
        serving: config.server.serving.clone(),
    };
    let endpoints = Endpoints::new("");
    serve(listener, ops, endpoints, no_routes(), stop).await;
    stopped(tasks, polling, writing, stop_writing).await;
}

/// The Redis writer task: writes the samples it receives until `stop` is cancelled, then what
/// was queued by then. Its owner cancels `stop` once the tick loop has ended, so every sample it
/// queued is written (or given up) before the poller exits.
fn start_writing(
    tasks: &TaskTracker,
    config: &Config,
    queued_samples: mpsc::Receiver<Sample>,
    metrics: PollerMetrics,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let store = Store::new(&config.redis_url, REDIS_TIMEOUT);
    let settings = WriterSettings::new(
        config.average_window,
        config.retention(),
        config.poll_interval,
    );
    let writer = SampleWriter::new(store, settings, metrics);
    tasks.spawn(writer.run(queued_samples, stop))
}

/// The tick loop's task: ticks until `stop` is cancelled.
fn start_polling(
    tasks: &TaskTracker,
    poller: PricePoller,
    config: &Config,
    stop: CancellationToken,
) -> JoinHandle<()> {
    log::info!(
        "polling every {} with a {} deadline",
        humantime::format_duration(config.poll_interval),
        humantime::format_duration(config.fetch_timeout)
    );
    tasks.spawn(poller.run(Schedule::new(config.poll_interval), stop))
}

/// Waits for the tick loop to end, then stops the Redis writer (`stop_writing`) and waits for it
/// and every other task of `tasks`, logging either of the two that panicked.
async fn stopped(
    tasks: TaskTracker,
    polling: JoinHandle<()>,
    writing: JoinHandle<()>,
    stop_writing: CancellationToken,
) {
    tasks.close();
    if let Err(err) = polling.await {
        log::error!("the polling task failed: {err}");
    }
    // Only now is every sample the tick loop will ever queue in the writer's queue.
    stop_writing.cancel();
    if let Err(err) = writing.await {
        log::error!("the Redis writer task failed: {err}");
    }
    tasks.wait().await;
}

/// Live while the tick loop beats and the Redis writer runs (a restart is the cure for either
/// stopping); ready whenever live. Neither depends on the exchanges or on Redis answering: an
/// upstream outage must not restart the poller or take it out of service.
fn health(heartbeat: Heartbeat, samples: mpsc::WeakSender<Sample>) -> Health {
    Health::with_checks(
        move || {
            let writer_runs = samples.upgrade().is_some_and(|sender| !sender.is_closed());
            heartbeat.is_alive() && writer_runs
        },
        || true,
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MAX_SILENCE: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn liveness_follows_the_tick_loop_heartbeat() {
        let heartbeat = Heartbeat::new(MAX_SILENCE);
        let (samples, _writer) = mpsc::channel::<Sample>(1);
        let health = health(heartbeat.clone(), samples.downgrade());
        assert!(health.is_live());
        tokio::time::advance(MAX_SILENCE + Duration::from_millis(1)).await;
        assert!(!health.is_live(), "a silent tick loop is not alive");
        heartbeat.beat();
        assert!(health.is_live());
    }

    #[tokio::test(start_paused = true)]
    async fn liveness_fails_once_the_redis_writer_stops() {
        let (samples, writer) = mpsc::channel::<Sample>(1);
        let health = health(Heartbeat::new(MAX_SILENCE), samples.downgrade());
        assert!(health.is_live());
        drop(writer);
        assert!(!health.is_live(), "samples would never reach Redis");
    }
}
