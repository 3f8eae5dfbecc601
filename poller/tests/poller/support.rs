//! What the whole-poller tests share: a fake exchange per provider, the poller started against
//! them and a real Redis, and readers of what it stored and measured.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poller::Config;
use poller::decision::NoPrice;
use poller::providers::Provider;
use price_store::{Sample, Stored, read_recent};
use reqwest::StatusCode;
use service_kit::config::Env;
use test_support::{RedisServer, TestServer, eventually};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::fixtures::OkBody;

pub const INTERVAL: Duration = Duration::from_millis(300);
const INTERVAL_TEXT: &str = "300ms";
const FETCH_TIMEOUT_TEXT: &str = "200ms";
/// Generous: the machine running the tests may be slow and busy.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A price that agrees with every other provider's: 20 USD apart in table order, all within
/// 0.2 % of each other.
pub fn agreeing_price(provider: Provider) -> f64 {
    let index = Provider::ALL.iter().position(|&p| p == provider).unwrap();
    78_700.0 + 20.0 * index as f64
}

/// The median of every provider's agreeing price: evenly spaced prices have their median
/// halfway between the lowest and the highest.
pub fn median_of_all_agreeing_prices() -> f64 {
    let lowest = agreeing_price(Provider::ALL[0]);
    let highest = agreeing_price(Provider::ALL[Provider::ALL.len() - 1]);
    (lowest + highest) / 2.0
}

pub fn json(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

/// `provider`'s real `ok` body with its agreeing price, stamped now where the exchange stamps
/// its answers (current for the two minutes a test lasts at most).
pub fn ok(provider: Provider) -> ResponseTemplate {
    let price = format!("{:.2}", agreeing_price(provider));
    json(200, OkBody::of(provider).current(&price))
}

fn url_path(provider: Provider) -> String {
    format!("/{}/ticker", provider.name())
}

/// Serves `response` to `provider`'s requests, if they carry the poller's User-Agent.
pub async fn serve(upstream: &MockServer, provider: Provider, response: impl Respond + 'static) {
    let user_agent = format!("btc-price-poller/{}", env!("CARGO_PKG_VERSION"));
    Mock::given(method("GET"))
        .and(path(url_path(provider)))
        .and(header("user-agent", user_agent.as_str()))
        .respond_with(response)
        .mount(upstream)
        .await;
}

/// Answers the `n`-th request with the `n`-th response (the last one from then on) and records
/// when each request arrived.
#[derive(Clone)]
pub struct Scripted {
    responses: Vec<ResponseTemplate>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    pub fn new(responses: Vec<ResponseTemplate>) -> Self {
        Self {
            responses,
            arrivals: Arc::default(),
        }
    }

    pub fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }

    /// Time between consecutive requests.
    pub fn gaps(&self) -> Vec<Duration> {
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

/// Answers `before` until [`Switch::flip`] is called on it or on any of its clones, then
/// `after`: one switch can end an outage of every provider at once.
#[derive(Clone)]
pub struct Switch {
    flipped: Arc<AtomicBool>,
    before: ResponseTemplate,
    after: ResponseTemplate,
}

impl Switch {
    pub fn new(before: ResponseTemplate, after: ResponseTemplate) -> Self {
        Self {
            flipped: Arc::default(),
            before,
            after,
        }
    }

    /// Another pair of answers, switched by the same flip.
    pub fn also(&self, before: ResponseTemplate, after: ResponseTemplate) -> Self {
        Self {
            flipped: self.flipped.clone(),
            before,
            after,
        }
    }

    pub fn flip(&self) {
        self.flipped.store(true, Ordering::SeqCst);
    }
}

impl Respond for Switch {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        if self.flipped.load(Ordering::SeqCst) {
            self.after.clone()
        } else {
            self.before.clone()
        }
    }
}

pub async fn requests_to(upstream: &MockServer, provider: Provider) -> usize {
    let wanted = url_path(provider);
    upstream
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == wanted)
        .count()
}

/// The poller, asking `providers` at `upstream` every [`INTERVAL`] and writing to `redis_url`.
pub async fn start_poller(
    redis_url: &str,
    upstream: &MockServer,
    providers: &[Provider],
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
    let config = Config::from_env(&Env::from_pairs(env)).unwrap();
    TestServer::start(|listener, shutdown| poller::run(config, listener, shutdown)).await
}

/// Every sample in Redis, oldest first; each one a reader believes.
pub async fn samples(redis: &RedisServer) -> Vec<Sample> {
    let stored = read_recent(&mut redis.connection().await, 0)
        .await
        .unwrap()
        .since;
    stored
        .into_iter()
        .map(|stored| match stored {
            Stored::Valid(sample) => sample,
            rejected => panic!("the poller stored a sample a reader rejects: {rejected:?}"),
        })
        .collect()
}

pub async fn at_least_samples(redis: &RedisServer, count: usize) -> Vec<Sample> {
    eventually(&format!("{count} samples"), PATIENCE, async || {
        let samples = samples(redis).await;
        (samples.len() >= count).then_some(samples)
    })
    .await
}

/// Waits for a sample that `wanted` accepts; returns it.
pub async fn a_sample_where(
    redis: &RedisServer,
    what: &str,
    wanted: impl Fn(&Sample) -> bool,
) -> Sample {
    eventually(what, PATIENCE, async || {
        samples(redis).await.into_iter().find(|s| wanted(s))
    })
    .await
}

pub async fn get(server: &TestServer, path: &str) -> (StatusCode, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The value of one series in `/metrics`, e.g. `poller_ticks_total{result="stored"}`.
pub async fn metric(server: &TestServer, series: &str) -> Option<f64> {
    let (_, text) = get(server, "/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

pub async fn metric_reaches(server: &TestServer, series: &str, at_least: f64) {
    eventually(&format!("{series} >= {at_least}"), PATIENCE, async || {
        (metric(server, series).await.unwrap_or(0.0) >= at_least).then_some(())
    })
    .await
}

/// Ticks ended so far, whatever their result.
pub async fn ticks_so_far(server: &TestServer) -> f64 {
    let mut ticks = 0.0;
    for result in std::iter::once("stored").chain(NoPrice::LABELS) {
        let series = format!(r#"poller_ticks_total{{result="{result}"}}"#);
        ticks += metric(server, &series).await.unwrap_or(0.0);
    }
    ticks
}

/// The back-off gauge of `provider` for `reason`: `overload` or `retry_after`.
pub fn backed_off(provider: Provider, reason: &str) -> String {
    format!(r#"poller_provider_backed_off{{provider="{provider}",reason="{reason}"}}"#)
}

pub fn fetches(provider: Provider, outcome: &str) -> String {
    format!(
        r#"poller_fetches_total{{outcome="{outcome}",provider="{}"}}"#,
        provider.name()
    )
}

pub fn sources(sample: &Sample) -> Vec<&str> {
    sample.sources().collect()
}

pub fn names(providers: &[Provider]) -> Vec<&'static str> {
    providers.iter().map(|p| p.name()).collect()
}

pub async fn stop(mut server: TestServer) {
    server.shutdown();
    server.stopped(Duration::from_secs(5)).await;
}
