//! The real `poller` binary: configuration errors exit 2 with one line, SIGTERM stops it at
//! once (even mid-tick), logs are short JSON lines, `--health-check` works.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use poller::providers::Provider;
use test_support::{
    RunningBinary, assert_health_check_follows_the_instance, assert_unknown_argument_exits_2,
    config_error_line, eventually,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BINARY: &str = env!("CARGO_BIN_EXE_poller");

fn assert_config_error(env: &[(&str, &str)], expected: &[&str]) {
    let line = config_error_line(BINARY, env);
    for part in expected {
        assert!(line.contains(part), "{part:?} missing in {line}");
    }
}

#[test]
fn an_unknown_provider_exits_2_with_one_line_naming_it() {
    assert_config_error(
        &[("PROVIDERS", "coinbase,binance")],
        &["PROVIDERS", "unknown provider \"binance\""],
    );
}

#[test]
fn a_fetch_timeout_not_shorter_than_the_interval_exits_2() {
    assert_config_error(
        &[("POLL_INTERVAL", "5s"), ("FETCH_TIMEOUT", "5s")],
        &["FETCH_TIMEOUT", "5s", "shorter than POLL_INTERVAL"],
    );
    assert_config_error(
        &[("POLL_INTERVAL", "2s")],
        &["FETCH_TIMEOUT", "3s", "shorter than POLL_INTERVAL (2s)"],
    );
}

#[test]
fn other_bad_values_exit_2_naming_the_variable() {
    for (var, value) in [
        ("POLL_INTERVAL", "0s"),
        ("AVERAGE_WINDOW", "forever"),
        ("PROVIDERS", "kraken,kraken"),
        ("KRAKEN_URL", "api.kraken.com/0/public/Ticker"),
        ("REDIS_URL", "localhost:6379"),
        ("LISTEN_ADDR", "localhost"),
    ] {
        assert_config_error(&[(var, value)], &[var, value]);
    }
}

#[test]
fn an_unknown_argument_exits_2_with_usage() {
    assert_unknown_argument_exits_2(BINARY, "poller");
}

/// Every provider answers slowly with a large HTML error page: the tick is in progress when
/// SIGTERM arrives.
async fn slow_failing_upstream() -> MockServer {
    let upstream = MockServer::start().await;
    let page = format!(
        "<html><body>{}</body></html>",
        "Service Unavailable ".repeat(5000)
    );
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_raw(page, "text/html")
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&upstream)
        .await;
    upstream
}

fn env_for(upstream: &MockServer, redis_url: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("POLL_INTERVAL".to_owned(), "10s".to_owned()),
        ("FETCH_TIMEOUT".to_owned(), "5s".to_owned()),
        ("REDIS_URL".to_owned(), redis_url.to_owned()),
    ];
    for provider in Provider::ALL {
        let url = format!("{}/{provider}", upstream.uri());
        env.push((provider.url_var().to_owned(), url));
    }
    env
}

/// The binary, asking `upstream` for every provider and writing to a Redis that is not there.
async fn start_against(upstream: &MockServer) -> RunningBinary {
    let env = env_for(upstream, &dead_redis_url());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    RunningBinary::start(BINARY, &env).await
}

fn dead_redis_url() -> String {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("redis://{}", unused.local_addr().unwrap())
}

#[tokio::test]
async fn failures_are_logged_in_one_short_json_line_each() {
    let upstream = slow_failing_upstream().await;
    let poller = start_against(&upstream).await;
    eventually(
        "the first tick's failures logged",
        Duration::from_secs(5),
        async || {
            let failures = poller
                .logs()
                .iter()
                .filter(|line| line.contains("body larger than 64 KiB"))
                .count();
            (failures >= Provider::ALL.len()).then_some(())
        },
    )
    .await;
    poller.signal(Signal::SIGTERM);
    let (status, logs) = poller.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");

    for line in &logs {
        let record: serde_json::Value = serde_json::from_str(line).expect("JSON lines");
        assert!(line.len() < 400, "a long log line: {line}");
        assert!(record["message"].is_string());
    }
    let messages: Vec<String> = logs
        .iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["message"].to_string())
        .collect();
    for provider in Provider::ALL {
        let failure = format!("{provider}: HTTP 503: body larger than 64 KiB; next attempt in");
        let warned = logs
            .iter()
            .filter(|line| line.contains(r#""level":"WARN""#) && line.contains(&failure))
            .count();
        assert_eq!(warned, 1, "{provider}: {messages:#?}");
        assert!(
            logs.iter().any(|line| line.contains(r#""level":"INFO""#)
                && line.contains(&format!("{provider} backed off"))),
            "{messages:#?}"
        );
    }
}

#[tokio::test]
async fn a_failure_repeated_every_tick_is_one_warning() {
    let upstream = MockServer::start().await;
    let two_pairs = r#"{"error":[],"result":{"XXBTZUSD":{"c":["78754.0","1"]},"XETHZUSD":{"c":["3000.0","1"]}}}"#;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(two_pairs, "application/json"))
        .mount(&upstream)
        .await;
    let url = format!("{}/kraken", upstream.uri());
    let redis_url = dead_redis_url();
    let env = [
        ("POLL_INTERVAL", "200ms"),
        ("FETCH_TIMEOUT", "150ms"),
        ("PROVIDERS", "kraken"),
        ("KRAKEN_URL", url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
    ];
    let poller = RunningBinary::start(BINARY, &env).await;
    eventually(
        "kraken asked 6 times",
        Duration::from_secs(10),
        async || (upstream.received_requests().await.unwrap().len() >= 6).then_some(()),
    )
    .await;
    poller.signal(Signal::SIGTERM);
    let (status, logs) = poller.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");

    let about_kraken: Vec<&String> = logs.iter().filter(|l| l.contains("kraken")).collect();
    let warnings: Vec<&&String> = about_kraken
        .iter()
        .filter(|line| line.contains(r#""level":"WARN""#))
        .collect();
    assert_eq!(warnings.len(), 1, "{about_kraken:#?}");
    let expected = "kraken: wrong market: more than one pair in the result; \
                    asked again at the next tick";
    assert!(warnings[0].contains(expected), "{about_kraken:#?}");
    assert!(
        !about_kraken.iter().any(|line| line.contains("backed off")),
        "{about_kraken:#?}"
    );
}

#[tokio::test]
async fn sigterm_mid_tick_exits_0_at_once() {
    let upstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(4)))
        .mount(&upstream)
        .await;
    let poller = start_against(&upstream).await;
    // Wait until the first tick's requests are out and hanging.
    eventually(
        "the first tick asks every provider",
        Duration::from_secs(5),
        async || {
            let asked = upstream.received_requests().await.unwrap().len();
            (asked >= Provider::ALL.len()).then_some(())
        },
    )
    .await;
    let sent = Instant::now();
    poller.signal(Signal::SIGTERM);
    let (status, logs) = poller.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "took {:?} to stop",
        sent.elapsed()
    );
    assert!(logs.iter().any(|line| line.contains("SIGTERM received")));
    assert!(logs.iter().any(|line| line.contains("polling stopped")));
}

#[tokio::test]
async fn health_check_mode_follows_the_running_instance() {
    let upstream = slow_failing_upstream().await;
    let env = env_for(&upstream, &dead_redis_url());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_health_check_follows_the_instance(BINARY, &env).await;
}
