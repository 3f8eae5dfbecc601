//! Redis dying, hanging or absent at start-up: answers stay immediate (503 within a second)
//! and come back without a restart.

use std::time::{Duration, Instant, SystemTime};

use price_store::unix_ms;
use reqwest::StatusCode;
use serde_json::json;
use test_support::{RedisServer, eventually};

use crate::support::*;

/// Redis crashes and comes back empty; the poller writes again. No restart of the API.
#[tokio::test]
async fn redis_killed_is_a_503_within_a_second_and_back_to_200_within_2s_of_its_return() {
    let mut redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;
    assert_eq!(
        get(&server.url("/service1/current")).await.status,
        StatusCode::OK
    );
    let metrics = get(&server.url("/metrics")).await.body;
    assert_eq!(metric(&metrics, "price_snapshot_refresh_errors_total"), 0.0);
    assert_eq!(metric(&metrics, "price_snapshot_samples"), 1.0);
    let last_success = metric(&metrics, "price_snapshot_last_success_timestamp_seconds");
    let now = unix_ms(SystemTime::now()) as f64 / 1000.0;
    assert!(
        (now - 5.0..=now).contains(&last_success),
        "{last_success} vs {now}"
    );

    redis.kill();
    let killed = Instant::now();
    // 1 s is the promise; the margin only absorbs a loaded test machine.
    let unavailable = eventually(
        "a 503 after Redis died",
        Duration::from_millis(1500),
        async || {
            let answer = get(&server.url("/service1/current")).await;
            (answer.status != StatusCode::OK).then_some(answer)
        },
    )
    .await;
    let noticed_after = killed.elapsed();
    assert_eq!(
        unavailable.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{noticed_after:?}"
    );
    assert_eq!(unavailable.retry_after(), "1");
    assert_eq!(unavailable.problem_code(), "store-unavailable");
    let average = get(&server.url("/service1/average")).await;
    assert_eq!(average.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(average.problem_code(), "store-unavailable");
    let readyz = get(&server.url("/readyz")).await;
    assert_eq!(readyz.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readyz.json(), json!({"status": "not ready"}));
    assert_eq!(get(&server.url("/healthz")).await.status, StatusCode::OK);
    eventually("refresh errors are counted", PATIENCE, async || {
        let metrics = get(&server.url("/metrics")).await.body;
        (metric(&metrics, "price_snapshot_refresh_errors_total") >= 1.0).then_some(())
    })
    .await;

    redis.restart().await;
    let back = Instant::now();
    seed(
        &redis,
        &[sample_aged(Duration::ZERO, 98_000.0, &["coinbase"])],
    )
    .await;
    eventually(
        "the new price within 2 s of Redis's return",
        Duration::from_secs(2),
        async || {
            let answer = get(&server.url("/service1/current")).await;
            (answer.status == StatusCode::OK && answer.json()["price"] == 98_000.0).then_some(())
        },
    )
    .await;
    assert!(back.elapsed() < Duration::from_secs(2));
    assert_eq!(get(&server.url("/readyz")).await.status, StatusCode::OK);
    assert_eq!(
        get(&server.url("/service1/average")).await.status,
        StatusCode::OK
    );
}

/// A frozen Redis (SIGSTOP) keeps its connections open but never answers: requests must still
/// be answered at once, with 503 once the snapshot is too old to trust.
#[tokio::test]
async fn a_hanging_redis_never_makes_a_request_hang() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;

    redis.pause();
    let paused = Instant::now();
    eventually(
        "a 503 after Redis froze",
        Duration::from_millis(1500),
        async || {
            let answer = get(&server.url("/service1/current")).await;
            assert!(
                answer.took < Duration::from_secs(1),
                "took {:?}",
                answer.took
            );
            (answer.status == StatusCode::SERVICE_UNAVAILABLE).then_some(())
        },
    )
    .await;
    assert!(paused.elapsed() < Duration::from_millis(1500));
    for path in ["/service1/current", "/service1/average", "/readyz"] {
        for _ in 0..3 {
            let answer = get(&server.url(path)).await;
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert!(
                answer.took < Duration::from_secs(1),
                "{path} took {:?}",
                answer.took
            );
        }
    }

    redis.resume();
    serves_and_is_ready(
        &server,
        "answers again after Redis thawed",
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test]
async fn unreachable_redis_at_start_up_is_a_503_and_not_ready_until_it_answers() {
    let mut redis = RedisServer::start().await;
    redis.kill();
    let server = start_unready(&redis, &[]).await;
    for path in ["/service1/current", "/service1/average", "/readyz"] {
        let answer = get(&server.url(path)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }

    redis.restart().await;
    seed_fresh_sample(&redis).await;
    serves_and_is_ready(&server, "serves once Redis is up", Duration::from_secs(2)).await;
}
