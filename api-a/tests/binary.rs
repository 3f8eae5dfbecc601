//! The real `api-a` binary: configuration errors, serving from Redis, signals.

use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use price_store::unix_ms;
use reqwest::StatusCode;
use test_support::samples::{confirmed, settings};
use test_support::{
    RedisServer, RunningBinary, assert_each_bad_value_exits_2,
    assert_health_check_follows_the_instance, assert_unknown_argument_exits_2, eventually,
};

const BINARY: &str = env!("CARGO_BIN_EXE_api-a");

#[test]
fn a_bad_value_exits_2_with_one_line_naming_variable_and_value() {
    assert_each_bad_value_exits_2(
        BINARY,
        "api-a",
        &[
            ("REDIS_URL", "http://127.0.0.1:6379"),
            ("AVERAGE_WINDOW", "ten minutes"),
            ("AVERAGE_WINDOW", "0s"),
            ("AVERAGE_WINDOW", "25h"),
            ("AVERAGE_WINDOW", "10500ms"),
            ("STALE_AFTER", "a while"),
            ("STALE_AFTER", "0s"),
            ("BASE_PATH", "service1"),
            ("LISTEN_ADDR", "localhost:http"),
        ],
    );
}

#[test]
fn an_unknown_argument_exits_2_with_usage() {
    assert_unknown_argument_exits_2(BINARY, "api-a");
}

/// Start-up, a real answer from Redis, then SIGTERM: exit 0 with JSON logs.
#[tokio::test]
async fn serves_the_price_from_redis_and_exits_0_on_sigterm() {
    let redis = RedisServer::start().await;
    let sample = confirmed(unix_ms(SystemTime::now()), 97_123.456_7);
    price_store::write(&mut redis.connection().await, &sample, &settings())
        .await
        .unwrap();
    let service = RunningBinary::start(
        BINARY,
        &[("REDIS_URL", &redis.url()), ("BASE_PATH", "/service1")],
    )
    .await;

    let body: serde_json::Value = eventually(
        "/current answers 200",
        Duration::from_secs(10),
        async || {
            let response = reqwest::get(service.url("/service1/current"))
                .await
                .unwrap();
            match response.status() {
                StatusCode::OK => Some(response.json().await.unwrap()),
                _ => None,
            }
        },
    )
    .await;
    assert_eq!(body["price"], 97_123.46);
    assert_eq!(
        body["sources"],
        serde_json::json!(["coinbase", "kraken", "bitstamp"])
    );

    service.signal(Signal::SIGTERM);
    let (status, logs) = service.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
    for line in &logs {
        let record: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        assert!(record["message"].is_string(), "{line}");
    }
    assert!(logs.iter().any(|line| line.contains("SIGTERM received")));
}

/// Redis down the whole time: the service still starts, answers 503 and stops cleanly.
#[tokio::test]
async fn without_redis_it_answers_503_and_still_exits_0_on_sigterm() {
    let mut redis = RedisServer::start().await;
    redis.kill();
    let service = RunningBinary::start(BINARY, &[("REDIS_URL", &redis.url())]).await;
    let response = reqwest::get(service.url("/current")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let readyz = reqwest::get(service.url("/readyz")).await.unwrap();
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);

    service.signal(Signal::SIGTERM);
    let (status, logs) = service.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
    assert!(
        logs.iter().any(|line| line.contains("SIGTERM received")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn health_check_mode_follows_the_running_instance() {
    let redis = RedisServer::start().await;
    assert_health_check_follows_the_instance(BINARY, &[("REDIS_URL", &redis.url())]).await;
}
