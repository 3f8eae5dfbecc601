//! `serve`'s graceful shutdown with a handler slow enough to be in flight when shutdown starts.

use std::sync::Arc;
use std::time::Duration;

use service_kit::config::ServingConfig;
use service_kit::health::Health;
use service_kit::http::Endpoints;
use service_kit::metrics::Metrics;
use service_kit::server::{Ops, serve};
use test_support::{TestServer, eventually};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use warp::Filter;

const HANDLER_TIME: Duration = Duration::from_millis(1500);

/// A service with one route, `/slow`, that notifies `started` when a request reaches it and
/// takes [`HANDLER_TIME`] to answer.
async fn run_slow_service(
    listener: TcpListener,
    shutdown: CancellationToken,
    started: Arc<Notify>,
) {
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

#[tokio::test]
async fn a_connection_that_has_sent_nothing_does_not_hold_the_shutdown() {
    use tokio::io::AsyncReadExt;
    let (mut server, _) = start_slow_service().await;
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // Accepted in order: once a later connection is answered, the silent one was accepted.
    reqwest::get(server.url("/healthz")).await.unwrap();
    server.shutdown();
    server.stopped(Duration::from_millis(500)).await;
    let mut byte = [0u8; 1];
    assert_eq!(
        silent.read(&mut byte).await.unwrap(),
        0,
        "closed, unanswered"
    );
}

/// A service with one route, `/`, and a one-second shutdown delay.
async fn start_with_delay() -> TestServer {
    TestServer::start(|listener, shutdown| async move {
        let mut endpoints = Endpoints::new("");
        let root = endpoints.get("/").map(|| "hello");
        let ops = Ops {
            health: Health::always(),
            metrics: Metrics::new(),
            serving: ServingConfig {
                shutdown_delay: Duration::from_secs(1),
                ..ServingConfig::default()
            },
        };
        serve(listener, ops, endpoints, root, shutdown).await;
    })
    .await
}

/// Sends a GET of `/` on `connection` and reads the whole answer, up to its body.
async fn exchange(connection: &mut tokio::net::TcpStream) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    connection
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with("hello") {
        let n = connection.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the answer: {answer}");
        answer.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    answer.to_ascii_lowercase()
}

#[tokio::test]
async fn during_the_shutdown_delay_answers_close_their_connection() {
    use tokio::io::AsyncReadExt;
    let mut server = start_with_delay().await;
    let mut connection = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(
        !exchange(&mut connection)
            .await
            .contains("connection: close")
    );

    server.shutdown();
    eventually("/readyz turns 503", Duration::from_secs(1), async || {
        let readyz = reqwest::get(server.url("/readyz")).await.ok()?;
        (readyz.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    assert!(
        exchange(&mut connection)
            .await
            .contains("connection: close")
    );
    let mut rest = Vec::new();
    connection.read_to_end(&mut rest).await.unwrap();
    assert!(
        rest.is_empty(),
        "the connection is closed after that answer"
    );
}

const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

#[tokio::test]
async fn a_client_stuck_in_a_request_cannot_hold_the_shutdown_past_the_drain_timeout() {
    let started = Arc::new(Notify::new());
    let notify = started.clone();
    let mut server = TestServer::start(|listener, shutdown| async move {
        let mut endpoints = Endpoints::new("");
        let stuck = endpoints.get("/stuck").then(move || {
            notify.notify_one();
            std::future::pending::<String>()
        });
        let ops = Ops {
            health: Health::always(),
            metrics: Metrics::new(),
            serving: ServingConfig {
                drain_timeout: DRAIN_TIMEOUT,
                ..ServingConfig::default()
            },
        };
        serve(listener, ops, endpoints, stuck, shutdown).await;
    })
    .await;
    let in_flight = tokio::spawn(reqwest::get(server.url("/stuck")));
    started.notified().await;

    let signalled = std::time::Instant::now();
    server.shutdown();
    server.stopped(Duration::from_secs(5)).await;
    let stopped_after = signalled.elapsed();
    assert!(stopped_after >= DRAIN_TIMEOUT, "{stopped_after:?}");
    assert!(
        stopped_after < DRAIN_TIMEOUT + Duration::from_millis(500),
        "{stopped_after:?}"
    );
    let answer = in_flight.await.unwrap();
    assert!(
        answer.is_err(),
        "the stuck request's connection is closed: {answer:?}"
    );
}
