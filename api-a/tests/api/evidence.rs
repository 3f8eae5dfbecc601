//! What api-a believes of what it reads: a stored sample that is not plausible or not
//! self-consistent reaches no route (counted by reason), a price fewer than the quorum back says
//! what it stays close to, and a poller keeping another window than this api-a is reported.

use std::time::{Duration, SystemTime};

use price_store::{Basis, SAMPLES_KEY, WRITES_KEY, WriterSettings, unix_ms};
use reqwest::StatusCode;
use serde_json::json;
use test_support::RedisServer;

use crate::support::*;

/// Stores `member` at `at_ms` as a writer with a bug would: counted as a write.
async fn store_raw(redis: &RedisServer, at_ms: i64, member: &str) {
    let _: () = redis::pipe()
        .atomic()
        .zadd(SAMPLES_KEY, member, at_ms)
        .ignore()
        .incr(WRITES_KEY, 1)
        .ignore()
        .query_async(&mut redis.connection().await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stored_sample_api_a_does_not_believe_reaches_no_route() {
    let redis = RedisServer::start().await;
    let older = sample_aged(Duration::from_secs(30), 97_000.0, &["kraken"]);
    let newest_valid = sample_aged(Duration::from_secs(20), 97_100.0, &["kraken"]);
    seed(&redis, &[older.clone(), newest_valid.clone()]).await;
    // Between them, something that is no sample; after them, a price in cents among its
    // sources' dollars, then one outside any plausible range.
    store_raw(&redis, older.fetched_at_ms + 1, "not a sample").await;
    let mut cents = sample_aged(Duration::from_secs(10), 97_100.0, &["kraken"]);
    cents.price_usd *= 100.0;
    store_raw(
        &redis,
        cents.fetched_at_ms,
        &serde_json::to_string(&cents).unwrap(),
    )
    .await;
    let mut absurd = sample_aged(Duration::from_secs(5), 97_100.0, &["kraken"]);
    absurd.price_usd = f64::MAX;
    absurd.quotes[0].price_usd = f64::MAX;
    store_raw(
        &redis,
        absurd.fetched_at_ms,
        &serde_json::to_string(&absurd).unwrap(),
    )
    .await;
    let server = start(&redis, &[]).await;

    let current = get(&server.url("/service1/current")).await.json();
    assert_eq!(current["price"], 97_100.0, "{current}");
    assert_eq!(current["as_of"], rfc3339(newest_valid.fetched_at_ms));
    let average = get(&server.url("/service1/average")).await.json();
    assert_eq!(
        (&average["samples"], &average["average"]),
        (&json!(2), &json!(97_050.0))
    );
    let history = get(&server.url("/service1/history")).await.json();
    let prices: Vec<f64> = history["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["price"].as_f64().unwrap())
        .collect();
    assert_eq!(prices, [97_000.0, 97_100.0]);
    let page = get(&server.url("/service1/")).await.body;
    assert!(
        !page.contains("9,710,000") && !page.contains("9710000"),
        "{page}"
    );

    let metrics = get(&server.url("/metrics")).await.body;
    for (reason, count) in [
        ("unreadable", 1.0),
        ("inconsistent", 1.0),
        ("implausible", 1.0),
    ] {
        let series = format!(r#"price_snapshot_rejected_samples{{reason="{reason}"}}"#);
        assert_eq!(metric(&metrics, &series), count, "{reason}");
    }
    assert_eq!(
        metric(&metrics, "price_snapshot_full_reads_total"),
        1.0,
        "read once, not again and again"
    );
}

#[tokio::test]
async fn a_price_fewer_than_the_quorum_back_shows_the_confirmed_price_it_stays_near() {
    let redis = RedisServer::start().await;
    let confirmed = sample_aged(
        Duration::from_secs(40),
        90_000.0,
        &["coinbase", "kraken", "bitstamp"],
    );
    let mut lone = sample_aged(Duration::from_secs(1), 90_900.0, &["kraken"]);
    lone.providers = 3;
    lone.quorum = 3;
    lone.basis = Basis::Continuity {
        confirmed_usd: 90_000.0,
        confirmed_at_ms: confirmed.fetched_at_ms,
    };
    seed(&redis, &[confirmed.clone(), lone]).await;
    let server = start(&redis, &[]).await;

    let current = get(&server.url("/service1/current")).await.json();
    assert_eq!(current["basis"], "continuity");
    assert_eq!(
        current["confirmed"],
        json!({"price": 90_000.0, "at": rfc3339(confirmed.fetched_at_ms), "change_percent": 1.0})
    );
    assert_eq!(
        current["providers"],
        json!({"configured": 3, "answered": 1, "agreeing": 1, "quorum": 3})
    );
    let page = get(&server.url("/service1/")).await.body;
    assert!(page.contains("1 of 3 exchanges answered"), "{page}");
    assert!(
        page.contains("Fewer than the 3 needed to confirm a price: shown because it is within 1 % of $90,000.00"),
        "{page}"
    );
}

#[tokio::test]
async fn a_poller_keeping_another_window_is_reported_until_they_agree() {
    let redis = RedisServer::start().await;
    let now = unix_ms(SystemTime::now());
    let shorter = WriterSettings::new(
        Duration::from_secs(300),
        Duration::from_secs(360),
        Duration::from_secs(10),
    );
    let sample = sample_aged(Duration::ZERO, 97_000.0, &["kraken"]);
    price_store::write(&mut redis.connection().await, &sample, &shorter)
        .await
        .unwrap();
    let server = start(&redis, &[]).await;
    assert_eq!(
        metric(
            &get(&server.url("/metrics")).await.body,
            "price_window_mismatch"
        ),
        1.0
    );

    let later = sample_aged(Duration::ZERO, 97_000.0, &["kraken"]);
    assert!(later.fetched_at_ms >= now);
    price_store::write(&mut redis.connection().await, &later, &writer_settings())
        .await
        .unwrap();
    test_support::eventually("the mismatch gone", PATIENCE, async || {
        let metrics = get(&server.url("/metrics")).await.body;
        (metric(&metrics, "price_window_mismatch") == 0.0).then_some(())
    })
    .await;
    assert_eq!(get(&server.url("/readyz")).await.status, StatusCode::OK);
}
