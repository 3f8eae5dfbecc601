//! `/history`: the window's samples, oldest first, to the cent, thinned to `max_points`, with
//! the same 503s as `/average` and a 400 for a bad `max_points`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use test_support::RedisServer;

use crate::support::*;

#[tokio::test]
async fn history_lists_the_window_s_samples_oldest_first_to_the_cent() {
    let redis = RedisServer::start().await;
    let inside = [
        sample_aged(Duration::from_secs(50), 97_000.004, &["kraken"]),
        sample_aged(Duration::from_secs(30), 97_123.456_7, &["kraken"]),
        sample_aged(Duration::from_secs(10), 97_050.0, &["kraken"]),
    ];
    seed(
        &redis,
        &[sample_aged(Duration::from_secs(90), 1_000.0, &["kraken"])],
    )
    .await;
    seed(&redis, &inside).await;
    let server = start(&redis, &[("AVERAGE_WINDOW", "60s")]).await;

    let answer = get(&server.url("/service1/history")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({
            "currency": "USD",
            "window_seconds": 60,
            "samples": 3,
            "points": [
                {"t": rfc3339(inside[0].fetched_at_ms), "price": 97000.0},
                {"t": rfc3339(inside[1].fetched_at_ms), "price": 97123.46},
                {"t": rfc3339(inside[2].fetched_at_ms), "price": 97050.0},
            ],
        })
    );
}

#[tokio::test]
async fn a_long_window_is_thinned_to_max_points_keeping_its_ends() {
    let redis = RedisServer::start().await;
    let samples: Vec<_> = (0..50u64)
        .rev()
        .map(|age| {
            sample_aged(
                Duration::from_secs(age * 2 + 1),
                97_000.0 + age as f64,
                &["kraken"],
            )
        })
        .collect();
    seed(&redis, &samples).await;
    let server = start(&redis, &[]).await;

    let thinned = get(&server.url("/service1/history?max_points=5"))
        .await
        .json();
    assert_eq!(thinned["samples"], 50);
    let times: Vec<&str> = thinned["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["t"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = [0, 12, 24, 36, 49]
        .iter()
        .map(|&i| rfc3339(samples[i].fetched_at_ms))
        .collect();
    assert_eq!(times, expected);
    let all = get(&server.url("/service1/history")).await.json();
    assert_eq!(
        all["points"].as_array().unwrap().len(),
        50,
        "500 by default"
    );
}

#[tokio::test]
async fn a_bad_max_points_is_a_400_that_says_what_is_allowed() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;
    for query in [
        "max_points=1",
        "max_points=5001",
        "max_points=ten",
        "max_points=",
    ] {
        let answer = get(&server.url(&format!("/service1/history?{query}"))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(!answer.headers.contains_key("retry-after"), "{query}");
        assert_eq!(
            answer.problem(),
            (
                "invalid-max-points".to_owned(),
                "max_points must be a whole number from 2 to 5000".to_owned()
            )
        );
    }
}

#[tokio::test]
async fn history_answers_503_like_average_when_there_is_nothing_to_show() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[("AVERAGE_WINDOW", "5s")]).await;
    let empty = get(&server.url("/service1/history")).await;
    assert_eq!(empty.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(empty.problem_code(), "no-price-yet");
    assert_eq!(empty.retry_after(), "10");

    seed(
        &redis,
        &[sample_aged(Duration::from_secs(30), 97_000.0, &["kraken"])],
    )
    .await;
    answers_status(
        &server.url("/service1/history"),
        StatusCode::SERVICE_UNAVAILABLE,
        "no-price-in-window",
    )
    .await;
}
