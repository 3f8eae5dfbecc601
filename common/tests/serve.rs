//! `serve`'s graceful shutdown with a handler slow enough to be in flight when shutdown starts.

use std::sync::Arc;
use std::time::Duration;

use common::config::ServingConfig;
use common::health::Health;
use common::http::Endpoints;
use common::metrics::Metrics;
use common::server::{Ops, serve};
use common::testing::{ShutdownSignal, TestServer, eventually};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use warp::Filter;

const HANDLER_TIME: Duration = Duration::from_millis(1500);

/// A service with one route, `/slow`, that notifies `started` when a request reaches it and
/// takes [`HANDLER_TIME`] to answer.
async fn run_slow_service(listener: TcpListener, shutdown: ShutdownSignal, started: Arc<Notify>) {
    let mut endpoints = Endpoints::new("");
    let slow = endpoints.get("/slow").then(move || {
        started.notify_one();
        async {
            tokio::time::sleep(HANDLER_TIME).await;
            String::from("finished")
        }
    });
    let ops = Ops {
        health: Health::always(),
        metrics: Metrics::new(),
        serving: ServingConfig::default(),
    };
    serve(listener, ops, endpoints, slow, shutdown).await;
}

async fn start_slow_service() -> (TestServer, Arc<Notify>) {
    let started = Arc::new(Notify::new());
    let notify = started.clone();
    let server =
        TestServer::start(|listener, shutdown| run_slow_service(listener, shutdown, notify)).await;
    (server, started)
}

#[tokio::test]
async fn in_flight_requests_finish_before_serve_returns() {
    let (mut server, started) = start_slow_service().await;
    let in_flight = tokio::spawn(reqwest::get(server.url("/slow")));
    started.notified().await;

    server.shutdown();
    eventually(
        "no new connection is accepted once draining",
        Duration::from_secs(1),
        async || {
            tokio::net::TcpStream::connect(server.addr)
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
    assert!(!in_flight.is_finished());
    assert!(
        !server.is_stopped(),
        "serve waits for the in-flight request"
    );

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "finished");
    server.stopped(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn an_idle_service_stops_at_once() {
    let (mut server, _) = start_slow_service().await;
    reqwest::get(server.url("/healthz")).await.unwrap();
    server.shutdown();
    server.stopped(Duration::from_millis(500)).await;
}
