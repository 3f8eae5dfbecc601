//! The sample schema against a real redis-server: what the writer stores, the reader gets back.

use std::time::Duration;

use price_store::{
    Rejection, SAMPLES_KEY, SETTINGS_KEY, Sample, Store, StoreError, Stored, WRITES_KEY,
    WriterSettings, read_after, read_recent, write, write_keeping,
};
use test_support::RedisServer;
use test_support::samples::confirmed;

/// A confirmed sample at `fetched_at_ms`, its price `offset` above 90 000 USD.
fn sample(fetched_at_ms: i64, offset: f64) -> Sample {
    confirmed(fetched_at_ms, 90_000.0 + offset)
}

/// A writer keeping samples `retention` back.
fn keeping(retention: Duration) -> WriterSettings {
    WriterSettings::new(retention, retention, Duration::from_secs(10))
}

fn valid(samples: &[Sample]) -> Vec<Stored> {
    samples.iter().cloned().map(Stored::Valid).collect()
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
        sample(1_000_000, 7_000.125),
        sample(1_010_000, 7_010.5),
        sample(1_020_000, 0.1 + 0.2),
    ];
    for s in &written {
        write(&mut conn, s, &keeping(retention)).await.unwrap();
    }
    let recent = read_recent(&mut conn, 1_010_000).await.unwrap();
    assert_eq!(recent.latest, Some(Stored::Valid(written[2].clone())));
    assert_eq!(recent.since, valid(&written[1..]));
    assert_eq!(
        read_recent(&mut conn, 1_010_001).await.unwrap().since,
        valid(&written[2..])
    );
}

#[tokio::test]
async fn a_write_trims_samples_older_than_the_retention() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(60);
    write(&mut conn, &sample(0, 1.0), &keeping(retention))
        .await
        .unwrap();
    write(&mut conn, &sample(1_000, 2.0), &keeping(retention))
        .await
        .unwrap();
    write(&mut conn, &sample(61_000, 3.0), &keeping(retention))
        .await
        .unwrap();

    let recent = read_recent(&mut conn, i64::MIN).await.unwrap();
    let kept: Vec<i64> = recent.since.iter().map(Stored::at_ms).collect();
    assert_eq!(kept, [1_000, 61_000], "exactly `retention` old is kept");
    let stored: usize = redis::cmd("ZCARD")
        .arg(SAMPLES_KEY)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn a_member_a_reader_cannot_believe_is_rejected_where_it_stands_not_served() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let mut cents = sample(7_000, 0.0);
    cents.price_usd *= 100.0;
    let mut absurd = sample(7_500, 0.0);
    absurd.price_usd = 2e7;
    let members = [
        (5_000, "not json".to_owned()),
        (
            6_000,
            r#"{"fetched_at_ms":6000,"price_usd":97000.0,"sources":["kraken"]}"#.to_owned(),
        ),
        (7_000, serde_json::to_string(&cents).unwrap()),
        (7_500, serde_json::to_string(&absurd).unwrap()),
        (8_001, serde_json::to_string(&sample(8_000, 0.0)).unwrap()),
    ];
    for (score, member) in &members {
        let _: () = redis::cmd("ZADD")
            .arg(SAMPLES_KEY)
            .arg(score)
            .arg(member)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let good = sample(9_000, 1.0);
    write(&mut conn, &good, &keeping(Duration::from_secs(60)))
        .await
        .unwrap();
    let changes = read_after(&mut conn, 0, None, 0, 10).await.unwrap();
    let rejected = |at_ms, why| Stored::Rejected { at_ms, why };
    assert_eq!(
        changes.after,
        [
            rejected(5_000, Rejection::Unreadable),
            rejected(6_000, Rejection::Unreadable),
            rejected(7_000, Rejection::Inconsistent),
            rejected(7_500, Rejection::Implausible),
            rejected(8_001, Rejection::Inconsistent),
            Stored::Valid(good),
        ]
    );
}

#[tokio::test]
async fn a_reader_that_holds_nothing_is_not_confused_by_a_sample_just_before_its_window() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(3600);
    let written = [sample(1_999, 0.0), sample(2_000, 1.0), sample(2_001, 2.0)];
    for s in &written {
        write(&mut conn, s, &keeping(retention)).await.unwrap();
    }
    for since_ms in [2_000, 2_001, 2_002] {
        let fresh = read_after(&mut conn, since_ms, None, 0, 10).await.unwrap();
        assert_eq!(
            (fresh.before_held_end, fresh.at_held_end),
            (0, 0),
            "since {since_ms}: a reader that holds nothing holds no range"
        );
    }
}

#[tokio::test]
async fn the_writer_s_settings_travel_with_every_write() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let empty = read_after(&mut conn, 0, None, 0, 10).await.unwrap();
    assert_eq!(empty.settings, None);
    let settings = WriterSettings::new(
        Duration::from_secs(600),
        Duration::from_secs(660),
        Duration::from_secs(10),
    );
    write(&mut conn, &sample(1_000, 0.0), &settings)
        .await
        .unwrap();
    let changes = read_after(&mut conn, 0, None, 0, 10).await.unwrap();
    assert_eq!(changes.settings, Some(settings));
    let _: () = redis::cmd("SET")
        .arg(SETTINGS_KEY)
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let garbled = read_after(&mut conn, 0, None, 0, 10).await.unwrap();
    assert_eq!(
        garbled.settings, None,
        "unreadable settings are unknown ones"
    );
}

#[tokio::test]
async fn the_store_gives_up_within_its_timeout_on_a_dead_redis_and_recovers_after_a_restart() {
    let mut redis = RedisServer::start().await;
    let timeout = Duration::from_millis(300);
    let store = Store::new(&redis.url(), timeout);
    store
        .write(&sample(1, 1.0), 0, &keeping(Duration::from_secs(60)))
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

#[tokio::test]
async fn every_write_is_counted_with_it() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(60);
    for at in [1_000, 2_000, 3_000] {
        write(&mut conn, &sample(at, 1.0), &keeping(retention))
            .await
            .unwrap();
    }
    let writes: u64 = redis::cmd("GET")
        .arg(WRITES_KEY)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(writes, 3);
}

#[tokio::test]
async fn a_reader_gets_only_what_came_after_what_it_holds() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(3600);
    let written: Vec<Sample> = (1..=5).map(|k| sample(k * 1_000, k as f64)).collect();
    for s in &written {
        write(&mut conn, s, &keeping(retention)).await.unwrap();
    }

    let fresh = read_after(&mut conn, 2_000, None, 0, 100).await.unwrap();
    assert_eq!(
        fresh.after,
        valid(&written[1..]),
        "from since_ms, inclusive"
    );
    assert_eq!(
        (fresh.writes, fresh.before_held_end, fresh.at_held_end),
        (5, 0, 0)
    );
    assert_eq!(fresh.latest, Some(Stored::Valid(written[4].clone())));

    let holding = read_after(&mut conn, 2_000, Some(3_000), 1, 100)
        .await
        .unwrap();
    assert_eq!(
        holding.after,
        valid(&written[3..]),
        "after the held, exclusive"
    );
    assert_eq!(
        (holding.before_held_end, holding.at_held_end),
        (1, 1),
        "2 000 before, 3 000 at the end"
    );

    let limited = read_after(&mut conn, 0, None, 0, 2).await.unwrap();
    assert_eq!(limited.after, valid(&written[..2]));
}

#[tokio::test]
async fn samples_fetched_in_the_same_millisecond_are_read_after_those_held() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(3600);
    let twins = [sample(2_000, 1.0), sample(2_000, 2.0), sample(2_000, 3.0)];
    for s in &twins {
        write(&mut conn, s, &keeping(retention)).await.unwrap();
    }
    let all = read_after(&mut conn, 0, None, 0, 10).await.unwrap().after;
    assert_eq!(all.len(), 3);
    let rest = read_after(&mut conn, 0, Some(2_000), 1, 10).await.unwrap();
    assert_eq!(
        rest.after,
        all[1..].to_vec(),
        "the one held is skipped, not the others"
    );
    assert_eq!((rest.before_held_end, rest.at_held_end), (0, 3));
}

#[tokio::test]
async fn a_flushed_store_counts_no_writes() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    write(
        &mut conn,
        &sample(1_000, 1.0),
        &keeping(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    let changes = read_after(&mut conn, 0, Some(1_000), 1, 10).await.unwrap();
    assert_eq!(
        (changes.writes, changes.before_held_end, changes.at_held_end),
        (0, 0, 0)
    );
    assert_eq!(changes.latest, None);
}

#[tokio::test]
async fn a_write_removes_the_samples_stamped_after_it_a_clock_that_ran_ahead_left() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let retention = Duration::from_secs(3600);
    // Written while the clock ran an hour ahead, then the clock is back.
    let real = sample(1_000_000, 0.0);
    let ahead = sample(1_000_000 + 3_600_000, 1.0);
    let back = sample(1_010_000, 2.0);
    for s in [&real, &ahead, &back] {
        write(&mut conn, s, &keeping(retention)).await.unwrap();
    }
    let stored = read_recent(&mut conn, 0).await.unwrap();
    assert_eq!(stored.since, valid(&[real, back.clone()]));
    assert_eq!(stored.latest, Some(Stored::Valid(back)));
}

#[tokio::test]
async fn a_write_keeps_what_the_writer_says_to_keep() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let settings = keeping(Duration::from_secs(60));
    let samples = [
        sample(1_000, 0.0),
        sample(2_000, 1.0),
        sample(3_600_000, 2.0),
    ];
    write(&mut conn, &samples[0], &settings).await.unwrap();
    write(&mut conn, &samples[1], &settings).await.unwrap();
    // The writer's trim line lags a clock that jumped: nothing before 1 500 is trimmed.
    write_keeping(&mut conn, &samples[2], 1_500, &settings)
        .await
        .unwrap();
    let kept: Vec<i64> = read_recent(&mut conn, 0)
        .await
        .unwrap()
        .since
        .iter()
        .map(Stored::at_ms)
        .collect();
    assert_eq!(kept, [2_000, 3_600_000]);
}
