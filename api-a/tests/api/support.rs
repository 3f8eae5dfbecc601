//! What every test of the API needs: a real redis-server seeded with the poller's writer, the
//! API started in-process on 127.0.0.1:0 against it, and a client that records each answer.

use std::time::{Duration, Instant, SystemTime};

use api_a::Config;
use price_store::{Sample, WriterSettings, unix_ms};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use service_kit::config::Env;
use test_support::{RedisServer, TestServer, eventually};

pub const BASE_PATH: &str = "/service1";
/// Longer than any window used here, so the writer never trims what a test wants to see.
pub const RETENTION: Duration = Duration::from_secs(3600);
/// What a client would wait for anything that should happen at once; only a broken service
/// runs into it.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A sample fetched `age` ago, `sources` quoting exactly `price_usd`, by a poller that asks
/// those sources only (so they are its quorum, or three of them are).
pub fn sample_aged(age: Duration, price_usd: f64, sources: &[&str]) -> Sample {
    test_support::samples::confirmed_by(sources, unix_ms(SystemTime::now() - age), price_usd)
}

/// What the poller of these tests says it keeps: the default 10-minute window (so api-a sees
/// no mismatch), a retention of [`RETENTION`], a sample every 10 s.
pub fn writer_settings() -> WriterSettings {
    WriterSettings::new(Duration::from_secs(600), RETENTION, Duration::from_secs(10))
}

pub fn rfc3339(unix_ms: i64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_millis(unix_ms as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

/// Writes `samples` as the poller writes: in the order of their time (a write drops the samples
/// stamped after it).
pub async fn seed(redis: &RedisServer, samples: &[Sample]) {
    let mut conn = redis.connection().await;
    let mut samples = samples.to_vec();
    samples.sort_by_key(|sample| sample.fetched_at_ms);
    for sample in &samples {
        price_store::write(&mut conn, sample, &writer_settings())
            .await
            .unwrap();
    }
}

/// One sample fetched just now, enough for every route to answer 200.
pub async fn seed_fresh_sample(redis: &RedisServer) {
    seed(redis, &[sample_aged(Duration::ZERO, 97_000.0, &["kraken"])]).await;
}

/// Starts the API on `redis` under [`BASE_PATH`], with `env` on top, and waits until it has
/// read Redis once (whether or not Redis holds a price yet).
pub async fn start(redis: &RedisServer, env: &[(&str, &str)]) -> TestServer {
    let server = start_unready(redis, env).await;
    eventually("a first read of Redis", PATIENCE, async || {
        let metrics = get(&server.url("/metrics")).await.body;
        (metric(&metrics, "price_snapshot_last_success_timestamp_seconds") > 0.0).then_some(())
    })
    .await;
    server
}

pub async fn start_unready(redis: &RedisServer, env: &[(&str, &str)]) -> TestServer {
    let url = redis.url();
    let mut pairs = vec![("REDIS_URL", url.as_str()), ("BASE_PATH", BASE_PATH)];
    pairs.extend_from_slice(env);
    let config = Config::from_env(&Env::from_pairs(pairs)).unwrap();
    TestServer::start(|listener, shutdown| api_a::run(config, listener, shutdown)).await
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// How long the request took.
    pub took: Duration,
}

impl Answer {
    pub fn json(&self) -> Value {
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/json",
            "{}",
            self.body
        );
        serde_json::from_str(&self.body).unwrap()
    }

    /// The problem details of an error answer, checked to be `application/problem+json` with
    /// this answer's status: its `type`'s code (what follows the common prefix) and `detail`.
    pub fn problem(&self) -> (String, String) {
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{}",
            self.body
        );
        let body: Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(body["status"], self.status.as_u16(), "{body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        let kind = body["type"].as_str().unwrap();
        let code = kind
            .strip_prefix("tag:btc-price-services,2026:")
            .unwrap_or_else(|| panic!("{kind}"));
        (code.to_owned(), body["detail"].as_str().unwrap().to_owned())
    }

    /// The code of the problem this error answer is.
    pub fn problem_code(&self) -> String {
        self.problem().0
    }

    pub fn retry_after(&self) -> &str {
        self.headers[header::RETRY_AFTER].to_str().unwrap()
    }
}

pub async fn request(method: Method, url: &str) -> Answer {
    let sent = Instant::now();
    let response = reqwest::Client::new()
        .request(method, url)
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body,
        took: sent.elapsed(),
    }
}

pub async fn get(url: &str) -> Answer {
    request(Method::GET, url).await
}

/// Waits at most `within` for `path` to answer 200.
pub async fn answers_200(what: &str, within: Duration, url: String) {
    eventually(what, within, async || {
        (get(&url).await.status == StatusCode::OK).then_some(())
    })
    .await;
}

/// Waits at most `within` for `/current` to answer 200, then expects `/readyz` to agree.
pub async fn serves_and_is_ready(server: &TestServer, what: &str, within: Duration) {
    answers_200(what, within, server.url("/service1/current")).await;
    assert_eq!(get(&server.url("/readyz")).await.status, StatusCode::OK);
}

pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in\n{text}"))
        .parse()
        .unwrap()
}

/// Waits for `url` to answer `status` with the problem `code`.
pub async fn answers_status(url: &str, status: StatusCode, code: &str) {
    eventually(
        &format!("{url} answers {status} {code}"),
        PATIENCE,
        async || {
            let answer = get(url).await;
            (answer.status == status && answer.problem_code() == code).then_some(())
        },
    )
    .await;
}
