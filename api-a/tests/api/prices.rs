//! Service A's prices: `/current` is the newest sample, `/average` the mean over the sliding
//! window, both rounded to the cent, and 503s with `Retry-After` when there is nothing to say.

use std::time::{Duration, Instant, SystemTime};

use price_store::{Sample, unix_ms};
use reqwest::StatusCode;
use serde_json::json;
use test_support::{RedisServer, eventually};

use crate::support::*;

#[tokio::test]
async fn current_is_the_latest_sample_with_its_price_rounded_to_the_cent() {
    let redis = RedisServer::start().await;
    let latest = sample_aged(
        Duration::from_secs(2),
        97_123.456_7,
        &["coinbase", "kraken", "bitstamp"],
    );
    seed(
        &redis,
        &[
            sample_aged(Duration::from_secs(300), 96_000.0, &["coinbase"]),
            latest.clone(),
            sample_aged(Duration::from_secs(12), 96_500.0, &["kraken"]),
        ],
    )
    .await;
    let server = start(&redis, &[]).await;

    let answer = get(&server.url("/service1/current")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body.contains(r#""price":97123.46,"#),
        "{}",
        answer.body
    );
    let mut body = answer.json();
    let age = body["age_seconds"].take().as_f64().unwrap();
    assert!((2.0..PATIENCE.as_secs_f64()).contains(&age), "{age}");
    assert_eq!(
        body,
        json!({
            "currency": "USD",
            "price": 97123.46,
            "as_of": rfc3339(latest.fetched_at_ms),
            "age_seconds": null,
            "stale": false,
            "sources": ["coinbase", "kraken", "bitstamp"],
            "quotes": [
                {"source": "coinbase", "price": 97123.46},
                {"source": "kraken", "price": 97123.46},
                {"source": "bitstamp", "price": 97123.46},
            ],
            "spread_percent": 0.0,
            "providers": {"configured": 3, "answered": 3, "agreeing": 3, "quorum": 3},
            "basis": "quorum",
            "confirmed": {
                "price": 97123.46,
                "at": rfc3339(latest.fetched_at_ms),
                "change_percent": 0.0,
            },
        })
    );
    assert!(
        body["as_of"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 in UTC"
    );
}

#[tokio::test]
async fn current_is_stale_once_older_than_stale_after() {
    let redis = RedisServer::start().await;
    seed(
        &redis,
        &[sample_aged(Duration::from_secs(45), 97_000.0, &["kraken"])],
    )
    .await;

    let default_threshold = start(&redis, &[]).await;
    let body = get(&default_threshold.url("/service1/current"))
        .await
        .json();
    assert_eq!(body["stale"], true, "{body}");
    let age = body["age_seconds"].as_f64().unwrap();
    assert!(
        (45.0..45.0 + PATIENCE.as_secs_f64()).contains(&age),
        "{age}"
    );

    let longer_threshold = start(&redis, &[("STALE_AFTER", "2m")]).await;
    let body = get(&longer_threshold.url("/service1/current")).await.json();
    assert_eq!(body["stale"], false, "{body}");
}

#[tokio::test]
async fn average_is_the_mean_of_the_samples_inside_the_window_only() {
    let redis = RedisServer::start().await;
    let oldest_inside = sample_aged(Duration::from_secs(600 - 20), 97_000.10, &["kraken"]);
    let newest = sample_aged(Duration::from_secs(1), 97_123.456_7, &["coinbase"]);
    seed(
        &redis,
        &[
            // Outside the 10-minute window but still stored: they must not count.
            sample_aged(Duration::from_secs(30 * 60), 10_000.0, &["kraken"]),
            sample_aged(Duration::from_secs(600 + 5), 1_000_000.0, &["kraken"]),
            oldest_inside.clone(),
            sample_aged(Duration::from_secs(300), 97_000.20, &["kraken"]),
            newest.clone(),
        ],
    )
    .await;
    let server = start(&redis, &[]).await;

    let answer = get(&server.url("/service1/average")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // (97000.10 + 97000.20 + 97123.4567) / 3 = 97041.2522333...
    assert_eq!(
        answer.json(),
        json!({
            "currency": "USD",
            "average": 97041.25,
            "window_seconds": 600,
            "samples": 3,
            "from": rfc3339(oldest_inside.fetched_at_ms),
            "to": rfc3339(newest.fetched_at_ms),
            // 3 samples of a poller writing every 10 s stand for 30 s of the 10 minutes.
            "coverage": 0.05,
        })
    );
}

#[tokio::test]
async fn averages_and_prices_are_rounded_to_the_cent_without_float_noise() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    // Each case's plain floating-point mean shows noise, e.g. 97000.45000000001.
    for (prices, average) in [
        (&[97_000.3, 97_000.6][..], "97000.45"),
        (&[64_123.11, 64_123.12], "64123.12"),
        (&[97_000.1, 97_000.2, 97_000.4], "97000.23"),
        (&[97_000.0], "97000.0"),
    ] {
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut redis.connection().await)
            .await
            .unwrap();
        let count = prices.len();
        let samples: Vec<Sample> = prices
            .iter()
            .enumerate()
            .map(|(i, &price)| {
                sample_aged(
                    Duration::from_secs(count as u64 - i as u64),
                    price,
                    &["kraken"],
                )
            })
            .collect();
        seed(&redis, &samples).await;
        let expected = format!(r#""average":{average},"window_seconds":600,"samples":{count},"#);
        let body = eventually("the new samples are served", PATIENCE, async || {
            let answer = get(&server.url("/service1/average")).await;
            answer.body.contains(&expected).then_some(answer.body)
        })
        .await;
        assert!(body.contains(r#"{"currency":"USD","average":"#), "{body}");
    }
}

/// The window slides with the clock: a sample leaves it exactly when it becomes older than
/// `AVERAGE_WINDOW`, not when a fixed period resets and not after a number of newer samples.
#[tokio::test]
async fn the_average_window_slides_with_time() {
    let window = Duration::from_secs(6);
    let redis = RedisServer::start().await;
    let older = sample_aged(Duration::from_secs(1), 97_100.0, &["kraken"]);
    let newer = sample_aged(Duration::ZERO, 97_200.0, &["kraken"]);
    seed(&redis, &[older.clone(), newer.clone()]).await;
    let server = start(&redis, &[("AVERAGE_WINDOW", "6s")]).await;
    let window_ms = window.as_millis() as i64;

    let mut saw_both = false;
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the older sample leaves the window"
        );
        let sent_ms = unix_ms(SystemTime::now());
        let body = get(&server.url("/service1/average")).await.json();
        let received_ms = unix_ms(SystemTime::now());
        assert_eq!(body["window_seconds"], 6);
        match body["samples"].as_u64() {
            Some(2) => {
                assert_eq!(body["average"], 97_150.0);
                assert!(sent_ms <= older.fetched_at_ms + window_ms, "{body}");
                saw_both = true;
            }
            Some(1) => {
                assert_eq!(body["average"], 97_200.0);
                assert_eq!(body["from"], rfc3339(newer.fetched_at_ms));
                assert!(received_ms > older.fetched_at_ms + window_ms, "{body}");
                break;
            }
            _ => panic!("unexpected {body}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        saw_both,
        "both samples counted while both were inside the window"
    );

    let answer = eventually(
        "the newer sample leaves the window too",
        PATIENCE,
        async || {
            let answer = get(&server.url("/service1/average")).await;
            (answer.status != StatusCode::OK).then_some(answer)
        },
    )
    .await;
    assert!(unix_ms(SystemTime::now()) > newer.fetched_at_ms + window_ms);
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.problem_code(), "no-price-in-window");
    // The latest price is still served, however old.
    assert_eq!(
        get(&server.url("/service1/current")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn no_sample_stored_yet_is_a_503_with_retry_after_on_both_routes() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    for path in ["/service1/current", "/service1/average"] {
        let answer = get(&server.url(path)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(answer.retry_after(), "10", "{path}");
        assert_eq!(answer.problem_code(), "no-price-yet", "{path}");
    }
    // Nothing to serve yet: a fresh replica takes no traffic until its poller stored a price.
    let readyz = get(&server.url("/readyz")).await;
    assert_eq!(readyz.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readyz.json(), json!({"status": "not ready"}));

    seed_fresh_sample(&redis).await;
    serves_and_is_ready(&server, "the first sample is served", PATIENCE).await;
}

#[tokio::test]
async fn no_sample_inside_the_window_is_a_503_for_average_only() {
    let redis = RedisServer::start().await;
    seed(
        &redis,
        &[sample_aged(
            Duration::from_secs(11 * 60),
            97_000.0,
            &["kraken"],
        )],
    )
    .await;
    let server = start(&redis, &[]).await;

    let average = get(&server.url("/service1/average")).await;
    assert_eq!(average.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(average.retry_after(), "10");
    assert_eq!(average.problem_code(), "no-price-in-window");
    let current = get(&server.url("/service1/current")).await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.json()["stale"], true);
}
