//! Why a price cannot be served, and the one place that turns it into an HTTP answer.

use warp::http::StatusCode;
use warp::http::header::{HeaderValue, RETRY_AFTER};
use warp::reply::{Reply, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Redis answers but holds no sample: the poller has not stored one yet.
    #[error("no price yet")]
    NoPriceYet,
    /// Samples exist, but none was fetched within the averaging window.
    #[error("no price within the averaging window")]
    NoPriceInWindow,
    /// The latest read of Redis failed or is too old to trust.
    #[error("price store unavailable")]
    StoreUnavailable,
}

impl ApiError {
    pub fn status(self) -> StatusCode {
        match self {
            Self::NoPriceYet | Self::NoPriceInWindow | Self::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Seconds a client should wait before asking again: a new sample needs a poll (10 s by
    /// default), a Redis outage is noticed and recovered from within about a second.
    pub fn retry_after_seconds(self) -> u32 {
        match self {
            Self::NoPriceYet | Self::NoPriceInWindow => 10,
            Self::StoreUnavailable => 1,
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let mut response = common::http::json_error(self.status(), &self.to_string());
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(self.retry_after_seconds()));
        response
    }
}
