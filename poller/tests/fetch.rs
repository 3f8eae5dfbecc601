//! One request to one provider over real HTTP (wiremock): headers sent, redirects, body cap,
//! timeouts, transport errors.

use std::time::Duration;

use poller::fetch::{Fetcher, MAX_BODY_BYTES, USER_AGENT};
use poller::providers::{BodyProblem, Provider, ProviderError};
use reqwest::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TIMEOUT: Duration = Duration::from_millis(500);

async fn upstream_answering(response: ResponseTemplate) -> (MockServer, Url) {
    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ticker"))
        .respond_with(response)
        .mount(&upstream)
        .await;
    let url = Url::parse(&format!("{}/ticker", upstream.uri())).unwrap();
    (upstream, url)
}

#[tokio::test]
async fn asks_for_json_naming_itself() {
    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/products/BTC-USD/ticker"))
        .and(header("user-agent", USER_AGENT))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"price":"78754.00"}"#))
        .expect(1)
        .mount(&upstream)
        .await;
    let url = Url::parse(&format!("{}/products/BTC-USD/ticker", upstream.uri())).unwrap();
    let price = Fetcher::new(TIMEOUT).fetch(Provider::Coinbase, &url).await;
    assert_eq!(price, Ok(78_754.0));
    assert!(USER_AGENT.starts_with("btc-price-poller/"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (_upstream, url) = upstream_answering(
        ResponseTemplate::new(301).insert_header("location", "https://example.com/elsewhere"),
    )
    .await;
    let outcome = Fetcher::new(TIMEOUT).fetch(Provider::Coinbase, &url).await;
    assert_eq!(
        outcome,
        Err(ProviderError::HttpStatus {
            status: 301,
            reason: "empty body".into(),
            retry_after: None
        })
    );
}

#[tokio::test]
async fn bodies_over_the_cap_are_not_read() {
    let huge = format!(
        r#"{{"price":"78754.00","padding":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let (_upstream, url) =
        upstream_answering(ResponseTemplate::new(200).set_body_string(huge)).await;
    let fetcher = Fetcher::new(TIMEOUT);
    assert_eq!(
        fetcher.fetch(Provider::Coinbase, &url).await,
        Err(ProviderError::InvalidBody(BodyProblem::TooLarge))
    );

    let page = ResponseTemplate::new(503)
        .insert_header("retry-after", "600")
        .set_body_string("<html>".repeat(MAX_BODY_BYTES));
    let (_upstream, url) = upstream_answering(page).await;
    assert_eq!(
        fetcher.fetch(Provider::Coinbase, &url).await,
        Err(ProviderError::HttpStatus {
            status: 503,
            reason: "body larger than 64 KiB".into(),
            retry_after: Some(poller::backoff::RetryAfter::Seconds(600))
        })
    );

    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "7")
        .set_body_string("<html>".repeat(MAX_BODY_BYTES));
    let (_upstream, url) = upstream_answering(limited).await;
    assert_eq!(
        fetcher.fetch(Provider::Coinbase, &url).await,
        Err(ProviderError::RateLimited {
            status: 429,
            retry_after: Some(poller::backoff::RetryAfter::Seconds(7))
        })
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let slow = ResponseTemplate::new(200)
        .set_body_string(r#"{"price":"78754.00"}"#)
        .set_delay(TIMEOUT * 3);
    let (_upstream, url) = upstream_answering(slow).await;
    assert_eq!(
        Fetcher::new(TIMEOUT).fetch(Provider::Coinbase, &url).await,
        Err(ProviderError::Timeout(TIMEOUT))
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_short_transport_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}/ticker", unused.local_addr().unwrap())).unwrap();
    drop(unused);
    let err = Fetcher::new(TIMEOUT)
        .fetch(Provider::Kraken, &url)
        .await
        .unwrap_err();
    assert_eq!(err.outcome(), "transport");
    assert!(
        err.to_string()
            .to_lowercase()
            .contains("connection refused"),
        "{err}"
    );
}
