//! The series the alerts and the dashboard read (`observability/`): what each tick saw, how far
//! apart the agreeing providers were, when each provider last answered, and zeros rather than
//! missing series before anything happened.

use std::time::SystemTime;

use poller::providers::Provider;
use test_support::RedisServer;
use wiremock::{MockServer, ResponseTemplate};

use crate::fixtures::OkBody;
use crate::support::{
    agreeing_price, at_least_samples, json, metric, metric_reaches, ok, serve, start_poller, stop,
};

fn unix_seconds_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tick_says_how_many_providers_agreed_and_how_far_apart() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let agreeing = [Provider::Kraken, Provider::Gemini, Provider::Bitfinex];
    for provider in agreeing {
        serve(&upstream, provider, ok(provider)).await;
    }
    // 10x off but plausible on its own: a valid answer, outvoted every tick.
    let tenfold = OkBody::of(Provider::Bitstamp).current("787000.00");
    serve(&upstream, Provider::Bitstamp, json(200, tenfold)).await;
    let started = unix_seconds_now();
    let providers = [agreeing.as_slice(), &[Provider::Bitstamp]].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    at_least_samples(&redis, 3).await;
    assert_eq!(
        metric(&poller, "poller_tick_providers_asked").await,
        Some(4.0)
    );
    assert_eq!(
        metric(&poller, "poller_tick_valid_answers").await,
        Some(4.0)
    );
    assert_eq!(
        metric(&poller, "poller_tick_agreeing_providers").await,
        Some(3.0)
    );
    let highest = agreeing_price(Provider::Bitfinex);
    let lowest = agreeing_price(Provider::Kraken);
    let price = agreeing_price(Provider::Gemini);
    assert_eq!(
        metric(&poller, "poller_tick_spread_ratio").await,
        Some((highest - lowest) / price)
    );
    assert!(metric(&poller, "poller_spread_ratio_count").await.unwrap() >= 3.0);
    // Every tick with a price had an outlier.
    metric_reaches(&poller, "poller_disagreeing_ticks_total", 3.0).await;

    // The outvoted provider still answered validly: it is not failing, it disagrees.
    for provider in providers {
        let series =
            format!(r#"poller_provider_last_success_timestamp_seconds{{provider="{provider}"}}"#);
        let last = metric(&poller, &series).await.unwrap();
        assert!(
            (started..=unix_seconds_now()).contains(&last),
            "{provider}: {last}, started at {started}"
        );
    }
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_alerts_read_are_zero_before_anything_happened() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    for provider in [Provider::Kraken, Provider::Gemini] {
        serve(&upstream, provider, ResponseTemplate::new(500)).await;
    }
    let poller = start_poller(
        &redis.url(),
        &upstream,
        &[Provider::Kraken, Provider::Gemini],
    )
    .await;
    metric_reaches(
        &poller,
        r#"poller_ticks_total{result="no_valid_answer"}"#,
        1.0,
    )
    .await;

    for series in [
        r#"poller_ticks_total{result="stored"}"#,
        r#"poller_ticks_total{result="no_majority"}"#,
        r#"poller_fetches_total{outcome="ok",provider="kraken"}"#,
        r#"poller_fetches_total{outcome="outlier",provider="gemini"}"#,
        r#"poller_provider_last_success_timestamp_seconds{provider="kraken"}"#,
        "poller_tick_valid_answers",
        "poller_tick_agreeing_providers",
        "poller_disagreeing_ticks_total",
        "poller_last_sample_timestamp_seconds",
        "poller_spread_ratio_count",
    ] {
        assert_eq!(metric(&poller, series).await, Some(0.0), "{series}");
    }
    assert_eq!(
        metric(&poller, "poller_poll_interval_seconds").await,
        Some(0.3)
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_without_a_majority_are_a_disagreement() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    serve(&upstream, Provider::Kraken, ok(Provider::Kraken)).await;
    let tenfold = OkBody::of(Provider::Gemini).current("787000.00");
    serve(&upstream, Provider::Gemini, json(200, tenfold)).await;
    let poller = start_poller(
        &redis.url(),
        &upstream,
        &[Provider::Kraken, Provider::Gemini],
    )
    .await;

    metric_reaches(&poller, r#"poller_ticks_total{result="no_majority"}"#, 3.0).await;
    metric_reaches(&poller, "poller_disagreeing_ticks_total", 3.0).await;
    assert_eq!(
        metric(&poller, "poller_tick_valid_answers").await,
        Some(2.0)
    );
    assert_eq!(
        metric(&poller, "poller_tick_agreeing_providers").await,
        Some(0.0)
    );
    stop(poller).await;
}
