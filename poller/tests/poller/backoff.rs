//! Failing and rate-limited providers are backed off while the others carry on; a
//! `Retry-After` in either form is honoured; a provider that comes back counts again.

use std::time::{Duration, SystemTime};

use poller::decision::NoPrice;
use poller::providers::Provider;
use price_store::unix_ms;
use test_support::{RedisServer, eventually};
use wiremock::MockServer;

use crate::fixtures::fixture;
use crate::support::{
    INTERVAL, PATIENCE, Scripted, a_sample_where, at_least_samples, backed_off, fetches, json,
    metric, metric_reaches, ok, samples, serve, sources, start_poller, stop,
};

/// Asked every tick and always valid: a quorum that carries the price while the others fail.
const STEADY: [Provider; 3] = [Provider::Bitstamp, Provider::Gemini, Provider::Bitfinex];

async fn steady_providers(upstream: &MockServer) {
    for provider in STEADY {
        serve(upstream, provider, ok(provider)).await;
    }
}

/// Kraken's answer while it is down: its unavailable body with a 503, as it is also served
/// (an overload signal; the same body with 200 is asked again at the next tick, see
/// `pacing.rs`).
fn kraken_down() -> wiremock::ResponseTemplate {
    json(503, fixture("kraken/unavailable.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_some_providers_fail_the_others_carry_on_from_the_first_tick() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let coinbase_limited =
        json(429, fixture("coinbase/error-429.json")).insert_header("retry-after", "2");
    serve(&upstream, Provider::Coinbase, coinbase_limited).await;
    serve(&upstream, Provider::Kraken, kraken_down()).await;
    steady_providers(&upstream).await;
    let providers = [[Provider::Coinbase, Provider::Kraken].as_slice(), &STEADY].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    for sample in at_least_samples(&redis, 3).await {
        assert_eq!(sources(&sample), ["bitstamp", "gemini", "bitfinex"]);
    }
    // Every tick stored a price, the first one (when all five were asked) included.
    for result in NoPrice::LABELS {
        let series = format!(r#"poller_ticks_total{{result="{result}"}}"#);
        assert_eq!(
            metric(&poller, &series).await.unwrap_or(0.0),
            0.0,
            "{result}"
        );
    }
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_in_seconds_is_honoured_from_the_answer() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    // Rate limited once, asking for 2 s in the seconds form.
    let coinbase = Scripted::new(vec![
        json(429, fixture("coinbase/error-429.json")).insert_header("retry-after", "2"),
        ok(Provider::Coinbase),
    ]);
    serve(&upstream, Provider::Coinbase, coinbase.clone()).await;
    steady_providers(&upstream).await;
    let providers = [[Provider::Coinbase].as_slice(), &STEADY].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    eventually(
        "coinbase backed off for its Retry-After",
        PATIENCE,
        async || {
            let gauge = metric(&poller, &backed_off(Provider::Coinbase, "retry_after")).await;
            (gauge == Some(1.0)).then_some(())
        },
    )
    .await;
    a_sample_where(&redis, "a sample from coinbase", |s| {
        sources(s) == ["coinbase", "bitstamp", "gemini", "bitfinex"]
    })
    .await;
    assert!(
        coinbase.gaps()[0] >= Duration::from_secs(2),
        "{:?}",
        coinbase.gaps()
    );
    assert_eq!(
        metric(&poller, &fetches(Provider::Coinbase, "rate_limited")).await,
        Some(1.0)
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_as_an_http_date_is_honoured() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    // Rate limited once, asking for a time 3 s away in the HTTP-date form (whole seconds).
    let retry_at = SystemTime::now() + Duration::from_secs(3);
    let coingecko = Scripted::new(vec![
        json(429, fixture("coingecko/error-429.json"))
            .insert_header("retry-after", httpdate::fmt_http_date(retry_at).as_str()),
        ok(Provider::Coingecko),
    ]);
    serve(&upstream, Provider::Coingecko, coingecko.clone()).await;
    steady_providers(&upstream).await;
    let providers = [STEADY.as_slice(), &[Provider::Coingecko]].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    let coingecko_back = a_sample_where(&redis, "a sample from coingecko", |s| {
        s.sources().any(|source| source == "coingecko")
    })
    .await;
    let retry_at_ms =
        unix_ms(httpdate::parse_http_date(&httpdate::fmt_http_date(retry_at)).unwrap());
    assert!(coingecko_back.fetched_at_ms >= retry_at_ms - 20);
    assert_eq!(
        coingecko.arrivals().len(),
        2,
        "asked once, then once it was allowed"
    );
    assert_eq!(
        metric(&poller, &fetches(Provider::Coingecko, "rate_limited")).await,
        Some(1.0)
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_keeps_failing_is_asked_after_2_then_4_then_8_intervals() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let kraken = Scripted::new(vec![kraken_down()]);
    serve(&upstream, Provider::Kraken, kraken.clone()).await;
    steady_providers(&upstream).await;
    let providers = [[Provider::Kraken].as_slice(), &STEADY].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    eventually("kraken asked 4 times", PATIENCE, async || {
        (kraken.arrivals().len() >= 4).then_some(())
    })
    .await;
    // A request may leave its tick late: a tick runs up to half an interval behind the grid
    // (later ones are skipped) and a busy machine delays the request further. One interval of
    // slack still tells 2, 4 and 8 intervals apart from asking every tick.
    for (n, gap) in kraken.gaps().into_iter().enumerate() {
        let backoff = INTERVAL * 2u32.pow(n as u32 + 1);
        assert!(
            gap + INTERVAL >= backoff,
            "gap {n}: {gap:?}, back-off {backoff:?}"
        );
    }
    assert!(
        samples(&redis)
            .await
            .iter()
            .all(|s| !s.sources().any(|source| source == "kraken"))
    );
    metric_reaches(&poller, &fetches(Provider::Kraken, "http_error"), 4.0).await;
    assert_eq!(
        metric(&poller, &backed_off(Provider::Kraken, "overload")).await,
        Some(1.0)
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_recovers_is_asked_and_counted_again() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let kraken = Scripted::new(vec![kraken_down(), kraken_down(), ok(Provider::Kraken)]);
    serve(&upstream, Provider::Kraken, kraken.clone()).await;
    steady_providers(&upstream).await;
    let providers = [[Provider::Kraken].as_slice(), &STEADY].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    eventually("kraken backed off", PATIENCE, async || {
        (metric(&poller, &backed_off(Provider::Kraken, "overload")).await == Some(1.0))
            .then_some(())
    })
    .await;
    a_sample_where(&redis, "kraken back in the samples", |s| {
        sources(s) == ["kraken", "bitstamp", "gemini", "bitfinex"]
    })
    .await;
    assert_eq!(
        metric(&poller, &backed_off(Provider::Kraken, "overload")).await,
        Some(0.0)
    );
    stop(poller).await;
}
