//! Who is asked when: a provider that answers garbage at once is asked again at the next
//! tick, a total outage ends within one interval of the exchanges returning, a `Retry-After`
//! holds even then, and nobody is asked twice in one tick.

use std::time::Duration;

use poller::providers::Provider;
use test_support::RedisServer;
use wiremock::{MockServer, ResponseTemplate};

use crate::fixtures::fixture;
use crate::support::{
    INTERVAL, Scripted, Switch, a_sample_where, backed_off, fetches, json, metric, metric_reaches,
    ok, requests_to, serve, start_poller, stop, ticks_so_far,
};

/// Kraken answering for two pairs at once: HTTP 200, at once, unusable.
fn kraken_two_pairs() -> ResponseTemplate {
    let body = r#"{"error":[],"result":{"XXBTZUSD":{"c":["78754.0","1"]},"XETHZUSD":{"c":["3000.0","1"]}}}"#;
    json(200, body.to_owned())
}

fn down() -> ResponseTemplate {
    let html = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>";
    ResponseTemplate::new(503).set_body_raw(html, "text/html")
}

const NO_PRICE: &str = r#"poller_ticks_total{result="no_valid_answer"}"#;
const STORED: &str = r#"poller_ticks_total{result="stored"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_answering_two_pairs_is_asked_again_at_the_next_tick() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    serve(&upstream, Provider::Kraken, kraken_two_pairs()).await;
    // A quorum without it.
    let steady = [Provider::Bitstamp, Provider::Gemini, Provider::Bitfinex];
    for provider in steady {
        serve(&upstream, provider, ok(provider)).await;
    }
    let providers = [[Provider::Kraken].as_slice(), &steady].concat();
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    metric_reaches(&poller, STORED, 8.0).await;
    let ticks = ticks_so_far(&poller).await;
    let asked = requests_to(&upstream, Provider::Kraken).await as f64;
    assert!(
        asked >= ticks,
        "kraken asked {asked} times in {ticks} ticks"
    );
    let wrong_market = metric(&poller, &fetches(Provider::Kraken, "wrong_market")).await;
    assert!(wrong_market.unwrap() >= ticks, "its failures are counted");
    for reason in ["overload", "retry_after"] {
        let gauge = metric(&poller, &backed_off(Provider::Kraken, reason)).await;
        assert_eq!(gauge, Some(0.0), "{reason}");
    }
    let in_a_row = r#"poller_provider_failures_in_a_row{provider="kraken"}"#;
    assert!(metric(&poller, in_a_row).await.unwrap() >= ticks);
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_total_outage_a_price_is_stored_within_one_interval_of_the_exchanges_returning() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let outage = Switch::new(down(), down());
    for provider in Provider::ALL {
        serve(&upstream, provider, outage.also(down(), ok(provider))).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;

    // Long enough for the exponential back-off to grow past 8 intervals.
    metric_reaches(&poller, NO_PRICE, 16.0).await;
    let mut asked = 0;
    for provider in Provider::ALL {
        asked += requests_to(&upstream, provider).await;
        let gauge = metric(&poller, &backed_off(provider, "overload")).await;
        assert_eq!(gauge, Some(1.0), "{provider} backed off");
    }
    let probes = metric(&poller, r#"poller_probes_total{provider="coinbase"}"#).await;
    assert!(probes.unwrap() >= 1.0, "coinbase probed");
    assert!(
        asked <= 6 + 2 * 17,
        "{asked} requests: backed off, one probe a tick"
    );

    outage.flip();
    let failed_before = metric(&poller, NO_PRICE).await.unwrap();
    a_sample_where(&redis, "a price after the outage", |_| true).await;
    // The tick under way when the exchanges returned may still fail; the next one stores.
    let failed_after = metric(&poller, NO_PRICE).await.unwrap();
    assert!(
        failed_after <= failed_before + 1.0,
        "{} more ticks without a price",
        failed_after - failed_before
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_is_never_cut_short_even_during_a_total_outage() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let wait = Duration::from_secs(3);
    let limited = json(429, fixture("coinbase/error-429.json")).insert_header("retry-after", "3");
    let coinbase = Scripted::new(vec![limited, ok(Provider::Coinbase)]);
    serve(&upstream, Provider::Coinbase, coinbase.clone()).await;
    let others = [Provider::Kraken, Provider::Gemini, Provider::Bitfinex];
    for provider in others {
        serve(&upstream, provider, down()).await;
    }
    let providers = [
        Provider::Coinbase,
        Provider::Kraken,
        Provider::Gemini,
        Provider::Bitfinex,
    ];
    let poller = start_poller(&redis.url(), &upstream, &providers).await;

    // The others are probed every tick meanwhile; coinbase's wait ends soonest after a while.
    // (Its lone price is no quorum: nothing is stored, the ticks keep probing.)
    metric_reaches(&poller, &fetches(Provider::Coinbase, "ok"), 1.0).await;
    let gaps = coinbase.gaps();
    assert!(gaps[0] >= wait, "asked again after {:?}", gaps[0]);
    let probes = metric(&poller, r#"poller_probes_total{provider="kraken"}"#).await;
    assert!(probes.unwrap() >= 1.0, "the others were probed meanwhile");
    assert_eq!(
        metric(&poller, r#"poller_probes_total{provider="coinbase"}"#).await,
        Some(0.0)
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_provider_is_asked_twice_in_one_tick_whatever_fails() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    // Garbage every tick from kraken, the others down: every tick has a probe on top, and
    // back-offs keep ending while nothing is stored.
    let mut recorders = Vec::new();
    for provider in Provider::ALL {
        let answer = match provider {
            Provider::Kraken => kraken_two_pairs(),
            _ => down(),
        };
        let recorder = Scripted::new(vec![answer]);
        serve(&upstream, provider, recorder.clone()).await;
        recorders.push((provider, recorder));
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;

    metric_reaches(&poller, NO_PRICE, 20.0).await;
    let asked: Vec<(Provider, f64)> = recorders
        .iter()
        .map(|(provider, recorder)| (*provider, recorder.arrivals().len() as f64))
        .collect();
    // Read after the requests: the tick under way may have asked already.
    let ticks = ticks_so_far(&poller).await;
    for (provider, asked) in asked {
        assert!(
            asked <= ticks + 1.0,
            "{provider}: {asked} requests, {ticks} ticks"
        );
    }
    // Two requests of one tick leave together, within milliseconds; those of consecutive ticks
    // are at least half an interval apart on the grid, less what a busy machine delays one of
    // them. A sixth of an interval tells the two apart with room on both sides.
    for (provider, recorder) in &recorders {
        for gap in recorder.gaps() {
            assert!(gap >= INTERVAL / 6, "{provider}: {:?}", recorder.gaps());
        }
    }
    assert_eq!(
        metric(&poller, STORED).await,
        Some(0.0),
        "no price all along"
    );
    stop(poller).await;
}
