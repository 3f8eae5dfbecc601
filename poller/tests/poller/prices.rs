//! Which price is stored: every tick on schedule when the providers agree, never a wrong
//! answer, nothing at all without a valid answer or a majority.

use std::time::{Duration, Instant, SystemTime};

use poller::providers::Provider;
use price_store::unix_ms;
use reqwest::StatusCode;
use test_support::RedisServer;
use wiremock::{MockServer, ResponseTemplate};

use crate::fixtures::{OkBody, fixture};
use crate::support::{
    INTERVAL, agreeing_price, at_least_samples, backed_off, fetches, get, json,
    median_of_all_agreeing_prices, metric, metric_reaches, names, ok, requests_to, samples, serve,
    sources, start_poller, stop, ticks_so_far,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_arrive_on_schedule_from_every_provider() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        serve(&upstream, provider, ok(provider)).await;
    }
    let started = Instant::now();
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;

    let stored = at_least_samples(&redis, 6).await;
    let elapsed = started.elapsed();
    for sample in &stored {
        assert_eq!(sample.price_usd, median_of_all_agreeing_prices());
        assert_eq!(sources(sample), names(&Provider::ALL));
    }
    let now_ms = unix_ms(SystemTime::now());
    assert!(stored[0].fetched_at_ms > now_ms - 60_000 && stored[5].fetched_at_ms <= now_ms);
    // On a fixed schedule: no two ticks closer than half an interval (a later tick is skipped;
    // 5 ms for whole milliseconds and the wall clock against the monotonic one). The upper bound
    // is loose on purpose: a busy 2-core machine may starve the process for a few intervals,
    // and the grid itself is proven with the paused clock in `schedule.rs`.
    let closest = (INTERVAL / 2).as_millis() as i64 - 5;
    for pair in stored.windows(2) {
        let gap = pair[1].fetched_at_ms - pair[0].fetched_at_ms;
        assert!(
            (closest..=3_000).contains(&gap),
            "ticks {gap} ms apart with a 300 ms interval"
        );
    }
    // Each provider asked at most once per tick.
    let ticks = elapsed.as_millis() / INTERVAL.as_millis() + 2;
    for provider in Provider::ALL {
        let asked = requests_to(&upstream, provider).await as u128;
        assert!(
            asked >= 6 && asked <= ticks,
            "{provider}: {asked} requests in {elapsed:?}"
        );
    }

    assert_eq!(
        metric(&poller, "poller_last_price_usd").await,
        Some(median_of_all_agreeing_prices())
    );
    let last_sample = metric(&poller, "poller_last_sample_timestamp_seconds")
        .await
        .unwrap();
    assert!((last_sample * 1000.0) as i64 >= stored[5].fetched_at_ms);
    assert!(
        metric(&poller, &fetches(Provider::Kraken, "ok"))
            .await
            .unwrap()
            >= 6.0
    );
    assert!(
        metric(
            &poller,
            r#"poller_fetch_duration_seconds_count{provider="gemini"}"#
        )
        .await
        .unwrap()
            >= 6.0
    );
    assert!(
        metric(&poller, r#"poller_ticks_total{result="stored"}"#)
            .await
            .unwrap()
            >= 6.0
    );
    assert_eq!(
        metric(&poller, "poller_redis_write_errors_total").await,
        Some(0.0)
    );
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&poller, "/readyz").await.0, StatusCode::OK);
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_answers_never_reach_redis() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    // 1000x off: rejected by the parser's bounds.
    let thousandfold = OkBody::of(Provider::Coinbase).current("78700000.00");
    serve(&upstream, Provider::Coinbase, json(200, thousandfold)).await;
    // 10x off but plausible on its own: outvoted.
    let tenfold = OkBody::of(Provider::Bitstamp).current("787000.00");
    serve(&upstream, Provider::Bitstamp, json(200, tenfold)).await;
    // A CDN's HTML page with 200.
    let html = "<!DOCTYPE html><html><body><h1>Attention Required! | Cloudflare</h1></body></html>";
    serve(
        &upstream,
        Provider::Coingecko,
        ResponseTemplate::new(200).set_body_raw(html, "text/html"),
    )
    .await;
    let sane = [Provider::Kraken, Provider::Gemini, Provider::Bitfinex];
    for provider in sane {
        serve(&upstream, provider, ok(provider)).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;

    let stored = at_least_samples(&redis, 4).await;
    for sample in &stored {
        assert_eq!(sources(sample), names(&sane));
        // The median of the three sane answers is the middle one.
        assert_eq!(sample.price_usd, agreeing_price(Provider::Gemini));
    }
    assert!(
        metric(&poller, &fetches(Provider::Coinbase, "implausible"))
            .await
            .unwrap()
            >= 1.0
    );
    assert!(
        metric(&poller, &fetches(Provider::Bitstamp, "outlier"))
            .await
            .unwrap()
            >= 4.0
    );
    assert!(
        metric(&poller, &fetches(Provider::Coingecko, "invalid_body"))
            .await
            .unwrap()
            >= 1.0
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_without_a_valid_answer_stores_nothing() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let html = "<html><body>502 Bad Gateway</body></html>";
    serve(
        &upstream,
        Provider::Coinbase,
        ResponseTemplate::new(502).set_body_raw(html, "text/html"),
    )
    .await;
    serve(
        &upstream,
        Provider::Kraken,
        json(200, fixture("kraken/busy.json")),
    )
    .await;
    let truncated = fixture("bitstamp/ok.json")[..100].to_owned();
    serve(&upstream, Provider::Bitstamp, json(200, truncated)).await;
    // Far slower than the deadline: whatever it says arrives too late.
    serve(
        &upstream,
        Provider::Gemini,
        ok(Provider::Gemini).set_delay(Duration::from_secs(2)),
    )
    .await;
    let huge = format!("[{}]", "79026,".repeat(40_000) + "1");
    serve(&upstream, Provider::Bitfinex, json(200, huge)).await;
    serve(
        &upstream,
        Provider::Coingecko,
        json(200, fixture("coingecko/unknown-vs-currency-200.json")),
    )
    .await;
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;

    metric_reaches(
        &poller,
        r#"poller_ticks_total{result="no_valid_answer"}"#,
        3.0,
    )
    .await;
    // A 502 and a timeout are overload signals: backed off. The others answered at once with
    // something unusable: asked again every tick.
    let ticks = ticks_so_far(&poller).await;
    for (provider, outcome, overloaded) in [
        (Provider::Coinbase, "http_error", true),
        (Provider::Kraken, "error_body", false),
        (Provider::Bitstamp, "invalid_body", false),
        (Provider::Gemini, "timeout", true),
        (Provider::Bitfinex, "invalid_body", false),
        (Provider::Coingecko, "wrong_market", false),
    ] {
        let failures = metric(&poller, &fetches(provider, outcome)).await;
        let failures = failures.unwrap_or(0.0);
        assert!(failures >= 1.0, "{provider} {outcome}");
        let overload = metric(&poller, &backed_off(provider, "overload")).await;
        assert_eq!(
            overload,
            Some(f64::from(u8::from(overloaded))),
            "{provider}"
        );
        if !overloaded {
            assert!(failures >= ticks, "{provider}: {failures} in {ticks} ticks");
        }
    }
    assert!(samples(&redis).await.is_empty());
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plausible_answers_without_a_majority_store_nothing() {
    let redis = RedisServer::start().await;
    // The six real `ok` bodies, captured on different dates (63 000 to 85 000 USD), each
    // stamped now. Only two are near their median: no majority.
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        let ok = OkBody::of(provider);
        serve(
            &upstream,
            provider,
            json(200, ok.current(&ok.original_price())),
        )
        .await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;
    metric_reaches(&poller, r#"poller_ticks_total{result="no_majority"}"#, 3.0).await;
    assert!(samples(&redis).await.is_empty());
    stop(poller).await;
}
