//! Liveness and readiness depend on neither the exchanges nor Redis: an outage upstream must
//! not restart the poller or take it out of service.

use std::time::{Duration, Instant};

use poller::providers::Provider;
use reqwest::StatusCode;
use wiremock::MockServer;

use crate::support::{get, json, metric_reaches, serve, start_poller, stop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_depends_on_neither_the_exchanges_nor_redis() {
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        serve(
            &upstream,
            provider,
            json(503, r#"{"message":"down"}"#.to_owned()),
        )
        .await;
    }
    // Nothing listens on this port.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_redis = format!("redis://{}", unused.local_addr().unwrap());
    drop(unused);
    let poller = start_poller(&dead_redis, &upstream, &Provider::ALL).await;

    metric_reaches(
        &poller,
        r#"poller_ticks_total{result="no_valid_answer"}"#,
        4.0,
    )
    .await;
    assert_eq!(
        get(&poller, "/healthz").await,
        (StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(get(&poller, "/readyz").await.0, StatusCode::OK);
    assert_eq!(get(&poller, "/").await.0, StatusCode::NOT_FOUND);
    let started = Instant::now();
    stop(poller).await;
    assert!(started.elapsed() < Duration::from_secs(2));
}
