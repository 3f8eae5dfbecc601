//! Service A's API in-process on 127.0.0.1:0, reading samples from a real redis-server that the
//! test seeds with the poller's writer.

use std::time::{Duration, Instant, SystemTime};

use api_a::Config;
use common::config::Env;
use common::samples::{Sample, unix_ms};
use common::testing::{RedisServer, TestServer, eventually};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BASE_PATH: &str = "/service1";
/// Longer than any window used here, so the writer never trims what a test wants to see.
const RETENTION: Duration = Duration::from_secs(3600);
/// What a client would wait for anything that should happen at once; only a broken service
/// runs into it.
const PATIENCE: Duration = Duration::from_secs(10);

/// A sample fetched `age` ago.
fn sample_aged(age: Duration, price_usd: f64, sources: &[&str]) -> Sample {
    Sample {
        fetched_at_ms: unix_ms(SystemTime::now() - age),
        price_usd,
        sources: sources.iter().map(|s| s.to_string()).collect(),
    }
}

fn rfc3339(unix_ms: i64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_millis(unix_ms as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

async fn seed(redis: &RedisServer, samples: &[Sample]) {
    let mut conn = redis.connection().await;
    for sample in samples {
        common::samples::write(&mut conn, sample, RETENTION)
            .await
            .unwrap();
    }
}

/// One sample fetched just now, enough for every route to answer 200.
async fn seed_fresh_sample(redis: &RedisServer) {
    seed(redis, &[sample_aged(Duration::ZERO, 97_000.0, &["kraken"])]).await;
}

/// Starts the API on `redis` under [`BASE_PATH`], with `env` on top, and waits until it has
/// read Redis once (whether or not Redis holds a price yet).
async fn start(redis: &RedisServer, env: &[(&str, &str)]) -> TestServer {
    let server = start_unready(redis, env).await;
    eventually("a first read of Redis", PATIENCE, async || {
        let metrics = get(&server.url("/metrics")).await.body;
        (metric(&metrics, "price_snapshot_last_success_timestamp_seconds") > 0.0).then_some(())
    })
    .await;
    server
}

async fn start_unready(redis: &RedisServer, env: &[(&str, &str)]) -> TestServer {
    let url = redis.url();
    let mut pairs = vec![("REDIS_URL", url.as_str()), ("BASE_PATH", BASE_PATH)];
    pairs.extend_from_slice(env);
    let config = Config::from_env(&Env::from_pairs(pairs)).unwrap();
    TestServer::start(|listener, shutdown| api_a::run(config, listener, shutdown)).await
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    /// How long the request took.
    took: Duration,
}

impl Answer {
    fn json(&self) -> Value {
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/json",
            "{}",
            self.body
        );
        serde_json::from_str(&self.body).unwrap()
    }

    fn retry_after(&self) -> &str {
        self.headers[header::RETRY_AFTER].to_str().unwrap()
    }
}

async fn request(method: Method, url: &str) -> Answer {
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

async fn get(url: &str) -> Answer {
    request(Method::GET, url).await
}

/// Waits at most `within` for `path` to answer 200.
async fn answers_200(what: &str, within: Duration, url: String) {
    eventually(what, within, async || {
        (get(&url).await.status == StatusCode::OK).then_some(())
    })
    .await;
}

/// Waits at most `within` for `/current` to answer 200, then expects `/readyz` to agree.
async fn serves_and_is_ready(server: &TestServer, what: &str, within: Duration) {
    answers_200(what, within, server.url("/service1/current")).await;
    assert_eq!(get(&server.url("/readyz")).await.status, StatusCode::OK);
}

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
            sample_aged(Duration::from_secs(30 * 60), 10.0, &["kraken"]),
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
    let older = sample_aged(Duration::from_secs(1), 100.0, &["kraken"]);
    let newer = sample_aged(Duration::ZERO, 200.0, &["kraken"]);
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
                assert_eq!(body["average"], 150.0);
                assert!(sent_ms <= older.fetched_at_ms + window_ms, "{body}");
                saw_both = true;
            }
            Some(1) => {
                assert_eq!(body["average"], 200.0);
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
    assert_eq!(
        answer.json(),
        json!({"error": "no price within the averaging window"})
    );
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
        assert_eq!(answer.json(), json!({"error": "no price yet"}), "{path}");
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
    assert_eq!(
        average.json(),
        json!({"error": "no price within the averaging window"})
    );
    let current = get(&server.url("/service1/current")).await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.json()["stale"], true);
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in\n{text}"))
        .parse()
        .unwrap()
}

/// Redis crashes and comes back empty; the poller writes again. No restart of the API.
#[tokio::test]
async fn redis_killed_is_a_503_within_a_second_and_back_to_200_within_2s_of_its_return() {
    let mut redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;
    assert_eq!(
        get(&server.url("/service1/current")).await.status,
        StatusCode::OK
    );
    let metrics = get(&server.url("/metrics")).await.body;
    assert_eq!(metric(&metrics, "price_snapshot_refresh_errors_total"), 0.0);
    assert_eq!(metric(&metrics, "price_snapshot_samples"), 1.0);
    let last_success = metric(&metrics, "price_snapshot_last_success_timestamp_seconds");
    let now = unix_ms(SystemTime::now()) as f64 / 1000.0;
    assert!(
        (now - 5.0..=now).contains(&last_success),
        "{last_success} vs {now}"
    );

    redis.kill();
    let killed = Instant::now();
    // 1 s is the promise; the margin only absorbs a loaded test machine.
    let unavailable = eventually(
        "a 503 after Redis died",
        Duration::from_millis(1500),
        async || {
            let answer = get(&server.url("/service1/current")).await;
            (answer.status != StatusCode::OK).then_some(answer)
        },
    )
    .await;
    let noticed_after = killed.elapsed();
    assert_eq!(
        unavailable.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{noticed_after:?}"
    );
    assert_eq!(unavailable.retry_after(), "1");
    assert_eq!(
        unavailable.json(),
        json!({"error": "price store unavailable"})
    );
    let average = get(&server.url("/service1/average")).await;
    assert_eq!(average.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(average.json(), json!({"error": "price store unavailable"}));
    let readyz = get(&server.url("/readyz")).await;
    assert_eq!(readyz.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readyz.json(), json!({"status": "not ready"}));
    assert_eq!(get(&server.url("/healthz")).await.status, StatusCode::OK);
    eventually("refresh errors are counted", PATIENCE, async || {
        let metrics = get(&server.url("/metrics")).await.body;
        (metric(&metrics, "price_snapshot_refresh_errors_total") >= 1.0).then_some(())
    })
    .await;

    redis.restart().await;
    let back = Instant::now();
    seed(
        &redis,
        &[sample_aged(Duration::ZERO, 98_000.0, &["coinbase"])],
    )
    .await;
    eventually(
        "the new price within 2 s of Redis's return",
        Duration::from_secs(2),
        async || {
            let answer = get(&server.url("/service1/current")).await;
            (answer.status == StatusCode::OK && answer.json()["price"] == 98_000.0).then_some(())
        },
    )
    .await;
    assert!(back.elapsed() < Duration::from_secs(2));
    assert_eq!(get(&server.url("/readyz")).await.status, StatusCode::OK);
    assert_eq!(
        get(&server.url("/service1/average")).await.status,
        StatusCode::OK
    );
}

/// A frozen Redis (SIGSTOP) keeps its connections open but never answers: requests must still
/// be answered at once, with 503 once the snapshot is too old to trust.
#[tokio::test]
async fn a_hanging_redis_never_makes_a_request_hang() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;

    redis.pause();
    let paused = Instant::now();
    eventually(
        "a 503 after Redis froze",
        Duration::from_millis(1500),
        async || {
            let answer = get(&server.url("/service1/current")).await;
            assert!(
                answer.took < Duration::from_secs(1),
                "took {:?}",
                answer.took
            );
            (answer.status == StatusCode::SERVICE_UNAVAILABLE).then_some(())
        },
    )
    .await;
    assert!(paused.elapsed() < Duration::from_millis(1500));
    for path in ["/service1/current", "/service1/average", "/readyz"] {
        for _ in 0..3 {
            let answer = get(&server.url(path)).await;
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert!(
                answer.took < Duration::from_secs(1),
                "{path} took {:?}",
                answer.took
            );
        }
    }

    redis.resume();
    serves_and_is_ready(
        &server,
        "answers again after Redis thawed",
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test]
async fn unreachable_redis_at_start_up_is_a_503_and_not_ready_until_it_answers() {
    let mut redis = RedisServer::start().await;
    redis.kill();
    let server = start_unready(&redis, &[]).await;
    for path in ["/service1/current", "/service1/average", "/readyz"] {
        let answer = get(&server.url(path)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }

    redis.restart().await;
    seed_fresh_sample(&redis).await;
    serves_and_is_ready(&server, "serves once Redis is up", Duration::from_secs(2)).await;
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;
    let get = get(&server.url("/service1/average")).await;
    let head = request(Method::HEAD, &server.url("/service1/average")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        head.headers[header::CONTENT_LENGTH],
        get.body.len().to_string()
    );
    assert!(head.body.is_empty());
    let head = request(Method::HEAD, &server.url("/service1/current")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn unknown_paths_are_json_404s_and_wrong_methods_json_405s() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    for path in [
        "/current",
        "/average",
        "/service1/",
        "/service1/current/",
        "/service1/x",
        "/service2/",
    ] {
        for method in [Method::GET, Method::POST] {
            let answer = request(method.clone(), &server.url(path)).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(answer.json(), json!({"error": "not found"}));
        }
    }
    for path in ["/service1/current", "/service1/average"] {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let answer = request(method.clone(), &server.url(path)).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(answer.headers[header::ALLOW], "GET, HEAD");
            assert_eq!(answer.json(), json!({"error": "method not allowed"}));
        }
    }
}

#[tokio::test]
async fn without_a_base_path_the_routes_are_at_the_root() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let url = redis.url();
    let config = Config::from_env(&Env::from_pairs([("REDIS_URL", url.as_str())])).unwrap();
    let server =
        TestServer::start(|listener, shutdown| api_a::run(config, listener, shutdown)).await;
    answers_200("/current answers 200", PATIENCE, server.url("/current")).await;
    assert_eq!(get(&server.url("/average")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    get(&server.url("/service1/current")).await;
    get(&server.url("/service1/average")).await;
    let text = get(&server.url("/metrics")).await.body;
    for expected in [
        r#"http_requests_total{method="GET",route="/service1/current",status="503"} 1"#,
        r#"http_requests_total{method="GET",route="/service1/average",status="503"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

#[tokio::test]
async fn shutdown_turns_readiness_503_then_stops() {
    let redis = RedisServer::start().await;
    let mut server = start(&redis, &[("SHUTDOWN_DELAY", "500ms")]).await;
    server.shutdown();
    eventually("/readyz turns 503", PATIENCE, async || {
        let answer = get(&server.url("/readyz")).await;
        (answer.json() == json!({"status": "shutting down"})).then_some(())
    })
    .await;
    server.stopped(PATIENCE).await;
}
