//! The refresher reads the window once, then only what changed, and reads it all again only
//! when Redis lost or rewrote samples; its metrics show which it did.

use std::time::Duration;

use test_support::{RedisServer, eventually};

use crate::support::*;

/// Waits until api-a has refreshed a few more times, then returns its metrics.
async fn after_a_few_refreshes(base_url: &str) -> String {
    let refreshes = |text: &str| metric(text, "price_snapshot_last_success_timestamp_seconds");
    let before = refreshes(&get(&format!("{base_url}/metrics")).await.body);
    eventually("a second of refreshes", PATIENCE, async || {
        let text = get(&format!("{base_url}/metrics")).await.body;
        (refreshes(&text) >= before + 1.0).then_some(text)
    })
    .await
}

#[tokio::test]
async fn an_idle_replica_reads_the_window_once_then_only_what_changes() {
    let redis = RedisServer::start().await;
    let history: Vec<_> = (1..=30)
        .map(|age| {
            sample_aged(
                Duration::from_secs(age * 10),
                97_000.0 + age as f64,
                &["kraken"],
            )
        })
        .collect();
    seed(&redis, &history).await;
    let server = start(&redis, &[]).await;
    let base = server.url("");

    let idle = after_a_few_refreshes(&base).await;
    assert_eq!(
        metric(&idle, "price_snapshot_full_reads_total"),
        1.0,
        "{idle}"
    );
    assert_eq!(metric(&idle, "price_snapshot_samples"), 30.0);

    let newest = sample_aged(Duration::ZERO, 98_000.0, &["kraken"]);
    seed(&redis, std::slice::from_ref(&newest)).await;
    let appended = after_a_few_refreshes(&base).await;
    assert_eq!(metric(&appended, "price_snapshot_full_reads_total"), 1.0);
    assert_eq!(metric(&appended, "price_snapshot_samples"), 31.0);
    assert_eq!(
        metric(&appended, "price_latest_sample_timestamp_seconds"),
        newest.fetched_at_ms as f64 / 1000.0
    );

    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut redis.connection().await)
        .await
        .unwrap();
    let flushed = after_a_few_refreshes(&base).await;
    assert_eq!(metric(&flushed, "price_snapshot_full_reads_total"), 2.0);
    assert_eq!(metric(&flushed, "price_snapshot_samples"), 0.0);
    assert_eq!(
        metric(&flushed, "price_latest_sample_timestamp_seconds"),
        0.0
    );
}
