//! What the price can and cannot be when exchanges fail or lie (the threat model of
//! `docs/price-integrity.md`): a lone source never sets a price far from what a quorum last
//! confirmed, never the first price either, a quote its exchange stamped long ago is not a
//! current one, and every sample carries the evidence behind its price.

use std::time::{Duration, SystemTime};

use poller::providers::Provider;
use price_store::{Basis, Sample, WriterSettings, read_after, unix_ms};
use test_support::{RedisServer, TestServer, eventually};
use wiremock::{MockServer, ResponseTemplate};

use crate::fixtures::OkBody;
use crate::support::{
    PATIENCE, Switch, a_sample_where, at_least_samples, fetches, json, metric, metric_reaches, ok,
    samples, serve, sources, start_poller, stop,
};

const HONEST: f64 = 90_000.0;

fn down() -> ResponseTemplate {
    json(503, r#"{"message":"Service Unavailable"}"#.to_owned())
}

/// `provider`'s body with `price`, stamped now.
fn priced(provider: Provider, price: f64) -> ResponseTemplate {
    json(200, OkBody::of(provider).current(&format!("{price:.2}")))
}

/// A poller asking every provider on a fake exchange, with the price it stored before the flip.
struct Flipped {
    redis: RedisServer,
    /// Kept for the providers' answers to last the test.
    _upstream: MockServer,
    poller: TestServer,
    /// The newest sample stored before the flip: confirmed by a quorum at [`HONEST`].
    confirmed: Sample,
}

/// Every provider answers [`HONEST`] until the poller has stored `before` samples; then the switch
/// flips and each provider answers what `later` gives it.
async fn honest_then(before: usize, later: impl Fn(Provider) -> ResponseTemplate) -> Flipped {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let switch = Switch::new(down(), down());
    for provider in Provider::ALL {
        let answers = switch.also(priced(provider, HONEST), later(provider));
        serve(&upstream, provider, answers).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;
    let confirmed = at_least_samples(&redis, before).await.pop().unwrap();
    switch.flip();
    Flipped {
        redis,
        _upstream: upstream,
        poller,
        confirmed,
    }
}

/// After the flip, Kraken answers `after` and every other provider is down.
fn kraken_alone(after: ResponseTemplate) -> impl Fn(Provider) -> ResponseTemplate {
    move |provider| match provider {
        Provider::Kraken => after.clone(),
        _ => down(),
    }
}

async fn ticks(poller: &TestServer, result: &str) -> f64 {
    let series = format!(r#"poller_ticks_total{{result="{result}"}}"#);
    metric(poller, &series).await.unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_exchange_answering_in_cents_after_the_others_fail_is_never_stored() {
    let cents = priced(Provider::Kraken, HONEST * 100.0);
    let run = honest_then(2, kraken_alone(cents)).await;
    // Withheld as disputed while the others' last answers are recent, then as outside the band.
    metric_reaches(&run.poller, r#"poller_ticks_total{result="disputed"}"#, 5.0).await;
    for sample in samples(&run.redis).await {
        assert_eq!(sample.price_usd, HONEST, "{sample:?}");
        assert_eq!(sample.basis, Basis::Quorum);
    }
    assert!(
        metric(&run.poller, &fetches(Provider::Kraken, "ok"))
            .await
            .unwrap()
            >= 5.0
    );
    stop(run.poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_honest_exchange_carries_the_price_close_to_the_confirmed_one() {
    let moved = HONEST * 1.01;
    let run = honest_then(1, kraken_alone(priced(Provider::Kraken, moved))).await;
    let lone = a_sample_where(&run.redis, "a price from kraken alone", |s| {
        sources(s) == ["kraken"]
    })
    .await;
    assert_eq!(lone.price_usd, moved);
    assert_eq!((lone.providers, lone.answered, lone.quorum), (6, 1, 3));
    let Basis::Continuity {
        confirmed_usd,
        confirmed_at_ms,
    } = lone.basis
    else {
        panic!("{lone:?}");
    };
    assert_eq!(confirmed_usd, HONEST);
    assert!(confirmed_at_ms >= run.confirmed.fetched_at_ms && confirmed_at_ms < lone.fetched_at_ms);
    metric_reaches(
        &run.poller,
        r#"poller_stored_ticks_total{basis="continuity"}"#,
        1.0,
    )
    .await;
    let last_confirmed = metric(&run.poller, "poller_last_confirmed_timestamp_seconds").await;
    assert_eq!(last_confirmed, Some(confirmed_at_ms as f64 / 1000.0));
    // Without a quorum, every tick probes a backed-off provider, to find one sooner.
    let probes = async || {
        let mut probes = 0.0;
        for provider in Provider::ALL {
            let series = format!(r#"poller_probes_total{{provider="{provider}"}}"#);
            probes += metric(&run.poller, &series).await.unwrap_or(0.0);
        }
        (probes >= 2.0).then_some(())
    };
    eventually(
        "probes while the price rests on one exchange",
        PATIENCE,
        probes,
    )
    .await;
    stop(run.poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_answer_is_never_the_first_price() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        let answer = match provider {
            Provider::Kraken => priced(provider, HONEST),
            _ => down(),
        };
        serve(&upstream, provider, answer).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;
    metric_reaches(&poller, r#"poller_ticks_total{result="unconfirmed"}"#, 5.0).await;
    assert!(samples(&redis).await.is_empty());
    assert_eq!(
        metric(&poller, "poller_last_confirmed_timestamp_seconds").await,
        Some(0.0)
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_its_exchange_stamped_two_hours_ago_is_not_a_current_price() {
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7_200);
    let frozen = OkBody::of(Provider::Coinbase).stamped("95000.00", two_hours_ago);
    let run = honest_then(1, |provider| match provider {
        Provider::Coinbase => json(200, frozen.clone()),
        _ => down(),
    })
    .await;
    metric_reaches(
        &run.poller,
        &fetches(Provider::Coinbase, "stale_quote"),
        3.0,
    )
    .await;
    let stored_before = ticks(&run.poller, "stored").await;
    metric_reaches(
        &run.poller,
        r#"poller_ticks_total{result="no_valid_answer"}"#,
        3.0,
    )
    .await;
    assert!(ticks(&run.poller, "stored").await <= stored_before + 1.0);
    assert!(
        samples(&run.redis)
            .await
            .iter()
            .all(|s| s.price_usd == HONEST)
    );
    stop(run.poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_carries_each_source_s_price_and_time_and_what_the_writer_keeps() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        serve(&upstream, provider, ok(provider)).await;
    }
    let before_ms = unix_ms(SystemTime::now()) - 60_000;
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL).await;
    let sample = at_least_samples(&redis, 1).await.remove(0);

    assert_eq!(
        (sample.providers, sample.answered, sample.quorum),
        (6, 6, 3)
    );
    assert_eq!(sample.basis, Basis::Quorum);
    for (quote, provider) in sample.quotes.iter().zip(Provider::ALL) {
        assert_eq!(quote.source, provider.name());
        assert_eq!(quote.price_usd, crate::support::agreeing_price(provider));
        let stamps = OkBody::of(provider).stamp.is_some();
        assert_eq!(quote.quoted_at_ms.is_some(), stamps, "{provider}");
        if let Some(at) = quote.quoted_at_ms {
            assert!(
                at >= before_ms && at <= sample.fetched_at_ms + 1_000,
                "{provider}: {at}"
            );
        }
    }
    let changes = read_after(&mut redis.connection().await, 0, None, 0, 1)
        .await
        .unwrap();
    assert_eq!(
        changes.settings,
        Some(WriterSettings::new(
            Duration::from_secs(60),
            Duration::from_secs(120),
            crate::support::INTERVAL
        ))
    );
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_three_percent_apart_without_a_quorum_move_nothing() {
    let run = honest_then(1, |provider| match provider {
        Provider::Kraken => priced(provider, HONEST),
        Provider::Gemini => priced(provider, HONEST * 1.03),
        _ => down(),
    })
    .await;
    // 3 % apart, each 1.5 % from their midpoint: neither agrees with it.
    metric_reaches(
        &run.poller,
        r#"poller_ticks_total{result="no_majority"}"#,
        3.0,
    )
    .await;
    let redis = &run.redis;
    eventually("only honest prices", PATIENCE, async || {
        samples(redis)
            .await
            .iter()
            .all(|s| s.price_usd == HONEST)
            .then_some(())
    })
    .await;
    stop(run.poller).await;
}

/// Found by an independent attack: two feeds frozen at the confirmed price outvoted the one live
/// exchange, 6 % away, and their price went on for the ten minutes of the confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_frozen_feeds_against_the_one_live_exchange_publish_nothing() {
    let run = honest_then(1, |provider| match provider {
        Provider::Kraken | Provider::Bitfinex => priced(provider, HONEST),
        Provider::Coinbase => priced(provider, HONEST * 1.06),
        _ => down(),
    })
    .await;
    metric_reaches(&run.poller, r#"poller_ticks_total{result="disputed"}"#, 1.0).await;
    let stored = ticks(&run.poller, "stored").await;
    metric_reaches(&run.poller, r#"poller_ticks_total{result="disputed"}"#, 4.0).await;
    assert_eq!(
        ticks(&run.poller, "stored").await,
        stored,
        "nothing stored meanwhile"
    );
    stop(run.poller).await;
}
