//! The sample schema against a real redis-server: what the writer stores, the reader gets back.

use std::time::Duration;

use common::samples::{SAMPLES_KEY, Sample, Store, StoreError, read_recent, write};
use common::testing::RedisServer;

fn sample(fetched_at_ms: i64, price_usd: f64) -> Sample {
    Sample {
        fetched_at_ms,
        price_usd,
        sources: vec!["coinbase".into(), "kraken".into(), "bitstamp".into()],
    }
}

#[tokio::test]
async fn an_empty_store_has_no_latest_and_nothing_since() {
    let redis = RedisServer::start().await;
    let recent = read_recent(&mut redis.connection().await, 0).await.unwrap();
    assert_eq!(recent.latest, None);
    assert!(recent.since.is_empty());
}

#[tokio::test]
async fn samples_come_back_exactly_newest_as_latest_and_oldest_first() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(660);
    let written = [
        sample(1_000_000, 97_000.125),
        sample(1_010_000, 97_010.5),
        sample(1_020_000, 0.1 + 0.2),
    ];
    // Written out of order: the score, not the insertion order, decides.
    for s in [&written[1], &written[2], &written[0]] {
        write(&mut conn, s, retention).await.unwrap();
    }
    let recent = read_recent(&mut conn, 1_010_000).await.unwrap();
    assert_eq!(recent.latest.as_ref(), Some(&written[2]));
    assert_eq!(recent.since, written[1..].to_vec());
    assert_eq!(
        read_recent(&mut conn, 1_010_001).await.unwrap().since,
        written[2..].to_vec()
    );
}

#[tokio::test]
async fn a_write_trims_samples_older_than_the_retention() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(60);
    write(&mut conn, &sample(0, 1.0), retention).await.unwrap();
    write(&mut conn, &sample(1_000, 2.0), retention)
        .await
        .unwrap();
    write(&mut conn, &sample(61_000, 3.0), retention)
        .await
        .unwrap();

    let recent = read_recent(&mut conn, i64::MIN).await.unwrap();
    let kept: Vec<i64> = recent.since.iter().map(|s| s.fetched_at_ms).collect();
    assert_eq!(kept, [1_000, 61_000], "exactly `retention` old is kept");
    let stored: usize = redis::cmd("ZCARD")
        .arg(SAMPLES_KEY)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn a_corrupt_member_is_an_error_not_a_price() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let _: () = redis::cmd("ZADD")
        .arg(SAMPLES_KEY)
        .arg(5)
        .arg("not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(read_recent(&mut conn, 0).await.is_err());
}

#[tokio::test]
async fn the_store_gives_up_within_its_timeout_on_a_dead_redis_and_recovers_after_a_restart() {
    let mut redis = RedisServer::start().await;
    let timeout = Duration::from_millis(300);
    let store = Store::new(&redis.url(), timeout);
    store
        .write(&sample(1, 1.0), Duration::from_secs(60))
        .await
        .unwrap();

    redis.kill();
    let started = std::time::Instant::now();
    assert!(store.read_recent(0).await.is_err());
    assert!(started.elapsed() < timeout * 3, "{:?}", started.elapsed());

    redis.restart().await;
    let recent = store.read_recent(0).await.unwrap();
    assert_eq!(recent.latest, None, "a restarted test server is empty");
}

#[tokio::test]
async fn a_frozen_redis_times_out_instead_of_hanging() {
    let redis = RedisServer::start().await;
    let timeout = Duration::from_millis(300);
    let store = Store::new(&redis.url(), timeout);
    store.read_recent(0).await.unwrap();

    redis.pause();
    let started = std::time::Instant::now();
    let outcome = store.read_recent(0).await;
    let waited = started.elapsed();
    redis.resume();
    assert!(
        matches!(outcome, Err(StoreError::TimedOut(t)) if t == timeout),
        "{outcome:?}"
    );
    assert!(waited < timeout * 3, "{waited:?}");
    store
        .read_recent(0)
        .await
        .expect("answers again once thawed");
}
