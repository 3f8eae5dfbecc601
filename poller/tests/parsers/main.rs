//! Every provider's parser on every real body in `tests/fixtures/providers/` (with the status
//! and headers the manifest gives), then on broken variants of them.

#[path = "../shared/fixtures.rs"]
mod fixtures;

mod bodies;
mod prices;
mod real_bodies;

use poller::providers::{Answer, Provider, ProviderError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// What `provider` makes of `body` sent with `status` and no headers.
fn parse(provider: Provider, status: u16, body: &str) -> Result<f64, ProviderError> {
    let status = StatusCode::from_u16(status).unwrap();
    provider.parse(&Answer::new(
        status,
        HeaderMap::new(),
        body.as_bytes().to_vec(),
    ))
}
