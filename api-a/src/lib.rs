//! Service A: `GET {BASE_PATH}/current` (the latest BTC/USD price), `GET {BASE_PATH}/average`
//! (its mean over a sliding window), `GET {BASE_PATH}/history` (the window's samples) and a web
//! page at `GET {BASE_PATH}/` showing them, read from the samples the poller stores in the
//! pod-local Redis, besides the operational routes every service has ([`routes`]).
//!
//! Requests are answered from memory: a background task ([`refresher`]) brings a
//! [`snapshot::Snapshot`] up to date with Redis every 250 ms, reading only what changed
//! ([`sync`]) into a compact [`window::Window`]; the handlers compute the answer against the
//! clock at request time, and answer 503 when the last read failed or is more than a second old.

mod bodies;
mod config;
mod current_body;
mod errors;
mod handlers;
mod models;
mod page;
mod refresher;
mod routes;
mod snapshot;
mod sync;
mod window;

use std::sync::Arc;
use std::time::Instant;

use price_store::Store;
use service_kit::health::Health;
use service_kit::http::Endpoints;
use service_kit::metrics::Metrics;
use service_kit::server::{Ops, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;
use handlers::State;
pub use routes::openapi;
use snapshot::Reading;

/// Serves Service A's API on `listener` until `stop` is cancelled and in-flight requests are
/// done; returns once the refresher has stopped too.
pub async fn run(config: Config, listener: TcpListener, stop: CancellationToken) {
    let metrics = Metrics::new();
    let store = Store::new(&config.redis_url, refresher::REDIS_TIMEOUT);
    let tasks = TaskTracker::new();
    // The requests in flight during the drain still read the snapshot: the refresher has a token
    // of its own, cancelled once the server has stopped.
    let refreshing = CancellationToken::new();
    let (snapshot, refresher) = refresher::spawn(
        &tasks,
        refreshing.clone(),
        store,
        config.average_window,
        metrics.registry(),
    );

    // Live while the refresher runs (without it the snapshot would freeze). Ready while its
    // latest read succeeded, so a probe never waits on Redis, and found a price: a fresh
    // replica (its own Redis still empty) takes no traffic before its poller's first sample.
    let health = Health::with_checks(move || !refresher.is_finished(), {
        let snapshot = snapshot.clone();
        move || {
            let snapshot = snapshot.borrow();
            matches!(snapshot.reading(Instant::now()), Reading::Latest(_))
        }
    });
    let state = Arc::new(State {
        snapshot,
        average_window: config.average_window,
        stale_after: config.stale_after,
        current: Default::default(),
        average: Default::default(),
        history: Default::default(),
    });

    let mut endpoints = Endpoints::new(&config.base_path);
    let document = routes::openapi(&config.base_path);
    let api = routes::routes(&mut endpoints, state, &document);
    debug_assert_eq!(
        service_kit::openapi::undocumented_routes(&document, &endpoints),
        None,
        "the OpenAPI document and the routes disagree"
    );
    let ops = Ops {
        health,
        metrics,
        serving: config.server.serving.clone(),
    };
    serve(listener, ops, endpoints, api, stop).await;
    refreshing.cancel();
    tasks.close();
    tasks.wait().await;
}
