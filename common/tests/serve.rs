//! `serve`'s graceful shutdown with a handler slow enough to be in flight when shutdown starts.

use std::time::Duration;

use common::health::Health;
use common::http::Endpoints;
use common::metrics::Metrics;
use common::server::{Ops, serve};
use common::testing::ShutdownSignal;
use common::testing::TestServer;
use tokio::net::TcpListener;
use warp::Filter;

const HANDLER_TIME: Duration = Duration::from_millis(1500);

/// A service with one route, `/slow`, that takes [`HANDLER_TIME`] to answer.
async fn run_slow_service(listener: TcpListener, shutdown: ShutdownSignal) {
    let mut endpoints = Endpoints::new("");
    let slow = endpoints.get("/slow").then(|| async {
        tokio::time::sleep(HANDLER_TIME).await;
        String::from("finished")
    });
    let ops = Ops {
        health: Health::always(),
        metrics: Metrics::new(),
        shutdown_delay: Duration::ZERO,
    };
    serve(listener, ops, endpoints, slow, shutdown).await;
}

async fn start_slow_service() -> TestServer {
    TestServer::start(run_slow_service).await
}

#[tokio::test]
async fn in_flight_requests_finish_before_serve_returns() {
    let mut server = start_slow_service().await;
    let in_flight = tokio::spawn(reqwest::get(server.url("/slow")));
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(server.addr).await.is_err(),
        "no new connection is accepted once draining"
    );
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
    let mut server = start_slow_service().await;
    reqwest::get(server.url("/healthz")).await.unwrap();
    server.shutdown();
    server.stopped(Duration::from_millis(500)).await;
}
