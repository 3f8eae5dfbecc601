//! A Redis that dies, restarts empty or freezes is survived: ticks keep their schedule, and
//! every sample fetched meanwhile is written once it is back.

use std::time::{Duration, Instant, SystemTime};

use poller::providers::Provider;
use price_store::unix_ms;
use reqwest::StatusCode;
use test_support::{RedisServer, eventually};
use wiremock::MockServer;

use crate::support::{
    PATIENCE, at_least_samples, get, metric, metric_reaches, ok, samples, serve, start_poller, stop,
};

const PROVIDERS: [Provider; 3] = [Provider::Kraken, Provider::Gemini, Provider::Bitfinex];

async fn agreeing_upstream() -> MockServer {
    let upstream = MockServer::start().await;
    for provider in PROVIDERS {
        serve(&upstream, provider, ok(provider)).await;
    }
    upstream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_crash_and_restart_is_survived_without_losing_samples() {
    let mut redis = RedisServer::start().await;
    let upstream = agreeing_upstream().await;
    let poller = start_poller(&redis.url(), &upstream, &PROVIDERS).await;
    at_least_samples(&redis, 2).await;

    redis.kill();
    let killed_at = unix_ms(SystemTime::now());
    metric_reaches(&poller, "poller_redis_write_errors_total", 3.0).await;
    metric_reaches(&poller, "poller_pending_samples", 3.0).await;
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    let restarted_at = unix_ms(SystemTime::now());
    redis.restart().await;

    // The restarted Redis is empty; the samples of the outage are written to it, then new ones.
    let redis = &redis;
    let stored = eventually(
        "samples from during and after the outage",
        PATIENCE,
        async || {
            let all = samples(redis).await;
            let during = all
                .iter()
                .filter(|s| (killed_at..restarted_at).contains(&s.fetched_at_ms))
                .count();
            let after = all
                .iter()
                .filter(|s| s.fetched_at_ms > restarted_at)
                .count();
            (during >= 3 && after >= 2).then_some(all)
        },
    )
    .await;
    for pair in stored.windows(2) {
        assert!(
            pair[0].fetched_at_ms < pair[1].fetched_at_ms,
            "in order, no duplicates"
        );
    }
    eventually("no samples pending", PATIENCE, async || {
        (metric(&poller, "poller_pending_samples").await == Some(0.0)).then_some(())
    })
    .await;
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_does_not_slow_the_ticks() {
    let redis = RedisServer::start().await;
    let upstream = agreeing_upstream().await;
    let poller = start_poller(&redis.url(), &upstream, &PROVIDERS).await;
    at_least_samples(&redis, 1).await;

    redis.pause();
    let stored_ticks = r#"poller_ticks_total{result="stored"}"#;
    let before = metric(&poller, stored_ticks).await.unwrap();
    let frozen = Instant::now();
    metric_reaches(&poller, stored_ticks, before + 12.0).await;
    // Twelve ticks on schedule take 3.6 s. A tick that waited for the frozen Redis would wait
    // for its 1 s timeout, so twelve would need about 12 s; 7 s leaves a busy machine room.
    let took = frozen.elapsed();
    assert!(
        took < Duration::from_secs(7),
        "12 ticks took {took:?} while Redis was frozen"
    );
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    let during = metric(&poller, stored_ticks).await.unwrap() - before;
    redis.resume();

    // Everything fetched while frozen is written once it thaws.
    let total = before + during;
    let redis = &redis;
    eventually("the backlog written", PATIENCE, async || {
        (samples(redis).await.len() as f64 >= total).then_some(())
    })
    .await;
    stop(poller).await;
}
