//! Service B: `GET {BASE_PATH}/` answers `{"status":"ok"}`; nothing else is served besides the
//! operational routes every service has (`/healthz`, `/readyz`, `/metrics`).

mod config;

use std::future::Future;

use common::health::Health;
use common::http::Endpoints;
use common::metrics::Metrics;
use common::server::{Ops, serve};
use serde::Serialize;
use tokio::net::TcpListener;
use warp::Filter;

pub use config::Config;

#[derive(Serialize)]
struct Status {
    status: &'static str,
    service: &'static str,
}

/// Serves Service B on `listener` until `shutdown` completes and in-flight requests are done.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut endpoints = Endpoints::new(&config.base_path);
    let root = endpoints.get("/").map(|| {
        warp::reply::json(&Status {
            status: "ok",
            service: "api-b",
        })
    });
    let ops = Ops {
        health: Health::always(),
        metrics: Metrics::new(),
        serving: config.server.serving.clone(),
    };
    serve(listener, ops, endpoints, root, shutdown).await;
}
