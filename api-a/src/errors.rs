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
    /// `/history`'s `max_points` is not a whole number in range.
    #[error("max_points must be a whole number from 2 to 5000")]
    InvalidMaxPoints,
}

impl ApiError {
    pub fn status(self) -> StatusCode {
        match self {
            Self::NoPriceYet | Self::NoPriceInWindow | Self::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::InvalidMaxPoints => StatusCode::BAD_REQUEST,
        }
    }

    /// Seconds a client should wait before asking again, for an answer that may change by
    /// itself: a new sample needs a poll (10 s by default), a Redis outage is noticed and
    /// recovered from within about a second. A bad request never will.
    pub fn retry_after_seconds(self) -> Option<u32> {
        match self {
            Self::NoPriceYet | Self::NoPriceInWindow => Some(10),
            Self::StoreUnavailable => Some(1),
            Self::InvalidMaxPoints => None,
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let mut response = common::http::json_error(self.status(), &self.to_string());
        if let Some(seconds) = self.retry_after_seconds() {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// How `/average` and `/history` document their 503 in the OpenAPI document: both read the
/// window, so both can lack a price for the same three reasons. Never built: its field only
/// names the body's schema.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Nothing honest to say: no price stored yet, none within the window, or the \
        price store (Redis) unavailable.",
    headers(("Retry-After" = u32, description = "Seconds before asking again: 10 before a new \
        sample, 1 while the store is unavailable.")),
    examples(
        ("no price yet" = (value = json!({"error": "no price yet"}))),
        ("none in the window" = (value = json!({"error": "no price within the averaging window"}))),
        ("store unavailable" = (value = json!({"error": "price store unavailable"}))),
    )
)]
pub struct WindowUnavailable(#[allow(dead_code)] common::http::ErrorBody<'static>);
