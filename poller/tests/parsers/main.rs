//! Every provider's parser on every real body in `tests/fixtures/providers/` (with the status
//! and headers the manifest gives), then on broken variants of them.

#[path = "../shared/fixtures.rs"]
mod fixtures;

mod bodies;
mod prices;
mod real_bodies;

mod stamps;

use poller::providers::{Answer, Price, Provider, ProviderError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The price `provider` makes of `body` sent with `status` and no headers, whatever its time.
fn parse(provider: Provider, status: u16, body: &str) -> Result<f64, ProviderError> {
    parse_stamped(provider, status, body).map(|price| price.usd)
}

/// What `provider` makes of `body` sent with `status` and no headers: the price and its time.
fn parse_stamped(provider: Provider, status: u16, body: &str) -> Result<Price, ProviderError> {
    provider.parse(&answer(status, body))
}

/// `body` sent with `status` and no headers.
fn answer(status: u16, body: &str) -> Answer {
    let status = StatusCode::from_u16(status).unwrap();
    Answer::new(status, HeaderMap::new(), body.as_bytes().to_vec())
}
