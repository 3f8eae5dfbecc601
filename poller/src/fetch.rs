//! Asking one provider over HTTP: one GET, a body read up to the providers' limit, then the
//! provider's parser. The fetcher only moves bytes; what an answer means (an oversized body
//! included) is decided by [`crate::providers`], which knows nothing of HTTP clients.

use std::time::Duration;

use service_kit::clock;

use reqwest::header::ACCEPT;
use reqwest::{Client, Response, Url};

use crate::providers::{
    Answer, BodyProblem, MAX_BODY_BYTES, Price, Provider, ProviderError, short,
};

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

    /// The current price `provider` reports at `url`, or why there is none.
    pub async fn fetch(&self, provider: Provider, url: &Url) -> Result<Price, ProviderError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_body(&mut response).await?;
        let answer = Answer {
            status,
            headers,
            body,
        };
        provider.read(&answer, clock::now())
    }

    /// The whole body, or [`BodyProblem::TooLarge`] as soon as it is known to exceed
    /// [`MAX_BODY_BYTES`] (from its announced length, or while reading it).
    async fn read_body(
        &self,
        response: &mut Response,
    ) -> Result<Result<Vec<u8>, BodyProblem>, ProviderError> {
        let announced = response.content_length();
        if announced.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return Ok(Err(BodyProblem::TooLarge));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| self.transport_error(&err))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Ok(Err(BodyProblem::TooLarge));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Ok(body))
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
        ProviderError::Transport(short(&cause.to_string()))
    }
}
