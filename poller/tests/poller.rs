//! The whole poller in-process: fake exchanges (wiremock) serving the real fixture bodies, a
//! real redis-server, a short interval. Prices arrive on schedule, bad answers never reach
//! Redis, failing and rate-limited providers are backed off while the others carry on, and a
//! Redis that dies, restarts or freezes is survived.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::config::Env;
use common::samples::{Sample, read_recent, unix_ms};
use common::testing::{RedisServer, TestServer, eventually};
use poller::Config;
use poller::fetch::USER_AGENT;
use poller::providers::Provider;
use reqwest::StatusCode;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const INTERVAL: Duration = Duration::from_millis(300);
const INTERVAL_TEXT: &str = "300ms";
const FETCH_TIMEOUT_TEXT: &str = "200ms";
/// Generous: the machine running the tests may be slow and busy.
const PATIENCE: Duration = Duration::from_secs(10);

fn fixture(file: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers");
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// A fixture body with one piece of text replaced (to set a price), checking it was there.
fn fixture_with(file: &str, from: &str, to: &str) -> String {
    let body = fixture(file);
    assert_eq!(body.matches(from).count(), 1, "{file}: {from}");
    body.replace(from, to)
}

/// Real bodies whose prices agree, one per provider. Their median is 78 757.
fn agreeing_body(provider: Provider) -> String {
    match provider {
        Provider::Coinbase => fixture_with(
            "coinbase/ok.json",
            r#""price":"63212.97""#,
            r#""price":"78700.00""#,
        ),
        Provider::Kraken => fixture("kraken/ok-2026-09-trimmed.json"),
        Provider::Bitstamp => fixture_with(
            "bitstamp/ok.json",
            r#""last": "85052.34""#,
            r#""last": "78800.00""#,
        ),
        Provider::Gemini => fixture("gemini/ok.json"),
        Provider::Bitfinex => fixture("bitfinex/ok-extra-trailing-element.json"),
        Provider::Coingecko => fixture_with("coingecko/ok-integer.json", "111813", "78760"),
    }
}
const AGREEING_MEDIAN: f64 = 78_757.0;

fn json(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

fn ok(provider: Provider) -> ResponseTemplate {
    json(200, agreeing_body(provider))
}

fn url_path(provider: Provider) -> String {
    format!("/{}/ticker", provider.name())
}

/// Serves `response` to `provider`'s requests, if they carry the poller's User-Agent.
async fn serve(upstream: &MockServer, provider: Provider, response: impl Respond + 'static) {
    Mock::given(method("GET"))
        .and(path(url_path(provider)))
        .and(header("user-agent", USER_AGENT))
        .respond_with(response)
        .mount(upstream)
        .await;
}

/// Answers the `n`-th request with the `n`-th response (the last one from then on) and records
/// when each request arrived.
#[derive(Clone)]
struct Scripted {
    responses: Vec<ResponseTemplate>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    fn new(responses: Vec<ResponseTemplate>) -> Self {
        Self {
            responses,
            arrivals: Arc::default(),
        }
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }

    /// Time between consecutive requests.
    fn gaps(&self) -> Vec<Duration> {
        self.arrivals().windows(2).map(|w| w[1] - w[0]).collect()
    }
}

impl Respond for Scripted {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.push(Instant::now());
        let index = (arrivals.len() - 1).min(self.responses.len() - 1);
        self.responses[index].clone()
    }
}

async fn requests_to(upstream: &MockServer, provider: Provider) -> usize {
    let wanted = url_path(provider);
    upstream
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == wanted)
        .count()
}

async fn start_poller(
    redis_url: &str,
    upstream: &MockServer,
    providers: &[Provider],
    extra: &[(&str, &str)],
) -> TestServer {
    let names: Vec<&str> = providers.iter().map(|p| p.name()).collect();
    let names = names.join(",");
    let urls: Vec<(&str, String)> = Provider::ALL
        .iter()
        .map(|&p| (p.url_var(), format!("{}{}", upstream.uri(), url_path(p))))
        .collect();
    let mut env: Vec<(&str, &str)> = vec![
        ("POLL_INTERVAL", INTERVAL_TEXT),
        ("FETCH_TIMEOUT", FETCH_TIMEOUT_TEXT),
        ("AVERAGE_WINDOW", "1m"),
        ("REDIS_URL", redis_url),
        ("PROVIDERS", &names),
    ];
    env.extend(urls.iter().map(|(var, url)| (*var, url.as_str())));
    env.extend_from_slice(extra);
    let config = Config::from_env(&Env::from_pairs(env)).unwrap();
    TestServer::start(|listener, shutdown| poller::run(config, listener, shutdown)).await
}

/// Every sample in Redis, oldest first.
async fn samples(redis: &RedisServer) -> Vec<Sample> {
    read_recent(&mut redis.connection().await, 0)
        .await
        .unwrap()
        .since
}

async fn at_least_samples(redis: &RedisServer, count: usize) -> Vec<Sample> {
    eventually(&format!("{count} samples"), PATIENCE, async || {
        let samples = samples(redis).await;
        (samples.len() >= count).then_some(samples)
    })
    .await
}

async fn get(server: &TestServer, path: &str) -> (StatusCode, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The value of one series in `/metrics`, e.g. `poller_ticks_total{result="stored"}`.
async fn metric(server: &TestServer, series: &str) -> Option<f64> {
    let (_, text) = get(server, "/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn metric_reaches(server: &TestServer, series: &str, at_least: f64) {
    eventually(&format!("{series} >= {at_least}"), PATIENCE, async || {
        (metric(server, series).await.unwrap_or(0.0) >= at_least).then_some(())
    })
    .await
}

fn fetches(provider: Provider, outcome: &str) -> String {
    format!(
        r#"poller_fetches_total{{outcome="{outcome}",provider="{}"}}"#,
        provider.name()
    )
}

fn sources(sample: &Sample) -> Vec<&str> {
    sample.sources.iter().map(String::as_str).collect()
}

async fn stop(mut server: TestServer) {
    server.shutdown();
    server.stopped(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_arrive_on_schedule_from_every_provider() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        serve(&upstream, provider, ok(provider)).await;
    }
    let started = Instant::now();
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL, &[]).await;

    let stored = at_least_samples(&redis, 6).await;
    let elapsed = started.elapsed();
    for sample in &stored {
        assert_eq!(sample.price_usd, AGREEING_MEDIAN);
        assert_eq!(
            sources(sample),
            [
                "coinbase",
                "kraken",
                "bitstamp",
                "gemini",
                "bitfinex",
                "coingecko"
            ]
        );
    }
    let now_ms = unix_ms(SystemTime::now());
    assert!(stored[0].fetched_at_ms > now_ms - 60_000 && stored[5].fetched_at_ms <= now_ms);
    // On a fixed schedule: no two ticks closer than half an interval, none skipped without
    // cause (a busy test machine may delay one, hence the slack).
    for pair in stored.windows(2) {
        let gap = pair[1].fetched_at_ms - pair[0].fetched_at_ms;
        assert!(
            (150..=1_200).contains(&gap),
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
        Some(AGREEING_MEDIAN)
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
    let thousandfold = fixture_with(
        "coinbase/ok.json",
        r#""price":"63212.97""#,
        r#""price":"78700000.00""#,
    );
    serve(&upstream, Provider::Coinbase, json(200, thousandfold)).await;
    // 10x off but plausible on its own: outvoted.
    let tenfold = fixture_with(
        "bitstamp/ok.json",
        r#""last": "85052.34""#,
        r#""last": "787000.00""#,
    );
    serve(&upstream, Provider::Bitstamp, json(200, tenfold)).await;
    // A CDN's HTML page with 200.
    let html = "<!DOCTYPE html><html><body><h1>Attention Required! | Cloudflare</h1></body></html>";
    serve(
        &upstream,
        Provider::Coingecko,
        ResponseTemplate::new(200).set_body_raw(html, "text/html"),
    )
    .await;
    for provider in [Provider::Kraken, Provider::Gemini, Provider::Bitfinex] {
        serve(&upstream, provider, ok(provider)).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL, &[]).await;

    let stored = at_least_samples(&redis, 4).await;
    for sample in &stored {
        assert_eq!(sources(sample), ["kraken", "gemini", "bitfinex"]);
        assert_eq!(sample.price_usd, 78_754.0);
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
async fn a_tick_without_a_valid_answer_or_a_majority_stores_nothing() {
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
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL, &[]).await;

    metric_reaches(
        &poller,
        r#"poller_ticks_total{result="no_valid_answer"}"#,
        3.0,
    )
    .await;
    for (provider, outcome) in [
        (Provider::Coinbase, "http_error"),
        (Provider::Kraken, "error_body"),
        (Provider::Bitstamp, "invalid_body"),
        (Provider::Gemini, "timeout"),
        (Provider::Bitfinex, "invalid_body"),
        (Provider::Coingecko, "wrong_market"),
    ] {
        assert!(
            metric(&poller, &fetches(provider, outcome))
                .await
                .unwrap_or(0.0)
                >= 1.0,
            "{provider} {outcome}"
        );
        let backed_off = format!(r#"poller_provider_backed_off{{provider="{provider}"}}"#);
        assert_eq!(metric(&poller, &backed_off).await, Some(1.0), "{provider}");
    }
    assert!(samples(&redis).await.is_empty());
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    stop(poller).await;

    // Plausible answers that do not agree: the six real `ok` bodies, captured on different
    // dates (63 000 to 85 000 USD). Only two are near their median: no majority.
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        let body = fixture(&format!("{}/ok.json", provider.name()));
        serve(&upstream, provider, json(200, body)).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &Provider::ALL, &[]).await;
    metric_reaches(&poller, r#"poller_ticks_total{result="no_majority"}"#, 3.0).await;
    assert!(samples(&redis).await.is_empty());
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_rate_limited_providers_are_backed_off_while_the_others_carry_on() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    // Rate limited once, asking for 2 s in the seconds form.
    let coinbase = Scripted::new(vec![
        json(429, fixture("coinbase/error-429.json")).insert_header("retry-after", "2"),
        ok(Provider::Coinbase),
    ]);
    // Rate limited once, asking for a time 3 s away in the HTTP-date form (whole seconds).
    let retry_at = SystemTime::now() + Duration::from_secs(3);
    let coingecko = Scripted::new(vec![
        json(429, fixture("coingecko/error-429.json"))
            .insert_header("retry-after", httpdate::fmt_http_date(retry_at).as_str()),
        ok(Provider::Coingecko),
    ]);
    // Down until further notice.
    let kraken = Scripted::new(vec![json(200, fixture("kraken/unavailable.json"))]);
    for (provider, script) in [
        (Provider::Coinbase, &coinbase),
        (Provider::Coingecko, &coingecko),
        (Provider::Kraken, &kraken),
    ] {
        serve(&upstream, provider, script.clone()).await;
    }
    for provider in [Provider::Gemini, Provider::Bitfinex] {
        serve(&upstream, provider, ok(provider)).await;
    }
    let providers = [
        Provider::Coinbase,
        Provider::Kraken,
        Provider::Gemini,
        Provider::Bitfinex,
        Provider::Coingecko,
    ];
    let poller = start_poller(&redis.url(), &upstream, &providers, &[]).await;

    // The others carry on from the first tick.
    let first = at_least_samples(&redis, 1).await[0].clone();
    assert_eq!(sources(&first), ["gemini", "bitfinex"]);
    // Both rate-limited providers come back, no earlier than they asked.
    let redis = &redis;
    eventually("samples from all but kraken", PATIENCE, async || {
        samples(redis)
            .await
            .iter()
            .any(|s| sources(s) == ["coinbase", "gemini", "bitfinex", "coingecko"])
            .then_some(())
    })
    .await;
    assert!(
        coinbase.gaps()[0] >= Duration::from_secs(2),
        "{:?}",
        coinbase.gaps()
    );
    let retry_at_ms =
        unix_ms(httpdate::parse_http_date(&httpdate::fmt_http_date(retry_at)).unwrap());
    let coingecko_back = samples(redis)
        .await
        .into_iter()
        .find(|s| s.sources.contains(&"coingecko".to_owned()))
        .unwrap();
    assert!(coingecko_back.fetched_at_ms >= retry_at_ms - 20);
    assert_eq!(
        coingecko.arrivals().len(),
        2,
        "asked once, then once it was allowed"
    );
    let rate_limited = |p| fetches(p, "rate_limited");
    assert_eq!(
        metric(&poller, &rate_limited(Provider::Coinbase)).await,
        Some(1.0)
    );
    assert_eq!(
        metric(&poller, &rate_limited(Provider::Coingecko)).await,
        Some(1.0)
    );

    // Kraken fails every time and is asked after 2, then 4 intervals (then 8, 16 …).
    eventually("kraken asked 3 times", PATIENCE, async || {
        (kraken.arrivals().len() >= 3).then_some(())
    })
    .await;
    let slack = Duration::from_millis(100);
    for (n, gap) in kraken.gaps().into_iter().enumerate() {
        let backoff = INTERVAL * 2u32.pow(n as u32 + 1);
        assert!(
            gap + slack >= backoff,
            "gap {n}: {gap:?}, back-off {backoff:?}"
        );
    }
    assert!(
        samples(redis)
            .await
            .iter()
            .all(|s| !s.sources.contains(&"kraken".to_owned()))
    );
    assert!(
        metric(&poller, &fetches(Provider::Kraken, "error_body"))
            .await
            .unwrap()
            >= 3.0
    );
    let backed_off = r#"poller_provider_backed_off{provider="kraken"}"#;
    assert_eq!(metric(&poller, backed_off).await, Some(1.0));

    // Once it recovers it is asked again and counts again.
    upstream.reset().await;
    for provider in providers {
        serve(&upstream, provider, ok(provider)).await;
    }
    eventually("kraken back in the samples", PATIENCE, async || {
        let all = samples(redis).await;
        all.last()
            .is_some_and(|s| s.sources.len() == providers.len())
            .then_some(())
    })
    .await;
    assert_eq!(metric(&poller, backed_off).await, Some(0.0));
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_crash_and_restart_is_survived_without_losing_samples() {
    let mut redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let providers = [Provider::Kraken, Provider::Gemini, Provider::Bitfinex];
    for provider in providers {
        serve(&upstream, provider, ok(provider)).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &providers, &[]).await;
    at_least_samples(&redis, 2).await;

    redis.kill();
    let killed_at = unix_ms(SystemTime::now());
    metric_reaches(&poller, "poller_redis_write_errors_total", 3.0).await;
    metric_reaches(&poller, "poller_pending_samples", 3.0).await;
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    let restarted_at = unix_ms(SystemTime::now());
    redis.restart().await;

    // The restarted Redis is empty; the samples of the outage are written to it, then new ones.
    let redis = &redis;
    let stored = eventually(
        "samples from during and after the outage",
        PATIENCE,
        async || {
            let all = samples(redis).await;
            let during = all
                .iter()
                .filter(|s| (killed_at..restarted_at).contains(&s.fetched_at_ms))
                .count();
            let after = all
                .iter()
                .filter(|s| s.fetched_at_ms > restarted_at)
                .count();
            (during >= 3 && after >= 2).then_some(all)
        },
    )
    .await;
    for pair in stored.windows(2) {
        assert!(
            pair[0].fetched_at_ms < pair[1].fetched_at_ms,
            "in order, no duplicates"
        );
    }
    eventually("no samples pending", PATIENCE, async || {
        (metric(&poller, "poller_pending_samples").await == Some(0.0)).then_some(())
    })
    .await;
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_does_not_slow_the_ticks() {
    let redis = RedisServer::start().await;
    let upstream = MockServer::start().await;
    let providers = [Provider::Kraken, Provider::Gemini, Provider::Bitfinex];
    for provider in providers {
        serve(&upstream, provider, ok(provider)).await;
    }
    let poller = start_poller(&redis.url(), &upstream, &providers, &[]).await;
    at_least_samples(&redis, 1).await;

    redis.pause();
    let stored_ticks = r#"poller_ticks_total{result="stored"}"#;
    let before = metric(&poller, stored_ticks).await.unwrap();
    let frozen = Instant::now();
    tokio::time::sleep(INTERVAL * 8).await;
    let during = metric(&poller, stored_ticks).await.unwrap() - before;
    let expected = (frozen.elapsed().as_millis() / INTERVAL.as_millis()) as f64;
    assert!(
        during >= expected - 3.0,
        "{during} ticks stored while Redis was frozen, {expected} expected"
    );
    assert_eq!(get(&poller, "/healthz").await.0, StatusCode::OK);
    redis.resume();

    // Everything fetched while frozen is written once it thaws.
    let total = before + during;
    let redis = &redis;
    eventually("the backlog written", PATIENCE, async || {
        (samples(redis).await.len() as f64 >= total).then_some(())
    })
    .await;
    stop(poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_depends_on_neither_the_exchanges_nor_redis() {
    let upstream = MockServer::start().await;
    for provider in Provider::ALL {
        serve(
            &upstream,
            provider,
            json(503, r#"{"message":"down"}"#.to_owned()),
        )
        .await;
    }
    // Nothing listens on this port.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_redis = format!("redis://{}", unused.local_addr().unwrap());
    drop(unused);
    let poller = start_poller(&dead_redis, &upstream, &Provider::ALL, &[]).await;

    metric_reaches(
        &poller,
        r#"poller_ticks_total{result="no_valid_answer"}"#,
        4.0,
    )
    .await;
    assert_eq!(
        get(&poller, "/healthz").await,
        (StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(get(&poller, "/readyz").await.0, StatusCode::OK);
    assert_eq!(get(&poller, "/").await.0, StatusCode::NOT_FOUND);
    let started = Instant::now();
    stop(poller).await;
    assert!(started.elapsed() < Duration::from_secs(2));
}
