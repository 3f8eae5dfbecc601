//! Asking one provider over HTTP: one GET, a capped body, then the provider's parser.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap};
use reqwest::{Client, StatusCode, Url};

use crate::backoff::RetryAfter;
use crate::providers::{Answer, BodyProblem, Provider, ProviderError};

/// The most of a body that is read. Real answers are a few hundred bytes; an exchange or its
/// CDN can send megabytes of HTML.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Sent with every request, so providers can tell who is calling.
pub const USER_AGENT: &str = concat!("btc-price-poller/", env!("CARGO_PKG_VERSION"));

/// The HTTP client every request goes through.
#[derive(Clone)]
pub struct Fetcher {
    client: Client,
    timeout: Duration,
}

impl Fetcher {
    /// Requests give up after `timeout` (the tick has its own deadline on top). Redirects are
    /// not followed: the URLs are exact API endpoints, and a redirect means something changed.
    pub fn new(timeout: Duration) -> Self {
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client's TLS backend initialises");
        Self { client, timeout }
    }

    /// The price `provider` reports at `url`, or why there is none.
    pub async fn fetch(&self, provider: Provider, url: &Url) -> Result<f64, ProviderError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let too_large = response
            .content_length()
            .is_some_and(|length| length > MAX_BODY_BYTES as u64);
        if too_large {
            return Err(oversized(status, headers));
        }
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| self.transport_error(&err))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(oversized(status, headers));
            }
            body.extend_from_slice(&chunk);
        }
        provider.parse(&Answer {
            status,
            headers,
            body,
        })
    }

    fn transport_error(&self, err: &reqwest::Error) -> ProviderError {
        if err.is_timeout() {
            return ProviderError::Timeout(self.timeout);
        }
        // reqwest's own message names the URL; the innermost cause says what went wrong
        // ("Connection refused", "dns error", "invalid peer certificate").
        let mut cause: &dyn std::error::Error = err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        ProviderError::Transport(crate::providers::short(&cause.to_string()))
    }
}

/// A body over the cap: for an error status, the status is what matters.
fn oversized(status: StatusCode, headers: HeaderMap) -> ProviderError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        ProviderError::RateLimited {
            status: status.as_u16(),
            retry_after: RetryAfter::from_headers(&headers),
        }
    } else if status.is_success() {
        ProviderError::InvalidBody(BodyProblem::TooLarge)
    } else {
        ProviderError::HttpStatus {
            status: status.as_u16(),
            reason: BodyProblem::TooLarge.to_string(),
            retry_after: RetryAfter::from_headers(&headers),
        }
    }
}
