//! One request to one provider over real HTTP (wiremock): headers sent, redirects, body cap,
//! timeouts, transport errors.

use std::time::{Duration, SystemTime};

use poller::backoff::RetryAfter;
use poller::fetch::Fetcher;
use poller::providers::{BodyProblem, MAX_BODY_BYTES, Provider, ProviderError};
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
async fn asks_for_json_naming_itself_as_the_readme_says() {
    // Written out, not taken from the poller: docs/design.md promises exactly this.
    let user_agent = format!("btc-price-poller/{}", env!("CARGO_PKG_VERSION"));
    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/products/BTC-USD/ticker"))
        .and(header("user-agent", user_agent.as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"price":"78754.00","time":"{}"}}"#,
            humantime::format_rfc3339_millis(SystemTime::now())
        )))
        .expect(1)
        .mount(&upstream)
        .await;
    let url = Url::parse(&format!("{}/products/BTC-USD/ticker", upstream.uri())).unwrap();
    let price = Fetcher::new(TIMEOUT).fetch(Provider::Coinbase, &url).await;
    assert_eq!(price.map(|price| price.usd), Ok(78_754.0));
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
    let huge_json = format!(
        r#"{{"price":"78754.00","padding":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let huge_html = "<html>".repeat(MAX_BODY_BYTES);
    let cases = [
        (
            ResponseTemplate::new(200).set_body_string(huge_json),
            ProviderError::InvalidBody(BodyProblem::TooLarge),
        ),
        (
            ResponseTemplate::new(503)
                .insert_header("retry-after", "600")
                .set_body_string(huge_html.clone()),
            ProviderError::HttpStatus {
                status: 503,
                reason: "body larger than 64 KiB".into(),
                retry_after: Some(RetryAfter::Seconds(600)),
            },
        ),
        (
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_string(huge_html),
            ProviderError::RateLimited {
                status: 429,
                retry_after: Some(RetryAfter::Seconds(7)),
            },
        ),
    ];
    let fetcher = Fetcher::new(TIMEOUT);
    for (response, expected) in cases {
        let (_upstream, url) = upstream_answering(response).await;
        assert_eq!(fetcher.fetch(Provider::Coinbase, &url).await, Err(expected));
    }
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
